//! Admin v4 `/throttling/policies/application`, `/subscription` and `/advanced` (list, add,
//! get, update, delete; WSO2's `ApplicationThrottlePolicy` / `SubscriptionThrottlePolicy` /
//! `AdvancedThrottlePolicy`), Publisher v4 `GET /throttling-policies/{api|subscription}`, deny
//! policies, and the Publisher's catalogue of mediation policies
//! (`GET /operation-policies`, WSO2's `OperationPolicyDataList`).

use app::throttling::{APPLICATION, AdvancedThrottlePolicy, SUBSCRIPTION, ThrottlePolicy};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::caller::Caller;
use super::rest::{ADMIN, DEVPORTAL, PUBLISHER};
use crate::AppState;
use crate::error::{ApiError, AppJson};
use crate::throttling::Throttling;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{PUBLISHER}/operation-policies"),
            get(operation_policies),
        )
        .route(
            &format!("{ADMIN}/throttling/policies/application"),
            get(list::<false>).post(create::<false>),
        )
        .route(
            &format!("{ADMIN}/throttling/policies/application/{{policy_id}}"),
            get(one::<false>)
                .put(update::<false>)
                .delete(remove::<false>),
        )
        .route(
            &format!("{ADMIN}/throttling/policies/subscription"),
            get(list::<true>).post(create::<true>),
        )
        .route(
            &format!("{ADMIN}/throttling/policies/subscription/{{policy_id}}"),
            get(one::<true>).put(update::<true>).delete(remove::<true>),
        )
        .route(
            &format!("{ADMIN}/throttling/policies/advanced"),
            get(advanced_list).post(advanced_create),
        )
        .route(
            &format!("{ADMIN}/throttling/policies/advanced/{{policy_id}}"),
            get(advanced_one)
                .put(advanced_update)
                .delete(advanced_remove),
        )
        .route(
            &format!("{PUBLISHER}/throttling-policies/{{policy_level}}"),
            get(publisher_list),
        )
        .route(
            &format!("{DEVPORTAL}/throttling-policies/{{policy_level}}"),
            get(devportal_list),
        )
        .route(
            &format!("{ADMIN}/throttling/deny-policies"),
            get(deny_list).post(deny_create),
        )
        .route(
            &format!("{ADMIN}/throttling/deny-policy/{{condition_id}}"),
            get(deny_one).patch(deny_patch).delete(deny_delete),
        )
}

async fn deny_list(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let items = service(&s).deny_list(&caller).await?;
    Ok(Json(json!({ "count": items.len(), "list": items })))
}

async fn deny_create(
    State(s): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<app::throttling::BlockingCondition>,
) -> Result<Response, ApiError> {
    let c = service(&s).deny_create(&caller, body).await?;
    let location = format!("{ADMIN}/throttling/deny-policy/{}", c.condition_id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(c)).into_response())
}

async fn deny_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<app::throttling::BlockingCondition>, ApiError> {
    Ok(Json(service(&s).deny_get(&caller, &id).await?))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DenyStatus {
    condition_status: bool,
}

async fn deny_patch(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<DenyStatus>,
) -> Result<Json<app::throttling::BlockingCondition>, ApiError> {
    Ok(Json(
        service(&s)
            .deny_set_status(&caller, &id, body.condition_status)
            .await?,
    ))
}

async fn deny_delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service(&s).deny_delete(&caller, &id).await?;
    Ok(StatusCode::OK)
}

/// DevPortal v3 `GET /throttling-policies/{policyLevel}`: public, like the catalogue
/// (anonymous visitors see the default organization's).
async fn devportal_list(
    State(s): State<AppState>,
    caller: Option<Caller>,
    Path(level): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let org = caller
        .map(|c| c.organization)
        .unwrap_or_else(|| s.settings.auth.default_organization.clone());
    let items = crate::throttling::devportal_list(&s.db, &org, &level).await?;
    Ok(Json(json!({ "count": items.len(), "list": items })))
}

async fn advanced_list(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let items = service(&s).advanced_list(&caller).await?;
    // WSO2's list holds `AdvancedThrottlePolicyInfo`: no conditional groups.
    let list: Vec<Value> = items
        .iter()
        .map(|p| {
            json!({
                "policyId": p.policy_id, "policyName": p.policy_name,
                "displayName": p.display_name, "description": p.description,
                "isDeployed": p.is_deployed, "type": p.kind,
                "defaultLimit": p.default_limit, "builtIn": p.built_in,
                "conditionalGroupCount": p.conditional_groups.len(),
            })
        })
        .collect();
    Ok(Json(json!({ "count": list.len(), "list": list })))
}

async fn advanced_create(
    State(s): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<AdvancedThrottlePolicy>,
) -> Result<Response, ApiError> {
    let p = service(&s).advanced_create(&caller, body).await?;
    let location = format!("{ADMIN}/throttling/policies/advanced/{}", p.policy_id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(p)).into_response())
}

async fn advanced_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AdvancedThrottlePolicy>, ApiError> {
    Ok(Json(service(&s).advanced_get(&caller, &id).await?))
}

async fn advanced_update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<AdvancedThrottlePolicy>,
) -> Result<Json<AdvancedThrottlePolicy>, ApiError> {
    Ok(Json(service(&s).advanced_update(&caller, &id, body).await?))
}

async fn advanced_remove(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service(&s).advanced_delete(&caller, &id).await?;
    Ok(StatusCode::OK)
}

/// Publisher v4 `GET /throttling-policies/{policyLevel}` (WSO2: `apim:api_view` or the tier
/// scopes): `subscription` tiers an API may offer, `api` the advanced policies its operations
/// and the API itself may name.
async fn publisher_list(
    State(s): State<AppState>,
    caller: Caller,
    Path(level): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(crate::publisher::VIEW_SCOPES)?;
    let items: Vec<Value> = match level.as_str() {
        "api" => crate::throttling::advanced::names(&s.db, &caller.organization)
            .await?
            .into_iter()
            .map(|name| {
                json!({"name": name, "displayName": name, "policyLevel": "api",
                       "attributes": {}, "quotaPolicyType": "REQUESTCOUNT"})
            })
            .collect(),
        "subscription" => {
            crate::throttling::devportal_list(&s.db, &caller.organization, SUBSCRIPTION).await?
        }
        other => {
            return Err(ApiError::NotFound(format!(
                "No {other} policies; use api or subscription"
            )));
        }
    };
    Ok(Json(json!({ "count": items.len(), "list": items })))
}

fn service(s: &AppState) -> Throttling<'_> {
    Throttling { db: &s.db }
}

/// `S`: subscription (true) or application (false) policies.
fn level<const S: bool>() -> &'static str {
    if S { SUBSCRIPTION } else { APPLICATION }
}

async fn list<const S: bool>(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let items = service(&s).list(&caller, level::<S>()).await?;
    Ok(Json(json!({ "count": items.len(), "list": items })))
}

async fn create<const S: bool>(
    State(s): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<ThrottlePolicy>,
) -> Result<Response, ApiError> {
    let p = service(&s).create(&caller, level::<S>(), body).await?;
    let location = format!(
        "{ADMIN}/throttling/policies/{}/{}",
        level::<S>(),
        p.policy_id
    );
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(p)).into_response())
}

async fn one<const S: bool>(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ThrottlePolicy>, ApiError> {
    Ok(Json(service(&s).get(&caller, level::<S>(), &id).await?))
}

async fn update<const S: bool>(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<ThrottlePolicy>,
) -> Result<Json<ThrottlePolicy>, ApiError> {
    Ok(Json(
        service(&s).update(&caller, level::<S>(), &id, body).await?,
    ))
}

async fn remove<const S: bool>(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service(&s).delete(&caller, level::<S>(), &id).await?;
    Ok(StatusCode::OK)
}

/// Publisher v4 `GET /operation-policies` (WSO2: `apim:api_view`, `apim:mediation_policy_view`):
/// the built-in mediation policies with each parameter's type, in WSO2's
/// `OperationPolicyDataList` shape.
async fn operation_policies(caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(crate::publisher::VIEW_SCOPES)?;
    use gateway::policy::{CATALOGUE, Flow, ParamType};
    let list: Vec<Value> = CATALOGUE
        .iter()
        .map(|p| {
            let flows: Vec<&str> = p
                .flows
                .iter()
                .map(|f| match f {
                    Flow::Request => "request",
                    Flow::Response => "response",
                    Flow::Fault => "fault",
                })
                .collect();
            let attributes: Vec<Value> = p
                .parameters
                .iter()
                .map(|a| {
                    let kind = match a.kind {
                        ParamType::Status | ParamType::Count => "Integer",
                        ParamType::Method => "Enum",
                        ParamType::Bool => "Boolean",
                        ParamType::JsonSchema => "JSON",
                        _ => "String",
                    };
                    let mut v = json!({
                        "name": a.name,
                        "displayName": a.name,
                        "description": a.description,
                        "type": kind,
                        "required": a.required,
                    });
                    // Ours: what the text must be, for forms that check before saving.
                    v["format"] = json!(a.kind);
                    if a.kind == ParamType::Method {
                        v["allowedValues"] =
                            json!(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);
                    }
                    v
                })
                .collect();
            json!({
                "id": p.name,
                "category": "Mediation",
                "name": p.name,
                "displayName": p.display_name,
                "version": "v1",
                "description": p.description,
                "applicableFlows": flows,
                "supportedGateways": ["Gatehouse"],
                "supportedApiTypes": ["HTTP"],
                "isAPISpecific": false,
                "policyAttributes": attributes,
            })
        })
        .collect();
    Ok(Json(json!({
        "count": list.len(),
        "list": list,
        "pagination": {"offset": 0, "limit": list.len(), "total": list.len()},
    })))
}
