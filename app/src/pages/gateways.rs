//! Admin portal: gateway environments (name, type, virtual hosts) with the gateways that fetch
//! each one's snapshot (who, the version they hold against the current one, last contact); add
//! and remove environments. The built-in `Default` stays.

use leptos::prelude::*;

use crate::api::{EnvAdmin, EnvAdminReply, ServiceError, env_admin_call};
use crate::components::{Change, EmptyState};
use crate::pages::publisher::{
    BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, error_banner, field_error,
};
use crate::publisher::{EnvironmentInput, GatewayInstance, VHost};

async fn run(call: EnvAdmin) -> Result<EnvAdminReply, ServiceError> {
    match env_admin_call(call).await {
        Ok(r) => r,
        Err(e) => Err(ServiceError::Fields {
            message: format!("The server could not be reached: {e}"),
            problems: vec![],
        }),
    }
}

/// "12 s ago", "3 min ago", "2 h ago".
fn ago(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s => format!("{} h ago", s / 3600),
    }
}

#[component]
pub fn Gateways() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let data = Resource::new_blocking(move || version.get(), |_| run(EnvAdmin::List));
    let change = Change::new(run, version);
    let (act, error) = (change.act, change.error);
    let name = RwSignal::new(String::new());
    let display = RwSignal::new(String::new());
    let host = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked();
        let input = EnvironmentInput {
            name: n.clone(),
            display_name: display.get_untracked(),
            vhosts: vec![VHost {
                host: host.get_untracked(),
                ..Default::default()
            }],
            ..Default::default()
        };
        error.set(None);
        act.dispatch((EnvAdmin::Create(input), format!("Environment {n} added.")));
    };
    view! {
        {error_banner(error)}
        {change.notice_view()}
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading environments…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(EnvAdminReply::List { environments, gateways }) => view! {
                        <div class="space-y-4">
                            {environments.into_iter().map(|e| {
                                let connected: Vec<GatewayInstance> = gateways.iter().filter(|g| g.environment == e.name).cloned().collect();
                                let (id, n, read_only) = (e.id.clone(), e.name.clone(), e.is_read_only);
                                let remove = move |_| {
                                    #[cfg(feature = "hydrate")]
                                    if !window().confirm_with_message(&format!("Remove the environment {n}?")).unwrap_or(false) {
                                        return;
                                    }
                                    act.dispatch((EnvAdmin::Delete { id: id.clone() }, format!("Environment {n} removed.")));
                                };
                                view! {
                                    <section class=CARD data-environment=e.name.clone()>
                                        <div class="flex flex-wrap items-baseline gap-2">
                                            <h2 class="font-semibold">{e.display_name.clone()}</h2>
                                            <span class="font-mono text-xs text-slate-500">{e.name.clone()}</span>
                                            <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs">{e.kind.clone()}</span>
                                            <span class="text-xs text-slate-500">{e.vhosts.iter().map(|v| v.host.clone()).collect::<Vec<_>>().join(", ")}</span>
                                            {(!read_only).then(|| view! { <button type="button" class=format!("{BUTTON_LIGHT} ml-auto") on:click=remove>"Remove"</button> })}
                                        </div>
                                        {if connected.is_empty() {
                                            view! { <p class="mt-3 text-sm text-slate-500" data-testid="no-gateways">"No gateway has fetched this environment's snapshot in the last day."</p> }.into_any()
                                        } else {
                                            view! {
                                                <table class="mt-3 w-full text-left text-sm" data-testid="connected-gateways">
                                                    <thead class="text-xs uppercase tracking-wide text-slate-500"><tr>
                                                        <th class="py-1">"Gateway"</th><th>"Snapshot"</th><th>"Last contact"</th>
                                                    </tr></thead>
                                                    <tbody>
                                                        {connected.into_iter().map(|g| {
                                                            let current = g.snapshot_version == Some(g.current_version);
                                                            view! {
                                                                <tr class="border-t border-slate-100" data-gateway=g.gateway_id.clone()>
                                                                    <td class="py-1 font-mono text-xs">{g.gateway_id.clone()}</td>
                                                                    <td class=if current { "text-emerald-700" } else { "text-amber-700" }>
                                                                        {match g.snapshot_version {
                                                                            Some(v) if v == g.current_version => format!("version {v} (current)"),
                                                                            Some(v) => format!("version {v} (current is {})", g.current_version),
                                                                            None => "none yet".to_string(),
                                                                        }}
                                                                    </td>
                                                                    <td title=g.last_contact.clone()>{ago(g.seconds_ago)}</td>
                                                                </tr>
                                                            }
                                                        }).collect_view()}
                                                    </tbody>
                                                </table>
                                            }.into_any()
                                        }}
                                    </section>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any(),
                    Ok(_) => ().into_any(),
                    Err(e) => view! { <EmptyState title="Gateways unavailable" detail="You may not see gateway environments."/> <p class="text-sm text-rose-600">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <form class=format!("{CARD} mt-6 grid gap-4 sm:grid-cols-3") on:submit=submit data-testid="add-environment">
            <h2 class="font-semibold sm:col-span-3">"Add an environment"</h2>
            <div>
                <label class=LABEL for="env-name">"Name"</label>
                <input id="env-name" class=INPUT bind:value=name required placeholder="eu-production"/>
                {field_error(error, "name")}
            </div>
            <div>
                <label class=LABEL for="env-display">"Display name"</label>
                <input id="env-display" class=INPUT bind:value=display placeholder="EU production"/>
                {field_error(error, "displayName")}
            </div>
            <div>
                <label class=LABEL for="env-host">"Virtual host"</label>
                <input id="env-host" class=INPUT bind:value=host required placeholder="api.eu.example.com"/>
                {field_error(error, "vhosts[0].host")}
            </div>
            <div class="sm:col-span-3">
                <button type="submit" class=BUTTON disabled=move || act.pending().get()>"Add environment"</button>
            </div>
        </form>
    }
}
