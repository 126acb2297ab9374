//! Gatehouse control plane: the axum server behind the three portals, their REST APIs and the
//! token service. `main.rs` only starts it; `app()` builds the whole router, which tests drive.
#![forbid(unsafe_code)]

pub mod admin_settings;
pub mod ai;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod changes;
pub mod config;
pub mod demo;
pub mod devportal;
pub mod error;
pub mod feedback;
pub mod gitops;
pub mod http;
pub mod keymanager;
pub mod publisher;
pub mod services;
pub mod throttling;
pub mod users_admin;
pub mod workflows;

use std::sync::Arc;

use anyhow::Context;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::auth::tokens::KeySet;
use crate::config::Settings;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub leptos: LeptosOptions,
    pub keys: Arc<KeySet>,
    /// Key for client-secret hashes.
    pub hash_key: Arc<Vec<u8>>,
    /// Applications, keys, subscriptions and the resident key manager's tokens.
    pub km: keymanager::KeyManager,
    /// The marketplace assistant and API chat (models, indexer, limits).
    pub ai: ai::Ai,
    /// OpenTelemetry: a server span per request when an OTLP endpoint is set.
    pub tracer: gateway::otel::Tracer,
    /// Environment changes from every replica (`LISTEN/NOTIFY`): wakes gateways' long polls.
    pub changes: changes::Changes,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Connects to PostgreSQL (lazily: `/ready` reports when it is down).
pub fn connect(settings: &Settings) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(settings.database.max_connections)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_lazy(settings.database.url.expose_secret())
        .context("Failed to parse database.url")
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Runs migrations (when enabled) and start-up data, then assembles the state.
pub async fn prepare(db: PgPool, settings: Settings) -> anyhow::Result<AppState> {
    if settings.database.migrate {
        MIGRATOR.run(&db).await.context(
            "Failed to apply database migrations (is PostgreSQL running, with pgvector installed?)",
        )?;
    }
    bootstrap::run(&db, &settings).await?;
    let hash_key = bootstrap::hash_key(&db, &settings).await?;
    let issuer = format!("{}/oauth2/token", settings.public_url());
    let keys = KeySet::load_or_create(&db, issuer.clone()).await?;
    let hash_key = Arc::new(hash_key);
    let oauth_keys = keymanager::keys::OAuthKeys::load_or_create(
        db.clone(),
        settings.keymanager.max_validity_seconds,
    )
    .await
    .context("Failed to load the resident key manager's signing keys")?;
    let km = keymanager::KeyManager {
        db: db.clone(),
        settings: settings.keymanager.clone(),
        hash_key: hash_key.clone(),
        keys: Arc::new(oauth_keys),
        issuer,
        public_url: settings.public_url(),
        default_organization: settings.auth.default_organization.clone(),
    };
    let organizations: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM organization")
        .fetch_all(&db)
        .await?;
    for org in organizations {
        km.ensure_resident(org).await?;
    }
    let leptos = LeptosOptions::builder()
        .output_name("gatehouse")
        .site_root(settings.server.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(settings.server.addr)
        .build();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let tracer = match settings
        .otel
        .resolve("gatehouse-server", &env)
        .map_err(|e| anyhow::anyhow!("invalid tracing settings: {e}"))?
    {
        Some(otel) => {
            let tls = gateway::proxy::backend_tls(None).map_err(|e| anyhow::anyhow!(e))?;
            gateway::otel::Tracer::start(otel, "gatehouse-server", tls)
        }
        None => gateway::otel::Tracer::off(),
    };
    let ai = ai::Ai::new(&settings.ai);
    ai.start_indexer(db.clone());
    let changes = changes::Changes::listen(&db);
    Ok(AppState {
        changes,
        db,
        ai,
        tracer,
        settings: Arc::new(settings),
        leptos,
        keys: Arc::new(keys),
        hash_key,
        km,
    })
}

pub use http::app;
