//! Analytics: the gateway records one compact [`Event`] per request (API, operation,
//! application, user, status, latencies, bytes, error cause) and sends them to the control
//! plane in batches (`POST /api/am/gateway/v1/environments/{env}/analytics`), which stores
//! them aggregated per minute. The request path only `try_send`s into a bounded queue: a
//! full queue drops the event and counts it (`gatehouse_analytics_events_total`).
//!
//! The wire types and the latency buckets are shared with the server (no `runtime` feature).

use serde::{Deserialize, Serialize};

/// Upper bounds, in milliseconds, of the latency histogram's buckets; one more bucket holds
/// everything slower. The server merges histograms to answer percentiles.
pub const LATENCY_BOUNDS_MS: [f64; 26] = [
    0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0,
    500.0, 750.0, 1000.0, 1500.0, 2000.0, 3000.0, 5000.0, 10000.0, 30000.0, 60000.0,
];
/// Buckets in a histogram: the bounds and the overflow.
pub const BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// The bucket a latency (in microseconds) falls in.
pub fn bucket(micros: u64) -> usize {
    let ms = micros as f64 / 1000.0;
    LATENCY_BOUNDS_MS
        .iter()
        .position(|b| ms <= *b)
        .unwrap_or(LATENCY_BOUNDS_MS.len())
}

/// The `q` quantile (0–1) of a histogram, interpolated linearly inside its bucket; `None`
/// for an empty one. The overflow bucket answers its lower bound.
pub fn quantile(hist: &[i64], q: f64) -> Option<f64> {
    let total: i64 = hist.iter().sum();
    if total <= 0 {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * total as f64).max(1.0);
    let mut seen = 0.0;
    for (i, &n) in hist.iter().enumerate() {
        if n <= 0 {
            continue;
        }
        let before = seen;
        seen += n as f64;
        if seen >= rank {
            let lower = if i == 0 {
                0.0
            } else {
                LATENCY_BOUNDS_MS[i - 1]
            };
            let Some(&upper) = LATENCY_BOUNDS_MS.get(i) else {
                return Some(lower);
            };
            return Some(lower + (upper - lower) * ((rank - before) / n as f64));
        }
    }
    LATENCY_BOUNDS_MS.last().copied()
}

/// Why a request failed, as the charts group it. Empty for a success (a 4xx the backend
/// itself answered is the caller's, not a failure).
pub mod cause {
    /// No credential, or one that is not valid for the API (401, 403).
    pub const AUTH: &str = "auth";
    /// A rate limit or quota (429).
    pub const THROTTLING: &str = "throttling";
    /// A mediation or threat-protection policy refused the request.
    pub const POLICY: &str = "policy";
    /// No API or operation matched (404, 405).
    pub const ROUTING: &str = "routing";
    /// The gateway could not reach the backend, or it did not answer in time (502, 503, 504).
    pub const TARGET_CONNECTIVITY: &str = "target_connectivity";
    /// The backend answered with a 5xx.
    pub const BACKEND_ERROR: &str = "backend_error";
    /// Anything else the gateway refused.
    pub const OTHER: &str = "other";

    pub const ALL: [&str; 7] = [
        AUTH,
        THROTTLING,
        POLICY,
        ROUTING,
        TARGET_CONNECTIVITY,
        BACKEND_ERROR,
        OTHER,
    ];
}

/// One request, as the gateway saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    /// When the request ended, Unix milliseconds.
    pub t: i64,
    /// The API's id; empty when no API matched.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api: String,
    /// The operation, `GET /items/{id}`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub op: String,
    /// The calling application's id; empty for unauthenticated calls.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app: String,
    /// The end user (the token's subject), when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// `PRODUCTION` or `SANDBOX` (authenticated calls).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_type: String,
    /// The status the caller got.
    pub status: u16,
    /// Request to response, in microseconds.
    pub total_us: u64,
    /// Time spent waiting for the backend, in microseconds.
    #[serde(default)]
    pub backend_us: u64,
    /// Request and response bodies (their `Content-Length`).
    #[serde(default)]
    pub bytes_in: u64,
    #[serde(default)]
    pub bytes_out: u64,
    /// One of [`cause`], empty for a success.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cause: String,
}

/// What a gateway sends: its id and the events since the last batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub gateway: String,
    pub events: Vec<Event>,
}

/// `[analytics]` of the config file. The gateway uses `enabled`, `url`, `queue`, `batch` and
/// `flush_ms`; the server uses `retention_days`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsSection {
    /// Gateways record and send events (to the control plane they follow).
    pub enabled: bool,
    /// Where batches go instead of the control plane (a standalone gateway has none):
    /// the full URL the batch is POSTed to.
    pub url: Option<String>,
    /// Events waiting to be sent; when full, new events are dropped and counted.
    pub queue: usize,
    /// Events per batch at most.
    pub batch: usize,
    /// A batch that is not full goes after this many milliseconds.
    pub flush_ms: u64,
    /// The server keeps per-minute aggregates this many days.
    pub retention_days: u32,
}

impl Default for AnalyticsSection {
    fn default() -> Self {
        AnalyticsSection {
            enabled: true,
            url: None,
            queue: 65_536,
            batch: 2_000,
            flush_ms: 1_000,
            retention_days: 90,
        }
    }
}

impl AnalyticsSection {
    /// The first invalid setting: its key and why.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if let Some(url) = &self.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Some(("analytics.url", format!("`{url}` is not an http(s) URL")));
        }
        if self.queue == 0 {
            return Some(("analytics.queue", "must be at least 1".into()));
        }
        if self.batch == 0 || self.batch > 10_000 {
            return Some(("analytics.batch", "must be 1 to 10000".into()));
        }
        if self.flush_ms == 0 || self.flush_ms > 60_000 {
            return Some(("analytics.flush_ms", "must be 1 to 60000".into()));
        }
        if self.retention_days == 0 {
            return Some(("analytics.retention_days", "must be at least 1".into()));
        }
        None
    }
}

/// What a worker hands over per request: names shared with the routing table and static
/// strings, turned into an [`Event`] on the sending task (off the request path).
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub t: i64,
    pub api: Option<std::sync::Arc<str>>,
    pub op: Option<std::sync::Arc<str>>,
    pub app: Option<String>,
    pub user: Option<String>,
    pub key_type: &'static str,
    pub status: u16,
    pub total_us: u64,
    pub backend_us: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub cause: &'static str,
}

impl From<Record> for Event {
    fn from(r: Record) -> Event {
        Event {
            t: r.t,
            api: r.api.as_deref().unwrap_or_default().to_string(),
            op: r.op.as_deref().unwrap_or_default().to_string(),
            app: r.app.unwrap_or_default(),
            user: r.user.unwrap_or_default(),
            key_type: r.key_type.to_string(),
            status: r.status,
            total_us: r.total_us,
            backend_us: r.backend_us,
            bytes_in: r.bytes_in,
            bytes_out: r.bytes_out,
            cause: r.cause.to_string(),
        }
    }
}

#[cfg(feature = "runtime")]
pub use recorder::{Recorder, Stats, Target};

#[cfg(feature = "runtime")]
mod recorder {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use hyper::{Request, header};
    use tokio::sync::mpsc;

    use super::{Batch, Event, Record};

    const SEND_TIMEOUT: Duration = Duration::from_secs(10);

    /// Counters of what became of the events (`/metrics`, diagnostics).
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct Stats {
        pub sent: u64,
        /// Dropped because the queue was full.
        pub dropped: u64,
        /// Lost because the control plane refused them or could not be reached.
        pub failed: u64,
    }

    struct Inner {
        tx: mpsc::Sender<Record>,
        sent: AtomicU64,
        dropped: AtomicU64,
        failed: AtomicU64,
    }

    /// Where events go; cheap to clone. The default records nothing.
    #[derive(Clone, Default)]
    pub struct Recorder {
        inner: Option<Arc<Inner>>,
    }

    /// Where and how batches are sent.
    pub struct Target {
        pub url: String,
        /// The gateway token, when the target is the control plane.
        pub token: Option<String>,
        pub gateway_id: String,
        pub batch: usize,
        pub flush: Duration,
    }

    impl Recorder {
        /// Starts the sending task on the current runtime.
        pub fn start(target: Target, queue: usize, client: crate::proxy::Upstream) -> Recorder {
            let (tx, rx) = mpsc::channel(queue);
            let inner = Arc::new(Inner {
                tx,
                sent: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                failed: AtomicU64::new(0),
            });
            tracing::info!(url = %target.url, "sending analytics events");
            tokio::spawn(send_batches(target, client, rx, Arc::downgrade(&inner)));
            Recorder { inner: Some(inner) }
        }

        pub fn enabled(&self) -> bool {
            self.inner.is_some()
        }

        /// Queues a request's record; never waits (a full queue drops it and counts it).
        pub fn record(&self, record: Record) {
            if let Some(inner) = &self.inner
                && inner.tx.try_send(record).is_err()
            {
                inner.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }

        pub fn stats(&self) -> Stats {
            self.inner.as_ref().map_or_else(Stats::default, |i| Stats {
                sent: i.sent.load(Ordering::Relaxed),
                dropped: i.dropped.load(Ordering::Relaxed),
                failed: i.failed.load(Ordering::Relaxed),
            })
        }
    }

    async fn send_batches(
        target: Target,
        client: crate::proxy::Upstream,
        mut rx: mpsc::Receiver<Record>,
        stats: std::sync::Weak<Inner>,
    ) {
        let mut buf: Vec<Record> = Vec::with_capacity(target.batch);
        let mut tick = tokio::time::interval(target.flush);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let room = target.batch - buf.len();
            let (closed, due) = tokio::select! {
                n = rx.recv_many(&mut buf, room) => (n == 0, buf.len() >= target.batch),
                _ = tick.tick() => (false, true),
            };
            if (due || closed) && !buf.is_empty() {
                let n = buf.len() as u64;
                let batch = Batch {
                    gateway: target.gateway_id.clone(),
                    events: buf.drain(..).map(Event::from).collect(),
                };
                let ok = send(&client, &target, &batch).await;
                let Some(inner) = stats.upgrade() else {
                    return;
                };
                if ok {
                    inner.sent.fetch_add(n, Ordering::Relaxed);
                } else {
                    inner.failed.fetch_add(n, Ordering::Relaxed);
                }
            }
            if closed {
                return;
            }
        }
    }

    async fn send(client: &crate::proxy::Upstream, target: &Target, batch: &Batch) -> bool {
        let Ok(body) = serde_json::to_vec(batch) else {
            return false;
        };
        let mut req = Request::post(&target.url)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-gateway-id", &target.gateway_id);
        if let Some(token) = &target.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let Ok(req) = req.body(
            Full::new(Bytes::from(body))
                .map_err(|never| match never {})
                .boxed(),
        ) else {
            return false;
        };
        match tokio::time::timeout(SEND_TIMEOUT, client.request(req)).await {
            Ok(Ok(resp)) if resp.status().is_success() => {
                // Read the answer so the connection goes back to the pool.
                let _ = resp.into_body().collect().await;
                true
            }
            Ok(Ok(resp)) => {
                tracing::warn!(status = %resp.status(), events = batch.events.len(), "the control plane refused an analytics batch; dropped");
                false
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "analytics batch not sent");
                false
            }
            Err(_) => {
                tracing::debug!("analytics batch timed out");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_the_bucket_their_bound_closes() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(500), 0);
        assert_eq!(bucket(501), 1);
        assert_eq!(bucket(12_000), 7);
        assert_eq!(bucket(60_000_000), 25);
        assert_eq!(bucket(61_000_000), 26);
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        let mut h = vec![0i64; BUCKETS];
        assert_eq!(quantile(&h, 0.5), None);
        // 100 requests between 10 and 15 ms.
        h[7] = 100;
        let p50 = quantile(&h, 0.5).unwrap();
        assert!((p50 - 12.5).abs() < 1e-9, "{p50}");
        assert!((quantile(&h, 1.0).unwrap() - 15.0).abs() < 1e-9);
        // 90 fast ones (≤ 0.5 ms) and 10 slow ones (1–2 s): p50 fast, p95 slow.
        let mut h = vec![0i64; BUCKETS];
        h[0] = 90;
        h[20] = 10;
        assert!(quantile(&h, 0.5).unwrap() <= 0.5);
        let p95 = quantile(&h, 0.95).unwrap();
        assert!((1500.0..=2000.0).contains(&p95), "{p95}");
        // The overflow bucket answers its lower bound.
        let mut h = vec![0i64; BUCKETS];
        h[26] = 3;
        assert_eq!(quantile(&h, 0.99), Some(60000.0));
    }

    #[test]
    fn events_are_compact_on_the_wire() {
        let e = Event {
            t: 1,
            status: 404,
            total_us: 20,
            cause: cause::ROUTING.into(),
            ..Event::default()
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"t":1,"status":404,"totalUs":20,"backendUs":0,"bytesIn":0,"bytesOut":0,"cause":"routing"}"#
        );
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        assert!(
            serde_json::from_str::<Event>(r#"{"t":1,"status":200,"totalUs":1,"x":1}"#).is_err()
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let s = AnalyticsSection {
            url: Some("ftp://x".into()),
            ..AnalyticsSection::default()
        };
        assert_eq!(s.problem().unwrap().0, "analytics.url");
        let s = AnalyticsSection {
            batch: 0,
            ..AnalyticsSection::default()
        };
        assert_eq!(s.problem().unwrap().0, "analytics.batch");
        assert!(AnalyticsSection::default().problem().is_none());
    }
}
