//! The Publisher's types, shared by the REST API (`/api/am/publisher/v4`, WSO2's field names)
//! and the portal pages, and the lifecycle rules both follow.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The API object of WSO2's Publisher v4 (the part Gatehouse implements). Unknown fields in a
/// request are ignored, as WSO2 clients send many.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub life_cycle_status: Option<String>,
    #[serde(default)]
    pub is_default_version: bool,
    /// `HTTP` for APIs (the only type implemented), `APIPRODUCT` internally for products.
    #[serde(default = "default_type", rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub has_thumbnail: bool,
    #[serde(default)]
    pub is_revision: bool,
    #[serde(default)]
    pub revision_id: Option<i32>,
    #[serde(default)]
    pub created_time: Option<String>,
    #[serde(default)]
    pub last_updated_time: Option<String>,
    #[serde(flatten)]
    pub settings: ApiSettings,
    #[serde(default)]
    pub operations: Vec<Operation>,
}

fn default_type() -> String {
    "HTTP".into()
}

/// What the Publisher edits besides identity and operations; stored as one JSON document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiSettings {
    pub transport: Vec<String>,
    pub tags: Vec<String>,
    pub categories: Vec<String>,
    /// Subscription tiers offered (`Gold`, `Unlimited`, …); enforced by the throttling work.
    pub policies: Vec<String>,
    pub api_throttling_policy: Option<String>,
    pub authorization_header: Option<String>,
    /// Header that carries an API key (WSO2's default `ApiKey`).
    pub api_key_header: String,
    /// `oauth2`, `api_key`, `basic_auth`, `mutualssl`, `oauth_basic_auth_api_key_mandatory`,
    /// `mutualssl_mandatory`.
    pub security_scheme: Vec<String>,
    /// Also accept the API key as a query parameter named like `apiKeyHeader`.
    pub api_key_in_query: bool,
    /// The gateway sends the backend a signed JWT about the caller (in `backendJwtHeader`).
    pub enable_backend_jwt: bool,
    pub backend_jwt_header: String,
    /// `PUBLIC`, `PRIVATE` or `RESTRICTED` (Developer Portal visibility).
    pub visibility: String,
    pub visible_roles: Vec<String>,
    /// `NONE` or `RESTRICTED` (who may see it in the Publisher).
    pub access_control: String,
    pub access_control_roles: Vec<String>,
    pub business_information: BusinessInformation,
    pub monetization: Monetization,
    pub cors_configuration: CorsConfiguration,
    /// WSO2's `endpointConfig`: `endpoint_type` http / load_balance / failover,
    /// `production_endpoints`, `sandbox_endpoints`, `production_failovers`, `sandbox_failovers`.
    pub endpoint_config: Option<Value>,
    pub endpoint_implementation_type: String,
    pub scopes: Vec<ApiScope>,
    pub additional_properties: Vec<AdditionalProperty>,
    pub enable_schema_validation: bool,
    pub response_caching_enabled: bool,
    pub cache_timeout: i64,
    /// Backend protection (WSO2's `maxTps`): at most this many requests reach the backend,
    /// across all callers and gateways' share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tps: Option<MaxTps>,
    /// API products only: the operations taken from each API.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub apis: Vec<ProductApi>,
    /// Mediation policies for every operation, run before each operation's own.
    pub api_policies: OperationPolicies,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            transport: vec!["http".into(), "https".into()],
            tags: vec![],
            categories: vec![],
            policies: vec!["Unlimited".into()],
            api_throttling_policy: None,
            authorization_header: Some("Authorization".into()),
            api_key_header: DEFAULT_API_KEY_HEADER.into(),
            security_scheme: vec!["oauth2".into(), "oauth_basic_auth_api_key_mandatory".into()],
            api_key_in_query: false,
            enable_backend_jwt: false,
            backend_jwt_header: DEFAULT_BACKEND_JWT_HEADER.into(),
            visibility: "PUBLIC".into(),
            visible_roles: vec![],
            access_control: "NONE".into(),
            access_control_roles: vec![],
            business_information: BusinessInformation::default(),
            monetization: Monetization::default(),
            cors_configuration: CorsConfiguration::default(),
            endpoint_config: None,
            endpoint_implementation_type: "ENDPOINT".into(),
            scopes: vec![],
            additional_properties: vec![],
            enable_schema_validation: false,
            response_caching_enabled: false,
            cache_timeout: 300,
            max_tps: None,
            apis: vec![],
            api_policies: OperationPolicies::default(),
        }
    }
}

/// WSO2's `OperationPolicies`: ordered mediation policies per flow (request, response, fault),
/// from the catalogue (`GET /operation-policies`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OperationPolicies {
    pub request: Vec<OperationPolicy>,
    pub response: Vec<OperationPolicy>,
    pub fault: Vec<OperationPolicy>,
}

impl OperationPolicies {
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty() && self.fault.is_empty()
    }
}

/// One attached policy (WSO2's `OperationPolicy`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationPolicy {
    pub policy_name: String,
    #[serde(default = "default_policy_version")]
    pub policy_version: String,
    #[serde(default)]
    pub policy_id: Option<String>,
    #[serde(default)]
    pub parameters: serde_json::Map<String, Value>,
}

fn default_policy_version() -> String {
    "v1".into()
}

/// A built-in mediation policy as the portal's policy editor shows it (the gateway's catalogue;
/// the REST API lists the same in WSO2's `OperationPolicyData` shape).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySpec {
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// `request`, `response`, `fault`: where it may be attached.
    pub flows: Vec<String>,
    pub parameters: Vec<PolicyParam>,
}

/// One parameter of a catalogue policy; `kind` is the gateway's type name (`name`, `text`,
/// `body`, `status`, `count`, `method`, `ipList`, …), kept as text so new types reach the
/// editor without a change here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyParam {
    pub name: String,
    pub kind: String,
    pub required: bool,
    pub description: String,
}

pub const DEFAULT_API_KEY_HEADER: &str = "ApiKey";
pub const DEFAULT_BACKEND_JWT_HEADER: &str = "X-JWT-Assertion";

pub const SECURITY_SCHEMES: &[&str] = &[
    "oauth2",
    "api_key",
    "basic_auth",
    "mutualssl",
    "oauth_basic_auth_api_key_mandatory",
    "mutualssl_mandatory",
];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BusinessInformation {
    pub business_owner: Option<String>,
    pub business_owner_email: Option<String>,
    pub technical_owner: Option<String>,
    pub technical_owner_email: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Monetization {
    pub enabled: bool,
    pub properties: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CorsConfiguration {
    pub cors_configuration_enabled: bool,
    pub access_control_allow_origins: Vec<String>,
    pub access_control_allow_credentials: bool,
    pub access_control_allow_headers: Vec<String>,
    pub access_control_allow_methods: Vec<String>,
}

impl Default for CorsConfiguration {
    fn default() -> Self {
        Self {
            cors_configuration_enabled: false,
            access_control_allow_origins: vec!["*".into()],
            access_control_allow_credentials: false,
            access_control_allow_headers: [
                "authorization",
                "Access-Control-Allow-Origin",
                "Content-Type",
                "SOAPAction",
                "apikey",
                "Internal-Key",
            ]
            .map(String::from)
            .to_vec(),
            access_control_allow_methods: ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]
                .map(String::from)
                .to_vec(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiScope {
    pub scope: Scope,
    #[serde(default)]
    pub shared: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Scope {
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// Roles allowed to obtain the scope.
    pub bindings: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AdditionalProperty {
    pub name: String,
    pub value: String,
    pub display: bool,
}

/// One resource: method + path template, as WSO2's `APIOperations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    #[serde(default)]
    pub id: Option<String>,
    pub target: String,
    pub verb: String,
    /// `Any` (secured: OAuth2 or API key as the API allows) or `None` (open).
    #[serde(default = "default_auth_type")]
    pub auth_type: String,
    #[serde(default = "default_tier")]
    pub throttling_policy: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub used_product_ids: Vec<String>,
    /// Mediation policies of this operation, after the API's.
    #[serde(default, skip_serializing_if = "OperationPolicies::is_empty")]
    pub operation_policies: OperationPolicies,
}

fn default_auth_type() -> String {
    "Any".into()
}

fn default_tier() -> String {
    "Unlimited".into()
}

impl Operation {
    pub fn new(verb: &str, target: &str) -> Self {
        Self {
            id: None,
            target: target.into(),
            verb: verb.to_ascii_uppercase(),
            auth_type: default_auth_type(),
            throttling_policy: default_tier(),
            scopes: vec![],
            used_product_ids: vec![],
            operation_policies: OperationPolicies::default(),
        }
    }

    pub fn secured(&self) -> bool {
        self.auth_type != "None"
    }
}

pub const VERBS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// An API inside an API product, with the operations taken from it (WSO2's `ProductAPI`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductApi {
    #[serde(default)]
    pub name: String,
    pub api_id: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub operations: Vec<Operation>,
}

/// A row of the API list (WSO2's `APIInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiInfo {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub context: String,
    pub version: String,
    pub provider: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub life_cycle_status: String,
    pub is_default_version: bool,
    pub has_thumbnail: bool,
    pub security_scheme: Vec<String>,
    pub created_time: String,
    pub updated_time: String,
    pub operation_count: usize,
    /// Environments a revision of it is deployed to.
    pub deployed_to: Vec<String>,
}

/// A page of results (WSO2's `{count, list, pagination}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub count: usize,
    pub list: Vec<T>,
    pub pagination: Pagination,
}

impl<T> Page<T> {
    /// `list` as the page at `offset` of `total`; `link(offset)` renders next / previous.
    pub fn new(
        list: Vec<T>,
        offset: i64,
        limit: i64,
        total: i64,
        link: impl Fn(i64) -> String,
    ) -> Self {
        Page {
            count: list.len(),
            list,
            pagination: Pagination {
                offset,
                limit,
                total,
                next: if offset + limit < total {
                    link(offset + limit)
                } else {
                    String::new()
                },
                previous: if offset > 0 {
                    link((offset - limit).max(0))
                } else {
                    String::new()
                },
            },
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagination {
    pub offset: i64,
    pub limit: i64,
    pub total: i64,
    pub next: String,
    pub previous: String,
}

/// WSO2's `APIRevision`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub created_time: String,
    pub api_info: RevisionApiInfo,
    pub deployment_info: Vec<Deployment>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionApiInfo {
    pub id: String,
}

/// WSO2's `APIRevisionDeployment`: where a revision is (or should be) live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    #[serde(default)]
    pub revision_uuid: Option<String>,
    pub name: String,
    #[serde(default)]
    pub vhost: Option<String>,
    #[serde(default = "yes")]
    pub display_on_devportal: bool,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub deployed_time: Option<String>,
    #[serde(default)]
    pub success_deployed_time: Option<String>,
}

fn yes() -> bool {
    true
}

/// A gateway environment (WSO2's `Environment`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub server_url: String,
    pub provider: String,
    pub show_in_api_console: bool,
    pub vhosts: Vec<VHost>,
    /// Admin v4: the built-in `Default` cannot be changed or removed.
    #[serde(default)]
    pub is_read_only: bool,
    #[serde(default = "regular")]
    pub gateway_type: String,
}

fn regular() -> String {
    "Regular".into()
}

/// A gateway that fetched an environment's snapshot (Admin portal).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewayInstance {
    pub environment: String,
    /// `host/pid` as the gateway says.
    pub gateway_id: String,
    /// The snapshot version it holds (None before its first snapshot).
    pub snapshot_version: Option<i64>,
    /// The environment's current version: behind when larger.
    pub current_version: i64,
    pub last_contact: String,
    pub seconds_ago: i64,
}

/// A gateway's last diagnostics report (its admin port's `GET /diagnostics`, sent to the
/// control plane every few seconds): the Admin portal's page per gateway.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewayDiagnostics {
    pub environment: String,
    pub gateway_id: String,
    pub reported_at: String,
    pub seconds_ago: i64,
    /// The report as the gateway wrote it (`gateway diagnose --json` shows the same).
    pub report: serde_json::Value,
}

/// What an admin sends to add or change a gateway environment (Admin v4 `Environment`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvironmentInput {
    pub name: String,
    pub display_name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub vhosts: Vec<VHost>,
    /// `native` / `Regular` or `kubernetes` / `APK`; native when absent.
    pub gateway_type: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VHost {
    pub host: String,
    pub http_context: String,
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
    pub ws_port: Option<u16>,
    pub wss_port: Option<u16>,
}

/// WSO2's `APIMaxTps`: requests per `…TimeUnit` (SECOND, MINUTE or HOUR; SECOND when absent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MaxTps {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production_time_unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox_time_unit: Option<String>,
}

impl MaxTps {
    /// Seconds in a `…TimeUnit`.
    pub fn unit_seconds(unit: Option<&str>) -> Option<u64> {
        match unit.map(str::to_ascii_uppercase).as_deref() {
            None | Some("SECOND") | Some("SEC") => Some(1),
            Some("MINUTE") | Some("MIN") => Some(60),
            Some("HOUR") => Some(3600),
            _ => None,
        }
    }
}

/// WSO2's `LifecycleState`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleState {
    pub state: String,
    pub check_items: Vec<CheckItem>,
    pub available_transitions: Vec<Transition>,
    /// Ours: a state change waiting for approval (`API_STATE` workflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingStateChange>,
}

/// A lifecycle change an admin has yet to approve.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PendingStateChange {
    pub workflow_id: String,
    pub event: String,
    pub target_state: String,
    pub requested_by: String,
    pub requested_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckItem {
    pub name: String,
    pub value: bool,
    pub required_states: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub event: String,
    pub target_state: String,
}

/// WSO2's `LifecycleHistoryItem`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleHistoryItem {
    pub previous_state: Option<String>,
    pub post_state: String,
    pub user: String,
    pub updated_time: String,
}

/// WSO2's `OpenAPIDefinitionValidationResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationResponse {
    pub is_valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<DefinitionInfo>,
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionInfo {
    pub name: String,
    pub version: String,
    pub context: String,
    pub description: Option<String>,
    #[serde(rename = "openAPIVersion")]
    pub open_api_version: String,
    pub endpoints: Vec<String>,
    pub operation_count: usize,
}

/// WSO2's `ErrorListItem`: `code` names the field (here: the JSON pointer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorItem {
    pub code: String,
    pub message: String,
}

/// A Publisher operation the portal asks for (see `api::publisher_call`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PublisherCall {
    List {
        query: String,
        product: bool,
    },
    Get {
        id: String,
        product: bool,
    },
    Create {
        api: Api,
        product: bool,
    },
    Update {
        id: String,
        api: Api,
        product: bool,
    },
    Delete {
        id: String,
        product: bool,
    },
    Copy {
        id: String,
        version: String,
        default_version: bool,
        product: bool,
    },
    Definition {
        id: String,
    },
    ChangeLifecycle {
        id: String,
        action: String,
        checklist: Vec<String>,
        product: bool,
    },
    History {
        id: String,
        product: bool,
    },
    /// The lifecycle tab: the state as the organization allows it (with a pending change) and
    /// the history.
    Lifecycle {
        id: String,
        product: bool,
    },
    /// Withdraws a state change waiting for approval.
    CancelStateChange {
        id: String,
        product: bool,
    },
    Revisions {
        id: String,
        product: bool,
    },
    CreateRevision {
        id: String,
        description: String,
        product: bool,
    },
    DeleteRevision {
        id: String,
        revision: String,
        product: bool,
    },
    RestoreRevision {
        id: String,
        revision: String,
        product: bool,
    },
    Deploy {
        id: String,
        revision: String,
        environment: String,
        product: bool,
    },
    Undeploy {
        id: String,
        revision: String,
        environment: String,
        product: bool,
    },
    /// Withdraws a deployment waiting for approval.
    CancelDeployment {
        id: String,
        revision: String,
        environment: String,
        product: bool,
    },
    Environments,
    /// The organization's API categories (the settings tab's picker).
    Categories,
    /// The organization's advanced rate-limiting policies (the API's and operations' pickers).
    AdvancedPolicies,
    ChangeProvider {
        id: String,
        provider: String,
    },
    /// The mediation policies publishers may attach (the policies tab's catalogue).
    OperationPolicies,
}

/// What a `PublisherCall` returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PublisherReply {
    Page(Page<ApiInfo>),
    Api(Box<Api>),
    Done,
    /// Pretty-printed JSON; large documents only in part (`truncated`), to download whole.
    Definition {
        text: String,
        total_bytes: usize,
        truncated: bool,
    },
    State(LifecycleState),
    History(Vec<LifecycleHistoryItem>),
    Lifecycle {
        state: LifecycleState,
        history: Vec<LifecycleHistoryItem>,
    },
    Revisions(Vec<Revision>),
    Revision(Revision),
    Deployments(Vec<Deployment>),
    Environments(Vec<Environment>),
    Categories(Vec<crate::settings::ApiCategory>),
    /// Names of advanced policies, built-in first.
    AdvancedPolicies(Vec<String>),
    OperationPolicies(Vec<PolicySpec>),
}

// ---------------------------------------------------------------------------------------
// Lifecycle: WSO2's default API lifecycle (states, events, checklist).

pub mod lifecycle {
    pub const CREATED: &str = "CREATED";
    pub const PROTOTYPED: &str = "PROTOTYPED";
    pub const PUBLISHED: &str = "PUBLISHED";
    pub const BLOCKED: &str = "BLOCKED";
    pub const DEPRECATED: &str = "DEPRECATED";
    pub const RETIRED: &str = "RETIRED";

    pub const STATES: &[&str] = &[CREATED, PROTOTYPED, PUBLISHED, BLOCKED, DEPRECATED, RETIRED];

    pub const DEPRECATE_OLD_VERSIONS: &str = "Deprecate old versions after publishing the API";
    pub const REQUIRES_RESUBSCRIPTION: &str = "Requires re-subscription when publishing the API";

    /// (from state, event, to state), as WSO2's `APILifeCycle`.
    pub const TRANSITIONS: &[(&str, &str, &str)] = &[
        (CREATED, "Publish", PUBLISHED),
        (CREATED, "Deploy as a Prototype", PROTOTYPED),
        (PROTOTYPED, "Publish", PUBLISHED),
        (PROTOTYPED, "Demote to Created", CREATED),
        (PROTOTYPED, "Deploy as a Prototype", PROTOTYPED),
        (PUBLISHED, "Block", BLOCKED),
        (PUBLISHED, "Deploy as a Prototype", PROTOTYPED),
        (PUBLISHED, "Demote to Created", CREATED),
        (PUBLISHED, "Deprecate", DEPRECATED),
        (PUBLISHED, "Publish", PUBLISHED),
        (BLOCKED, "Deprecate", DEPRECATED),
        (BLOCKED, "Re-Publish", PUBLISHED),
        (DEPRECATED, "Retire", RETIRED),
    ];

    /// The state `event` leads to from `state`, if the lifecycle allows it.
    pub fn target(state: &str, event: &str) -> Option<&'static str> {
        TRANSITIONS
            .iter()
            .find(|(from, e, _)| *from == state && e.eq_ignore_ascii_case(event))
            .map(|(_, _, to)| *to)
    }

    pub fn events(state: &str) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        TRANSITIONS
            .iter()
            .filter(move |(from, _, _)| *from == state)
            .map(|(_, e, to)| (*e, *to))
    }

    /// The checklist items shown for `state` (they apply to its Publish event).
    pub fn check_items(state: &str) -> &'static [&'static str] {
        if state == CREATED || state == PROTOTYPED {
            &[DEPRECATE_OLD_VERSIONS, REQUIRES_RESUBSCRIPTION]
        } else {
            &[]
        }
    }
}

impl LifecycleState {
    pub fn of(state: &str) -> Self {
        Self {
            state: state.to_string(),
            check_items: lifecycle::check_items(state)
                .iter()
                .map(|name| CheckItem {
                    name: name.to_string(),
                    value: false,
                    required_states: vec![],
                })
                .collect(),
            available_transitions: lifecycle::events(state)
                .map(|(event, to)| Transition {
                    event: event.to_string(),
                    target_state: to.to_string(),
                })
                .collect(),
            pending: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lifecycle::*;
    use super::*;

    #[test]
    fn lifecycle_follows_wso2() {
        assert_eq!(target(CREATED, "publish"), Some(PUBLISHED));
        assert_eq!(target(CREATED, "Retire"), None);
        assert_eq!(target(DEPRECATED, "Retire"), Some(RETIRED));
        assert!(LifecycleState::of(RETIRED).available_transitions.is_empty());
        assert_eq!(LifecycleState::of(CREATED).check_items.len(), 2);
        for (from, _, to) in TRANSITIONS {
            assert!(STATES.contains(from) && STATES.contains(to));
        }
    }

    #[test]
    fn api_json_uses_wso2_names_and_defaults() {
        let api: Api = serde_json::from_value(serde_json::json!({
            "name": "Pizza Shack", "context": "/pizza", "version": "1.0.0",
            "businessInformation": {"businessOwner": "Ann"}, "unknownField": 1
        }))
        .unwrap();
        assert_eq!(api.settings.api_key_header, "ApiKey");
        assert_eq!(
            api.settings.business_information.business_owner.as_deref(),
            Some("Ann")
        );
        let out = serde_json::to_value(&api).unwrap();
        assert_eq!(out["apiKeyHeader"], "ApiKey");
        assert_eq!(out["type"], "HTTP");
        assert_eq!(out["corsConfiguration"]["corsConfigurationEnabled"], false);
        assert!(out.get("apis").is_none());
    }
}
