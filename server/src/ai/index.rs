//! The indexer: keeps a vector of every listed API and API product, and of each of its
//! operations, in `ai_embedding`. Changes to `api` queue a job in the same transaction (a
//! trigger, so every path that publishes, edits, retires or deletes is covered); this task
//! takes the jobs, embeds what changed, and drops what is no longer listed, so publishing never
//! waits for a model. Several server replicas share the queue (`FOR UPDATE SKIP LOCKED`, a
//! claim with a deadline). A change of model queues every listed API again.

use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::{Ai, AiError};

/// Lifecycle states whose APIs the catalogue lists (`devportal::LISTED`).
pub const LISTED: &str = "('PUBLISHED', 'PROTOTYPED', 'DEPRECATED')";
/// How long a claim lasts: another indexer takes the job over after that.
const CLAIM: &str = "5 minutes";
/// Characters of text per vector (the model reads ~256 tokens, ~1,000 characters).
const MAX_TEXT: usize = 2_000;

/// One text to embed: the API (`operation` empty) or one of its operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub kind: &'static str,
    pub operation: String,
    pub content: String,
}

#[derive(sqlx::FromRow)]
struct ApiText {
    name: String,
    version: String,
    description: String,
    lifecycle_status: String,
    settings: sqlx::types::Json<Value>,
    operations: sqlx::types::Json<Vec<app::publisher::Operation>>,
    definition: Option<sqlx::types::Json<Value>>,
}

/// What is embedded for an API: the API as a whole (name, description, tags, categories,
/// business owner, what its operations do) and each operation (its summary, description,
/// method and path, parameters, tags).
pub fn items(
    name: &str,
    version: &str,
    description: &str,
    settings: &Value,
    operations: &[app::publisher::Operation],
    definition: Option<&Value>,
) -> Vec<Item> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let doc_description = definition
        .and_then(|d| d.pointer("/info/description"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let docs = definition
        .map(|d| crate::devportal::operation_docs(d, operations))
        .unwrap_or_default();
    let mut api = format!("{name} {version}.");
    for text in [description, doc_description] {
        if !text.trim().is_empty() && !api.contains(text.trim()) {
            api.push(' ');
            api.push_str(text.trim());
        }
    }
    let tags = strings(&settings["tags"]);
    if !tags.is_empty() {
        api.push_str(&format!(" Tags: {}.", tags.join(", ")));
    }
    let categories = strings(&settings["categories"]);
    if !categories.is_empty() {
        api.push_str(&format!(" Categories: {}.", categories.join(", ")));
    }
    if let Some(owner) = settings
        .pointer("/businessInformation/businessOwner")
        .and_then(Value::as_str)
        .filter(|o| !o.is_empty())
    {
        api.push_str(&format!(" Business owner: {owner}."));
    }
    let summaries: Vec<String> = docs
        .iter()
        .filter_map(|d| d.summary.clone().or_else(|| d.description.clone()))
        .map(|s| first_sentence(&s))
        .collect();
    if !summaries.is_empty() {
        api.push_str(&format!(" Operations: {}.", summaries.join("; ")));
    }
    let mut out = vec![Item {
        kind: "api",
        operation: String::new(),
        content: clip(&api),
    }];
    let documented: Vec<(String, String)> = docs
        .iter()
        .map(|d| (d.verb.to_uppercase(), d.target.clone()))
        .collect();
    for d in &docs {
        let mut text = format!("{name}: ");
        if let Some(s) = &d.summary {
            text.push_str(s.trim());
            text.push_str(". ");
        }
        if let Some(s) = d
            .description
            .as_ref()
            .filter(|s| Some(*s) != d.summary.as_ref())
        {
            text.push_str(&first_sentence(s));
            text.push(' ');
        }
        text.push_str(&format!("{} {}", d.verb.to_uppercase(), d.target));
        let params: Vec<String> = d
            .parameters
            .iter()
            .map(|p| match &p.description {
                Some(desc) if !desc.is_empty() => format!("{} ({})", p.name, first_sentence(desc)),
                _ => p.name.clone(),
            })
            .collect();
        if !params.is_empty() {
            text.push_str(&format!(". Parameters: {}", params.join(", ")));
        }
        if !d.tags.is_empty() {
            text.push_str(&format!(". Tags: {}", d.tags.join(", ")));
        }
        out.push(Item {
            kind: "operation",
            operation: format!("{} {}", d.verb.to_uppercase(), d.target),
            content: clip(&text),
        });
    }
    // Operations the document does not describe (products, APIs without a definition).
    for o in operations {
        let key = (o.verb.to_uppercase(), o.target.clone());
        if !documented.contains(&key) {
            out.push(Item {
                kind: "operation",
                operation: format!("{} {}", key.0, key.1),
                content: clip(&format!("{name}: {} {}", key.0, key.1)),
            });
        }
    }
    out
}

/// The first sentence (or line) of a text, without Markdown line breaks.
pub(crate) fn first_sentence(s: &str) -> String {
    let s = s.trim();
    let line = s.lines().next().unwrap_or_default();
    let end = line
        .find(". ")
        .map_or(line.len(), |i| i + 1)
        .min(line.len());
    line[..end].trim().to_string()
}

fn clip(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_string();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Queues every listed API whose vectors are missing for `model` (a new model, vectors lost).
pub async fn queue_missing(db: &PgPool, model: &str) -> sqlx::Result<u64> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO ai_index_job (api_id)
         SELECT a.id FROM api a
          WHERE a.lifecycle_status IN {LISTED}
            AND NOT EXISTS (SELECT 1 FROM ai_embedding e
                             WHERE e.api_id = a.id AND e.model = $1 AND e.kind = 'api')
         ON CONFLICT (api_id) DO NOTHING"
    )))
    .bind(model)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// The index of one organization's APIs for its admins (counts against the current model).
pub async fn status(
    ai: &Ai,
    db: &PgPool,
    organization: &str,
) -> Result<app::ai::AiIndexStatus, AiError> {
    // Without trying to set the provider up here (an endpoint that hangs would hold the page):
    // the indexer tries every few seconds; before its first try, this does.
    let state = match ai.embedder_state() {
        Err(None) => ai.embedder().await.map_err(|e| Some(e.to_string())),
        other => other,
    };
    let (model, dimension, model_problem) = match state {
        Ok(e) => (
            Some(e.model().to_string()),
            i32::try_from(e.dimension()).ok(),
            None,
        ),
        Err(why) => (None, None, why),
    };
    let current = model.clone().unwrap_or_default();
    let (apis_listed, apis_indexed, queued, in_progress): (i64, i64, i64, i64) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FILTER (WHERE a.lifecycle_status IN {LISTED}),
                    count(*) FILTER (WHERE a.lifecycle_status IN {LISTED} AND EXISTS (
                        SELECT 1 FROM ai_embedding e
                         WHERE e.api_id = a.id AND e.model = $2 AND e.kind = 'api')),
                    count(j.api_id),
                    count(j.api_id) FILTER (WHERE j.claimed_until > now() AND j.last_error IS NULL)
               FROM api a JOIN organization o ON o.id = a.organization_id
               LEFT JOIN ai_index_job j ON j.api_id = a.id
              WHERE o.name = $1"
        )))
        .bind(organization)
        .bind(&current)
        .fetch_one(db)
        .await?;
    let (texts, stale_texts, last_indexed): (i64, i64, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as(
            "SELECT count(*) FILTER (WHERE e.model = $2), count(*) FILTER (WHERE e.model <> $2),
                    max(e.created_at)
               FROM ai_embedding e JOIN api a ON a.id = e.api_id
               JOIN organization o ON o.id = a.organization_id
              WHERE o.name = $1",
        )
        .bind(organization)
        .bind(&current)
        .fetch_one(db)
        .await?;
    let failing: Vec<(Uuid, String, String, i32, String, f64)> = sqlx::query_as(
        "SELECT a.id, a.name, a.version, j.attempts, j.last_error,
                greatest(extract(epoch FROM j.claimed_until - now()), 0)::float8
           FROM ai_index_job j JOIN api a ON a.id = j.api_id
           JOIN organization o ON o.id = a.organization_id
          WHERE o.name = $1 AND j.last_error IS NOT NULL
          ORDER BY j.enqueued_at LIMIT 20",
    )
    .bind(organization)
    .fetch_all(db)
    .await?;
    Ok(app::ai::AiIndexStatus {
        enabled: ai.enabled(),
        model,
        dimension,
        model_problem,
        answered_by: ai
            .llm()
            .map_or_else(|| "embedded".to_string(), |l| format!("llm:{}", l.model())),
        apis_listed,
        apis_indexed,
        texts,
        stale_texts,
        queued,
        in_progress,
        failing: failing
            .into_iter()
            .map(
                |(id, name, version, attempts, last_error, wait)| app::ai::AiIndexFailure {
                    api_id: id.to_string(),
                    name,
                    version,
                    attempts,
                    last_error,
                    retry_in_seconds: wait.ceil() as i64,
                },
            )
            .collect(),
        last_indexed: last_indexed.map(|t| t.to_rfc3339()),
    })
}

/// Queues every listed API of `organization` to be embedded again, each text anew, failed ones
/// at once: the number queued. The indexer is woken.
pub async fn reindex(db: &PgPool, organization: &str) -> sqlx::Result<i64> {
    let mut tx = db.begin().await?;
    let queued = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO ai_index_job (api_id, force)
         SELECT a.id, true FROM api a JOIN organization o ON o.id = a.organization_id
          WHERE o.name = $1 AND a.lifecycle_status IN {LISTED}
         ON CONFLICT (api_id) DO UPDATE
         SET enqueued_at = clock_timestamp(), claimed_until = NULL, attempts = 0,
             last_error = NULL, force = true"
    )))
    .bind(organization)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("SELECT pg_notify('ai_index', 'reindex')")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(i64::try_from(queued).unwrap_or(i64::MAX))
}

/// A job taken: the API, when it was queued, and whether every text is embedded again.
type Claimed = (Uuid, chrono::DateTime<chrono::Utc>, bool);

/// Takes the oldest job nobody works on.
async fn claim(db: &PgPool) -> sqlx::Result<Option<Claimed>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE ai_index_job SET claimed_until = now() + interval '{CLAIM}', attempts = attempts + 1
          WHERE api_id = (SELECT api_id FROM ai_index_job
                           WHERE claimed_until IS NULL OR claimed_until < now()
                           ORDER BY enqueued_at LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING api_id, enqueued_at, force"
    )))
    .fetch_optional(db)
    .await
}

/// Embeds one API again (or drops its vectors): the number of texts embedded. Unchanged texts
/// keep their vectors unless `force`.
pub async fn index_api(ai: &Ai, db: &PgPool, id: Uuid, force: bool) -> Result<usize, AiError> {
    let row: Option<ApiText> = sqlx::query_as(
        "SELECT name, version, description, lifecycle_status, settings, operations,
                definition::jsonb AS definition
           FROM api WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    let listed = row.as_ref().is_some_and(|r| {
        ["PUBLISHED", "PROTOTYPED", "DEPRECATED"].contains(&r.lifecycle_status.as_str())
    });
    let Some(row) = row.filter(|_| listed) else {
        sqlx::query("DELETE FROM ai_embedding WHERE api_id = $1")
            .bind(id)
            .execute(db)
            .await?;
        return Ok(0);
    };
    let embedder = ai.embedder().await?;
    let items = items(
        &row.name,
        &row.version,
        &row.description,
        &row.settings.0,
        &row.operations.0,
        row.definition.as_ref().map(|d| &d.0),
    );
    // Texts already embedded with this model are kept as they are.
    let existing: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT kind, operation, content FROM ai_embedding WHERE api_id = $1 AND model = $2",
    )
    .bind(id)
    .bind(embedder.model())
    .fetch_all(db)
    .await?;
    let changed: Vec<&Item> = items
        .iter()
        .filter(|i| {
            force
                || !existing
                    .iter()
                    .any(|(k, o, c)| k == i.kind && *o == i.operation && *c == i.content)
        })
        .collect();
    let vectors = embedder
        .embed(changed.iter().map(|i| i.content.clone()).collect())
        .await?;
    let mut tx = db.begin().await?;
    // Other models' vectors, and operations that are gone.
    let kinds: Vec<&str> = items.iter().map(|i| i.kind).collect();
    let operations: Vec<&str> = items.iter().map(|i| i.operation.as_str()).collect();
    sqlx::query(
        "DELETE FROM ai_embedding e
          WHERE e.api_id = $1
            AND (e.model <> $2 OR NOT EXISTS (
                   SELECT 1 FROM unnest($3::text[], $4::text[]) AS k (kind, operation)
                    WHERE k.kind = e.kind AND k.operation = e.operation))",
    )
    .bind(id)
    .bind(embedder.model())
    .bind(&kinds)
    .bind(&operations)
    .execute(&mut *tx)
    .await?;
    for (item, vector) in changed.iter().zip(vectors) {
        sqlx::query(
            "INSERT INTO ai_embedding (api_id, kind, operation, content, model, dimension, embedding)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT ON CONSTRAINT ai_embedding_key DO UPDATE
             SET content = EXCLUDED.content, dimension = EXCLUDED.dimension,
                 embedding = EXCLUDED.embedding, created_at = now()",
        )
        .bind(id)
        .bind(item.kind)
        .bind(&item.operation)
        .bind(&item.content)
        .bind(embedder.model())
        .bind(i32::try_from(vector.len()).unwrap_or(i32::MAX))
        .bind(pgvector::Vector::from(vector))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(changed.len())
}

/// Runs jobs until none is left: (APIs done, texts embedded).
pub async fn drain(ai: &Ai, db: &PgPool) -> Result<(usize, usize), AiError> {
    let (mut apis, mut texts) = (0, 0);
    while let Some((id, enqueued_at, force)) = claim(db).await? {
        match index_api(ai, db, id, force).await {
            Ok(n) => {
                // A change made meanwhile queued it again (a newer `enqueued_at`): kept.
                sqlx::query("DELETE FROM ai_index_job WHERE api_id = $1 AND enqueued_at = $2")
                    .bind(id)
                    .bind(enqueued_at)
                    .execute(db)
                    .await?;
                apis += 1;
                texts += n;
            }
            Err(e) => {
                // Tried again later, waiting longer each time (at most ten minutes).
                tracing::warn!(api = %id, error = %e, "indexing an API for the AI features failed");
                sqlx::query(
                    "UPDATE ai_index_job
                        SET last_error = $2,
                            claimed_until = now() + least(attempts * attempts * interval '10 seconds',
                                                          interval '10 minutes')
                      WHERE api_id = $1 AND enqueued_at = $3",
                )
                .bind(id)
                .bind(e.to_string())
                .bind(enqueued_at)
                .execute(db)
                .await?;
                if matches!(e, AiError::Unavailable(_)) {
                    return Err(e);
                }
            }
        }
    }
    Ok((apis, texts))
}

/// The indexer task: wakes on `NOTIFY ai_index` (a change committed anywhere, by any replica)
/// or every few seconds, and drains the queue.
pub async fn run(ai: Ai, db: PgPool) {
    // Its own connection, not one of the pool's: LISTEN holds it for good, and the pool's are
    // counted (a small pool would run short).
    let own = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with((*db.connect_options()).clone());
    let mut listener = match sqlx::postgres::PgListener::connect_with(&own).await {
        Ok(mut l) => match l.listen("ai_index").await {
            Ok(()) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN for AI indexing jobs; polling");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "cannot LISTEN for AI indexing jobs; polling");
            None
        }
    };
    let mut queued_missing = false;
    let mut stop = ai.stopping();
    loop {
        if *stop.borrow() {
            break;
        }
        if !queued_missing && let Ok(e) = ai.embedder().await {
            // The model's dimension gets its partial HNSW index (384 has one from the migration).
            let dim = e.dimension();
            if let Err(err) = sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE INDEX IF NOT EXISTS ai_embedding_hnsw_{dim} ON ai_embedding
                   USING hnsw ((embedding::vector({dim})) vector_cosine_ops) WHERE dimension = {dim}"
            )))
            .execute(&db)
            .await
            {
                tracing::warn!(error = %err, dim, "cannot create the vector index for this model");
            }
            match queue_missing(&db, e.model()).await {
                Ok(n) if n > 0 => {
                    tracing::info!(apis = n, model = e.model(), "queued APIs to embed");
                    queued_missing = true;
                }
                Ok(_) => queued_missing = true,
                Err(e) => tracing::warn!(error = %e, "cannot queue APIs to embed"),
            }
        }
        match drain(&ai, &db).await {
            Ok((apis, texts)) if apis > 0 => {
                tracing::debug!(apis, texts, "AI index updated");
                ai.indexed();
            }
            Ok(_) => {}
            Err(AiError::Unavailable(why)) => {
                // No model: nothing to do until one is installed (checked again later).
                tracing::debug!(%why, "AI indexing waits for a model");
            }
            Err(e) => tracing::warn!(error = %e, "AI indexing failed"),
        }
        let wait = Duration::from_secs(5);
        let woken = async {
            match listener.as_mut() {
                Some(l) => match tokio::time::timeout(wait, l.recv()).await {
                    // A job was queued, or five seconds passed.
                    Ok(Ok(_)) | Err(_) => {}
                    // The connection broke: polling until it is back (sqlx reconnects on the
                    // next `recv`), never spinning.
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "LISTEN ai_index failed; polling");
                        tokio::time::sleep(wait).await;
                    }
                },
                None => tokio::time::sleep(wait).await,
            }
        };
        tokio::select! {
            _ = woken => {}
            _ = stop.changed() => break,
        }
    }
    tracing::debug!("AI indexer stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_api_and_each_operation_get_a_text() {
        let doc = json!({
            "openapi": "3.0.0",
            "info": {"title": "SMS", "version": "1", "description": "Send and receive text messages."},
            "paths": {
                "/messages": {"post": {"summary": "Send an SMS", "description": "Sends a message. Costs one credit.",
                    "parameters": [{"name": "dryRun", "in": "query", "description": "Validate only. Nothing is sent."}]}},
                "/messages/{id}": {"get": {"summary": "Get a message", "tags": ["messages"]}}
            }
        });
        let ops: Vec<app::publisher::Operation> = serde_json::from_value(json!([
            {"target": "/messages", "verb": "POST"},
            {"target": "/messages/{id}", "verb": "GET"},
            {"target": "/status", "verb": "GET"}
        ]))
        .unwrap();
        let items = items(
            "SMS",
            "1.0",
            "Text messages to phones.",
            &json!({"tags": ["sms", "messaging"], "businessInformation": {"businessOwner": "Comms"}}),
            &ops,
            Some(&doc),
        );
        assert_eq!(items.len(), 4);
        assert_eq!(
            items[0].content,
            "SMS 1.0. Text messages to phones. Send and receive text messages. Tags: sms, \
             messaging. Business owner: Comms. Operations: Send an SMS; Get a message."
        );
        assert_eq!(items[1].operation, "POST /messages");
        assert_eq!(
            items[1].content,
            "SMS: Send an SMS. Sends a message. POST /messages. Parameters: dryRun (Validate only.)"
        );
        assert_eq!(
            items[2].content,
            "SMS: Get a message. GET /messages/{id}. Tags: messages"
        );
        assert_eq!(
            (items[3].operation.as_str(), items[3].content.as_str()),
            ("GET /status", "SMS: GET /status")
        );
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        let s = "é".repeat(MAX_TEXT);
        assert!(clip(&s).len() <= MAX_TEXT);
        assert_eq!(first_sentence("One. Two.\nThree"), "One.");
    }
}
