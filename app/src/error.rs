//! The error every server function returns: what went wrong, for people, and which form field
//! it is about, so the form can show it there.

use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
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
