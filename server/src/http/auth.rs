//! Logging in and out with a session cookie.

use axum::http::StatusCode;
use serde::Deserialize;
use switchyard_core::{auth::ClientAddr, model::User, Error};
use tower_sessions::Session;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    extract::{AuthUser, Json},
    ApiResult, ErrorBody,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout)).routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Log in: checks the password and starts a session (a new session id, so a session planted
/// before login is worth nothing). Repeated failures from one address slow that address down.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = User),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 422, description = "Malformed credentials", body = ErrorBody),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = ErrorBody),
    ))]
pub async fn login(
    state: axum::extract::State<AppState>,
    axum::Extension(client): axum::Extension<ClientAddr>,
    session: Session,
    Json(c): Json<Credentials>,
) -> ApiResult<axum::Json<User>> {
    let user = state.sy.users.login(&c.username, &c.password, client.0).await?;
    state.sy.users.start_session(&session, &user).await?;
    Ok(axum::Json(user))
}

/// Log out: ends the session on the server, not only in the browser.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out (also when no one was logged in)")))]
pub async fn logout(session: Session) -> ApiResult<StatusCode> {
    session.flush().await.map_err(|e| Error::Internal(e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who am I?
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = User),
        (status = 401, description = "Not logged in", body = ErrorBody),
    ))]
pub async fn me(AuthUser(caller): AuthUser) -> axum::Json<User> {
    axum::Json(caller.user)
}
