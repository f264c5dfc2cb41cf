//! Several nodes: the swarm's manager plus the three worker nodes `scripts/test` brings up with
//! `scripts/cluster up 3` (dockerds in network namespaces, labelled `switchyard.cluster=wN`).
//! Placement by choice and automatic, a move with state whose connection keeps exchanging
//! messages, and a worker whose daemon is killed.

mod common;
mod stack;

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use common::*;
use serde_json::{json, Value};
use stack::*;

const UP: Duration = Duration::from_secs(120);

/// The worker nodes of `scripts/cluster` by name (w1…), as Docker node ids.
fn workers() -> Vec<(String, String)> {
    let out = docker(&["node", "ls", "-q", "--filter", "node.label=switchyard.cluster"]);
    let mut found = Vec::new();
    for id in out.split_whitespace() {
        let name = docker(&["node", "inspect", id, "--format", "{{index .Spec.Labels \"switchyard.cluster\"}}"]);
        found.push((name, id.to_string()));
    }
    found.sort();
    found
}

fn cluster_here(test: &str) -> bool {
    if !stack_here(test) {
        return false;
    }
    let ready = docker(&["node", "ls", "--filter", "node.label=switchyard.cluster", "--format", "{{.Status}}"]);
    if ready.lines().filter(|s| *s == "Ready").count() < 3 {
        println!("SKIPPED: {test}: fewer than three worker nodes are ready (run scripts/test, which runs scripts/cluster up 3)");
        return false;
    }
    true
}

/// Run `scripts/cluster` with `args`, failing the test with its output when it fails.
fn cluster(args: &[&str]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/cluster");
    let out = Command::new(&script).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "scripts/cluster {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `scripts/cluster` with its arguments when dropped, so a failing test leaves the
/// cluster whole: `Restore(&["start-worker", "w3"])` after stopping w3, `Restore(&["up", "3"])`
/// after removing it.
struct Restore(&'static [&'static str]);

impl Drop for Restore {
    fn drop(&mut self) {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/cluster");
        let _ = Command::new(script).args(self.0).output();
    }
}

async fn create(c: &Client, body: Value) -> Value {
    let r = c.post("/api/v1/processes", body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

async fn node_named(c: &Client, hostname: &str) -> Value {
    let nodes: Value = c.get("/api/v1/nodes").await.json().await.unwrap();
    nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["hostname"] == hostname)
        .cloned()
        .unwrap_or_else(|| panic!("no node {hostname}: {nodes:#}"))
}

async fn assign(c: &Client, node: &Value, body: Value) {
    let mut body = body;
    body["revision"] = node["revision"].clone();
    let r = c.put(&format!("/api/v1/nodes/{}/assignment", node["id"].as_str().unwrap()), body).await;
    assert_eq!(r.status(), 200, "assigning {}: {}", node["hostname"], r.text().await.unwrap());
}

async fn get(c: &Client, id: &str) -> Value {
    c.get(&format!("/api/v1/processes/{id}")).await.json().await.unwrap()
}

/// Wait until the process is RUNNING on `node` (a node id), failing with what it is.
async fn wait_running_on(c: &Client, id: &str, node: &str) -> Value {
    let deadline = Instant::now() + UP;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        last = get(c, id).await;
        if last["state"] == "RUNNING" && last["running_node_id"] == node && last["moving_to_node_id"].is_null() {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let changes: Value =
        c.get(&format!("/api/v1/processes/{id}/pending-changes")).await.json().await.unwrap_or_default();
    panic!("process {id} is not RUNNING on {node} within {UP:?}; it is {last:#}\nits changes: {changes:#}");
}

/// The Docker node the process's running task is on.
fn docker_node_of(process: &str) -> String {
    docker(&["service", "ps", process, "--filter", "desired-state=running", "--format", "{{.Node}}"])
}

async fn connection_state(c: &Client, id: &str) -> String {
    let v: Value = c.get(&format!("/api/v1/connections/{id}")).await.json().await.unwrap();
    v["state"].as_str().unwrap_or_default().to_string()
}

/// The count the counter logged when it was resumed, if it was.
fn resumed_count(log: &str) -> Option<u64> {
    log.lines().find(|l| l.contains("counter resumed")).and_then(|l| {
        let at = l.find("count=")? + "count=".len();
        l[at..].split(|ch: char| !ch.is_ascii_digit()).next()?.parse().ok()
    })
}

#[tokio::test]
async fn placement_move_with_state_and_a_failing_worker() {
    if !cluster_here("cluster") {
        return;
    }
    let names: Vec<String> = workers().into_iter().map(|(n, _)| n).collect();
    assert!(names.starts_with(&["w1".to_string(), "w2".to_string(), "w3".to_string()]), "workers: {names:?}");
    let s = setup(&[]).await;
    let c = &s.admin;
    let me: Value = c.get("/api/v1/auth/me").await.json().await.unwrap();

    // Pool "edge" = w1 and w2; w3 is the admin's private node.
    let edge: Value = c.post("/api/v1/node-pools", json!({"name": "edge"})).await.json().await.unwrap();
    let edge_id = edge["id"].as_str().unwrap().to_string();
    let (w1, w2, w3) = (node_named(c, "sy-w1").await, node_named(c, "sy-w2").await, node_named(c, "sy-w3").await);
    assert_eq!(w1["kind"], "unidentified", "a worker joins unidentified: {w1}");
    assign(c, &w1, json!({"kind": "public", "node_pool_id": edge_id})).await;
    assign(c, &w2, json!({"kind": "public", "node_pool_id": edge_id})).await;
    assign(c, &w3, json!({"kind": "private", "user_id": me["id"]})).await;
    let (w1_id, w2_id, w3_id) = (w1["id"].as_str().unwrap(), w2["id"].as_str().unwrap(), w3["id"].as_str().unwrap());

    // Placement by choice: the private node.
    let counter = create(
        c,
        json!({"service_id": "counter", "service_version": "1.0.0", "name": "counter-k",
               "parameters": {"step": "1", "interval_ms": "100"},
               "placement": {"kind": "private_node", "node_id": w3_id}}),
    )
    .await;
    let k = counter["id"].as_str().unwrap().to_string();
    assert_eq!(counter["running_node_id"], w3_id);
    assert!(counter["placement_reason"].as_str().unwrap().contains("private node sy-w3"), "{counter}");

    // Automatic within the pool: spread by load, the reason recorded.
    let params = json!({"interval_ms": "200"});
    let pool = json!({"kind": "node_pool", "pool_id": edge_id});
    let a = create(c, json!({"service_id": "sensor", "service_version": "1.0.0", "name": "sensor-a", "parameters": params, "placement": pool})).await;
    let b = create(c, json!({"service_id": "sensor", "service_version": "1.0.0", "name": "sensor-b", "parameters": params, "placement": pool})).await;
    let (a_node, b_node) = (a["running_node_id"].as_str().unwrap(), b["running_node_id"].as_str().unwrap());
    assert!([w1_id, w2_id].contains(&a_node) && [w1_id, w2_id].contains(&b_node), "{a}\n{b}");
    assert_ne!(a_node, b_node, "the second goes where fewer run: {a}\n{b}");
    assert!(b["placement_reason"].as_str().unwrap().contains("fewest processes"), "{b}");
    let a = a["id"].as_str().unwrap().to_string();
    let a_node = a_node.to_string();
    let (b, b_node) = (b["id"].as_str().unwrap().to_string(), b_node.to_string());
    for (id, node) in [(&k, w3_id), (&a, a_node.as_str()), (&b, b_node.as_str())] {
        wait_running_on(c, id, node).await;
    }
    assert_eq!(docker_node_of(&k), "sy-w3", "Docker runs the counter on w3");

    // A connection across nodes (w3 ↔ w1/w2 over the overlay network).
    let r = c
        .post(
            "/api/v1/connections",
            json!({"endpoint1": {"process_id": k, "interface_id": "counter/temperature"},
                   "endpoint2": {"process_id": a, "interface_id": "sensor/temperature"}}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let conn = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    wait_for("the connection is CONNECTED", UP, || async { connection_state(c, &conn).await == "CONNECTED" }).await;
    wait_for("the counter logs readings from the sensor", UP, || async {
        logs(c, &k).await.contains("received reading")
    })
    .await;
    wait_for("the counter has counted", UP, || async { logs(c, &k).await.contains("count=3") }).await;

    // Bad moves change nothing.
    let before = get(c, &k).await;
    let r = c
        .post(
            &format!("/api/v1/processes/{k}/move"),
            json!({"placement": {"kind": "node_pool", "pool_id": "0123456789abcdef01234567"}}),
        )
        .await;
    expect_error(r, 422, "validation_failed").await;
    let r = c.post(&format!("/api/v1/processes/{k}/move"), json!({"placement": {"kind": "nowhere"}})).await;
    assert!([400, 422].contains(&r.status().as_u16()), "an unknown placement kind: {}", r.status());
    let r = c.post(&format!("/api/v1/processes/{k}/move"), json!({"placement": pool, "revision": 0})).await;
    expect_error(r, 409, "stale_revision").await;
    assert_eq!(get(c, &k).await["revision"], before["revision"], "a refused move changes nothing");

    // The move: suspend (state kept), relocate, resume on a node of the pool.
    let asked = Instant::now();
    let r = c.post(&format!("/api/v1/processes/{k}/move"), json!({"placement": pool})).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let moving: Value = r.json().await.unwrap();
    let target = moving["moving_to_node_id"].as_str().unwrap().to_string();
    assert!([w1_id, w2_id].contains(&target.as_str()), "{moving}");
    let r = c.post(&format!("/api/v1/processes/{k}/move"), json!({"placement": pool})).await;
    expect_error(r, 409, "conflict").await;
    let moved = wait_running_on(c, &k, &target).await;
    wait_for("the connection is CONNECTED again", UP, || async { connection_state(c, &conn).await == "CONNECTED" })
        .await;
    let took = asked.elapsed();
    println!("move: RUNNING and CONNECTED again {took:?} after the request");
    assert!(moved["placement_reason"].as_str().unwrap().contains("sy-w"), "{moved}");
    assert_eq!(moved["placement"]["kind"], "node_pool");
    let host = node_named(c, "sy-w1").await;
    let expected_host = if host["id"] == target.as_str() { "sy-w1" } else { "sy-w2" };
    assert_eq!(docker_node_of(&k), expected_host, "Docker runs the counter on its new node");
    let log = logs(c, &k).await;
    let count = resumed_count(&log).unwrap_or_else(|| panic!("the counter did not log its resumption:\n{log}"));
    assert!(count >= 3, "the counter resumed from its state ({count}), not from zero:\n{log}");
    wait_for("readings reach the moved counter", UP, || async {
        let l = logs(c, &k).await;
        l.rsplit("counter resumed").next().is_some_and(|after| after.contains("received reading"))
    })
    .await;
    let changes: Value = c.get(&format!("/api/v1/processes/{k}/pending-changes")).await.json().await.unwrap();
    let kinds: Vec<&str> = changes.as_array().unwrap().iter().map(|ch| ch["kind"].as_str().unwrap()).collect();
    for kind in ["suspend_process", "move_process", "resume_process"] {
        assert!(kinds.contains(&kind), "the move's step {kind} is a pending change: {changes:#}");
    }
    for ch in changes.as_array().unwrap() {
        assert_eq!(ch["state"], "DONE", "{ch:#}");
    }

    // A worker fails: w3 runs one process that may move and one that may not.
    let private = json!({"kind": "private_node", "node_id": w3_id});
    let mover = create(c, json!({"service_id": "sensor", "service_version": "1.0.0", "name": "sensor-mover", "parameters": params, "placement": private, "move_on_failure": true})).await;
    let stayer = create(c, json!({"service_id": "sensor", "service_version": "1.0.0", "name": "sensor-stayer", "parameters": params, "placement": private})).await;
    let (mover, stayer) = (mover["id"].as_str().unwrap().to_string(), stayer["id"].as_str().unwrap().to_string());
    wait_running_on(c, &mover, w3_id).await;
    wait_running_on(c, &stayer, w3_id).await;
    let before = c.get(&format!("/api/v1/nodes/{w3_id}")).await.json::<Value>().await.unwrap();
    let revive = Restore(&["start-worker", "w3"]);
    cluster(&["stop-worker", "w3", "--kill", "--no-wait"]);
    let deadline = Instant::now() + UP;
    let (mut m, mut st);
    loop {
        (m, st) = (get(c, &mover).await, get(c, &stayer).await);
        let moved = m["state"] == "RUNNING" && m["running_node_id"] != w3_id;
        let reported =
            st["state"] == "FAILED" && st["state_reason"].as_str().unwrap_or_default().contains("sy-w3 is down");
        if moved && reported {
            break;
        }
        assert!(Instant::now() < deadline, "after w3 failed:\nthe mover is {m:#}\nthe stayer is {st:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(m["placement_reason"].as_str().unwrap().contains("moved off sy-w3, which went down"), "{m:#}");
    assert!(st["state_reason"].as_str().unwrap().contains("not set to move"), "{st:#}");

    // A document deploying a process to w3 while it is down: the process fails for want of its
    // node, and its step waits for the node to return instead of failing the deployment.
    let doc = json!({"scope": "listed", "processes": [{"name": "sensor-late", "service": "sensor", "version": "1.0.0",
        "parameters": params, "placement": {"node": w3_id}}]});
    let r = c.post("/api/v1/plans", doc).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let plan: Value = r.json().await.unwrap();
    let r = c.post("/api/v1/deployments", json!({"plan_id": plan["id"]})).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let deployment = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + UP;
    let late = loop {
        let all: Value = c.get("/api/v1/processes?search=sensor-late").await.json().await.unwrap();
        let found = all.as_array().unwrap().iter().find(|p| p["name"] == "sensor-late").cloned();
        if let Some(p) = found.as_ref().filter(|p| p["state"] == "FAILED") {
            assert!(p["state_reason"].as_str().unwrap_or_default().contains("sy-w3 is down"), "{p:#}");
            break p.clone();
        }
        assert!(Instant::now() < deadline, "the late process did not fail for its node: {found:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(revive);
    wait_running_on(c, &stayer, w3_id).await;
    wait_running_on(c, late["id"].as_str().unwrap(), w3_id).await;
    let deadline = Instant::now() + UP;
    loop {
        let d: Value = c.get(&format!("/api/v1/deployments/{deployment}")).await.json().await.unwrap();
        if d["state"] != "RUNNING" {
            assert_eq!(d["state"], "SUCCEEDED", "the deployment waited for the node: {d:#}");
            break;
        }
        assert!(Instant::now() < deadline, "the deployment did not finish: {d:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let late = late["id"].as_str().unwrap();
    assert_eq!(c.delete(&format!("/api/v1/processes/{late}")).await.status(), 202);
    let deadline = Instant::now() + UP;
    while c.get(&format!("/api/v1/processes/{late}")).await.status() != 404 {
        assert!(Instant::now() < deadline, "the late process is not deleted: {:#}", get(c, late).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The sync with the swarm wrote w3 (down, then ready again), which moved its revision; an
    // administrator's change based on the revision read before that still goes ahead. A second
    // change based on it does not: the assignment itself changed since.
    let now: Value = c.get(&format!("/api/v1/nodes/{w3_id}")).await.json().await.unwrap();
    assert!(now["revision"].as_u64() > before["revision"].as_u64(), "the sync wrote the node: {before:#} then {now:#}");
    let rename = json!({"revision": before["revision"], "kind": "private", "user_id": me["id"], "name": "edge-3"});
    let r = c.put(&format!("/api/v1/nodes/{w3_id}/assignment"), rename.clone()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "edge-3");
    expect_error(c.put(&format!("/api/v1/nodes/{w3_id}/assignment"), rename).await, 409, "stale_revision").await;

    // A node that leaves the swarm for good is forgotten, once nothing names it.
    let node_path = format!("/api/v1/nodes/{w3_id}");
    let e = expect_error(c.delete(&node_path).await, 409, "conflict").await;
    assert!(e["message"].as_str().unwrap().contains("still in the swarm"), "{e:#}");
    let rejoin = Restore(&["up", "3"]);
    cluster(&["remove", "w3"]);
    let deadline = Instant::now() + UP;
    let gone = loop {
        // The list syncs with the swarm; the single node is read as stored.
        let _ = c.get("/api/v1/nodes").await;
        let n: Value = c.get(&node_path).await.json().await.unwrap();
        if n["status"] == "MISSING" {
            break n;
        }
        assert!(Instant::now() < deadline, "w3 left the swarm, but its node is {n:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let e = expect_error(c.delete(&node_path).await, 409, "conflict").await;
    assert!(e["message"].as_str().unwrap().contains("'sensor-stayer'"), "refused while a process runs there: {e:#}");
    let e = expect_error(
        c.post("/api/v1/processes", json!({"service_id": "sensor", "service_version": "1.0.0", "name": "too-late", "parameters": params, "placement": private})).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("left the swarm"), "{e:#}");
    assert_eq!(c.delete(&format!("/api/v1/processes/{stayer}")).await.status(), 202);
    let deadline = Instant::now() + UP;
    while c.get(&format!("/api/v1/processes/{stayer}")).await.status() != 404 {
        assert!(
            Instant::now() < deadline,
            "the stayer on the node that left is not deleted: {:#}",
            get(c, &stayer).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stale = gone["revision"].as_u64().unwrap() + 1;
    expect_error(c.delete(&format!("{node_path}?revision={stale}")).await, 409, "stale_revision").await;
    assert_eq!(c.delete(&format!("{node_path}?revision={}", gone["revision"])).await.status(), 204);
    expect_error(c.get(&node_path).await, 404, "not_found").await;
    // It joins again: a new node, unidentified.
    drop(rejoin);
    let deadline = Instant::now() + UP;
    let back = loop {
        let nodes: Value = c.get("/api/v1/nodes").await.json().await.unwrap();
        let found =
            nodes.as_array().unwrap().iter().find(|n| n["hostname"] == "sy-w3" && n["status"] == "READY").cloned();
        if let Some(n) = found {
            break n;
        }
        assert!(Instant::now() < deadline, "w3 did not come back: {nodes:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_ne!(back["id"], w3_id);
    assert_eq!(back["kind"], "unidentified");
    drop(s);
}
