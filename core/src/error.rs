//! Errors in domain terms. The HTTP layer maps each kind to one status code; the UI shows the
//! message next to `field` when there is one.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum Error {
    /// The input is well-formed but not acceptable (HTTP 422).
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    /// The request itself is malformed (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// The change collides with the current state, e.g. a duplicate name (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The record changed since the caller read it (HTTP 409, code `stale_revision`).
    #[error("{0}")]
    StaleRevision(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many failed logins from your address; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// A dependency (store, Docker, registry) cannot be reached (HTTP 503).
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the detail is logged, never shown (HTTP 500).
    #[error("internal error")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The HTTP status for an error code: one table for the REST API and the UI's server functions,
/// whose error bodies carry only the code. Codes not listed (and `internal`) are a 500.
pub fn http_status_of(code: &str) -> u16 {
    match code {
        "bad_request" => 400,
        "unauthenticated" => 401,
        "forbidden" => 403,
        "not_found" => 404,
        "conflict" | "stale_revision" => 409,
        "validation_failed" => 422,
        "too_many_attempts" => 429,
        "unavailable" => 503,
        _ => 500,
    }
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid { field: Some(field.to_string()), message: message.into() }
    }

    /// A stable, machine-readable name for the kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "validation_failed",
            Error::BadRequest(_) => "bad_request",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::StaleRevision(_) => "stale_revision",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::Forbidden(_) => "forbidden",
            Error::Throttled { .. } => "too_many_attempts",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// The HTTP status that answers this error.
    pub fn http_status(&self) -> u16 {
        http_status_of(self.code())
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}
