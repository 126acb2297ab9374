//! Developer Portal: API chat on an API's page. The user says what to do; the portal shows the
//! plan (operations, parameters, body — checked against the OpenAPI document — and which
//! planner made it), asks for confirmation when a call changes data, runs it through the
//! gateway with a test token of the application picked, and shows each request and response
//! with a sentence on the outcome.

use leptos::prelude::*;

use crate::ai::{ApiChatPlan, ApiChatRequest, ApiChatRun};
use crate::api::{ServiceError, devportal_call};
use crate::applications::{ApplicationsCall, ApplicationsReply};
use crate::devportal::{DevportalCall, DevportalReply};

async fn chat(
    api_id: String,
    action: &str,
    request: ApiChatRequest,
) -> Result<DevportalReply, ServiceError> {
    crate::api::reached(
        devportal_call(DevportalCall::ApiChat {
            api_id,
            action: action.into(),
            request,
        })
        .await,
    )
}

use crate::pages::publisher::{BUTTON, CARD};

#[component]
pub fn ApiChatPanel(api_id: String) -> impl IntoView {
    let command = RwSignal::new(String::new());
    let plan = RwSignal::new(None::<ApiChatPlan>);
    let run = RwSignal::new(None::<ApiChatRun>);
    let error = RwSignal::new(None::<String>);
    let confirmed = RwSignal::new(false);
    let chosen_app = RwSignal::new(String::new());
    let apps = Resource::new(
        || (),
        |_| async {
            crate::api::reached(crate::api::applications_call(ApplicationsCall::List).await)
        },
    );
    let prepare = Action::new({
        let api_id = api_id.clone();
        move |c: &String| {
            let (api_id, c) = (api_id.clone(), c.clone());
            async move {
                let r = chat(
                    api_id,
                    "PREPARE",
                    ApiChatRequest {
                        command: c,
                        plan: None,
                        application_id: String::new(),
                        confirmed: false,
                    },
                )
                .await;
                match r {
                    Ok(DevportalReply::ApiChatPlan(p)) => plan.set(Some(p)),
                    Ok(_) => error.set(Some("unexpected answer".into())),
                    Err(e) => error.set(Some(e.to_string())),
                }
            }
        }
    });
    let execute = Action::new({
        let api_id = api_id.clone();
        move |p: &ApiChatPlan| {
            let (api_id, p) = (api_id.clone(), p.clone());
            async move {
                let r = chat(
                    api_id,
                    "EXECUTE",
                    ApiChatRequest {
                        command: p.command.clone(),
                        plan: Some(p),
                        application_id: chosen_app.get_untracked(),
                        confirmed: confirmed.get_untracked(),
                    },
                )
                .await;
                match r {
                    Ok(DevportalReply::ApiChatRun(done)) => run.set(Some(done)),
                    Ok(_) => error.set(Some("unexpected answer".into())),
                    Err(e) => error.set(Some(e.to_string())),
                }
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let c = command.get_untracked().trim().to_string();
        if c.is_empty() {
            return;
        }
        error.set(None);
        plan.set(None);
        run.set(None);
        confirmed.set(false);
        prepare.dispatch(c);
    };
    view! {
        <section class=CARD data-testid="api-chat">
            <h2 class="text-lg font-semibold">"API chat"</h2>
            <p class="mb-3 text-sm text-slate-600">"Say what you want done, e.g. “list the menu” or “place an order for 2 pizzas, then get its status”. You see the calls before they run."</p>
            <form class="flex gap-2" on:submit=submit>
                <input type="text" class="w-full rounded-md border border-slate-300 px-3 py-2 text-sm" aria-label="What should the API do?"
                    placeholder="What should the API do?" maxlength="1000" bind:value=command/>
                <button type="submit" class=BUTTON disabled=move || prepare.pending().get()>"Plan"</button>
            </form>
            {move || prepare.pending().get().then(|| view! { <p class="mt-2 text-sm text-slate-500">"Planning…"</p> })}
            {move || error.get().map(|e| view! { <p class="mt-3 rounded bg-rose-50 px-3 py-2 text-sm text-rose-700" role="alert" data-testid="api-chat-error">{e}</p> })}
            {move || plan.get().map(|p| {
                let runnable = p.steps.iter().all(|s| s.problems.is_empty()) && !p.steps.is_empty();
                let needs = p.needs_confirmation;
                let to_run = p.clone();
                view! {
                    <div class="mt-4 space-y-3" data-testid="api-chat-plan">
                        <p class="text-sm text-slate-700">{p.explanation.clone()}
                            <span class="ml-2 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-500" data-testid="api-chat-planner">
                                {if p.planner == "embedded" { "embedded planner".to_string() } else { format!("planned by {}", p.planner.trim_start_matches("llm:")) }}
                            </span>
                        </p>
                        <ol class="space-y-2">
                            {p.steps.iter().enumerate().map(|(i, s)| view! {
                                <li class="rounded-lg bg-slate-50 p-3 ring-1 ring-slate-200" data-testid="api-chat-step">
                                    <p class="font-mono text-sm"><span class="font-semibold">{format!("{}. {} ", i + 1, s.method)}</span>{s.path.clone()}</p>
                                    {(!s.summary.is_empty()).then(|| view! { <p class="text-xs text-slate-500">{s.summary.clone()}</p> })}
                                    {(!s.arguments.is_empty()).then(|| view! {
                                        <pre class="mt-1 overflow-x-auto text-xs text-slate-700" data-testid="api-chat-arguments">{serde_json::to_string_pretty(&s.arguments).unwrap_or_default()}</pre>
                                    })}
                                    {s.problems.iter().map(|pr| view! { <p class="text-xs text-rose-700">{pr.clone()}</p> }).collect_view()}
                                </li>
                            }).collect_view()}
                        </ol>
                        <Suspense fallback=|| ()>
                            {move || {
                                let to_run = to_run.clone();
                                Suspend::new(async move {
                                    let list = match apps.await {
                                        Ok(ApplicationsReply::Applications(list)) => list,
                                        Err(ServiceError::Unauthorized) => return view! {
                                            <p class="text-sm text-slate-600"><a class="text-indigo-700 hover:underline" href="/sign-in?next=/devportal">"Sign in"</a>" to run the plan with your application."</p>
                                        }.into_any(),
                                        _ => vec![],
                                    };
                                    let list: Vec<_> = list.into_iter().filter(|a| a.status == "APPROVED").collect();
                                    if list.is_empty() {
                                        return view! { <p class="text-sm text-slate-600">"Create an application, generate its keys and subscribe it to run plans."</p> }.into_any();
                                    }
                                    if chosen_app.get_untracked().is_empty() {
                                        chosen_app.set(list[0].application_id.clone().unwrap_or_default());
                                    }
                                    let to_run = to_run.clone();
                                    view! {
                                        <div class="flex flex-wrap items-center gap-3">
                                            <label class="text-sm text-slate-600" for="api-chat-app">"Application"</label>
                                            <select id="api-chat-app" class="rounded-md border border-slate-300 px-2 py-1.5 text-sm"
                                                prop:value=move || chosen_app.get() on:change=move |ev| chosen_app.set(event_target_value(&ev))>
                                                {list.iter().map(|a| {
                                                    let id = a.application_id.clone().unwrap_or_default();
                                                    view! { <option value=id.clone()>{a.name.clone()}</option> }
                                                }).collect_view()}
                                            </select>
                                            {needs.then(|| view! {
                                                <label class="flex items-center gap-2 text-sm text-amber-800">
                                                    <input type="checkbox" class="h-4 w-4" bind:checked=confirmed/>
                                                    "Run the calls that change data"
                                                </label>
                                            })}
                                            <button type="button" class=BUTTON
                                                disabled=move || !runnable || execute.pending().get() || (needs && !confirmed.get())
                                                on:click=move |_| { error.set(None); run.set(None); execute.dispatch(to_run.clone()); }>
                                                "Run"
                                            </button>
                                        </div>
                                    }.into_any()
                                })
                            }}
                        </Suspense>
                    </div>
                }
            })}
            {move || execute.pending().get().then(|| view! { <p class="mt-2 text-sm text-slate-500">"Calling the API…"</p> })}
            {move || run.get().map(|r| view! {
                <div class="mt-4 space-y-2" data-testid="api-chat-run">
                    <p class=if r.succeeded { "text-sm font-medium text-emerald-700" } else { "text-sm font-medium text-rose-700" } data-testid="api-chat-outcome">{r.explanation.clone()}</p>
                    {r.steps.iter().map(|c| view! {
                        <div class="rounded-lg bg-slate-50 p-3 ring-1 ring-slate-200" data-testid="api-chat-call">
                            <p class="break-all font-mono text-xs"><span class="font-semibold">{c.method.clone()}</span>" "{c.url.clone()}
                                <span class=if (200..300).contains(&c.status) { "ml-2 text-emerald-700" } else { "ml-2 text-rose-700" } data-testid="api-chat-status">{c.status}</span>
                                <span class="ml-2 text-slate-400">{format!("{} ms", c.elapsed_ms)}</span></p>
                            {c.request_body.clone().map(|b| view! { <pre class="mt-1 overflow-x-auto text-xs text-slate-500">{b}</pre> })}
                            <pre class="mt-1 max-h-64 overflow-auto text-xs text-slate-800" data-testid="api-chat-response">{c.response_body.clone()}</pre>
                            {c.truncated.then(|| view! { <p class="text-xs text-slate-400">"(cut)"</p> })}
                        </div>
                    }).collect_view()}
                </div>
            })}
        </section>
    }
}
