//! Prometheus metrics without locks on the request path: each API's counters live in an
//! `Arc<ApiMetrics>` that the routing table holds beside the API, found again by API id when
//! a new snapshot is applied, so counters survive snapshot swaps.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER",
];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Latency bucket bounds in microseconds.
const BUCKETS_US: [u64; 12] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000,
];

/// Why a request did not reach a backend answer.
#[derive(Clone, Copy, Debug)]
pub enum UpstreamError {
    Connect,
    Timeout,
    Other,
    Suspended,
}

#[derive(Default)]
pub struct ApiMetrics {
    name: String,
    version: String,
    requests: [[AtomicU64; 5]; 8],
    buckets: [AtomicU64; 12],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    upstream_errors: [AtomicU64; 4],
}

impl ApiMetrics {
    /// Counts one answered request.
    pub fn observe(&self, method: &str, status: u16, elapsed: Duration) {
        let m = METHODS.iter().position(|x| *x == method).unwrap_or(7);
        let c = usize::from((status / 100).clamp(1, 5)) - 1;
        self.requests[m][c].fetch_add(1, Ordering::Relaxed);
        let us = elapsed.as_micros() as u64;
        if let Some(b) = BUCKETS_US.iter().position(|bound| us <= *bound) {
            self.buckets[b].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn upstream_error(&self, kind: UpstreamError) {
        self.upstream_errors[kind as usize].fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Default)]
pub struct Metrics {
    apis: Mutex<HashMap<String, Arc<ApiMetrics>>>,
    /// Requests that matched no API (404 / 405 / no snapshot).
    unmatched: AtomicU64,
    snapshot_version: AtomicU64,
    snapshot_applied_ms: AtomicU64,
}

impl Metrics {
    /// The counters for API `id`, created on first use. Called when a table is built.
    pub fn api(&self, id: &str, name: &str, version: &str) -> Arc<ApiMetrics> {
        let mut apis = self.apis.lock().expect("metrics registry poisoned");
        apis.entry(id.to_string())
            .or_insert_with(|| {
                Arc::new(ApiMetrics {
                    name: name.to_string(),
                    version: version.to_string(),
                    ..ApiMetrics::default()
                })
            })
            .clone()
    }

    /// Forgets the counters of APIs that are no longer deployed, so the registry does not
    /// grow with every API ever served.
    pub fn retain(&self, deployed: &std::collections::HashSet<&str>) {
        let mut apis = self.apis.lock().expect("metrics registry poisoned");
        apis.retain(|id, _| deployed.contains(id.as_str()));
    }

    pub fn unmatched(&self) {
        self.unmatched.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot_applied(&self, version: u64) {
        self.snapshot_version.store(version, Ordering::Relaxed);
        self.snapshot_applied_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    /// The snapshot served and when it was applied (Unix ms; 0: none yet).
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.snapshot_version.load(Ordering::Relaxed),
            self.snapshot_applied_ms.load(Ordering::Relaxed),
        )
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let applied = self.snapshot_applied_ms.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP gatehouse_snapshot_version Version of the runtime snapshot being served."
        );
        let _ = writeln!(out, "# TYPE gatehouse_snapshot_version gauge");
        let _ = writeln!(
            out,
            "gatehouse_snapshot_version {}",
            self.snapshot_version.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_snapshot_age_seconds Seconds since the snapshot was applied."
        );
        let _ = writeln!(out, "# TYPE gatehouse_snapshot_age_seconds gauge");
        let age = if applied == 0 {
            0.0
        } else {
            (now_ms().saturating_sub(applied)) as f64 / 1000.0
        };
        let _ = writeln!(out, "gatehouse_snapshot_age_seconds {age:.3}");
        let _ = writeln!(
            out,
            "# HELP gatehouse_unmatched_requests_total Requests that matched no deployed API."
        );
        let _ = writeln!(out, "# TYPE gatehouse_unmatched_requests_total counter");
        let _ = writeln!(
            out,
            "gatehouse_unmatched_requests_total {}",
            self.unmatched.load(Ordering::Relaxed)
        );

        let apis = self.apis.lock().expect("metrics registry poisoned");
        let mut ids: Vec<&String> = apis.keys().collect();
        ids.sort();
        let _ = writeln!(
            out,
            "# HELP gatehouse_requests_total Requests answered, by API, method and status class."
        );
        let _ = writeln!(out, "# TYPE gatehouse_requests_total counter");
        for id in &ids {
            let a = &apis[*id];
            for (m, method) in METHODS.iter().enumerate() {
                for (c, class) in CLASSES.iter().enumerate() {
                    let n = a.requests[m][c].load(Ordering::Relaxed);
                    if n > 0 {
                        let _ = writeln!(
                            out,
                            "gatehouse_requests_total{{{},method=\"{method}\",status=\"{class}\"}} {n}",
                            labels(id, a)
                        );
                    }
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP gatehouse_request_duration_seconds Time to the response head, by API."
        );
        let _ = writeln!(out, "# TYPE gatehouse_request_duration_seconds histogram");
        for id in &ids {
            let a = &apis[*id];
            let l = labels(id, a);
            let mut cumulative = 0;
            for (b, bound) in BUCKETS_US.iter().enumerate() {
                cumulative += a.buckets[b].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "gatehouse_request_duration_seconds_bucket{{{l},le=\"{}\"}} {cumulative}",
                    *bound as f64 / 1e6
                );
            }
            let count = a.latency_count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "gatehouse_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "gatehouse_request_duration_seconds_sum{{{l}}} {}",
                a.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "gatehouse_request_duration_seconds_count{{{l}}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP gatehouse_upstream_errors_total Backend failures, by API and kind."
        );
        let _ = writeln!(out, "# TYPE gatehouse_upstream_errors_total counter");
        for id in &ids {
            let a = &apis[*id];
            for (k, kind) in ["connect", "timeout", "other", "suspended"]
                .iter()
                .enumerate()
            {
                let n = a.upstream_errors[k].load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "gatehouse_upstream_errors_total{{{},kind=\"{kind}\"}} {n}",
                        labels(id, a)
                    );
                }
            }
        }
        out
    }
}

fn labels(id: &str, a: &ApiMetrics) -> String {
    format!(
        "api_id=\"{}\",api=\"{}\",version=\"{}\"",
        escape(id),
        escape(&a.name),
        escape(&a.version)
    )
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Wall-clock milliseconds since the Unix epoch (suspensions and snapshot age).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_and_survive_lookup_again() {
        let m = Metrics::default();
        let a = m.api("pets-1", "Pets \"v\"", "1.0.0");
        a.observe("GET", 200, Duration::from_micros(1_500));
        a.observe("GET", 200, Duration::from_millis(30));
        a.observe("BREW", 502, Duration::from_millis(1));
        a.upstream_error(UpstreamError::Connect);
        m.unmatched();
        m.snapshot_applied(7);
        // A new table asks for the same id and gets the same counters.
        assert!(Arc::ptr_eq(&a, &m.api("pets-1", "Pets", "1.0.0")));
        m.api("gone", "Gone", "1");
        m.retain(&["pets-1"].into_iter().collect());
        assert!(!m.render().contains("api_id=\"gone\""));
        let text = m.render();
        let l = r#"api_id="pets-1",api="Pets \"v\"",version="1.0.0""#;
        for line in [
            "gatehouse_snapshot_version 7".to_string(),
            "gatehouse_unmatched_requests_total 1".to_string(),
            format!("gatehouse_requests_total{{{l},method=\"GET\",status=\"2xx\"}} 2"),
            format!("gatehouse_requests_total{{{l},method=\"OTHER\",status=\"5xx\"}} 1"),
            format!("gatehouse_request_duration_seconds_bucket{{{l},le=\"0.001\"}} 1"),
            format!("gatehouse_request_duration_seconds_bucket{{{l},le=\"0.0025\"}} 2"),
            format!("gatehouse_request_duration_seconds_bucket{{{l},le=\"0.05\"}} 3"),
            format!("gatehouse_request_duration_seconds_count{{{l}}} 3"),
            format!("gatehouse_upstream_errors_total{{{l},kind=\"connect\"}} 1"),
        ] {
            assert!(
                text.lines().any(|x| x == line),
                "missing `{line}` in:\n{text}"
            );
        }
    }
}
