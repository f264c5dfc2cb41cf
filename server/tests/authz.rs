//! The authorization matrix: every REST operation of the OpenAPI document and every server
//! function of the UI, called as {anonymous, the owner, another user, an administrator} on the
//! owner's real resources, each answer checked against the table below. An operation or server
//! function without an entry fails the test, so a new endpoint cannot skip it.
//!
//! What "another user" must get for the owner's things is the answer to a thing that does not
//! exist (404, or for a body naming them, the same "no such process" refusal): never their data.
//! Writes are made so that they change nothing even when allowed (a stale revision, an unknown
//! id, an invalid value), and the owner's network is checked untouched at the end.

mod common;
mod stack;

use std::{collections::BTreeMap, time::Duration};

use common::*;
use serde_json::{json, Value};
use stack::*;

const UP: Duration = Duration::from_secs(90);
const UNKNOWN: &str = "0123456789abcdef01234567";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Exactly this status.
    Is(u16),
    /// 2xx.
    Ok,
    /// Authorized: whatever the operation answers for its (deliberately unacceptable) input,
    /// but not 401, 403, 404 or 5xx.
    Passed,
    /// As if the thing did not exist: 404, or a 422 that says it does not know it.
    Hidden,
    /// Any of these (a login brake's 429 after the deliberate failures, say).
    AnyOf(&'static [u16]),
}
use Expect::*;

/// The callers, in the order of every row: anonymous, the owner (alice), another user (bob),
/// an administrator.
const ROLES: [&str; 4] = ["anonymous", "owner", "other user", "admin"];

struct Ids {
    alice: String,
    sensor: String,
    counter: String,
    connection: String,
    token: String,
    change: String,
    node: String,
    pool: String,
    /// A plan of alice's network (as it is: it changes nothing).
    plan: String,
}

/// One row: method, path template, the path to call (on the owner's resources), a body, and
/// what each role gets. `safe_path` is called instead by owner and admin for operations that
/// would change the owner's things when allowed.
struct Row {
    method: &'static str,
    template: &'static str,
    path: String,
    safe_path: Option<String>,
    body: Option<Value>,
    expect: [Expect; 4],
}

fn rest_rows(i: &Ids) -> Vec<Row> {
    let row = |method, template, path: String, body: Option<Value>, expect| Row {
        method,
        template,
        path,
        safe_path: None,
        body,
        expect,
    };
    let destructive = |method, template, path: String, safe: String, expect| Row {
        method,
        template,
        path,
        safe_path: Some(safe),
        body: None,
        expect,
    };
    let (p, q, c, u) = (&i.sensor, &i.counter, &i.connection, &i.alice);
    let ep = |a: &str, b: &str| json!({"endpoint1": {"process_id": a, "interface_id": "sensor/temperature"}, "endpoint2": {"process_id": b, "interface_id": "counter/temperature"}});
    vec![
        row(
            "POST",
            "/api/v1/auth/login",
            "/api/v1/auth/login".into(),
            Some(json!({"username": "nobody", "password": "wrong-password"})),
            [Is(401); 4],
        ),
        row("POST", "/api/v1/auth/logout", "/api/v1/auth/logout".into(), None, [Is(204); 4]),
        row("GET", "/api/v1/auth/me", "/api/v1/auth/me".into(), None, [Is(401), Ok, Ok, Ok]),
        row("GET", "/api/v1/backup", "/api/v1/backup".into(), None, [Is(401), Is(403), Is(403), Ok]),
        row("GET", "/api/v1/connections", "/api/v1/connections".into(), None, [Is(401), Ok, Ok, Ok]),
        row(
            "POST",
            "/api/v1/connections",
            "/api/v1/connections".into(),
            Some(ep(p, q)),
            [Is(401), Is(409), Hidden, Is(409)],
        ),
        row("GET", "/api/v1/connections/{id}", format!("/api/v1/connections/{c}"), None, [Is(401), Ok, Is(404), Ok]),
        destructive(
            "DELETE",
            "/api/v1/connections/{id}",
            format!("/api/v1/connections/{c}"),
            format!("/api/v1/connections/{UNKNOWN}"),
            [Is(401), Is(404), Is(404), Is(404)],
        ),
        row(
            "GET",
            "/api/v1/connections/{id}/pending-changes",
            format!("/api/v1/connections/{c}/pending-changes"),
            None,
            [Is(401), Ok, Is(404), Ok],
        ),
        row("GET", "/api/v1/node-pools", "/api/v1/node-pools".into(), None, [Is(401), Ok, Ok, Ok]),
        row(
            "POST",
            "/api/v1/node-pools",
            "/api/v1/node-pools".into(),
            Some(json!({"name": ""})),
            [Is(401), Is(403), Is(403), Is(422)],
        ),
        row("GET", "/api/v1/node-pools/{id}", format!("/api/v1/node-pools/{}", i.pool), None, [Is(401), Ok, Ok, Ok]),
        row(
            "DELETE",
            "/api/v1/node-pools/{id}",
            format!("/api/v1/node-pools/{}?revision=999", i.pool),
            None,
            [Is(401), Is(403), Is(403), Is(409)],
        ),
        row(
            "PATCH",
            "/api/v1/node-pools/{id}",
            format!("/api/v1/node-pools/{}", i.pool),
            Some(json!({"name": "renamed", "revision": 999})),
            [Is(401), Is(403), Is(403), Is(409)],
        ),
        // The stream itself never ends: an unknown topic shows who is let in without reading one.
        row("GET", "/api/v1/events", "/api/v1/events?topics=nope".into(), None, [Is(401), Is(400), Is(400), Is(400)]),
        row("GET", "/api/v1/audit", "/api/v1/audit".into(), None, [Is(401), Ok, Ok, Ok]),
        row("GET", "/api/v1/networks/export", "/api/v1/networks/export".into(), None, [Is(401), Ok, Ok, Ok]),
        row("GET", "/api/v1/networks/schema", "/api/v1/networks/schema".into(), None, [Ok, Ok, Ok, Ok]),
        row(
            "POST",
            "/api/v1/plans",
            "/api/v1/plans".into(),
            Some(json!({"user": "alice", "processes": [{"name": "x", "service": "no-such-service"}]})),
            [Is(401), Is(422), Is(403), Is(422)],
        ),
        row("GET", "/api/v1/plans/{id}", format!("/api/v1/plans/{}", i.plan), None, [Is(401), Ok, Is(404), Ok]),
        row("GET", "/api/v1/deployments", "/api/v1/deployments".into(), None, [Is(401), Ok, Ok, Ok]),
        row(
            "POST",
            "/api/v1/deployments",
            "/api/v1/deployments".into(),
            Some(json!({"plan_id": i.plan})),
            [Is(401), Is(409), Hidden, Is(409)],
        ),
        row(
            "GET",
            "/api/v1/deployments/{id}",
            format!("/api/v1/deployments/{UNKNOWN}"),
            None,
            [Is(401), Is(404), Is(404), Is(404)],
        ),
        row(
            "POST",
            "/api/v1/deployments/{id}/cancel",
            format!("/api/v1/deployments/{UNKNOWN}/cancel"),
            None,
            [Is(401), Is(404), Is(404), Is(404)],
        ),
        row(
            "POST",
            "/api/v1/deployments/{id}/retry",
            format!("/api/v1/deployments/{UNKNOWN}/retry"),
            None,
            [Is(401), Is(404), Is(404), Is(404)],
        ),
        row(
            "GET",
            "/api/v1/deployments/{id}/diff",
            format!("/api/v1/deployments/{UNKNOWN}/diff?to={UNKNOWN}"),
            None,
            [Is(401), Is(404), Is(404), Is(404)],
        ),
        row(
            "POST",
            "/api/v1/deployments/{id}/rollback",
            format!("/api/v1/deployments/{UNKNOWN}/rollback"),
            Some(json!({})),
            [Is(401), Is(404), Is(404), Is(404)],
        ),
        row(
            "POST",
            "/api/v1/processes/{id}/upgrade",
            format!("/api/v1/processes/{q}/upgrade"),
            Some(json!({"service_version": "9.9.9"})),
            [Is(401), Is(422), Is(404), Is(422)],
        ),
        row("GET", "/api/v1/webhooks", "/api/v1/webhooks".into(), None, [Is(401), Ok, Ok, Ok]),
        row(
            "POST",
            "/api/v1/webhooks",
            "/api/v1/webhooks".into(),
            Some(json!({"url": "gopher://nowhere"})),
            [Is(401), Is(422), Is(422), Is(422)],
        ),
        row(
            "GET",
            "/api/v1/webhooks/{id}",
            format!("/api/v1/webhooks/{UNKNOWN}"),
            None,
            [Is(401), Is(404), Is(404), Is(404)],
        ),
        row(
            "DELETE",
            "/api/v1/webhooks/{id}",
            format!("/api/v1/webhooks/{UNKNOWN}"),
            None,
            [Is(401), Is(404), Is(404), Is(404)],
        ),
        row(
            "GET",
            "/api/v1/webhooks/{id}/deliveries",
            format!("/api/v1/webhooks/{UNKNOWN}/deliveries"),
            None,
            [Is(401), Is(404), Is(404), Is(404)],
        ),
        row("GET", "/api/v1/nodes", "/api/v1/nodes".into(), None, [Is(401), Ok, Ok, Ok]),
        row("GET", "/api/v1/nodes/{id}", format!("/api/v1/nodes/{}", i.node), None, [Is(401), Ok, Ok, Ok]),
        row(
            "DELETE",
            "/api/v1/nodes/{id}",
            format!("/api/v1/nodes/{}", i.node),
            None,
            [Is(401), Is(403), Is(403), Is(409)],
        ),
        row(
            "PUT",
            "/api/v1/nodes/{id}/assignment",
            format!("/api/v1/nodes/{}/assignment", i.node),
            Some(json!({"kind": "public", "node_pool_id": UNKNOWN, "revision": 0})),
            [Is(401), Is(403), Is(403), Passed],
        ),
        row("GET", "/api/v1/pending-changes", "/api/v1/pending-changes".into(), None, [Is(401), Ok, Ok, Ok]),
        row(
            "GET",
            "/api/v1/pending-changes/{id}",
            format!("/api/v1/pending-changes/{}", i.change),
            None,
            [Is(401), Ok, Is(404), Ok],
        ),
        row(
            "POST",
            "/api/v1/pending-changes/{id}/cancel",
            format!("/api/v1/pending-changes/{}/cancel", i.change),
            None,
            [Is(401), Is(409), Is(404), Is(409)],
        ),
        row(
            "POST",
            "/api/v1/pending-changes/{id}/retry",
            format!("/api/v1/pending-changes/{}/retry", i.change),
            None,
            [Is(401), Is(409), Is(404), Is(409)],
        ),
        row("GET", "/api/v1/processes", "/api/v1/processes".into(), None, [Is(401), Ok, Ok, Ok]),
        row(
            "POST",
            "/api/v1/processes",
            "/api/v1/processes".into(),
            Some(json!({"service_id": "sensor", "parameters": {"interval_ms": "not a number"}})),
            [Is(401), Is(422), Is(422), Is(422)],
        ),
        row("GET", "/api/v1/processes/{id}", format!("/api/v1/processes/{p}"), None, [Is(401), Ok, Is(404), Ok]),
        row(
            "DELETE",
            "/api/v1/processes/{id}",
            format!("/api/v1/processes/{p}?revision=999999"),
            None,
            [Is(401), Is(409), Is(404), Is(409)],
        ),
        row(
            "PATCH",
            "/api/v1/processes/{id}",
            format!("/api/v1/processes/{p}"),
            Some(json!({"name": "renamed", "revision": 999999})),
            [Is(401), Is(409), Is(404), Is(409)],
        ),
        row(
            "GET",
            "/api/v1/processes/{id}/interfaces/{interface}/candidates",
            format!("/api/v1/processes/{p}/interfaces/sensor%2Ftemperature/candidates"),
            None,
            [Is(401), Ok, Hidden, Ok],
        ),
        row(
            "GET",
            "/api/v1/processes/{id}/logs",
            format!("/api/v1/processes/{p}/logs?tail=5"),
            None,
            [Is(401), Ok, Is(404), Ok],
        ),
        row(
            "GET",
            "/api/v1/processes/{id}/logs/download",
            format!("/api/v1/processes/{p}/logs/download?tail=5"),
            None,
            [Is(401), Ok, Is(404), Ok],
        ),
        // The follow stream never ends: a bad `since` shows who is let in without reading one.
        row(
            "GET",
            "/api/v1/processes/{id}/logs/follow",
            format!("/api/v1/processes/{p}/logs/follow?since=never"),
            None,
            [Is(401), Is(400), Is(400), Is(400)],
        ),
        row(
            "POST",
            "/api/v1/processes/{id}/move",
            format!("/api/v1/processes/{p}/move"),
            Some(json!({"placement": {"kind": "automatic"}, "revision": 999999})),
            [Is(401), Is(409), Is(404), Is(409)],
        ),
        row(
            "GET",
            "/api/v1/processes/{id}/pending-changes",
            format!("/api/v1/processes/{p}/pending-changes"),
            None,
            [Is(401), Ok, Is(404), Ok],
        ),
        destructive(
            "POST",
            "/api/v1/processes/{id}/resume",
            format!("/api/v1/processes/{p}/resume"),
            format!("/api/v1/processes/{p}/resume"),
            [Is(401), Is(409), Is(404), Is(409)],
        ),
        destructive(
            "POST",
            "/api/v1/processes/{id}/suspend",
            format!("/api/v1/processes/{p}/suspend"),
            format!("/api/v1/processes/{UNKNOWN}/suspend"),
            [Is(401), Is(404), Is(404), Is(404)],
        ),
        row("GET", "/api/v1/services", "/api/v1/services".into(), None, [Is(401), Ok, Ok, Ok]),
        row("GET", "/api/v1/services/{id}", "/api/v1/services/sensor".into(), None, [Is(401), Ok, Ok, Ok]),
        row(
            "GET",
            "/api/v1/services/{id}/versions",
            "/api/v1/services/sensor/versions".into(),
            None,
            [Is(401), Ok, Ok, Ok],
        ),
        row("GET", "/api/v1/tokens", "/api/v1/tokens".into(), None, [Is(401), Ok, Ok, Ok]),
        row(
            "POST",
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            Some(json!({"name": ""})),
            [Is(401), Is(422), Is(422), Is(422)],
        ),
        destructive(
            "DELETE",
            "/api/v1/tokens/{id}",
            format!("/api/v1/tokens/{}", i.token),
            format!("/api/v1/tokens/{UNKNOWN}"),
            [Is(401), Is(404), Is(404), Is(404)],
        ),
        row("GET", "/api/v1/users", "/api/v1/users".into(), None, [Is(401), Is(403), Is(403), Ok]),
        row(
            "POST",
            "/api/v1/users",
            "/api/v1/users".into(),
            Some(json!({"username": "Not Valid", "password": "a-long-password"})),
            [Is(401), Is(403), Is(403), Is(422)],
        ),
        row("GET", "/api/v1/users/{id}", format!("/api/v1/users/{u}"), None, [Is(401), Ok, Is(404), Ok]),
        row("DELETE", "/api/v1/users/{id}", format!("/api/v1/users/{u}"), None, [Is(401), Is(403), Is(403), Is(409)]),
        row(
            "PATCH",
            "/api/v1/users/{id}",
            format!("/api/v1/users/{u}"),
            Some(json!({"revision": 999, "email": "x@y.org"})),
            [Is(401), Is(409), Is(404), Is(409)],
        ),
        row(
            "PUT",
            "/api/v1/users/{id}/password",
            format!("/api/v1/users/{u}/password"),
            Some(json!({"new_password": "short"})),
            [Is(401), Is(422), Is(404), Is(422)],
        ),
        row("GET", "/healthz", "/healthz".into(), None, [Ok; 4]),
        // Public; 503 when a check fails (the test server has no site files of its own).
        row("GET", "/readyz", "/readyz".into(), None, [AnyOf(&[200, 503]); 4]),
    ]
}

/// A server function (its name without its hash), its form fields, what each role gets.
type ServerFnRow = (&'static str, Vec<(&'static str, String)>, [Expect; 4]);

fn server_fn_rows(i: &Ids) -> Vec<ServerFnRow> {
    let (p, c, u) = (i.sensor.clone(), i.connection.clone(), i.alice.clone());
    let f = |pairs: &[(&'static str, &str)]| pairs.iter().map(|(k, v)| (*k, v.to_string())).collect::<Vec<_>>();
    let unauth = Is(401);
    vec![
        (
            "assign_node",
            f(&[("id", &i.node), ("revision", "0"), ("kind", "public"), ("node_pool_id", UNKNOWN)]),
            [unauth, Is(403), Is(403), Passed],
        ),
        ("cancel_pending_change", f(&[("id", &i.change)]), [unauth, Is(409), Is(404), Is(409)]),
        ("change_email", f(&[("revision", "999"), ("email", "x@y.org")]), [unauth, Is(409), Is(409), Is(409)]),
        (
            "change_password",
            f(&[("current_password", "wrong"), ("new_password", "a-new-long-password")]),
            [unauth, Is(422), Is(422), Is(422)],
        ),
        (
            "connection_candidates",
            f(&[("process_id", &p), ("interface_id", "sensor/temperature")]),
            [unauth, Ok, Hidden, Ok],
        ),
        ("create_connection", vec![], [unauth, Passed, Hidden, Passed]),
        ("create_pool", f(&[("name", "")]), [unauth, Is(403), Is(403), Is(422)]),
        ("create_process", vec![], [unauth, Is(422), Is(422), Is(422)]),
        ("create_token", f(&[("name", "")]), [unauth, Is(422), Is(422), Is(422)]),
        (
            "create_user",
            f(&[("username", "Not Valid"), ("password", "a-long-password"), ("email", "")]),
            [unauth, Is(403), Is(403), Is(422)],
        ),
        ("current_user", vec![], [Ok, Ok, Ok, Ok]),
        ("delete_pool", f(&[("id", UNKNOWN)]), [unauth, Is(403), Is(403), Is(404)]),
        ("delete_process", f(&[("id", UNKNOWN)]), [unauth, Is(404), Is(404), Is(404)]),
        ("delete_user", f(&[("id", &u), ("revision", "999")]), [unauth, Is(403), Is(403), Is(409)]),
        ("deploy_choices", vec![], [unauth, Ok, Ok, Ok]),
        ("forget_node", f(&[("id", &i.node), ("revision", "0")]), [unauth, Is(403), Is(403), Is(409)]),
        ("get_connection", f(&[("id", &c)]), [unauth, Ok, Is(404), Ok]),
        ("get_process", f(&[("id", &p)]), [unauth, Ok, Is(404), Ok]),
        ("get_user", f(&[("id", &u)]), [unauth, Ok, Is(404), Ok]),
        ("list_activity", f(&[("page", "1")]), [unauth, Ok, Ok, Ok]),
        ("network_yaml", f(&[("only", "")]), [unauth, Ok, Ok, Ok]),
        ("plan_document", f(&[("text", "user: alice\nprocesses: []\n")]), [unauth, Ok, Is(403), Ok]),
        // The connection editor's draft, planned against alice's network; the other user may
        // not name her.
        ("plan_draft", vec![], [unauth, Ok, Is(404), Ok]),
        ("deploy_options", f(&[("process_id", &p), ("interface_id", "sensor/temperature")]), [unauth, Ok, Hidden, Ok]),
        ("apply_plan", f(&[("plan_id", &i.plan)]), [unauth, Is(409), Is(404), Is(409)]),
        ("list_deployments", vec![], [unauth, Ok, Ok, Ok]),
        ("get_deployment", f(&[("id", UNKNOWN)]), [unauth, Is(404), Is(404), Is(404)]),
        ("cancel_deployment", f(&[("id", UNKNOWN)]), [unauth, Is(404), Is(404), Is(404)]),
        ("retry_deployment", f(&[("id", UNKNOWN)]), [unauth, Is(404), Is(404), Is(404)]),
        ("revision_yaml", f(&[("id", UNKNOWN)]), [unauth, Is(404), Is(404), Is(404)]),
        ("rollback_plan", f(&[("id", UNKNOWN), ("before", "false")]), [unauth, Is(404), Is(404), Is(404)]),
        ("diff_revisions", f(&[("from", UNKNOWN), ("to", UNKNOWN)]), [unauth, Is(404), Is(404), Is(404)]),
        ("upgrade_process", f(&[("id", &i.counter), ("version", "9.9.9")]), [unauth, Is(422), Is(404), Is(422)]),
        ("list_nodes", vec![], [unauth, Ok, Ok, Ok]),
        ("list_pools", vec![], [unauth, Ok, Ok, Ok]),
        ("list_services", f(&[("page", "1"), ("q", "")]), [unauth, Ok, Ok, Ok]),
        ("list_tokens", vec![], [unauth, Ok, Ok, Ok]),
        ("login", f(&[("username", "nobody"), ("password", "wrong-password")]), [AnyOf(&[401, 429]); 4]),
        ("logout", vec![], [Ok; 4]),
        ("move_process", f(&[("id", UNKNOWN), ("placement", "automatic")]), [unauth, Is(404), Is(404), Is(404)]),
        ("open_connections", f(&[("owner", "")]), [unauth, Ok, Ok, Ok]),
        ("placed_processes", vec![], [unauth, Ok, Ok, Ok]),
        ("process_connections", f(&[("process_id", &p)]), [unauth, Ok, Is(404), Ok]),
        ("process_logs", f(&[("id", &p), ("tail", "5")]), [unauth, Ok, Is(404), Ok]),
        ("refresh_catalogue", vec![], [unauth, Passed, Passed, Passed]),
        ("refresh_connections", f(&[("owner", "")]), [unauth, Ok, Ok, Ok]),
        ("reset_password", f(&[("id", &u), ("new_password", "short")]), [unauth, Is(422), Is(404), Is(422)]),
        ("resume_process", f(&[("id", &p)]), [unauth, Is(409), Is(404), Is(409)]),
        ("retry_pending_change", f(&[("id", &i.change)]), [unauth, Is(409), Is(404), Is(409)]),
        ("revoke_token", f(&[("id", UNKNOWN)]), [unauth, Is(404), Is(404), Is(404)]),
        ("service_versions", f(&[("id", "sensor")]), [unauth, Ok, Ok, Ok]),
        ("set_move_on_failure", f(&[("id", UNKNOWN), ("enabled", "true")]), [unauth, Is(404), Is(404), Is(404)]),
        ("suspend_process", f(&[("id", UNKNOWN)]), [unauth, Is(404), Is(404), Is(404)]),
        ("terminate_connection", f(&[("id", UNKNOWN)]), [unauth, Is(404), Is(404), Is(404)]),
        ("update_process", vec![], [unauth, Is(409), Is(404), Is(409)]),
        // The administrators' form: it always sets the admin flag, which the owner may not.
        (
            "update_user",
            f(&[("id", &u), ("revision", "999"), ("email", "x@y.org")]),
            [unauth, Is(403), Is(404), Is(409)],
        ),
        // Everyone's pages ask; only administrators get names.
        ("user_choices", vec![], [unauth, Ok, Ok, Ok]),
        // The dashboard: each caller's own counts (administrators: everyone's).
        ("load_overview", vec![], [unauth, Ok, Ok, Ok]),
        // The lists: each caller sees their own (the bodies are in server_fn_json).
        ("load_process_list", vec![], [unauth, Ok, Ok, Ok]),
        ("load_process_filters", vec![], [unauth, Ok, Ok, Ok]),
        ("load_pending_changes", vec![], [unauth, Ok, Ok, Ok]),
        ("load_users", vec![], [unauth, Is(403), Is(403), Ok]),
        // Bulk actions answer per item (200, an unknown id reported as failed); each item goes
        // through the manager's own call as the caller, whose rows above check who may.
        ("bulk_process_action", vec![], [unauth, Ok, Ok, Ok]),
        ("bulk_change_action", vec![], [unauth, Ok, Ok, Ok]),
        ("service_fits", f(&[("id", "sensor")]), [unauth, Ok, Ok, Ok]),
        (
            "reassign_node",
            f(&[("id", &i.node), ("revision", "0"), ("target", &format!("pool:{UNKNOWN}"))]),
            [unauth, Is(403), Is(403), Passed],
        ),
        ("reassign_preview", f(&[("id", &i.node), ("target", "unidentified")]), [unauth, Is(403), Is(403), Ok]),
    ]
}

/// The JSON-encoded server functions' bodies (their input is JSON).
fn server_fn_json(name: &str, i: &Ids) -> Option<Value> {
    match name {
        "create_connection" => Some(
            json!({"new": {"endpoint1": {"process_id": i.sensor, "interface_id": "sensor/temperature"}, "endpoint2": {"process_id": i.counter, "interface_id": "counter/temperature"}}}),
        ),
        "create_process" => {
            Some(json!({"new": {"service_id": "sensor", "parameters": {"interval_ms": "not a number"}}}))
        }
        "update_process" => Some(json!({"id": i.sensor, "change": {"name": "renamed", "revision": 999999}})),
        "plan_draft" => Some(json!({"draft": {"owner": i.alice, "deploy": [], "connect": [], "disconnect": []}})),
        "load_process_list" => Some(
            json!({"query": {"q": "", "state": "", "service": "", "owner": "", "node": "", "sort": "", "page": "", "per": ""}}),
        ),
        "load_pending_changes" => {
            Some(json!({"query": {"q": "", "state": "", "kind": "", "sort": "", "page": "", "per": ""}}))
        }
        "load_users" => Some(json!({"query": {"q": "", "sort": "", "page": "", "per": ""}})),
        "bulk_process_action" => Some(json!({"ids": [UNKNOWN], "verb": "Suspend"})),
        "bulk_change_action" => Some(json!({"ids": [UNKNOWN], "verb": "Retry"})),
        _ => None,
    }
}

fn check(expect: Expect, status: u16, body: &str) -> bool {
    match expect {
        Is(s) => status == s,
        Ok => (200..300).contains(&status),
        Passed => !matches!(status, 401 | 403 | 404) && status < 500,
        Hidden => status == 404 || (status == 422 && (body.contains("no process") || body.contains("unknown"))),
        AnyOf(list) => list.contains(&status),
    }
}

/// The other user's own audit entries record the refusals this test provoked, with the message
/// they got back ("no process with id '<the owner's id>'"): the id they sent themselves, which
/// tells them nothing. Those messages are left out before looking for the owner's ids.
fn without_own_refusals(body: &str) -> String {
    let Some(mut v) = serde_json::from_str::<Value>(body).ok() else { return body.to_string() };
    let entries: Option<&mut Vec<Value>> = match &mut v {
        Value::Array(items) => Some(items),
        Value::Object(o) => o.get_mut("items").and_then(Value::as_array_mut),
        _ => None,
    };
    for entry in entries.into_iter().flatten() {
        if entry.get("outcome").is_some_and(|o| o["ok"] == false) {
            entry["outcome"]["error"] = Value::Null;
        }
    }
    v.to_string()
}

async fn call(c: Option<&Client>, base: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let http = c.map(|c| c.http.clone()).unwrap_or_default();
    let url = format!("{base}{path}");
    let mut request = match method {
        "GET" => http.get(url),
        "POST" => http.post(url),
        "PUT" => http.put(url),
        "PATCH" => http.patch(url),
        "DELETE" => http.delete(url),
        other => panic!("method {other}"),
    };
    if let Some(b) = body {
        request = request.json(b);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn every_operation_answers_each_caller_as_it_should() {
    if !stack_here("the authorization matrix") {
        return;
    }
    let s = setup(&[]).await;
    let admin = &s.admin;
    let base = s.server.url.clone();
    for name in ["alice", "bob"] {
        let r = admin.post("/api/v1/users", json!({"username": name, "password": "a-long-password"})).await;
        assert_eq!(r.status(), 201);
    }
    let alice = s.server.client();
    let alice_user = alice.login_ok("alice", "a-long-password").await;
    let bob = s.server.client();
    bob.login_ok("bob", "a-long-password").await;

    // Alice's network: a sensor and a counter, connected; a token of hers.
    let sensor = create(&alice, json!({"service_id": "sensor", "parameters": {"interval_ms": "500"}})).await;
    let counter = create(&alice, json!({"service_id": "counter", "parameters": {"step": "1"}})).await;
    wait_state(&alice, &sensor, "RUNNING", UP).await;
    wait_state(&alice, &counter, "RUNNING", UP).await;
    // The two connect themselves (autoConnect), or are connected here.
    let r = connect(&alice, &sensor, "sensor/temperature", &counter, "counter/temperature").await;
    assert!(r.status() == 201 || r.status() == 409, "{}", r.text().await.unwrap());
    let all: Value = alice.get("/api/v1/connections").await.json().await.unwrap();
    let connection = all.as_array().unwrap()[0]["id"].as_str().unwrap().to_string();
    wait_connection(&alice, &connection, "CONNECTED", UP).await;
    let token: Value = alice.post("/api/v1/tokens", json!({"name": "alice's"})).await.json().await.unwrap();
    let changes: Value = alice.get(&format!("/api/v1/processes/{sensor}/pending-changes")).await.json().await.unwrap();
    let nodes: Value = admin.get("/api/v1/nodes").await.json().await.unwrap();
    let pools: Value = admin.get("/api/v1/node-pools").await.json().await.unwrap();
    let ids = Ids {
        alice: alice_user["id"].as_str().unwrap().into(),
        sensor: sensor.clone(),
        counter: counter.clone(),
        connection: connection.clone(),
        token: token["token"]["id"].as_str().unwrap().into(),
        change: changes[0]["id"].as_str().expect("the sensor's create change").into(),
        node: nodes.as_array().unwrap().iter().find(|n| n["manager"] == true).unwrap()["id"].as_str().unwrap().into(),
        pool: pools[0]["id"].as_str().unwrap().into(),
        plan: {
            let doc: Value = alice.get("/api/v1/networks/export").await.json().await.unwrap();
            let plan: Value = alice.post("/api/v1/plans", doc).await.json().await.unwrap();
            plan["id"].as_str().expect("alice's plan").into()
        },
    };
    let secrets = [&ids.alice, &ids.sensor, &ids.counter, &ids.connection, &ids.token, &ids.change];

    // Every operation of the document has a row, and every row an operation.
    let doc: Value = admin.get("/api/v1/openapi.json").await.json().await.unwrap();
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let rows = rest_rows(&ids);
    let covered: Vec<String> = rows.iter().map(|r| format!("{} {}", r.method, r.template)).collect();
    let missing: Vec<&String> = documented.iter().filter(|d| !covered.contains(d)).collect();
    assert!(missing.is_empty(), "operations without a row in the authorization matrix: {missing:?}");
    let stale: Vec<&String> = covered.iter().filter(|c| !documented.contains(c)).collect();
    assert!(stale.is_empty(), "rows for operations the document does not have: {stale:?}");

    let callers = [alice.clone(), bob.clone(), admin.clone()];
    let mut wrong: Vec<String> = Vec::new();
    for row in &rows {
        for (r, role) in ROLES.iter().enumerate() {
            // Logging out ends the session: each caller does it in a session of its own.
            let caller = caller_for(r, row.template == "/api/v1/auth/logout", &s.server, &callers).await;
            let path = match (&row.safe_path, r) {
                (Some(safe), 1 | 3) => safe,
                _ => &row.path,
            };
            let (status, body) = call(caller.as_ref(), &base, row.method, path, row.body.as_ref()).await;
            if !check(row.expect[r], status, &body) {
                wrong.push(format!(
                    "{} {} as {role}: {status}, expected {:?}: {body:.200}",
                    row.method, path, row.expect[r]
                ));
            }
            if r == 2 && (200..300).contains(&status) {
                let body = without_own_refusals(&body);
                for secret in secrets {
                    if body.contains(secret.as_str()) {
                        wrong.push(format!("{} {} as another user shows the owner's {secret}", row.method, path));
                    }
                }
            }
        }
    }

    // Server functions: every one the binary has, each with a row.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard")).arg("server-functions").output().unwrap();
    let listed: BTreeMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(_, path)| {
            (
                path.trim_start_matches("/api/").trim_end_matches(|c: char| c.is_ascii_digit()).to_string(),
                path.to_string(),
            )
        })
        .collect();
    let fn_rows = server_fn_rows(&ids);
    let names: Vec<&str> = fn_rows.iter().map(|r| r.0).collect();
    let missing: Vec<&String> = listed.keys().filter(|k| !names.contains(&k.as_str())).collect();
    assert!(missing.is_empty(), "server functions without a row in the authorization matrix: {missing:?}");
    assert_eq!(
        listed.len(),
        fn_rows.len(),
        "rows for server functions that do not exist: {names:?} vs {:?}",
        listed.keys()
    );
    for (name, fields, expect) in &fn_rows {
        let path = &listed[*name];
        for (r, role) in ROLES.iter().enumerate() {
            let caller = caller_for(r, *name == "logout", &s.server, &callers).await;
            let http = caller.map(|c| c.http).unwrap_or_default();
            let request = http.post(format!("{base}{path}")).header("accept", "application/json");
            let request = match server_fn_json(name, &ids) {
                Some(body) => request.json(&body),
                None => request.form(fields),
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            if !check(expect[r], status, &body) {
                wrong
                    .push(format!("server function {name} as {role}: {status}, expected {:?}: {body:.200}", expect[r]));
            }
            if r == 2 && (200..300).contains(&status) {
                let body = without_own_refusals(&body);
                for secret in secrets {
                    if body.contains(secret.as_str()) {
                        wrong.push(format!("server function {name} as another user shows the owner's {secret}"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} answers were wrong:\n{}", wrong.len(), wrong.join("\n"));

    // Nothing the others tried changed the owner's network.
    wait_state(&alice, &sensor, "RUNNING", UP).await;
    wait_state(&alice, &counter, "RUNNING", UP).await;
    assert_eq!(connection_state(&alice, &connection).await, "CONNECTED");
    let tokens: Value = alice.get("/api/v1/tokens").await.json().await.unwrap();
    assert_eq!(tokens.as_array().unwrap().len(), 1, "alice's token is still there");
}

/// The client role `r` calls with (none for anonymous). Logging out ends the session, so for that
/// each role logs in a session of its own, from another address: the deliberately failed logins
/// of the login rows slowed 127.0.0.1 down.
async fn caller_for(r: usize, logout: bool, server: &Server, callers: &[Client; 3]) -> Option<Client> {
    match r {
        0 => None,
        _ if logout => {
            let fresh = server.client_from("127.0.0.3");
            let (who, password) =
                [("alice", "a-long-password"), ("bob", "a-long-password"), ("admin", ADMIN_PASSWORD)][r - 1];
            fresh.login_ok(who, password).await;
            Some(fresh)
        }
        _ => Some(callers[r - 1].clone()),
    }
}

async fn connection_state(c: &Client, id: &str) -> String {
    connection(c, id).await["state"].as_str().unwrap_or("").to_string()
}
