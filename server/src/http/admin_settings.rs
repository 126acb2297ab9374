//! REST for the Admin portal's settings (`server/src/admin_settings.rs`):
//! - Admin v4 `/api-categories` (WSO2's), and the Publisher's and Developer Portal's read-only
//!   `/api-categories`;
//! - Admin v4 `/system-scopes` (the scope-role mapping), `/system-scopes/{scopeName}?username=`
//!   and `/system-scopes/role-aliases` (WSO2's);
//! - ours: `/organization-settings` (WSO2 keeps these in `tenant-conf.json`) and
//!   `/organizations` (super admin; WSO2's tenants are managed outside the REST APIs).

use app::settings::{ApiCategory, NewOrganization, OrgSettings, RoleAlias};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::caller::Caller;
use super::rest::{ADMIN, DEVPORTAL, PUBLISHER};
use crate::AppState;
use crate::admin_settings::{AdminSettings, SCOPE_SCOPES};
use crate::error::{ApiError, AppJson};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{ADMIN}/api-categories"),
            get(categories).post(create_category),
        )
        .route(
            &format!("{ADMIN}/api-categories/{{category_id}}"),
            put(update_category).delete(delete_category),
        )
        .route(
            &format!("{PUBLISHER}/api-categories"),
            get(publisher_categories),
        )
        .route(
            &format!("{DEVPORTAL}/api-categories"),
            get(devportal_categories),
        )
        .route(
            &format!("{ADMIN}/organization-settings"),
            get(org_settings).put(save_org_settings),
        )
        .route(
            &format!("{ADMIN}/organizations"),
            get(organizations).post(create_organization),
        )
        .route(
            &format!("{ADMIN}/organizations/{{name}}"),
            put(update_organization),
        )
        .route(
            &format!("{ADMIN}/system-scopes"),
            get(system_scopes).put(update_system_scopes),
        )
        .route(
            &format!("{ADMIN}/system-scopes/role-aliases"),
            get(role_aliases).put(save_role_aliases),
        )
        .route(
            &format!("{ADMIN}/system-scopes/{{scope_name}}"),
            get(scope_of_user),
        )
}

fn service(state: &AppState) -> AdminSettings<'_> {
    AdminSettings {
        db: &state.db,
        super_organization: &state.settings.auth.default_organization,
        km: &state.km,
    }
}

fn list<T: Serialize>(items: Vec<T>) -> Json<Value> {
    Json(json!({ "count": items.len(), "list": items }))
}

fn created(location: String, body: impl Serialize) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

// ----- API categories -------------------------------------------------------------------------

async fn categories(State(st): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(list(service(&st).categories(&caller).await?))
}

async fn create_category(
    State(st): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<ApiCategory>,
) -> Result<Response, ApiError> {
    let c = service(&st).create_category(&caller, body).await?;
    Ok(created(format!("{ADMIN}/api-categories/{}", c.id), c))
}

async fn update_category(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<ApiCategory>,
) -> Result<Json<ApiCategory>, ApiError> {
    Ok(Json(
        service(&st).update_category(&caller, &id, body).await?,
    ))
}

async fn delete_category(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service(&st).delete_category(&caller, &id).await?;
    Ok(StatusCode::OK)
}

/// Publisher v4 `GET /api-categories` (WSO2: `apim:api_view`, `apim:api_manage`): the picker
/// of the API settings form.
async fn publisher_categories(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(crate::publisher::VIEW_SCOPES)?;
    Ok(list(
        service(&st).category_list(&caller.organization).await?,
    ))
}

/// DevPortal v3 `GET /api-categories`: public, like the catalogue; anonymous visitors see the
/// default organization's.
async fn devportal_categories(
    State(st): State<AppState>,
    caller: Option<Caller>,
) -> Result<Json<Value>, ApiError> {
    let org = caller
        .map(|c| c.organization)
        .unwrap_or_else(|| st.settings.auth.default_organization.clone());
    // DevPortal's `APICategory` has no `numberOfAPIs` (it would count APIs the caller may not
    // see).
    let items: Vec<Value> = service(&st)
        .category_list(&org)
        .await?
        .into_iter()
        .map(|c| json!({ "id": c.id, "name": c.name, "description": c.description }))
        .collect();
    Ok(list(items))
}

// ----- The organization's settings and organizations ------------------------------------------

async fn org_settings(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<OrgSettings>, ApiError> {
    Ok(Json(service(&st).settings(&caller).await?))
}

async fn save_org_settings(
    State(st): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<OrgSettings>,
) -> Result<Json<OrgSettings>, ApiError> {
    Ok(Json(service(&st).save_settings(&caller, body).await?))
}

async fn organizations(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    Ok(list(service(&st).organizations(&caller).await?))
}

async fn create_organization(
    State(st): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<NewOrganization>,
) -> Result<Response, ApiError> {
    let o = service(&st).create_organization(&caller, body).await?;
    Ok(created(format!("{ADMIN}/organizations/{}", o.name), o))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationUpdate {
    display_name: Option<String>,
    enabled: Option<bool>,
}

async fn update_organization(
    State(st): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    AppJson(body): AppJson<OrganizationUpdate>,
) -> Result<Response, ApiError> {
    let o = service(&st)
        .set_organization(&caller, &name, body.display_name, body.enabled)
        .await?;
    Ok(Json(o).into_response())
}

// ----- System scopes ---------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct ScopeRoles {
    #[serde(default)]
    tag: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Deserialize)]
struct ScopeList {
    list: Vec<ScopeRoles>,
}

/// `GET /system-scopes`: every scope with the roles that grant it in the caller's
/// organization.
async fn system_scopes(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(SCOPE_SCOPES)?;
    let rows: Vec<(String, String, String, Vec<String>)> = sqlx::query_as(
        "SELECT sc.tag, sc.name, sc.description,
                ARRAY(SELECT r.name FROM role_scope rs
                        JOIN role r ON r.id = rs.role_id
                        JOIN organization o ON o.id = r.organization_id
                       WHERE rs.scope_name = sc.name AND o.name = $1 ORDER BY r.name)
           FROM scope sc ORDER BY sc.tag, sc.name",
    )
    .bind(&caller.organization)
    .fetch_all(&st.db)
    .await?;
    Ok(list(
        rows.into_iter()
            .map(|(tag, name, description, roles)| ScopeRoles {
                tag,
                name,
                description,
                roles,
            })
            .collect(),
    ))
}

/// `PUT /system-scopes`: the listed scopes get exactly the listed roles; the new mapping back.
async fn update_system_scopes(
    State(st): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<ScopeList>,
) -> Result<Json<Value>, ApiError> {
    let plan = body.list.into_iter().map(|s| (s.name, s.roles)).collect();
    service(&st).set_scope_roles(&caller, plan).await?;
    system_scopes(State(st), caller).await
}

#[derive(Deserialize)]
struct UsernameQuery {
    username: Option<String>,
}

/// `GET /system-scopes/{scopeName}?username=`: 200 `{name}` when the user holds the scope
/// (through their roles or role aliases), 404 when not. WSO2 sends the scope name base64url
/// encoded (`YXBpbTpzdWJzY3JpYmU`); a plain `apim:…` name works too.
async fn scope_of_user(
    State(st): State<AppState>,
    caller: Caller,
    Path(scope): Path<String>,
    Query(q): Query<UsernameQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(SCOPE_SCOPES)?;
    let username = q
        .username
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::field("username", "is required"))?;
    let scope = if scope.contains(':') {
        scope
    } else {
        decode_scope(&scope).ok_or_else(|| {
            ApiError::field("scopeName", "is neither a scope name nor base64 of one")
        })?
    };
    let user: Option<uuid::Uuid> = sqlx::query_scalar(
        "SELECT u.id FROM app_user u JOIN organization o ON o.id = u.organization_id
          WHERE o.name = $1 AND u.username = $2",
    )
    .bind(&caller.organization)
    .bind(&username)
    .fetch_optional(&st.db)
    .await?;
    let user = user.ok_or_else(|| ApiError::NotFound(format!("User {username} not found")))?;
    let holds = crate::auth::users::current_user(&st.db, user)
        .await?
        .is_some_and(|u| u.scopes.contains(&scope));
    if !holds {
        return Err(ApiError::NotFound(format!(
            "{username} does not hold the scope {scope}"
        )));
    }
    Ok(Json(json!({ "name": scope })))
}

fn decode_scope(b64: &str) -> Option<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let trimmed = b64.trim_end_matches('=');
    let bytes = URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD.decode(b64))
        .ok()?;
    String::from_utf8(bytes).ok().filter(|s| s.contains(':'))
}

#[derive(Deserialize)]
struct RoleAliasList {
    list: Vec<RoleAlias>,
}

async fn role_aliases(State(st): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(list(service(&st).role_aliases(&caller).await?))
}

async fn save_role_aliases(
    State(st): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<RoleAliasList>,
) -> Result<Json<Value>, ApiError> {
    Ok(list(
        service(&st).save_role_aliases(&caller, body.list).await?,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn wso2_sends_scope_names_in_base64() {
        assert_eq!(
            super::decode_scope("YXBpbTpzdWJzY3JpYmU").as_deref(),
            Some("apim:subscribe")
        );
        assert_eq!(super::decode_scope("not base64!"), None);
    }
}
