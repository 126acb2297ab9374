//! Ratings and comments on a Developer Portal API page: the average with the visitor's own
//! rating (click a star), and comments with one level of replies, newest first.

use leptos::prelude::*;

use crate::api::{ServiceError, feedback_call};
use crate::auth::{Viewer, scopes};
use crate::feedback::{Comment, FeedbackCall as C, FeedbackReply as R, MAX_COMMENT_CHARS, stars};
use crate::pages::publisher::{BUTTON, BUTTON_LIGHT, CARD, error_banner};

const PAGE: i64 = 10;

async fn run(call: C) -> Result<R, ServiceError> {
    crate::api::reached(feedback_call(call).await)
}

#[component]
pub fn ApiFeedback(api_id: String) -> impl IntoView {
    let viewer = expect_context::<Resource<Viewer>>();
    let version = RwSignal::new(0u32);
    let offset = RwSignal::new(0i64);
    let error = RwSignal::new(None::<ServiceError>);
    let ratings = Resource::new(
        {
            let api_id = api_id.clone();
            move || (api_id.clone(), version.get())
        },
        |(api_id, _)| run(C::Ratings { api_id }),
    );
    let comments = Resource::new(
        {
            let api_id = api_id.clone();
            move || (api_id.clone(), offset.get(), version.get())
        },
        |(api_id, offset, _)| {
            run(C::Comments {
                api_id,
                offset,
                limit: PAGE,
            })
        },
    );
    let act = Action::new(move |call: &C| run(call.clone()));
    Effect::new(move |_| match act.value().get() {
        Some(Ok(_)) => version.update(|v| *v += 1),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let dispatch = move |call: C| {
        error.set(None);
        act.dispatch(call);
    };
    let text = RwSignal::new(String::new());
    let post = {
        let api_id = api_id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            dispatch(C::Post {
                api_id: api_id.clone(),
                reply_to: None,
                content: text.get_untracked(),
            });
            text.set(String::new());
        }
    };
    let api_for_stars = api_id.clone();
    let api_for_list = api_id.clone();
    view! {
        <section class=format!("{CARD} mt-6") data-testid="feedback">
            <h2 class="text-lg font-semibold">"Ratings and comments"</h2>
            {error_banner(error)}
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading ratings…"</p> }>
                {move || {
                    let api_id = api_for_stars.clone();
                    Suspend::new(async move {
                        let user = viewer.await.user;
                        match ratings.await {
                            Ok(R::Ratings(r)) => {
                                let total = r.pagination.total;
                                let mine = r.user_rating;
                                let can_rate = user.as_ref().is_some_and(|u| u.has_scope(scopes::SUBSCRIBE));
                                view! {
                                    <div class="mt-2 flex flex-wrap items-center gap-4">
                                        <p data-testid="average-rating">
                                            <span class="text-xl text-amber-500">{stars(&r.avg_rating)}</span>
                                            <span class="ml-2 text-sm text-slate-600">{if total == 0 {
                                                "Not rated yet".to_string()
                                            } else {
                                                format!("{} of 5 from {total} rating{}", r.avg_rating, if total == 1 { "" } else { "s" })
                                            }}</span>
                                        </p>
                                        {if can_rate {
                                            let api_id = api_id.clone();
                                            view! {
                                                <div class="flex items-center gap-1 text-sm" data-testid="your-rating">
                                                    <span class="text-slate-500">"Your rating:"</span>
                                                    {(1..=5).map(|n| {
                                                        let api_id = api_id.clone();
                                                        let on = mine.is_some_and(|m| m >= n);
                                                        view! {
                                                            <button type="button" class=if on { "text-xl text-amber-500" } else { "text-xl text-slate-300 hover:text-amber-400" }
                                                                aria-label=format!("Rate {n} of 5") aria-pressed=on.to_string()
                                                                on:click=move |_| dispatch(C::Rate { api_id: api_id.clone(), rating: n })>"★"</button>
                                                        }
                                                    }).collect_view()}
                                                    {mine.map(|_| {
                                                        let api_id = api_id.clone();
                                                        view! { <button type="button" class="ml-2 text-xs text-slate-500 hover:underline"
                                                            on:click=move |_| dispatch(C::Unrate { api_id: api_id.clone() })>"Remove"</button> }
                                                    })}
                                                </div>
                                            }.into_any()
                                        } else {
                                            view! { <p class="text-sm text-slate-500"><a class="text-indigo-700 hover:underline" href="/sign-in?next=/devportal">"Sign in"</a>" to rate and comment."</p> }.into_any()
                                        }}
                                    </div>
                                }.into_any()
                            }
                            Ok(_) => ().into_any(),
                            Err(e) => view! { <p class="text-sm text-rose-600">{e.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
            <Suspense fallback=|| ()>
                {move || {
                    let post = post.clone();
                    Suspend::new(async move {
                    let user = viewer.await.user;
                    user.filter(|u| u.has_scope(scopes::SUBSCRIBE)).map(|_| view! {
                        <form class="mt-4 space-y-2" on:submit=post>
                            <label class="block">
                                <span class="text-sm font-medium text-slate-700">"Add a comment"</span>
                                <textarea class="mt-1 w-full rounded-md border border-slate-300 px-3 py-2 text-sm" rows="3"
                                    maxlength=MAX_COMMENT_CHARS.to_string() bind:value=text></textarea>
                            </label>
                            <button type="submit" class=BUTTON disabled=move || act.pending().get() || text.with(|t| t.trim().is_empty())>"Post comment"</button>
                        </form>
                    })
                })}}
            </Suspense>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading comments…"</p> }>
                {move || {
                    let api_id = api_for_list.clone();
                    Suspend::new(async move {
                        let user = viewer.await.user;
                        match comments.await {
                            Ok(R::Comments(list)) if list.list.is_empty() => view! {
                                <p class="mt-4 text-sm text-slate-500" data-testid="no-comments">"No comments yet. Questions and tips from developers who use this API appear here."</p>
                            }.into_any(),
                            Ok(R::Comments(list)) => {
                                let (off, total) = (list.pagination.offset, list.pagination.total);
                                let me = user.as_ref().map(|u| u.username.clone());
                                let admin = user.as_ref().is_some_and(|u| u.has_scope(scopes::ADMIN));
                                let can_write = user.as_ref().is_some_and(|u| u.has_scope(scopes::SUBSCRIBE));
                                view! {
                                    <ul class="mt-4 space-y-4" data-testid="comments">
                                        {list.list.into_iter().map(|c| thread(c, api_id.clone(), me.clone(), admin, can_write, dispatch)).collect_view()}
                                    </ul>
                                    <div class="mt-3 flex items-center gap-3 text-sm text-slate-500">
                                        <span>{format!("{} comment thread{}", total, if total == 1 { "" } else { "s" })}</span>
                                        {(off > 0).then(|| view! { <button class=BUTTON_LIGHT on:click=move |_| offset.update(|o| *o = (*o - PAGE).max(0))>"Newer"</button> })}
                                        {(off + PAGE < total).then(|| view! { <button class=BUTTON_LIGHT on:click=move |_| offset.update(|o| *o += PAGE)>"Older"</button> })}
                                    </div>
                                }.into_any()
                            }
                            Ok(_) => ().into_any(),
                            Err(e) => view! { <p class="text-sm text-rose-600">{e.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

fn one_comment<F: Fn(C) + Copy + Send + Sync + 'static>(
    c: &Comment,
    api_id: &str,
    me: &Option<String>,
    admin: bool,
    dispatch: F,
) -> impl IntoView + use<F> {
    let who = c
        .commenter_info
        .as_ref()
        .and_then(|i| i.full_name.clone())
        .unwrap_or_else(|| c.created_by.clone());
    let can_delete = admin || me.as_deref() == Some(c.created_by.as_str());
    let (api_id, id) = (api_id.to_string(), c.id.clone());
    view! {
        <div class="flex items-baseline gap-2 text-xs text-slate-500">
            <span class="font-semibold text-slate-700">{who}</span>
            <span>{c.created_time.get(..16).unwrap_or(&c.created_time).replace('T', " ")}</span>
            {c.updated_time.is_some().then_some("(edited)")}
            {can_delete.then(|| view! {
                <button type="button" class="ml-auto text-rose-600 hover:underline"
                    on:click=move |_| dispatch(C::Delete { api_id: api_id.clone(), comment_id: id.clone() })>"Delete"</button>
            })}
        </div>
        <p class="mt-1 whitespace-pre-line text-sm text-slate-800">{c.content.clone()}</p>
    }
}

fn thread(
    c: Comment,
    api_id: String,
    me: Option<String>,
    admin: bool,
    can_write: bool,
    dispatch: impl Fn(C) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let replies = c.replies.clone().map(|r| r.list).unwrap_or_default();
    let open = RwSignal::new(false);
    let reply = RwSignal::new(String::new());
    let (parent, api_for_reply) = (c.id.clone(), api_id.clone());
    view! {
        <li class="border-t border-slate-100 pt-3" data-comment=c.id.clone()>
            {one_comment(&c, &api_id, &me, admin, dispatch)}
            <ul class="ml-6 mt-2 space-y-2 border-l-2 border-slate-100 pl-3">
                {replies.iter().map(|r| view! { <li data-reply=r.id.clone()>{one_comment(r, &api_id, &me, admin, dispatch)}</li> }).collect_view()}
            </ul>
            {can_write.then(|| view! {
                <button type="button" class="ml-6 mt-1 text-xs text-indigo-700 hover:underline" on:click=move |_| open.update(|o| *o = !*o)>"Reply"</button>
                <Show when=move || open.get()>
                    <form class="ml-6 mt-2 flex gap-2" on:submit={
                        let (parent, api_id) = (parent.clone(), api_for_reply.clone());
                        move |ev: leptos::ev::SubmitEvent| {
                            ev.prevent_default();
                            dispatch(C::Post { api_id: api_id.clone(), reply_to: Some(parent.clone()), content: reply.get_untracked() });
                            reply.set(String::new());
                            open.set(false);
                        }
                    }>
                        <input class="grow rounded-md border border-slate-300 px-2 py-1 text-sm" aria-label="Reply"
                            maxlength=MAX_COMMENT_CHARS.to_string() bind:value=reply/>
                        <button type="submit" class=BUTTON_LIGHT>"Send reply"</button>
                    </form>
                </Show>
            })}
        </li>
    }
}
