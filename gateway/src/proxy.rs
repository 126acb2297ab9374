//! The data plane's request path: route against the current table (one atomic load), pick an
//! endpoint (round robin or failover, skipping suspended ones), forward with pooled keep-alive
//! connections and streaming bodies, and turn every refusal into a JSON fault in one place.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::auth::{Denied, Presented, Security, Verifier};
use crate::cluster::Verdict;
use crate::metrics::{ApiMetrics, Metrics, UpstreamError, now_ms};
use crate::router::{Match, Router};
use crate::snapshot::{EndpointGroup, EndpointKind, Endpoints, KeyType, MaxTps, Snapshot};
use crate::throttle::Counted;

pub type Body = BoxBody<Bytes, hyper::Error>;

/// A routing table and the endpoint state for each of its APIs (and for operations with
/// their own endpoints).
pub struct Table {
    pub router: Router,
    groups: Vec<Groups>,
    /// Per API: one entry per operation, `Some` where the operation has its own endpoints;
    /// empty when none has (no allocation for ordinary APIs).
    operation_groups: Vec<Vec<Option<Groups>>>,
    /// Key managers, applications, subscriptions, API keys, revocations.
    pub security: Security,
    /// The key managers this table was built with: when they change (a key removed from a
    /// JWKS, a key manager gone), tokens verified under the old ones are forgotten.
    key_managers: Vec<crate::snapshot::KeyManager>,
    /// Rate limiters by policy; unchanged policies share them with the previous table.
    pub limits: crate::throttle::Limits,
    /// Advanced policies' counters per API and operation (kept likewise).
    pub advanced: crate::throttle::advanced::Advanced,
    /// Deny policies.
    pub deny: crate::deny::Deny,
    /// Per API, per operation: compiled mediation policies (empty when the API has none).
    mediation: Vec<Vec<Option<crate::mediation::Mediation>>>,
    /// Per API: its id and its operations (`GET /items/{id}`), shared with analytics records.
    names: Vec<ApiNames>,
}

/// An API's id and its operations' names.
type ApiNames = (Arc<str>, Box<[Arc<str>]>);

/// Production endpoints, and sandbox ones when the API has them.
struct Groups {
    production: Group,
    sandbox: Option<Group>,
}

impl Groups {
    fn new(
        e: &Endpoints,
        metrics: &Arc<ApiMetrics>,
        api_id: &str,
        max_tps: Option<&MaxTps>,
    ) -> Groups {
        let make = |g: &EndpointGroup, rate: Option<&crate::snapshot::Rate>, key_type: &str| {
            let mut group = Group::new(g);
            group.metrics = metrics.clone();
            group.max_tps = rate.map(|r| MaxTpsLimit {
                rate: r.clone(),
                local: governor::RateLimiter::direct(crate::throttle::quota(r)),
                shared_key: format!("tps:{api_id}:{key_type}"),
            });
            group
        };
        Groups {
            production: make(
                &e.production,
                max_tps.and_then(|m| m.production.as_ref()),
                "production",
            ),
            sandbox: e
                .sandbox
                .as_ref()
                .map(|g| make(g, max_tps.and_then(|m| m.sandbox.as_ref()), "sandbox")),
        }
    }
}

impl Table {
    /// Endpoints out of rotation now: (API `name version`, endpoint, seconds left).
    pub fn suspended(&self, now_ms: u64) -> Vec<(String, String, u64)> {
        let mut out = Vec::new();
        for (i, groups) in self.groups.iter().enumerate() {
            let api = self.router.api(i);
            let per_operation = self.operation_groups[i].iter().flatten();
            for g in std::iter::once(groups).chain(per_operation) {
                for group in std::iter::once(&g.production).chain(g.sandbox.as_ref()) {
                    for b in &group.backends {
                        let until = b.down_until.load(Ordering::Relaxed);
                        if until > now_ms {
                            out.push((
                                format!("{} {}", api.name, api.version),
                                b.origin.key.to_string(),
                                (until - now_ms).div_ceil(1000),
                            ));
                        }
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Builds the table; each API's counters come from `metrics`, so they carry over.
    pub fn build(snapshot: Snapshot, metrics: &Metrics, leeway_seconds: u64) -> Table {
        Table::build_after(snapshot, metrics, leeway_seconds, None)
    }

    /// `build`, keeping the rate limiters of `previous` whose policy did not change.
    pub fn build_after(
        snapshot: Snapshot,
        metrics: &Metrics,
        leeway_seconds: u64,
        previous: Option<&Table>,
    ) -> Table {
        let mut groups = Vec::with_capacity(snapshot.apis.len());
        let mut operation_groups = Vec::with_capacity(snapshot.apis.len());
        for a in &snapshot.apis {
            let api_metrics = metrics.api(&a.id, &a.name, &a.version);
            let own = if a.operations.iter().any(|o| o.endpoints.is_some()) {
                a.operations
                    .iter()
                    .map(|o| {
                        o.endpoints
                            .as_ref()
                            .map(|e| Groups::new(e, &api_metrics, &a.id, None))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            groups.push(Groups::new(
                &a.endpoints,
                &api_metrics,
                &a.id,
                a.max_tps.as_ref(),
            ));
            operation_groups.push(own);
        }
        let security = Security::build(&snapshot, leeway_seconds);
        // The environment's gateway policies per organization, in deployment order; they run
        // before each API's own.
        let mut global: std::collections::HashMap<&str, crate::policy::Policies> =
            std::collections::HashMap::new();
        for set in &snapshot.gateway_policies {
            let g = global.entry(set.organization.as_str()).or_default();
            g.request.extend(set.policies.request.iter().cloned());
            g.response.extend(set.policies.response.iter().cloned());
            g.fault.extend(set.policies.fault.iter().cloned());
        }
        let none = crate::policy::Policies::default();
        let mediation = snapshot
            .apis
            .iter()
            .map(|api| {
                let g = global.get(api.organization.as_str()).unwrap_or(&none);
                crate::mediation::Mediation::build(api, g)
            })
            .collect();
        let names = snapshot
            .apis
            .iter()
            .map(|a| {
                let ops = a
                    .operations
                    .iter()
                    .map(|o| Arc::from(format!("{} {}", o.method, o.target)))
                    .collect();
                (Arc::from(a.id.as_str()), ops)
            })
            .collect();
        Table {
            names,
            mediation,
            groups,
            operation_groups,
            security,
            limits: crate::throttle::Limits::build(
                &snapshot.throttling_policies,
                previous.map(|t| &t.limits),
                &governor::clock::DefaultClock::default(),
            ),
            advanced: crate::throttle::advanced::Advanced::build(
                &snapshot,
                previous.map(|t| &t.advanced),
                &governor::clock::DefaultClock::default(),
            ),
            deny: crate::deny::Deny::build(&snapshot.deny_policies),
            key_managers: snapshot.key_managers,
            // Last: the router takes the APIs over.
            router: Router::from_apis(snapshot.version, snapshot.apis),
        }
    }

    /// The API's id and the operation's name, shared (analytics).
    pub fn names(&self, index: usize, operation: usize) -> Option<(Arc<str>, Arc<str>)> {
        let (api, ops) = self.names.get(index)?;
        Some((api.clone(), ops.get(operation)?.clone()))
    }

    /// The endpoints serving `operation` of API `index` for a key of `key_type`; `None` when a
    /// sandbox key meets an API without sandbox endpoints.
    fn group(&self, index: usize, operation: usize, key_type: KeyType) -> Option<&Group> {
        let g = self.operation_groups[index]
            .get(operation)
            .and_then(Option::as_ref)
            .unwrap_or(&self.groups[index]);
        match key_type {
            KeyType::Production => Some(&g.production),
            KeyType::Sandbox => g.sandbox.as_ref(),
        }
    }
}

struct Backend {
    origin: crate::pool::Origin,
    /// The endpoint's base path without a trailing slash: the resource is appended.
    prefix: String,
    /// Unix milliseconds until which the endpoint is out of rotation.
    down_until: AtomicU64,
}

struct Group {
    kind: EndpointKind,
    backends: Vec<Backend>,
    timeout: Duration,
    suspend: Duration,
    next: AtomicUsize,
    metrics: Arc<ApiMetrics>,
    /// Backend protection (`maxTps`).
    max_tps: Option<MaxTpsLimit>,
}

struct MaxTpsLimit {
    rate: crate::snapshot::Rate,
    /// This gateway's limiter (no Redis configured).
    local: governor::DefaultDirectRateLimiter,
    /// The bucket's name when the environment's gateways share it.
    shared_key: String,
}

impl Group {
    fn new(g: &EndpointGroup) -> Group {
        let backends = g
            .urls
            .iter()
            .map(|u| {
                // Validated by `Snapshot::problems`.
                let uri: Uri = u
                    .parse()
                    .unwrap_or_else(|_| Uri::from_static("http://invalid"));
                let origin = crate::pool::Origin::of(&uri).unwrap_or_else(|| {
                    crate::pool::Origin::of(&Uri::from_static("http://invalid"))
                        .expect("a valid origin")
                });
                Backend {
                    origin,
                    prefix: uri.path().trim_end_matches('/').to_string(),
                    down_until: AtomicU64::new(0),
                }
            })
            .collect();
        Group {
            kind: g.kind,
            backends,
            timeout: Duration::from_millis(g.timeout_ms),
            suspend: Duration::from_secs(g.suspend_seconds),
            next: AtomicUsize::new(0),
            metrics: Arc::default(),
            max_tps: None,
        }
    }

    /// Endpoints in the order to try them, suspended ones left out.
    fn candidates(&self, now_ms: u64) -> impl Iterator<Item = &Backend> {
        let n = self.backends.len();
        let start = match self.kind {
            EndpointKind::LoadBalance => self.next.fetch_add(1, Ordering::Relaxed) % n,
            EndpointKind::Single | EndpointKind::Failover => 0,
        };
        let take = if self.kind == EndpointKind::Single {
            1
        } else {
            n
        };
        (0..take)
            .map(move |k| &self.backends[(start + k) % n])
            .filter(move |b| b.down_until.load(Ordering::Relaxed) <= now_ms)
    }

    fn suspend(&self, b: &Backend, now_ms: u64) {
        let until = now_ms + self.suspend.as_millis() as u64;
        b.down_until.store(until, Ordering::Relaxed);
    }
}

/// Shared by every worker thread: the current table and the metrics.
#[derive(Default)]
pub struct Gateway {
    table: ArcSwapOption<Table>,
    pub metrics: Metrics,
    /// Verified-token and backend-JWT caches, fetched JWKS: they outlive snapshots.
    pub verifier: Verifier,
    /// Clock skew allowed on tokens' `exp` / `nbf`.
    pub leeway_seconds: u64,
    /// Limits shared with the environment's other gateways (Redis configured).
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// OpenTelemetry: off unless an OTLP endpoint is set.
    pub tracer: crate::otel::Tracer,
    /// Recent failures and phase latencies (`GET /diagnostics`).
    pub diagnostics: crate::diagnostics::Diagnostics,
    /// One event per request to the control plane, when analytics is on.
    pub analytics: crate::analytics::Recorder,
}

/// A worker's pool of backend connections (HTTP and HTTPS). Each worker thread has its own,
/// so a request and its backend connection stay on one thread.
pub type Upstream = Client<HttpsConnector<HttpConnector>, Body>;

/// TLS settings for backends: the system's roots plus the CA certificates in `extra_ca`.
pub fn backend_tls(
    extra_ca: Option<&std::path::Path>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped; a machine without any still works with
    // `backend_ca_file`.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = extra_ca {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("gateway.backend_ca_file {}: {e}", path.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("gateway.backend_ca_file {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "gateway.backend_ca_file {}: no certificate in it",
                path.display()
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("gateway.backend_ca_file {}: {e}", path.display()))?;
        }
    }
    Ok(Arc::new(
        crate::crypto::client_config()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// What a worker thread owns: keep-alive connections to backends, and a general client
/// (JWKS documents and the like).
pub struct Clients {
    pub backends: crate::pool::Pool,
    pub general: Upstream,
    /// This worker's connection to the shared Redis, when there is one.
    pub redis: crate::cluster::Slot,
    /// This worker's phase latencies (`Diagnostics::worker` makes one that reports count).
    pub stats: Arc<crate::diagnostics::PhaseStats>,
}

impl Clients {
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Clients {
        Clients {
            backends: crate::pool::Pool::new(tls.clone()),
            general: upstream(tls),
            redis: crate::cluster::Slot::default(),
            stats: Arc::default(),
        }
    }
}

/// A client connection's peer, with its address as an `X-Forwarded-For` value made once per
/// connection rather than per request.
pub struct Peer {
    pub addr: SocketAddr,
    forwarded_for: HeaderValue,
}

impl Peer {
    pub fn new(addr: SocketAddr) -> Peer {
        let forwarded_for = HeaderValue::from_str(&addr.ip().to_string())
            .expect("an IP address is a valid header value");
        Peer {
            addr,
            forwarded_for,
        }
    }
}

/// A general-purpose HTTP(S) client for the calling runtime.
pub fn upstream(tls: Arc<rustls::ClientConfig>) -> Upstream {
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(crate::pool::IDLE_TIMEOUT)
        .build(crate::pool::connector(&tls))
}

impl Gateway {
    pub fn new() -> Gateway {
        Gateway {
            leeway_seconds: 30,
            ..Gateway::default()
        }
    }

    /// A gateway with the token settings of `[gateway]`.
    pub fn with_settings(s: &crate::config::GatewaySection) -> Gateway {
        Gateway {
            leeway_seconds: s.clock_skew_seconds,
            verifier: Verifier::with_cache(s.token_cache_size),
            diagnostics: crate::diagnostics::Diagnostics::new(s.diagnostics_failures),
            ..Gateway::default()
        }
    }

    /// Builds the table for a valid snapshot and swaps it in; requests in flight keep the
    /// one they loaded.
    pub fn install(&self, snapshot: Snapshot) {
        let previous = self.table.load_full();
        let table = Table::build_after(
            snapshot,
            &self.metrics,
            self.leeway_seconds,
            previous.as_deref(),
        );
        drop(previous);
        // Swaps are rare next to requests: a good moment to forget idle callers.
        table.limits.evict_idle();
        let key_managers_changed = self
            .table
            .load()
            .as_ref()
            .is_none_or(|t| t.key_managers != table.key_managers);
        let table = Arc::new(table);
        let old = self.table.swap(Some(table.clone()));
        if key_managers_changed {
            self.verifier.tokens.clear();
        }
        // Freeing a big table takes milliseconds: not on a traffic thread. Requests still using
        // it finish first; the last reference is then dropped here.
        if let Some(old) = old {
            std::thread::spawn(move || {
                while Arc::strong_count(&old) > 1 {
                    std::thread::sleep(Duration::from_millis(5));
                }
                drop(old);
            });
        }
        let deployed = table.router.apis().iter().map(|a| a.id.as_str()).collect();
        self.metrics.retain(&deployed);
        self.metrics.snapshot_applied(table.router.version());
    }

    pub fn table(&self) -> Option<Arc<Table>> {
        self.table.load_full()
    }

    /// The diagnostics report (`GET /diagnostics` on the admin port): failures after `since`
    /// (all kept when 0), phase latencies, limiter, upstream, JWKS, tracing and snapshot state.
    /// `idle`: the workers' idle backend connections.
    pub fn diagnostics_report(&self, since: u64, idle: usize, workers: usize) -> serde_json::Value {
        let now = now_ms();
        let table = self.table();
        let (version, applied) = self.metrics.snapshot();
        let suspended: Vec<serde_json::Value> = table
            .as_ref()
            .map(|t| t.suspended(now))
            .unwrap_or_default()
            .into_iter()
            .map(|(api, endpoint, left)| {
                serde_json::json!({ "api": api, "endpoint": endpoint, "secondsLeft": left })
            })
            .collect();
        let tracing = self.tracer.stats();
        let analytics = self.analytics.stats();
        serde_json::json!({
            "gateway": {
                "version": env!("CARGO_PKG_VERSION"),
                "uptimeSeconds": self.diagnostics.uptime().as_secs(),
                "workers": workers,
                "cryptoProvider": crate::crypto::PROVIDER,
                "fips": crate::crypto::fips(),
            },
            "snapshot": {
                "version": table.as_ref().map(|t| t.router.version()),
                "apis": table.as_ref().map(|t| t.router.api_count()),
                "appliedVersion": version,
                "ageSeconds": (applied > 0).then(|| now.saturating_sub(applied) / 1000),
            },
            "phases": self.diagnostics.phases(),
            "limiters": {
                "trackedCallers": table.as_ref().map_or(0, |t| t.limits.keys()),
                "shared": self.cluster.as_ref().map(|c| serde_json::json!({
                    "redis": c.shared(),
                    "liveGateways": c.live(),
                    "buckets": c.buckets(),
                })),
            },
            "upstreams": {
                "idleConnections": idle,
                "suspendedEndpoints": suspended,
            },
            "jwks": self.verifier.remote.states(),
            "tracing": {
                "enabled": self.tracer.enabled(),
                "exported": tracing.exported,
                "dropped": tracing.dropped,
                "failed": tracing.failed,
            },
            "analytics": {
                "enabled": self.analytics.enabled(),
                "sent": analytics.sent,
                "dropped": analytics.dropped,
                "failed": analytics.failed,
            },
            "failures": {
                "lastSeq": self.diagnostics.seq(),
                "missed": self.diagnostics.missed(),
                "recent": self.diagnostics.failures(since),
            },
        })
    }

    pub async fn handle(
        &self,
        clients: &Clients,
        req: Request<Incoming>,
        peer: &Peer,
    ) -> Response<Body> {
        let started = Instant::now();
        let method = req.method().clone();
        // For the failure record (a reference to the request's buffer, no copy).
        let uri = req.uri().clone();
        let otel = if self.tracer.enabled() {
            self.tracer
                .begin(req.headers().get(TRACEPARENT).and_then(|v| v.to_str().ok()))
        } else {
            None
        };
        // A debug trace (`Server-Timing` on the answer) when asked for; granted after
        // authentication to tokens with the diagnostics scope.
        let debug = req.headers().contains_key(X_GATEHOUSE_DEBUG);
        let mut trace = crate::phases::Trace::new(otel, uri.path());
        let bytes_in = if self.analytics.enabled() {
            trace.collect();
            crate::throttle::advanced::content_length(req.headers())
        } else {
            0
        };
        let (mut resp, api) = match self.forward(clients, req, peer, &mut trace, debug).await {
            Ok((resp, api)) => (resp, Some(api)),
            Err((fault, api)) => {
                if let (Some(api), Some(kind)) = (&api, fault.upstream_kind()) {
                    api.upstream_error(kind);
                }
                if let Some(cause) = fault.cause() {
                    trace.fail(cause);
                }
                (fault.into_response(), api)
            }
        };
        let status = resp.status().as_u16();
        match api {
            Some(api) => api.observe(method.as_str(), status, started.elapsed()),
            None => self.metrics.unmatched(),
        }
        // Names (API, operation) only for what is kept: failures and traced requests.
        if let Some((version, index, operation)) = trace.wants_names()
            && let Some(table) = self.table.load().as_ref()
            && table.router.version() == version
            && index < table.router.api_count()
        {
            trace.name_route(table.router.api(index), operation);
        }
        if trace.debug_granted()
            && let Ok(v) = HeaderValue::from_str(&trace.server_timing())
        {
            resp.headers_mut().insert(SERVER_TIMING, v);
        }
        // The analytics record's names, from the table the request was routed with.
        let names = if self.analytics.enabled()
            && let Some((version, index, operation)) = trace.routed_at()
            && let Some(table) = self.table.load().as_ref()
            && table.router.version() == version
        {
            table.names(index, operation)
        } else {
            None
        };
        let bytes_out = if self.analytics.enabled() {
            hyper::body::Body::size_hint(resp.body())
                .exact()
                .unwrap_or_else(|| crate::throttle::advanced::content_length(resp.headers()))
        } else {
            0
        };
        trace.finish(
            &clients.stats,
            &self.diagnostics,
            &self.tracer,
            &self.analytics,
            method.as_str(),
            uri.path(),
            status,
            names,
            (bytes_in, bytes_out),
        );
        resp
    }

    async fn forward(
        &self,
        clients: &Clients,
        req: Request<Incoming>,
        peer: &Peer,
        trace: &mut crate::phases::Trace,
        debug: bool,
    ) -> Result<(Response<Body>, Arc<ApiMetrics>), (Fault, Option<Arc<ApiMetrics>>)> {
        let guard = self.table.load();
        let Some(table) = guard.as_ref() else {
            return Err((Fault::NoSnapshot, None));
        };
        let (mut parts, body) = req.into_parts();
        // A `Uri` clone shares its bytes; it keeps the path readable while `parts` changes.
        let uri = parts.uri.clone();
        if uri.path() == JWKS_PATH {
            let jwks = table.security.backend_jwks().to_string();
            return Err((Fault::Own(StatusCode::OK, jwks), None));
        }
        // A CORS preflight for an operation with a `cors` policy is answered here: before
        // authentication (browsers send no credentials with it) and instead of a 405.
        if parts.method == hyper::Method::OPTIONS
            && let Some(origin) = parts.headers.get(header::ORIGIN)
            && let Some(wanted) = parts
                .headers
                .get(header::ACCESS_CONTROL_REQUEST_METHOD)
                .and_then(|m| m.to_str().ok())
            && let Match::Found {
                index, operation, ..
            } = table.router.route(wanted, uri.path())
            && let Some(cors) = table.mediation[index]
                .get(operation)
                .and_then(Option::as_ref)
                .and_then(|m| m.cors.as_ref())
        {
            let (status, headers) = cors.preflight(origin);
            let mut resp = Response::new(Empty::new().map_err(|never| match never {}).boxed());
            *resp.status_mut() = status;
            *resp.headers_mut() = headers;
            return Ok((resp, table.groups[index].production.metrics.clone()));
        }
        let (index, operation, resource) =
            match table.router.route(parts.method.as_str(), uri.path()) {
                Match::Found {
                    index,
                    operation,
                    resource,
                    ..
                } => (index, operation, resource),
                Match::NoApi | Match::NoResource => return Err((Fault::NotFound, None)),
                Match::MethodNotAllowed { allowed } => {
                    return Err((Fault::MethodNotAllowed(allowed), None));
                }
            };
        // Only error paths need the API's name.
        let label = || {
            let api = table.router.api(index);
            format!("{}:{}", api.name, api.version)
        };
        let api = table.router.api(index);
        let op = &api.operations[operation];
        trace.routed(table.router.version(), index, operation, api);
        let api_metrics = || Some(table.groups[index].production.metrics.clone());
        // Mediation policies (the environment's, the API's, then the operation's).
        let mediation = table.mediation[index]
            .get(operation)
            .and_then(Option::as_ref);
        let origin = mediation
            .filter(|m| m.cors.is_some())
            .and_then(|_| parts.headers.get(header::ORIGIN).cloned());
        // Everything after routing; a fault it ends with goes through the fault flow below.
        let outcome = async {
        if !table.deny.is_empty() {
            table
                .deny
                .before_auth(
                    &api.organization,
                    &api.context,
                    &api.version,
                    peer.addr.ip(),
                )
                .map_err(|b| (Fault::Blocked(b), api_metrics()))?;
        }
        let mut key_type = KeyType::Production;
        let mut allowance: Option<crate::throttle::Allowance> = None;
        // Data limits of the application and subscription the response is charged to.
        let mut byte_budgets = Vec::new();
        let mut caller_seen: Option<crate::auth::Caller> = None;
        let mut query_key: Option<String> = None;
        let mut stripped_query: Option<String> = None;
        if let Some(security) = api.security.as_ref().filter(|_| !op.open) {
            trace.enter(crate::phases::AUTH);
            let bearer = parts
                .headers
                .get(security.authorization_header.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim);
            let mut api_key = parts
                .headers
                .get(security.api_key_header.as_str())
                .and_then(|v| v.to_str().ok())
                .map(str::trim);
            // `?ApiKey=…` when the API allows it; the parameter does not reach the backend.
            if api_key.is_none()
                && security.api_key
                && security.api_key_query
                && let Some((key, rest)) = take_query_param(uri.query(), &security.api_key_header)
            {
                query_key = Some(key);
                stripped_query = Some(rest);
            }
            if api_key.is_none() {
                api_key = query_key.as_deref();
            }
            let referer = parts
                .headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok());
            let fetch = |url: String| fetch_jwks(clients.general.clone(), url);
            let caller = self
                .verifier
                .authorize(
                    &table.security,
                    api,
                    op,
                    Presented {
                        bearer,
                        api_key,
                        peer: peer.addr.ip(),
                        referer,
                    },
                    &fetch,
                )
                .await
                .map_err(|d| (Fault::Denied(d), api_metrics()))?;
            key_type = caller.key_type;
            if !table.deny.is_empty() {
                table
                    .deny
                    .after_auth(
                        &api.organization,
                        &caller.subscriber,
                        &caller.application_name,
                        &caller.end_user,
                    )
                    .map_err(|b| (Fault::Blocked(b), api_metrics()))?;
            }
            trace.application(
                &caller.application_id,
                &caller.application_name,
                match caller.key_type {
                    KeyType::Production => "PRODUCTION",
                    KeyType::Sandbox => "SANDBOX",
                },
                &caller.end_user,
            );
            if debug && caller.scopes.iter().any(|s| s == DIAGNOSTICS_SCOPE) {
                trace.grant_debug();
            }
            trace.enter(crate::phases::THROTTLING);
            // Rate limits: the application's policy, then the subscription's tier; burst
            // control counted with the environment's other gateways when they share Redis.
            let request_bytes = crate::throttle::advanced::content_length(&parts.headers);
            for (limiter, key) in table.limits.applicable(
                &caller.organization,
                &caller.application_id,
                &caller.end_user,
                &caller.app_tier,
                &api.id,
                &caller.sub_tier,
            ) {
                let mut local_burst = true;
                if let (Some(cluster), Some(burst)) = (&self.cluster, &limiter.spec.burst) {
                    local_burst = false;
                    let spec = &limiter.spec;
                    let shared = format!(
                        "burst:{}:{}:{}:{key}",
                        spec.organization, spec.level, spec.name
                    );
                    if let Verdict::Refused(wait) =
                        cluster.check(&clients.redis, &shared, burst).await
                    {
                        let t = limiter.refused(true, burst.requests, wait);
                        return Err((Fault::Throttled(t), api_metrics()));
                    }
                }
                match limiter
                    .check_with(&key, local_burst, request_bytes)
                    .map_err(|t| (Fault::Throttled(t), api_metrics()))?
                {
                    Counted::Requests(a) => allowance = crate::throttle::tighter(allowance, a),
                    Counted::Bytes(budget) => byte_budgets.push(budget),
                }
            }
            trace.leave();
            // A `backendJwt` policy turns the API's setting on or off for this operation.
            let bj = match mediation.and_then(|m| m.backend_jwt) {
                Some(false) => None,
                Some(true) => Some(
                    security
                        .backend_jwt
                        .as_ref()
                        .unwrap_or(&*DEFAULT_BACKEND_JWT),
                ),
                None => security.backend_jwt.as_ref(),
            };
            if let Some(bj) = bj {
                let credential = bearer.or(api_key).unwrap_or_default();
                if let (Some(value), Ok(name)) = (
                    self.verifier.backend_jwt(
                        &table.security,
                        api,
                        bj.ttl_seconds,
                        &caller,
                        credential,
                    ),
                    HeaderName::from_bytes(bj.header.as_bytes()),
                ) {
                    parts.headers.insert(name, value);
                }
            }
            // The backend gets the gateway's word (backend JWT), not the caller's credential.
            parts.headers.remove(security.authorization_header.as_str());
            parts.headers.remove(security.api_key_header.as_str());
            caller_seen = Some(caller);
        }
        // Advanced policies: the API's, then the operation's; every caller counts (open
        // operations too).
        let mut advanced = crate::throttle::advanced::Passed::default();
        if !table.advanced.is_empty() {
            trace.enter(crate::phases::THROTTLING);
            let facts = crate::throttle::advanced::RequestFacts {
                headers: &parts.headers,
                query: uri.query(),
                peer: peer.addr.ip(),
                caller: caller_seen.as_ref(),
            };
            let length = crate::throttle::advanced::content_length(&parts.headers);
            advanced = table
                .advanced
                .check(index, operation, &facts, length)
                .map_err(|t| (Fault::Throttled(t), api_metrics()))?;
            if let Some(a) = advanced.allowance {
                allowance = crate::throttle::tighter(allowance, a);
            }
            trace.leave();
        }
        // The request flow; the body is read first when a policy inspects it.
        let mut body: Body = body.boxed();
        let mut changes = crate::mediation::RequestChanges::default();
        if let Some(med) = mediation {
            trace.enter(crate::phases::POLICIES);
            let mut read = None;
            if med.reads_body && !body_is_empty(&parts.headers) {
                let limited = http_body_util::Limited::new(
                    std::mem::replace(&mut body, Empty::new().map_err(|never| match never {}).boxed()),
                    crate::policy::MAX_INSPECTED_BODY,
                );
                let bytes = match limited.collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                        return Err((
                            Fault::Policy(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                format!(
                                    "A policy inspects this request's body, which may have at most {} bytes",
                                    crate::policy::MAX_INSPECTED_BODY
                                ),
                            ),
                            api_metrics(),
                        ));
                    }
                    Err(_) => {
                        return Err((
                            Fault::Policy(
                                StatusCode::BAD_REQUEST,
                                "The request body could not be read".into(),
                            ),
                            api_metrics(),
                        ));
                    }
                };
                body = Full::new(bytes.clone())
                    .map_err(|never| match never {})
                    .boxed();
                read = Some(bytes);
            }
            let query = match &stripped_query {
                Some(q) => Some(q.as_str()),
                None => uri.query(),
            };
            match med.request(&mut crate::mediation::Exchange {
                method: &mut parts.method,
                headers: &mut parts.headers,
                peer: peer.addr.ip(),
                template: &op.target,
                resource,
                query,
                body: read.as_ref(),
                claims: caller_seen.as_ref().and_then(|c| c.claims.as_ref()),
                api: &label,
            }) {
                Ok(c) => changes = c,
                Err(crate::mediation::Stop::Refused(status, why)) => {
                    return Err((Fault::Policy(status, why), api_metrics()));
                }
                Err(crate::mediation::Stop::Mock(status, content_type, body)) => {
                    let mut resp =
                        Response::new(Full::new(body).map_err(|never| match never {}).boxed());
                    *resp.status_mut() = status;
                    resp.headers_mut()
                        .insert(header::CONTENT_TYPE, content_type);
                    med.response(&label, status, resp.headers_mut());
                    return Ok((resp, table.groups[index].production.metrics.clone()));
                }
            }
            if let Some(q) = changes.query.take() {
                stripped_query = Some(q);
            }
            trace.leave();
        }
        let resource = changes.path.as_deref().unwrap_or(resource);
        let group = table.group(index, operation, key_type).ok_or_else(|| {
            (
                Fault::Denied(Denied::Forbidden(format!(
                    "{} {} has no sandbox endpoint; use a production key",
                    api.name, api.version
                ))),
                api_metrics(),
            )
        })?;
        let m = || Some(group.metrics.clone());
        if let Some(tps) = &group.max_tps {
            trace.enter(crate::phases::THROTTLING);
            let wait = match &self.cluster {
                Some(c) => match c.check(&clients.redis, &tps.shared_key, &tps.rate).await {
                    Verdict::Allowed => None,
                    Verdict::Refused(wait) => Some(wait),
                },
                None => tps.local.check().err().map(|not_until| {
                    use governor::clock::Clock;
                    not_until.wait_time_from(governor::clock::DefaultClock::default().now())
                }),
            };
            if let Some(wait) = wait {
                return Err((
                    Fault::BackendThrottled(label(), tps.rate.requests, wait),
                    m(),
                ));
            }
            trace.leave();
        }
        let query = match &stripped_query {
            Some(q) if q.is_empty() => None,
            Some(q) => Some(q.as_str()),
            None => uri.query(),
        };
        // Backend path: endpoint prefix + resource + query, built once per attempt.
        let target = |backend: &Backend| {
            let mut t = String::with_capacity(
                backend.prefix.len() + resource.len() + query.map_or(0, |q| q.len() + 1) + 1,
            );
            t.push_str(&backend.prefix);
            t.push_str(resource);
            if t.is_empty() {
                t.push('/');
            }
            if let Some(q) = query {
                t.push('?');
                t.push_str(q);
            }
            t
        };
        let now = now_ms();
        let mut candidates = group.candidates(now).peekable();
        let Some(first) = candidates.next() else {
            return Err((Fault::Suspended(label()), m()));
        };
        let first_uri: Uri = target(first)
            .parse()
            .map_err(|_| (Fault::BadGateway(label()), m()))?;

        let has_body = !body_is_empty(&parts.headers);
        let original_host = parts.headers.remove(header::HOST);
        // A protocol upgrade (WebSocket and the like) keeps its Upgrade headers end to end.
        let upgrade = parts
            .headers
            .get(header::UPGRADE)
            .cloned()
            .filter(|_| connection_has(&parts.headers, "upgrade"));
        let client_upgrade = upgrade
            .as_ref()
            .and_then(|_| parts.extensions.remove::<hyper::upgrade::OnUpgrade>());
        strip_hop_by_hop(&mut parts.headers);
        if let Some(proto) = &upgrade {
            parts.headers.insert(header::UPGRADE, proto.clone());
            parts
                .headers
                .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        }
        add_forwarded(&mut parts.headers, peer, original_host);
        // The backend continues the trace: under the gateway's backend span when tracing,
        // else under the caller's context or a new one.
        match trace.enter_backend() {
            Some(tp) => {
                parts.headers.insert(TRACEPARENT, tp);
            }
            None => {
                if !parts.headers.contains_key(TRACEPARENT) {
                    parts.headers.insert(TRACEPARENT, new_traceparent());
                }
            }
        }
        parts.version = hyper::Version::HTTP_11;
        // Keep a copy for another endpoint only when one could be tried: no body, more left.
        let spare = (!has_body && candidates.peek().is_some()).then(|| parts.clone());
        parts.uri = first_uri;

        let mut attempt = Some((first, Request::from_parts(parts, body)));
        let mut attempts = 0usize;
        while let Some((backend, request)) = attempt.take() {
            match tokio::time::timeout(
                group.timeout,
                clients.backends.send(&backend.origin, request),
            )
            .await
            {
                Ok(Ok(mut resp)) => {
                    if trace.sampled() {
                        trace.attr("gatehouse.backend.status_code", resp.status().as_u16());
                        trace.attr("gatehouse.backend.origin", backend.origin.key.to_string());
                    }
                    if resp.status().is_server_error() {
                        trace.note(format!(
                            "endpoint {} ({}) answered {}",
                            attempts + 1,
                            backend.origin.key,
                            resp.status().as_u16()
                        ));
                    }
                    trace.leave();
                    if resp.status() == StatusCode::SWITCHING_PROTOCOLS
                        && let Some(client_side) = client_upgrade
                    {
                        let backend_side = hyper::upgrade::on(&mut resp);
                        tokio::spawn(tunnel(client_side, backend_side));
                        let (rp, rb) = resp.into_parts();
                        return Ok((Response::from_parts(rp, rb.boxed()), group.metrics.clone()));
                    }
                    let (mut rp, rb) = resp.into_parts();
                    strip_hop_by_hop(&mut rp.headers);
                    if let Some(med) = mediation {
                        med.response(&label, rp.status, &mut rp.headers);
                    }
                    advanced.count_response(&rp.headers);
                    crate::throttle::charge_responses(&byte_budgets, &rp.headers);
                    if let Some(a) = allowance {
                        rp.headers
                            .insert("x-ratelimit-limit", HeaderValue::from(a.limit));
                        rp.headers
                            .insert("x-ratelimit-remaining", HeaderValue::from(a.remaining));
                        rp.headers
                            .insert("x-ratelimit-reset", HeaderValue::from(a.reset_seconds));
                    }
                    return Ok((Response::from_parts(rp, rb.boxed()), group.metrics.clone()));
                }
                Ok(Err(e)) if e.is_connect() => {
                    tracing::warn!(api = %label(), endpoint = %backend.origin.key, error = %e, "endpoint unreachable; suspended");
                    trace.note(format!(
                        "endpoint {} ({}): {}; suspended for {} s",
                        attempts + 1,
                        backend.origin.key,
                        e.reason(),
                        group.suspend.as_secs()
                    ));
                    attempts += 1;
                    group.suspend(backend, now);
                    group.metrics.upstream_error(UpstreamError::Connect);
                    if let (Some(spare), Some(next)) = (&spare, candidates.next()) {
                        let mut p = spare.clone();
                        p.uri = target(next)
                            .parse()
                            .map_err(|_| (Fault::BadGateway(label()), m()))?;
                        let empty = Empty::new().map_err(|never| match never {}).boxed();
                        attempt = Some((next, Request::from_parts(p, empty)));
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(api = %label(), endpoint = %backend.origin.key, error = %e, "backend request failed");
                    trace.note(format!(
                        "endpoint {} ({}): {}",
                        attempts + 1,
                        backend.origin.key,
                        e.reason()
                    ));
                    return Err((Fault::BadGateway(label()), m()));
                }
                Err(_) => {
                    trace.note(format!(
                        "endpoint {} ({}): no answer within {} ms; suspended for {} s",
                        attempts + 1,
                        backend.origin.key,
                        group.timeout.as_millis(),
                        group.suspend.as_secs()
                    ));
                    group.suspend(backend, now);
                    return Err((Fault::Timeout(label(), group.timeout), m()));
                }
            }
        }
        // Connect failures were counted as they happened.
        trace.note(match (attempts, group.backends.len()) {
            (1, 1) => "the only endpoint failed".to_string(),
            (n, total) if n < total => format!(
                "{n} of {total} endpoints tried, the others suspended or not retried (a request body); failover exhausted"
            ),
            (n, _) => format!("{n} endpoints tried; failover exhausted"),
        });
        Err((Fault::Unreachable(label()), m()))
        }
        .await;
        match (outcome, mediation) {
            (Ok((mut resp, m)), Some(med)) => {
                if let (Some(cors), Some(origin)) = (&med.cors, &origin) {
                    cors.decorate(origin, resp.headers_mut());
                }
                Ok((resp, m))
            }
            // The fault flow (and CORS headers, so a browser can read the error).
            (Err((fault, m)), Some(med)) => {
                if let Some(cause) = fault.cause() {
                    trace.fail(cause);
                }
                let kind = fault.upstream_kind();
                let resp = fault.render(Some(med), origin.as_ref(), &label());
                Err((Fault::Rendered(Box::new(resp), kind), m))
            }
            (outcome, None) => outcome,
        }
    }
}

/// The backend JWT a `backendJwt` policy turns on where the API has none configured.
static DEFAULT_BACKEND_JWT: std::sync::LazyLock<crate::snapshot::BackendJwt> =
    std::sync::LazyLock::new(|| crate::snapshot::BackendJwt {
        header: "X-JWT-Assertion".into(),
        ttl_seconds: 900,
    });

/// A JSON answer the gateway makes itself (faults, admin port).
pub fn json_response(status: StatusCode, body: String) -> Response<Body> {
    let mut resp = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Every reason the gateway answers itself, rendered in one place.
#[derive(Debug)]
pub enum Fault {
    NoSnapshot,
    NotFound,
    MethodNotAllowed(Vec<String>),
    BadGateway(String),
    /// Every endpoint tried refused the connection.
    Unreachable(String),
    Suspended(String),
    Timeout(String, Duration),
    /// Authentication or authorization refused the caller.
    Denied(Denied),
    /// A rate limit refused the request.
    Throttled(crate::throttle::Throttled),
    /// A deny policy refused the request.
    Blocked(crate::deny::Blocked),
    /// The backend's `maxTps` is used up: (API, limit per period, wait).
    BackendThrottled(String, u64, Duration),
    /// A mediation policy refused the request (IP access, body size).
    Policy(StatusCode, String),
    /// An answer the gateway makes itself (its JWKS), not a fault.
    Own(StatusCode, String),
    /// A fault already turned into its answer by the operation's fault flow, with the upstream
    /// failure it counts as.
    Rendered(Box<Response<Body>>, Option<UpstreamError>),
}

impl Fault {
    /// The upstream failure this fault counts as, if any (connect failures are counted per
    /// attempt where they happen).
    fn upstream_kind(&self) -> Option<UpstreamError> {
        match self {
            Fault::BadGateway(_) => Some(UpstreamError::Other),
            Fault::Timeout(..) => Some(UpstreamError::Timeout),
            Fault::Suspended(_) => Some(UpstreamError::Suspended),
            Fault::Rendered(_, kind) => *kind,
            _ => None,
        }
    }

    /// Why the gateway answered itself, for traces and diagnostics (`None` for its own
    /// answers that are not faults).
    pub fn cause(&self) -> Option<String> {
        match self {
            Fault::Own(..) | Fault::Rendered(..) => None,
            other => {
                let (status, _, message, description) = other.describe();
                Some(format!("{} {message}: {description}", status.as_u16()))
            }
        }
    }

    pub fn into_response(self) -> Response<Body> {
        self.render(None, None, "")
    }

    /// The answer to this fault: WSO2's JSON error, then the operation's fault flow
    /// (`jsonFault`, header and log policies) and its CORS headers when there are any.
    pub fn render(
        self,
        mediation: Option<&crate::mediation::Mediation>,
        origin: Option<&HeaderValue>,
        api: &str,
    ) -> Response<Body> {
        let (status, code, message, description) = match self {
            Fault::Own(status, body) => return json_response(status, body),
            Fault::Rendered(resp, _) => return *resp,
            ref other => other.describe(),
        };
        let body = serde_json::json!({
            "code": code,
            "type": status.canonical_reason().unwrap_or("Error"),
            "message": message,
            "description": description,
        })
        .to_string();
        let mut resp = json_response(status, body);
        self.add_headers(resp.headers_mut());
        if let Some(med) = mediation {
            let info = crate::mediation::FaultInfo {
                status,
                code,
                message,
                description: &description,
            };
            if let Some((new_status, new_body)) = med.fault(api, &info, resp.headers_mut()) {
                *resp.status_mut() = new_status;
                if let Some((content_type, bytes)) = new_body {
                    resp.headers_mut()
                        .insert(header::CONTENT_TYPE, content_type);
                    *resp.body_mut() = Full::new(bytes).map_err(|never| match never {}).boxed();
                }
            }
            if let (Some(cors), Some(origin)) = (&med.cors, origin) {
                cors.decorate(origin, resp.headers_mut());
            }
        }
        resp
    }

    /// Status, WSO2 error code, message and description.
    fn describe(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            Fault::Own(..) | Fault::Rendered(..) => unreachable!("answered by `render`"),
            Fault::Denied(Denied::Unauthenticated(why)) => (
                StatusCode::UNAUTHORIZED,
                "900901",
                "Invalid Credentials",
                why.clone(),
            ),
            Fault::Denied(Denied::Forbidden(why)) => (
                StatusCode::FORBIDDEN,
                "900908",
                "Resource forbidden",
                why.clone(),
            ),
            Fault::BackendThrottled(api, limit, wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "900800",
                "Message throttled out",
                format!(
                    "The backend of {api} takes at most {limit} requests at a time; retry after {} s",
                    crate::throttle::retry_after_seconds(*wait)
                ),
            ),
            Fault::Policy(status, why) => (
                *status,
                "900930",
                "Request rejected by a policy",
                why.clone(),
            ),
            Fault::Blocked(b) => (
                StatusCode::FORBIDDEN,
                "900805",
                "Message blocked",
                format!("A deny policy blocks this request ({} {})", b.kind, b.value),
            ),
            Fault::Throttled(t) => (
                StatusCode::TOO_MANY_REQUESTS,
                match t.level.as_str() {
                    "application" => "900806",
                    "api" => "900800",
                    _ => "900802",
                },
                "Message throttled out",
                format!(
                    "{} of the {} policy {} ({} {}); retry after {} s",
                    if t.burst {
                        "The burst control"
                    } else {
                        "The quota"
                    },
                    t.level,
                    t.policy,
                    t.limit,
                    if t.bytes { "bytes" } else { "requests" },
                    crate::throttle::retry_after_seconds(t.retry_after)
                ),
            ),
            Fault::NoSnapshot => (
                StatusCode::SERVICE_UNAVAILABLE,
                "101503",
                "Gateway not ready",
                "The gateway has no runtime snapshot yet".to_string(),
            ),
            Fault::NotFound => (
                StatusCode::NOT_FOUND,
                "900906",
                "No matching resource found for given API Request",
                "No deployed API has this context, version and resource".to_string(),
            ),
            Fault::MethodNotAllowed(allowed) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "900907",
                "Method not allowed for given API resource",
                format!("Allowed: {}", allowed.join(", ")),
            ),
            Fault::BadGateway(api) | Fault::Unreachable(api) => (
                StatusCode::BAD_GATEWAY,
                "101503",
                "Error connecting to the back end",
                format!("The backend of {api} could not be reached or failed"),
            ),
            Fault::Suspended(api) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "303001",
                "Endpoint suspended",
                format!("Every endpoint of {api} is suspended after failures"),
            ),
            Fault::Timeout(api, t) => (
                StatusCode::GATEWAY_TIMEOUT,
                "101504",
                "Connection timed out",
                format!(
                    "The backend of {api} did not answer within {} ms",
                    t.as_millis()
                ),
            ),
        }
    }

    /// The headers a fault's answer carries besides its body (Retry-After and the like).
    fn add_headers(&self, h: &mut HeaderMap) {
        if let Fault::BackendThrottled(_, _, wait) = &self {
            let wait = crate::throttle::retry_after_seconds(*wait);
            h.insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        if let Fault::Throttled(t) = &self {
            let wait = crate::throttle::retry_after_seconds(t.retry_after);
            h.insert(header::RETRY_AFTER, HeaderValue::from(wait));
            h.insert("x-ratelimit-limit", HeaderValue::from(t.limit));
            h.insert("x-ratelimit-remaining", HeaderValue::from(0u64));
            h.insert("x-ratelimit-reset", HeaderValue::from(wait));
        }
        if let Fault::Denied(Denied::Unauthenticated(_)) = &self {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gatehouse\""),
            );
        }
        if let Fault::MethodNotAllowed(allowed) = &self
            && let Ok(v) = HeaderValue::from_str(&allowed.join(", "))
        {
            h.insert(header::ALLOW, v);
        }
    }
}

/// Finds `name=value` in a query string: (the decoded value, the query without it).
fn take_query_param(query: Option<&str>, name: &str) -> Option<(String, String)> {
    let query = query?;
    let mut found = None;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if found.is_none() && k == name {
            found = Some(percent_decode(v));
        } else {
            rest.push(pair);
        }
    }
    found.map(|v| (v, rest.join("&")))
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where the gateway publishes the public key of its backend JWTs.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// GETs a JWKS document with the worker's client (5 s, at most 1 MiB).
fn fetch_jwks(
    upstream: Upstream,
    url: String,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + Send>> {
    Box::pin(async move {
        let uri: Uri = url.parse().map_err(|e| format!("{e}"))?;
        let req = Request::get(uri)
            .header(header::ACCEPT, "application/json")
            .body(Empty::new().map_err(|never| match never {}).boxed())
            .map_err(|e| e.to_string())?;
        // Short reasons (they reach the caller's 401): never the URL or an address.
        let resp = tokio::time::timeout(Duration::from_secs(5), upstream.request(req))
            .await
            .map_err(|_| "timeout".to_string())?
            .map_err(|e| {
                if e.is_connect() {
                    "connection failed".to_string()
                } else {
                    "request failed".to_string()
                }
            })?;
        if !resp.status().is_success() {
            return Err(format!("status {}", resp.status()));
        }
        let body = http_body_util::Limited::new(resp.into_body(), 1 << 20);
        let bytes = tokio::time::timeout(Duration::from_secs(5), body.collect())
            .await
            .map_err(|_| "timeout".to_string())?
            .map_err(|_| "body unreadable or over 1 MiB".to_string())?
            .to_bytes();
        Ok(bytes.to_vec())
    })
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// Asks for a debug trace: the answer gets `Server-Timing` with each phase's time when the
/// caller's token has [`DIAGNOSTICS_SCOPE`].
const X_GATEHOUSE_DEBUG: HeaderName = HeaderName::from_static("x-gatehouse-debug");
const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");
/// The scope that grants debug traces.
pub const DIAGNOSTICS_SCOPE: &str = "gatehouse:diagnostics";
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// RFC 9110 §7.6.1: connection-specific headers, plus any the Connection header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the few names present; only those found are removed (a backend's
    // `Connection: keep-alive` is the usual one).
    // The seven hop-by-hop names, then `keep-alive`.
    let mut present = [false; 8];
    let mut any = false;
    for name in headers.keys() {
        if let Some(i) = HOP_BY_HOP.iter().position(|h| h == name) {
            present[i] = true;
            any = true;
        } else if *name == KEEP_ALIVE {
            present[7] = true;
            any = true;
        }
    }
    if !any {
        return;
    }
    // Other headers the Connection header names (`close` and `keep-alive` are not those).
    let named: Vec<HeaderName> = connection_tokens(headers)
        .filter(|t| !t.eq_ignore_ascii_case("close") && !t.eq_ignore_ascii_case("keep-alive"))
        .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for (name, _) in HOP_BY_HOP.iter().zip(present).filter(|(_, p)| *p) {
        headers.remove(name);
    }
    if present[7] {
        headers.remove(KEEP_ALIVE);
    }
}

const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Whether the Connection header lists `token`.
fn connection_has(headers: &HeaderMap, token: &str) -> bool {
    connection_tokens(headers).any(|t| t.eq_ignore_ascii_case(token))
}

/// The comma-separated tokens of every Connection header, trimmed.
fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// Copies bytes both ways between an upgraded client connection and the backend's until
/// either side closes.
async fn tunnel(client: hyper::upgrade::OnUpgrade, backend: hyper::upgrade::OnUpgrade) {
    let (client, backend) = match tokio::try_join!(client, backend) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::debug!(error = %e, "upgrade did not complete");
            return;
        }
    };
    let mut client = hyper_util::rt::TokioIo::new(client);
    let mut backend = hyper_util::rt::TokioIo::new(backend);
    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut backend).await {
        tracing::debug!(error = %e, "upgraded connection closed with an error");
    }
}

fn add_forwarded(headers: &mut HeaderMap, peer: &Peer, host: Option<HeaderValue>) {
    let xff = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prev) => HeaderValue::from_str(&format!("{prev}, {}", peer.addr.ip())).ok(),
        None => Some(peer.forwarded_for.clone()),
    };
    if let Some(v) = xff {
        headers.insert(X_FORWARDED_FOR, v);
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    if let Some(h) = host {
        headers.insert(X_FORWARDED_HOST, h);
    }
}

fn body_is_empty(headers: &HeaderMap) -> bool {
    let chunked = headers.contains_key(header::TRANSFER_ENCODING);
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    !chunked && matches!(length, None | Some(0))
}

/// A W3C trace context for requests that arrive without one (tracing off): ids from
/// `otel::random_u64`, written as hex without formatting.
fn new_traceparent() -> HeaderValue {
    HeaderValue::from_bytes(&crate::otel::TraceContext::root(true).header_bytes())
        .expect("hex is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_come_out_of_the_query() {
        assert_eq!(
            take_query_param(Some("a=1&ApiKey=gk%5Fx&b=2"), "ApiKey"),
            Some(("gk_x".to_string(), "a=1&b=2".to_string()))
        );
        assert_eq!(
            take_query_param(Some("ApiKey=k"), "ApiKey"),
            Some(("k".to_string(), String::new()))
        );
        assert_eq!(take_query_param(Some("apikey=k"), "ApiKey"), None);
        assert_eq!(take_query_param(None, "ApiKey"), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::ACCEPT));
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.keys().collect::<Vec<_>>(), ["x-kept"]);
    }

    #[test]
    fn forwarded_headers_append() {
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.1"));
        let peer = Peer::new("127.0.0.1:5000".parse().unwrap());
        add_forwarded(
            &mut h,
            &peer,
            Some(HeaderValue::from_static("api.example.com")),
        );
        assert_eq!(h[&X_FORWARDED_FOR], "10.0.0.1, 127.0.0.1");
        assert_eq!(h[&X_FORWARDED_HOST], "api.example.com");
        assert_eq!(h[&X_FORWARDED_PROTO], "http");
        let mut first = HeaderMap::new();
        add_forwarded(&mut first, &Peer::new("[::1]:80".parse().unwrap()), None);
        assert_eq!(first[&X_FORWARDED_FOR], "::1");
        assert!(!first.contains_key(&X_FORWARDED_HOST));
    }

    #[test]
    fn traceparents_are_well_formed_and_distinct() {
        let a = new_traceparent();
        let b = new_traceparent();
        assert_ne!(a, b);
        let s = a.to_str().unwrap();
        assert_eq!(s.len(), 55);
        assert!(s.starts_with("00-") && s.ends_with("-01"));
    }

    #[test]
    fn load_balancing_rotates_and_skips_suspended() {
        let g = Group::new(&EndpointGroup {
            kind: EndpointKind::LoadBalance,
            urls: vec![
                "http://a:1".into(),
                "http://b:1".into(),
                "http://c:1".into(),
            ],
            timeout_ms: 10,
            suspend_seconds: 30,
        });
        let firsts: Vec<String> = (0..3)
            .map(|_| {
                g.candidates(0)
                    .next()
                    .unwrap()
                    .origin
                    .host
                    .to_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(firsts, ["a:1", "b:1", "c:1"]);
        g.suspend(&g.backends[1], 1_000);
        let order: Vec<String> = g
            .candidates(2_000)
            .map(|b| b.origin.host.to_str().unwrap().to_string())
            .collect();
        assert_eq!(order, ["a:1", "c:1"]);
        // After the suspension it is back.
        assert_eq!(g.candidates(40_000).count(), 3);
    }

    #[test]
    fn failover_keeps_order_and_single_tries_one() {
        let mut eg = EndpointGroup {
            kind: EndpointKind::Failover,
            urls: vec!["http://a:1".into(), "http://b:1".into()],
            timeout_ms: 10,
            suspend_seconds: 1,
        };
        let g = Group::new(&eg);
        for _ in 0..2 {
            let order: Vec<String> = g
                .candidates(0)
                .map(|b| b.origin.host.to_str().unwrap().to_string())
                .collect();
            assert_eq!(order, ["a:1", "b:1"]);
        }
        eg.kind = EndpointKind::Single;
        assert_eq!(Group::new(&eg).candidates(0).count(), 1);
    }
}
