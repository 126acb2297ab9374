//! Gateway policy mappings (WSO2's `GatewayPolicyMappings`, Publisher v4 `/gateway-policies`):
//! ordered mediation policies an admin deploys to gateway environments, where they run before
//! the own policies of every API of the organization.

use serde::{Deserialize, Serialize};

use crate::publisher::OperationPolicies;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayPolicyMapping {
    #[serde(default)]
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    /// The policies per flow (request, response, fault).
    #[serde(default)]
    pub policy_mapping: OperationPolicies,
    /// Environments it is deployed to (read only; `/deploy` changes them).
    #[serde(default)]
    pub applied_gateway_labels: Vec<String>,
}

/// WSO2's `GatewayPolicyDeployment`: deploy (`true`) or undeploy a mapping on an environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayPolicyDeployment {
    pub gateway_label: String,
    pub gateway_deployment: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping_uuid: Option<String>,
}
