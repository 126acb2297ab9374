//! Approval workflows: the types of the Admin v4 REST API (`/workflows`, WSO2's field names),
//! the per-organization switches (`/workflow-settings`, ours: WSO2 keeps them in a registry
//! file), and the calls the Admin portal's approvals page makes (`api::workflows_call`).

use serde::{Deserialize, Serialize};

use crate::publisher::Page;

pub const APPLICATION_CREATION: &str = "APPLICATION_CREATION";
pub const SUBSCRIPTION_CREATION: &str = "SUBSCRIPTION_CREATION";
pub const SUBSCRIPTION_UPDATE: &str = "SUBSCRIPTION_UPDATE";
pub const REVISION_DEPLOYMENT: &str = "REVISION_DEPLOYMENT";
pub const API_STATE: &str = "API_STATE";
pub const USER_SIGNUP: &str = "USER_SIGNUP";

/// The workflow types that can be switched on, with what each holds back.
pub const TYPES: &[(&str, &str)] = &[
    (
        APPLICATION_CREATION,
        "A new application stays CREATED (no keys) until approved.",
    ),
    (
        SUBSCRIPTION_CREATION,
        "A new subscription stays ON_HOLD (the gateway refuses it) until approved.",
    ),
    (
        SUBSCRIPTION_UPDATE,
        "A tier change waits (TIER_UPDATE_PENDING; the old tier applies) until approved.",
    ),
    (
        REVISION_DEPLOYMENT,
        "A revision deployment waits (the gateways keep serving what is live) until approved.",
    ),
    (
        API_STATE,
        "A lifecycle change (publish, block, deprecate, retire…) waits; the API keeps its state until approved.",
    ),
    (
        USER_SIGNUP,
        "A self-registered account cannot sign in until approved; a rejected one is removed.",
    ),
];

/// Accepts WSO2's names with or without the `AM_` prefix (`AM_APPLICATION_CREATION`).
pub fn parse_type(s: &str) -> Option<&'static str> {
    let s = s.trim();
    let s = s.strip_prefix("AM_").unwrap_or(s);
    TYPES
        .iter()
        .map(|(t, _)| *t)
        .find(|t| t.eq_ignore_ascii_case(s))
}

/// WSO2's `WorkflowInfo`, with who asked and who decided.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkflowInfo {
    pub workflow_type: String,
    /// CREATED (pending), APPROVED, REJECTED or CANCELLED.
    pub workflow_status: String,
    pub created_time: String,
    pub updated_time: String,
    pub reference_id: String,
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub description: String,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
}

/// WSO2's `Workflow`: the decision (`POST /workflows/update-workflow-status`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkflowDecision {
    /// APPROVED or REJECTED.
    pub status: String,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The approver's comment; kept with the workflow and in the audit log.
    pub description: Option<String>,
}

/// One switch (`GET/PUT /workflow-settings`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkflowSetting {
    pub workflow_type: String,
    pub enabled: bool,
    /// Subscription workflows: only these tiers need approval (empty: every tier).
    pub tiers: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkflowCall {
    /// Pending (or, with `status`, decided) workflows of the caller's organization.
    List {
        workflow_type: Option<String>,
        status: Option<String>,
        offset: i64,
        limit: i64,
    },
    Decide {
        reference_id: String,
        decision: WorkflowDecision,
    },
    Settings,
    SaveSettings(Vec<WorkflowSetting>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkflowReply {
    Page(Page<WorkflowInfo>),
    One(WorkflowInfo),
    Settings(Vec<WorkflowSetting>),
}
