//! The HTTP surface: one module per area, each with `router()`, merged here with the portal
//! pages. The viewer middleware resolves the session for every page and API call.

pub mod admin_settings;
pub mod ai_admin;
pub mod analytics;
pub mod applications;
pub mod caller;
pub mod devportal;
pub mod documents;
pub mod feedback;
pub mod gateway_policies;
pub mod gitops;
pub mod health;
pub mod key_managers;
pub mod oauth;
pub mod portal_auth;
pub mod publisher;
pub mod rest;
pub mod throttling;
pub mod viewer;
pub mod workflows;

use std::sync::Arc;

use app::api::ssr::Services;
use axum::Router;
use axum::response::Redirect;
use axum::routing::get;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::trace::TraceLayer;

use crate::AppState;

/// Largest request body for routes without their own limit (portal server functions).
pub const PORTAL_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The whole application router.
pub fn app(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let services: Services = Arc::new(crate::services::DbServices::from_state(&state));
    let leptos_state = state.clone();
    Router::new()
        .route("/", get(|| async { Redirect::to("/devportal") }))
        .merge(health::router())
        .merge(portal_auth::router())
        .merge(oauth::router())
        .merge(publisher::router(&state))
        .merge(devportal::router())
        .merge(documents::router())
        .merge(applications::router())
        .merge(key_managers::router())
        .merge(workflows::router())
        .merge(admin_settings::router())
        .merge(throttling::router())
        .merge(gateway_policies::router())
        .merge(feedback::router())
        .merge(ai_admin::router())
        .merge(analytics::router())
        .merge(gitops::router())
        .merge(rest::router())
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let services = services.clone();
                move || provide_context(services.clone())
            },
            move || app::shell(leptos_state.leptos.clone()),
        )
        // A server span per routed request when tracing is on (static files are not traced).
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), traced))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        // Another method on a registered REST path: WSO2's error body, not a bare 405.
        .method_not_allowed_fallback(|| async {
            crate::error::ApiError::MethodNotAllowed(
                "This method is not supported on this resource".into(),
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            viewer::middleware,
        ))
        .layer(TraceLayer::new_for_http())
        // Portal server functions carry whole API objects (tens of thousands of operations are
        // a few MB); axum's default of 2 MB is too small. The REST routers set their own.
        .layer(axum::extract::DefaultBodyLimit::max(PORTAL_BODY_LIMIT))
        // The demo backend stands for someone else's service: no portal session or cookies.
        .merge(if state.settings.demo.seed {
            crate::demo::router()
        } else {
            Router::new()
        })
        .with_state(state)
}

/// The request's server span (OpenTelemetry): continues the caller's `traceparent`, named by
/// the matched route (`POST /api/am/publisher/v4/apis/{api_id}/revisions`).
async fn traced(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use gateway::otel::{Span, SpanKind, now_unix_nanos};
    let Some((ctx, parent)) = state.tracer.begin(
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    ) else {
        return next.run(req).await;
    };
    if !ctx.sampled {
        return next.run(req).await;
    }
    let start = now_unix_nanos();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_string());
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let name = match &route {
        Some(r) => format!("{method} {r}"),
        None => method.clone(),
    };
    let mut span = Span::new(&ctx, parent, name, SpanKind::Server, start);
    span.end_unix_nanos = now_unix_nanos();
    span.attr("http.request.method", method)
        .attr("url.path", path)
        .attr("http.response.status_code", status);
    if let Some(r) = route {
        span.attr("http.route", r);
    }
    if status >= 500 {
        span.error = Some(format!("status {status}"));
    }
    state.tracer.record(span);
    resp
}
