//! Demo content for `make run` (`[demo] seed`, `[demo] apis`): the PizzaShack API, imported
//! from an OpenAPI 3.1 document, revised, deployed to `Default` and published, and the small
//! backend it points at, served by the server itself under `/demo-backend/pizzashack`.

use app::publisher::lifecycle;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::AppState;
use crate::auth::catalogue::SCOPES;
use crate::config::Settings;
use crate::publisher::{Actor, Publisher, openapi};

const DOCUMENT: &str = include_str!("pizzashack.yaml");
pub const API_NAME: &str = "PizzaShack";
const OWNER: &str = "publisher";

/// The demo API's how-to, shown on its Developer Portal page.
const GETTING_STARTED: &str = "# Getting started with PizzaShack

1. Sign in to the Developer Portal and create an **application**.
2. Subscribe it to PizzaShack and generate its keys.
3. Call the menu through the gateway:

```sh
curl http://localhost:8280/pizzashack/1.0.0/menu
```

4. Order with a token:

```sh
curl -X POST http://localhost:8280/pizzashack/1.0.0/order \\
  -H 'Authorization: Bearer <access token>' -H 'Content-Type: application/json' \\
  -d '{\"pizza\": \"Margherita\", \"quantity\": 1}'
```
";

/// The demo backend: a menu, orders that get an id, and their state.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/demo-backend/pizzashack/menu", get(menu))
        .route("/demo-backend/pizzashack/order", post(order))
        .route("/demo-backend/pizzashack/order/{id}", get(order_state))
}

async fn menu() -> Json<Value> {
    Json(json!([
        {"name": "Margherita", "description": "Tomato, mozzarella, basil", "price": 9.5},
        {"name": "Funghi", "description": "Tomato, mozzarella, mushrooms", "price": 11.0},
        {"name": "Quattro Formaggi", "description": null, "price": 12.5},
    ]))
}

async fn order(Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let quantity = body["quantity"].as_i64().unwrap_or(0);
    if body["pizza"].as_str().is_none_or(str::is_empty) || !(1..=20).contains(&quantity) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "`pizza` and a `quantity` of 1 to 20 are required"})),
        );
    }
    let mut out = body;
    out["orderId"] = json!(uuid::Uuid::new_v4().to_string());
    out["status"] = json!("received");
    (StatusCode::CREATED, Json(out))
}

async fn order_state(Path(id): Path<String>) -> Result<Json<Value>, StatusCode> {
    uuid::Uuid::parse_str(&id).map_err(|_| StatusCode::NOT_FOUND)?;
    Ok(Json(
        json!({"orderId": id, "pizza": "Margherita", "quantity": 1, "status": "baking"}),
    ))
}

/// Creates, deploys and publishes the demo API once (kept if a user changed or removed it
/// afterwards only until the next start: it is recreated when missing).
pub async fn seed_apis(db: &PgPool, settings: &Settings) -> anyhow::Result<()> {
    let organization = settings.auth.default_organization.clone();
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM api a JOIN organization o ON o.id = a.organization_id
                         WHERE o.name = $1 AND a.name = $2)",
    )
    .bind(&organization)
    .bind(API_NAME)
    .fetch_one(db)
    .await?;
    if exists {
        return Ok(());
    }
    let actor = Actor {
        username: OWNER.into(),
        organization,
        scopes: SCOPES
            .iter()
            .filter(|(_, tag, _)| *tag == "publisher")
            .map(|(name, _, _)| name.to_string())
            .collect(),
    };
    let backend = format!("{}/demo-backend/pizzashack", settings.public_url());
    let mut doc: Value = serde_norway::from_str(DOCUMENT)?;
    doc["servers"] = json!([{ "url": backend }]);
    let definition = openapi::parse_value(doc).map_err(|problems| {
        anyhow::anyhow!("the demo document is invalid: {:?}", problems.first())
    })?;
    let publisher = Publisher::new(db.clone(), settings.publisher.clone());
    let fail = |e: crate::error::ApiError| anyhow::anyhow!("demo API: {e}");
    let api = publisher
        .import(
            &actor,
            definition,
            Some(json!({
                "context": "/pizzashack",
                "isDefaultVersion": true,
                "tags": ["food", "demo"],
                "businessInformation": {
                    "businessOwner": "Pat Publisher",
                    "businessOwnerEmail": "publisher@example.com",
                    "technicalOwner": "Pat Publisher",
                    "technicalOwnerEmail": "publisher@example.com"
                }
            })),
        )
        .await
        .map_err(fail)?;
    let id = api.id.unwrap_or_default();
    let revision = publisher
        .create_revision(&actor, &id, "Demo: the first revision", false)
        .await
        .map_err(fail)?;
    let target: Vec<app::publisher::Deployment> =
        serde_json::from_value(json!([{ "name": "Default", "vhost": "localhost" }]))?;
    publisher
        .deploy(&actor, &id, &revision.id, target, false)
        .await
        .map_err(fail)?;
    publisher
        .change_lifecycle(&actor, &id, "Publish", "", false)
        .await
        .map_err(fail)?;
    let guide = app::documents::Document {
        name: "Getting started".into(),
        kind: "HOWTO".into(),
        summary: Some("Order your first pizza through the gateway".into()),
        source_type: "MARKDOWN".into(),
        visibility: "API_LEVEL".into(),
        inline_content: Some(GETTING_STARTED.into()),
        ..Default::default()
    };
    publisher
        .create_document(&actor, &id, guide, false)
        .await
        .map_err(fail)?;
    tracing::info!(
        api = API_NAME,
        state = lifecycle::PUBLISHED,
        "demo API created"
    );
    Ok(())
}
