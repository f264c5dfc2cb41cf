//! Connections: links between an interface of one process and a fitting interface of another.

use axum::{extract::State, http::StatusCode, response::Response};
use serde::Deserialize;
use switchyard_core::{
    managers::{ConnectionFilter, ListParams},
    model::{Candidates, Connection, ConnectionState, NewConnection, PendingChange},
};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    created,
    extract::{AuthUser, Json, Path, Query},
    paged, ApiResult, ErrorBody,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_connections, create_connection))
        .routes(routes!(get_connection, terminate_connection))
        .routes(routes!(connection_changes))
        .routes(routes!(interface_candidates))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConnectionListQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    /// `created`, `updated` or `state`; prefix `-` for descending.
    sort: Option<String>,
    /// Administrators: only this user's connections.
    user_id: Option<String>,
    /// Only the connections of this process.
    process_id: Option<String>,
    state: Option<ConnectionState>,
    /// Also list connections terminated in the last hour (default false).
    include_terminated: Option<bool>,
}

/// Your connections (administrators: everyone's), without the terminated ones unless asked.
#[utoipa::path(get, path = "/connections", tag = "connections", params(ConnectionListQuery),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = [Connection], headers(("X-Total-Count" = u64))),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub async fn list_connections(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Query(q): Query<ConnectionListQuery>,
) -> ApiResult<Response> {
    let params = ListParams { page: q.page, per_page: q.per_page, sort: q.sort };
    let filter = ConnectionFilter {
        user_id: q.user_id,
        process_id: q.process_id,
        state: q.state,
        include_terminated: q.include_terminated.unwrap_or(false),
    };
    Ok(paged(s.sy.connections.list(&caller, &params, &filter).await?))
}

/// Connect an interface of one process to an interface of another of the same owner. Refused
/// with the precise reason when they do not fit (422: no version pair mirrors, a process
/// joined to itself, different owners, an unknown process or interface) or when it collides
/// with what exists (409: already connected, an interface that allows one connection has one,
/// a process being deleted). Saved STARTING; CONNECTED once both processes accepted it.
#[utoipa::path(post, path = "/connections", tag = "connections", request_body = NewConnection,
    security(("session" = []), ("token" = [])),
    responses(
        (status = 201, body = Connection),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn create_connection(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Json(new): Json<NewConnection>,
) -> ApiResult<Response> {
    let c = s.sy.connections.create(&caller, new).await?;
    Ok(created(format!("/api/v1/connections/{}", c.id), c))
}

/// Read a connection.
#[utoipa::path(get, path = "/connections/{id}", tag = "connections", params(("id" = String, Path)),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = Connection),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_connection(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Connection>> {
    Ok(axum::Json(s.sy.connections.get(&caller, &id).await?))
}

/// Terminate a connection: both processes are told (a process that is gone counts as told),
/// then it is TERMINATED. Answers 202 with `terminating` set.
#[utoipa::path(delete, path = "/connections/{id}", tag = "connections", params(("id" = String, Path)),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 202, body = Connection),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn terminate_connection(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<Connection>)> {
    Ok((StatusCode::ACCEPTED, axum::Json(s.sy.connections.terminate(&caller, &id).await?)))
}

/// The pending changes of a connection, newest first.
#[utoipa::path(get, path = "/connections/{id}/pending-changes", tag = "connections", params(("id" = String, Path)),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = [PendingChange]),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn connection_changes(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<PendingChange>>> {
    Ok(axum::Json(s.sy.connections.changes(&caller, &id).await?))
}

/// What could connect to this interface of this process: the owner's other processes'
/// interfaces and the catalogue's services' interfaces, each with `fits` and, when it does not
/// fit, the refusal with its reason.
#[utoipa::path(get, path = "/processes/{id}/interfaces/{interface}/candidates", tag = "connections",
    params(("id" = String, Path), ("interface" = String, Path, description = "The interface id, URL-encoded (it contains a '/')")),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = Candidates),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn interface_candidates(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path((id, interface)): Path<(String, String)>,
) -> ApiResult<axum::Json<Candidates>> {
    Ok(axum::Json(s.sy.connections.candidates(&caller, &id, &interface).await?))
}
