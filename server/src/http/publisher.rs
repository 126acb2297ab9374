//! Publisher v4 REST operations for APIs and API products (WSO2's paths, parameters and field
//! names), the admin's owner change, environments, and the runtime snapshot gateways fetch.
//! Each handler turns the request into a call of `publisher::Publisher`.

use app::auth::scopes as s;
use app::publisher::{Api, Deployment};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::caller::Caller;
use super::rest::{ADMIN, PUBLISHER};
use crate::AppState;
use crate::error::{ApiError, AppJson};
use crate::publisher::apis::{self, ListQuery};
use crate::publisher::openapi::{self, Definition, Problem};
use crate::publisher::{Actor, Publisher, fetch};

pub fn router(state: &AppState) -> Router<AppState> {
    let p = |path: &str| format!("{PUBLISHER}{path}");
    let limit = state.settings.publisher.max_definition_bytes + 64 * 1024;
    let mut r = Router::new()
        .route(&p("/apis/validate-openapi"), post(validate_openapi))
        .route(&p("/apis/import-openapi"), post(import_openapi))
        .route(&p("/apis/copy-api"), post(copy_item::<false>))
        .route(
            &p("/apis/change-lifecycle"),
            post(change_lifecycle::<false>),
        )
        .route(
            &p("/apis/{api_id}/swagger"),
            get(get_definition).put(put_definition),
        )
        .route(&p("/apis/{api_id}/change-provider"), post(change_provider))
        .route(
            &p("/api-products/copy-api-products"),
            post(copy_item::<true>),
        )
        .route(
            &p("/api-products/change-lifecycle"),
            post(change_lifecycle::<true>),
        );
    r = item_routes::<false>(r);
    r = item_routes::<true>(r);
    r.route(&p("/environments"), get(environments))
        .route(
            &format!("{ADMIN}/environments"),
            get(environments).post(create_environment),
        )
        .route(
            &format!("{ADMIN}/environments/{{environment_id}}"),
            axum::routing::put(update_environment).delete(delete_environment),
        )
        .route(
            &format!("{ADMIN}/apis/{{api_id}}/change-provider"),
            post(change_provider),
        )
        .route(
            "/api/am/gateway/v1/environments/{name}/snapshot",
            get(snapshot),
        )
        .route(
            "/api/am/gateway/v1/environments/{name}/diagnostics",
            axum::routing::put(put_diagnostics),
        )
        .route(
            &format!("{ADMIN}/environments/{{environment_id}}/gateways/diagnostics"),
            get(get_diagnostics),
        )
        .layer(DefaultBodyLimit::max(limit))
}

/// The operations APIs and API products share, under `/apis` or `/api-products`.
fn item_routes<const P: bool>(r: Router<AppState>) -> Router<AppState> {
    let base = format!("{PUBLISHER}/{}", kind_path::<P>());
    let item = format!("{base}/{{api_id}}");
    r.route(&base, get(list_items::<P>).post(create_item::<P>))
        .route(
            &item,
            get(get_item::<P>)
                .put(update_item::<P>)
                .delete(delete_item::<P>),
        )
        .route(&format!("{item}/lifecycle-history"), get(history::<P>))
        .route(
            &format!("{item}/lifecycle-state"),
            get(lifecycle_state::<P>),
        )
        .route(
            &format!("{item}/lifecycle-state/pending-tasks"),
            axum::routing::delete(cancel_state_change::<P>),
        )
        .route(
            &format!("{item}/revisions"),
            get(revisions::<P>).post(create_revision::<P>),
        )
        .route(
            &format!("{item}/revisions/{{revision_id}}"),
            get(revision::<P>).delete(delete_revision::<P>),
        )
        .route(
            &format!("{item}/restore-revision"),
            post(restore_revision::<P>),
        )
        .route(&format!("{item}/deployments"), get(deployments::<P>))
        .route(
            &format!("{item}/kubernetes-resources"),
            get(kubernetes_resources::<P>),
        )
        .route(&format!("{item}/deploy-revision"), post(deploy::<P>))
        .route(&format!("{item}/undeploy-revision"), post(undeploy::<P>))
        .route(
            &format!("{item}/cancel-revision-workflow/{{revision_id}}/{{env_name}}"),
            post(cancel_deployment::<P>),
        )
}

fn service(state: &AppState) -> Publisher {
    Publisher::new(state.db.clone(), state.settings.publisher.clone())
}

fn created(location: String, body: impl serde::Serialize) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

fn list<T: serde::Serialize>(items: Vec<T>) -> Json<Value> {
    Json(json!({ "count": items.len(), "list": items }))
}

// ----- definitions in: multipart `file`, `url`, `inlineAPIDefinition` / `apiDefinition` --------

#[derive(Default)]
struct DefinitionForm {
    content: Option<Bytes>,
    url: Option<String>,
    additional: Option<String>,
}

async fn read_form(mut form: Multipart) -> Result<DefinitionForm, ApiError> {
    let mut out = DefinitionForm::default();
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::field(
            "body",
            format!("unreadable multipart body: {}", e.body_text()),
        )
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" | "inlineAPIDefinition" | "apiDefinition" => {
                let bytes = field.bytes().await.map_err(bad)?;
                if !bytes.iter().all(u8::is_ascii_whitespace) {
                    out.content = Some(bytes);
                }
            }
            "url" => {
                let text = field.text().await.map_err(bad)?;
                if !text.trim().is_empty() {
                    out.url = Some(text.trim().to_string());
                }
            }
            "additionalProperties" => out.additional = Some(field.text().await.map_err(bad)?),
            _ => {}
        }
    }
    Ok(out)
}

/// Reads the definition from the form (file, inline text or URL) and parses it on a worker
/// thread: a 10 MB document must not stall the server's async threads.
async fn parse_form(
    state: &AppState,
    form: &DefinitionForm,
) -> Result<Result<Definition, Vec<Problem>>, ApiError> {
    let settings = &state.settings.publisher;
    let bytes = match (&form.content, &form.url) {
        (Some(b), _) => b.clone(),
        (None, Some(url)) => {
            fetch::fetch(
                url,
                settings.max_definition_bytes,
                std::time::Duration::from_secs(settings.fetch_timeout_seconds),
            )
            .await?
        }
        (None, None) => {
            return Err(ApiError::field(
                "file",
                "send the definition as `file`, `inlineAPIDefinition` or `url`",
            ));
        }
    };
    if bytes.len() > settings.max_definition_bytes {
        return Err(ApiError::field(
            "file",
            format!("larger than {} bytes", settings.max_definition_bytes),
        ));
    }
    tokio::task::spawn_blocking(move || openapi::parse(&bytes))
        .await
        .map_err(|e| ApiError::Anyhow(anyhow::anyhow!("definition parser failed: {e}")))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ValidateQuery {
    return_content: bool,
}

/// `POST /apis/validate-openapi`: 200 with `isValid` and the problems either way.
async fn validate_openapi(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ValidateQuery>,
    form: Multipart,
) -> Result<Json<Value>, ApiError> {
    caller.require(crate::publisher::CREATE_SCOPES)?;
    let form = read_form(form).await?;
    let result = parse_form(&state, &form).await?;
    Ok(Json(json!(apis::validation_response(
        &result,
        q.return_content
    ))))
}

/// `POST /apis/import-openapi`.
async fn import_openapi(
    State(state): State<AppState>,
    actor: Caller,
    form: Multipart,
) -> Result<Response, ApiError> {
    actor.require(crate::publisher::CREATE_SCOPES)?;
    let form = read_form(form).await?;
    let additional =
        match form.additional.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(serde_json::from_str::<Value>(text).map_err(|e| {
                ApiError::field("additionalProperties", format!("is not JSON: {e}"))
            })?),
        };
    let def = parse_form(&state, &form)
        .await?
        .map_err(apis::definition_error)?;
    let api = service(&state).import(&actor, def, additional).await?;
    let id = api.id.clone().unwrap_or_default();
    Ok(created(format!("{PUBLISHER}/apis/{id}"), api))
}

async fn get_definition(
    State(state): State<AppState>,
    caller: Caller,
    Path(api_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(service(&state).definition(&caller, &api_id).await?))
}

/// `PUT /apis/{id}/swagger` (multipart `apiDefinition`, `url` or `file`).
async fn put_definition(
    State(state): State<AppState>,
    actor: Caller,
    Path(api_id): Path<String>,
    form: Multipart,
) -> Result<Json<Value>, ApiError> {
    let form = read_form(form).await?;
    let def = parse_form(&state, &form)
        .await?
        .map_err(apis::definition_error)?;
    Ok(Json(
        service(&state)
            .replace_definition(&actor, &api_id, def)
            .await?,
    ))
}

// ----- APIs and API products: one handler each, `P` = product ------------------------------

fn kind_path<const P: bool>() -> &'static str {
    if P { "api-products" } else { "apis" }
}

fn location<const P: bool>(id: &str) -> String {
    format!("{PUBLISHER}/{}/{id}", kind_path::<P>())
}

async fn list_items<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let page = service(&state).list(&caller, &q, P).await?;
    Ok(Json(json!(page)))
}

async fn create_item<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(api): AppJson<Api>,
) -> Result<Response, ApiError> {
    let api = service(&state).create(&caller, api, None, P).await?;
    let id = api.id.clone().unwrap_or_default();
    Ok(created(location::<P>(&id), api))
}

async fn get_item<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Api>, ApiError> {
    Ok(Json(service(&state).get(&caller, &id, P).await?))
}

async fn update_item<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(api): AppJson<Api>,
) -> Result<Json<Api>, ApiError> {
    Ok(Json(service(&state).update(&caller, &id, api, P).await?))
}

async fn delete_item<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service(&state).delete(&caller, &id, P).await?;
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CopyQuery {
    new_version: Option<String>,
    #[serde(default, alias = "isDefaultVersion")]
    default_version: bool,
    api_id: Option<String>,
    api_product_id: Option<String>,
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, ApiError> {
    value
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::field(field, "is required"))
}

/// `apiId` for APIs, `apiProductId` for products (WSO2's query parameters).
fn target_id<'a, const P: bool>(
    api_id: &'a Option<String>,
    product_id: &'a Option<String>,
) -> Result<&'a str, ApiError> {
    if P {
        required(product_id, "apiProductId")
    } else {
        required(api_id, "apiId")
    }
}

/// `POST /apis/copy-api`, `POST /api-products/copy-api-products`.
async fn copy_item<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<CopyQuery>,
) -> Result<Response, ApiError> {
    let id = target_id::<P>(&q.api_id, &q.api_product_id)?;
    let version = required(&q.new_version, "newVersion")?;
    let api = service(&state)
        .copy(&caller, id, version, q.default_version, P)
        .await?;
    let new_id = api.id.clone().unwrap_or_default();
    Ok(created(location::<P>(&new_id), api))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LifecycleQuery {
    action: Option<String>,
    #[serde(default)]
    lifecycle_checklist: String,
    api_id: Option<String>,
    api_product_id: Option<String>,
}

async fn change_lifecycle<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LifecycleQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = target_id::<P>(&q.api_id, &q.api_product_id)?;
    let action = required(&q.action, "action")?;
    Ok(Json(
        service(&state)
            .change_lifecycle(&caller, id, action, &q.lifecycle_checklist, P)
            .await?,
    ))
}

async fn history<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let items = service(&state).lifecycle_history(&caller, &id, P).await?;
    Ok(list(items))
}

async fn lifecycle_state<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let st = service(&state).lifecycle_state(&caller, &id, P).await?;
    Ok(Json(json!(st)))
}

/// `DELETE …/lifecycle-state/pending-tasks`: withdraws the state change waiting for approval.
async fn cancel_state_change<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service(&state).cancel_state_change(&caller, &id, P).await?;
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
struct ProviderQuery {
    provider: Option<String>,
}

async fn change_provider(
    State(state): State<AppState>,
    caller: Caller,
    Path(api_id): Path<String>,
    Query(q): Query<ProviderQuery>,
) -> Result<StatusCode, ApiError> {
    let provider = required(&q.provider, "provider")?;
    service(&state)
        .change_provider(&caller, &api_id, provider)
        .await?;
    Ok(StatusCode::OK)
}

// ----- revisions and deployments --------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevisionBody {
    description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevisionQuery {
    revision_id: Option<String>,
    #[serde(default)]
    all_environments: bool,
}

fn deployments_body(body: &Bytes) -> Result<Vec<Deployment>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(vec![]);
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::field(
            "body",
            format!("expected [{{\"name\": \"Default\", \"vhost\": \"localhost\"}}]: {e}"),
        )
    })
}

async fn revisions<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let items = service(&state).list_revisions(&caller, &id, P).await?;
    Ok(list(items))
}

async fn create_revision<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: RevisionBody = if body.iter().all(u8::is_ascii_whitespace) {
        RevisionBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::field("body", format!("expected {{\"description\": \"…\"}}: {e}"))
        })?
    };
    let rev = service(&state)
        .create_revision(&caller, &id, &body.description, P)
        .await?;
    Ok(created(
        format!("{}/revisions/{}", location::<P>(&id), rev.id),
        rev,
    ))
}

async fn revision<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, revision_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let r = service(&state)
        .get_revision(&caller, &id, &revision_id, P)
        .await?;
    Ok(Json(json!(r)))
}

async fn delete_revision<const P: bool>(
    State(state): State<AppState>,
    actor: Caller,
    Path((id, revision_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let svc = service(&state);
    svc.delete_revision(&actor, &id, &revision_id, P).await?;
    Ok(list(svc.list_revisions(&actor, &id, P).await?))
}

async fn restore_revision<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<RevisionQuery>,
) -> Result<Response, ApiError> {
    let rid = required(&q.revision_id, "revisionId")?;
    let api = service(&state)
        .restore_revision(&caller, &id, rid, P)
        .await?;
    Ok(created(location::<P>(&id), api))
}

async fn deployments<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = service(&state).deployments(&caller, &id, P).await?;
    Ok(list(d))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KubernetesQuery {
    environment: Option<String>,
    gateway_name: Option<String>,
    gateway_namespace: Option<String>,
}

/// Ours (the APK direction of 4.3): `GET …/apis/{apiId}/kubernetes-resources?environment=…`
/// — the revision deployed to a `kubernetes` environment as Gateway API resources (YAML, a
/// download).
async fn kubernetes_resources<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<KubernetesQuery>,
) -> Result<Response, ApiError> {
    let environment = required(&q.environment, "environment")?;
    let yaml = service(&state)
        .kubernetes_resources(
            &caller,
            &id,
            environment,
            q.gateway_name.as_deref().filter(|s| !s.is_empty()),
            q.gateway_namespace.as_deref().filter(|s| !s.is_empty()),
            P,
        )
        .await?;
    let file = format!(
        "{}-{}.yaml",
        crate::publisher::kubernetes::label(&id, 40),
        crate::publisher::kubernetes::label(environment, 20)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/yaml".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        yaml,
    )
        .into_response())
}

async fn deploy<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<RevisionQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let rid = required(&q.revision_id, "revisionId")?;
    let d = service(&state)
        .deploy(&caller, &id, rid, deployments_body(&body)?, P)
        .await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

async fn undeploy<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<RevisionQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let rid = required(&q.revision_id, "revisionId")?;
    let d = service(&state)
        .undeploy(
            &caller,
            &id,
            rid,
            deployments_body(&body)?,
            q.all_environments,
            P,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

/// Withdraws a deployment that waits for approval.
async fn cancel_deployment<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, revision, environment)): Path<(String, String, String)>,
) -> Result<Json<Vec<Deployment>>, ApiError> {
    Ok(Json(
        service(&state)
            .cancel_deployment(&caller, &id, &revision, &environment, P)
            .await?,
    ))
}

// ----- environments and the gateway feed ------------------------------------------------------

async fn environments(
    State(state): State<AppState>,
    actor: Caller,
) -> Result<Json<Value>, ApiError> {
    let mut allowed = crate::publisher::VIEW_SCOPES.to_vec();
    allowed.extend([s::ENVIRONMENT_READ, s::ENVIRONMENT_MANAGE, s::ADMIN]);
    actor.require(&allowed)?;
    Ok(list(service(&state).environments().await?))
}

async fn create_environment(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(input): AppJson<app::publisher::EnvironmentInput>,
) -> Result<Response, ApiError> {
    let platform = &state.settings.auth.default_organization;
    let env = service(&state)
        .create_environment(&caller, input, platform)
        .await?;
    Ok(created(format!("{ADMIN}/environments/{}", env.id), env))
}

async fn update_environment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(input): AppJson<app::publisher::EnvironmentInput>,
) -> Result<Json<Value>, ApiError> {
    let env = service(&state)
        .update_environment(
            &caller,
            &id,
            input,
            &state.settings.auth.default_organization,
        )
        .await?;
    Ok(Json(json!(env)))
}

async fn delete_environment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service(&state)
        .delete_environment(&caller, &id, &state.settings.auth.default_organization)
        .await?;
    Ok(StatusCode::OK)
}

/// Gateways present `server.gateway_token`; people and tools a token with
/// `apim:environment_read` (or `apim:admin`).
/// `Ok(true)` for a gateway (its snapshot carries the backend-JWT signing key), `Ok(false)` for
/// a person or tool.
pub(super) fn authorize_gateway(state: &AppState, headers: &HeaderMap) -> Result<bool, ApiError> {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::Unauthorized("Send the gateway token as a Bearer token".into()))?;
    if let Some(expected) = &state.settings.server.gateway_token
        && bool::from(bearer.as_bytes().ct_eq(expected.expose_secret().as_bytes()))
    {
        return Ok(true);
    }
    let claims = state
        .keys
        .verify(bearer)
        .map_err(|_| ApiError::Unauthorized("Invalid gateway or access token".into()))?;
    Actor::from_claims(&claims).require(&[s::ENVIRONMENT_READ, s::ADMIN])?;
    Ok(false)
}

/// A gateway's diagnostics report (its `GET /diagnostics`), sent with the gateway token and
/// `X-Gateway-Id`; kept per gateway for the Admin portal.
async fn put_diagnostics(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    AppJson(report): AppJson<Value>,
) -> Result<StatusCode, ApiError> {
    if !authorize_gateway(&state, &headers)? {
        return Err(ApiError::Forbidden(
            "Only a gateway (with the gateway token) sends diagnostics".into(),
        ));
    }
    let Some(id) = headers
        .get("x-gateway-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
    else {
        return Err(ApiError::field(
            "X-Gateway-Id",
            "The gateway's id is required (host/pid)",
        ));
    };
    if !report.is_object() || report.get("gateway").is_none() {
        return Err(ApiError::field(
            "body",
            "Expected the gateway's diagnostics report (a JSON object with `gateway`)",
        ));
    }
    service(&state)
        .record_diagnostics(&name, id, &report)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiagnosticsQuery {
    gateway_id: Option<String>,
}

/// Admin v4 (Gatehouse): `GET /environments/{environmentId}/gateways/diagnostics?gatewayId=`
/// — a connected gateway's last report; `environmentId` is the id or the name.
async fn get_diagnostics(
    State(state): State<AppState>,
    caller: Caller,
    Path(environment): Path<String>,
    Query(q): Query<DiagnosticsQuery>,
) -> Result<Json<Value>, ApiError> {
    let Some(gateway) = q.gateway_id.filter(|g| !g.trim().is_empty()) else {
        return Err(ApiError::field("gatewayId", "The gateway's id is required"));
    };
    let svc = service(&state);
    let name = svc
        .environments()
        .await?
        .into_iter()
        .find(|e| e.id == environment || e.name == environment)
        .map(|e| e.name)
        .ok_or_else(|| ApiError::NotFound(format!("No gateway environment {environment}")))?;
    match svc.gateway_diagnostics(&caller, &name, &gateway).await? {
        Some(d) => Ok(Json(json!({
            "environment": d.environment,
            "gatewayId": d.gateway_id,
            "reportedAt": d.reported_at,
            "secondsAgo": d.seconds_ago,
            "report": d.report,
        }))),
        None => Err(ApiError::NotFound(format!(
            "Gateway {gateway} has not sent a diagnostics report"
        ))),
    }
}

/// `"42"` from `If-None-Match`.
fn known_version(headers: &HeaderMap) -> Option<i64> {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse()
                .ok()
        })
}

/// `Prefer: wait=N` (RFC 7240), at most 60 s.
fn wait_of(headers: &HeaderMap) -> std::time::Duration {
    let secs = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .find_map(|p| {
            p.trim()
                .strip_prefix("wait=")
                .and_then(|n| n.trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    std::time::Duration::from_secs(secs.min(60))
}

/// The runtime snapshot of one environment, as `gateway --config` reads it. With
/// `If-None-Match: "<version>"` and `Prefer: wait=N` it is a long poll: the answer comes when
/// the environment changes (200) or after N seconds (304), so deployments reach gateways
/// within a fraction of a second.
async fn snapshot(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let is_gateway = authorize_gateway(&state, &headers)?;
    let svc = service(&state);
    let known = known_version(&headers);
    if is_gateway && let Some(id) = headers.get("x-gateway-id").and_then(|v| v.to_str().ok()) {
        // For the Admin portal's list of connected gateways; a failure here must not stop
        // the feed.
        if let Err(e) = svc.record_gateway(&name, id, known).await {
            tracing::warn!(error = %e, "could not record the gateway's contact");
        }
    }
    let deadline = tokio::time::Instant::now() + wait_of(&headers);
    // Subscribed before the first check: a change committed after it wakes the wait below.
    let mut changes = state.changes.subscribe();
    loop {
        let current = svc.environment_version(&name).await?;
        if known != Some(current) {
            break;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            let etag = format!("\"{current}\"");
            return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
        }
        // Woken by a notification from any replica (or, should one be missed, re-checked
        // after a while); then one indexed row tells whether this environment changed.
        let wait = (deadline - now).min(crate::changes::FALLBACK);
        if let Ok(Err(_)) = tokio::time::timeout(wait, changes.changed()).await {
            // The listener is gone: poll.
            tokio::time::sleep(wait.min(std::time::Duration::from_secs(1))).await;
        }
    }
    let mut snap = svc.environment_snapshot(&name).await?;
    state.km.fill_snapshot(&mut snap).await?;
    if !is_gateway {
        snap.backend_jwt_key = None;
    }
    let etag = format!("\"{}\"", snap.version);
    Ok(([(header::ETAG, etag)], Json(snap)).into_response())
}
