//! Analytics the portals show: traffic, latency percentiles, errors by cause and the top
//! APIs, applications and operations of a time range — for one API (Publisher), one
//! application (Developer Portal) or the whole organization (Admin). The gateways send one
//! event per request; the server keeps them aggregated per minute.

use serde::{Deserialize, Serialize};

/// The time ranges of the picker: how far back, and the width of a chart's point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Range {
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "6h")]
    SixHours,
    #[default]
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
}

impl Range {
    pub const ALL: [Range; 5] = [
        Range::Hour,
        Range::SixHours,
        Range::Day,
        Range::Week,
        Range::Month,
    ];

    /// The query parameter (`range=24h`).
    pub fn param(self) -> &'static str {
        match self {
            Range::Hour => "1h",
            Range::SixHours => "6h",
            Range::Day => "24h",
            Range::Week => "7d",
            Range::Month => "30d",
        }
    }

    pub fn parse(s: &str) -> Option<Range> {
        Range::ALL.into_iter().find(|r| r.param() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::Hour => "Last hour",
            Range::SixHours => "Last 6 hours",
            Range::Day => "Last 24 hours",
            Range::Week => "Last 7 days",
            Range::Month => "Last 30 days",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            Range::Hour => 3_600,
            Range::SixHours => 6 * 3_600,
            Range::Day => 24 * 3_600,
            Range::Week => 7 * 86_400,
            Range::Month => 30 * 86_400,
        }
    }

    /// One chart point per step: 60, 72, 96, 84 and 60 points.
    pub fn step_seconds(self) -> i64 {
        match self {
            Range::Hour => 60,
            Range::SixHours => 300,
            Range::Day => 900,
            Range::Week => 7_200,
            Range::Month => 43_200,
        }
    }
}

/// Whose traffic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// One API (or API product) of the Publisher.
    Api { id: String },
    /// One of the caller's applications (Developer Portal).
    Application { id: String },
    /// Every API of the caller's organization (Admin).
    Organization,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub requests: i64,
    /// Requests the gateway refused or the backend failed (5xx).
    pub errors: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Average time in the backend and in the gateway itself.
    pub backend_ms: Option<f64>,
    pub gateway_ms: Option<f64>,
    pub bytes_in: i64,
    pub bytes_out: i64,
}

/// One step of the time series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    /// Start of the step, Unix seconds.
    pub t: i64,
    pub requests: i64,
    pub errors: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// A top-N row: an API, an application or an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Top {
    pub id: String,
    pub name: String,
    pub requests: i64,
    pub errors: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CauseCount {
    /// `auth`, `throttling`, `policy`, `routing`, `target_connectivity`, `backend_error`,
    /// `other`.
    pub cause: String,
    pub count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub range: String,
    /// RFC 3339.
    pub from: String,
    pub to: String,
    pub step_seconds: i64,
    pub totals: Totals,
    /// One point per step, oldest first, steps without traffic included (as zeros).
    pub series: Vec<Point>,
    pub errors_by_cause: Vec<CauseCount>,
    pub top_apis: Vec<Top>,
    pub top_applications: Vec<Top>,
    pub top_operations: Vec<Top>,
}

/// What a cause means, for the charts' legends.
pub fn cause_label(cause: &str) -> &'static str {
    match cause {
        "auth" => "Authentication",
        "throttling" => "Throttled",
        "policy" => "Policy",
        "routing" => "No matching API",
        "target_connectivity" => "Backend unreachable",
        "backend_error" => "Backend error (5xx)",
        _ => "Other",
    }
}

/// Loads a report through the server function (every portal's charts).
#[leptos::server(input = leptos::server_fn::codec::Json)]
pub async fn analytics_call(
    scope: Scope,
    range: Range,
) -> Result<Result<Report, crate::api::ServiceError>, leptos::prelude::ServerFnError> {
    use leptos::prelude::expect_context;
    let Some(user) = crate::api::ssr::viewer().user else {
        return Ok(Err(crate::api::ServiceError::Unauthorized));
    };
    let services = expect_context::<crate::api::ssr::Services>();
    Ok(services.analytics(&user, scope, range).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip_their_parameter() {
        for r in Range::ALL {
            assert_eq!(Range::parse(r.param()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.param())
            );
            assert!(r.seconds() / r.step_seconds() <= 100, "{r:?}");
        }
        assert_eq!(Range::parse("2h"), None);
    }
}
