//! `/healthz`: the process is alive. `/readyz`: the store and Docker answer.

use axum::{extract::State, http::StatusCode, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub ready: bool,
    /// `ok`, or what is wrong with the store.
    pub store: String,
    /// `ok`, or what is wrong with Docker.
    pub docker: String,
}

/// Liveness: answers 200 while the server runs.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: 200 when the store and the Docker swarm manager answer, 503 (with what is wrong) otherwise.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let (store, docker) = tokio::join!(s.sy.store.ping(), s.sy.docker.ready());
    let text = |r: Result<(), switchyard_core::Error>| r.map(|_| "ok".to_string()).unwrap_or_else(|e| e.to_string());
    let ready = store.is_ok() && docker.is_ok();
    let body = Readiness { ready, store: text(store), docker: text(docker) };
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}
