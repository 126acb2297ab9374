//! Sign-in and self sign-up. Plain HTML forms posting to the server's `/auth/*` handlers, so
//! they work before (and without) hydration; errors come back as `?error=CODE`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::with_viewer;

/// The message shown for an error code the server redirected with.
pub fn error_message(code: &str) -> &'static str {
    match code {
        "invalid_credentials" => "Wrong user name or password.",
        "locked" => "This account is locked. Ask an administrator to unlock it.",
        "csrf" => "The form expired. Please try again.",
        "missing_field" => "Please fill in every field.",
        "invalid_username" => {
            "User names are 3–64 characters: letters, digits, dot, dash, underscore or @."
        }
        "username_taken" => "That user name is taken.",
        "invalid_email" => "That e-mail address does not look right.",
        "email_taken" => "An account with that e-mail address exists already.",
        "weak_password" => "Passwords need at least 8 characters.",
        "password_mismatch" => "The two passwords differ.",
        "signup_disabled" => "Self sign-up is switched off here.",
        "pending_approval" => "This account is waiting for an administrator's approval.",
        _ => "Something went wrong. Please try again.",
    }
}

#[component]
fn ErrorBanner(code: Option<String>) -> impl IntoView {
    code.map(|c| {
        view! {
            <div role="alert" class="mb-4 rounded-md bg-rose-50 px-4 py-3 text-sm text-rose-700 ring-1 ring-rose-200" data-testid="form-error" data-code=c.clone()>
                {error_message(&c)}
            </div>
        }
    })
}

const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500";
const LABEL: &str = "block text-sm font-medium text-slate-700";
const BUTTON: &str = "w-full rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500";

#[component]
fn AuthCard(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="flex min-h-screen flex-col items-center justify-center bg-gradient-to-br from-indigo-700 to-slate-900 px-4">
            <a href="/devportal" class="mb-6 flex items-center gap-2 text-2xl font-bold text-white">
                <img src="/favicon.svg" alt="" class="h-9 w-9"/>
                "Gatehouse"
            </a>
            <div class="w-full max-w-sm rounded-xl bg-white p-8 shadow-xl">
                <h1 class="mb-6 text-xl font-bold text-slate-900">{title}</h1>
                {children()}
            </div>
        </div>
    }
}

#[component]
pub fn SignIn() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.with(|q| q.get("error"));
    let notice = move || query.with(|q| q.get("notice"));
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let username = move || query.with(|q| q.get("username")).unwrap_or_default();
    view! {
        <Title text="Sign in"/>
        <AuthCard title="Sign in">
            {with_viewer(move |viewer| {
                view! {
                    <ErrorBanner code=error()/>
                    {(notice().as_deref() == Some("pending_approval")).then(|| view! {
                        <div role="status" class="mb-4 rounded-md bg-amber-50 px-4 py-3 text-sm text-amber-900 ring-1 ring-amber-200" data-testid="sign-up-pending">
                            "Your account was created. An administrator approves it before you can sign in."
                        </div>
                    })}
                    <form method="post" action="/auth/sign-in" class="space-y-4">
                        <input type="hidden" name="csrf" value=viewer.csrf.clone()/>
                        <input type="hidden" name="next" value=next()/>
                        <label class=LABEL>"User name"
                            <input class=INPUT name="username" autocomplete="username" required value=username() placeholder="name, or name@organization"/>
                        </label>
                        <label class=LABEL>"Password"
                            <input class=INPUT type="password" name="password" autocomplete="current-password" required/>
                        </label>
                        <button type="submit" class=BUTTON>"Sign in"</button>
                    </form>
                }
            })}
            <p class="mt-6 text-center text-sm text-slate-500">
                "New here? " <a href="/sign-up" class="font-medium text-indigo-600 hover:underline">"Create an account"</a>
            </p>
        </AuthCard>
    }
}

#[component]
pub fn SignUp() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.with(|q| q.get("error"));
    let field = move |name: &'static str| move || query.with(|q| q.get(name)).unwrap_or_default();
    view! {
        <Title text="Sign up"/>
        <AuthCard title="Create a developer account">
            {with_viewer(move |viewer| {
                view! {
                    <ErrorBanner code=error()/>
                    <form method="post" action="/auth/sign-up" class="space-y-4">
                        <input type="hidden" name="csrf" value=viewer.csrf.clone()/>
                        <label class=LABEL>"User name"
                            <input class=INPUT name="username" autocomplete="username" required minlength="3" maxlength="64" value=field("username")/>
                        </label>
                        <label class=LABEL>"Display name"
                            <input class=INPUT name="display_name" autocomplete="name" value=field("display_name")/>
                        </label>
                        <label class=LABEL>"E-mail"
                            <input class=INPUT type="email" name="email" autocomplete="email" required value=field("email")/>
                        </label>
                        <label class=LABEL>"Password"
                            <input class=INPUT type="password" name="password" autocomplete="new-password" required minlength="8"/>
                        </label>
                        <label class=LABEL>"Repeat password"
                            <input class=INPUT type="password" name="password_confirm" autocomplete="new-password" required minlength="8"/>
                        </label>
                        <button type="submit" class=BUTTON>"Create account"</button>
                    </form>
                }
            })}
            <p class="mt-6 text-center text-sm text-slate-500">
                "Have an account? " <a href="/sign-in" class="font-medium text-indigo-600 hover:underline">"Sign in"</a>
            </p>
        </AuthCard>
    }
}
