//! API documents in the portals: the Publisher's Documents tab (list, add, edit, delete, file
//! upload) and thumbnail card, and the Developer Portal's Documents section on an API's page
//! (Markdown rendered on the server without raw HTML). Files go to the REST endpoints with
//! XMLHttpRequest and the session cookie, as the import page does.

use leptos::html;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::ServiceError;
use crate::components::EmptyState;
use crate::documents::{
    Document, DocumentCall, DocumentContent, DocumentReply, PublicDocument, SOURCE_TYPES, TYPES,
    VISIBILITIES, run,
};
use crate::pages::publisher::{
    BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, TD, TH, error_banner, field_error,
};

/// Where a Publisher API's (or product's) REST resources are.
fn rest_base(api_id: &str, product: bool) -> String {
    let kind = if product { "api-products" } else { "apis" };
    format!("/api/am/publisher/v4/{kind}/{api_id}")
}

fn type_label(kind: &str, other: Option<&str>) -> String {
    match (kind, other) {
        ("OTHER", Some(o)) => o.to_string(),
        _ => kind.replace('_', " ").to_lowercase(),
    }
}

/// The add / edit form's fields.
#[derive(Clone, Copy)]
struct Form {
    /// `None`: closed; `Some(None)`: a new document; `Some(Some(id))`: editing `id`.
    editing: RwSignal<Option<Option<String>>>,
    name: RwSignal<String>,
    kind: RwSignal<String>,
    other_type: RwSignal<String>,
    summary: RwSignal<String>,
    source_type: RwSignal<String>,
    visibility: RwSignal<String>,
    text: RwSignal<String>,
    url: RwSignal<String>,
}

impl Form {
    fn new() -> Self {
        Form {
            editing: RwSignal::new(None),
            name: RwSignal::new(String::new()),
            kind: RwSignal::new("HOWTO".into()),
            other_type: RwSignal::new(String::new()),
            summary: RwSignal::new(String::new()),
            source_type: RwSignal::new("MARKDOWN".into()),
            visibility: RwSignal::new("API_LEVEL".into()),
            text: RwSignal::new(String::new()),
            url: RwSignal::new(String::new()),
        }
    }

    fn fill(&self, d: &Document) {
        self.name.set(d.name.clone());
        self.kind.set(d.kind.clone());
        self.other_type
            .set(d.other_type_name.clone().unwrap_or_default());
        self.summary.set(d.summary.clone().unwrap_or_default());
        self.source_type.set(d.source_type.clone());
        self.visibility.set(d.visibility.clone());
        self.text.set(d.inline_content.clone().unwrap_or_default());
        self.url.set(d.source_url.clone().unwrap_or_default());
        self.editing.set(Some(d.document_id.clone()));
    }

    fn document(&self) -> Document {
        let source_type = self.source_type.get_untracked();
        let text_source = source_type == "INLINE" || source_type == "MARKDOWN";
        Document {
            name: self.name.get_untracked(),
            kind: self.kind.get_untracked(),
            other_type_name: Some(self.other_type.get_untracked()),
            summary: Some(self.summary.get_untracked()),
            source_url: (source_type == "URL").then(|| self.url.get_untracked()),
            inline_content: text_source.then(|| self.text.get_untracked()),
            visibility: self.visibility.get_untracked(),
            source_type,
            ..Default::default()
        }
    }
}

fn select(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    options: &'static [&'static str],
) -> impl IntoView {
    view! {
        <div>
            <label class=LABEL for=id>{label}</label>
            <select id=id class=INPUT bind:value=value>
                {options.iter().map(|o| view! {
                    <option value=*o selected=move || value.get() == *o>{*o}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

/// The documents of an API or product for the Publisher's Documents tab; `version` reloads it.
/// The page creates it at its top level (created inside the page's Suspense, a resource failed
/// to hydrate on a direct load of the tab's URL).
pub fn publisher_documents_resource(
    api_id: impl Fn() -> String + Send + Sync + 'static,
    on: impl Fn() -> bool + Send + Sync + 'static,
    version: RwSignal<u32>,
    product: bool,
) -> Resource<Result<DocumentReply, ServiceError>> {
    Resource::new(
        move || (api_id(), on(), version.get()),
        move |(api_id, on, _)| async move {
            if on {
                run(DocumentCall::List { api_id, product }).await
            } else {
                Ok(DocumentReply::Done)
            }
        },
    )
}

/// The Publisher's Documents tab of an API or API product.
#[component]
pub fn PublisherDocuments(
    api_id: String,
    product: bool,
    list: Resource<Result<DocumentReply, ServiceError>>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let form = Form::new();
    let error = RwSignal::new(None::<ServiceError>);
    let notice = RwSignal::new(None::<String>);
    let confirm = RwSignal::new(None::<String>);
    let done = move |message: String| {
        error.set(None);
        notice.set(Some(message));
        version.update(|v| *v += 1);
    };
    let failed = move |e: ServiceError| {
        notice.set(None);
        error.set(Some(e));
    };
    let save = Action::new({
        let api_id = api_id.clone();
        move |(document_id, document): &(Option<String>, Document)| {
            let call = DocumentCall::Save {
                api_id: api_id.clone(),
                document_id: document_id.clone(),
                document: Box::new(document.clone()),
                product,
            };
            async move {
                match run(call).await {
                    Ok(DocumentReply::Document(d)) => {
                        form.editing.set(None);
                        done(format!("{} is saved.", d.name));
                    }
                    Ok(_) => {}
                    Err(e) => failed(e),
                }
            }
        }
    });
    let edit = Action::new({
        let api_id = api_id.clone();
        move |document_id: &String| {
            let call = DocumentCall::Get {
                api_id: api_id.clone(),
                document_id: document_id.clone(),
                product,
            };
            async move {
                match run(call).await {
                    Ok(DocumentReply::Document(d)) => {
                        error.set(None);
                        form.fill(&d);
                    }
                    Ok(_) => {}
                    Err(e) => failed(e),
                }
            }
        }
    });
    let remove = Action::new({
        let api_id = api_id.clone();
        move |(document_id, name): &(String, String)| {
            let call = DocumentCall::Delete {
                api_id: api_id.clone(),
                document_id: document_id.clone(),
                product,
            };
            let name = name.clone();
            async move {
                confirm.set(None);
                match run(call).await {
                    Ok(_) => done(format!("{name} is deleted.")),
                    Err(e) => failed(e),
                }
            }
        }
    });
    let open_new = move |_| {
        form.fill(&Document {
            kind: "HOWTO".into(),
            source_type: "MARKDOWN".into(),
            visibility: "API_LEVEL".into(),
            ..Default::default()
        });
        error.set(None);
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let id = form.editing.get_untracked().flatten();
        save.dispatch((id, form.document()));
    };
    let base = rest_base(&api_id, product);
    view! {
        <div class="space-y-6">
            {move || notice.get().map(|n| view! {
                <div class="rounded-md border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-900" role="status" data-testid="notice">{n}</div>
            })}
            {error_banner(error)}
            <div class=CARD>
                <div class="mb-4 flex flex-wrap items-center justify-between gap-3">
                    <div>
                        <h2 class="text-lg font-semibold">"Documents"</h2>
                        <p class="text-sm text-slate-500">"Guides, samples and links shown with the API in the Developer Portal (Owner only: never)."</p>
                    </div>
                    <button type="button" class=BUTTON on:click=open_new data-testid="add-document">"Add document"</button>
                </div>
                <Suspense fallback=|| view! { <p class="text-slate-500">"Loading documents…"</p> }>
                    {move || {
                        let base = base.clone();
                        Suspend::new(async move {
                            match list.await {
                                Ok(DocumentReply::Documents(docs)) if docs.is_empty() => view! {
                                    <EmptyState title="No documents yet"
                                        detail="Add a how-to in Markdown, link a forum, or upload a PDF: developers find them on the API's page."/>
                                }.into_any(),
                                Ok(DocumentReply::Documents(docs)) => view! {
                                    <div class="overflow-x-auto">
                                        <table class="min-w-full divide-y divide-slate-200" data-testid="documents-table">
                                            <thead><tr>
                                                <th class=TH>"Name"</th><th class=TH>"Type"</th><th class=TH>"Source"</th>
                                                <th class=TH>"Visibility"</th><th class=TH>"Updated"</th><th class=TH></th>
                                            </tr></thead>
                                            <tbody class="divide-y divide-slate-100">
                                                {docs.into_iter().map(|d| document_row(d, &base, edit, remove, confirm, error, notice, version)).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }.into_any(),
                                Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                                Ok(_) => ().into_any(),
                            }
                        })
                    }}
                </Suspense>
            </div>
            {move || form.editing.get().map(|id| editor(form, id.is_none(), submit, save.pending(), error))}
        </div>
    }
}

#[allow(clippy::too_many_arguments)]
fn document_row(
    d: Document,
    base: &str,
    edit: Action<String, ()>,
    remove: Action<(String, String), ()>,
    confirm: RwSignal<Option<String>>,
    error: RwSignal<Option<ServiceError>>,
    notice: RwSignal<Option<String>>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let id = d.document_id.clone().unwrap_or_default();
    let content = format!("{base}/documents/{id}/content");
    let file_input = NodeRef::<html::Input>::new();
    let uploading = RwSignal::new(false);
    let upload = {
        let content = content.clone();
        move |_| {
            #[cfg(feature = "hydrate")]
            {
                let content = content.clone();
                let Some(input) = file_input.get() else {
                    return;
                };
                uploading.set(true);
                leptos::task::spawn_local(async move {
                    match browser::send_file("POST", &content, &input).await {
                        Ok(()) => {
                            error.set(None);
                            notice.set(Some("The file is uploaded.".into()));
                            version.update(|v| *v += 1);
                        }
                        Err(e) => {
                            notice.set(None);
                            error.set(Some(e));
                        }
                    }
                    uploading.set(false);
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (&content, error, notice, version);
        }
    };
    let source = match d.source_type.as_str() {
        "URL" => {
            let url = d.source_url.clone().unwrap_or_default();
            let text = url.clone();
            view! { <a class="text-indigo-700 hover:underline" href=url target="_blank" rel="noopener noreferrer">{text}</a> }.into_any()
        }
        "FILE" => view! {
            <div class="flex flex-wrap items-center gap-2">
                {match d.file_name.clone() {
                    Some(name) => view! { <a class="text-indigo-700 hover:underline" href=content.clone() data-testid="download">{name}</a> }.into_any(),
                    None => view! { <span class="text-slate-500">"no file yet"</span> }.into_any(),
                }}
                <input type="file" node_ref=file_input class="max-w-48 text-xs" aria-label="File to upload"/>
                <button type="button" class=BUTTON_LIGHT on:click=upload disabled=move || uploading.get()>"Upload"</button>
            </div>
        }.into_any(),
        other => view! { <span>{other.to_lowercase()}</span> }.into_any(),
    };
    let (edit_id, delete_id, name) = (id.clone(), id.clone(), d.name.clone());
    view! {
        <tr data-document=d.name.clone()>
            <td class=TD>
                <p class="font-medium text-slate-900">{d.name.clone()}</p>
                {d.summary.clone().map(|s| view! { <p class="text-xs text-slate-500">{s}</p> })}
            </td>
            <td class=TD>{type_label(&d.kind, d.other_type_name.as_deref())}</td>
            <td class=TD>{source}</td>
            <td class=TD><span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs">{d.visibility.clone()}</span></td>
            <td class=TD><span class="text-xs text-slate-500">{d.last_updated_time.clone().unwrap_or_default()} " · " {d.last_updated_by.clone().unwrap_or_default()}</span></td>
            <td class=format!("{TD} whitespace-nowrap text-right")>
                {move || if confirm.get().as_deref() == Some(delete_id.as_str()) {
                    let (id, name) = (delete_id.clone(), name.clone());
                    view! {
                        <span class="text-sm text-rose-700">"Delete it? "</span>
                        <button type="button" class="rounded-md bg-rose-600 px-3 py-1.5 text-sm font-semibold text-white hover:bg-rose-500"
                            data-testid="confirm-delete" on:click=move |_| { remove.dispatch((id.clone(), name.clone())); }>"Delete"</button>
                        " "
                        <button type="button" class=BUTTON_LIGHT on:click=move |_| confirm.set(None)>"Cancel"</button>
                    }.into_any()
                } else {
                    let (edit_id, delete_id) = (edit_id.clone(), delete_id.clone());
                    view! {
                        <button type="button" class=BUTTON_LIGHT on:click=move |_| { edit.dispatch(edit_id.clone()); }>"Edit"</button>
                        " "
                        <button type="button" class=BUTTON_LIGHT on:click=move |_| confirm.set(Some(delete_id.clone()))>"Delete"</button>
                    }.into_any()
                }}
            </td>
        </tr>
    }
}

fn editor(
    form: Form,
    new: bool,
    submit: impl Fn(leptos::ev::SubmitEvent) + 'static,
    pending: Memo<bool>,
    error: RwSignal<Option<ServiceError>>,
) -> impl IntoView {
    let source = form.source_type;
    view! {
        <form on:submit=submit class=format!("{CARD} space-y-4") data-testid="document-form">
            <h2 class="text-lg font-semibold">{if new { "New document" } else { "Edit document" }}</h2>
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label class=LABEL for="doc-name">"Name"</label>
                    <input id="doc-name" class=INPUT bind:value=form.name maxlength="60" required placeholder="Getting started"/>
                    {field_error(error, "name")}
                </div>
                <div>
                    {select("doc-type", "Type", form.kind, TYPES)}
                    {field_error(error, "type")}
                </div>
                {move || (form.kind.get() == "OTHER").then(|| view! {
                    <div>
                        <label class=LABEL for="doc-other">"Type name"</label>
                        <input id="doc-other" class=INPUT bind:value=form.other_type placeholder="Release notes"/>
                        {field_error(error, "otherTypeName")}
                    </div>
                })}
                <div>
                    {select("doc-source", "Source", source, SOURCE_TYPES)}
                    {field_error(error, "sourceType")}
                </div>
                <div>
                    {select("doc-visibility", "Visibility", form.visibility, VISIBILITIES)}
                    <p class="mt-1 text-xs text-slate-500">"API_LEVEL: whoever sees the API · PRIVATE: signed-in users · OWNER_ONLY: the Publisher only"</p>
                    {field_error(error, "visibility")}
                </div>
            </div>
            <div>
                <label class=LABEL for="doc-summary">"Summary"</label>
                <textarea id="doc-summary" class=INPUT rows="2" bind:value=form.summary></textarea>
                {field_error(error, "summary")}
            </div>
            {move || match source.get().as_str() {
                "INLINE" | "MARKDOWN" => view! {
                    <div>
                        <label class=LABEL for="doc-text">{if source.get() == "MARKDOWN" { "Content (Markdown)" } else { "Content (plain text)" }}</label>
                        <textarea id="doc-text" class=format!("{INPUT} font-mono") rows="14" bind:value=form.text></textarea>
                        {field_error(error, "inlineContent")}
                    </div>
                }.into_any(),
                "URL" => view! {
                    <div>
                        <label class=LABEL for="doc-url">"URL"</label>
                        <input id="doc-url" type="url" class=INPUT bind:value=form.url placeholder="https://forum.example.com/pizza"/>
                        {field_error(error, "sourceUrl")}
                    </div>
                }.into_any(),
                _ => view! {
                    <p class="text-sm text-slate-500">"Save the document, then upload its file from the list."</p>
                }.into_any(),
            }}
            <div class="flex gap-2">
                <button type="submit" class=BUTTON disabled=move || pending.get()>
                    {move || if pending.get() { "Saving…" } else { "Save" }}
                </button>
                <button type="button" class=BUTTON_LIGHT on:click=move |_| form.editing.set(None)>"Cancel"</button>
            </div>
        </form>
    }
}

/// The API's image on the Publisher's overview: shown, and replaced by an upload.
#[component]
pub fn ThumbnailCard(api_id: String, product: bool, has_thumbnail: bool) -> impl IntoView {
    let url = format!("{}/thumbnail", rest_base(&api_id, product));
    let shown = RwSignal::new(has_thumbnail);
    // Changes the image's URL after an upload, so the browser fetches the new one.
    let version = RwSignal::new(0u32);
    let file_input = NodeRef::<html::Input>::new();
    let error = RwSignal::new(None::<ServiceError>);
    let busy = RwSignal::new(false);
    let upload = {
        let url = url.clone();
        move |_| {
            #[cfg(feature = "hydrate")]
            {
                let url = url.clone();
                let Some(input) = file_input.get() else {
                    return;
                };
                busy.set(true);
                leptos::task::spawn_local(async move {
                    match browser::send_file("PUT", &url, &input).await {
                        Ok(()) => {
                            error.set(None);
                            shown.set(true);
                            version.update(|v| *v += 1);
                        }
                        Err(e) => error.set(Some(e)),
                    }
                    busy.set(false);
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (&url, shown);
        }
    };
    view! {
        <div class=format!("{CARD} mt-6 flex flex-wrap items-center gap-4") data-testid="thumbnail">
            {move || if shown.get() {
                view! { <img src=format!("{url}?v={}", version.get()) alt="Thumbnail" class="h-16 w-16 rounded-lg object-cover ring-1 ring-slate-200"/> }.into_any()
            } else {
                view! { <div class="flex h-16 w-16 items-center justify-center rounded-lg bg-slate-100 text-xs text-slate-400">"No image"</div> }.into_any()
            }}
            <div class="min-w-64 flex-1">
                <h2 class="font-semibold">"Thumbnail"</h2>
                <p class="text-sm text-slate-500">"PNG, JPEG, GIF, WebP or SVG, up to 1 MB; shown on the Developer Portal's tiles."</p>
                {error_banner(error)}
            </div>
            <input type="file" accept="image/png,image/jpeg,image/gif,image/webp,image/svg+xml" node_ref=file_input
                class="text-sm" aria-label="Thumbnail image"/>
            <button type="button" class=BUTTON_LIGHT on:click=upload disabled=move || busy.get()>"Upload image"</button>
        </div>
    }
}

/// Classes that give rendered Markdown its headings, lists, code and tables.
const MARKDOWN: &str = "max-w-none text-sm leading-6 text-slate-700 [&_h1]:mb-2 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-2 [&_h2]:mt-4 [&_h2]:text-lg [&_h2]:font-semibold [&_h3]:mt-3 [&_h3]:font-semibold [&_p]:my-2 [&_ul]:list-disc [&_ul]:pl-5 [&_ol]:list-decimal [&_ol]:pl-5 [&_a]:text-indigo-700 [&_a]:underline [&_code]:rounded [&_code]:bg-slate-100 [&_code]:px-1 [&_code]:font-mono [&_code]:text-xs [&_pre]:my-2 [&_pre]:overflow-x-auto [&_pre]:rounded [&_pre]:bg-slate-50 [&_pre]:p-2 [&_table]:my-2 [&_td]:border [&_td]:border-slate-200 [&_td]:px-2 [&_th]:border [&_th]:border-slate-200 [&_th]:px-2 [&_blockquote]:border-l-4 [&_blockquote]:border-slate-200 [&_blockquote]:pl-3";

/// The Developer Portal's Documents section of an API's page; `?doc=<id>` shows one.
#[component]
pub fn ApiDocuments(api_id: String) -> impl IntoView {
    let query = use_query_map();
    let selected = move || query.with(|q| q.get("doc"));
    let list = Resource::new(
        {
            let api_id = api_id.clone();
            move || api_id.clone()
        },
        |api_id| run(DocumentCall::Visible { api_id }),
    );
    let content = Resource::new(
        {
            let api_id = api_id.clone();
            move || (api_id.clone(), selected())
        },
        |(api_id, doc)| async move {
            match doc {
                Some(document_id) => run(DocumentCall::Content {
                    api_id,
                    document_id,
                })
                .await
                .map(Some),
                None => Ok(None),
            }
        },
    );
    // A transition: the list and the open document stay while the next one loads.
    view! {
        <Transition fallback=|| ()>
            {move || {
                let api_id = api_id.clone();
                Suspend::new(async move {
                    // An API the visitor cannot see: the page says so already.
                    let Ok(DocumentReply::Public(docs)) = list.await else {
                        return ().into_any();
                    };
                    let shown = content.await;
                    let current = selected();
                    view! {
                        <section class="mt-6 rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200" data-testid="documents">
                            <h2 class="text-lg font-semibold">"Documents"</h2>
                            {if docs.is_empty() {
                                view! { <p class="mt-2 text-sm text-slate-500">"No documents for this API yet."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="mt-3 grid gap-6 md:grid-cols-3">
                                        <ul class="space-y-2">
                                            {docs.into_iter().map(|d| document_link(d, &api_id, current.as_deref())).collect_view()}
                                        </ul>
                                        <div class="md:col-span-2">{content_view(shown)}</div>
                                    </div>
                                }.into_any()
                            }}
                        </section>
                    }.into_any()
                })
            }}
        </Transition>
    }
}

fn document_link(d: PublicDocument, api_id: &str, current: Option<&str>) -> impl IntoView {
    let kind = type_label(&d.kind, d.other_type_name.as_deref());
    let active = current == Some(d.document_id.as_str());
    let class = if active {
        "font-semibold text-indigo-800"
    } else {
        "font-medium text-indigo-700 hover:underline"
    };
    let link = match d.source_type.as_str() {
        // URLs were checked to be http(s) when saved.
        "URL" => view! {
            <a class=class href=d.source_url.clone().unwrap_or_default() target="_blank" rel="noopener noreferrer">{d.name.clone()} " ↗"</a>
        }
        .into_any(),
        "FILE" => view! {
            <a class=class href=format!("/api/am/devportal/v3/apis/{api_id}/documents/{}/content", d.document_id)>{d.name.clone()} " ⤓"</a>
        }
        .into_any(),
        _ => view! {
            <a class=class href=format!("/devportal/apis/{api_id}?doc={}", d.document_id)
                aria-current=active.then_some("true")>{d.name.clone()}</a>
        }
        .into_any(),
    };
    view! {
        <li data-document=d.name.clone()>
            {link}
            <p class="text-xs text-slate-500">{kind}{d.summary.map(|s| format!(" · {s}"))}</p>
        </li>
    }
}

fn content_view(shown: Result<Option<DocumentReply>, ServiceError>) -> impl IntoView {
    match shown {
        Ok(None) => view! { <p class="text-sm text-slate-500">"Choose a document to read it here."</p> }.into_any(),
        Ok(Some(DocumentReply::Content(c))) => match c {
            DocumentContent::Html(html) => view! {
                <article class=MARKDOWN data-testid="document-content" inner_html=html></article>
            }
            .into_any(),
            DocumentContent::Text(text) => view! {
                <pre class="whitespace-pre-wrap break-words font-sans text-sm text-slate-700" data-testid="document-content">{text}</pre>
            }
            .into_any(),
            DocumentContent::Url(url) => {
                let text = url.clone();
                view! {
                    <a class="text-indigo-700 hover:underline" href=url target="_blank" rel="noopener noreferrer">{text}</a>
                }
                .into_any()
            }
            DocumentContent::File { name, href } => view! {
                <a class="text-indigo-700 hover:underline" href=href>"Download " {name}</a>
            }
            .into_any(),
            DocumentContent::Empty => view! { <p class="text-sm text-slate-500">"This document has no content yet."</p> }.into_any(),
        },
        Ok(Some(_)) => ().into_any(),
        Err(ServiceError::NotFound(_)) => view! { <p class="text-sm text-slate-500">"No such document."</p> }.into_any(),
        Err(e) => view! { <p class="text-sm text-rose-600">{e.to_string()}</p> }.into_any(),
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use std::rc::Rc;

    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    use crate::api::{FieldProblem, ServiceError};

    fn plain(message: String) -> ServiceError {
        ServiceError::Fields {
            message,
            problems: vec![],
        }
    }

    /// WSO2's error body (`description`, `error[]`) as a service error.
    fn wso2_error(body: &str) -> ServiceError {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        ServiceError::Fields {
            message: v["description"]
                .as_str()
                .or(v["message"].as_str())
                .unwrap_or("The upload was refused")
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

    /// Sends the input's file as the multipart field `file`.
    pub async fn send_file(
        method: &str,
        url: &str,
        input: &web_sys::HtmlInputElement,
    ) -> Result<(), ServiceError> {
        let fail = |what: &str| plain(format!("The upload failed: {what}"));
        let file = input
            .files()
            .and_then(|l| l.get(0))
            .ok_or_else(|| ServiceError::Invalid {
                field: "file".into(),
                message: "choose a file first".into(),
            })?;
        let form = web_sys::FormData::new().map_err(|_| fail("FormData unavailable"))?;
        form.append_with_blob_and_filename("file", &file, &file.name())
            .map_err(|_| fail("could not attach the file"))?;
        let xhr = web_sys::XmlHttpRequest::new().map_err(|_| fail("no XMLHttpRequest"))?;
        xhr.open(method, url).map_err(|_| fail("open"))?;
        let _ = xhr.set_request_header("accept", "application/json");
        let (tx, rx) = futures_channel::oneshot::channel::<bool>();
        let tx = Rc::new(RefCell::new(Some(tx)));
        let on = |ok: bool| {
            let tx = tx.clone();
            Closure::<dyn FnMut()>::new(move || {
                if let Some(tx) = tx.borrow_mut().take() {
                    let _ = tx.send(ok);
                }
            })
        };
        let (done, failed) = (on(true), on(false));
        xhr.set_onload(Some(done.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(failed.as_ref().unchecked_ref()));
        xhr.send_with_opt_form_data(Some(&form))
            .map_err(|_| fail("send"))?;
        let ok = rx.await.unwrap_or(false);
        // The closures live until the request ended.
        drop((done, failed));
        if !ok {
            return Err(fail("the server could not be reached"));
        }
        let status = xhr.status().unwrap_or(0);
        if (200..300).contains(&status) {
            input.set_value("");
            return Ok(());
        }
        Err(wso2_error(
            &xhr.response_text().ok().flatten().unwrap_or_default(),
        ))
    }
}
