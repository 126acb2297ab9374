//! Admin portal: the AI index of the organization's catalogue — which model embeds, how many
//! listed APIs are embedded with it (a progress bar that follows the background job while
//! anything is queued), what keeps failing and when it is tried again, and "Re-embed all".

use leptos::prelude::*;

use crate::ai::{AiAdminCall, AiAdminReply, AiIndexStatus};
use crate::api::{ServiceError, ai_admin_call};
use crate::components::{Change, EmptyState};
use crate::pages::publisher::{BUTTON, CARD, TD, TH, error_banner};

async fn run(call: AiAdminCall) -> Result<AiAdminReply, ServiceError> {
    crate::api::reached(ai_admin_call(call).await)
}

/// Whole percent of `done` out of `all` (100 for an empty catalogue).
fn percent(done: i64, all: i64) -> i64 {
    if all <= 0 {
        100
    } else {
        (done.clamp(0, all) * 100) / all
    }
}

#[component]
pub fn AiIndex() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let data = Resource::new_blocking(move || version.get(), |_| run(AiAdminCall::Status));
    let change = Change::new(run, version);
    let (act, error) = (change.act, change.error);
    // While the indexer has work, the page asks again every two seconds.
    Effect::new(move |_| {
        let busy = matches!(
            data.get(),
            Some(Ok(AiAdminReply::Status(ref s))) if s.queued > 0
        );
        if busy {
            #[cfg(feature = "hydrate")]
            set_timeout(
                move || version.update(|v| *v += 1),
                std::time::Duration::from_secs(2),
            );
        }
    });
    let reindex = move |_| {
        change.dispatch(
            AiAdminCall::Reindex,
            "Every listed API is queued to be embedded again.".into(),
        );
    };
    view! {
        {error_banner(error)}
        {change.notice_view()}
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading the AI index…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(AiAdminReply::Status(s)) => status_view(*s, reindex, act.pending()).into_any(),
                    Ok(_) => ().into_any(),
                    Err(e) => view! {
                        <EmptyState title="AI index unavailable" detail="You may not see the AI index."/>
                        <p class="text-sm text-rose-600">{e.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

fn status_view(
    s: AiIndexStatus,
    reindex: impl Fn(leptos::ev::MouseEvent) + Clone + Send + Sync + 'static,
    pending: Memo<bool>,
) -> impl IntoView {
    if !s.enabled {
        return view! {
            <EmptyState title="The AI features are switched off" detail="Set ai.enabled = true (GATEHOUSE_AI__ENABLED) to offer the marketplace assistant and API chat."/>
        }
        .into_any();
    }
    let pct = percent(s.apis_indexed, s.apis_listed);
    let model = match (&s.model, s.dimension) {
        (Some(m), Some(d)) => format!("{m} ({d} dimensions)"),
        (Some(m), None) => m.clone(),
        _ => "none".into(),
    };
    let writer = match s.answered_by.strip_prefix("llm:") {
        Some(m) => format!("LLM {m}: it writes the assistant's answers and plans API chat"),
        None => "No LLM: templated answers and the embedded planner".to_string(),
    };
    let progress = if s.queued > 0 {
        format!(
            "{} queued ({} in progress): the page follows the indexer.",
            s.queued, s.in_progress
        )
    } else {
        "Nothing queued: the index is up to date.".to_string()
    };
    view! {
        <section class=CARD data-testid="ai-index">
            <dl class="grid gap-4 sm:grid-cols-3 text-sm">
                <div>
                    <dt class="text-slate-500">"Embeddings model"</dt>
                    <dd class="font-medium" data-testid="ai-model">{model}</dd>
                </div>
                <div>
                    <dt class="text-slate-500">"Answers and plans"</dt>
                    <dd class="font-medium" data-testid="ai-writer">{writer}</dd>
                </div>
                <div>
                    <dt class="text-slate-500">"Vectors"</dt>
                    <dd class="font-medium" data-testid="ai-texts">
                        {format!("{} texts", s.texts)}
                        {(s.stale_texts > 0).then(|| format!(" · {} of an earlier model, replaced as their APIs are embedded again", s.stale_texts))}
                    </dd>
                </div>
            </dl>
            {s.model_problem.clone().map(|p| view! {
                <p class="mt-4 rounded-md bg-amber-50 p-3 text-sm text-amber-900" role="alert" data-testid="ai-model-problem">
                    {format!("No embeddings model can be used: {p}. Run make setup (it fetches the embedded model), or set ai.embeddings_url.")}
                </p>
            })}
            {if s.apis_listed == 0 {
                view! {
                    <div class="mt-4">
                        <EmptyState title="No listed APIs yet" detail="APIs and API products are embedded when they are published; this page then shows the progress."/>
                    </div>
                }.into_any()
            } else {
                view! {
                    <div class="mt-6">
                        <div class="flex items-baseline justify-between text-sm">
                            <span class="font-medium" data-testid="ai-progress-label">
                                {format!("{} of {} listed APIs embedded", s.apis_indexed, s.apis_listed)}
                            </span>
                            <span class="text-slate-500">{format!("{pct} %")}</span>
                        </div>
                        <div class="mt-1 h-3 w-full overflow-hidden rounded-full bg-slate-100" role="progressbar"
                            aria-valuemin="0" aria-valuemax=s.apis_listed aria-valuenow=s.apis_indexed data-testid="ai-progress">
                            <div class="h-3 rounded-full bg-indigo-500 transition-all" style=format!("width: {pct}%")></div>
                        </div>
                        <p class="mt-2 text-sm text-slate-600" data-testid="ai-queued">{progress}</p>
                        {s.last_indexed.clone().map(|t| view! { <p class="text-xs text-slate-500">{format!("Last vector written {t}")}</p> })}
                    </div>
                }.into_any()
            }}
            <div class="mt-6 flex items-center gap-3">
                <button type="button" class=BUTTON on:click=reindex disabled=move || pending.get() data-testid="ai-reindex">"Re-embed all"</button>
                <span class="text-sm text-slate-500">"Embeds every listed API again with the current model and retries failed ones now. Searches keep working meanwhile."</span>
            </div>
        </section>
        {(!s.failing.is_empty()).then(|| view! {
            <section class=format!("{CARD} mt-6") data-testid="ai-failing">
                <h2 class="font-semibold">"Failing"</h2>
                <table class="mt-3 w-full">
                    <thead><tr>
                        <th class=TH>"API"</th><th class=TH>"Attempts"</th><th class=TH>"Last error"</th><th class=TH>"Next try"</th>
                    </tr></thead>
                    <tbody>
                        {s.failing.iter().map(|f| view! {
                            <tr class="border-t border-slate-100">
                                <td class=TD><a class="text-indigo-700 hover:underline" href=format!("/devportal/apis/{}", f.api_id)>{format!("{} {}", f.name, f.version)}</a></td>
                                <td class=TD>{f.attempts}</td>
                                <td class=format!("{TD} text-rose-700")>{f.last_error.clone()}</td>
                                <td class=TD>{if f.retry_in_seconds > 0 { format!("in {} s", f.retry_in_seconds) } else { "now".to_string() }}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        })}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn progress_is_a_whole_percent_of_the_listed_apis() {
        assert_eq!(percent(0, 0), 100);
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(52, 52), 100);
        assert_eq!(percent(60, 52), 100);
    }
}
