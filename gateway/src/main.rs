//! `gateway` binary: reads settings like the server does, serves API traffic on `gateway.listen`
//! and health on `gateway.admin_listen`, and drains connections on SIGTERM / Ctrl-C.
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use gateway::config::GatewayConfig;
use gateway::settings::Sources;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

const USAGE: &str = "usage: gateway [--config FILE] [--control-plane URL] [--environment NAME]";

struct Args {
    config: Option<PathBuf>,
    control_plane: Option<String>,
    environment: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        config: None,
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
            "--config" => args.config = Some(PathBuf::from(value()?)),
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

#[tokio::main]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("gateway: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let args = parse_args()?;
    let mut sources = Sources::from_process(args.config);
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

    let traffic = TcpListener::bind(cfg.gateway.listen)
        .await
        .with_context(|| format!("cannot listen on gateway.listen {}", cfg.gateway.listen))?;
    let admin = TcpListener::bind(cfg.gateway.admin_listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on gateway.admin_listen {}",
                cfg.gateway.admin_listen
            )
        })?;
    tracing::info!(
        listen = %traffic.local_addr()?,
        admin = %admin.local_addr()?,
        environment = %cfg.gateway.environment,
        control_plane = cfg.gateway.control_plane.as_deref().unwrap_or("(standalone)"),
        "gateway started"
    );

    let ready = Arc::new(AtomicBool::new(true));
    let (stop_tx, stop_rx) = watch::channel(false);
    let grace = Duration::from_secs(cfg.gateway.shutdown_grace_seconds);
    let t = tokio::spawn(serve(traffic, stop_rx.clone(), grace, |_req| {
        // Routing arrives with the runtime snapshot; until then nothing is deployed here.
        json(
            StatusCode::NOT_FOUND,
            r#"{"code":"404","type":"Status report","message":"Runtime Error","description":"No matching resource found for the API in the given request"}"#,
        )
    }));
    let ready_admin = ready.clone();
    let a = tokio::spawn(serve(admin, stop_rx, grace, move |req| {
        match req.uri().path() {
            "/health" => json(StatusCode::OK, r#"{"status":"UP"}"#),
            "/ready" if ready_admin.load(Ordering::Relaxed) => {
                json(StatusCode::OK, r#"{"status":"READY"}"#)
            }
            "/ready" => json(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"SHUTTING_DOWN"}"#,
            ),
            _ => json(
                StatusCode::NOT_FOUND,
                r#"{"code":"404","message":"Not Found"}"#,
            ),
        }
    }));

    shutdown.await;
    tracing::info!("shutdown requested; draining connections");
    ready.store(false, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let _ = tokio::join!(t, a);
    tracing::info!("gateway stopped");
    Ok(())
}

fn json(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Accepts connections until `stop` flips, then gives open connections `grace` to finish.
async fn serve<F>(
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
    handler: F,
) where
    F: Fn(Request<Incoming>) -> Response<Full<Bytes>> + Clone + Send + Sync + 'static,
{
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let Ok((stream, _peer)) = conn else { continue };
                let handler = handler.clone();
                let svc = hyper::service::service_fn(move |req| {
                    let resp = handler(req);
                    async move { Ok::<_, Infallible>(resp) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc);
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
