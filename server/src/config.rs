//! The server's settings: `[server]`, `[database]`, `[auth]`, `[demo]`, `[log]` and
//! `admin_password` in `gatehouse.toml`, each overridable as `GATEHOUSE_SECTION__KEY`.

use std::net::SocketAddr;
use std::path::PathBuf;

use gateway::config::LogSettings;
use gateway::settings::{self, SettingsError, Sources};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub database: DatabaseSection,
    #[serde(default)]
    pub auth: AuthSection,
    #[serde(default)]
    pub demo: DemoSection,
    #[serde(default)]
    pub publisher: PublisherSection,
    #[serde(default)]
    pub keymanager: KeyManagerSection,
    #[serde(default)]
    pub ai: AiSection,
    #[serde(default)]
    pub log: LogSettings,
    /// OpenTelemetry traces (the `OTEL_…` variables override it); shared with the gateway.
    #[serde(default)]
    pub otel: gateway::otel::OtelSection,
    /// Analytics: the gateways' events, kept per minute `retention_days`; shared with the
    /// gateway.
    #[serde(default)]
    pub analytics: gateway::analytics::AnalyticsSection,
    /// First start only: the password of the `admin` user (`GATEHOUSE_ADMIN_PASSWORD`).
    /// Unset means a random one, printed once.
    #[serde(default)]
    pub admin_password: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    pub addr: SocketAddr,
    /// The URL users reach the server at; decides `Secure` cookies and the token issuer.
    pub public_url: Option<String>,
    /// Where `cargo leptos build` put the site (WASM, CSS, assets).
    pub site_root: PathBuf,
    pub shutdown_grace_seconds: u64,
    /// The credential gateways present to fetch their snapshots (their `gateway.token`).
    /// Unset: only tokens with `apim:environment_read` may fetch snapshots.
    pub gateway_token: Option<SecretString>,
    /// Where clients reach the gateways of the `Default` environment (WSO2's
    /// `apim.gateway.environment.http_endpoint`): the Developer Portal shows it and the try-out
    /// console calls it. Unset: `http://localhost:8280`.
    pub default_gateway_url: Option<String>,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: None,
            site_root: PathBuf::from("target/site"),
            shutdown_grace_seconds: 10,
            gateway_token: None,
            default_gateway_url: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    pub url: SecretString,
    pub max_connections: u32,
    /// Apply pending migrations at start-up.
    pub migrate: bool,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self {
            url: SecretString::from("postgres://postgres@127.0.0.1:5432/gatehouse"),
            max_connections: 10,
            migrate: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    pub session_ttl_minutes: i64,
    pub token_ttl_seconds: i64,
    /// Lifetime of refresh tokens (password grant).
    pub refresh_ttl_seconds: i64,
    /// Key for hashing client secrets (≥ 32 characters). Unset: generated once, kept in the
    /// database.
    pub hash_key: Option<SecretString>,
    pub self_signup: bool,
    /// Name of the organization users belong to when none is given.
    pub default_organization: String,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            session_ttl_minutes: 12 * 60,
            token_ttl_seconds: 3600,
            refresh_ttl_seconds: 24 * 3600,
            hash_key: None,
            self_signup: true,
            default_organization: "carbon.super".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoSection {
    /// Create demo users (`publisher`, `subscriber`, one per admin role) on start.
    pub seed: bool,
    /// Their password.
    pub password: Option<SecretString>,
    /// With `seed`: also the PizzaShack demo API (deployed and published) and its backend.
    pub apis: bool,
}

impl Default for DemoSection {
    fn default() -> Self {
        Self {
            seed: false,
            password: None,
            apis: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublisherSection {
    /// Revisions kept per API or product (WSO2's default: 5).
    pub max_revisions: u32,
    /// Largest API definition accepted (upload, paste or URL), in bytes.
    pub max_definition_bytes: usize,
    /// Time allowed to fetch a definition from a URL.
    pub fetch_timeout_seconds: u64,
}

impl Default for PublisherSection {
    fn default() -> Self {
        Self {
            max_revisions: 5,
            max_definition_bytes: 64 * 1024 * 1024,
            fetch_timeout_seconds: 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyManagerSection {
    /// `ephemeral` (default): access tokens are never stored, only revocations are;
    /// `persistent`: every token is stored (its hash) so it can be listed.
    pub token_mode: TokenMode,
    /// Validity of application access tokens unless the application sets its own.
    pub default_validity_seconds: i64,
    /// Longest validity an application may set; also how long a retired signing key stays
    /// published.
    pub max_validity_seconds: i64,
    /// Algorithm of the resident key manager's tokens: `RS256` or `ES256`.
    pub signing_algorithm: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenMode {
    Ephemeral,
    Persistent,
}

impl Default for KeyManagerSection {
    fn default() -> Self {
        Self {
            token_mode: TokenMode::Ephemeral,
            default_validity_seconds: 3600,
            max_validity_seconds: 86_400,
            signing_algorithm: "RS256".into(),
        }
    }
}

/// The AI features (marketplace assistant, API chat). Local by default: embeddings with the
/// embedded all-MiniLM-L6-v2, answers and plans without an LLM; any OpenAI-compatible
/// endpoint for either when set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiSection {
    /// Off: the portals do not offer the AI features and their endpoints answer 404.
    pub enabled: bool,
    /// Where `scripts/setup-models.sh` puts the models (`all-MiniLM-L6-v2/`). Default:
    /// `~/.cache/gatehouse/models`.
    pub models_dir: Option<PathBuf>,
    /// An OpenAI-compatible chat endpoint (`http://127.0.0.1:8081/v1`, `make llm`). Unset: no
    /// LLM (templated answers, the embedded planner).
    pub llm_url: Option<String>,
    pub llm_model: String,
    pub llm_api_key: Option<SecretString>,
    /// An OpenAI-compatible embeddings endpoint. Unset: all-MiniLM-L6-v2 in process.
    pub embeddings_url: Option<String>,
    pub embeddings_model: String,
    pub embeddings_api_key: Option<SecretString>,
    /// Longest wait for a model's answer.
    pub timeout_seconds: u64,
    /// Calls a user may make to the AI endpoints per minute.
    pub requests_per_minute: u32,
    /// The marketplace assistant names no API whose best similarity (cosine, 0–1) is below this:
    /// it says nothing fits instead. Depends on the embedding model; the default suits
    /// all-MiniLM-L6-v2.
    pub min_score: f32,
}

impl Default for AiSection {
    fn default() -> Self {
        Self {
            enabled: true,
            models_dir: None,
            llm_url: None,
            llm_model: String::new(),
            llm_api_key: None,
            embeddings_url: None,
            embeddings_model: String::new(),
            embeddings_api_key: None,
            timeout_seconds: 60,
            requests_per_minute: 30,
            min_score: 0.25,
        }
    }
}

impl AiSection {
    pub fn models_dir(&self) -> PathBuf {
        self.models_dir.clone().unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".cache/gatehouse/models")
        })
    }
}

fn invalid(key: &str, message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        key: key.into(),
        origin: "settings".into(),
        message: message.into(),
    }
}

impl Settings {
    pub fn load(sources: &Sources) -> Result<Self, SettingsError> {
        let s: Settings = settings::load(sources, &["gateway"])?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        if let Some(url) = &self.server.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(invalid(
                "server.public_url",
                format!("`{url}` is not an http(s) URL"),
            ));
        }
        if let Some(url) = &self.server.default_gateway_url
            && crate::bootstrap::gateway_vhost(url).is_none()
        {
            return Err(invalid(
                "server.default_gateway_url",
                format!("`{url}` is not an http(s)://host[:port] URL"),
            ));
        }
        let db = self.database.url.expose_secret();
        if !(db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            // Never echo the URL: it may hold a password.
            return Err(invalid("database.url", "must be a postgres:// URL"));
        }
        if let Some((key, message)) = self.analytics.problem() {
            return Err(invalid(key, message));
        }
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        if self.auth.session_ttl_minutes <= 0 {
            return Err(invalid("auth.session_ttl_minutes", "must be positive"));
        }
        if self.auth.token_ttl_seconds <= 0 {
            return Err(invalid("auth.token_ttl_seconds", "must be positive"));
        }
        if self.auth.refresh_ttl_seconds <= 0 {
            return Err(invalid("auth.refresh_ttl_seconds", "must be positive"));
        }
        let km = &self.keymanager;
        if km.default_validity_seconds <= 0 {
            return Err(invalid(
                "keymanager.default_validity_seconds",
                "must be positive",
            ));
        }
        if km.max_validity_seconds < km.default_validity_seconds {
            return Err(invalid(
                "keymanager.max_validity_seconds",
                "must be at least keymanager.default_validity_seconds",
            ));
        }
        if !["RS256", "ES256"].contains(&km.signing_algorithm.as_str()) {
            return Err(invalid(
                "keymanager.signing_algorithm",
                format!("`{}`: use RS256 or ES256", km.signing_algorithm),
            ));
        }
        for (key, url) in [
            ("ai.llm_url", &self.ai.llm_url),
            ("ai.embeddings_url", &self.ai.embeddings_url),
        ] {
            if let Some(url) = url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(invalid(key, format!("`{url}` is not an http(s) URL")));
            }
        }
        if self.ai.embeddings_url.is_some() && self.ai.embeddings_model.trim().is_empty() {
            return Err(invalid(
                "ai.embeddings_model",
                "is required with ai.embeddings_url",
            ));
        }
        if self.ai.timeout_seconds == 0 {
            return Err(invalid("ai.timeout_seconds", "must be positive"));
        }
        if !(0.0..=1.0).contains(&self.ai.min_score) {
            return Err(invalid("ai.min_score", "between 0 and 1"));
        }
        if self.ai.requests_per_minute == 0 {
            return Err(invalid("ai.requests_per_minute", "must be at least 1"));
        }
        if let Some(k) = &self.auth.hash_key
            && k.expose_secret().len() < 32
        {
            return Err(invalid("auth.hash_key", "must be at least 32 characters"));
        }
        if let Some(p) = &self.admin_password
            && p.expose_secret().chars().count() < 5
        {
            return Err(invalid("admin_password", "must be at least 5 characters"));
        }
        if let Some(t) = &self.server.gateway_token
            && t.expose_secret().len() < 16
        {
            return Err(invalid(
                "server.gateway_token",
                "must be at least 16 characters",
            ));
        }
        if self.publisher.max_revisions == 0 {
            return Err(invalid("publisher.max_revisions", "must be at least 1"));
        }
        if self.publisher.max_definition_bytes < 1024 {
            return Err(invalid(
                "publisher.max_definition_bytes",
                "must be at least 1024",
            ));
        }
        if self.auth.default_organization.trim().is_empty() {
            return Err(invalid("auth.default_organization", "must not be empty"));
        }
        Ok(())
    }

    /// The base URL the server is reached at.
    pub fn public_url(&self) -> String {
        self.server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.server.addr))
            .trim_end_matches('/')
            .to_string()
    }

    /// Cookies get `Secure` when users reach us over TLS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url().starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::load(&Sources {
            file: None,
            env: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }

    #[test]
    fn defaults_are_valid() {
        let s = load(&[]).unwrap();
        assert_eq!(s.server.addr.port(), 3000);
        assert_eq!(s.public_url(), "http://127.0.0.1:3000");
        assert!(!s.secure_cookies());
    }

    #[test]
    fn bad_values_name_the_key() {
        for (var, value, key) in [
            ("GATEHOUSE_SERVER__ADDR", "nowhere", "server.addr"),
            ("GATEHOUSE_DATABASE__URL", "mysql://x", "database.url"),
            ("GATEHOUSE_AUTH__HASH_KEY", "short", "auth.hash_key"),
            (
                "GATEHOUSE_AUTH__TOKEN_TTL_SECONDS",
                "-1",
                "auth.token_ttl_seconds",
            ),
            (
                "GATEHOUSE_SERVER__PUBLIC_URL",
                "ftp://x",
                "server.public_url",
            ),
        ] {
            let err = load(&[(var, value)]).unwrap_err().to_string();
            assert!(err.contains(key), "{var}: {err}");
        }
        let err = load(&[("GATEHOUSE_DATABASE__URL", "mysql://user:hunter2@x")])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let s = load(&[("GATEHOUSE_SERVER__PUBLIC_URL", "https://api.example.com/")]).unwrap();
        assert!(s.secure_cookies());
        assert_eq!(s.public_url(), "https://api.example.com");
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    #[test]
    fn the_example_settings_file_loads() {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../gatehouse.example.toml");
        let s = Settings::load(&Sources {
            file: Some(file),
            env: vec![],
        })
        .unwrap();
        assert_eq!(s.publisher.max_revisions, 5);
        assert!(s.demo.apis);
    }
}
