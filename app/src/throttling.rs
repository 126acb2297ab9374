//! Rate-limiting policies as Admin v4 describes them (`ApplicationThrottlePolicy`,
//! `SubscriptionThrottlePolicy`, WSO2's field names), with the built-in ones every organization
//! starts with. The gateway enforces request-count limits with GCRA.

use serde::{Deserialize, Serialize};

pub const APPLICATION: &str = "application";
pub const SUBSCRIPTION: &str = "subscription";
pub const UNLIMITED: &str = "Unlimited";

/// WSO2's `ThrottleLimit` (request count; bandwidth limits are refused for now).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleLimit {
    /// `REQUESTCOUNTLIMIT` (`BANDWIDTHLIMIT` is not enforced yet and refused).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_count: Option<RequestCountLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<serde_json::Value>,
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
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThrottlingReply {
    List(Vec<ThrottlePolicy>),
    One(Box<ThrottlePolicy>),
    Deny(Vec<BlockingCondition>),
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

    /// "1000 per min", "5000 per 2 hour", "unlimited".
    pub fn quota_text(&self) -> String {
        match &self.default_limit.request_count {
            _ if self.is_unlimited() => "unlimited".into(),
            Some(rc) if rc.unit_time == 1 => format!("{} per {}", rc.request_count, rc.time_unit),
            Some(rc) => format!("{} per {} {}", rc.request_count, rc.unit_time, rc.time_unit),
            None => "—".into(),
        }
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
