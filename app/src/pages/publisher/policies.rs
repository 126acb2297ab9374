//! An API's mediation policies: the gateway's catalogue, dragged (or added from a list) onto the
//! API level or one operation, per flow; ordered, each with a parameter form made from its
//! schema, and the order the gateway will run them in for a chosen operation.

use leptos::prelude::*;
use serde_json::Value;

use super::{BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, error_banner};
use crate::api::ServiceError;
use crate::components::EmptyState;
use crate::publisher::{
    Api, OperationPolicies, OperationPolicy, PolicyParam, PolicySpec, PublisherReply, VERBS,
};

const FLOWS: [&str; 3] = ["request", "response", "fault"];
/// Operations shown at once; the filter finds the others (imported APIs have thousands).
const SHOWN: usize = 25;

/// An attached policy with a key that stays with it while it moves.
#[derive(Clone, Debug, PartialEq)]
struct Item {
    key: u64,
    policy: OperationPolicy,
}

/// Per target (0: the API level, i + 1: operation i), per flow, the attached policies in order.
type Lists = Vec<[Vec<Item>; 3]>;

/// What is being dragged: a catalogue entry (its index) or an attached policy (its key).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Drag {
    New(usize),
    Move(u64),
}

/// One flow list: a target and a flow (indices into `Lists` and `FLOWS`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Spot {
    target: usize,
    flow: usize,
}

/// The editor's state; every piece is a handle, so views copy it freely.
#[derive(Clone, Copy)]
struct Editor {
    catalogue: StoredValue<Vec<PolicySpec>>,
    /// "All operations (API level)", then "GET /path" per operation.
    labels: StoredValue<Vec<String>>,
    lists: RwSignal<Lists>,
    next_key: StoredValue<u64>,
    /// The attached policy whose parameter form is open.
    selected: RwSignal<Option<u64>>,
    dragging: RwSignal<Option<Drag>>,
    hover: RwSignal<Option<Spot>>,
    refusal: RwSignal<Option<(Spot, String)>>,
    /// Where each key sat when last saved: the server's field errors name positions.
    saved_layout: StoredValue<Vec<[Vec<u64>; 3]>>,
    error: RwSignal<Option<ServiceError>>,
}

impl Editor {
    fn spec(&self, name: &str) -> Option<PolicySpec> {
        self.catalogue
            .with_value(|c| c.iter().find(|s| s.name == name).cloned())
    }

    fn display(&self, name: &str) -> String {
        self.spec(name)
            .map(|s| s.display_name)
            .unwrap_or_else(|| name.to_string())
    }

    fn find(&self, spot: Spot, key: u64) -> Option<OperationPolicy> {
        self.lists.with(|l| {
            l[spot.target][spot.flow]
                .iter()
                .find(|i| i.key == key)
                .map(|i| i.policy.clone())
        })
    }

    fn update_item(&self, spot: Spot, key: u64, f: impl FnOnce(&mut OperationPolicy)) {
        self.lists.update(|l| {
            if let Some(i) = l[spot.target][spot.flow].iter_mut().find(|i| i.key == key) {
                f(&mut i.policy);
            }
        });
    }

    /// The name of the policy a drag carries.
    fn name_of(&self, drag: Drag) -> Option<String> {
        match drag {
            Drag::New(i) => self
                .catalogue
                .with_value(|c| c.get(i).map(|s| s.name.clone())),
            Drag::Move(key) => self.lists.with_untracked(|l| {
                l.iter()
                    .flat_map(|t| t.iter().flatten())
                    .find(|i| i.key == key)
                    .map(|i| i.policy.policy_name.clone())
            }),
        }
    }

    /// The name of the policy being dragged (tracked: drop zones colour themselves by it).
    fn dragged_name(&self) -> Option<String> {
        self.name_of(self.dragging.get()?)
    }

    /// Why `name` may not go into `flow`, if it may not. Policies missing from the catalogue
    /// may move: the server says what is wrong with them.
    fn refusal_for(&self, name: &str, flow: usize) -> Option<String> {
        let spec = self.spec(name)?;
        (!spec.flows.iter().any(|f| f == FLOWS[flow])).then(|| {
            let noun = if spec.flows.len() == 1 {
                "flow"
            } else {
                "flows"
            };
            format!(
                "{} cannot run in the {} flow: it applies to the {} {noun} only.",
                spec.display_name,
                FLOWS[flow],
                spec.flows.join(" and ")
            )
        })
    }

    /// Puts a new or moved policy into `spot`, in the place of `before` (at the end without
    /// it); refused with a message when the policy does not apply to that flow.
    fn place(&self, spot: Spot, drag: Drag, before: Option<u64>) {
        self.dragging.set(None);
        self.hover.set(None);
        let Some(name) = self.name_of(drag) else {
            return;
        };
        if let Some(message) = self.refusal_for(&name, spot.flow) {
            self.refusal.set(Some((spot, message)));
            return;
        }
        self.refusal.set(None);
        let item = match drag {
            Drag::New(_) => {
                let key = self.next_key.get_value() + 1;
                self.next_key.set_value(key);
                Item {
                    key,
                    policy: OperationPolicy {
                        policy_name: name,
                        policy_version: "v1".into(),
                        policy_id: None,
                        parameters: Default::default(),
                    },
                }
            }
            Drag::Move(key) => {
                let mut taken = None;
                // The drop position is taken before the item leaves its list: moving down
                // within one list then lands after the item dropped on, moving up before it.
                let at = before.and_then(|b| {
                    self.lists.with_untracked(|l| {
                        l[spot.target][spot.flow].iter().position(|i| i.key == b)
                    })
                });
                self.lists.update(|l| {
                    for list in l.iter_mut().flat_map(|t| t.iter_mut()) {
                        if let Some(p) = list.iter().position(|i| i.key == key) {
                            taken = Some(list.remove(p));
                        }
                    }
                    if let Some(item) = taken.take() {
                        let list = &mut l[spot.target][spot.flow];
                        list.insert(at.unwrap_or(list.len()).min(list.len()), item);
                    }
                });
                return;
            }
        };
        let key = item.key;
        self.lists.update(|l| {
            let list = &mut l[spot.target][spot.flow];
            let at = before
                .and_then(|b| list.iter().position(|i| i.key == b))
                .unwrap_or(list.len());
            list.insert(at, item);
        });
        self.selected.set(Some(key));
    }

    fn shift(&self, spot: Spot, key: u64, up: bool) {
        self.lists.update(|l| {
            let list = &mut l[spot.target][spot.flow];
            if let Some(p) = list.iter().position(|i| i.key == key) {
                let q = if up { p.checked_sub(1) } else { Some(p + 1) };
                if let Some(q) = q.filter(|q| *q < list.len()) {
                    list.swap(p, q);
                }
            }
        });
    }

    fn remove(&self, spot: Spot, key: u64) {
        self.lists
            .update(|l| l[spot.target][spot.flow].retain(|i| i.key != key));
        if self.selected.get_untracked() == Some(key) {
            self.selected.set(None);
        }
    }

    /// The server's field prefix for `key` as last saved (`apiPolicies.request[0]`).
    fn field_of(&self, key: u64) -> Option<String> {
        self.saved_layout.with_value(|layout| {
            layout.iter().enumerate().find_map(|(t, flows)| {
                flows.iter().enumerate().find_map(|(f, keys)| {
                    let i = keys.iter().position(|k| *k == key)?;
                    let base = if t == 0 {
                        "apiPolicies".to_string()
                    } else {
                        format!("operations[{}].operationPolicies", t - 1)
                    };
                    Some(format!("{base}.{}[{i}]", FLOWS[f]))
                })
            })
        })
    }

    /// The last save's problems with the policy `key`, as (field below it, message).
    fn problems(&self, key: u64) -> Vec<(String, String)> {
        // The error first: it is what views showing problems must track.
        let error = self.error.get();
        let Some(prefix) = self.field_of(key) else {
            return vec![];
        };
        let below = |field: &str| {
            field
                .strip_prefix(prefix.as_str())
                .and_then(|r| r.strip_prefix('.'))
                .map(str::to_string)
        };
        match &error {
            Some(ServiceError::Fields { problems, .. }) => problems
                .iter()
                .filter_map(|p| below(&p.field).map(|f| (f, p.message.clone())))
                .collect(),
            Some(ServiceError::Invalid { field, message }) => below(field)
                .map(|f| vec![(f, message.clone())])
                .unwrap_or_default(),
            _ => vec![],
        }
    }
}

fn is_flag(kind: &str) -> bool {
    matches!(kind, "bool" | "boolean")
}

fn is_number(kind: &str) -> bool {
    matches!(kind, "status" | "count" | "integer" | "number")
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        // A schema attached through REST as an object; edited, it is sent back as text.
        Value::Object(_) => serde_json::to_string_pretty(v).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// What the form sends for `text`: nothing when empty, a number for numeric types when it is
/// one (the server explains anything else), the text otherwise.
fn value_of(kind: &str, text: String) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    if is_flag(kind) {
        return Some(Value::Bool(text == "true"));
    }
    if is_number(kind)
        && let Ok(n) = text.trim().parse::<i64>()
    {
        return Some(Value::from(n));
    }
    Some(Value::String(text))
}

/// `X-Order · first`: the parameter values at a glance (each cut at 40 characters).
fn summary(p: &OperationPolicy) -> String {
    p.parameters
        .values()
        .map(|v| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.chars().count() > 40 {
                format!("{}…", text.chars().take(39).collect::<String>())
            } else {
                text
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `headerName=X-Order, headerValue=first`: every parameter with its name (tooltips).
fn details(p: &OperationPolicy) -> String {
    p.parameters
        .iter()
        .map(|(k, v)| format!("{k}={}", text_of(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_policies(flows: &[Vec<Item>; 3]) -> OperationPolicies {
    let [request, response, fault] = flows
        .each_ref()
        .map(|l| l.iter().map(|i| i.policy.clone()).collect());
    OperationPolicies {
        request,
        response,
        fault,
    }
}

fn same(flows: &[Vec<Item>; 3], saved: &OperationPolicies) -> bool {
    [&saved.request, &saved.response, &saved.fault]
        .iter()
        .zip(flows)
        .all(|(s, l)| l.iter().map(|i| &i.policy).eq(s.iter()))
}

/// Marks a drag as carrying a policy: browsers other than Chromium start no drag without data.
fn set_drag_data(ev: &leptos::ev::DragEvent, text: &str, effect: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(dt) = ev.data_transfer() {
        let _ = dt.set_data("text/plain", text);
        dt.set_effect_allowed(effect);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, text, effect);
}

/// The tab: the catalogue (from the page's tab data) and the editor; `save` PUTs the API.
pub(super) fn policies_tab(
    api: Api,
    catalogue: Resource<Result<PublisherReply, ServiceError>>,
    save: Action<Api, ()>,
    error: RwSignal<Option<ServiceError>>,
) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading the policy catalogue…"</p> }>
            {move || {
                let api = api.clone();
                Suspend::new(async move {
                    match catalogue.await {
                        Ok(PublisherReply::OperationPolicies(list)) => editor(api, list, save, error).into_any(),
                        Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                        Ok(_) => ().into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

fn editor(
    api: Api,
    catalogue: Vec<PolicySpec>,
    save: Action<Api, ()>,
    error: RwSignal<Option<ServiceError>>,
) -> impl IntoView {
    let saved: Vec<OperationPolicies> = std::iter::once(&api.settings.api_policies)
        .chain(api.operations.iter().map(|o| &o.operation_policies))
        .cloned()
        .collect();
    let mut next = 0u64;
    let lists: Lists = saved
        .iter()
        .map(|p| {
            [&p.request, &p.response, &p.fault].map(|l| {
                l.iter()
                    .map(|policy| {
                        next += 1;
                        Item {
                            key: next,
                            policy: policy.clone(),
                        }
                    })
                    .collect()
            })
        })
        .collect();
    let labels: Vec<String> = std::iter::once("All operations (API level)".to_string())
        .chain(
            api.operations
                .iter()
                .map(|o| format!("{} {}", o.verb, o.target)),
        )
        .collect();
    // Flows some policy applies to; a flow no policy supports shows only where something is
    // attached to it already (through REST), so it can be removed.
    let offered = FLOWS.map(|f| catalogue.iter().any(|s| s.flows.iter().any(|x| x == f)));
    let ed = Editor {
        catalogue: StoredValue::new(catalogue),
        labels: StoredValue::new(labels),
        lists: RwSignal::new(lists),
        next_key: StoredValue::new(next),
        selected: RwSignal::new(None),
        dragging: RwSignal::new(None),
        hover: RwSignal::new(None),
        refusal: RwSignal::new(None),
        saved_layout: StoredValue::new(vec![]),
        error,
    };
    let saved = StoredValue::new(saved);
    let dirty = Memo::new(move |_| {
        ed.lists.with(|l| {
            saved.with_value(|s| l.len() != s.len() || l.iter().zip(s).any(|(l, s)| !same(l, s)))
        })
    });
    // A refused save opens the first policy whose parameters the server named.
    Effect::new(move |_| {
        error.track();
        let keys: Vec<u64> = ed
            .saved_layout
            .with_value(|l| l.iter().flat_map(|t| t.iter().flatten()).copied().collect());
        if let Some(key) = keys.into_iter().find(|k| {
            ed.problems(*k)
                .iter()
                .any(|(f, _)| f.starts_with("parameters."))
        }) {
            ed.selected.set(Some(key));
        }
    });
    let api = StoredValue::new(api);
    let on_save = move |_| {
        let mut a = api.get_value();
        ed.lists.with_untracked(|l| {
            a.settings.api_policies = to_policies(&l[0]);
            for (op, flows) in a.operations.iter_mut().zip(&l[1..]) {
                op.operation_policies = to_policies(flows);
            }
            ed.saved_layout.set_value(
                l.iter()
                    .map(|t| t.each_ref().map(|v| v.iter().map(|i| i.key).collect()))
                    .collect(),
            );
        });
        save.dispatch(a);
    };
    let operations = api.with_value(|a| a.operations.len());
    let filter = RwSignal::new(String::new());
    let matching = Memo::new(move |_| {
        let f = filter.get().trim().to_lowercase();
        ed.labels.with_value(|labels| {
            (1..labels.len())
                .filter(|t| f.is_empty() || labels[*t].to_lowercase().contains(&f))
                .collect::<Vec<_>>()
        })
    });
    let visible = move || matching.with(|m| m.iter().copied().take(SHOWN).collect::<Vec<_>>());
    view! {
        <div class="grid gap-6 lg:grid-cols-[18rem_minmax(0,1fr)]" data-testid="policy-editor">
            {catalogue_column(ed)}
            <div class="min-w-0 space-y-6">
                <div class="flex flex-wrap items-center gap-3">
                    <button type="button" class=BUTTON on:click=on_save
                        disabled=move || !dirty.get() || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save policies" }}
                    </button>
                    <span class="text-sm text-slate-500" data-testid="policies-state">
                        {move || if dirty.get() { "Unsaved changes" } else { "No unsaved changes" }}
                    </span>
                    <span class="text-xs text-slate-500">
                        "The gateway applies saved policies from the next revision you deploy (Revisions & deployments)."
                    </span>
                </div>
                {error_banner(error)}
                {target_card(ed, 0, offered)}
                {if operations == 0 {
                    view! {
                        <EmptyState title="No operations yet"
                            detail="This API has no operations to attach policies to. Add them on the Operations tab; API-level policies will run for each."/>
                    }.into_any()
                } else {
                    view! {
                        <div class="flex flex-wrap items-center gap-3">
                            <input type="search" class="w-full max-w-sm rounded-md border border-slate-300 px-3 py-2 text-sm"
                                aria-label="Filter operations" placeholder="Filter operations by path or method"
                                bind:value=filter/>
                            <span class="text-sm text-slate-500">
                                {move || {
                                    let n = matching.with(Vec::len);
                                    if n > SHOWN {
                                        format!("{SHOWN} of {n} operations shown; filter to find others")
                                    } else {
                                        format!("{n} of {operations} operations")
                                    }
                                }}
                            </span>
                        </div>
                        <For each=visible key=|t| *t let:t>
                            {target_card(ed, t, offered)}
                        </For>
                        {effective_order(ed, offered)}
                    }.into_any()
                }}
            </div>
        </div>
    }
}

fn catalogue_column(ed: Editor) -> impl IntoView {
    let cards = ed.catalogue.with_value(|c| {
        c.iter()
            .enumerate()
            .map(|(i, spec)| {
                let name = spec.name.clone();
                view! {
                    <li draggable="true" data-policy=spec.name.clone()
                        class="cursor-grab rounded-lg border border-slate-200 bg-white p-3 shadow-sm hover:border-indigo-400 active:cursor-grabbing"
                        on:dragstart=move |ev| {
                            set_drag_data(&ev, &name, "copy");
                            ed.refusal.set(None);
                            ed.dragging.set(Some(Drag::New(i)));
                        }
                        on:dragend=move |_| {
                            ed.dragging.set(None);
                            ed.hover.set(None);
                        }>
                        <p class="text-sm font-medium text-slate-900">{spec.display_name.clone()}</p>
                        <p class="mt-0.5 text-xs text-slate-600">{spec.description.clone()}</p>
                        <p class="mt-1 text-xs text-slate-400">{spec.flows.join(" · ")}</p>
                    </li>
                }
            })
            .collect_view()
    });
    view! {
        <aside class="lg:sticky lg:top-4 lg:self-start">
            <h2 class="font-semibold text-slate-900">"Policy catalogue"</h2>
            <p class="mb-3 text-xs text-slate-500">
                "Drag a policy onto a flow on the right, or pick it in a flow's “Add a policy” list."
            </p>
            <ul class="max-h-[75vh] space-y-2 overflow-y-auto pr-1" data-testid="policy-catalogue">{cards}</ul>
        </aside>
    }
}

/// One target (the API level or an operation) with its flow lists.
fn target_card(ed: Editor, target: usize, offered: [bool; 3]) -> impl IntoView {
    let label = ed.labels.with_value(|l| l[target].clone());
    let (key, hint) = if target == 0 {
        (
            "api".to_string(),
            "Run for every operation, before the operation's own.",
        )
    } else {
        (label.clone(), "Run after the API-level policies.")
    };
    let flows = move || {
        (0..3)
            .filter(|f| offered[*f] || ed.lists.with(|l| !l[target][*f].is_empty()))
            .collect::<Vec<_>>()
    };
    view! {
        <section class=CARD data-target=key>
            <h3 class="font-semibold text-slate-900">
                {if target == 0 { label.into_any() } else { view! { <code class="text-sm">{label}</code> }.into_any() }}
            </h3>
            <p class="mb-3 text-xs text-slate-500">{hint}</p>
            <div class="grid gap-4 md:grid-cols-2">
                <For each=flows key=|f| *f let:flow>
                    {flow_list(ed, Spot { target, flow })}
                </For>
            </div>
        </section>
    }
}

fn flow_list(ed: Editor, spot: Spot) -> impl IntoView {
    let flow = FLOWS[spot.flow];
    let target_label = ed.labels.with_value(|l| l[spot.target].clone());
    let choices: Vec<(usize, String)> = ed.catalogue.with_value(|c| {
        c.iter()
            .enumerate()
            .filter(|(_, s)| s.flows.iter().any(|f| f == flow))
            .map(|(i, s)| (i, s.display_name.clone()))
            .collect()
    });
    let choice = RwSignal::new(String::new());
    let keys = move || {
        ed.lists.with(|l| {
            l[spot.target][spot.flow]
                .iter()
                .map(|i| i.key)
                .collect::<Vec<_>>()
        })
    };
    let empty = move || ed.lists.with(|l| l[spot.target][spot.flow].is_empty());
    let zone_class = move || {
        let base = "min-h-16 space-y-2 rounded-lg border-2 border-dashed p-2 transition-colors";
        let fits = || {
            ed.dragged_name()
                .map(|n| ed.refusal_for(&n, spot.flow).is_none())
        };
        match (ed.hover.get() == Some(spot), fits()) {
            (true, Some(true)) => format!("{base} border-indigo-400 bg-indigo-50"),
            (true, Some(false)) => format!("{base} border-rose-400 bg-rose-50"),
            _ => format!("{base} border-slate-200 bg-slate-50"),
        }
    };
    let not_here = move || {
        (ed.hover.get() == Some(spot))
            .then(|| ed.dragged_name())
            .flatten()
            .and_then(|n| ed.refusal_for(&n, spot.flow))
    };
    let add = move |_| {
        if let Ok(i) = choice.get_untracked().parse::<usize>() {
            ed.place(spot, Drag::New(i), None);
            choice.set(String::new());
        }
    };
    view! {
        <div data-flow=flow>
            <h4 class="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">{flow}</h4>
            <ol class=zone_class data-testid="drop-zone"
                on:dragenter=move |ev| { ev.prevent_default(); ed.hover.set(Some(spot)); }
                on:dragover=move |ev| {
                    ev.prevent_default();
                    if ed.hover.get_untracked() != Some(spot) { ed.hover.set(Some(spot)); }
                }
                on:drop=move |ev| {
                    ev.prevent_default();
                    if let Some(d) = ed.dragging.get_untracked() { ed.place(spot, d, None); }
                }>
                <For each=keys key=|k| *k let:key>
                    {attached(ed, spot, key)}
                </For>
                <Show when=empty fallback=|| view! {
                    <li class="px-2 py-1 text-center text-xs text-slate-400" data-testid="drop-end">
                        "Drop here to add at the end"
                    </li>
                }>
                    <li class="px-2 py-3 text-center text-sm text-slate-500" data-testid="no-policies">
                        "No policies attached — drag one from the catalogue"
                    </li>
                </Show>
            </ol>
            {move || not_here().map(|m| view! { <p class="mt-1 text-xs text-rose-700">{m}</p> })}
            {move || ed.refusal.get().filter(|(s, _)| *s == spot).map(|(_, m)| view! {
                <p class="mt-1 rounded-md bg-rose-50 p-2 text-sm text-rose-800" role="alert" data-testid="drop-refused">{m}</p>
            })}
            <div class="mt-2 flex gap-2">
                <select class="min-w-0 flex-1 rounded border border-slate-300 px-2 py-1 text-sm"
                    aria-label=format!("Policy to add to {target_label}, {flow} flow") bind:value=choice>
                    <option value="">"Add a policy…"</option>
                    {choices.into_iter().map(|(i, n)| view! { <option value=i.to_string()>{n}</option> }).collect_view()}
                </select>
                <button type="button" class=BUTTON_LIGHT on:click=add
                    disabled=move || choice.with(String::is_empty)>"Add"</button>
            </div>
        </div>
    }
}

/// An attached policy: drag handle, position, name and parameters, move and remove buttons;
/// clicked, its parameter form.
fn attached(ed: Editor, spot: Spot, key: u64) -> impl IntoView {
    let name = ed.lists.with_untracked(|l| {
        l[spot.target][spot.flow]
            .iter()
            .find(|i| i.key == key)
            .map(|i| i.policy.policy_name.clone())
            .unwrap_or_default()
    });
    let spec = ed.spec(&name);
    let display = ed.display(&name);
    let position = move || {
        ed.lists.with(|l| {
            let list = &l[spot.target][spot.flow];
            (
                list.iter().position(|i| i.key == key).unwrap_or(0),
                list.len(),
            )
        })
    };
    let open = move || ed.selected.get() == Some(key);
    let drag_name = name.clone();
    let other_problems = move || {
        ed.problems(key)
            .into_iter()
            .filter(|(f, _)| !f.starts_with("parameters."))
            .collect::<Vec<_>>()
    };
    let param_problems = move || {
        ed.problems(key)
            .iter()
            .any(|(f, _)| f.starts_with("parameters."))
    };
    view! {
        <li draggable="true" data-attached=name.clone()
            class=move || if open() {
                "rounded-md bg-white p-2 shadow-sm ring-2 ring-indigo-400"
            } else {
                "rounded-md bg-white p-2 shadow-sm ring-1 ring-slate-200"
            }
            on:dragstart=move |ev| {
                set_drag_data(&ev, &drag_name, "move");
                ed.refusal.set(None);
                ed.dragging.set(Some(Drag::Move(key)));
            }
            on:dragend=move |_| { ed.dragging.set(None); ed.hover.set(None); }
            on:dragover=move |ev| {
                ev.prevent_default();
                if ed.hover.get_untracked() != Some(spot) { ed.hover.set(Some(spot)); }
            }
            on:drop=move |ev| {
                ev.prevent_default();
                ev.stop_propagation();
                if let Some(d) = ed.dragging.get_untracked() { ed.place(spot, d, Some(key)); }
            }>
            <div class="flex items-center gap-2">
                <span class="cursor-grab select-none px-1 text-slate-400" aria-hidden="true" data-drag-handle="">"⠿"</span>
                <span class="inline-flex h-5 w-5 shrink-0 items-center justify-center rounded-full bg-slate-100 text-xs font-semibold text-slate-700"
                    data-testid="position">{move || position().0 + 1}</span>
                <button type="button" class="min-w-0 flex-1 text-left" aria-expanded=move || open().to_string()
                    on:click=move |_| ed.selected.update(|s| *s = if *s == Some(key) { None } else { Some(key) })>
                    <span class="block text-sm font-medium text-slate-900">{display.clone()}</span>
                    <span class="block truncate font-mono text-xs text-slate-500" data-testid="summary"
                        title=move || ed.find(spot, key).map(|p| details(&p))>
                        {move || ed.find(spot, key).map(|p| summary(&p)).filter(|s| !s.is_empty())
                            .unwrap_or_else(|| "no parameters set".into())}
                    </span>
                    {move || param_problems().then(|| view! {
                        <span class="block text-xs text-rose-700">"Its parameters need fixing."</span>
                    })}
                </button>
                <button type="button" class="rounded px-1.5 text-slate-600 hover:bg-slate-100 disabled:opacity-30"
                    aria-label="Move up" title="Move up"
                    disabled=move || position().0 == 0
                    on:click=move |_| ed.shift(spot, key, true)>"↑"</button>
                <button type="button" class="rounded px-1.5 text-slate-600 hover:bg-slate-100 disabled:opacity-30"
                    aria-label="Move down" title="Move down"
                    disabled=move || { let (p, n) = position(); p + 1 >= n }
                    on:click=move |_| ed.shift(spot, key, false)>"↓"</button>
                <button type="button" class="rounded px-1.5 text-rose-700 hover:bg-rose-50"
                    aria-label="Remove" title="Remove"
                    on:click=move |_| ed.remove(spot, key)>"✕"</button>
            </div>
            {move || other_problems().into_iter().map(|(f, m)| view! {
                <p class="mt-1 text-sm text-rose-600" data-field-error=ed.field_of(key).map(|p| format!("{p}.{f}"))>{m}</p>
            }).collect_view()}
            <Show when=open>
                {param_form(ed, spot, key, spec.clone())}
            </Show>
        </li>
    }
}

fn param_form(ed: Editor, spot: Spot, key: u64, spec: Option<PolicySpec>) -> impl IntoView {
    let body = match spec {
        None => view! {
            <p class="text-sm text-rose-700">"This policy is not in the catalogue, so the gateway cannot run it: remove it."</p>
        }
        .into_any(),
        Some(spec) if spec.parameters.is_empty() => {
            view! { <p class="text-sm text-slate-500">"This policy has no parameters."</p> }
                .into_any()
        }
        Some(spec) => spec
            .parameters
            .into_iter()
            .map(|p| param_field(ed, spot, key, p))
            .collect_view()
            .into_any(),
    };
    view! {
        <div class="mt-2 space-y-3 border-t border-slate-100 pt-2" data-testid="policy-form">{body}</div>
    }
}

/// One parameter's input, chosen by its type; unknown types get a text input.
fn param_field(ed: Editor, spot: Spot, key: u64, param: PolicyParam) -> impl IntoView {
    let id = format!("policy-{key}-{}", param.name);
    let help = format!("{id}-help");
    let name = param.name.clone();
    let current = {
        let name = name.clone();
        move || {
            ed.find(spot, key)
                .and_then(|p| p.parameters.get(&name).map(text_of))
                .unwrap_or_default()
        }
    };
    let set = {
        let (name, kind) = (name.clone(), param.kind.clone());
        move |text: String| {
            let value = value_of(&kind, text);
            ed.update_item(spot, key, |p| match value {
                Some(v) => {
                    p.parameters.insert(name.clone(), v);
                }
                None => {
                    p.parameters.remove(&name);
                }
            });
        }
    };
    let mono = matches!(
        param.kind.as_str(),
        "name" | "regex" | "ipList" | "json" | "body"
    );
    let class = if mono {
        format!("{INPUT} font-mono")
    } else {
        INPUT.to_string()
    };
    let input = match param.kind.as_str() {
        "method" => view! {
            <select id=id.clone() class=class aria-describedby=help.clone()
                prop:value=current on:change=move |ev| set(event_target_value(&ev))>
                <option value="">"Choose…"</option>
                {VERBS.iter().map(|v| view! { <option value=*v>{*v}</option> }).collect_view()}
            </select>
        }
        .into_any(),
        "body" | "json" | "jsonSchema" => view! {
            <textarea id=id.clone() rows="6" class=class aria-describedby=help.clone()
                prop:value=current on:input=move |ev| set(event_target_value(&ev))></textarea>
        }
        .into_any(),
        // Three states: an optional flag left out takes the policy's default.
        k if is_flag(k) => view! {
            <select id=id.clone() class=class aria-describedby=help.clone()
                prop:value=current on:change=move |ev| set(event_target_value(&ev))>
                <option value="">{if param.required { "Choose…" } else { "(default)" }}</option>
                <option value="true">"true"</option>
                <option value="false">"false"</option>
            </select>
        }
        .into_any(),
        k => view! {
            <input id=id.clone() class=class aria-describedby=help.clone()
                inputmode=if is_number(k) { Some("numeric") } else { None }
                prop:value=current on:input=move |ev| set(event_target_value(&ev))/>
        }
        .into_any(),
    };
    let field = format!("parameters.{name}");
    let error = move || {
        let field = field.clone();
        ed.problems(key)
            .into_iter()
            .find(|(f, _)| *f == field)
            .map(|(f, m)| view! {
                <p class="mt-1 text-sm text-rose-600" data-field-error=ed.field_of(key).map(|p| format!("{p}.{f}"))>{m}</p>
            })
    };
    view! {
        <div>
            <label class=LABEL for=id>
                {param.name.clone()}
                {param.required.then(|| view! {
                    <span class="text-rose-600" aria-hidden="true">" *"</span>
                    <span class="sr-only">" (required)"</span>
                })}
            </label>
            {input}
            <p id=help class="mt-1 text-xs text-slate-500">
                {param.description.clone()}
                " "
                <span class="text-slate-400">"(" {param.kind.clone()} ")"</span>
            </p>
            {error}
        </div>
    }
}

/// For one operation, per flow, what the gateway runs: the API-level policies, then the
/// operation's, numbered.
fn effective_order(ed: Editor, offered: [bool; 3]) -> impl IntoView {
    let chosen = RwSignal::new("1".to_string());
    let options = ed.labels.with_value(|l| {
        l.iter()
            .enumerate()
            .skip(1)
            .map(|(t, label)| view! { <option value=t.to_string()>{label.clone()}</option> })
            .collect_view()
    });
    let flows = move || {
        let t = chosen.get().parse::<usize>().unwrap_or(1);
        ed.lists.with(|l| {
            let Some(op) = l.get(t) else { return vec![] };
            (0..3)
                .filter(|f| offered[*f] || !l[0][*f].is_empty() || !op[*f].is_empty())
                .map(|f| {
                    let steps: Vec<(OperationPolicy, bool)> = l[0][f]
                        .iter()
                        .map(|i| (i.policy.clone(), true))
                        .chain(op[f].iter().map(|i| (i.policy.clone(), false)))
                        .collect();
                    (f, steps)
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class=CARD data-testid="effective-order">
            <h3 class="font-semibold text-slate-900">"Effective order"</h3>
            <p class="mb-3 text-xs text-slate-500">
                "What the gateway runs for one operation once deployed: the API-level policies first, then the operation's own, in this order."
            </p>
            <select class="mb-4 rounded border border-slate-300 px-2 py-1 text-sm" aria-label="Operation for the effective order"
                bind:value=chosen>{options}</select>
            <div class="grid gap-4 md:grid-cols-2">
                {move || flows().into_iter().map(|(f, steps)| view! {
                    <div data-effective-flow=FLOWS[f]>
                        <h4 class="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">{FLOWS[f]}</h4>
                        {if steps.is_empty() {
                            view! { <p class="text-sm text-slate-500">"Nothing runs in this flow."</p> }.into_any()
                        } else {
                            view! {
                                <ol class="space-y-1">
                                    {steps.into_iter().enumerate().map(|(n, (p, api_level))| view! {
                                        <li class="flex items-baseline gap-2 text-sm" title=details(&p)>
                                            <span class="font-semibold text-slate-700">{format!("{}.", n + 1)}</span>
                                            <span class="shrink-0 whitespace-nowrap text-slate-900">{ed.display(&p.policy_name)}</span>
                                            <span class="min-w-0 truncate font-mono text-xs text-slate-500">{summary(&p)}</span>
                                            <span class="ml-auto shrink-0 rounded-full bg-slate-100 px-2 py-0.5 text-xs text-slate-600">
                                                {if api_level { "API level" } else { "operation" }}
                                            </span>
                                        </li>
                                    }).collect_view()}
                                </ol>
                            }.into_any()
                        }}
                    </div>
                }).collect_view()}
            </div>
        </section>
    }
}
