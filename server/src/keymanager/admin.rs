//! Admin v4 `/key-managers`: list, add, edit, disable, remove third-party key managers (generic
//! OIDC with discovery from a well-known URL, and presets for Azure AD, Keycloak, Okta, Auth0,
//! WSO2 IS), role-based visibility, and the one global key manager (super admin only). The
//! resident key manager can be edited (display name, permissions, enabled) but not removed.

use std::time::Duration;

use app::applications::{Certificates, KeyManagerDto, Permissions, km_types as t};
use app::auth::scopes as s;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::{KM_COLUMNS, KeyManager, KmConfig, KmRow, parse_id, runtime};
use crate::error::{ApiError, FieldError, ResultExt};
use crate::publisher::Actor;

/// Ours, and WSO2's `apim:admin_operations` (its contract's scope for key managers).
pub const KM_ADMIN_SCOPES: &[&str] = &[s::KEY_MANAGERS_MANAGE, "apim:admin_operations", s::ADMIN];

/// Claims the gateway reads by default per provider: (consumer key, scopes).
fn claims_of(kind: &str) -> (&'static str, &'static str) {
    match kind {
        // v2.0 tokens carry `azp`, v1.0 ones `appid`; delegated scopes are in `scp`, application
        // permissions (client credentials) in `roles`.
        t::AZURE_AD => ("azp appid", "scp roles"),
        t::OKTA => ("cid", "scp"),
        _ => ("azp", "scope"),
    }
}

fn is_url(u: &str) -> bool {
    (u.starts_with("https://") || u.starts_with("http://")) && u.len() > 8 && !u.contains(' ')
}

fn prop<'a>(dto: &'a KeyManagerDto, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| {
        dto.additional_properties
            .get(*n)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    })
}

/// Fills issuer and endpoints a preset derives from its inputs (only what the admin left empty).
fn apply_preset(dto: &mut KeyManagerDto) -> Result<(), ApiError> {
    let set = |field: &mut Option<String>, value: String| {
        if field.as_deref().is_none_or(str::is_empty) {
            *field = Some(value);
        }
    };
    let mut jwks: Option<String> = None;
    match dto.kind.as_str() {
        t::AZURE_AD => {
            let tenant = prop(dto, &["tenantId", "tenant_id"]).ok_or_else(|| {
                ApiError::field(
                    "additionalProperties.tenantId",
                    "Azure AD needs the directory (tenant) id",
                )
            })?;
            if !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return Err(ApiError::field(
                    "additionalProperties.tenantId",
                    "a tenant id or domain",
                ));
            }
            let base = format!("https://login.microsoftonline.com/{tenant}");
            if dto.issuer.is_empty() {
                dto.issuer = format!("{base}/v2.0");
            }
            set(&mut dto.token_endpoint, format!("{base}/oauth2/v2.0/token"));
            set(
                &mut dto.authorize_endpoint,
                format!("{base}/oauth2/v2.0/authorize"),
            );
            set(
                &mut dto.well_known_endpoint,
                format!("{base}/v2.0/.well-known/openid-configuration"),
            );
            jwks = Some(format!("{base}/discovery/v2.0/keys"));
        }
        t::KEYCLOAK => {
            let server = prop(dto, &["serverUrl", "keycloakServerUrl"]);
            let realm = prop(dto, &["realm"]);
            if let (Some(server), Some(realm)) = (server, realm) {
                let issuer = format!("{}/realms/{realm}", server.trim_end_matches('/'));
                if dto.issuer.is_empty() {
                    dto.issuer = issuer.clone();
                }
                let oidc = format!("{issuer}/protocol/openid-connect");
                set(&mut dto.token_endpoint, format!("{oidc}/token"));
                set(&mut dto.revoke_endpoint, format!("{oidc}/revoke"));
                set(
                    &mut dto.introspection_endpoint,
                    format!("{oidc}/token/introspect"),
                );
                jwks = Some(format!("{oidc}/certs"));
            }
        }
        t::OKTA => {
            if let Some(domain) = prop(dto, &["domain", "oktaDomain"]) {
                let server = prop(dto, &["authorizationServerId"]).unwrap_or("default");
                let issuer = format!(
                    "https://{}/oauth2/{server}",
                    domain.trim_start_matches("https://")
                );
                if dto.issuer.is_empty() {
                    dto.issuer = issuer.clone();
                }
                set(&mut dto.token_endpoint, format!("{issuer}/v1/token"));
                set(&mut dto.revoke_endpoint, format!("{issuer}/v1/revoke"));
                set(
                    &mut dto.introspection_endpoint,
                    format!("{issuer}/v1/introspect"),
                );
                jwks = Some(format!("{issuer}/v1/keys"));
            }
        }
        t::AUTH0 => {
            if let Some(domain) = prop(dto, &["domain"]) {
                let base = format!("https://{}", domain.trim_start_matches("https://"));
                if dto.issuer.is_empty() {
                    dto.issuer = format!("{base}/");
                }
                set(&mut dto.token_endpoint, format!("{base}/oauth/token"));
                set(&mut dto.revoke_endpoint, format!("{base}/oauth/revoke"));
                jwks = Some(format!("{base}/.well-known/jwks.json"));
            }
        }
        _ => {}
    }
    if let Some(jwks) = jwks
        && dto.certificates.as_ref().is_none_or(|c| c.value.is_empty())
    {
        dto.certificates = Some(Certificates {
            kind: "JWKS".into(),
            value: jwks,
        });
    }
    let (ck, sc) = claims_of(&dto.kind);
    if dto.consumer_key_claim.as_deref().is_none_or(str::is_empty) {
        dto.consumer_key_claim = Some(ck.into());
    }
    if dto.scopes_claim.as_deref().is_none_or(str::is_empty) {
        dto.scopes_claim = Some(sc.into());
    }
    Ok(())
}

fn check(dto: &mut KeyManagerDto) -> Result<(), ApiError> {
    dto.name = dto.name.trim().to_string();
    if dto.name.is_empty() || dto.name.chars().count() > 100 {
        return Err(ApiError::field("name", "1 to 100 characters"));
    }
    if !t::ADDABLE.contains(&dto.kind.as_str()) {
        return Err(ApiError::field(
            "type",
            format!(
                "`{}` is not a key manager type; use one of {}",
                dto.kind,
                t::ADDABLE.join(", ")
            ),
        ));
    }
    if dto.issuer.trim().is_empty() {
        return Err(ApiError::field(
            "issuer",
            "is required (or give wellKnownEndpoint, or the preset's inputs)",
        ));
    }
    let jwks = dto
        .certificates
        .as_ref()
        .filter(|c| !c.value.trim().is_empty())
        .ok_or_else(|| {
            ApiError::field(
                "certificates",
                "give {\"type\": \"JWKS\", \"value\": \"<JWKS URL>\"} (or a wellKnownEndpoint)",
            )
        })?;
    if jwks.kind != "JWKS" {
        return Err(ApiError::field(
            "certificates.type",
            "only JWKS is supported (a URL the gateway fetches the keys from)",
        ));
    }
    if !is_url(jwks.value.trim()) {
        return Err(ApiError::field(
            "certificates.value",
            format!("`{}` is not an http(s) URL", jwks.value),
        ));
    }
    for (field, value) in [
        ("wellKnownEndpoint", &dto.well_known_endpoint),
        ("tokenEndpoint", &dto.token_endpoint),
        ("revokeEndpoint", &dto.revoke_endpoint),
        ("introspectionEndpoint", &dto.introspection_endpoint),
        ("userInfoEndpoint", &dto.user_info_endpoint),
        ("authorizeEndpoint", &dto.authorize_endpoint),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty())
            && !is_url(v)
        {
            return Err(ApiError::field(
                field,
                format!("`{v}` is not an http(s) URL"),
            ));
        }
    }
    if !["PUBLIC", "ALLOW", "DENY"].contains(&dto.permissions.permission_type.as_str()) {
        return Err(ApiError::field(
            "permissions.permissionType",
            "PUBLIC, ALLOW or DENY",
        ));
    }
    if dto.permissions.permission_type != "PUBLIC" && dto.permissions.roles.is_empty() {
        return Err(ApiError::field(
            "permissions.roles",
            "name the roles it is allowed or denied to",
        ));
    }
    if dto.available_grant_types.is_empty() {
        dto.available_grant_types = vec!["client_credentials".into()];
    }
    Ok(())
}

fn config_of(dto: &KeyManagerDto) -> KmConfig {
    KmConfig {
        signing_algorithm: None,
        well_known_endpoint: dto.well_known_endpoint.clone(),
        jwks_endpoint: dto
            .certificates
            .as_ref()
            .map(|c| c.value.trim().to_string()),
        token_endpoint: dto.token_endpoint.clone(),
        revoke_endpoint: dto.revoke_endpoint.clone(),
        introspection_endpoint: dto.introspection_endpoint.clone(),
        audiences: dto.audiences.clone(),
        consumer_key_claim: dto.consumer_key_claim.clone(),
        scopes_claim: dto.scopes_claim.clone(),
        available_grant_types: dto.available_grant_types.clone(),
        user_info_endpoint: dto.user_info_endpoint.clone(),
        authorize_endpoint: dto.authorize_endpoint.clone(),
        client_registration_endpoint: dto.client_registration_endpoint.clone(),
        additional_properties: dto.additional_properties.clone(),
    }
}

fn conflict_name(name: &str) -> ApiError {
    ApiError::Conflict {
        message: format!("A key manager named {name} exists"),
        errors: vec![FieldError::new("name", "taken")],
    }
}

impl KeyManager {
    fn to_dto(&self, k: &KmRow) -> KeyManagerDto {
        let c = &k.config.0;
        let info = self.info(k);
        KeyManagerDto {
            id: Some(k.id.to_string()),
            name: k.name.clone(),
            display_name: info.display_name,
            kind: k.kind.clone(),
            description: k.description.clone(),
            well_known_endpoint: c.well_known_endpoint.clone(),
            introspection_endpoint: if k.is_resident() {
                Some(format!("{}/oauth2/introspect", self.public_url))
            } else {
                c.introspection_endpoint.clone()
            },
            client_registration_endpoint: c.client_registration_endpoint.clone(),
            token_endpoint: Some(info.token_endpoint),
            revoke_endpoint: Some(info.revoke_endpoint),
            user_info_endpoint: c.user_info_endpoint.clone(),
            authorize_endpoint: c.authorize_endpoint.clone(),
            certificates: Some(Certificates {
                kind: "JWKS".into(),
                value: if k.is_resident() {
                    format!("{}/oauth2/jwks", self.public_url)
                } else {
                    c.jwks_endpoint.clone().unwrap_or_default()
                },
            }),
            issuer: k.issuer.clone(),
            alias: None,
            available_grant_types: c.available_grant_types.clone(),
            enable_token_generation: info.enable_token_generation,
            enable_map_o_auth_consumer_apps: info.enable_map_o_auth_consumer_apps,
            enable_o_auth_app_creation: info.enable_o_auth_app_creation,
            enable_self_validation_jwt: true,
            consumer_key_claim: c.consumer_key_claim.clone(),
            scopes_claim: c.scopes_claim.clone(),
            enabled: k.enabled,
            additional_properties: {
                let mut props = c.additional_properties.clone();
                if let Some(alg) = &c.signing_algorithm {
                    props.insert("signingAlgorithm".into(), Value::String(alg.clone()));
                }
                props
            },
            permissions: serde_json::from_value(k.permissions.0.clone()).unwrap_or_default(),
            token_type: "DIRECT".into(),
            audiences: c.audiences.clone(),
            global: k.global,
        }
    }

    /// The organization's key managers and the global one.
    pub async fn admin_list(&self, actor: &Actor) -> Result<Vec<KeyManagerDto>, ApiError> {
        actor.require(KM_ADMIN_SCOPES)?;
        let rows: Vec<KmRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {KM_COLUMNS} FROM key_manager k JOIN organization o ON o.id = k.organization_id
              WHERE o.name = $1 OR k.global ORDER BY k.type <> 'Default', k.name"
        )))
        .bind(&actor.organization)
        .fetch_all(&self.db)
        .await?;
        Ok(rows.iter().map(|k| self.to_dto(k)).collect())
    }

    /// A key manager of the actor's organization (the global one only for the super admin).
    async fn admin_row(&self, actor: &Actor, id: &str) -> Result<KmRow, ApiError> {
        let uuid = parse_id(id, "Key manager")?;
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {KM_COLUMNS} FROM key_manager k JOIN organization o ON o.id = k.organization_id
              WHERE k.id = $1 AND o.name = $2"
        )))
        .bind(uuid)
        .bind(&actor.organization)
        .fetch_optional(&self.db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Key manager {id} not found")))
    }

    pub async fn admin_get(&self, actor: &Actor, id: &str) -> Result<KeyManagerDto, ApiError> {
        actor.require(KM_ADMIN_SCOPES)?;
        Ok(self.to_dto(&self.admin_row(actor, id).await?))
    }

    fn may_mark_global(&self, actor: &Actor) -> Result<(), ApiError> {
        if actor.has(s::ADMIN) && actor.organization == self.default_organization {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "Only a super admin (apim:admin in the default organization) marks a key manager global"
                    .into(),
            ))
        }
    }

    /// Reads a provider's discovery document into a key manager (`POST /key-managers/discover`).
    pub async fn discover(
        &self,
        actor: &Actor,
        url: &str,
        kind: &str,
    ) -> Result<KeyManagerDto, ApiError> {
        actor.require(KM_ADMIN_SCOPES)?;
        if !is_url(url.trim()) {
            return Err(ApiError::field(
                "url",
                format!("`{url}` is not an http(s) URL"),
            ));
        }
        let body =
            crate::publisher::fetch::fetch(url.trim(), 1 << 20, Duration::from_secs(10)).await?;
        let doc: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::field("url", format!("not a JSON discovery document: {e}")))?;
        let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
        let issuer = text("issuer")
            .ok_or_else(|| ApiError::field("url", "the discovery document has no issuer"))?;
        let jwks = text("jwks_uri")
            .ok_or_else(|| ApiError::field("url", "the discovery document has no jwks_uri"))?;
        let kind = if kind.is_empty() { t::OIDC } else { kind };
        let (ck, sc) = claims_of(kind);
        Ok(KeyManagerDto {
            kind: kind.into(),
            issuer,
            well_known_endpoint: Some(url.trim().to_string()),
            token_endpoint: text("token_endpoint"),
            revoke_endpoint: text("revocation_endpoint"),
            introspection_endpoint: text("introspection_endpoint"),
            user_info_endpoint: text("userinfo_endpoint"),
            authorize_endpoint: text("authorization_endpoint"),
            client_registration_endpoint: text("registration_endpoint"),
            certificates: Some(Certificates {
                kind: "JWKS".into(),
                value: jwks,
            }),
            available_grant_types: doc
                .get("grant_types_supported")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_else(|| vec!["client_credentials".into()]),
            consumer_key_claim: Some(ck.into()),
            scopes_claim: Some(sc.into()),
            enabled: true,
            enable_map_o_auth_consumer_apps: true,
            token_type: "DIRECT".into(),
            ..KeyManagerDto::default()
        })
    }

    /// Fills what discovery or a preset provides, then checks the whole.
    async fn complete(
        &self,
        actor: &Actor,
        mut dto: KeyManagerDto,
    ) -> Result<KeyManagerDto, ApiError> {
        if dto.issuer.trim().is_empty()
            && let Some(url) = dto.well_known_endpoint.clone().filter(|u| !u.is_empty())
        {
            let found = self.discover(actor, &url, &dto.kind).await?;
            dto.issuer = found.issuer;
            for (mine, theirs) in [
                (&mut dto.token_endpoint, found.token_endpoint),
                (&mut dto.revoke_endpoint, found.revoke_endpoint),
                (
                    &mut dto.introspection_endpoint,
                    found.introspection_endpoint,
                ),
                (&mut dto.user_info_endpoint, found.user_info_endpoint),
                (&mut dto.authorize_endpoint, found.authorize_endpoint),
            ] {
                if mine.as_deref().is_none_or(str::is_empty) {
                    *mine = theirs;
                }
            }
            if dto.certificates.as_ref().is_none_or(|c| c.value.is_empty()) {
                dto.certificates = found.certificates;
            }
        }
        apply_preset(&mut dto)?;
        dto.issuer = dto.issuer.trim().to_string();
        check(&mut dto)?;
        Ok(dto)
    }

    pub async fn admin_create(
        &self,
        actor: &Actor,
        dto: KeyManagerDto,
    ) -> Result<KeyManagerDto, ApiError> {
        actor.require(KM_ADMIN_SCOPES)?;
        if dto.global {
            self.may_mark_global(actor)?;
        }
        let dto = self.complete(actor, dto).await?;
        let mut tx = self.db.begin().await?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO key_manager (organization_id, name, display_name, type, description,
                    enabled, global, issuer, config, permissions)
             SELECT o.id, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM organization o WHERE o.name = $1
             RETURNING id",
        )
        .bind(&actor.organization)
        .bind(&dto.name)
        .bind(&dto.display_name)
        .bind(&dto.kind)
        .bind(&dto.description)
        .bind(dto.enabled)
        .bind(dto.global)
        .bind(&dto.issuer)
        .bind(Json(config_of(&dto)))
        .bind(Json(&dto.permissions))
        .fetch_one(&mut *tx)
        .await
        .on_constraint("key_manager_name_key", || conflict_name(&dto.name))
        .on_constraint("key_manager_one_global", || {
            ApiError::field("global", "another key manager is global already")
        })?;
        super::audit(
            &mut tx,
            actor,
            "key_manager.create",
            "key_manager",
            &id.to_string(),
        )
        .await?;
        runtime::bump_all(&mut tx).await?;
        tx.commit().await?;
        self.admin_get(actor, &id.to_string()).await
    }

    pub async fn admin_update(
        &self,
        actor: &Actor,
        id: &str,
        dto: KeyManagerDto,
    ) -> Result<KeyManagerDto, ApiError> {
        actor.require(KM_ADMIN_SCOPES)?;
        let row = self.admin_row(actor, id).await?;
        if dto.global != row.global {
            self.may_mark_global(actor)?;
        }
        let mut tx = self.db.begin().await?;
        if row.is_resident() {
            // Its endpoints are this server's; what an admin controls is who sees it.
            let mut permissions = dto.permissions.clone();
            if permissions.permission_type.is_empty() {
                permissions = Permissions::default();
            }
            if !["PUBLIC", "ALLOW", "DENY"].contains(&permissions.permission_type.as_str()) {
                return Err(ApiError::field(
                    "permissions.permissionType",
                    "PUBLIC, ALLOW or DENY",
                ));
            }
            // The algorithm of its tokens: `additionalProperties.signingAlgorithm`.
            let mut config = row.config.0.clone();
            match dto.additional_properties.get("signingAlgorithm") {
                None => {}
                Some(Value::String(a)) if a == "RS256" || a == "ES256" => {
                    config.signing_algorithm = Some(a.clone());
                }
                Some(other) => {
                    return Err(ApiError::field(
                        "additionalProperties.signingAlgorithm",
                        format!("{other}: RS256 or ES256"),
                    ));
                }
            }
            sqlx::query(
                "UPDATE key_manager SET display_name = $2, description = $3, permissions = $4,
                        config = $5, updated_at = now() WHERE id = $1",
            )
            .bind(row.id)
            .bind(&dto.display_name)
            .bind(&dto.description)
            .bind(Json(&permissions))
            .bind(Json(&config))
            .execute(&mut *tx)
            .await?;
        } else {
            let mut dto = dto;
            dto.kind = row.kind.clone();
            let dto = self.complete(actor, dto).await?;
            sqlx::query(
                "UPDATE key_manager SET name = $2, display_name = $3, description = $4,
                        enabled = $5, global = $6, issuer = $7, config = $8, permissions = $9,
                        updated_at = now() WHERE id = $1",
            )
            .bind(row.id)
            .bind(&dto.name)
            .bind(&dto.display_name)
            .bind(&dto.description)
            .bind(dto.enabled)
            .bind(dto.global)
            .bind(&dto.issuer)
            .bind(Json(config_of(&dto)))
            .bind(Json(&dto.permissions))
            .execute(&mut *tx)
            .await
            .on_constraint("key_manager_name_key", || conflict_name(&dto.name))
            .on_constraint("key_manager_one_global", || {
                ApiError::field("global", "another key manager is global already")
            })?;
        }
        super::audit(&mut tx, actor, "key_manager.update", "key_manager", id).await?;
        runtime::bump_all(&mut tx).await?;
        tx.commit().await?;
        self.admin_get(actor, id).await
    }

    /// Removes a third-party key manager and the application keys mapped to it.
    pub async fn admin_delete(&self, actor: &Actor, id: &str) -> Result<(), ApiError> {
        actor.require(KM_ADMIN_SCOPES)?;
        let row = self.admin_row(actor, id).await?;
        if row.is_resident() {
            return Err(ApiError::field(
                "id",
                "the resident key manager cannot be removed (disable it by permissions instead)",
            ));
        }
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM key_manager WHERE id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        super::audit(&mut tx, actor, "key_manager.delete", "key_manager", id).await?;
        runtime::bump_all(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_preset_derives_issuer_jwks_and_claims() {
        let mut dto = KeyManagerDto {
            name: "Azure".into(),
            kind: t::AZURE_AD.into(),
            ..KeyManagerDto::default()
        };
        dto.additional_properties
            .insert("tenantId".into(), Value::String("contoso-tenant".into()));
        apply_preset(&mut dto).unwrap();
        check(&mut dto).unwrap();
        assert_eq!(
            dto.issuer,
            "https://login.microsoftonline.com/contoso-tenant/v2.0"
        );
        assert_eq!(
            dto.certificates.unwrap().value,
            "https://login.microsoftonline.com/contoso-tenant/discovery/v2.0/keys"
        );
        assert_eq!(dto.consumer_key_claim.as_deref(), Some("azp appid"));
        assert_eq!(dto.scopes_claim.as_deref(), Some("scp roles"));
    }

    #[test]
    fn presets_need_their_inputs() {
        let mut dto = KeyManagerDto {
            name: "Azure".into(),
            kind: t::AZURE_AD.into(),
            ..KeyManagerDto::default()
        };
        let e = apply_preset(&mut dto).unwrap_err();
        assert!(e.to_string().contains("tenantId"), "{e}");
        let mut okta = KeyManagerDto {
            name: "Okta".into(),
            kind: t::OKTA.into(),
            ..KeyManagerDto::default()
        };
        okta.additional_properties
            .insert("domain".into(), Value::String("dev-1.okta.com".into()));
        apply_preset(&mut okta).unwrap();
        assert_eq!(okta.issuer, "https://dev-1.okta.com/oauth2/default");
        assert_eq!(okta.consumer_key_claim.as_deref(), Some("cid"));
        let mut kc = KeyManagerDto {
            name: "KC".into(),
            kind: t::KEYCLOAK.into(),
            ..KeyManagerDto::default()
        };
        kc.additional_properties.insert(
            "serverUrl".into(),
            Value::String("https://kc.example/".into()),
        );
        kc.additional_properties
            .insert("realm".into(), Value::String("acme".into()));
        apply_preset(&mut kc).unwrap();
        assert_eq!(kc.issuer, "https://kc.example/realms/acme");
        assert_eq!(
            kc.certificates.unwrap().value,
            "https://kc.example/realms/acme/protocol/openid-connect/certs"
        );
        let mut bad = KeyManagerDto {
            name: "X".into(),
            kind: "Mystery".into(),
            issuer: "https://x".into(),
            ..KeyManagerDto::default()
        };
        let e = check(&mut bad).unwrap_err();
        assert!(e.to_string().contains("type"), "{e}");
    }
}
