//! The Developer Portal's catalogue: published (and prototyped, deprecated) APIs and API
//! products a visitor may see, searched with WSO2's syntax, and one API documented from its
//! OpenAPI document. Anonymous visitors see the default organization's public APIs; signed-in
//! users also those visible to their organization (`PRIVATE`) or to one of their roles
//! (`RESTRICTED`). The REST API (`http::devportal`) and the portal share this code.

use app::devportal::{
    CatalogueApi, CatalogueApiDetail, EndpointUrls, OperationDoc, ParameterDoc, Search, Tier, Urls,
};
use app::publisher::{Operation, Page, VHost};
use serde_json::Value;
use sqlx::PgPool;
use sqlx::types::Json;

use crate::error::ApiError;
use crate::publisher::{API_COLUMNS, Actor, ApiRow, parse_id, time};

/// Lifecycle states the catalogue shows.
const LISTED: &str = "('PUBLISHED', 'PROTOTYPED', 'DEPRECATED')";

pub struct Catalogue {
    pub db: PgPool,
    /// Organization of anonymous visitors.
    pub default_organization: String,
}

/// The visitor: nobody, or a signed-in user / token holder.
pub type Visitor<'a> = Option<&'a Actor>;

fn like(s: &Option<String>) -> Option<String> {
    s.as_deref().map(|v| {
        format!(
            "%{}%",
            v.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    })
}

impl Catalogue {
    fn organization<'a>(&'a self, visitor: Visitor<'a>) -> &'a str {
        visitor.map_or(&self.default_organization, |a| &a.organization)
    }

    /// The organization whose catalogue `visitor` sees.
    pub fn organization_of<'a>(&'a self, visitor: Visitor<'a>) -> &'a str {
        self.organization(visitor)
    }

    /// Which APIs (`a`, with its organization `o`) a visitor sees: `$1` organization, `$2`
    /// username (NULL for anonymous), `$3` is admin. The AI search uses the same rule.
    pub const VISIBLE: &'static str = "o.name = $1 AND (
            a.settings->>'visibility' IS DISTINCT FROM 'PRIVATE'
              AND a.settings->>'visibility' IS DISTINCT FROM 'RESTRICTED'
         OR ($2::text IS NOT NULL AND a.settings->>'visibility' = 'PRIVATE')
         OR ($2::text IS NOT NULL AND ($3 OR EXISTS (
               SELECT 1 FROM app_user u JOIN user_role ur ON ur.user_id = u.id
                 JOIN role r ON r.id = ur.role_id
                WHERE u.organization_id = a.organization_id AND u.username = $2
                  AND r.name IN (SELECT jsonb_array_elements_text(a.settings->'visibleRoles'))))))";

    pub async fn list(
        &self,
        visitor: Visitor<'_>,
        query: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Page<CatalogueApi>, ApiError> {
        let limit = limit.clamp(1, 200);
        let offset = offset.max(0);
        let s = Search::parse(query);
        let filter = format!(
            "FROM api a JOIN organization o ON o.id = a.organization_id
              WHERE a.lifecycle_status IN {LISTED} AND {}
                AND ($4::text IS NULL OR a.name ILIKE $4)
                AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(a.settings->'tags') t WHERE t ILIKE $5))
                AND ($6::text IS NULL OR a.context ILIKE $6)
                AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(a.settings->'categories') c WHERE c ILIKE $7))
                AND ($8::text IS NULL OR a.provider ILIKE $8)
                AND ($9::text IS NULL OR a.version ILIKE $9)
                AND ($10::text IS NULL OR a.description ILIKE $10)
                AND ($11::text IS NULL OR a.name ILIKE $11 OR a.description ILIKE $11
                     OR a.context ILIKE $11 OR a.settings->>'tags' ILIKE $11
                     OR a.definition::text ILIKE $11)",
            Self::VISIBLE
        );
        let binds = [
            like(&s.name),
            like(&s.tag),
            like(&s.context),
            like(&s.category),
            like(&s.provider),
            like(&s.version),
            like(&s.description),
            like(&s.text),
        ];
        let (org, user, admin) = (
            self.organization(visitor).to_string(),
            visitor.map(|a| a.username.clone()),
            visitor.is_some_and(Actor::is_admin),
        );
        let mut count =
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT count(*) {filter}")))
                .bind(&org)
                .bind(&user)
                .bind(admin);
        for b in &binds {
            count = count.bind(b);
        }
        let total = count.fetch_one(&self.db).await?;
        let mut rows = sqlx::query_as::<_, ApiRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {API_COLUMNS} {filter} ORDER BY lower(a.name), a.version LIMIT $12 OFFSET $13"
        )))
        .bind(&org)
        .bind(&user)
        .bind(admin);
        for b in &binds {
            rows = rows.bind(b);
        }
        let rows = rows.bind(limit).bind(offset).fetch_all(&self.db).await?;
        let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
        let mut averages = crate::feedback::averages(&self.db, &ids).await?;
        let list: Vec<CatalogueApi> = rows
            .iter()
            .map(|r| {
                let mut e = entry(r);
                if let Some(avg) = averages.remove(&r.id) {
                    e.avg_rating = avg;
                }
                e
            })
            .collect();
        Ok(Page::new(list, offset, limit, total, |o| {
            crate::publisher::link(
                "/apis",
                &[
                    ("limit", &limit.to_string()),
                    ("offset", &o.to_string()),
                    ("query", query),
                ],
            )
        }))
    }

    /// The id of an API the visitor may see (without loading its definition), or 404.
    pub async fn visible_api_id(
        &self,
        visitor: Visitor<'_>,
        id: &str,
    ) -> Result<uuid::Uuid, ApiError> {
        let uuid = parse_id(id, "API")?;
        let found: Option<uuid::Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT a.id FROM api a JOIN organization o ON o.id = a.organization_id
              WHERE a.id = $4 AND a.lifecycle_status IN {LISTED} AND {}",
            Self::VISIBLE
        )))
        .bind(self.organization(visitor))
        .bind(visitor.map(|a| a.username.clone()))
        .bind(visitor.is_some_and(Actor::is_admin))
        .bind(uuid)
        .fetch_optional(&self.db)
        .await?;
        found.ok_or_else(|| ApiError::NotFound(format!("API {id} not found")))
    }

    async fn load(&self, visitor: Visitor<'_>, id: &str) -> Result<(ApiRow, Value), ApiError> {
        let uuid = parse_id(id, "API")?;
        let row: Option<ApiRow> = sqlx::query_as::<_, ApiRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {API_COLUMNS} FROM api a JOIN organization o ON o.id = a.organization_id
                  WHERE a.id = $4 AND a.lifecycle_status IN {LISTED} AND {}",
            Self::VISIBLE
        )))
        .bind(self.organization(visitor))
        .bind(visitor.map(|a| a.username.clone()))
        .bind(visitor.is_some_and(Actor::is_admin))
        .bind(uuid)
        .fetch_optional(&self.db)
        .await?;
        let row = row.ok_or_else(|| ApiError::NotFound(format!("API {id} not found")))?;
        let doc: Option<Json<Value>> =
            sqlx::query_scalar("SELECT definition FROM api WHERE id = $1")
                .bind(row.id)
                .fetch_one(&self.db)
                .await?;
        Ok((row, doc.map(|d| d.0).unwrap_or(Value::Null)))
    }

    /// `GET /apis/{id}/swagger`.
    pub async fn definition(&self, visitor: Visitor<'_>, id: &str) -> Result<Value, ApiError> {
        let (row, doc) = self.load(visitor, id).await?;
        if doc.is_null() {
            return Err(ApiError::NotFound(format!(
                "{} has no OpenAPI document",
                row.name
            )));
        }
        Ok(doc)
    }

    pub async fn get(
        &self,
        visitor: Visitor<'_>,
        id: &str,
    ) -> Result<CatalogueApiDetail, ApiError> {
        let (row, doc) = self.load(visitor, id).await?;
        #[derive(sqlx::FromRow)]
        struct Env {
            name: String,
            display_name: String,
            kind: String,
            vhost: String,
            vhosts: Json<Vec<VHost>>,
        }
        let envs: Vec<Env> = sqlx::query_as(
            "SELECT e.name, e.display_name, e.type AS kind, d.vhost, e.vhosts
               FROM api_deployment d JOIN gateway_environment e ON e.id = d.environment_id
              WHERE d.api_id = $1 AND d.display_on_devportal ORDER BY e.name",
        )
        .bind(row.id)
        .fetch_all(&self.db)
        .await?;
        let s = &row.settings.0;
        let path = format!("{}/{}", row.context, row.version);
        let endpoint_urls = envs
            .into_iter()
            .map(|e| {
                let vh = e
                    .vhosts
                    .0
                    .iter()
                    .find(|v| v.host == e.vhost)
                    .cloned()
                    .unwrap_or_default();
                let url = |scheme: &str, port: Option<u16>, default: u16| {
                    port.map(|p| {
                        let shown = if p == default {
                            String::new()
                        } else {
                            format!(":{p}")
                        };
                        format!("{scheme}://{}{shown}{}{path}", e.vhost, vh.http_context)
                    })
                };
                EndpointUrls {
                    environment_name: e.name,
                    environment_display_name: e.display_name,
                    environment_type: e.kind,
                    urls: Urls {
                        http: url("http", vh.http_port, 80),
                        https: url("https", vh.https_port, 443),
                    },
                }
            })
            .collect();
        Ok(CatalogueApiDetail {
            info: {
                let mut e = entry(&row);
                if let Some(avg) = crate::feedback::averages(&self.db, &[row.id])
                    .await?
                    .remove(&row.id)
                {
                    e.avg_rating = avg;
                }
                e
            },
            is_default_version: row.is_default_version,
            transport: s.transport.clone(),
            security_scheme: s.security_scheme.clone(),
            api_key_header: s.api_key_header.clone(),
            authorization_header: s
                .authorization_header
                .clone()
                .unwrap_or_else(|| "Authorization".into()),
            tiers: s
                .policies
                .iter()
                .map(|t| Tier {
                    tier_name: t.clone(),
                    tier_plan: if s.monetization.enabled && t != "Unlimited" {
                        "COMMERCIAL".into()
                    } else {
                        "FREE".into()
                    },
                })
                .collect(),
            endpoint_urls,
            operations: operation_docs(&doc, &row.operations.0),
            last_updated_time: time(row.updated_at),
        })
    }
}

fn entry(row: &ApiRow) -> CatalogueApi {
    let s = &row.settings.0;
    CatalogueApi {
        id: row.id.to_string(),
        name: row.name.clone(),
        description: Some(row.description.clone()).filter(|d| !d.is_empty()),
        context: row.context.clone(),
        version: row.version.clone(),
        kind: row.kind.clone(),
        created_time: time(row.created_at),
        provider: row.provider.clone(),
        life_cycle_status: row.lifecycle_status.clone(),
        thumbnail_uri: row
            .has_thumbnail
            .then(|| format!("{}/apis/{}/thumbnail", crate::http::rest::DEVPORTAL, row.id)),
        avg_rating: "0".into(),
        throttling_policies: s.policies.clone(),
        business_information: s.business_information.clone(),
        is_subscription_available: row.lifecycle_status == "PUBLISHED",
        monetization_label: if s.monetization.enabled {
            "Paid".into()
        } else {
            "Free".into()
        },
        tags: s.tags.clone(),
        categories: s.categories.clone(),
    }
}

/// Follows a local `$ref` (`#/…`) once; other values come back as they are.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with('#') => doc.pointer(&r[1..]).unwrap_or(v),
        _ => v,
    }
}

fn type_of(doc: &Value, schema: &Value) -> String {
    let schema = resolve(doc, schema);
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".into(),
    };
    if kind == "array"
        && let Some(items) = schema.get("items")
    {
        return format!("array of {}", type_of(doc, items));
    }
    kind
}

/// Values an example is built from at most: a wide schema five levels deep would otherwise
/// build millions (20 properties a level: 3.2 million), and every page or index of its API
/// would wait for them.
const EXAMPLE_BUDGET: usize = 400;

/// A value to start a request body from: the schema's `example` / `default` / first `enum`
/// value, else one built from its properties (five levels deep and `EXAMPLE_BUDGET` values at
/// most).
fn example_of(doc: &Value, schema: &Value, depth: usize) -> Value {
    let mut budget = EXAMPLE_BUDGET;
    example_within(doc, schema, depth, &mut budget)
}

fn example_within(doc: &Value, schema: &Value, depth: usize, budget: &mut usize) -> Value {
    let schema = resolve(doc, schema);
    if *budget == 0 {
        return Value::Null;
    }
    *budget -= 1;
    if depth > 5 {
        return Value::Null;
    }
    for key in ["example", "default"] {
        if let Some(v) = schema.get(key) {
            return v.clone();
        }
    }
    if let Some(v) = schema
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .or_else(|| {
            schema
                .get("enum")
                .and_then(Value::as_array)
                .and_then(|e| e.first())
        })
    {
        return v.clone();
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            let mut merged = serde_json::Map::new();
            for part in parts {
                match example_within(doc, part, depth + 1, budget) {
                    Value::Object(o) => merged.extend(o),
                    other if key != "allOf" => return other,
                    _ => {}
                }
                if key != "allOf" && !merged.is_empty() {
                    break;
                }
            }
            return Value::Object(merged);
        }
    }
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "",
    };
    match kind {
        "object" => {
            let mut out = serde_json::Map::new();
            for (k, v) in schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                // Out of budget: the rest of the properties are left out, not nulled.
                if *budget == 0 {
                    break;
                }
                out.insert(k.clone(), example_within(doc, v, depth + 1, budget));
            }
            Value::Object(out)
        }
        "array" => Value::Array(
            schema
                .get("items")
                .map(|i| vec![example_within(doc, i, depth + 1, budget)])
                .unwrap_or_default(),
        ),
        "integer" => 0.into(),
        "number" => 0.0.into(),
        "boolean" => false.into(),
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => "2026-01-01T00:00:00Z".into(),
            Some("date") => "2026-01-01".into(),
            Some("email") => "user@example.com".into(),
            Some("uuid") => "00000000-0000-4000-8000-000000000000".into(),
            _ => "string".into(),
        },
        _ => Value::Null,
    }
}

/// Documents each operation of the API from its definition (any of 2.0, 3.0, 3.1).
pub fn operation_docs(doc: &Value, operations: &[Operation]) -> Vec<OperationDoc> {
    operations
        .iter()
        .map(|op| {
            let item = doc
                .get("paths")
                .and_then(|p| p.get(&op.target))
                .map(|i| resolve(doc, i))
                .unwrap_or(&Value::Null);
            let o = item
                .get(op.verb.to_ascii_lowercase())
                .unwrap_or(&Value::Null);
            let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
            let mut parameters: Vec<ParameterDoc> = Vec::new();
            let mut request_body = Vec::new();
            let mut request_body_required = false;
            let mut request_example: Option<Value> = None;
            let params = item
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .chain(
                    o.get("parameters")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                );
            for p in params {
                let p = resolve(doc, p);
                let name = text(p, "name").unwrap_or_default();
                let location = text(p, "in").unwrap_or_default();
                if location == "body" {
                    // Swagger 2.0's body parameter is the request body.
                    request_body.push("application/json".to_string());
                    request_body_required =
                        p.get("required").and_then(Value::as_bool) == Some(true);
                    request_example = p.get("schema").map(|sc| example_of(doc, sc, 0));
                    continue;
                }
                let kind = match p.get("schema") {
                    Some(schema) => type_of(doc, schema),
                    None => type_of(doc, p),
                };
                let doc_param = ParameterDoc {
                    required: p.get("required").and_then(Value::as_bool) == Some(true),
                    description: text(p, "description"),
                    name,
                    location,
                    kind,
                };
                // An operation's parameter overrides the path item's of the same name and place.
                parameters
                    .retain(|x| !(x.name == doc_param.name && x.location == doc_param.location));
                parameters.push(doc_param);
            }
            if let Some(body) = o.get("requestBody").map(|b| resolve(doc, b)) {
                request_body_required = body.get("required").and_then(Value::as_bool) == Some(true);
                if let Some(content) = body.get("content").and_then(Value::as_object) {
                    request_body.extend(content.keys().cloned());
                    if let Some(media) = content
                        .iter()
                        .find(|(k, _)| k.contains("json"))
                        .map(|(_, m)| m)
                    {
                        request_example = media
                            .get("example")
                            .cloned()
                            .or_else(|| {
                                media
                                    .get("examples")
                                    .and_then(Value::as_object)
                                    .and_then(|e| e.values().next())
                                    .map(|e| resolve(doc, e))
                                    .and_then(|e| e.get("value").cloned())
                            })
                            .or_else(|| media.get("schema").map(|sc| example_of(doc, sc, 0)));
                    }
                }
            }
            let responses = o
                .get("responses")
                .and_then(Value::as_object)
                .map(|r| {
                    r.iter()
                        .map(|(code, v)| {
                            (
                                code.clone(),
                                text(resolve(doc, v), "description").unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            OperationDoc {
                verb: op.verb.clone(),
                target: op.target.clone(),
                summary: text(o, "summary"),
                description: text(o, "description"),
                tags: o
                    .get("tags")
                    .and_then(Value::as_array)
                    .map(|t| {
                        t.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                secured: op.secured(),
                scopes: op.scopes.clone(),
                parameters,
                request_body,
                request_body_required,
                request_example: request_example
                    .filter(|e| !e.is_null())
                    .and_then(|e| serde_json::to_string_pretty(&e).ok()),
                responses,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations_are_documented_from_2_0_and_3_x() {
        let v3 = json!({
            "openapi": "3.1.0",
            "paths": {"/pets/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "put": {"summary": "Replace", "tags": ["pets"],
                        "parameters": [{"name": "dry", "in": "query", "schema": {"type": ["boolean", "null"]}}],
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                        "responses": {"200": {"description": "OK"}, "404": {"$ref": "#/components/responses/Missing"}}}}},
            "components": {
                "parameters": {"Id": {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}},
                "responses": {"Missing": {"description": "No such pet"}},
                "schemas": {"Pet": {"type": "object"}}}
        });
        let docs = operation_docs(&v3, &[Operation::new("PUT", "/pets/{id}")]);
        let d = &docs[0];
        assert_eq!(d.summary.as_deref(), Some("Replace"));
        assert_eq!(d.tags, ["pets"]);
        assert_eq!(d.parameters[0].name, "id");
        assert_eq!(d.parameters[0].kind, "integer");
        assert!(d.parameters[0].required);
        assert_eq!(d.parameters[1].kind, "boolean | null");
        assert_eq!(d.request_body, ["application/json"]);
        assert!(d.request_body_required);
        assert_eq!(d.responses[1], ("404".into(), "No such pet".into()));
        // No example and an empty object schema: an empty object to start from.
        assert_eq!(d.request_example.as_deref(), Some("{}"));

        let v2 = json!({"swagger": "2.0", "paths": {"/pets": {"post": {
            "parameters": [{"name": "body", "in": "body", "required": true, "schema": {}},
                           {"name": "tags", "in": "query", "type": "array", "items": {"type": "string"}}],
            "responses": {"201": {"description": "Created"}}}}}});
        let d = &operation_docs(&v2, &[Operation::new("POST", "/pets")])[0];
        assert_eq!(d.request_body, ["application/json"]);
        assert_eq!(d.parameters.len(), 1);
        assert_eq!(d.parameters[0].kind, "array of string");
        // An empty schema says nothing to start from.
        assert_eq!(d.request_example, None);
        // An operation the document lacks is still listed.
        let d = &operation_docs(&v2, &[Operation::new("GET", "/nothing")])[0];
        assert!(d.parameters.is_empty() && d.responses.is_empty());
    }

    #[test]
    fn an_example_of_a_wide_deep_schema_stays_small() {
        // 20 properties on each of six levels: 64 million values unbounded.
        let props: serde_json::Map<String, Value> = (0..20)
            .map(|i| {
                (
                    format!("p{i}"),
                    serde_json::json!({"$ref": "#/components/schemas/Node"}),
                )
            })
            .collect();
        let doc = serde_json::json!({"components": {"schemas": {"Node": {"type": "object", "properties": props}}}});
        let started = std::time::Instant::now();
        let example = example_of(&doc, &doc["components"]["schemas"]["Node"], 0);
        fn count(v: &Value) -> usize {
            1 + match v {
                Value::Object(o) => o.values().map(count).sum(),
                Value::Array(a) => a.iter().map(count).sum(),
                _ => 0,
            }
        }
        assert!(
            count(&example) <= EXAMPLE_BUDGET + 20,
            "{}",
            count(&example)
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn request_examples_come_from_the_document_or_the_schema() {
        let doc = json!({
            "openapi": "3.0.3",
            "paths": {
                "/pets": {"post": {"requestBody": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/NewPet"}}}}}},
                "/orders": {"post": {"requestBody": {"content": {"application/json": {
                    "examples": {"one": {"value": {"pizza": "Margherita", "qty": 2}}}}}}}}
            },
            "components": {"schemas": {
                "NewPet": {"allOf": [
                    {"type": "object", "properties": {"name": {"type": "string", "example": "Rex"}}},
                    {"properties": {"tag": {"type": "string", "enum": ["dog", "cat"]},
                                    "born": {"type": "string", "format": "date"},
                                    "owners": {"type": "array", "items": {"type": "integer"}},
                                    "self": {"$ref": "#/components/schemas/NewPet"}}}
                ]}
            }}
        });
        let ops = [
            Operation::new("POST", "/pets"),
            Operation::new("POST", "/orders"),
        ];
        let docs = operation_docs(&doc, &ops);
        let pet: Value = serde_json::from_str(docs[0].request_example.as_deref().unwrap()).unwrap();
        assert_eq!(pet["name"], "Rex");
        assert_eq!(pet["tag"], "dog");
        assert_eq!(pet["born"], "2026-01-01");
        assert_eq!(pet["owners"], json!([0]));
        // A recursive schema stops instead of looping.
        assert!(pet["self"].is_object());
        let order: Value =
            serde_json::from_str(docs[1].request_example.as_deref().unwrap()).unwrap();
        assert_eq!(order, json!({"pizza": "Margherita", "qty": 2}));
    }
}
