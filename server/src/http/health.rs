//! `/healthz`: the process is alive. `/readyz`: what `switchyard doctor` checks, passed.

use axum::{extract::State, http::StatusCode, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{doctor::Check, state::AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// Every check passed.
    pub ready: bool,
    /// `ok`, or what is wrong with the store.
    pub store: String,
    /// `ok`, or what is wrong with Docker or the swarm.
    pub docker: String,
    /// Each check of `switchyard doctor`: Docker, the swarm, networks, the registry, the anchor
    /// image, the site files, the store, the clock, free disk; a failed one with its fix.
    pub checks: Vec<Check>,
}

/// Liveness: answers 200 while the server runs.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: 200 when every check of `switchyard doctor` passes, 503 (with each check, and a fix
/// for a failed one) otherwise. Checks are made at most every 5 seconds.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let checks = s.doctor.report().await;
    let text = |names: &[&str]| {
        let failed: Vec<&str> =
            checks.iter().filter(|c| names.contains(&c.name) && !c.ok).map(|c| c.detail.as_str()).collect();
        if failed.is_empty() {
            "ok".to_string()
        } else {
            failed.join("; ")
        }
    };
    let body = Readiness {
        ready: checks.iter().all(|c| c.ok),
        store: text(&["store"]),
        docker: text(&["docker", "swarm"]),
        checks: checks.clone(),
    };
    (if body.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}
