//! Pending changes: their owners (and administrators) watch them.

use axum::{extract::State, response::Response};
use serde::Deserialize;
use switchyard_core::{
    managers::{ListParams, PendingChangeFilter},
    model::{ChangeKind, PendingChange, PendingChangeState},
};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    extract::{AuthUser, Path, Query},
    paged, ApiResult, ErrorBody,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_changes))
        .routes(routes!(get_change))
        .routes(routes!(retry_change))
        .routes(routes!(cancel_change))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangeListQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    /// `created`, `run_at`, `state` or `kind`; prefix `-` for descending.
    sort: Option<String>,
    /// Only the changes in this state.
    state: Option<PendingChangeState>,
    /// Only the changes of this kind.
    kind: Option<ChangeKind>,
    /// Part of the description (any case).
    search: Option<String>,
}

/// Your pending changes; administrators see everyone's.
#[utoipa::path(get, path = "/pending-changes", tag = "pending-changes", params(ChangeListQuery),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = [PendingChange], headers(("X-Total-Count" = u64))),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn list_changes(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Query(q): Query<ChangeListQuery>,
) -> ApiResult<Response> {
    let params = ListParams { page: q.page, per_page: q.per_page, sort: q.sort };
    let filter = PendingChangeFilter { state: q.state, kind: q.kind, search: q.search };
    Ok(paged(s.sy.pending_changes.list_filtered(&caller, &params, &filter).await?))
}

/// Read one pending change.
#[utoipa::path(get, path = "/pending-changes/{id}", tag = "pending-changes", params(("id" = String, Path)),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = PendingChange),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_change(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<PendingChange>> {
    Ok(axum::Json(s.sy.pending_changes.get(&caller, &id).await?))
}

/// Try a failed (or retrying) change again now, with a fresh set of attempts.
#[utoipa::path(post, path = "/pending-changes/{id}/retry", tag = "pending-changes", params(("id" = String, Path)),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = PendingChange),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Not failed or retrying", body = ErrorBody),
    ))]
pub async fn retry_change(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<PendingChange>> {
    Ok(axum::Json(s.sy.pending_changes.retry(&caller, &id).await?))
}

/// Cancel a change that is not running now (waiting, waiting to retry, or failed).
#[utoipa::path(post, path = "/pending-changes/{id}/cancel", tag = "pending-changes", params(("id" = String, Path)),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = PendingChange),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Running now, or already finished", body = ErrorBody),
    ))]
pub async fn cancel_change(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<PendingChange>> {
    Ok(axum::Json(s.sy.pending_changes.cancel(&caller, &id).await?))
}
