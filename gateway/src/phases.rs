//! A request's way through the gateway's phases (`auth`, `throttling`, `policies`,
//! `backend`): their timings for the diagnostics histograms, the phase that refused a request
//! and why (kept among the recent failures), and — when OpenTelemetry is on — the server span
//! and one span per phase with the API, operation, application and status as attributes.
//!
//! Timing every request costs a clock read per phase boundary; spans are built only for
//! sampled requests, and the failure record only for failed ones. An unsampled request still
//! carries its trace context to the backend (`traceparent` with the sampled flag off).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::header::HeaderValue;

use crate::analytics::{Record, Recorder, cause};
use crate::diagnostics::{Diagnostics, Failure, PhaseStats, PhaseTiming, phase_index};
use crate::otel::{AttrValue, Span, SpanKind, TraceContext, Tracer, now_unix_nanos};

pub const AUTH: &str = "auth";
pub const THROTTLING: &str = "throttling";
pub const POLICIES: &str = "policies";
pub const BACKEND: &str = "backend";

/// Most phases a request passes (throttling can come up to three times).
const MAX_PHASES: usize = 8;

/// The OpenTelemetry half of a request's trace.
struct Otel {
    ctx: TraceContext,
    parent: Option<[u8; 8]>,
    start: u64,
    /// Sampled: spans are recorded.
    record: bool,
    open_at: u64,
    done: Vec<Span>,
    attributes: Vec<(&'static str, AttrValue)>,
    /// The backend call's own context (its span id is the backend's parent).
    backend: Option<TraceContext>,
}

pub struct Trace {
    otel: Option<Otel>,
    start: Instant,
    open: Option<(&'static str, Instant)>,
    /// Closed phases: name, time, failed.
    phases: [(&'static str, Duration, bool); MAX_PHASES],
    n: usize,
    /// `{context}/{version}{template}` once routed (traced requests and failures).
    route: Option<String>,
    /// (table version, API index, operation index) once routed.
    routed: Option<(u64, usize, usize)>,
    /// (API `name version`, operation), named for failures and traced requests.
    api: Option<(String, String)>,
    application: Option<String>,
    cause: Option<String>,
    /// The phase that refused the request.
    decided: Option<&'static str>,
    /// Details for the failure record (each endpoint tried, …).
    notes: Vec<String>,
    /// The caller asked for a debug trace and may have one.
    debug: bool,
    /// An analytics record is made at the end (analytics on).
    collect: bool,
    /// For the record: the application's id, the end user, the key type.
    application_id: Option<String>,
    user: Option<String>,
    key_type: &'static str,
}

impl Trace {
    /// A request's trace; `otel` is the tracer's decision (`Tracer::begin`), `None` when
    /// tracing is off.
    pub fn new(otel: Option<(TraceContext, Option<[u8; 8]>)>, path: &str) -> Trace {
        let otel = otel.map(|(ctx, parent)| {
            let mut attributes = Vec::new();
            if ctx.sampled {
                attributes.push(("url.path", AttrValue::from(path)));
            }
            Otel {
                ctx,
                parent,
                start: now_unix_nanos(),
                record: ctx.sampled,
                open_at: 0,
                done: Vec::new(),
                attributes,
                backend: None,
            }
        });
        Trace {
            otel,
            start: Instant::now(),
            open: None,
            phases: [("", Duration::ZERO, false); MAX_PHASES],
            n: 0,
            route: None,
            routed: None,
            api: None,
            application: None,
            cause: None,
            decided: None,
            notes: Vec::new(),
            debug: false,
            collect: false,
            application_id: None,
            user: None,
            key_type: "",
        }
    }

    /// Make an analytics record when the request ends.
    pub fn collect(&mut self) {
        self.collect = true;
    }

    /// The caller asked for a debug trace and its token has the diagnostics scope.
    pub fn grant_debug(&mut self) {
        self.debug = true;
    }

    pub fn debug_granted(&self) -> bool {
        self.debug
    }

    /// The OpenTelemetry context, when tracing.
    pub fn context(&self) -> Option<&TraceContext> {
        self.otel.as_ref().map(|o| &o.ctx)
    }

    /// Spans are being recorded (tracing on, request sampled).
    pub fn sampled(&self) -> bool {
        self.otel.as_ref().is_some_and(|o| o.record)
    }

    /// Starts a phase (ending the one open).
    pub fn enter(&mut self, phase: &'static str) {
        self.close(false, None);
        self.open = Some((phase, Instant::now()));
        if let Some(o) = self.otel.as_mut().filter(|o| o.record) {
            o.open_at = now_unix_nanos();
        }
    }

    /// Ends the open phase.
    pub fn leave(&mut self) {
        self.close(false, None);
    }

    /// Starts the backend call: the `traceparent` value the backend gets when tracing.
    pub fn enter_backend(&mut self) -> Option<HeaderValue> {
        self.enter(BACKEND);
        let o = self.otel.as_mut()?;
        let ctx = o.ctx.child();
        o.backend = Some(ctx);
        HeaderValue::from_bytes(&ctx.header_bytes()).ok()
    }

    /// An attribute of the server span (kept only when sampled).
    pub fn attr(&mut self, key: &'static str, value: impl Into<AttrValue>) {
        if let Some(o) = self.otel.as_mut().filter(|o| o.record) {
            o.attributes.push((key, value.into()));
        }
    }

    /// A detail for the failure record (an endpoint that failed, …).
    pub fn note(&mut self, text: String) {
        if self.notes.len() < 16 {
            self.notes.push(text);
        }
    }

    /// The request matched operation `operation` of the table's API `index`: only numbers
    /// are kept (no allocation); names are looked up when the request fails or is traced.
    pub fn routed(
        &mut self,
        version: u64,
        index: usize,
        operation: usize,
        api: &crate::snapshot::Api,
    ) {
        self.routed = Some((version, index, operation));
        if self.sampled() {
            self.name_route(api, operation);
        }
    }

    /// (table version, API index, operation index) once routed.
    pub fn routed_at(&self) -> Option<(u64, usize, usize)> {
        self.routed
    }

    /// Whether [`Trace::name_route`] is wanted before `finish`.
    pub fn wants_names(&self) -> Option<(u64, usize, usize)> {
        (self.cause.is_some() || self.sampled())
            .then_some(self.routed?)
            .filter(|_| self.route.is_none())
    }

    /// The route's names (API, operation) for the failure record and the span.
    pub fn name_route(&mut self, api: &crate::snapshot::Api, operation: usize) {
        let Some(op) = api.operations.get(operation) else {
            return;
        };
        let (verb, template) = (op.method.as_str(), op.target.as_str());
        self.route = Some(format!("{}/{}{template}", api.context, api.version));
        self.api = Some((
            format!("{} {}", api.name, api.version),
            format!("{verb} {template}"),
        ));
        if let Some(o) = self.otel.as_mut().filter(|o| o.record) {
            o.attributes.extend([
                ("gatehouse.api.id", AttrValue::from(api.id.as_str())),
                ("gatehouse.api.name", AttrValue::from(api.name.as_str())),
                (
                    "gatehouse.api.version",
                    AttrValue::from(api.version.as_str()),
                ),
                (
                    "gatehouse.operation",
                    AttrValue::from(format!("{verb} {template}")),
                ),
            ]);
        }
    }

    /// The caller's application (after authentication): kept for a failure (the name is
    /// copied, once per request that authenticates).
    pub fn application(&mut self, id: &str, name: &str, key_type: &'static str, user: &str) {
        self.application = Some(name.to_string());
        if self.collect {
            self.application_id = Some(id.to_string());
            self.user = Some(user.to_string());
            self.key_type = key_type;
        }
        if let Some(o) = self.otel.as_mut().filter(|o| o.record) {
            o.attributes.extend([
                ("gatehouse.application.id", AttrValue::from(id)),
                ("gatehouse.application.name", AttrValue::from(name)),
                ("gatehouse.key_type", AttrValue::from(key_type)),
            ]);
        }
    }

    /// The gateway refused or failed the request: the open phase ends with `cause`.
    pub fn fail(&mut self, cause: String) {
        if self.cause.is_none() {
            self.decided = self.open.map(|(p, _)| p);
            self.close(true, Some(&cause));
            self.cause = Some(cause);
        }
    }

    fn close(&mut self, failed: bool, error: Option<&str>) {
        let Some((phase, start)) = self.open.take() else {
            return;
        };
        if self.n < MAX_PHASES {
            self.phases[self.n] = (phase, start.elapsed(), failed);
            self.n += 1;
        }
        if let Some(o) = self.otel.as_mut().filter(|o| o.record) {
            let (ctx, kind) = match (phase, o.backend) {
                (BACKEND, Some(b)) => (b, SpanKind::Client),
                _ => (o.ctx.child(), SpanKind::Internal),
            };
            let mut span = Span::new(&ctx, Some(o.ctx.span_id), phase, kind, o.open_at);
            span.end_unix_nanos = now_unix_nanos();
            span.error = error.map(str::to_string);
            o.done.push(span);
        }
    }

    /// The `Server-Timing` value of a debug trace: each phase and the gateway's own time.
    pub fn server_timing(&self) -> String {
        let mut parts: Vec<String> = self.phases[..self.n]
            .iter()
            .map(|(p, d, _)| format!("{p};dur={:.3}", d.as_secs_f64() * 1000.0))
            .collect();
        let total = self.start.elapsed();
        let backend: Duration = self.phases[..self.n]
            .iter()
            .filter(|(p, _, _)| *p == BACKEND)
            .map(|(_, d, _)| *d)
            .sum();
        parts.push(format!(
            "gateway;dur={:.3}",
            total.saturating_sub(backend).as_secs_f64() * 1000.0
        ));
        parts.join(", ")
    }

    /// Ends the request with the status sent: timings into `stats`, a failure into
    /// `diagnostics`, spans to `tracer` when sampled, the record to `analytics` when collected
    /// (`names`: the API's id and the operation, shared with the routing table; `bytes`: the
    /// request's and the response's body lengths).
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        mut self,
        stats: &PhaseStats,
        diagnostics: &Diagnostics,
        tracer: &Tracer,
        analytics: &Recorder,
        method: &str,
        path: &str,
        status: u16,
        names: Option<(Arc<str>, Arc<str>)>,
        bytes: (u64, u64),
    ) {
        if self.open.is_some() {
            // Only a refusal leaves a phase open, and `fail` closed it; a phase still open
            // here ended with the request (a response the backend sent, an early answer).
            self.close(self.cause.is_some(), self.cause.clone().as_deref());
        }
        let total = self.start.elapsed();
        let mut backend = Duration::ZERO;
        for (phase, d, _) in &self.phases[..self.n] {
            if let Some(i) = phase_index(phase) {
                stats.observe(i, *d);
            }
            if *phase == BACKEND {
                backend += *d;
            }
        }
        stats.observe(crate::diagnostics::GATEWAY, total.saturating_sub(backend));
        stats.observe(crate::diagnostics::TOTAL, total);
        if self.collect {
            analytics.record(self.record(status, total, backend, names, bytes));
        }
        // A failure: the gateway refused the request, or the backend answered 5xx.
        let backend_failed = status >= 500 && self.cause.is_none();
        if self.cause.is_some() || backend_failed {
            let cause = match (&self.cause, backend_failed) {
                (Some(c), _) => c.clone(),
                (None, _) => format!("the backend answered {status}"),
            };
            let cause = if self.notes.is_empty() {
                cause
            } else {
                format!("{cause} [{}]", self.notes.join("; "))
            };
            let phase = match (self.decided, backend_failed) {
                (Some(p), _) => p.to_string(),
                (None, true) => BACKEND.to_string(),
                (None, false) if self.routed.is_none() => "routing".to_string(),
                (None, false) => "gateway".to_string(),
            };
            let (api, operation) = match self.api.take() {
                Some((a, o)) => (Some(a), Some(o)),
                None => (None, None),
            };
            diagnostics.failed(Failure {
                seq: 0,
                at: crate::otel::now_unix_nanos() / 1_000_000,
                method: method.to_string(),
                path: path.to_string(),
                status,
                api,
                operation,
                application: self.application.take(),
                phase,
                cause,
                phases: self.phases[..self.n]
                    .iter()
                    .map(|(p, d, failed)| PhaseTiming {
                        phase: p,
                        ms: crate::diagnostics::ms(*d),
                        failed: *failed,
                    })
                    .collect(),
                total_ms: crate::diagnostics::ms(total),
                trace_id: self.otel.as_ref().map(|o| hex(&o.ctx.trace_id)),
            });
        }
        let Some(mut o) = self.otel.take().filter(|o| o.record) else {
            return;
        };
        let name = match &self.route {
            Some(r) => format!("{method} {r}"),
            None => method.to_string(),
        };
        let mut span = Span::new(&o.ctx, o.parent, name, SpanKind::Server, o.start);
        span.end_unix_nanos = now_unix_nanos();
        span.attributes = std::mem::take(&mut o.attributes);
        span.attr("http.request.method", method);
        span.attr("http.response.status_code", status);
        if let Some(r) = self.route.take() {
            span.attr("http.route", r);
        }
        if let Some(c) = &self.cause {
            span.attr("gatehouse.error.cause", c.as_str());
        }
        // Server spans fail on 5xx (a 4xx is the client's).
        if status >= 500 {
            span.error = Some(
                self.cause
                    .clone()
                    .unwrap_or_else(|| format!("status {status}")),
            );
        }
        for s in o.done.drain(..) {
            tracer.record(s);
        }
        tracer.record(span);
    }
}

impl Trace {
    /// The analytics record of a finished request: shared names and static strings, so the
    /// request pays for no copies beyond the application's id and the user.
    fn record(
        &mut self,
        status: u16,
        total: Duration,
        backend: Duration,
        names: Option<(Arc<str>, Arc<str>)>,
        bytes: (u64, u64),
    ) -> Record {
        let cause = match (&self.cause, self.decided) {
            (None, _) if status >= 500 && self.routed.is_some() => cause::BACKEND_ERROR,
            (None, _) if status >= 500 => cause::OTHER,
            (None, _) => "",
            (Some(_), Some(AUTH)) => cause::AUTH,
            (Some(_), Some(THROTTLING)) => cause::THROTTLING,
            (Some(_), Some(POLICIES)) => cause::POLICY,
            (Some(_), Some(BACKEND)) => cause::TARGET_CONNECTIVITY,
            (Some(_), _) if self.routed.is_none() => cause::ROUTING,
            (Some(_), _) if matches!(status, 502..=504) => cause::TARGET_CONNECTIVITY,
            (Some(_), _) => cause::OTHER,
        };
        let (api, op) = match names {
            Some((a, o)) => (Some(a), Some(o)),
            None => (None, None),
        };
        Record {
            t: (now_unix_nanos() / 1_000_000) as i64,
            api,
            op,
            app: self.application_id.take(),
            user: self.user.take(),
            key_type: self.key_type,
            status,
            total_us: total.as_micros() as u64,
            backend_us: backend.as_micros() as u64,
            bytes_in: bytes.0,
            bytes_out: bytes.1,
            cause,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
