//! OpenTelemetry traces over OTLP (HTTP/protobuf or gRPC), for the gateway and the server,
//! without the OpenTelemetry SDK: W3C `traceparent`, a parent-based ratio sampler, spans
//! encoded to OTLP's protobuf by hand (a few field numbers), and a bounded queue that a
//! background task sends in batches. The request path only fills a span and `try_send`s it:
//! when the queue is full the span is dropped and counted, never waited for.
//!
//! Configured by the standard variables, which win over the config file's `[otel]`:
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`),
//! `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, `grpc`), `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` (`deployment.environment=prod,…`),
//! `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`. No endpoint: off.

use std::cell::Cell;
use std::hash::BuildHasher;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// `[otel]` of the config file (the `OTEL_…` variables override it).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OtelSection {
    /// The collector: `http://collector:4318` (HTTP, `/v1/traces` is added) or
    /// `http://collector:4317` (gRPC). Unset: no traces are exported.
    pub endpoint: Option<String>,
    /// `http/protobuf` (default) or `grpc`.
    pub protocol: String,
    /// `service.name`; default: the binary's name (`gatehouse-gateway`, `gatehouse-server`).
    pub service_name: Option<String>,
    /// More resource attributes: `deployment.environment=prod,service.namespace=payments`.
    pub resource_attributes: String,
    /// Headers sent with every export (`api-key=…`), as `key=value,…`.
    pub headers: String,
    /// Share of new traces recorded, 0–1; a caller's sampled `traceparent` is always followed.
    pub sampling_ratio: f64,
    /// Spans waiting to be sent; when full, new spans are dropped and counted.
    pub queue: usize,
}

impl Default for OtelSection {
    fn default() -> Self {
        OtelSection {
            endpoint: None,
            protocol: "http/protobuf".into(),
            service_name: None,
            resource_attributes: String::new(),
            headers: String::new(),
            sampling_ratio: 1.0,
            queue: 4096,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Grpc,
}

/// The settings in force: the section with the `OTEL_…` variables applied and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct OtelConfig {
    /// Where spans go: the full URL (`…/v1/traces` for HTTP, the gRPC method for gRPC).
    pub url: String,
    pub protocol: Protocol,
    pub resource: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub sampling_ratio: f64,
    pub queue: usize,
}

/// The gRPC method OTLP/gRPC exports to.
const GRPC_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

impl OtelSection {
    /// The settings in force for `service` (`gatehouse-gateway`), with `env` (the process's
    /// variables) over the file's values: `None` when no endpoint is set. Errors name the
    /// variable or key.
    pub fn resolve(
        &self,
        service: &str,
        env: &[(String, String)],
    ) -> Result<Option<OtelConfig>, String> {
        let var = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let protocol = match var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .unwrap_or_else(|| self.protocol.clone())
            .as_str()
        {
            "http/protobuf" | "http" => Protocol::Http,
            "grpc" => Protocol::Grpc,
            other => {
                return Err(format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL / otel.protocol: `{other}` is not supported \
                     (http/protobuf or grpc)"
                ));
            }
        };
        // A traces endpoint is used as it is; a general one gets the signal's path (HTTP).
        let url = match var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            Some(u) => u,
            None => {
                let Some(base) = var("OTEL_EXPORTER_OTLP_ENDPOINT")
                    .or_else(|| self.endpoint.clone().filter(|e| !e.trim().is_empty()))
                else {
                    return Ok(None);
                };
                let base = base.trim_end_matches('/');
                match protocol {
                    Protocol::Http => format!("{base}/v1/traces"),
                    Protocol::Grpc => format!("{base}{GRPC_EXPORT}"),
                }
            }
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_ENDPOINT / otel.endpoint: `{url}` is not an http(s) URL"
            ));
        }
        let url = match protocol {
            Protocol::Grpc if !url.ends_with(GRPC_EXPORT) => {
                format!("{}{GRPC_EXPORT}", url.trim_end_matches('/'))
            }
            _ => url,
        };
        // Resource: the file's attributes, the variable's over them, the service name last.
        let mut resource: Vec<(String, String)> = Vec::new();
        fn set(resource: &mut Vec<(String, String)>, k: String, v: String) {
            match resource.iter_mut().find(|(x, _)| *x == k) {
                Some(slot) => slot.1 = v,
                None => resource.push((k, v)),
            }
        }
        for (origin, text) in [
            (
                "otel.resource_attributes",
                Some(self.resource_attributes.clone()),
            ),
            ("OTEL_RESOURCE_ATTRIBUTES", var("OTEL_RESOURCE_ATTRIBUTES")),
        ] {
            for (k, v) in pairs(text.as_deref().unwrap_or_default(), origin)? {
                set(&mut resource, k, v);
            }
        }
        let service_name = var("OTEL_SERVICE_NAME")
            .or_else(|| self.service_name.clone())
            .or_else(|| {
                resource
                    .iter()
                    .find(|(k, _)| k == "service.name")
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| service.to_string());
        set(&mut resource, "service.name".into(), service_name);
        set(
            &mut resource,
            "telemetry.sdk.name".into(),
            "gatehouse".into(),
        );
        set(
            &mut resource,
            "telemetry.sdk.language".into(),
            "rust".into(),
        );
        let mut headers = pairs(&self.headers, "otel.headers")?;
        if let Some(h) =
            var("OTEL_EXPORTER_OTLP_TRACES_HEADERS").or_else(|| var("OTEL_EXPORTER_OTLP_HEADERS"))
        {
            headers = pairs(&h, "OTEL_EXPORTER_OTLP_HEADERS")?;
        }
        let sampling_ratio = match var("OTEL_TRACES_SAMPLER").as_deref() {
            None => self.sampling_ratio,
            Some("always_on" | "parentbased_always_on") => 1.0,
            Some("always_off" | "parentbased_always_off") => 0.0,
            Some("traceidratio" | "parentbased_traceidratio") => {
                match var("OTEL_TRACES_SAMPLER_ARG") {
                    None => 1.0,
                    Some(a) => a.parse::<f64>().map_err(|_| {
                        format!("OTEL_TRACES_SAMPLER_ARG: `{a}` is not a number between 0 and 1")
                    })?,
                }
            }
            Some(other) => {
                return Err(format!(
                    "OTEL_TRACES_SAMPLER: `{other}` is not supported (always_on, always_off, \
                     traceidratio and their parentbased_ forms)"
                ));
            }
        };
        if !(0.0..=1.0).contains(&sampling_ratio) {
            return Err(format!(
                "otel.sampling_ratio / OTEL_TRACES_SAMPLER_ARG: {sampling_ratio} is not between 0 and 1"
            ));
        }
        if self.queue == 0 {
            return Err("otel.queue: must be at least 1".into());
        }
        Ok(Some(OtelConfig {
            url,
            protocol,
            resource,
            headers,
            sampling_ratio,
            queue: self.queue,
        }))
    }
}

/// `key=value,key=value` with percent-encoded values (the W3C baggage form the OTel variables
/// use).
fn pairs(text: &str, origin: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((k, v)) = item.split_once('=') else {
            return Err(format!("{origin}: `{item}` is not key=value"));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(format!("{origin}: `{item}` has no key"));
        }
        out.push((k.to_string(), percent_decode(v.trim())));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // Bytes, not a `str` slice: `%` before a multi-byte character must not split it.
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            out.push(hex(b[i + 1]) << 4 | hex(b[i + 2]));
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A random 64-bit number, cheap (xorshift per thread, seeded from the process's random keys):
/// ids, not secrets.
pub fn random_u64() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            std::collections::hash_map::RandomState::new().hash_one(std::thread::current().id()) | 1,
        );
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

fn nonzero_u64() -> u64 {
    loop {
        let v = random_u64();
        if v != 0 {
            return v;
        }
    }
}

/// A W3C trace context: `traceparent: 00-<trace id>-<parent id>-<flags>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

impl TraceContext {
    /// Reads a `traceparent` value; `None` for anything malformed (a new trace starts then).
    pub fn parse(value: &str) -> Option<TraceContext> {
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let (trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?);
        // Version 00 has exactly four fields; later versions may add some.
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        hex_into(trace, &mut trace_id)?;
        hex_into(span, &mut span_id)?;
        let mut f = [0u8; 1];
        hex_into(flags, &mut f)?;
        u8::from_str_radix(version, 16).ok()?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(TraceContext {
            trace_id,
            span_id,
            sampled: f[0] & 1 == 1,
        })
    }

    /// A new trace (no caller context).
    pub fn root(sampled: bool) -> TraceContext {
        let mut trace_id = [0u8; 16];
        trace_id[..8].copy_from_slice(&nonzero_u64().to_be_bytes());
        trace_id[8..].copy_from_slice(&random_u64().to_be_bytes());
        TraceContext {
            trace_id,
            span_id: nonzero_u64().to_be_bytes(),
            sampled,
        }
    }

    /// The same trace, a new span.
    pub fn child(&self) -> TraceContext {
        TraceContext {
            span_id: nonzero_u64().to_be_bytes(),
            ..*self
        }
    }

    /// The `traceparent` value naming this span as the parent.
    pub fn header(&self) -> String {
        String::from_utf8_lossy(&self.header_bytes()).into_owned()
    }

    /// The same, without allocating.
    pub fn header_bytes(&self) -> [u8; 55] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut buf = *b"00-00000000000000000000000000000000-0000000000000000-00";
        for (i, b) in self.trace_id.iter().chain(&self.span_id).enumerate() {
            // The span id starts after the trace id's 32 digits and a dash.
            let at = 3 + 2 * i + usize::from(i >= 16);
            buf[at] = HEX[usize::from(b >> 4)];
            buf[at + 1] = HEX[usize::from(b & 0xf)];
        }
        if self.sampled {
            buf[54] = b'1';
        }
        buf
    }
}

fn hex_into(s: &str, out: &mut [u8]) -> Option<()> {
    if s.len() != out.len() * 2 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    if s.bytes().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(())
}

/// Whether a new trace is recorded, from its id (the W3C "random" lower 8 bytes): the same
/// decision on every service that samples by ratio.
pub fn sampled_by_ratio(trace_id: &[u8; 16], ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 {
        return false;
    }
    let low = u64::from_be_bytes(trace_id[8..].try_into().unwrap_or([0; 8])) >> 1;
    (low as f64) < ratio * (u64::MAX >> 1) as f64
}

pub fn now_unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Internal = 1,
    Server = 2,
    Client = 3,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        AttrValue::Str(s.to_string())
    }
}
impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        AttrValue::Str(s)
    }
}
impl From<i64> for AttrValue {
    fn from(v: i64) -> Self {
        AttrValue::Int(v)
    }
}
impl From<u16> for AttrValue {
    fn from(v: u16) -> Self {
        AttrValue::Int(i64::from(v))
    }
}
impl From<bool> for AttrValue {
    fn from(v: bool) -> Self {
        AttrValue::Bool(v)
    }
}

/// One finished span.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub attributes: Vec<(&'static str, AttrValue)>,
    /// `Some(message)`: the span failed (status ERROR).
    pub error: Option<String>,
}

impl Span {
    /// A span of `ctx` (its id) under `parent`, started at `start` (Unix nanoseconds).
    pub fn new(
        ctx: &TraceContext,
        parent: Option<[u8; 8]>,
        name: impl Into<String>,
        kind: SpanKind,
        start_unix_nanos: u64,
    ) -> Span {
        Span {
            trace_id: ctx.trace_id,
            span_id: ctx.span_id,
            parent_span_id: parent,
            name: name.into(),
            kind,
            start_unix_nanos,
            end_unix_nanos: start_unix_nanos,
            attributes: Vec::new(),
            error: None,
        }
    }

    pub fn attr(&mut self, key: &'static str, value: impl Into<AttrValue>) -> &mut Span {
        self.attributes.push((key, value.into()));
        self
    }
}

/// Protobuf writing: just what OTLP's trace messages need.
mod pb {
    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
        varint(out, (u64::from(field) << 3) | u64::from(wire));
    }

    pub fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
        key(out, field, 2);
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }

    pub fn string(out: &mut Vec<u8>, field: u32, s: &str) {
        bytes(out, field, s.as_bytes());
    }

    pub fn uint(out: &mut Vec<u8>, field: u32, v: u64) {
        key(out, field, 0);
        varint(out, v);
    }

    pub fn fixed64(out: &mut Vec<u8>, field: u32, v: u64) {
        key(out, field, 1);
        out.extend_from_slice(&v.to_le_bytes());
    }

    pub fn fixed32(out: &mut Vec<u8>, field: u32, v: u32) {
        key(out, field, 5);
        out.extend_from_slice(&v.to_le_bytes());
    }

    /// A nested message written by `f`.
    pub fn message(out: &mut Vec<u8>, field: u32, f: impl FnOnce(&mut Vec<u8>)) {
        let mut inner = Vec::new();
        f(&mut inner);
        bytes(out, field, &inner);
    }
}

/// `KeyValue { key = 1; AnyValue value = 2 }`, `AnyValue { string 1, bool 2, int 3 }`.
fn encode_attr(out: &mut Vec<u8>, field: u32, key: &str, value: &AttrValue) {
    pb::message(out, field, |kv| {
        pb::string(kv, 1, key);
        pb::message(kv, 2, |v| match value {
            AttrValue::Str(s) => pb::string(v, 1, s),
            AttrValue::Bool(b) => pb::uint(v, 2, u64::from(*b)),
            AttrValue::Int(i) => pb::uint(v, 3, *i as u64),
        });
    });
}

/// `ExportTraceServiceRequest` for spans of one resource and one instrumentation scope.
pub fn encode_export(resource: &[(String, String)], scope: &str, spans: &[Span]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + spans.len() * 200);
    // resource_spans = 1
    pb::message(&mut out, 1, |rs| {
        // resource = 1 { attributes = 1 }
        pb::message(rs, 1, |r| {
            for (k, v) in resource {
                encode_attr(r, 1, k, &AttrValue::Str(v.clone()));
            }
        });
        // scope_spans = 2 { scope = 1 { name = 1, version = 2 }, spans = 2 }
        pb::message(rs, 2, |ss| {
            pb::message(ss, 1, |sc| {
                pb::string(sc, 1, scope);
                pb::string(sc, 2, env!("CARGO_PKG_VERSION"));
            });
            for s in spans {
                pb::message(ss, 2, |sp| encode_span(sp, s));
            }
        });
    });
    out
}

/// `Span`: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, start 7, end 8,
/// attributes 9, status 15 { message 2, code 3 }, flags 16.
fn encode_span(out: &mut Vec<u8>, s: &Span) {
    pb::bytes(out, 1, &s.trace_id);
    pb::bytes(out, 2, &s.span_id);
    if let Some(p) = &s.parent_span_id {
        pb::bytes(out, 4, p);
    }
    pb::string(out, 5, &s.name);
    pb::uint(out, 6, s.kind as u64);
    pb::fixed64(out, 7, s.start_unix_nanos);
    pb::fixed64(out, 8, s.end_unix_nanos.max(s.start_unix_nanos));
    for (k, v) in &s.attributes {
        encode_attr(out, 9, k, v);
    }
    pb::message(out, 15, |st| {
        if let Some(m) = &s.error {
            pb::string(st, 2, m);
            pb::uint(st, 3, 2);
        }
    });
    // The sampled flag (W3C trace flags), with "has is_remote" unset.
    pb::fixed32(out, 16, 1);
}

#[cfg(feature = "runtime")]
pub use exporter::{Stats, Tracer};

#[cfg(feature = "runtime")]
mod exporter {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use tokio::sync::mpsc;

    use super::{OtelConfig, Protocol, Span, TraceContext};

    /// Spans per export request.
    const BATCH: usize = 512;
    /// A batch that is not full goes after this long.
    const DELAY: Duration = Duration::from_secs(1);
    const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Counters of what was exported (`/metrics`, diagnostics).
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct Stats {
        pub exported: u64,
        /// Dropped because the queue was full.
        pub dropped: u64,
        /// Lost because the collector refused them or could not be reached.
        pub failed: u64,
    }

    struct Inner {
        tx: mpsc::Sender<Span>,
        ratio: f64,
        exported: AtomicU64,
        dropped: AtomicU64,
        failed: AtomicU64,
    }

    /// Where spans go; cheap to clone. `Tracer::off()` records nothing.
    #[derive(Clone, Default)]
    pub struct Tracer {
        inner: Option<Arc<Inner>>,
    }

    impl Tracer {
        pub fn off() -> Tracer {
            Tracer { inner: None }
        }

        /// Starts the export task on the current runtime (`scope`: the instrumentation
        /// scope's name, `gatehouse-gateway`; `tls`: for an https collector).
        pub fn start(
            config: OtelConfig,
            scope: &'static str,
            tls: Arc<rustls::ClientConfig>,
        ) -> Tracer {
            let (tx, rx) = mpsc::channel(config.queue);
            let inner = Arc::new(Inner {
                tx,
                ratio: config.sampling_ratio,
                exported: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                failed: AtomicU64::new(0),
            });
            tracing::info!(
                url = %config.url,
                protocol = ?config.protocol,
                sampling = config.sampling_ratio,
                "exporting traces over OTLP"
            );
            tokio::spawn(export(config, scope, tls, rx, Arc::downgrade(&inner)));
            Tracer { inner: Some(inner) }
        }

        pub fn enabled(&self) -> bool {
            self.inner.is_some()
        }

        /// The context of a request's server span: a child of the caller's `traceparent` (its
        /// sampling decision followed), or a new trace sampled by ratio. `None` when off.
        pub fn begin(&self, traceparent: Option<&str>) -> Option<(TraceContext, Option<[u8; 8]>)> {
            let inner = self.inner.as_ref()?;
            Some(match traceparent.and_then(TraceContext::parse) {
                Some(parent) => (parent.child(), Some(parent.span_id)),
                None => {
                    let mut ctx = TraceContext::root(true);
                    ctx.sampled = super::sampled_by_ratio(&ctx.trace_id, inner.ratio);
                    (ctx, None)
                }
            })
        }

        /// Queues a finished span; never waits (a full queue drops it and counts it).
        pub fn record(&self, span: Span) {
            if let Some(inner) = &self.inner
                && inner.tx.try_send(span).is_err()
            {
                inner.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }

        pub fn stats(&self) -> Stats {
            self.inner.as_ref().map_or_else(Stats::default, |i| Stats {
                exported: i.exported.load(Ordering::Relaxed),
                dropped: i.dropped.load(Ordering::Relaxed),
                failed: i.failed.load(Ordering::Relaxed),
            })
        }
    }

    async fn export(
        config: OtelConfig,
        scope: &'static str,
        tls: Arc<rustls::ClientConfig>,
        mut rx: mpsc::Receiver<Span>,
        stats: std::sync::Weak<Inner>,
    ) {
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(5)));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http);
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
            .http2_only(config.protocol == Protocol::Grpc)
            .build(connector);
        let mut buf: Vec<Span> = Vec::with_capacity(BATCH);
        let mut tick = tokio::time::interval(DELAY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // A full batch goes at once, a partial one at the next tick; `buf` is never full
            // here, so `recv_many` always has room.
            let room = BATCH - buf.len();
            let (closed, due) = tokio::select! {
                n = rx.recv_many(&mut buf, room) => (n == 0, buf.len() >= BATCH),
                _ = tick.tick() => (false, true),
            };
            if (due || closed) && !buf.is_empty() {
                let ok = send(&client, &config, scope, &buf).await;
                let Some(inner) = stats.upgrade() else {
                    return;
                };
                let n = buf.len() as u64;
                if ok {
                    inner.exported.fetch_add(n, Ordering::Relaxed);
                } else {
                    inner.failed.fetch_add(n, Ordering::Relaxed);
                }
                buf.clear();
            }
            if closed {
                return;
            }
        }
    }

    async fn send<C>(
        client: &Client<C, Full<Bytes>>,
        config: &OtelConfig,
        scope: &str,
        spans: &[Span],
    ) -> bool
    where
        C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
    {
        let message = super::encode_export(&config.resource, scope, spans);
        let (content_type, body) = match config.protocol {
            Protocol::Http => ("application/x-protobuf", message),
            Protocol::Grpc => {
                // Length-prefixed message: not compressed, 4-byte big-endian length.
                let mut framed = Vec::with_capacity(message.len() + 5);
                framed.push(0);
                framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
                framed.extend_from_slice(&message);
                ("application/grpc", framed)
            }
        };
        let mut req = hyper::Request::post(&config.url)
            .header(hyper::header::CONTENT_TYPE, content_type)
            .header(hyper::header::USER_AGENT, "gatehouse-otlp");
        if config.protocol == Protocol::Grpc {
            req = req.header("te", "trailers");
        }
        for (k, v) in &config.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let Ok(req) = req.body(Full::new(Bytes::from(body))) else {
            tracing::warn!(url = %config.url, "OTLP export request could not be built");
            return false;
        };
        let result = tokio::time::timeout(EXPORT_TIMEOUT, async {
            let resp = client.request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status();
            let (parts, body) = resp.into_parts();
            let collected = body.collect().await.map_err(|e| e.to_string())?;
            let grpc_status = collected
                .trailers()
                .and_then(|t| t.get("grpc-status"))
                .or_else(|| parts.headers.get("grpc-status"))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            Ok::<_, String>((status, grpc_status))
        })
        .await;
        match result {
            Ok(Ok((status, grpc)))
                if status.is_success() && grpc.as_deref().is_none_or(|g| g == "0") =>
            {
                true
            }
            Ok(Ok((status, grpc))) => {
                tracing::warn!(url = %config.url, %status, grpc_status = ?grpc, spans = spans.len(), "the OTLP collector refused spans");
                false
            }
            Ok(Err(e)) => {
                tracing::warn!(url = %config.url, error = %e, spans = spans.len(), "cannot export spans over OTLP");
                false
            }
            Err(_) => {
                tracing::warn!(url = %config.url, spans = spans.len(), "OTLP export timed out");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn off_without_an_endpoint() {
        assert_eq!(OtelSection::default().resolve("gw", &[]), Ok(None));
    }

    #[test]
    fn the_standard_variables_win_over_the_file() {
        let file = OtelSection {
            endpoint: Some("http://file:4318".into()),
            resource_attributes: "deployment.environment=dev,team=api".into(),
            sampling_ratio: 0.5,
            ..OtelSection::default()
        };
        let c = file
            .resolve(
                "gatehouse-gateway",
                &env(&[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
                    (
                        "OTEL_RESOURCE_ATTRIBUTES",
                        "deployment.environment=prod,service.namespace=pay%20ments",
                    ),
                    ("OTEL_SERVICE_NAME", "edge"),
                    ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                    ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
                ]),
            )
            .unwrap()
            .unwrap();
        assert_eq!(c.url, "http://collector:4318/v1/traces");
        assert_eq!(c.protocol, Protocol::Http);
        assert_eq!(c.sampling_ratio, 0.1);
        let get = |k: &str| {
            c.resource
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("deployment.environment"), Some("prod"));
        assert_eq!(get("team"), Some("api"));
        assert_eq!(get("service.namespace"), Some("pay ments"));
        assert_eq!(get("service.name"), Some("edge"));

        let grpc = OtelSection::default()
            .resolve(
                "gw",
                &env(&[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ]),
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            grpc.url,
            "http://collector:4317/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        );
        let named = OtelSection::default()
            .resolve(
                "gw",
                &env(&[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                    ("OTEL_RESOURCE_ATTRIBUTES", "service.name=billing"),
                ]),
            )
            .unwrap()
            .unwrap();
        assert!(
            named
                .resource
                .contains(&("service.name".into(), "billing".into()))
        );
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let bad = |pairs: &[(&str, &str)]| {
            OtelSection::default()
                .resolve("gw", &env(pairs))
                .unwrap_err()
        };
        let with =
            |extra: (&str, &str)| bad(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), extra]);
        assert!(
            with(("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"))
                .contains("OTEL_EXPORTER_OTLP_PROTOCOL")
        );
        assert!(with(("OTEL_RESOURCE_ATTRIBUTES", "novalue")).contains("OTEL_RESOURCE_ATTRIBUTES"));
        assert!(
            bad(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")])
                .contains("not an http(s) URL")
        );
        assert!(
            bad(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
            ])
            .contains("between 0 and 1")
        );
    }

    #[test]
    fn traceparent_round_trips_and_rejects_malformed_values() {
        let v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let c = TraceContext::parse(v).unwrap();
        assert!(c.sampled);
        assert_eq!(c.header(), v);
        let child = c.child();
        assert_eq!(child.trace_id, c.trace_id);
        assert_ne!(child.span_id, c.span_id);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
        assert!(
            !TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
                .unwrap()
                .sampled
        );
    }

    #[test]
    fn the_ratio_sampler_keeps_about_its_share() {
        let kept = (0..20_000)
            .filter(|_| sampled_by_ratio(&TraceContext::root(true).trace_id, 0.1))
            .count();
        assert!((1_600..2_400).contains(&kept), "{kept} of 20000 at 10 %");
        assert!(sampled_by_ratio(&[0; 16], 1.0));
        assert!(!sampled_by_ratio(&[0xff; 16], 0.0));
    }

    #[test]
    fn spans_encode_as_otlp_protobuf() {
        let ctx =
            TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        let mut s = Span::new(&ctx, None, "GET /menu", SpanKind::Server, 1_000);
        s.end_unix_nanos = 2_000;
        s.attr("http.response.status_code", 200u16);
        let out = encode_export(&[("service.name".into(), "gw".into())], "gatehouse", &[s]);
        // Field 1 (resource_spans), length-delimited.
        assert_eq!(out[0], 0x0a);
        // The trace id and the name are in it as they are.
        let has = |needle: &[u8]| out.windows(needle.len()).any(|w| w == needle);
        assert!(has(&ctx.trace_id));
        assert!(has(b"GET /menu"));
        assert!(has(b"service.name"));
        // start_time_unix_nano: field 7, fixed64 (key 0x39), little-endian 1000.
        assert!(has(&[0x39, 0xe8, 0x03, 0, 0, 0, 0, 0, 0]));
    }
}
