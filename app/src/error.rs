//! The error every server function returns: what went wrong, for people, and which form field
//! it is about, so the form can show it there.

use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
    Encodes,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppError {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl AppError {
    pub fn is_unauthenticated(&self) -> bool {
        self.code == "unauthenticated"
    }
    /// The message if it is about `field`.
    pub fn for_field(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        // Arguments that do not decode are the caller's mistake (a 400 from the server); the
        // rest are failures to reach or to answer.
        let code = match e {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => "bad_request",
            _ => "request_failed",
        };
        AppError { code: code.into(), message: e.to_string(), field: None }
    }

    /// The body of a server function's error response. On the server this runs only when the
    /// error becomes the response, so it is also where the response gets the status of the
    /// error's code (from the server's table, [`StatusOf`]) instead of server_fn's 500 for all.
    /// A plain form post (before hydration) is answered with a redirect back, left as it is.
    fn ser(&self) -> server_fn::Bytes {
        #[cfg(feature = "ssr")]
        self.set_response_status();
        <JsonEncoding as Encodes<Self>>::encode(self).unwrap_or_else(|e| {
            let fallback = AppError { code: "internal".into(), message: e.to_string(), field: None };
            <JsonEncoding as Encodes<Self>>::encode(&fallback).unwrap_or_default()
        })
    }
}

/// The HTTP status of an error code, as the server's one table has it; the server gives it to
/// every server function as context.
#[cfg(feature = "ssr")]
#[derive(Clone, Copy)]
pub struct StatusOf(pub fn(&str) -> http::StatusCode);

#[cfg(feature = "ssr")]
impl AppError {
    fn set_response_status(&self) {
        use leptos::prelude::use_context;
        // Only the answer of a server function's call from the page (a page's own render, or
        // a plain form post answered with a redirect back, keeps its status).
        let Some(parts) = use_context::<http::request::Parts>() else { return };
        let accepts_html = parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        if parts.method != http::Method::POST || !parts.uri.path().starts_with("/api/") || accepts_html {
            return;
        }
        if let (Some(StatusOf(status_of)), Some(response)) =
            (use_context::<StatusOf>(), use_context::<leptos_axum::ResponseOptions>())
        {
            response.set_status(status_of(&self.code));
        }
    }
}

impl From<switchyard_core::Error> for AppError {
    fn from(e: switchyard_core::Error) -> Self {
        #[cfg(feature = "ssr")]
        if let switchyard_core::Error::Internal(detail) = &e {
            leptos::logging::error!("internal error: {detail}");
        }
        AppError { code: e.code().into(), message: e.to_string(), field: e.field().map(str::to_string) }
    }
}
