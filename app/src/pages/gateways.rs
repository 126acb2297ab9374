//! Admin portal: gateway environments (name, type, virtual hosts) with the gateways that fetch
//! each one's snapshot (who, the version they hold against the current one, last contact); add,
//! edit (display name, gateway type, virtual hosts) and remove environments. The built-in
//! `Default` stays.

use leptos::prelude::*;

use crate::api::{EnvAdmin, EnvAdminReply, ServiceError, env_admin_call};
use crate::components::{Change, EmptyState};
use crate::pages::publisher::{
    BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, error_banner, field_error,
};
use crate::publisher::{EnvironmentInput, GatewayInstance, VHost};

async fn run(call: EnvAdmin) -> Result<EnvAdminReply, ServiceError> {
    crate::api::reached(env_admin_call(call).await)
}

/// The form's lines: `host [http port] [https port]`; a word that is not a port is kept as
/// part of the host so the server names the line.
fn parse_vhosts(text: &str) -> Vec<VHost> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            let host = words.next().unwrap_or_default().to_string();
            let ports: Vec<&str> = words.collect();
            let port = |i: usize| ports.get(i).and_then(|p| p.parse::<u16>().ok());
            let bad =
                ports.len() > 2 || ports.iter().any(|p| *p != "-" && p.parse::<u16>().is_err());
            VHost {
                host: if bad { line.to_string() } else { host },
                http_port: port(0),
                https_port: port(1),
                ..Default::default()
            }
        })
        .collect()
}

fn vhost_lines(list: &[VHost]) -> String {
    list.iter()
        .map(|v| match (v.http_port, v.https_port) {
            (Some(h), Some(s)) => format!("{} {h} {s}", v.host),
            (Some(h), None) => format!("{} {h}", v.host),
            (None, Some(s)) => format!("{} - {s}", v.host),
            (None, None) => v.host.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn vhost_label(v: &VHost) -> String {
    match (v.http_port, v.https_port) {
        (_, Some(s)) => format!("https://{}:{s}", v.host),
        (Some(h), None) => format!("http://{}:{h}", v.host),
        _ => v.host.clone(),
    }
}

/// A query-string value (gateway ids hold `/`).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
    let editing = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let display = RwSignal::new(String::new());
    let gateway_type = RwSignal::new("native".to_string());
    let hosts = RwSignal::new(String::new());
    let reset = move || {
        editing.set(None);
        name.set(String::new());
        display.set(String::new());
        gateway_type.set("native".into());
        hosts.set(String::new());
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked();
        let input = EnvironmentInput {
            name: n.clone(),
            display_name: display.get_untracked(),
            gateway_type: Some(gateway_type.get_untracked()),
            vhosts: parse_vhosts(&hosts.get_untracked()),
            ..Default::default()
        };
        error.set(None);
        match editing.get_untracked() {
            Some(id) => act.dispatch((
                EnvAdmin::Update { id, input },
                format!("Environment {n} saved."),
            )),
            None => act.dispatch((EnvAdmin::Create(input), format!("Environment {n} added."))),
        };
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = act.value().get() {
            reset();
        }
    });
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
                                let edit = {
                                    let e = e.clone();
                                    move |_| {
                                        editing.set(Some(e.id.clone()));
                                        name.set(e.name.clone());
                                        display.set(e.display_name.clone());
                                        gateway_type.set(if e.gateway_type == "APK" { "kubernetes".into() } else { "native".into() });
                                        hosts.set(vhost_lines(&e.vhosts));
                                    }
                                };
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
                                            <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs" data-testid="gateway-type">{if e.gateway_type == "APK" { "Kubernetes" } else { "Native" }}</span>
                                            <span class="text-xs text-slate-500" data-testid="vhosts">{e.vhosts.iter().map(vhost_label).collect::<Vec<_>>().join(", ")}</span>
                                            {(!read_only).then(|| view! {
                                                <span class="ml-auto flex gap-2">
                                                    <button type="button" class=BUTTON_LIGHT on:click=edit>"Edit"</button>
                                                    <button type="button" class=BUTTON_LIGHT on:click=remove>"Remove"</button>
                                                </span>
                                            })}
                                        </div>
                                        {if connected.is_empty() {
                                            view! { <p class="mt-3 text-sm text-slate-500" data-testid="no-gateways">"No gateway has fetched this environment's snapshot in the last day."</p> }.into_any()
                                        } else {
                                            view! {
                                                <table class="mt-3 w-full text-left text-sm" data-testid="connected-gateways">
                                                    <thead class="text-xs uppercase tracking-wide text-slate-500"><tr>
                                                        <th class="py-1">"Gateway"</th><th>"Snapshot"</th><th>"Last contact"</th><th></th>
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
                                                                    <td class="text-right"><a class="text-indigo-700 underline" data-testid="gateway-diagnostics"
                                                                        href=format!("/admin/gateways?environment={}&gateway={}", encode(&g.environment), encode(&g.gateway_id))>"Diagnostics"</a></td>
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
            <h2 class="font-semibold sm:col-span-3">{move || match editing.get() { Some(_) => "Edit the environment", None => "Add an environment" }}</h2>
            <div>
                <label class=LABEL for="env-name">"Name"</label>
                <input id="env-name" class=INPUT bind:value=name required placeholder="eu-production" readonly=move || editing.get().is_some()/>
                {field_error(error, "name")}
            </div>
            <div>
                <label class=LABEL for="env-display">"Display name"</label>
                <input id="env-display" class=INPUT bind:value=display placeholder="EU production"/>
                {field_error(error, "displayName")}
            </div>
            <div>
                <label class=LABEL for="env-type">"Gateway type"</label>
                <select id="env-type" class=INPUT prop:value=move || gateway_type.get() on:change=move |ev| gateway_type.set(event_target_value(&ev))>
                    <option value="native">"Native (Gatehouse gateways)"</option>
                    <option value="kubernetes">"Kubernetes (Gateway API)"</option>
                </select>
                {field_error(error, "gatewayType")}
            </div>
            <div class="sm:col-span-3">
                <label class=LABEL for="env-hosts">"Virtual hosts: one per line, host [HTTP port] [HTTPS port] (- for none)"</label>
                <textarea id="env-hosts" rows="3" class=format!("{INPUT} font-mono") bind:value=hosts required placeholder="api.eu.example.com 80 443"></textarea>
                {field_error(error, "vhosts")}
                {move || (0..8).filter_map(|i| {
                    let field = format!("vhosts[{i}].host");
                    error.get().and_then(|e| e.for_field(&field)).map(|m| view! { <p class="mt-1 text-sm text-rose-600">{format!("Line {}: {m}", i + 1)}</p> })
                }).collect_view()}
            </div>
            <div class="flex gap-2 sm:col-span-3">
                <button type="submit" class=BUTTON disabled=move || act.pending().get()>
                    {move || if editing.get().is_some() { "Save environment" } else { "Add environment" }}
                </button>
                {move || editing.get().is_some().then(|| view! { <button type="button" class=BUTTON_LIGHT on:click=move |_| reset()>"Cancel"</button> })}
            </div>
        </form>
        <crate::pages::gateway_policies::GatewayPolicies/>
    }
}
