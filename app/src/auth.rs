//! Who is looking at a page, and what they may see. Shared by the server (which fills it from
//! the session) and the browser (which gets it serialised with the page).

use serde::{Deserialize, Serialize};

/// The signed-in user as the portals need it. Never carries secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub organization: String,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
}

impl CurrentUser {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn has_any_scope(&self, scopes: &[&str]) -> bool {
        scopes.iter().any(|s| self.has_scope(s))
    }
}

/// The request's viewer: the user when signed in, and the CSRF token forms must echo back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user: Option<CurrentUser>,
    pub csrf: String,
}

/// The three portals and who may enter each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Portal {
    DevPortal,
    Publisher,
    Admin,
}

impl Portal {
    pub const ALL: [Portal; 3] = [Portal::DevPortal, Portal::Publisher, Portal::Admin];

    pub fn title(self) -> &'static str {
        match self {
            Portal::DevPortal => "Developer Portal",
            Portal::Publisher => "Publisher",
            Portal::Admin => "Admin",
        }
    }

    pub fn base(self) -> &'static str {
        match self {
            Portal::DevPortal => "/devportal",
            Portal::Publisher => "/publisher",
            Portal::Admin => "/admin",
        }
    }

    /// The portal a path belongs to.
    pub fn of_path(path: &str) -> Option<Portal> {
        Portal::ALL.into_iter().find(|p| under(path, p.base()))
    }

    /// Whether the portal needs a signed-in user at all (the developer portal's catalogue is
    /// public, as in WSO2).
    pub fn needs_sign_in(self) -> bool {
        !matches!(self, Portal::DevPortal)
    }

    /// Whether `user` may enter. Anonymous visitors only get the developer portal.
    pub fn allows(self, user: Option<&CurrentUser>) -> bool {
        match (self, user) {
            (Portal::DevPortal, _) => true,
            (_, None) => false,
            (Portal::Publisher, Some(u)) => u.has_any_scope(PUBLISHER_SCOPES),
            (Portal::Admin, Some(u)) => ADMIN_SECTIONS.iter().any(|s| s.allows(u)),
        }
    }
}

/// What a page request may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// Anonymous visitor on a page that needs a user: sign in first.
    SignIn,
    /// Signed in, but no role grants this page.
    Forbidden,
    /// Inside a portal, but no such page (an unknown admin section).
    NotFound,
}

/// Developer-portal pages that need a signed-in user (the catalogue itself is public).
const DEVPORTAL_PRIVATE: &[&str] = &["/devportal/applications"];

fn under(path: &str, base: &str) -> bool {
    path == base || path.strip_prefix(base).is_some_and(|r| r.starts_with('/'))
}

/// The one rule for page access: the server answers with it (redirect / 403) and the portal
/// pages render with it, so both always agree.
pub fn page_access(path: &str, user: Option<&CurrentUser>) -> Access {
    let Some(portal) = Portal::of_path(path) else {
        return Access::Allowed;
    };
    let needs_user = portal.needs_sign_in() || DEVPORTAL_PRIVATE.iter().any(|p| under(path, p));
    let Some(u) = user else {
        return if needs_user {
            Access::SignIn
        } else {
            Access::Allowed
        };
    };
    if !portal.allows(Some(u)) {
        return Access::Forbidden;
    }
    if let Some(rest) = path.strip_prefix("/admin/") {
        let key = rest.split('/').next().unwrap_or_default();
        match ADMIN_SECTIONS.iter().find(|s| s.key == key) {
            Some(section) if !section.allows(u) => return Access::Forbidden,
            None if !key.is_empty() => return Access::NotFound,
            _ => {}
        }
    }
    Access::Allowed
}

/// Any of these opens the Publisher portal.
pub const PUBLISHER_SCOPES: &[&str] = &["apim:api_view", "apim:api_create", "apim:api_publish"];

/// One section of the Admin portal and the scopes that open it: the admin portal's RBAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdminSection {
    pub key: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
    pub scopes: &'static [&'static str],
}

impl AdminSection {
    pub fn allows(&self, user: &CurrentUser) -> bool {
        user.has_any_scope(self.scopes)
    }

    pub fn path(&self) -> String {
        format!("/admin/{}", self.key)
    }
}

pub const ADMIN_SECTIONS: &[AdminSection] = &[
    AdminSection {
        key: "workflows",
        title: "Approvals",
        summary: "Pending applications, subscriptions, state changes, deployments and sign-ups.",
        scopes: &[scopes::WORKFLOW_VIEW, scopes::WORKFLOW_APPROVE],
    },
    AdminSection {
        key: "throttling",
        title: "Rate limiting",
        summary: "Application policies and subscription tiers: quotas and burst control.",
        scopes: &[
            scopes::TIER_VIEW,
            scopes::TIER_MANAGE,
            scopes::BL_VIEW,
            scopes::BL_MANAGE,
        ],
    },
    AdminSection {
        key: "key-managers",
        title: "Key managers",
        summary: "The resident key manager and third-party identity providers.",
        scopes: &[scopes::KEY_MANAGERS_MANAGE],
    },
    AdminSection {
        key: "gateways",
        title: "Gateways & global policies",
        summary: "Gateway environments, connected gateways and global policies.",
        scopes: &[
            scopes::ENVIRONMENT_READ,
            scopes::ENVIRONMENT_MANAGE,
            scopes::GATEWAY_POLICY_MANAGE,
        ],
    },
    AdminSection {
        key: "settings",
        title: "Categories & settings",
        summary: "API categories, lifecycle and organization settings.",
        scopes: &[scopes::ADMIN_SETTINGS, scopes::API_CATEGORY],
    },
    AdminSection {
        key: "ai-index",
        title: "AI index",
        summary: "The embeddings behind the marketplace assistant and API chat: model, progress, re-embedding.",
        scopes: &[scopes::ADMIN_SETTINGS, scopes::ADMIN],
    },
    AdminSection {
        key: "users",
        title: "Users & roles",
        summary: "Users, their roles, and which scopes each role grants.",
        scopes: &[scopes::ROLE_MANAGE, scopes::SCOPE_MANAGE],
    },
    AdminSection {
        key: "analytics",
        title: "Analytics",
        summary: "Traffic, latency and errors of every API in the organization; top APIs and applications.",
        scopes: &[scopes::ADMIN, scopes::MONITORING_VIEW],
    },
    AdminSection {
        key: "monitoring",
        title: "Monitoring",
        summary: "Audit log and gateway health.",
        scopes: &[scopes::MONITORING_VIEW],
    },
];

/// Scope names. WSO2's where WSO2 has one, so its tooling keeps working; ours where the admin
/// portal's sections need a finer split than WSO2 4.3 makes.
pub mod scopes {
    pub const API_VIEW: &str = "apim:api_view";
    pub const API_CREATE: &str = "apim:api_create";
    pub const API_PUBLISH: &str = "apim:api_publish";
    pub const SUBSCRIBE: &str = "apim:subscribe";
    pub const ADMIN: &str = "apim:admin";
    pub const WORKFLOW_VIEW: &str = "apim:api_workflow_view";
    pub const WORKFLOW_APPROVE: &str = "apim:api_workflow_approve";
    pub const TIER_VIEW: &str = "apim:tier_view";
    pub const TIER_MANAGE: &str = "apim:tier_manage";
    pub const BL_VIEW: &str = "apim:bl_view";
    pub const BL_MANAGE: &str = "apim:bl_manage";
    pub const KEY_MANAGERS_MANAGE: &str = "apim:keymanagers_manage";
    pub const ENVIRONMENT_READ: &str = "apim:environment_read";
    pub const ENVIRONMENT_MANAGE: &str = "apim:environment_manage";
    pub const GATEWAY_POLICY_MANAGE: &str = "apim:gateway_policy_manage";
    pub const ADMIN_SETTINGS: &str = "apim:admin_settings";
    pub const API_CATEGORY: &str = "apim:api_category";
    pub const ROLE_MANAGE: &str = "apim:role_manage";
    pub const SCOPE_MANAGE: &str = "apim:scope_manage";
    pub const MONITORING_VIEW: &str = "apim:monitoring_view";
    pub const PUBLISHER_SETTINGS: &str = "apim:publisher_settings";
    /// WSO2's scope for categories and key managers.
    pub const ADMIN_OPERATIONS: &str = "apim:admin_operations";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(scopes: &[&str]) -> CurrentUser {
        CurrentUser {
            id: "1".into(),
            username: "u".into(),
            display_name: "U".into(),
            organization: "carbon.super".into(),
            roles: vec![],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn portal_of_path_matches_whole_segments() {
        assert_eq!(Portal::of_path("/admin"), Some(Portal::Admin));
        assert_eq!(Portal::of_path("/admin/users"), Some(Portal::Admin));
        assert_eq!(Portal::of_path("/administrator"), None);
        assert_eq!(Portal::of_path("/publisher/apis"), Some(Portal::Publisher));
        assert_eq!(Portal::of_path("/sign-in"), None);
    }

    #[test]
    fn access_follows_scopes() {
        let sub = user(&[scopes::SUBSCRIBE]);
        let publisher = user(&[scopes::API_VIEW, scopes::API_CREATE, scopes::SUBSCRIBE]);
        let wf = user(&[scopes::WORKFLOW_VIEW, scopes::WORKFLOW_APPROVE]);
        assert!(Portal::DevPortal.allows(None));
        assert!(!Portal::Publisher.allows(None));
        assert!(!Portal::Publisher.allows(Some(&sub)));
        assert!(!Portal::Admin.allows(Some(&sub)));
        assert!(Portal::Publisher.allows(Some(&publisher)));
        assert!(!Portal::Admin.allows(Some(&publisher)));
        assert!(Portal::Admin.allows(Some(&wf)));
        let visible: Vec<_> = ADMIN_SECTIONS
            .iter()
            .filter(|s| s.allows(&wf))
            .map(|s| s.key)
            .collect();
        assert_eq!(visible, vec!["workflows"]);
    }

    #[test]
    fn page_access_rules() {
        let sub = user(&[scopes::SUBSCRIBE]);
        let wf = user(&[scopes::WORKFLOW_VIEW]);
        assert_eq!(page_access("/devportal", None), Access::Allowed);
        assert_eq!(page_access("/devportal/applications", None), Access::SignIn);
        assert_eq!(
            page_access("/devportal/applications", Some(&sub)),
            Access::Allowed
        );
        assert_eq!(page_access("/publisher", None), Access::SignIn);
        assert_eq!(page_access("/publisher", Some(&sub)), Access::Forbidden);
        assert_eq!(page_access("/admin", Some(&sub)), Access::Forbidden);
        assert_eq!(page_access("/admin", Some(&wf)), Access::Allowed);
        assert_eq!(page_access("/admin/workflows", Some(&wf)), Access::Allowed);
        assert_eq!(
            page_access("/admin/key-managers", Some(&wf)),
            Access::Forbidden
        );
        assert_eq!(page_access("/admin/nope", Some(&wf)), Access::NotFound);
        assert_eq!(page_access("/sign-in", None), Access::Allowed);
    }
}
