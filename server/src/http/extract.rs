//! Extractors that do cross-cutting work once: JSON, query and path parsing with our error
//! bodies, and the authenticated caller.

use axum::{
    extract::{FromRequest, FromRequestParts},
    http::{header, request::Parts, StatusCode},
};
use switchyard_core::{managers::Caller, Error};
use tower_sessions::Session;

use super::error::ApiError;
use crate::state::AppState;

/// `axum::Json` with our error body on rejection.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` with our error body on rejection.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` with our error body on rejection.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The logged-in caller: from `Authorization: Bearer <API token>`, else from the session cookie.
/// Either way the user is read afresh from the store.
pub struct AuthUser(pub Caller);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let value = value.to_str().unwrap_or("");
            // The scheme is case-insensitive (RFC 9110 §11.1).
            let secret = value
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, secret)| secret);
            let Some(secret) = secret else {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "the Authorization header must be 'Bearer <API token>'",
                ));
            };
            return Ok(AuthUser(state.sy.users.authenticate_token(secret.trim()).await?));
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::from(Error::Internal("session layer missing".into())))?;
        match state.sy.users.session_caller(&session).await? {
            Some(caller) => Ok(AuthUser(caller)),
            None => Err(Error::Unauthenticated(
                "log in first (POST /api/v1/auth/login), or send an API token as 'Authorization: Bearer <token>'"
                    .into(),
            )
            .into()),
        }
    }
}
