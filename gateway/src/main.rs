//! `gateway` binary: reads settings like the server does (`gatehouse.toml`, `GATEHOUSE_…`,
//! or `--settings FILE`), serves API traffic on `gateway.listen` and health on
//! `gateway.admin_listen`, and drains connections on SIGTERM / Ctrl-C.
//!
//! Standalone mode, `--config FILE`: the runtime snapshot comes from a JSON or YAML file
//! (format in `gateway::snapshot`), re-read when it changes; an invalid file is refused and the
//! previous snapshot kept.
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use gateway::config::GatewayConfig;
use gateway::feed::Feed;
use gateway::proxy::{self, Body, Gateway, Peer, json_response};
use gateway::settings::Sources;
use gateway::snapshot::Snapshot;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;

const USAGE: &str = "usage: gateway [--config SNAPSHOT_FILE] [--settings FILE] [--control-plane URL] [--environment NAME]
       gateway diagnose [--admin URL] [--settings FILE] [--follow] [--json]";

mod diagnose_cli;

/// How often a gateway following a control plane sends its diagnostics report.
const DIAGNOSTICS_EVERY: Duration = Duration::from_secs(5);

struct Args {
    snapshot: Option<PathBuf>,
    settings: Option<PathBuf>,
    control_plane: Option<String>,
    environment: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        snapshot: None,
        settings: None,
        control_plane: None,
        environment: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--config" => args.snapshot = Some(PathBuf::from(value()?)),
            "--settings" => args.settings = Some(PathBuf::from(value()?)),
            "--control-plane" => args.control_plane = Some(value()?),
            "--environment" => args.environment = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    Ok(args)
}

/// What the admin port reads from the workers: their backend pools (idle connections).
#[derive(Default)]
struct Workers {
    pools: std::sync::Mutex<Vec<gateway::pool::Pool>>,
}

impl Workers {
    fn idle(&self) -> usize {
        let pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        pools.iter().map(gateway::pool::Pool::idle_count).sum()
    }

    fn count(&self) -> usize {
        self.pools.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

fn main() {
    // `gateway diagnose …`: a client of a running gateway's admin port.
    if std::env::args().nth(1).as_deref() == Some("diagnose") {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        if let Err(err) = rt.block_on(diagnose_cli::run(std::env::args().skip(2).collect())) {
            eprintln!("gateway diagnose: {err:#}");
            std::process::exit(1);
        }
        return;
    }
    // The main thread runs the admin port and the snapshot watcher; traffic runs on worker
    // threads, each a single-threaded runtime (a request never changes threads).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(err) = rt.block_on(run()) {
        eprintln!("gateway: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let args = parse_args()?;
    let mut sources = Sources::from_process(args.settings);
    // Command-line flags win over the file and the environment.
    if let Some(cp) = args.control_plane {
        sources
            .env
            .push(("GATEHOUSE_GATEWAY__CONTROL_PLANE".into(), cp));
    }
    if let Some(env) = args.environment {
        sources
            .env
            .push(("GATEHOUSE_GATEWAY__ENVIRONMENT".into(), env));
    }
    let cfg = GatewayConfig::load(&sources)?;
    gateway::process::init_logging(cfg.log.format, "info");
    let shutdown = gateway::process::shutdown_signal();

    let mut gw = Gateway::with_settings(&cfg.gateway);
    if let Some(url) = &cfg.gateway.redis_url {
        let target = gateway::redis::Target::parse(url.expose())
            .map_err(|e| anyhow::anyhow!("invalid setting `gateway.redis_url`: {e}"))?;
        let id = format!(
            "{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "gateway".into()),
            std::process::id()
        );
        tracing::info!(redis = %target.addr, id = %id, "backend max TPS and burst control shared through Redis");
        let cluster = Arc::new(gateway::cluster::Cluster::new(
            target,
            &cfg.gateway.environment,
            id,
        ));
        let beating = cluster.clone();
        tokio::spawn(async move { beating.heartbeats().await });
        gw.cluster = Some(cluster);
    }
    let tls = proxy::backend_tls(cfg.gateway.backend_ca_file.as_deref())
        .map_err(|e| anyhow::anyhow!(e))?;
    let env: Vec<(String, String)> = std::env::vars().collect();
    if let Some(otel) = cfg
        .otel
        .resolve("gatehouse-gateway", &env)
        .map_err(|e| anyhow::anyhow!("invalid tracing settings: {e}"))?
    {
        gw.tracer = gateway::otel::Tracer::start(otel, "gatehouse-gateway", tls.clone());
    }
    // Analytics: to `[analytics] url`, or to the control plane this gateway follows (with
    // the gateway token; never sent to an explicit URL). A file-fed gateway without a URL
    // records nothing.
    let analytics_target = match (&cfg.analytics.url, &cfg.gateway.control_plane) {
        _ if !cfg.analytics.enabled => None,
        (Some(url), _) => Some((url.clone(), None)),
        (None, Some(cp)) if args.snapshot.is_none() => Some((
            format!(
                "{}/api/am/gateway/v1/environments/{}/analytics",
                cp.trim_end_matches('/'),
                cfg.gateway.environment
            ),
            cfg.gateway.token.as_ref().map(|t| t.expose().to_string()),
        )),
        _ => None,
    };
    if let Some((url, token)) = analytics_target {
        gw.analytics = gateway::analytics::Recorder::start(
            gateway::analytics::Target {
                url,
                token,
                gateway_id: gateway::feed::gateway_id(),
                batch: cfg.analytics.batch,
                flush: Duration::from_millis(cfg.analytics.flush_ms),
            },
            cfg.analytics.queue,
            proxy::upstream(tls.clone()),
        );
    }
    let gw = Arc::new(gw);
    let workers_registry = Arc::new(Workers::default());
    if let Some(file) = &args.snapshot {
        let (snapshot, stamp) = read_snapshot(file)?;
        apply(&gw, snapshot);
        tokio::spawn(watch_file(gw.clone(), file.clone(), stamp));
    } else if let Some(cp) = &cfg.gateway.control_plane {
        let feed = Feed::new(
            cp,
            &cfg.gateway.environment,
            cfg.gateway.token.as_ref().map(|t| t.expose().to_string()),
            cfg.gateway.cache_path(),
            Duration::from_secs(cfg.gateway.feed_wait_seconds),
        );
        // Serve the last good snapshot at once; the feed replaces it when it gets through.
        if let Some(cached) = feed.load_cache() {
            tracing::info!(path = %feed.cache().map(|p| p.display().to_string()).unwrap_or_default(), "serving the disk copy until the control plane answers");
            apply(&gw, cached);
        }
        let client = proxy::upstream(tls.clone());
        // The diagnostics report goes to the control plane too (the Admin portal's page per
        // gateway).
        let (dgw, dworkers) = (gw.clone(), workers_registry.clone());
        if let Some(task) = feed.report_diagnostics(client.clone(), DIAGNOSTICS_EVERY, move || {
            dgw.diagnostics_report(0, dworkers.idle(), dworkers.count())
        }) {
            tokio::spawn(task);
        }
        let fgw = gw.clone();
        tokio::spawn(feed.follow(gw.clone(), client, move |s| apply(&fgw, s)));
    }

    let admin = TcpListener::bind(cfg.gateway.admin_listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on gateway.admin_listen {}",
                cfg.gateway.admin_listen
            )
        })?;
    let stopping = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = watch::channel(false);
    let grace = Duration::from_secs(cfg.gateway.shutdown_grace_seconds);
    let workers = match cfg.gateway.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let pools = workers_registry;
    let (listen, threads) = start_workers(
        cfg.gateway.listen,
        workers,
        &gw,
        &tls,
        &stop_rx,
        grace,
        &pools,
    )?;
    // This thread (admin port, snapshot parsing and table builds) yields to traffic: a big
    // snapshot is built from the CPU time requests leave, not taken from them. Threads it
    // starts from now on (freeing old tables) inherit that.
    if let Err(e) = gateway::process::lower_thread_priority() {
        tracing::warn!(error = %e, "cannot lower the control thread's priority; snapshot builds compete with traffic");
    }
    tracing::info!(
        listen = %listen,
        admin = %admin.local_addr()?,
        workers,
        environment = %cfg.gateway.environment,
        crypto_provider = gateway::crypto::PROVIDER,
        fips = gateway::crypto::fips(),
        control_plane = cfg.gateway.control_plane.as_deref().unwrap_or("(standalone)"),
        "gateway started"
    );

    let admin_gw = gw.clone();
    let admin_stopping = stopping.clone();
    let a = tokio::spawn(serve(admin, stop_rx, grace, move |req, _| {
        let resp = admin_response(&req, &admin_gw, &admin_stopping, &pools);
        async move { resp }
    }));

    shutdown.await;
    tracing::info!("shutdown requested; draining connections");
    stopping.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let _ = a.await;
    let _ = tokio::task::spawn_blocking(move || {
        for t in threads {
            let _ = t.join();
        }
    })
    .await;
    tracing::info!("gateway stopped");
    Ok(())
}

/// Starts `n` traffic threads, each with its own listener on the same address
/// (SO_REUSEPORT: the kernel spreads connections) and its own backend pool. Returns the
/// bound address (port 0 resolves to the first worker's port) and the threads.
fn start_workers(
    addr: SocketAddr,
    n: usize,
    gw: &Arc<Gateway>,
    tls: &Arc<rustls::ClientConfig>,
    stop: &watch::Receiver<bool>,
    grace: Duration,
    workers: &Arc<Workers>,
) -> anyhow::Result<(SocketAddr, Vec<std::thread::JoinHandle<()>>)> {
    let mut bound = addr;
    let mut threads = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, rx) = std::sync::mpsc::channel::<std::io::Result<SocketAddr>>();
        let gw = gw.clone();
        let tls = tls.clone();
        let stop = stop.clone();
        let at = bound;
        let registry = workers.clone();
        let thread = std::thread::Builder::new()
            .name(format!("gateway-worker-{i}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match reuseport_listener(at) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = tx.send(listener.local_addr());
                    let mut clients = proxy::Clients::new(tls);
                    // This worker's phase latencies and pool, for the diagnostics report.
                    clients.stats = gw.diagnostics.worker();
                    registry
                        .pools
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(clients.backends.clone());
                    let clients = Arc::new(clients);
                    serve(listener, stop, grace, move |req, peer| {
                        let gw = gw.clone();
                        let clients = clients.clone();
                        async move { gw.handle(&clients, req, &peer).await }
                    })
                    .await;
                });
            })
            .context("cannot start a worker thread")?;
        let local = rx
            .recv()
            .context("worker thread ended early")?
            .with_context(|| format!("cannot listen on gateway.listen {addr}"))?;
        bound = local;
        threads.push(thread);
    }
    Ok((bound, threads))
}

fn reuseport_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

fn admin_response(
    req: &Request<Incoming>,
    gw: &Gateway,
    stopping: &AtomicBool,
    workers: &Workers,
) -> Response<Body> {
    match req.uri().path() {
        "/diagnostics" => {
            // `?since=N`: only failures after sequence number N (`gateway diagnose --follow`).
            let since = req
                .uri()
                .query()
                .unwrap_or_default()
                .split('&')
                .find_map(|kv| kv.strip_prefix("since="))
                .map(str::parse::<u64>);
            match since {
                Some(Err(_)) => json_response(
                    StatusCode::BAD_REQUEST,
                    r#"{"code":"400","message":"Bad Request","description":"since: not a non-negative integer"}"#.into(),
                ),
                since => json_response(
                    StatusCode::OK,
                    gw.diagnostics_report(
                        since.and_then(Result::ok).unwrap_or(0),
                        workers.idle(),
                        workers.count(),
                    )
                    .to_string(),
                ),
            }
        }
        "/health" => json_response(StatusCode::OK, r#"{"status":"UP"}"#.into()),
        "/ready" => match (gw.table(), stopping.load(Ordering::Relaxed)) {
            (_, true) => json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"SHUTTING_DOWN"}"#.into(),
            ),
            (None, false) => json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"NO_SNAPSHOT"}"#.into(),
            ),
            (Some(t), false) => json_response(
                StatusCode::OK,
                format!(
                    r#"{{"status":"READY","snapshotVersion":{},"apis":{}}}"#,
                    t.router.version(),
                    t.router.api_count()
                ),
            ),
        },
        "/metrics" => {
            let mut text = gw.metrics.render();
            if gw.tracer.enabled() {
                let t = gw.tracer.stats();
                text.push_str(&format!(
                    "# HELP gatehouse_otel_spans_total Spans by what became of them: exported, \
                     dropped (queue full) or failed (collector refused or unreachable).\n\
                     # TYPE gatehouse_otel_spans_total counter\n\
                     gatehouse_otel_spans_total{{outcome=\"exported\"}} {}\n\
                     gatehouse_otel_spans_total{{outcome=\"dropped\"}} {}\n\
                     gatehouse_otel_spans_total{{outcome=\"failed\"}} {}\n",
                    t.exported, t.dropped, t.failed
                ));
            }
            if gw.analytics.enabled() {
                let a = gw.analytics.stats();
                text.push_str(&format!(
                    "# HELP gatehouse_analytics_events_total Analytics events by what became of \
                     them: sent, dropped (queue full) or failed (refused or unreachable).\n\
                     # TYPE gatehouse_analytics_events_total counter\n\
                     gatehouse_analytics_events_total{{outcome=\"sent\"}} {}\n\
                     gatehouse_analytics_events_total{{outcome=\"dropped\"}} {}\n\
                     gatehouse_analytics_events_total{{outcome=\"failed\"}} {}\n",
                    a.sent, a.dropped, a.failed
                ));
            }
            let mut resp = json_response(StatusCode::OK, text);
            resp.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            resp
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            r#"{"code":"404","message":"Not Found"}"#.into(),
        ),
    }
}

/// File identity for change detection: modification time and length.
type Stamp = (Option<SystemTime>, u64);

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let m = std::fs::metadata(path)?;
    Ok((m.modified().ok(), m.len()))
}

/// Reads and validates a snapshot file; every problem is listed in the error.
fn read_snapshot(path: &Path) -> anyhow::Result<(Snapshot, Stamp)> {
    let started = std::time::Instant::now();
    let st = stamp(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let snapshot =
        Snapshot::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let problems = snapshot.problems();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        anyhow::bail!(
            "{} is not a valid snapshot:\n{}",
            path.display(),
            list.join("\n")
        );
    }
    tracing::debug!(
        path = %path.display(),
        parse_ms = started.elapsed().as_millis() as u64,
        "snapshot file read and validated"
    );
    Ok((snapshot, st))
}

fn apply(gw: &Gateway, snapshot: Snapshot) {
    let started = std::time::Instant::now();
    let (version, apis) = (snapshot.version, snapshot.apis.len());
    gw.install(snapshot);
    tracing::info!(
        version,
        apis,
        build_ms = started.elapsed().as_millis() as u64,
        "snapshot applied"
    );
}

/// Polls the file (cheap `stat`) and applies each valid new version.
async fn watch_file(gw: Arc<Gateway>, path: PathBuf, mut last: Stamp) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let Ok(now) = stamp(&path) else { continue };
        if now == last {
            continue;
        }
        last = now;
        match read_snapshot(&path) {
            Ok((snapshot, st)) => {
                last = st;
                apply(&gw, snapshot);
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "snapshot refused; keeping the previous one")
            }
        }
    }
}

/// Accepts connections (HTTP/1.1 and h2c) until `stop` flips, then gives open connections
/// `grace` to finish.
async fn serve<F, Fut>(
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
    handler: F,
) where
    F: Fn(Request<Incoming>, Arc<Peer>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Body>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Head and a small body in one buffer and one write(2) rather than writev(2) over pieces.
    builder.http1().writev(false);
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let Ok((stream, peer)) = conn else { continue };
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let peer = Arc::new(Peer::new(peer));
                let svc = hyper::service::service_fn(move |req| {
                    let fut = handler(req, peer.clone());
                    async move { Ok::<_, Infallible>(fut.await) }
                });
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(err) = conn.await {
                        tracing::debug!(%err, "connection closed with error");
                    }
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over; closing remaining connections");
    }
}
