//! Portal sign-in, self sign-up and sign-out (`/auth/*`).
//!
//! Browsers post HTML forms (with the CSRF token) and get redirected: to where they were going,
//! or back to the form with `?error=CODE`. Other clients post JSON or forms without asking for
//! HTML and get WSO2's error body with a 4xx.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use uuid::Uuid;

use crate::AppState;
use crate::auth::session::{self, CSRF_COOKIE, SESSION_COOKIE};
use crate::auth::users::Authn;
use crate::auth::{password, secrets, users};
use crate::error::{ApiError, AppForm, AppJson, ResultExt};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/sign-in", post(sign_in))
        .route("/auth/sign-up", post(sign_up))
        .route("/auth/sign-out", post(sign_out))
}

/// A form or JSON body, and whether the client is a browser wanting pages back.
pub struct Input<T> {
    body: T,
    browser: bool,
    form: bool,
    headers: HeaderMap,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Input<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let headers = req.headers().clone();
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let browser = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        let (body, form) = if ctype.starts_with("application/json") {
            (AppJson::<T>::from_request(req, state).await?.0, false)
        } else {
            (AppForm::<T>::from_request(req, state).await?.0, true)
        };
        Ok(Input {
            body,
            browser,
            form,
            headers,
        })
    }
}

impl<T> Input<T> {
    /// Forms must echo the CSRF cookie (double submit); JSON cannot be sent cross-site
    /// without a CORS preflight, which we never grant.
    fn csrf_ok(&self, token: Option<&str>) -> bool {
        if !self.form {
            return true;
        }
        match (session::cookie(&self.headers, CSRF_COOKIE), token) {
            (Some(cookie), Some(sent)) => secrets::ct_eq(cookie.as_bytes(), sent.as_bytes()),
            _ => false,
        }
    }

    /// Refusal: back to the form for browsers, WSO2's error body for the rest.
    fn fail(&self, page: &str, code: &str, err: ApiError, keep: &[(&str, &str)]) -> Response {
        if self.browser && self.form {
            let mut q: Vec<(&str, &str)> = vec![("error", code)];
            q.extend(keep.iter().filter(|(_, v)| !v.is_empty()));
            let query = serde_urlencoded::to_string(q).unwrap_or_default();
            Redirect::to(&format!("{page}?{query}")).into_response()
        } else {
            err.into_response()
        }
    }

    fn user_agent(&self) -> Option<&str> {
        self.headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
    }
}

/// Only local paths, so `next` cannot send users to another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/devportal",
    }
}

fn client_ip(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_string())
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    csrf: Option<String>,
    next: Option<String>,
}

async fn sign_in(State(state): State<AppState>, input: Input<SignInForm>) -> Response {
    let f = &input.body;
    let keep = [
        ("username", f.username.as_str()),
        ("next", f.next.as_deref().unwrap_or("")),
    ];
    if !input.csrf_ok(f.csrf.as_deref()) {
        return input.fail(
            "/sign-in",
            "csrf",
            ApiError::Forbidden("Missing or stale CSRF token".into()),
            &keep,
        );
    }
    let username = f.username.trim();
    if username.is_empty() || f.password.is_empty() {
        let field = if username.is_empty() {
            "username"
        } else {
            "password"
        };
        return input.fail(
            "/sign-in",
            "missing_field",
            ApiError::field(field, "is required"),
            &keep,
        );
    }
    let org = &state.settings.auth.default_organization;
    let outcome = match users::authenticate_login(&state.db, org, username, &f.password).await {
        Ok(o) => o,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (code, err) = match outcome {
        Authn::Ok { user, organization } => {
            let next = safe_next(f.next.as_deref());
            let resp = if input.browser && input.form {
                Redirect::to(next).into_response()
            } else {
                Json(json!({ "username": username, "redirect": next })).into_response()
            };
            return start_session(
                &state,
                &input,
                user,
                organization,
                username,
                "user.sign_in",
                resp,
            )
            .await;
        }
        Authn::Locked => (
            "locked",
            ApiError::Forbidden("This account is locked".into()),
        ),
        Authn::Pending => (
            "pending_approval",
            ApiError::Forbidden("This account is waiting for an administrator's approval".into()),
        ),
        Authn::Invalid => (
            "invalid_credentials",
            ApiError::Unauthorized("Invalid user name or password".into()),
        ),
    };
    audit(&state, &input, None, None, username, "user.sign_in_failed").await;
    input.fail("/sign-in", code, err, &keep)
}

/// Records an event; a failed audit write is logged, never fatal to the user's request.
async fn audit<T>(
    state: &AppState,
    input: &Input<T>,
    org: Option<Uuid>,
    user: Option<Uuid>,
    username: &str,
    action: &str,
) {
    let ip = client_ip(&input.headers);
    if let Err(e) =
        crate::audit::record(&state.db, org, user, username, action, ip.as_deref()).await
    {
        tracing::warn!(error = %e, action, "audit write failed");
    }
}

/// Creates a session for `user`, records `action`, and adds the session cookie to `resp`.
async fn start_session<T>(
    state: &AppState,
    input: &Input<T>,
    user: Uuid,
    org: Uuid,
    username: &str,
    action: &str,
    mut resp: Response,
) -> Response {
    let ttl = state.settings.auth.session_ttl_minutes;
    let token = match session::create(&state.db, user, ttl, input.user_agent()).await {
        Ok(t) => t,
        Err(e) => return ApiError::from(e).into_response(),
    };
    audit(state, input, Some(org), Some(user), username, action).await;
    let cookie = session::set_cookie(
        SESSION_COOKIE,
        &token,
        ttl * 60,
        state.settings.secure_cookies(),
    );
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    resp
}

#[derive(Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    password_confirm: Option<String>,
    csrf: Option<String>,
}

/// Checks a sign-up; `Err((code, field, message))` names what is wrong.
fn validate_sign_up(f: &SignUpForm) -> Result<(), (&'static str, &'static str, &'static str)> {
    let u = f.username.trim();
    if u.is_empty() {
        return Err(("missing_field", "username", "is required"));
    }
    let valid_chars = u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if u.len() < 3 || u.len() > 64 || !valid_chars {
        return Err((
            "invalid_username",
            "username",
            "must be 3-64 characters of letters, digits, '.', '_', '-' or '@'",
        ));
    }
    let e = f.email.trim();
    let email_ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.contains(char::is_whitespace);
    if e.is_empty() {
        return Err(("missing_field", "email", "is required"));
    }
    if !email_ok {
        return Err(("invalid_email", "email", "is not an e-mail address"));
    }
    if f.password.chars().count() < 8 {
        return Err((
            "weak_password",
            "password",
            "must have at least 8 characters",
        ));
    }
    if f.password.len() > 1024 {
        return Err(("weak_password", "password", "must have at most 1024 bytes"));
    }
    if let Some(confirm) = &f.password_confirm
        && confirm != &f.password
    {
        return Err((
            "password_mismatch",
            "password_confirm",
            "does not match password",
        ));
    }
    Ok(())
}

async fn sign_up(State(state): State<AppState>, input: Input<SignUpForm>) -> Response {
    let f = &input.body;
    let keep = [
        ("username", f.username.as_str()),
        ("display_name", f.display_name.as_str()),
        ("email", f.email.as_str()),
    ];
    if !input.csrf_ok(f.csrf.as_deref()) {
        return input.fail(
            "/sign-up",
            "csrf",
            ApiError::Forbidden("Missing or stale CSRF token".into()),
            &keep,
        );
    }
    let org_allows = {
        let org = &state.settings.auth.default_organization;
        match state.db.acquire().await {
            Ok(mut conn) => crate::admin_settings::org_settings(&mut conn, org)
                .await
                .map(|s| s.self_sign_up),
            Err(e) => Err(e),
        }
    };
    let org_allows = match org_allows {
        Ok(a) => a,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !state.settings.auth.self_signup || !org_allows {
        return input.fail(
            "/sign-up",
            "signup_disabled",
            ApiError::Forbidden("Self sign-up is disabled".into()),
            &keep,
        );
    }
    if let Err((code, field, message)) = validate_sign_up(f) {
        return input.fail("/sign-up", code, ApiError::field(field, message), &keep);
    }
    match create_subscriber(&state, f).await {
        Ok(SignedUp::Pending { user, org }) => {
            let username = f.username.trim();
            audit(
                &state,
                &input,
                Some(org),
                Some(user),
                username,
                "user.sign_up_requested",
            )
            .await;
            if input.browser && input.form {
                Redirect::to("/sign-in?notice=pending_approval").into_response()
            } else {
                (
                    StatusCode::ACCEPTED,
                    Json(json!({
                        "username": username,
                        "status": "PENDING_APPROVAL",
                        "message": "An administrator approves the account before it can sign in",
                    })),
                )
                    .into_response()
            }
        }
        Ok(SignedUp::Active { user: user_id, org }) => {
            let username = f.username.trim();
            let resp = if input.browser && input.form {
                Redirect::to("/devportal").into_response()
            } else {
                (
                    StatusCode::CREATED,
                    Json(json!({ "username": username, "roles": ["subscriber"] })),
                )
                    .into_response()
            };
            start_session(&state, &input, user_id, org, username, "user.sign_up", resp).await
        }
        Err(ApiError::Conflict { message, errors }) => {
            let code = if errors.iter().any(|e| e.code == "email") {
                "email_taken"
            } else {
                "username_taken"
            };
            input.fail(
                "/sign-up",
                code,
                ApiError::Conflict { message, errors },
                &keep,
            )
        }
        Err(e) => e.into_response(),
    }
}

/// A new account: active at once, or waiting for approval (`USER_SIGNUP` workflow).
enum SignedUp {
    Active { user: Uuid, org: Uuid },
    Pending { user: Uuid, org: Uuid },
}

async fn create_subscriber(state: &AppState, f: &SignUpForm) -> Result<SignedUp, ApiError> {
    let org = users::organization_id(&state.db, &state.settings.auth.default_organization)
        .await?
        .ok_or_else(|| ApiError::NotFound("organization".into()))?;
    let hash = password::hash(f.password.clone()).await?;
    let username = f.username.trim();
    let display = if f.display_name.trim().is_empty() {
        username
    } else {
        f.display_name.trim()
    };
    let email = f.email.trim();
    let mut tx = state.db.begin().await?;
    let id = users::insert(
        &mut tx,
        users::NewUser {
            organization_id: org,
            username,
            email: Some(email),
            display_name: display,
            password_hash: &hash,
            roles: &["subscriber"],
        },
    )
    .await
    .on_constraint("app_user_username_key", || conflict("username", "is taken"))
    .on_constraint("app_user_email_key", || {
        conflict("email", "belongs to another account")
    })?;
    let kind = app::workflows::USER_SIGNUP;
    if crate::workflows::needs_approval(&mut tx, org, kind, None).await? {
        sqlx::query("UPDATE app_user SET pending_approval = true WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        crate::workflows::open(
            &mut tx,
            org,
            kind,
            id,
            username,
            format!("Sign-up of {username} ({email})"),
            json!({ "username": username, "displayName": display, "email": email }),
        )
        .await?;
        tx.commit().await?;
        return Ok(SignedUp::Pending { user: id, org });
    }
    tx.commit().await?;
    Ok(SignedUp::Active { user: id, org })
}

fn conflict(field: &str, message: &str) -> ApiError {
    ApiError::Conflict {
        message: format!("`{field}` {message}"),
        errors: vec![crate::error::FieldError::new(field, message)],
    }
}

#[derive(Deserialize)]
pub struct SignOutForm {
    csrf: Option<String>,
}

async fn sign_out(State(state): State<AppState>, input: Input<SignOutForm>) -> Response {
    if !input.csrf_ok(input.body.csrf.as_deref()) {
        return input.fail(
            "/devportal",
            "csrf",
            ApiError::Forbidden("Missing or stale CSRF token".into()),
            &[],
        );
    }
    if let Some(token) = session::cookie(&input.headers, SESSION_COOKIE)
        && let Err(e) = session::delete(&state.db, token).await
    {
        return ApiError::from(e).into_response();
    }
    let mut resp = if input.browser {
        Redirect::to("/sign-in").into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    resp.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(SESSION_COOKIE, "", 0, state.settings.secure_cookies()),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_local() {
        assert_eq!(safe_next(Some("/publisher")), "/publisher");
        assert_eq!(safe_next(Some("//evil.example")), "/devportal");
        assert_eq!(safe_next(Some("https://evil.example")), "/devportal");
        assert_eq!(safe_next(Some("/\\evil.example")), "/devportal");
        assert_eq!(safe_next(None), "/devportal");
    }

    fn form(username: &str, email: &str, pw: &str, confirm: Option<&str>) -> SignUpForm {
        SignUpForm {
            username: username.into(),
            display_name: String::new(),
            email: email.into(),
            password: pw.into(),
            password_confirm: confirm.map(str::to_string),
            csrf: None,
        }
    }

    #[test]
    fn sign_up_validation_names_the_field() {
        assert!(
            validate_sign_up(&form(
                "dev1",
                "dev1@example.com",
                "longenough",
                Some("longenough")
            ))
            .is_ok()
        );
        assert_eq!(
            validate_sign_up(&form("", "a@b.c", "longenough", None))
                .unwrap_err()
                .1,
            "username"
        );
        assert_eq!(
            validate_sign_up(&form("a b", "a@b.c", "longenough", None))
                .unwrap_err()
                .0,
            "invalid_username"
        );
        assert_eq!(
            validate_sign_up(&form("dev1", "nope", "longenough", None))
                .unwrap_err()
                .1,
            "email"
        );
        assert_eq!(
            validate_sign_up(&form("dev1", "a@b.c", "short", None))
                .unwrap_err()
                .0,
            "weak_password"
        );
        assert_eq!(
            validate_sign_up(&form("dev1", "a@b.c", "longenough", Some("other")))
                .unwrap_err()
                .1,
            "password_confirm"
        );
    }
}
