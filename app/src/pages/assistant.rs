//! Developer Portal: the marketplace assistant, a chat panel on the catalogue. The visitor asks
//! in their own words; each answer names the best matching APIs with a link to their pages and
//! a one-line reason, or says plainly that nothing fits. The conversation is kept for
//! follow-up questions until the page is left.

use leptos::prelude::*;

use crate::ai::{AssistantReply, AssistantRequest, ChatTurn};
use crate::api::{ServiceError, devportal_call};
use crate::devportal::{DevportalCall, DevportalReply};

async fn ask(request: AssistantRequest) -> Result<AssistantReply, ServiceError> {
    match crate::api::reached(devportal_call(DevportalCall::Assistant(request)).await)? {
        DevportalReply::Assistant(reply) => Ok(reply),
        _ => Err(ServiceError::Internal),
    }
}

/// One exchange shown in the panel.
#[derive(Clone)]
struct Exchange {
    question: String,
    answer: Result<AssistantReply, String>,
}

#[component]
pub fn AssistantPanel() -> impl IntoView {
    let question = RwSignal::new(String::new());
    let log = RwSignal::new(Vec::<Exchange>::new());
    let send = Action::new(move |q: &String| {
        let q = q.clone();
        // Earlier turns, for follow-up questions.
        let history: Vec<ChatTurn> = log.with_untracked(|l| {
            l.iter()
                .flat_map(|e| {
                    let mut turns = vec![ChatTurn {
                        role: "user".into(),
                        content: e.question.clone(),
                    }];
                    if let Ok(a) = &e.answer {
                        turns.push(ChatTurn {
                            role: "assistant".into(),
                            content: a.response.clone(),
                        });
                    }
                    turns
                })
                .collect()
        });
        async move {
            let answer = ask(AssistantRequest {
                query: q.clone(),
                history,
            })
            .await
            .map_err(|e| e.to_string());
            log.update(|l| {
                l.push(Exchange {
                    question: q,
                    answer,
                })
            });
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = question.get_untracked().trim().to_string();
        if q.is_empty() || send.pending().get_untracked() {
            return;
        }
        question.set(String::new());
        send.dispatch(q);
    };
    view! {
        <section class="mb-6 rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200" data-testid="assistant" aria-label="API assistant">
            <h2 class="text-base font-semibold text-slate-800">"Ask the API assistant"</h2>
            <p class="mb-3 text-sm text-slate-500">"Describe what you want to build, e.g. “how do I send an SMS to a customer?”. It names the APIs here that fit."</p>
            <ol class="mb-3 space-y-3" data-testid="assistant-log">
                <For each=move || log.get().into_iter().enumerate() key=|(i, _)| *i let:item>
                    <li class="space-y-2">
                        <p class="ml-auto w-fit max-w-prose rounded-lg bg-indigo-600 px-3 py-2 text-sm text-white" data-testid="assistant-question">{item.1.question.clone()}</p>
                        {match item.1.answer.clone() {
                            Ok(reply) => view! {
                                <div class="max-w-prose rounded-lg bg-slate-50 px-3 py-2 text-sm text-slate-800 ring-1 ring-slate-200" data-testid="assistant-answer">
                                    {if reply.apis.is_empty() {
                                        view! { <p class="whitespace-pre-line">{reply.response.clone()}</p> }.into_any()
                                    } else {
                                        let intro = reply.response.lines().next().unwrap_or_default().to_string();
                                        let written = reply.answered_by != "template";
                                        view! {
                                            <p class="whitespace-pre-line">{if written { reply.response.clone() } else { intro }}</p>
                                            <ul class="mt-2 space-y-1">
                                                {reply.apis.iter().map(|a| view! {
                                                    <li data-testid="assistant-api">
                                                        <a class="font-medium text-indigo-700 hover:underline" href=format!("/devportal/apis/{}", a.api_id)>{format!("{} {}", a.name, a.version)}</a>
                                                        <span class="text-slate-600">{format!(" — {}", a.reason)}</span>
                                                    </li>
                                                }).collect_view()}
                                            </ul>
                                        }.into_any()
                                    }}
                                    <p class="mt-1 text-xs text-slate-400">{if reply.answered_by == "template" { "Ranked by meaning (no language model configured)".to_string() } else { format!("Written by {}", reply.answered_by.trim_start_matches("llm:")) }}</p>
                                </div>
                            }.into_any(),
                            Err(e) => view! {
                                <p class="max-w-prose rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-700" role="alert" data-testid="assistant-error">{e}</p>
                            }.into_any(),
                        }}
                    </li>
                </For>
            </ol>
            {move || send.pending().get().then(|| view! { <p class="mb-2 text-sm text-slate-500" data-testid="assistant-pending">"Looking through the catalogue…"</p> })}
            <form class="flex gap-2" on:submit=submit>
                <input type="text" class="w-full rounded-md border border-slate-300 px-3 py-2 text-sm" aria-label="Your question"
                    placeholder="What do you want to do?" maxlength="1000" bind:value=question/>
                <button type="submit" class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500 disabled:opacity-50"
                    disabled=move || send.pending().get()>"Ask"</button>
                {move || (!log.with(Vec::is_empty)).then(|| view! {
                    <button type="button" class="rounded-md px-3 py-2 text-sm text-slate-600 hover:bg-slate-100" on:click=move |_| log.set(Vec::new())>"Clear"</button>
                })}
            </form>
        </section>
    }
}
