//! `/metrics` for Prometheus, and the layer that counts and times every HTTP request by route.
//!
//! Who may read it: a request with `Authorization: Bearer <SWITCHYARD_METRICS_TOKEN>` (what
//! Prometheus is given), or an administrator (session or API token). Everyone else is refused:
//! the counts are installation-wide.

use std::time::Instant;

use axum::{
    extract::{FromRequestParts, MatchedPath, Request, State},
    http::{header, request::Parts, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use switchyard_core::{auth::constant_time_eq, Error};

use super::{error::ApiResult, extract::AuthUser};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// The text exposition format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(State(state): State<AppState>, parts: Parts) -> ApiResult<Response> {
    allowed(&state, parts).await?;
    let text = state.sy.metrics.render(&state.sy.store, state.sy.events.subscribers()).await?;
    let mut response = text.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(response)
}

async fn allowed(state: &AppState, mut parts: Parts) -> Result<(), super::ApiError> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim().to_string());
    if let (Some(configured), Some(given)) = (&state.metrics_token, &bearer) {
        if constant_time_eq(configured.as_bytes(), given.as_bytes()) {
            return Ok(());
        }
    }
    let AuthUser(caller) = AuthUser::from_request_parts(&mut parts, state).await.map_err(|e| {
        if bearer.is_some() {
            super::ApiError::from(Error::Unauthenticated(
                "the bearer token is neither SWITCHYARD_METRICS_TOKEN nor an administrator's API token".into(),
            ))
        } else {
            e
        }
    })?;
    caller.require_admin().map_err(|_| {
        Error::Forbidden("only administrators (or SWITCHYARD_METRICS_TOKEN) may read the metrics".into())
    })?;
    Ok(())
}

/// Count and time each request under the route it matched (`/api/v1/processes/{id}`, not the id
/// itself, so the number of series stays small).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let response = next.run(request).await;
    state.sy.metrics.http_request(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}
