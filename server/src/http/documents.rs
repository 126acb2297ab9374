//! API documents and thumbnails over REST: Publisher v4 `/apis/{apiId}/documents…` (and the
//! same under `/api-products/{apiProductId}`), `/apis/{apiId}/thumbnail`, and their DevPortal v3
//! read-only twins. Uploads are `multipart/form-data` (`file`, `inlineContent`).

use app::documents::Document;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::caller::Caller;
use super::devportal::catalogue;
use super::rest::{DEVPORTAL, PUBLISHER};
use crate::AppState;
use crate::error::{ApiError, AppJson};
use crate::publisher::Publisher;
use crate::publisher::documents::{
    Content, MAX_FILE_BYTES, MAX_INLINE_BYTES, MAX_THUMBNAIL_BYTES, Thumbnail, Upload,
};

/// Files, images and pages served from here never run scripts, even when opened directly.
const SANDBOX: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    r = publisher_routes::<false>(r);
    r = publisher_routes::<true>(r);
    let api = format!("{DEVPORTAL}/apis/{{api_id}}");
    r.route(&format!("{api}/documents"), get(dev_list))
        .route(&format!("{api}/documents/{{document_id}}"), get(dev_one))
        .route(
            &format!("{api}/documents/{{document_id}}/content"),
            get(dev_content),
        )
        .route(&format!("{api}/thumbnail"), get(dev_thumbnail))
        // Room for the largest file and the multipart framing around it; the handlers check
        // each part's own limit and name the field.
        .layer(DefaultBodyLimit::max(MAX_FILE_BYTES + 1024 * 1024))
}

fn publisher_routes<const P: bool>(r: Router<AppState>) -> Router<AppState> {
    let item = format!("{PUBLISHER}/{}/{{api_id}}", kind_path::<P>());
    let docs = format!("{item}/documents");
    let doc = format!("{docs}/{{document_id}}");
    r.route(&docs, get(list::<P>).post(create::<P>))
        .route(&format!("{docs}/validate"), post(validate::<P>))
        .route(&doc, get(one::<P>).put(update::<P>).delete(delete::<P>))
        .route(
            &format!("{doc}/content"),
            get(content::<P>).post(upload_content::<P>),
        )
        .route(
            &format!("{item}/thumbnail"),
            get(thumbnail::<P>).put(put_thumbnail::<P>),
        )
}

fn kind_path<const P: bool>() -> &'static str {
    if P { "api-products" } else { "apis" }
}

fn service(state: &AppState) -> Publisher {
    Publisher::new(state.db.clone(), state.settings.publisher.clone())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PageQuery {
    offset: Option<i64>,
    limit: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NameQuery {
    name: Option<String>,
}

// ----- Publisher -------------------------------------------------------------------------------

async fn list<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(api_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let page = service(&state)
        .list_documents(&caller, &api_id, P, q.offset, q.limit)
        .await?;
    Ok(Json(json!(page)))
}

async fn create<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(api_id): Path<String>,
    AppJson(doc): AppJson<Document>,
) -> Result<Response, ApiError> {
    let doc = service(&state)
        .create_document(&caller, &api_id, doc, P)
        .await?;
    let location = format!(
        "{PUBLISHER}/{}/{api_id}/documents/{}",
        kind_path::<P>(),
        doc.document_id.clone().unwrap_or_default()
    );
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(doc),
    )
        .into_response())
}

async fn one<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path((api_id, document_id)): Path<(String, String)>,
) -> Result<Json<Document>, ApiError> {
    Ok(Json(
        service(&state)
            .get_document(&caller, &api_id, &document_id, P)
            .await?,
    ))
}

async fn update<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path((api_id, document_id)): Path<(String, String)>,
    AppJson(doc): AppJson<Document>,
) -> Result<Json<Document>, ApiError> {
    Ok(Json(
        service(&state)
            .update_document(&caller, &api_id, &document_id, doc, P)
            .await?,
    ))
}

async fn delete<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path((api_id, document_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    service(&state)
        .delete_document(&caller, &api_id, &document_id, P)
        .await?;
    Ok(StatusCode::OK)
}

/// `POST …/documents/validate?name=`: 200 when the name is taken, 404 when it is free.
async fn validate<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(api_id): Path<String>,
    Query(q): Query<NameQuery>,
) -> Result<StatusCode, ApiError> {
    let name = q
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::field("name", "is required"))?;
    if service(&state)
        .document_name_exists(&caller, &api_id, &name, P)
        .await?
    {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::NotFound(format!("No document named {name}")))
    }
}

async fn content<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path((api_id, document_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let c = service(&state)
        .document_content(&caller, &api_id, &document_id, P)
        .await?;
    Ok(content_response(c))
}

/// `POST …/content`: exactly one of `file` and `inlineContent`.
async fn upload_content<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path((api_id, document_id)): Path<(String, String)>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Json<Document>, ApiError> {
    let mut upload = None;
    let mut form = multipart(form)?;
    while let Some(part) = next_part(&mut form).await? {
        let item = match part.name.as_str() {
            "file" => {
                let bytes = read_limited(part.field, "file", MAX_FILE_BYTES).await?;
                Upload::File {
                    name: part.file_name.unwrap_or_default(),
                    media_type: part.content_type,
                    bytes,
                }
            }
            "inlineContent" => {
                let bytes = read_limited(part.field, "inlineContent", MAX_INLINE_BYTES).await?;
                Upload::Inline(
                    String::from_utf8(bytes)
                        .map_err(|_| ApiError::field("inlineContent", "is not UTF-8 text"))?,
                )
            }
            _ => continue,
        };
        if upload.replace(item).is_some() {
            return Err(ApiError::field(
                "file",
                "send either `file` or `inlineContent`, once",
            ));
        }
    }
    let upload = upload.ok_or_else(|| ApiError::field("file", "send `file` or `inlineContent`"))?;
    Ok(Json(
        service(&state)
            .set_document_content(&caller, &api_id, &document_id, upload, P)
            .await?,
    ))
}

async fn thumbnail<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(api_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t = service(&state).thumbnail(&caller, &api_id, P).await?;
    Ok(image_response(t, &headers))
}

/// `PUT …/thumbnail` (multipart `file`): WSO2's `FileInfo`.
async fn put_thumbnail<const P: bool>(
    State(state): State<AppState>,
    caller: Caller,
    Path(api_id): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let mut form = multipart(form)?;
    let mut image = None;
    while let Some(part) = next_part(&mut form).await? {
        if part.name == "file" {
            image = Some(read_limited(part.field, "file", MAX_THUMBNAIL_BYTES).await?);
        }
    }
    let image = image.ok_or_else(|| ApiError::field("file", "send the image as `file`"))?;
    let media_type = service(&state)
        .set_thumbnail(&caller, &api_id, &image, P)
        .await?;
    let relative = format!("{}/{api_id}/thumbnail", kind_path::<P>());
    Ok((
        [(header::LOCATION, format!("{PUBLISHER}/{relative}"))],
        Json(json!({ "relativePath": relative, "mediaType": media_type })),
    )
        .into_response())
}

// ----- DevPortal -------------------------------------------------------------------------------

async fn dev_list(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path(api_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let page = catalogue(&state)
        .documents(caller.as_ref(), &api_id, q.offset, q.limit)
        .await?;
    Ok(Json(json!(page)))
}

async fn dev_one(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((api_id, document_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let doc = catalogue(&state)
        .document(caller.as_ref(), &api_id, &document_id)
        .await?;
    Ok(Json(json!(doc)))
}

async fn dev_content(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((api_id, document_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let c = catalogue(&state)
        .document_content(caller.as_ref(), &api_id, &document_id)
        .await?;
    Ok(content_response(c))
}

async fn dev_thumbnail(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path(api_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t = catalogue(&state)
        .thumbnail(caller.as_ref(), &api_id)
        .await?;
    Ok(image_response(t, &headers))
}

// ----- multipart and responses -----------------------------------------------------------------

fn multipart(form: Result<Multipart, MultipartRejection>) -> Result<Multipart, ApiError> {
    form.map_err(|e| {
        ApiError::UnsupportedMediaType(format!("expected multipart/form-data: {}", e.body_text()))
    })
}

struct Part<'a> {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    field: axum::extract::multipart::Field<'a>,
}

fn unreadable(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::field(
        "body",
        format!("unreadable multipart body: {}", e.body_text()),
    )
}

async fn next_part(form: &mut Multipart) -> Result<Option<Part<'_>>, ApiError> {
    Ok(form
        .next_field()
        .await
        .map_err(unreadable)?
        .map(|field| Part {
            name: field.name().unwrap_or_default().to_string(),
            file_name: field.file_name().map(str::to_string),
            content_type: field.content_type().map(str::to_string),
            field,
        }))
}

/// Reads a part, refusing it (naming `field`) as soon as it passes `limit` bytes.
async fn read_limited(
    mut field: axum::extract::multipart::Field<'_>,
    name: &str,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        if out.len() + chunk.len() > limit {
            return Err(ApiError::field(
                name,
                format!("is larger than {limit} bytes"),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// `https://example.com/ä` with non-ASCII bytes percent-encoded, as a header needs it.
fn ascii_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII fallback and the
/// exact name.
fn attachment(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut exact = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            exact.push(b as char);
        } else {
            exact.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

fn content_response(c: Content) -> Response {
    let nosniff = (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let sandbox = (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SANDBOX),
    );
    match c {
        Content::Text { text, .. } => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
                nosniff,
                sandbox,
            ],
            text,
        )
            .into_response(),
        Content::Redirect(url) => {
            (StatusCode::SEE_OTHER, [(header::LOCATION, ascii_url(&url))]).into_response()
        }
        Content::File {
            name,
            media_type,
            bytes,
        } => {
            let kind = HeaderValue::from_str(&media_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            let disposition = HeaderValue::from_str(&attachment(&name))
                .unwrap_or(HeaderValue::from_static("attachment"));
            (
                [
                    (header::CONTENT_TYPE, kind),
                    (header::CONTENT_DISPOSITION, disposition),
                    nosniff,
                    sandbox,
                ],
                bytes,
            )
                .into_response()
        }
    }
}

/// The image with an ETag (its last change) so browsers revalidate instead of downloading it
/// again; SVG cannot run scripts even when opened on its own.
fn image_response(t: Thumbnail, headers: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", t.updated_at.timestamp_micros());
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|e| e.trim().trim_start_matches("W/") == etag)
        });
    let common = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "private, no-cache".to_string()),
        (
            header::LAST_MODIFIED,
            t.updated_at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [
            (header::CONTENT_TYPE, t.media_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CONTENT_SECURITY_POLICY, SANDBOX.to_string()),
        ],
        t.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_ascii() {
        assert_eq!(
            attachment("Guide ä \"1\".pdf"),
            "attachment; filename=\"Guide _ _1_.pdf\"; filename*=UTF-8''Guide%20%C3%A4%20%221%22.pdf"
        );
        assert_eq!(
            ascii_url("https://example.com/ä?q=1"),
            "https://example.com/%C3%A4?q=1"
        );
    }
}
