//! Pieces every portal page uses: the header with portal switcher and user menu, the
//! access guard, and the empty state.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::auth::{Access, Portal, Viewer, page_access};
use crate::pages::errors::Forbidden;

/// Renders `f` once the viewer is known (on the server that is before the first byte).
pub fn with_viewer<F, V>(f: F) -> impl IntoView
where
    F: Fn(Viewer) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let viewer = expect_context::<Resource<Viewer>>();
    view! {
        <Suspense fallback=|| view! { <p class="p-8 text-slate-500">"Loading…"</p> }>
            {move || {
                let f = f.clone();
                Suspend::new(async move { f(viewer.await) })
            }}
        </Suspense>
    }
}

/// A portal page: header, the portal's own navigation, and `children` when the viewer may
/// enter; the 403 page otherwise. The server refuses the same requests with a 403 status.
#[component]
pub fn PortalPage(portal: Portal, children: ChildrenFn) -> impl IntoView {
    let children = StoredValue::new(children);
    let location = use_location();
    with_viewer(move |viewer: Viewer| {
        // Pages read the resolved viewer from context (`use_context::<Viewer>()`) instead of
        // nesting another `with_viewer` Suspense, which failed to hydrate.
        provide_context(viewer.clone());
        let path = location.pathname.get_untracked();
        let body = match page_access(&path, viewer.user.as_ref()) {
            // Unknown pages render their own "no such page" state; the server sets the 404.
            Access::Allowed | Access::NotFound => children.with_value(|c| c()).into_any(),
            Access::Forbidden => view! { <Forbidden portal/> }.into_any(),
            Access::SignIn => view! { <SignInNeeded path/> }.into_any(),
        };
        view! {
            <Header portal viewer=viewer.clone()/>
            <main class="mx-auto max-w-6xl px-4 py-8 sm:px-6">{body}</main>
        }
    })
}

/// Shown if a page that needs a user renders for a visitor (the server normally redirects).
#[component]
fn SignInNeeded(path: String) -> impl IntoView {
    view! {
        <div class="mx-auto max-w-lg rounded-xl bg-white p-8 text-center shadow-sm ring-1 ring-slate-200">
            <h1 class="text-xl font-bold">"Sign in to continue"</h1>
            <a href=format!("/sign-in?next={path}") class="mt-4 inline-block rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white">"Sign in"</a>
        </div>
    }
}

#[component]
fn Header(portal: Portal, viewer: Viewer) -> impl IntoView {
    let location = use_location();
    let user = viewer.user.clone();
    let tabs = Portal::ALL
        .into_iter()
        .filter(|p| p.allows(user.as_ref()))
        .map(|p| {
            let active = p == portal;
            let class = if active {
                "rounded-md bg-white/15 px-3 py-1.5 text-sm font-semibold text-white"
            } else {
                "rounded-md px-3 py-1.5 text-sm text-indigo-100 hover:bg-white/10 hover:text-white"
            };
            view! { <a href=p.base() class=class data-portal=p.base()>{p.title()}</a> }
        })
        .collect_view();
    let csrf = viewer.csrf.clone();
    let account = match user {
        Some(u) => view! {
            <div class="flex items-center gap-3">
                <span class="hidden text-sm text-indigo-100 sm:inline" data-testid="signed-in-user">
                    {u.display_name.clone()}
                    <span class="ml-1 text-indigo-300">"(" {u.username.clone()} ")"</span>
                </span>
                <form method="post" action="/auth/sign-out">
                    <input type="hidden" name="csrf" value=csrf/>
                    <button type="submit" class="rounded-md border border-white/30 px-3 py-1.5 text-sm text-white hover:bg-white/10">
                        "Sign out"
                    </button>
                </form>
            </div>
        }
        .into_any(),
        None => {
            let next = move || location.pathname.get();
            view! {
                <div class="flex items-center gap-2">
                    <a href=move || format!("/sign-in?next={}", next()) class="rounded-md bg-white px-3 py-1.5 text-sm font-semibold text-indigo-700 hover:bg-indigo-50">"Sign in"</a>
                    <a href="/sign-up" class="rounded-md px-3 py-1.5 text-sm text-white hover:bg-white/10">"Sign up"</a>
                </div>
            }
            .into_any()
        }
    };
    view! {
        <header class="bg-indigo-700 shadow">
            <div class="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-3 px-4 py-3 sm:px-6">
                <div class="flex items-center gap-4">
                    <A href="/devportal" attr:class="flex items-center gap-2 text-lg font-bold text-white">
                        <img src="/favicon.svg" alt="" class="h-7 w-7"/>
                        "Gatehouse"
                    </A>
                    <nav class="flex flex-wrap gap-1" aria-label="Portals">{tabs}</nav>
                </div>
                {account}
            </div>
        </header>
    }
}

/// Secondary navigation inside a portal.
#[component]
pub fn SubNav(links: Vec<(&'static str, String)>) -> impl IntoView {
    let location = use_location();
    view! {
        <nav class="mb-6 flex flex-wrap gap-2 border-b border-slate-200 pb-3" aria-label="Sections">
            {links
                .into_iter()
                .map(|(title, href)| {
                    let h = href.clone();
                    let class = move || {
                        if location.pathname.get() == h {
                            "rounded-md bg-indigo-100 px-3 py-1.5 text-sm font-medium text-indigo-800"
                        } else {
                            "rounded-md px-3 py-1.5 text-sm text-slate-600 hover:bg-slate-100"
                        }
                    };
                    view! { <a href=href class=class>{title}</a> }
                })
                .collect_view()}
        </nav>
    }
}

/// What a page shows when it has nothing yet: say so, and say what will fill it.
#[component]
pub fn EmptyState(title: &'static str, detail: &'static str) -> impl IntoView {
    view! {
        <div class="rounded-xl border-2 border-dashed border-slate-300 bg-white px-6 py-14 text-center" data-testid="empty-state">
            <svg class="mx-auto h-10 w-10 text-slate-400" fill="none" viewBox="0 0 24 24" stroke="currentColor" aria-hidden="true">
                <path stroke-linecap="round" stroke-linejoin="round" stroke-width="1.5" d="M20 13V7a2 2 0 00-2-2H6a2 2 0 00-2 2v6m16 0v4a2 2 0 01-2 2H6a2 2 0 01-2-2v-4m16 0h-2.586a1 1 0 00-.707.293l-1.414 1.414a1 1 0 01-.707.293h-3.172a1 1 0 01-.707-.293l-1.414-1.414A1 1 0 006.586 13H4"/>
            </svg>
            <h3 class="mt-3 text-base font-semibold text-slate-800">{title}</h3>
            <p class="mx-auto mt-1 max-w-md text-sm text-slate-500">{detail}</p>
        </div>
    }
}

/// Children rendered in the browser only, once the page has hydrated (the server sends an
/// empty slot): for interactive panels whose content is the user's own (a chat) and has nothing
/// to show before that.
#[component]
pub fn ClientOnly(children: ChildrenFn) -> impl IntoView {
    let mounted = RwSignal::new(false);
    // Effects run in the browser only.
    Effect::new(move |_| mounted.set(true));
    move || mounted.get().then(|| children())
}

/// Page heading with an optional line under it.
#[component]
pub fn PageTitle(title: &'static str, #[prop(optional)] subtitle: &'static str) -> impl IntoView {
    view! {
        <div class="mb-6">
            <h1 class="text-2xl font-bold tracking-tight text-slate-900">{title}</h1>
            {(!subtitle.is_empty()).then(|| view! { <p class="mt-1 text-sm text-slate-500">{subtitle}</p> })}
        </div>
    }
}

/// A change made from a page: the call with the notice to show when it succeeds. On success the
/// notice shows and `version` moves (resources keyed on it reload); on failure the error shows.
pub struct Change<C: Send + Sync + 'static> {
    pub act: Action<(C, String), Result<String, crate::api::ServiceError>>,
    pub error: RwSignal<Option<crate::api::ServiceError>>,
    pub notice: RwSignal<Option<String>>,
}

impl<C: Send + Sync + 'static> Clone for Change<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C: Send + Sync + 'static> Copy for Change<C> {}

impl<C: Clone + Send + Sync + 'static> Change<C> {
    pub fn new<R, F, Fut>(run: F, version: RwSignal<u32>) -> Self
    where
        F: Fn(C) -> Fut + Copy + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<R, crate::api::ServiceError>> + Send + 'static,
        R: 'static,
    {
        let error = RwSignal::new(None);
        let notice = RwSignal::new(None::<String>);
        let act = Action::new(move |(call, message): &(C, String)| {
            let (call, message) = (call.clone(), message.clone());
            async move { run(call).await.map(|_| message) }
        });
        Effect::new(move |_| match act.value().get() {
            Some(Ok(message)) => {
                error.set(None);
                notice.set(Some(message));
                version.update(|v| *v += 1);
            }
            Some(Err(e)) => {
                notice.set(None);
                error.set(Some(e));
            }
            None => {}
        });
        Change { act, error, notice }
    }

    pub fn dispatch(&self, call: C, message: String) {
        self.error.set(None);
        self.act.dispatch((call, message));
    }

    /// The notice of the last success, if any.
    pub fn notice_view(&self) -> impl IntoView + use<C> {
        let notice = self.notice;
        move || {
            notice.get().map(|n| view! {
                <p class="mb-4 rounded-md bg-emerald-50 p-3 text-sm text-emerald-900" role="status" data-testid="notice">{n}</p>
            })
        }
    }
}
