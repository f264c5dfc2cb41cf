//! Networks as documents: export, the document's JSON Schema, plans, deployments (apply,
//! progress, cancel, retry), history (diff, rollback) and upgrading one process.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use switchyard_core::{
    managers::ListParams,
    model::{Deployment, DocumentChange, NetworkDocument, Plan, Process, ProcessUpgrade},
    Error,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    created,
    error::ApiError,
    extract::{AuthUser, Json, Path, Query},
    paged, ApiResult, ErrorBody,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_network))
        .routes(routes!(document_schema))
        .routes(routes!(create_plan))
        .routes(routes!(get_plan))
        .routes(routes!(list_deployments, create_deployment))
        .routes(routes!(get_deployment))
        .routes(routes!(cancel_deployment))
        .routes(routes!(retry_deployment))
        .routes(routes!(diff_deployments))
        .routes(routes!(rollback_deployment))
        .routes(routes!(upgrade_process))
}

/// Parse a network document from a request body: JSON, or YAML when the content type says so
/// (`application/yaml`, `application/x-yaml`, `text/yaml`). Errors name where in the document.
pub fn parse_document(headers: &HeaderMap, body: &[u8]) -> Result<NetworkDocument, Box<ApiError>> {
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let essence = kind.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let yaml = matches!(essence.as_str(), "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml");
    if !yaml && essence != "application/json" && !essence.ends_with("+json") {
        return Err(Box::new(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("a network document is JSON (application/json) or YAML (application/yaml), not {essence}"),
        )));
    }
    switchyard_core::documents::parse(body, yaml).map_err(|p| Box::new(Error::InvalidDocument(vec![p]).into()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Administrators: whose network (a username); default yours.
    user: Option<String>,
    /// Only these processes (names or ids, comma-separated) and the connections between them
    /// (the document's scope is then `listed`).
    processes: Option<String>,
    /// `json` (default) or `yaml`.
    format: Option<String>,
}

/// Export a network as a document
///
/// The processes (name, service and version, parameters, environment, placement by name,
/// limits, moving on failure) and the connections between them, as JSON or YAML. Plan it again
/// (`POST /plans`) after editing it.
#[utoipa::path(get, path = "/networks/export", tag = "networks", params(ExportQuery), security(("session" = []), ("token" = [])),
    responses((status = 200, description = "The document: JSON, or YAML with `format=yaml`", body = NetworkDocument),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_network(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let only: Option<Vec<String>> =
        q.processes.as_deref().map(|p| p.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect());
    let doc = s.sy.networks.export(&caller, q.user.as_deref(), only.as_deref()).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(axum::Json(doc).into_response()),
        "yaml" => {
            let text = switchyard_core::documents::to_yaml(&doc)?;
            let mut response = text.into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/yaml"));
            Ok(response)
        }
        other => Err(Error::invalid("format", format!("format is json or yaml, not '{other}'")).into()),
    }
}

/// The JSON Schema of a network document
#[utoipa::path(get, path = "/networks/schema", tag = "networks",
    responses((status = 200, description = "A JSON Schema (draft 2020-12)", body = Object)))]
async fn document_schema() -> Response {
    let mut schema = schemars::schema_for!(NetworkDocument);
    schema.insert("$id".into(), "https://switchyard.invalid/schemas/network.json".into());
    axum::Json(schema).into_response()
}

/// Plan a network document
///
/// What Switchyard would do to make the network what the document says: create, reconfigure,
/// move, upgrade or terminate processes; add, keep or remove connections. Every step is checked
/// as the real operation would be (parameters, placement, architecture, compatibility,
/// cardinality, ownership); a step the network does not allow now carries its `refusal`, and the
/// plan is not `applicable`. Nothing changes. The body is JSON or YAML (`Content-Type:
/// application/yaml`). A document with problems is refused with all of them
/// (`details.problems`, each with its `path`).
#[utoipa::path(post, path = "/plans", tag = "networks", request_body = NetworkDocument, security(("session" = []), ("token" = [])),
    responses((status = 201, body = Plan), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, description = "The document has problems (`details.problems`)", body = ErrorBody)))]
async fn create_plan(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let doc = parse_document(&headers, &body).map_err(|e| *e)?;
    let plan = s.sy.networks.plan(&caller, doc).await?;
    Ok(created(format!("/api/v1/plans/{}", plan.id), plan))
}

/// One plan (kept for a day, until applied)
#[utoipa::path(get, path = "/plans/{id}", tag = "networks", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses((status = 200, body = Plan), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_plan(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Plan>> {
    Ok(axum::Json(s.sy.networks.get_plan(&caller, &id).await?))
}

/// What to apply.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeployment {
    /// A plan from `POST /plans`.
    pub plan_id: String,
}

/// Apply a plan
///
/// Its steps run as one deployment, in dependency order (a process before its connections; a
/// connection's removal before its process's), each followed until it took effect; a failure
/// skips what depends on it. Refused (409) when the plan has refusals, changes nothing, or is
/// stale: the network changed since it was planned (code `stale_revision`, the message says what
/// changed); and while another deployment of the network runs.
#[utoipa::path(post, path = "/deployments", tag = "networks", request_body = NewDeployment, security(("session" = []), ("token" = [])),
    responses((status = 201, body = Deployment), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_deployment(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Json(new): Json<NewDeployment>,
) -> ApiResult<Response> {
    if new.plan_id.trim().is_empty() {
        return Err(Error::invalid("plan_id", "a plan id is required").into());
    }
    let d = s.sy.networks.apply(&caller, new.plan_id.trim()).await?;
    Ok(created(format!("/api/v1/deployments/{}", d.id), d))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeploymentListQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    /// `created`, `number` or `state`, `-` in front for descending (default `-created`).
    sort: Option<String>,
    /// Administrators: only this user's.
    user_id: Option<String>,
}

/// The revisions of your network (its deployments), newest first
#[utoipa::path(get, path = "/deployments", tag = "networks", params(DeploymentListQuery), security(("session" = []), ("token" = [])),
    responses((status = 200, body = [Deployment], headers(("x-total-count" = u64))), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_deployments(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Query(q): Query<DeploymentListQuery>,
) -> ApiResult<Response> {
    let params = ListParams { page: q.page, per_page: q.per_page, sort: q.sort };
    Ok(paged(s.sy.networks.deployments(&caller, &params, q.user_id.as_deref()).await?))
}

/// One deployment, with each step's progress
#[utoipa::path(get, path = "/deployments/{id}", tag = "networks", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses((status = 200, body = Deployment), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_deployment(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Deployment>> {
    Ok(axum::Json(s.sy.networks.deployment(&caller, &id).await?))
}

/// Cancel a running deployment (steps not yet started are cancelled; those under way finish)
#[utoipa::path(post, path = "/deployments/{id}/cancel", tag = "networks", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses((status = 200, body = Deployment), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_deployment(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Deployment>> {
    Ok(axum::Json(s.sy.networks.cancel(&caller, &id).await?))
}

/// Retry a failed or cancelled deployment's unfinished steps
#[utoipa::path(post, path = "/deployments/{id}/retry", tag = "networks", params(("id" = String, Path)), security(("session" = []), ("token" = [])),
    responses((status = 200, body = Deployment), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn retry_deployment(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Deployment>> {
    Ok(axum::Json(s.sy.networks.retry(&caller, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The other deployment (the diff says what it changes compared with this one).
    to: String,
}

/// What one revision changes compared with another
#[utoipa::path(get, path = "/deployments/{id}/diff", tag = "networks", params(("id" = String, Path), DiffQuery), security(("session" = []), ("token" = [])),
    responses((status = 200, body = [DocumentChange]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn diff_deployments(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<axum::Json<Vec<DocumentChange>>> {
    Ok(axum::Json(s.sy.networks.diff(&caller, &id, &q.to).await?))
}

/// Which revision to restore.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// Restore the network as it was before this deployment, instead of as it made it.
    #[serde(default)]
    pub before: bool,
}

/// Roll back to a revision: a plan that restores it
///
/// Plans the revision's document (or, with `before`, the network before it) against the network
/// as it is; apply the plan (`POST /deployments`) to roll back. Processes that stay as they are
/// keep their state.
#[utoipa::path(post, path = "/deployments/{id}/rollback", tag = "networks", params(("id" = String, Path)), request_body = Rollback,
    security(("session" = []), ("token" = [])),
    responses((status = 201, body = Plan), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn rollback_deployment(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Json(r): Json<Rollback>,
) -> ApiResult<Response> {
    let plan = s.sy.networks.rollback(&caller, &id, r.before).await?;
    Ok(created(format!("/api/v1/plans/{}", plan.id), plan))
}

/// Upgrade a process to another version of its service, keeping its state
///
/// It is suspended (handing over its state), started as the new version and resumed with that
/// state; each connection moves to the best interface-version pair the two sides then share.
/// Refused before anything happens (409) when a connection would have no fitting pair, unless
/// `drop_connections`.
#[utoipa::path(post, path = "/processes/{id}/upgrade", tag = "processes", params(("id" = String, Path)), request_body = ProcessUpgrade,
    security(("session" = []), ("token" = [])),
    responses((status = 202, description = "The upgrade's steps were submitted", body = Process), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upgrade_process(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Json(request): Json<ProcessUpgrade>,
) -> ApiResult<(StatusCode, axum::Json<Process>)> {
    let p = s.sy.processes.upgrade(&caller, &id, request).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(p)))
}
