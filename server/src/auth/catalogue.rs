//! The scopes the REST APIs and portals check, and the built-in roles that grant them.
//! Written to the database at start-up so admins can map further roles to the same scopes.

use app::auth::scopes as s;

/// (scope, portal tag, description).
pub const SCOPES: &[(&str, &str, &str)] = &[
    (s::API_VIEW, "publisher", "View API"),
    (s::API_CREATE, "publisher", "Create API"),
    (
        "apim:api_manage",
        "publisher",
        "Manage all API related operations",
    ),
    ("apim:api_delete", "publisher", "Delete API"),
    (s::API_PUBLISH, "publisher", "Publish API"),
    ("apim:subscription_view", "publisher", "View Subscription"),
    ("apim:subscription_block", "publisher", "Block Subscription"),
    (
        "apim:subscription_manage",
        "publisher",
        "Manage all Subscription related operations",
    ),
    ("apim:document_create", "publisher", "Create API documents"),
    (
        "apim:document_manage",
        "publisher",
        "Create, update and delete API documents",
    ),
    (
        s::PUBLISHER_SETTINGS,
        "publisher",
        "Retrieve publisher settings",
    ),
    (
        "apim:api_import_export",
        "publisher",
        "Import and export APIs",
    ),
    (
        "apim:api_product_import_export",
        "publisher",
        "Import and export API Products",
    ),
    ("apim:comment_view", "publisher", "Read comments"),
    ("apim:comment_write", "publisher", "Write comments"),
    (
        "apim:common_operation_policy_view",
        "publisher",
        "View common operation policies",
    ),
    (
        "apim:common_operation_policy_manage",
        "publisher",
        "Manage common operation policies",
    ),
    (
        "apim:api_generate_key",
        "publisher",
        "Generate internal key",
    ),
    (s::SUBSCRIBE, "devportal", "Subscribe API"),
    ("apim:api_key", "devportal", "Generate API Keys"),
    (
        "apim:app_manage",
        "devportal",
        "Retrieve, manage, import and export applications",
    ),
    (
        "apim:sub_manage",
        "devportal",
        "Retrieve and manage subscriptions",
    ),
    (
        "apim:store_settings",
        "devportal",
        "Retrieve Developer Portal settings",
    ),
    (
        "apim:app_import_export",
        "devportal",
        "Import and export applications",
    ),
    (s::ADMIN, "admin", "Manage all admin operations"),
    (s::TIER_VIEW, "admin", "View throttling policies"),
    (
        s::TIER_MANAGE,
        "admin",
        "Update and delete throttling policies",
    ),
    (s::BL_VIEW, "admin", "View deny policies"),
    (s::BL_MANAGE, "admin", "Update and delete deny policies"),
    (s::WORKFLOW_VIEW, "admin", "Retrieve workflow requests"),
    (s::WORKFLOW_APPROVE, "admin", "Manage workflows"),
    (s::KEY_MANAGERS_MANAGE, "admin", "Manage key managers"),
    (
        s::ENVIRONMENT_READ,
        "admin",
        "Retrieve gateway environments",
    ),
    (
        s::ENVIRONMENT_MANAGE,
        "admin",
        "Manage gateway environments",
    ),
    ("apim:gateway_policy_view", "admin", "View gateway policies"),
    (
        s::GATEWAY_POLICY_MANAGE,
        "admin",
        "Add, update and delete gateway policies",
    ),
    (
        s::ADMIN_SETTINGS,
        "admin",
        "Retrieve and manage admin settings",
    ),
    (s::API_CATEGORY, "admin", "Manage API categories"),
    (
        "apim:admin_operations",
        "admin",
        "Manage API categories and key managers",
    ),
    (s::ROLE_MANAGE, "admin", "Manage users and roles"),
    (
        "apim:api_provider_change",
        "admin",
        "Hand an API to another owner",
    ),
    (s::SCOPE_MANAGE, "admin", "Manage system scopes"),
    (
        s::MONITORING_VIEW,
        "admin",
        "View audit log and gateway health",
    ),
    (
        "apim:tenantInfo",
        "admin",
        "Retrieve tenant related information",
    ),
    (
        "apim:app_owner_change",
        "admin",
        "Retrieve and manage applications",
    ),
    (
        "apim:policies_import_export",
        "admin",
        "Export and import policies",
    ),
];

/// What a built-in role grants.
pub enum Grants {
    All,
    Tags(&'static [&'static str]),
    Scopes(&'static [&'static str]),
}

/// (role, description, grants). `admin` is the super admin.
pub const BUILT_IN_ROLES: &[(&str, &str, Grants)] = &[
    ("admin", "Super administrator: every scope", Grants::All),
    (
        "publisher",
        "Creates, publishes and deploys APIs; also uses the Developer Portal",
        Grants::Tags(&["publisher", "devportal"]),
    ),
    (
        "creator",
        "Designs APIs without publishing them",
        Grants::Scopes(&[
            s::API_VIEW,
            s::API_CREATE,
            "apim:api_manage",
            "apim:document_create",
            "apim:document_manage",
            s::PUBLISHER_SETTINGS,
            "apim:comment_view",
            "apim:comment_write",
        ]),
    ),
    (
        "subscriber",
        "Developer Portal user: applications, subscriptions, keys",
        Grants::Tags(&["devportal"]),
    ),
    (
        "workflow-admin",
        "Approves or rejects pending requests",
        Grants::Scopes(&[s::WORKFLOW_VIEW, s::WORKFLOW_APPROVE]),
    ),
    (
        "policy-admin",
        "Manages rate-limiting and deny policies",
        Grants::Scopes(&[s::TIER_VIEW, s::TIER_MANAGE, s::BL_VIEW, s::BL_MANAGE]),
    ),
    (
        "keymanager-admin",
        "Manages key managers",
        Grants::Scopes(&[s::KEY_MANAGERS_MANAGE]),
    ),
    (
        "gateway-admin",
        "Manages gateway environments and global policies",
        Grants::Scopes(&[
            s::ENVIRONMENT_READ,
            s::ENVIRONMENT_MANAGE,
            "apim:gateway_policy_view",
            s::GATEWAY_POLICY_MANAGE,
        ]),
    ),
    (
        "settings-admin",
        "Manages API categories and settings",
        Grants::Scopes(&[s::ADMIN_SETTINGS, s::API_CATEGORY]),
    ),
    (
        "user-admin",
        "Manages users, roles and role-scope mappings",
        Grants::Scopes(&[s::ROLE_MANAGE, s::SCOPE_MANAGE]),
    ),
    (
        "monitor",
        "Reads the audit log and gateway health",
        Grants::Scopes(&[s::MONITORING_VIEW]),
    ),
];

impl Grants {
    pub fn scopes(&self) -> Vec<&'static str> {
        SCOPES
            .iter()
            .filter(|(name, tag, _)| match self {
                Grants::All => true,
                Grants::Tags(tags) => tags.contains(tag),
                Grants::Scopes(list) => list.contains(name),
            })
            .map(|(name, _, _)| *name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_granted_scope_exists_and_every_admin_section_has_a_role() {
        for (role, _, grants) in BUILT_IN_ROLES {
            if let Grants::Scopes(list) = grants {
                assert_eq!(
                    grants.scopes().len(),
                    list.len(),
                    "{role} names an unknown scope"
                );
            }
        }
        for section in app::auth::ADMIN_SECTIONS {
            for scope in section.scopes {
                assert!(
                    SCOPES.iter().any(|(n, _, _)| n == scope),
                    "{scope} not in catalogue"
                );
            }
            let covered = BUILT_IN_ROLES.iter().any(|(name, _, g)| {
                *name != "admin" && g.scopes().iter().any(|s| section.scopes.contains(s))
            });
            assert!(
                covered,
                "no dedicated role opens admin section {}",
                section.key
            );
        }
    }
}
