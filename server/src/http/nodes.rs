//! Nodes of the swarm: unidentified, public (in a pool) or private (one user's).

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use switchyard_core::{
    managers::NodeAssignment,
    model::{Node, NodeKind},
};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    extract::{AuthUser, Json, Path, Query},
    ApiResult, ErrorBody, RevisionQuery,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_nodes)).routes(routes!(get_node, forget_node)).routes(routes!(assign_node))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NodeListQuery {
    /// Only nodes of this kind.
    kind: Option<NodeKind>,
    /// Only nodes whose name or hostname contains this text (ignoring case).
    q: Option<String>,
}

/// The nodes you may use: public nodes and your private ones; administrators see all,
/// unidentified ones included. The list is synced with the swarm when it is a few seconds old.
#[utoipa::path(get, path = "/nodes", tag = "nodes", params(NodeListQuery), security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = [Node], headers(("X-Total-Count" = u64))),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn list_nodes(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Query(q): Query<NodeListQuery>,
) -> ApiResult<axum::response::Response> {
    let mut nodes = s.sy.nodes.list_nodes(&caller, q.kind).await?;
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let text = text.to_lowercase();
        nodes.retain(|n| n.name.to_lowercase().contains(&text) || n.hostname.to_lowercase().contains(&text));
    }
    let total = nodes.len() as u64;
    Ok(super::paged(switchyard_core::model::Page { items: nodes, total, page: 1, per_page: total }))
}

/// Read a node.
#[utoipa::path(get, path = "/nodes/{id}", tag = "nodes", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = Node),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_node(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Node>> {
    Ok(axum::Json(s.sy.nodes.get_node(&caller, &id).await?))
}

/// Assign a node in one step (administrators only): make it public (in a pool), private (to a
/// user) or unidentified again, from whatever it is now — a public node to another pool or
/// straight to a user, a private node to another user or into a pool. One revision-checked
/// change: when the node runs processes it would no longer take (their owners could not use it,
/// or their placement names another pool or node), it is refused (409) unless
/// `move_processes` is set, which moves them to other nodes their owners may use (every
/// destination is chosen first; if one has none, nothing changes).
#[utoipa::path(put, path = "/nodes/{id}/assignment", tag = "nodes", params(("id" = String, Path)), request_body = NodeAssignment,
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = Node),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Stale revision, or processes on the node that it would no longer take", body = ErrorBody),
        (status = 422, description = "Missing or unknown pool or owner", body = ErrorBody),
    ))]
pub async fn assign_node(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Json(change): Json<NodeAssignment>,
) -> ApiResult<axum::Json<Node>> {
    Ok(axum::Json(s.sy.nodes.assign(&caller, &id, change).await?))
}

/// Forget a node that has left the swarm (administrators only). Refused (409) while the swarm
/// still has it or while processes run on it or are being moved to it. Should it join again, it
/// comes back as a new unidentified node.
#[utoipa::path(delete, path = "/nodes/{id}", tag = "nodes", params(("id" = String, Path), RevisionQuery),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 204, description = "Forgotten"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Still in the swarm, has processes, or a stale revision", body = ErrorBody),
        (status = 503, description = "The swarm cannot be asked", body = ErrorBody),
    ))]
pub async fn forget_node(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Query(q): Query<RevisionQuery>,
) -> ApiResult<StatusCode> {
    s.sy.nodes.forget(&caller, &id, q.revision).await?;
    Ok(StatusCode::NO_CONTENT)
}
