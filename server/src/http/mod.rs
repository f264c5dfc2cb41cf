//! The REST API under `/api/v1`: one module per resource, each exposing `router()`, merged by
//! [`api_router`] together with the OpenAPI document generated from the handlers' annotations.

pub mod error;
pub mod extract;

mod audit;
mod auth;
mod backup;
pub mod connections;
pub mod events;
mod health;
pub mod metrics;
pub use audit::record as record_audit;
pub mod networks;
mod node_pools;
mod nodes;
mod pending_changes;
pub mod processes;
mod services;
mod tokens;
mod users;
mod webhooks;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde::Serialize;
use switchyard_core::model::Page;
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{status_of, ApiError, ApiResult, ErrorBody};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchyard API",
        description = "Run networks of small interconnected services on a Docker swarm. \
Authenticate with the session cookie from `POST /api/v1/auth/login`, or with an API token \
(create one under My account) sent as `Authorization: Bearer <token>`. Lists take `page` \
(from 1), `per_page` (1–1000, default 50) and `sort` (a field, `-field` for descending) and \
return the number of matching items in `X-Total-Count`. Errors are JSON: \
`{\"error\":{\"code\":…,\"message\":…,\"details\":…}}`.",
    ),
    modifiers(&Security),
    components(schemas(ErrorBody)),
    tags(
        (name = "auth", description = "Logging in and out"),
        (name = "users", description = "Accounts; administrators manage them"),
        (name = "tokens", description = "API tokens of the calling user"),
        (name = "services", description = "The service catalogue, read from the registry"),
        (name = "nodes", description = "Hosts of the swarm: unidentified, public or private"),
        (name = "node-pools", description = "Named groups of public nodes"),
        (name = "processes", description = "Deployed instances of service versions"),
        (name = "connections", description = "Links between interfaces of two processes"),
        (name = "networks", description = "A network as a document: export, plan, apply, history, rollback"),
        (name = "pending-changes", description = "Changes to the outside world that are still to be made"),
        (name = "alerts", description = "Webhook subscriptions: alerts POSTed, signed, when something fails"),
        (name = "audit", description = "Who changed what, when, from where, and how it ended"),
        (name = "events", description = "Changes as they happen, pushed as Server-Sent Events"),
        (name = "health", description = "Liveness and readiness"),
        (name = "operations", description = "Backups of the store"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::SESSION_COOKIE))),
        );
        components.add_security_scheme("token", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The answers every operation can give, whatever it does, added to each that does not list
/// them itself: the document then says every status the API really sends.
fn document_common_errors(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{path::HttpMethod, ContentBuilder, Ref, ResponseBuilder};
    let error = || ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    let respond = |text: &str| ResponseBuilder::new().description(text).content("application/json", error()).build();
    for (path, item) in openapi.paths.paths.iter_mut() {
        let ops = [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
            (HttpMethod::Patch, item.patch.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let mut add = |code: &str, text: &str| {
                op.responses.responses.entry(code.to_string()).or_insert_with(|| respond(text).into());
            };
            let health = path == "/healthz" || path == "/readyz";
            if health {
                continue;
            }
            add("400", "Malformed request: query parameters or path that do not parse");
            if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                add("401", "Not logged in, or the API token is not valid");
            }
            if !matches!(method, HttpMethod::Get) {
                add("403", "A browser request from a page that is not Switchyard's own (code `cross_origin`)");
            }
            if op.request_body.is_some() {
                add("413", "The body is larger than the server accepts");
                add("415", "The body is not JSON");
                add("422", "The body does not fit the schema");
            }
            add("503", "The store or Docker cannot be reached");
        }
    }
}

/// The API routes, `/healthz`, `/readyz`, the OpenAPI document and its browsable page.
pub fn api_router() -> Router<AppState> {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(
            "/api/v1",
            OpenApiRouter::new()
                .merge(auth::router())
                .merge(backup::router())
                .merge(users::router())
                .merge(tokens::router())
                .merge(node_pools::router())
                .merge(nodes::router())
                .merge(pending_changes::router())
                .merge(processes::router())
                .merge(connections::router())
                .merge(events::router())
                .merge(audit::router())
                .merge(webhooks::router())
                .merge(networks::router())
                .merge(services::router()),
        )
        .merge(health::router())
        .split_for_parts();
    let mut doc = doc;
    document_common_errors(&mut doc);
    let json = doc.clone();
    router
        .route("/api/v1/openapi.json", get(move || async move { axum::Json(json) }))
        .merge(SwaggerUi::new("/api/v1/docs").url("/api/v1/docs/openapi.json", doc))
        .merge(processes::trigger_router())
        .nest("/api/v1", Router::new().fallback(unknown_endpoint))
}

async fn unknown_endpoint() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see /api/v1/docs")
}

/// `?revision=N` on a delete: delete only if the record is still at that revision.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevisionQuery {
    /// When given, delete only if the record is still at this revision (else 409 `stale_revision`).
    pub revision: Option<u64>,
}

/// A list response: the items as a JSON array and their total in `X-Total-Count`.
pub fn paged<T: Serialize>(page: Page<T>) -> Response {
    let mut response = axum::Json(page.items).into_response();
    response.headers_mut().insert("x-total-count", HeaderValue::from(page.total));
    response
}

/// A 201 with the new resource and where it lives.
pub fn created<T: Serialize>(location: String, body: T) -> Response {
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}
