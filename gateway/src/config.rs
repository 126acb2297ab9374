//! The gateway's own settings (`[gateway]` and `[log]` in `gatehouse.toml`, or
//! `GATEHOUSE_GATEWAY__…` variables).

use std::net::SocketAddr;

use serde::Deserialize;

use crate::settings::{self, SettingsError, Sources};

/// Top-level sections that belong to the server; the gateway skips them.
pub const SERVER_SECTIONS: &[&str] = &[
    "server",
    "database",
    "auth",
    "admin_password",
    "demo",
    "publisher",
    "keymanager",
    "ai",
];

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    #[serde(default)]
    pub gateway: GatewaySection,
    #[serde(default)]
    pub log: LogSettings,
    /// OpenTelemetry traces (the `OTEL_…` variables override it).
    #[serde(default)]
    pub otel: crate::otel::OtelSection,
    /// Analytics events (one per request) sent to the control plane in batches.
    #[serde(default)]
    pub analytics: crate::analytics::AnalyticsSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySection {
    /// Where API traffic is served.
    pub listen: SocketAddr,
    /// Health, readiness and (later) metrics; keep it off the public interface.
    pub admin_listen: SocketAddr,
    /// Control plane base URL; unset means standalone.
    pub control_plane: Option<String>,
    /// Gateway environment this instance serves.
    pub environment: String,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace_seconds: u64,
    /// Threads serving traffic, each with its own listener (SO_REUSEPORT) and backend pool;
    /// 0 means one per CPU.
    pub workers: usize,
    /// PEM file of extra CA certificates trusted for HTTPS backends (besides the system's).
    pub backend_ca_file: Option<std::path::PathBuf>,
    /// The credential the control plane expects from gateways (its `server.gateway_token`).
    pub token: Option<Secret>,
    /// Disk copy of the last good snapshot from the control plane, served when the gateway
    /// starts while the control plane is unreachable. Default:
    /// `~/.cache/gatehouse/gateway-<environment>.json`.
    pub snapshot_cache: Option<std::path::PathBuf>,
    /// How long one long-poll of the control plane waits for a change.
    pub feed_wait_seconds: u64,
    /// Clock skew allowed on tokens' `exp` and `nbf`.
    pub clock_skew_seconds: u64,
    /// Verified tokens remembered (so a repeated token costs no signature check); 0 turns the
    /// cache off.
    pub token_cache_size: usize,
    /// Failed requests kept with their phase trace for `GET /diagnostics` on the admin port
    /// and `gateway diagnose`; 0 keeps none.
    pub diagnostics_failures: usize,
    /// Redis shared by the gateways of this environment
    /// (`redis://[:password@]host:port[/db]`): backend max TPS and burst control then hold
    /// across all of them. Unset: each gateway counts alone.
    pub redis_url: Option<Secret>,
    /// The crypto provider this deployment expects: `ring` or `aws-lc-rs` (a build with
    /// `--features aws-lc-rs`, or `fips`); unset accepts the binary's own. A binary built with
    /// the other one refuses to start.
    pub crypto_provider: Option<String>,
}

/// A setting that must never be printed.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl GatewaySection {
    /// Where the disk copy of the snapshot lives.
    pub fn cache_path(&self) -> Option<std::path::PathBuf> {
        self.snapshot_cache.clone().or_else(|| {
            std::env::var_os("HOME").map(|h| {
                std::path::PathBuf::from(h)
                    .join(".cache/gatehouse")
                    .join(format!("gateway-{}.json", self.environment))
            })
        })
    }
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8280)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 9091)),
            control_plane: None,
            environment: "Default".into(),
            shutdown_grace_seconds: 10,
            workers: 0,
            backend_ca_file: None,
            token: None,
            snapshot_cache: None,
            feed_wait_seconds: 25,
            clock_skew_seconds: 30,
            token_cache_size: 100_000,
            diagnostics_failures: 100,
            redis_url: None,
            crypto_provider: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `[log]`: the filter itself comes from `RUST_LOG`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
}

impl GatewayConfig {
    pub fn load(sources: &Sources) -> Result<Self, SettingsError> {
        let cfg: Self = settings::load(sources, SERVER_SECTIONS)?;
        if cfg.gateway.environment.trim().is_empty() {
            return Err(SettingsError::Invalid {
                key: "gateway.environment".into(),
                origin: "settings".into(),
                message: "must not be empty".into(),
            });
        }
        if cfg.gateway.feed_wait_seconds == 0 || cfg.gateway.feed_wait_seconds > 300 {
            return Err(SettingsError::Invalid {
                key: "gateway.feed_wait_seconds".into(),
                origin: "settings".into(),
                message: "must be 1 to 300".into(),
            });
        }
        if let Some(url) = &cfg.gateway.control_plane
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(SettingsError::Invalid {
                key: "gateway.control_plane".into(),
                origin: "settings".into(),
                message: format!("`{url}` is not an http(s) URL"),
            });
        }
        if let Some(url) = &cfg.gateway.redis_url
            && !url.expose().starts_with("redis://")
        {
            return Err(SettingsError::Invalid {
                key: "gateway.redis_url".into(),
                origin: "settings".into(),
                message: "must start with redis://".into(),
            });
        }
        if let Some(wanted) = &cfg.gateway.crypto_provider
            && let Err(message) = crate::crypto::check(wanted)
        {
            return Err(SettingsError::Invalid {
                key: "gateway.crypto_provider".into(),
                origin: "settings".into(),
                message,
            });
        }
        if let Some((key, message)) = cfg.analytics.problem() {
            return Err(SettingsError::Invalid {
                key: key.into(),
                origin: "settings".into(),
                message,
            });
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_settings_file_loads() {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../gatehouse.example.toml");
        let cfg = GatewayConfig::load(&Sources {
            file: Some(file),
            env: vec![("GATEHOUSE_PUBLISHER__MAX_REVISIONS".into(), "7".into())],
        })
        .unwrap();
        assert_eq!(cfg.gateway.environment, "Default");
    }

    #[test]
    fn a_crypto_provider_this_binary_lacks_stops_the_start() {
        let other = crate::crypto::PROVIDERS
            .iter()
            .find(|p| **p != crate::crypto::PROVIDER)
            .unwrap();
        let err = GatewayConfig::load(&Sources {
            file: None,
            env: vec![(
                "GATEHOUSE_GATEWAY__CRYPTO_PROVIDER".into(),
                other.to_string(),
            )],
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("gateway.crypto_provider"), "{err}");
        assert!(
            err.contains("--features") || err.contains("without"),
            "{err}"
        );
        let ok = GatewayConfig::load(&Sources {
            file: None,
            env: vec![(
                "GATEHOUSE_GATEWAY__CRYPTO_PROVIDER".into(),
                crate::crypto::PROVIDER.into(),
            )],
        });
        assert!(ok.is_ok());
    }
}
