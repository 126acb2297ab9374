//! The Developer Portal's catalogue types, shared by the REST API (`/api/am/devportal/v3`,
//! WSO2's field names) and the portal pages.

use serde::{Deserialize, Serialize};

use crate::publisher::{BusinessInformation, Page};

/// A catalogue entry (WSO2 DevPortal `APIInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueApi {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub context: String,
    pub version: String,
    /// `HTTP` or `APIPRODUCT`.
    #[serde(rename = "type")]
    pub kind: String,
    pub created_time: String,
    pub provider: String,
    pub life_cycle_status: String,
    pub thumbnail_uri: Option<String>,
    pub avg_rating: String,
    pub throttling_policies: Vec<String>,
    pub business_information: BusinessInformation,
    pub is_subscription_available: bool,
    /// `Free` or `Paid`.
    pub monetization_label: String,
    pub tags: Vec<String>,
    pub categories: Vec<String>,
}

/// One API in full (WSO2 DevPortal `API`, the implemented part), with its operations
/// documented from the OpenAPI document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueApiDetail {
    #[serde(flatten)]
    pub info: CatalogueApi,
    pub is_default_version: bool,
    pub transport: Vec<String>,
    pub security_scheme: Vec<String>,
    pub api_key_header: String,
    pub authorization_header: String,
    pub tiers: Vec<Tier>,
    #[serde(rename = "endpointURLs")]
    pub endpoint_urls: Vec<EndpointUrls>,
    pub operations: Vec<OperationDoc>,
    pub last_updated_time: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tier {
    pub tier_name: String,
    /// `FREE` or `COMMERCIAL`.
    pub tier_plan: String,
}

/// Where an environment serves the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointUrls {
    pub environment_name: String,
    pub environment_display_name: String,
    pub environment_type: String,
    #[serde(rename = "URLs")]
    pub urls: Urls,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Urls {
    pub http: Option<String>,
    pub https: Option<String>,
}

/// An operation as the API page documents it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationDoc {
    pub verb: String,
    pub target: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub secured: bool,
    pub scopes: Vec<String>,
    pub parameters: Vec<ParameterDoc>,
    /// Media types of the request body (empty: no body).
    pub request_body: Vec<String>,
    pub request_body_required: bool,
    /// A JSON body to start from: the document's example, or one built from the schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_example: Option<String>,
    /// (status, description).
    pub responses: Vec<(String, String)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterDoc {
    pub name: String,
    #[serde(rename = "in")]
    pub location: String,
    pub required: bool,
    /// `string`, `integer`, `array of string`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub description: Option<String>,
}

/// A catalogue call from the portal (anonymous visitors too).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DevportalCall {
    List {
        query: String,
        offset: i64,
        limit: i64,
    },
    Get {
        id: String,
    },
    /// The organization's API categories (names and descriptions), to filter by.
    Categories,
    /// A question to the marketplace assistant.
    Assistant(crate::ai::AssistantRequest),
    /// API chat on an API's page: `action` PREPARE or EXECUTE.
    ApiChat {
        api_id: String,
        action: String,
        request: crate::ai::ApiChatRequest,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DevportalReply {
    Page(Page<CatalogueApi>),
    Api(Box<CatalogueApiDetail>),
    Categories(Vec<crate::settings::ApiCategory>),
    Assistant(crate::ai::AssistantReply),
    ApiChatPlan(crate::ai::ApiChatPlan),
    ApiChatRun(crate::ai::ApiChatRun),
}

/// A parsed catalogue search: WSO2's `name:`, `tag:`, `context:`, `category:`, `provider:`,
/// `version:`, `description:` prefixes, and free words (matched against names, descriptions,
/// contexts, tags and the definition's text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub name: Option<String>,
    pub tag: Option<String>,
    pub context: Option<String>,
    pub category: Option<String>,
    pub provider: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    pub text: Option<String>,
}

impl Search {
    pub fn parse(query: &str) -> Search {
        let mut s = Search::default();
        let mut words = Vec::new();
        for token in query.split_whitespace() {
            let (key, value) = match token.split_once(':') {
                Some((k, v)) if !v.is_empty() => (k.to_ascii_lowercase(), v.to_string()),
                _ => {
                    words.push(token);
                    continue;
                }
            };
            let slot = match key.as_str() {
                "name" => &mut s.name,
                "tag" | "tags" => &mut s.tag,
                "context" => &mut s.context,
                "category" | "api-category" => &mut s.category,
                "provider" => &mut s.provider,
                "version" => &mut s.version,
                "description" => &mut s.description,
                _ => {
                    words.push(token);
                    continue;
                }
            };
            *slot = Some(value);
        }
        if !words.is_empty() {
            s.text = Some(words.join(" "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_prefixes_and_free_words() {
        let s = Search::parse("tag:food  pizza name:Shack unknown:x context:/pizza");
        assert_eq!(s.tag.as_deref(), Some("food"));
        assert_eq!(s.name.as_deref(), Some("Shack"));
        assert_eq!(s.context.as_deref(), Some("/pizza"));
        assert_eq!(s.text.as_deref(), Some("pizza unknown:x"));
        assert_eq!(Search::parse(""), Search::default());
        assert_eq!(Search::parse("tag:").text.as_deref(), Some("tag:"));
    }
}
