//! The Developer Portal's try-out console: the server sends one request through the gateway of
//! an environment the API is deployed on, with a fresh test token of one of the user's
//! applications, and returns what came back. The target is always the API's own gateway URL
//! (admin-configured virtual hosts), never an address the user types.

use std::time::{Duration, Instant};

use app::applications::{TokenGenerateRequest, TryOutRequest, TryOutResponse};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request};

use super::KeyManager;
use crate::devportal::Catalogue;
use crate::error::ApiError;
use crate::publisher::Actor;

/// Largest response body shown (the rest is cut off).
const SHOWN: usize = 256 * 1024;
const MAX_REQUEST_BODY: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl KeyManager {
    pub async fn try_out(
        &self,
        catalogue: &Catalogue,
        actor: &Actor,
        req: TryOutRequest,
    ) -> Result<TryOutResponse, ApiError> {
        actor.require(super::applications::APP_SCOPES)?;
        let api = catalogue.get(Some(actor), &req.api_id).await?;
        let method = Method::from_bytes(req.method.trim().to_ascii_uppercase().as_bytes())
            .ok()
            .filter(|m| app::publisher::VERBS.contains(&m.as_str()))
            .ok_or_else(|| {
                ApiError::field("method", "GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS")
            })?;
        let path = req.path.trim();
        if !path.starts_with('/')
            || path.contains("..")
            || path.contains("//")
            || path
                .chars()
                .any(|c| c.is_whitespace() || c == '?' || c == '#')
        {
            return Err(ApiError::field(
                "path",
                "a path below the API's context, starting with / (no spaces, ?, # or ..)",
            ));
        }
        let query = req.query.trim().trim_start_matches('?');
        if query.chars().any(|c| c.is_whitespace() || c == '#') {
            return Err(ApiError::field(
                "query",
                "name=value pairs joined by &, URL-encoded",
            ));
        }
        if req
            .body
            .as_ref()
            .is_some_and(|b| b.len() > MAX_REQUEST_BODY)
        {
            return Err(ApiError::field("body", "at most 1 MiB"));
        }
        let urls = api
            .endpoint_urls
            .iter()
            .find(|e| {
                req.environment
                    .as_deref()
                    .is_none_or(|n| n == e.environment_name)
            })
            .ok_or_else(|| {
                ApiError::field(
                    "environment",
                    "the API is not deployed on a gateway environment shown in the portal",
                )
            })?;
        let base = urls
            .urls
            .http
            .clone()
            .or_else(|| urls.urls.https.clone())
            .ok_or_else(|| ApiError::field("environment", "the environment has no URL"))?;
        let url = if query.is_empty() {
            format!("{}{path}", base.trim_end_matches('/'))
        } else {
            format!("{}{path}?{query}", base.trim_end_matches('/'))
        };
        let uri: hyper::Uri = url
            .parse()
            .map_err(|_| ApiError::field("path", format!("`{url}` is not a valid URL")))?;

        // A test token of the application's production keys (sandbox when it has only those).
        let keys = self
            .oauth_keys(actor, &req.application_id)
            .await
            .map_err(|e| match e {
                ApiError::NotFound(_) => {
                    ApiError::field("applicationId", "choose one of your applications")
                }
                other => other,
            })?;
        let key = keys
            .iter()
            .filter(|k| k.key_manager == super::RESIDENT)
            .min_by_key(|k| k.key_type != app::applications::PRODUCTION)
            .ok_or_else(|| {
                ApiError::field(
                    "applicationId",
                    "the application has no keys yet: generate them on its page",
                )
            })?;
        let token = self
            .generate_token(
                actor,
                &req.application_id,
                &key.key_mapping_id,
                TokenGenerateRequest::default(),
            )
            .await?
            .access_token;

        let mut builder = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("user-agent", "gatehouse-try-out");
        let mut curl = format!("curl -i -X {method} {}", shell_quote(&url));
        curl.push_str(&format!(
            " -H {}",
            shell_quote(&format!("Authorization: Bearer {token}"))
        ));
        for (name, value) in &req.headers {
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() {
                continue;
            }
            if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err()
                || hyper::header::HeaderValue::from_str(value).is_err()
                || name.eq_ignore_ascii_case("authorization")
                || name.eq_ignore_ascii_case("host")
            {
                return Err(ApiError::field(
                    "headers",
                    format!("`{name}` cannot be sent (invalid, or set by the console)"),
                ));
            }
            builder = builder.header(name, value);
            curl.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
        }
        let body = req.body.clone().unwrap_or_default();
        if !body.is_empty() {
            curl.push_str(&format!(" --data-binary {}", shell_quote(&body)));
        }
        let request = builder
            .body(
                Full::new(Bytes::from(body))
                    .map_err(|never| match never {})
                    .boxed(),
            )
            .map_err(|e| ApiError::field("headers", e.to_string()))?;

        let tls =
            gateway::proxy::backend_tls(None).map_err(|e| ApiError::Anyhow(anyhow::anyhow!(e)))?;
        let client = gateway::proxy::upstream(tls);
        let started = Instant::now();
        let unreachable = |e: String| ApiError::BadRequest {
            message: format!("The gateway at {base} could not be reached: {e}"),
            errors: vec![],
        };
        let resp = tokio::time::timeout(TIMEOUT, client.request(request))
            .await
            .map_err(|_| unreachable(format!("no answer within {} s", TIMEOUT.as_secs())))?
            .map_err(|e| unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let (body, truncated) =
            match tokio::time::timeout(TIMEOUT, Limited::new(resp.into_body(), SHOWN).collect())
                .await
            {
                Ok(Ok(b)) => (String::from_utf8_lossy(&b.to_bytes()).into_owned(), false),
                Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => (
                    format!("(longer than {} KiB; not shown)", SHOWN / 1024),
                    true,
                ),
                Ok(Err(e)) => (format!("(the body could not be read: {e})"), true),
                Err(_) => ("(the body did not arrive in time)".into(), true),
            };
        Ok(TryOutResponse {
            url,
            status,
            headers,
            body,
            truncated,
            elapsed_ms: started.elapsed().as_millis() as u64,
            curl,
        })
    }
}
