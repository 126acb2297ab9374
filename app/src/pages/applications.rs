//! Developer Portal: the signed-in user's applications — list and create, and one
//! application's page with its keys per key type (generate, show the secret once, regenerate,
//! test token with the curl commands, remove), API keys (shown once, revoke) and subscriptions;
//! plus the subscribe panel of an API's page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{ServiceError, applications_call};
use crate::applications::{
    self as a, ApiKey, Application, ApplicationKey, ApplicationToken, ApplicationsCall as C,
    ApplicationsReply as R, KeyGenerateRequest, Subscription,
};
use crate::auth::Portal;
use crate::components::{EmptyState, PageTitle, PortalPage};
use crate::pages::devportal::nav;
use crate::pages::publisher::{
    BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, error_banner, field_error,
};

async fn run(call: C) -> Result<R, ServiceError> {
    crate::api::reached(applications_call(call).await)
}

#[component]
pub fn ApplicationList() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let apps = Resource::new(move || version.get(), |_| run(C::List));
    let policies = Resource::new(|| (), |_| run(C::ApplicationPolicies));
    let name = RwSignal::new(String::new());
    let policy = RwSignal::new("Unlimited".to_string());
    let description = RwSignal::new(String::new());
    let attributes = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ServiceError>);
    let navigate = use_navigate();
    let create = Action::new(move |app: &Application| {
        run(C::Create {
            application: app.clone(),
        })
    });
    Effect::new(move |_| {
        if let Some(result) = create.value().get() {
            match result {
                Ok(R::Application(a)) => navigate(
                    &format!(
                        "/devportal/applications/{}",
                        a.application_id.unwrap_or_default()
                    ),
                    Default::default(),
                ),
                Ok(_) => {}
                Err(e) => error.set(Some(e)),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let attributes = match a::parse_attributes(&attributes.get_untracked()) {
            Ok(m) => m,
            Err(message) => {
                error.set(Some(ServiceError::Invalid {
                    field: "attributes".into(),
                    message,
                }));
                return;
            }
        };
        create.dispatch(Application {
            name: name.get_untracked(),
            throttling_policy: policy.get_untracked(),
            description: Some(description.get_untracked()),
            attributes,
            ..Default::default()
        });
    };
    view! {
        <Title text="Applications"/>
        <PortalPage portal=Portal::DevPortal>
            {nav()}
            <PageTitle title="Applications" subtitle="An application groups the APIs you subscribe to and carries the keys your client calls them with."/>
            <div class="grid gap-6 lg:grid-cols-3">
                <div class="lg:col-span-2">
                    <Suspense fallback=|| view! { <p class="text-slate-500">"Loading applications…"</p> }>
                        {move || Suspend::new(async move {
                            match apps.await {
                                Ok(R::Applications(list)) if list.is_empty() => view! {
                                    <EmptyState title="You have no applications yet"
                                        detail="Create one on the right; then generate its keys and subscribe it to APIs."/>
                                }.into_any(),
                                Ok(R::Applications(list)) => view! {
                                    <table class=format!("{CARD} w-full text-left text-sm") data-testid="applications">
                                        <thead><tr class="text-slate-500"><th class="py-2">"Name"</th><th>"Policy"</th><th>"Subscriptions"</th><th>"Status"</th></tr></thead>
                                        <tbody>
                                            {list.into_iter().map(|a| view! {
                                                <tr class="border-t border-slate-100">
                                                    <td class="py-2"><a class="font-medium text-indigo-700 hover:underline"
                                                        href=format!("/devportal/applications/{}", a.application_id.clone().unwrap_or_default())>{a.name.clone()}</a></td>
                                                    <td>{a.throttling_policy.clone()}</td>
                                                    <td>{a.subscription_count}</td>
                                                    <td>{
                                                        let (label, tone) = a::application_state(&a.status);
                                                        view! { <span class=a::badge_class(tone) data-status=a.status.clone()>{label}</span> }
                                                    }</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any(),
                                Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                                Ok(_) => ().into_any(),
                            }
                        })}
                    </Suspense>
                </div>
                <form on:submit=submit class=format!("{CARD} space-y-4") data-testid="create-application">
                    <h2 class="text-lg font-semibold">"New application"</h2>
                    {error_banner(error)}
                    <div>
                        <label class=LABEL for="app-name">"Name"</label>
                        <input id="app-name" class=INPUT bind:value=name required placeholder="My mobile app"/>
                        {field_error(error, "name")}
                    </div>
                    <div>
                        <label class=LABEL for="app-policy">"Rate limit (application policy)"</label>
                        <select id="app-policy" class=INPUT
                            on:change=move |ev| policy.set(event_target_value(&ev))>
                            {policy_options(policies, "Unlimited".to_string())}
                        </select>
                    </div>
                    <div>
                        <label class=LABEL for="app-description">"Description"</label>
                        <textarea id="app-description" class=INPUT rows="2" bind:value=description></textarea>
                    </div>
                    <div>
                        <label class=LABEL for="app-attributes">"Custom attributes (optional; one key=value per line)"</label>
                        <textarea id="app-attributes" class=format!("{INPUT} font-mono") rows="2" bind:value=attributes placeholder="team=payments"></textarea>
                        {field_error(error, "attributes")}
                    </div>
                    <button type="submit" class=BUTTON disabled=move || create.pending().get()>"Create application"</button>
                    <p class="text-xs text-slate-400">{move || { version.get(); "" }}</p>
                </form>
            </div>
        </PortalPage>
    }
}

#[component]
pub fn ApplicationDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let version = RwSignal::new(0u32);
    let app = Resource::new(move || (id(), version.get()), |(id, _)| run(C::Get { id }));
    // Every resource of the page is made here, outside the suspended part, so hydration finds
    // the server's data for each.
    let key_version = RwSignal::new(0u32);
    let api_keys = Resource::new(
        move || (id(), key_version.get()),
        |(id, _)| run(C::ApiKeys { id }),
    );
    let sub_offset = RwSignal::new(0i64);
    let subs = Resource::new(
        move || (id(), version.get(), sub_offset.get()),
        |(id, _, offset)| {
            run(C::Subscriptions {
                application_id: Some(id),
                api_id: None,
                offset,
                limit: SUBSCRIPTIONS_PAGE,
            })
        },
    );
    let managers = Resource::new(|| (), |_| run(C::KeyManagers));
    let policies = Resource::new(|| (), |_| run(C::ApplicationPolicies));
    let usage = crate::pages::analytics::resource(move || {
        Some(crate::analytics::Scope::Application { id: id() })
    });
    let lists = Lists {
        api_keys,
        key_version,
        subs,
        sub_offset,
        managers,
        policies,
        usage,
    };
    view! {
        <Title text="Application"/>
        <PortalPage portal=Portal::DevPortal>
            {nav()}
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match app.await {
                        Ok(R::Application(a)) => application_page(*a, version, lists).into_any(),
                        Err(ServiceError::NotFound(_)) => view! {
                            <EmptyState title="No such application" detail="It may have been deleted, or belong to someone else."/>
                        }.into_any(),
                        Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                        Ok(_) => ().into_any(),
                    }
                })}
            </Suspense>
        </PortalPage>
    }
}

type Listing = Resource<Result<R, ServiceError>>;

/// The organization's application policies as `<option>`s, `current` selected.
fn policy_options(policies: Listing, current: String) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let current = current.clone();
                Suspend::new(async move {
                    let names = match policies.await {
                        Ok(R::Policies(names)) => names,
                        _ => vec![current.clone()],
                    };
                    names.into_iter().map(|p| {
                        let selected = p == current;
                        view! { <option value=p.clone() selected=selected>{p.clone()}</option> }
                    }).collect_view()
                })
            }}
        </Suspense>
    }
}

#[derive(Clone, Copy)]
struct Lists {
    api_keys: Listing,
    key_version: RwSignal<u32>,
    subs: Listing,
    sub_offset: RwSignal<i64>,
    managers: Listing,
    policies: Listing,
    /// The application's own traffic (`?range=`).
    usage: crate::pages::analytics::Data,
}

const SUBSCRIPTIONS_PAGE: i64 = 50;

fn application_page(app: Application, version: RwSignal<u32>, lists: Lists) -> impl IntoView {
    let id = app.application_id.clone().unwrap_or_default();
    let navigate = use_navigate();
    let delete = Action::new({
        let id = id.clone();
        move |_: &()| run(C::Delete { id: id.clone() })
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = delete.value().get() {
            navigate("/devportal/applications", Default::default());
        }
    });
    let keys = app.keys.clone();
    // Editing name, rate limit and description.
    let name = RwSignal::new(app.name.clone());
    let policy = RwSignal::new(app.throttling_policy.clone());
    let description = RwSignal::new(app.description.clone().unwrap_or_default());
    let attributes = RwSignal::new(a::attributes_text(&app.attributes));
    let edit_error = RwSignal::new(None::<ServiceError>);
    let save = Action::new({
        let id = id.clone();
        move |parsed: &serde_json::Map<String, serde_json::Value>| {
            run(C::Update {
                id: id.clone(),
                application: Application {
                    name: name.get_untracked(),
                    throttling_policy: policy.get_untracked(),
                    description: Some(description.get_untracked()),
                    attributes: parsed.clone(),
                    ..Default::default()
                },
            })
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => version.update(|v| *v += 1),
        Some(Err(e)) => edit_error.set(Some(e)),
        None => {}
    });
    let current_policy = app.throttling_policy.clone();
    view! {
        <div class="mb-6 flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-bold tracking-tight" data-testid="application-name">{app.name.clone()}</h1>
            <span class="rounded bg-slate-100 px-2 py-0.5 text-xs" data-testid="application-policy">{app.throttling_policy.clone()}</span>
            {
                let (label, tone) = a::application_state(&app.status);
                view! { <span class=a::badge_class(tone) data-testid="application-status" data-status=app.status.clone()>{label}</span> }
            }
            {app.attributes.iter().map(|(k, v)| view! {
                <span class="rounded bg-slate-100 px-2 py-0.5 text-xs text-slate-600" data-testid="application-attribute">
                    {format!("{k}: {}", v.as_str().unwrap_or_default())}
                </span>
            }).collect_view()}
            <button class=format!("{BUTTON_LIGHT} ml-auto") on:click=move |_| {
                #[cfg(feature = "hydrate")]
                if !window().confirm_with_message("Delete this application, its keys and subscriptions?").unwrap_or(false) {
                    return;
                }
                delete.dispatch(());
            }>"Delete application"</button>
        </div>
        <details class=format!("{CARD} mb-6") data-testid="edit-application">
            <summary class="cursor-pointer text-sm font-semibold">"Edit name, rate limit and description"</summary>
            <form class="mt-4 grid gap-4 sm:grid-cols-3" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                edit_error.set(None);
                match a::parse_attributes(&attributes.get_untracked()) {
                    Ok(parsed) => { save.dispatch(parsed); }
                    Err(message) => edit_error.set(Some(ServiceError::Invalid { field: "attributes".into(), message })),
                }
            }>
                <div class="sm:col-span-3">{error_banner(edit_error)}</div>
                <div>
                    <label class=LABEL for="edit-name">"Name"</label>
                    <input id="edit-name" class=INPUT bind:value=name required/>
                    {field_error(edit_error, "name")}
                </div>
                <div>
                    <label class=LABEL for="edit-policy">"Rate limit"</label>
                    <select id="edit-policy" class=INPUT on:change=move |ev| policy.set(event_target_value(&ev))>
                        {policy_options(lists.policies, current_policy.clone())}
                    </select>
                </div>
                <div>
                    <label class=LABEL for="edit-description">"Description"</label>
                    <input id="edit-description" class=INPUT bind:value=description/>
                </div>
                <div class="sm:col-span-3">
                    <label class=LABEL for="edit-attributes">"Custom attributes (one key=value per line)"</label>
                    <textarea id="edit-attributes" class=format!("{INPUT} font-mono") rows="3" bind:value=attributes></textarea>
                    {field_error(edit_error, "attributes")}
                </div>
                <div class="sm:col-span-3">
                    <button type="submit" class=BUTTON disabled=move || save.pending().get()>"Save"</button>
                </div>
            </form>
        </details>
        {(app.status != "APPROVED").then(|| {
            let text = if app.status == "CREATED" {
                "An administrator must approve this application before it can get keys or subscribe to APIs. This page shows the change once it is decided."
            } else {
                "An administrator rejected this application. It cannot get keys or subscriptions; delete it, or ask your administrator."
            };
            view! { <p class="mb-6 rounded-lg bg-amber-50 p-4 text-sm text-amber-900 ring-1 ring-amber-200" data-testid="application-pending">{text}</p> }
        })}
        {(app.status == "APPROVED").then(|| view! {
            <div class="grid gap-6 lg:grid-cols-2">
                {a::KEY_TYPES.iter().map(|kt| {
                    let key = keys.iter().find(|k| k.key_type == *kt && k.key_manager == "Resident Key Manager").cloned();
                    key_panel(id.clone(), kt, key, version)
                }).collect_view()}
            </div>
            {mapped_keys_panel(id.clone(), keys.iter().filter(|k| k.key_manager != "Resident Key Manager").cloned().collect(), lists.managers, version)}
            {api_keys_panel(id.clone(), lists.api_keys, lists.key_version)}
        })}
        {subscriptions_panel(lists.subs, lists.sub_offset, version)}
        <div class="mt-8" data-testid="application-usage">
            <crate::pages::analytics::AnalyticsPanel data=lists.usage
                lists=crate::pages::analytics::Lists { apis: true, applications: false, operations: true }
                empty="Calls this application makes through the gateway show here: requests, errors, latency and the APIs it uses."/>
        </div>
    }
}

/// Where the token endpoint is, as the browser sees the server.
fn origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        window().location().origin().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

fn key_panel(
    app_id: String,
    key_type: &'static str,
    key: Option<ApplicationKey>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let error = RwSignal::new(None::<ServiceError>);
    // The secret exists in this page only right after it was made.
    let secret = RwSignal::new(None::<String>);
    let token = RwSignal::new(None::<ApplicationToken>);
    let shown = RwSignal::new(key.clone());
    let password = RwSignal::new(false);
    let refresh = RwSignal::new(false);
    let generate = Action::new({
        let app_id = app_id.clone();
        move |grants: &Vec<String>| {
            run(C::GenerateKeys {
                id: app_id.clone(),
                request: KeyGenerateRequest {
                    key_type: key_type.into(),
                    grant_types_to_be_supported: grants.clone(),
                    ..Default::default()
                },
            })
        }
    });
    let regenerate = Action::new({
        let app_id = app_id.clone();
        move |kmid: &String| {
            run(C::RegenerateSecret {
                id: app_id.clone(),
                key_mapping_id: kmid.clone(),
            })
        }
    });
    // Scopes asked for in the test token (space-separated); the token holds those the
    // application's subscribed APIs declare.
    let token_scopes = RwSignal::new(String::new());
    let get_token = Action::new({
        let app_id = app_id.clone();
        move |kmid: &String| {
            run(C::GenerateToken {
                id: app_id.clone(),
                key_mapping_id: kmid.clone(),
                scopes: token_scopes
                    .get_untracked()
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
            })
        }
    });
    let clean = Action::new({
        let app_id = app_id.clone();
        move |kmid: &String| {
            run(C::CleanUp {
                id: app_id.clone(),
                key_mapping_id: kmid.clone(),
            })
        }
    });
    let on_key = move |result: Option<Result<R, ServiceError>>| match result {
        Some(Ok(R::Key(k))) => {
            secret.set(k.consumer_secret.clone());
            shown.set(Some(*k));
        }
        Some(Err(e)) => error.set(Some(e)),
        _ => {}
    };
    Effect::new(move |_| on_key(generate.value().get()));
    Effect::new(move |_| on_key(regenerate.value().get()));
    Effect::new(move |_| match get_token.value().get() {
        Some(Ok(R::Token(t))) => token.set(Some(t)),
        Some(Err(e)) => error.set(Some(e)),
        _ => {}
    });
    Effect::new(move |_| match clean.value().get() {
        Some(Ok(_)) => {
            shown.set(None);
            secret.set(None);
            token.set(None);
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let title = if key_type == a::PRODUCTION {
        "Production keys"
    } else {
        "Sandbox keys"
    };
    view! {
        <section class=CARD data-testid=format!("keys-{key_type}")>
            <h2 class="mb-3 text-lg font-semibold">{title}</h2>
            {error_banner(error)}
            {move || match shown.get() {
                None => view! {
                    <p class="mb-3 text-sm text-slate-600">"No OAuth client yet. Generate one to get tokens from the token endpoint."</p>
                    <div class="mb-3 space-y-1 text-sm">
                        <label class="flex items-center gap-2"><input type="checkbox" checked disabled/>"client_credentials"</label>
                        <label class="flex items-center gap-2"><input type="checkbox" bind:checked=password/>"password"</label>
                        <label class="flex items-center gap-2"><input type="checkbox" bind:checked=refresh/>"refresh_token"</label>
                    </div>
                    <button class=BUTTON disabled=move || generate.pending().get() on:click=move |_| {
                        error.set(None);
                        let mut grants = vec!["client_credentials".to_string()];
                        if password.get_untracked() { grants.push("password".into()); }
                        if refresh.get_untracked() { grants.push("refresh_token".into()); }
                        generate.dispatch(grants);
                    }>"Generate keys"</button>
                }.into_any(),
                Some(k) => {
                    let kmid = k.key_mapping_id.clone();
                    let (kmid2, kmid3) = (kmid.clone(), kmid.clone());
                    let consumer_key = k.consumer_key.clone();
                    view! {
                        <dl class="space-y-2 text-sm">
                            <div><dt class="text-slate-500">"Consumer key"</dt>
                                <dd class="break-all font-mono" data-testid="consumer-key">{consumer_key.clone()}</dd></div>
                            <div><dt class="text-slate-500">"Consumer secret"</dt>
                                <dd class="break-all font-mono" data-testid="consumer-secret">{move || secret.get().unwrap_or_else(|| "•••••• (shown once; regenerate to get a new one)".into())}</dd></div>
                            <div><dt class="text-slate-500">"Grant types"</dt><dd>{k.supported_grant_types.join(", ")}</dd></div>
                        </dl>
                        {move || secret.get().map(|s| view! {
                            <div class="mt-3 rounded-md bg-amber-50 p-3 text-xs text-amber-900">
                                <p class="font-medium">"Copy the secret now: it is not stored and will not be shown again."</p>
                                <pre class="mt-2 whitespace-pre-wrap break-all font-mono">{format!("curl -u '{}:{}' -d grant_type=client_credentials {}/oauth2/token", consumer_key, s, origin())}</pre>
                            </div>
                        })}
                        <div class="mt-4">
                            <label class=LABEL for=format!("token-scopes-{key_type}")>"Scopes for the test token (optional, space-separated)"</label>
                            <input id=format!("token-scopes-{key_type}") class=format!("{INPUT} font-mono") bind:value=token_scopes placeholder="read:pets write:pets"/>
                        </div>
                        <div class="mt-4 flex flex-wrap gap-2">
                            <button class=BUTTON disabled=move || get_token.pending().get()
                                on:click=move |_| { error.set(None); get_token.dispatch(kmid.clone()); }>"Generate test token"</button>
                            <button class=BUTTON_LIGHT on:click=move |_| { error.set(None); regenerate.dispatch(kmid2.clone()); }>"Regenerate secret"</button>
                            <button class=BUTTON_LIGHT on:click=move |_| { error.set(None); clean.dispatch(kmid3.clone()); }>"Remove keys"</button>
                        </div>
                        {move || token.get().map(|t| view! {
                            <div class="mt-4 rounded-md bg-slate-50 p-3 text-xs">
                                <p class="font-medium">{format!("Access token (valid {} s, scopes: {})", t.validity_time, t.token_scopes.join(" "))}</p>
                                <pre class="mt-2 whitespace-pre-wrap break-all font-mono" data-testid="test-token">{t.access_token.clone()}</pre>
                                <p class="mt-2 text-slate-500">"Call an API you subscribed to:"</p>
                                <pre class="whitespace-pre-wrap break-all font-mono">{format!("curl -H 'Authorization: Bearer {}' <gateway URL>/<context>/<version>/<resource>", t.access_token)}</pre>
                            </div>
                        })}
                    }.into_any()
                }
            }}
        </section>
    }
}

/// Clients of third-party key managers (Azure AD, Keycloak, …) mapped to this application: their
/// tokens then work at the gateway. Only key managers the user's roles may see are offered.
fn mapped_keys_panel(
    app_id: String,
    mapped: Vec<ApplicationKey>,
    managers: Listing,
    version: RwSignal<u32>,
) -> impl IntoView {
    let error = RwSignal::new(None::<ServiceError>);
    let manager = RwSignal::new(String::new());
    let key_type = RwSignal::new(a::PRODUCTION.to_string());
    let consumer_key = RwSignal::new(String::new());
    let map = Action::new({
        let app_id = app_id.clone();
        move |req: &crate::applications::KeyMappingRequest| {
            run(C::MapKeys {
                id: app_id.clone(),
                request: req.clone(),
            })
        }
    });
    let remove = Action::new({
        let app_id = app_id.clone();
        move |kmid: &String| {
            run(C::CleanUp {
                id: app_id.clone(),
                key_mapping_id: kmid.clone(),
            })
        }
    });
    Effect::new(move |_| match map.value().get() {
        Some(Ok(_)) => version.update(|v| *v += 1),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(_)) => version.update(|v| *v += 1),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    view! {
        <section class=format!("{CARD} mt-6") data-testid="mapped-keys">
            <h2 class="mb-1 text-lg font-semibold">"Keys from other key managers"</h2>
            <p class="mb-3 text-sm text-slate-600">"Map a client that exists at your identity provider; its tokens then work for the APIs this application subscribes to."</p>
            {error_banner(error)}
            {(!mapped.is_empty()).then(|| view! {
                <table class="mb-4 w-full text-left text-sm">
                    <thead><tr class="text-slate-500"><th class="py-1">"Key manager"</th><th>"Client id"</th><th>"Type"</th><th></th></tr></thead>
                    <tbody>
                        {mapped.into_iter().map(|k| {
                            let kmid = k.key_mapping_id.clone();
                            view! {
                                <tr class="border-t border-slate-100">
                                    <td class="py-1">{k.key_manager.clone()}</td>
                                    <td class="break-all font-mono text-xs">{k.consumer_key.clone()}</td>
                                    <td>{k.key_type.clone()}</td>
                                    <td><button class=BUTTON_LIGHT on:click=move |_| { remove.dispatch(kmid.clone()); }>"Remove"</button></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let others: Vec<crate::applications::KeyManagerInfo> = match managers.await {
                        Ok(R::KeyManagers(list)) => list.into_iter().filter(|k| k.kind != "Default").collect(),
                        _ => vec![],
                    };
                    if others.is_empty() {
                        return view! { <p class="text-sm text-slate-500">"No other key manager is available to you."</p> }.into_any();
                    }
                    if manager.get_untracked().is_empty() {
                        manager.set(others[0].name.clone());
                    }
                    view! {
                        <form class="grid gap-3 sm:grid-cols-4" on:submit=move |ev: leptos::ev::SubmitEvent| {
                            ev.prevent_default();
                            error.set(None);
                            map.dispatch(crate::applications::KeyMappingRequest {
                                consumer_key: consumer_key.get_untracked(),
                                consumer_secret: None,
                                key_manager: Some(manager.get_untracked()),
                                key_type: key_type.get_untracked(),
                            });
                        }>
                            <div>
                                <label class=LABEL for="map-km">"Key manager"</label>
                                <select id="map-km" class=INPUT on:change=move |ev| manager.set(event_target_value(&ev))>
                                    {others.into_iter().map(|k| view! { <option value=k.name.clone()>{k.display_name.clone()}</option> }).collect_view()}
                                </select>
                            </div>
                            <div>
                                <label class=LABEL for="map-type">"Key type"</label>
                                <select id="map-type" class=INPUT on:change=move |ev| key_type.set(event_target_value(&ev))>
                                    {a::KEY_TYPES.iter().map(|k| view! { <option value=*k>{*k}</option> }).collect_view()}
                                </select>
                            </div>
                            <div>
                                <label class=LABEL for="map-client">"Client id"</label>
                                <input id="map-client" class=INPUT bind:value=consumer_key required/>
                                {field_error(error, "consumerKey")}
                            </div>
                            <div class="flex items-end">
                                <button type="submit" class=BUTTON disabled=move || map.pending().get()>"Map client"</button>
                            </div>
                        </form>
                    }.into_any()
                })}
            </Suspense>
        </section>
    }
}

fn api_keys_panel(app_id: String, list: Listing, version: RwSignal<u32>) -> impl IntoView {
    let error = RwSignal::new(None::<ServiceError>);
    let created = RwSignal::new(None::<ApiKey>);
    let key_type = RwSignal::new(a::PRODUCTION.to_string());
    let generate = Action::new({
        let app_id = app_id.clone();
        move |kt: &String| {
            run(C::GenerateApiKey {
                id: app_id.clone(),
                key_type: kt.clone(),
                validity_seconds: None,
            })
        }
    });
    let revoke = Action::new({
        let app_id = app_id.clone();
        move |(kt, key_id): &(String, String)| {
            run(C::RevokeApiKey {
                id: app_id.clone(),
                key_type: kt.clone(),
                key_id: key_id.clone(),
            })
        }
    });
    Effect::new(move |_| match generate.value().get() {
        Some(Ok(R::ApiKey(k))) => {
            created.set(Some(k));
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => error.set(Some(e)),
        _ => {}
    });
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(_)) => version.update(|v| *v += 1),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    view! {
        <section class=format!("{CARD} mt-6") data-testid="api-keys">
            <div class="mb-3 flex flex-wrap items-center gap-2">
                <h2 class="text-lg font-semibold">"API keys"</h2>
                <select class="ml-auto rounded-md border border-slate-300 px-2 py-1 text-sm" aria-label="Key type"
                    on:change=move |ev| key_type.set(event_target_value(&ev))>
                    {a::KEY_TYPES.iter().map(|k| view! { <option value=*k>{*k}</option> }).collect_view()}
                </select>
                <button class=BUTTON on:click=move |_| { error.set(None); generate.dispatch(key_type.get_untracked()); }>"Generate API key"</button>
            </div>
            {error_banner(error)}
            {move || created.get().map(|k| view! {
                <div class="mb-3 rounded-md bg-amber-50 p-3 text-xs text-amber-900">
                    <p class="font-medium">"Copy the key now: only its digest is stored. Send it in the API's API-key header (shown on the API's page)."</p>
                    <pre class="mt-2 break-all font-mono" data-testid="api-key-value">{k.apikey.clone()}</pre>
                </div>
            })}
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(R::ApiKeys(keys)) if keys.is_empty() => view! {
                            <p class="text-sm text-slate-500">"No API keys. An API key is an alternative to tokens for APIs that accept one."</p>
                        }.into_any(),
                        Ok(R::ApiKeys(keys)) => view! {
                            <table class="w-full text-left text-sm">
                                <thead><tr class="text-slate-500"><th class="py-1">"Key"</th><th>"Type"</th><th>"Created"</th><th>"Expires"</th><th></th></tr></thead>
                                <tbody>
                                    {keys.into_iter().map(|k| {
                                        let pair = (k.key_type.clone(), k.key_id.clone());
                                        view! {
                                            <tr class="border-t border-slate-100">
                                                <td class="py-1 font-mono">{format!("{}…", k.key_prefix)}</td>
                                                <td>{k.key_type.clone()}</td>
                                                <td class="text-xs">{k.created_time.clone()}</td>
                                                <td class="text-xs">{k.expires_time.clone().unwrap_or_else(|| "never".into())}</td>
                                                <td><button class=BUTTON_LIGHT on:click=move |_| { revoke.dispatch(pair.clone()); }>"Revoke"</button></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                        Ok(_) => ().into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn subscriptions_panel(
    subs: Listing,
    offset: RwSignal<i64>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let unsubscribe = Action::new(move |id: &String| run(C::Unsubscribe { id: id.clone() }));
    Effect::new(move |_| {
        if let Some(Ok(_)) = unsubscribe.value().get() {
            version.update(|v| *v += 1);
        }
    });
    view! {
        <section class=format!("{CARD} mt-6") data-testid="subscriptions">
            <h2 class="mb-3 text-lg font-semibold">"Subscriptions"</h2>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match subs.await {
                        Ok(R::Subscriptions(page)) if page.list.is_empty() && page.pagination.total == 0 => view! {
                            <p class="text-sm text-slate-500">"Not subscribed to any API. Open an API in the catalogue and subscribe this application there."</p>
                        }.into_any(),
                        Ok(R::Subscriptions(page)) => {
                            let p = page.pagination.clone();
                            let first = p.offset + 1;
                            let last = p.offset + page.count as i64;
                            view! {
                                {subscription_table(page.list, unsubscribe)}
                                {(p.total > p.limit).then(|| view! {
                                    <div class="mt-3 flex items-center gap-2 text-sm text-slate-600">
                                        <span>{format!("{first}–{last} of {}", p.total)}</span>
                                        <button class=BUTTON_LIGHT disabled=p.offset == 0
                                            on:click=move |_| offset.update(|o| *o = (*o - SUBSCRIPTIONS_PAGE).max(0))>"Previous"</button>
                                        <button class=BUTTON_LIGHT disabled={last >= p.total}
                                            on:click=move |_| offset.update(|o| *o += SUBSCRIPTIONS_PAGE)>"Next"</button>
                                    </div>
                                })}
                            }.into_any()
                        }
                        Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                        Ok(_) => ().into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn subscription_table(
    list: Vec<Subscription>,
    unsubscribe: Action<String, Result<R, ServiceError>>,
) -> impl IntoView {
    view! {
        <table class="w-full text-left text-sm">
            <thead><tr class="text-slate-500"><th class="py-1">"API"</th><th>"Application"</th><th>"Tier"</th><th>"Status"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|s| {
                    let api = s.api_info.clone().unwrap_or_default();
                    let app_name = s.application_info.as_ref().and_then(|a| a["name"].as_str()).unwrap_or_default().to_string();
                    let id = s.subscription_id.clone().unwrap_or_default();
                    let (label, tone) = a::subscription_state(&s.status);
                    let label = match &s.requested_throttling_policy {
                        Some(t) if s.status == a::status::TIER_UPDATE_PENDING => format!("{label} ({t})"),
                        _ => label.to_string(),
                    };
                    view! {
                        <tr class="border-t border-slate-100" data-subscription=api.name.clone()>
                            <td class="py-1"><a class="text-indigo-700 hover:underline" href=format!("/devportal/apis/{}", api.id)>{format!("{} {}", api.name, api.version)}</a></td>
                            <td>{app_name}</td>
                            <td>{s.throttling_policy.clone()}</td>
                            <td><span class=a::badge_class(tone) data-status=s.status.clone()>{label}</span></td>
                            <td><button class=BUTTON_LIGHT on:click=move |_| { unsubscribe.dispatch(id.clone()); }>"Unsubscribe"</button></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// On an API's page: subscribe one of your applications with one of the offered tiers.
#[component]
pub fn SubscribePanel(
    api_id: String,
    /// The API's page resource; the tiers come from it.
    api: Resource<Result<crate::devportal::DevportalReply, ServiceError>>,
) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let apps = Resource::new(move || version.get(), |_| run(C::List));
    let subs = Resource::new(
        {
            let api_id = api_id.clone();
            move || (api_id.clone(), version.get())
        },
        |(api, _)| {
            run(C::Subscriptions {
                application_id: None,
                api_id: Some(api),
                offset: 0,
                limit: 100,
            })
        },
    );
    let chosen_app = RwSignal::new(String::new());
    let tier = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ServiceError>);
    let subscribe = Action::new(move |s: &Subscription| {
        run(C::Subscribe {
            subscription: s.clone(),
        })
    });
    let unsubscribe = Action::new(move |id: &String| run(C::Unsubscribe { id: id.clone() }));
    Effect::new(move |_| match subscribe.value().get() {
        Some(Ok(_)) => version.update(|v| *v += 1),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = unsubscribe.value().get() {
            version.update(|v| *v += 1);
        }
    });
    let submit = {
        let api_id = api_id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            error.set(None);
            subscribe.dispatch(Subscription {
                application_id: chosen_app.get_untracked(),
                api_id: api_id.clone(),
                throttling_policy: tier.get_untracked(),
                ..Default::default()
            });
        }
    };
    view! {
        <div class="rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200" data-testid="subscribe">
            <h3 class="text-sm font-semibold">"Subscribe"</h3>
            {error_banner(error)}
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || {
                    let submit = submit.clone();
                    Suspend::new(async move {
                    let tiers: Vec<String> = match api.await {
                        Ok(crate::devportal::DevportalReply::Api(a)) => {
                            a.tiers.iter().map(|t| t.tier_name.clone()).collect()
                        }
                        _ => vec![],
                    };
                    if tier.get_untracked().is_empty() {
                        tier.set(tiers.first().cloned().unwrap_or_default());
                    }
                    match apps.await {
                        Ok(R::Applications(list)) if list.is_empty() => view! {
                            <p class="mt-2 text-sm text-slate-600">"You have no application yet. "
                                <a class="text-indigo-700 hover:underline" href="/devportal/applications">"Create one"</a>" to subscribe."</p>
                        }.into_any(),
                        Ok(R::Applications(list)) => {
                            if chosen_app.get_untracked().is_empty()
                                && let Some(first) = list.iter().find(|a| a.status == "APPROVED")
                            {
                                chosen_app.set(first.application_id.clone().unwrap_or_default());
                            }
                            view! {
                                <form class="mt-2 space-y-2" on:submit=submit>
                                    <label class=LABEL for="subscribe-app">"Application"</label>
                                    <select id="subscribe-app" class=INPUT on:change=move |ev| chosen_app.set(event_target_value(&ev))>
                                        // Applications waiting for approval (or rejected) cannot subscribe yet.
                                        {list.into_iter().map(|a| {
                                            let id = a.application_id.clone().unwrap_or_default();
                                            let usable = a.status == "APPROVED";
                                            let label = if usable {
                                                a.name.clone()
                                            } else {
                                                format!("{} ({})", a.name, crate::applications::application_state(&a.status).0.to_lowercase())
                                            };
                                            view! { <option value=id disabled=!usable>{label}</option> }
                                        }).collect_view()}
                                    </select>
                                    {field_error(error, "applicationId")}
                                    <label class=LABEL for="subscribe-tier">"Tier"</label>
                                    <select id="subscribe-tier" class=INPUT on:change=move |ev| tier.set(event_target_value(&ev))>
                                        {tiers.into_iter().map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
                                    </select>
                                    {field_error(error, "throttlingPolicy")}
                                    <button type="submit" class=BUTTON disabled=move || subscribe.pending().get()>"Subscribe"</button>
                                </form>
                            }.into_any()
                        }
                        Err(ServiceError::Unauthorized) => view! {
                            <p class="mt-2 text-sm text-slate-600"><a class="text-indigo-700 hover:underline" href="/sign-in?next=/devportal">"Sign in"</a>" to subscribe."</p>
                        }.into_any(),
                        Err(e) => view! { <p class="mt-2 text-sm text-slate-600">{e.to_string()}</p> }.into_any(),
                        Ok(_) => ().into_any(),
                    }
                })}}
            </Suspense>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match subs.await {
                        Ok(R::Subscriptions(page)) if !page.list.is_empty() => view! {
                            <div class="mt-4" data-testid="api-subscriptions">{subscription_table(page.list, unsubscribe)}</div>
                        }.into_any(),
                        _ => ().into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// On an API's page: send one request through the gateway with a test token of one of your
/// applications, and see what came back.
#[component]
pub fn TryOutPanel(
    api_id: String,
    api: Resource<Result<crate::devportal::DevportalReply, ServiceError>>,
) -> impl IntoView {
    use crate::applications::{TryOutRequest, TryOutResponse};
    use crate::devportal::OperationDoc;
    let apps = Resource::new(|| (), |_| run(C::List));
    let operation = RwSignal::new(0usize);
    let method = RwSignal::new(String::new());
    // The operation's path template, its parameters (path, query, header) with the values typed.
    let template = RwSignal::new(String::new());
    let params = RwSignal::new(Vec::<(crate::devportal::ParameterDoc, String)>::new());
    let path = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let chosen_app = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ServiceError>);
    let result = RwSignal::new(None::<TryOutResponse>);
    let send = Action::new(move |r: &TryOutRequest| run(C::TryOut { request: r.clone() }));
    Effect::new(move |_| match send.value().get() {
        Some(Ok(R::TryOut(r))) => result.set(Some(*r)),
        Some(Err(e)) => error.set(Some(e)),
        _ => {}
    });
    let choose = move |op: &OperationDoc| {
        method.set(op.verb.clone());
        template.set(op.target.clone());
        path.set(op.target.clone());
        query.set(String::new());
        params.set(
            op.parameters
                .iter()
                .filter(|p| matches!(p.location.as_str(), "path" | "query" | "header"))
                .map(|p| (p.clone(), String::new()))
                .collect(),
        );
        body.set(op.request_example.clone().unwrap_or_default());
    };
    // The path and query follow the parameter fields (and stay editable).
    let set_param = move |i: usize, value: String| {
        params.update(|ps| {
            if let Some(p) = ps.get_mut(i) {
                p.1 = value;
            }
        });
        let ps = params.get_untracked();
        let mut p = template.get_untracked();
        for (doc, v) in ps
            .iter()
            .filter(|(d, v)| d.location == "path" && !v.is_empty())
        {
            p = p.replace(&format!("{{{}}}", doc.name), &encode(v));
        }
        path.set(p);
        query.set(
            ps.iter()
                .filter(|(d, v)| d.location == "query" && !v.is_empty())
                .map(|(d, v)| format!("{}={}", encode(&d.name), encode(v)))
                .collect::<Vec<_>>()
                .join("&"),
        );
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        result.set(None);
        let b = body.get_untracked();
        let mut headers: Vec<(String, String)> = params
            .get_untracked()
            .into_iter()
            .filter(|(d, v)| d.location == "header" && !v.is_empty())
            .map(|(d, v)| (d.name, v))
            .collect();
        if !b.trim().is_empty() {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        send.dispatch(TryOutRequest {
            api_id: api_id.clone(),
            application_id: chosen_app.get_untracked(),
            method: method.get_untracked(),
            path: path.get_untracked(),
            query: query.get_untracked(),
            headers,
            body: (!b.trim().is_empty()).then_some(b),
            ..Default::default()
        });
    };
    view! {
        <section class=CARD data-testid="try-out">
            <h2 class="text-lg font-semibold">"Try it out"</h2>
            <p class="mb-3 text-sm text-slate-600">"The request goes through the gateway with a fresh test token of the application you pick (it must be subscribed)."</p>
            {error_banner(error)}
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || {
                    let submit = submit.clone();
                    Suspend::new(async move {
                    let ops: Vec<OperationDoc> = match api.await {
                        Ok(crate::devportal::DevportalReply::Api(a)) => a.operations.clone(),
                        _ => vec![],
                    };
                    if ops.is_empty() {
                        return view! { <p class="text-sm text-slate-500">"No operations to try."</p> }.into_any();
                    }
                    if method.get_untracked().is_empty() {
                        choose(&ops[0]);
                    }
                    let apps = match apps.await {
                        Ok(R::Applications(list)) => list,
                        Err(ServiceError::Unauthorized) => {
                            return view! { <p class="text-sm text-slate-600"><a class="text-indigo-700 hover:underline" href="/sign-in?next=/devportal">"Sign in"</a>" to try the API."</p> }.into_any();
                        }
                        _ => vec![],
                    };
                    let apps: Vec<_> = apps.into_iter().filter(|a| a.status == "APPROVED").collect();
                    if apps.is_empty() {
                        return view! { <p class="text-sm text-slate-600">"Create an application, generate its keys and subscribe it to try the API."</p> }.into_any();
                    }
                    if chosen_app.get_untracked().is_empty() {
                        chosen_app.set(apps[0].application_id.clone().unwrap_or_default());
                    }
                    let ops_for_change = ops.clone();
                    view! {
                        <form class="space-y-3" on:submit=submit>
                            <div class="grid gap-3 sm:grid-cols-2">
                                <div>
                                    <label class=LABEL for="try-operation">"Operation"</label>
                                    <select id="try-operation" class=INPUT on:change=move |ev| {
                                        let i: usize = event_target_value(&ev).parse().unwrap_or(0);
                                        if let Some(op) = ops_for_change.get(i) {
                                            operation.set(i);
                                            choose(op);
                                        }
                                    }>
                                        {ops.iter().enumerate().map(|(i, o)| view! {
                                            <option value=i.to_string() selected=move || operation.get() == i>{format!("{} {}", o.verb, o.target)}</option>
                                        }).collect_view()}
                                    </select>
                                </div>
                                <div>
                                    <label class=LABEL for="try-app">"Application"</label>
                                    <select id="try-app" class=INPUT on:change=move |ev| chosen_app.set(event_target_value(&ev))>
                                        {apps.into_iter().map(|a| {
                                            let id = a.application_id.clone().unwrap_or_default();
                                            view! { <option value=id>{a.name.clone()}</option> }
                                        }).collect_view()}
                                    </select>
                                    {field_error(error, "applicationId")}
                                </div>
                            </div>
                            // One field per parameter the document declares for the operation.
                            {move || {
                                let ps = params.get();
                                (!ps.is_empty()).then(|| view! {
                                    <div class="grid gap-3 sm:grid-cols-2" data-testid="try-parameters">
                                        {ps.into_iter().enumerate().map(|(i, (d, v))| {
                                            let id = format!("try-param-{}-{}", d.location, d.name);
                                            view! {
                                                <div>
                                                    <label class=LABEL for=id.clone()>
                                                        {format!("{} ({}, {})", d.name, d.location, d.kind)}
                                                        {d.required.then_some(" *")}
                                                    </label>
                                                    <input id=id class=format!("{INPUT} font-mono") prop:value=v
                                                        placeholder=d.description.clone().unwrap_or_default()
                                                        on:change=move |ev| set_param(i, event_target_value(&ev))/>
                                                </div>
                                            }
                                        }).collect_view()}
                                    </div>
                                })
                            }}
                            <div>
                                <label class=LABEL for="try-path">"Path"</label>
                                <input id="try-path" class=format!("{INPUT} font-mono") bind:value=path/>
                                {field_error(error, "path")}
                            </div>
                            <div>
                                <label class=LABEL for="try-query">"Query"</label>
                                <input id="try-query" class=format!("{INPUT} font-mono") bind:value=query placeholder="name=value&other=value"/>
                                {field_error(error, "query")}
                            </div>
                            {move || matches!(method.get().as_str(), "POST" | "PUT" | "PATCH").then(|| view! {
                                <div>
                                    <label class=LABEL for="try-body">"Body (JSON; an example from the API's document to start from)"</label>
                                    <textarea id="try-body" class=format!("{INPUT} font-mono") rows="8" bind:value=body></textarea>
                                </div>
                            })}
                            <button type="submit" class=BUTTON disabled=move || send.pending().get()>
                                {move || if send.pending().get() { "Sending…" } else { "Send" }}
                            </button>
                        </form>
                    }.into_any()
                })}}
            </Suspense>
            {move || result.get().map(|r| {
                let ok = (200..300).contains(&r.status);
                view! {
                    <div class="mt-4 space-y-2 text-sm" data-testid="try-out-result">
                        <p>
                            <span class=if ok { "font-semibold text-emerald-700" } else { "font-semibold text-rose-700" } data-testid="try-out-status">{r.status}</span>
                            " · " {format!("{} ms", r.elapsed_ms)} " · " <span class="break-all font-mono text-xs">{r.url.clone()}</span>
                        </p>
                        <details><summary class="cursor-pointer text-slate-600">"Response headers"</summary>
                            <pre class="whitespace-pre-wrap break-all font-mono text-xs">{r.headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect::<String>()}</pre>
                        </details>
                        <pre class="max-h-96 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-50 p-3 font-mono text-xs" data-testid="try-out-body">{r.body.clone()}</pre>
                        <p class="text-slate-600">"The same with curl:"</p>
                        <pre class="whitespace-pre-wrap break-all rounded bg-slate-50 p-3 font-mono text-xs">{r.curl.clone()}</pre>
                    </div>
                }
            })}
        </section>
    }
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters stay).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encode_keeps_unreserved_characters() {
        assert_eq!(super::encode("Rex the 2nd/ü"), "Rex%20the%202nd%2F%C3%BC");
        assert_eq!(super::encode("a-b_c.d~e"), "a-b_c.d~e");
    }
}
