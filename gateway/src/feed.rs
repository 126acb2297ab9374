//! The control-plane feed: the gateway fetches its environment's snapshot
//! (`GET {control_plane}/api/am/gateway/v1/environments/{name}/snapshot`) and then long-polls
//! the same URL with `If-None-Match: "<version>"` and `Prefer: wait=N`: the control plane
//! answers as soon as the environment changes (200 with the new snapshot) or 304 when the
//! wait is over. Each snapshot is validated before it replaces the routing table (an invalid
//! one is refused and the old one kept) and written to a disk copy, which a gateway started
//! while the control plane is unreachable serves from.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};

use crate::proxy::{Gateway, Upstream};
use crate::snapshot::Snapshot;

/// Largest snapshot accepted from the control plane.
const MAX_SNAPSHOT_BYTES: usize = 1 << 30;

pub struct Feed {
    url: String,
    token: Option<String>,
    cache: Option<PathBuf>,
    wait: Duration,
    /// Sent as `X-Gateway-Id` so the control plane can list connected gateways: the host name
    /// and process id.
    id: String,
}

/// `host/pid`: tells gateways of one environment apart in the Admin portal.
/// This gateway's id for the control plane: `host/pid`.
pub fn gateway_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "gateway".into());
    format!("{host}/{}", std::process::id())
}

/// Why a fetched snapshot was not applied.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("control plane unreachable: {0}")]
    Unreachable(String),
    #[error("the control plane refused the gateway's credential ({0}); check gateway.token")]
    Refused(StatusCode),
    #[error("the control plane has no environment `{0}`")]
    NoEnvironment(String),
    #[error("unexpected answer {0} from the control plane")]
    Status(StatusCode),
    /// `version` is known when the snapshot parsed but has problems.
    #[error("snapshot refused: {message}")]
    Invalid {
        version: Option<u64>,
        message: String,
    },
}

impl Feed {
    pub fn new(
        control_plane: &str,
        environment: &str,
        token: Option<String>,
        cache: Option<PathBuf>,
        wait: Duration,
    ) -> Feed {
        let env: String = environment
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        Feed {
            url: format!(
                "{}/api/am/gateway/v1/environments/{env}/snapshot",
                control_plane.trim_end_matches('/')
            ),
            token,
            cache,
            wait,
            id: gateway_id(),
        }
    }

    /// Sends `report()` (the diagnostics report) to the control plane every `every`, so the
    /// Admin portal shows it whichever server replica it asks. Only with a gateway token (the
    /// control plane accepts reports from gateways alone); failures are logged at debug level
    /// and the next round tries again.
    pub fn report_diagnostics<F>(
        &self,
        client: crate::proxy::Upstream,
        every: Duration,
        report: F,
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static>
    where
        F: Fn() -> serde_json::Value + Send + 'static,
    {
        let token = self.token.clone()?;
        let url = self.url.strip_suffix("/snapshot")?.to_string() + "/diagnostics";
        let id = self.id.clone();
        Some(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let body = report().to_string();
                let Ok(req) = Request::put(&url)
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header("x-gateway-id", &id)
                    .body(
                        http_body_util::Full::new(hyper::body::Bytes::from(body))
                            .map_err(|never| match never {})
                            .boxed(),
                    )
                else {
                    continue;
                };
                match tokio::time::timeout(Duration::from_secs(10), client.request(req)).await {
                    Ok(Ok(resp)) if resp.status().is_success() => {}
                    Ok(Ok(resp)) => {
                        tracing::debug!(status = %resp.status(), "the control plane refused the diagnostics report")
                    }
                    Ok(Err(e)) => tracing::debug!(error = %e, "diagnostics report not sent"),
                    Err(_) => tracing::debug!("diagnostics report timed out"),
                }
            }
        })
    }

    pub fn cache(&self) -> Option<&Path> {
        self.cache.as_deref()
    }

    /// The disk copy, when there is a valid one.
    pub fn load_cache(&self) -> Option<Snapshot> {
        let path = self.cache.as_ref()?;
        let bytes = std::fs::read(path).ok()?;
        match Snapshot::parse(&bytes) {
            Ok(s) if s.problems().is_empty() => Some(s),
            Ok(_) | Err(_) => {
                tracing::warn!(path = %path.display(), "the disk copy of the snapshot is not valid; ignored");
                None
            }
        }
    }

    fn save_cache(&self, snapshot: &Snapshot) {
        let Some(path) = &self.cache else { return };
        let tmp = path.with_extension("tmp");
        let result = (|| -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&tmp, serde_json::to_vec(snapshot)?)?;
            std::fs::rename(&tmp, path)
        })();
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the disk copy of the snapshot");
        }
    }

    /// One request: `Ok(Some)` a new valid snapshot, `Ok(None)` unchanged.
    pub async fn fetch(
        &self,
        client: &Upstream,
        have: Option<u64>,
        wait: Duration,
    ) -> Result<Option<Snapshot>, FeedError> {
        let mut req = Request::get(&self.url)
            .header(header::ACCEPT, "application/json")
            .header("x-gateway-id", &self.id);
        if let Some(v) = have {
            req = req
                .header(header::IF_NONE_MATCH, format!("\"{v}\""))
                .header("prefer", format!("wait={}", wait.as_secs()));
        }
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req
            .body(
                Empty::<Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed(),
            )
            .map_err(|e| FeedError::Unreachable(e.to_string()))?;
        let deadline = wait + Duration::from_secs(15);
        let resp = tokio::time::timeout(deadline, client.request(req))
            .await
            .map_err(|_| FeedError::Unreachable("no answer in time".into()))?
            .map_err(|e| FeedError::Unreachable(e.to_string()))?;
        match resp.status() {
            StatusCode::OK => {}
            StatusCode::NOT_MODIFIED => return Ok(None),
            s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                return Err(FeedError::Refused(s));
            }
            StatusCode::NOT_FOUND => {
                return Err(FeedError::NoEnvironment(
                    self.url.rsplit('/').nth(1).unwrap_or_default().to_string(),
                ));
            }
            s => return Err(FeedError::Status(s)),
        }
        let body = tokio::time::timeout(
            Duration::from_secs(60),
            Limited::new(resp.into_body(), MAX_SNAPSHOT_BYTES).collect(),
        )
        .await
        .map_err(|_| FeedError::Unreachable("the snapshot took too long".into()))?
        .map_err(|e| FeedError::Unreachable(e.to_string()))?
        .to_bytes();
        let snapshot = Snapshot::parse(&body).map_err(|message| FeedError::Invalid {
            version: None,
            message,
        })?;
        let problems = snapshot.problems();
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().take(20).map(|p| p.to_string()).collect();
            return Err(FeedError::Invalid {
                version: Some(snapshot.version),
                message: format!(
                    "version {} has {} problem(s): {}",
                    snapshot.version,
                    problems.len(),
                    list.join("; ")
                ),
            });
        }
        Ok(Some(snapshot))
    }

    /// Follows the control plane for ever: applies each new valid snapshot, keeps the last good
    /// one through outages and refusals, retrying with back-off.
    pub async fn follow(self, gw: Arc<Gateway>, client: Upstream, apply: impl Fn(Snapshot)) {
        let mut backoff = Duration::from_millis(250);
        let mut outage = false;
        // The version of a refused snapshot: wait for a newer one instead of re-fetching it.
        let mut refused: Option<u64> = None;
        loop {
            let have = refused.or_else(|| gw.table().map(|t| t.router.version()));
            match self.fetch(&client, have, self.wait).await {
                Ok(Some(snapshot)) => {
                    if outage {
                        tracing::info!("control plane reachable again");
                    }
                    outage = false;
                    refused = None;
                    backoff = Duration::from_millis(250);
                    // The disk copy first: applying takes the snapshot over.
                    self.save_cache(&snapshot);
                    apply(snapshot);
                }
                Ok(None) => {
                    outage = false;
                    backoff = Duration::from_millis(250);
                }
                Err(FeedError::Invalid { version, message }) => {
                    tracing::warn!(%message, "snapshot refused; keeping the previous one");
                    refused = version;
                    tokio::time::sleep(backoff).await;
                }
                Err(e) => {
                    if !outage {
                        tracing::warn!(error = %e, "control plane feed interrupted; serving the last snapshot");
                    } else {
                        tracing::debug!(error = %e, "control plane still unreachable");
                    }
                    outage = true;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
