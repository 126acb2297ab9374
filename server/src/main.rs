//! `server` binary: read settings, connect, migrate, serve until SIGTERM / Ctrl-C.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use gateway::settings::Sources;
use server::config::Settings;

#[tokio::main]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("server: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut config = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => {
                config = Some(PathBuf::from(args.next().context("--config needs a file")?))
            }
            "-h" | "--help" => {
                println!(
                    "usage: server [--config FILE]   (settings: gatehouse.toml, GATEHOUSE_… variables)"
                );
                return Ok(());
            }
            other => anyhow::bail!("unknown argument `{other}`"),
        }
    }
    let settings = Settings::load(&Sources::from_process(config))?;
    gateway::process::init_logging(settings.log.format, "info,sqlx=warn,tower_http=info");
    let shutdown = gateway::process::shutdown_signal();

    let db = server::connect(&settings)?;
    let grace = Duration::from_secs(settings.server.shutdown_grace_seconds);
    let addr = settings.server.addr;
    let state = server::prepare(db.clone(), settings).await?;

    // Expired sessions are removed hourly.
    let purge_db = db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match server::auth::session::purge_expired(&purge_db).await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session purge failed"),
            }
        }
    });

    // Analytics minute rows older than `[analytics] retention_days` are removed hourly.
    let (prune_db, days) = (db.clone(), state.settings.analytics.retention_days);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match server::analytics::prune(&prune_db, days).await {
                Ok(n) if n > 0 => tracing::info!(removed = n, days, "old analytics rows pruned"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "analytics prune failed"),
            }
        }
    });

    // Another replica may rotate the resident key manager's signing keys: read them again every
    // minute (retired keys keep verifying meanwhile, so nothing breaks in between).
    let keys = state.km.keys.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = keys.reload().await {
                tracing::warn!(error = %e, "signing keys reload failed");
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on server.addr {addr}"))?;
    let public = state.settings.public_url();
    tracing::info!(addr = %listener.local_addr()?, url = %public, "server started");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let ai = state.ai.clone();
    // The client's address reaches handlers (anonymous visitors' AI allowance).
    let app = server::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutdown requested; finishing open requests");
        let _ = tx.send(());
    });
    let mut serve = std::pin::pin!(serve.into_future());
    tokio::select! {
        res = &mut serve => res?,
        _ = async { let _ = rx.await; tokio::time::sleep(grace).await } => {
            tracing::warn!("grace period over; stopping with requests still open");
        }
    }
    ai.stop();
    db.close().await;
    tracing::info!("server stopped");
    Ok(())
}
