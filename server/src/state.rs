//! What every request handler reaches: the managers and the Leptos options.

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use switchyard_core::managers::Switchyard;

#[derive(Clone)]
pub struct AppState {
    pub sy: Switchyard,
    pub leptos: LeptosOptions,
    /// How often an open event stream checks its caller again (and sends a keep-alive).
    pub event_recheck: std::time::Duration,
    /// The bearer token Prometheus may read `/metrics` with, if one is configured.
    pub metrics_token: Option<std::sync::Arc<str>>,
    /// What `/readyz` checks (the same as `switchyard doctor`).
    pub doctor: std::sync::Arc<crate::doctor::Doctor>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
