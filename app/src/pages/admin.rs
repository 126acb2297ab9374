//! Admin portal shell: one section per admin scope; a user sees only the sections their
//! roles grant (the server enforces the same rule).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{list_roles, list_users};
use crate::auth::{ADMIN_SECTIONS, AdminSection, CurrentUser, Portal, Viewer};
use crate::components::{EmptyState, PageTitle, PortalPage, SubNav};

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
        ("users", _) => view! { <UsersAndRoles/> }.into_any(),
        ("workflows", Some(user)) => {
            view! { <crate::pages::workflows::Approvals user/> }.into_any()
        }
        (key, _) => other_section(key),
    }
}

fn other_section(key: &'static str) -> AnyView {
    match key {
        "throttling" => view! {
            <EmptyState title="No custom policies" detail="Rate-limiting policies you add appear here beside the built-in tiers."/>
        }.into_any(),
        "key-managers" => view! {
            <EmptyState title="Only the resident key manager" detail="Third-party key managers (OIDC, Keycloak, Okta, Auth0, Azure AD) you add are listed here."/>
        }.into_any(),
        "gateways" => view! {
            <EmptyState title="No gateways connected" detail="Gateway environments and the gateways connected to them show here with their snapshot version."/>
        }.into_any(),
        "settings" => view! {
            <EmptyState title="No API categories" detail="Categories you define group APIs in the Developer Portal."/>
        }.into_any(),
        _ => view! {
            <EmptyState title="Nothing recorded yet" detail="Audit events and gateway health appear here."/>
        }.into_any(),
    }
}

const TH: &str = "px-4 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
const TD: &str = "px-4 py-2 text-sm text-slate-700";

#[component]
fn UsersAndRoles() -> impl IntoView {
    let users = Resource::new_blocking(|| (), |_| list_users());
    let roles = Resource::new_blocking(|| (), |_| list_roles());
    view! {
        <h2 class="mb-3 text-lg font-semibold">"Users"</h2>
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No users" detail="Users who sign up or whom you add appear here."/>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
                            <table class="min-w-full divide-y divide-slate-200" data-testid="users-table">
                                <thead><tr>
                                    <th class=TH>"User"</th><th class=TH>"E-mail"</th><th class=TH>"Roles"</th><th class=TH>"Status"</th><th class=TH>"Created"</th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100">
                                    {list.into_iter().map(|u| { let key = u.username.clone(); view! {
                                        <tr data-username=key>
                                            <td class=TD><span class="font-medium">{u.display_name}</span><span class="ml-1 text-slate-400">{u.username}</span></td>
                                            <td class=TD>{u.email.unwrap_or_default()}</td>
                                            <td class=TD>{u.roles.join(", ")}</td>
                                            <td class=TD>{if u.locked { "locked" } else { "active" }}</td>
                                            <td class=TD>{u.created_at}</td>
                                        </tr>
                                    }}).collect_view()}
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
                match roles.await {
                    Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="grid gap-3 md:grid-cols-2">
                            {list.into_iter().map(|r| { let key = r.name.clone(); view! {
                                <div class="rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200" data-role=key>
                                    <div class="flex items-center justify-between">
                                        <h3 class="font-semibold">{r.name}</h3>
                                        <span class="text-xs text-slate-500">{r.users} " users"{r.built_in.then_some(" · built-in")}</span>
                                    </div>
                                    <p class="mt-1 text-sm text-slate-500">{r.description}</p>
                                    <div class="mt-2 flex flex-wrap gap-1">
                                        {r.scopes.into_iter().map(|s| view! {
                                            <span class="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-600">{s}</span>
                                        }).collect_view()}
                                    </div>
                                </div>
                            }}).collect_view()}
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
