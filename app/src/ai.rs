//! The AI features' shared types: the marketplace assistant's question and answer (DevPortal v3
//! `POST /marketplace-assistant/chat`), as the REST API and the portal's chat panel use them.

use serde::{Deserialize, Serialize};

/// One earlier turn of the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatTurn {
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
}

/// A question to the marketplace assistant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssistantRequest {
    pub query: String,
    #[serde(default)]
    pub history: Vec<ChatTurn>,
}

/// The assistant's answer: what to tell the user, and the APIs it names (best first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssistantReply {
    pub response: String,
    pub apis: Vec<AssistantApi>,
    /// `template` (no LLM) or `llm:<model>`.
    pub answered_by: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssistantApi {
    pub api_id: String,
    pub name: String,
    pub version: String,
    /// `HTTP` (an API) or `APIPRODUCT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Cosine similarity of the best matching text, 0–1.
    pub score: f32,
    /// One line: why it fits.
    pub reason: String,
}

/// API chat (DevPortal v3 `POST /apis/{apiId}/api-chat?apiChatAction=PREPARE|EXECUTE`):
/// `PREPARE` turns `command` into a plan; `EXECUTE` runs a plan through the gateway with a test
/// token of `applicationId`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiChatRequest {
    /// What the user asked (PREPARE).
    #[serde(default)]
    pub command: String,
    /// The plan to run (EXECUTE), as PREPARE returned it or as the user edited it.
    #[serde(default)]
    pub plan: Option<ApiChatPlan>,
    /// Whose test token calls the API (EXECUTE): one of the user's applications.
    #[serde(default)]
    pub application_id: String,
    /// The user confirmed the plan's mutating calls (POST, PUT, PATCH, DELETE).
    #[serde(default)]
    pub confirmed: bool,
}

/// The calls that do what the user asked, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiChatPlan {
    pub command: String,
    pub steps: Vec<PlannedCall>,
    /// `embedded` (no LLM) or `llm:<model>`.
    pub planner: String,
    /// One sentence: what will be done.
    pub explanation: String,
    /// Some call changes data: EXECUTE needs `confirmed`.
    pub needs_confirmation: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedCall {
    pub method: String,
    /// The operation's path template: `/order/{orderId}`.
    pub path: String,
    #[serde(default)]
    pub summary: String,
    /// Path and query parameters by name, the JSON body under `body`; `$stepN.field` takes a
    /// value from step N's response.
    pub arguments: serde_json::Map<String, serde_json::Value>,
    /// What is wrong with the arguments (validated against the OpenAPI schema); a plan with
    /// problems does not run.
    #[serde(default)]
    pub problems: Vec<String>,
}

/// What running a plan did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiChatRun {
    pub steps: Vec<CallResult>,
    /// One sentence on the outcome.
    pub explanation: String,
    /// Every call answered 2xx.
    pub succeeded: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallResult {
    pub method: String,
    /// The URL called (through the gateway).
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    pub status: u16,
    pub response_body: String,
    pub truncated: bool,
    pub elapsed_ms: u64,
}

/// The AI index of one organization's APIs, as its admins see it (Admin portal "AI index",
/// Admin v4 `GET /ai-index`): which model embeds, how far the catalogue is embedded, what is
/// queued and what keeps failing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiIndexStatus {
    /// `ai.enabled`: the assistant and API chat are offered.
    pub enabled: bool,
    /// The embeddings model, when one can be used (`model_problem` says why not).
    pub model: Option<String>,
    pub dimension: Option<i32>,
    pub model_problem: Option<String>,
    /// Who writes answers and plans: `embedded` (no LLM) or `llm:<model>`.
    pub answered_by: String,
    /// APIs and API products the catalogue lists.
    pub apis_listed: i64,
    /// Of those, the ones embedded with the current model.
    pub apis_indexed: i64,
    /// Vectors of the current model.
    pub texts: i64,
    /// Vectors of another model, replaced as their APIs are embedded again.
    pub stale_texts: i64,
    /// APIs waiting to be embedded (or to have their vectors dropped).
    pub queued: i64,
    /// Of those, the ones an indexer works on now.
    pub in_progress: i64,
    pub failing: Vec<AiIndexFailure>,
    /// When a vector was last written (RFC 3339).
    pub last_indexed: Option<String>,
}

/// An API whose embedding failed: tried again later, waiting longer each time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiIndexFailure {
    pub api_id: String,
    pub name: String,
    pub version: String,
    pub attempts: i32,
    pub last_error: String,
    /// Seconds until the next try.
    pub retry_in_seconds: i64,
}

/// One call of the Admin portal's AI index page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AiAdminCall {
    Status,
    /// Embed every listed API of the organization again (and retry failed ones now).
    Reindex,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AiAdminReply {
    Status(Box<AiIndexStatus>),
    Queued { apis: i64 },
}
