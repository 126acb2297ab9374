//! API documents and thumbnails. The Publisher lists, adds, changes and removes the documents
//! of an API or API product (inline text, Markdown, a URL or an uploaded file) and sets the
//! API's image; the Developer Portal shows visitors the documents they may see.
//!
//! Rights: reading needs a Publisher view scope (or `apim:document_manage`); writing needs
//! `apim:api_create`, `apim:api_manage`, `apim:document_create` or `apim:document_manage`, and,
//! as for every change of an API, being its owner or an admin.

use app::auth::scopes as s;
use app::documents::{
    Document, DocumentCall, DocumentContent, DocumentReply, PublicDocument, SOURCE_TYPES, TYPES,
    VISIBILITIES, markdown_to_html,
};
use app::publisher::Page;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::validate::Problems;
use super::{API_MANAGE, Actor, ApiRow, Publisher, ensure_owner, time};
use crate::devportal::{Catalogue, Visitor};
use crate::error::{ApiError, FieldError, ResultExt};

pub const DOCUMENT_CREATE: &str = "apim:document_create";
pub const DOCUMENT_MANAGE: &str = "apim:document_manage";

/// Scopes that may read documents in the Publisher (WSO2: view, manage, document manage).
pub const READ_SCOPES: &[&str] = &[
    s::API_VIEW,
    s::API_CREATE,
    s::API_PUBLISH,
    API_MANAGE,
    DOCUMENT_MANAGE,
];
/// Scopes that may add, change or remove documents.
pub const WRITE_SCOPES: &[&str] = &[s::API_CREATE, API_MANAGE, DOCUMENT_CREATE, DOCUMENT_MANAGE];

/// Largest uploaded document file.
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;
/// Largest inline or Markdown text.
pub const MAX_INLINE_BYTES: usize = 5 * 1024 * 1024;
/// Largest thumbnail image.
pub const MAX_THUMBNAIL_BYTES: usize = 1024 * 1024;

const MAX_NAME: usize = 60;
const MAX_SUMMARY: usize = 32766;

/// A document's content, as both REST APIs answer it.
pub enum Content {
    /// INLINE and MARKDOWN: the text (`markdown` tells which).
    Text { text: String, markdown: bool },
    /// URL: where to go (a 303).
    Redirect(String),
    /// FILE: the upload, with the media type and name it came with.
    File {
        name: String,
        media_type: String,
        bytes: Vec<u8>,
    },
}

/// What a content upload brings: a file or inline text.
pub enum Upload {
    File {
        name: String,
        media_type: Option<String>,
        bytes: Vec<u8>,
    },
    Inline(String),
}

/// A stored thumbnail.
pub struct Thumbnail {
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub updated_at: DateTime<Utc>,
}

/// Columns of `DocRow`; the inline text only where one document is read.
const COLUMNS: &str = "id, name, type, summary, source_type, source_url, other_type_name, \
     visibility, file_name, created_by, created_at, updated_by, updated_at";

#[derive(sqlx::FromRow)]
struct DocRow {
    id: Uuid,
    name: String,
    #[sqlx(rename = "type")]
    kind: String,
    summary: Option<String>,
    source_type: String,
    source_url: Option<String>,
    other_type_name: Option<String>,
    visibility: String,
    file_name: Option<String>,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_by: String,
    updated_at: DateTime<Utc>,
}

impl DocRow {
    fn to_document(&self, inline_content: Option<String>) -> Document {
        Document {
            document_id: Some(self.id.to_string()),
            name: self.name.clone(),
            kind: self.kind.clone(),
            summary: self.summary.clone(),
            source_type: self.source_type.clone(),
            source_url: self.source_url.clone(),
            file_name: self.file_name.clone(),
            inline_content,
            other_type_name: self.other_type_name.clone(),
            visibility: self.visibility.clone(),
            created_time: Some(time(self.created_at)),
            created_by: Some(self.created_by.clone()),
            last_updated_time: Some(time(self.updated_at)),
            last_updated_by: Some(self.updated_by.clone()),
        }
    }

    fn to_public(&self) -> PublicDocument {
        PublicDocument {
            document_id: self.id.to_string(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            summary: self.summary.clone(),
            source_type: self.source_type.clone(),
            source_url: self.source_url.clone(),
            other_type_name: self.other_type_name.clone(),
            file_name: self.file_name.clone(),
        }
    }
}

fn one_of(p: &mut Problems, field: &str, value: &mut String, allowed: &[&str]) {
    let upper = value.trim().to_ascii_uppercase();
    if allowed.contains(&upper.as_str()) {
        *value = upper;
    } else if value.trim().is_empty() {
        p.add(field, format!("is required: one of {}", allowed.join(", ")));
    } else {
        p.add(
            field,
            format!("`{value}` is not one of {}", allowed.join(", ")),
        );
    }
}

fn trimmed(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// Checks and normalises a document sent by a client (the read-only fields are ignored).
fn check(doc: &mut Document) -> Result<(), ApiError> {
    let mut p = Problems::default();
    doc.name = doc.name.trim().to_string();
    if doc.name.is_empty() {
        p.add("name", "is required");
    } else if doc.name.chars().count() > MAX_NAME {
        p.add("name", format!("is longer than {MAX_NAME} characters"));
    } else if doc.name.chars().any(char::is_control) {
        p.add("name", "must not contain control characters");
    }
    one_of(&mut p, "type", &mut doc.kind, TYPES);
    one_of(&mut p, "sourceType", &mut doc.source_type, SOURCE_TYPES);
    if doc.visibility.trim().is_empty() {
        doc.visibility = "API_LEVEL".into();
    }
    one_of(&mut p, "visibility", &mut doc.visibility, VISIBILITIES);
    doc.summary = trimmed(&doc.summary);
    if doc
        .summary
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_SUMMARY)
    {
        p.add(
            "summary",
            format!("is longer than {MAX_SUMMARY} characters"),
        );
    }
    doc.other_type_name = trimmed(&doc.other_type_name);
    if doc.kind == "OTHER" && doc.other_type_name.is_none() {
        p.add("otherTypeName", "is required when `type` is OTHER");
    }
    if doc.kind != "OTHER" {
        doc.other_type_name = None;
    }
    doc.source_url = trimmed(&doc.source_url);
    if doc.source_type == "URL" {
        match &doc.source_url {
            None => p.add("sourceUrl", "is required when `sourceType` is URL"),
            Some(u) if !is_web_url(u) => p.add("sourceUrl", "must be an http:// or https:// URL"),
            Some(_) => {}
        }
    } else {
        doc.source_url = None;
    }
    if let Some(text) = &doc.inline_content {
        if text.len() > MAX_INLINE_BYTES {
            p.add(
                "inlineContent",
                format!("is larger than {MAX_INLINE_BYTES} bytes"),
            );
        }
        if !matches!(doc.source_type.as_str(), "INLINE" | "MARKDOWN") {
            doc.inline_content = None;
        }
    }
    p.into_result()
}

fn is_web_url(u: &str) -> bool {
    let lower = u.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && !u.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The media type an image's bytes show: PNG, JPEG, GIF, WebP or SVG.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    // SVG is text: an `<svg` root after an optional BOM, XML declaration, comments or doctype.
    let head = &bytes[..bytes.len().min(4096)];
    let text = std::str::from_utf8(head)
        .or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]))
        .ok()?;
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    loop {
        if rest.starts_with("<svg") {
            return Some("image/svg+xml");
        }
        let close = if rest.starts_with("<?") {
            "?>"
        } else if rest.starts_with("<!--") {
            "-->"
        } else if rest.starts_with("<!") {
            ">"
        } else {
            return None;
        };
        let end = rest.find(close)? + close.len();
        rest = rest[end..].trim_start();
    }
}

/// A file name that is safe to store and send back: no path, no control characters.
fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(200)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "document".into()
    } else {
        cleaned.to_string()
    }
}

/// The client's media type when it is a plain `type/subtype`, else one from the file name.
fn file_media_type(name: &str, claimed: Option<&str>) -> String {
    let claimed = claimed
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|c| {
            c != "application/octet-stream"
                && c.split_once('/').is_some_and(|(a, b)| {
                    let ok = |s: &str| {
                        !s.is_empty()
                            && s.chars()
                                .all(|ch| ch.is_ascii_alphanumeric() || "+-.".contains(ch))
                    };
                    ok(a) && ok(b)
                })
        });
    if let Some(c) = claimed {
        return c;
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "xml" => "application/xml",
        "html" | "htm" => "text/html",
        "csv" => "text/csv",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
    .to_string()
}

fn conflict(name: &str) -> ApiError {
    let message = format!("A document named {name} already exists for this API");
    ApiError::Conflict {
        message: message.clone(),
        errors: vec![FieldError::new("name", message)],
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Document {id} not found"))
}

/// `(offset, limit)` within bounds (WSO2's default page is 25).
fn page_bounds(offset: Option<i64>, limit: Option<i64>) -> (i64, i64) {
    (
        offset.unwrap_or(0).max(0),
        limit.unwrap_or(25).clamp(1, 1000),
    )
}

impl Publisher {
    /// The API (or product) whose documents the actor reads.
    async fn for_reading(
        &self,
        actor: &Actor,
        id: &str,
        product: bool,
    ) -> Result<ApiRow, ApiError> {
        actor.require(READ_SCOPES)?;
        self.find(actor, id, product).await
    }

    /// The API (or product) whose documents the actor changes: its owner or an admin.
    async fn for_writing(
        &self,
        actor: &Actor,
        id: &str,
        product: bool,
    ) -> Result<ApiRow, ApiError> {
        actor.require(WRITE_SCOPES)?;
        let row = self.find(actor, id, product).await?;
        ensure_owner(actor, &row)?;
        Ok(row)
    }

    async fn doc_row(&self, api: Uuid, document_id: &str) -> Result<DocRow, ApiError> {
        let id = Uuid::parse_str(document_id).map_err(|_| not_found(document_id))?;
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_document WHERE id = $1 AND api_id = $2"
        )))
        .bind(id)
        .bind(api)
        .fetch_optional(&self.db)
        .await?
        .ok_or_else(|| not_found(document_id))
    }

    /// `GET /apis/{apiId}/documents`.
    pub async fn list_documents(
        &self,
        actor: &Actor,
        api_id: &str,
        product: bool,
        offset: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Page<Document>, ApiError> {
        let api = self.for_reading(actor, api_id, product).await?;
        let (offset, limit) = page_bounds(offset, limit);
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM api_document WHERE api_id = $1")
            .bind(api.id)
            .fetch_one(&self.db)
            .await?;
        let rows: Vec<DocRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_document WHERE api_id = $1
              ORDER BY lower(name) LIMIT $2 OFFSET $3"
        )))
        .bind(api.id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.db)
        .await?;
        let list = rows.iter().map(|r| r.to_document(None)).collect();
        Ok(Page::new(list, offset, limit, total, |o| {
            format!("?offset={o}&limit={limit}")
        }))
    }

    /// `GET /apis/{apiId}/documents/{documentId}`, with the inline text.
    pub async fn get_document(
        &self,
        actor: &Actor,
        api_id: &str,
        document_id: &str,
        product: bool,
    ) -> Result<Document, ApiError> {
        let api = self.for_reading(actor, api_id, product).await?;
        let row = self.doc_row(api.id, document_id).await?;
        let inline: Option<String> =
            sqlx::query_scalar("SELECT inline_content FROM api_document WHERE id = $1")
                .bind(row.id)
                .fetch_one(&self.db)
                .await?;
        Ok(row.to_document(inline))
    }

    /// `POST /apis/{apiId}/documents`: the metadata, and the text of INLINE / MARKDOWN ones.
    pub async fn create_document(
        &self,
        actor: &Actor,
        api_id: &str,
        mut doc: Document,
        product: bool,
    ) -> Result<Document, ApiError> {
        let api = self.for_writing(actor, api_id, product).await?;
        check(&mut doc)?;
        let mut tx = self.db.begin().await?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO api_document (api_id, name, type, summary, source_type, source_url,
                                       other_type_name, visibility, inline_content,
                                       created_by, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(api.id)
        .bind(&doc.name)
        .bind(&doc.kind)
        .bind(&doc.summary)
        .bind(&doc.source_type)
        .bind(&doc.source_url)
        .bind(&doc.other_type_name)
        .bind(&doc.visibility)
        .bind(&doc.inline_content)
        .bind(&actor.username)
        .fetch_one(&mut *tx)
        .await
        .on_constraint("api_document_name_key", || conflict(&doc.name))?;
        super::apis::audit(&mut tx, actor, "document.create", product, &id.to_string()).await?;
        tx.commit().await?;
        self.get_document(actor, api_id, &id.to_string(), product)
            .await
    }

    /// `PUT /apis/{apiId}/documents/{documentId}`. Content that no longer fits the source type
    /// goes (a file when it stops being FILE, the text when it stops being INLINE / MARKDOWN);
    /// the text stays as it was when the request does not send `inlineContent`.
    pub async fn update_document(
        &self,
        actor: &Actor,
        api_id: &str,
        document_id: &str,
        mut doc: Document,
        product: bool,
    ) -> Result<Document, ApiError> {
        let api = self.for_writing(actor, api_id, product).await?;
        let row = self.doc_row(api.id, document_id).await?;
        check(&mut doc)?;
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "UPDATE api_document
                SET name = $2, type = $3, summary = $4, source_type = $5, source_url = $6,
                    other_type_name = $7, visibility = $8,
                    inline_content = CASE WHEN $5 IN ('INLINE', 'MARKDOWN')
                                          THEN COALESCE($9, inline_content) END,
                    file_name = CASE WHEN $5 = 'FILE' THEN file_name END,
                    file_type = CASE WHEN $5 = 'FILE' THEN file_type END,
                    file_bytes = CASE WHEN $5 = 'FILE' THEN file_bytes END,
                    updated_by = $10, updated_at = now()
              WHERE id = $1",
        )
        .bind(row.id)
        .bind(&doc.name)
        .bind(&doc.kind)
        .bind(&doc.summary)
        .bind(&doc.source_type)
        .bind(&doc.source_url)
        .bind(&doc.other_type_name)
        .bind(&doc.visibility)
        .bind(&doc.inline_content)
        .bind(&actor.username)
        .execute(&mut *tx)
        .await
        .on_constraint("api_document_name_key", || conflict(&doc.name))?;
        super::apis::audit(&mut tx, actor, "document.update", product, document_id).await?;
        tx.commit().await?;
        self.get_document(actor, api_id, document_id, product).await
    }

    /// `DELETE /apis/{apiId}/documents/{documentId}`.
    pub async fn delete_document(
        &self,
        actor: &Actor,
        api_id: &str,
        document_id: &str,
        product: bool,
    ) -> Result<(), ApiError> {
        let api = self.for_writing(actor, api_id, product).await?;
        let row = self.doc_row(api.id, document_id).await?;
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM api_document WHERE id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        super::apis::audit(&mut tx, actor, "document.delete", product, document_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /apis/{apiId}/documents/validate?name=`: whether the API has a document so named.
    pub async fn document_name_exists(
        &self,
        actor: &Actor,
        api_id: &str,
        name: &str,
        product: bool,
    ) -> Result<bool, ApiError> {
        actor.require(WRITE_SCOPES)?;
        let api = self.find(actor, api_id, product).await?;
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM api_document WHERE api_id = $1 AND lower(name) = lower($2))",
        )
        .bind(api.id)
        .bind(name.trim())
        .fetch_one(&self.db)
        .await?)
    }

    /// `GET /apis/{apiId}/documents/{documentId}/content`.
    pub async fn document_content(
        &self,
        actor: &Actor,
        api_id: &str,
        document_id: &str,
        product: bool,
    ) -> Result<Content, ApiError> {
        let api = self.for_reading(actor, api_id, product).await?;
        let row = self.doc_row(api.id, document_id).await?;
        content_of(&self.db, &row).await
    }

    /// `POST /apis/{apiId}/documents/{documentId}/content`: a file for FILE documents, text
    /// for INLINE and MARKDOWN ones.
    pub async fn set_document_content(
        &self,
        actor: &Actor,
        api_id: &str,
        document_id: &str,
        upload: Upload,
        product: bool,
    ) -> Result<Document, ApiError> {
        let api = self.for_writing(actor, api_id, product).await?;
        let row = self.doc_row(api.id, document_id).await?;
        let mut tx;
        match upload {
            Upload::File {
                name,
                media_type,
                bytes,
            } => {
                if row.source_type != "FILE" {
                    return Err(ApiError::field(
                        "file",
                        format!(
                            "the document's sourceType is {}; only FILE documents take a file",
                            row.source_type
                        ),
                    ));
                }
                if bytes.len() > MAX_FILE_BYTES {
                    return Err(ApiError::field(
                        "file",
                        format!("is larger than {MAX_FILE_BYTES} bytes"),
                    ));
                }
                let name = clean_file_name(&name);
                let media_type = file_media_type(&name, media_type.as_deref());
                tx = self.db.begin().await?;
                sqlx::query(
                    "UPDATE api_document SET file_name = $2, file_type = $3, file_bytes = $4,
                            updated_by = $5, updated_at = now() WHERE id = $1",
                )
                .bind(row.id)
                .bind(&name)
                .bind(&media_type)
                .bind(&bytes)
                .bind(&actor.username)
                .execute(&mut *tx)
                .await?;
            }
            Upload::Inline(text) => {
                if !matches!(row.source_type.as_str(), "INLINE" | "MARKDOWN") {
                    return Err(ApiError::field(
                        "inlineContent",
                        format!(
                            "the document's sourceType is {}; only INLINE and MARKDOWN documents take text",
                            row.source_type
                        ),
                    ));
                }
                if text.len() > MAX_INLINE_BYTES {
                    return Err(ApiError::field(
                        "inlineContent",
                        format!("is larger than {MAX_INLINE_BYTES} bytes"),
                    ));
                }
                tx = self.db.begin().await?;
                sqlx::query(
                    "UPDATE api_document SET inline_content = $2, updated_by = $3,
                            updated_at = now() WHERE id = $1",
                )
                .bind(row.id)
                .bind(&text)
                .bind(&actor.username)
                .execute(&mut *tx)
                .await?;
            }
        }
        super::apis::audit(&mut tx, actor, "document.content", product, document_id).await?;
        tx.commit().await?;
        self.get_document(actor, api_id, document_id, product).await
    }

    /// `GET /apis/{apiId}/thumbnail`.
    pub async fn thumbnail(
        &self,
        actor: &Actor,
        api_id: &str,
        product: bool,
    ) -> Result<Thumbnail, ApiError> {
        let api = self.load(actor, api_id, product).await?;
        stored_thumbnail(&self.db, api.id).await
    }

    /// `PUT /apis/{apiId}/thumbnail`: replaces the image; answers its media type, which comes
    /// from the bytes, not from what the client said.
    pub async fn set_thumbnail(
        &self,
        actor: &Actor,
        api_id: &str,
        bytes: &[u8],
        product: bool,
    ) -> Result<&'static str, ApiError> {
        let api = self.load_for_edit(actor, api_id, product).await?;
        if bytes.is_empty() {
            return Err(ApiError::field("file", "is empty"));
        }
        if bytes.len() > MAX_THUMBNAIL_BYTES {
            return Err(ApiError::field(
                "file",
                format!("is larger than {MAX_THUMBNAIL_BYTES} bytes (1 MB)"),
            ));
        }
        let media_type = image_type(bytes)
            .ok_or_else(|| ApiError::field("file", "is not a PNG, JPEG, GIF, WebP or SVG image"))?;
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO api_thumbnail (api_id, media_type, bytes, updated_by)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (api_id) DO UPDATE
                SET media_type = $2, bytes = $3, updated_by = $4, updated_at = now()",
        )
        .bind(api.id)
        .bind(media_type)
        .bind(bytes)
        .bind(&actor.username)
        .execute(&mut *tx)
        .await?;
        super::apis::audit(&mut tx, actor, "thumbnail", product, api_id).await?;
        tx.commit().await?;
        Ok(media_type)
    }
}

async fn content_of(db: &sqlx::PgPool, row: &DocRow) -> Result<Content, ApiError> {
    let none = || ApiError::NotFound(format!("Document {} has no content yet", row.id));
    match row.source_type.as_str() {
        "URL" => row
            .source_url
            .clone()
            .map(Content::Redirect)
            .ok_or_else(none),
        "FILE" => {
            let (name, media_type, bytes): (Option<String>, Option<String>, Option<Vec<u8>>) =
                sqlx::query_as(
                    "SELECT file_name, file_type, file_bytes FROM api_document WHERE id = $1",
                )
                .bind(row.id)
                .fetch_one(db)
                .await?;
            match (name, bytes) {
                (Some(name), Some(bytes)) => Ok(Content::File {
                    name,
                    media_type: media_type.unwrap_or_else(|| "application/octet-stream".into()),
                    bytes,
                }),
                _ => Err(none()),
            }
        }
        kind => {
            let text: Option<String> =
                sqlx::query_scalar("SELECT inline_content FROM api_document WHERE id = $1")
                    .bind(row.id)
                    .fetch_one(db)
                    .await?;
            Ok(Content::Text {
                text: text.ok_or_else(none)?,
                markdown: kind == "MARKDOWN",
            })
        }
    }
}

async fn stored_thumbnail(db: &sqlx::PgPool, api: Uuid) -> Result<Thumbnail, ApiError> {
    let row: Option<(String, Vec<u8>, DateTime<Utc>)> =
        sqlx::query_as("SELECT media_type, bytes, updated_at FROM api_thumbnail WHERE api_id = $1")
            .bind(api)
            .fetch_optional(db)
            .await?;
    let (media_type, bytes, updated_at) =
        row.ok_or_else(|| ApiError::NotFound(format!("API {api} has no thumbnail")))?;
    Ok(Thumbnail {
        media_type,
        bytes,
        updated_at,
    })
}

/// The Developer Portal's side: only APIs the visitor sees, only documents meant for them
/// (`API_LEVEL`; `PRIVATE` for signed-in users, who are of the API's organization).
impl Catalogue {
    /// `$2`: the visitor is signed in.
    const DOC_VISIBLE: &'static str =
        "(visibility = 'API_LEVEL' OR (visibility = 'PRIVATE' AND $2))";

    /// `GET /apis/{apiId}/documents`.
    pub async fn documents(
        &self,
        visitor: Visitor<'_>,
        api_id: &str,
        offset: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Page<PublicDocument>, ApiError> {
        let api = self.visible_api_id(visitor, api_id).await?;
        let (offset, limit) = page_bounds(offset, limit);
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM api_document WHERE api_id = $1 AND {}",
            Self::DOC_VISIBLE
        )))
        .bind(api)
        .bind(visitor.is_some())
        .fetch_one(&self.db)
        .await?;
        let rows: Vec<DocRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_document WHERE api_id = $1 AND {}
              ORDER BY lower(name) LIMIT $3 OFFSET $4",
            Self::DOC_VISIBLE
        )))
        .bind(api)
        .bind(visitor.is_some())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.db)
        .await?;
        let list = rows.iter().map(DocRow::to_public).collect();
        Ok(Page::new(list, offset, limit, total, |o| {
            format!("?offset={o}&limit={limit}")
        }))
    }

    async fn visible_document(
        &self,
        visitor: Visitor<'_>,
        api_id: &str,
        document_id: &str,
    ) -> Result<DocRow, ApiError> {
        let api = self.visible_api_id(visitor, api_id).await?;
        let id = Uuid::parse_str(document_id).map_err(|_| not_found(document_id))?;
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_document WHERE api_id = $1 AND {} AND id = $3",
            Self::DOC_VISIBLE
        )))
        .bind(api)
        .bind(visitor.is_some())
        .bind(id)
        .fetch_optional(&self.db)
        .await?
        .ok_or_else(|| not_found(document_id))
    }

    /// `GET /apis/{apiId}/documents/{documentId}`.
    pub async fn document(
        &self,
        visitor: Visitor<'_>,
        api_id: &str,
        document_id: &str,
    ) -> Result<PublicDocument, ApiError> {
        Ok(self
            .visible_document(visitor, api_id, document_id)
            .await?
            .to_public())
    }

    /// `GET /apis/{apiId}/documents/{documentId}/content`.
    pub async fn document_content(
        &self,
        visitor: Visitor<'_>,
        api_id: &str,
        document_id: &str,
    ) -> Result<Content, ApiError> {
        let row = self.visible_document(visitor, api_id, document_id).await?;
        content_of(&self.db, &row).await
    }

    /// `GET /apis/{apiId}/thumbnail`.
    pub async fn thumbnail(
        &self,
        visitor: Visitor<'_>,
        api_id: &str,
    ) -> Result<Thumbnail, ApiError> {
        let api = self.visible_api_id(visitor, api_id).await?;
        stored_thumbnail(&self.db, api).await
    }
}

/// The portals' document calls: the Publisher's for signed-in users, the Developer Portal's
/// for anyone (Markdown comes back rendered, FILE documents as a download link).
pub async fn portal_call(
    publisher: &Publisher,
    catalogue: &Catalogue,
    actor: Option<&Actor>,
    call: DocumentCall,
) -> Result<DocumentReply, ApiError> {
    use DocumentCall as C;
    use DocumentReply as R;
    let signed_in = || actor.ok_or_else(|| ApiError::Unauthorized("Sign in first".into()));
    Ok(match call {
        C::List { api_id, product } => R::Documents(
            publisher
                .list_documents(signed_in()?, &api_id, product, None, Some(1000))
                .await?
                .list,
        ),
        C::Get {
            api_id,
            document_id,
            product,
        } => R::Document(Box::new(
            publisher
                .get_document(signed_in()?, &api_id, &document_id, product)
                .await?,
        )),
        C::Save {
            api_id,
            document_id,
            document,
            product,
        } => {
            let actor = signed_in()?;
            R::Document(Box::new(match document_id {
                None => {
                    publisher
                        .create_document(actor, &api_id, *document, product)
                        .await?
                }
                Some(id) => {
                    publisher
                        .update_document(actor, &api_id, &id, *document, product)
                        .await?
                }
            }))
        }
        C::Delete {
            api_id,
            document_id,
            product,
        } => {
            publisher
                .delete_document(signed_in()?, &api_id, &document_id, product)
                .await?;
            R::Done
        }
        C::Visible { api_id } => R::Public(
            catalogue
                .documents(actor, &api_id, None, Some(1000))
                .await?
                .list,
        ),
        C::Content {
            api_id,
            document_id,
        } => {
            let doc = catalogue.document(actor, &api_id, &document_id).await?;
            let content = match doc.source_type.as_str() {
                "URL" => doc.source_url.map(DocumentContent::Url),
                "FILE" => doc.file_name.map(|name| DocumentContent::File {
                    name,
                    href: format!(
                        "{}/apis/{api_id}/documents/{document_id}/content",
                        crate::http::rest::DEVPORTAL
                    ),
                }),
                _ => match catalogue
                    .document_content(actor, &api_id, &document_id)
                    .await
                {
                    Ok(Content::Text { text, markdown }) => Some(if markdown {
                        DocumentContent::Html(markdown_to_html(&text))
                    } else {
                        DocumentContent::Text(text)
                    }),
                    Ok(_) | Err(ApiError::NotFound(_)) => None,
                    Err(e) => return Err(e),
                },
            };
            R::Content(content.unwrap_or(DocumentContent::Empty))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a..."), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(
            image_type(b"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- logo -->\n<!DOCTYPE svg>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            Some("image/svg+xml")
        );
        assert_eq!(image_type(b"<html><svg/></html>"), None);
        assert_eq!(image_type(b"%PDF-1.7"), None);
        assert_eq!(image_type(b""), None);
    }

    #[test]
    fn documents_are_checked_field_by_field() {
        let mut d = Document {
            name: " Guide ".into(),
            kind: "howto".into(),
            source_type: "markdown".into(),
            source_url: Some("https://ignored.example".into()),
            inline_content: Some("# Hi".into()),
            ..Default::default()
        };
        check(&mut d).unwrap();
        assert_eq!(
            (d.name.as_str(), d.kind.as_str(), d.visibility.as_str()),
            ("Guide", "HOWTO", "API_LEVEL")
        );
        assert_eq!(d.source_url, None);
        let mut bad = Document {
            name: String::new(),
            kind: "BOOK".into(),
            source_type: "URL".into(),
            source_url: Some("javascript:alert(1)".into()),
            ..Default::default()
        };
        let ApiError::BadRequest { errors, .. } = check(&mut bad).unwrap_err() else {
            panic!("expected a 400");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(fields, ["name", "type", "sourceUrl"]);
        let mut other = Document {
            name: "x".into(),
            kind: "OTHER".into(),
            source_type: "INLINE".into(),
            ..Default::default()
        };
        assert!(check(&mut other).is_err());
    }

    #[test]
    fn file_names_and_types() {
        assert_eq!(clean_file_name("../../etc/pass\"wd"), "passwd");
        assert_eq!(clean_file_name("C:\\docs\\guide.pdf"), "guide.pdf");
        assert_eq!(clean_file_name(".."), "document");
        assert_eq!(file_media_type("guide.pdf", None), "application/pdf");
        assert_eq!(
            file_media_type("guide.pdf", Some("application/octet-stream")),
            "application/pdf"
        );
        assert_eq!(
            file_media_type("x", Some("text/plain; charset=utf-8")),
            "text/plain"
        );
        assert_eq!(
            file_media_type("x.bin", Some("text/html\r\nX: y")),
            "application/octet-stream"
        );
    }
}
