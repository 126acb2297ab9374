//! Import an API from an OpenAPI / Swagger document (file, URL or pasted): validate first,
//! show every problem with its JSON pointer, then create. Uploads go to the REST endpoints
//! (`/apis/validate-openapi`, `/apis/import-openapi`) with XMLHttpRequest, so large documents
//! show real upload progress.

use leptos::html;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::{BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, error_banner, field_error, nav};
use crate::api::ServiceError;
use crate::auth::Portal;
use crate::components::{PageTitle, PortalPage};
use crate::publisher::ValidationResponse;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Source {
    File,
    Url,
    Paste,
}

/// Where a long request is: bytes sent of total, then the server's work.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Debug, PartialEq)]
enum Progress {
    Idle,
    Uploading { sent: f64, total: f64 },
    Processing,
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const BASE: &str = "/api/am/publisher/v4/apis";

#[component]
pub fn ImportApi() -> impl IntoView {
    let source = RwSignal::new(Source::File);
    let url = RwSignal::new(String::new());
    let pasted = RwSignal::new(String::new());
    let file_input = NodeRef::<html::Input>::new();
    let file_label = RwSignal::new(None::<String>);
    let progress = RwSignal::new(Progress::Idle);
    let validation = RwSignal::new(None::<ValidationResponse>);
    let error = RwSignal::new(None::<ServiceError>);
    let name = RwSignal::new(String::new());
    let context = RwSignal::new(String::new());
    let version = RwSignal::new(String::new());
    let endpoint = RwSignal::new(String::new());
    let busy = move || progress.get() != Progress::Idle;
    let navigate = use_navigate();

    let on_file = move |_| {
        validation.set(None);
        #[cfg(feature = "hydrate")]
        if let Some(f) = file_input
            .get()
            .and_then(|i| i.files())
            .and_then(|l| l.get(0))
        {
            file_label.set(Some(format!("{} ({})", f.name(), human_size(f.size()))));
        }
    };

    let validate = move |_| {
        error.set(None);
        validation.set(None);
        #[cfg(feature = "hydrate")]
        {
            let form = match browser::form(source.get_untracked(), file_input, url, pasted) {
                Ok(f) => f,
                Err(e) => return error.set(Some(e)),
            };
            leptos::task::spawn_local(async move {
                let result =
                    browser::post(&format!("{BASE}/validate-openapi"), &form, progress).await;
                progress.set(Progress::Idle);
                match result {
                    Ok((200, body)) => match serde_json::from_str::<ValidationResponse>(&body) {
                        Ok(v) => {
                            if let Some(info) = &v.info {
                                name.set(info.name.clone());
                                context.set(info.context.clone());
                                version.set(info.version.clone());
                                endpoint.set(
                                    info.endpoints
                                        .iter()
                                        .find(|e| e.starts_with("http"))
                                        .cloned()
                                        .unwrap_or_default(),
                                );
                            }
                            validation.set(Some(v));
                        }
                        Err(e) => {
                            error.set(Some(browser::plain(format!("Unexpected answer: {e}"))))
                        }
                    },
                    Ok((_, body)) => error.set(Some(browser::wso2_error(&body))),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };

    let create = move |_| {
        error.set(None);
        #[cfg(feature = "hydrate")]
        {
            let form = match browser::form(source.get_untracked(), file_input, url, pasted) {
                Ok(f) => f,
                Err(e) => return error.set(Some(e)),
            };
            let mut extra = serde_json::json!({
                "name": name.get_untracked(),
                "context": context.get_untracked(),
                "version": version.get_untracked(),
            });
            let ep = endpoint.get_untracked();
            if !ep.trim().is_empty() {
                extra["endpointConfig"] = serde_json::json!({
                    "endpoint_type": "http",
                    "production_endpoints": {"url": ep.trim()},
                });
            }
            let _ = form.append_with_str("additionalProperties", &extra.to_string());
            let navigate = navigate.clone();
            leptos::task::spawn_local(async move {
                let result =
                    browser::post(&format!("{BASE}/import-openapi"), &form, progress).await;
                progress.set(Progress::Idle);
                match result {
                    Ok((201, body)) => {
                        let id = serde_json::from_str::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| v["id"].as_str().map(str::to_string))
                            .unwrap_or_default();
                        navigate(&format!("/publisher/apis/{id}"), Default::default());
                    }
                    Ok((_, body)) => error.set(Some(browser::wso2_error(&body))),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &navigate;
    };
    let create = StoredValue::new(create);

    let tab = move |s: Source, label: &'static str| {
        view! {
            <button type="button" role="tab" aria-selected=move || (source.get() == s).to_string()
                class=move || if source.get() == s {
                    "rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white"
                } else {
                    "rounded-md px-3 py-1.5 text-sm text-slate-600 ring-1 ring-slate-300 hover:bg-slate-50"
                }
                on:click=move |_| { source.set(s); validation.set(None); error.set(None); }>
                {label}
            </button>
        }
    };

    view! {
        <Title text="Import OpenAPI"/>
        <PortalPage portal=Portal::Publisher>
            {nav()}
            <PageTitle title="Import an OpenAPI document"
                subtitle="Swagger 2.0, OpenAPI 3.0 or 3.1, JSON or YAML. The document is checked first; every problem is listed with where it is."/>
            <div class=format!("{CARD} max-w-3xl space-y-5")>
                <div class="flex gap-2" role="tablist" aria-label="Source">
                    {tab(Source::File, "Upload a file")}
                    {tab(Source::Url, "From a URL")}
                    {tab(Source::Paste, "Paste")}
                </div>
                <div class:hidden=move || source.get() != Source::File>
                    <label class=LABEL for="definition-file">"Definition file"</label>
                    <input id="definition-file" type="file" node_ref=file_input accept=".json,.yaml,.yml,application/json,application/yaml"
                        class="mt-1 block w-full text-sm text-slate-700 file:mr-3 file:rounded-md file:border-0 file:bg-indigo-50 file:px-3 file:py-2 file:text-indigo-700"
                        on:change=on_file/>
                    {move || file_label.get().map(|l| view! { <p class="mt-1 text-xs text-slate-500" data-testid="file-label">{l}</p> })}
                    {field_error(error, "file")}
                </div>
                <div class:hidden=move || source.get() != Source::Url>
                    <label class=LABEL for="definition-url">"Definition URL"</label>
                    <input id="definition-url" class=INPUT bind:value=url placeholder="https://example.com/openapi.yaml"/>
                    {field_error(error, "url")}
                </div>
                <div class:hidden=move || source.get() != Source::Paste>
                    <label class=LABEL for="definition-text">"Definition"</label>
                    <textarea id="definition-text" rows="12" class=format!("{INPUT} font-mono text-xs") bind:value=pasted
                        placeholder="openapi: 3.1.0\ninfo:\n  title: …"></textarea>
                </div>
                <div class="flex items-center gap-3">
                    <button type="button" class=BUTTON_LIGHT on:click=validate disabled=busy>"Validate"</button>
                    {move || match progress.get() {
                        Progress::Idle => ().into_any(),
                        Progress::Uploading { sent, total } => {
                            let pct = if total > 0.0 { (sent / total * 100.0).round() } else { 0.0 };
                            view! {
                                <div class="flex flex-1 items-center gap-2" data-testid="progress">
                                    <div class="h-2 flex-1 overflow-hidden rounded bg-slate-200" role="progressbar"
                                        aria-valuemin="0" aria-valuemax="100" aria-valuenow=pct.to_string()>
                                        <div class="h-2 bg-indigo-500 transition-all" style=format!("width: {pct}%")></div>
                                    </div>
                                    <span class="text-xs text-slate-500">{format!("Uploading {pct}% of {}", human_size(total))}</span>
                                </div>
                            }.into_any()
                        }
                        Progress::Processing => view! {
                            <div class="flex flex-1 items-center gap-2" data-testid="progress">
                                <div class="h-2 flex-1 animate-pulse rounded bg-indigo-300" role="progressbar" aria-busy="true"></div>
                                <span class="text-xs text-slate-500">"Checking the document…"</span>
                            </div>
                        }.into_any(),
                    }}
                </div>
                {error_banner(error)}
                {move || validation.get().map(|v| if v.is_valid {
                    let info = v.info.clone();
                    view! {
                        <div class="rounded-md border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-900" data-testid="validation-ok">
                            {info.map(|i| format!("Valid OpenAPI {} document: {} operations.", i.open_api_version, i.operation_count))}
                        </div>
                    }.into_any()
                } else {
                    view! {
                        <div class="rounded-md border border-rose-200 bg-rose-50 p-3 text-sm text-rose-900" data-testid="validation-problems">
                            <p class="font-medium">{format!("The document has {} problem(s):", v.errors.len())}</p>
                            <ul class="mt-2 max-h-72 list-disc space-y-0.5 overflow-y-auto pl-5">
                                {v.errors.into_iter().map(|e| view! {
                                    <li><code class="text-xs">{e.code}</code>": "{e.message}</li>
                                }).collect_view()}
                            </ul>
                        </div>
                    }.into_any()
                })}
                <Show when=move || validation.with(|v| v.as_ref().is_some_and(|v| v.is_valid))>
                    <div class="space-y-4 border-t border-slate-200 pt-4">
                        <div>
                            <label class=LABEL for="import-name">"Name"</label>
                            <input id="import-name" class=INPUT bind:value=name/>
                            {field_error(error, "name")}
                        </div>
                        <div class="grid gap-4 sm:grid-cols-2">
                            <div>
                                <label class=LABEL for="import-context">"Context"</label>
                                <input id="import-context" class=INPUT bind:value=context/>
                                {field_error(error, "context")}
                            </div>
                            <div>
                                <label class=LABEL for="import-version">"Version"</label>
                                <input id="import-version" class=INPUT bind:value=version/>
                                {field_error(error, "version")}
                            </div>
                        </div>
                        <div>
                            <label class=LABEL for="import-endpoint">"Production endpoint"</label>
                            <input id="import-endpoint" class=INPUT bind:value=endpoint placeholder="https://backend.example.com"/>
                            {field_error(error, "endpointConfig.production_endpoints.url")}
                        </div>
                        <button type="button" class=BUTTON on:click=move |ev| create.with_value(|f| f(ev)) disabled=busy>"Import"</button>
                    </div>
                </Show>
            </div>
        </PortalPage>
    }
}

fn human_size(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MB", bytes / 1024.0 / 1024.0)
    } else if bytes >= 1024.0 {
        format!("{:.0} KB", bytes / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use std::rc::Rc;

    use leptos::html;
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    use super::{Progress, Source};
    use crate::api::{FieldProblem, ServiceError};

    pub fn plain(message: String) -> ServiceError {
        ServiceError::Fields {
            message,
            problems: vec![],
        }
    }

    /// WSO2's error body (`description`, `error[]`) as a service error.
    pub fn wso2_error(body: &str) -> ServiceError {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        ServiceError::Fields {
            message: v["description"]
                .as_str()
                .or(v["message"].as_str())
                .unwrap_or("The request was refused")
                .to_string(),
            problems: v["error"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|e| FieldProblem {
                            field: e["code"].as_str().unwrap_or_default().to_string(),
                            message: e["message"].as_str().unwrap_or_default().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    pub fn form(
        source: Source,
        file: NodeRef<html::Input>,
        url: RwSignal<String>,
        pasted: RwSignal<String>,
    ) -> Result<web_sys::FormData, ServiceError> {
        let form = web_sys::FormData::new().map_err(|_| plain("FormData unavailable".into()))?;
        let missing = |field: &str, message: &str| ServiceError::Invalid {
            field: field.into(),
            message: message.into(),
        };
        match source {
            Source::File => {
                let f = file
                    .get()
                    .and_then(|i| i.files())
                    .and_then(|l| l.get(0))
                    .ok_or_else(|| missing("file", "choose a file first"))?;
                form.append_with_blob_and_filename("file", &f, &f.name())
                    .map_err(|_| plain("could not attach the file".into()))?;
            }
            Source::Url => {
                let u = url.get_untracked();
                if u.trim().is_empty() {
                    return Err(missing("url", "enter the document's URL"));
                }
                let _ = form.append_with_str("url", u.trim());
            }
            Source::Paste => {
                let t = pasted.get_untracked();
                if t.trim().is_empty() {
                    return Err(missing("file", "paste the document first"));
                }
                let _ = form.append_with_str("inlineAPIDefinition", &t);
            }
        }
        Ok(form)
    }

    /// POSTs the form; reports upload progress, then `Processing` until the answer.
    pub async fn post(
        url: &str,
        form: &web_sys::FormData,
        progress: RwSignal<Progress>,
    ) -> Result<(u16, String), ServiceError> {
        let fail = |what: &str| plain(format!("The upload failed: {what}"));
        let xhr = web_sys::XmlHttpRequest::new().map_err(|_| fail("no XMLHttpRequest"))?;
        xhr.open("POST", url).map_err(|_| fail("open"))?;
        let _ = xhr.set_request_header("accept", "application/json");
        let (tx, rx) = futures_channel::oneshot::channel::<bool>();
        let tx = Rc::new(RefCell::new(Some(tx)));
        let done = {
            let tx = tx.clone();
            Closure::<dyn FnMut()>::new(move || {
                if let Some(tx) = tx.borrow_mut().take() {
                    let _ = tx.send(true);
                }
            })
        };
        let failed = Closure::<dyn FnMut()>::new(move || {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(false);
            }
        });
        let on_progress =
            Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                if e.length_computable() {
                    if e.loaded() >= e.total() {
                        progress.set(Progress::Processing);
                    } else {
                        progress.set(Progress::Uploading {
                            sent: e.loaded(),
                            total: e.total(),
                        });
                    }
                }
            });
        let uploaded = Closure::<dyn FnMut()>::new(move || progress.set(Progress::Processing));
        xhr.set_onload(Some(done.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(failed.as_ref().unchecked_ref()));
        if let Ok(upload) = xhr.upload() {
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
            upload.set_onload(Some(uploaded.as_ref().unchecked_ref()));
        }
        progress.set(Progress::Uploading {
            sent: 0.0,
            total: 0.0,
        });
        xhr.send_with_opt_form_data(Some(form))
            .map_err(|_| fail("send"))?;
        let ok = rx.await.unwrap_or(false);
        // The closures live until the request ended.
        drop((done, on_progress, uploaded));
        if !ok {
            return Err(fail("the server could not be reached"));
        }
        let status = xhr.status().unwrap_or(0);
        let body = xhr.response_text().ok().flatten().unwrap_or_default();
        Ok((status, body))
    }
}
