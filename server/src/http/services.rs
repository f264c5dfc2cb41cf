//! The service catalogue, read from the registry.

use axum::{
    extract::State,
    http::HeaderValue,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use switchyard_core::{managers::ListParams, model::Service};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    extract::{AuthUser, Path, Query},
    paged, ApiResult, ErrorBody,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_services)).routes(routes!(get_service)).routes(routes!(list_versions))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ServiceListQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    /// `name`, `id` or `created`; prefix `-` for descending.
    sort: Option<String>,
    /// Only services whose name or id contains this text (case-insensitive).
    q: Option<String>,
}

/// The latest version of every service in the registry. When the registry cannot be read, the
/// last known catalogue is returned with `X-Catalogue-Stale: true` and the reason in
/// `X-Catalogue-Error`.
#[utoipa::path(get, path = "/services", tag = "services", params(ServiceListQuery), security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = [Service], headers(
            ("X-Total-Count" = u64),
            ("X-Catalogue-Stale" = bool, description = "The registry could not be read; older data is shown"),
            ("X-Catalogue-Error" = String, description = "Why, when stale"),
        )),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 503, description = "The registry cannot be read and no catalogue is known yet", body = ErrorBody),
    ))]
pub async fn list_services(
    State(s): State<AppState>,
    AuthUser(_caller): AuthUser,
    Query(q): Query<ServiceListQuery>,
) -> ApiResult<Response> {
    let params = ListParams { page: q.page, per_page: q.per_page, sort: q.sort };
    let (page, status) = s.sy.services.list(&params, q.q.as_deref()).await?;
    let mut response = paged(page);
    let headers = response.headers_mut();
    headers.insert("x-catalogue-stale", HeaderValue::from_static(if status.stale { "true" } else { "false" }));
    if let Some(error) = status.error.and_then(|e| HeaderValue::from_str(&e.replace(['\r', '\n'], " ")).ok()) {
        headers.insert("x-catalogue-error", error);
    }
    Ok(response.into_response())
}

/// The latest version of one service.
#[utoipa::path(get, path = "/services/{id}", tag = "services", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = Service),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn get_service(
    State(s): State<AppState>,
    AuthUser(_caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Service>> {
    Ok(axum::Json(s.sy.services.get(&id, None).await?))
}

/// Every version of one service, newest first.
#[utoipa::path(get, path = "/services/{id}/versions", tag = "services", params(("id" = String, Path)),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = [Service]),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn list_versions(
    State(s): State<AppState>,
    AuthUser(_caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<Service>>> {
    Ok(axum::Json(s.sy.services.versions(&id).await?))
}
