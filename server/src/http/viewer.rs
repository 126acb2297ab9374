//! Per-request viewer: resolves the session cookie to a user, hands out the CSRF cookie,
//! refuses cross-site writes that carry the session, and applies the page-access rule
//! (`app::auth::page_access`) to portal pages: redirect to sign-in, or a 403 / 404 status.

use app::auth::{Access, Viewer, page_access};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::AppState;
use crate::auth::session::{self, CSRF_COOKIE, SESSION_COOKIE};
use crate::auth::{secrets, users};
use crate::error::ApiError;

/// Paths that never need the viewer (static files, probes).
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg" || path == "/health" || path == "/ready"
}

pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if is_static(&path) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let session_token = session::cookie(headers, SESSION_COOKIE).map(str::to_string);
    if session_token.is_some() && !req.method().is_safe() && is_cross_site(headers) {
        return ApiError::Forbidden("cross-site request refused (CSRF protection)".into())
            .into_response();
    }
    let user = match &session_token {
        Some(token) => match session::user_of(&state.db, token).await {
            Ok(Some(id)) => users::current_user(&state.db, id)
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "failed to load the session's user");
                    None
                }),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "failed to look up a session");
                None
            }
        },
        None => None,
    };
    let existing_csrf = session::cookie(headers, CSRF_COOKIE)
        .filter(|c| c.len() >= 16 && c.len() <= 64)
        .map(str::to_string);
    let new_csrf = existing_csrf.is_none();
    let csrf = existing_csrf.unwrap_or_else(|| secrets::random_token(18));

    let access = if req.method() == Method::GET {
        page_access(&path, user.as_ref())
    } else {
        Access::Allowed
    };
    if access == Access::SignIn {
        let next = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| path.clone());
        let query = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
        let target = format!("/sign-in?{query}");
        return Redirect::to(&target).into_response();
    }

    req.extensions_mut().insert(Viewer {
        user,
        csrf: csrf.clone(),
    });
    let mut resp = next.run(req).await;
    if resp.status().is_success() {
        match access {
            Access::Forbidden => *resp.status_mut() = StatusCode::FORBIDDEN,
            Access::NotFound => *resp.status_mut() = StatusCode::NOT_FOUND,
            Access::Allowed | Access::SignIn => {}
        }
    }
    if new_csrf {
        resp.headers_mut().append(
            header::SET_COOKIE,
            session::set_cookie(
                CSRF_COOKIE,
                &csrf,
                60 * 60 * 24 * 365,
                state.settings.secure_cookies(),
            ),
        );
    }
    resp
}

/// A write is cross-site when the browser says so (`Sec-Fetch-Site`) or its `Origin` names
/// another host than the one it was sent to.
fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "cross-site";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if origin == "null" {
        return true;
    }
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    !origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cross_site_detection() {
        let mut h = HeaderMap::new();
        assert!(!is_cross_site(&h));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:3000"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3000"),
        );
        assert!(!is_cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(is_cross_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!is_cross_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(is_cross_site(&h));
    }
}
