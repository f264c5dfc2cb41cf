//! Webhook subscriptions for alerts: created (the signing secret shown once), listed, read,
//! deleted, and their deliveries.

use axum::{extract::State, http::StatusCode, response::Response};
use switchyard_core::model::{CreatedWebhook, NewWebhook, PendingChange, Webhook};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    created,
    extract::{AuthUser, Json, Path},
    ApiResult, ErrorBody,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, delete_webhook))
        .routes(routes!(webhook_deliveries))
}

/// Your webhook subscriptions (administrators: everyone's)
#[utoipa::path(get, path = "/webhooks", tag = "alerts", security(("session" = []), ("token" = [])),
    responses((status = 200, body = [Webhook]), (status = 401, body = ErrorBody)))]
async fn list_webhooks(State(s): State<AppState>, AuthUser(caller): AuthUser) -> ApiResult<axum::Json<Vec<Webhook>>> {
    Ok(axum::Json(s.sy.alerts.list(&caller).await?))
}

/// Subscribe a URL to alerts
///
/// Alerts about your processes, connections, pending changes and private nodes (with `global`,
/// administrators: everyone's, and public nodes') are POSTed to it as JSON, signed with
/// `X-Switchyard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the
/// secret in this answer (shown only here). A delivery that is not answered with a 2xx within
/// 10 s is tried again with back-off, up to 8 times; each is a pending change.
#[utoipa::path(post, path = "/webhooks", tag = "alerts", request_body = NewWebhook, security(("session" = []), ("token" = [])),
    responses((status = 201, body = CreatedWebhook), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_webhook(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Json(new): Json<NewWebhook>,
) -> ApiResult<Response> {
    let answer = s.sy.alerts.create(&caller, new).await?;
    Ok(created(format!("/api/v1/webhooks/{}", answer.webhook.id), answer))
}

/// One webhook subscription, with how its last delivery went
#[utoipa::path(get, path = "/webhooks/{id}", tag = "alerts", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses((status = 200, body = Webhook), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_webhook(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Webhook>> {
    Ok(axum::Json(s.sy.alerts.get(&caller, &id).await?))
}

/// Unsubscribe (deliveries still waiting are cancelled)
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "alerts", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_webhook(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.sy.alerts.delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A subscription's deliveries, newest first (pending changes of kind `deliver_webhook`)
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "alerts", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses((status = 200, body = [PendingChange]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn webhook_deliveries(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<PendingChange>>> {
    Ok(axum::Json(s.sy.alerts.deliveries(&caller, &id).await?))
}
