//! Admin portal: gateway policies (WSO2's gateway policy mappings). Mediation policies an
//! admin puts together once and deploys to gateway environments, where they run before the own
//! policies of every API of the organization. Listed with where each one runs; added and
//! changed in a form generated from the gateway's catalogue; deployed and undeployed per
//! environment; removed when deployed nowhere.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::{EnvAdmin, EnvAdminReply, ServiceError, env_admin_call};
use crate::components::{Change, EmptyState};
use crate::gateway_policies::{GatewayPolicyDeployment, GatewayPolicyMapping};
use crate::pages::publisher::{
    BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, error_banner, field_error,
};
use crate::publisher::{OperationPolicies, OperationPolicy, PolicySpec};

const FLOWS: [&str; 3] = ["request", "response", "fault"];

async fn run(call: EnvAdmin) -> Result<EnvAdminReply, ServiceError> {
    crate::api::reached(env_admin_call(call).await)
}

fn flow_list(p: &OperationPolicies, flow: usize) -> &Vec<OperationPolicy> {
    match flow {
        0 => &p.request,
        1 => &p.response,
        _ => &p.fault,
    }
}

fn flow_list_mut(p: &mut OperationPolicies, flow: usize) -> &mut Vec<OperationPolicy> {
    match flow {
        0 => &mut p.request,
        1 => &mut p.response,
        _ => &mut p.fault,
    }
}

/// A parameter's text as the form shows it.
fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// What the form's text becomes: numbers and booleans for those types, JSON for a schema.
fn value_of(kind: &str, text: &str) -> Option<Value> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    Some(match kind {
        "count" | "status" => t
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(t.into())),
        "bool" => Value::Bool(t == "true"),
        "jsonSchema" => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.into())),
        _ => Value::String(text.to_string()),
    })
}

/// "Add header → Remove header" for a flow of a mapping.
fn order_of(p: &OperationPolicies, flow: usize, catalogue: &[PolicySpec]) -> String {
    flow_list(p, flow)
        .iter()
        .map(|x| {
            catalogue
                .iter()
                .find(|s| s.name == x.policy_name)
                .map_or(x.policy_name.clone(), |s| s.display_name.clone())
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

#[component]
pub fn GatewayPolicies() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let data = Resource::new_blocking(move || version.get(), |_| run(EnvAdmin::GatewayPolicies));
    let change = Change::new(run, version);
    let (act, error) = (change.act, change.error);
    // The form: the mapping being edited (id empty: a new one); `shape` changes when policies
    // are added, moved or removed (typing in a parameter does not redraw the list).
    let form = RwSignal::new(None::<GatewayPolicyMapping>);
    let shape = RwSignal::new(0u32);
    let catalogue = StoredValue::new(Vec::<PolicySpec>::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = act.value().get() {
            form.set(None);
        }
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(m) = form.get_untracked() {
            let message = format!("Gateway policy {} saved.", m.display_name.trim());
            act.dispatch((EnvAdmin::SaveGatewayPolicy(m), message));
        }
    };
    view! {
        <section class="mt-10" data-testid="gateway-policies">
            <div class="flex items-baseline gap-3">
                <h2 class="text-lg font-semibold text-slate-900">"Gateway policies"</h2>
                <p class="text-sm text-slate-500">"Run before the own policies of every API on the environments they are deployed to."</p>
                <button type="button" class=format!("{BUTTON_LIGHT} ml-auto") data-testid="new-gateway-policy"
                    on:click=move |_| {
                        error.set(None);
                        form.set(Some(GatewayPolicyMapping::default()));
                        shape.update(|n| *n += 1);
                    }>"New gateway policy"</button>
            </div>
            <div class="mt-3">{error_banner(error)}{change.notice_view()}</div>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading gateway policies…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(EnvAdminReply::GatewayPolicies { mappings, environments, catalogue: specs }) => {
                            catalogue.set_value(specs.clone());
                            if mappings.is_empty() {
                                return view! {
                                    <EmptyState title="No gateway policies yet"
                                        detail="A gateway policy runs on every API of an environment, e.g. a header or an IP allow list for all of them. Add one, then deploy it."/>
                                }.into_any();
                            }
                            view! {
                                <div class="mt-3 space-y-3">
                                    {mappings.into_iter().map(|m| mapping_card(m, &environments, &specs, act, form, shape)).collect_view()}
                                </div>
                            }.into_any()
                        }
                        Ok(_) => ().into_any(),
                        Err(e) => view! { <p class="text-sm text-rose-600">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            {move || form.get().is_some().then(|| view! {
                <form class=format!("{CARD} mt-4 space-y-4") on:submit=save data-testid="gateway-policy-form">
                    <h3 class="font-semibold">{move || if form.with(|f| f.as_ref().is_some_and(|f| f.id.is_empty())) { "New gateway policy" } else { "Edit the gateway policy" }}</h3>
                    <div class="grid gap-4 sm:grid-cols-2">
                        <div>
                            <label class=LABEL for="gp-name">"Name"</label>
                            <input id="gp-name" class=INPUT required
                                prop:value=move || form.with_untracked(|f| f.as_ref().map(|f| f.display_name.clone()).unwrap_or_default())
                                on:input=move |ev| { let v = event_target_value(&ev); form.update_untracked(|f| if let Some(f) = f { f.display_name = v; }); }/>
                            {field_error(error, "displayName")}
                        </div>
                        <div>
                            <label class=LABEL for="gp-description">"Description"</label>
                            <input id="gp-description" class=INPUT
                                prop:value=move || form.with_untracked(|f| f.as_ref().map(|f| f.description.clone()).unwrap_or_default())
                                on:input=move |ev| { let v = event_target_value(&ev); form.update_untracked(|f| if let Some(f) = f { f.description = v; }); }/>
                        </div>
                    </div>
                    {field_error(error, "policyMapping")}
                    {(0..3).map(|flow| flow_editor(flow, form, shape, catalogue, error)).collect_view()}
                    <div class="flex gap-2">
                        <button type="submit" class=BUTTON data-testid="save-gateway-policy">"Save"</button>
                        <button type="button" class=BUTTON_LIGHT on:click=move |_| form.set(None)>"Cancel"</button>
                    </div>
                </form>
            })}
        </section>
    }
}

fn mapping_card(
    m: GatewayPolicyMapping,
    environments: &[String],
    catalogue: &[PolicySpec],
    act: Action<(EnvAdmin, String), Result<String, ServiceError>>,
    form: RwSignal<Option<GatewayPolicyMapping>>,
    shape: RwSignal<u32>,
) -> impl IntoView {
    let flows: Vec<(&str, String)> = (0..3)
        .filter(|f| !flow_list(&m.policy_mapping, *f).is_empty())
        .map(|f| (FLOWS[f], order_of(&m.policy_mapping, f, catalogue)))
        .collect();
    let deploys = environments
        .iter()
        .map(|env| {
            let on = m.applied_gateway_labels.contains(env);
            let label = if on { format!("Undeploy from {env}") } else { format!("Deploy to {env}") };
            let testid = env.clone();
            let (id, env, name) = (m.id.clone(), env.clone(), m.display_name.clone());
            let click = move |_| {
                let done = if on { "undeployed from" } else { "deployed to" };
                act.dispatch((
                    EnvAdmin::DeployGatewayPolicy {
                        id: id.clone(),
                        changes: vec![GatewayPolicyDeployment {
                            gateway_label: env.clone(),
                            gateway_deployment: !on,
                            mapping_uuid: None,
                        }],
                    },
                    format!("{name} {done} {env}."),
                ));
            };
            view! { <button type="button" class=BUTTON_LIGHT on:click=click data-deploy=testid>{label}</button> }
        })
        .collect_view();
    let edit = {
        let m = m.clone();
        move |_| {
            form.set(Some(m.clone()));
            shape.update(|n| *n += 1);
        }
    };
    let remove = {
        let (id, name) = (m.id.clone(), m.display_name.clone());
        move |_| {
            #[cfg(feature = "hydrate")]
            if !window()
                .confirm_with_message(&format!("Remove the gateway policy {name}?"))
                .unwrap_or(false)
            {
                return;
            }
            act.dispatch((
                EnvAdmin::DeleteGatewayPolicy { id: id.clone() },
                format!("Gateway policy {name} removed."),
            ));
        }
    };
    view! {
        <article class=CARD data-gateway-policy=m.display_name.clone()>
            <div class="flex flex-wrap items-baseline gap-2">
                <h3 class="font-semibold">{m.display_name.clone()}</h3>
                <span class="text-sm text-slate-500">{m.description.clone()}</span>
                <span class="ml-auto flex gap-2">
                    <button type="button" class=BUTTON_LIGHT on:click=edit>"Edit"</button>
                    <button type="button" class=BUTTON_LIGHT on:click=remove>"Remove"</button>
                </span>
            </div>
            <dl class="mt-2 space-y-1 text-sm">
                {flows.into_iter().map(|(flow, order)| view! {
                    <div class="flex gap-2"><dt class="w-20 text-slate-500">{flow}</dt><dd data-flow=flow>{order}</dd></div>
                }).collect_view()}
            </dl>
            <p class="mt-2 text-sm" data-testid="deployed-to">
                {if m.applied_gateway_labels.is_empty() {
                    "Deployed nowhere.".to_string()
                } else {
                    format!("Deployed to {}", m.applied_gateway_labels.join(", "))
                }}
            </p>
            <div class="mt-2 flex flex-wrap gap-2">{deploys}</div>
        </article>
    }
}

/// One flow of the form: its policies in order (parameters, up, down, remove) and an "add".
fn flow_editor(
    flow: usize,
    form: RwSignal<Option<GatewayPolicyMapping>>,
    shape: RwSignal<u32>,
    catalogue: StoredValue<Vec<PolicySpec>>,
    error: RwSignal<Option<ServiceError>>,
) -> impl IntoView {
    let choice = RwSignal::new(String::new());
    let change = move |f: &dyn Fn(&mut Vec<OperationPolicy>)| {
        form.update_untracked(|m| {
            if let Some(m) = m {
                f(flow_list_mut(&mut m.policy_mapping, flow));
            }
        });
        shape.update(|n| *n += 1);
    };
    let options = move || {
        catalogue.with_value(|c| {
            c.iter()
                .filter(|s| s.flows.iter().any(|f| f == FLOWS[flow]))
                .map(|s| view! { <option value=s.name.clone()>{s.display_name.clone()}</option> })
                .collect_view()
        })
    };
    let add = move |_| {
        let name = choice.get_untracked();
        if name.is_empty() {
            return;
        }
        change(&|list| {
            list.push(OperationPolicy {
                policy_name: name.clone(),
                policy_version: "v1".into(),
                policy_id: None,
                parameters: Default::default(),
            })
        });
    };
    view! {
        <fieldset class="rounded-lg border border-slate-200 p-3" data-flow-editor=FLOWS[flow]>
            <legend class="px-1 text-sm font-medium text-slate-700">{format!("{} flow", FLOWS[flow])}</legend>
            {move || {
                shape.track();
                let items = form.with_untracked(|m| m.as_ref().map(|m| flow_list(&m.policy_mapping, flow).clone()).unwrap_or_default());
                if items.is_empty() {
                    return view! { <p class="text-sm text-slate-500">"Nothing in this flow."</p> }.into_any();
                }
                let count = items.len();
                items.into_iter().enumerate().map(|(i, item)| {
                    let spec = catalogue.with_value(|c| c.iter().find(|s| s.name == item.policy_name).cloned());
                    let title = spec.as_ref().map_or(item.policy_name.clone(), |s| s.display_name.clone());
                    let at = format!("policyMapping.{}[{i}]", FLOWS[flow]);
                    let problems = move || error.with(|e| {
                        let all: Vec<(&str, &str)> = match e {
                            Some(ServiceError::Fields { problems, .. }) => problems.iter().map(|p| (p.field.as_str(), p.message.as_str())).collect(),
                            Some(ServiceError::Invalid { field, message }) => vec![(field.as_str(), message.as_str())],
                            _ => vec![],
                        };
                        all.into_iter()
                            .filter(|(f, _)| f.starts_with(&at))
                            .map(|(f, m)| format!("{}: {m}", f.trim_start_matches(&at).trim_start_matches('.')))
                            .collect::<Vec<_>>()
                    });
                    let params = spec.map(|s| s.parameters).unwrap_or_default().into_iter().map(|p| {
                        let current = text_of(item.parameters.get(&p.name));
                        let id = format!("gp-{}-{i}-{}", FLOWS[flow], p.name);
                        let (name, kind) = (p.name.clone(), p.kind.clone());
                        let input = move |ev: leptos::ev::Event| {
                            let text = event_target_value(&ev);
                            form.update_untracked(|m| if let Some(m) = m
                                && let Some(x) = flow_list_mut(&mut m.policy_mapping, flow).get_mut(i) {
                                match value_of(&kind, &text) {
                                    Some(v) => { x.parameters.insert(name.clone(), v); }
                                    None => { x.parameters.remove(&name); }
                                }
                            });
                        };
                        view! {
                            <div>
                                <label class="block text-xs font-medium text-slate-600" for=id.clone()>
                                    {p.name.clone()}{p.required.then_some(" *")}
                                </label>
                                <input id=id class=INPUT value=current on:input=input data-param=p.name.clone() placeholder=p.description.clone()/>
                            </div>
                        }
                    }).collect_view();
                    view! {
                        <div class="mt-2 rounded-md bg-slate-50 p-3" data-policy=item.policy_name.clone()>
                            <div class="flex items-center gap-2">
                                <span class="text-sm font-semibold">{format!("{}. {title}", i + 1)}</span>
                                <span class="ml-auto flex gap-1">
                                    <button type="button" class=BUTTON_LIGHT disabled=i == 0 title="Earlier"
                                        on:click=move |_| change(&|l| l.swap(i - 1, i))>"↑"</button>
                                    <button type="button" class=BUTTON_LIGHT disabled=i + 1 == count title="Later"
                                        on:click=move |_| change(&|l| l.swap(i, i + 1))>"↓"</button>
                                    <button type="button" class=BUTTON_LIGHT title="Remove"
                                        on:click=move |_| change(&|l| { l.remove(i); })>"✕"</button>
                                </span>
                            </div>
                            <div class="mt-2 grid gap-2 sm:grid-cols-2">{params}</div>
                            <ul class="mt-1 text-sm text-rose-600">{move || problems().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                        </div>
                    }
                }).collect_view().into_any()
            }}
            <div class="mt-2 flex gap-2">
                <select class=INPUT aria-label=format!("Policy to add to the {} flow", FLOWS[flow]) data-add-select=FLOWS[flow]
                    on:change=move |ev| choice.set(event_target_value(&ev))>
                    <option value="">"Choose a policy…"</option>
                    {options}
                </select>
                <button type="button" class=BUTTON_LIGHT on:click=add data-add=FLOWS[flow]>"Add"</button>
            </div>
        </fieldset>
    }
}
