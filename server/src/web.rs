//! The web UI: Leptos pages and server functions, the static site, and a gate that sends
//! visitors who are not logged in to the login page before any page renders.

use axum::{
    extract::{Request, State},
    http::{header::CACHE_CONTROL, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use switchyard_app::{error::StatusOf, shell, App};
use tower_http::services::ServeDir;
use tower_sessions::Session;

use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(App);
    let sy = state.sy.clone();
    let options = state.leptos.clone();
    // The site's files are served here rather than by leptos_axum's fallback, which drops the
    // request's If-Modified-Since and so answers every revalidation with the whole file. Brotli
    // files made at build time (`--precompress`) go to browsers that take them; the build's .gz
    // files are larger than what CompressionLayer makes on the fly, so gzip stays on the fly.
    let pkg = ServeDir::new(format!("{}/{}", options.site_root, options.site_pkg_dir));
    let hashed = options.hash_files;
    Router::new()
        .nest_service(&format!("/{}", options.site_pkg_dir), pkg.precompressed_br())
        .leptos_routes_with_context(state, routes, page_context(sy.clone()), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(page_context(sy), shell))
        .layer(middleware::from_fn_with_state(state.clone(), require_login))
        .layer(middleware::from_fn(move |request, next| site_file_caching(hashed, request, next)))
}

/// What every page and server function finds in its context: the managers, the status table
/// (a server function's error answers with its code's status, as the REST API does), and the
/// nonce of this response's Content-Security-Policy (made by `guard::security_headers`) for
/// Leptos's inline scripts.
fn page_context(sy: switchyard_core::managers::Switchyard) -> impl Fn() + Clone + Send + 'static {
    move || {
        switchyard_app::auth::ssr::provide_switchyard(&sy);
        provide_context(StatusOf(crate::http::status_of));
        let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<crate::guard::CspNonce>().cloned());
        if let Some(nonce) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0));
        }
    }
}

/// How long browsers keep the site's files (`/pkg/`). The editors' split modules only work with
/// the main module of their own build. In a hashed build (hash-files) every name changes with its
/// content, so a browser may keep a file for good and never needs to ask again. Otherwise (and for
/// wasm-bindgen's snippets, which keep their names) the browser may keep a file but asks each time
/// whether it changed: ServeDir answers a 304 with no body when it did not.
async fn site_file_caching(hashed: bool, request: Request, next: Next) -> Response {
    let policy = match request.uri().path().strip_prefix("/pkg/") {
        Some(file) if hashed && !file.starts_with("snippets/") => Some("public, max-age=31536000, immutable"),
        Some(_) => Some("no-cache"),
        None => None,
    };
    let mut response = next.run(request).await;
    let kept = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    if let Some(policy) = policy.filter(|_| kept) {
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
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
    match state.sy.users.session_caller(&session).await {
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
