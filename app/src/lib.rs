//! The three Gatehouse portals (Developer Portal, Publisher, Admin) as Leptos components, the
//! types they share with the server, and their server functions. Server-only code sits behind
//! the `ssr` feature; the browser build hydrates the same components.
#![forbid(unsafe_code)]
// The Publisher pages nest deep view types; the hydrate build needs more than 128 levels.
#![recursion_limit = "256"]

pub mod ai;
pub mod analytics;
pub mod api;
pub mod applications;
pub mod auth;
pub mod components;
pub mod devportal;
pub mod documents;
pub mod feedback;
pub mod gateway_policies;
pub mod pages;
pub mod publisher;
pub mod settings;
pub mod throttling;
pub mod workflows;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::auth::Viewer;
use crate::pages::{
    admin, devportal as devportal_pages, errors, publisher as publisher_pages, sign_in,
};

/// The HTML document around the app; the server renders it for every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Resolved on the server from the session cookie and shipped with the page, so the
    // header renders identically before and after hydration.
    let viewer = Resource::new_blocking(
        || (),
        |_| async move { api::get_viewer().await.unwrap_or_default() },
    );
    provide_context::<Resource<Viewer>>(viewer);

    view! {
        <Stylesheet id="leptos" href="/pkg/gatehouse.css"/>
        <Title formatter=|text: String| {
            if text.is_empty() { "Gatehouse".to_string() } else { format!("{text} · Gatehouse") }
        }/>
        <Router>
            <Routes fallback=errors::NotFound>
                <Route path=path!("/sign-in") view=sign_in::SignIn/>
                <Route path=path!("/sign-up") view=sign_in::SignUp/>
                <Route path=path!("/devportal") view=devportal_pages::Catalogue/>
                <Route path=path!("/devportal/applications") view=crate::pages::applications::ApplicationList/>
                <Route path=path!("/devportal/applications/:id") view=crate::pages::applications::ApplicationDetail/>
                <Route path=path!("/devportal/apis/:id") view=devportal_pages::ApiOverview/>
                <Route path=path!("/publisher") view=publisher_pages::Apis/>
                <Route path=path!("/publisher/apis/create") view=publisher_pages::CreateApi/>
                <Route path=path!("/publisher/apis/import") view=publisher_pages::ImportApi/>
                <Route path=path!("/publisher/apis/:id") view=publisher_pages::ApiPage/>
                <Route path=path!("/publisher/apis/:id/:tab") view=publisher_pages::ApiPage/>
                <Route path=path!("/publisher/api-products") view=publisher_pages::Products/>
                <Route path=path!("/publisher/api-products/create") view=publisher_pages::CreateProduct/>
                <Route path=path!("/publisher/api-products/:id") view=publisher_pages::ProductPage/>
                <Route path=path!("/publisher/api-products/:id/:tab") view=publisher_pages::ProductPage/>
                <Route path=path!("/admin") view=admin::Overview/>
                <Route path=path!("/admin/:section") view=admin::Section/>
            </Routes>
        </Router>
    }
}
