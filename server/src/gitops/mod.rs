//! Declarative configuration (GitOps): an organization — APIs and API products with their
//! definitions, documents, deployments and lifecycle state; applications with their keys and
//! subscriptions; throttling and deny policies; key managers — as a directory of YAML files,
//! and back.
//!
//! `export` renders the files; `import` reads them, compares each object with what the
//! organization holds (both rendered the same way, so an exported directory imports as
//! "unchanged") and creates or updates what differs, through the same services the REST API
//! uses (their checks, workflows and audit apply). Objects are matched by their natural keys
//! (API name + version, application owner + name, policy and key manager names), never by ids,
//! so a directory moves between organizations and installations. Objects missing from the
//! files are left alone; inside an object (documents, keys, subscriptions, deployments) the
//! files are the whole truth. Secrets are never exported: a resident client's secret comes
//! from a parameter file on import (`params`) and is stored hashed.

pub mod params;

use std::collections::{BTreeMap, BTreeSet};

use app::applications::{
    Application, ApplicationKey, KeyManagerDto, KeyMappingRequest, Subscription,
};
use app::documents::Document;
use app::publisher::{Api, Deployment, lifecycle};
use app::throttling::{AdvancedThrottlePolicy, BlockingCondition, ThrottlePolicy};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, FieldError};
use crate::publisher::documents::{Content, Upload};
use crate::publisher::{Actor, Publisher};
use crate::throttling::Throttling;

/// The directories a configuration consists of; `export` in the CLI replaces these and leaves
/// anything else in the directory (parameter files, a README) alone.
pub const MANAGED_DIRS: &[&str] = &[
    "apis",
    "api-products",
    "applications",
    "throttling",
    "key-managers",
];

/// A configuration in transit: files by path relative to its directory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Binary files (FILE documents), base64.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub binary: BTreeMap<String, String>,
}

/// What an import does (or, dry, would do) to each object of the files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub dry_run: bool,
    pub changes: Vec<Change>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `create`, `update` or `unchanged`.
    pub action: String,
    /// `keyManager`, `applicationPolicy`, `subscriptionPolicy`, `advancedPolicy`,
    /// `denyPolicies`, `api`, `apiProduct`, `application`.
    pub kind: String,
    pub name: String,
    pub path: String,
    /// What differs (files, fields), for `update`.
    #[serde(default)]
    pub details: Vec<String>,
}

/// What `export` covers: everything, or only the named APIs (`name:version`).
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub apis: Option<Vec<(String, String)>>,
}

impl Selection {
    /// `PizzaShackAPI:1.0.0,Other:2.0`.
    pub fn parse(apis: Option<&str>) -> Result<Self, ApiError> {
        let Some(list) = apis.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Self::default());
        };
        let mut out = Vec::new();
        for item in list.split(',') {
            let (name, version) = item
                .trim()
                .rsplit_once(':')
                .ok_or_else(|| ApiError::field("apis", format!("`{item}` is not name:version")))?;
            out.push((name.trim().to_string(), version.trim().to_string()));
        }
        Ok(Self { apis: Some(out) })
    }

    fn only_apis(&self) -> bool {
        self.apis.is_some()
    }

    fn wants(&self, name: &str, version: &str) -> bool {
        self.apis
            .as_ref()
            .is_none_or(|l| l.iter().any(|(n, v)| n == name && v == version))
    }
}

// ----- Objects ---------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Body {
    Text(String),
    Binary(Vec<u8>),
}

type Files = BTreeMap<String, Body>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    KeyManager,
    ApplicationPolicy,
    SubscriptionPolicy,
    AdvancedPolicy,
    Api,
    ApiProduct,
    Application,
    DenyPolicies,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::KeyManager => "keyManager",
            Kind::ApplicationPolicy => "applicationPolicy",
            Kind::SubscriptionPolicy => "subscriptionPolicy",
            Kind::AdvancedPolicy => "advancedPolicy",
            Kind::Api => "api",
            Kind::ApiProduct => "apiProduct",
            Kind::Application => "application",
            Kind::DenyPolicies => "denyPolicies",
        }
    }
}

/// One object as files, and what it says in typed form.
#[derive(Clone, Debug)]
struct Obj {
    kind: Kind,
    /// The natural key: `PizzaShackAPI:1.0.0`, `admin/DefaultApplication`, `Gold`.
    name: String,
    /// Its file or directory.
    path: String,
    files: Files,
    spec: Spec,
}

#[derive(Clone, Debug)]
enum Spec {
    KeyManager(Box<KeyManagerDto>),
    Policy(&'static str, Box<ThrottlePolicy>),
    Advanced(Box<AdvancedThrottlePolicy>),
    Deny(Vec<BlockingCondition>),
    Api(Box<ApiSpec>),
    Application(Box<AppSpec>),
}

#[derive(Clone, Debug)]
struct ApiSpec {
    product: bool,
    api: Api,
    deployments: Vec<Target>,
    definition: Option<Value>,
    documents: Vec<DocSpec>,
}

/// Where an API's working copy is deployed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Target {
    name: String,
    #[serde(default)]
    vhost: Option<String>,
    #[serde(default = "yes")]
    display_on_devportal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug)]
struct DocSpec {
    doc: Document,
    /// FILE documents: the file's name and bytes.
    file: Option<(String, Vec<u8>)>,
}

/// An application's file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AppSpec {
    name: String,
    owner: String,
    #[serde(default)]
    description: String,
    #[serde(default = "unlimited")]
    throttling_policy: String,
    #[serde(default = "jwt")]
    token_type: String,
    #[serde(default)]
    attributes: Map<String, Value>,
    #[serde(default)]
    keys: Vec<KeySpec>,
    #[serde(default)]
    subscriptions: Vec<SubSpec>,
}

fn unlimited() -> String {
    "Unlimited".into()
}

fn jwt() -> String {
    "JWT".into()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeySpec {
    key_manager: String,
    key_type: String,
    /// `CREATED` (a client of the resident key manager) or `MAPPED` (a third-party client).
    #[serde(default = "created")]
    mode: String,
    consumer_key: String,
    /// Never exported; given on import (a parameter file) for a resident client that does
    /// not exist yet, or to set a new secret.
    #[serde(default, skip_serializing)]
    consumer_secret: Option<String>,
    #[serde(default)]
    supported_grant_types: Vec<String>,
    #[serde(default)]
    callback_url: Option<String>,
    #[serde(default = "hour")]
    validity_seconds: i64,
}

impl KeySpec {
    /// The same client: key manager, key type, consumer key and mode (the rest can change).
    fn same_client(&self, other: &KeySpec) -> bool {
        self.key_manager == other.key_manager
            && self.key_type == other.key_type
            && self.consumer_key == other.consumer_key
            && self.mode == other.mode
    }
}

fn created() -> String {
    "CREATED".into()
}

fn hour() -> i64 {
    3600
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubSpec {
    api_name: String,
    api_version: String,
    /// `API` or `APIProduct`.
    #[serde(default = "api_kind")]
    api_type: String,
    throttling_policy: String,
    #[serde(default = "unblocked")]
    status: String,
}

fn api_kind() -> String {
    "API".into()
}

fn unblocked() -> String {
    "UNBLOCKED".into()
}

// ----- Rendering -------------------------------------------------------------------------------

fn yaml(v: &impl Serialize) -> Body {
    Body::Text(serde_norway::to_string(v).expect("JSON values render as YAML"))
}

/// File and directory names from object names: what is not `[A-Za-z0-9._-]` becomes `_`.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

fn strip(v: &mut Value, keys: &[&str]) {
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
}

fn to_value(v: &impl Serialize) -> Value {
    serde_json::to_value(v).expect("DTOs serialise")
}

fn api_value(spec: &ApiSpec) -> Value {
    let mut v = to_value(&spec.api);
    strip(
        &mut v,
        &[
            "id",
            "type",
            "hasThumbnail",
            "isRevision",
            "revisionId",
            "createdTime",
            "lastUpdatedTime",
        ],
    );
    let strip_ops = |ops: Option<&mut Value>| {
        if let Some(Value::Array(ops)) = ops {
            for op in ops {
                strip(op, &["id", "usedProductIds"]);
            }
        }
    };
    strip_ops(v.get_mut("operations"));
    if let Some(Value::Array(parts)) = v.get_mut("apis") {
        for part in parts {
            strip(part, &["apiId"]);
            strip_ops(part.get_mut("operations"));
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.insert("deployments".into(), to_value(&spec.deployments));
    }
    v
}

fn document_value(d: &Document) -> Value {
    let mut v = to_value(d);
    strip(
        &mut v,
        &[
            "documentId",
            "createdTime",
            "createdBy",
            "lastUpdatedTime",
            "lastUpdatedBy",
        ],
    );
    v
}

fn policy_value(p: &ThrottlePolicy) -> Value {
    let mut v = to_value(p);
    strip(&mut v, &["policyId", "type", "isDeployed", "builtIn"]);
    v
}

fn advanced_value(p: &AdvancedThrottlePolicy) -> Value {
    let mut v = to_value(p);
    strip(&mut v, &["policyId", "type", "isDeployed", "builtIn"]);
    v
}

fn key_manager_value(k: &KeyManagerDto) -> Value {
    let mut v = to_value(k);
    strip(&mut v, &["id"]);
    v
}

fn deny_value(list: &[BlockingCondition]) -> Value {
    let mut items: Vec<Value> = list
        .iter()
        .map(|c| {
            let mut v = to_value(c);
            strip(&mut v, &["conditionId"]);
            v
        })
        .collect();
    items.sort_by_key(|v| v.to_string());
    Value::Array(items)
}

fn api_dir(spec: &ApiSpec) -> String {
    let root = if spec.product { "api-products" } else { "apis" };
    format!(
        "{root}/{}-{}",
        slug(&spec.api.name),
        slug(&spec.api.version)
    )
}

impl Obj {
    fn api(spec: ApiSpec) -> Self {
        let dir = api_dir(&spec);
        let mut files = Files::new();
        files.insert(format!("{dir}/api.yaml"), yaml(&api_value(&spec)));
        if let Some(def) = &spec.definition {
            files.insert(format!("{dir}/definition.yaml"), yaml(def));
        }
        for d in &spec.documents {
            let base = format!("{dir}/documents/{}", slug(&d.doc.name));
            files.insert(format!("{base}.yaml"), yaml(&document_value(&d.doc)));
            if let Some((name, bytes)) = &d.file {
                files.insert(
                    format!("{base}/{}", slug(name)),
                    Body::Binary(bytes.clone()),
                );
            }
        }
        Self {
            kind: if spec.product {
                Kind::ApiProduct
            } else {
                Kind::Api
            },
            name: format!("{}:{}", spec.api.name, spec.api.version),
            path: dir,
            files,
            spec: Spec::Api(Box::new(spec)),
        }
    }

    /// An object of one YAML file (`body`, rendered before `spec` takes the object).
    fn file(kind: Kind, name: String, path: String, body: Body, spec: Spec) -> Self {
        Self {
            kind,
            name,
            files: Files::from([(path.clone(), body)]),
            path,
            spec,
        }
    }

    fn application(spec: AppSpec) -> Self {
        let path = format!(
            "applications/{}/{}.yaml",
            slug(&spec.owner),
            slug(&spec.name)
        );
        let name = format!("{}/{}", spec.owner, spec.name);
        let body = yaml(&spec);
        Self::file(
            Kind::Application,
            name,
            path,
            body,
            Spec::Application(Box::new(spec)),
        )
    }

    fn policy(level: &'static str, p: ThrottlePolicy) -> Self {
        let kind = if level == app::throttling::APPLICATION {
            Kind::ApplicationPolicy
        } else {
            Kind::SubscriptionPolicy
        };
        let path = format!("throttling/{level}/{}.yaml", slug(&p.policy_name));
        let body = yaml(&policy_value(&p));
        Self::file(
            kind,
            p.policy_name.clone(),
            path,
            body,
            Spec::Policy(level, Box::new(p)),
        )
    }

    fn advanced(p: AdvancedThrottlePolicy) -> Self {
        let path = format!("throttling/advanced/{}.yaml", slug(&p.policy_name));
        let body = yaml(&advanced_value(&p));
        let name = p.policy_name.clone();
        Self::file(
            Kind::AdvancedPolicy,
            name,
            path,
            body,
            Spec::Advanced(Box::new(p)),
        )
    }

    fn deny(list: Vec<BlockingCondition>) -> Self {
        let path = "throttling/deny-policies.yaml".to_string();
        let body = yaml(&deny_value(&list));
        Self::file(
            Kind::DenyPolicies,
            "deny policies".into(),
            path,
            body,
            Spec::Deny(list),
        )
    }

    fn key_manager(k: KeyManagerDto) -> Self {
        let path = format!("key-managers/{}.yaml", slug(&k.name));
        let body = yaml(&key_manager_value(&k));
        let name = k.name.clone();
        Self::file(
            Kind::KeyManager,
            name,
            path,
            body,
            Spec::KeyManager(Box::new(k)),
        )
    }

    fn key(&self) -> (Kind, String) {
        (self.kind, self.name.clone())
    }
}

fn bundle_of(objects: &[Obj]) -> Bundle {
    let mut b = Bundle::default();
    for o in objects {
        for (path, body) in &o.files {
            match body {
                Body::Text(t) => {
                    b.files.insert(path.clone(), t.clone());
                }
                Body::Binary(bytes) => {
                    b.binary.insert(path.clone(), B64.encode(bytes));
                }
            }
        }
    }
    b
}

// ----- The service -----------------------------------------------------------------------------

pub struct Gitops<'a> {
    state: &'a AppState,
    publisher: Publisher,
    organization: String,
    org_id: Uuid,
    caller: String,
    /// Every scope: the import acts as each object's owner (an API's provider, an
    /// application's owner) with the services' own checks, on an org admin's behalf.
    scopes: Vec<String>,
}

impl<'a> Gitops<'a> {
    /// For an organization admin (`apim:admin`).
    pub async fn new(state: &'a AppState, actor: &Actor) -> Result<Self, ApiError> {
        actor.require(&[app::auth::scopes::ADMIN])?;
        let org_id: Uuid = sqlx::query_scalar("SELECT id FROM organization WHERE name = $1")
            .bind(&actor.organization)
            .fetch_optional(&state.db)
            .await?
            .ok_or_else(|| ApiError::NotFound("Organization not found".into()))?;
        let scopes = sqlx::query_scalar("SELECT name FROM scope ORDER BY name")
            .fetch_all(&state.db)
            .await?;
        Ok(Self {
            state,
            publisher: Publisher::new(state.db.clone(), state.settings.publisher.clone()),
            organization: actor.organization.clone(),
            org_id,
            caller: actor.username.clone(),
            scopes,
        })
    }

    /// The caller, for what an admin changes (policies, key managers, providers).
    fn admin(&self) -> Actor {
        self.as_user(&self.caller)
    }

    fn as_user(&self, username: &str) -> Actor {
        Actor {
            username: username.to_string(),
            organization: self.organization.clone(),
            scopes: self.scopes.clone(),
        }
    }

    fn throttling(&self) -> Throttling<'_> {
        Throttling { db: &self.state.db }
    }

    async fn users(&self) -> Result<BTreeSet<String>, ApiError> {
        Ok(
            sqlx::query_scalar("SELECT username FROM app_user WHERE organization_id = $1")
                .bind(self.org_id)
                .fetch_all(&self.state.db)
                .await?
                .into_iter()
                .collect(),
        )
    }

    /// The organization as a configuration directory.
    pub async fn export(&self, selection: &Selection) -> Result<Bundle, ApiError> {
        Ok(bundle_of(&self.objects(selection).await?))
    }

    async fn objects(&self, selection: &Selection) -> Result<Vec<Obj>, ApiError> {
        let mut out = Vec::new();
        let admin = self.admin();
        if !selection.only_apis() {
            let own: BTreeSet<String> = sqlx::query_scalar(
                "SELECT name FROM key_manager WHERE organization_id = $1 AND type <> 'Default'",
            )
            .bind(self.org_id)
            .fetch_all(&self.state.db)
            .await?
            .into_iter()
            .collect();
            for k in self.state.km.admin_list(&admin).await? {
                if own.contains(&k.name) {
                    out.push(Obj::key_manager(k));
                }
            }
            let t = self.throttling();
            for level in [app::throttling::APPLICATION, app::throttling::SUBSCRIPTION] {
                for p in t.list(&admin, level).await? {
                    out.push(Obj::policy(level, p));
                }
            }
            for p in t.advanced_list(&admin).await? {
                out.push(Obj::advanced(p));
            }
            out.push(Obj::deny(t.deny_list(&admin).await?));
        }
        let apis: Vec<(Uuid, String, String, String, String)> = sqlx::query_as(
            "SELECT id, type, name, version, provider FROM api WHERE organization_id = $1
              ORDER BY type, name, version",
        )
        .bind(self.org_id)
        .fetch_all(&self.state.db)
        .await?;
        for (id, kind, name, version, provider) in apis {
            if !selection.wants(&name, &version) {
                continue;
            }
            out.push(Obj::api(
                self.api_spec(&id.to_string(), kind == "APIPRODUCT", &provider)
                    .await?,
            ));
        }
        if !selection.only_apis() {
            let apps: Vec<(Uuid, String)> = sqlx::query_as(
                "SELECT a.id, u.username FROM application a JOIN app_user u ON u.id = a.owner_id
                  WHERE a.organization_id = $1 ORDER BY u.username, lower(a.name)",
            )
            .bind(self.org_id)
            .fetch_all(&self.state.db)
            .await?;
            for (id, owner) in apps {
                out.push(Obj::application(self.app_spec(id, &owner).await?));
            }
        }
        Ok(out)
    }

    async fn api_spec(&self, id: &str, product: bool, provider: &str) -> Result<ApiSpec, ApiError> {
        let p = &self.publisher;
        let actor = self.as_user(provider);
        let api = p.get(&actor, id, product).await?;
        let definition = if product {
            None
        } else {
            Some(p.definition(&actor, id).await?)
        };
        let mut deployments: Vec<Target> = p
            .deployments(&actor, id, product)
            .await?
            .into_iter()
            .map(|d| Target {
                name: d.name,
                vhost: d.vhost,
                display_on_devportal: d.display_on_devportal,
            })
            .collect();
        deployments.sort();
        deployments.dedup_by(|a, b| a.name == b.name);
        let mut documents = Vec::new();
        for d in p
            .list_documents(&actor, id, product, Some(0), Some(1000))
            .await?
            .list
        {
            let doc_id = d.document_id.clone().unwrap_or_default();
            let mut doc = p.get_document(&actor, id, &doc_id, product).await?;
            let file = if doc.source_type == "FILE" {
                match p.document_content(&actor, id, &doc_id, product).await {
                    Ok(Content::File { name, bytes, .. }) => Some((name, bytes)),
                    _ => None,
                }
            } else {
                None
            };
            if let Some((name, _)) = &file {
                doc.file_name = Some(name.clone());
            }
            documents.push(DocSpec { doc, file });
        }
        Ok(ApiSpec {
            product,
            api,
            deployments,
            definition,
            documents,
        })
    }

    async fn app_spec(&self, id: Uuid, owner: &str) -> Result<AppSpec, ApiError> {
        let actor = self.as_user(owner);
        let app = self
            .state
            .km
            .get_application(&actor, &id.to_string())
            .await?;
        let keys = app
            .keys
            .iter()
            .map(|k| KeySpec {
                key_manager: k.key_manager.clone(),
                key_type: k.key_type.clone(),
                mode: k.mode.clone(),
                consumer_key: k.consumer_key.clone(),
                consumer_secret: None,
                supported_grant_types: k.supported_grant_types.clone(),
                callback_url: k.callback_url.clone(),
                validity_seconds: k
                    .additional_properties
                    .get("application_access_token_expiry_time")
                    .and_then(Value::as_i64)
                    .unwrap_or(3600),
            })
            .collect();
        let subs: Vec<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT a.name, a.version, a.type, s.throttling_policy, s.status
               FROM subscription s JOIN api a ON a.id = s.api_id
              WHERE s.application_id = $1 ORDER BY a.name, a.version",
        )
        .bind(id)
        .fetch_all(&self.state.db)
        .await?;
        Ok(AppSpec {
            name: app.name,
            owner: owner.to_string(),
            description: app.description.unwrap_or_default(),
            throttling_policy: app.throttling_policy,
            token_type: app.token_type,
            attributes: app.attributes,
            keys,
            subscriptions: subs
                .into_iter()
                .map(|(name, version, kind, tier, status)| SubSpec {
                    api_name: name,
                    api_version: version,
                    api_type: if kind == "APIPRODUCT" {
                        "APIProduct".into()
                    } else {
                        "API".into()
                    },
                    throttling_policy: tier,
                    status,
                })
                .collect(),
        })
    }

    // ----- Import ------------------------------------------------------------------------------

    /// Compares the files with the organization and, unless `dry_run`, makes it so. Files are
    /// read and checked whole first: a bad file changes nothing.
    pub async fn import(&self, bundle: &Bundle, dry_run: bool) -> Result<Plan, ApiError> {
        let desired = parse_bundle(bundle)?;
        let current: BTreeMap<(Kind, String), Obj> = self
            .objects(&Selection::default())
            .await?
            .into_iter()
            .map(|o| (o.key(), o))
            .collect();
        self.check_references(&desired, &current).await?;
        let mut plan = Plan {
            dry_run,
            changes: vec![],
            created: 0,
            updated: 0,
            unchanged: 0,
        };
        let mut work = Vec::new();
        for o in &desired {
            let have = current.get(&o.key());
            let details = match have {
                None => vec![],
                Some(h) => self.differences(o, h).await?,
            };
            let action = match (have, details.is_empty()) {
                (None, _) => {
                    plan.created += 1;
                    "create"
                }
                (Some(_), false) => {
                    plan.updated += 1;
                    "update"
                }
                (Some(_), true) => {
                    plan.unchanged += 1;
                    "unchanged"
                }
            };
            plan.changes.push(Change {
                action: action.into(),
                kind: o.kind.name().into(),
                name: o.name.clone(),
                path: o.path.clone(),
                details,
            });
            if action != "unchanged" {
                work.push((o, have));
            }
        }
        if dry_run {
            return Ok(plan);
        }
        let mut done = 0;
        for (o, have) in work {
            self.apply(o, have).await.map_err(|e| {
                within(
                    e,
                    &o.path,
                    &format!("{done} change(s) before it were applied; nothing after it"),
                )
            })?;
            done += 1;
        }
        if done > 0 {
            crate::audit::change_with_detail(
                &mut *self.state.db.acquire().await?,
                &self.organization,
                &self.caller,
                "configuration.import",
                "organization",
                &self.organization,
                serde_json::json!({ "created": plan.created, "updated": plan.updated }),
            )
            .await?;
        }
        Ok(plan)
    }

    /// Owners and providers must be users here; subscriptions name APIs of the files or the
    /// organization.
    async fn check_references(
        &self,
        desired: &[Obj],
        current: &BTreeMap<(Kind, String), Obj>,
    ) -> Result<(), ApiError> {
        let users = self.users().await?;
        let mut errors = Vec::new();
        let apis: BTreeSet<String> = desired
            .iter()
            .map(Obj::key)
            .chain(current.keys().cloned())
            .filter(|(k, _)| matches!(k, Kind::Api | Kind::ApiProduct))
            .map(|(_, n)| n)
            .collect();
        for o in desired {
            match &o.spec {
                Spec::Api(a) => {
                    let provider = a.api.provider.clone().unwrap_or_default();
                    if provider.is_empty() {
                        errors.push(FieldError::new(
                            &format!("{}/api.yaml: provider", o.path),
                            "is required: the API's owner, a user of this organization",
                        ));
                    } else if !users.contains(&provider) {
                        errors.push(FieldError::new(
                            &format!("{}/api.yaml: provider", o.path),
                            format!(
                                "`{provider}` is not a user of this organization; create the user or change the provider"
                            ),
                        ));
                    }
                }
                Spec::Application(a) => {
                    if !users.contains(&a.owner) {
                        errors.push(FieldError::new(
                            &format!("{}: owner", o.path),
                            format!("`{}` is not a user of this organization", a.owner),
                        ));
                    }
                    // A resident client that is not here yet needs its secret (never exported).
                    let have_keys: Vec<&KeySpec> = match current.get(&o.key()).map(|h| &h.spec) {
                        Some(Spec::Application(h)) => h.keys.iter().collect(),
                        _ => vec![],
                    };
                    for (i, k) in a.keys.iter().enumerate() {
                        let exists = have_keys
                            .iter()
                            .any(|h| h.consumer_key == k.consumer_key && h.mode == k.mode);
                        if k.mode == "CREATED" && !exists && k.consumer_secret.is_none() {
                            errors.push(FieldError::new(
                                &format!("{}: keys[{i}].consumerSecret", o.path),
                                format!(
                                    "the {} client {} is not here yet: give its secret in a parameter file (secrets are never exported)",
                                    k.key_type, k.consumer_key
                                ),
                            ));
                        }
                    }
                    for (i, s) in a.subscriptions.iter().enumerate() {
                        let key = format!("{}:{}", s.api_name, s.api_version);
                        if !apis.contains(&key) {
                            errors.push(FieldError::new(
                                &format!("{}: subscriptions[{i}]", o.path),
                                format!("no API {key} in the files or the organization"),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::BadRequest {
                message: format!(
                    "The configuration refers to what does not exist ({} problem(s)); nothing was changed",
                    errors.len()
                ),
                errors,
            })
        }
    }

    /// What differs between the files' object and the organization's (empty: unchanged).
    async fn differences(&self, want: &Obj, have: &Obj) -> Result<Vec<String>, ApiError> {
        let mut out = Vec::new();
        let paths: BTreeSet<&String> = want.files.keys().chain(have.files.keys()).collect();
        for path in paths {
            let rel = path
                .strip_prefix(&format!("{}/", want.path))
                .unwrap_or(path);
            match (want.files.get(path), have.files.get(path)) {
                (Some(a), Some(b)) if a == b => {}
                (Some(Body::Text(a)), Some(Body::Text(b))) => {
                    let fields = changed_fields(a, b);
                    if fields.is_empty() {
                        out.push(rel.to_string());
                    } else {
                        out.push(format!("{rel}: {}", fields.join(", ")));
                    }
                }
                (Some(_), Some(_)) => out.push(rel.to_string()),
                (Some(_), None) => out.push(format!("{rel} (new)")),
                (None, Some(_)) => out.push(format!("{rel} (removed)")),
                (None, None) => {}
            }
        }
        // A secret named in the files that is not the stored one.
        if let (Spec::Application(w), Spec::Application(_)) = (&want.spec, &have.spec) {
            let app_id = self.application_id(&w.owner, &w.name).await?;
            if let Some(app_id) = app_id {
                for k in &w.keys {
                    if let (Some(secret), "CREATED") = (&k.consumer_secret, k.mode.as_str())
                        && !self
                            .state
                            .km
                            .stored_secret_is(app_id, &k.consumer_key, secret)
                            .await?
                    {
                        out.push(format!("keys[{}].consumerSecret", k.key_type));
                    }
                }
            }
        }
        Ok(out)
    }

    async fn application_id(&self, owner: &str, name: &str) -> Result<Option<Uuid>, ApiError> {
        Ok(sqlx::query_scalar(
            "SELECT a.id FROM application a JOIN app_user u ON u.id = a.owner_id
              WHERE a.organization_id = $1 AND u.username = $2 AND lower(a.name) = lower($3)",
        )
        .bind(self.org_id)
        .bind(owner)
        .bind(name)
        .fetch_optional(&self.state.db)
        .await?)
    }

    async fn api_id(&self, name: &str, version: &str) -> Result<Option<(Uuid, String)>, ApiError> {
        Ok(sqlx::query_as(
            "SELECT id, provider FROM api WHERE organization_id = $1 AND name = $2 AND version = $3",
        )
        .bind(self.org_id)
        .bind(name)
        .bind(version)
        .fetch_optional(&self.state.db)
        .await?)
    }

    async fn apply(&self, o: &Obj, have: Option<&Obj>) -> Result<(), ApiError> {
        let admin = self.admin();
        match &o.spec {
            Spec::KeyManager(k) => {
                let km = &self.state.km;
                match have.map(|h| &h.spec) {
                    Some(Spec::KeyManager(h)) => {
                        let id = h.id.clone().unwrap_or_default();
                        km.admin_update(&admin, &id, (**k).clone()).await?;
                    }
                    _ => {
                        km.admin_create(&admin, (**k).clone()).await?;
                    }
                }
            }
            Spec::Policy(level, p) => {
                let t = self.throttling();
                match have.map(|h| &h.spec) {
                    Some(Spec::Policy(_, h)) => {
                        t.update(&admin, level, &h.policy_id, (**p).clone()).await?;
                    }
                    _ => {
                        t.create(&admin, level, (**p).clone()).await?;
                    }
                }
            }
            Spec::Advanced(p) => {
                let t = self.throttling();
                match have.map(|h| &h.spec) {
                    Some(Spec::Advanced(h)) => {
                        t.advanced_update(&admin, &h.policy_id, (**p).clone())
                            .await?;
                    }
                    _ => {
                        t.advanced_create(&admin, (**p).clone()).await?;
                    }
                }
            }
            Spec::Deny(list) => self.apply_deny(list, have).await?,
            Spec::Api(a) => self.apply_api(a, have).await?,
            Spec::Application(a) => {
                let have = match have.map(|h| &h.spec) {
                    Some(Spec::Application(h)) => Some(h.as_ref()),
                    _ => None,
                };
                self.apply_application(a, have).await?
            }
        }
        Ok(())
    }

    async fn apply_deny(
        &self,
        want: &[BlockingCondition],
        have: Option<&Obj>,
    ) -> Result<(), ApiError> {
        let admin = self.admin();
        let t = self.throttling();
        let have: Vec<BlockingCondition> = match have.map(|h| &h.spec) {
            Some(Spec::Deny(l)) => l.clone(),
            _ => vec![],
        };
        let same = |a: &BlockingCondition, b: &BlockingCondition| {
            a.condition_type.eq_ignore_ascii_case(&b.condition_type)
                && a.condition_value == b.condition_value
        };
        for h in &have {
            match want.iter().find(|w| same(w, h)) {
                None => t.deny_delete(&admin, &h.condition_id).await?,
                Some(w) if w.condition_status != h.condition_status => {
                    t.deny_set_status(&admin, &h.condition_id, w.condition_status)
                        .await?;
                }
                Some(_) => {}
            }
        }
        for w in want {
            if !have.iter().any(|h| same(w, h)) {
                t.deny_create(&admin, w.clone()).await?;
            }
        }
        Ok(())
    }

    async fn apply_api(&self, spec: &ApiSpec, have: Option<&Obj>) -> Result<(), ApiError> {
        let p = &self.publisher;
        let product = spec.product;
        let provider = spec.api.provider.clone().unwrap_or_default();
        let actor = self.as_user(&provider);
        let mut api = spec.api.clone();
        if product {
            for part in &mut api.settings.apis {
                let (id, _) = self
                    .api_id(&part.name, &part.version)
                    .await?
                    .ok_or_else(|| {
                        ApiError::field(
                            "apis",
                            format!(
                                "no API {}:{} to take operations from",
                                part.name, part.version
                            ),
                        )
                    })?;
                part.api_id = id.to_string();
            }
        }
        let have_spec = match have.map(|h| &h.spec) {
            Some(Spec::Api(h)) => Some(h.as_ref()),
            _ => None,
        };
        let (id, changed) = match have_spec {
            None => {
                let def = match (&spec.definition, product) {
                    (Some(v), false) => Some(
                        crate::publisher::openapi::parse_value(v.clone())
                            .map_err(crate::publisher::apis::definition_error)?,
                    ),
                    _ => None,
                };
                let created = p.create(&actor, api.clone(), def, product).await?;
                let id = created.id.clone().unwrap_or_default();
                // Operation settings (auth, tiers, policies) as the file has them.
                p.update(&actor, &id, api.clone(), product).await?;
                (id, true)
            }
            Some(h) => {
                let (id, _) = self
                    .api_id(&h.api.name, &h.api.version)
                    .await?
                    .ok_or_else(|| ApiError::NotFound("API vanished".into()))?;
                let id = id.to_string();
                let mut changed = false;
                if h.api.provider != spec.api.provider {
                    p.change_provider(&self.admin(), &id, &provider).await?;
                }
                if !product && h.definition != spec.definition {
                    let v = spec.definition.clone().unwrap_or(Value::Null);
                    let def = crate::publisher::openapi::parse_value(v.clone())
                        .map_err(crate::publisher::apis::definition_error)?;
                    p.replace_definition(&actor, &id, def).await?;
                    changed = true;
                }
                let mut a = api_value(spec);
                let mut b = api_value(h);
                for v in [&mut a, &mut b] {
                    strip(v, &["deployments", "lifeCycleStatus", "provider"]);
                }
                if changed || a != b {
                    p.update(&actor, &id, api.clone(), product).await?;
                    changed = true;
                }
                (id, changed)
            }
        };
        self.apply_documents(&actor, &id, spec, have_spec).await?;
        // Deployments: the working copy where the files say, nowhere else.
        let have_targets = have_spec.map(|h| h.deployments.clone()).unwrap_or_default();
        if !spec.deployments.is_empty() && (changed || have_targets != spec.deployments) {
            let rev = self.new_revision(&actor, &id, product).await?;
            let targets = spec
                .deployments
                .iter()
                .map(|t| Deployment {
                    revision_uuid: None,
                    name: t.name.clone(),
                    vhost: t.vhost.clone(),
                    display_on_devportal: t.display_on_devportal,
                    status: None,
                    deployed_time: None,
                    success_deployed_time: None,
                })
                .collect();
            p.deploy(&actor, &id, &rev, targets, product).await?;
        }
        let gone: Vec<String> = have_targets
            .iter()
            .filter(|t| !spec.deployments.iter().any(|w| w.name == t.name))
            .map(|t| t.name.clone())
            .collect();
        if !gone.is_empty() {
            for d in p.deployments(&actor, &id, product).await? {
                if gone.contains(&d.name)
                    && let Some(rev) = &d.revision_uuid
                {
                    p.undeploy(&actor, &id, rev, vec![d.clone()], false, product)
                        .await?;
                }
            }
        }
        // Lifecycle: the shortest path of events to the files' state.
        let want = spec
            .api
            .life_cycle_status
            .clone()
            .unwrap_or_else(|| lifecycle::CREATED.into());
        let now = p.get(&actor, &id, product).await?.life_cycle_status;
        let now = now.unwrap_or_else(|| lifecycle::CREATED.into());
        if now != want {
            let events = lifecycle_path(&now, &want).ok_or_else(|| {
                ApiError::field(
                    "lifeCycleStatus",
                    format!("the lifecycle has no way from {now} to {want}"),
                )
            })?;
            for e in events {
                p.change_lifecycle(&actor, &id, e, "", product).await?;
            }
        }
        Ok(())
    }

    /// A revision of the working copy; the oldest undeployed one goes when the API is at its
    /// limit.
    async fn new_revision(
        &self,
        actor: &Actor,
        id: &str,
        product: bool,
    ) -> Result<String, ApiError> {
        let p = &self.publisher;
        let revisions = p.list_revisions(actor, id, product).await?;
        if revisions.len() >= p.settings.max_revisions as usize
            && let Some(old) = revisions.iter().find(|r| r.deployment_info.is_empty())
        {
            p.delete_revision(actor, id, &old.id, product).await?;
        }
        Ok(p.create_revision(actor, id, "Declarative import", product)
            .await?
            .id)
    }

    async fn apply_documents(
        &self,
        actor: &Actor,
        id: &str,
        spec: &ApiSpec,
        have: Option<&ApiSpec>,
    ) -> Result<(), ApiError> {
        let p = &self.publisher;
        let product = spec.product;
        let existing = p
            .list_documents(actor, id, product, Some(0), Some(1000))
            .await?
            .list;
        let have_docs = have.map(|h| h.documents.as_slice()).unwrap_or_default();
        for d in &existing {
            if !spec.documents.iter().any(|w| w.doc.name == d.name) {
                let doc_id = d.document_id.clone().unwrap_or_default();
                p.delete_document(actor, id, &doc_id, product).await?;
            }
        }
        for w in &spec.documents {
            let before = have_docs.iter().find(|h| h.doc.name == w.doc.name);
            if before.is_some_and(|b| {
                document_value(&b.doc) == document_value(&w.doc) && b.file == w.file
            }) {
                continue;
            }
            let mut doc = w.doc.clone();
            doc.file_name = None;
            let doc_id = match existing.iter().find(|e| e.name == w.doc.name) {
                Some(e) => {
                    let doc_id = e.document_id.clone().unwrap_or_default();
                    p.update_document(actor, id, &doc_id, doc, product).await?;
                    doc_id
                }
                None => p
                    .create_document(actor, id, doc, product)
                    .await?
                    .document_id
                    .unwrap_or_default(),
            };
            if let Some((name, bytes)) = &w.file {
                p.set_document_content(
                    actor,
                    id,
                    &doc_id,
                    Upload::File {
                        name: name.clone(),
                        media_type: None,
                        bytes: bytes.clone(),
                    },
                    product,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// `have`: the organization's application as the plan read it.
    async fn apply_application(
        &self,
        spec: &AppSpec,
        have: Option<&AppSpec>,
    ) -> Result<(), ApiError> {
        let km = &self.state.km;
        let actor = self.as_user(&spec.owner);
        let base = Application {
            name: spec.name.clone(),
            throttling_policy: spec.throttling_policy.clone(),
            description: Some(spec.description.clone()),
            token_type: spec.token_type.clone(),
            attributes: spec.attributes.clone(),
            ..Application::default()
        };
        let id = match (have, self.application_id(&spec.owner, &spec.name).await?) {
            (Some(have), Some(id)) => {
                let id = id.to_string();
                if (&have.description, &have.throttling_policy, &have.attributes)
                    != (&spec.description, &spec.throttling_policy, &spec.attributes)
                    || have.name != spec.name
                {
                    km.update_application(&actor, &id, base).await?;
                }
                id
            }
            _ => km
                .create_application(&actor, base)
                .await?
                .application_id
                .unwrap_or_default(),
        };
        let have_keys = have.map(|h| h.keys.as_slice()).unwrap_or_default();
        let listed = km.oauth_keys(&actor, &id).await?;
        let mapping_of = |k: &KeySpec| -> Option<ApplicationKey> {
            listed
                .iter()
                .find(|l| l.key_manager == k.key_manager && l.key_type == k.key_type)
                .cloned()
        };
        for (i, h) in have_keys.iter().enumerate() {
            let keep = spec.keys.iter().any(|w| w.same_client(h));
            if !keep && let Some(m) = mapping_of(h) {
                km.clean_up_keys(&actor, &id, &m.key_mapping_id)
                    .await
                    .map_err(|e| within(e, &format!("keys[{i}]"), ""))?;
            }
        }
        for (i, w) in spec.keys.iter().enumerate() {
            let field = |e| within(e, &format!("keys[{i}]"), "");
            let same = have_keys.iter().find(|h| h.same_client(w));
            match same {
                None if w.mode == "CREATED" => {
                    let secret = w.consumer_secret.as_deref().ok_or_else(|| {
                        ApiError::field(
                            &format!("keys[{i}].consumerSecret"),
                            format!(
                                "the {} client {} does not exist here yet: give its secret in a parameter file (secrets are never exported)",
                                w.key_type, w.consumer_key
                            ),
                        )
                    })?;
                    km.import_resident_key(
                        &actor,
                        &id,
                        &w.key_type,
                        &w.consumer_key,
                        secret,
                        &w.supported_grant_types,
                        w.callback_url.as_deref(),
                        w.validity_seconds,
                    )
                    .await
                    .map_err(field)?;
                }
                None => {
                    km.map_keys(
                        &actor,
                        &id,
                        KeyMappingRequest {
                            consumer_key: w.consumer_key.clone(),
                            consumer_secret: w.consumer_secret.clone(),
                            key_manager: Some(w.key_manager.clone()),
                            key_type: w.key_type.clone(),
                        },
                    )
                    .await
                    .map_err(field)?;
                    if let Some(m) = mapping_of(w).or(km
                        .oauth_keys(&actor, &id)
                        .await?
                        .into_iter()
                        .find(|l| l.key_manager == w.key_manager && l.key_type == w.key_type))
                    {
                        self.update_key(&actor, &id, &m, w).await.map_err(field)?;
                    }
                }
                Some(h) => {
                    if h != w
                        && let Some(m) = mapping_of(w)
                    {
                        self.update_key(&actor, &id, &m, w).await.map_err(field)?;
                    }
                    if let (Some(secret), "CREATED") = (&w.consumer_secret, w.mode.as_str())
                        && !km
                            .stored_secret_is(
                                Uuid::parse_str(&id).unwrap_or_default(),
                                &w.consumer_key,
                                secret,
                            )
                            .await?
                    {
                        km.set_resident_secret(&actor, &id, &w.consumer_key, secret)
                            .await
                            .map_err(field)?;
                    }
                }
            }
        }
        self.apply_subscriptions(&actor, &id, spec).await
    }

    async fn update_key(
        &self,
        actor: &Actor,
        app: &str,
        mapping: &ApplicationKey,
        w: &KeySpec,
    ) -> Result<(), ApiError> {
        let mut req = mapping.clone();
        req.supported_grant_types = w.supported_grant_types.clone();
        req.callback_url = w.callback_url.clone();
        req.additional_properties.insert(
            "application_access_token_expiry_time".into(),
            Value::from(w.validity_seconds),
        );
        self.state
            .km
            .update_oauth_key(actor, app, &mapping.key_mapping_id, req)
            .await?;
        Ok(())
    }

    async fn apply_subscriptions(
        &self,
        actor: &Actor,
        app_id: &str,
        spec: &AppSpec,
    ) -> Result<(), ApiError> {
        let km = &self.state.km;
        let catalogue = crate::http::devportal::catalogue(self.state);
        let have: Vec<(Uuid, String, String, String, String, String)> = sqlx::query_as(
            "SELECT s.id, a.name, a.version, s.throttling_policy, s.status, a.provider
               FROM subscription s JOIN api a ON a.id = s.api_id WHERE s.application_id = $1",
        )
        .bind(Uuid::parse_str(app_id).unwrap_or_default())
        .fetch_all(&self.state.db)
        .await?;
        for (sid, name, version, ..) in &have {
            if !spec
                .subscriptions
                .iter()
                .any(|w| &w.api_name == name && &w.api_version == version)
            {
                km.delete_subscription(actor, &sid.to_string()).await?;
            }
        }
        for (i, w) in spec.subscriptions.iter().enumerate() {
            let field = |e| within(e, &format!("subscriptions[{i}]"), "");
            let (api_id, provider) =
                self.api_id(&w.api_name, &w.api_version)
                    .await?
                    .ok_or_else(|| {
                        ApiError::field(
                            &format!("subscriptions[{i}]"),
                            format!("no API {}:{}", w.api_name, w.api_version),
                        )
                    })?;
            let existing = have
                .iter()
                .find(|h| h.1 == w.api_name && h.2 == w.api_version);
            let (sid, tier, status) = match existing {
                Some((sid, _, _, tier, status, _)) => {
                    (sid.to_string(), tier.clone(), status.clone())
                }
                None => {
                    let s = km
                        .create_subscription(
                            &catalogue,
                            actor,
                            Subscription {
                                application_id: app_id.to_string(),
                                api_id: api_id.to_string(),
                                throttling_policy: w.throttling_policy.clone(),
                                ..Subscription::default()
                            },
                        )
                        .await
                        .map_err(field)?;
                    (
                        s.subscription_id.unwrap_or_default(),
                        w.throttling_policy.clone(),
                        s.status,
                    )
                }
            };
            if tier != w.throttling_policy {
                km.update_subscription(
                    &catalogue,
                    actor,
                    &sid,
                    Subscription {
                        application_id: app_id.to_string(),
                        api_id: api_id.to_string(),
                        throttling_policy: w.throttling_policy.clone(),
                        status: status.clone(),
                        ..Subscription::default()
                    },
                )
                .await
                .map_err(field)?;
            }
            let settable = ["UNBLOCKED", "BLOCKED", "PROD_ONLY_BLOCKED"];
            if status != w.status
                && settable.contains(&status.as_str())
                && settable.contains(&w.status.as_str())
            {
                km.set_subscription_state(&self.as_user(&provider), &sid, &w.status)
                    .await
                    .map_err(field)?;
            }
        }
        Ok(())
    }
}

/// An error of one object, its fields prefixed with where they are.
fn within(e: ApiError, place: &str, note: &str) -> ApiError {
    let prefix = |field: &str| {
        if field.is_empty() {
            place.to_string()
        } else if place.ends_with(".yaml") || place.contains('/') {
            format!("{place}: {field}")
        } else {
            format!("{place}.{field}")
        }
    };
    let tail = if note.is_empty() {
        String::new()
    } else {
        format!(" ({note})")
    };
    let relabel = |message: String, errors: Vec<FieldError>| {
        let errors = errors
            .into_iter()
            .map(|f| FieldError::new(&prefix(&f.code), f.message))
            .collect();
        (format!("{place}: {message}{tail}"), errors)
    };
    match e {
        ApiError::BadRequest { message, errors } => {
            let (message, errors) = relabel(message, errors);
            ApiError::BadRequest { message, errors }
        }
        ApiError::Conflict { message, errors } => {
            let (message, errors) = relabel(message, errors);
            ApiError::Conflict { message, errors }
        }
        ApiError::NotFound(m) => ApiError::NotFound(format!("{place}: {m}{tail}")),
        ApiError::Forbidden(m) => ApiError::Forbidden(format!("{place}: {m}{tail}")),
        other => other,
    }
}

/// Lifecycle events from `from` to `to`, fewest first (breadth-first over the transitions).
fn lifecycle_path(from: &str, to: &str) -> Option<Vec<&'static str>> {
    let mut queue = std::collections::VecDeque::from([(from.to_string(), vec![])]);
    let mut seen = BTreeSet::from([from.to_string()]);
    while let Some((state, path)) = queue.pop_front() {
        if state == to {
            return Some(path);
        }
        for (event, next) in lifecycle::events(&state) {
            if seen.insert(next.to_string()) {
                let mut p = path.clone();
                p.push(event);
                queue.push_back((next.to_string(), p));
            }
        }
    }
    None
}

/// Top-level fields whose values differ between two YAML documents.
fn changed_fields(a: &str, b: &str) -> Vec<String> {
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) = (
        serde_norway::from_str::<Value>(a),
        serde_norway::from_str::<Value>(b),
    ) else {
        return vec![];
    };
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| k.to_string())
        .collect()
}

// ----- Reading files ---------------------------------------------------------------------------

struct Reader {
    errors: Vec<FieldError>,
}

impl Reader {
    fn err(&mut self, place: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(place, message));
    }

    fn yaml(&mut self, path: &str, text: &str) -> Option<Value> {
        match serde_norway::from_str::<Value>(text) {
            Ok(v) => Some(v),
            Err(e) => {
                self.err(path, format!("is not YAML: {e}"));
                None
            }
        }
    }

    /// A typed object from a file, errors naming the field; fields the type does not know are
    /// refused (a misspelt key must not pass unnoticed).
    fn typed<T: serde::de::DeserializeOwned + Serialize>(
        &mut self,
        path: &str,
        value: Value,
        canonical: impl Fn(&T) -> Value,
    ) -> Option<T> {
        self.typed_filled(path, value.clone(), value, canonical)
    }

    /// `typed`, deserialising `filled` (the file with what this installation supplies) but
    /// checking the file itself for unknown fields.
    fn typed_filled<T: serde::de::DeserializeOwned + Serialize>(
        &mut self,
        path: &str,
        value: Value,
        filled: Value,
        canonical: impl Fn(&T) -> Value,
    ) -> Option<T> {
        let t: T = match serde_path_to_error::deserialize(filled) {
            Ok(t) => t,
            Err(e) => {
                let at = e.path().to_string();
                self.err(&format!("{path}: {at}"), e.into_inner().to_string());
                return None;
            }
        };
        let mut unknown = vec![];
        unknown_fields(&value, &canonical(&t), "", &mut unknown);
        if unknown.is_empty() {
            Some(t)
        } else {
            for u in unknown {
                self.err(&format!("{path}: {u}"), "unknown field");
            }
            None
        }
    }
}

fn unknown_fields(input: &Value, canon: &Value, at: &str, out: &mut Vec<String>) {
    let join = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    match (input, canon) {
        (Value::Object(i), Value::Object(c)) => {
            for (k, v) in i {
                match c.get(k) {
                    // `null` for an absent optional field is harmless.
                    None if v.is_null() => {}
                    None => out.push(join(k)),
                    Some(cv) => unknown_fields(v, cv, &join(k), out),
                }
            }
        }
        (Value::Array(i), Value::Array(c)) if i.len() == c.len() => {
            for (n, (iv, cv)) in i.iter().zip(c).enumerate() {
                unknown_fields(iv, cv, &format!("{at}[{n}]"), out);
            }
        }
        _ => {}
    }
}

/// The files as objects (rendered again the way `export` renders them), or every problem.
fn parse_bundle(bundle: &Bundle) -> Result<Vec<Obj>, ApiError> {
    let mut r = Reader { errors: vec![] };
    let mut out = Vec::new();
    let mut api_dirs: BTreeMap<String, bool> = BTreeMap::new();
    for path in bundle.files.keys().chain(bundle.binary.keys()) {
        let parts: Vec<&str> = path.split('/').collect();
        if path.contains("..") || path.starts_with('/') || path.contains('\\') {
            r.err(path, "not a relative path inside the configuration");
            continue;
        }
        match parts.as_slice() {
            [root @ ("apis" | "api-products"), dir, ..] if parts.len() >= 3 => {
                api_dirs.insert(format!("{root}/{dir}"), *root == "api-products");
            }
            ["applications", _, file] if file.ends_with(".yaml") => {}
            ["throttling", "application" | "subscription" | "advanced", file]
                if file.ends_with(".yaml") => {}
            ["throttling", "deny-policies.yaml"] => {}
            ["key-managers", file] if file.ends_with(".yaml") => {}
            _ => r.err(
                path,
                "is not part of a Gatehouse configuration (apis/, api-products/, applications/, throttling/, key-managers/)",
            ),
        }
    }
    let text = |p: &str| bundle.files.get(p).map(String::as_str);
    for (path, body) in &bundle.files {
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            ["key-managers", _] => {
                if let Some(v) = r.yaml(path, body)
                    && let Some(k) = r.typed::<KeyManagerDto>(path, v, key_manager_value)
                {
                    out.push(Obj::key_manager(k));
                }
            }
            ["throttling", level @ ("application" | "subscription"), _] => {
                let level = if *level == "application" {
                    app::throttling::APPLICATION
                } else {
                    app::throttling::SUBSCRIPTION
                };
                if let Some(v) = r.yaml(path, body)
                    && let Some(p) = r.typed::<ThrottlePolicy>(path, v, policy_value)
                {
                    out.push(Obj::policy(level, p));
                }
            }
            ["throttling", "advanced", _] => {
                if let Some(v) = r.yaml(path, body)
                    && let Some(p) = r.typed::<AdvancedThrottlePolicy>(path, v, advanced_value)
                {
                    out.push(Obj::advanced(p));
                }
            }
            ["throttling", "deny-policies.yaml"] => {
                if let Some(v) = r.yaml(path, body)
                    && let Some(l) = r.typed::<Vec<BlockingCondition>>(path, v, |l| deny_value(l))
                {
                    out.push(Obj::deny(l));
                }
            }
            ["applications", owner_dir, _] => {
                if let Some(v) = r.yaml(path, body)
                    && let Some(a) = r.typed::<AppSpec>(path, v, |a| {
                        // Secrets are read (from a parameter file) but never written.
                        let mut v = to_value(a);
                        for (i, k) in a.keys.iter().enumerate() {
                            if let Some(s) = &k.consumer_secret {
                                v["keys"][i]["consumerSecret"] = Value::from(s.as_str());
                            }
                        }
                        v
                    })
                {
                    if slug(&a.owner) != *owner_dir {
                        r.err(
                            &format!("{path}: owner"),
                            format!("`{}` does not match the directory {owner_dir}", a.owner),
                        );
                    }
                    out.push(Obj::application(a));
                }
            }
            _ => {}
        }
    }
    for (dir, product) in api_dirs {
        let api_path = format!("{dir}/api.yaml");
        let Some(body) = text(&api_path) else {
            r.err(&api_path, "is missing: every API directory has one");
            continue;
        };
        let Some(mut v) = r.yaml(&api_path, body) else {
            continue;
        };
        let targets = v
            .as_object_mut()
            .and_then(|o| o.remove("deployments"))
            .unwrap_or(Value::Array(vec![]));
        // A product names its APIs by name and version; the ids are this installation's.
        let mut filled = v.clone();
        if let Some(Value::Array(parts)) = filled.get_mut("apis") {
            for part in parts.iter_mut().filter_map(Value::as_object_mut) {
                part.entry("apiId").or_insert_with(|| Value::from(""));
            }
        }
        let deployments: Vec<Target> = match serde_path_to_error::deserialize(targets) {
            Ok(t) => t,
            Err(e) => {
                r.err(
                    &format!("{api_path}: deployments{}", e.path()),
                    e.into_inner().to_string(),
                );
                continue;
            }
        };
        let def_path = format!("{dir}/definition.yaml");
        let definition = match text(&def_path) {
            Some(t) => r.yaml(&def_path, t),
            None if product => None,
            None => {
                r.err(&def_path, "is missing: an API's OpenAPI document");
                continue;
            }
        };
        let mut documents = Vec::new();
        let doc_prefix = format!("{dir}/documents/");
        for (path, body) in bundle.files.range(doc_prefix.clone()..) {
            let Some(rest) = path.strip_prefix(&doc_prefix) else {
                break;
            };
            if rest.contains('/') || !rest.ends_with(".yaml") {
                continue;
            }
            let Some(dv) = r.yaml(path, body) else {
                continue;
            };
            let Some(doc) = r.typed::<Document>(path, dv, document_value) else {
                continue;
            };
            let file = match &doc.file_name {
                Some(name) if doc.source_type == "FILE" => {
                    let base = path.trim_end_matches(".yaml");
                    let fp = format!("{base}/{}", slug(name));
                    match bundle.binary.get(&fp).map(|b| B64.decode(b)) {
                        Some(Ok(bytes)) => Some((name.clone(), bytes)),
                        Some(Err(_)) => {
                            r.err(&fp, "is not base64");
                            None
                        }
                        None => {
                            r.err(&fp, "is missing: the FILE document's content");
                            None
                        }
                    }
                }
                _ => None,
            };
            documents.push(DocSpec { doc, file });
        }
        let mut spec = ApiSpec {
            product,
            api: Api::default(),
            deployments,
            definition,
            documents,
        };
        let canonical = |a: &Api| {
            let mut v = api_value(&ApiSpec {
                api: a.clone(),
                ..spec.clone()
            });
            strip(&mut v, &["deployments"]);
            v
        };
        let Some(api) = r.typed_filled::<Api>(&api_path, v, filled, canonical) else {
            continue;
        };
        spec.api = api;
        spec.deployments.sort();
        out.push(Obj::api(spec));
    }
    if !r.errors.is_empty() {
        return Err(ApiError::BadRequest {
            message: format!(
                "The configuration has {} problem(s); nothing was changed",
                r.errors.len()
            ),
            errors: r.errors,
        });
    }
    // Dependencies first: policies and key managers, APIs before products, then applications.
    out.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.name.cmp(&b.name)));
    let mut seen = BTreeSet::new();
    for o in &out {
        if !seen.insert(o.key()) {
            r.err(&o.path, format!("{} is defined twice", o.name));
        }
    }
    if !r.errors.is_empty() {
        return Err(ApiError::BadRequest {
            message: "The configuration defines an object twice; nothing was changed".into(),
            errors: r.errors,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_safe_characters() {
        assert_eq!(slug("PizzaShack API"), "PizzaShack_API");
        assert_eq!(slug("v1.0-beta_2"), "v1.0-beta_2");
        assert_eq!(slug("../etc"), "_.._etc");
        assert_eq!(slug(""), "_");
    }

    #[test]
    fn lifecycle_paths_take_the_fewest_events() {
        assert_eq!(lifecycle_path("CREATED", "CREATED"), Some(vec![]));
        assert_eq!(
            lifecycle_path("CREATED", "PUBLISHED"),
            Some(vec!["Publish"])
        );
        assert_eq!(
            lifecycle_path("CREATED", "RETIRED"),
            Some(vec!["Publish", "Deprecate", "Retire"])
        );
        assert_eq!(lifecycle_path("RETIRED", "PUBLISHED"), None);
    }

    #[test]
    fn unknown_fields_are_found_at_any_depth() {
        let input = serde_json::json!({"name": "a", "nmae": 1, "keys": [{"keyType": "X", "secret": 2}], "x": null});
        let canon = serde_json::json!({"name": "a", "keys": [{"keyType": "X"}]});
        let mut out = vec![];
        unknown_fields(&input, &canon, "", &mut out);
        assert_eq!(out, vec!["nmae", "keys[0].secret"]);
    }

    #[test]
    fn selection_reads_name_version_pairs() {
        let s = Selection::parse(Some("Pizza:1.0.0, Other API:v2")).unwrap();
        assert!(s.wants("Pizza", "1.0.0") && s.wants("Other API", "v2"));
        assert!(!s.wants("Pizza", "2.0.0"));
        assert!(Selection::parse(Some("nope")).is_err());
        assert!(Selection::parse(None).unwrap().wants("any", "1"));
    }

    #[test]
    fn bad_files_are_all_named_and_nothing_is_read() {
        let mut b = Bundle::default();
        b.files.insert(
            "applications/alice/App.yaml".into(),
            "name: App\nowner: bob\nthrottlingPolicy: Unlimited\nkeys: []\nsubscriptions: []\ncolour: red\n".into(),
        );
        b.files.insert(
            "throttling/application/Gold.yaml".into(),
            "policyName: [".into(),
        );
        b.files.insert("notes.txt".into(), "hello".into());
        b.files.insert(
            "apis/Pizza-1.0.0/definition.yaml".into(),
            "openapi: 3.0.1".into(),
        );
        let Err(ApiError::BadRequest { errors, .. }) = parse_bundle(&b) else {
            panic!("must be refused");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
        assert!(fields.contains(&"notes.txt"), "{fields:?}");
        assert!(
            fields.contains(&"throttling/application/Gold.yaml"),
            "{fields:?}"
        );
        assert!(fields.contains(&"apis/Pizza-1.0.0/api.yaml"), "{fields:?}");
        assert!(
            fields
                .iter()
                .any(|f| f.starts_with("applications/alice/App.yaml")),
            "{fields:?}"
        );
    }

    #[test]
    fn an_application_file_round_trips() {
        let spec = AppSpec {
            name: "Shop".into(),
            owner: "alice".into(),
            description: "two\nlines".into(),
            throttling_policy: "10PerMin".into(),
            token_type: "JWT".into(),
            attributes: Map::new(),
            keys: vec![KeySpec {
                key_manager: "Resident Key Manager".into(),
                key_type: "PRODUCTION".into(),
                mode: "CREATED".into(),
                consumer_key: "abcdefgh12345678".into(),
                consumer_secret: Some("never written".into()),
                supported_grant_types: vec!["client_credentials".into()],
                callback_url: None,
                validity_seconds: 3600,
            }],
            subscriptions: vec![],
        };
        let o = Obj::application(spec.clone());
        let b = bundle_of(&[o]);
        let text = &b.files["applications/alice/Shop.yaml"];
        assert!(!text.contains("never written"), "{text}");
        let back = parse_bundle(&b).unwrap();
        let Spec::Application(a) = &back[0].spec else {
            panic!()
        };
        assert_eq!(a.keys[0].consumer_secret, None);
        assert_eq!(
            AppSpec {
                keys: vec![KeySpec {
                    consumer_secret: None,
                    ..spec.keys[0].clone()
                }],
                ..spec
            },
            **a
        );
    }
}
