//! Publisher portal: API list, create and import, the API's pages (overview, business
//! information, settings, operations, endpoints, mediation policies, lifecycle, revisions and
//! deployments, definition) and API products. Every call goes through `api::publisher_call`,
//! i.e. the same service and checks as the REST API.

mod detail;
mod import;
mod policies;
mod products;

pub use detail::{ApiPage, ProductPage};
pub use import::ImportApi;
pub use products::{CreateProduct, Products};

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{ServiceError, publisher_call};
use crate::auth::Portal;
use crate::components::{EmptyState, PageTitle, PortalPage, SubNav};
use crate::publisher::{Api, ApiInfo, PublisherCall, PublisherReply};

/// Runs a Publisher call; transport failures become a plain message.
pub(crate) async fn run(call: PublisherCall) -> Result<PublisherReply, ServiceError> {
    crate::api::reached(publisher_call(call).await)
}

pub(crate) fn nav() -> impl IntoView {
    view! {
        <SubNav links=vec![
            ("APIs", "/publisher".to_string()),
            ("API products", "/publisher/api-products".to_string()),
            ("Create API", "/publisher/apis/create".to_string()),
            ("Import OpenAPI", "/publisher/apis/import".to_string()),
        ]/>
    }
}

pub(crate) const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500";
pub(crate) const LABEL: &str = "block text-sm font-medium text-slate-700";
pub(crate) const BUTTON: &str = "inline-flex items-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 disabled:cursor-not-allowed disabled:opacity-50";
pub(crate) const BUTTON_LIGHT: &str = "inline-flex items-center rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-700 shadow-sm ring-1 ring-slate-300 hover:bg-slate-50 disabled:opacity-50";
pub(crate) const CARD: &str = "rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200";
pub(crate) const TH: &str =
    "px-4 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
pub(crate) const TD: &str = "px-4 py-2 text-sm text-slate-700";

/// Colour of a lifecycle state badge.
pub(crate) fn state_badge(state: &str) -> &'static str {
    match state {
        "PUBLISHED" => {
            "rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-semibold text-emerald-800"
        }
        "PROTOTYPED" => "rounded-full bg-sky-100 px-2 py-0.5 text-xs font-semibold text-sky-800",
        "BLOCKED" => "rounded-full bg-rose-100 px-2 py-0.5 text-xs font-semibold text-rose-800",
        "DEPRECATED" | "RETIRED" => {
            "rounded-full bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-800"
        }
        _ => "rounded-full bg-slate-100 px-2 py-0.5 text-xs font-semibold text-slate-700",
    }
}

/// The message under a field when the last call refused it.
pub(crate) fn field_error(
    error: RwSignal<Option<ServiceError>>,
    field: &'static str,
) -> impl IntoView {
    move || {
        error.with(|e| {
            e.as_ref().and_then(|e| e.for_field(field)).map(|m| {
                view! { <p class="mt-1 text-sm text-rose-600" data-field-error=field>{m}</p> }
            })
        })
    }
}

/// The general message of the last refusal (and problems not tied to a shown field).
pub(crate) fn error_banner(error: RwSignal<Option<ServiceError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            let problems = match &e {
                ServiceError::Fields { problems, .. } => problems.clone(),
                _ => vec![],
            };
            view! {
                <div class="mb-4 rounded-md border border-rose-200 bg-rose-50 p-3 text-sm text-rose-800" role="alert" data-testid="error-banner">
                    <p class="font-medium">{e.to_string()}</p>
                    {(!problems.is_empty()).then(|| view! {
                        <ul class="mt-2 list-disc space-y-0.5 pl-5">
                            {problems.into_iter().map(|p| view! {
                                <li><code class="text-xs">{p.field}</code>": "{p.message}</li>
                            }).collect_view()}
                        </ul>
                    })}
                </div>
            }
        })
    }
}

/// When `action` returns an API (or product), opens its page; a refusal goes to `error`.
pub(crate) fn open_result<I: Send + Sync + 'static>(
    action: Action<I, Result<PublisherReply, ServiceError>>,
    product: bool,
    error: RwSignal<Option<ServiceError>>,
) {
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(result) = action.value().get() {
            match result {
                Ok(PublisherReply::Api(a)) => {
                    let base = if product {
                        "/publisher/api-products"
                    } else {
                        "/publisher/apis"
                    };
                    navigate(
                        &format!("{base}/{}", a.id.unwrap_or_default()),
                        Default::default(),
                    );
                }
                Ok(_) => {}
                Err(e) => error.set(Some(e)),
            }
        }
    });
}

/// API list: search, tiles or table.
#[component]
pub fn Apis() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.with(|q| q.get("query").unwrap_or_default());
    let table = move || query.with(|q| q.get("view").as_deref() == Some("table"));
    let apis = Resource::new(search, |q| {
        run(PublisherCall::List {
            query: q,
            product: false,
        })
    });
    view! {
        <Title text="Publisher"/>
        <PortalPage portal=Portal::Publisher>
            {nav()}
            <div class="flex flex-wrap items-end justify-between gap-4">
                <PageTitle title="APIs" subtitle="Design, publish and deploy your APIs."/>
                <div class="mb-6 flex gap-2">
                    <a href="/publisher/apis/create" class=BUTTON_LIGHT>"Create API"</a>
                    <a href="/publisher/apis/import" class=BUTTON>"Import OpenAPI"</a>
                </div>
            </div>
            <form method="get" action="/publisher" class="mb-4 flex flex-wrap gap-2" role="search">
                <input type="search" name="query" value=search placeholder="Search by name, context, tag or owner"
                    class="w-full max-w-md rounded-md border border-slate-300 px-3 py-2 text-sm" aria-label="Search APIs"/>
                {move || table().then(|| view! { <input type="hidden" name="view" value="table"/> })}
                <button type="submit" class=BUTTON_LIGHT>"Search"</button>
                <a class="ml-auto self-center text-sm text-indigo-700 hover:underline"
                    href=move || if table() { format!("/publisher?query={}", search()) } else { format!("/publisher?view=table&query={}", search()) }>
                    {move || if table() { "Show tiles" } else { "Show table" }}
                </a>
            </form>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading APIs…"</p> }>
                {move || Suspend::new(async move {
                    match apis.await {
                        Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                        Ok(PublisherReply::Page(page)) if page.list.is_empty() => {
                            if search().is_empty() {
                                view! {
                                    <EmptyState title="No APIs yet"
                                        detail="APIs you create by hand or import from an OpenAPI document are listed here with their lifecycle state."/>
                                }.into_any()
                            } else {
                                view! {
                                    <EmptyState title="No API matches"
                                        detail="Nothing matches the search in names, contexts, descriptions, tags or owners."/>
                                }.into_any()
                            }
                        }
                        Ok(PublisherReply::Page(page)) => if table() {
                            api_table(page.list).into_any()
                        } else {
                            api_tiles(page.list).into_any()
                        },
                        Ok(_) => ().into_any(),
                    }
                })}
            </Suspense>
        </PortalPage>
    }
}

fn api_href(api: &ApiInfo) -> String {
    if api.kind == "APIPRODUCT" {
        format!("/publisher/api-products/{}", api.id)
    } else {
        format!("/publisher/apis/{}", api.id)
    }
}

pub(crate) fn api_tiles(list: Vec<ApiInfo>) -> impl IntoView {
    view! {
        <div class="grid gap-4 sm:grid-cols-2 lg:grid-cols-3" data-testid="api-tiles">
            {list.into_iter().map(|a| {
                let href = api_href(&a);
                view! {
                    <a href=href class="block rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200 hover:ring-indigo-400" data-api=a.name.clone()>
                        <div class="flex items-start justify-between gap-2">
                            <h2 class="font-semibold text-slate-900">{a.name.clone()}</h2>
                            <span class=state_badge(&a.life_cycle_status)>{a.life_cycle_status.clone()}</span>
                        </div>
                        <p class="mt-1 font-mono text-xs text-slate-500">{a.context.clone()} " · " {a.version.clone()}</p>
                        <p class="mt-2 line-clamp-2 text-sm text-slate-600">{a.description.clone().unwrap_or_default()}</p>
                        <p class="mt-3 text-xs text-slate-500">
                            {a.operation_count} " operations · by " {a.provider.clone()}
                            {(!a.deployed_to.is_empty()).then(|| format!(" · live on {}", a.deployed_to.join(", ")))}
                        </p>
                    </a>
                }
            }).collect_view()}
        </div>
    }
}

fn api_table(list: Vec<ApiInfo>) -> impl IntoView {
    view! {
        <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
            <table class="min-w-full divide-y divide-slate-200" data-testid="api-table">
                <thead><tr>
                    <th class=TH>"Name"</th><th class=TH>"Version"</th><th class=TH>"Context"</th>
                    <th class=TH>"State"</th><th class=TH>"Owner"</th><th class=TH>"Operations"</th><th class=TH>"Deployed to"</th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    {list.into_iter().map(|a| {
                        let href = api_href(&a);
                        view! {
                            <tr data-api=a.name.clone()>
                                <td class=TD><a class="font-medium text-indigo-700 hover:underline" href=href>{a.name.clone()}</a></td>
                                <td class=TD>{a.version.clone()}</td>
                                <td class=TD><code class="text-xs">{a.context.clone()}</code></td>
                                <td class=TD><span class=state_badge(&a.life_cycle_status)>{a.life_cycle_status.clone()}</span></td>
                                <td class=TD>{a.provider.clone()}</td>
                                <td class=TD>{a.operation_count}</td>
                                <td class=TD>{if a.deployed_to.is_empty() { "—".to_string() } else { a.deployed_to.join(", ") }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Create an API by hand: name, context, version, endpoint.
#[component]
pub fn CreateApi() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let context = RwSignal::new(String::new());
    let version = RwSignal::new("1.0.0".to_string());
    let endpoint = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ServiceError>);
    let create = Action::new(move |api: &Api| {
        let api = api.clone();
        async move {
            run(PublisherCall::Create {
                api,
                product: false,
            })
            .await
        }
    });
    open_result(create, false, error);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let mut api = Api {
            name: name.get_untracked(),
            context: context.get_untracked(),
            version: version.get_untracked(),
            ..Default::default()
        };
        let url = endpoint.get_untracked();
        if !url.trim().is_empty() {
            api.settings.endpoint_config = Some(serde_json::json!({
                "endpoint_type": "http",
                "production_endpoints": {"url": url.trim()},
            }));
        }
        create.dispatch(api);
    };
    view! {
        <Title text="Create API"/>
        <PortalPage portal=Portal::Publisher>
            {nav()}
            <PageTitle title="Create an API" subtitle="Name it, give it a context and a version, point it at a backend. Operations start as /* for every method; edit them afterwards."/>
            <form on:submit=submit class=format!("{CARD} max-w-2xl space-y-4")>
                {error_banner(error)}
                <div>
                    <label class=LABEL for="api-name">"Name"</label>
                    <input id="api-name" class=INPUT bind:value=name placeholder="Pizza Shack API" required/>
                    {field_error(error, "name")}
                </div>
                <div class="grid gap-4 sm:grid-cols-2">
                    <div>
                        <label class=LABEL for="api-context">"Context"</label>
                        <input id="api-context" class=INPUT bind:value=context placeholder="/pizzashack" required/>
                        {field_error(error, "context")}
                    </div>
                    <div>
                        <label class=LABEL for="api-version">"Version"</label>
                        <input id="api-version" class=INPUT bind:value=version required/>
                        {field_error(error, "version")}
                    </div>
                </div>
                <div>
                    <label class=LABEL for="api-endpoint">"Production endpoint"</label>
                    <input id="api-endpoint" class=INPUT bind:value=endpoint placeholder="https://backend.example.com/v1"/>
                    {field_error(error, "endpointConfig.production_endpoints.url")}
                </div>
                <button type="submit" class=BUTTON disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Creating…" } else { "Create" }}
                </button>
            </form>
        </PortalPage>
    }
}
