//! Admin portal shell: one section per admin scope; a user sees only the sections their
//! roles grant (the server enforces the same rule).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{
    RoleSummary, ServiceError, UserSummary, UsersChange, UsersChangeReply, list_roles, list_users,
    user_admin_call,
};
use crate::auth::{ADMIN_SECTIONS, AdminSection, CurrentUser, Portal, Viewer};
use crate::components::{Change, EmptyState, PageTitle, PortalPage, SubNav};
use crate::pages::publisher::{BUTTON_LIGHT, error_banner};

fn section_by_key(key: &str) -> Option<&'static AdminSection> {
    ADMIN_SECTIONS.iter().find(|s| s.key == key)
}

fn nav(user: Option<&CurrentUser>) -> impl IntoView + use<> {
    let mut links = vec![("Overview", "/admin".to_string())];
    if let Some(u) = user {
        links.extend(
            ADMIN_SECTIONS
                .iter()
                .filter(|s| s.allows(u))
                .map(|s| (s.title, s.path())),
        );
    }
    view! { <SubNav links/> }
}

#[component]
pub fn Overview() -> impl IntoView {
    view! {
        <Title text="Admin"/>
        <PortalPage portal=Portal::Admin>
            {move || {
                let user = use_context::<Viewer>().unwrap_or_default().user;
                let cards = ADMIN_SECTIONS
                    .iter()
                    .filter(|s| user.as_ref().is_some_and(|u| s.allows(u)))
                    .map(|s| view! {
                        <a href=s.path() class="block rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200 hover:ring-indigo-400" data-section=s.key>
                            <h2 class="font-semibold text-slate-900">{s.title}</h2>
                            <p class="mt-1 text-sm text-slate-500">{s.summary}</p>
                        </a>
                    })
                    .collect_view();
                view! {
                    {nav(user.as_ref())}
                    <PageTitle title="Administration" subtitle="The sections your roles allow."/>
                    <div class="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">{cards}</div>
                }
            }}
        </PortalPage>
    }
}

#[component]
pub fn Section() -> impl IntoView {
    let params = use_params_map();
    let key = move || params.with(|p| p.get("section").unwrap_or_default());
    view! {
        <PortalPage portal=Portal::Admin>
            {move || {
                let key = key();
                let user = use_context::<Viewer>().unwrap_or_default().user;
                let section = section_by_key(&key).copied();
                view! {
                    {nav(user.as_ref())}
                    {match section {
                        Some(s) => view! {
                            <Title text=s.title/>
                            <PageTitle title=s.title subtitle=s.summary/>
                            {section_body(s.key, user.clone())}
                        }.into_any(),
                        None => view! {
                            <EmptyState title="No such section" detail="This admin section does not exist."/>
                        }.into_any(),
                    }}
                }
            }}
        </PortalPage>
    }
}

fn section_body(key: &'static str, user: Option<CurrentUser>) -> AnyView {
    match (key, user) {
        ("users", user) => {
            let aliases = user.is_some_and(|u| {
                u.has_any_scope(&[
                    crate::auth::scopes::SCOPE_MANAGE,
                    crate::auth::scopes::ADMIN,
                ])
            });
            view! {
                <UsersAndRoles/>
                {aliases.then(|| view! { <crate::pages::settings::RoleAliases/> })}
            }
            .into_any()
        }
        ("settings", Some(user)) => view! { <crate::pages::settings::Settings user/> }.into_any(),
        ("throttling", Some(user)) => {
            view! { <crate::pages::throttling::RateLimiting user/> }.into_any()
        }
        ("workflows", Some(user)) => {
            view! { <crate::pages::workflows::Approvals user/> }.into_any()
        }
        ("key-managers", _) => view! { <crate::pages::key_managers::KeyManagers/> }.into_any(),
        ("gateways", _) => {
            // `?environment=…&gateway=…`: one gateway's diagnostics page.
            let query = leptos_router::hooks::use_query_map();
            let pick = query.with(|q| (q.get("environment"), q.get("gateway")));
            match pick {
                (Some(environment), Some(gateway)) => view! {
                    <crate::pages::gateway_diagnostics::GatewayDiagnosticsPage environment gateway/>
                }
                .into_any(),
                _ => view! { <crate::pages::gateways::Gateways/> }.into_any(),
            }
        }
        ("ai-index", _) => view! { <crate::pages::ai_index::AiIndex/> }.into_any(),
        ("analytics", _) => view! { <AdminAnalytics/> }.into_any(),
        (key, _) => other_section(key),
    }
}

fn other_section(_key: &'static str) -> AnyView {
    view! {
        <EmptyState title="Nothing recorded yet" detail="Audit events and gateway health appear here."/>
    }
    .into_any()
}

const TH: &str = "px-4 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
const TD: &str = "px-4 py-2 text-sm text-slate-700";

async fn admin_call(call: UsersChange) -> Result<UsersChangeReply, ServiceError> {
    crate::api::reached(user_admin_call(call).await)
}

#[component]
fn UsersAndRoles() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let users = Resource::new_blocking(move || version.get(), |_| list_users());
    let roles = Resource::new_blocking(move || version.get(), |_| list_roles());
    let scopes = Resource::new_blocking(|| (), |_| admin_call(UsersChange::Scopes));
    let change = Change::new(admin_call, version);
    let (act, error) = (change.act, change.error);
    let run = move |call: UsersChange, message: String| {
        act.dispatch((call, message));
    };
    view! {
        {error_banner(error)}
        {change.notice_view()}
        <h2 class="mb-3 text-lg font-semibold">"Users"</h2>
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                let role_names: Vec<String> = roles.await.map(|r| r.into_iter().map(|r| r.name).collect()).unwrap_or_default();
                match users.await {
                    Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No users" detail="Users who sign up or whom you add appear here."/>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
                            <table class="min-w-full divide-y divide-slate-200" data-testid="users-table">
                                <thead><tr>
                                    <th class=TH>"User"</th><th class=TH>"E-mail"</th><th class=TH>"Roles"</th><th class=TH>"Status"</th><th class=TH>"Created"</th><th class=TH></th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100">
                                    {list.into_iter().map(|u| user_row(u, role_names.clone(), run)).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
        <h2 class="mb-3 mt-8 text-lg font-semibold">"Roles"</h2>
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading roles…"</p> }>
            {move || Suspend::new(async move {
                let all_scopes = match scopes.await {
                    Ok(UsersChangeReply::Scopes(list)) => list,
                    _ => vec![],
                };
                match roles.await {
                    Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="grid gap-3 md:grid-cols-2">
                            {list.into_iter().map(|r| role_card(r, all_scopes.clone(), run)).collect_view()}
                            {role_card(RoleSummary { name: String::new(), description: String::new(), built_in: false, scopes: vec![], users: 0 }, all_scopes.clone(), run)}
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn user_row(
    u: UserSummary,
    role_names: Vec<String>,
    run: impl Fn(UsersChange, String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let chosen: Vec<(String, RwSignal<bool>)> = role_names
        .iter()
        .map(|r| (r.clone(), RwSignal::new(u.roles.contains(r))))
        .collect();
    let password = RwSignal::new(String::new());
    let (name, locked) = (u.username.clone(), u.locked);
    let save_roles = {
        let (name, chosen) = (name.clone(), chosen.clone());
        move |_| {
            let roles = chosen
                .iter()
                .filter(|(_, on)| on.get_untracked())
                .map(|(r, _)| r.clone())
                .collect();
            run(
                UsersChange::SetRoles {
                    username: name.clone(),
                    roles,
                },
                format!("Roles of {name} saved."),
            );
        }
    };
    let lock = {
        let name = name.clone();
        move |_| {
            run(
                UsersChange::SetLocked {
                    username: name.clone(),
                    locked: !locked,
                },
                format!("{name} {}.", if locked { "unlocked" } else { "locked" }),
            )
        }
    };
    let reset = {
        let name = name.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            run(
                UsersChange::ResetPassword {
                    username: name.clone(),
                    password: password.get_untracked(),
                },
                format!("Password of {name} reset."),
            );
            password.set(String::new());
        }
    };
    view! {
        <tr data-username=u.username.clone()>
            <td class=TD><span class="font-medium">{u.display_name}</span><span class="ml-1 text-slate-400">{u.username.clone()}</span></td>
            <td class=TD>{u.email.unwrap_or_default()}</td>
            <td class=TD>
                <details>
                    <summary class="cursor-pointer">{if u.roles.is_empty() { "none".to_string() } else { u.roles.join(", ") }}</summary>
                    <div class="mt-2 space-y-1">
                        {chosen.into_iter().map(|(r, on)| view! {
                            <label class="flex items-center gap-2 text-xs">
                                <input type="checkbox" prop:checked=move || on.get() on:change=move |ev| on.set(event_target_checked(&ev))/>
                                {r}
                            </label>
                        }).collect_view()}
                        <button type="button" class=BUTTON_LIGHT on:click=save_roles>"Save roles"</button>
                    </div>
                </details>
            </td>
            <td class=TD data-testid="user-status">{if u.locked { "locked" } else { "active" }}</td>
            <td class=TD>{u.created_at}</td>
            <td class=TD>
                <div class="flex flex-wrap items-start gap-2">
                    <button type="button" class=BUTTON_LIGHT on:click=lock>{if locked { "Unlock" } else { "Lock" }}</button>
                    <details>
                        <summary class="cursor-pointer text-xs text-indigo-700">"Reset password"</summary>
                        <form class="mt-2 flex gap-1" on:submit=reset>
                            <input type="password" class="w-36 rounded border border-slate-300 px-2 py-1 text-xs" aria-label=format!("New password for {name}")
                                minlength="8" autocomplete="new-password" bind:value=password/>
                            <button type="submit" class=BUTTON_LIGHT>"Set"</button>
                        </form>
                    </details>
                </div>
            </td>
        </tr>
    }
}

/// A role's scopes, editable; an empty `r.name` is the form for a new role.
fn role_card(
    r: RoleSummary,
    all_scopes: Vec<String>,
    run: impl Fn(UsersChange, String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let new = r.name.is_empty();
    let name = RwSignal::new(r.name.clone());
    let description = RwSignal::new(r.description.clone());
    let chosen: Vec<(String, RwSignal<bool>)> = all_scopes
        .iter()
        .map(|sc| (sc.clone(), RwSignal::new(r.scopes.contains(sc))))
        .collect();
    let save = {
        let chosen = chosen.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let scopes = chosen
                .iter()
                .filter(|(_, on)| on.get_untracked())
                .map(|(sc, _)| sc.clone())
                .collect();
            let n = name.get_untracked();
            run(
                UsersChange::SaveRole {
                    name: n.clone(),
                    description: description.get_untracked(),
                    scopes,
                },
                format!("Role {n} saved."),
            );
        }
    };
    let delete = {
        let n = r.name.clone();
        move |_| {
            run(
                UsersChange::DeleteRole { name: n.clone() },
                format!("Role {n} deleted."),
            )
        }
    };
    let key = if new {
        "new".to_string()
    } else {
        r.name.clone()
    };
    view! {
        <div class="rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200" data-role=key>
            <div class="flex items-center justify-between">
                <h3 class="font-semibold">{if new { "New role".to_string() } else { r.name.clone() }}</h3>
                {(!new).then(|| view! { <span class="text-xs text-slate-500">{r.users} " users"{r.built_in.then_some(" · built-in")}</span> })}
            </div>
            <p class="mt-1 text-sm text-slate-500">{r.description.clone()}</p>
            <div class="mt-2 flex flex-wrap gap-1">
                {r.scopes.iter().map(|s| view! {
                    <span class="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-600">{s.clone()}</span>
                }).collect_view()}
            </div>
            <details class="mt-2" open=new>
                <summary class="cursor-pointer text-xs text-indigo-700">{if new { "Define a role and its scopes" } else { "Edit scopes" }}</summary>
                <form class="mt-2 space-y-2" on:submit=save>
                    {new.then(|| view! {
                        <input class="w-full rounded border border-slate-300 px-2 py-1 text-sm" aria-label="Role name" placeholder="Role name" bind:value=name/>
                    })}
                    <input class="w-full rounded border border-slate-300 px-2 py-1 text-sm" aria-label="Role description" placeholder="Description" bind:value=description/>
                    <div class="grid max-h-48 grid-cols-1 gap-1 overflow-y-auto sm:grid-cols-2">
                        {chosen.into_iter().map(|(sc, on)| view! {
                            <label class="flex items-center gap-1 font-mono text-xs">
                                <input type="checkbox" prop:checked=move || on.get() on:change=move |ev| on.set(event_target_checked(&ev))/>
                                {sc}
                            </label>
                        }).collect_view()}
                    </div>
                    <div class="flex gap-2">
                        <button type="submit" class=BUTTON_LIGHT>{if new { "Create role" } else { "Save" }}</button>
                        {(!new && !r.built_in).then(|| view! { <button type="button" class=BUTTON_LIGHT on:click=delete>"Delete"</button> })}
                    </div>
                </form>
            </details>
        </div>
    }
}

/// The organization's traffic: every API, the top APIs and applications.
#[component]
fn AdminAnalytics() -> impl IntoView {
    let data = crate::pages::analytics::resource(|| Some(crate::analytics::Scope::Organization));
    view! {
        <crate::pages::analytics::AnalyticsPanel data
            lists=crate::pages::analytics::Lists { apis: true, applications: true, operations: false }
            empty="Requests through this organization's gateways show here once APIs are deployed and called: traffic, latency, errors by cause, top APIs and applications."/>
    }
}
