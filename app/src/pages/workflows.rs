//! Admin portal: the approvals queue (pending applications, subscriptions and tier changes,
//! with who asked, when and what), approve / reject with a comment, the decided history, and
//! the switches that decide which requests need approval.

use leptos::prelude::*;

use crate::api::{ServiceError, workflows_call};
use crate::auth::{CurrentUser, scopes};
use crate::components::EmptyState;
use crate::pages::publisher::{BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, error_banner};
use crate::workflows::{
    TYPES, WorkflowCall as C, WorkflowDecision, WorkflowInfo, WorkflowReply as R, WorkflowSetting,
};

const PAGE: i64 = 20;

async fn run(call: C) -> Result<R, ServiceError> {
    match workflows_call(call).await {
        Ok(r) => r,
        Err(e) => Err(ServiceError::Fields {
            message: e.to_string(),
            problems: vec![],
        }),
    }
}

const TYPE_CHOICES: &[(&str, &str)] = &[
    ("", "All types"),
    ("APPLICATION_CREATION", "New application"),
    ("SUBSCRIPTION_CREATION", "New subscription"),
    ("SUBSCRIPTION_UPDATE", "Tier change"),
    ("REVISION_DEPLOYMENT", "Deployment"),
    ("API_STATE", "Lifecycle change"),
    ("USER_SIGNUP", "Sign-up"),
];

fn type_label(kind: &str) -> &'static str {
    TYPE_CHOICES
        .iter()
        .skip(1)
        .find(|(k, _)| *k == kind)
        .map(|(_, label)| *label)
        .unwrap_or("Request")
}

#[component]
pub fn Approvals(user: CurrentUser) -> impl IntoView {
    let can_decide = user.has_any_scope(&[scopes::WORKFLOW_APPROVE, scopes::ADMIN]);
    let can_configure = user.has_any_scope(&[scopes::ADMIN_SETTINGS, scopes::ADMIN]);
    let status = RwSignal::new("CREATED".to_string());
    let kind = RwSignal::new(String::new());
    let offset = RwSignal::new(0i64);
    let version = RwSignal::new(0u32);
    // Blocking, as the other admin sections: this Suspense sits inside the section's own, and
    // out-of-order streaming of the nested one failed to hydrate.
    let queue = Resource::new_blocking(
        move || (status.get(), kind.get(), offset.get(), version.get()),
        |(status, kind, offset, _)| {
            run(C::List {
                workflow_type: (!kind.is_empty()).then_some(kind),
                status: Some(status),
                offset,
                limit: PAGE,
            })
        },
    );
    let tab = move |value: &'static str, label: &'static str| {
        view! {
            <button
                class=move || if status.get() == value {
                    "rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white"
                } else {
                    "rounded-md px-3 py-1.5 text-sm text-slate-600 hover:bg-slate-100"
                }
                data-tab=value
                on:click=move |_| { status.set(value.into()); offset.set(0); }
            >{label}</button>
        }
    };
    view! {
        <div data-testid="approvals">
        <div class="mb-4 flex flex-wrap items-center gap-2">
            {tab("CREATED", "Pending")}
            {tab("APPROVED", "Approved")}
            {tab("REJECTED", "Rejected")}
            {tab("CANCELLED", "Withdrawn")}
            <div class="ml-auto flex items-center gap-2">
                <label class="text-sm text-slate-500" for="workflow-type">"Type"</label>
                <select id="workflow-type" class=INPUT
                    on:change=move |ev| { kind.set(event_target_value(&ev)); offset.set(0); }>
                    {TYPE_CHOICES.iter().map(|(value, label)| view! {
                        <option value=*value>{*label}</option>
                    }).collect_view()}
                </select>
            </div>
        </div>
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading requests…"</p> }>
            {move || Suspend::new(async move {
                match queue.await {
                    Ok(R::Page(page)) if page.list.is_empty() => {
                        let (title, detail) = if status.get_untracked() == "CREATED" {
                            ("No pending approvals", "Requests that need approval — new applications, subscriptions, tier changes and deployments, as switched on below — queue here.")
                        } else {
                            ("Nothing here yet", "Decided and withdrawn requests are listed here.")
                        };
                        view! { <EmptyState title detail/> }.into_any()
                    }
                    Ok(R::Page(page)) => {
                        let total = page.pagination.total;
                        let from = page.pagination.offset;
                        let shown = page.list.len() as i64;
                        view! {
                            <div class="space-y-3" data-testid="workflow-queue">
                                {page.list.into_iter().map(|w| view! { <WorkflowCard w can_decide version/> }).collect_view()}
                            </div>
                            <div class="mt-3 flex items-center gap-3 text-sm text-slate-500">
                                <span>{format!("{}–{} of {total}", from + 1, from + shown)}</span>
                                <button class=BUTTON_LIGHT disabled=from == 0
                                    on:click=move |_| offset.update(|o| *o = (*o - PAGE).max(0))>"Previous"</button>
                                <button class=BUTTON_LIGHT disabled={from + shown >= total}
                                    on:click=move |_| offset.update(|o| *o += PAGE)>"Next"</button>
                            </div>
                        }.into_any()
                    }
                    Ok(_) => ().into_any(),
                    Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        </div>
        <WorkflowSettings can_configure/>
    }
}

#[component]
fn WorkflowCard(w: WorkflowInfo, can_decide: bool, version: RwSignal<u32>) -> impl IntoView {
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ServiceError>);
    let reference = w.reference_id.clone();
    let decide = Action::new(move |status: &String| {
        let call = C::Decide {
            reference_id: reference.clone(),
            decision: WorkflowDecision {
                status: status.clone(),
                description: Some(comment.get_untracked()),
                ..Default::default()
            },
        };
        async move { run(call).await }
    });
    Effect::new(move |_| match decide.value().get() {
        Some(Ok(_)) => version.update(|v| *v += 1),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let pending = w.workflow_status == "CREATED";
    let props = w
        .properties
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            view! { <div><dt class="text-xs text-slate-500">{k.clone()}</dt><dd class="text-sm">{v}</dd></div> }
        })
        .collect_view();
    view! {
        <article class=CARD data-workflow=w.reference_id.clone() data-type=w.workflow_type.clone()>
            <div class="flex flex-wrap items-baseline gap-2">
                <span class="rounded bg-indigo-50 px-2 py-0.5 text-xs font-semibold text-indigo-700">{type_label(&w.workflow_type)}</span>
                <h3 class="font-semibold">{w.description.clone()}</h3>
                <span class="ml-auto text-xs text-slate-500">{format!("asked by {} · {}", w.requested_by, w.created_time)}</span>
            </div>
            <dl class="mt-3 grid grid-cols-2 gap-2 sm:grid-cols-4">{props}</dl>
            {(!pending).then(|| view! {
                <p class="mt-3 text-sm text-slate-600" data-testid="decision">
                    {format!("{} by {} · {}", w.workflow_status, w.decided_by.clone().unwrap_or_default(), w.updated_time)}
                    {w.decision_note.clone().map(|n| view! { <span class="ml-2 italic">{format!("“{n}”")}</span> })}
                </p>
            })}
            {(pending && can_decide).then(|| view! {
                <div class="mt-3">{error_banner(error)}</div>
                <form class="mt-2 flex flex-wrap items-end gap-2" on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
                    <label class="grow">
                        <span class=LABEL>"Comment (kept with the decision)"</span>
                        <input class=INPUT bind:value=comment maxlength="1000" placeholder="Optional"/>
                    </label>
                    <button type="button" class=BUTTON disabled=move || decide.pending().get()
                        on:click=move |_| { error.set(None); decide.dispatch("APPROVED".into()); }>"Approve"</button>
                    <button type="button" class=BUTTON_LIGHT disabled=move || decide.pending().get()
                        on:click=move |_| { error.set(None); decide.dispatch("REJECTED".into()); }>"Reject"</button>
                </form>
            })}
        </article>
    }
}

/// Which requests need approval. Settings admins change them; workflow admins see them.
#[component]
fn WorkflowSettings(can_configure: bool) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let settings = Resource::new_blocking(move || version.get(), |_| run(C::Settings));
    let error = RwSignal::new(None::<ServiceError>);
    let saved = RwSignal::new(false);
    let save = Action::new(move |list: &Vec<WorkflowSetting>| run(C::SaveSettings(list.clone())));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            saved.set(true);
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    view! {
        <section class=format!("{CARD} mt-8") data-testid="workflow-settings">
            <h2 class="font-semibold">"What needs approval"</h2>
            <p class="mt-1 text-sm text-slate-500">{if can_configure {
                "Switch approval on per request type. Subscription approvals can be limited to some tiers (comma-separated; empty means every tier)."
            } else {
                "A settings administrator decides which requests need approval."
            }}</p>
            {error_banner(error)}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(R::Settings(list)) => {
                            let rows: Vec<(WorkflowSetting, RwSignal<bool>, RwSignal<String>)> = list
                                .into_iter()
                                .map(|s| {
                                    let on = RwSignal::new(s.enabled);
                                    let tiers = RwSignal::new(s.tiers.join(", "));
                                    (s, on, tiers)
                                })
                                .collect();
                            let submit = {
                                let rows = rows.clone();
                                move |ev: leptos::ev::SubmitEvent| {
                                    ev.prevent_default();
                                    error.set(None);
                                    saved.set(false);
                                    save.dispatch(rows.iter().map(|(s, on, tiers)| WorkflowSetting {
                                        workflow_type: s.workflow_type.clone(),
                                        enabled: on.get_untracked(),
                                        tiers: tiers.get_untracked().split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect(),
                                    }).collect());
                                }
                            };
                            view! {
                                <form class="mt-4 space-y-3" on:submit=submit>
                                    {rows.into_iter().map(|(s, on, tiers)| {
                                        let kind = s.workflow_type.clone();
                                        let about = TYPES.iter().find(|(t, _)| *t == kind).map(|(_, a)| *a).unwrap_or_default();
                                        let is_sub = kind.starts_with("SUBSCRIPTION");
                                        view! {
                                            <div class="flex flex-wrap items-center gap-3" data-setting=kind.clone()>
                                                <label class="flex items-center gap-2 text-sm">
                                                    <input type="checkbox" prop:checked=move || on.get() disabled=!can_configure
                                                        on:change=move |ev| on.set(event_target_checked(&ev))/>
                                                    <span class="font-medium">{type_label(&kind)}</span>
                                                </label>
                                                <span class="text-xs text-slate-500">{about}</span>
                                                {is_sub.then(|| view! {
                                                    <input class="ml-auto w-48 rounded-md border border-slate-300 px-2 py-1 text-sm disabled:bg-slate-50" placeholder="Tiers (all)" aria-label="Tiers"
                                                        bind:value=tiers disabled=!can_configure/>
                                                })}
                                            </div>
                                        }
                                    }).collect_view()}
                                    {can_configure.then(|| view! {
                                        <div class="flex items-center gap-3">
                                            <button type="submit" class=BUTTON disabled=move || save.pending().get()>"Save"</button>
                                            <span class="text-sm text-emerald-700" data-testid="settings-saved">{move || saved.get().then_some("Saved")}</span>
                                        </div>
                                    })}
                                </form>
                            }.into_any()
                        }
                        Ok(_) => ().into_any(),
                        Err(e) => view! { <p class="mt-2 text-sm text-rose-600">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
