//! The fault catalogue, against the real stack: each fault is made for real and what Switchyard
//! promises is checked afterwards — nothing lost, every effect exactly once.
//!
//! * Switchyard SIGKILLed while a change holds its lease (the process it talks to is frozen, so
//!   the change is slow), then started again;
//! * dockerd restarted under running processes;
//! * the registry down while a process is created;
//! * a process container killed;
//! * the network between two processes cut and healed.
//!
//! (A worker node killed is in `cluster.rs`, on the multi-node swarm.) These faults touch the
//! shared stack (dockerd, the registry), so the tests of this file run one at a time; cargo runs
//! test binaries one after another, so no other test sees them.

mod common;
mod stack;

use std::{
    process::Command,
    sync::LazyLock,
    time::{Duration, Instant},
};

use common::*;
use serde_json::{json, Value};
use stack::*;

const UP: Duration = Duration::from_secs(120);

static ONE_AT_A_TIME: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(|| tokio::sync::Mutex::new(()));

fn fault(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/faults");
    let out = Command::new(script).args(args).output().unwrap();
    assert!(out.status.success(), "scripts/faults {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The container of a process's running task.
fn container_of(process: &str) -> String {
    let id = docker(&["ps", "-q", "--filter", &format!("label=com.docker.swarm.service.name={process}")]);
    assert!(!id.is_empty(), "process {process} has a running container");
    id.lines().next().unwrap().to_string()
}

async fn changes_of(c: &Client, id: &str) -> Vec<Value> {
    c.get(&format!("/api/v1/processes/{id}/pending-changes"))
        .await
        .json::<Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A sensor (sending every `sensor_ms`) and a counter (counting every `counter_ms`), both
/// RUNNING, and their connection, CONNECTED.
async fn network(c: &Client, sensor_ms: &str, counter_ms: &str) -> (String, String, String) {
    let sensor = create(c, json!({"service_id": "sensor", "parameters": {"interval_ms": sensor_ms}})).await;
    let counter =
        create(c, json!({"service_id": "counter", "parameters": {"step": "1", "interval_ms": counter_ms}})).await;
    wait_state(c, &sensor, "RUNNING", UP).await;
    wait_state(c, &counter, "RUNNING", UP).await;
    let conn = link(c, &sensor, &counter).await;
    wait_connection(c, &conn, "CONNECTED", UP).await;
    (sensor, counter, conn)
}

/// The connection Switchyard made between two processes (autoConnect) or makes now.
async fn link(c: &Client, sensor: &str, counter: &str) -> String {
    let r = connect(c, sensor, "sensor/temperature", counter, "counter/temperature").await;
    assert!(r.status() == 201 || r.status() == 409, "{}", r.text().await.unwrap());
    let all: Value = c.get(&format!("/api/v1/connections?process_id={sensor}")).await.json().await.unwrap();
    all.as_array().unwrap()[0]["id"].as_str().unwrap().to_string()
}

/// Switchyard killed while it waits on a frozen process in the middle of a suspend: after the
/// restart the change is taken up again when its lease runs out, the process is suspended once,
/// and what Switchyard says of its state is true (kept, or lost with the container that handed
/// it to the killed Switchyard).
#[tokio::test]
async fn killed_mid_change_the_change_finishes_once() {
    if !stack_here("fault: Switchyard killed mid-change") {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let lease = [("SWITCHYARD_CHANGE_LEASE_SECS", "3")];
    let s = setup(&lease).await;
    let id =
        create(&s.admin, json!({"service_id": "counter", "parameters": {"step": "1", "interval_ms": "100"}})).await;
    wait_state(&s.admin, &id, "RUNNING", UP).await;
    wait_for("the counter counts", UP, || async { counts(&logs(&s.admin, &id).await).len() >= 3 }).await;
    let container = container_of(&id);
    docker(&["pause", &container]);
    let counted = counts(&logs(&s.admin, &id).await).into_iter().max().unwrap();

    let r = s.admin.post(&format!("/api/v1/processes/{id}/suspend"), json!({})).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let admin = &s.admin;
    wait_for("the suspend change is running (held by its lease)", UP, || async {
        changes_of(admin, &id).await.iter().any(|c| c["kind"] == "suspend_process" && c["state"] == "RUNNING")
    })
    .await;
    let Setup { server, admin: _, _dir, _cleanup } = s;
    let data = server.kill(); // SIGKILL, mid-change
    docker(&["unpause", &container]);

    let instance = _cleanup.0.clone();
    let server = Server::start(
        &data,
        &[("SWITCHYARD_INSTANCE_ID", instance.as_str()), ("SWITCHYARD_RECONCILE_SECS", "1"), lease[0]],
    )
    .await;
    let c = server.client();
    c.login_ok("admin", ADMIN_PASSWORD).await;
    let p = wait_state(&c, &id, "SUSPENDED", UP).await;
    let suspends: Vec<Value> =
        changes_of(&c, &id).await.into_iter().filter(|c| c["kind"] == "suspend_process").collect();
    assert_eq!(suspends.len(), 1, "one suspend change: {suspends:#?}");
    assert_eq!(suspends[0]["state"], "DONE", "{suspends:#?}");
    assert!(suspends[0]["attempts"].as_u64().unwrap() >= 2, "taken up again after the kill: {suspends:#?}");
    let suspended: Vec<&Value> =
        p["history"].as_array().unwrap().iter().filter(|h| h["state"] == "SUSPENDED").collect();
    assert_eq!(suspended.len(), 1, "suspended once: {:#?}", p["history"]);

    // The frozen process may have handed its state to the Switchyard that was killed, and a
    // process stops after handing it over: then that state is gone with its container, and
    // Switchyard must say so rather than keep a fresh container's state as if it were the
    // process's. Either way what it says must be true.
    assert_eq!(c.post(&format!("/api/v1/processes/{id}/resume"), json!({})).await.status(), 202);
    wait_state(&c, &id, "RUNNING", UP).await;
    wait_for("the resumed counter counts", UP, || async { !counts(&logs(&c, &id).await).is_empty() }).await;
    let after = counts(&logs(&c, &id).await);
    let first = *after.iter().min().unwrap();
    if p["has_saved_state"] == true {
        println!("the frozen process's state reached Switchyard after the restart");
        assert!(first > counted, "it counts on from {counted}, not from the start: {after:?}");
    } else {
        println!("the frozen process handed its state to the killed Switchyard");
        let reason = suspended[0]["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("Switchyard stopped while the process handed its state over"),
            "says the state was lost: {reason}"
        );
        assert!(first <= 1, "no other container's state was passed off as its own: {after:?}");
    }
}

/// dockerd restarted: every container stops with it. Afterwards each process is RUNNING again in
/// one swarm service, and their connection is CONNECTED again, with no one's help.
#[tokio::test]
async fn dockerd_restarted_processes_and_connections_come_back() {
    if !stack_here("fault: dockerd restarted") {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let s = setup(&[]).await;
    let c = &s.admin;
    let (sensor, counter, conn) = network(c, "200", "1000").await;
    let before = container_of(&counter);

    fault(&["restart-dockerd"]);

    wait_for("the counter runs in a new container", UP, || async {
        let now = docker(&["ps", "-q", "--filter", &format!("label=com.docker.swarm.service.name={counter}")]);
        !now.is_empty() && !now.contains(&before)
    })
    .await;
    wait_state(c, &sensor, "RUNNING", UP).await;
    wait_state(c, &counter, "RUNNING", UP).await;
    wait_connection(c, &conn, "CONNECTED", UP).await;
    for p in [&sensor, &counter] {
        assert_eq!(docker_services_named(p), 1, "one swarm service for {p}");
        let failed: Vec<Value> = changes_of(c, p).await.into_iter().filter(|ch| ch["state"] == "FAILED").collect();
        assert!(failed.is_empty(), "no change failed for good: {failed:#?}");
    }
    let now = container_of(&counter);
    wait_for("readings arrive again", UP, || async { docker(&["logs", &now]).contains("received reading") }).await;
}

/// Puts the registry back however the test ends.
struct RegistryBack;
impl Drop for RegistryBack {
    fn drop(&mut self) {
        fault(&["registry-start"]);
    }
}

/// The registry down while a process is created: the catalogue is served from what Switchyard
/// read before, the process is created once and runs (its image is pinned by digest; the node
/// has it, or pulls it once the registry is back).
#[tokio::test]
async fn registry_down_during_a_create_the_process_still_runs_once() {
    if !stack_here("fault: registry down") {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let s = setup(&[]).await;
    let c = &s.admin;
    assert_eq!(c.get("/api/v1/services/sensor").await.status(), 200, "the catalogue is read");
    let back = RegistryBack;
    fault(&["registry-stop"]);
    let r = c.post("/api/v1/processes", json!({"service_id": "sensor", "parameters": {"interval_ms": "300"}})).await;
    assert_eq!(r.status(), 201, "created from the catalogue Switchyard keeps: {}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    // Down for a while longer, then back.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && c.get(&format!("/api/v1/processes/{id}")).await.json::<Value>().await.unwrap()["state"] != "RUNNING"
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(back);
    wait_state(c, &id, "RUNNING", UP).await;
    assert_eq!(docker_services_named(&id), 1, "one swarm service");
    let creates: Vec<Value> =
        changes_of(c, &id).await.into_iter().filter(|ch| ch["kind"] == "create_process").collect();
    assert_eq!(creates.len(), 1, "created once: {creates:#?}");
    assert_eq!(creates[0]["state"], "DONE");
}

/// A process's container killed: the swarm starts a new one, Switchyard configures it, the
/// connection is INTERRUPTED meanwhile and CONNECTED again afterwards; the history says why.
#[tokio::test]
async fn a_killed_container_is_replaced_and_reconnected() {
    if !stack_here("fault: a container killed") {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let s = setup(&[]).await;
    let c = &s.admin;
    let (_sensor, counter, conn) = network(c, "200", "1000").await;

    docker(&["kill", &container_of(&counter)]);
    wait_connection(c, &conn, "INTERRUPTED", UP).await;
    wait_connection(c, &conn, "CONNECTED", UP).await;
    let p = wait_state(c, &counter, "RUNNING", UP).await;
    assert!(
        p["history"].as_array().unwrap().iter().any(|h| h["reason"].as_str().is_some_and(|r| r.contains("killed"))),
        "its history says it was killed: {:#?}",
        p["history"]
    );
    assert_eq!(docker_services_named(&counter), 1);
}

/// The network between two processes cut, then healed. The data channel runs from process to
/// process, so this is seen by the processes, not by Switchyard (which is not in the data path):
/// their heartbeats notice, they reconnect by themselves once the network is back, and readings
/// flow again; Switchyard's records stay as they were, with nothing to repair.
#[tokio::test]
async fn a_cut_network_heals_and_readings_flow_again() {
    if !stack_here("fault: network cut") {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let s = setup(&[]).await;
    let c = &s.admin;
    let (sensor, counter, conn) = network(c, "1000", "5000").await;
    wait_for("readings arrive", UP, || async { last_reading(&logs(c, &counter).await).is_some() }).await;

    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", &container_of(&counter)]);
    let network =
        format!("usernet-{}", c.get("/api/v1/auth/me").await.json::<Value>().await.unwrap()["id"].as_str().unwrap());
    let sensor_ip = docker(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"),
        &container_of(&sensor),
    ]);
    assert!(!sensor_ip.is_empty(), "the sensor's address on {network}");
    fault(&["cut", &pid, &sensor_ip]);
    let healed = scopeguard(&pid, &sensor_ip);
    wait_for("the counter notices the cut", Duration::from_secs(90), || async {
        logs(c, &counter).await.contains("connection interrupted")
    })
    .await;
    drop(healed);
    wait_for("the counter reconnects", Duration::from_secs(90), || async {
        logs(c, &counter).await.contains("connection back")
    })
    .await;
    let seen = last_reading(&logs(c, &counter).await).unwrap_or(0);
    wait_for("readings flow again", UP, || async {
        last_reading(&logs(c, &counter).await).is_some_and(|n| n > seen + 2)
    })
    .await;
    assert_eq!(connection(c, &conn).await["state"], "CONNECTED");
    wait_state(c, &sensor, "RUNNING", UP).await;
    wait_state(c, &counter, "RUNNING", UP).await;
}

/// The sequence number of the last reading a counter's log shows.
fn last_reading(log: &str) -> Option<u64> {
    log.lines()
        .filter_map(|l| l.split("received reading ").nth(1))
        .filter_map(|rest| rest.split(':').next()?.trim().parse().ok())
        .next_back()
}

/// Heals a cut when dropped (also when the test fails).
struct Heal(String, String);
impl Drop for Heal {
    fn drop(&mut self) {
        fault(&["heal", &self.0, &self.1]);
    }
}
fn scopeguard(pid: &str, ip: &str) -> Heal {
    Heal(pid.to_string(), ip.to_string())
}
