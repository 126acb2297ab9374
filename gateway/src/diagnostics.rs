//! Runtime diagnostics (WSO2 4.3's "advanced runtime diagnostics"): what a running gateway
//! knows about itself, on the admin port as JSON (`GET /diagnostics`) and read by
//! `gateway diagnose`.
//!
//! - the last failed requests (newest first) with their phase trace: which phase decided and
//!   why ("the subscription … is ON_HOLD", "JWKS fetch failed: timeout", "endpoint 2 …:
//!   connection refused; failover exhausted");
//! - per-phase latency histograms (auth, throttling, policies, backend, gateway = the request
//!   without its backend call), counted per worker thread and summed when read;
//! - limiter, upstream (idle connections, suspended endpoints), JWKS, tracing and snapshot
//!   state.
//!
//! Nothing here waits on the request path: counters are atomics of the worker's own
//! histogram; a failure is written under `try_lock` (when another thread holds the list, it
//! is counted, not kept).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::Serialize;

/// Phases in the order a request passes them; `gateway` is the whole request minus its
/// backend call, `total` the whole request.
pub const PHASES: [&str; 6] = [
    crate::phases::AUTH,
    crate::phases::THROTTLING,
    crate::phases::POLICIES,
    crate::phases::BACKEND,
    "gateway",
    "total",
];

/// Indexes in [`PHASES`] of the request without its backend call, and of the whole request.
pub const GATEWAY: usize = 4;
pub const TOTAL: usize = 5;

/// Bucket upper bounds in microseconds (the last bucket is everything above).
const BOUNDS_US: [u64; 19] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000,
];

/// One worker's latency counters per phase.
#[derive(Default)]
pub struct PhaseStats {
    buckets: [[AtomicU64; BOUNDS_US.len() + 1]; PHASES.len()],
    sum_us: [AtomicU64; PHASES.len()],
}

impl PhaseStats {
    pub fn observe(&self, phase: usize, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let b = BOUNDS_US
            .iter()
            .position(|bound| us <= *bound)
            .unwrap_or(BOUNDS_US.len());
        self.buckets[phase][b].fetch_add(1, Ordering::Relaxed);
        self.sum_us[phase].fetch_add(us, Ordering::Relaxed);
    }
}

/// The index of a phase name in [`PHASES`].
pub fn phase_index(name: &str) -> Option<usize> {
    PHASES.iter().position(|p| *p == name)
}

/// A phase of a failed request.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PhaseTiming {
    pub phase: &'static str,
    pub ms: f64,
    pub failed: bool,
}

/// A failed request as kept for diagnostics.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// Increasing number (`/diagnostics?since=N` returns the later ones).
    pub seq: u64,
    /// Unix milliseconds.
    pub at: u64,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// `name version`, when the request matched an API.
    pub api: Option<String>,
    pub operation: Option<String>,
    pub application: Option<String>,
    /// The phase that decided (`routing` when no API matched).
    pub phase: String,
    pub cause: String,
    pub phases: Vec<PhaseTiming>,
    pub total_ms: f64,
    /// The W3C trace id, when the request was traced.
    pub trace_id: Option<String>,
}

/// The gateway's diagnostics state.
pub struct Diagnostics {
    started: std::time::Instant,
    capacity: usize,
    failures: Mutex<VecDeque<Failure>>,
    seq: AtomicU64,
    /// Failures not kept because another thread was writing the list.
    missed: AtomicU64,
    workers: Mutex<Vec<Weak<PhaseStats>>>,
}

impl Default for Diagnostics {
    fn default() -> Self {
        Diagnostics::new(100)
    }
}

impl Diagnostics {
    /// Keeps the last `capacity` failed requests.
    pub fn new(capacity: usize) -> Diagnostics {
        Diagnostics {
            started: std::time::Instant::now(),
            capacity,
            failures: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            seq: AtomicU64::new(0),
            missed: AtomicU64::new(0),
            workers: Mutex::new(Vec::new()),
        }
    }

    /// A worker's histogram, counted in every report while the worker lives.
    pub fn worker(&self) -> Arc<PhaseStats> {
        let stats = Arc::new(PhaseStats::default());
        let mut workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        workers.retain(|w| w.strong_count() > 0);
        workers.push(Arc::downgrade(&stats));
        stats
    }

    /// Keeps a failed request (its `seq` is set here).
    pub fn failed(&self, mut failure: Failure) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut list) = self.failures.try_lock() else {
            self.missed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        failure.seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        if list.len() == self.capacity {
            list.pop_back();
        }
        list.push_front(failure);
    }

    /// Failures after `since` (all kept when 0), newest first.
    pub fn failures(&self, since: u64) -> Vec<Failure> {
        let list = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        list.iter().filter(|f| f.seq > since).cloned().collect()
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Per-phase counts and percentiles over every worker.
    pub fn phases(&self) -> Vec<PhaseSummary> {
        let workers: Vec<Arc<PhaseStats>> = self
            .workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        PHASES
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut counts = [0u64; BOUNDS_US.len() + 1];
                let mut sum = 0u64;
                for w in &workers {
                    for (b, c) in counts.iter_mut().enumerate() {
                        *c += w.buckets[i][b].load(Ordering::Relaxed);
                    }
                    sum += w.sum_us[i].load(Ordering::Relaxed);
                }
                let count: u64 = counts.iter().sum();
                PhaseSummary {
                    phase: name,
                    count,
                    mean_ms: if count == 0 {
                        0.0
                    } else {
                        round_ms(sum as f64 / count as f64)
                    },
                    p50_ms: quantile(&counts, 0.50),
                    p95_ms: quantile(&counts, 0.95),
                    p99_ms: quantile(&counts, 0.99),
                }
            })
            .collect()
    }

    pub fn seq(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    pub fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }
}

/// A phase's latency over the gateway's life.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PhaseSummary {
    pub phase: &'static str,
    pub count: u64,
    pub mean_ms: f64,
    /// Upper bound of the bucket holding the quantile (`None`: no request, or above 60 s).
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

fn round_ms(us: f64) -> f64 {
    (us / 10.0).round() / 100.0
}

fn quantile(counts: &[u64], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (b, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return BOUNDS_US.get(b).map(|us| round_ms(*us as f64));
        }
    }
    None
}

pub fn ms(d: Duration) -> f64 {
    round_ms(d.as_micros() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(path: &str) -> Failure {
        Failure {
            seq: 0,
            at: 0,
            method: "GET".into(),
            path: path.into(),
            status: 503,
            api: None,
            operation: None,
            application: None,
            phase: "backend".into(),
            cause: "down".into(),
            phases: Vec::new(),
            total_ms: 1.0,
            trace_id: None,
        }
    }

    #[test]
    fn keeps_the_last_failures_newest_first() {
        let d = Diagnostics::new(3);
        for i in 0..5 {
            d.failed(failure(&format!("/{i}")));
        }
        let kept: Vec<String> = d.failures(0).into_iter().map(|f| f.path).collect();
        assert_eq!(kept, ["/4", "/3", "/2"]);
        let later: Vec<u64> = d.failures(4).into_iter().map(|f| f.seq).collect();
        assert_eq!(later, [5]);
        assert_eq!(d.seq(), 5);
    }

    #[test]
    fn percentiles_come_from_every_worker() {
        let d = Diagnostics::new(1);
        let (a, b) = (d.worker(), d.worker());
        for _ in 0..90 {
            a.observe(0, Duration::from_micros(80));
        }
        for _ in 0..10 {
            b.observe(0, Duration::from_millis(20));
        }
        let auth = &d.phases()[0];
        assert_eq!(auth.phase, "auth");
        assert_eq!(auth.count, 100);
        assert_eq!(auth.p50_ms, Some(0.1));
        assert_eq!(auth.p95_ms, Some(25.0));
        assert_eq!(d.phases()[1].count, 0);
        assert_eq!(d.phases()[1].p50_ms, None);
        drop(b);
        assert_eq!(
            d.phases()[0].count,
            90,
            "a stopped worker's counts leave with it"
        );
    }
}
