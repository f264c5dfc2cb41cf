//! `GET /api/v1/backup`: a consistent copy of the whole store, for `switchyard backup`.

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use switchyard_core::{instance, Error};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{extract::AuthUser, ApiResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(backup))
}

/// A backup of the whole store (administrators only): a header line, then one JSON document per
/// line, read in one transaction of the embedded store while Switchyard runs. Restore it with
/// `switchyard restore FILE` into a new data directory. It holds password and token hashes.
#[utoipa::path(get, path = "/backup", tag = "operations", security(("session" = []), ("token" = [])),
    responses(
        (status = 200, description = "The backup, as JSON lines", content_type = "application/x-ndjson", body = String),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 503, description = "The store cannot be read", body = ErrorBody),
    ))]
pub async fn backup(State(s): State<AppState>, AuthUser(caller): AuthUser) -> ApiResult<Response> {
    caller.require_admin()?;
    let mut body = Vec::new();
    let header = instance::backup(&s.sy.store, &mut body).await?;
    tracing::info!(by = %caller.user.username, documents = header.counts.values().sum::<usize>(), "backup taken");
    let name = format!("attachment; filename=\"switchyard-{}.backup\"", header.created.format("%Y%m%dT%H%M%SZ"));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    headers
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&name).map_err(|e| Error::Internal(e.to_string()))?);
    Ok(response)
}
