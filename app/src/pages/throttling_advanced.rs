//! Admin portal: advanced (API and resource level) rate-limiting policies. A default limit (a
//! request count or an amount of data) and conditional groups: requests matching every
//! condition of a group (header, query parameter, client address, token claim) count against
//! the group's own limit. Publishers pick them for an API and for each operation.

use leptos::prelude::*;

use crate::api::ServiceError;
use crate::components::Change;
use crate::pages::publisher::{
    BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, error_banner, field_error,
};
use crate::throttling::{
    AdvancedThrottlePolicy, ConditionalGroup, HEADER_CONDITION, IP_CONDITION, JWT_CLAIMS_CONDITION,
    QUERY_PARAMETER_CONDITION, ThrottleCondition, ThrottleLimit, ThrottlingCall, ThrottlingReply,
};

const TH: &str = "px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
const TD: &str = "px-3 py-2 text-sm text-slate-700";
const SMALL: &str = "mt-1 block w-full rounded-md border border-slate-300 px-2 py-1 text-sm";

/// A limit as the form edits it (text, so half-typed numbers stay as typed; the server says
/// what is wrong).
#[derive(Clone, Debug, PartialEq)]
struct LimitForm {
    bandwidth: bool,
    amount: String,
    data_unit: String,
    time_unit: String,
}

impl Default for LimitForm {
    fn default() -> Self {
        LimitForm {
            bandwidth: false,
            amount: "1000".into(),
            data_unit: "MB".into(),
            time_unit: "min".into(),
        }
    }
}

impl LimitForm {
    fn of(l: &ThrottleLimit) -> Self {
        match (&l.request_count, &l.bandwidth) {
            (_, Some(b)) => LimitForm {
                bandwidth: true,
                amount: b.data_amount.to_string(),
                data_unit: b.data_unit.clone(),
                time_unit: b.time_unit.clone(),
            },
            (Some(rc), None) => LimitForm {
                bandwidth: false,
                amount: rc.request_count.to_string(),
                data_unit: "MB".into(),
                time_unit: rc.time_unit.clone(),
            },
            (None, None) => LimitForm::default(),
        }
    }

    fn to_limit(&self) -> ThrottleLimit {
        let amount = self.amount.trim().parse().unwrap_or(0);
        if self.bandwidth {
            ThrottleLimit::bandwidth(amount, &self.data_unit, 1, &self.time_unit)
        } else {
            ThrottleLimit::requests(amount, 1, &self.time_unit)
        }
    }
}

/// The policy being added or changed.
#[derive(Clone, Debug, Default, PartialEq)]
struct Draft {
    id: String,
    name: String,
    description: String,
    default: LimitForm,
    groups: Vec<(String, LimitForm, Vec<ThrottleCondition>)>,
}

impl Draft {
    fn of(p: &AdvancedThrottlePolicy) -> Self {
        Draft {
            id: p.policy_id.clone(),
            name: p.policy_name.clone(),
            description: p.description.clone(),
            default: LimitForm::of(&p.default_limit),
            groups: p
                .conditional_groups
                .iter()
                .map(|g| {
                    (
                        g.description.clone(),
                        LimitForm::of(&g.limit),
                        g.conditions.clone(),
                    )
                })
                .collect(),
        }
    }

    fn to_policy(&self) -> AdvancedThrottlePolicy {
        let mut p = AdvancedThrottlePolicy::new(self.name.trim(), self.default.to_limit());
        p.policy_id = self.id.clone();
        p.description = self.description.clone();
        p.conditional_groups = self
            .groups
            .iter()
            .map(|(description, limit, conditions)| ConditionalGroup {
                description: description.clone(),
                conditions: conditions.clone(),
                limit: limit.to_limit(),
            })
            .collect();
        p
    }
}

/// Every problem the last call reported at `prefix` or below it.
fn problems_at(error: RwSignal<Option<ServiceError>>, prefix: String) -> impl IntoView {
    move || {
        let found: Vec<(String, String)> = error.with(|e| match e {
            Some(ServiceError::Fields { problems, .. }) => problems
                .iter()
                .filter(|p| {
                    p.field == prefix
                        || p.field
                            .strip_prefix(prefix.as_str())
                            .is_some_and(|rest| rest.starts_with('.'))
                })
                .map(|p| (p.field.clone(), p.message.clone()))
                .collect(),
            Some(ServiceError::Invalid { field, message }) if field.starts_with(&prefix) => {
                vec![(field.clone(), message.clone())]
            }
            _ => vec![],
        });
        found
            .into_iter()
            .map(|(field, message)| {
                let short = field
                    .strip_prefix(prefix.as_str())
                    .unwrap_or(&field)
                    .trim_start_matches('.')
                    .to_string();
                view! {
                    <p class="mt-1 text-sm text-rose-600" data-field-error=field>
                        {(!short.is_empty()).then(|| format!("{short}: "))}{message}
                    </p>
                }
            })
            .collect_view()
    }
}

/// The fields of one limit; `at` reads and writes it in the draft.
fn limit_editor(
    draft: RwSignal<Draft>,
    shape: RwSignal<u32>,
    label: &'static str,
    at: impl Fn(&mut Draft) -> &mut LimitForm + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let current = draft.with_untracked(|d| at(&mut d.clone()).clone());
    let set = move |f: &dyn Fn(&mut LimitForm)| draft.update(|d| f(at(d)));
    view! {
        <div class="grid gap-2 sm:grid-cols-4">
            <label class="text-xs text-slate-600">
                {label}
                <select class=SMALL aria-label=format!("{label} kind")
                    on:change=move |ev| {
                        let bandwidth = event_target_value(&ev) == "bandwidth";
                        set(&|l| l.bandwidth = bandwidth);
                        shape.update(|n| *n += 1);
                    }>
                    <option value="requests" selected=!current.bandwidth>"requests"</option>
                    <option value="bandwidth" selected=current.bandwidth>"data"</option>
                </select>
            </label>
            <label class="text-xs text-slate-600">
                "Amount"
                <input class=SMALL inputmode="numeric" aria-label=format!("{label} amount")
                    prop:value=current.amount.clone()
                    on:input=move |ev| { let v = event_target_value(&ev); set(&|l| l.amount = v.clone()); }/>
            </label>
            {current.bandwidth.then(|| view! {
                <label class="text-xs text-slate-600">
                    "Unit"
                    <select class=SMALL aria-label=format!("{label} data unit")
                        on:change=move |ev| { let v = event_target_value(&ev); set(&|l| l.data_unit = v.clone()); }>
                        {["KB", "MB", "GB"].into_iter().map(|u| view! {
                            <option value=u selected=current.data_unit == u>{u}</option>
                        }).collect_view()}
                    </select>
                </label>
            })}
            <label class="text-xs text-slate-600">
                "per"
                <select class=SMALL aria-label=format!("{label} per")
                    on:change=move |ev| { let v = event_target_value(&ev); set(&|l| l.time_unit = v.clone()); }>
                    {[("sec", "second"), ("min", "minute"), ("hour", "hour"), ("day", "day")].into_iter().map(|(v, t)| view! {
                        <option value=v selected=current.time_unit == v>{t}</option>
                    }).collect_view()}
                </select>
            </label>
        </div>
    }
}

/// A condition's fields by its type; changing the type starts it afresh.
fn condition_editor(
    draft: RwSignal<Draft>,
    shape: RwSignal<u32>,
    error: RwSignal<Option<ServiceError>>,
    g: usize,
    c: usize,
) -> impl IntoView {
    let current = draft.with_untracked(|d| d.groups[g].2[c].clone());
    let edit = move |f: &dyn Fn(&mut ThrottleCondition)| {
        draft.update(|d| {
            if let Some(cond) = d.groups.get_mut(g).and_then(|x| x.2.get_mut(c)) {
                f(cond);
            }
        })
    };
    let text = move |label: &'static str,
                     value: String,
                     write: fn(&mut ThrottleCondition, String)| {
        view! {
            <label class="text-xs text-slate-600">
                {label}
                <input class=SMALL aria-label=label prop:value=value
                    on:input=move |ev| { let v = event_target_value(&ev); edit(&|cond| write(cond, v.clone())); }/>
            </label>
        }
    };
    let fields = match current.kind.as_str() {
        HEADER_CONDITION => {
            let h = current.header_condition.clone().unwrap_or_default();
            view! {
                {text("Header name", h.header_name, |c, v| c.header_condition.get_or_insert_default().header_name = v)}
                {text("Header value (regex)", h.header_value, |c, v| c.header_condition.get_or_insert_default().header_value = v)}
            }
            .into_any()
        }
        QUERY_PARAMETER_CONDITION => {
            let q = current
                .query_parameter_condition
                .clone()
                .unwrap_or_default();
            view! {
                {text("Parameter name", q.parameter_name, |c, v| c.query_parameter_condition.get_or_insert_default().parameter_name = v)}
                {text("Parameter value (regex)", q.parameter_value, |c, v| c.query_parameter_condition.get_or_insert_default().parameter_value = v)}
            }
            .into_any()
        }
        JWT_CLAIMS_CONDITION => {
            let j = current.jwt_claims_condition.clone().unwrap_or_default();
            view! {
                {text("Claim", j.claim_url, |c, v| c.jwt_claims_condition.get_or_insert_default().claim_url = v)}
                {text("Claim value (regex)", j.attribute, |c, v| c.jwt_claims_condition.get_or_insert_default().attribute = v)}
            }
            .into_any()
        }
        _ => {
            let ip = current.ip_condition.clone().unwrap_or_default();
            let range = ip.ip_condition_type == "IPRANGE";
            view! {
                <label class="text-xs text-slate-600">
                    "Addresses"
                    <select class=SMALL aria-label="IP condition"
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            edit(&|cond| cond.ip_condition.get_or_insert_default().ip_condition_type = v.clone());
                            shape.update(|n| *n += 1);
                        }>
                        <option value="IPSPECIFIC" selected=!range>"one address"</option>
                        <option value="IPRANGE" selected=range>"a range"</option>
                    </select>
                </label>
                {if range {
                    view! {
                        {text("First address", ip.starting_ip.clone().unwrap_or_default(), |c, v| c.ip_condition.get_or_insert_default().starting_ip = Some(v))}
                        {text("Last address", ip.ending_ip.clone().unwrap_or_default(), |c, v| c.ip_condition.get_or_insert_default().ending_ip = Some(v))}
                    }.into_any()
                } else {
                    text("Address", ip.specific_ip.clone().unwrap_or_default(), |c, v| c.ip_condition.get_or_insert_default().specific_ip = Some(v)).into_any()
                }}
            }
            .into_any()
        }
    };
    view! {
        <div class="grid items-end gap-2 rounded-md bg-slate-50 p-2 sm:grid-cols-5" data-testid=format!("condition-{g}-{c}")>
            <label class="text-xs text-slate-600">
                "Condition"
                <select class=SMALL aria-label="Condition type"
                    on:change=move |ev| {
                        let kind = event_target_value(&ev);
                        draft.update(|d| d.groups[g].2[c] = fresh_condition(&kind));
                        shape.update(|n| *n += 1);
                    }>
                    {[(HEADER_CONDITION, "header"), (QUERY_PARAMETER_CONDITION, "query parameter"),
                      (IP_CONDITION, "client address"), (JWT_CLAIMS_CONDITION, "token claim")]
                        .into_iter().map(|(v, t)| view! {
                            <option value=v selected=current.kind == v>{t}</option>
                        }).collect_view()}
                </select>
            </label>
            {fields}
            <div class="flex items-center gap-3 pb-1">
                <label class="flex items-center gap-1 text-xs text-slate-600">
                    <input type="checkbox" class="h-4 w-4" aria-label="Invert"
                        prop:checked=current.invert_condition
                        on:change=move |ev| { let on = event_target_checked(&ev); edit(&|cond| cond.invert_condition = on); }/>
                    "not"
                </label>
                <button type="button" class="text-xs text-rose-700 hover:underline"
                    on:click=move |_| {
                        draft.update(|d| { d.groups[g].2.remove(c); });
                        shape.update(|n| *n += 1);
                    }>"Remove condition"</button>
            </div>
            <div class="sm:col-span-5">{problems_at(error, format!("conditionalGroups[{g}].conditions[{c}]"))}</div>
        </div>
    }
}

/// An empty condition of `kind` (a specific address for IPCONDITION).
fn fresh_condition(kind: &str) -> ThrottleCondition {
    match kind {
        HEADER_CONDITION => ThrottleCondition::header("", ""),
        QUERY_PARAMETER_CONDITION => ThrottleCondition::query("", ""),
        JWT_CLAIMS_CONDITION => ThrottleCondition::claim("", ""),
        _ => ThrottleCondition::ip(""),
    }
}

fn group_editor(
    draft: RwSignal<Draft>,
    shape: RwSignal<u32>,
    error: RwSignal<Option<ServiceError>>,
    g: usize,
) -> impl IntoView {
    let (description, conditions) =
        draft.with_untracked(|d| (d.groups[g].0.clone(), d.groups[g].2.len()));
    view! {
        <fieldset class="space-y-2 rounded-lg border border-slate-200 p-3" data-testid=format!("group-{g}")>
            <legend class="px-1 text-sm font-medium text-slate-700">{format!("Conditional group {}", g + 1)}</legend>
            <label class="block text-xs text-slate-600">
                "Description"
                <input class=SMALL aria-label="Group description" prop:value=description
                    on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| d.groups[g].0 = v); }/>
            </label>
            {limit_editor(draft, shape, "Group limit", move |d| &mut d.groups[g].1)}
            {problems_at(error, format!("conditionalGroups[{g}].limit"))}
            <p class="text-xs text-slate-500">"Requests matching all of these count against the group's limit:"</p>
            {(0..conditions).map(|c| condition_editor(draft, shape, error, g, c)).collect_view()}
            {problems_at(error, format!("conditionalGroups[{g}].conditions"))}
            <div class="flex gap-2">
                <button type="button" class=BUTTON_LIGHT
                    on:click=move |_| {
                        draft.update(|d| d.groups[g].2.push(ThrottleCondition::header("", "")));
                        shape.update(|n| *n += 1);
                    }>"Add condition"</button>
                <button type="button" class=BUTTON_LIGHT
                    on:click=move |_| {
                        draft.update(|d| { d.groups.remove(g); });
                        shape.update(|n| *n += 1);
                    }>"Remove group"</button>
            </div>
        </fieldset>
    }
}

/// The section: the list, and the form to add or change a policy.
#[component]
pub fn AdvancedPolicies(can_manage: bool) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new_blocking(
        move || version.get(),
        |_| super::throttling::run(ThrottlingCall::AdvancedList),
    );
    let change = Change::new(super::throttling::run, version);
    let (act, error) = (change.act, change.error);
    let draft = RwSignal::new(Draft::default());
    // Bumped when the form's structure changes (groups, conditions, kinds): the editor is
    // drawn again from the draft; typing only updates the draft.
    let shape = RwSignal::new(0u32);
    let reset = move || {
        draft.set(Draft::default());
        shape.update(|n| *n += 1);
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = act.value().get() {
            reset();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let p = draft.get_untracked().to_policy();
        let message = format!("Policy {} saved.", p.policy_name);
        act.dispatch((ThrottlingCall::AdvancedSave(Box::new(p)), message));
    };
    let editing = move || draft.with(|d| !d.id.is_empty());
    let editor = move || {
        shape.track();
        let (name, description, groups) =
            draft.with_untracked(|d| (d.name.clone(), d.description.clone(), d.groups.len()));
        view! {
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label class=LABEL for="advanced-name">{move || if editing() { "Policy" } else { "New policy" }}</label>
                    <input id="advanced-name" class=INPUT required placeholder="Partners"
                        prop:value=name readonly=editing
                        on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| d.name = v); }/>
                    {field_error(error, "policyName")}
                </div>
                <div>
                    <label class=LABEL for="advanced-description">"Description"</label>
                    <input id="advanced-description" class=INPUT prop:value=description
                        on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| d.description = v); }/>
                    {field_error(error, "description")}
                </div>
            </div>
            <div data-testid="default-limit">
                {limit_editor(draft, shape, "Default limit", |d| &mut d.default)}
                {problems_at(error, "defaultLimit".into())}
            </div>
            {(0..groups).map(|g| group_editor(draft, shape, error, g)).collect_view()}
            {problems_at(error, "conditionalGroups".into())}
        }
    };
    view! {
        <section data-testid="advanced-policies">
            <h2 class="mb-1 text-lg font-semibold">"Advanced policies"</h2>
            <p class="mb-3 text-sm text-slate-500">
                "Per API or operation, across all callers: publishers pick one for an API and for each operation. A conditional group gives the requests matching all its conditions their own limit (the first group that matches)."
            </p>
            {error_banner(error)}
            {change.notice_view()}
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading policies…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(ThrottlingReply::Advanced(items)) if items.is_empty() => view! {
                            <crate::components::EmptyState title="No advanced policies" detail="Add one below; APIs and operations then pick it in the Publisher."/>
                        }.into_any(),
                        Ok(ThrottlingReply::Advanced(items)) => view! {
                            <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
                                <table class="min-w-full divide-y divide-slate-200">
                                    <thead><tr><th class=TH>"Policy"</th><th class=TH>"Default limit"</th><th class=TH>"Conditional groups"</th><th class=TH></th></tr></thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {items.into_iter().map(|p| {
                                            let (id, n) = (p.policy_id.clone(), p.policy_name.clone());
                                            let unlimited = p.is_unlimited();
                                            let limit = if unlimited { "unlimited".to_string() } else { p.default_limit.text() };
                                            let groups = p.conditional_groups.iter().map(|g| {
                                                let when = g.conditions.iter().map(ThrottleCondition::text).collect::<Vec<_>>().join(" and ");
                                                format!("{when}: {}", g.limit.text())
                                            }).collect::<Vec<_>>();
                                            let count = p.conditional_groups.len();
                                            let edit = {
                                                let p = p.clone();
                                                move |_| {
                                                    draft.set(Draft::of(&p));
                                                    shape.update(|n| *n += 1);
                                                }
                                            };
                                            let remove = move |_| {
                                                #[cfg(feature = "hydrate")]
                                                if !window().confirm_with_message(&format!("Remove the policy {n}?")).unwrap_or(false) {
                                                    return;
                                                }
                                                act.dispatch((ThrottlingCall::AdvancedDelete { id: id.clone() }, format!("Policy {n} removed.")));
                                            };
                                            view! {
                                                <tr data-policy=p.policy_name.clone()>
                                                    <td class=TD>
                                                        <span class="font-medium">{p.policy_name.clone()}</span>
                                                        {p.built_in.then(|| view! { <span class="ml-1 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-500">"built in"</span> })}
                                                        <p class="text-xs text-slate-500">{p.description.clone()}</p>
                                                    </td>
                                                    <td class=TD data-testid="default-limit">{limit}</td>
                                                    <td class=TD data-testid="groups">
                                                        <span class="font-medium">{count}</span>
                                                        <ul class="text-xs text-slate-500">
                                                            {groups.into_iter().map(|g| view! { <li>{g}</li> }).collect_view()}
                                                        </ul>
                                                    </td>
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
                <form class=format!("{CARD} mt-4 space-y-4") on:submit=submit data-testid="advanced-policy-form">
                    {editor}
                    <div class="flex flex-wrap gap-2">
                        <button type="button" class=BUTTON_LIGHT
                            on:click=move |_| {
                                draft.update(|d| d.groups.push((String::new(), LimitForm::default(), vec![ThrottleCondition::header("", "")])));
                                shape.update(|n| *n += 1);
                            }>"Add conditional group"</button>
                        <button type="submit" class=BUTTON disabled=move || act.pending().get()>
                            {move || if editing() { "Save policy" } else { "Add policy" }}
                        </button>
                        {move || editing().then(|| view! {
                            <button type="button" class=BUTTON_LIGHT on:click=move |_| reset()>"Cancel"</button>
                        })}
                    </div>
                </form>
            })}
        </section>
    }
}

/// The organization's advanced policy names for the Publisher's pickers, fetched once the page
/// runs in the browser (empty while server-rendering, so hydration meets the same markup).
pub(crate) fn advanced_policy_names() -> RwSignal<Vec<String>> {
    use crate::publisher::{PublisherCall, PublisherReply};
    let names = RwSignal::new(Vec::new());
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(PublisherReply::AdvancedPolicies(list)) =
                crate::pages::publisher::run(PublisherCall::AdvancedPolicies).await
            {
                names.set(list);
            }
        });
    });
    names
}

/// `<option>`s for an advanced-policy picker: `none` (value "") when given, the known names,
/// and `current` even when it is not (yet) among them.
pub(crate) fn policy_options(
    names: Vec<String>,
    current: String,
    none: Option<&'static str>,
) -> impl IntoView {
    let mut all = names;
    if !current.is_empty() && !all.contains(&current) {
        all.insert(0, current.clone());
    }
    let none = none.map(|label| {
        view! { <option value="" selected=current.is_empty()>{label}</option> }
    });
    view! {
        {none}
        {all.into_iter().map(|n| {
            let (selected, label) = (n == current, n.clone());
            view! { <option value=n selected=selected>{label}</option> }
        }).collect_view()}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_round_trips_a_policy() {
        let mut p = AdvancedThrottlePolicy::new("Partners", ThrottleLimit::requests(100, 1, "min"));
        p.policy_id = "id-1".into();
        p.conditional_groups.push(ConditionalGroup {
            description: "gold".into(),
            conditions: vec![ThrottleCondition::header("X-Partner", "^gold$")],
            limit: ThrottleLimit::bandwidth(5, "MB", 1, "hour"),
        });
        assert_eq!(Draft::of(&p).to_policy(), p);
    }
}
