//! Trust against the real stack (a swarm manager, the registry, the example services): a store
//! is never mistaken for a new installation, backups bring processes back untouched, and bounds
//! are checked before Docker is asked. Each test is one defect of issue 13 it failed on before.

mod common;
mod stack;

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use common::*;
use serde_json::{json, Value};
use stack::*;

const UP: Duration = Duration::from_secs(90);

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    c.env_remove("SWITCHYARD_DATABASE_URL");
    c
}

/// The ids of a swarm service's tasks: the same ids later means its containers were untouched.
fn tasks_of(service: &str) -> String {
    docker(&["service", "ps", "-q", service])
}

async fn instance_of(s: &Setup) -> String {
    s._cleanup.0.clone()
}

/// Was: a server started on an empty or missing store with the instance id of a running
/// installation started as a new one and, within one reconcile round, deleted every swarm
/// service of the real installation.
#[tokio::test]
async fn a_new_store_never_takes_over_a_running_installation() {
    if !stack_here("a new store never takes over") {
        return;
    }
    let s = setup(&[]).await;
    let id = create(&s.admin, json!({"service_id": "sensor", "parameters": {"interval_ms": "500"}})).await;
    wait_state(&s.admin, &id, "RUNNING", UP).await;
    let instance = instance_of(&s).await;
    let before = tasks_of(&id);

    for empty in ["missing", "empty-file"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        if empty == "empty-file" {
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(data.join("switchyard.redb"), b"").unwrap();
        }
        let out = bin()
            .env("SWITCHYARD_LISTEN", "127.0.0.1:0")
            .env("SWITCHYARD_DATA_DIR", &data)
            .env("SWITCHYARD_INSTANCE_ID", &instance)
            .env("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "refuses to start on a {empty} store: {stderr}");
        for needle in ["refusing to start", "1 swarm service", "--new-store", &data.display().to_string()] {
            assert!(stderr.contains(needle), "says {needle:?}: {stderr}");
        }
    }

    // Started fresh on purpose, it leaves the installation's objects alone.
    let dir = tempfile::tempdir().unwrap();
    let fresh = Server::start(
        dir.path(),
        &[
            ("SWITCHYARD_INSTANCE_ID", instance.as_str()),
            ("SWITCHYARD_NEW_STORE", "true"),
            ("SWITCHYARD_RECONCILE_SECS", "1"),
            ("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    )
    .await;
    // A few rounds of its reconciler (1 s each).
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        assert_eq!(docker_services_named(&id), 1, "the running installation's service is still there");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(fresh);
    assert_eq!(tasks_of(&id), before, "its container was never touched");
    wait_state(&s.admin, &id, "RUNNING", UP).await;
}

async fn backup_to(server: &Server, admin: &Client, file: &Path) {
    let r = admin.post("/api/v1/tokens", json!({"name": "backup"})).await;
    let secret = r.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_string();
    let out = bin()
        .args(["backup", file.to_str().unwrap(), "--url", &server.url])
        .env("SWITCHYARD_TOKEN", &secret)
        .output()
        .unwrap();
    assert!(out.status.success(), "backup: {}", String::from_utf8_lossy(&out.stderr));
}

fn restore_into(file: &Path, dir: &Path) {
    let out = bin().args(["restore", file.to_str().unwrap()]).env("SWITCHYARD_DATA_DIR", dir).output().unwrap();
    assert!(out.status.success(), "restore: {}", String::from_utf8_lossy(&out.stderr));
}

/// `switchyard backup` while processes run, `switchyard restore` into a new data directory: every
/// process and connection is there and running, their containers untouched. A backup from
/// before a process existed brings back a store that does not know it: its service is left
/// alone (it used to be removed in the first reconcile round).
#[tokio::test]
async fn backups_bring_back_running_networks_and_old_ones_remove_nothing() {
    if !stack_here("backup and restore with processes") {
        return;
    }
    let s = setup(&[]).await;
    let instance = instance_of(&s).await;
    let files = tempfile::tempdir().unwrap();
    let (early, late) = (files.path().join("early.backup"), files.path().join("late.backup"));
    backup_to(&s.server, &s.admin, &early).await;

    let sensor = create(&s.admin, json!({"service_id": "sensor", "parameters": {"interval_ms": "200"}})).await;
    let counter = create(&s.admin, json!({"service_id": "counter", "parameters": {"step": "1"}})).await;
    wait_state(&s.admin, &sensor, "RUNNING", UP).await;
    wait_state(&s.admin, &counter, "RUNNING", UP).await;
    // They connect themselves (autoConnect), or are connected here.
    let r = connect(&s.admin, &sensor, "sensor/temperature", &counter, "counter/temperature").await;
    assert!(r.status() == 201 || r.status() == 409, "{}", r.text().await.unwrap());
    let all: Value = s.admin.get("/api/v1/connections").await.json().await.unwrap();
    let conn_id = all.as_array().unwrap()[0]["id"].as_str().unwrap().to_string();
    wait_connection(&s.admin, &conn_id, "CONNECTED", UP).await;
    backup_to(&s.server, &s.admin, &late).await;
    let tasks = (tasks_of(&sensor), tasks_of(&counter));

    let Setup { server, admin: _, _dir, _cleanup } = s;
    drop(server.kill());
    let env = [
        ("SWITCHYARD_INSTANCE_ID", instance.as_str()),
        ("SWITCHYARD_RECONCILE_SECS", "1"),
        ("SWITCHYARD_REGISTRY_PREFIX", "services/"),
    ];

    // The late backup: everything as it was.
    let restored = tempfile::tempdir().unwrap();
    restore_into(&late, restored.path());
    let server = Server::start(restored.path(), &env).await;
    let c = server.client();
    c.login_ok("admin", ADMIN_PASSWORD).await;
    wait_state(&c, &sensor, "RUNNING", UP).await;
    wait_state(&c, &counter, "RUNNING", UP).await;
    wait_connection(&c, &conn_id, "CONNECTED", UP).await;
    assert_eq!((tasks_of(&sensor), tasks_of(&counter)), tasks, "the processes' containers were not touched");
    drop(server.kill());

    // The early backup knows neither process: their services stay, and it says so.
    let old = tempfile::tempdir().unwrap();
    restore_into(&early, old.path());
    let server = Server::start(old.path(), &env).await;
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        assert_eq!(docker_services_named(&sensor), 1, "an unknown service is never removed");
        assert_eq!(docker_services_named(&counter), 1, "an unknown service is never removed");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(server);
    assert_eq!((tasks_of(&sensor), tasks_of(&counter)), tasks, "nor its containers touched");
}

/// Was: `limits.memory_bytes` ≥ 2^63 was accepted, wrapped negative, Docker refused it and the
/// reconciler queued a new failing create every 5 s for ever; `nano_cpus` 10^18 was accepted.
/// Process names took NUL and CR/LF.
#[tokio::test]
async fn bounds_are_checked_before_docker_is_asked() {
    if !stack_here("bounds") {
        return;
    }
    let s = setup(&[]).await;
    let c = &s.admin;
    let cases = [
        (json!({"memory_bytes": 9223372036854775808u64}), "limits.memory_bytes"),
        (json!({"memory_bytes": 18446744073709551615u64}), "limits.memory_bytes"),
        (json!({"nano_cpus": 1_000_000_000_000_000_000u64}), "limits.nano_cpus"),
        (json!({"nano_cpus": 1000}), "limits.nano_cpus"),
    ];
    for (limits, field) in cases {
        let r = c.post("/api/v1/processes", json!({"service_id": "sensor", "limits": limits})).await;
        let e = expect_error(r, 422, "validation_failed").await;
        assert_eq!(e["details"]["field"], field, "{limits}: {e}");
    }
    let r = c
        .post("/api/v1/processes", json!({"service_id": "sensor", "limits": {"nano_cpus": 1_000_000_000_000u64}}))
        .await;
    let e = expect_error(r, 422, "validation_failed").await;
    assert!(e["message"].as_str().unwrap().contains("CPUs"), "says what the nodes have: {e}");
    for name in ["a\u{0}b", "line\r\nbreak"] {
        let r = c.post("/api/v1/processes", json!({"service_id": "sensor", "name": name})).await;
        let e = expect_error(r, 422, "validation_failed").await;
        assert_eq!(e["details"]["field"], "name", "{e}");
    }
    let processes: Value = c.get("/api/v1/processes").await.json().await.unwrap();
    assert_eq!(processes.as_array().unwrap().len(), 0, "nothing was created: {processes}");
    let changes: Value = c.get("/api/v1/pending-changes").await.json().await.unwrap();
    assert_eq!(changes.as_array().unwrap().len(), 0, "nothing was queued: {changes}");
}

/// Was: deleting a user left their processes running with no owner.
#[tokio::test]
async fn a_user_who_owns_processes_is_not_deleted() {
    if !stack_here("deleting a user") {
        return;
    }
    let s = setup(&[]).await;
    let c = &s.admin;
    let r = c.post("/api/v1/users", json!({"username": "bob", "password": "a-long-password"})).await;
    let bob: Value = r.json().await.unwrap();
    let bob_id = bob["id"].as_str().unwrap();
    let id = create(c, json!({"service_id": "sensor", "name": "bob's sensor", "user_id": bob_id})).await;
    let e = expect_error(c.delete(&format!("/api/v1/users/{bob_id}")).await, 409, "conflict").await;
    assert!(e["message"].as_str().unwrap().contains("1 process: 'bob's sensor'"), "names what they own: {e}");
    assert_eq!(c.get(&format!("/api/v1/users/{bob_id}")).await.status(), 200, "bob is still there");
    assert_eq!(c.get(&format!("/api/v1/processes/{id}")).await.status(), 200);
    assert_eq!(c.delete(&format!("/api/v1/processes/{id}")).await.status(), 202);
    wait_gone(c, &id, UP).await;
    assert_eq!(c.delete(&format!("/api/v1/users/{bob_id}")).await.status(), 204);
}

/// Was: a process whose config trigger failed (a library that only logs that failure) stayed up
/// unconfigured for ever.
#[tokio::test]
async fn a_process_that_never_asks_for_its_configuration_gets_it() {
    if !stack_here("configuring a process that never asks") {
        return;
    }
    let s = setup(&[("SWITCHYARD_TRIGGER_GRACE_SECS", "2")]).await;
    let c = &s.admin;
    let id = create(
        c,
        json!({"service_id": "sensor", "parameters": {"interval_ms": "300"}, "environment": {"SWITCHYARD_SKIP_TRIGGER": "true"}}),
    )
    .await;
    let p = wait_state(c, &id, "RUNNING", UP).await;
    let history = p["history"].as_array().unwrap();
    assert!(
        history.iter().any(|h| h["reason"].as_str().is_some_and(|r| r.contains("did not ask for its configuration"))),
        "its history says why it was configured unasked: {history:#?}"
    );
    assert!(!history.iter().any(|h| h["state"] == "INITIALIZING"), "it never asked: {history:#?}");
    wait_for("the process logs its configuration", UP, || async { logs(c, &id).await.contains("interval_ms=300") })
        .await;
}
