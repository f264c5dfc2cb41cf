//! The audit trail over HTTP: the layer that records every request that may change something
//! (see `switchyard_core::audit`), and `GET /api/v1/audit`.

use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    http::Method,
    middleware::Next,
    response::Response,
};
use serde::Deserialize;
use switchyard_core::{
    audit::{AuditFilter, Scope},
    auth::ClientAddr,
    managers::ListParams,
    model::AuditEntry,
    Error,
};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error::ApiResult,
    extract::{AuthUser, Query},
    paged,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// The most of an error answer read for its message.
const ERROR_BODY_MAX: usize = 64 * 1024;

/// Run requests that may change something (`/api/…` other than GET) in an audit scope, and
/// write the entry when they are answered.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let reads = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if reads || !path.starts_with("/api/") {
        return next.run(request).await;
    }
    let rest = path.starts_with("/api/v1/");
    let (via, action) = if rest {
        let route = request.extensions().get::<MatchedPath>().map_or(path.clone(), |p| p.as_str().to_string());
        ("api", format!("{method} {route}"))
    } else {
        // A server function of the UI: its name (without the hash some builds append).
        let name = path.trim_start_matches("/api/").trim_end_matches(|c: char| c.is_ascii_digit());
        ("ui", name.to_string())
    };
    let login = action.ends_with("/auth/login") || action == "login";
    let address = request.extensions().get::<ClientAddr>().map(|a| a.0.to_string());
    let scope = Scope::new(via, address);
    let response = scope.run(next.run(request)).await;
    let status = response.status().as_u16();
    // A UI read that failed (a server function that changes nothing) is not a refused change.
    if !scope.wrote() && !login && (status < 400 || !rest && reads_only(&action)) {
        return response;
    }
    let (response, error) = if status >= 400 { error_of(response).await } else { (response, None) };
    if let Err(e) = state.sy.audit.finish(&scope, action, status, error, login).await {
        tracing::warn!("writing an audit entry: {e}");
    }
    response
}

/// Server functions that only read.
fn reads_only(name: &str) -> bool {
    const READS: &[&str] = &[
        "list_",
        "get_",
        "current_",
        "open_",
        "placed_",
        "deploy_choices",
        "user_choices",
        "service_versions",
        "process_connections",
        "process_logs",
        "connection_candidates",
        "refresh_",
        "load_",
    ];
    READS.iter().any(|r| name.starts_with(r))
}

/// The message of an error answer (the REST API's `{"error":{"message"}}` or a server
/// function's `{"message"}`), and the answer, unchanged.
async fn error_of(response: Response) -> (Response, Option<String>) {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_MAX).await else {
        return (Response::from_parts(parts, Body::empty()), None);
    };
    let message = serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|v| {
        v.pointer("/error/message").or_else(|| v.get("message")).and_then(|m| m.as_str()).map(str::to_string)
    });
    (Response::from_parts(parts, Body::from(bytes)), message)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries about this user's things or made by them (administrators only, for others).
    pub user_id: Option<String>,
    /// Entries that touched this process, connection, node, … (by id).
    pub resource_id: Option<String>,
    /// Entries whose action contains this text (`processes`, `DELETE`, `create_connection`).
    pub action: Option<String>,
    /// From this time on (RFC 3339).
    pub since: Option<String>,
    /// Before this time (RFC 3339).
    pub until: Option<String>,
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Entries per page (1–1000, default 50).
    pub per_page: Option<u64>,
    /// `at_ms` (the default, newest first as `-at_ms`), `action` or `via`; `-` for descending.
    pub sort: Option<String>,
}

fn millis(field: &str, text: &Option<String>) -> Result<Option<i64>, Error> {
    text.as_deref()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| d.timestamp_millis())
                .map_err(|e| Error::BadRequest(format!("{field}: '{t}' is not an RFC 3339 time ({e})")))
        })
        .transpose()
}

/// List audit entries
///
/// Who changed what, when, from where, and how it ended, newest first. Users read the entries
/// about their own things and those they made; administrators read all.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery), security(("session" = []), ("token" = [])),
    responses((status = 200, description = "One page of entries; the total is in X-Total-Count", body = [AuditEntry])))]
async fn list_audit(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    let filter = AuditFilter {
        user_id: q.user_id,
        resource_id: q.resource_id,
        action: q.action,
        since_ms: millis("since", &q.since)?,
        until_ms: millis("until", &q.until)?,
    };
    let params = ListParams { page: q.page, per_page: q.per_page, sort: q.sort };
    Ok(paged(state.sy.audit.list(&caller, &filter, &params).await?))
}
