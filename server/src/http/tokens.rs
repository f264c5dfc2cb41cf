//! API tokens of the calling user: created (the secret shown once), listed, revoked.

use axum::{extract::State, http::StatusCode, response::Response};
use serde::Deserialize;
use switchyard_core::model::{ApiToken, NewApiToken};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    created,
    extract::{AuthUser, Json, Path},
    ApiResult, ErrorBody,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_tokens, create_token)).routes(routes!(revoke_token))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is for, e.g. "deploy script".
    pub name: String,
}

/// Your API tokens (never their secrets).
#[utoipa::path(get, path = "/tokens", tag = "tokens", security(("session" = []), ("token" = [])),
    responses((status = 200, body = [ApiToken]), (status = 401, body = ErrorBody)))]
pub async fn list_tokens(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
) -> ApiResult<axum::Json<Vec<ApiToken>>> {
    Ok(axum::Json(s.sy.users.list_tokens(&caller).await?))
}

/// Create an API token. The secret is in this response only; it is stored hashed.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = TokenRequest, security(("session" = []), ("token" = [])),
    responses(
        (status = 201, body = NewApiToken),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn create_token(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Json(req): Json<TokenRequest>,
) -> ApiResult<Response> {
    let token = s.sy.users.create_token(&caller, &req.name).await?;
    Ok(created(format!("/api/v1/tokens/{}", token.token.id), token))
}

/// Revoke one of your API tokens; it stops working at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn revoke_token(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.sy.users.revoke_token(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
