//! The Admin portal's "Categories & settings" section and the role aliases of "Users & roles":
//! API categories (Admin v4 `/api-categories`, WSO2's field names), an organization's own
//! settings (lifecycle transitions it switches off, self sign-up; `/tenant-config` in WSO2 is
//! a JSON file, ours is typed), the organizations themselves (super admin), and role aliases
//! (`/system-scopes/role-aliases`).

use serde::{Deserialize, Serialize};

/// WSO2's `APICategory`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiCategory {
    pub id: String,
    pub name: String,
    pub description: String,
    /// APIs of the organization in this category (read only).
    #[serde(rename = "numberOfAPIs")]
    pub number_of_apis: i64,
}

/// One lifecycle transition: the event `event` from the state `from`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct Transition {
    pub from: String,
    pub event: String,
}

/// An organization's own settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrgSettings {
    pub display_name: String,
    /// Developers may create their own accounts (when the server allows sign-up at all).
    pub self_sign_up: bool,
    /// Lifecycle transitions the Publisher does not offer in this organization.
    pub disabled_transitions: Vec<Transition>,
    /// APIs must name at least one category before they are published.
    pub require_category: bool,
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self {
            display_name: String::new(),
            self_sign_up: true,
            disabled_transitions: vec![],
            require_category: false,
        }
    }
}

impl OrgSettings {
    pub fn allows(&self, from: &str, event: &str) -> bool {
        !self
            .disabled_transitions
            .iter()
            .any(|t| t.from == from && t.event.eq_ignore_ascii_case(event))
    }
}

/// An organization as the super admin sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub enabled: bool,
    pub users: i64,
    pub apis: i64,
    /// The super organization (the server's default): it cannot be disabled.
    pub is_super: bool,
    pub created_at: String,
}

/// A new organization with its first administrator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NewOrganization {
    pub name: String,
    pub display_name: String,
    pub admin_username: String,
    pub admin_password: String,
}

/// WSO2's `RoleAlias`: holding any of `aliases` grants what `role` grants.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoleAlias {
    pub role: String,
    pub aliases: Vec<String>,
}

/// What the settings pages do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SettingsCall {
    Categories,
    /// Creates (empty `id`) or replaces a category.
    SaveCategory(ApiCategory),
    DeleteCategory {
        id: String,
    },
    OrgSettings,
    SaveOrgSettings(OrgSettings),
    /// Super admin: every organization.
    Organizations,
    CreateOrganization(NewOrganization),
    SetOrganizationEnabled {
        name: String,
        enabled: bool,
    },
    RoleAliases,
    /// Replaces every alias of the organization's roles.
    SaveRoleAliases(Vec<RoleAlias>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SettingsReply {
    Categories(Vec<ApiCategory>),
    Category(ApiCategory),
    OrgSettings(OrgSettings),
    Organizations(Vec<Organization>),
    RoleAliases(Vec<RoleAlias>),
    Done,
}

/// The role-alias editor's lines, `role: alias, alias`; an error names the line (1-based).
pub fn parse_alias_lines(text: &str) -> Result<Vec<RoleAlias>, (usize, String)> {
    let mut out: Vec<RoleAlias> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((role, aliases)) = line.split_once(':') else {
            return Err((i + 1, "write `role: alias, alias`".into()));
        };
        let aliases: Vec<String> = aliases
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        out.push(RoleAlias {
            role: role.trim().to_string(),
            aliases,
        });
    }
    Ok(out)
}

pub fn alias_lines(list: &[RoleAlias]) -> String {
    list.iter()
        .map(|r| format!("{}: {}", r.role, r.aliases.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_lines_round_trip_and_name_the_bad_line() {
        let list =
            parse_alias_lines("subscriber: Subscriber, devs\n\n publisher :writers").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].aliases, ["Subscriber", "devs"]);
        assert_eq!(list[1].role, "publisher");
        assert_eq!(parse_alias_lines(&alias_lines(&list)).unwrap(), list);
        assert_eq!(parse_alias_lines("a: b\nno colon").unwrap_err().0, 2);
    }

    #[test]
    fn disabled_transitions_match_the_event_in_any_case() {
        let s = OrgSettings {
            disabled_transitions: vec![Transition {
                from: "PUBLISHED".into(),
                event: "Block".into(),
            }],
            ..Default::default()
        };
        assert!(!s.allows("PUBLISHED", "block"));
        assert!(s.allows("PUBLISHED", "Deprecate"));
        assert!(s.allows("BLOCKED", "Block"));
    }
}
