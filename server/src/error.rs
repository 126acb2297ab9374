//! One error type for the REST APIs, rendered as WSO2's error body
//! (`code`, `message`, `description`, `moreInfo`, `error[]`). 5xx details go to the log only.

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One field's problem, as WSO2's `ErrorListItem`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            code: field.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    BadRequest {
        message: String,
        errors: Vec<FieldError>,
    },
    #[error("{message}")]
    Conflict {
        message: String,
        errors: Vec<FieldError>,
    },
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Too many calls: the description, and seconds until the next one may go (`Retry-After`).
    #[error("{0}")]
    TooManyRequests(String, u64),
    /// A service the request needs is not there (no model installed, say).
    #[error("{0}")]
    Unavailable(String),
    /// A service the request called answered wrongly (an LLM endpoint).
    #[error("{0}")]
    BadGateway(String),
    /// A service the request called did not answer in time.
    #[error("{0}")]
    GatewayTimeout(String),
    #[error("database error")]
    Sqlx(#[from] sqlx::Error),
    #[error("internal error")]
    Anyhow(#[from] anyhow::Error),
}

/// WSO2's error object.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub code: u16,
    pub message: String,
    pub description: String,
    #[serde(rename = "moreInfo")]
    pub more_info: String,
    pub error: Vec<FieldError>,
}

impl ApiError {
    /// A 400 naming the field at fault.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::BadRequest {
            message: format!("Invalid value for `{field}`: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Sqlx(_) | ApiError::Anyhow(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let status = self.status();
        let (message, description, errors) = match self {
            ApiError::Unauthorized(d) => ("Unauthenticated request".to_string(), d.clone(), vec![]),
            ApiError::Forbidden(d) => ("Forbidden".to_string(), d.clone(), vec![]),
            ApiError::NotFound(d) => ("Not Found".to_string(), d.clone(), vec![]),
            ApiError::BadRequest { message, errors } | ApiError::Conflict { message, errors } => (
                status.canonical_reason().unwrap_or("Error").to_string(),
                message.clone(),
                errors.clone(),
            ),
            ApiError::UnsupportedMediaType(d) => {
                ("Unsupported media type".into(), d.clone(), vec![])
            }
            ApiError::MethodNotAllowed(d) => ("Method Not Allowed".into(), d.clone(), vec![]),
            ApiError::TooManyRequests(d, _)
            | ApiError::Unavailable(d)
            | ApiError::BadGateway(d)
            | ApiError::GatewayTimeout(d) => (
                status.canonical_reason().unwrap_or("Error").to_string(),
                d.clone(),
                vec![],
            ),
            ApiError::Sqlx(_) | ApiError::Anyhow(_) => (
                "Internal Server Error".to_string(),
                "The server could not complete the request; the error is in its log.".to_string(),
                vec![],
            ),
        };
        ErrorBody {
            code: status.as_u16(),
            message,
            description,
            more_info: String::new(),
            error: errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Sqlx(e) => tracing::error!(error = %e, "database error"),
            ApiError::Anyhow(e) => tracing::error!(error = ?e, "internal error"),
            _ => {}
        }
        let mut resp = (self.status(), axum::Json(self.body())).into_response();
        if let ApiError::TooManyRequests(_, seconds) = &self {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*seconds),
            );
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"gatehouse\""),
            );
        }
        resp
    }
}

/// Maps a unique-constraint violation to a 409 naming the field; other errors pass through.
pub trait ResultExt<T> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> ApiError) -> Result<T, ApiError>;
}

impl<T, E: Into<ApiError>> ResultExt<T> for Result<T, E> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
        self.map_err(|e| match e.into() {
            ApiError::Sqlx(sqlx::Error::Database(db)) if db.constraint() == Some(name) => f(),
            other => other,
        })
    }
}

/// `Json<T>` whose rejection is our error body, naming what was wrong with the document.
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(AppJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType(
                "expected Content-Type: application/json".into(),
            )),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::BadRequest {
                message: e.body_text(),
                errors: vec![],
            }),
            Err(e) => Err(ApiError::BadRequest {
                message: format!("Malformed JSON body: {}", e.body_text()),
                errors: vec![],
            }),
        }
    }
}

/// `Form<T>` whose rejection is our error body.
pub struct AppForm<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for AppForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(AppForm(v)),
            Err(FormRejection::InvalidFormContentType(_)) => Err(ApiError::UnsupportedMediaType(
                "expected Content-Type: application/x-www-form-urlencoded".into(),
            )),
            Err(e) => Err(ApiError::BadRequest {
                message: format!("Malformed form body: {}", e.body_text()),
                errors: vec![],
            }),
        }
    }
}
