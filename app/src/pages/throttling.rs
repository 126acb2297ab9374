//! Admin portal: rate limiting. Application policies (per application and end user),
//! subscription tiers (per application and API), each with its quota (requests or data) and
//! burst control, and advanced policies (`throttling_advanced`, per API or operation); add,
//! change the limits of, and remove custom ones (a policy in use stays). The gateways apply a
//! change within a second. The server checks everything again (Admin v4
//! `/throttling/policies/*`).

use leptos::prelude::*;

use crate::api::{ServiceError, throttling_admin_call};
use crate::auth::{CurrentUser, scopes as s};
use crate::components::Change;
use crate::pages::publisher::{
    BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, error_banner, field_error,
};
use crate::throttling::{
    APPLICATION, BlockingCondition, BurstLimit, SUBSCRIPTION, ThrottleLimit, ThrottlePolicy,
    ThrottlingCall, ThrottlingReply,
};

pub(super) async fn run(call: ThrottlingCall) -> Result<ThrottlingReply, ServiceError> {
    crate::api::reached(throttling_admin_call(call).await)
}

const TH: &str = "px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
const TD: &str = "px-3 py-2 text-sm text-slate-700";

#[component]
pub fn RateLimiting(user: CurrentUser) -> impl IntoView {
    let can_manage = user.has_any_scope(&[s::TIER_MANAGE, s::ADMIN]);
    let sees_tiers = user.has_any_scope(&[s::TIER_VIEW, s::TIER_MANAGE, s::ADMIN]);
    let sees_deny = user.has_any_scope(&[s::BL_VIEW, s::BL_MANAGE, s::ADMIN]);
    let manages_deny = user.has_any_scope(&[s::BL_MANAGE, s::ADMIN]);
    view! {
        <div class="space-y-10">
            {sees_tiers.then(|| view! {
                <Level level=APPLICATION title="Application policies"
                    about="Per application and end user: every subscription of the application counts." can_manage/>
                <Level level=SUBSCRIPTION title="Subscription tiers"
                    about="Per application and API: the tier a developer picks when subscribing." can_manage/>
                <super::throttling_advanced::AdvancedPolicies can_manage/>
            })}
            {sees_deny.then(|| view! { <DenyPolicies can_manage=manages_deny/> })}
        </div>
    }
}

/// Deny policies: requests refused at once by every gateway while a condition is on.
#[component]
fn DenyPolicies(can_manage: bool) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new_blocking(move || version.get(), |_| run(ThrottlingCall::DenyList));
    let change = Change::new(run, version);
    let (act, error) = (change.act, change.error);
    let kind = RwSignal::new("IP".to_string());
    let value = RwSignal::new(String::new());
    let value_to = RwSignal::new(String::new());
    let invert = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let k = kind.get_untracked();
        let v = value.get_untracked().trim().to_string();
        let condition_value = match k.as_str() {
            "IP" => serde_json::json!({"fixedIp": v, "invert": invert.get_untracked()}),
            "IPRANGE" => {
                serde_json::json!({"startingIp": v, "endingIp": value_to.get_untracked().trim(),
                                            "invert": invert.get_untracked()})
            }
            _ => serde_json::Value::String(v),
        };
        act.dispatch((
            ThrottlingCall::DenyCreate(BlockingCondition {
                condition_id: String::new(),
                condition_type: k.clone(),
                condition_value,
                condition_status: true,
            }),
            format!("{k} condition added."),
        ));
    };
    let hint = move || match kind.get().as_str() {
        "API" => "the API's context, e.g. /pizzashack/1.0.0 (without the version: every version)",
        "APPLICATION" => "owner:application, e.g. alice:Mobile app",
        "USER" => "the end user's name",
        "IPRANGE" => "the first address",
        _ => "an IPv4 or IPv6 address",
    };
    view! {
        <section data-testid="deny-policies">
            <h2 class="mb-1 text-lg font-semibold">"Deny policies"</h2>
            <p class="mb-3 text-sm text-slate-500">"Requests refused at once by every gateway (403) while a condition is on."</p>
            {error_banner(error)}
            {change.notice_view()}
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading deny policies…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(ThrottlingReply::Deny(items)) if items.is_empty() => view! {
                            <crate::components::EmptyState title="Nothing is blocked" detail="Block an API, an application, a user or an address below."/>
                        }.into_any(),
                        Ok(ThrottlingReply::Deny(items)) => view! {
                            <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
                                <table class="min-w-full divide-y divide-slate-200">
                                    <thead><tr><th class=TH>"Blocks"</th><th class=TH>"Value"</th><th class=TH>"Status"</th><th class=TH></th></tr></thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {items.into_iter().map(|c| {
                                            let (id, on, text) = (c.condition_id.clone(), c.condition_status, c.value_text());
                                            let toggle = {
                                                let id = id.clone();
                                                move |_| {
                                                    let message = if on { "Condition switched off." } else { "Condition switched on." };
                                                    act.dispatch((ThrottlingCall::DenySetStatus { id: id.clone(), enabled: !on }, message.to_string()));
                                                }
                                            };
                                            let remove = move |_| {
                                                #[cfg(feature = "hydrate")]
                                                if !window().confirm_with_message("Remove this condition?").unwrap_or(false) {
                                                    return;
                                                }
                                                act.dispatch((ThrottlingCall::DenyDelete { id: id.clone() }, "Condition removed.".to_string()));
                                            };
                                            view! {
                                                <tr data-condition=text.clone()>
                                                    <td class=TD>{c.condition_type.clone()}</td>
                                                    <td class=format!("{TD} font-mono")>{text.clone()}</td>
                                                    <td class=TD data-testid="condition-status">{if on { "on" } else { "off" }}</td>
                                                    <td class=TD>
                                                        {can_manage.then(|| view! {
                                                            <div class="flex gap-2">
                                                                <button type="button" class=BUTTON_LIGHT on:click=toggle>{if on { "Switch off" } else { "Switch on" }}</button>
                                                                <button type="button" class=BUTTON_LIGHT on:click=remove>"Remove"</button>
                                                            </div>
                                                        })}
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
            {can_manage.then(|| view! {
                <form class=format!("{CARD} mt-4 grid gap-4 sm:grid-cols-6") on:submit=submit data-testid="deny-form">
                    <div>
                        <label class=LABEL for="deny-type">"Block"</label>
                        <select id="deny-type" class=INPUT prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                            <option value="IP">"an address"</option>
                            <option value="IPRANGE">"an address range"</option>
                            <option value="API">"an API"</option>
                            <option value="APPLICATION">"an application"</option>
                            <option value="USER">"a user"</option>
                        </select>
                        {field_error(error, "conditionType")}
                    </div>
                    <div class="sm:col-span-2">
                        <label class=LABEL for="deny-value">"Value"</label>
                        <input id="deny-value" class=INPUT bind:value=value required/>
                        <p class="mt-1 text-xs text-slate-500">{hint}</p>
                        {field_error(error, "conditionValue")}
                        {field_error(error, "conditionValue.fixedIp")}
                        {field_error(error, "conditionValue.startingIp")}
                    </div>
                    {move || (kind.get() == "IPRANGE").then(|| view! {
                        <div class="sm:col-span-2">
                            <label class=LABEL for="deny-value-to">"Last address"</label>
                            <input id="deny-value-to" class=INPUT bind:value=value_to/>
                            {field_error(error, "conditionValue.endingIp")}
                        </div>
                    })}
                    {move || kind.get().starts_with("IP").then(|| view! {
                        <label class="flex items-center gap-2 self-end pb-2 text-sm">
                            <input type="checkbox" class="h-4 w-4" bind:checked=invert/>
                            "everything else"
                        </label>
                    })}
                    <div class="sm:col-span-6">
                        <button type="submit" class=BUTTON disabled=move || act.pending().get()>"Add condition"</button>
                    </div>
                </form>
            })}
        </section>
    }
}

#[component]
fn Level(
    level: &'static str,
    title: &'static str,
    about: &'static str,
    can_manage: bool,
) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new_blocking(
        move || version.get(),
        move |_| {
            run(ThrottlingCall::List {
                level: level.into(),
            })
        },
    );
    let change = Change::new(run, version);
    let (act, error) = (change.act, change.error);
    let editing = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let requests = RwSignal::new("100".to_string());
    // What the quota counts: `requests`, or data in KB, MB or GB.
    let counts = RwSignal::new("requests".to_string());
    let unit = RwSignal::new("min".to_string());
    let burst = RwSignal::new(String::new());
    let burst_unit = RwSignal::new("sec".to_string());
    let reset = move || {
        editing.set(String::new());
        name.set(String::new());
        requests.set("100".into());
        counts.set("requests".into());
        unit.set("min".into());
        burst.set(String::new());
        burst_unit.set("sec".into());
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = act.value().get() {
            reset();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked();
        let amount = requests.get_untracked().trim().parse().unwrap_or(0);
        let mut p = ThrottlePolicy::request_count(&n, amount, 1, &unit.get_untracked());
        let data_unit = counts.get_untracked();
        if data_unit != "requests" {
            p.default_limit =
                ThrottleLimit::bandwidth(amount, &data_unit, 1, &unit.get_untracked());
        }
        p.policy_id = editing.get_untracked();
        if let Ok(count) = burst.get_untracked().trim().parse::<i64>() {
            if level == SUBSCRIPTION {
                p.rate_limit_count = Some(count);
                p.rate_limit_time_unit = Some(burst_unit.get_untracked());
            } else {
                p.burst_limit = Some(BurstLimit {
                    rate_limit_count: count,
                    rate_limit_time_unit: burst_unit.get_untracked(),
                });
            }
        }
        let message = format!("Policy {n} saved.");
        act.dispatch((
            ThrottlingCall::Save {
                level: level.into(),
                policy: Box::new(p),
            },
            message,
        ));
    };
    let burst_field = if level == SUBSCRIPTION {
        "rateLimitTimeUnit"
    } else {
        "burstLimit.rateLimitTimeUnit"
    };
    view! {
        <section data-testid=format!("{level}-policies")>
            <h2 class="mb-1 text-lg font-semibold">{title}</h2>
            <p class="mb-3 text-sm text-slate-500">{about}</p>
            {error_banner(error)}
            {change.notice_view()}
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading policies…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(ThrottlingReply::List(items)) => view! {
                            <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
                                <table class="min-w-full divide-y divide-slate-200">
                                    <thead><tr><th class=TH>"Policy"</th><th class=TH>"Quota"</th><th class=TH>"Burst control"</th><th class=TH></th></tr></thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {items.into_iter().map(|p| {
                                            let (id, n) = (p.policy_id.clone(), p.policy_name.clone());
                                            let quota = p.default_limit.clone();
                                            let b = p.burst();
                                            let edit = {
                                                let (id, n, b) = (id.clone(), n.clone(), b.clone());
                                                move |_| {
                                                    editing.set(id.clone());
                                                    name.set(n.clone());
                                                    if let Some(q) = &quota.request_count {
                                                        requests.set(q.request_count.to_string());
                                                        counts.set("requests".into());
                                                        unit.set(q.time_unit.clone());
                                                    }
                                                    if let Some(b) = &quota.bandwidth {
                                                        requests.set(b.data_amount.to_string());
                                                        counts.set(b.data_unit.clone());
                                                        unit.set(b.time_unit.clone());
                                                    }
                                                    burst.set(b.as_ref().map(|(c, _)| c.to_string()).unwrap_or_default());
                                                    burst_unit.set(b.as_ref().map(|(_, u)| u.clone()).unwrap_or_else(|| "sec".into()));
                                                }
                                            };
                                            let remove = move |_| {
                                                #[cfg(feature = "hydrate")]
                                                if !window().confirm_with_message(&format!("Remove the policy {n}?")).unwrap_or(false) {
                                                    return;
                                                }
                                                act.dispatch((ThrottlingCall::Delete { level: level.into(), id: id.clone() }, format!("Policy {n} removed.")));
                                            };
                                            let unlimited = p.is_unlimited();
                                            view! {
                                                <tr data-policy=p.policy_name.clone()>
                                                    <td class=TD>
                                                        <span class="font-medium">{p.policy_name.clone()}</span>
                                                        {p.built_in.then(|| view! { <span class="ml-1 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-500">"built in"</span> })}
                                                        <p class="text-xs text-slate-500">{p.description.clone()}</p>
                                                    </td>
                                                    <td class=TD data-testid="quota">{p.quota_text()}</td>
                                                    <td class=TD data-testid="burst">{b.map(|(c, u)| format!("{c} per {u}")).unwrap_or_else(|| "—".into())}</td>
                                                    <td class=TD>
                                                        {(can_manage && !unlimited).then(|| view! {
                                                            <div class="flex gap-2">
                                                                <button type="button" class=BUTTON_LIGHT on:click=edit>"Edit"</button>
                                                                {(!p.built_in).then(|| view! { <button type="button" class=BUTTON_LIGHT on:click=remove>"Remove"</button> })}
                                                            </div>
                                                        })}
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
            {can_manage.then(|| view! {
                <form class=format!("{CARD} mt-4 grid gap-4 sm:grid-cols-7") on:submit=submit data-testid=format!("{level}-policy-form")>
                    <div class="sm:col-span-2">
                        <label class=LABEL for=format!("{level}-name")>{move || if editing.get().is_empty() { "New policy" } else { "Policy" }}</label>
                        <input id=format!("{level}-name") class=INPUT bind:value=name required placeholder="Partner" readonly=move || !editing.get().is_empty()/>
                        {field_error(error, "policyName")}
                    </div>
                    <div>
                        <label class=LABEL for=format!("{level}-requests")>"Quota"</label>
                        <input id=format!("{level}-requests") class=INPUT bind:value=requests inputmode="numeric" required/>
                        {field_error(error, "defaultLimit.requestCount.requestCount")}
                        {field_error(error, "defaultLimit.bandwidth.dataAmount")}
                    </div>
                    <div>
                        <label class=LABEL for=format!("{level}-counts")>"of"</label>
                        <select id=format!("{level}-counts") class=INPUT prop:value=move || counts.get() on:change=move |ev| counts.set(event_target_value(&ev))>
                            <option value="requests">"requests"</option>
                            <option value="KB">"KB of data"</option>
                            <option value="MB">"MB of data"</option>
                            <option value="GB">"GB of data"</option>
                        </select>
                        {field_error(error, "defaultLimit.bandwidth.dataUnit")}
                    </div>
                    <div>
                        <label class=LABEL for=format!("{level}-unit")>"per"</label>
                        <select id=format!("{level}-unit") class=INPUT prop:value=move || unit.get() on:change=move |ev| unit.set(event_target_value(&ev))>
                            <option value="sec">"second"</option>
                            <option value="min">"minute"</option>
                            <option value="hour">"hour"</option>
                            <option value="day">"day"</option>
                        </select>
                    </div>
                    <div>
                        <label class=LABEL for=format!("{level}-burst")>"Burst: at most"</label>
                        <input id=format!("{level}-burst") class=INPUT bind:value=burst inputmode="numeric" placeholder="none"/>
                    </div>
                    <div>
                        <label class=LABEL for=format!("{level}-burst-unit")>"per"</label>
                        <select id=format!("{level}-burst-unit") class=INPUT prop:value=move || burst_unit.get() on:change=move |ev| burst_unit.set(event_target_value(&ev))>
                            <option value="sec">"second"</option>
                            <option value="min">"minute"</option>
                        </select>
                        {field_error(error, burst_field)}
                    </div>
                    <div class="flex gap-2 sm:col-span-7">
                        <button type="submit" class=BUTTON disabled=move || act.pending().get()>
                            {move || if editing.get().is_empty() { "Add policy" } else { "Save policy" }}
                        </button>
                        {move || (!editing.get().is_empty()).then(|| view! {
                            <button type="button" class=BUTTON_LIGHT on:click=move |_| reset()>"Cancel"</button>
                        })}
                    </div>
                </form>
            })}
        </section>
    }
}
