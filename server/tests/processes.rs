//! Processes against the real stack: the `switchyard` binary, dockerd in swarm mode, the registry
//! with the example services (pushed by `scripts/images`), and the management channel of real
//! processes built on the Rust service library.
//!
//! Each test runs its own server with its own instance id and removes every Docker object of
//! that instance when it ends.

mod common;
mod stack;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use stack::*;

const UP: Duration = Duration::from_secs(90);

#[tokio::test]
async fn a_process_lives_its_whole_life_through_the_management_channel() {
    if !stack_here("process life cycle") {
        return;
    }
    let s = setup(&[]).await;
    let c = &s.admin;
    let r = c
        .post(
            "/api/v1/processes",
            json!({"service_id": "sensor", "service_version": "1.0.0", "name": "kitchen",
                   "parameters": {"interval_ms": "100", "unit": "celsius"},
                   "environment": {"GREETING": "hello"}}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let p: Value = r.json().await.unwrap();
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["state"], "STARTING");
    assert!(p["image"].as_str().unwrap().contains("@sha256:"), "pinned by digest: {p}");
    assert!(p.get("token").is_none(), "the process token never leaves the server");

    // Through INITIALIZING (the trigger) to RUNNING (the configuration's answer).
    let p = wait_state(c, &id, "RUNNING", UP).await;
    let states: Vec<&str> = p["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect();
    assert!(states.contains(&"INITIALIZING"), "the trigger was seen: {states:?}");
    let spec = docker(&["service", "inspect", &id, "--format", "{{json .Spec}}"]);
    let spec: Value = serde_json::from_str(&spec).unwrap();
    let env: Vec<&str> =
        spec["TaskTemplate"]["ContainerSpec"]["Env"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    for key in [
        "ORCHESTRATOR_HOST=orchestrator",
        "ORCHESTRATOR_PORT=8080",
        &format!("PROCESS_ID={id}"),
        "USER_NAME=admin",
        "GREETING=hello",
    ] {
        assert!(env.contains(&key), "{key} in {env:?}");
    }
    assert!(env.iter().any(|e| e.starts_with("ORCHESTRATOR_TOKEN=")));
    assert!(spec["TaskTemplate"]["ContainerSpec"]["Image"].as_str().unwrap().contains("@sha256:"));
    assert!(spec["TaskTemplate"]["Placement"]["Constraints"][0].as_str().unwrap().starts_with("node.id=="));
    assert_eq!(spec["TaskTemplate"]["Networks"][0]["Aliases"][0], id.as_str());
    wait_for("the process logs its configuration", UP, || async { logs(c, &id).await.contains("interval_ms=100") })
        .await;

    // Its node counts it, and the list filters by node.
    let node_id = p["running_node_id"].as_str().unwrap().to_string();
    let node: Value = c.get(&format!("/api/v1/nodes/{node_id}")).await.json().await.unwrap();
    assert!(node["processes"].as_u64().unwrap() >= 1, "{node}");
    let on_node: Value = c.get(&format!("/api/v1/processes?node_id={node_id}")).await.json().await.unwrap();
    assert!(on_node.as_array().unwrap().iter().any(|x| x["id"] == id.as_str()), "{on_node}");
    let r = c.get("/api/v1/processes?node_id=not-an-id!").await;
    assert_eq!(r.status(), 400, "a malformed node id is refused");

    // Reconfigure: sent over the management channel, no restart.
    let task_before = docker(&["service", "ps", "-q", "--filter", "desired-state=running", &id]);
    // Based on the revision read while it started: its state changing since does not make
    // the change stale; the same change again does, as its configuration changed since.
    let r = c
        .patch(
            &format!("/api/v1/processes/{id}"),
            json!({"parameters": {"interval_ms": "250"}, "revision": p["revision"]}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let again = c
        .patch(
            &format!("/api/v1/processes/{id}"),
            json!({"parameters": {"interval_ms": "300"}, "revision": p["revision"]}),
        )
        .await;
    expect_error(again, 409, "stale_revision").await;
    wait_for("the process logs its new configuration", UP, || async { logs(c, &id).await.contains("interval_ms=250") })
        .await;
    assert_eq!(
        docker(&["service", "ps", "-q", "--filter", "desired-state=running", &id]),
        task_before,
        "not restarted"
    );
    wait_state(c, &id, "RUNNING", UP).await;

    // Suspend: the state is handed over and kept, the swarm service goes.
    let r = c.post(&format!("/api/v1/processes/{id}/suspend"), json!({})).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let p = wait_state(c, &id, "SUSPENDED", UP).await;
    assert_eq!(p["has_saved_state"], true, "{p}");
    assert_eq!(docker_services_named(&id), 0, "the swarm service is removed while suspended");
    let r = c.post(&format!("/api/v1/processes/{id}/suspend"), json!({})).await;
    expect_error(r, 409, "conflict").await;

    // Resume: a new container, configured, then given its state back.
    let r = c.post(&format!("/api/v1/processes/{id}/resume"), json!({})).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let p = wait_state(c, &id, "RUNNING", UP).await;
    assert_eq!(p["has_saved_state"], false, "the state was given back: {p}");
    wait_for("the process logs that it resumed", UP, || async { logs(c, &id).await.contains("resumed") }).await;

    // Delete: terminated, swarm service removed, then the record.
    let r = c.delete(&format!("/api/v1/processes/{id}")).await;
    assert_eq!(r.status(), 202);
    wait_gone(c, &id, UP).await;
    wait_for("the swarm service is removed", UP, || async { docker_services_named(&id) == 0 }).await;
    let changes: Value = c.get("/api/v1/pending-changes?per_page=100").await.json().await.unwrap();
    for ch in changes.as_array().unwrap() {
        assert!(["DONE", "CANCELLED"].contains(&ch["state"].as_str().unwrap()), "every change finished: {ch:#}");
    }
    // The server first (its upkeep would make the anchor again), then its Docker objects.
    drop(s);
}

#[tokio::test]
async fn bad_process_requests_get_precise_errors_and_create_nothing() {
    if !stack_here("bad process requests") {
        return;
    }
    let s = setup(&[("SWITCHYARD_MAX_PROCESS_MEMORY", "268435456")]).await;
    let c = &s.admin;
    let bad = [
        (json!({"service_id": "no-such-service"}), 422, "service_id"),
        (json!({"service_id": "sensor", "service_version": "9.9.9"}), 422, "service_version"),
        (json!({"service_id": "sensor", "parameters": {"interval_ms": "often"}}), 422, "parameters.interval_ms"),
        (json!({"service_id": "counter", "parameters": {}}), 422, "parameters.step"),
        (
            json!({"service_id": "sensor", "parameters": {"interval_ms": "1", "colour": "red"}}),
            422,
            "parameters.colour",
        ),
        (
            json!({"service_id": "sensor", "parameters": {"interval_ms": "1"}, "environment": {"PROCESS_ID": "x"}}),
            422,
            "environment.PROCESS_ID",
        ),
        (
            json!({"service_id": "sensor", "parameters": {"interval_ms": "1"}, "limits": {"memory_bytes": 1073741824u64}}),
            422,
            "limits.memory_bytes",
        ),
        (
            json!({"service_id": "sensor", "parameters": {"interval_ms": "1"}, "placement": {"kind": "node_pool", "pool_id": "0123456789abcdef01234567"}}),
            422,
            "placement.pool_id",
        ),
        (
            json!({"service_id": "sensor", "parameters": {"interval_ms": "1"}, "placement": {"kind": "private_node", "node_id": "0123456789abcdef01234567"}}),
            422,
            "placement.node_id",
        ),
    ];
    for (body, status, field) in bad {
        let r = c.post("/api/v1/processes", body.clone()).await;
        let e = expect_error(r, status, "validation_failed").await;
        assert_eq!(e["details"]["field"], field, "for {body}: {e}");
    }
    // An empty pool.
    let empty: Value = c.post("/api/v1/node-pools", json!({"name": "empty"})).await.json().await.unwrap();
    let r = c
        .post(
            "/api/v1/processes",
            json!({"service_id": "sensor", "parameters": {"interval_ms": "1"}, "placement": {"kind": "node_pool", "pool_id": empty["id"]}}),
        )
        .await;
    let e = expect_error(r, 422, "validation_failed").await;
    assert!(e["message"].as_str().unwrap().contains("has no nodes"), "{e}");
    // Malformed: unknown fields, wrong types.
    let r = c.post("/api/v1/processes", json!({"service_id": "sensor", "colour": 1})).await;
    assert_eq!(r.status(), 422, "unknown field");
    let r = c.post("/api/v1/processes", json!({"service_id": 5})).await;
    assert_eq!(r.status(), 422, "wrong type");
    // A user may not mount host directories, nor see or use others' processes.
    let r = c.post("/api/v1/users", json!({"username": "bob", "password": "bob-password-1", "admin": false})).await;
    assert_eq!(r.status(), 201);
    let bob = s.server.client();
    bob.login_ok("bob", "bob-password-1").await;
    let r = bob
        .post(
            "/api/v1/processes",
            json!({"service_id": "sensor", "parameters": {"interval_ms": "1"}, "mounts": [{"source": "/etc", "target": "/host-etc"}]}),
        )
        .await;
    expect_error(r, 403, "forbidden").await;
    let r = bob.get("/api/v1/processes?user_id=0123456789abcdef01234567").await;
    expect_error(r, 403, "forbidden").await;
    // Nothing was created by any of it.
    let r = c.get("/api/v1/processes").await;
    assert_eq!(r.headers()["x-total-count"], "0");
    let r = c.get("/api/v1/pending-changes").await;
    assert_eq!(r.headers()["x-total-count"], "0");
    // The server first (its upkeep would make the anchor again), then its Docker objects.
    drop(s);
}

#[tokio::test]
async fn faults_are_seen_and_repaired() {
    if !stack_here("process faults") {
        return;
    }
    let s = setup(&[]).await;
    let c = &s.admin;
    let p: Value = c
        .post("/api/v1/processes", json!({"service_id": "counter", "parameters": {"step": "2"}}))
        .await
        .json()
        .await
        .unwrap();
    let id = p["id"].as_str().unwrap().to_string();
    wait_state(c, &id, "RUNNING", UP).await;

    // Its container is killed: the reason shows, the swarm restarts it, and the new container
    // gets its configuration again.
    let container = docker(&["ps", "-q", "--filter", &format!("label=com.docker.swarm.service.name={id}")]);
    assert!(!container.is_empty(), "a container runs");
    docker(&["kill", &container]);
    wait_for("the restart is recorded with its reason", UP, || async {
        let p: Value = c.get(&format!("/api/v1/processes/{id}")).await.json().await.unwrap();
        p["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["reason"].as_str().is_some_and(|r| r.contains("exit code 137")))
    })
    .await;
    let p = wait_state(c, &id, "RUNNING", UP).await;
    let inits = p["history"].as_array().unwrap().iter().filter(|h| h["state"] == "INITIALIZING").count();
    assert!(inits >= 2, "the configuration was sent again: {p:#}");

    // Its swarm service is removed by hand: reconciled.
    docker(&["service", "rm", &id]);
    wait_for("the removal is noticed", UP, || async {
        let p: Value = c.get(&format!("/api/v1/processes/{id}")).await.json().await.unwrap();
        p["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["reason"].as_str().is_some_and(|r| r.contains("removed outside")))
    })
    .await;
    wait_state(c, &id, "RUNNING", UP).await;
    assert_eq!(docker_services_named(&id), 1);
    // The server first (its upkeep would make the anchor again), then its Docker objects.
    drop(s);
}

#[tokio::test]
async fn a_change_whose_worker_died_completes_exactly_once() {
    if !stack_here("crash during a pending change") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let instance = instance_id();
    let cleanup = Cleanup(instance.clone());
    let env = [
        ("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("SWITCHYARD_INSTANCE_ID", instance.as_str()),
        ("SWITCHYARD_RECONCILE_SECS", "1"),
        ("SWITCHYARD_CHANGE_LEASE_SECS", "3"),
        ("SWITCHYARD_REGISTRY_PREFIX", "services/"),
    ];
    let mut hung = env.to_vec();
    hung.push(("SWITCHYARD_TEST_HANG_AFTER_CHANGE", "create_process"));
    let server = Server::start(dir.path(), &hung).await;
    let c = server.client();
    c.login_ok("admin", ADMIN_PASSWORD).await;
    let nodes: Value = c.get("/api/v1/nodes").await.json().await.unwrap();
    let node = &nodes.as_array().unwrap()[0];
    let admin_id = c.get("/api/v1/auth/me").await.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let r = c
        .put(
            &format!("/api/v1/nodes/{}/assignment", node["id"].as_str().unwrap()),
            json!({"kind": "private", "user_id": admin_id, "revision": node["revision"]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let p: Value = c
        .post("/api/v1/processes", json!({"service_id": "counter", "parameters": {"step": "1"}}))
        .await
        .json()
        .await
        .unwrap();
    let id = p["id"].as_str().unwrap().to_string();
    // The worker made the swarm service, then hangs before recording it: kill Switchyard there.
    wait_for("the swarm service is created", UP, || async { docker_services_named(&id) == 1 }).await;
    let changes: Value = c.get("/api/v1/pending-changes").await.json().await.unwrap();
    assert_eq!(changes[0]["state"], "RUNNING", "{changes:#}");
    server.kill();

    let server = Server::start(dir.path(), &env).await;
    let c = server.client();
    c.login_ok("admin", ADMIN_PASSWORD).await;
    wait_state(&c, &id, "RUNNING", UP).await;
    assert_eq!(docker_services_named(&id), 1, "exactly one swarm service");
    let changes: Value = c.get("/api/v1/pending-changes?sort=created").await.json().await.unwrap();
    let create = changes.as_array().unwrap().iter().find(|c| c["kind"] == "create_process").unwrap();
    assert_eq!(create["state"], "DONE", "{create:#}");
    assert_eq!(create["attempts"], 2, "taken up once more after the lease ran out: {create:#}");
    drop(server);
    drop(cleanup);
}

/// A TCP proxy in front of the registry that can be stopped and started again on its port.
struct RegistryProxy {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RegistryProxy {
    async fn start(port: u16) -> RegistryProxy {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = std::env::var("SWITCHYARD_REGISTRY_URL")
            .unwrap_or_else(|_| "http://10.213.0.1:5000".into())
            .trim_start_matches("http://")
            .to_string();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { break };
                let upstream = upstream.clone();
                conns.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        RegistryProxy { port, task: Some(task) }
    }

    /// Stop listening and cut every connection (dropping the task drops its JoinSet).
    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

#[tokio::test]
async fn a_registry_that_stops_during_a_create_is_survived() {
    if !stack_here("registry stopped during a create") {
        return;
    }
    let mut proxy = RegistryProxy::start(0).await;
    let port = proxy.port;
    proxy.stop().await;
    let registry = format!("http://127.0.0.1:{port}");
    let real = std::env::var("SWITCHYARD_REGISTRY_URL").unwrap_or_else(|_| "http://10.213.0.1:5000".into());
    let anchor = format!("{}/switchyard/anchor:latest", real.trim_start_matches("http://"));
    let s =
        setup(&[("SWITCHYARD_REGISTRY_URL", registry.as_str()), ("SWITCHYARD_ANCHOR_IMAGE", anchor.as_str())]).await;
    let c = &s.admin;
    let body = json!({"service_id": "counter", "parameters": {"step": "3"}});

    // Registry down and no catalogue known yet: 503, nothing created.
    let r = c.post("/api/v1/processes", body.clone()).await;
    expect_error(r, 503, "unavailable").await;
    assert_eq!(c.get("/api/v1/processes").await.headers()["x-total-count"], "0");

    // Registry up: the catalogue is read. Then down again while the process is created: the
    // last known catalogue serves, the swarm cannot pull, and the process shows why.
    let mut proxy = RegistryProxy::start(port).await;
    wait_for("the catalogue is read", UP, || async {
        let r = c.get("/api/v1/services/counter").await;
        r.status() == 200
    })
    .await;
    proxy.stop().await;
    let r = c.post("/api/v1/processes", body.clone()).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let p: Value = r.json().await.unwrap();
    let id = p["id"].as_str().unwrap().to_string();
    let failed = wait_state(c, &id, "FAILED", UP).await;
    let reason = failed["state_reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("pull") || reason.contains("image"), "the reason names the image: {reason}");

    // The registry returns: the swarm pulls on its next try and the process runs.
    let _proxy = RegistryProxy::start(port).await;
    wait_state(c, &id, "RUNNING", Duration::from_secs(120)).await;
    // The server first (its upkeep would make the anchor again), then its Docker objects.
    drop(s);
}

/// Push a layerless image whose config says `arch` through the registry API.
async fn push_image(registry: &str, repo: &str, tag: &str, arch: &str, labels: Value) {
    use sha2::{Digest, Sha256};
    let http = reqwest::Client::new();
    let config = serde_json::to_vec(&json!({
        "architecture": arch, "os": "linux", "created": "2026-11-24T10:00:00Z",
        "config": { "Labels": labels }, "rootfs": { "type": "layers", "diff_ids": [] }
    }))
    .unwrap();
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&config)));
    let r = http.post(format!("{registry}/v2/{repo}/blobs/uploads/")).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let location = if location.starts_with("http") { location } else { format!("{registry}{location}") };
    let sep = if location.contains('?') { '&' } else { '?' };
    let r = http.put(format!("{location}{sep}digest={digest}")).body(config.clone()).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": digest },
        "layers": []
    });
    let r = http
        .put(format!("{registry}/v2/{repo}/manifests/{tag}"))
        .header("content-type", "application/vnd.docker.distribution.manifest.v2+json")
        .body(serde_json::to_vec(&manifest).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn placement_refuses_foreign_nodes_and_missing_architectures() {
    if !stack_here("placement refusals") {
        return;
    }
    let registry = std::env::var("SWITCHYARD_REGISTRY_URL").unwrap_or_else(|_| "http://10.213.0.1:5000".into());
    let prefix = format!("sytest-arch-{}/", std::process::id());
    let labels = json!({
        "org.flexiblepower.serviceName": "Arm only",
        "org.flexiblepower.interfaces": "[]",
        "org.flexiblepower.parameters": "[]",
    });
    push_image(&registry, &format!("{prefix}armonly"), "1.0.0", "arm", labels).await;
    let s = setup(&[("SWITCHYARD_REGISTRY_PREFIX", prefix.as_str())]).await;
    let c = &s.admin;
    // The only node is x86-64; the only image is for ARM.
    let r = c.post("/api/v1/processes", json!({"service_id": "armonly"})).await;
    let e = expect_error(r, 422, "validation_failed").await;
    assert_eq!(e["details"]["field"], "service_version", "{e}");
    assert!(e["message"].as_str().unwrap().contains("Arm"), "{e}");

    // Another user's private node.
    let r = c.post("/api/v1/users", json!({"username": "carol", "password": "carol-password-1", "admin": false})).await;
    let carol: Value = r.json().await.unwrap();
    let nodes: Value = c.get("/api/v1/nodes").await.json().await.unwrap();
    let node = &nodes[0];
    let r = c
        .put(
            &format!("/api/v1/nodes/{}/assignment", node["id"].as_str().unwrap()),
            json!({"kind": "private", "user_id": carol["id"], "revision": node["revision"]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = c
        .post(
            "/api/v1/processes",
            json!({"service_id": "armonly", "placement": {"kind": "private_node", "node_id": node["id"]}}),
        )
        .await;
    let e = expect_error(r, 422, "validation_failed").await;
    assert!(e["message"].as_str().unwrap().contains("not one of your private nodes"), "{e}");
    assert_eq!(c.get("/api/v1/processes").await.headers()["x-total-count"], "0");
    // The server first (its upkeep would make the anchor again), then its Docker objects.
    drop(s);
}
