//! The AI features through the REST API, on the real model (all-MiniLM-L6-v2 in process) and
//! pgvector: a catalogue of 52 real public APIs is imported, deployed and published the way a
//! publisher does it; the indexer embeds them in the background; the marketplace assistant
//! answers the question set of `fixtures/ai/questions.json` (written before any tuning), and
//! recall@1 / recall@3 are reported (recall@3 must be at least 0.9).
//!
//! Needs the model: `bash scripts/setup-models.sh minilm` (`make test` runs it).

mod common;

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const D: &str = "/api/am/devportal/v3";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ai");

fn ai_settings(per_minute: u32) -> server::config::Settings {
    let mut s = settings();
    s.ai.requests_per_minute = per_minute;
    if let Some(dir) = std::env::var_os("GATEHOUSE_MODELS_DIR") {
        s.ai.models_dir = Some(dir.into());
    }
    s
}

async fn publisher_token(app: &TestApp) -> String {
    app.access_token(
        "admin",
        ADMIN_PASSWORD,
        "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage \
         apim:api_delete apim:subscribe",
    )
    .await
}

/// Imports `doc` as an API at `/{slug}`, deploys a revision and publishes it: its id.
async fn publish(app: &TestApp, token: &str, slug: &str, doc: &[u8]) -> String {
    let extra = json!({
        "context": format!("/{slug}"),
        "version": "1.0",
        "endpointConfig": {"endpoint_type": "http",
                           "production_endpoints": {"url": "http://127.0.0.1:9"}},
    });
    import_api(app, token, &format!("{slug}.json"), doc, extra, true).await
}

/// Publishes the test catalogue's `{slug}.json`.
async fn publish_catalogue(app: &TestApp, token: &str, slug: &str) -> String {
    let doc = std::fs::read(std::path::Path::new(FIXTURES).join(format!("catalogue/{slug}.json")))
        .unwrap();
    publish(app, token, slug, &doc).await
}

/// Waits until the indexer has embedded everything queued: how long it took.
async fn indexed(db: &PgPool, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (left, failed): (i64, Option<String>) =
            sqlx::query_as("SELECT count(*), max(last_error) FROM ai_index_job")
                .fetch_one(db)
                .await
                .unwrap();
        assert!(failed.is_none(), "indexing failed: {failed:?}");
        if left == 0 {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{left} APIs still to index after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn ask(app: &TestApp, token: &str, query: &str, history: Value) -> Value {
    ok(
        app,
        Method::POST,
        &format!("{D}/marketplace-assistant/chat"),
        token,
        Some(json!({"query": query, "history": history})),
    )
    .await
}

/// A question from a visitor who is not signed in.
async fn ask_anonymously(app: &TestApp, query: &str) -> Resp {
    app.post_json(
        &format!("{D}/marketplace-assistant/chat"),
        json!({"query": query}),
        &[],
    )
    .await
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_assistant_finds_the_api_for_a_question(db: PgPool) {
    let app = spawn_with(db.clone(), ai_settings(10_000)).await;
    let token = publisher_token(&app).await;
    let dir = std::path::Path::new(FIXTURES).join("catalogue");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut ids = std::collections::HashMap::new();
    for f in &files {
        let slug = f.file_stem().unwrap().to_string_lossy().to_string();
        let id = publish(&app, &token, &slug, &std::fs::read(f).unwrap()).await;
        ids.insert(id, slug);
    }
    let took = indexed(&db, Duration::from_secs(900)).await;
    let texts: i64 = sqlx::query_scalar("SELECT count(*) FROM ai_embedding")
        .fetch_one(&db)
        .await
        .unwrap();
    eprintln!(
        "indexed {} APIs, {texts} texts in {took:.1?} ({:.0} texts/s)",
        ids.len(),
        texts as f64 / took.as_secs_f64()
    );
    assert!(texts as usize > ids.len(), "the APIs and their operations");

    let questions: Vec<Value> =
        serde_json::from_slice(&std::fs::read(format!("{FIXTURES}/questions.json")).unwrap())
            .unwrap();
    let (mut answerable, mut at1, mut at3, mut nothing_right, mut unanswerable) = (0, 0, 0, 0, 0);
    let mut latencies = Vec::new();
    let mut misses = Vec::new();
    for q in &questions {
        let question = q["question"].as_str().unwrap();
        let expected: Vec<&str> = q["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        let started = Instant::now();
        let reply = ask(&app, &token, question, json!([])).await;
        latencies.push(started.elapsed());
        assert_eq!(reply["answeredBy"], "template", "{reply}");
        let named: Vec<&str> = reply["apis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| ids[a["apiId"].as_str().unwrap()].as_str())
            .collect();
        // Every API named is linked from the answer text.
        for a in reply["apis"].as_array().unwrap() {
            assert!(
                reply["response"]
                    .as_str()
                    .unwrap()
                    .contains(a["name"].as_str().unwrap()),
                "{reply}"
            );
        }
        let top = reply["apis"][0]["score"].as_f64().unwrap_or(0.0);
        if expected.is_empty() {
            unanswerable += 1;
            eprintln!("  unanswerable: {question} → {named:?} ({top:.3})");
            let says_so = reply["response"].as_str().is_some_and(|r| {
                r.starts_with("I could not find") || r.starts_with("Nothing in this portal fits")
            });
            if says_so {
                nothing_right += 1;
            }
            continue;
        }
        answerable += 1;
        if named.first().is_some_and(|n| expected.contains(n)) {
            at1 += 1;
        }
        if named.iter().take(3).any(|n| expected.contains(n)) {
            at3 += 1;
        } else {
            misses.push(format!(
                "{question} → {named:?} ({top:.3}; expected {expected:?})"
            ));
        }
    }
    latencies.sort();
    let recall1 = at1 as f64 / answerable as f64;
    let recall3 = at3 as f64 / answerable as f64;
    eprintln!(
        "marketplace assistant over {answerable} questions: recall@1 {recall1:.3}, recall@3 \
         {recall3:.3}; says nothing fits for {nothing_right} of {unanswerable} unanswerable; \
         latency p50 {:.1?}, p95 {:.1?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 95 / 100]
    );
    for m in &misses {
        eprintln!("  missed: {m}");
    }
    assert!(recall3 >= 0.9, "recall@3 {recall3:.3} < 0.9");

    // A follow-up keeps the subject of the conversation.
    let first = ask(
        &app,
        &token,
        "I need to send text messages to phones",
        json!([]),
    )
    .await;
    let follow = ask(
        &app,
        &token,
        "and also check that they were delivered",
        json!([{"role": "user", "content": "I need to send text messages to phones"},
               {"role": "assistant", "content": first["response"]}]),
    )
    .await;
    assert_eq!(
        ids[follow["apis"][0]["apiId"].as_str().unwrap()],
        "bulksms",
        "{follow}"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_assistant_respects_visibility_lifecycle_and_limits(db: PgPool) {
    let app = spawn_with(db.clone(), ai_settings(5)).await;
    let token = publisher_token(&app).await;
    let sms = publish_catalogue(&app, &token, "bulksms").await;
    let weather = publish_catalogue(&app, &token, "visualcrossing-weather").await;
    indexed(&db, Duration::from_secs(300)).await;
    // Anonymous visitors see public APIs.
    let r = ask_anonymously(&app, "send an SMS to a customer").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["apis"][0]["apiId"], sms.as_str());

    // Restricted to a role the visitor does not have: the assistant does not see it either.
    let mut api = ok(&app, Method::GET, &format!("{P}/apis/{sms}"), &token, None).await;
    api["visibility"] = json!("RESTRICTED");
    api["visibleRoles"] = json!(["internal/partners"]);
    ok(
        &app,
        Method::PUT,
        &format!("{P}/apis/{sms}"),
        &token,
        Some(api),
    )
    .await;
    indexed(&db, Duration::from_secs(60)).await;
    let r = ask_anonymously(&app, "send an SMS to a customer").await;
    let apis = r.json()["apis"].clone();
    assert!(
        apis.as_array()
            .unwrap()
            .iter()
            .all(|a| a["apiId"] != sms.as_str()),
        "{apis}"
    );

    // Retired: its vectors go.
    ok(
        &app,
        Method::POST,
        &format!("{P}/apis/change-lifecycle?apiId={weather}&action=Deprecate"),
        &token,
        None,
    )
    .await;
    ok(
        &app,
        Method::POST,
        &format!("{P}/apis/change-lifecycle?apiId={weather}&action=Retire"),
        &token,
        None,
    )
    .await;
    indexed(&db, Duration::from_secs(60)).await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM ai_embedding WHERE api_id = $1::uuid")
        .bind(&weather)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0, "a retired API has no vectors");

    // Bad input names the field; nothing fits says so plainly.
    let r = app
        .call(
            Method::POST,
            &format!("{D}/marketplace-assistant/chat"),
            &token,
            Some(json!({"query": " "})),
        )
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["query"]
    );
    let reply = ask(
        &app,
        &token,
        "what is the weather in Paris tomorrow?",
        json!([]),
    )
    .await;
    assert_eq!(reply["apis"], json!([]), "{reply}");
    assert!(
        reply["response"]
            .as_str()
            .unwrap()
            .contains("could not find"),
        "{reply}"
    );
    // Five calls a minute for this user (two made above, the refused one counts): the sixth
    // waits.
    for _ in 0..3 {
        ask(&app, &token, "send an SMS", json!([])).await;
    }
    let r = app
        .call(
            Method::POST,
            &format!("{D}/marketplace-assistant/chat"),
            &token,
            Some(json!({"query": "send an SMS"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert!(r.headers.get("retry-after").is_some());
}

const A: &str = "/api/am/admin/v4";

/// The vectors' write times, by text.
async fn written(db: &PgPool) -> Vec<(String, String, chrono::DateTime<chrono::Utc>)> {
    sqlx::query_as(
        "SELECT api_id::text, operation, created_at FROM ai_embedding ORDER BY api_id, operation",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn admins_see_the_index_and_re_embed_it(db: PgPool) {
    let app = spawn_with(db.clone(), ai_settings(100)).await;
    let token = publisher_token(&app).await;
    for slug in ["bulksms", "visualcrossing-weather"] {
        publish_catalogue(&app, &token, slug).await;
    }
    indexed(&db, Duration::from_secs(300)).await;
    let texts = count(&db, "SELECT count(*) FROM ai_embedding").await;
    let status = ok(&app, Method::GET, &format!("{A}/ai-index"), &token, None).await;
    assert_eq!(status["enabled"], true);
    assert_eq!(status["dimension"], 384, "{status}");
    assert!(
        status["model"].as_str().unwrap().contains("MiniLM"),
        "{status}"
    );
    assert_eq!(status["modelProblem"], Value::Null);
    assert_eq!(status["answeredBy"], "embedded");
    assert_eq!(
        (
            status["apisListed"].as_i64(),
            status["apisIndexed"].as_i64()
        ),
        (Some(2), Some(2)),
        "{status}"
    );
    assert_eq!(status["texts"].as_i64(), Some(texts));
    assert_eq!(status["queued"], 0);
    assert_eq!(status["failing"], json!([]));

    // Re-embed all: every text is written again (unchanged texts too), in the background.
    let before = written(&db).await;
    let r = app
        .call(Method::POST, &format!("{A}/ai-index/reindex"), &token, None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(r.json()["queued"], 2);
    indexed(&db, Duration::from_secs(300)).await;
    let after = written(&db).await;
    assert_eq!(after.len(), before.len());
    for ((api, op, then), (_, _, now)) in before.iter().zip(&after) {
        assert!(now > then, "{api} {op} was not embedded again");
    }
    let status = ok(&app, Method::GET, &format!("{A}/ai-index"), &token, None).await;
    assert_eq!(status["apisIndexed"], 2, "{status}");

    // Not an admin: refused.
    let developer = app
        .access_token("admin", ADMIN_PASSWORD, "apim:subscribe")
        .await;
    let r = app
        .call(Method::GET, &format!("{A}/ai-index"), &developer, None)
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app
        .call(
            Method::POST,
            &format!("{A}/ai-index/reindex"),
            &developer,
            None,
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn an_unreachable_embeddings_endpoint_shows_as_failing(db: PgPool) {
    // A closed port on this machine stands for a provider that is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", closed.local_addr().unwrap());
    drop(closed);
    let mut settings = ai_settings(100);
    settings.ai.embeddings_url = Some(url);
    settings.ai.embeddings_model = "nomic-embed-text".into();
    let app = spawn_with(db.clone(), settings).await;
    let token = publisher_token(&app).await;
    let sms = publish_catalogue(&app, &token, "bulksms").await;
    // The indexer tries, fails, and records why.
    let start = Instant::now();
    let status = loop {
        let s = ok(&app, Method::GET, &format!("{A}/ai-index"), &token, None).await;
        if s["failing"].as_array().is_some_and(|f| !f.is_empty()) {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status["model"], Value::Null, "{status}");
    assert!(status["modelProblem"].as_str().is_some(), "{status}");
    assert_eq!(
        (
            status["apisListed"].as_i64(),
            status["apisIndexed"].as_i64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(status["queued"], 1);
    let failing = &status["failing"][0];
    assert_eq!(failing["apiId"], sms.as_str());
    assert!(failing["attempts"].as_i64().unwrap() >= 1);
    assert!(!failing["lastError"].as_str().unwrap().is_empty());
    // Re-embed all retries it at once: queued anew, its attempts counted from zero.
    let queued_at = || async {
        sqlx::query_as::<_, (chrono::DateTime<chrono::Utc>, i32)>(
            "SELECT enqueued_at, attempts FROM ai_index_job",
        )
        .fetch_one(&db)
        .await
        .unwrap()
    };
    let (before, _) = queued_at().await;
    let r = app
        .call(Method::POST, &format!("{A}/ai-index/reindex"), &token, None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(r.json()["queued"], 1);
    let (after, attempts) = queued_at().await;
    assert!(
        after > before && attempts <= 1,
        "{before} {after} {attempts}"
    );
}
