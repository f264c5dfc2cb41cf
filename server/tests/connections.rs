//! Connections against the real stack: example processes (sensor, counter) built on the Rust
//! service library run in the swarm, Switchyard connects them over their management channels,
//! and the counter's log shows the readings the sensor sends it over the data channel.

mod common;
mod stack;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use stack::*;

const UP: Duration = Duration::from_secs(90);

fn needs_counter_11(test: &str) -> bool {
    let registry = std::env::var("SWITCHYARD_REGISTRY_URL").unwrap_or_else(|_| "http://10.213.0.1:5000".into());
    let have = std::process::Command::new("curl")
        .args(["-sf", &format!("{registry}/v2/services/counter/tags/list")])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("1.1.0"));
    if !have {
        println!("SKIPPED: {test}: counter 1.1.0 is not in the registry at {registry} (run scripts/images)");
    }
    have
}

/// The log of one container.
fn docker_logs(container: &str) -> String {
    let out = std::process::Command::new("docker").args(["logs", container]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Wait until the process's log has `needle`; fails with the log.
async fn wait_log(c: &Client, id: &str, needle: &str) {
    let deadline = Instant::now() + UP;
    loop {
        let l = logs(c, id).await;
        if l.contains(needle) {
            return;
        }
        if Instant::now() > deadline {
            panic!("process {id} did not log '{needle}' within {UP:?}; its log:\n{l}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const SENSOR: &str = "sensor/temperature";
const COUNTER: &str = "counter/temperature";

#[tokio::test]
async fn connected_processes_exchange_messages_and_connections_follow_their_processes() {
    if !stack_here("connections") {
        return;
    }
    let s = setup(&[]).await;
    let c = &s.admin;
    let params = json!({"interval_ms": "200"});
    let a = create(
        c,
        json!({"service_id": "sensor", "service_version": "1.0.0", "name": "sensor-a", "parameters": params}),
    )
    .await;
    let b = create(
        c,
        json!({"service_id": "sensor", "service_version": "1.0.0", "name": "sensor-b", "parameters": params}),
    )
    .await;
    let k = create(
        c,
        json!({"service_id": "counter", "service_version": "1.0.0", "name": "counter-k", "parameters": {"step": "1"}}),
    )
    .await;

    // Asked for while the processes are still starting: saved STARTING, connected once both run.
    let r = connect(c, &k, COUNTER, &a, SENSOR).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let conn: Value = r.json().await.unwrap();
    let id = conn["id"].as_str().unwrap().to_string();
    assert_eq!(conn["state"], "STARTING");
    assert_eq!(conn["endpoint1"]["interface_version_name"], "1");
    let port = conn["port"].as_u64().unwrap();
    assert!((5000..10000).contains(&port), "{conn}");
    wait_connection(c, &id, "CONNECTED", UP).await;
    // They meet on their user's network, cut from Switchyard's pool (SWITCHYARD_NETWORK_POOL,
    // 10.240.0.0/12) at its size (/20), not one of Docker's /24s that hold 249 containers.
    let network = format!("usernet-{}", conn["user_id"].as_str().unwrap());
    let subnet = docker(&["network", "inspect", &network, "--format", "{{range .IPAM.Config}}{{.Subnet}}{{end}}"]);
    let octets: Vec<u8> = subnet.split(['.', '/']).filter_map(|o| o.parse().ok()).collect();
    assert!(
        octets.len() == 5 && octets[0] == 10 && (240..=255).contains(&octets[1]) && octets[4] == 20,
        "network {network} has subnet '{subnet}'"
    );
    wait_for("the counter logs readings from the sensor", UP, || async {
        logs(c, &k).await.contains("received reading")
    })
    .await;
    assert!(logs(c, &a).await.contains("sent reading"), "the sensor says it sent them");

    // Every refusal, precisely, and nothing created.
    let before: Value = c.get("/api/v1/connections").await.json().await.unwrap();
    let r = connect(c, &k, COUNTER, &b, SENSOR).await;
    let body = expect_error(r, 409, "conflict").await;
    assert!(body["message"].as_str().unwrap().contains("allows only one connection"), "{body}");
    let r = connect(c, &a, SENSOR, &b, SENSOR).await;
    let body = expect_error(r, 422, "validation_failed").await;
    assert!(body["message"].as_str().unwrap().contains("do not fit"), "{body}");
    let r = connect(c, &a, SENSOR, &k, COUNTER).await;
    let body = expect_error(r, 409, "conflict").await;
    assert!(body["message"].as_str().unwrap().contains("already connected"), "{body}");
    let r = connect(c, &a, SENSOR, &a, SENSOR).await;
    let body = expect_error(r, 422, "validation_failed").await;
    assert!(body["message"].as_str().unwrap().contains("cannot be connected to itself"), "{body}");
    let r = connect(c, &a, "sensor/humidity", &k, COUNTER).await;
    let body = expect_error(r, 422, "validation_failed").await;
    assert!(body["message"].as_str().unwrap().contains("has no interface 'sensor/humidity'"), "{body}");
    let r = connect(c, &a, SENSOR, "0123456789abcdef01234567", COUNTER).await;
    expect_error(r, 422, "validation_failed").await;
    let r = connect(c, "not an id!", SENSOR, &k, COUNTER).await;
    expect_error(r, 422, "validation_failed").await;
    // Another user's process: invisible to that user; different owners for an administrator.
    let r = c.post("/api/v1/users", json!({"username": "bob", "password": "bob-password-1"})).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let bob_user: Value = r.json().await.unwrap();
    let bobs = create(
        c,
        json!({"service_id": "counter", "service_version": "1.0.0", "parameters": {"step": "1"}, "user_id": bob_user["id"]}),
    )
    .await;
    let r = connect(c, &b, SENSOR, &bobs, COUNTER).await;
    let body = expect_error(r, 422, "validation_failed").await;
    assert!(body["message"].as_str().unwrap().contains("different users"), "{body}");
    let bob = s.server.client();
    bob.login_ok("bob", "bob-password-1").await;
    let r = connect(&bob, &bobs, COUNTER, &b, SENSOR).await;
    let body = expect_error(r, 422, "validation_failed").await;
    assert!(body["message"].as_str().unwrap().contains("no process with id"), "{body}");
    let r = bob.get(&format!("/api/v1/connections/{id}")).await;
    expect_error(r, 404, "not_found").await;
    let after: Value = c.get("/api/v1/connections").await.json().await.unwrap();
    assert_eq!(before, after, "no refusal created anything");

    // What could connect to the counter's interface: sensor-b's fits but for the cardinality;
    // the catalogue's sensor fits.
    let cand: Value = c
        .get(&format!("/api/v1/processes/{k}/interfaces/{}/candidates", COUNTER.replace('/', "%2F")))
        .await
        .json()
        .await
        .unwrap();
    let b_cand = cand["processes"].as_array().unwrap().iter().find(|x| x["process_id"] == b.as_str()).unwrap();
    assert_eq!(b_cand["fits"], false, "{cand:#}");
    assert_eq!(b_cand["refusal"]["reason"], "only_one_connection");
    assert!(
        cand["services"].as_array().unwrap().iter().any(|x| x["service_id"] == "sensor" && x["fits"] == true),
        "{cand:#}"
    );

    // The counter's container is killed: INTERRUPTED, then CONNECTED again with no user
    // action, and readings arrive in the new container.
    let container = docker(&["ps", "-q", "--filter", &format!("label=com.docker.swarm.service.name={k}")]);
    assert!(!container.is_empty());
    docker(&["kill", &container]);
    wait_connection(c, &id, "INTERRUPTED", UP).await;
    let conn = wait_connection(c, &id, "CONNECTED", UP).await;
    assert!(conn["state_reason"].is_null(), "{conn}");
    wait_for("readings reach the restarted counter's new container", UP, || async {
        let now = docker(&["ps", "-q", "--filter", &format!("label=com.docker.swarm.service.name={k}")]);
        !now.is_empty() && now != container && docker_logs(&now).contains("received reading")
    })
    .await;

    // The sensor is suspended: SUSPENDED; the connection is then terminated, which completes
    // although the sensor has no container to tell.
    let r = c.post(&format!("/api/v1/processes/{a}/suspend"), json!({})).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    wait_state(c, &a, "SUSPENDED", UP).await;
    wait_connection(c, &id, "SUSPENDED", UP).await;
    let r = c.delete(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    wait_connection(c, &id, "TERMINATED", UP).await;
    let listed: Value = c.get("/api/v1/connections").await.json().await.unwrap();
    assert!(
        listed.as_array().unwrap().iter().all(|x| x["id"] != id.as_str()),
        "terminated ones are not listed by default"
    );
    let listed: Value = c.get("/api/v1/connections?include_terminated=true").await.json().await.unwrap();
    assert!(listed.as_array().unwrap().iter().any(|x| x["id"] == id.as_str()));
    wait_log(c, &k, "connection ended").await;

    // The counter's one connection is free again: sensor-b connects; deleting sensor-b ends
    // the connection before the process goes.
    let r = connect(c, &b, SENSOR, &k, COUNTER).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let id2 = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    wait_connection(c, &id2, "CONNECTED", UP).await;
    let r = c.delete(&format!("/api/v1/processes/{b}")).await;
    assert_eq!(r.status(), 202);
    wait_gone(c, &b, UP).await;
    let conn = wait_connection(c, &id2, "TERMINATED", UP).await;
    assert!(conn["state_reason"].as_str().unwrap_or_default().contains("being deleted"), "{conn}");
    let changes: Value = c.get(&format!("/api/v1/connections/{id2}/pending-changes")).await.json().await.unwrap();
    for ch in changes.as_array().unwrap() {
        assert!(["DONE", "CANCELLED"].contains(&ch["state"].as_str().unwrap()), "every change finished: {ch:#}");
    }

    // Both processes of a connection deleted one right after the other: the second deletion
    // must not cancel the telling of its side that the first asked for (that left the connection
    // terminating and CONNECTED for good).
    let d = create(
        c,
        json!({"service_id": "sensor", "service_version": "1.0.0", "name": "sensor-d", "parameters": params}),
    )
    .await;
    let r = connect(c, &d, SENSOR, &k, COUNTER).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let id3 = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    wait_connection(c, &id3, "CONNECTED", UP).await;
    for p in [&d, &k] {
        let r = c.delete(&format!("/api/v1/processes/{p}")).await;
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    }
    let conn = wait_connection(c, &id3, "TERMINATED", UP).await;
    assert!(conn["state_reason"].as_str().unwrap_or_default().contains("being deleted"), "{conn}");
    wait_gone(c, &d, UP).await;
    wait_gone(c, &k, UP).await;
    drop(s);
}

#[tokio::test]
async fn auto_connect_interfaces_connect_themselves() {
    if !stack_here("auto-connect") || !needs_counter_11("auto-connect") {
        return;
    }
    let s = setup(&[]).await;
    let c = &s.admin;
    let sensor =
        create(c, json!({"service_id": "sensor", "service_version": "1.1.0", "parameters": {"interval_ms": "200"}}))
            .await;
    wait_state(c, &sensor, "RUNNING", UP).await;
    let counter =
        create(c, json!({"service_id": "counter", "service_version": "1.1.0", "parameters": {"step": "1"}})).await;
    let list_url = format!("/api/v1/connections?process_id={counter}");
    wait_for("the new counter is connected to the sensor by itself", UP, || async {
        let list: Value = c.get(&list_url).await.json().await.unwrap();
        !list.as_array().unwrap().is_empty()
    })
    .await;
    let list: Value = c.get(&list_url).await.json().await.unwrap();
    let conn = list[0].clone();
    let ends = [conn["endpoint1"]["process_id"].clone(), conn["endpoint2"]["process_id"].clone()];
    assert!(ends.contains(&json!(sensor)) && ends.contains(&json!(counter)), "{conn}");
    let id = conn["id"].as_str().unwrap().to_string();
    wait_connection(c, &id, "CONNECTED", UP).await;
    wait_for("the counter receives readings", UP, || async { logs(c, &counter).await.contains("received reading") })
        .await;
    let changes: Value = c.get(&format!("/api/v1/connections/{id}/pending-changes")).await.json().await.unwrap();
    assert!(
        changes
            .as_array()
            .unwrap()
            .iter()
            .any(|ch| ch["description"].as_str().unwrap_or_default().starts_with("Auto-connect")),
        "{changes:#}"
    );
    drop(s);
}
