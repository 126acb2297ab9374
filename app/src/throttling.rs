//! Rate-limiting policies as Admin v4 describes them (`ApplicationThrottlePolicy`,
//! `SubscriptionThrottlePolicy`, WSO2's field names), with the built-in ones every organization
//! starts with. The gateway enforces request-count and data limits with GCRA.

use serde::{Deserialize, Serialize};

pub const APPLICATION: &str = "application";
pub const SUBSCRIPTION: &str = "subscription";
pub const UNLIMITED: &str = "Unlimited";

/// WSO2's `ThrottleLimit`: a request count, or an amount of data (request and response
/// bodies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleLimit {
    /// `REQUESTCOUNTLIMIT` or `BANDWIDTHLIMIT`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_count: Option<RequestCountLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<BandwidthLimit>,
}

/// WSO2's `BandwidthLimit`: `data_amount` `data_unit` (KB, MB, GB) per `unit_time` `time_unit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BandwidthLimit {
    pub time_unit: String,
    pub unit_time: i64,
    pub data_amount: i64,
    pub data_unit: String,
}

impl ThrottleLimit {
    pub fn requests(count: i64, unit_time: i64, time_unit: &str) -> Self {
        ThrottleLimit {
            kind: REQUEST_COUNT_LIMIT.into(),
            request_count: Some(RequestCountLimit {
                time_unit: time_unit.into(),
                unit_time,
                request_count: count,
            }),
            bandwidth: None,
        }
    }

    pub fn bandwidth(amount: i64, data_unit: &str, unit_time: i64, time_unit: &str) -> Self {
        ThrottleLimit {
            kind: BANDWIDTH_LIMIT.into(),
            request_count: None,
            bandwidth: Some(BandwidthLimit {
                time_unit: time_unit.into(),
                unit_time,
                data_amount: amount,
                data_unit: data_unit.into(),
            }),
        }
    }

    /// "1000 per min", "5 MB per 2 hour".
    pub fn text(&self) -> String {
        let per = |unit_time: i64, unit: &str| {
            if unit_time == 1 {
                format!("per {unit}")
            } else {
                format!("per {unit_time} {unit}")
            }
        };
        match (self.kind.as_str(), &self.request_count, &self.bandwidth) {
            (BANDWIDTH_LIMIT, _, Some(b)) => format!(
                "{} {} {}",
                b.data_amount,
                b.data_unit,
                per(b.unit_time, &b.time_unit)
            ),
            (_, Some(rc), _) => {
                format!("{} {}", rc.request_count, per(rc.unit_time, &rc.time_unit))
            }
            _ => "—".into(),
        }
    }
}

pub const REQUEST_COUNT_LIMIT: &str = "REQUESTCOUNTLIMIT";
pub const BANDWIDTH_LIMIT: &str = "BANDWIDTHLIMIT";

/// Bytes in one `data_unit` (WSO2: KB, MB, GB, powers of 1024).
pub fn data_unit_bytes(unit: &str) -> Option<u64> {
    match unit {
        "KB" => Some(1 << 10),
        "MB" => Some(1 << 20),
        "GB" => Some(1 << 30),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCountLimit {
    /// `sec`, `min`, `hour` or `day`.
    pub time_unit: String,
    pub unit_time: i64,
    pub request_count: i64,
}

/// WSO2's `BurstLimit`: at most `rate_limit_count` per `rate_limit_time_unit` (`sec`, `min`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BurstLimit {
    pub rate_limit_count: i64,
    pub rate_limit_time_unit: String,
}

/// One policy, application or subscription level (`type` says which, as in WSO2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottlePolicy {
    #[serde(default)]
    pub policy_id: String,
    pub policy_name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub is_deployed: bool,
    /// `ApplicationThrottlePolicy` or `SubscriptionThrottlePolicy` (read only).
    #[serde(rename = "type", default)]
    pub kind: String,
    pub default_limit: ThrottleLimit,
    /// Application policies: burst control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_limit: Option<BurstLimit>,
    /// Subscription policies: burst control, as WSO2 spells it there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_time_unit: Option<String>,
    /// Subscription policies: refuse at the quota (true) or let through and bill.
    #[serde(default = "yes")]
    pub stop_on_quota_reach: bool,
    #[serde(default = "free")]
    pub billing_plan: String,
    /// Ours: built in (kept; only its limits change).
    #[serde(default)]
    pub built_in: bool,
}

fn yes() -> bool {
    true
}

fn free() -> String {
    "FREE".into()
}

/// Seconds in one `time_unit`, if it is one.
pub fn unit_seconds(unit: &str) -> Option<u64> {
    match unit {
        "sec" | "second" | "seconds" => Some(1),
        "min" | "minute" | "minutes" => Some(60),
        "hour" | "hours" => Some(3600),
        "day" | "days" => Some(86_400),
        _ => None,
    }
}

/// (level, name, description, requests per minute): what every organization starts with.
/// WSO2's defaults; `Unlimited` has no limiter.
pub const BUILT_IN: &[(&str, &str, &str, i64)] = &[
    (APPLICATION, "10PerMin", "Allows 10 requests per minute", 10),
    (APPLICATION, "20PerMin", "Allows 20 requests per minute", 20),
    (APPLICATION, "50PerMin", "Allows 50 requests per minute", 50),
    (
        APPLICATION,
        UNLIMITED,
        "Allows unlimited requests",
        2_147_483_647,
    ),
    (
        SUBSCRIPTION,
        "Bronze",
        "Allows 1000 requests per minute",
        1000,
    ),
    (
        SUBSCRIPTION,
        "Silver",
        "Allows 2000 requests per minute",
        2000,
    ),
    (
        SUBSCRIPTION,
        "Gold",
        "Allows 5000 requests per minute",
        5000,
    ),
    (
        SUBSCRIPTION,
        UNLIMITED,
        "Allows unlimited requests",
        2_147_483_647,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_read_wso2_json() {
        let p: ThrottlePolicy = serde_json::from_value(serde_json::json!({
            "policyName": "Burst",
            "defaultLimit": {"type": "REQUESTCOUNTLIMIT",
                             "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 1000}},
            "burstLimit": {"rateLimitCount": 50, "rateLimitTimeUnit": "sec"}
        }))
        .unwrap();
        assert_eq!(p.default_limit.request_count.unwrap().request_count, 1000);
        assert_eq!(p.burst_limit.unwrap().rate_limit_count, 50);
        assert!(p.stop_on_quota_reach);
        assert_eq!(unit_seconds("hour"), Some(3600));
        assert_eq!(unit_seconds("week"), None);
    }
}

/// WSO2's `BlockingCondition` (a deny policy): `conditionType` API, APPLICATION, IP, IPRANGE
/// or USER; `conditionValue` a string (API context, `owner:application`, user) or an object
/// (`{fixedIp, invert}`, `{startingIp, endingIp, invert}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockingCondition {
    #[serde(default)]
    pub condition_id: String,
    pub condition_type: String,
    pub condition_value: serde_json::Value,
    #[serde(default = "yes")]
    pub condition_status: bool,
}

impl BlockingCondition {
    /// "10.0.0.1 – 10.0.0.9", "not 192.168.1.1", "/pizzashack/1.0.0".
    pub fn value_text(&self) -> String {
        let v = &self.condition_value;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let not = if v["invert"].as_bool().unwrap_or(false) {
            "not "
        } else {
            ""
        };
        match self.condition_type.as_str() {
            "IP" => format!("{not}{}", s("fixedIp")),
            "IPRANGE" => format!("{not}{} – {}", s("startingIp"), s("endingIp")),
            _ => v.as_str().unwrap_or_default().to_string(),
        }
    }
}

// ----- Advanced policies -----------------------------------------------------------------------

/// The level of advanced policies: what an API (`apiThrottlingPolicy`) or an operation
/// (`throttlingPolicy`) names, counted across all callers.
pub const ADVANCED: &str = "advanced";

/// WSO2's `AdvancedThrottlePolicy`: a default limit, and conditional groups whose matching
/// requests count against their own limit instead (the first group that matches).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedThrottlePolicy {
    #[serde(default)]
    pub policy_id: String,
    pub policy_name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub is_deployed: bool,
    /// `AdvancedThrottlePolicy` (read only).
    #[serde(rename = "type", default)]
    pub kind: String,
    pub default_limit: ThrottleLimit,
    #[serde(default)]
    pub conditional_groups: Vec<ConditionalGroup>,
    /// Ours: built in (kept; only its limits change).
    #[serde(default)]
    pub built_in: bool,
}

/// WSO2's `ConditionalGroup`: requests matching every condition count against `limit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionalGroup {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub conditions: Vec<ThrottleCondition>,
    pub limit: ThrottleLimit,
}

pub const HEADER_CONDITION: &str = "HEADERCONDITION";
pub const IP_CONDITION: &str = "IPCONDITION";
pub const JWT_CLAIMS_CONDITION: &str = "JWTCLAIMSCONDITION";
pub const QUERY_PARAMETER_CONDITION: &str = "QUERYPARAMETERCONDITION";

/// WSO2's `ThrottleCondition`: `type` says which of the four objects is filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleCondition {
    #[serde(rename = "type")]
    pub kind: String,
    /// Matches the requests the condition does *not* describe.
    #[serde(default)]
    pub invert_condition: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_condition: Option<HeaderCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_condition: Option<IpCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_claims_condition: Option<JwtClaimsCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_parameter_condition: Option<QueryParameterCondition>,
}

/// A header whose value matches `header_value` (a regular expression found anywhere in the
/// value, as WSO2 matches it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderCondition {
    pub header_name: String,
    pub header_value: String,
}

/// The client's address: `IPSPECIFIC` (`specificIP`) or `IPRANGE` (`startingIP` to `endingIP`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpCondition {
    #[serde(rename = "ipConditionType")]
    pub ip_condition_type: String,
    #[serde(
        rename = "specificIP",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub specific_ip: Option<String>,
    #[serde(
        rename = "startingIP",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub starting_ip: Option<String>,
    #[serde(rename = "endingIP", default, skip_serializing_if = "Option::is_none")]
    pub ending_ip: Option<String>,
}

/// A claim of the caller's token (`claim_url`, e.g. `http://wso2.org/claims/applicationname`)
/// whose value matches `attribute` (a regular expression).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtClaimsCondition {
    pub claim_url: String,
    pub attribute: String,
}

/// A query parameter whose (decoded) value matches `parameter_value` (a regular expression).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryParameterCondition {
    pub parameter_name: String,
    pub parameter_value: String,
}

impl ThrottleCondition {
    pub fn header(name: &str, value: &str) -> Self {
        ThrottleCondition {
            header_condition: Some(HeaderCondition {
                header_name: name.into(),
                header_value: value.into(),
            }),
            ..Self::empty(HEADER_CONDITION)
        }
    }

    pub fn query(name: &str, value: &str) -> Self {
        ThrottleCondition {
            query_parameter_condition: Some(QueryParameterCondition {
                parameter_name: name.into(),
                parameter_value: value.into(),
            }),
            ..Self::empty(QUERY_PARAMETER_CONDITION)
        }
    }

    pub fn claim(claim_url: &str, attribute: &str) -> Self {
        ThrottleCondition {
            jwt_claims_condition: Some(JwtClaimsCondition {
                claim_url: claim_url.into(),
                attribute: attribute.into(),
            }),
            ..Self::empty(JWT_CLAIMS_CONDITION)
        }
    }

    pub fn ip(address: &str) -> Self {
        ThrottleCondition {
            ip_condition: Some(IpCondition {
                ip_condition_type: "IPSPECIFIC".into(),
                specific_ip: Some(address.into()),
                ..IpCondition::default()
            }),
            ..Self::empty(IP_CONDITION)
        }
    }

    pub fn ip_range(first: &str, last: &str) -> Self {
        ThrottleCondition {
            ip_condition: Some(IpCondition {
                ip_condition_type: "IPRANGE".into(),
                specific_ip: None,
                starting_ip: Some(first.into()),
                ending_ip: Some(last.into()),
            }),
            ..Self::empty(IP_CONDITION)
        }
    }

    /// A condition of `kind` with nothing filled in.
    pub fn empty(kind: &str) -> Self {
        ThrottleCondition {
            kind: kind.into(),
            invert_condition: false,
            header_condition: None,
            ip_condition: None,
            jwt_claims_condition: None,
            query_parameter_condition: None,
        }
    }

    /// "header X-Tier ~ gold", "not IP 10.0.0.1", "IP 10.0.0.1 – 10.0.0.9".
    pub fn text(&self) -> String {
        let not = if self.invert_condition { "not " } else { "" };
        let what = match self.kind.as_str() {
            HEADER_CONDITION => self
                .header_condition
                .as_ref()
                .map(|h| format!("header {} ~ {}", h.header_name, h.header_value)),
            QUERY_PARAMETER_CONDITION => self
                .query_parameter_condition
                .as_ref()
                .map(|q| format!("query {} ~ {}", q.parameter_name, q.parameter_value)),
            JWT_CLAIMS_CONDITION => self
                .jwt_claims_condition
                .as_ref()
                .map(|c| format!("claim {} ~ {}", c.claim_url, c.attribute)),
            IP_CONDITION => self.ip_condition.as_ref().map(|ip| {
                if ip.ip_condition_type == "IPRANGE" {
                    format!(
                        "IP {} – {}",
                        ip.starting_ip.as_deref().unwrap_or_default(),
                        ip.ending_ip.as_deref().unwrap_or_default()
                    )
                } else {
                    format!("IP {}", ip.specific_ip.as_deref().unwrap_or_default())
                }
            }),
            _ => None,
        };
        format!("{not}{}", what.unwrap_or_else(|| self.kind.clone()))
    }
}

impl AdvancedThrottlePolicy {
    pub fn new(name: &str, default_limit: ThrottleLimit) -> Self {
        AdvancedThrottlePolicy {
            policy_id: String::new(),
            policy_name: name.into(),
            display_name: String::new(),
            description: String::new(),
            is_deployed: true,
            kind: String::new(),
            default_limit,
            conditional_groups: vec![],
            built_in: false,
        }
    }

    /// The built-in Unlimited: no limiter, nothing to edit.
    pub fn is_unlimited(&self) -> bool {
        self.policy_name == UNLIMITED && self.built_in
    }
}

/// (name, description, requests per minute): the advanced policies every organization starts
/// with (WSO2's defaults); `Unlimited` has no limiter.
pub const BUILT_IN_ADVANCED: &[(&str, &str, i64)] = &[
    ("50KPerMin", "Allows 50000 requests per minute", 50_000),
    ("20KPerMin", "Allows 20000 requests per minute", 20_000),
    ("10KPerMin", "Allows 10000 requests per minute", 10_000),
    (UNLIMITED, "Allows unlimited requests", 2_147_483_647),
];

/// What the Admin portal's rate-limiting section does (the same service as the REST API).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThrottlingCall {
    List {
        level: String,
    },
    /// Creates (empty `policy_id`) or replaces a policy of `level`.
    Save {
        level: String,
        policy: Box<ThrottlePolicy>,
    },
    Delete {
        level: String,
        id: String,
    },
    DenyList,
    DenyCreate(BlockingCondition),
    DenySetStatus {
        id: String,
        enabled: bool,
    },
    DenyDelete {
        id: String,
    },
    AdvancedList,
    /// Creates (empty `policy_id`) or replaces an advanced policy.
    AdvancedSave(Box<AdvancedThrottlePolicy>),
    AdvancedDelete {
        id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThrottlingReply {
    List(Vec<ThrottlePolicy>),
    One(Box<ThrottlePolicy>),
    Deny(Vec<BlockingCondition>),
    Advanced(Vec<AdvancedThrottlePolicy>),
    Done,
}

impl ThrottlePolicy {
    /// A request-count policy: `requests` per `unit_time` `time_unit`.
    pub fn request_count(name: &str, requests: i64, unit_time: i64, time_unit: &str) -> Self {
        ThrottlePolicy {
            policy_id: String::new(),
            policy_name: name.to_string(),
            display_name: String::new(),
            description: String::new(),
            is_deployed: true,
            kind: String::new(),
            default_limit: ThrottleLimit {
                kind: "REQUESTCOUNTLIMIT".into(),
                request_count: Some(RequestCountLimit {
                    time_unit: time_unit.to_string(),
                    unit_time,
                    request_count: requests,
                }),
                bandwidth: None,
            },
            burst_limit: None,
            rate_limit_count: None,
            rate_limit_time_unit: None,
            stop_on_quota_reach: true,
            billing_plan: "FREE".into(),
            built_in: false,
        }
    }

    /// The built-in Unlimited: no limiter, nothing to edit.
    pub fn is_unlimited(&self) -> bool {
        self.policy_name == UNLIMITED && self.built_in
    }

    /// "1000 per min", "5000 per 2 hour", "5 MB per min", "unlimited".
    pub fn quota_text(&self) -> String {
        if self.is_unlimited() {
            return "unlimited".into();
        }
        self.default_limit.text()
    }

    /// The burst control, whichever level spells it: (count, unit).
    pub fn burst(&self) -> Option<(i64, String)> {
        self.burst_limit
            .as_ref()
            .map(|b| (b.rate_limit_count, b.rate_limit_time_unit.clone()))
            .or_else(|| {
                self.rate_limit_count.map(|c| {
                    (
                        c,
                        self.rate_limit_time_unit
                            .clone()
                            .unwrap_or_else(|| "sec".into()),
                    )
                })
            })
    }
}
