//! API products: the list, and the editor that picks operations from several APIs (to create
//! a product, or to change an existing product's operations).

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, api_tiles, error_banner, field_error, nav,
    open_result, run,
};
use crate::api::ServiceError;
use crate::auth::Portal;
use crate::components::{EmptyState, PageTitle, PortalPage};
use crate::publisher::{Api, ApiSettings, Operation, ProductApi, PublisherCall, PublisherReply};

fn list_call(product: bool) -> PublisherCall {
    PublisherCall::List {
        query: String::new(),
        product,
    }
}

#[component]
pub fn Products() -> impl IntoView {
    let products = Resource::new(|| (), |_| run(list_call(true)));
    view! {
        <Title text="API products"/>
        <PortalPage portal=Portal::Publisher>
            {nav()}
            <div class="flex flex-wrap items-end justify-between gap-4">
                <PageTitle title="API products" subtitle="Bundles of operations from several APIs, offered under one context."/>
                <a href="/publisher/api-products/create" class=format!("{BUTTON} mb-6")>"Create API product"</a>
            </div>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match products.await {
                        Ok(PublisherReply::Page(p)) if p.list.is_empty() => view! {
                            <EmptyState title="No API products yet"
                                detail="Create one by picking operations from your APIs; it gets its own context, revisions and deployments."/>
                        }.into_any(),
                        Ok(PublisherReply::Page(p)) => api_tiles(p.list).into_any(),
                        Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                        Ok(_) => ().into_any(),
                    }
                })}
            </Suspense>
        </PortalPage>
    }
}

/// One API taken into the product, with a tick per operation.
#[derive(Clone)]
pub(super) struct Part {
    api_id: String,
    name: String,
    operations: Vec<(Operation, RwSignal<bool>)>,
}

/// Loads an API as a part, ticking the operations in `chosen` (all when `None`).
async fn load_part(id: String, chosen: Option<Vec<Operation>>) -> Result<Part, ServiceError> {
    match run(PublisherCall::Get { id, product: false }).await? {
        PublisherReply::Api(api) => Ok(Part {
            api_id: api.id.clone().unwrap_or_default(),
            name: format!("{} {}", api.name, api.version),
            operations: api
                .operations
                .into_iter()
                .map(|o| {
                    let on = chosen
                        .as_ref()
                        .is_none_or(|c| c.iter().any(|x| x.verb == o.verb && x.target == o.target));
                    (o, RwSignal::new(on))
                })
                .collect(),
        }),
        _ => Err(ServiceError::Internal),
    }
}

/// The product's APIs with the ticked operations, as the REST body wants them.
fn product_apis(parts: &[Part]) -> Vec<ProductApi> {
    parts
        .iter()
        .map(|p| ProductApi {
            api_id: p.api_id.clone(),
            name: p.name.clone(),
            version: String::new(),
            operations: p
                .operations
                .iter()
                .filter(|(_, on)| on.get_untracked())
                .map(|(o, _)| Operation::new(&o.verb, &o.target))
                .collect(),
        })
        .collect()
}

/// Choose an API to add, and tick operations of the APIs added.
fn picker(parts: RwSignal<Vec<Part>>, error: RwSignal<Option<ServiceError>>) -> impl IntoView {
    let apis = Resource::new(|| (), |_| run(list_call(false)));
    let chosen = RwSignal::new(String::new());
    let add = Action::new(move |id: &String| {
        let id = id.clone();
        async move {
            if parts.with_untracked(|p| p.iter().any(|x| x.api_id == id)) {
                return;
            }
            match load_part(id, None).await {
                Ok(part) => parts.update(|p| p.push(part)),
                Err(e) => error.set(Some(e)),
            }
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading APIs…"</p> }>
            {move || Suspend::new(async move {
                match apis.await {
                    Ok(PublisherReply::Page(p)) if p.list.is_empty() => view! {
                        <EmptyState title="No APIs to pick from" detail="Create or import an API first; products are made of their operations."/>
                    }.into_any(),
                    Ok(PublisherReply::Page(p)) => {
                        if let Some(first) = p.list.first() {
                            chosen.set(first.id.clone());
                        }
                        view! {
                            <div class="flex items-end gap-2">
                                <div class="flex-1">
                                    <label class=LABEL for="product-api">"Add operations from"</label>
                                    <select id="product-api" class=INPUT bind:value=chosen>
                                        {p.list.into_iter().map(|a| view! {
                                            <option value=a.id.clone()>{format!("{} {}", a.name, a.version)}</option>
                                        }).collect_view()}
                                    </select>
                                </div>
                                <button type="button" class=BUTTON_LIGHT on:click=move |_| { add.dispatch(chosen.get_untracked()); }>"Add API"</button>
                            </div>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                    Ok(_) => ().into_any(),
                }
            })}
        </Suspense>
        {field_error(error, "apis")}
        <div class="space-y-3">
            {move || parts.get().into_iter().enumerate().map(|(i, p)| view! {
                <fieldset class="rounded-lg border border-slate-200 p-3" data-part=p.name.clone()>
                    <legend class="px-1 text-sm font-semibold">{p.name.clone()}</legend>
                    {p.operations.iter().map(|(o, on)| {
                        let on = *on;
                        view! {
                            <label class="flex items-center gap-2 text-sm">
                                <input type="checkbox" class="h-4 w-4" bind:checked=on/>
                                <span class="w-16 font-mono text-xs font-semibold">{o.verb.clone()}</span>
                                <span class="font-mono text-xs">{o.target.clone()}</span>
                            </label>
                        }
                    }).collect_view()}
                    <button type="button" class="mt-2 text-xs text-rose-700 hover:underline"
                        on:click=move |_| parts.update(|ps| { ps.remove(i); })>"Remove this API"</button>
                </fieldset>
            }).collect_view()}
        </div>
    }
}

#[component]
pub fn CreateProduct() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let context = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let parts = RwSignal::new(Vec::<Part>::new());
    let error = RwSignal::new(None::<ServiceError>);
    let create = Action::new(move |api: &Api| {
        let api = api.clone();
        async move { run(PublisherCall::Create { api, product: true }).await }
    });
    open_result(create, true, error);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        create.dispatch(Api {
            name: name.get_untracked(),
            context: context.get_untracked(),
            description: Some(description.get_untracked()),
            settings: ApiSettings {
                apis: product_apis(&parts.get_untracked()),
                ..Default::default()
            },
            ..Default::default()
        });
    };
    view! {
        <Title text="Create API product"/>
        <PortalPage portal=Portal::Publisher>
            {nav()}
            <PageTitle title="Create an API product" subtitle="Pick operations from your APIs; the product gets its own context."/>
            <form on:submit=submit class=format!("{CARD} max-w-3xl space-y-4")>
                {error_banner(error)}
                <div class="grid gap-4 sm:grid-cols-2">
                    <div>
                        <label class=LABEL for="product-name">"Name"</label>
                        <input id="product-name" class=INPUT bind:value=name/>
                        {field_error(error, "name")}
                    </div>
                    <div>
                        <label class=LABEL for="product-context">"Context"</label>
                        <input id="product-context" class=INPUT bind:value=context placeholder="/bundle"/>
                        {field_error(error, "context")}
                    </div>
                </div>
                <div>
                    <label class=LABEL for="product-description">"Description"</label>
                    <textarea id="product-description" rows="2" class=INPUT bind:value=description></textarea>
                </div>
                {picker(parts, error)}
                <button type="submit" class=BUTTON disabled=move || create.pending().get()>"Create API product"</button>
            </form>
        </PortalPage>
    }
}

/// An existing product's APIs and operations, editable; `save` stores the changed product.
pub(super) fn edit_operations(
    product: Api,
    error: RwSignal<Option<ServiceError>>,
    save: Action<Api, ()>,
) -> impl IntoView {
    let parts = RwSignal::new(Vec::<Part>::new());
    // Parts hold signals, so they are built in the browser (an effect runs after hydration).
    let fill = {
        let initial = product.settings.apis.clone();
        Action::new(move |_: &()| {
            let initial = initial.clone();
            async move {
                let mut out = Vec::new();
                for p in initial {
                    match load_part(p.api_id.clone(), Some(p.operations.clone())).await {
                        Ok(part) => out.push(part),
                        Err(e) => error.set(Some(e)),
                    }
                }
                parts.set(out);
            }
        })
    };
    Effect::new(move |_| {
        fill.dispatch(());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut a = product.clone();
        a.settings.apis = product_apis(&parts.get_untracked());
        save.dispatch(a);
    };
    view! {
        <form on:submit=submit class=format!("{CARD} max-w-3xl space-y-4")>
            {error_banner(error)}
            <Show when=move || fill.pending().get()>
                <p class="text-slate-500">"Loading the product's APIs…"</p>
            </Show>
            {picker(parts, error)}
            <button type="submit" class=BUTTON disabled=move || save.pending().get()>"Save operations"</button>
        </form>
    }
}
