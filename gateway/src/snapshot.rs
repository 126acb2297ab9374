//! The runtime snapshot: everything a gateway needs to serve one environment, as one versioned
//! document. The control plane produces it; `gateway --config FILE` reads the same format from
//! a file (JSON or YAML). Defined here once and compiled by both binaries.
//!
//! ```yaml
//! version: 3
//! environment: Default
//! apis:
//!   - id: pizzashack-1.0.0
//!     name: PizzaShack
//!     context: /pizzashack
//!     version: 1.0.0
//!     isDefaultVersion: true
//!     endpoints:
//!       production:
//!         type: load_balance        # single | load_balance | failover
//!         urls: [http://127.0.0.1:9000, http://127.0.0.1:9001]
//!         timeoutMs: 30000
//!         suspendSeconds: 30
//!     operations:
//!       - { method: GET, target: /menu }
//!       - { method: GET, target: "/order/{orderId}" }
//!       - { method: POST, target: /order }
//!       - { method: GET, target: "/files/*" }
//!       # An operation may name its own endpoints (API products take operations from
//!       # several APIs, each with its backend); the API's endpoints serve the others.
//!       - method: GET
//!         target: /drinks
//!         endpoints:
//!           production: { urls: [http://127.0.0.1:9100] }
//!     # Without `security` every operation is open. With it, operations need a bearer token
//!     # from a key manager below (or an API key, if `apiKey`) unless marked `open`, and the
//!     # caller's application must be subscribed; `scopes` lists what an operation accepts.
//!     organization: acme
//!     security: { oauth2: true, apiKey: true, apiKeyHeader: X-Pizza-Key }
//!     # Backend protection: at most this many requests reach the production endpoints.
//!     maxTps: { production: { requests: 100, periodSeconds: 1 } }
//!     # An advanced policy (`advancedPolicies`) counting every request to the API, whoever
//!     # sends it; an operation may name its own (`throttlingPolicy`), checked after it.
//!     throttlingPolicy: Partners
//!     # Mediation policies (catalogue in `crate::policy`): the API's run before each
//!     # operation's own (`operations[].policies`), in this order.
//!     policies:
//!       request:
//!         - { policyName: setHeader, parameters: { headerName: X-Channel, headerValue: web } }
//!       response:
//!         - { policyName: removeHeader, parameters: { headerName: Server } }
//! keyManagers:
//!   - name: idp
//!     organization: acme
//!     issuer: https://idp.example.com
//!     jwksUrl: https://idp.example.com/jwks     # or `jwks: {keys: [...]}` inline
//!     audiences: [gatehouse]                    # checked when given
//!     consumerKeyClaim: azp                     # Azure AD: appid; scopes in `scp`
//!     scopesClaim: scope
//! applications:
//!   - id: app-1
//!     name: Mobile app
//!     organization: acme
//!     owner: alice
//!     keys: [{ keyManager: idp, consumerKey: client-1, keyType: PRODUCTION }]
//! subscriptions:
//!   - { applicationId: app-1, apiId: pizzashack-1.0.0, tier: Gold }
//! apiKeys:
//!   # SHA-256 (hex) of the key; optional expiresAt (unix seconds), permittedIps, permittedReferrers
//!   - { sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8, applicationId: app-1 }
//! revokedTokens: []      # [{ jti, exp }]
//! throttlingPolicies:
//!   # 1000 a minute per application and API, at most 50 a second
//!   - { organization: acme, level: subscription, name: Gold, requests: 1000, periodSeconds: 60,
//!       burst: { requests: 50, periodSeconds: 1 } }
//!   - { organization: acme, level: application, name: 10PerMin, requests: 10, periodSeconds: 60 }
//!   # 5 MB of request and response bodies a minute per application and end user
//!   - { organization: acme, level: application, name: Uploads, bytes: 5242880, periodSeconds: 60 }
//! denyPolicies:
//!   - { organization: acme, type: IPRANGE, value: 10.0.0.1-10.0.0.255 }
//!   - { organization: acme, type: API, value: /pizzashack/1.0.0 }
//! advancedPolicies:
//!   # 10,000 requests a minute; requests with `X-Partner: gold` count against their own
//!   # 50,000, requests from outside 10.0.0.0/24 against 10 MB a minute of bodies.
//!   - organization: acme
//!     name: Partners
//!     defaultLimit: { requests: 10000, periodSeconds: 60 }
//!     conditionalGroups:
//!       - conditions: [{ type: header, name: X-Partner, pattern: "^gold$" }]
//!         limit: { requests: 50000, periodSeconds: 60 }
//!       - conditions: [{ type: ipRange, from: 10.0.0.0, to: 10.0.0.255, invert: true }]
//!         limit: { bytes: 10485760, periodSeconds: 60 }
//! gatewayPolicies:
//!   # Deployed to this environment: run before the own policies of every API of acme.
//!   - id: 5f0c7d1e-stamp
//!     name: Stamp
//!     organization: acme
//!     policies:
//!       request:
//!         - { policyName: addHeader, parameters: { headerName: X-Gateway, headerValue: eu-1 } }
//!       fault:
//!         - { policyName: jsonFault, parameters: { body: '{"error": "{code}", "detail": "{description}"}' } }
//! # backendJwtKey: { kid: k1, pkcs8: <base64 RSA PKCS#8> }  — needed when an API sets backendJwt
//! ```

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Snapshot {
    /// Increases with every change the control plane makes to the environment.
    pub version: u64,
    #[serde(default = "default_environment")]
    pub environment: String,
    #[serde(default)]
    pub apis: Vec<Api>,
    /// Issuers whose tokens the gateway accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_managers: Vec<KeyManager>,
    /// Applications subscribed to an API deployed here, with their OAuth clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<Application>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<Subscription>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_keys: Vec<ApiKey>,
    /// Revoked access tokens that have not expired yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked_tokens: Vec<RevokedToken>,
    /// Rate-limiting policies of the organizations served here (unlimited ones are absent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttling_policies: Vec<ThrottlingPolicy>,
    /// Enabled deny policies of the organizations served here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny_policies: Vec<DenyPolicy>,
    /// Advanced (API and resource level) policies of the organizations served here, by name;
    /// unlimited ones are absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advanced_policies: Vec<AdvancedPolicy>,
    /// The key the gateway signs backend JWTs with (shared by the environment's gateways, so a
    /// backend trusts them all); a gateway without one generates its own at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_jwt_key: Option<SigningKey>,
    /// Gateway policy sets deployed to this environment, in order: each runs before the own
    /// policies of every API of its organization (WSO2's gateway policy mappings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateway_policies: Vec<GatewayPolicySet>,
}

/// A gateway policy set as deployed to an environment: it runs for the organization's APIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayPolicySet {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub organization: String,
    pub policies: crate::policy::Policies,
}

/// A request refused at once (WSO2's blocking condition): `type` API (`value` the context,
/// with or without the version), APPLICATION (`owner:name`), USER (the end user), IP (an
/// address) or IPRANGE (`first-last`); `invert` refuses everything *but* the IP or range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DenyPolicy {
    #[serde(default)]
    pub organization: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(default)]
    pub invert: bool,
}

/// A rate limit by name: an application's policy (per application and end user) or a
/// subscription tier (per application and API). Names are looked up in the policy's
/// organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThrottlingPolicy {
    #[serde(default)]
    pub organization: String,
    /// `application` or `subscription`.
    pub level: String,
    pub name: String,
    /// `requests` per `periodSeconds`; or, with `bytes`, that much data (request and response
    /// bodies, by their Content-Length) per `periodSeconds` instead.
    #[serde(default)]
    pub requests: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    pub period_seconds: u64,
    /// Burst control: at most `requests` per `periodSeconds` on top (requests, also for a
    /// data limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<Rate>,
    /// `false`: the quota is counted but not enforced (billed instead); burst control still is.
    #[serde(default = "default_true")]
    pub stop_on_quota_reach: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rate {
    pub requests: u64,
    pub period_seconds: u64,
}

/// An advanced policy (WSO2's API / resource level policy): an API or an operation names it,
/// and every request to that API or operation, whoever sends it, counts. A request matching
/// every condition of a group counts against that group's limit (the first such group), any
/// other against `defaultLimit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdvancedPolicy {
    #[serde(default)]
    pub organization: String,
    pub name: String,
    pub default_limit: Limit,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditional_groups: Vec<ConditionalGroup>,
}

/// `requests` or `bytes` (request and response bodies, by their Content-Length) per
/// `periodSeconds`; exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    pub period_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConditionalGroup {
    /// All of them must hold (none: the group never matches).
    pub conditions: Vec<Condition>,
    pub limit: Limit,
}

/// One condition of a group. `pattern`s are regular expressions found anywhere in the value
/// (WSO2's matching); `invert` matches the requests the condition does not describe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum Condition {
    /// A request header (name case-insensitive).
    #[serde(rename_all = "camelCase")]
    Header {
        name: String,
        pattern: String,
        #[serde(default)]
        invert: bool,
    },
    /// A query parameter, its value percent-decoded.
    #[serde(rename_all = "camelCase")]
    Query {
        name: String,
        pattern: String,
        #[serde(default)]
        invert: bool,
    },
    /// The client's address.
    #[serde(rename_all = "camelCase")]
    Ip {
        address: String,
        #[serde(default)]
        invert: bool,
    },
    /// The client's address between `from` and `to` (inclusive, one family).
    #[serde(rename_all = "camelCase")]
    IpRange {
        from: String,
        to: String,
        #[serde(default)]
        invert: bool,
    },
    /// A claim of the caller's token, or one the gateway knows of the caller
    /// (`http://wso2.org/claims/applicationname`, `…/subscriber`, `…/enduser`, …).
    #[serde(rename_all = "camelCase")]
    Claim {
        name: String,
        pattern: String,
        #[serde(default)]
        invert: bool,
    },
}

fn default_true() -> bool {
    true
}

/// A key manager: who issues tokens, and how to read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyManager {
    pub name: String,
    /// Organization the key manager belongs to; its tokens are accepted only for that
    /// organization's APIs unless `global`.
    #[serde(default)]
    pub organization: String,
    #[serde(default)]
    pub global: bool,
    /// Exact `iss` of its tokens.
    pub issuer: String,
    /// The key set itself (the resident key manager sends it along) …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// … or where to fetch it (refetched when a token names an unknown `kid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// When not empty, a token's `aud` must name one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    /// Claim that carries the OAuth client id (`azp`, `client_id`, Azure AD's `appid`).
    #[serde(default = "default_consumer_key_claim")]
    pub consumer_key_claim: String,
    /// Claim that carries the scopes: a space-separated string or an array (`scope`, `scp`).
    #[serde(default = "default_scopes_claim")]
    pub scopes_claim: String,
}

fn default_consumer_key_claim() -> String {
    "azp".into()
}

fn default_scopes_claim() -> String {
    "scope".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Application {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub organization: String,
    /// Username of the owner (the subscriber).
    #[serde(default)]
    pub owner: String,
    /// Application throttling policy.
    #[serde(default = "default_tier")]
    pub tier: String,
    /// OAuth clients: the application's identity in tokens.
    #[serde(default)]
    pub keys: Vec<ApplicationKey>,
}

fn default_tier() -> String {
    "Unlimited".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationKey {
    /// Name of the key manager in `keyManagers`.
    pub key_manager: String,
    pub consumer_key: String,
    pub key_type: KeyType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum KeyType {
    #[default]
    Production,
    Sandbox,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Production => "PRODUCTION",
            KeyType::Sandbox => "SANDBOX",
        }
    }

    pub fn parse(s: &str) -> Option<KeyType> {
        match s {
            "PRODUCTION" => Some(KeyType::Production),
            "SANDBOX" => Some(KeyType::Sandbox),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subscription {
    pub application_id: String,
    /// `id` of the API or product in `apis`.
    pub api_id: String,
    #[serde(default = "default_tier")]
    pub tier: String,
    /// UNBLOCKED, BLOCKED, PROD_ONLY_BLOCKED, ON_HOLD, REJECTED, TIER_UPDATE_PENDING.
    #[serde(default = "default_subscription_status")]
    pub status: String,
}

fn default_subscription_status() -> String {
    "UNBLOCKED".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKey {
    /// Lower-case hex SHA-256 of the key.
    pub sha256: String,
    pub application_id: String,
    #[serde(default)]
    pub key_type: KeyType,
    /// Unix seconds; none means no expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Client addresses or CIDR ranges allowed to use the key; empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted_ips: Vec<String>,
    /// `Referer` values allowed (`*` wildcards); empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted_referrers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokedToken {
    pub jti: String,
    /// Unix seconds; after it the token is refused as expired anyway.
    pub exp: i64,
}

/// A private key in PKCS#8 DER, base64 (standard alphabet).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningKey {
    pub kid: String,
    pub pkcs8: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("pkcs8", &"[redacted]")
            .finish()
    }
}

fn default_environment() -> String {
    "Default".into()
}

/// One deployed API revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Api {
    pub id: String,
    pub name: String,
    /// Starts with `/`, e.g. `/pizzashack`; may have several segments.
    pub context: String,
    pub version: String,
    /// Also reachable without the version segment.
    #[serde(default)]
    pub is_default_version: bool,
    pub endpoints: Endpoints,
    pub operations: Vec<Operation>,
    /// Organization the API belongs to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organization: String,
    /// How callers authenticate; without it every operation is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
    /// Backend protection: at most `requests` per `periodSeconds` reach the production (or
    /// sandbox) endpoints through this gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tps: Option<MaxTps>,
    /// Mediation policies for every operation, run before the operation's own.
    #[serde(default, skip_serializing_if = "crate::policy::Policies::is_empty")]
    pub policies: crate::policy::Policies,
    /// Advanced policy (in `advancedPolicies`) counting every request to the API; none or a
    /// name not there (Unlimited) limits nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttling_policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaxTps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Rate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Security {
    /// Bearer tokens (JWT) from the key managers.
    #[serde(default = "yes")]
    pub oauth2: bool,
    /// Header that carries the token.
    #[serde(default = "default_authorization_header")]
    pub authorization_header: String,
    /// API keys, in `apiKeyHeader`.
    #[serde(default)]
    pub api_key: bool,
    #[serde(default = "default_api_key_header")]
    pub api_key_header: String,
    /// Also accept the API key as a query parameter of the same name.
    #[serde(default)]
    pub api_key_query: bool,
    /// Send a signed JWT about the caller to the backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_jwt: Option<BackendJwt>,
}

fn yes() -> bool {
    true
}

fn default_authorization_header() -> String {
    "Authorization".into()
}

fn default_api_key_header() -> String {
    "ApiKey".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackendJwt {
    #[serde(default = "default_backend_jwt_header")]
    pub header: String,
    #[serde(default = "default_backend_jwt_ttl")]
    pub ttl_seconds: u64,
}

fn default_backend_jwt_header() -> String {
    "X-JWT-Assertion".into()
}

fn default_backend_jwt_ttl() -> u64 {
    900
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Endpoints {
    pub production: EndpointGroup,
    /// Used for sandbox keys; production is used when absent.
    #[serde(default)]
    pub sandbox: Option<EndpointGroup>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    #[default]
    Single,
    LoadBalance,
    Failover,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointGroup {
    #[serde(default, rename = "type")]
    pub kind: EndpointKind,
    pub urls: Vec<String>,
    /// Time allowed for the backend's response head.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// How long an endpoint that failed stays out of rotation.
    #[serde(default = "default_suspend")]
    pub suspend_seconds: u64,
}

fn default_timeout() -> u64 {
    30_000
}

fn default_suspend() -> u64 {
    30
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Operation {
    /// GET, POST, … or `*` for any method.
    pub method: String,
    /// Path template below the API's context and version: `/order/{orderId}`, `/files/*`.
    pub target: String,
    /// This operation's own backend (API products); the API's endpoints when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Endpoints>,
    /// Reachable without credentials even when the API is secured (WSO2's auth type `None`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open: bool,
    /// Scopes a token must hold (any one of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Mediation policies of this operation, after the API's.
    #[serde(default, skip_serializing_if = "crate::policy::Policies::is_empty")]
    pub policies: crate::policy::Policies,
    /// Advanced policy counting every request to this operation, after the API's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttling_policy: Option<String>,
    /// The request body's JSON Schema from the API definition (`components` beside it for its
    /// `$ref`s), when a `jsonSchemaValidation` policy without its own schema applies here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_schema: Option<serde_json::Value>,
    /// The response example from the API definition, when a `mockResponse` policy without a
    /// body applies here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Example>,
}

/// A response example taken from an OpenAPI document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Example {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// A problem found in a snapshot, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*",
];

impl Snapshot {
    /// Parses JSON or YAML (JSON is tried first: it is also YAML, but faster to read).
    pub fn parse(bytes: &[u8]) -> Result<Snapshot, String> {
        match serde_json::from_slice(bytes) {
            Ok(s) => Ok(s),
            Err(json_err) if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => {
                Err(format!("invalid JSON snapshot: {json_err}"))
            }
            Err(_) => parse_yaml(bytes),
        }
    }

    /// Every problem that would make the snapshot unsafe to serve; empty means valid.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut seen_routes = HashSet::new();
        let mut seen_defaults = HashSet::new();
        for (i, api) in self.apis.iter().enumerate() {
            let at = |field: &str| format!("apis[{i}].{field}");
            let mut bad = |field: &str, message: String| {
                out.push(Problem {
                    at: at(field),
                    message,
                })
            };
            if !api.context.starts_with('/') || api.context.len() < 2 || api.context.ends_with('/')
            {
                bad("context", format!("`{}` must look like /name", api.context));
            }
            if api.context.contains(['{', '}', '*', '?', '#', ' ']) {
                bad(
                    "context",
                    "must not contain templates, spaces, ? or #".into(),
                );
            }
            if api.version.is_empty() || api.version.contains(['/', ' ', '?', '#']) {
                bad("version", format!("`{}` is not a version", api.version));
            }
            if !seen_routes.insert((api.context.clone(), api.version.clone())) {
                bad(
                    "context",
                    format!("{} {} is deployed twice", api.context, api.version),
                );
            }
            if api.is_default_version && !seen_defaults.insert(api.context.clone()) {
                bad(
                    "isDefaultVersion",
                    format!("{} has two default versions", api.context),
                );
            }
            check_endpoints(&mut bad, "endpoints", &api.endpoints);
            for (field, message) in crate::policy::problems(&api.policies) {
                bad(&field, message);
            }
            if api.operations.is_empty() {
                bad("operations", "an API needs at least one operation".into());
            }
            let mut seen_ops = HashSet::new();
            for (j, op) in api.operations.iter().enumerate() {
                let field = format!("operations[{j}]");
                if !METHODS.contains(&op.method.as_str()) {
                    bad(&field, format!("unknown method `{}`", op.method));
                }
                if let Err(e) = check_template(&op.target) {
                    bad(&field, e);
                }
                if !seen_ops.insert((op.method.clone(), normalize(&op.target))) {
                    bad(
                        &field,
                        format!("{} {} is defined twice", op.method, op.target),
                    );
                }
                if let Some(e) = &op.endpoints {
                    check_endpoints(&mut bad, &format!("{field}.endpoints"), e);
                }
                for (f, message) in crate::policy::problems(&op.policies) {
                    bad(&format!("{field}.{f}"), message);
                }
            }
            if api
                .security
                .as_ref()
                .is_some_and(|s| s.backend_jwt.is_some())
                && self.backend_jwt_key.is_none()
            {
                bad(
                    "security.backendJwt",
                    "needs backendJwtKey (an RSA key in PKCS#8) in the snapshot".into(),
                );
            }
        }
        let mut names = HashSet::new();
        for (i, km) in self.key_managers.iter().enumerate() {
            let at = |f: &str| format!("keyManagers[{i}].{f}");
            if !names.insert(km.name.as_str()) {
                out.push(Problem {
                    at: at("name"),
                    message: format!("`{}` appears twice", km.name),
                });
            }
            if km.issuer.trim().is_empty() {
                out.push(Problem {
                    at: at("issuer"),
                    message: "is required".into(),
                });
            }
            if km.jwks.is_none() && km.jwks_url.is_none() {
                out.push(Problem {
                    at: at("jwks"),
                    message: "give jwks or jwksUrl".into(),
                });
            }
        }
        for (i, app) in self.applications.iter().enumerate() {
            for (j, k) in app.keys.iter().enumerate() {
                if !names.contains(k.key_manager.as_str()) {
                    out.push(Problem {
                        at: format!("applications[{i}].keys[{j}].keyManager"),
                        message: format!("no key manager `{}`", k.key_manager),
                    });
                }
            }
        }
        for (i, key) in self.api_keys.iter().enumerate() {
            if key.sha256.len() != 64 || !key.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push(Problem {
                    at: format!("apiKeys[{i}].sha256"),
                    message: "64 hex digits".into(),
                });
            }
            for ip in &key.permitted_ips {
                if parse_cidr(ip).is_none() {
                    out.push(Problem {
                        at: format!("apiKeys[{i}].permittedIps"),
                        message: format!("`{ip}` is not an address or CIDR range"),
                    });
                }
            }
        }
        for (i, set) in self.gateway_policies.iter().enumerate() {
            for (field, message) in crate::policy::problems(&set.policies) {
                out.push(Problem {
                    at: format!("gatewayPolicies[{i}].{field}"),
                    message,
                });
            }
        }
        for (i, d) in self.deny_policies.iter().enumerate() {
            let ok = match d.kind.as_str() {
                "API" => d.value.starts_with('/'),
                "APPLICATION" => d.value.contains(':'),
                "USER" => !d.value.is_empty(),
                "IP" => d.value.parse::<std::net::IpAddr>().is_ok(),
                "IPRANGE" => d.value.split_once('-').is_some_and(|(a, b)| {
                    a.trim().parse::<std::net::IpAddr>().is_ok()
                        && b.trim().parse::<std::net::IpAddr>().is_ok()
                }),
                _ => false,
            };
            if !ok {
                out.push(Problem {
                    at: format!("denyPolicies[{i}]"),
                    message: format!("`{}` is not a valid {} condition", d.value, d.kind),
                });
            }
        }
        let mut advanced = HashSet::new();
        for (i, p) in self.advanced_policies.iter().enumerate() {
            if !advanced.insert((&p.organization, &p.name)) {
                out.push(Problem {
                    at: format!("advancedPolicies[{i}].name"),
                    message: format!("`{}` appears twice", p.name),
                });
            }
            for (field, message) in advanced_problems(p) {
                out.push(Problem {
                    at: format!("advancedPolicies[{i}].{field}"),
                    message,
                });
            }
        }
        let mut policies = HashSet::new();
        for (i, p) in self.throttling_policies.iter().enumerate() {
            let mut bad = |field: &str, message: String| {
                out.push(Problem {
                    at: format!("throttlingPolicies[{i}].{field}"),
                    message,
                })
            };
            if p.level != "application" && p.level != "subscription" {
                bad("level", "application or subscription".into());
            }
            if !policies.insert((&p.organization, &p.level, &p.name)) {
                bad("name", format!("`{}` appears twice", p.name));
            }
            match p.bytes {
                Some(0) => bad("bytes", "bytes must be at least 1".into()),
                Some(_) if p.requests != 0 => bad(
                    "requests",
                    "give either requests or bytes (a data limit)".into(),
                ),
                None if p.requests == 0 => bad(
                    "requests",
                    "requests and periodSeconds must be at least 1".into(),
                ),
                _ => {}
            }
            if p.period_seconds == 0 {
                bad(
                    "periodSeconds",
                    "requests and periodSeconds must be at least 1".into(),
                );
            }
            if let Some(b) = &p.burst
                && (b.requests == 0 || b.period_seconds == 0)
            {
                bad(
                    "burst",
                    "requests and periodSeconds must be at least 1".into(),
                );
            }
        }
        out
    }
}

/// What is wrong with an advanced policy: (field, message).
pub fn advanced_problems(p: &AdvancedPolicy) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let limit = |out: &mut Vec<(String, String)>, at: &str, l: &Limit| {
        if l.requests.is_some() == l.bytes.is_some() {
            out.push((at.to_string(), "give either requests or bytes".into()));
        }
        if l.requests == Some(0) || l.bytes == Some(0) || l.period_seconds == 0 {
            out.push((
                at.to_string(),
                "the amount and periodSeconds must be at least 1".into(),
            ));
        }
    };
    limit(&mut out, "defaultLimit", &p.default_limit);
    for (g, group) in p.conditional_groups.iter().enumerate() {
        limit(
            &mut out,
            &format!("conditionalGroups[{g}].limit"),
            &group.limit,
        );
        for (c, condition) in group.conditions.iter().enumerate() {
            let at = format!("conditionalGroups[{g}].conditions[{c}]");
            if let Err(message) = condition_problem(condition) {
                out.push((at, message));
            }
        }
    }
    out
}

/// A condition's pattern or addresses, checked as the gateway compiles them.
pub fn condition_problem(c: &Condition) -> Result<(), String> {
    let ip = |s: &str| {
        s.trim()
            .parse::<std::net::IpAddr>()
            .map_err(|_| format!("`{s}` is not an IP address"))
    };
    match c {
        Condition::Header { name, pattern, .. }
        | Condition::Query { name, pattern, .. }
        | Condition::Claim { name, pattern, .. } => {
            if name.trim().is_empty() {
                return Err("a name is required".into());
            }
            pattern_regex(pattern).map(|_| ())
        }
        Condition::Ip { address, .. } => ip(address).map(|_| ()),
        Condition::IpRange { from, to, .. } => {
            let (a, b) = (ip(from)?, ip(to)?);
            if a.is_ipv4() != b.is_ipv4() || a > b {
                return Err(format!(
                    "{from} – {to}: one family, the first address not above the last"
                ));
            }
            Ok(())
        }
    }
}

/// A condition's pattern as the gateway runs it (bounded in size, so a pattern cannot make
/// a gateway build a huge automaton).
pub fn pattern_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("`{pattern}` is not a regular expression: {e}"))
}

fn check_endpoints(bad: &mut impl FnMut(&str, String), at: &str, endpoints: &Endpoints) {
    let groups = std::iter::once(("production", &endpoints.production))
        .chain(endpoints.sandbox.as_ref().map(|g| ("sandbox", g)));
    for (env, group) in groups {
        let name = format!("{at}.{env}");
        if group.urls.is_empty() {
            bad(&name, "needs at least one URL".into());
        }
        for url in &group.urls {
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.parse::<http_uri::Uri>().is_err()
            {
                bad(&name, format!("`{url}` is not an http(s) URL"));
            }
        }
        if group.timeout_ms == 0 {
            bad(&name, "timeoutMs must be positive".into());
        }
    }
}

/// `10.0.0.0/8`, `192.168.1.7`, `::1`, `2001:db8::/32` → (network address, prefix length).
pub fn parse_cidr(s: &str) -> Option<(std::net::IpAddr, u8)> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l.trim().parse::<u8>().ok().filter(|l| *l <= max)?,
        None => max,
    };
    Some((ip, len))
}

/// Whether `ip` is inside the range `parse_cidr` returned (IPv4 clients seen as IPv4-mapped IPv6
/// addresses match IPv4 ranges).
pub fn cidr_contains(net: (std::net::IpAddr, u8), ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr::{V4, V6};
    let ip = match ip {
        V6(v6) => v6.to_ipv4_mapped().map(V4).unwrap_or(V6(v6)),
        v4 => v4,
    };
    match (net.0, ip) {
        (V4(n), V4(i)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(net.1)).unwrap_or(0);
            u32::from(n) & mask == u32::from(i) & mask
        }
        (V6(n), V6(i)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(net.1)).unwrap_or(0);
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// `/a/{x}/{y}.json` → `/a/{}/{}.json`, so two templates differing only in parameter names
/// compare equal.
fn normalize(target: &str) -> String {
    let mut out = String::with_capacity(target.len());
    let mut in_param = false;
    for c in target.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

fn check_template(target: &str) -> Result<(), String> {
    if !target.starts_with('/') {
        return Err(format!("target `{target}` must start with /"));
    }
    let segs: Vec<&str> = target.split('/').skip(1).collect();
    for (k, seg) in segs.iter().enumerate() {
        let is_last = k + 1 == segs.len();
        if *seg == "*" && !is_last {
            return Err(format!("target `{target}`: * is only allowed at the end"));
        }
        if seg.contains('{') || seg.contains('}') {
            let inner = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            let whole = inner.is_some_and(|n| !n.is_empty() && !n.contains(['{', '}']));
            if !whole && crate::router::SegmentPattern::parse(seg).is_none() {
                return Err(format!(
                    "target `{target}`: a parameter is {{name}}, alone in its segment or \
                     beside text ({{id}}.json, {{from}}-{{to}}), never beside another"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(feature = "yaml")]
fn parse_yaml(bytes: &[u8]) -> Result<Snapshot, String> {
    serde_norway::from_slice(bytes).map_err(|e| format!("invalid YAML snapshot: {e}"))
}

#[cfg(not(feature = "yaml"))]
fn parse_yaml(_: &[u8]) -> Result<Snapshot, String> {
    Err("not a JSON snapshot (YAML needs the `yaml` feature)".into())
}

/// URI parsing without pulling `http` into the wire-types-only build.
mod http_uri {
    pub struct Uri;
    impl std::str::FromStr for Uri {
        type Err = ();
        fn from_str(s: &str) -> Result<Self, ()> {
            let rest = s
                .strip_prefix("http://")
                .or_else(|| s.strip_prefix("https://"))
                .ok_or(())?;
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let valid = !authority.is_empty()
                && !authority.contains(char::is_whitespace)
                && !authority.contains('@');
            if valid { Ok(Uri) } else { Err(()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(context: &str, version: &str) -> Api {
        Api {
            id: format!("{context}-{version}"),
            name: "Pets".into(),
            context: context.into(),
            version: version.into(),
            is_default_version: false,
            endpoints: Endpoints {
                production: EndpointGroup {
                    kind: EndpointKind::Single,
                    urls: vec!["http://127.0.0.1:9000".into()],
                    timeout_ms: 1000,
                    suspend_seconds: 30,
                },
                sandbox: None,
            },
            operations: vec![Operation {
                method: "GET".into(),
                target: "/pets/{id}".into(),
                endpoints: None,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn valid_snapshot_has_no_problems() {
        let s = Snapshot {
            version: 1,
            environment: "Default".into(),
            apis: vec![api("/pets", "1.0.0"), api("/pets", "2.0.0")],
            ..Default::default()
        };
        assert_eq!(s.problems(), vec![]);
    }

    #[test]
    fn problems_name_the_place() {
        let mut a = api("pets", "1.0.0");
        a.operations.push(Operation {
            method: "FETCH".into(),
            target: "/a/*/b".into(),
            endpoints: None,
            ..Default::default()
        });
        a.operations.push(Operation {
            method: "GET".into(),
            target: "/pets/{other}".into(),
            endpoints: None,
            ..Default::default()
        });
        a.endpoints.production.urls = vec!["ftp://x".into()];
        let s = Snapshot {
            version: 1,
            environment: "Default".into(),
            apis: vec![a, api("/dup", "1"), api("/dup", "1")],
            ..Default::default()
        };
        let p: Vec<String> = s.problems().iter().map(|p| p.to_string()).collect();
        let has = |needle: &str| p.iter().any(|x| x.contains(needle));
        assert!(has("apis[0].context: `pets`"), "{p:?}");
        assert!(
            has("apis[0].operations[1]: unknown method `FETCH`"),
            "{p:?}"
        );
        assert!(has("only allowed at the end"), "{p:?}");
        assert!(
            has("apis[0].operations[2]: GET /pets/{other} is defined twice"),
            "{p:?}"
        );
        assert!(has("apis[0].endpoints.production: `ftp://x`"), "{p:?}");
        assert!(has("apis[2].context: /dup 1 is deployed twice"), "{p:?}");
    }

    #[test]
    fn a_throttling_policy_limits_requests_or_bytes() {
        let policy = |requests, bytes| ThrottlingPolicy {
            organization: "acme".into(),
            level: "application".into(),
            name: format!("p{requests}-{bytes:?}"),
            requests,
            bytes,
            period_seconds: 60,
            burst: None,
            stop_on_quota_reach: true,
        };
        let s = Snapshot {
            version: 1,
            environment: "Default".into(),
            throttling_policies: vec![
                policy(10, None),
                policy(0, Some(1024)),
                policy(0, None),
                policy(10, Some(1024)),
                policy(0, Some(0)),
            ],
            ..Default::default()
        };
        let p: Vec<String> = s.problems().iter().map(|p| p.to_string()).collect();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].starts_with("throttlingPolicies[2].requests"), "{p:?}");
        assert!(
            p[1].starts_with("throttlingPolicies[3].requests: give either"),
            "{p:?}"
        );
        assert!(p[2].starts_with("throttlingPolicies[4].bytes"), "{p:?}");
        // The YAML form in this module's documentation reads.
        let yaml = "{ organization: acme, level: application, name: Uploads, bytes: 5242880, periodSeconds: 60 }";
        let read: ThrottlingPolicy = serde_norway::from_str(yaml).unwrap();
        assert_eq!((read.requests, read.bytes), (0, Some(5 << 20)));
    }

    #[test]
    fn parses_json_and_reports_json_errors() {
        let s = Snapshot {
            version: 7,
            environment: "Default".into(),
            apis: vec![api("/pets", "1.0.0")],
            ..Default::default()
        };
        let json = serde_json::to_vec(&s).unwrap();
        assert_eq!(Snapshot::parse(&json).unwrap(), s);
        let err = Snapshot::parse(b"{\"version\": \"x\"}").unwrap_err();
        assert!(err.contains("invalid JSON"), "{err}");
    }

    #[test]
    fn advanced_policies_read_and_problems_name_the_condition() {
        let s: Snapshot = serde_json::from_value(serde_json::json!({
            "version": 1,
            "advancedPolicies": [{
                "organization": "acme", "name": "Partners",
                "defaultLimit": {"requests": 10, "periodSeconds": 60},
                "conditionalGroups": [{
                    "conditions": [
                        {"type": "header", "name": "X-Partner", "pattern": "^gold$"},
                        {"type": "ipRange", "from": "10.0.0.9", "to": "10.0.0.1", "invert": true},
                        {"type": "claim", "name": "sub", "pattern": "(unclosed"}
                    ],
                    "limit": {"requests": 5, "bytes": 7, "periodSeconds": 60}
                }]
            }]
        }))
        .unwrap();
        let p = &s.advanced_policies[0];
        assert_eq!(
            p.conditional_groups[0].conditions[0],
            Condition::Header {
                name: "X-Partner".into(),
                pattern: "^gold$".into(),
                invert: false
            }
        );
        let problems: Vec<String> = s.problems().iter().map(|p| p.at.clone()).collect();
        assert_eq!(
            problems,
            [
                "advancedPolicies[0].conditionalGroups[0].limit",
                "advancedPolicies[0].conditionalGroups[0].conditions[1]",
                "advancedPolicies[0].conditionalGroups[0].conditions[2]",
            ]
        );
        // Unknown condition types and fields are refused when read.
        assert!(
            serde_json::from_value::<Condition>(serde_json::json!({"type": "cookie", "name": "a"}))
                .is_err()
        );
        assert!(
            serde_json::from_value::<Condition>(
                serde_json::json!({"type": "ip", "address": "::1", "extra": 1})
            )
            .is_err()
        );
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn parses_the_documented_yaml() {
        let doc = include_str!("snapshot.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```yaml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.strip_prefix("//! ").unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let s = Snapshot::parse(doc.as_bytes()).unwrap();
        assert_eq!(s.problems(), vec![]);
        assert_eq!(s.version, 3);
        assert_eq!(
            s.key_managers[0].jwks_url.as_deref(),
            Some("https://idp.example.com/jwks")
        );
        assert_eq!(s.applications[0].keys[0].key_type, KeyType::Production);
        assert_eq!(s.subscriptions[0].status, "UNBLOCKED");
        assert!(s.apis[0].security.as_ref().unwrap().api_key);
        assert_eq!(
            s.apis[0].endpoints.production.kind,
            EndpointKind::LoadBalance
        );
        assert_eq!(s.apis[0].operations.len(), 5);
        assert!(s.apis[0].operations[3].endpoints.is_none());
        assert_eq!(
            s.apis[0].operations[4]
                .endpoints
                .as_ref()
                .unwrap()
                .production
                .urls,
            ["http://127.0.0.1:9100"]
        );
        assert_eq!(s.problems(), vec![]);
    }
}
