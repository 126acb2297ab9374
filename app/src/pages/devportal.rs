//! Developer Portal: the catalogue (public; search with WSO2's `name:` / `tag:` / `context:`
//! syntax; tiles with business information and monetization), an API's page (gateway URLs,
//! tiers, operations grouped by tag from the OpenAPI document, definition download), and the
//! signed-in user's applications.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{ServiceError, devportal_call};
use crate::auth::Portal;
use crate::components::{EmptyState, PageTitle, PortalPage, SubNav};
use crate::devportal::{
    CatalogueApi, CatalogueApiDetail, DevportalCall, DevportalReply, OperationDoc,
};

/// The Developer Portal's section links (catalogue, applications).
pub(crate) fn nav() -> impl IntoView {
    view! {
        <SubNav links=vec![
            ("APIs", "/devportal".to_string()),
            ("Applications", "/devportal/applications".to_string()),
        ]/>
    }
}

async fn run(call: DevportalCall) -> Result<DevportalReply, ServiceError> {
    crate::api::reached(devportal_call(call).await)
}

const PAGE: i64 = 24;

#[component]
pub fn Catalogue() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.with(|q| q.get("query").unwrap_or_default());
    let offset = move || {
        query.with(|q| {
            q.get("offset")
                .and_then(|o| o.parse::<i64>().ok())
                .unwrap_or(0)
        })
    };
    // Tiles (default) or a compact list: `?view=list`.
    let as_list = move || query.with(|q| q.get("view").as_deref() == Some("list"));
    let apis = Resource::new(
        move || (search(), offset()),
        |(query, offset)| {
            run(DevportalCall::List {
                query,
                offset,
                limit: PAGE,
            })
        },
    );
    let categories = Resource::new(|| (), |_| run(DevportalCall::Categories));
    view! {
        <Title text="Developer Portal"/>
        <PortalPage portal=Portal::DevPortal>
            {nav()}
            <PageTitle title="APIs" subtitle="Find an API, subscribe an application, and try it out."/>
            <crate::components::ClientOnly><crate::pages::assistant::AssistantPanel/></crate::components::ClientOnly>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let list = match categories.await {
                        Ok(DevportalReply::Categories(list)) => list,
                        _ => vec![],
                    };
                    (!list.is_empty()).then(|| {
                        let view_q = if as_list() { "&view=list" } else { "" };
                        view! {
                            <nav class="mb-4 flex flex-wrap items-center gap-2 text-sm" aria-label="Categories" data-testid="category-filter">
                                <span class="text-slate-500">"Categories:"</span>
                                {list.into_iter().map(|c| {
                                    let q = format!("category:{}", c.name);
                                    let active = search() == q;
                                    view! {
                                        <a href=format!("/devportal?query={}{view_q}", crate::pages::applications::encode(&q)) title=c.description.clone()
                                            class=if active { "rounded-full bg-indigo-600 px-3 py-1 text-white" } else { "rounded-full bg-white px-3 py-1 text-slate-700 ring-1 ring-slate-200 hover:ring-indigo-400" }>
                                            {c.name.clone()}
                                        </a>
                                    }
                                }).collect_view()}
                            </nav>
                        }
                    })
                })}
            </Suspense>
            <form method="get" action="/devportal" class="mb-6 flex flex-wrap gap-2" role="search">
                <input type="search" name="query" value=search aria-label="Search APIs"
                    placeholder="Search: pizza, name:Shack, tag:food, context:/pizzashack"
                    class="w-full max-w-lg rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                <button type="submit" class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500">"Search"</button>
                {move || as_list().then(|| view! { <input type="hidden" name="view" value="list"/> })}
                <nav class="ml-auto flex items-center gap-1 text-sm" aria-label="Layout">
                    <a href=move || format!("/devportal?query={}", search()) data-testid="view-tiles"
                        class=move || if as_list() { "rounded px-2 py-1 text-slate-600 hover:bg-slate-100" } else { "rounded bg-slate-200 px-2 py-1 font-medium" }>"Tiles"</a>
                    <a href=move || format!("/devportal?query={}&view=list", search()) data-testid="view-list"
                        class=move || if as_list() { "rounded bg-slate-200 px-2 py-1 font-medium" } else { "rounded px-2 py-1 text-slate-600 hover:bg-slate-100" }>"List"</a>
                </nav>
            </form>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading APIs…"</p> }>
                {move || Suspend::new(async move {
                    match apis.await {
                        Ok(DevportalReply::Page(page)) if page.list.is_empty() => if search().is_empty() {
                            view! {
                                <EmptyState title="No APIs are published yet"
                                    detail="When a publisher publishes an API it appears here, with its documentation, tiers and a try-out console."/>
                            }.into_any()
                        } else {
                            view! {
                                <EmptyState title="No API matches your search"
                                    detail="Try fewer words, or a prefix: name:, tag:, context:, category:, provider:, version:, description:."/>
                            }.into_any()
                        },
                        Ok(DevportalReply::Page(page)) => {
                            let q = search();
                            let (off, total) = (page.pagination.offset, page.pagination.total);
                            let view_q = if as_list() { "&view=list" } else { "" };
                            let link = move |o: i64| format!("/devportal?query={q}&offset={o}{view_q}");
                            view! {
                                {if as_list() {
                                    view! {
                                        <table class="w-full overflow-hidden rounded-xl bg-white text-left text-sm shadow-sm ring-1 ring-slate-200" data-testid="catalogue-list">
                                            <thead class="bg-slate-50 text-xs uppercase tracking-wide text-slate-500"><tr>
                                                <th class="px-4 py-2">"API"</th><th class="px-4 py-2">"Context"</th><th class="px-4 py-2">"Provider"</th>
                                                <th class="px-4 py-2">"Rating"</th><th class="px-4 py-2">"Plan"</th><th class="px-4 py-2">"Tags"</th>
                                            </tr></thead>
                                            <tbody class="divide-y divide-slate-100">{page.list.into_iter().map(row).collect_view()}</tbody>
                                        </table>
                                    }.into_any()
                                } else {
                                    view! {
                                        <div class="grid gap-4 sm:grid-cols-2 lg:grid-cols-3" data-testid="catalogue">
                                            {page.list.into_iter().map(tile).collect_view()}
                                        </div>
                                    }.into_any()
                                }}
                                <div class="mt-6 flex items-center gap-3 text-sm text-slate-600">
                                    <span>{format!("{}–{} of {total}", off + 1, (off + PAGE).min(total))}</span>
                                    {(off > 0).then(|| view! { <a class="text-indigo-700 hover:underline" href=link((off - PAGE).max(0))>"Previous"</a> })}
                                    {(off + PAGE < total).then(|| view! { <a class="text-indigo-700 hover:underline" href=link(off + PAGE)>"Next"</a> })}
                                </div>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                        Ok(_) => ().into_any(),
                    }
                })}
            </Suspense>
        </PortalPage>
    }
}

/// One API in the list layout; its tags filter the catalogue (`tag:`).
fn row(a: CatalogueApi) -> impl IntoView {
    view! {
        <tr data-api=a.name.clone()>
            <td class="px-4 py-2"><a class="font-medium text-indigo-700 hover:underline" href=format!("/devportal/apis/{}", a.id)>{a.name.clone()}</a>
                <span class="ml-1 font-mono text-xs text-slate-500">{a.version.clone()}</span>
                {(a.life_cycle_status != "PUBLISHED").then(|| view! { <span class="ml-1 rounded bg-amber-50 px-1 text-xs text-amber-700">{a.life_cycle_status.clone()}</span> })}
            </td>
            <td class="px-4 py-2 font-mono text-xs">{a.context.clone()}</td>
            <td class="px-4 py-2">{a.provider.clone()}</td>
            <td class="px-4 py-2 text-amber-500" title=format!("Rated {} of 5", a.avg_rating)>{crate::feedback::stars(&a.avg_rating)}</td>
            <td class="px-4 py-2">{a.monetization_label.clone()}</td>
            <td class="px-4 py-2">{a.tags.iter().map(|t| view! {
                <a class="mr-1 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-600 hover:bg-indigo-100" href=format!("/devportal?query={}&view=list", crate::pages::applications::encode(&format!("tag:{t}")))>{t.clone()}</a>
            }).collect_view()}</td>
        </tr>
    }
}

fn tile(a: CatalogueApi) -> impl IntoView {
    let b = a.business_information.clone();
    let owner = b
        .business_owner
        .clone()
        .map(|o| match &b.business_owner_email {
            Some(e) => format!("{o} <{e}>"),
            None => o,
        });
    view! {
        <a href=format!("/devportal/apis/{}", a.id) class="block rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200 hover:ring-indigo-400" data-api=a.name.clone()>
            <div class="flex items-start justify-between gap-2">
                {a.thumbnail_uri.clone().map(|src| view! {
                    <img src=src alt="" loading="lazy" class="h-10 w-10 shrink-0 rounded-lg object-cover ring-1 ring-slate-200"/>
                })}
                <h2 class="mr-auto font-semibold text-slate-900">{a.name.clone()}</h2>
                <span class=if a.monetization_label == "Paid" {
                    "rounded-full bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-800"
                } else {
                    "rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-semibold text-emerald-800"
                } data-testid="monetization">{a.monetization_label.clone()}</span>
            </div>
            <p class="mt-1 font-mono text-xs text-slate-500">{a.context.clone()} " · " {a.version.clone()} " · by " {a.provider.clone()}</p>
            <p class="mt-1 text-sm text-amber-500" data-testid="tile-rating" title=format!("Rated {} of 5", a.avg_rating)>
                {crate::feedback::stars(&a.avg_rating)}
                <span class="ml-1 text-xs text-slate-500">{if a.avg_rating == "0" { "not rated yet".to_string() } else { a.avg_rating.clone() }}</span>
            </p>
            <p class="mt-2 line-clamp-3 text-sm text-slate-600">{a.description.clone().unwrap_or_default()}</p>
            {owner.map(|o| view! { <p class="mt-2 text-xs text-slate-500" data-testid="business-owner">"Business owner: " {o}</p> })}
            <div class="mt-3 flex flex-wrap gap-1">
                {a.tags.iter().chain(a.categories.iter()).map(|t| view! {
                    <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-600">{t.clone()}</span>
                }).collect_view()}
                {(a.life_cycle_status != "PUBLISHED").then(|| view! {
                    <span class="rounded bg-amber-50 px-1.5 py-0.5 text-xs text-amber-700">{a.life_cycle_status.clone()}</span>
                })}
            </div>
        </a>
    }
}

#[component]
pub fn ApiOverview() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let api = Resource::new(id, |id| run(DevportalCall::Get { id }));
    view! {
        <Title text="API"/>
        <PortalPage portal=Portal::DevPortal>
            {nav()}
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match api.await {
                        Ok(DevportalReply::Api(a)) => api_page(*a).into_any(),
                        Err(ServiceError::NotFound(_)) => view! {
                            <EmptyState title="No such API" detail="It may not be published, or not visible to you; signing in may show more."/>
                        }.into_any(),
                        Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                        Ok(_) => ().into_any(),
                    }
                })}
            </Suspense>
            <crate::pages::documents::ApiDocuments api_id=id()/>
            <crate::pages::feedback::ApiFeedback api_id=id()/>
            <div class="mt-6 grid gap-6 lg:grid-cols-3">
                <div><crate::pages::applications::SubscribePanel api_id=id() api=api/></div>
                <div class="space-y-6 lg:col-span-2">
                    <crate::components::ClientOnly><crate::pages::api_chat::ApiChatPanel api_id=id()/></crate::components::ClientOnly>
                    <crate::pages::applications::TryOutPanel api_id=id() api=api/>
                </div>
            </div>
        </PortalPage>
    }
}

fn api_page(a: CatalogueApiDetail) -> impl IntoView {
    let i = a.info.clone();
    // For the curl hints: the first gateway URL, and how this API takes API keys.
    let base = a
        .endpoint_urls
        .iter()
        .find_map(|e| e.urls.http.clone().or_else(|| e.urls.https.clone()))
        .unwrap_or_else(|| format!("https://<gateway>{}/{}", i.context, i.version));
    let key_header = a
        .security_scheme
        .iter()
        .any(|s| s == "api_key")
        .then(|| a.api_key_header.clone());
    let b = i.business_information.clone();
    // Operations grouped by their first tag, in document order.
    let mut groups: Vec<(String, Vec<OperationDoc>)> = Vec::new();
    for op in a.operations.clone() {
        let tag = op
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| "Operations".into());
        match groups.iter_mut().find(|(t, _)| *t == tag) {
            Some((_, list)) => list.push(op),
            None => groups.push((tag, vec![op])),
        }
    }
    view! {
        <div class="mb-6 flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-bold tracking-tight" data-testid="api-name">{i.name.clone()}</h1>
            <span class="font-mono text-sm text-slate-500">{i.version.clone()}</span>
            <span class="text-sm text-slate-500">"by " {i.provider.clone()}</span>
            <a class="ml-auto rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50"
                href=format!("/api/am/devportal/v3/apis/{}/swagger", i.id) download="openapi.json">"Download the OpenAPI document"</a>
        </div>
        <div class="grid gap-6 lg:grid-cols-3">
            <div class="space-y-6 lg:col-span-2">
                <div class="rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200">
                    <p class="text-sm text-slate-700">{i.description.clone().unwrap_or_else(|| "No description.".into())}</p>
                </div>
                {groups.into_iter().map(|(tag, ops)| {
                    let base = base.clone();
                    let key_header = key_header.clone();
                    view! {
                        <section class="rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200" data-tag=tag.clone()>
                            <h2 class="mb-3 text-lg font-semibold">{tag.clone()}</h2>
                            <div class="space-y-3">{ops.into_iter().map(move |op| operation(op, &base, &key_header)).collect_view()}</div>
                        </section>
                    }
                }).collect_view()}
            </div>
            <aside class="space-y-4">
                <div class="rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200" data-testid="gateway-urls">
                    <h3 class="text-sm font-semibold">"Gateway URLs"</h3>
                    {if a.endpoint_urls.is_empty() {
                        view! { <p class="mt-2 text-sm text-slate-500">"Not deployed to an environment shown here."</p> }.into_any()
                    } else {
                        a.endpoint_urls.iter().map(|e| view! {
                            <div class="mt-2 text-sm">
                                <p class="font-medium">{e.environment_display_name.clone()}</p>
                                {e.urls.http.clone().map(|u| view! { <p class="break-all font-mono text-xs text-slate-600">{u}</p> })}
                                {e.urls.https.clone().map(|u| view! { <p class="break-all font-mono text-xs text-slate-600">{u}</p> })}
                            </div>
                        }).collect_view().into_any()
                    }}
                </div>
                <div class="rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200">
                    <h3 class="text-sm font-semibold">"Subscription tiers"</h3>
                    <div class="mt-2 flex flex-wrap gap-1">
                        {a.tiers.iter().map(|t| view! {
                            <span class="rounded bg-indigo-50 px-2 py-0.5 text-xs text-indigo-800">{t.tier_name.clone()}</span>
                        }).collect_view()}
                    </div>
                    <p class="mt-2 text-xs text-slate-500">{format!("{} · security: {}", i.monetization_label, a.security_scheme.join(", "))}</p>
                    <p class="mt-1 text-xs text-slate-500">"API key header: " <code>{a.api_key_header.clone()}</code></p>
                </div>
                <div class="rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200" data-testid="business-info">
                    <h3 class="text-sm font-semibold">"Business information"</h3>
                    <p class="mt-2 text-sm text-slate-600">"Business owner: " {b.business_owner.unwrap_or_else(|| "—".into())}
                        {b.business_owner_email.map(|e| format!(" <{e}>"))}</p>
                    <p class="text-sm text-slate-600">"Technical owner: " {b.technical_owner.unwrap_or_else(|| "—".into())}
                        {b.technical_owner_email.map(|e| format!(" <{e}>"))}</p>
                </div>
            </aside>
        </div>
    }
}

/// The request as curl, with placeholders for the credential and parameters.
fn curl_hint(op: &OperationDoc, base: &str, key_header: &Option<String>) -> String {
    let mut cmd = format!(
        "curl -X {} '{}{}'",
        op.verb,
        base.trim_end_matches('/'),
        op.target
    );
    if op.secured {
        cmd.push_str(" -H 'Authorization: Bearer <access token>'");
        if let Some(h) = key_header {
            cmd.push_str(&format!("   # or -H '{h}: <API key>'"));
        }
    }
    if !op.request_body.is_empty() {
        let kind = op
            .request_body
            .first()
            .cloned()
            .unwrap_or_else(|| "application/json".into());
        cmd.push_str(&format!(" -H 'Content-Type: {kind}' --data-binary @body"));
    }
    cmd
}

fn operation(op: OperationDoc, base: &str, key_header: &Option<String>) -> impl IntoView + use<> {
    let curl = curl_hint(&op, base, key_header);
    let colour = match op.verb.as_str() {
        "GET" => "bg-sky-100 text-sky-800",
        "POST" => "bg-emerald-100 text-emerald-800",
        "PUT" | "PATCH" => "bg-amber-100 text-amber-800",
        "DELETE" => "bg-rose-100 text-rose-800",
        _ => "bg-slate-100 text-slate-700",
    };
    view! {
        <details class="rounded-lg border border-slate-200" data-operation=format!("{} {}", op.verb, op.target)>
            <summary class="flex cursor-pointer items-center gap-3 px-3 py-2">
                <span class=format!("w-16 rounded px-2 py-0.5 text-center font-mono text-xs font-semibold {colour}")>{op.verb.clone()}</span>
                <span class="font-mono text-sm">{op.target.clone()}</span>
                <span class="text-sm text-slate-500">{op.summary.clone().unwrap_or_default()}</span>
                {(!op.secured).then(|| view! { <span class="ml-auto text-xs text-slate-400">"open"</span> })}
            </summary>
            <div class="space-y-3 border-t border-slate-200 px-3 py-3 text-sm">
                {op.description.clone().map(|d| view! { <p class="text-slate-600">{d}</p> })}
                {(!op.parameters.is_empty()).then(|| view! {
                    <table class="w-full text-left text-xs">
                        <thead><tr class="text-slate-500"><th class="py-1">"Parameter"</th><th>"In"</th><th>"Type"</th><th>"Required"</th><th>"Description"</th></tr></thead>
                        <tbody>
                            {op.parameters.iter().map(|p| view! {
                                <tr class="border-t border-slate-100">
                                    <td class="py-1 font-mono">{p.name.clone()}</td><td>{p.location.clone()}</td>
                                    <td class="font-mono">{p.kind.clone()}</td><td>{if p.required { "yes" } else { "no" }}</td>
                                    <td>{p.description.clone().unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                })}
                {(!op.request_body.is_empty()).then(|| view! {
                    <p class="text-xs text-slate-600">"Request body" {if op.request_body_required { " (required)" } else { "" }} ": " {op.request_body.join(", ")}</p>
                })}
                // The body's shape: the document's example, or one built from the schema.
                {op.request_example.clone().map(|example| view! {
                    <details class="text-xs">
                        <summary class="cursor-pointer text-slate-600">"Example body"</summary>
                        <pre class="mt-1 max-h-64 overflow-auto rounded bg-slate-50 p-2 font-mono text-slate-700" data-testid="body-example">{example}</pre>
                    </details>
                })}
                {(!op.scopes.is_empty()).then(|| view! { <p class="text-xs text-slate-600">"Scopes: " {op.scopes.join(", ")}</p> })}
                <pre class="whitespace-pre-wrap break-all rounded bg-slate-50 p-2 font-mono text-xs text-slate-700" data-testid="curl-hint">{curl}</pre>
                <ul class="text-xs text-slate-600">
                    {op.responses.iter().map(|(code, d)| view! {
                        <li><span class="font-mono font-semibold">{code.clone()}</span> " " {d.clone()}</li>
                    }).collect_view()}
                </ul>
            </div>
        </details>
    }
}
