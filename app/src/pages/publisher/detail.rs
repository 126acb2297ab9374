//! One API's (or API product's) pages: overview, business information, settings, operations,
//! endpoints, mediation policies, lifecycle, revisions and deployments, definition.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde_json::json;

use super::{
    BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, TD, TH, error_banner, field_error, nav, run,
    state_badge,
};
use crate::api::ServiceError;
use crate::auth::Portal;
use crate::components::{EmptyState, PortalPage};
use crate::publisher::{Api, LifecycleState, Operation, PublisherCall, PublisherReply, VERBS};

/// Page-wide state: which API, a counter that reloads it, and the last notice.
#[derive(Clone, Copy)]
struct Ctx {
    product: bool,
    reload: RwSignal<u32>,
    notice: RwSignal<Option<String>>,
    /// The open tab's own data (history, revisions, definition) and the environments, created
    /// with the page: created inside the page's Suspense, a tab's resource failed to hydrate on
    /// a direct load of the tab's URL.
    tab_data: Resource<Result<PublisherReply, ServiceError>>,
    environments: Resource<Result<PublisherReply, ServiceError>>,
    documents: Resource<Result<crate::documents::DocumentReply, ServiceError>>,
    documents_version: RwSignal<u32>,
    /// The Analytics tab's report (`?range=`).
    analytics: crate::pages::analytics::Data,
}

impl Ctx {
    fn done(&self, message: impl Into<String>) {
        self.notice.set(Some(message.into()));
        self.reload.update(|n| *n += 1);
    }
}

#[component]
pub fn ApiPage() -> impl IntoView {
    detail_page(false)
}

#[component]
pub fn ProductPage() -> impl IntoView {
    detail_page(true)
}

const API_TABS: &[(&str, &str)] = &[
    ("overview", "Overview"),
    ("business-info", "Business info"),
    ("settings", "Settings"),
    ("operations", "Operations"),
    ("endpoints", "Endpoints"),
    ("policies", "Policies"),
    ("lifecycle", "Lifecycle"),
    ("revisions", "Revisions & deployments"),
    ("definition", "Definition"),
    ("documents", "Documents"),
    ("analytics", "Analytics"),
];

const PRODUCT_TABS: &[(&str, &str)] = &[
    ("overview", "Overview"),
    ("operations", "APIs & operations"),
    ("business-info", "Business info"),
    ("settings", "Settings"),
    ("lifecycle", "Lifecycle"),
    ("revisions", "Revisions & deployments"),
    ("documents", "Documents"),
    ("analytics", "Analytics"),
];

fn detail_page(product: bool) -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let tab = move || params.with(|p| p.get("tab").unwrap_or_else(|| "overview".into()));
    let reload = RwSignal::new(0);
    let tab_data = Resource::new(
        move || (id(), tab(), reload.get()),
        move |(id, tab, _)| async move {
            match tab.as_str() {
                "lifecycle" => run(PublisherCall::Lifecycle { id, product }).await,
                "revisions" => run(PublisherCall::Revisions { id, product }).await,
                "settings" => run(PublisherCall::Categories).await,
                "definition" if !product => run(PublisherCall::Definition { id }).await,
                "policies" if !product => run(PublisherCall::OperationPolicies).await,
                _ => Ok(PublisherReply::Done),
            }
        },
    );
    let environments = Resource::new(
        move || tab() == "revisions",
        |on| async move {
            if on {
                run(PublisherCall::Environments).await
            } else {
                Ok(PublisherReply::Done)
            }
        },
    );
    let documents_version = RwSignal::new(0u32);
    let documents = crate::pages::documents::publisher_documents_resource(
        id,
        move || tab() == "documents",
        documents_version,
        product,
    );
    let analytics = crate::pages::analytics::resource(move || {
        (tab() == "analytics").then(|| crate::analytics::Scope::Api { id: id() })
    });
    let ctx = Ctx {
        analytics,
        product,
        reload,
        notice: RwSignal::new(None),
        tab_data,
        environments,
        documents,
        documents_version,
    };
    let api = Resource::new(
        move || (id(), ctx.reload.get()),
        move |(id, _)| run(PublisherCall::Get { id, product }),
    );
    let what = if product { "API product" } else { "API" };
    view! {
        <Title text=what/>
        <PortalPage portal=Portal::Publisher>
            {nav()}
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match api.await {
                        Ok(PublisherReply::Api(a)) => body(*a, tab(), ctx).into_any(),
                        Err(ServiceError::NotFound(_)) => view! {
                            <EmptyState title="Not found" detail="There is no such API here, or you may not see it."/>
                        }.into_any(),
                        Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                        Ok(_) => ().into_any(),
                    }
                })}
            </Suspense>
        </PortalPage>
    }
}

fn body(api: Api, tab: String, ctx: Ctx) -> impl IntoView {
    let id = api.id.clone().unwrap_or_default();
    let base = if ctx.product {
        format!("/publisher/api-products/{id}")
    } else {
        format!("/publisher/apis/{id}")
    };
    let tabs = if ctx.product { PRODUCT_TABS } else { API_TABS };
    let state = api.life_cycle_status.clone().unwrap_or_default();
    let links = tabs
        .iter()
        .map(|(key, title)| {
            let href = if *key == "overview" {
                base.clone()
            } else {
                format!("{base}/{key}")
            };
            let class = if *key == tab {
                "whitespace-nowrap border-b-2 border-indigo-600 px-3 py-2 text-sm font-semibold text-indigo-700"
            } else {
                "whitespace-nowrap border-b-2 border-transparent px-3 py-2 text-sm text-slate-600 hover:text-slate-900"
            };
            view! { <a href=href class=class data-tab=*key>{*title}</a> }
        })
        .collect_view();
    let content = match tab.as_str() {
        "business-info" => business_info(api.clone(), ctx).into_any(),
        "settings" => settings(api.clone(), ctx).into_any(),
        "operations" if !ctx.product => operations(api.clone(), ctx).into_any(),
        "operations" => {
            let error = RwSignal::new(None);
            let save = saver(ctx, error, "The product's operations are saved.");
            super::products::edit_operations(api.clone(), error, save).into_any()
        }
        "endpoints" if !ctx.product => endpoints(api.clone(), ctx).into_any(),
        "policies" if !ctx.product => {
            let error = RwSignal::new(None);
            let save = saver(ctx, error, "Policies saved.");
            super::policies::policies_tab(api.clone(), ctx.tab_data, save, error).into_any()
        }
        "lifecycle" => lifecycle_tab(api.clone(), ctx).into_any(),
        "revisions" => revisions(api.clone(), ctx).into_any(),
        "definition" if !ctx.product => definition(id.clone(), ctx).into_any(),
        "documents" => view! {
            <crate::pages::documents::PublisherDocuments api_id=id.clone() product=ctx.product
                list=ctx.documents version=ctx.documents_version/>
        }
        .into_any(),
        "analytics" => view! {
            <crate::pages::analytics::AnalyticsPanel data=ctx.analytics
                lists=crate::pages::analytics::Lists { apis: false, applications: true, operations: true }
                empty="Requests to this API's deployed revisions show here once gateways serve them: traffic, latency percentiles, errors by cause and the applications calling it."/>
        }
        .into_any(),
        "overview" => view! {
            {overview(api.clone())}
            <crate::pages::documents::ThumbnailCard api_id=id.clone() product=ctx.product
                has_thumbnail=api.has_thumbnail/>
            {versions_and_owner(api.clone(), ctx)}
        }
        .into_any(),
        _ => view! { <EmptyState title="No such page" detail="This tab does not exist."/> }
            .into_any(),
    };
    view! {
        <div class="mb-4 flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-bold tracking-tight text-slate-900" data-testid="api-name">{api.name.clone()}</h1>
            <span class="font-mono text-sm text-slate-500">{api.version.clone()}</span>
            <span class=state_badge(&state) data-testid="api-state">{state.clone()}</span>
        </div>
        <nav class="mb-6 flex gap-1 overflow-x-auto border-b border-slate-200" aria-label="API sections">{links}</nav>
        {move || ctx.notice.get().map(|n| view! {
            <div class="mb-4 rounded-md border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-900" role="status" data-testid="notice">{n}</div>
        })}
        {content}
    }
}

fn fact(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div>
            <dt class="text-xs font-semibold uppercase tracking-wide text-slate-500">{label}</dt>
            <dd class="mt-1 break-words text-sm text-slate-800">{value}</dd>
        </div>
    }
}

fn overview(api: Api) -> impl IntoView {
    let endpoints = api
        .settings
        .endpoint_config
        .as_ref()
        .map(|c| {
            let urls = |key: &str| match &c[key] {
                serde_json::Value::Array(l) => l
                    .iter()
                    .filter_map(|e| e["url"].as_str().map(str::to_string))
                    .collect::<Vec<_>>(),
                v => v["url"]
                    .as_str()
                    .map(|u| vec![u.to_string()])
                    .unwrap_or_default(),
            };
            let prod = urls("production_endpoints").join(", ");
            let sand = urls("sandbox_endpoints").join(", ");
            if sand.is_empty() {
                prod
            } else {
                format!("{prod} (sandbox: {sand})")
            }
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "not set".into());
    let b = api.settings.business_information.clone();
    view! {
        <div class=CARD>
            <p class="mb-4 text-sm text-slate-600">{api.description.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| "No description yet.".into())}</p>
            <dl class="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
                {fact("Context", api.context.clone())}
                {fact("Gateway URL", format!("http://localhost:8280{}/{}", api.context, api.version))}
                {fact("Owner", api.provider.clone().unwrap_or_default())}
                {fact("Endpoints", endpoints)}
                {fact("Operations", api.operations.len().to_string())}
                {fact("Security", api.settings.security_scheme.join(", "))}
                {fact("API key header", api.settings.api_key_header.clone())}
                {fact("Visibility", api.settings.visibility.clone())}
                {fact("Tags", if api.settings.tags.is_empty() { "—".into() } else { api.settings.tags.join(", ") })}
                {fact("Business owner", b.business_owner.unwrap_or_else(|| "—".into()))}
                {fact("Technical owner", b.technical_owner.unwrap_or_else(|| "—".into()))}
                {fact("Default version", if api.is_default_version { "yes".into() } else { "no".into() })}
            </dl>
        </div>
    }
}

/// New version by copy, and (APIs) handing the API to another owner.
fn versions_and_owner(api: Api, ctx: Ctx) -> impl IntoView {
    let id = api.id.clone().unwrap_or_default();
    let new_version = RwSignal::new(String::new());
    let make_default = RwSignal::new(false);
    let owner = RwSignal::new(api.provider.clone().unwrap_or_default());
    let error = RwSignal::new(None);
    let copy = Action::new({
        let id = id.clone();
        move |(version, default_version): &(String, bool)| {
            let (id, version, default_version) = (id.clone(), version.clone(), *default_version);
            async move {
                run(PublisherCall::Copy {
                    id,
                    version,
                    default_version,
                    product: ctx.product,
                })
                .await
            }
        }
    });
    super::open_result(copy, ctx.product, error);
    let change_owner = Action::new({
        let id = id.clone();
        move |provider: &String| {
            let (id, provider) = (id.clone(), provider.clone());
            async move {
                match run(PublisherCall::ChangeProvider {
                    id,
                    provider: provider.clone(),
                })
                .await
                {
                    Ok(_) => {
                        error.set(None);
                        ctx.done(format!("{provider} owns it now."));
                    }
                    Err(e) => error.set(Some(e)),
                }
            }
        }
    });
    let submit_copy = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        copy.dispatch((new_version.get_untracked(), make_default.get_untracked()));
    };
    let submit_owner = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        change_owner.dispatch(owner.get_untracked());
    };
    view! {
        <div class="mt-6 grid gap-6 lg:grid-cols-2">
            <form on:submit=submit_copy class=format!("{CARD} space-y-3")>
                <h2 class="font-semibold">"New version"</h2>
                <p class="text-sm text-slate-500">"Copies everything but revisions into a new version in CREATED."</p>
                <div>
                    <label class=LABEL for="new-version">"Version"</label>
                    <input id="new-version" class=INPUT bind:value=new_version placeholder="2.0.0"/>
                    {field_error(error, "newVersion")}
                </div>
                <label class="flex items-center gap-2 text-sm text-slate-700">
                    <input type="checkbox" class="h-4 w-4" bind:checked=make_default/>"Make it the default version"
                </label>
                <button type="submit" class=BUTTON_LIGHT disabled=move || copy.pending().get()>"Create new version"</button>
            </form>
            {(!ctx.product).then(|| view! {
                <form on:submit=submit_owner class=format!("{CARD} space-y-3")>
                    <h2 class="font-semibold">"Owner"</h2>
                    <p class="text-sm text-slate-500">"The owner (and admins) may edit and delete the API."</p>
                    <div>
                        <label class=LABEL for="owner">"User name"</label>
                        <input id="owner" class=INPUT bind:value=owner/>
                        {field_error(error, "provider")}
                    </div>
                    <button type="submit" class=BUTTON_LIGHT disabled=move || change_owner.pending().get()>"Change owner"</button>
                </form>
            })}
            <div class="lg:col-span-2">{error_banner(error)}</div>
        </div>
    }
}

/// An action that saves the whole API and reports back.
fn saver(
    ctx: Ctx,
    error: RwSignal<Option<ServiceError>>,
    message: &'static str,
) -> Action<Api, ()> {
    Action::new(move |api: &Api| {
        let api = api.clone();
        async move {
            let id = api.id.clone().unwrap_or_default();
            match run(PublisherCall::Update {
                id,
                api,
                product: ctx.product,
            })
            .await
            {
                Ok(_) => {
                    error.set(None);
                    ctx.done(message);
                }
                Err(e) => {
                    ctx.notice.set(None);
                    error.set(Some(e));
                }
            }
        }
    })
}

fn text_or_none(s: String) -> Option<String> {
    let t = s.trim().to_string();
    (!t.is_empty()).then_some(t)
}

fn business_info(api: Api, ctx: Ctx) -> impl IntoView {
    let b = api.settings.business_information.clone();
    let owner = RwSignal::new(b.business_owner.unwrap_or_default());
    let owner_email = RwSignal::new(b.business_owner_email.unwrap_or_default());
    let tech = RwSignal::new(b.technical_owner.unwrap_or_default());
    let tech_email = RwSignal::new(b.technical_owner_email.unwrap_or_default());
    let error = RwSignal::new(None);
    let save = saver(ctx, error, "Business information saved.");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut a = api.clone();
        let bi = &mut a.settings.business_information;
        bi.business_owner = text_or_none(owner.get_untracked());
        bi.business_owner_email = text_or_none(owner_email.get_untracked());
        bi.technical_owner = text_or_none(tech.get_untracked());
        bi.technical_owner_email = text_or_none(tech_email.get_untracked());
        save.dispatch(a);
    };
    view! {
        <form on:submit=submit class=format!("{CARD} max-w-3xl space-y-4") data-testid="business-info-form">
            {error_banner(error)}
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label class=LABEL for="business-owner">"Business owner"</label>
                    <input id="business-owner" class=INPUT bind:value=owner/>
                    {field_error(error, "businessInformation.businessOwner")}
                </div>
                <div>
                    <label class=LABEL for="business-owner-email">"Business owner e-mail"</label>
                    <input id="business-owner-email" class=INPUT bind:value=owner_email/>
                    {field_error(error, "businessInformation.businessOwnerEmail")}
                </div>
                <div>
                    <label class=LABEL for="technical-owner">"Technical owner"</label>
                    <input id="technical-owner" class=INPUT bind:value=tech/>
                    {field_error(error, "businessInformation.technicalOwner")}
                </div>
                <div>
                    <label class=LABEL for="technical-owner-email">"Technical owner e-mail"</label>
                    <input id="technical-owner-email" class=INPUT bind:value=tech_email/>
                    {field_error(error, "businessInformation.technicalOwnerEmail")}
                </div>
            </div>
            <button type="submit" class=BUTTON disabled=move || save.pending().get()>"Save"</button>
        </form>
    }
}

fn list_text(items: &[String]) -> String {
    items.join(", ")
}

fn split_list(s: &str) -> Vec<String> {
    s.split([',', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// The organization's categories as checkboxes; ones the API names that no longer exist stay
/// listed (the server says which) until unticked.
fn category_picker(
    data: Resource<Result<PublisherReply, ServiceError>>,
    chosen: RwSignal<Vec<String>>,
) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading categories…"</p> }>
            {move || Suspend::new(async move {
                let defined: Vec<String> = match data.await {
                    Ok(PublisherReply::Categories(list)) => list.into_iter().map(|c| c.name).collect(),
                    _ => vec![],
                };
                let mut names = defined.clone();
                for c in chosen.get_untracked() {
                    if !names.contains(&c) {
                        names.push(c);
                    }
                }
                if names.is_empty() {
                    return view! { <p class="mt-1 text-sm text-slate-500">"No categories are defined; an admin adds them under Admin → Categories & settings."</p> }.into_any();
                }
                view! {
                    <div class="mt-1 flex flex-wrap gap-x-4 gap-y-1">
                        {names.into_iter().map(|name| {
                            let (n, known) = (name.clone(), defined.contains(&name));
                            view! {
                                <label class="flex items-center gap-1.5 text-sm text-slate-700">
                                    <input type="checkbox" class="h-4 w-4 rounded border-slate-300"
                                        prop:checked={let n = n.clone(); move || chosen.with(|c| c.contains(&n))}
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            chosen.update(|c| {
                                                c.retain(|x| x != &name);
                                                if on { c.push(name.clone()); }
                                            });
                                        }/>
                                    {n.clone()}
                                    {(!known).then(|| view! { <span class="text-xs text-rose-600">"(not defined)"</span> })}
                                </label>
                            }
                        }).collect_view()}
                    </div>
                }.into_any()
            })}
        </Suspense>
    }
}

fn settings(api: Api, ctx: Ctx) -> impl IntoView {
    let s = api.settings.clone();
    let description = RwSignal::new(api.description.clone().unwrap_or_default());
    let tags = RwSignal::new(list_text(&s.tags));
    let categories = RwSignal::new(s.categories.clone());
    let visibility = RwSignal::new(s.visibility.clone());
    let visible_roles = RwSignal::new(list_text(&s.visible_roles));
    let access_restricted = RwSignal::new(s.access_control == "RESTRICTED");
    let access_roles = RwSignal::new(list_text(&s.access_control_roles));
    let key_header = RwSignal::new(s.api_key_header.clone());
    let oauth2 = RwSignal::new(s.security_scheme.iter().any(|x| x == "oauth2"));
    let api_key = RwSignal::new(s.security_scheme.iter().any(|x| x == "api_key"));
    let basic = RwSignal::new(s.security_scheme.iter().any(|x| x == "basic_auth"));
    let cors = RwSignal::new(s.cors_configuration.cors_configuration_enabled);
    let origins = RwSignal::new(list_text(
        &s.cors_configuration.access_control_allow_origins,
    ));
    let monetized = RwSignal::new(s.monetization.enabled);
    let default_version = RwSignal::new(api.is_default_version);
    let tiers = RwSignal::new(list_text(&s.policies));
    let api_policy = RwSignal::new(s.api_throttling_policy.clone().unwrap_or_default());
    let advanced = crate::pages::throttling_advanced::advanced_policy_names();
    let error = RwSignal::new(None);
    let save = saver(ctx, error, "Settings saved.");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut a = api.clone();
        a.description = Some(description.get_untracked());
        a.is_default_version = default_version.get_untracked();
        let st = &mut a.settings;
        st.tags = split_list(&tags.get_untracked());
        st.categories = categories.get_untracked();
        st.visibility = visibility.get_untracked();
        st.visible_roles = split_list(&visible_roles.get_untracked());
        st.access_control = if access_restricted.get_untracked() {
            "RESTRICTED"
        } else {
            "NONE"
        }
        .into();
        st.access_control_roles = split_list(&access_roles.get_untracked());
        st.api_key_header = key_header.get_untracked().trim().to_string();
        let mut schemes = vec![];
        if oauth2.get_untracked() {
            schemes.push("oauth2".to_string());
        }
        if api_key.get_untracked() {
            schemes.push("api_key".to_string());
        }
        if basic.get_untracked() {
            schemes.push("basic_auth".to_string());
        }
        if !schemes.is_empty() {
            schemes.push("oauth_basic_auth_api_key_mandatory".into());
        }
        st.security_scheme = schemes;
        st.cors_configuration.cors_configuration_enabled = cors.get_untracked();
        st.cors_configuration.access_control_allow_origins = split_list(&origins.get_untracked());
        st.monetization.enabled = monetized.get_untracked();
        st.policies = split_list(&tiers.get_untracked());
        st.api_throttling_policy = Some(api_policy.get_untracked()).filter(|p| !p.is_empty());
        save.dispatch(a);
    };
    let check = |id: &'static str, label: &'static str, sig: RwSignal<bool>| {
        view! {
            <label class="flex items-center gap-2 text-sm text-slate-700" for=id>
                <input id=id type="checkbox" class="h-4 w-4 rounded border-slate-300" bind:checked=sig/>
                {label}
            </label>
        }
    };
    view! {
        <form on:submit=submit class=format!("{CARD} max-w-3xl space-y-5")>
            {error_banner(error)}
            <div>
                <label class=LABEL for="description">"Description"</label>
                <textarea id="description" rows="4" class=INPUT bind:value=description></textarea>
                {field_error(error, "description")}
            </div>
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label class=LABEL for="tags">"Tags (comma separated)"</label>
                    <input id="tags" class=INPUT bind:value=tags/>
                </div>
                <fieldset data-testid="categories">
                    <legend class=LABEL>"Categories"</legend>
                    {category_picker(ctx.tab_data, categories)}
                    {field_error(error, "categories")}
                </fieldset>
                <div>
                    <label class=LABEL for="visibility">"Developer Portal visibility"</label>
                    <select id="visibility" class=INPUT bind:value=visibility>
                        <option value="PUBLIC">"Public"</option>
                        <option value="PRIVATE">"Signed-in users of this organization"</option>
                        <option value="RESTRICTED">"Restricted to roles"</option>
                    </select>
                    {field_error(error, "visibility")}
                </div>
                <div>
                    <label class=LABEL for="visible-roles">"Visible to roles"</label>
                    <input id="visible-roles" class=INPUT bind:value=visible_roles/>
                    {field_error(error, "visibleRoles")}
                </div>
                <div>
                    <label class=LABEL for="tiers">"Subscription tiers"</label>
                    <input id="tiers" class=INPUT bind:value=tiers/>
                </div>
                <div>
                    <label class=LABEL for="api-throttling-policy">"Rate limit of the whole API (advanced policy)"</label>
                    <select id="api-throttling-policy" class=INPUT
                        on:change=move |ev| api_policy.set(event_target_value(&ev))>
                        {move || crate::pages::throttling_advanced::policy_options(
                            advanced.get(), api_policy.get_untracked(), Some("none (operations' own only)"))}
                    </select>
                    {field_error(error, "apiThrottlingPolicy")}
                </div>
                <div>
                    <label class=LABEL for="api-key-header">"API key header"</label>
                    <input id="api-key-header" class=INPUT bind:value=key_header/>
                    {field_error(error, "apiKeyHeader")}
                </div>
            </div>
            <fieldset class="space-y-2">
                <legend class=LABEL>"Security"</legend>
                {check("scheme-oauth2", "OAuth2 access tokens", oauth2)}
                {check("scheme-api-key", "API keys", api_key)}
                {check("scheme-basic", "Basic authentication", basic)}
            </fieldset>
            <fieldset class="space-y-2">
                <legend class=LABEL>"Publisher access"</legend>
                {check("access-restricted", "Only these roles (and the owner) may see it in the Publisher", access_restricted)}
                <input class=INPUT bind:value=access_roles aria-label="Publisher roles" placeholder="creator, publisher"/>
                {field_error(error, "accessControlRoles")}
            </fieldset>
            <fieldset class="space-y-2">
                <legend class=LABEL>"CORS"</legend>
                {check("cors-enabled", "Answer CORS pre-flight requests at the gateway", cors)}
                <input class=INPUT bind:value=origins aria-label="Allowed origins"/>
                {field_error(error, "corsConfiguration.accessControlAllowCredentials")}
            </fieldset>
            <div class="space-y-2">
                {check("monetized", "Monetized", monetized)}
                {check("default-version", "Default version (also reachable without the version in the URL)", default_version)}
                {field_error(error, "isDefaultVersion")}
            </div>
            <button type="submit" class=BUTTON disabled=move || save.pending().get()>"Save"</button>
        </form>
    }
}

fn operations(api: Api, ctx: Ctx) -> impl IntoView {
    let next_key = StoredValue::new(api.operations.len() as u64);
    let rows = RwSignal::new(
        api.operations
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, o)| (i as u64, RwSignal::new(o)))
            .collect::<Vec<_>>(),
    );
    let error = RwSignal::new(None);
    let save = saver(ctx, error, "Operations saved.");
    let advanced = crate::pages::throttling_advanced::advanced_policy_names();
    // Large APIs have thousands of operations: filter, and render a page at a time.
    const PAGE: usize = 50;
    let filter = RwSignal::new(String::new());
    let page = RwSignal::new(0usize);
    let matching = move || {
        let f = filter.get().trim().to_lowercase();
        rows.get()
            .into_iter()
            .filter(|(_, o)| {
                f.is_empty()
                    || o.with_untracked(|o| {
                        o.target.to_lowercase().contains(&f) || o.verb.to_lowercase() == f
                    })
            })
            .collect::<Vec<_>>()
    };
    let pages = move || matching().len().div_ceil(PAGE).max(1);
    let visible = move || {
        let all = matching();
        let start = (page.get() * PAGE).min(all.len().saturating_sub(1) / PAGE * PAGE);
        all.into_iter().skip(start).take(PAGE).collect::<Vec<_>>()
    };
    let add = move |_| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        rows.update(|r| r.push((key, RwSignal::new(Operation::new("GET", "/")))));
        filter.set(String::new());
        page.set(pages() - 1);
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut a = api.clone();
        a.operations = rows
            .get_untracked()
            .iter()
            .map(|(_, o)| o.get_untracked())
            .collect();
        save.dispatch(a);
    };
    view! {
        <form on:submit=submit class="space-y-4">
            {error_banner(error)}
            <div class="flex flex-wrap items-center gap-3">
                <input type="search" class="w-full max-w-sm rounded-md border border-slate-300 px-3 py-2 text-sm"
                    aria-label="Filter operations" placeholder="Filter by path or method"
                    prop:value=move || filter.get()
                    on:input=move |ev| { filter.set(event_target_value(&ev)); page.set(0); }/>
                <span class="text-sm text-slate-500" data-testid="operations-count">
                    {move || {
                        let n = matching().len();
                        let start = (page.get() * PAGE).min(n.saturating_sub(1) / PAGE * PAGE);
                        if n == 0 { "0 operations".to_string() } else {
                            format!("{}–{} of {n} operations", start + 1, (start + PAGE).min(n))
                        }
                    }}
                </span>
                <button type="button" class=BUTTON_LIGHT disabled=move || page.get() == 0
                    on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>"Previous"</button>
                <button type="button" class=BUTTON_LIGHT disabled=move || page.get() + 1 >= pages()
                    on:click=move |_| page.update(|p| *p += 1)>"Next"</button>
            </div>
            <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
                <table class="min-w-full divide-y divide-slate-200" data-testid="operations-table">
                    <thead><tr>
                        <th class=TH>"Method"</th><th class=TH>"Path"</th><th class=TH>"Secured"</th>
                        <th class=TH>"Rate limit"</th><th class=TH>"Scopes"</th><th class=TH></th>
                    </tr></thead>
                    <tbody class="divide-y divide-slate-100">
                        <For each=visible key=|(k, _)| *k let:row>
                            {
                                let (key, op) = row;
                                view! {
                                    <tr>
                                        <td class=TD>
                                            <select class="rounded border border-slate-300 px-2 py-1 text-sm" aria-label="Method"
                                                prop:value=move || op.with(|o| o.verb.clone())
                                                on:change=move |ev| op.update(|o| o.verb = event_target_value(&ev))>
                                                {VERBS.iter().map(|v| view! { <option value=*v>{*v}</option> }).collect_view()}
                                            </select>
                                        </td>
                                        <td class=TD>
                                            <input class="w-64 rounded border border-slate-300 px-2 py-1 font-mono text-sm" aria-label="Path"
                                                prop:value=move || op.with(|o| o.target.clone())
                                                on:change=move |ev| op.update(|o| o.target = event_target_value(&ev))/>
                                        </td>
                                        <td class=TD>
                                            <input type="checkbox" aria-label="Secured" class="h-4 w-4"
                                                prop:checked=move || op.with(|o| o.secured())
                                                on:change=move |ev| op.update(|o| o.auth_type = if event_target_checked(&ev) { "Any".into() } else { "None".into() })/>
                                        </td>
                                        <td class=TD>
                                            <select class="w-32 rounded border border-slate-300 px-2 py-1 text-sm" aria-label="Rate limit"
                                                on:change=move |ev| op.update(|o| o.throttling_policy = event_target_value(&ev))>
                                                {move || crate::pages::throttling_advanced::policy_options(
                                                    advanced.get(), op.with_untracked(|o| o.throttling_policy.clone()), None)}
                                            </select>
                                        </td>
                                        <td class=TD>
                                            <input class="w-40 rounded border border-slate-300 px-2 py-1 text-sm" aria-label="Scopes"
                                                prop:value=move || op.with(|o| o.scopes.join(", "))
                                                on:change=move |ev| op.update(|o| o.scopes = split_list(&event_target_value(&ev)))/>
                                        </td>
                                        <td class=TD>
                                            <button type="button" class="text-sm text-rose-700 hover:underline"
                                                on:click=move |_| rows.update(|r| r.retain(|(k, _)| *k != key))>"Remove"</button>
                                        </td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
                <Show when=move || rows.with(|r| r.is_empty())>
                    <p class="p-6 text-center text-sm text-slate-500">"No operations: add one, or import a definition."</p>
                </Show>
            </div>
            <div class="flex gap-2">
                <button type="button" class=BUTTON_LIGHT on:click=add>"Add operation"</button>
                <button type="submit" class=BUTTON disabled=move || save.pending().get()>"Save operations"</button>
            </div>
        </form>
    }
}

fn endpoints(api: Api, ctx: Ctx) -> impl IntoView {
    let cfg = api.settings.endpoint_config.clone().unwrap_or(json!({}));
    let urls = |key: &str| -> String {
        match &cfg[key] {
            serde_json::Value::Array(l) => l
                .iter()
                .filter_map(|e| e["url"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            v => v["url"].as_str().unwrap_or_default().to_string(),
        }
    };
    let kind = RwSignal::new(cfg["endpoint_type"].as_str().unwrap_or("http").to_string());
    let mut prod_init = urls("production_endpoints");
    let mut sand_init = urls("sandbox_endpoints");
    for (init, key) in [
        (&mut prod_init, "production_failovers"),
        (&mut sand_init, "sandbox_failovers"),
    ] {
        let extra = urls(key);
        if !extra.is_empty() {
            init.push('\n');
            init.push_str(&extra);
        }
    }
    let production = RwSignal::new(prod_init);
    let sandbox = RwSignal::new(sand_init);
    let first = |key: &str| match &cfg[key] {
        serde_json::Value::Array(l) => l.first().cloned().unwrap_or_default(),
        v => v.clone(),
    };
    let timeout = RwSignal::new(
        first("production_endpoints")["config"]["actionDuration"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                first("production_endpoints")["config"]["actionDuration"]
                    .as_u64()
                    .map(|n| n.to_string())
            })
            .unwrap_or_else(|| "30000".into()),
    );
    let error = RwSignal::new(None);
    let save = saver(ctx, error, "Endpoints saved.");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let kind_v = kind.get_untracked();
        let t = timeout.get_untracked();
        let entry = |u: &str| json!({"url": u, "config": {"actionDuration": t.trim()}});
        let build = |text: String| -> Vec<serde_json::Value> {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(entry)
                .collect()
        };
        let prod = build(production.get_untracked());
        let sand = build(sandbox.get_untracked());
        let mut c = json!({"endpoint_type": kind_v});
        for (env, list) in [("production", prod), ("sandbox", sand)] {
            if list.is_empty() {
                continue;
            }
            match kind_v.as_str() {
                "load_balance" => {
                    c[format!("{env}_endpoints")] = json!(list);
                    c["algoCombo"] = json!("org.apache.synapse.endpoints.algorithms.RoundRobin");
                }
                "failover" => {
                    c[format!("{env}_endpoints")] = list[0].clone();
                    c[format!("{env}_failovers")] = json!(list[1..].to_vec());
                }
                _ => {
                    c[format!("{env}_endpoints")] = if list.len() == 1 {
                        list[0].clone()
                    } else {
                        json!(list)
                    }
                }
            }
        }
        let mut a = api.clone();
        a.settings.endpoint_config = Some(c);
        save.dispatch(a);
    };
    view! {
        <form on:submit=submit class=format!("{CARD} max-w-3xl space-y-4")>
            {error_banner(error)}
            <div>
                <label class=LABEL for="endpoint-type">"Endpoint type"</label>
                <select id="endpoint-type" class=INPUT bind:value=kind>
                    <option value="http">"Single endpoint"</option>
                    <option value="load_balance">"Load balanced (round robin)"</option>
                    <option value="failover">"Failover (in order)"</option>
                </select>
                {field_error(error, "endpointConfig.endpoint_type")}
            </div>
            <div>
                <label class=LABEL for="production-urls">"Production endpoints (one URL per line)"</label>
                <textarea id="production-urls" rows="3" class=format!("{INPUT} font-mono") bind:value=production></textarea>
                {field_error(error, "endpointConfig.production_endpoints")}
                {field_error(error, "endpointConfig.production_endpoints.url")}
            </div>
            <div>
                <label class=LABEL for="sandbox-urls">"Sandbox endpoints (used with sandbox keys)"</label>
                <textarea id="sandbox-urls" rows="2" class=format!("{INPUT} font-mono") bind:value=sandbox></textarea>
                {field_error(error, "endpointConfig.sandbox_endpoints")}
            </div>
            <div class="max-w-xs">
                <label class=LABEL for="timeout">"Timeout (ms)"</label>
                <input id="timeout" class=INPUT bind:value=timeout inputmode="numeric"/>
            </div>
            <button type="submit" class=BUTTON disabled=move || save.pending().get()>"Save endpoints"</button>
        </form>
    }
}

fn lifecycle_tab(api: Api, ctx: Ctx) -> impl IntoView {
    let id = api.id.clone().unwrap_or_default();
    let error = RwSignal::new(None);
    // The checklist as ticked; items are those of the state shown.
    let checked: RwSignal<Vec<String>> = RwSignal::new(vec![]);
    let change = Action::new({
        let id = id.clone();
        move |call: &Option<String>| {
            let id = id.clone();
            let call = match call.clone() {
                Some(action) => PublisherCall::ChangeLifecycle {
                    id,
                    action,
                    checklist: checked.get_untracked(),
                    product: ctx.product,
                },
                None => PublisherCall::CancelStateChange {
                    id,
                    product: ctx.product,
                },
            };
            async move {
                match run(call).await {
                    Ok(PublisherReply::State(s)) => {
                        error.set(None);
                        ctx.done(match &s.pending {
                            Some(p) => format!(
                                "The change to {} waits for an administrator's approval.",
                                p.target_state
                            ),
                            None => format!("The state is now {}.", s.state),
                        });
                    }
                    Ok(_) => {
                        error.set(None);
                        ctx.done("The request was withdrawn.");
                    }
                    Err(e) => {
                        ctx.notice.set(None);
                        error.set(Some(e));
                    }
                }
            }
        }
    });
    let data = ctx.tab_data;
    view! {
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(PublisherReply::Lifecycle { state, history }) => lifecycle_view(state, history, change, checked, error).into_any(),
                    Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                    Ok(_) => ().into_any(),
                }
            })}
        </Suspense>
    }
}

fn lifecycle_view(
    state: LifecycleState,
    history: Vec<crate::publisher::LifecycleHistoryItem>,
    change: Action<Option<String>, ()>,
    checked: RwSignal<Vec<String>>,
    error: RwSignal<Option<ServiceError>>,
) -> impl IntoView {
    let pending = state.pending.clone();
    let buttons = state
        .available_transitions
        .iter()
        .map(|t| {
            let event = t.event.clone();
            let label = t.event.clone();
            let waiting = pending.is_some();
            view! {
                <button type="button" class=BUTTON data-transition=t.event.clone()
                    disabled=move || waiting || change.pending().get()
                    on:click=move |_| { change.dispatch(Some(event.clone())); }>{label}</button>
            }
        })
        .collect_view();
    let final_state = state.available_transitions.is_empty();
    let items: Vec<String> = state.check_items.iter().map(|c| c.name.clone()).collect();
    view! {
        <div class="grid gap-6 lg:grid-cols-2">
            <div class=CARD>
                <h2 class="text-lg font-semibold">"Current state: " <span class=state_badge(&state.state)>{state.state.clone()}</span></h2>
                {error_banner(error)}
                {pending.map(|p| view! {
                    <div class="mt-4 rounded-md bg-amber-50 p-3 text-sm text-amber-900 ring-1 ring-amber-200" data-testid="pending-state-change">
                        <p>"PENDING approval: " <span class="font-medium">{p.event.clone()}</span> " → " {p.target_state.clone()}
                           " (asked by " {p.requested_by.clone()} ", " {p.requested_at.clone()} ")"</p>
                        <button type="button" class=format!("{BUTTON_LIGHT} mt-2") disabled=move || change.pending().get()
                            on:click=move |_| { change.dispatch(None); }>"Cancel request"</button>
                    </div>
                })}
                {(!items.is_empty()).then(|| view! {
                    <fieldset class="mt-4 space-y-2">
                        <legend class=LABEL>"When publishing"</legend>
                        {items.into_iter().map(|name| {
                            let n = name.clone();
                            view! {
                                <label class="flex items-center gap-2 text-sm text-slate-700">
                                    <input type="checkbox" class="h-4 w-4"
                                        prop:checked={let n = n.clone(); move || checked.with(|c| c.contains(&n))}
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            checked.update(|c| {
                                                c.retain(|x| x != &name);
                                                if on { c.push(name.clone()); }
                                            });
                                        }/>
                                    {n.clone()}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                })}
                <div class="mt-4 flex flex-wrap gap-2">{buttons}</div>
                {final_state.then(|| view! { <p class="mt-4 text-sm text-slate-500">"No further step: this is a final state, or your organization switched the others off."</p> })}
                <p class="mt-4 text-xs text-slate-500">"Publishing and prototyping need a revision deployed to a gateway environment first."</p>
            </div>
            <div class=CARD>
                <h2 class="mb-3 text-lg font-semibold">"History"</h2>
                {if history.is_empty() {
                    view! { <p class="text-sm text-slate-500">"No state changes yet."</p> }.into_any()
                } else {
                    view! {
                        <ol class="space-y-2" data-testid="lifecycle-history">
                            {history.into_iter().rev().map(|h| view! {
                                <li class="text-sm text-slate-700">
                                    <span class="font-medium">{h.previous_state.unwrap_or_else(|| "—".into())} " → " {h.post_state}</span>
                                    <span class="ml-2 text-slate-500">{h.user} " · " {h.updated_time}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                    }.into_any()
                }}
            </div>
        </div>
    }
}

fn revisions(api: Api, ctx: Ctx) -> impl IntoView {
    let id = api.id.clone().unwrap_or_default();
    let product = ctx.product;
    let (list, environments) = (ctx.tab_data, ctx.environments);
    let description = RwSignal::new(String::new());
    let error = RwSignal::new(None);
    // One action for every revision operation; each reports success as a notice.
    let act = Action::new(move |call: &(PublisherCall, String)| {
        let (call, message) = call.clone();
        async move {
            match run(call).await {
                Ok(_) => {
                    error.set(None);
                    ctx.done(message);
                }
                Err(e) => {
                    ctx.notice.set(None);
                    error.set(Some(e));
                }
            }
        }
    });
    let create = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let d = description.get_untracked();
            act.dispatch((
                PublisherCall::CreateRevision {
                    id: id.clone(),
                    description: d.clone(),
                    product,
                },
                "Revision created.".into(),
            ));
            description.set(String::new());
        }
    };
    view! {
        <div class="space-y-6">
            <form on:submit=create class=format!("{CARD} flex flex-wrap items-end gap-3")>
                <div class="min-w-64 flex-1">
                    <label class=LABEL for="revision-description">"New revision — description"</label>
                    <input id="revision-description" class=INPUT bind:value=description maxlength="255"
                        placeholder="What changed in this revision"/>
                </div>
                <button type="submit" class=BUTTON disabled=move || act.pending().get()>"Create revision"</button>
            </form>
            {error_banner(error)}
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading revisions…"</p> }>
                {move || {
                    let id = id.clone();
                    Suspend::new(async move {
                        let envs = match environments.await {
                            Ok(PublisherReply::Environments(e)) => e,
                            _ => vec![],
                        };
                        match list.await {
                            Ok(PublisherReply::Revisions(revs)) if revs.is_empty() => view! {
                                <EmptyState title="No revisions yet"
                                    detail="A revision is a frozen copy of the API to deploy. Create one with a description; at most five are kept."/>
                            }.into_any(),
                            Ok(PublisherReply::Revisions(revs)) => view! {
                                <div class="space-y-3" data-testid="revisions">
                                    {revs.into_iter().rev().map(|r| revision_card(r, &id, &envs, product, act)).collect_view()}
                                </div>
                            }.into_any(),
                            Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                            Ok(_) => ().into_any(),
                        }
                    })
                }}
            </Suspense>
        </div>
    }
}

fn revision_card(
    r: crate::publisher::Revision,
    id: &str,
    envs: &[crate::publisher::Environment],
    product: bool,
    act: Action<(PublisherCall, String), ()>,
) -> impl IntoView {
    // Live here or waiting for approval to go live.
    let deployed: Vec<String> = r.deployment_info.iter().map(|d| d.name.clone()).collect();
    let choices: Vec<String> = envs
        .iter()
        .map(|e| e.name.clone())
        .filter(|n| !deployed.contains(n))
        .collect();
    let target = RwSignal::new(choices.first().cloned().unwrap_or_default());
    let (api, rev) = (id.to_string(), r.id.clone());
    let deploy = {
        let (api, rev) = (api.clone(), rev.clone());
        move |_| {
            let environment = target.get_untracked();
            act.dispatch((
                PublisherCall::Deploy {
                    id: api.clone(),
                    revision: rev.clone(),
                    environment: environment.clone(),
                    product,
                },
                format!("Deployment to {environment} done (or sent for approval where approvals are on)."),
            ));
        }
    };
    let restore = {
        let (api, rev) = (api.clone(), rev.clone());
        let name = r.display_name.clone();
        move |_| {
            act.dispatch((
                PublisherCall::RestoreRevision {
                    id: api.clone(),
                    revision: rev.clone(),
                    product,
                },
                format!("{name} restored into the working copy."),
            ));
        }
    };
    let delete = {
        let (api, rev) = (api.clone(), rev.clone());
        let name = r.display_name.clone();
        move |_| {
            act.dispatch((
                PublisherCall::DeleteRevision {
                    id: api.clone(),
                    revision: rev.clone(),
                    product,
                },
                format!("{name} deleted."),
            ));
        }
    };
    let has_choices = !choices.is_empty();
    // Kubernetes (APK) environments: the live revision downloads as Gateway API resources.
    let kubernetes: Vec<String> = envs
        .iter()
        .filter(|e| matches!(e.gateway_type.as_str(), "APK" | "kubernetes"))
        .map(|e| e.name.clone())
        .collect();
    let kind = if product { "api-products" } else { "apis" };
    view! {
        <div class=CARD data-revision=r.display_name.clone()>
            <div class="flex flex-wrap items-start justify-between gap-3">
                <div>
                    <h3 class="font-semibold">{r.display_name.clone()}</h3>
                    <p class="text-sm text-slate-600" data-testid="revision-description">{if r.description.is_empty() { "No description".to_string() } else { r.description.clone() }}</p>
                    <p class="mt-1 text-xs text-slate-500">{r.created_time.clone()}</p>
                </div>
                <div class="flex flex-wrap gap-2">
                    <button type="button" class=BUTTON_LIGHT on:click=restore>"Restore"</button>
                    <button type="button" class=BUTTON_LIGHT on:click=delete disabled=!deployed.is_empty()>"Delete"</button>
                </div>
            </div>
            <div class="mt-3 flex flex-wrap items-center gap-2">
                {r.deployment_info.iter().map(|d| {
                    let (api, rev, env) = (api.clone(), rev.clone(), d.name.clone());
                    let label = d.name.clone();
                    if d.status.as_deref() == Some("CREATED") {
                        return view! {
                            <span class="inline-flex items-center gap-2 rounded-full bg-amber-100 px-3 py-1 text-xs font-semibold text-amber-900" data-pending=d.name.clone()>
                                "PENDING approval for " {label}
                                <button type="button" class="text-amber-950 underline"
                                    on:click=move |_| { act.dispatch((
                                        PublisherCall::CancelDeployment { id: api.clone(), revision: rev.clone(), environment: env.clone(), product },
                                        format!("Deployment request for {env} withdrawn."),
                                    )); }>"Cancel request"</button>
                            </span>
                        }.into_any();
                    }
                    let yaml = kubernetes.contains(&d.name).then(|| format!(
                        "/api/am/publisher/v4/{kind}/{api}/kubernetes-resources?environment={}",
                        d.name
                    ));
                    view! {
                        <span class="inline-flex items-center gap-2 rounded-full bg-emerald-100 px-3 py-1 text-xs font-semibold text-emerald-800" data-deployed=d.name.clone()>
                            "Live on " {label}
                            {yaml.map(|href| view! {
                                <a href=href download="" rel="external" class="text-emerald-900 underline" data-testid="kubernetes-yaml"
                                    title="This revision as Kubernetes Gateway API resources (HTTPRoute), for the environment's Gateway">"Kubernetes YAML"</a>
                            })}
                            <button type="button" class="text-emerald-900 underline"
                                on:click=move |_| { act.dispatch((
                                    PublisherCall::Undeploy { id: api.clone(), revision: rev.clone(), environment: env.clone(), product },
                                    format!("Undeployed from {env}."),
                                )); }>"Undeploy"</button>
                        </span>
                    }.into_any()
                }).collect_view()}
                {has_choices.then(|| view! {
                    <select class="rounded border border-slate-300 px-2 py-1 text-sm" aria-label="Environment" bind:value=target>
                        {choices.iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view()}
                    </select>
                    <button type="button" class=BUTTON on:click=deploy>"Deploy"</button>
                })}
            </div>
        </div>
    }
}

fn definition(id: String, ctx: Ctx) -> impl IntoView {
    let download = format!("/api/am/publisher/v4/apis/{id}/swagger");
    let doc = ctx.tab_data;
    view! {
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading the definition…"</p> }>
            {move || { let download = download.clone(); Suspend::new(async move {
                match doc.await {
                    Ok(PublisherReply::Definition { text, total_bytes, truncated }) => view! {
                        <div class="mb-3 flex items-center gap-3 text-sm text-slate-600">
                            <a class=BUTTON_LIGHT href=download.clone() download="openapi.json">"Download (JSON)"</a>
                            {truncated.then(|| format!(
                                "A large document ({:.1} MB): the first part is shown; download it for the rest.",
                                total_bytes as f64 / 1024.0 / 1024.0
                            ))}
                        </div>
                        <pre class="max-h-[70vh] overflow-auto rounded-xl bg-slate-900 p-4 font-mono text-xs text-slate-100" data-testid="definition">{text}</pre>
                    }.into_any(),
                    Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                    Ok(_) => ().into_any(),
                }
            })}}
        </Suspense>
    }
}
