//! Applications, their keys and subscriptions: the types of the DevPortal v3 REST API
//! (`/applications`, `/subscriptions`, `/key-managers`, WSO2's field names), shared with the
//! portal pages.

use serde::{Deserialize, Serialize};

pub const PRODUCTION: &str = "PRODUCTION";
pub const SANDBOX: &str = "SANDBOX";
pub const KEY_TYPES: &[&str] = &[PRODUCTION, SANDBOX];

/// Grant types an application's OAuth client may use at the resident key manager.
pub const GRANT_TYPES: &[&str] = &["client_credentials", "password", "refresh_token"];

/// Subscription states (WSO2's `Subscription.status`).
pub mod status {
    pub const UNBLOCKED: &str = "UNBLOCKED";
    pub const BLOCKED: &str = "BLOCKED";
    pub const PROD_ONLY_BLOCKED: &str = "PROD_ONLY_BLOCKED";
    pub const ON_HOLD: &str = "ON_HOLD";
    pub const REJECTED: &str = "REJECTED";
    pub const TIER_UPDATE_PENDING: &str = "TIER_UPDATE_PENDING";
    pub const ALL: &[&str] = &[
        UNBLOCKED,
        BLOCKED,
        PROD_ONLY_BLOCKED,
        ON_HOLD,
        REJECTED,
        TIER_UPDATE_PENDING,
    ];
}

/// An application's custom attributes as the portal edits them: one `key=value` per line.
pub fn attributes_text(attributes: &serde_json::Map<String, serde_json::Value>) -> String {
    attributes
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses `key=value` lines (blank lines skipped); the error names the line.
pub fn parse_attributes(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut map = serde_json::Map::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: write key=value", i + 1))?;
        let k = k.trim();
        if k.is_empty() {
            return Err(format!("line {}: the name is empty", i + 1));
        }
        if map.insert(k.to_string(), v.trim().into()).is_some() {
            return Err(format!("line {}: `{k}` appears twice", i + 1));
        }
    }
    Ok(map)
}

/// How the portal names an application's state, and its colour (`ok`, `wait`, `bad`).
pub fn application_state(status: &str) -> (&'static str, &'static str) {
    match status {
        "APPROVED" => ("Active", "ok"),
        "CREATED" => ("Waiting for approval", "wait"),
        "REJECTED" => ("Rejected", "bad"),
        _ => ("Unknown", "bad"),
    }
}

/// How the portal names a subscription's state, and its colour (`ok`, `wait`, `bad`).
pub fn subscription_state(status: &str) -> (&'static str, &'static str) {
    match status {
        status::UNBLOCKED => ("Active", "ok"),
        status::ON_HOLD => ("On hold: waiting for approval", "wait"),
        status::TIER_UPDATE_PENDING => ("Tier change waiting for approval", "wait"),
        status::BLOCKED => ("Blocked", "bad"),
        status::PROD_ONLY_BLOCKED => ("Blocked for production keys", "bad"),
        status::REJECTED => ("Rejected", "bad"),
        _ => ("Unknown", "bad"),
    }
}

/// Tailwind classes of a state badge by colour.
pub fn badge_class(tone: &str) -> &'static str {
    match tone {
        "ok" => {
            "rounded bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-emerald-200"
        }
        "wait" => {
            "rounded bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-amber-200"
        }
        _ => {
            "rounded bg-rose-50 px-2 py-0.5 text-xs font-medium text-rose-700 ring-1 ring-rose-200"
        }
    }
}

/// WSO2's `Application` (create / update body and answer).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Application {
    pub application_id: Option<String>,
    pub name: String,
    pub throttling_policy: String,
    pub description: Option<String>,
    /// Always `JWT`.
    pub token_type: String,
    /// APPROVED, CREATED (waiting for approval) or REJECTED.
    pub status: String,
    pub groups: Vec<String>,
    pub subscription_count: i64,
    pub keys: Vec<ApplicationKey>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub subscription_scopes: Vec<serde_json::Value>,
    pub owner: String,
    pub hash_enabled: bool,
    pub created_time: Option<String>,
    pub updated_time: Option<String>,
}

/// An OAuth client of an application at one key manager (WSO2's `ApplicationKey`). The secret is
/// present only in the answer that created or regenerated it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationKey {
    pub key_mapping_id: String,
    pub key_manager: String,
    pub consumer_key: String,
    pub consumer_secret: Option<String>,
    pub supported_grant_types: Vec<String>,
    pub callback_url: Option<String>,
    /// `COMPLETED`.
    pub key_state: String,
    pub key_type: String,
    /// `CREATED` or `MAPPED`.
    pub mode: String,
    pub token: Option<ApplicationToken>,
    pub additional_properties: serde_json::Map<String, serde_json::Value>,
}

/// WSO2's `ApplicationKeyGenerateRequest`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyGenerateRequest {
    pub key_type: String,
    /// Name (or id) of the key manager; the resident one when empty.
    pub key_manager: Option<String>,
    pub grant_types_to_be_supported: Vec<String>,
    pub callback_url: Option<String>,
    pub scopes: Vec<String>,
    /// Token validity in seconds (a string in WSO2's contract).
    pub validity_time: Option<String>,
    pub additional_properties: serde_json::Map<String, serde_json::Value>,
}

/// WSO2's `ApplicationKeyMappingRequest`: an existing client of a third-party provider.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyMappingRequest {
    pub consumer_key: String,
    pub consumer_secret: Option<String>,
    pub key_manager: Option<String>,
    pub key_type: String,
}

/// WSO2's `ApplicationTokenGenerateRequest`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenGenerateRequest {
    pub consumer_secret: Option<String>,
    /// Seconds; the application's validity when absent or larger.
    pub validity_period: Option<i64>,
    pub scopes: Vec<String>,
    pub revoke_token: Option<String>,
    pub grant_type: Option<String>,
}

/// WSO2's `ApplicationToken`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationToken {
    pub access_token: String,
    pub token_scopes: Vec<String>,
    pub validity_time: i64,
}

/// WSO2's `APIKeyGenerateRequest`; `additionalProperties` may carry `permittedIP` and
/// `permittedReferer` (comma-separated), as WSO2's portal sends them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiKeyGenerateRequest {
    /// Seconds; `-1` or absent: no expiry.
    pub validity_period: Option<i64>,
    pub additional_properties: serde_json::Map<String, serde_json::Value>,
}

/// WSO2's `APIKey`: the key itself, shown once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiKey {
    pub apikey: String,
    /// Seconds; `-1`: no expiry.
    pub validity_time: i64,
    /// Our addition: the id to revoke by, and the first characters to recognise it.
    pub key_id: String,
    pub key_prefix: String,
}

/// An API key as listed (never the key).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiKeyInfo {
    pub key_id: String,
    pub key_type: String,
    pub key_prefix: String,
    pub permitted_ips: Vec<String>,
    pub permitted_referrers: Vec<String>,
    pub expires_time: Option<String>,
    pub created_time: String,
}

/// WSO2's `APIKeyRevokeRequest`; we also accept `keyId`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiKeyRevokeRequest {
    pub apikey: Option<String>,
    pub key_id: Option<String>,
}

/// WSO2's `Subscription`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Subscription {
    pub subscription_id: Option<String>,
    pub application_id: String,
    pub api_id: String,
    pub api_info: Option<SubscribedApi>,
    pub application_info: Option<serde_json::Value>,
    pub throttling_policy: String,
    pub requested_throttling_policy: Option<String>,
    pub status: String,
}

/// The API side of a subscription, as shown in lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscribedApi {
    pub id: String,
    pub name: String,
    pub version: String,
    pub context: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub provider: String,
    pub life_cycle_status: String,
}

/// WSO2's `KeyManagerInfo`: what the Developer Portal shows of a key manager.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyManagerInfo {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub display_name: String,
    pub description: String,
    pub enabled: bool,
    pub available_grant_types: Vec<String>,
    pub token_endpoint: String,
    pub revoke_endpoint: String,
    pub enable_token_generation: bool,
    pub enable_o_auth_app_creation: bool,
    pub enable_map_o_auth_consumer_apps: bool,
    pub token_type: String,
    /// Ours: visible in every organization.
    pub global: bool,
}

/// Key manager types the Admin API accepts: the resident one and third-party providers.
pub mod km_types {
    pub const RESIDENT: &str = "Default";
    pub const OIDC: &str = "OIDC";
    pub const AZURE_AD: &str = "AzureAD";
    pub const KEYCLOAK: &str = "KeyCloak";
    pub const OKTA: &str = "Okta";
    pub const AUTH0: &str = "Auth0";
    pub const WSO2_IS: &str = "WSO2-IS";
    /// Types an admin may add.
    pub const ADDABLE: &[&str] = &[OIDC, AZURE_AD, KEYCLOAK, OKTA, AUTH0, WSO2_IS];
}

/// WSO2 Admin v4 `KeyManager` (the implemented part) plus `global` and `audiences`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyManagerDto {
    pub id: Option<String>,
    pub name: String,
    pub display_name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub well_known_endpoint: Option<String>,
    pub introspection_endpoint: Option<String>,
    pub client_registration_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub revoke_endpoint: Option<String>,
    pub user_info_endpoint: Option<String>,
    pub authorize_endpoint: Option<String>,
    /// `{"type": "JWKS", "value": "<jwks URL>"}`.
    pub certificates: Option<Certificates>,
    pub issuer: String,
    pub alias: Option<String>,
    pub available_grant_types: Vec<String>,
    pub enable_token_generation: bool,
    pub enable_map_o_auth_consumer_apps: bool,
    pub enable_o_auth_app_creation: bool,
    pub enable_self_validation_jwt: bool,
    pub consumer_key_claim: Option<String>,
    pub scopes_claim: Option<String>,
    pub enabled: bool,
    /// Preset inputs: `tenantId` (Azure AD), `serverUrl` + `realm` (Keycloak), `domain` (Okta,
    /// Auth0), `authorizationServerId` (Okta, default `default`).
    pub additional_properties: serde_json::Map<String, serde_json::Value>,
    pub permissions: Permissions,
    /// `DIRECT`: tokens are used as they come.
    pub token_type: String,
    /// Ours: a token's `aud` must name one of these (empty: not checked).
    pub audiences: Vec<String>,
    /// Ours: visible in every organization (super admin only).
    pub global: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Certificates {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// Who may use a key manager in the Developer Portal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Permissions {
    /// `PUBLIC`, `ALLOW` (only these roles) or `DENY` (all but these roles).
    pub permission_type: String,
    pub roles: Vec<String>,
}

impl Default for Permissions {
    fn default() -> Self {
        Self {
            permission_type: "PUBLIC".into(),
            roles: vec![],
        }
    }
}

/// What the Developer Portal's pages ask of the applications service (one server function).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplicationsCall {
    List,
    Get {
        id: String,
    },
    Create {
        application: Application,
    },
    Update {
        id: String,
        application: Application,
    },
    Delete {
        id: String,
    },
    GenerateKeys {
        id: String,
        request: KeyGenerateRequest,
    },
    MapKeys {
        id: String,
        request: KeyMappingRequest,
    },
    RegenerateSecret {
        id: String,
        key_mapping_id: String,
    },
    CleanUp {
        id: String,
        key_mapping_id: String,
    },
    GenerateToken {
        id: String,
        key_mapping_id: String,
        scopes: Vec<String>,
    },
    ApiKeys {
        id: String,
    },
    GenerateApiKey {
        id: String,
        key_type: String,
        validity_seconds: Option<i64>,
    },
    RevokeApiKey {
        id: String,
        key_type: String,
        key_id: String,
    },
    /// Of one application, or of the user's applications to one API.
    Subscriptions {
        application_id: Option<String>,
        api_id: Option<String>,
        offset: i64,
        limit: i64,
    },
    Subscribe {
        subscription: Subscription,
    },
    Unsubscribe {
        id: String,
    },
    KeyManagers,
    /// The organization's application policies (names, tightest first).
    ApplicationPolicies,
    /// The try-out console: one request through the gateway with a test token.
    TryOut {
        request: TryOutRequest,
    },
}

/// A request the try-out console sends through the gateway for the user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TryOutRequest {
    pub api_id: String,
    /// Whose test token to use (one of the user's applications, subscribed to the API).
    pub application_id: String,
    /// Environment name; the first the API is deployed on when empty.
    pub environment: Option<String>,
    pub method: String,
    /// Below the API's context and version, parameters filled: `/order/42`.
    pub path: String,
    /// Without the `?`.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// What came back, as the console shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TryOutResponse {
    pub url: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body was longer than what is shown.
    pub truncated: bool,
    pub elapsed_ms: u64,
    /// The same request as a curl command (with the test token).
    pub curl: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplicationsReply {
    Applications(Vec<Application>),
    Application(Box<Application>),
    Key(Box<ApplicationKey>),
    Token(ApplicationToken),
    ApiKeys(Vec<ApiKeyInfo>),
    ApiKey(ApiKey),
    Subscriptions(crate::publisher::Page<Subscription>),
    Subscription(Box<Subscription>),
    KeyManagers(Vec<KeyManagerInfo>),
    Policies(Vec<String>),
    TryOut(Box<TryOutResponse>),
    Done,
}

#[cfg(test)]
mod tests {
    use super::{attributes_text, parse_attributes};

    #[test]
    fn attributes_round_trip_and_errors_name_the_line() {
        let m = parse_attributes("team = payments\n\ncost-center=42=x\n").unwrap();
        assert_eq!(m["team"], "payments");
        assert_eq!(m["cost-center"], "42=x");
        assert_eq!(parse_attributes(&attributes_text(&m)).unwrap(), m);
        assert_eq!(
            parse_attributes("ok=1\nno equals").unwrap_err(),
            "line 2: write key=value"
        );
        assert_eq!(
            parse_attributes("=v").unwrap_err(),
            "line 1: the name is empty"
        );
        assert_eq!(
            parse_attributes("a=1\na=2").unwrap_err(),
            "line 2: `a` appears twice"
        );
    }
}
