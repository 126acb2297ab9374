//! Admin portal: "Categories & settings". API categories (with how many APIs use each; a
//! category in use is not deleted), the organization's settings (display name, self sign-up,
//! categories required to publish, and which lifecycle transitions the Publisher offers), and —
//! for the super admin — the organizations themselves (create with a first administrator,
//! disable, enable). Each card shows only when the user's scopes allow it; the server checks
//! every call again.

use leptos::prelude::*;

use crate::api::{ServiceError, settings_admin_call};
use crate::auth::{CurrentUser, scopes as s};
use crate::components::{Change, EmptyState};
use crate::pages::publisher::{
    BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, error_banner, field_error,
};
use crate::publisher::lifecycle;
use crate::settings::{
    ApiCategory, NewOrganization, OrgSettings, Organization, SettingsCall, SettingsReply,
    Transition,
};

pub(crate) async fn run(call: SettingsCall) -> Result<SettingsReply, ServiceError> {
    crate::api::reached(settings_admin_call(call).await)
}

const TH: &str = "px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
const TD: &str = "px-3 py-2 text-sm text-slate-700";

#[component]
pub fn Settings(user: CurrentUser) -> impl IntoView {
    let categories_allowed = user.has_any_scope(&[s::API_CATEGORY, s::ADMIN, s::ADMIN_OPERATIONS]);
    let settings_allowed = user.has_any_scope(&[s::ADMIN_SETTINGS, s::ADMIN]);
    let super_candidate = user.has_scope(s::ADMIN);
    view! {
        <div class="space-y-8">
            {categories_allowed.then(|| view! { <Categories/> })}
            {settings_allowed.then(|| view! { <OrganizationSettings/> })}
            {super_candidate.then(|| view! { <Organizations/> })}
        </div>
    }
}

#[component]
fn Categories() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new_blocking(move || version.get(), |_| run(SettingsCall::Categories));
    let change = Change::new(run, version);
    let (act, error) = (change.act, change.error);
    let editing = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let reset = move || {
        editing.set(String::new());
        name.set(String::new());
        description.set(String::new());
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked();
        let id = editing.get_untracked();
        let message = if id.is_empty() {
            format!("Category {n} added.")
        } else {
            format!("Category {n} saved.")
        };
        error.set(None);
        act.dispatch((
            SettingsCall::SaveCategory(ApiCategory {
                id,
                name: n,
                description: description.get_untracked(),
                number_of_apis: 0,
            }),
            message,
        ));
    };
    // A saved category empties the form.
    Effect::new(move |_| {
        if let Some(Ok(_)) = act.value().get() {
            reset();
        }
    });
    view! {
        <section data-testid="categories">
            <h2 class="mb-1 text-lg font-semibold">"API categories"</h2>
            <p class="mb-3 text-sm text-slate-500">"Publishers file APIs under these; the Developer Portal filters by them (category:Finance)."</p>
            {error_banner(error)}
            {change.notice_view()}
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading categories…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(SettingsReply::Categories(items)) if items.is_empty() => view! {
                            <EmptyState title="No API categories yet" detail="Add the first one below, e.g. Finance or Weather."/>
                        }.into_any(),
                        Ok(SettingsReply::Categories(items)) => view! {
                            <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
                                <table class="min-w-full divide-y divide-slate-200">
                                    <thead><tr><th class=TH>"Name"</th><th class=TH>"Description"</th><th class=TH>"APIs"</th><th class=TH></th></tr></thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {items.into_iter().map(|c| {
                                            let (id, n, d) = (c.id.clone(), c.name.clone(), c.description.clone());
                                            let edit = move |_| {
                                                editing.set(id.clone());
                                                name.set(n.clone());
                                                description.set(d.clone());
                                            };
                                            let (id, n, used) = (c.id.clone(), c.name.clone(), c.number_of_apis);
                                            let remove = move |_| {
                                                #[cfg(feature = "hydrate")]
                                                if !window().confirm_with_message(&format!("Delete the category {n}?")).unwrap_or(false) {
                                                    return;
                                                }
                                                act.dispatch((SettingsCall::DeleteCategory { id: id.clone() }, format!("Category {n} deleted.")));
                                            };
                                            view! {
                                                <tr data-category=c.name.clone()>
                                                    <td class=format!("{TD} font-medium")>{c.name.clone()}</td>
                                                    <td class=TD>{c.description.clone()}</td>
                                                    <td class=TD data-testid="category-apis">{c.number_of_apis}</td>
                                                    <td class=TD>
                                                        <div class="flex gap-2">
                                                            <button type="button" class=BUTTON_LIGHT on:click=edit>"Edit"</button>
                                                            <button type="button" class=BUTTON_LIGHT on:click=remove disabled={used > 0}
                                                                title={if used > 0 { "Used by APIs: remove it from them first" } else { "" }}>"Delete"</button>
                                                        </div>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                        Ok(_) => ().into_any(),
                        Err(e) => view! { <p class="text-sm text-rose-600">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <form class=format!("{CARD} mt-4 grid gap-4 sm:grid-cols-3") on:submit=submit data-testid="category-form">
                <div>
                    <label class=LABEL for="category-name">{move || if editing.get().is_empty() { "New category" } else { "Category name" }}</label>
                    <input id="category-name" class=INPUT bind:value=name required placeholder="Finance"/>
                    {field_error(error, "name")}
                </div>
                <div class="sm:col-span-2">
                    <label class=LABEL for="category-description">"Description"</label>
                    <input id="category-description" class=INPUT bind:value=description placeholder="Payments, accounts and invoices"/>
                    {field_error(error, "description")}
                </div>
                <div class="flex gap-2 sm:col-span-3">
                    <button type="submit" class=BUTTON disabled=move || act.pending().get()>
                        {move || if editing.get().is_empty() { "Add category" } else { "Save category" }}
                    </button>
                    {move || (!editing.get().is_empty()).then(|| view! {
                        <button type="button" class=BUTTON_LIGHT on:click=move |_| reset()>"Cancel"</button>
                    })}
                </div>
            </form>
        </section>
    }
}

#[component]
fn OrganizationSettings() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let current = Resource::new_blocking(move || version.get(), |_| run(SettingsCall::OrgSettings));
    let change = Change::new(run, version);
    view! {
        <section data-testid="organization-settings">
            <h2 class="mb-1 text-lg font-semibold">"Organization settings"</h2>
            <p class="mb-3 text-sm text-slate-500">"How this organization's portals behave, and which lifecycle steps the Publisher offers."</p>
            {error_banner(change.error)}
            {change.notice_view()}
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading settings…"</p> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Ok(SettingsReply::OrgSettings(settings)) => settings_form(settings, change).into_any(),
                        Ok(_) => ().into_any(),
                        Err(e) => view! { <p class="text-sm text-rose-600">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn settings_form(settings: OrgSettings, change: Change<SettingsCall>) -> impl IntoView {
    let display_name = RwSignal::new(settings.display_name.clone());
    let self_sign_up = RwSignal::new(settings.self_sign_up);
    let require_category = RwSignal::new(settings.require_category);
    // One switch per lifecycle transition: on = offered.
    let offered: Vec<(Transition, &'static str, RwSignal<bool>)> = lifecycle::TRANSITIONS
        .iter()
        .filter(|(from, _, to)| from != to)
        .map(|(from, event, to)| {
            let t = Transition {
                from: from.to_string(),
                event: event.to_string(),
            };
            let on = RwSignal::new(settings.allows(from, event));
            (t, *to, on)
        })
        .collect();
    let save = {
        let offered = offered.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let disabled_transitions = offered
                .iter()
                .filter(|(_, _, on)| !on.get_untracked())
                .map(|(t, _, _)| t.clone())
                .collect();
            change.dispatch(
                SettingsCall::SaveOrgSettings(OrgSettings {
                    display_name: display_name.get_untracked(),
                    self_sign_up: self_sign_up.get_untracked(),
                    require_category: require_category.get_untracked(),
                    disabled_transitions,
                }),
                "Organization settings saved.".into(),
            );
        }
    };
    let error = change.error;
    view! {
        <form class=format!("{CARD} space-y-5") on:submit=save data-testid="settings-form">
            <div class="max-w-md">
                <label class=LABEL for="org-display-name">"Display name"</label>
                <input id="org-display-name" class=INPUT bind:value=display_name required/>
                {field_error(error, "displayName")}
            </div>
            <label class="flex items-center gap-2 text-sm">
                <input type="checkbox" class="h-4 w-4" bind:checked=self_sign_up/>
                "Developers may create their own accounts (self sign-up)"
            </label>
            <label class="flex items-center gap-2 text-sm">
                <input type="checkbox" class="h-4 w-4" bind:checked=require_category/>
                "An API needs a category before it is published"
            </label>
            <fieldset>
                <legend class=LABEL>"Lifecycle transitions the Publisher offers"</legend>
                <div class="mt-2 grid gap-1 sm:grid-cols-2 lg:grid-cols-3" data-testid="lifecycle-transitions">
                    {offered.into_iter().map(|(t, to, on)| view! {
                        <label class="flex items-center gap-2 text-sm" data-transition=format!("{}:{}", t.from, t.event)>
                            <input type="checkbox" class="h-4 w-4" bind:checked=on/>
                            <span class="font-mono text-xs text-slate-500">{t.from.clone()}</span>
                            <span>{t.event.clone()}</span>
                            <span class="font-mono text-xs text-slate-500">"→ " {to}</span>
                        </label>
                    }).collect_view()}
                </div>
                {field_error(error, "disabledTransitions")}
            </fieldset>
            <button type="submit" class=BUTTON disabled=move || change.act.pending().get()>"Save settings"</button>
        </form>
    }
}

/// Super admin only: the server refuses others, and the card then stays away.
#[component]
fn Organizations() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new_blocking(move || version.get(), |_| run(SettingsCall::Organizations));
    let change = Change::new(run, version);
    let (act, error) = (change.act, change.error);
    let form = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (name, display_name, admin_username, admin_password) = form;
        let n = name.get_untracked();
        act.dispatch((
            SettingsCall::CreateOrganization(NewOrganization {
                name: n.clone(),
                display_name: display_name.get_untracked(),
                admin_username: admin_username.get_untracked(),
                admin_password: admin_password.get_untracked(),
            }),
            format!("Organization {n} created; its administrator signs in as name@{n}."),
        ));
        admin_password.set(String::new());
    };
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(SettingsReply::Organizations(orgs)) => view! {
                        <section data-testid="organizations">
                            <h2 class="mb-1 text-lg font-semibold">"Organizations"</h2>
                            <p class="mb-3 text-sm text-slate-500">"Each organization has its own users, APIs, applications and settings. Its users sign in as name@organization."</p>
                            {error_banner(error)}
                            {change.notice_view()}
                            <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
                                <table class="min-w-full divide-y divide-slate-200">
                                    <thead><tr><th class=TH>"Organization"</th><th class=TH>"Users"</th><th class=TH>"APIs"</th><th class=TH>"Status"</th><th class=TH>"Created"</th><th class=TH></th></tr></thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {orgs.into_iter().map(|o| org_row(o, change)).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            {organization_form(form, submit, error, act.pending())}
                        </section>
                    }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Suspense>
    }
}

fn org_row(o: Organization, change: Change<SettingsCall>) -> impl IntoView {
    let (name, enabled) = (o.name.clone(), o.enabled);
    let toggle = move |_| {
        change.dispatch(
            SettingsCall::SetOrganizationEnabled {
                name: name.clone(),
                enabled: !enabled,
            },
            format!(
                "Organization {name} {}.",
                if enabled { "disabled" } else { "enabled" }
            ),
        )
    };
    view! {
        <tr data-organization=o.name.clone()>
            <td class=TD><span class="font-medium">{o.display_name.clone()}</span>" "<span class="font-mono text-xs text-slate-500">{o.name.clone()}</span>
                {o.is_super.then(|| view! { <span class="ml-1 rounded bg-indigo-50 px-1.5 py-0.5 text-xs text-indigo-700">"super"</span> })}</td>
            <td class=TD>{o.users}</td>
            <td class=TD>{o.apis}</td>
            <td class=TD data-testid="organization-status">{if o.enabled { "enabled" } else { "disabled" }}</td>
            <td class=TD>{o.created_at.clone()}</td>
            <td class=TD>
                {(!o.is_super).then(|| view! {
                    <button type="button" class=BUTTON_LIGHT on:click=toggle>{if enabled { "Disable" } else { "Enable" }}</button>
                })}
            </td>
        </tr>
    }
}

type OrgForm = (
    RwSignal<String>,
    RwSignal<String>,
    RwSignal<String>,
    RwSignal<String>,
);

fn organization_form(
    (name, display_name, admin_username, admin_password): OrgForm,
    submit: impl Fn(leptos::ev::SubmitEvent) + 'static,
    error: RwSignal<Option<ServiceError>>,
    pending: Memo<bool>,
) -> impl IntoView {
    view! {
        <form class=format!("{CARD} mt-4 grid gap-4 sm:grid-cols-2") on:submit=submit data-testid="organization-form">
            <h3 class="font-semibold sm:col-span-2">"New organization"</h3>
            <div>
                <label class=LABEL for="org-name">"Name"</label>
                <input id="org-name" class=INPUT bind:value=name required placeholder="acme"/>
                {field_error(error, "name")}
            </div>
            <div>
                <label class=LABEL for="org-display">"Display name"</label>
                <input id="org-display" class=INPUT bind:value=display_name placeholder="ACME Corporation"/>
                {field_error(error, "displayName")}
            </div>
            <div>
                <label class=LABEL for="org-admin">"First administrator"</label>
                <input id="org-admin" class=INPUT bind:value=admin_username required placeholder="admin" autocomplete="off"/>
                {field_error(error, "adminUsername")}
            </div>
            <div>
                <label class=LABEL for="org-admin-password">"Their password"</label>
                <input id="org-admin-password" type="password" class=INPUT bind:value=admin_password required minlength="8" autocomplete="new-password"/>
                {field_error(error, "adminPassword")}
            </div>
            <div class="sm:col-span-2">
                <button type="submit" class=BUTTON disabled=move || pending.get()>"Create organization"</button>
            </div>
        </form>
    }
}

/// "Users & roles": role aliases (WSO2's `/system-scopes/role-aliases`), one line per role:
/// `role: alias, alias`. A user holding a role named like an alias gets the role's scopes.
#[component]
pub fn RoleAliases() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new_blocking(move || version.get(), |_| run(SettingsCall::RoleAliases));
    let change = Change::new(run, version);
    let error = change.error;
    view! {
        <section class="mt-8" data-testid="role-aliases">
            <h2 class="mb-1 text-lg font-semibold">"Role aliases"</h2>
            <p class="mb-3 text-sm text-slate-500">"A user holding a role named like an alias gets the aliased role's scopes — e.g. an identity provider's group standing for a built-in role."</p>
            {error_banner(error)}
            {change.notice_view()}
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading aliases…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(SettingsReply::RoleAliases(items)) => {
                            let text = RwSignal::new(crate::settings::alias_lines(&items));
                            let line_error = RwSignal::new(None::<String>);
                            let save = move |ev: leptos::ev::SubmitEvent| {
                                ev.prevent_default();
                                match crate::settings::parse_alias_lines(&text.get_untracked()) {
                                    Ok(list) => {
                                        line_error.set(None);
                                        change.dispatch(SettingsCall::SaveRoleAliases(list), "Role aliases saved.".into());
                                    }
                                    Err((line, message)) => line_error.set(Some(format!("Line {line}: {message}"))),
                                }
                            };
                            view! {
                                <form class=format!("{CARD} space-y-3") on:submit=save>
                                    {items.is_empty().then(|| view! { <p class="text-sm text-slate-500" data-testid="no-aliases">"No aliases yet."</p> })}
                                    <label class=LABEL for="role-aliases">"One role per line: role: alias, alias"</label>
                                    <textarea id="role-aliases" rows="4" class=format!("{INPUT} font-mono") bind:value=text placeholder="subscriber: Internal/subscriber, developers"></textarea>
                                    {move || line_error.get().map(|e| view! { <p class="text-sm text-rose-600">{e}</p> })}
                                    {move || error.get().and_then(|e| match e {
                                        ServiceError::Fields { problems, .. } => Some(problems.into_iter().map(|p| view! {
                                            <p class="text-sm text-rose-600">{p.field} ": " {p.message}</p>
                                        }).collect_view()),
                                        _ => None,
                                    })}
                                    <button type="submit" class=BUTTON disabled=move || change.act.pending().get()>"Save aliases"</button>
                                </form>
                            }.into_any()
                        }
                        Ok(_) => ().into_any(),
                        Err(e) => view! { <p class="text-sm text-rose-600">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
