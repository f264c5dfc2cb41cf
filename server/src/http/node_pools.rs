//! Node pools: every user sees them; administrators create, rename and delete them.

use axum::{extract::State, http::StatusCode, response::Response};
use serde::Deserialize;
use switchyard_core::{
    managers::{ListParams, NewNodePool, NodePoolUpdate},
    model::NodePool,
};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    created,
    extract::{AuthUser, Json, Path, Query},
    paged, ApiResult, ErrorBody, RevisionQuery,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_pools, create_pool)).routes(routes!(get_pool, rename_pool, delete_pool))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PoolListQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    /// `name` or `created`; prefix `-` for descending.
    sort: Option<String>,
    /// Only pools whose name contains this text.
    q: Option<String>,
}

/// List node pools.
#[utoipa::path(get, path = "/node-pools", tag = "node-pools", params(PoolListQuery), security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = [NodePool], headers(("X-Total-Count" = u64))),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn list_pools(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Query(q): Query<PoolListQuery>,
) -> ApiResult<Response> {
    let params = ListParams { page: q.page, per_page: q.per_page, sort: q.sort };
    Ok(paged(s.sy.nodes.list_pools(&caller, &params, q.q.as_deref()).await?))
}

/// Create a node pool (administrators only).
#[utoipa::path(post, path = "/node-pools", tag = "node-pools", request_body = NewNodePool, security(("session" = []), ("token" = [])),
    responses(
        (status = 201, body = NodePool),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn create_pool(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Json(new): Json<NewNodePool>,
) -> ApiResult<Response> {
    let pool = s.sy.nodes.create_pool(&caller, new).await?;
    Ok(created(format!("/api/v1/node-pools/{}", pool.id), pool))
}

/// Read a node pool.
#[utoipa::path(get, path = "/node-pools/{id}", tag = "node-pools", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = NodePool),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_pool(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<NodePool>> {
    Ok(axum::Json(s.sy.nodes.get_pool(&caller, &id).await?))
}

/// Rename a node pool (administrators only).
#[utoipa::path(patch, path = "/node-pools/{id}", tag = "node-pools", params(("id" = String, Path)), request_body = NodePoolUpdate,
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = NodePool),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Stale revision, or the name is taken", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn rename_pool(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Json(change): Json<NodePoolUpdate>,
) -> ApiResult<axum::Json<NodePool>> {
    Ok(axum::Json(s.sy.nodes.rename_pool(&caller, &id, change).await?))
}

/// Delete a node pool that no node is in (administrators only).
#[utoipa::path(delete, path = "/node-pools/{id}", tag = "node-pools", params(("id" = String, Path), RevisionQuery),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
pub async fn delete_pool(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Query(q): Query<RevisionQuery>,
) -> ApiResult<StatusCode> {
    s.sy.nodes.delete_pool(&caller, &id, q.revision).await?;
    Ok(StatusCode::NO_CONTENT)
}
