//! A request's trace through the gateway's phases: the server span and one span per phase
//! (`auth`, `throttling`, `policies`, `backend`), with the API, operation, application and
//! status as attributes. The phase still open when a request ends early is the one that
//! refused it: it ends with the refusal as its error.
//!
//! Spans are kept only for sampled requests; an unsampled one still carries its trace context
//! to the backend (`traceparent` with the sampled flag off).

use hyper::header::HeaderValue;

use crate::otel::{AttrValue, Span, SpanKind, TraceContext, Tracer, now_unix_nanos};

pub const AUTH: &str = "auth";
pub const THROTTLING: &str = "throttling";
pub const POLICIES: &str = "policies";
pub const BACKEND: &str = "backend";

pub struct Trace {
    ctx: TraceContext,
    parent: Option<[u8; 8]>,
    start: u64,
    /// Sampled: spans are recorded.
    record: bool,
    open: Option<(&'static str, u64)>,
    done: Vec<Span>,
    attributes: Vec<(&'static str, AttrValue)>,
    /// `{context}/{version}{template}` once routed.
    route: Option<String>,
    /// The backend call's own context (its span id is the backend's parent).
    backend: Option<TraceContext>,
    cause: Option<String>,
}

impl Trace {
    /// A request's trace from the tracer's decision (`Tracer::begin`).
    pub fn new(ctx: TraceContext, parent: Option<[u8; 8]>, path: &str) -> Trace {
        let record = ctx.sampled;
        let mut attributes = Vec::new();
        if record {
            attributes.push(("url.path", AttrValue::from(path)));
        }
        Trace {
            ctx,
            parent,
            start: now_unix_nanos(),
            record,
            open: None,
            done: Vec::new(),
            attributes,
            route: None,
            backend: None,
            cause: None,
        }
    }

    pub fn context(&self) -> &TraceContext {
        &self.ctx
    }

    pub fn sampled(&self) -> bool {
        self.record
    }

    /// Starts a phase (ending the one open).
    pub fn enter(&mut self, phase: &'static str) {
        if self.record {
            self.close(None);
            self.open = Some((phase, now_unix_nanos()));
        }
    }

    /// Ends the open phase.
    pub fn leave(&mut self) {
        if self.record {
            self.close(None);
        }
    }

    /// Starts the backend call: the `traceparent` value the backend gets.
    pub fn enter_backend(&mut self) -> HeaderValue {
        let ctx = self.ctx.child();
        self.backend = Some(ctx);
        self.enter(BACKEND);
        HeaderValue::from_bytes(&ctx.header_bytes()).expect("hex is a valid header value")
    }

    pub fn attr(&mut self, key: &'static str, value: impl Into<AttrValue>) {
        if self.record {
            self.attributes.push((key, value.into()));
        }
    }

    /// The request matched an API's operation.
    pub fn routed(&mut self, api: &crate::snapshot::Api, verb: &str, template: &str) {
        if self.record {
            self.route = Some(format!("{}/{}{template}", api.context, api.version));
            self.attributes.extend([
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

    /// The gateway refused or failed the request: the open phase ends with `cause`.
    pub fn fail(&mut self, cause: String) {
        if self.cause.is_none() {
            if self.record {
                self.close(Some(cause.clone()));
            }
            self.cause = Some(cause);
        }
    }

    fn close(&mut self, error: Option<String>) {
        let Some((phase, start)) = self.open.take() else {
            return;
        };
        let (ctx, kind) = match (phase, self.backend) {
            (BACKEND, Some(b)) => (b, SpanKind::Client),
            _ => (self.ctx.child(), SpanKind::Internal),
        };
        let mut span = Span::new(&ctx, Some(self.ctx.span_id), phase, kind, start);
        span.end_unix_nanos = now_unix_nanos();
        span.error = error;
        self.done.push(span);
    }

    /// Ends the request with the status sent: its spans go to `tracer` when sampled.
    pub fn finish(mut self, tracer: &Tracer, method: &str, status: u16) {
        if !self.record {
            return;
        }
        if self.open.is_some() {
            // Only a refusal leaves a phase open, and that was recorded by `fail`.
            self.close(self.cause.clone());
        }
        let name = match &self.route {
            Some(r) => format!("{method} {r}"),
            None => method.to_string(),
        };
        let mut span = Span::new(&self.ctx, self.parent, name, SpanKind::Server, self.start);
        span.end_unix_nanos = now_unix_nanos();
        span.attributes = std::mem::take(&mut self.attributes);
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
        for s in self.done.drain(..) {
            tracer.record(s);
        }
        tracer.record(span);
    }
}
