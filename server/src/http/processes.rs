//! Processes: deployed instances of a service version, and the config trigger processes call.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::Deserialize;
use switchyard_core::{
    managers::{ListParams, ProcessFilter, ProcessLogs},
    model::{LogLine, NewProcess, PendingChange, Process, ProcessMove, ProcessState, ProcessUpdate},
};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    created,
    extract::{AuthUser, Json, Path, Query},
    paged, ApiResult, ErrorBody, RevisionQuery,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_processes, create_process))
        .routes(routes!(get_process, update_process, delete_process))
        .routes(routes!(suspend_process))
        .routes(routes!(resume_process))
        .routes(routes!(move_process))
        .routes(routes!(process_logs))
        .routes(routes!(download_logs))
        .routes(routes!(follow_logs))
        .routes(routes!(process_changes))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProcessListQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    /// `name`, `created`, `updated`, `state` or `service_id`; prefix `-` for descending.
    sort: Option<String>,
    /// Administrators: only this user's processes.
    user_id: Option<String>,
    state: Option<ProcessState>,
    service_id: Option<String>,
    /// Part of the name.
    search: Option<String>,
    /// Only the processes placed on this node.
    node_id: Option<String>,
}

/// Your processes; administrators see everyone's (or one user's with `user_id`).
#[utoipa::path(get, path = "/processes", tag = "processes", params(ProcessListQuery),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = [Process], headers(("X-Total-Count" = u64))),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub async fn list_processes(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Query(q): Query<ProcessListQuery>,
) -> ApiResult<Response> {
    let params = ListParams { page: q.page, per_page: q.per_page, sort: q.sort };
    let filter = ProcessFilter {
        user_id: q.user_id,
        state: q.state,
        service_id: q.service_id,
        search: q.search,
        node_id: q.node_id,
    };
    Ok(paged(s.sy.processes.list(&caller, &params, &filter).await?))
}

/// Create a process from a service version. It is saved STARTING and its swarm service is
/// created by a pending change; watch its `state`.
#[utoipa::path(post, path = "/processes", tag = "processes", request_body = NewProcess,
    security(("session" = []), ("token" = [])),
    responses(
        (status = 201, body = Process),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Host mounts or ports by a non-administrator, or a process for another user", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "Unknown service or version, bad parameters, no fitting node, limits above the cap", body = ErrorBody),
        (status = 503, description = "The registry or Docker cannot be reached", body = ErrorBody),
    ))]
pub async fn create_process(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Json(new): Json<NewProcess>,
) -> ApiResult<Response> {
    let process = s.sy.processes.create(&caller, new).await?;
    Ok(created(format!("/api/v1/processes/{}", process.id), process))
}

/// Read a process.
#[utoipa::path(get, path = "/processes/{id}", tag = "processes", params(("id" = String, Path)),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = Process),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_process(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Process>> {
    Ok(axum::Json(s.sy.processes.get(&caller, &id).await?))
}

/// Rename a process, or change its parameters (sent to the running process over its management
/// channel, without a restart) or its environment (its container is replaced).
#[utoipa::path(patch, path = "/processes/{id}", tag = "processes", params(("id" = String, Path)), request_body = ProcessUpdate,
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = Process),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Stale revision, or the process is being deleted", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn update_process(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Json(change): Json<ProcessUpdate>,
) -> ApiResult<axum::Json<Process>> {
    Ok(axum::Json(s.sy.processes.update(&caller, &id, change).await?))
}

/// Delete a process: it is told to terminate, its swarm service is removed, then its record.
/// Answers 202 with the process in state TERMINATED; it disappears when that is done.
#[utoipa::path(delete, path = "/processes/{id}", tag = "processes", params(("id" = String, Path), RevisionQuery),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 202, body = Process),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Stale revision", body = ErrorBody),
    ))]
pub async fn delete_process(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Query(q): Query<RevisionQuery>,
) -> ApiResult<(StatusCode, axum::Json<Process>)> {
    Ok((StatusCode::ACCEPTED, axum::Json(s.sy.processes.delete(&caller, &id, q.revision).await?)))
}

/// Suspend a RUNNING process: it hands over its state, which Switchyard keeps, and stops.
#[utoipa::path(post, path = "/processes/{id}/suspend", tag = "processes", params(("id" = String, Path)),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 202, body = Process),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Not RUNNING, or already being suspended", body = ErrorBody),
    ))]
pub async fn suspend_process(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<Process>)> {
    Ok((StatusCode::ACCEPTED, axum::Json(s.sy.processes.suspend(&caller, &id).await?)))
}

/// Resume a SUSPENDED process from the state it handed over.
#[utoipa::path(post, path = "/processes/{id}/resume", tag = "processes", params(("id" = String, Path)),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 202, body = Process),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Not SUSPENDED", body = ErrorBody),
    ))]
pub async fn resume_process(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<Process>)> {
    Ok((StatusCode::ACCEPTED, axum::Json(s.sy.processes.resume(&caller, &id).await?)))
}

/// Move a process to another node or node pool. A RUNNING process is suspended (handing over
/// its state), removed, created on a node of the new placement and resumed there with that
/// state; its connections are suspended and resumed with it. A SUSPENDED process moves and
/// stays suspended. Each step is a pending change of the process. Moving to the node it runs
/// on only changes its placement (200).
#[utoipa::path(post, path = "/processes/{id}/move", tag = "processes", params(("id" = String, Path)), request_body = ProcessMove,
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, description = "It runs on that node already; its placement changed", body = Process),
        (status = 202, description = "The move's steps were submitted", body = Process),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Stale revision, being deleted, being moved already, or its version is gone from the registry", body = ErrorBody),
        (status = 422, description = "The placement names no node the owner may use, or none its image runs on", body = ErrorBody),
    ))]
pub async fn move_process(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Json(request): Json<ProcessMove>,
) -> ApiResult<(StatusCode, axum::Json<Process>)> {
    let p = s.sy.processes.move_process(&caller, &id, request).await?;
    let status = if p.moving_to_node_id.is_some() { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, axum::Json(p)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// How many of the last lines (1–5000, default 200).
    tail: Option<u32>,
    /// Only lines after this time (RFC 3339).
    since: Option<String>,
    /// Only lines of the last this many seconds (instead of `since`).
    since_secs: Option<u64>,
}

impl LogsQuery {
    fn after(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, switchyard_core::Error> {
        match self.since_secs {
            Some(secs) => Ok(Some(chrono::Utc::now() - chrono::Duration::seconds(secs.min(365 * 86400) as i64))),
            None => since_of(self.since.as_deref()),
        }
    }
}

fn since_of(text: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, switchyard_core::Error> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| d.with_timezone(&chrono::Utc))
                .map_err(|e| switchyard_core::Error::BadRequest(format!("since: '{t}' is not an RFC 3339 time ({e})")))
        })
        .transpose()
}

/// The last lines its containers wrote (stdout and stderr, with timestamps).
#[utoipa::path(get, path = "/processes/{id}/logs", tag = "processes", params(("id" = String, Path), LogsQuery),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = ProcessLogs),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn process_logs(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Query(q): Query<LogsQuery>,
) -> ApiResult<axum::Json<ProcessLogs>> {
    Ok(axum::Json(s.sy.processes.logs(&caller, &id, q.tail.unwrap_or(200), q.after()?).await?))
}

/// The same lines as a text file to download (`<time> <text>`, earlier containers' lines marked).
#[utoipa::path(get, path = "/processes/{id}/logs/download", tag = "processes", params(("id" = String, Path), LogsQuery),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, description = "text/plain, as an attachment", content_type = "text/plain", body = String),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn download_logs(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Query(q): Query<LogsQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::{http::header, response::IntoResponse};
    let logs = s.sy.processes.logs(&caller, &id, q.tail.unwrap_or(5000), q.after()?).await?;
    let mut text = String::new();
    for line in &logs.entries {
        let at = line.at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)).unwrap_or_default();
        let mark = if line.previous { " [previous container]" } else { "" };
        text.push_str(&format!("{at}{mark} {}\n", line.text));
    }
    let name = format!("attachment; filename=\"process-{id}-logs.txt\"");
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, name)], text)
        .into_response())
}

/// Follow the logs as they are written, as Server-Sent Events
///
/// `line` events, each a LogLine (`id:` its time, so a reconnecting client resumes after it),
/// starting after `since` (or now). Switchyard asks Docker for newer lines once a second while
/// the stream is open; it ends when the caller's session or token does.
#[utoipa::path(get, path = "/processes/{id}/logs/follow", tag = "processes", params(("id" = String, Path), LogsQuery),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, description = "An endless text/event-stream of LogLine", content_type = "text/event-stream", body = LogLine),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn follow_logs(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    credential: super::events::Credential,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LogsQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse,
    };
    let resumed = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let since = match resumed {
        Some(id) => since_of(Some(&id))?,
        None => q.after()?,
    };
    // Asked once now: an unknown process (or someone else's) is a 404, not an empty stream.
    let first = s.sy.processes.logs(&caller, &id, q.tail.unwrap_or(200), since).await?;
    let start = since.or_else(|| first.entries.iter().filter_map(|l| l.at).max()).or_else(|| Some(chrono::Utc::now()));
    let queue: std::collections::VecDeque<LogLine> =
        if since.is_some() { first.entries.into() } else { Default::default() };
    struct Follow {
        sy: switchyard_core::managers::Switchyard,
        caller: switchyard_core::managers::Caller,
        credential: super::events::Credential,
        id: String,
        last: Option<chrono::DateTime<chrono::Utc>>,
        queue: std::collections::VecDeque<LogLine>,
        checked: std::time::Instant,
        every: std::time::Duration,
    }
    let follow = Follow {
        sy: s.sy.clone(),
        caller,
        credential,
        id,
        last: start,
        queue,
        checked: std::time::Instant::now(),
        every: s.event_recheck,
    };
    let stream = futures::stream::unfold(follow, |mut f| async move {
        loop {
            if let Some(line) = f.queue.pop_front() {
                if line.at.is_some() {
                    f.last = line.at.max(f.last);
                }
                let id = line.at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)).unwrap_or_default();
                let data = serde_json::to_string(&line).unwrap_or_default();
                let event = Event::default().event("line").id(id).data(data);
                return Some((Ok::<_, std::convert::Infallible>(event), f));
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            if f.checked.elapsed() >= f.every {
                f.checked = std::time::Instant::now();
                match f.credential.still_allowed(&f.sy).await {
                    Ok(Some(caller)) => f.caller = caller,
                    Ok(None) => return None,
                    Err(_) => {}
                }
            }
            match f.sy.processes.logs(&f.caller, &f.id, 1000, f.last).await {
                Ok(logs) => f.queue.extend(logs.entries),
                Err(switchyard_core::Error::NotFound(_)) => return None,
                Err(e) => tracing::debug!("following logs: {e}"),
            }
        }
    });
    let mut response = Sse::new(stream).keep_alive(KeepAlive::default()).into_response();
    response.headers_mut().insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    Ok(response)
}

/// The pending changes of a process, newest first.
#[utoipa::path(get, path = "/processes/{id}/pending-changes", tag = "processes", params(("id" = String, Path)),
    security(("session" = []), ("token" = [])),
    responses(
        (status = 200, body = [PendingChange]),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn process_changes(
    State(s): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<PendingChange>>> {
    Ok(axum::Json(s.sy.processes.changes(&caller, &id).await?))
}

/// dEF-Pi's config trigger: `PUT /process/trigger/{id}` with the process's token in
/// `X-Auth-Token`; 204 when accepted. Served inside the anchor's network namespace (where
/// processes reach it as `orchestrator:8080`) and on the main listener.
pub async fn trigger(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> ApiResult<StatusCode> {
    let token = headers.get("x-auth-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if token.is_empty() {
        return Err(switchyard_core::Error::Unauthenticated("the X-Auth-Token header is missing".into()).into());
    }
    s.sy.processes.trigger(&id, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The router of the trigger alone (for the listener in the anchor's namespace).
pub fn trigger_router() -> axum::Router<AppState> {
    axum::Router::new().route("/process/trigger/{id}", axum::routing::put(trigger))
}
