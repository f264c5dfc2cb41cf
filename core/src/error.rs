//! Errors in domain terms. The HTTP layer (`server/src/http/error.rs`) maps each kind's code to
//! one status; the UI shows the message next to `field` when there is one.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum Error {
    /// The input is well-formed but not acceptable (HTTP 422).
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    /// A document (a network) with these problems, each at its path (HTTP 422, code
    /// `validation_failed`, `details.problems`).
    #[error("{}", problems_message(.0))]
    InvalidDocument(Vec<crate::model::Problem>),
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
    /// The outside world (Docker) refused the request for good: asking again cannot succeed
    /// (HTTP 422). A connector's answer; a pending change that meets it fails with the reason.
    #[error("{0}")]
    Refused(String),
    /// A dependency (store, Docker, registry) cannot be reached (HTTP 503).

    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the detail is logged, never shown (HTTP 500).
    #[error("internal error")]
    Internal(String),
}

fn problems_message(problems: &[crate::model::Problem]) -> String {
    let each: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect();
    match problems.len() {
        1 => format!("the document has a problem: {}", each[0]),
        n => format!("the document has {n} problems: {}", each.join("; ")),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid { field: Some(field.to_string()), message: message.into() }
    }

    /// A stable, machine-readable name for the kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } | Error::InvalidDocument(_) => "validation_failed",
            Error::BadRequest(_) => "bad_request",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::StaleRevision(_) => "stale_revision",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::Forbidden(_) => "forbidden",
            Error::Throttled { .. } => "too_many_attempts",
            Error::Refused(_) => "refused",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}
