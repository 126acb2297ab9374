//! API documents and thumbnails through the real router and database: Publisher v4 create /
//! list / read / update / delete, content (inline, Markdown, file, URL), names, scopes; the
//! DevPortal's view by visibility; thumbnails (upload, fetch, refusals, catalogue link); and
//! the portal pages that show them.

mod common;

use axum::http::{Method, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const D: &str = "/api/am/devportal/v3";
const SCOPES: &str = "apim:api_view apim:api_create apim:api_publish apim:api_manage \
                      apim:document_create apim:document_manage";

/// A tiny valid PNG (1×1).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\x01\0\x18\xdd\x8d\xb0\0\0\0\0IEND\xaeB`\x82";

async fn publisher(app: &TestApp) -> String {
    app.access_token("publisher", DEMO_PASSWORD, SCOPES).await
}

/// An API from the petstore document; published (revision, Default, PUBLISHED) when asked.
async fn api(app: &TestApp, token: &str, name: &str, context: &str, publish: bool) -> String {
    petstore_api(
        app,
        token,
        json!({"name": name, "context": context, "version": "1.0.0"}),
        publish,
    )
    .await
}

async fn add(app: &TestApp, token: &str, api: &str, doc: Value) -> Value {
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{api}/documents"),
            token,
            Some(doc),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let d = r.json();
    assert_eq!(
        r.location().unwrap(),
        format!(
            "{P}/apis/{api}/documents/{}",
            d["documentId"].as_str().unwrap()
        )
    );
    d
}

fn names(v: &Value) -> Vec<&str> {
    v["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect()
}

fn field_of(r: &Resp, status: StatusCode) -> String {
    let j = assert_wso2_error(r, status);
    j["error"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn documents_in_db(app: &TestApp) -> i64 {
    count(&app.db, "SELECT count(*) FROM api_document").await
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn publishers_manage_documents_and_their_content(db: PgPool) {
    let app = spawn(db).await;
    let token = publisher(&app).await;
    let id = api(&app, &token, "Docs API", "/docs-api", false).await;
    let docs = format!("{P}/apis/{id}/documents");

    let md = add(
        &app,
        &token,
        &id,
        json!({"name": "Getting started", "type": "HOWTO", "summary": "First steps",
               "sourceType": "MARKDOWN", "visibility": "API_LEVEL", "inlineContent": "# Hi"}),
    )
    .await;
    assert_eq!(md["type"], "HOWTO");
    assert_eq!(md["createdBy"], "publisher");
    assert_eq!(md["lastUpdatedBy"], "publisher");
    assert!(md["createdTime"].is_string());
    assert_eq!(md["inlineContent"], "# Hi");
    let forum = add(
        &app,
        &token,
        &id,
        json!({"name": "Forum", "type": "public_forum", "sourceType": "URL",
               "sourceUrl": "https://forum.example.com/pizza", "visibility": "API_LEVEL"}),
    )
    .await;
    assert_eq!(forum["type"], "PUBLIC_FORUM", "types are taken in any case");
    let guide = add(
        &app,
        &token,
        &id,
        json!({"name": "Guide", "type": "OTHER", "otherTypeName": "Manual",
               "sourceType": "FILE", "visibility": "OWNER_ONLY"}),
    )
    .await;
    assert_eq!(guide["otherTypeName"], "Manual");
    let (md_id, forum_id, guide_id) = (
        md["documentId"].as_str().unwrap().to_string(),
        forum["documentId"].as_str().unwrap().to_string(),
        guide["documentId"].as_str().unwrap().to_string(),
    );

    // Refusals name their field; names are unique per API regardless of case.
    for (body, status, field) in [
        (
            json!({"name": "getting STARTED", "type": "HOWTO", "sourceType": "INLINE", "visibility": "API_LEVEL"}),
            StatusCode::CONFLICT,
            "name",
        ),
        (
            json!({"name": "Book", "type": "BOOK", "sourceType": "INLINE", "visibility": "API_LEVEL"}),
            StatusCode::BAD_REQUEST,
            "type",
        ),
        (
            json!({"name": "Link", "type": "HOWTO", "sourceType": "URL", "visibility": "API_LEVEL"}),
            StatusCode::BAD_REQUEST,
            "sourceUrl",
        ),
        (
            json!({"name": "Link", "type": "HOWTO", "sourceType": "URL", "sourceUrl": "javascript:alert(1)"}),
            StatusCode::BAD_REQUEST,
            "sourceUrl",
        ),
        (
            json!({"name": "Other", "type": "OTHER", "sourceType": "INLINE"}),
            StatusCode::BAD_REQUEST,
            "otherTypeName",
        ),
        (
            json!({"name": "Vis", "type": "HOWTO", "sourceType": "INLINE", "visibility": "EVERYONE"}),
            StatusCode::BAD_REQUEST,
            "visibility",
        ),
        (
            json!({"name": "x".repeat(61), "type": "HOWTO", "sourceType": "INLINE"}),
            StatusCode::BAD_REQUEST,
            "name",
        ),
    ] {
        let r = app
            .call(Method::POST, &docs, &token, Some(body.clone()))
            .await;
        assert_eq!(field_of(&r, status), field, "{body}");
    }
    assert_eq!(documents_in_db(&app).await, 3);

    // WSO2's name check: 200 when taken, 404 when free.
    let r = app
        .call(
            Method::POST,
            &format!("{docs}/validate?name=forum"),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .call(
            Method::POST,
            &format!("{docs}/validate?name=Nope"),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The list: WSO2's shape, by name, pages.
    let page = app
        .get_bearer(&format!("{docs}?limit=2"), &token)
        .await
        .json();
    assert_eq!(names(&page), ["Forum", "Getting started"]);
    assert_eq!(page["count"], 2);
    assert_eq!(page["pagination"]["total"], 3);
    assert_eq!(page["pagination"]["limit"], 2);
    assert!(
        page["pagination"]["next"]
            .as_str()
            .unwrap()
            .contains("offset=2")
    );
    assert!(
        page["list"][1].get("inlineContent").is_none(),
        "lists leave the text out"
    );
    let page = app
        .get_bearer(&format!("{docs}?limit=2&offset=2"), &token)
        .await
        .json();
    assert_eq!(names(&page), ["Guide"]);
    assert_eq!(page["pagination"]["next"], "");

    // Markdown content: read, replaced by an upload.
    let r = app
        .get_bearer(&format!("{docs}/{md_id}/content"), &token)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(r.text(), "# Hi");
    let r = app
        .multipart(
            Method::POST,
            &format!("{docs}/{md_id}/content"),
            &token,
            &[(
                "inlineContent",
                None,
                b"# Getting started\n\nOrder a pizza.",
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["name"], "Getting started");
    let r = app
        .get_bearer(&format!("{docs}/{md_id}/content"), &token)
        .await;
    assert_eq!(r.text(), "# Getting started\n\nOrder a pizza.");
    let r = app
        .multipart(
            Method::POST,
            &format!("{docs}/{md_id}/content"),
            &token,
            &[("file", Some("a.pdf"), b"%PDF-1.4")],
        )
        .await;
    assert_eq!(field_of(&r, StatusCode::BAD_REQUEST), "file");

    // URL documents answer with a redirect.
    let r = app
        .get_bearer(&format!("{docs}/{forum_id}/content"), &token)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location().unwrap(), "https://forum.example.com/pizza");

    // FILE documents: nothing before the upload, then the file as an attachment.
    let r = app
        .get_bearer(&format!("{docs}/{guide_id}/content"), &token)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .multipart(
            Method::POST,
            &format!("{docs}/{guide_id}/content"),
            &token,
            &[("inlineContent", None, b"text")],
        )
        .await;
    assert_eq!(field_of(&r, StatusCode::BAD_REQUEST), "inlineContent");
    let pdf = b"%PDF-1.4\n% a guide\n".repeat(100);
    let r = app
        .multipart(
            Method::POST,
            &format!("{docs}/{guide_id}/content"),
            &token,
            &[("file", Some("../Pizza guide.pdf"), &pdf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["fileName"], "Pizza guide.pdf");
    let r = app
        .get_bearer(&format!("{docs}/{guide_id}/content"), &token)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/pdf");
    let disposition = r.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"Pizza guide.pdf\""),
        "{disposition}"
    );
    assert_eq!(r.body, pdf);
    let r = app
        .multipart(
            Method::POST,
            &format!("{docs}/{guide_id}/content"),
            &token,
            &[],
        )
        .await;
    assert_eq!(field_of(&r, StatusCode::BAD_REQUEST), "file");

    // Updates: metadata replaced, a taken name refused, content that no longer fits dropped.
    let r = app
        .call(
            Method::PUT,
            &format!("{docs}/{forum_id}"),
            &token,
            Some(json!({"name": "Forum", "type": "SUPPORT_FORUM", "summary": "Ask here",
                        "sourceType": "URL", "sourceUrl": "https://help.example.com", "visibility": "PRIVATE"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(
        (&j["type"], &j["summary"], &j["sourceUrl"], &j["visibility"]),
        (
            &json!("SUPPORT_FORUM"),
            &json!("Ask here"),
            &json!("https://help.example.com"),
            &json!("PRIVATE")
        )
    );
    let r = app
        .call(
            Method::PUT,
            &format!("{docs}/{forum_id}"),
            &token,
            Some(json!({"name": "Guide", "type": "HOWTO", "sourceType": "URL", "sourceUrl": "https://x.example"})),
        )
        .await;
    assert_eq!(field_of(&r, StatusCode::CONFLICT), "name");
    let r = app
        .call(
            Method::PUT,
            &format!("{docs}/{guide_id}"),
            &token,
            Some(
                json!({"name": "Guide", "type": "HOWTO", "sourceType": "INLINE",
                        "visibility": "OWNER_ONLY", "inlineContent": "Plain words"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["fileName"], Value::Null, "the file went with FILE");
    let r = app
        .get_bearer(&format!("{docs}/{guide_id}/content"), &token)
        .await;
    assert_eq!(r.text(), "Plain words");
    let got = app
        .get_bearer(&format!("{docs}/{guide_id}"), &token)
        .await
        .json();
    assert_eq!(got["inlineContent"], "Plain words");

    // Someone without a Publisher scope changes nothing.
    let sub = app
        .access_token("subscriber", DEMO_PASSWORD, "apim:subscribe")
        .await;
    let r = app
        .call(
            Method::POST,
            &docs,
            &sub,
            Some(json!({"name": "Sneaky", "type": "HOWTO", "sourceType": "INLINE"})),
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app
        .call(Method::DELETE, &format!("{docs}/{md_id}"), &sub, None)
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app
        .multipart(
            Method::POST,
            &format!("{docs}/{md_id}/content"),
            &sub,
            &[("inlineContent", None, b"defaced")],
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app.get_bearer(&docs, &sub).await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    assert_eq!(documents_in_db(&app).await, 3);
    let r = app
        .get_bearer(&format!("{docs}/{md_id}/content"), &token)
        .await;
    assert_eq!(r.text(), "# Getting started\n\nOrder a pizza.");

    // Delete; unknown ids are 404s.
    let r = app
        .call(Method::DELETE, &format!("{docs}/{forum_id}"), &token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app.get_bearer(&format!("{docs}/{forum_id}"), &token).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let r = app.get_bearer(&format!("{docs}/not-a-uuid"), &token).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let page = app.get_bearer(&docs, &token).await.json();
    assert_eq!(names(&page), ["Getting started", "Guide"]);
    let r = app
        .get_bearer(
            &format!("{P}/apis/00000000-0000-0000-0000-000000000000/documents"),
            &token,
        )
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);

    // Documents go with their API.
    let r = app
        .call(Method::DELETE, &format!("{P}/apis/{id}"), &token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(documents_in_db(&app).await, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_devportal_shows_each_visitor_the_documents_meant_for_them(db: PgPool) {
    let app = spawn(db).await;
    let token = publisher(&app).await;
    let id = api(&app, &token, "Public Pets", "/pets", true).await;
    let draft = api(&app, &token, "Draft Pets", "/draft-pets", false).await;
    let start = add(
        &app,
        &token,
        &id,
        json!({"name": "Getting started", "type": "HOWTO", "sourceType": "MARKDOWN",
               "visibility": "API_LEVEL",
               "inlineContent": "# Hello\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2))"}),
    )
    .await;
    add(
        &app,
        &token,
        &id,
        json!({"name": "Internal notes", "type": "OTHER", "otherTypeName": "Notes",
               "sourceType": "INLINE", "visibility": "PRIVATE", "inlineContent": "Only for us"}),
    )
    .await;
    let hidden = add(
        &app,
        &token,
        &id,
        json!({"name": "Draft", "type": "HOWTO", "sourceType": "INLINE",
               "visibility": "OWNER_ONLY", "inlineContent": "not yet"}),
    )
    .await;
    add(
        &app,
        &token,
        &draft,
        json!({"name": "Draft doc", "type": "HOWTO", "sourceType": "INLINE"}),
    )
    .await;
    let (start_id, hidden_id) = (
        start["documentId"].as_str().unwrap(),
        hidden["documentId"].as_str().unwrap(),
    );

    // Anonymous: API_LEVEL only, DevPortal fields only.
    let r = app.get(&format!("{D}/apis/{id}/documents"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = r.json();
    assert_eq!(names(&page), ["Getting started"]);
    assert_eq!(page["pagination"]["total"], 1);
    let d = &page["list"][0];
    assert_eq!(d["type"], "HOWTO");
    assert_eq!(d["sourceType"], "MARKDOWN");
    assert!(
        d.get("visibility").is_none() && d.get("createdBy").is_none(),
        "{d}"
    );
    let r = app
        .get(&format!("{D}/apis/{id}/documents/{start_id}/content"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().starts_with("# Hello"));
    let r = app
        .get(&format!("{D}/apis/{id}/documents/{start_id}"), None)
        .await;
    assert_eq!(r.json()["name"], "Getting started");
    // OWNER_ONLY never, for anyone.
    let publisher_view = app
        .get_bearer(&format!("{D}/apis/{id}/documents"), &token)
        .await
        .json();
    assert_eq!(
        names(&publisher_view),
        ["Getting started", "Internal notes"]
    );
    for path in [
        format!("{D}/apis/{id}/documents/{hidden_id}"),
        format!("{D}/apis/{id}/documents/{hidden_id}/content"),
    ] {
        assert_wso2_error(&app.get(&path, None).await, StatusCode::NOT_FOUND);
        assert_wso2_error(&app.get_bearer(&path, &token).await, StatusCode::NOT_FOUND);
    }
    // Signed in: PRIVATE too.
    let sub = app
        .access_token("subscriber", DEMO_PASSWORD, "apim:subscribe")
        .await;
    let page = app
        .get_bearer(&format!("{D}/apis/{id}/documents"), &sub)
        .await
        .json();
    assert_eq!(names(&page), ["Getting started", "Internal notes"]);
    // An API the visitor cannot see has no documents for them.
    for r in [
        app.get(&format!("{D}/apis/{draft}/documents"), None).await,
        app.get_bearer(&format!("{D}/apis/{draft}/documents"), &sub)
            .await,
        app.get(&format!("{D}/apis/not-a-uuid/documents"), None)
            .await,
    ] {
        assert_wso2_error(&r, StatusCode::NOT_FOUND);
    }

    // The portal's call renders Markdown without the script or the javascript: link.
    use leptos::server_fn::ServerFn;
    let body = json!({"call": {"Content": {"api_id": id, "document_id": start_id}}}).to_string();
    let r = app
        .send(
            axum::http::Request::post(<app::documents::DocumentsCall as ServerFn>::PATH)
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.json()["Ok"]["Content"]["Html"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(html.contains("<h1>Hello</h1>"), "{html}");
    assert!(
        !html.contains("<script") && !html.contains("javascript:"),
        "{html}"
    );

    // The pages: the API page lists the documents and shows the one asked for.
    let page = app
        .get(&format!("/devportal/apis/{id}?doc={start_id}"), None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(text.contains("data-testid=\"documents\""), "{text}");
    assert!(text.contains("<h1>Hello</h1>"), "the Markdown is rendered");
    assert!(!text.contains("<script>alert(1)"), "and its HTML is not");
    assert!(
        !text.contains("Internal notes"),
        "PRIVATE is for signed-in users"
    );
    let cookie = app.session("publisher", DEMO_PASSWORD).await;
    let page = app
        .get(&format!("/publisher/apis/{id}/documents"), Some(&cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    for name in ["Getting started", "Internal notes", "Draft"] {
        assert!(text.contains(name), "{name} listed on the Publisher tab");
    }
    let page = app
        .get(&format!("/publisher/apis/{draft}/documents"), Some(&cookie))
        .await;
    assert!(page.text().contains("Draft doc"));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn thumbnails_are_images_of_at_most_a_megabyte(db: PgPool) {
    let app = spawn(db).await;
    let token = publisher(&app).await;
    let id = api(&app, &token, "Pictured", "/pictured", true).await;
    let thumb = format!("{P}/apis/{id}/thumbnail");

    let r = app.get_bearer(&thumb, &token).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let entry = app.get(&format!("{D}/apis"), None).await.json();
    assert_eq!(entry["list"][0]["thumbnailUri"], Value::Null);

    // Refused: not an image (whatever the client says), too large, missing.
    let r = app
        .multipart(
            Method::PUT,
            &thumb,
            &token,
            &[("file", Some("logo.png"), b"<html>not an image</html>")],
        )
        .await;
    assert_eq!(field_of(&r, StatusCode::BAD_REQUEST), "file");
    let mut big = PNG.to_vec();
    big.resize(1024 * 1024 + 1, 0);
    let r = app
        .multipart(
            Method::PUT,
            &thumb,
            &token,
            &[("file", Some("big.png"), &big)],
        )
        .await;
    assert_eq!(field_of(&r, StatusCode::BAD_REQUEST), "file");
    let r = app
        .multipart(Method::PUT, &thumb, &token, &[("other", None, b"x")])
        .await;
    assert_eq!(field_of(&r, StatusCode::BAD_REQUEST), "file");
    let sub = app
        .access_token("subscriber", DEMO_PASSWORD, "apim:subscribe")
        .await;
    let r = app
        .multipart(
            Method::PUT,
            &thumb,
            &sub,
            &[("file", Some("logo.png"), PNG)],
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    assert_eq!(
        count(&app.db, "SELECT count(*) FROM api_thumbnail").await,
        0
    );

    // Accepted: the media type comes from the bytes.
    let r = app
        .multipart(
            Method::PUT,
            &thumb,
            &token,
            &[("file", Some("logo.bin"), PNG)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"relativePath": format!("apis/{id}/thumbnail"), "mediaType": "image/png"})
    );
    let r = app.get_bearer(&thumb, &token).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(r.body, PNG);
    let got = app
        .get_bearer(&format!("{P}/apis/{id}"), &token)
        .await
        .json();
    assert_eq!(got["hasThumbnail"], true);
    let list = app.get_bearer(&format!("{P}/apis"), &token).await.json();
    assert_eq!(list["list"][0]["hasThumbnail"], true);

    // The DevPortal: the catalogue links it; anyone who sees the API gets it, with an ETag.
    let entry = app.get(&format!("{D}/apis"), None).await.json();
    let uri = entry["list"][0]["thumbnailUri"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(uri, format!("{D}/apis/{id}/thumbnail"));
    let r = app.get(&uri, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(r.body, PNG);
    let etag = r.headers[header::ETAG].to_str().unwrap().to_string();
    let again = app
        .send(
            axum::http::Request::get(&uri)
                .header(header::IF_NONE_MATCH, &etag)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let catalogue = app.get("/devportal", None).await.text();
    assert!(
        catalogue.contains(&format!("src=\"{uri}\"")),
        "the tile shows the image"
    );

    // SVG is accepted too, and replaces the PNG.
    let svg = b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>";
    let r = app
        .multipart(
            Method::PUT,
            &thumb,
            &token,
            &[("file", Some("logo.svg"), svg)],
        )
        .await;
    assert_eq!(r.json()["mediaType"], "image/svg+xml");
    let r = app.get(&uri, None).await;
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(
        r.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );

    // An API the visitor cannot see has no thumbnail for them.
    let draft = api(&app, &token, "Hidden", "/hidden", false).await;
    let r = app
        .multipart(
            Method::PUT,
            &format!("{P}/apis/{draft}/thumbnail"),
            &token,
            &[("file", Some("logo.png"), PNG)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.get(&format!("{D}/apis/{draft}/thumbnail"), None).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_demo_api_comes_with_a_getting_started_guide(db: PgPool) {
    let mut s = settings();
    s.demo.apis = true;
    let app = spawn_with(db, s).await;
    let catalogue = app.get(&format!("{D}/apis"), None).await.json();
    let id = catalogue["list"][0]["id"].as_str().unwrap();
    let docs = app
        .get(&format!("{D}/apis/{id}/documents"), None)
        .await
        .json();
    assert_eq!(names(&docs), ["Getting started"]);
    assert_eq!(docs["list"][0]["sourceType"], "MARKDOWN");
    let doc = docs["list"][0]["documentId"].as_str().unwrap();
    let r = app
        .get(&format!("{D}/apis/{id}/documents/{doc}/content"), None)
        .await;
    assert!(
        r.text().starts_with("# Getting started with PizzaShack"),
        "{}",
        r.text()
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn api_products_have_documents_and_thumbnails_too(db: PgPool) {
    let app = spawn(db).await;
    let token = publisher(&app).await;
    let id = api(&app, &token, "Pets", "/pets", false).await;
    let r = app
        .call(
            Method::POST,
            &format!("{P}/api-products"),
            &token,
            Some(json!({"name": "Bundle", "context": "/bundle",
                        "apis": [{"apiId": id, "operations": [{"target": "/pets", "verb": "GET"}]}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let pid = r.json()["id"].as_str().unwrap().to_string();
    let r = app
        .call(
            Method::POST,
            &format!("{P}/api-products/{pid}/documents"),
            &token,
            Some(
                json!({"name": "Bundle guide", "type": "HOWTO", "sourceType": "INLINE",
                        "inlineContent": "Both APIs, one subscription"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(
        r.location()
            .unwrap()
            .starts_with(&format!("{P}/api-products/{pid}/documents/"))
    );
    let list = app
        .get_bearer(&format!("{P}/api-products/{pid}/documents"), &token)
        .await
        .json();
    assert_eq!(names(&list), ["Bundle guide"]);
    // A product is not an API, and the API's documents are its own.
    let r = app
        .get_bearer(&format!("{P}/apis/{pid}/documents"), &token)
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let list = app
        .get_bearer(&format!("{P}/apis/{id}/documents"), &token)
        .await
        .json();
    assert_eq!(list["count"], 0);
    let r = app
        .multipart(
            Method::PUT,
            &format!("{P}/api-products/{pid}/thumbnail"),
            &token,
            &[("file", Some("logo.gif"), b"GIF89a\x01\x00\x01\x00")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["relativePath"],
        format!("api-products/{pid}/thumbnail")
    );
    let got = app
        .get_bearer(&format!("{P}/api-products/{pid}"), &token)
        .await
        .json();
    assert_eq!(got["hasThumbnail"], true);
}
