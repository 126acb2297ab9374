//! The Admin portal's settings: API categories, the organization's own settings (lifecycle
//! transitions switched off, self sign-up, categories required), organizations (super admin:
//! `apim:admin` in the default organization), the scope-role mapping (`PUT /system-scopes`)
//! and role aliases. Every change is validated whole before anything is written and is audited
//! in its transaction.

use app::auth::scopes as s;
use app::publisher::lifecycle;
use app::settings::{
    ApiCategory, NewOrganization, OrgSettings, Organization, RoleAlias, SettingsCall, SettingsReply,
};
use serde_json::json;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::{ApiError, FieldError, ResultExt};
use crate::publisher::validate::Problems;
use crate::publisher::{Actor, time};

/// Categories: WSO2 asks for `apim:admin` or `apim:admin_operations`; ours add the section's
/// own `apim:api_category`.
pub const CATEGORY_SCOPES: &[&str] = &[s::API_CATEGORY, s::ADMIN, s::ADMIN_OPERATIONS];
/// The organization's settings.
pub const SETTINGS_SCOPES: &[&str] = &[s::ADMIN_SETTINGS, s::ADMIN];
/// The scope-role mapping and role aliases (WSO2's `/system-scopes`).
pub const SCOPE_SCOPES: &[&str] = &[s::SCOPE_MANAGE, s::ADMIN];

/// (id, name, display name, enabled, users, APIs, created).
type OrganizationRow = (
    Uuid,
    String,
    String,
    bool,
    i64,
    i64,
    chrono::DateTime<chrono::Utc>,
);

/// The services of this module over one organization's data.
pub struct AdminSettings<'a> {
    pub db: &'a PgPool,
    /// The super organization: only its `apim:admin` holders manage organizations.
    pub super_organization: &'a str,
    /// `ensure_resident_in` for a new organization's key manager.
    pub km: &'a crate::keymanager::KeyManager,
}

async fn organization_id(conn: &mut PgConnection, name: &str) -> Result<Uuid, ApiError> {
    sqlx::query_scalar("SELECT id FROM organization WHERE name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Organization {name} not found")))
}

/// The organization's settings as stored (defaults where nothing is stored).
pub async fn org_settings(
    conn: &mut PgConnection,
    organization: &str,
) -> sqlx::Result<OrgSettings> {
    let row: Option<(String, Json<serde_json::Value>)> =
        sqlx::query_as("SELECT display_name, settings FROM organization WHERE name = $1")
            .bind(organization)
            .fetch_optional(conn)
            .await?;
    Ok(match row {
        Some((display_name, Json(v))) => OrgSettings {
            display_name,
            ..serde_json::from_value(v).unwrap_or_default()
        },
        None => OrgSettings::default(),
    })
}

/// Every category of `organization` with its number of APIs. Readable by whoever works with
/// APIs (the Publisher's picker, the Developer Portal's filter): scope checks are the caller's.
pub async fn category_list(db: &PgPool, organization: &str) -> Result<Vec<ApiCategory>, ApiError> {
    let rows: Vec<(Uuid, String, String, i64)> = sqlx::query_as(
        "SELECT c.id, c.name, c.description,
                (SELECT count(*) FROM api a
                  WHERE a.organization_id = c.organization_id
                    AND a.settings->'categories' ? c.name)
           FROM api_category c JOIN organization o ON o.id = c.organization_id
          WHERE o.name = $1 ORDER BY lower(c.name)",
    )
    .bind(organization)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, description, n)| ApiCategory {
            id: id.to_string(),
            name,
            description,
            number_of_apis: n,
        })
        .collect())
}

fn check_category(c: &mut ApiCategory) -> Result<(), ApiError> {
    let mut p = Problems::default();
    c.name = c.name.trim().to_string();
    c.description = c.description.trim().to_string();
    if c.name.is_empty() || c.name.chars().count() > 255 {
        p.add("name", "is required (1 to 255 characters)");
    } else if c.name.contains([',', '<', '>', '"']) {
        p.add("name", "must not contain , < > or \"");
    }
    if c.description.chars().count() > 1024 {
        p.add("description", "at most 1,024 characters");
    }
    p.into_result()
}

fn check_org_settings(sent: &mut OrgSettings) -> Result<(), ApiError> {
    let mut p = Problems::default();
    sent.display_name = sent.display_name.trim().to_string();
    if sent.display_name.is_empty() || sent.display_name.chars().count() > 255 {
        p.add("displayName", "is required (1 to 255 characters)");
    }
    for (i, t) in sent.disabled_transitions.iter_mut().enumerate() {
        t.event = t.event.trim().to_string();
        match lifecycle::TRANSITIONS
            .iter()
            .find(|(from, e, _)| *from == t.from && e.eq_ignore_ascii_case(&t.event))
        {
            Some((_, e, _)) => t.event = e.to_string(),
            None => p.add(
                &format!("disabledTransitions[{i}]"),
                format!("the lifecycle has no event `{}` from `{}`", t.event, t.from),
            ),
        }
    }
    sent.disabled_transitions.sort();
    sent.disabled_transitions.dedup();
    p.into_result()
}

/// Organization names appear in user names (`user@org`) and URLs.
fn check_new_organization(o: &mut NewOrganization) -> Result<(), ApiError> {
    let mut p = Problems::default();
    o.name = o.name.trim().to_ascii_lowercase();
    o.display_name = o.display_name.trim().to_string();
    o.admin_username = o.admin_username.trim().to_string();
    let name_ok = (2..=63).contains(&o.name.len())
        && o.name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !o.name.starts_with(['-', '.'])
        && !o.name.ends_with(['-', '.']);
    if !name_ok {
        p.add(
            "name",
            "2 to 63 letters, digits, - and . (not first or last), like a domain name",
        );
    }
    if o.display_name.is_empty() {
        o.display_name = o.name.clone();
    }
    if o.display_name.chars().count() > 255 {
        p.add("displayName", "at most 255 characters");
    }
    let user_ok = !o.admin_username.is_empty()
        && o.admin_username.len() <= 100
        && !o.admin_username.contains('@')
        && !o.admin_username.chars().any(char::is_whitespace);
    if !user_ok {
        p.add(
            "adminUsername",
            "is required: up to 100 characters, no spaces and no @ (users sign in as name@organization)",
        );
    }
    let n = o.admin_password.chars().count();
    if !(8..=1024).contains(&n) {
        p.add("adminPassword", "8 to 1024 characters");
    }
    p.into_result()
}

impl AdminSettings<'_> {
    fn require_super(&self, actor: &Actor) -> Result<(), ApiError> {
        if actor.is_admin() && actor.organization == self.super_organization {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "Only a super admin (apim:admin in the organization {}) manages organizations",
                self.super_organization
            )))
        }
    }

    pub async fn call(&self, actor: &Actor, call: SettingsCall) -> Result<SettingsReply, ApiError> {
        use SettingsCall as C;
        use SettingsReply as R;
        Ok(match call {
            C::Categories => R::Categories(self.categories(actor).await?),
            C::SaveCategory(c) => R::Category(if c.id.trim().is_empty() {
                self.create_category(actor, c).await?
            } else {
                let id = c.id.clone();
                self.update_category(actor, &id, c).await?
            }),
            C::DeleteCategory { id } => {
                self.delete_category(actor, &id).await?;
                R::Done
            }
            C::OrgSettings => R::OrgSettings(self.settings(actor).await?),
            C::SaveOrgSettings(sent) => R::OrgSettings(self.save_settings(actor, sent).await?),
            C::Organizations => R::Organizations(self.organizations(actor).await?),
            C::CreateOrganization(o) => {
                self.create_organization(actor, o).await?;
                R::Done
            }
            C::SetOrganizationEnabled { name, enabled } => {
                self.set_organization(actor, &name, None, Some(enabled))
                    .await?;
                R::Done
            }
            C::RoleAliases => R::RoleAliases(self.role_aliases(actor).await?),
            C::SaveRoleAliases(list) => R::RoleAliases(self.save_role_aliases(actor, list).await?),
        })
    }

    // ----- API categories -------------------------------------------------------------------

    /// Every category of the organization with its number of APIs.
    pub async fn category_list(&self, organization: &str) -> Result<Vec<ApiCategory>, ApiError> {
        category_list(self.db, organization).await
    }

    pub async fn categories(&self, actor: &Actor) -> Result<Vec<ApiCategory>, ApiError> {
        actor.require(CATEGORY_SCOPES)?;
        self.category_list(&actor.organization).await
    }

    async fn category(&self, actor: &Actor, id: &str) -> Result<ApiCategory, ApiError> {
        self.category_list(&actor.organization)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| ApiError::NotFound(format!("API category {id} not found")))
    }

    pub async fn create_category(
        &self,
        actor: &Actor,
        mut c: ApiCategory,
    ) -> Result<ApiCategory, ApiError> {
        actor.require(CATEGORY_SCOPES)?;
        check_category(&mut c)?;
        let mut tx = self.db.begin().await?;
        let org = organization_id(&mut tx, &actor.organization).await?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO api_category (organization_id, name, description) VALUES ($1, $2, $3)
             RETURNING id",
        )
        .bind(org)
        .bind(&c.name)
        .bind(&c.description)
        .fetch_one(&mut *tx)
        .await
        .on_constraint("api_category_name_key", || taken(&c.name))?;
        crate::keymanager::audit(&mut tx, actor, "category.create", "category", &c.name).await?;
        tx.commit().await?;
        self.category(actor, &id.to_string()).await
    }

    /// Renaming a category renames it in every API of the organization, in the same
    /// transaction (WSO2 refuses to rename a category in use; we carry the APIs along).
    pub async fn update_category(
        &self,
        actor: &Actor,
        id: &str,
        mut c: ApiCategory,
    ) -> Result<ApiCategory, ApiError> {
        actor.require(CATEGORY_SCOPES)?;
        check_category(&mut c)?;
        let uuid = Uuid::parse_str(id.trim())
            .map_err(|_| ApiError::NotFound(format!("API category {id} not found")))?;
        let mut tx = self.db.begin().await?;
        let old: Option<(Uuid, String)> = sqlx::query_as(
            "SELECT c.organization_id, c.name FROM api_category c
               JOIN organization o ON o.id = c.organization_id
              WHERE c.id = $1 AND o.name = $2 FOR UPDATE OF c",
        )
        .bind(uuid)
        .bind(&actor.organization)
        .fetch_optional(&mut *tx)
        .await?;
        let (org, old_name) =
            old.ok_or_else(|| ApiError::NotFound(format!("API category {id} not found")))?;
        sqlx::query("UPDATE api_category SET name = $2, description = $3 WHERE id = $1")
            .bind(uuid)
            .bind(&c.name)
            .bind(&c.description)
            .execute(&mut *tx)
            .await
            .on_constraint("api_category_name_key", || taken(&c.name))?;
        if old_name != c.name {
            sqlx::query(
                "UPDATE api SET settings = jsonb_set(settings, '{categories}',
                        (SELECT coalesce(jsonb_agg(CASE WHEN x = $2 THEN $3 ELSE x END), '[]'::jsonb)
                           FROM jsonb_array_elements_text(settings->'categories') x))
                  WHERE organization_id = $1 AND settings->'categories' ? $2",
            )
            .bind(org)
            .bind(&old_name)
            .bind(&c.name)
            .execute(&mut *tx)
            .await?;
        }
        crate::audit::change_with_detail(
            &mut tx,
            &actor.organization,
            &actor.username,
            "category.update",
            "category",
            &c.name,
            json!({ "previousName": old_name, "description": c.description }),
        )
        .await?;
        tx.commit().await?;
        self.category(actor, id).await
    }

    /// A category still used by APIs stays (409 naming how many), as in WSO2.
    pub async fn delete_category(&self, actor: &Actor, id: &str) -> Result<(), ApiError> {
        actor.require(CATEGORY_SCOPES)?;
        let c = self.category(actor, id).await?;
        if c.number_of_apis > 0 {
            return Err(ApiError::Conflict {
                message: format!(
                    "The category {} is used by {} API(s); remove it from them first",
                    c.name, c.number_of_apis
                ),
                errors: vec![FieldError::new("apiCategoryId", "in use")],
            });
        }
        let mut tx = self.db.begin().await?;
        // Checked again inside the transaction: an API may have taken it meanwhile.
        let gone = sqlx::query(
            "DELETE FROM api_category c WHERE c.id = $1::uuid
                AND NOT EXISTS (SELECT 1 FROM api a WHERE a.organization_id = c.organization_id
                                   AND a.settings->'categories' ? c.name)",
        )
        .bind(&c.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if gone == 0 {
            return Err(ApiError::Conflict {
                message: format!("The category {} was just given to an API", c.name),
                errors: vec![FieldError::new("apiCategoryId", "in use")],
            });
        }
        crate::keymanager::audit(&mut tx, actor, "category.delete", "category", &c.name).await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- The organization's settings ------------------------------------------------------

    pub async fn settings(&self, actor: &Actor) -> Result<OrgSettings, ApiError> {
        actor.require(SETTINGS_SCOPES)?;
        let mut conn = self.db.acquire().await?;
        Ok(org_settings(&mut conn, &actor.organization).await?)
    }

    pub async fn save_settings(
        &self,
        actor: &Actor,
        mut sent: OrgSettings,
    ) -> Result<OrgSettings, ApiError> {
        actor.require(SETTINGS_SCOPES)?;
        check_org_settings(&mut sent)?;
        let mut stored = serde_json::to_value(&sent).map_err(anyhow::Error::from)?;
        if let Some(map) = stored.as_object_mut() {
            // Kept in its own column.
            map.remove("displayName");
        }
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "UPDATE organization SET display_name = $2, settings = $3, updated_at = now()
              WHERE name = $1",
        )
        .bind(&actor.organization)
        .bind(&sent.display_name)
        .bind(&stored)
        .execute(&mut *tx)
        .await?;
        crate::audit::change_with_detail(
            &mut tx,
            &actor.organization,
            &actor.username,
            "organization.settings",
            "organization",
            &actor.organization,
            json!({ "settings": stored, "displayName": sent.display_name }),
        )
        .await?;
        tx.commit().await?;
        self.settings(actor).await
    }

    // ----- Organizations (super admin) ------------------------------------------------------

    pub async fn organizations(&self, actor: &Actor) -> Result<Vec<Organization>, ApiError> {
        self.require_super(actor)?;
        let rows: Vec<OrganizationRow> = sqlx::query_as(
            "SELECT o.id, o.name, o.display_name, o.enabled,
                        (SELECT count(*) FROM app_user u WHERE u.organization_id = o.id),
                        (SELECT count(*) FROM api a WHERE a.organization_id = o.id),
                        o.created_at
                   FROM organization o ORDER BY o.name <> $1, o.name",
        )
        .bind(self.super_organization)
        .fetch_all(self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, display_name, enabled, users, apis, at)| Organization {
                    id: id.to_string(),
                    is_super: name == self.super_organization,
                    name,
                    display_name,
                    enabled,
                    users,
                    apis,
                    created_at: time(at),
                },
            )
            .collect())
    }

    /// A new organization with the built-in roles, its resident key manager and its first
    /// administrator, in one transaction.
    pub async fn create_organization(
        &self,
        actor: &Actor,
        mut o: NewOrganization,
    ) -> Result<Organization, ApiError> {
        self.require_super(actor)?;
        check_new_organization(&mut o)?;
        let hash = crate::auth::password::hash(o.admin_password.clone()).await?;
        let mut tx = self.db.begin().await?;
        let org: Uuid = sqlx::query_scalar(
            "INSERT INTO organization (name, display_name) VALUES ($1, $2) RETURNING id",
        )
        .bind(&o.name)
        .bind(&o.display_name)
        .fetch_one(&mut *tx)
        .await
        .on_constraint("organization_name_key", || ApiError::Conflict {
            message: format!("An organization named {} exists", o.name),
            errors: vec![FieldError::new("name", "is taken")],
        })?;
        crate::bootstrap::scopes_and_roles_in(&mut tx, org).await?;
        self.km.ensure_resident_in(&mut tx, org).await?;
        crate::throttling::seed(&mut tx, org).await?;
        crate::auth::users::insert(
            &mut tx,
            crate::auth::users::NewUser {
                organization_id: org,
                username: &o.admin_username,
                email: None,
                display_name: &o.admin_username,
                password_hash: &hash,
                roles: &["admin"],
            },
        )
        .await?;
        crate::audit::change_with_detail(
            &mut tx,
            &actor.organization,
            &actor.username,
            "organization.create",
            "organization",
            &o.name,
            json!({ "displayName": o.display_name, "admin": o.admin_username }),
        )
        .await?;
        tx.commit().await?;
        self.organizations(actor)
            .await?
            .into_iter()
            .find(|x| x.name == o.name)
            .ok_or_else(|| ApiError::NotFound(o.name.clone()))
    }

    /// Enables or disables an organization (disabled: nobody of it signs in, its sessions and
    /// tokens stop working at the next request) or renames it for display.
    pub async fn set_organization(
        &self,
        actor: &Actor,
        name: &str,
        display_name: Option<String>,
        enabled: Option<bool>,
    ) -> Result<Organization, ApiError> {
        self.require_super(actor)?;
        if name == self.super_organization && enabled == Some(false) {
            return Err(ApiError::field(
                "enabled",
                "the super organization cannot be disabled",
            ));
        }
        let display_name = display_name.map(|d| d.trim().to_string());
        if display_name
            .as_ref()
            .is_some_and(|d| d.is_empty() || d.chars().count() > 255)
        {
            return Err(ApiError::field("displayName", "1 to 255 characters"));
        }
        let mut tx = self.db.begin().await?;
        let found = sqlx::query(
            "UPDATE organization SET enabled = coalesce($2, enabled),
                    display_name = coalesce($3, display_name), updated_at = now()
              WHERE name = $1",
        )
        .bind(name)
        .bind(enabled)
        .bind(&display_name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if found == 0 {
            return Err(ApiError::NotFound(format!("Organization {name} not found")));
        }
        let action = match enabled {
            Some(true) => "organization.enable",
            Some(false) => "organization.disable",
            None => "organization.update",
        };
        crate::audit::change_with_detail(
            &mut tx,
            &actor.organization,
            &actor.username,
            action,
            "organization",
            name,
            json!({ "displayName": display_name }),
        )
        .await?;
        tx.commit().await?;
        self.organizations(actor)
            .await?
            .into_iter()
            .find(|x| x.name == name)
            .ok_or_else(|| ApiError::NotFound(name.to_string()))
    }

    // ----- Scope-role mapping and role aliases ----------------------------------------------

    /// `PUT /system-scopes`: for each scope listed, exactly the roles named get it. Scopes not
    /// listed keep their roles. Unknown scopes or roles are refused, naming the entry; the
    /// super administrator role keeps every scope; only a super admin hands out `apim:admin`.
    pub async fn set_scope_roles(
        &self,
        actor: &Actor,
        list: Vec<(String, Vec<String>)>,
    ) -> Result<(), ApiError> {
        actor.require(SCOPE_SCOPES)?;
        let mut tx = self.db.begin().await?;
        let known: Vec<String> = sqlx::query_scalar("SELECT name FROM scope")
            .fetch_all(&mut *tx)
            .await?;
        let roles: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT r.id, r.name FROM role r JOIN organization o ON o.id = r.organization_id
              WHERE o.name = $1",
        )
        .bind(&actor.organization)
        .fetch_all(&mut *tx)
        .await?;
        let mut p = Problems::default();
        let mut plan: Vec<(String, Vec<Uuid>)> = Vec::new();
        for (i, (scope, names)) in list.iter().enumerate() {
            if !known.contains(scope) {
                p.add(&format!("list[{i}].name"), format!("no scope `{scope}`"));
                continue;
            }
            let mut ids = Vec::new();
            for (j, n) in names.iter().enumerate() {
                match roles.iter().find(|(_, r)| r == n.trim()) {
                    Some((id, _)) => ids.push(*id),
                    None => p.add(
                        &format!("list[{i}].roles[{j}]"),
                        format!("no role `{n}` in this organization"),
                    ),
                }
            }
            if !names.iter().any(|n| n.trim() == "admin") {
                p.add(
                    &format!("list[{i}].roles"),
                    format!("the super administrator role `admin` keeps `{scope}`"),
                );
            }
            plan.push((scope.clone(), ids));
        }
        p.into_result()?;
        for (scope, ids) in &plan {
            if scope == s::ADMIN && !actor.is_admin() {
                return Err(ApiError::Forbidden(
                    "Only a super administrator changes who holds apim:admin".into(),
                ));
            }
            sqlx::query(
                "DELETE FROM role_scope rs USING role r, organization o
                  WHERE rs.role_id = r.id AND r.organization_id = o.id AND o.name = $1
                    AND rs.scope_name = $2 AND NOT rs.role_id = ANY($3)",
            )
            .bind(&actor.organization)
            .bind(scope)
            .bind(ids)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO role_scope (role_id, scope_name) SELECT unnest($1::uuid[]), $2
                 ON CONFLICT DO NOTHING",
            )
            .bind(ids)
            .bind(scope)
            .execute(&mut *tx)
            .await?;
        }
        let detail: serde_json::Map<String, serde_json::Value> = list
            .iter()
            .map(|(scope, roles)| (scope.clone(), json!(roles)))
            .collect();
        crate::audit::change_with_detail(
            &mut tx,
            &actor.organization,
            &actor.username,
            "scopes.roles",
            "scope",
            "",
            serde_json::Value::Object(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn role_aliases(&self, actor: &Actor) -> Result<Vec<RoleAlias>, ApiError> {
        actor.require(SCOPE_SCOPES)?;
        let rows: Vec<(String, Vec<String>)> = sqlx::query_as(
            "SELECT r.name, array_agg(ra.alias ORDER BY ra.alias)
               FROM role_alias ra JOIN role r ON r.id = ra.role_id
               JOIN organization o ON o.id = r.organization_id
              WHERE o.name = $1 GROUP BY r.name ORDER BY r.name",
        )
        .bind(&actor.organization)
        .fetch_all(self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(role, aliases)| RoleAlias { role, aliases })
            .collect())
    }

    /// Replaces every alias of the organization. An alias naming a role that grants
    /// `apim:admin` is a super admin's to give.
    pub async fn save_role_aliases(
        &self,
        actor: &Actor,
        list: Vec<RoleAlias>,
    ) -> Result<Vec<RoleAlias>, ApiError> {
        actor.require(SCOPE_SCOPES)?;
        let mut tx = self.db.begin().await?;
        let roles: Vec<(Uuid, String, bool)> = sqlx::query_as(
            "SELECT r.id, r.name, EXISTS (SELECT 1 FROM role_scope rs
                                           WHERE rs.role_id = r.id AND rs.scope_name = 'apim:admin')
               FROM role r JOIN organization o ON o.id = r.organization_id WHERE o.name = $1",
        )
        .bind(&actor.organization)
        .fetch_all(&mut *tx)
        .await?;
        let mut p = Problems::default();
        let mut rows: Vec<(Uuid, String)> = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            let Some((id, _, admin)) = roles.iter().find(|(_, n, _)| n == entry.role.trim()) else {
                p.add(
                    &format!("list[{i}].role"),
                    format!("no role `{}` in this organization", entry.role),
                );
                continue;
            };
            if *admin && !actor.is_admin() {
                return Err(ApiError::Forbidden(format!(
                    "Only a super administrator gives aliases to `{}` (it grants apim:admin)",
                    entry.role
                )));
            }
            for (j, alias) in entry.aliases.iter().enumerate() {
                let alias = alias.trim();
                if alias.is_empty() || alias.chars().count() > 100 {
                    p.add(&format!("list[{i}].aliases[{j}]"), "1 to 100 characters");
                } else if alias == entry.role.trim() {
                    p.add(&format!("list[{i}].aliases[{j}]"), "is the role itself");
                } else {
                    rows.push((*id, alias.to_string()));
                }
            }
        }
        p.into_result()?;
        let had_admin_alias: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM role_alias ra JOIN role r ON r.id = ra.role_id
                              JOIN organization o ON o.id = r.organization_id
                              JOIN role_scope rs ON rs.role_id = r.id AND rs.scope_name = 'apim:admin'
                             WHERE o.name = $1)",
        )
        .bind(&actor.organization)
        .fetch_one(&mut *tx)
        .await?;
        if had_admin_alias && !actor.is_admin() {
            return Err(ApiError::Forbidden(
                "Aliases of a role granting apim:admin are a super administrator's to change"
                    .into(),
            ));
        }
        sqlx::query(
            "DELETE FROM role_alias ra USING role r, organization o
              WHERE ra.role_id = r.id AND r.organization_id = o.id AND o.name = $1",
        )
        .bind(&actor.organization)
        .execute(&mut *tx)
        .await?;
        let (ids, aliases): (Vec<Uuid>, Vec<String>) = rows.into_iter().unzip();
        sqlx::query(
            "INSERT INTO role_alias (role_id, alias) SELECT * FROM unnest($1::uuid[], $2::text[])
             ON CONFLICT DO NOTHING",
        )
        .bind(&ids)
        .bind(&aliases)
        .execute(&mut *tx)
        .await?;
        crate::audit::change_with_detail(
            &mut tx,
            &actor.organization,
            &actor.username,
            "scopes.role_aliases",
            "role",
            "",
            json!({ "list": list }),
        )
        .await?;
        tx.commit().await?;
        self.role_aliases(actor).await
    }
}

fn taken(name: &str) -> ApiError {
    ApiError::Conflict {
        message: format!("An API category named {name} exists"),
        errors: vec![FieldError::new("name", "is taken")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::settings::Transition;

    #[test]
    fn organization_names_are_domain_like() {
        let mut o = NewOrganization {
            name: " Acme.Example ".into(),
            admin_username: "root".into(),
            admin_password: "long enough".into(),
            ..Default::default()
        };
        check_new_organization(&mut o).unwrap();
        assert_eq!(o.name, "acme.example");
        assert_eq!(o.display_name, "acme.example");
        for bad in ["a", "-acme", "acme.", "ac me", "ac@me"] {
            let mut o = NewOrganization {
                name: bad.into(),
                admin_username: "root".into(),
                admin_password: "long enough".into(),
                ..Default::default()
            };
            let e = check_new_organization(&mut o).unwrap_err().to_string();
            assert!(e.contains("name"), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_lifecycle_transitions_are_refused_by_index() {
        let mut s = OrgSettings {
            display_name: "Org".into(),
            disabled_transitions: vec![
                Transition {
                    from: "PUBLISHED".into(),
                    event: "block".into(),
                },
                Transition {
                    from: "RETIRED".into(),
                    event: "Publish".into(),
                },
            ],
            ..Default::default()
        };
        let e = check_org_settings(&mut s).unwrap_err();
        let ApiError::BadRequest { errors, .. } = e else {
            panic!("{e:?}")
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, "disabledTransitions[1]");
        // The known one is written as the lifecycle spells it.
        assert_eq!(s.disabled_transitions[0].event, "Block");
    }
}
