//! The API's one error type: each kind maps to one status code and a JSON body
//! `{"error":{"code":…,"message":…,"details":…}}`. Internal details are logged, never returned.

use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::{json, Value};
use switchyard_core::Error;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `validation_failed`, `bad_request`, `not_found`, `conflict`,
    /// `stale_revision`, `unauthenticated`, `forbidden`, `cross_origin`, `too_many_attempts`,
    /// `payload_too_large`, `unsupported_media_type`, `refused` (Docker refused it for good),
    /// `unavailable`, `internal`.
    pub code: String,
    pub message: String,
    /// More about the error, e.g. `{"field": "password"}`; `{}` when there is nothing more.
    #[schema(value_type = Object)]
    pub details: Value,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: json!({}), retry_after: None }
    }
}

/// The HTTP status for an error code: one table for the REST API and the UI's server functions
/// (which are given it as context, see `web::page_context`). Codes not listed (and `internal`)
/// are a 500.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "bad_request" => StatusCode::BAD_REQUEST,
        "unauthenticated" => StatusCode::UNAUTHORIZED,
        "forbidden" => StatusCode::FORBIDDEN,
        "not_found" => StatusCode::NOT_FOUND,
        "conflict" | "stale_revision" => StatusCode::CONFLICT,
        "validation_failed" | "refused" => StatusCode::UNPROCESSABLE_ENTITY,
        "too_many_attempts" => StatusCode::TOO_MANY_REQUESTS,
        "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = status_of(e.code());
        let mut api = ApiError::new(status, e.code(), e.to_string());
        match &e {
            Error::Invalid { field: Some(field), .. } => api.details = json!({ "field": field }),
            Error::InvalidDocument(problems) => api.details = json!({ "problems": problems }),
            Error::Throttled { retry_after_secs } => {
                api.details = json!({ "retry_after_secs": retry_after_secs });
                api.retry_after = Some(*retry_after_secs);
            }
            Error::Internal(detail) => tracing::error!(%detail, "internal error"),
            Error::Unavailable(detail) => tracing::warn!(%detail, "dependency unavailable"),
            _ => {}
        }
        api
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match &r {
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("malformed JSON: {}", source_text(&r)))
            }
            JsonRejection::JsonDataError(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("the JSON does not fit: {}", source_text(&r)),
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON, with Content-Type: application/json",
            ),
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than this server accepts",
            ),
            _ => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", r.body_text()),
        }
    }
}

/// serde's own sentence ("unknown field `x`, expected … at line 1 column 9"), without axum's prefix.
fn source_text(r: &JsonRejection) -> String {
    let mut err: &dyn std::error::Error = r;
    while let Some(source) = err.source() {
        err = source;
    }
    err.to_string()
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        let text = r.body_text();
        let text = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("bad query parameters: {text}"))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message, "details": self.details } });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
