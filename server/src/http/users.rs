//! User accounts. Administrators list, create, edit and delete users and reset passwords;
//! everyone may read and edit their own account (email and password, never the admin flag).

use axum::{extract::State, http::StatusCode, response::Response};
use serde::Deserialize;
use switchyard_core::{
    managers::{ListParams, NewUser, UserUpdate},
    model::User,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    created,
    extract::{AuthUser, Json, Path, Query},
    paged, ApiResult, ErrorBody, RevisionQuery,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(set_password))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Page number, from 1.
    page: Option<u64>,
    /// Items per page, 1 to 1000 (default 50).
    per_page: Option<u64>,
    /// `username`, `email`, `admin`, `created` or `updated`; prefix `-` for descending.
    sort: Option<String>,
    /// Only usernames containing this text (case-insensitive).
    q: Option<String>,
    /// Only administrators (`true`) or only non-administrators (`false`).
    admin: Option<bool>,
}

/// List users (administrators only).
#[utoipa::path(get, path = "/users", tag = "users", params(UserListQuery), security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = [User], headers(("X-Total-Count" = u64, description = "Users matching the filter"))),
        (status = 400, description = "Bad paging, sorting or filter", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    ))]
pub async fn list_users(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Query(q): Query<UserListQuery>,
) -> ApiResult<Response> {
    let params = ListParams { page: q.page, per_page: q.per_page, sort: q.sort };
    Ok(paged(s.sy.users.list(&caller, &params, q.q.as_deref(), q.admin).await?))
}

/// Create a user (administrators only).
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser, security(("session" = []), ("token" = [])),
    responses(
        (status = 201, body = User, headers(("Location" = String))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "The username is taken", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "Invalid username, password or email; unknown or mistyped fields", body = ErrorBody),
    ))]
pub async fn create_user(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Json(new): Json<NewUser>,
) -> ApiResult<Response> {
    let user = s.sy.users.create(&caller, new).await?;
    Ok(created(format!("/api/v1/users/{}", user.id), user))
}

/// Read a user: your own account, or any as an administrator.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = User),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_user(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(s.sy.users.get(&caller, &id).await?))
}

/// Change a user's email, or (administrators only) their administrator rights. Name the
/// revision you read: a change based on an older one is refused with 409 `stale_revision`.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UserUpdate,
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = User),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not yours, or a non-administrator touching `admin`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Stale revision, or the last administrator would be demoted", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn update_user(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Json(change): Json<UserUpdate>,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(s.sy.users.update(&caller, &id, change).await?))
}

/// Delete a user with their sessions and API tokens (administrators only; not yourself, not
/// the last administrator). Refused with 409 while they own processes, private nodes or
/// connections, which the message lists.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = String, Path), RevisionQuery),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
pub async fn delete_user(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Query(q): Query<RevisionQuery>,
) -> ApiResult<StatusCode> {
    s.sy.users.delete(&caller, &id, q.revision).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// Required when changing your own password.
    #[serde(default)]
    pub current_password: Option<String>,
    pub new_password: String,
}

/// Set a password: your own (give the current one), or reset anyone's as an administrator.
/// Either way the user's API tokens are revoked and their sessions end (all but the one that
/// changed its own password).
#[utoipa::path(put, path = "/users/{id}/password", tag = "users", params(("id" = String, Path)), request_body = PasswordChange,
    security(("session" = []), ("token" = [])),
    responses(
        (status = 204, description = "Changed"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "Too short, or the current password is wrong", body = ErrorBody),
    ))]
pub async fn set_password(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    session: tower_sessions::Session,
    Json(change): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    let current = session.id().map(|i| i.to_string());
    s.sy.users
        .set_password(&caller, &id, change.current_password.as_deref(), &change.new_password, current.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
