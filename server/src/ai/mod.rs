//! AI in the Developer Portal: the marketplace assistant (`assistant`) and API chat, on
//! vectors of the catalogue kept in PostgreSQL with pgvector (`index`), embedded in process by
//! default (`embed`) and optionally by an OpenAI-compatible endpoint; answers and plans written
//! by an OpenAI-compatible LLM when one is configured (`llm`), by templates and the embedded
//! planner otherwise.
//!
//! Limits: each user's calls are rate limited (`ai.requests_per_minute`), every model call has
//! a deadline (`ai.timeout_seconds`), prompts are bounded, and neither tokens nor keys are sent
//! to a model or logged.

pub mod assistant;
pub mod chat;
pub mod embed;
pub mod index;
pub mod llm;
pub mod plan;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use secrecy::ExposeSecret;
use tokio::sync::OnceCell;

use crate::config::AiSection;
use crate::error::ApiError;
use embed::{Embedder, MiniLm, RemoteEmbedder};

#[derive(Debug, thiserror::Error)]
pub enum AiError {
    /// No model to use (not installed, not configured): what to do about it.
    #[error("{0}")]
    Unavailable(String),
    /// The model failed.
    #[error("{0}")]
    Model(String),
    /// An endpoint answered wrongly.
    #[error("{0}")]
    Upstream(String),
    #[error("{0} did not answer in time")]
    Timeout(&'static str),
    #[error("the AI service is shutting down")]
    Closed,
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

impl From<AiError> for ApiError {
    fn from(e: AiError) -> Self {
        match e {
            AiError::Unavailable(m) => ApiError::Unavailable(m),
            AiError::Model(m) => ApiError::Anyhow(anyhow::anyhow!(m)),
            AiError::Upstream(m) => ApiError::BadGateway(m),
            AiError::Timeout(what) => ApiError::GatewayTimeout(format!(
                "{what} did not answer in time; try again, or ask a shorter question"
            )),
            AiError::Closed => ApiError::Unavailable("the server is shutting down".into()),
            AiError::Db(e) => ApiError::Sqlx(e),
        }
    }
}

/// Process-wide: the embedded model, loaded once (every server in a test process shares it).
static MINILM: OnceCell<Arc<MiniLm>> = OnceCell::const_new();

type UserLimiter = RateLimiter<String, DashMapStateStore<String>, DefaultClock>;

/// The AI features' shared parts; cheap to clone.
#[derive(Clone)]
pub struct Ai {
    inner: Arc<Inner>,
}

struct Inner {
    settings: AiSection,
    embedder: OnceCell<Embedder>,
    /// Why the provider could not be set up, the last time it was tried.
    model_problem: std::sync::Mutex<Option<String>>,
    llm: Option<llm::Llm>,
    limiter: UserLimiter,
    /// Bumped whenever the indexer finished a round (tests wait on it).
    indexed: tokio::sync::watch::Sender<u64>,
    /// Set when the server stops: the indexer lets its database connections go.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Ai {
    pub fn new(settings: &AiSection) -> Ai {
        // The HTTP clients to model endpoints use rustls with the process's provider (ring):
        // set it once (a second call finds it set, which is fine).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let per_minute = NonZeroU32::new(settings.requests_per_minute).unwrap_or(NonZeroU32::MIN);
        let timeout = Duration::from_secs(settings.timeout_seconds.max(1));
        let llm = settings.llm_url.as_ref().map(|url| {
            llm::Llm::new(
                url,
                &settings.llm_model,
                settings
                    .llm_api_key
                    .as_ref()
                    .map(|k| k.expose_secret().to_string())
                    .unwrap_or_default(),
                timeout,
            )
        });
        Ai {
            inner: Arc::new(Inner {
                settings: settings.clone(),
                embedder: OnceCell::new(),
                model_problem: std::sync::Mutex::new(None),
                llm,
                limiter: RateLimiter::dashmap(Quota::per_minute(per_minute)),
                indexed: tokio::sync::watch::channel(0).0,
                stopping: tokio::sync::watch::channel(false).0,
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.inner.settings.enabled
    }

    pub fn settings(&self) -> &AiSection {
        &self.inner.settings
    }

    /// The LLM, when one is configured.
    pub fn llm(&self) -> Option<&llm::Llm> {
        self.inner.llm.as_ref()
    }

    /// The embeddings provider, set up on first use: the embedded model (loaded once per
    /// process) or the configured endpoint. A failure is not kept: the next call tries again
    /// (the model installed meanwhile, the endpoint back), and `model_problem` tells admins.
    pub async fn embedder(&self) -> Result<Embedder, AiError> {
        let s = &self.inner.settings;
        let made = self
            .inner
            .embedder
            .get_or_try_init(|| async {
                match &s.embeddings_url {
                    Some(url) => RemoteEmbedder::connect(
                        url,
                        &s.embeddings_model,
                        &s.embeddings_api_key
                            .as_ref()
                            .map(|k| k.expose_secret().to_string())
                            .unwrap_or_default(),
                        Duration::from_secs(s.timeout_seconds.max(1)),
                    )
                    .await
                    .map(|r| Embedder::Remote(Arc::new(r)))
                    .map_err(|e| e.to_string()),
                    None => {
                        let dir = s.models_dir().join(embed::MINILM);
                        MINILM
                            .get_or_try_init(|| async move {
                                tokio::task::spawn_blocking(move || MiniLm::load(&dir))
                                    .await
                                    .map_err(|e| e.to_string())
                                    .and_then(|r| r.map_err(|e| e.to_string()))
                                    .map(Arc::new)
                            })
                            .await
                            .cloned()
                            .map(Embedder::Local)
                    }
                }
            })
            .await;
        match made {
            Ok(e) => {
                self.set_model_problem(None);
                Ok(e.clone())
            }
            Err(why) => {
                self.set_model_problem(Some(why.clone()));
                Err(AiError::Unavailable(why))
            }
        }
    }

    /// The provider if it is set up, else why not (the last failure) — without trying now.
    pub fn embedder_state(&self) -> Result<Embedder, Option<String>> {
        match self.inner.embedder.get() {
            Some(e) => Ok(e.clone()),
            None => Err(self
                .inner
                .model_problem
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()),
        }
    }

    fn set_model_problem(&self, why: Option<String>) {
        *self
            .inner
            .model_problem
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = why;
    }

    /// Counts one call of `user` (429 with the wait once the minute's allowance is used).
    pub fn admit(&self, user: &str) -> Result<(), ApiError> {
        // Callers whose allowance is whole again are forgotten, so anonymous addresses do not
        // pile up.
        if self.inner.limiter.len() > 10_000 {
            self.inner.limiter.retain_recent();
        }
        match self.inner.limiter.check_key(&user.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(ApiError::TooManyRequests(
                    format!(
                        "At most {} AI requests a minute; try again in {} s",
                        self.inner.settings.requests_per_minute,
                        wait.as_secs() + 1
                    ),
                    wait.as_secs() + 1,
                ))
            }
        }
    }

    fn indexed(&self) {
        self.inner.indexed.send_modify(|n| *n += 1);
    }

    /// Waits until the indexer has no job left (tests, the demo seed): at most `limit`.
    pub async fn wait_indexed(&self, db: &sqlx::PgPool, limit: Duration) -> Result<(), AiError> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut rx = self.inner.indexed.subscribe();
        loop {
            let left: i64 = sqlx::query_scalar("SELECT count(*) FROM ai_index_job")
                .fetch_one(db)
                .await?;
            if left == 0 {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return Err(AiError::Timeout("the AI indexer"));
            }
        }
    }

    /// Starts the indexer (once per server).
    pub fn start_indexer(&self, db: sqlx::PgPool) {
        if self.enabled() {
            tokio::spawn(index::run(self.clone(), db));
        }
    }

    /// Stops the indexer after the job at hand (before the database pool closes: its LISTEN
    /// connection is one of the pool's).
    pub fn stop(&self) {
        self.inner.stopping.send_replace(true);
    }

    fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.stopping.subscribe()
    }
}
