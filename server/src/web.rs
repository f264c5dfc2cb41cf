//! The web UI: Leptos pages and server functions, the static site, and a gate that sends
//! visitors who are not logged in to the login page before any page renders.

use axum::{
    extract::{Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use switchyard_app::{auth::ssr::session_caller, shell, App};
use tower_sessions::Session;

use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(App);
    let sy = state.sy.clone();
    let options = state.leptos.clone();
    Router::new()
        .leptos_routes_with_context(
            state,
            routes,
            move || provide_context(sy.clone()),
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), require_login))
}

/// Pages other than the login page need a logged-in session; without one, go to the login page
/// and come back afterwards. Server functions answer for themselves, assets are public.
async fn require_login(State(state): State<AppState>, session: Session, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let public = path == "/login"
        || path.starts_with("/pkg/")
        || path.starts_with("/api/")
        || path == "/favicon.ico"
        || request.method() != axum::http::Method::GET;
    if public {
        return next.run(request).await;
    }
    match session_caller(&state.sy, &session).await {
        Ok(Some(_)) => next.run(request).await,
        Ok(None) => {
            let target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let login = if target == "/" { "/login".to_string() } else { format!("/login?next={}", encode(target)) };
            Redirect::to(&login).into_response()
        }
        Err(e) => crate::http::ApiError::from(e).into_response(),
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
