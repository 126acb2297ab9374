//! 403 and 404 pages.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::Portal;

#[component]
pub fn Forbidden(portal: Portal) -> impl IntoView {
    view! {
        <Title text="Access denied"/>
        <div class="mx-auto max-w-lg rounded-xl bg-white p-8 text-center shadow-sm ring-1 ring-slate-200" data-testid="forbidden">
            <p class="text-sm font-semibold text-rose-600">"403"</p>
            <h1 class="mt-2 text-2xl font-bold">"You can't open this page"</h1>
            <p class="mt-2 text-slate-600">
                "Your account has no role that grants access to the " {portal.title()}
                ". Ask an administrator for the role you need."
            </p>
            <a href="/devportal" class="mt-6 inline-block rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500">
                "Go to the Developer Portal"
            </a>
        </div>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
        opts.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <main class="mx-auto mt-24 max-w-lg rounded-xl bg-white p-8 text-center shadow-sm ring-1 ring-slate-200">
            <p class="text-sm font-semibold text-indigo-600">"404"</p>
            <h1 class="mt-2 text-2xl font-bold">"Page not found"</h1>
            <p class="mt-2 text-slate-600">"There is nothing at this address."</p>
            <a href="/devportal" class="mt-6 inline-block rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500">
                "Go to the Developer Portal"
            </a>
        </main>
    }
}
