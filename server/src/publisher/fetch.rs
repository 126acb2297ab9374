//! Fetching an API definition from a URL (`url` of `/apis/import-openapi`): http or https,
//! a few redirects, a size limit and a deadline. Uses the gateway's own HTTP client set-up
//! (rustls, system roots).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{Request, StatusCode, Uri};

use crate::error::ApiError;

const MAX_REDIRECTS: usize = 5;

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::field("url", message)
}

/// GETs `url` and returns the body, refusing bodies over `limit` bytes.
pub async fn fetch(url: &str, limit: usize, timeout: Duration) -> Result<Bytes, ApiError> {
    let work = async {
        let tls =
            gateway::proxy::backend_tls(None).map_err(|e| ApiError::Anyhow(anyhow::anyhow!(e)))?;
        let client = gateway::proxy::upstream(tls);
        let mut current: Uri = url
            .trim()
            .parse()
            .map_err(|_| bad(format!("`{url}` is not a URL")))?;
        for _ in 0..=MAX_REDIRECTS {
            if !matches!(current.scheme_str(), Some("http" | "https")) || current.host().is_none() {
                return Err(bad(format!("`{current}` is not an http(s) URL")));
            }
            let req = Request::get(current.clone())
                .header(
                    "accept",
                    "application/json, application/yaml, text/yaml, */*",
                )
                .header("user-agent", "gatehouse-publisher")
                .body(
                    Empty::<Bytes>::new()
                        .map_err(|never| match never {})
                        .boxed(),
                )
                .map_err(|e| bad(e.to_string()))?;
            let resp = client
                .request(req)
                .await
                .map_err(|e| bad(format!("could not fetch `{current}`: {e}")))?;
            let status = resp.status();
            if status.is_redirection() {
                let next = resp
                    .headers()
                    .get(hyper::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| bad(format!("`{current}` redirected without a Location")))?;
                current = resolve(&current, next)?;
                continue;
            }
            if status != StatusCode::OK {
                return Err(bad(format!("`{current}` answered {status}")));
            }
            return match Limited::new(resp.into_body(), limit).collect().await {
                Ok(body) => Ok(body.to_bytes()),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(bad(format!(
                    "the document at `{current}` is larger than {limit} bytes"
                ))),
                Err(e) => Err(bad(format!("reading `{current}` failed: {e}"))),
            };
        }
        Err(bad(format!("more than {MAX_REDIRECTS} redirects")))
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| bad(format!("no complete answer within {} s", timeout.as_secs())))?
}

fn resolve(base: &Uri, location: &str) -> Result<Uri, ApiError> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location
            .parse()
            .map_err(|_| bad(format!("bad redirect `{location}`")));
    }
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    let scheme = base.scheme_str().unwrap_or("http");
    let path = if location.starts_with('/') {
        location.to_string()
    } else {
        let dir = base.path().rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        format!("{dir}/{location}")
    };
    format!("{scheme}://{authority}{path}")
        .parse()
        .map_err(|_| bad(format!("bad redirect `{location}`")))
}
