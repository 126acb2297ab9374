//! Admin portal: key managers. The list (type, issuer, who may use it, enabled, global), a form
//! that asks for what each type needs (a generic OIDC provider's discovery URL or issuer and
//! JWKS; Azure AD's tenant; Keycloak's server and realm; Okta's and Auth0's domain), enable /
//! disable, and removal. The server checks everything again (Admin v4 `/key-managers`).

use leptos::prelude::*;

use crate::api::{KmAdmin, KmAdminReply, ServiceError, km_admin_call};
use crate::applications::{Certificates, KeyManagerDto, Permissions};
use crate::components::{Change, EmptyState};
use crate::pages::publisher::{
    BUTTON, BUTTON_LIGHT, CARD, INPUT, LABEL, error_banner, field_error,
};

async fn run(call: KmAdmin) -> Result<KmAdminReply, ServiceError> {
    crate::api::reached(km_admin_call(call).await)
}

/// The types offered, with the fields each needs.
const KINDS: &[(&str, &str)] = &[
    ("OIDC", "Generic OpenID Connect"),
    ("AzureAD", "Azure AD / Entra ID"),
    ("KeyCloak", "Keycloak"),
    ("Okta", "Okta"),
    ("Auth0", "Auth0"),
];

#[component]
pub fn KeyManagers() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new_blocking(move || version.get(), |_| run(KmAdmin::List));
    let change = Change::new(run, version);
    let (act, error) = (change.act, change.error);
    // The form.
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("OIDC".to_string());
    let well_known = RwSignal::new(String::new());
    let issuer = RwSignal::new(String::new());
    let jwks = RwSignal::new(String::new());
    let tenant = RwSignal::new(String::new());
    let server_url = RwSignal::new(String::new());
    let realm = RwSignal::new(String::new());
    let domain = RwSignal::new(String::new());
    let roles = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut props = serde_json::Map::new();
        let mut put = |k: &str, v: RwSignal<String>| {
            let v = v.get_untracked();
            if !v.trim().is_empty() {
                props.insert(k.into(), v.trim().into());
            }
        };
        match kind.get_untracked().as_str() {
            "AzureAD" => put("tenantId", tenant),
            "KeyCloak" => {
                put("serverUrl", server_url);
                put("realm", realm);
            }
            "Okta" | "Auth0" => put("domain", domain),
            _ => {}
        }
        let role_list: Vec<String> = roles
            .get_untracked()
            .split(',')
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        let n = name.get_untracked();
        let dto = KeyManagerDto {
            name: n.clone(),
            display_name: n.clone(),
            kind: kind.get_untracked(),
            well_known_endpoint: Some(well_known.get_untracked()).filter(|w| !w.trim().is_empty()),
            issuer: issuer.get_untracked(),
            certificates: Some(jwks.get_untracked())
                .filter(|j| !j.trim().is_empty())
                .map(|value| Certificates {
                    kind: "JWKS".into(),
                    value,
                }),
            enabled: true,
            additional_properties: props,
            permissions: Permissions {
                permission_type: if role_list.is_empty() {
                    "PUBLIC".into()
                } else {
                    "ALLOW".into()
                },
                roles: role_list,
            },
            ..Default::default()
        };
        error.set(None);
        act.dispatch((
            KmAdmin::Save(Box::new(dto)),
            format!("Key manager {n} added."),
        ));
    };
    let shown = move |k: &'static [&'static str]| move || k.contains(&kind.get().as_str());
    view! {
        {error_banner(error)}
        {change.notice_view()}
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading key managers…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(KmAdminReply::List(list)) if list.is_empty() => view! {
                        <EmptyState title="No key managers" detail="Add the identity providers whose tokens your gateways should accept."/>
                    }.into_any(),
                    Ok(KmAdminReply::List(list)) => view! {
                        <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
                            <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="key-managers">
                                <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500"><tr>
                                    <th class="px-4 py-2">"Name"</th><th class="px-4 py-2">"Type"</th><th class="px-4 py-2">"Issuer"</th>
                                    <th class="px-4 py-2">"Who may use it"</th><th class="px-4 py-2">"State"</th><th class="px-4 py-2"></th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100">
                                    {list.into_iter().map(|k| km_row(k, act)).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                    Ok(_) => ().into_any(),
                    Err(e) => view! { <p class="text-rose-600">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <form class=format!("{CARD} mt-6 grid gap-4 sm:grid-cols-2") on:submit=submit data-testid="add-key-manager">
            <h2 class="font-semibold sm:col-span-2">"Add a key manager"</h2>
            <div>
                <label class=LABEL for="km-name">"Name"</label>
                <input id="km-name" class=INPUT bind:value=name required placeholder="Partner IdP"/>
                {field_error(error, "name")}
            </div>
            <div>
                <label class=LABEL for="km-type">"Type"</label>
                <select id="km-type" class=INPUT on:change=move |ev| kind.set(event_target_value(&ev))>
                    {KINDS.iter().map(|(k, label)| view! { <option value=*k>{*label}</option> }).collect_view()}
                </select>
            </div>
            <Show when=shown(&["OIDC"])>
                <div class="sm:col-span-2">
                    <label class=LABEL for="km-well-known">"Discovery URL (.well-known/openid-configuration), or the issuer and JWKS below"</label>
                    <input id="km-well-known" class=INPUT bind:value=well_known placeholder="https://idp.example.com/.well-known/openid-configuration"/>
                    {field_error(error, "wellKnownEndpoint")}
                </div>
                <div>
                    <label class=LABEL for="km-issuer">"Issuer"</label>
                    <input id="km-issuer" class=INPUT bind:value=issuer/>
                    {field_error(error, "issuer")}
                </div>
                <div>
                    <label class=LABEL for="km-jwks">"JWKS URL"</label>
                    <input id="km-jwks" class=INPUT bind:value=jwks/>
                    {field_error(error, "certificates")}
                </div>
            </Show>
            <Show when=shown(&["AzureAD"])>
                <div>
                    <label class=LABEL for="km-tenant">"Tenant id"</label>
                    <input id="km-tenant" class=INPUT bind:value=tenant/>
                    {field_error(error, "additionalProperties.tenantId")}
                </div>
            </Show>
            <Show when=shown(&["KeyCloak"])>
                <div>
                    <label class=LABEL for="km-server">"Server URL"</label>
                    <input id="km-server" class=INPUT bind:value=server_url placeholder="https://keycloak.example.com"/>
                    {field_error(error, "additionalProperties.serverUrl")}
                </div>
                <div>
                    <label class=LABEL for="km-realm">"Realm"</label>
                    <input id="km-realm" class=INPUT bind:value=realm/>
                    {field_error(error, "additionalProperties.realm")}
                </div>
            </Show>
            <Show when=shown(&["Okta", "Auth0"])>
                <div>
                    <label class=LABEL for="km-domain">"Domain"</label>
                    <input id="km-domain" class=INPUT bind:value=domain placeholder="example.okta.com"/>
                    {field_error(error, "additionalProperties.domain")}
                </div>
            </Show>
            <div class="sm:col-span-2">
                <label class=LABEL for="km-roles">"Only these roles may use it (comma-separated; empty: everyone)"</label>
                <input id="km-roles" class=INPUT bind:value=roles placeholder="subscriber"/>
            </div>
            <div class="sm:col-span-2">
                <button type="submit" class=BUTTON disabled=move || act.pending().get()>"Add key manager"</button>
            </div>
        </form>
    }
}

fn km_row(
    k: KeyManagerDto,
    act: Action<(KmAdmin, String), Result<String, ServiceError>>,
) -> impl IntoView {
    let id = k.id.clone().unwrap_or_default();
    let resident = k.kind == "Default";
    let who = if k.permissions.permission_type == "PUBLIC" || k.permissions.roles.is_empty() {
        "everyone".to_string()
    } else {
        format!(
            "{} {}",
            if k.permissions.permission_type == "DENY" {
                "all but"
            } else {
                "only"
            },
            k.permissions.roles.join(", ")
        )
    };
    let toggle = {
        let (id, name, enabled) = (id.clone(), k.name.clone(), k.enabled);
        move |_| {
            act.dispatch((
                KmAdmin::SetEnabled {
                    id: id.clone(),
                    enabled: !enabled,
                },
                format!("{name} {}.", if enabled { "disabled" } else { "enabled" }),
            ));
        }
    };
    let remove = {
        let (id, name) = (id.clone(), k.name.clone());
        move |_| {
            #[cfg(feature = "hydrate")]
            if !window()
                .confirm_with_message(&format!(
                    "Remove {name}? Tokens it issued stop working at the gateways."
                ))
                .unwrap_or(false)
            {
                return;
            }
            act.dispatch((
                KmAdmin::Delete { id: id.clone() },
                format!("{name} removed."),
            ));
        }
    };
    view! {
        <tr data-key-manager=k.name.clone()>
            <td class="px-4 py-2 font-medium">{k.display_name.clone()}{k.global.then_some(" (global)")}</td>
            <td class="px-4 py-2">{k.kind.clone()}</td>
            <td class="px-4 py-2 break-all font-mono text-xs">{k.issuer.clone()}</td>
            <td class="px-4 py-2">{who}</td>
            <td class="px-4 py-2" data-testid="km-state">{if k.enabled { "enabled" } else { "disabled" }}</td>
            <td class="px-4 py-2">
                <div class="flex gap-2">
                    <button type="button" class=BUTTON_LIGHT on:click=toggle>{if k.enabled { "Disable" } else { "Enable" }}</button>
                    {(!resident).then(|| view! { <button type="button" class=BUTTON_LIGHT on:click=remove>"Remove"</button> })}
                </div>
            </td>
        </tr>
    }
}
