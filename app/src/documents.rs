//! API documents and thumbnails: WSO2's `Document` (Publisher v4, DevPortal v3 field names),
//! the portal's document calls, and Markdown rendered without raw HTML or script links.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::ServiceError;

/// WSO2's document types.
pub const TYPES: &[&str] = &[
    "HOWTO",
    "SAMPLES",
    "PUBLIC_FORUM",
    "SUPPORT_FORUM",
    "API_MESSAGE_FORMAT",
    "SWAGGER_DOC",
    "OTHER",
];

/// Where a document's content is.
pub const SOURCE_TYPES: &[&str] = &["INLINE", "MARKDOWN", "URL", "FILE"];

/// Who sees a document: `OWNER_ONLY` the Publisher only, `PRIVATE` signed-in Developer Portal
/// users, `API_LEVEL` whoever sees the API.
pub const VISIBILITIES: &[&str] = &["OWNER_ONLY", "PRIVATE", "API_LEVEL"];

/// The Publisher's `Document`. Read-only fields are ignored in requests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    #[serde(default)]
    pub document_id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub source_type: String,
    #[serde(default)]
    pub source_url: Option<String>,
    #[serde(default)]
    pub file_name: Option<String>,
    /// INLINE and MARKDOWN documents: the text (only in a single document's answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_content: Option<String>,
    #[serde(default)]
    pub other_type_name: Option<String>,
    #[serde(default)]
    pub visibility: String,
    #[serde(default)]
    pub created_time: Option<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub last_updated_time: Option<String>,
    #[serde(default)]
    pub last_updated_by: Option<String>,
}

/// The Developer Portal's `Document`: what a visitor may know about one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicDocument {
    pub document_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub summary: Option<String>,
    pub source_type: String,
    pub source_url: Option<String>,
    pub other_type_name: Option<String>,
    /// FILE documents: the name the download gets.
    pub file_name: Option<String>,
}

/// A document's content as the portal shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocumentContent {
    /// INLINE: plain text.
    Text(String),
    /// MARKDOWN: rendered on the server by `markdown_to_html`.
    Html(String),
    Url(String),
    /// FILE: a download link (the REST content endpoint).
    File {
        name: String,
        href: String,
    },
    /// Nothing uploaded yet.
    Empty,
}

/// A document operation of the portals. `product` picks `/api-products` on the Publisher side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocumentCall {
    List {
        api_id: String,
        product: bool,
    },
    Get {
        api_id: String,
        document_id: String,
        product: bool,
    },
    /// Creates (no `document_id`) or updates a document, with its inline text if any.
    Save {
        api_id: String,
        document_id: Option<String>,
        document: Box<Document>,
        product: bool,
    },
    Delete {
        api_id: String,
        document_id: String,
        product: bool,
    },
    /// Developer Portal: the documents a visitor may see.
    Visible {
        api_id: String,
    },
    /// Developer Portal: one document's content.
    Content {
        api_id: String,
        document_id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocumentReply {
    Documents(Vec<Document>),
    Document(Box<Document>),
    Public(Vec<PublicDocument>),
    Content(DocumentContent),
    Done,
}

/// One document call for the portals (anonymous Developer Portal visitors too). Refusals come
/// back as `Ok(Err(…))` so pages can show each problem next to its field.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn documents_call(
    call: DocumentCall,
) -> Result<Result<DocumentReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let user = crate::api::ssr::viewer().user;
    let services = expect_context::<crate::api::ssr::Services>();
    Ok(services.documents(user.as_ref(), call).await)
}

/// Runs a document call; transport failures become a plain message.
pub async fn run(call: DocumentCall) -> Result<DocumentReply, ServiceError> {
    match documents_call(call).await {
        Ok(reply) => reply,
        Err(e) => Err(ServiceError::Fields {
            message: format!("The server could not be reached: {e}"),
            problems: vec![],
        }),
    }
}

/// Markdown as HTML that is safe to insert into a page: raw HTML in the text is shown as text,
/// and links or images whose URL is not http(s), mailto or relative lead nowhere.
pub fn markdown_to_html(text: &str) -> String {
    use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    fn safe(url: CowStr<'_>) -> CowStr<'_> {
        if safe_url(&url) { url } else { "#".into() }
    }
    let events = Parser::new_ext(text, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut html = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// http(s), mailto, or no scheme at all (relative, fragment). Browsers skip tabs, newlines and
/// other control characters inside a scheme (`java\tscript:`), so the check does too.
pub fn safe_url(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    match cleaned.find([':', '/', '?', '#']) {
        Some(i) if cleaned[i..].starts_with(':') => {
            matches!(&cleaned[..i], "http" | "https" | "mailto")
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_formatting_and_drops_scripts() {
        let html = markdown_to_html(
            "# Getting started\n\n*Order* a [pizza](https://example.com/a?b=1&c=2).\n\n\
             <script>alert(1)</script>\n\nInline <img src=x onerror=alert(1)> too.\n\n\
             [bad](javascript:alert(1)) [bad2](JaVa\tScRiPt:alert(1)) ![x](data:text/html,hi)\n\n\
             | a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<h1>Getting started</h1>"), "{html}");
        assert!(html.contains("<em>Order</em>"), "{html}");
        assert!(
            html.contains(r#"<a href="https://example.com/a?b=1&amp;c=2">pizza</a>"#),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.to_ascii_lowercase().contains("javascript:"), "{html}");
        assert!(!html.contains("data:text/html"), "{html}");
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn safe_urls() {
        for ok in [
            "https://x.example",
            "http://x",
            "mailto:a@b.c",
            "/docs",
            "#top",
            "guide.md",
            "a/b:c",
        ] {
            assert!(safe_url(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " JAVASCRIPT:x",
            "java\nscript:x",
            "vbscript:x",
            "data:text/html,x",
        ] {
            assert!(!safe_url(bad), "{bad}");
        }
    }
}
