//! What every request passes through before it reaches the API or the UI, and what every response
//! carries back:
//!
//! * [`client_addr`]: the address a request comes from (the peer, or what a trusted proxy says).
//! * [`processes_reach_only_the_trigger`]: a process on a user's network (when Switchyard's own
//!   container is on those networks) gets the config trigger and nothing else.
//! * [`same_origin_only`]: a state change made by a browser must come from a page of Switchyard
//!   itself. SameSite=Lax cookies are also sent by pages of the same *site* (another port of the
//!   same host, a sibling subdomain), so the cookie alone proves nothing: the browser's
//!   `Sec-Fetch-Site` (or, from older browsers, `Origin`) must name this origin. Requests with an
//!   `Authorization` header carry their own credentials and are not a browser's ambient ones.
//! * [`server_fn_bodies`]: server functions take only the encodings they are written for, and a
//!   body over the limit is a 413, as in the REST API.
//! * [`run_to_end`]: a request that may change something runs to its end even when its client
//!   hangs up, so that no request is left half done (its first write made, its second not).
//! * [`security_headers`]: a Content-Security-Policy (scripts only from this origin or with this
//!   response's nonce, which Leptos puts on its inline scripts; `wasm-unsafe-eval` for the
//!   WebAssembly module), no framing, `nosniff`, a same-origin referrer, and `no-store` on
//!   everything that is not a file of the site.

use std::{net::IpAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use switchyard_core::auth::ClientAddr;

use crate::http::ApiError;

/// Settings of the guards.
#[derive(Clone, Debug, Default)]
pub struct GuardConfig {
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// `scheme://host[:port]` people use, when configured; else the request's Host is the origin.
    pub public_origin: Option<String>,
    pub max_body_bytes: usize,
}

/// Whether an address a connection arrived at is Switchyard's own on a user's network (see
/// [`processes_reach_only_the_trigger`]).
#[derive(Clone)]
pub struct ProcessSide(pub Arc<dyn Fn(IpAddr) -> bool + Send + Sync>);

/// Put the request's [`ClientAddr`] on it.
pub async fn client_addr(State(config): State<Arc<GuardConfig>>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let client = if config.trusted_proxies.contains(&peer) {
        forwarded_client(request.headers(), &config.trusted_proxies).unwrap_or(peer)
    } else {
        peer
    };
    request.extensions_mut().insert(ClientAddr(client));
    next.run(request).await
}

/// When Switchyard's own container is on users' networks, processes reach the whole listener as
/// `orchestrator:8080`; the original's processes only ever call the config trigger there. So a
/// connection that arrived at one of the container's addresses on users' networks gets that route
/// alone (403 for anything else): a process cannot try passwords or reach the UI. Told by where
/// the connection arrived, not by the peer's address, so no setting (the network pool, a proxy's
/// headers) can widen it. (On the host, processes reach only the trigger listener in the anchor's
/// namespace anyway.)
pub async fn processes_reach_only_the_trigger(
    State(side): State<ProcessSide>,
    request: Request,
    next: Next,
) -> Response {
    let local = request.extensions().get::<crate::serve::LocalAddr>().map(|l| l.0.ip());
    if local.is_some_and(|ip| (side.0)(ip)) && !request.uri().path().starts_with("/process/trigger/") {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "from_a_process_network",
            "this connection came in on a network of processes, which reach only the config trigger \
             (PUT /process/trigger/{id}); use Switchyard's published port",
        )
        .into_response();
    }
    next.run(request).await
}

/// The rightmost address of `X-Forwarded-For` that is not one of the trusted proxies.
fn forwarded_client(headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let list: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    list.into_iter().rev().find(|ip| !trusted.contains(ip))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A request that may change something (any method but GET, HEAD and OPTIONS) runs in a task of
/// its own, to its end, whatever becomes of its client. Otherwise a client that hangs up (a
/// process's config trigger timing out under load, a script stopped with Ctrl-C) drops the
/// handler at its next `.await`: between two writes, that leaves the first made and the second
/// not (the trigger sets a process INITIALIZING, then submits the change that configures it).
/// Reads stay cancellable: an event stream or a page nobody waits for stops there. A handler
/// that panics answers 500, as an uncaught panic would have ended the connection.
pub async fn run_to_end(request: Request, next: Next) -> Response {
    use tracing::Instrument;
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    match tokio::spawn(next.run(request).in_current_span()).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(%method, %path, error = %e, "a request's handler failed");
            ApiError::from(switchyard_core::Error::Internal(format!("{method} {path} failed: {e}"))).into_response()
        }
    }
}

/// Refuse a browser's state change that does not come from a page of this origin.
pub async fn same_origin_only(State(config): State<Arc<GuardConfig>>, request: Request, next: Next) -> Response {
    if is_safe(request.method()) || request.headers().contains_key(header::AUTHORIZATION) {
        return next.run(request).await;
    }
    match cross_origin(request.headers(), config.public_origin.as_deref()) {
        None => next.run(request).await,
        Some(why) => {
            tracing::warn!(path = %request.uri().path(), why = %why, "refused a cross-origin request");
            ApiError::new(
                StatusCode::FORBIDDEN,
                "cross_origin",
                format!("refused: {why}; a change can only be made from Switchyard's own pages (or with an API token)"),
            )
            .into_response()
        }
    }
}

/// Why a request is not from this origin, or `None` when it is (or is not from a browser).
fn cross_origin(headers: &HeaderMap, public_origin: Option<&str>) -> Option<String> {
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("?").to_string());
    if let Some(site) = text("sec-fetch-site") {
        return (site != "same-origin").then(|| format!("the request came from a {site} page"));
    }
    let origin = text("origin")?;
    let expected = match public_origin {
        Some(o) => o.trim_end_matches('/').to_string(),
        None => {
            let host = text("host").unwrap_or_default();
            // The scheme is not known behind a proxy: compare host and port.
            return match origin.split_once("://") {
                Some((_, authority)) if authority == host => None,
                _ => Some(format!("the request came from {origin}")),
            };
        }
    };
    (origin != expected).then(|| format!("the request came from {origin}"))
}

/// Server functions (`/api/…` outside `/api/v1/`): only their encodings, only bodies within the
/// limit.
pub async fn server_fn_bodies(State(config): State<Arc<GuardConfig>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let server_fn = request.method() == Method::POST && path.starts_with("/api/") && !path.starts_with("/api/v1/");
    if !server_fn {
        return next.run(request).await;
    }
    let kind = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    if kind != "application/x-www-form-urlencoded" && kind != "application/json" {
        return server_fn_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the arguments as application/x-www-form-urlencoded or application/json",
        );
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, config.max_body_bytes).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(_) => server_fn_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than this server accepts",
        ),
    }
}

/// An error in the form the UI's server-function client decodes.
fn server_fn_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": message, "field": null });
    (status, axum::Json(body)).into_response()
}

/// The nonce of one response's inline scripts, for Leptos and the CSP.
#[derive(Clone, Debug)]
pub struct CspNonce(pub Arc<str>);

/// Security headers on every response.
pub async fn security_headers(mut request: Request, next: Next) -> Response {
    let nonce = {
        use base64::Engine as _;
        let bytes: [u8; 16] = rand::random();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    request.extensions_mut().insert(CspNonce(nonce.clone().into()));
    let docs = request.uri().path().starts_with("/api/v1/docs");
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let csp = if docs {
        // The API's browsable page (Swagger UI) styles itself inline.
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'".to_string()
    } else if html {
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )
    } else {
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'".to_string()
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_is_told_apart() {
        assert_eq!(cross_origin(&headers(&[("sec-fetch-site", "same-origin")]), None), None);
        assert!(cross_origin(&headers(&[("sec-fetch-site", "same-site")]), None).is_some());
        assert!(cross_origin(&headers(&[("sec-fetch-site", "cross-site")]), None).is_some());
        // No browser headers at all: a script with a cookie jar, not a page.
        assert_eq!(cross_origin(&headers(&[("host", "127.0.0.1:8080")]), None), None);
        let o = |origin| headers(&[("host", "127.0.0.1:8080"), ("origin", origin)]);
        assert_eq!(cross_origin(&o("http://127.0.0.1:8080"), None), None);
        assert!(cross_origin(&o("http://127.0.0.1:9090"), None).is_some());
        assert!(cross_origin(&o("null"), None).is_some());
        assert_eq!(cross_origin(&o("https://sy.example"), Some("https://sy.example/")), None);
        assert!(cross_origin(&o("http://127.0.0.1:8080"), Some("https://sy.example")).is_some());
    }

    #[test]
    fn forwarded_for_is_read_from_the_right() {
        let trusted: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 5.6.7.8, 10.0.0.1")]);
        assert_eq!(forwarded_client(&h, &trusted), Some("5.6.7.8".parse().unwrap()));
    }

    /// A change whose client hangs up mid-way still makes its second write; a read whose client
    /// hangs up stops.
    #[tokio::test]
    async fn a_change_runs_to_its_end_when_its_client_hangs_up_and_a_read_does_not() {
        use axum::{routing::any, Router};
        use tokio::sync::{mpsc, Notify};
        use tower::ServiceExt;
        // The handler makes its "first write" (says it started), waits to be let on, and makes
        // its "second" (says it finished).
        let (started_tx, mut started) = mpsc::unbounded_channel::<()>();
        let (finished_tx, mut finished) = mpsc::unbounded_channel::<()>();
        let go_on = Arc::new(Notify::new());
        let handler = {
            let go_on = go_on.clone();
            move || {
                let (started_tx, finished_tx, go_on) = (started_tx.clone(), finished_tx.clone(), go_on.clone());
                async move {
                    started_tx.send(()).unwrap();
                    go_on.notified().await;
                    finished_tx.send(()).unwrap();
                    "done"
                }
            }
        };
        let app = Router::new().route("/x", any(handler)).layer(axum::middleware::from_fn(run_to_end));
        // GET last: the permit its notify leaves behind is for nobody.
        for (method, runs_on) in
            [(Method::POST, true), (Method::PUT, true), (Method::DELETE, true), (Method::GET, false)]
        {
            let request = Request::builder().method(method.clone()).uri("/x").body(Body::empty()).unwrap();
            let mut call = Box::pin(app.clone().oneshot(request));
            // Drive the request until its handler has started, then hang up (drop the call).
            tokio::select! {
                _ = &mut call => panic!("{method}: answered before it was let on"),
                _ = started.recv() => {}
            }
            drop(call);
            go_on.notify_one();
            if runs_on {
                let made = tokio::time::timeout(std::time::Duration::from_secs(5), finished.recv()).await;
                assert!(made.is_ok(), "{method}: the second write was not made after the client hung up");
            } else {
                // A handler still alive would be woken by the notify and finish within a few
                // turns of this (single-threaded) runtime.
                for _ in 0..20 {
                    tokio::task::yield_now().await;
                }
                assert!(finished.try_recv().is_err(), "{method}: a read ran on after its client hung up");
            }
        }
    }

    #[tokio::test]
    async fn processes_reach_only_the_trigger_route() {
        use axum::{extract::ConnectInfo, Router};
        use tower::ServiceExt;
        // Switchyard's own address on a user's network (IPv4-mapped arrivals count too).
        let side = ProcessSide(Arc::new(|ip: IpAddr| ip.to_canonical() == IpAddr::from([10, 240, 16, 2])));
        let app = Router::new()
            .fallback(|| async { "reached" })
            .layer(axum::middleware::from_fn_with_state(side, processes_reach_only_the_trigger));
        let status = |local: &str, method: Method, path: &str| {
            let app = app.clone();
            let local: std::net::SocketAddr = local.parse().unwrap();
            let path = path.to_string();
            async move {
                let mut request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
                request.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::from(([10, 240, 16, 9], 40000))));
                request.extensions_mut().insert(crate::serve::LocalAddr(local));
                app.oneshot(request).await.unwrap().status()
            }
        };
        // Arrived on a user's network: the trigger, and nothing else.
        assert_eq!(status("10.240.16.2:8080", Method::PUT, "/process/trigger/abc").await, StatusCode::OK);
        assert_eq!(status("10.240.16.2:8080", Method::POST, "/api/v1/auth/login").await, StatusCode::FORBIDDEN);
        assert_eq!(status("10.240.16.2:8080", Method::GET, "//process/trigger/x").await, StatusCode::FORBIDDEN);
        assert_eq!(status("[::ffff:10.240.16.2]:8080", Method::GET, "/").await, StatusCode::FORBIDDEN);
        // Arrived anywhere else (the published port, loopback): everything, whoever the peer is.
        assert_eq!(status("10.0.0.7:8080", Method::POST, "/api/v1/auth/login").await, StatusCode::OK);
        assert_eq!(status("127.0.0.1:8080", Method::GET, "/").await, StatusCode::OK);
    }
}
