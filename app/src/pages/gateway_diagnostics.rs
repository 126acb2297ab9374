//! Admin portal: one gateway's runtime diagnostics (`/admin/gateways?environment=…&gateway=…`),
//! from the report the gateway sends the control plane every few seconds — the same as
//! `gateway diagnose` on its machine: snapshot, phase latencies (a bar per phase), limiter,
//! upstream, JWKS and tracing state, and the last failed requests with the phase that
//! decided and why. Refreshes itself every five seconds.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::{EnvAdmin, EnvAdminReply, ServiceError, env_admin_call};
use crate::components::EmptyState;
use crate::pages::publisher::{BUTTON_LIGHT, CARD};
use crate::publisher::GatewayDiagnostics;

async fn load(environment: String, gateway_id: String) -> Result<EnvAdminReply, ServiceError> {
    crate::api::reached(
        env_admin_call(EnvAdmin::Diagnostics {
            environment,
            gateway_id,
        })
        .await,
    )
}

fn ms(v: &Value) -> String {
    v.as_f64().map_or("–".into(), |x| format!("{x:.2}"))
}

/// Bar width (percent of the slowest phase's p95) for the latency chart.
fn bar(value: Option<f64>, max: f64) -> f64 {
    match value {
        Some(v) if max > 0.0 => (v / max * 100.0).clamp(1.0, 100.0),
        _ => 0.0,
    }
}

#[component]
pub fn GatewayDiagnosticsPage(environment: String, gateway: String) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let (env, gw) = (environment.clone(), gateway.clone());
    let data = Resource::new_blocking(move || tick.get(), move |_| load(env.clone(), gw.clone()));
    Effect::new(move |_| {
        let _ = data.get();
        #[cfg(feature = "hydrate")]
        set_timeout(
            move || {
                let _ = tick.try_update(|v| *v += 1);
            },
            std::time::Duration::from_secs(5),
        );
    });
    view! {
        <div class="mb-4 flex flex-wrap items-center gap-3">
            <a href="/admin/gateways" class=BUTTON_LIGHT>"← All gateways"</a>
            <h2 class="font-semibold">"Diagnostics of "<span class="font-mono" data-testid="diag-gateway">{gateway.clone()}</span></h2>
            <span class="text-sm text-slate-500">"environment " {environment.clone()}</span>
        </div>
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading the gateway's report…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(EnvAdminReply::Diagnostics(Some(d))) => report_view(*d).into_any(),
                    Ok(_) => view! {
                        <EmptyState title="No report from this gateway yet"
                            detail="A gateway sends its diagnostics every five seconds when it follows the control plane with a gateway token. Run `gateway diagnose` on its machine to read them directly."/>
                    }.into_any(),
                    Err(e) => view! {
                        <EmptyState title="Diagnostics unavailable" detail="You may not see this gateway's diagnostics."/>
                        <p class="text-sm text-rose-600">{e.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

fn report_view(d: GatewayDiagnostics) -> impl IntoView {
    let r = d.report;
    let g = &r["gateway"];
    let s = &r["snapshot"];
    let phases: Vec<Value> = r["phases"].as_array().cloned().unwrap_or_default();
    let max = phases
        .iter()
        .filter_map(|p| p["p95Ms"].as_f64())
        .fold(0.0f64, f64::max);
    let failures: Vec<Value> = r["failures"]["recent"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let suspended: Vec<Value> = r["upstreams"]["suspendedEndpoints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let jwks: Vec<Value> = r["jwks"].as_array().cloned().unwrap_or_default();
    let shared = r["limiters"]["shared"].clone();
    let tracing = r["tracing"].clone();
    let analytics = r["analytics"].clone();
    view! {
        <div class="grid gap-4 sm:grid-cols-4">
            <div class=CARD>
                <p class="text-xs uppercase tracking-wide text-slate-500">"Snapshot"</p>
                <p class="text-lg font-semibold" data-testid="diag-snapshot">{match s["version"].as_u64() {
                    Some(v) => format!("version {v}"),
                    None => "none yet".into(),
                }}</p>
                <p class="text-xs text-slate-500">{format!("{} APIs · applied {} s ago", s["apis"], s["ageSeconds"])}</p>
            </div>
            <div class=CARD>
                <p class="text-xs uppercase tracking-wide text-slate-500">"Gateway"</p>
                <p class="text-lg font-semibold">{format!("{} workers", g["workers"])}</p>
                <p class="text-xs text-slate-500">{format!("version {} · up {} s · crypto {}", g["version"].as_str().unwrap_or("?"), g["uptimeSeconds"], g["cryptoProvider"].as_str().unwrap_or("?"))}{(g["fips"] == true).then_some(" (FIPS)")}</p>
            </div>
            <div class=CARD>
                <p class="text-xs uppercase tracking-wide text-slate-500">"Limiters"</p>
                <p class="text-lg font-semibold">{format!("{} callers", r["limiters"]["trackedCallers"])}</p>
                <p class="text-xs text-slate-500">{if shared.is_null() {
                    "counted by this gateway alone".to_string()
                } else if shared["redis"].as_bool() == Some(true) {
                    format!("shared through Redis · {} gateways live", shared["liveGateways"])
                } else {
                    "Redis unreachable: counting alone".to_string()
                }}</p>
            </div>
            <div class=CARD>
                <p class="text-xs uppercase tracking-wide text-slate-500">"Report"</p>
                <p class="text-lg font-semibold" data-testid="diag-age">{format!("{} s ago", d.seconds_ago)}</p>
                <p class="text-xs text-slate-500">{if tracing["enabled"].as_bool() == Some(true) {
                    format!("tracing on · {} spans exported, {} dropped", tracing["exported"], tracing["dropped"])
                } else {
                    "tracing off".to_string()
                }}</p>
                <p class="text-xs text-slate-500" data-testid="diag-analytics">{if analytics["enabled"].as_bool() == Some(true) {
                    format!("analytics on · {} events sent, {} dropped", analytics["sent"], analytics["dropped"])
                } else {
                    "analytics off".to_string()
                }}</p>
            </div>
        </div>
        <section class=format!("{CARD} mt-4")>
            <h3 class="font-semibold">"Latency by phase"</h3>
            <p class="text-xs text-slate-500">"p95 as a bar (the slowest phase fills it), p50 / p95 / p99 in milliseconds, since the gateway started."</p>
            <table class="mt-2 w-full text-left text-sm" data-testid="diag-phases">
                <thead class="text-xs uppercase tracking-wide text-slate-500"><tr>
                    <th class="py-1">"Phase"</th><th>"Requests"</th><th class="w-1/3">"p95"</th><th>"p50"</th><th>"p95"</th><th>"p99"</th>
                </tr></thead>
                <tbody>
                    {phases.into_iter().map(|p| {
                        let width = bar(p["p95Ms"].as_f64(), max);
                        view! {
                            <tr class="border-t border-slate-100" data-phase=p["phase"].as_str().unwrap_or_default().to_string()>
                                <td class="py-1 font-medium">{p["phase"].as_str().unwrap_or("?").to_string()}</td>
                                <td>{p["count"].to_string()}</td>
                                <td><svg class="h-3 w-full" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label=format!("p95 {} ms", ms(&p["p95Ms"]))>
                                    <rect x="0" y="0" width="100" height="10" class="fill-slate-100"/>
                                    <rect x="0" y="0" width=format!("{width:.1}") height="10" class="fill-indigo-500"/>
                                </svg></td>
                                <td>{ms(&p["p50Ms"])}</td><td>{ms(&p["p95Ms"])}</td><td>{ms(&p["p99Ms"])}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <div class="mt-4 grid gap-4 sm:grid-cols-2">
            <section class=CARD>
                <h3 class="font-semibold">"Upstreams"</h3>
                <p class="text-sm">{format!("{} idle backend connections", r["upstreams"]["idleConnections"])}</p>
                {if suspended.is_empty() {
                    view! { <p class="text-sm text-slate-500">"No endpoint suspended."</p> }.into_any()
                } else {
                    view! { <ul class="mt-1 text-sm text-amber-700" data-testid="diag-suspended">
                        {suspended.into_iter().map(|e| view! {
                            <li>{format!("{} → {} ({} s left)", e["api"].as_str().unwrap_or("?"), e["endpoint"].as_str().unwrap_or("?"), e["secondsLeft"])}</li>
                        }).collect_view()}
                    </ul> }.into_any()
                }}
            </section>
            <section class=CARD>
                <h3 class="font-semibold">"Key sets (JWKS)"</h3>
                {if jwks.is_empty() {
                    view! { <p class="text-sm text-slate-500">"No JWKS fetched: key managers give their keys in the snapshot."</p> }.into_any()
                } else {
                    view! { <ul class="text-sm">
                        {jwks.into_iter().map(|j| {
                            let problem = j["problem"].as_str().map(str::to_string);
                            let class = if problem.is_some() { "text-rose-700" } else { "" };
                            view! {
                                <li class=class>
                                    <span class="font-mono text-xs">{j["url"].as_str().unwrap_or("?").to_string()}</span>" — "
                                    {match problem {
                                        Some(p) => p,
                                        None => format!("fetched {} s ago", j["fetchedSecondsAgo"]),
                                    }}
                                </li>
                            }
                        }).collect_view()}
                    </ul> }.into_any()
                }}
            </section>
        </div>
        <section class=format!("{CARD} mt-4")>
            <h3 class="font-semibold">"Recent failed requests"</h3>
            {if failures.is_empty() {
                view! { <p class="mt-1 text-sm text-slate-500" data-testid="diag-no-failures">"No failed request since the gateway started."</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-2 divide-y divide-slate-100" data-testid="diag-failures">
                        {failures.into_iter().map(|f| {
                            let phases = f["phases"].as_array().cloned().unwrap_or_default();
                            view! {
                                <li class="py-2 text-sm" data-testid="diag-failure">
                                    <div class="flex flex-wrap items-baseline gap-2">
                                        <span class="rounded bg-rose-100 px-1.5 py-0.5 text-xs font-semibold text-rose-800">{f["status"].to_string()}</span>
                                        <span class="font-mono text-xs">{format!("{} {}", f["method"].as_str().unwrap_or("?"), f["path"].as_str().unwrap_or("?"))}</span>
                                        {f["api"].as_str().map(|a| view! { <span class="text-xs text-slate-500">{format!("{a} · {}", f["operation"].as_str().unwrap_or(""))}</span> })}
                                        {f["application"].as_str().map(|a| view! { <span class="text-xs text-slate-500">{format!("application {a}")}</span> })}
                                    </div>
                                    <p class="mt-1"><span class="font-medium" data-testid="diag-phase">{format!("Decided in {}", f["phase"].as_str().unwrap_or("?"))}</span>": "<span data-testid="diag-cause">{f["cause"].as_str().unwrap_or("?").to_string()}</span></p>
                                    <p class="text-xs text-slate-500">
                                        {phases
                                            .iter()
                                            .map(|p| format!("{} {} ms{}", p["phase"].as_str().unwrap_or("?"), ms(&p["ms"]), if p["failed"].as_bool() == Some(true) { " ✗" } else { "" }))
                                            .chain(std::iter::once(format!("total {} ms", ms(&f["totalMs"]))))
                                            .collect::<Vec<_>>()
                                            .join(" · ")}
                                    </p>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn bars_scale_to_the_slowest_phase() {
        assert_eq!(bar(Some(5.0), 10.0), 50.0);
        assert_eq!(
            bar(Some(0.0001), 10.0),
            1.0,
            "a phase that ran shows a sliver"
        );
        assert_eq!(bar(None, 10.0), 0.0);
        assert_eq!(bar(Some(3.0), 0.0), 0.0);
    }
}
