//! Networks as documents against the real stack: export → edit → plan → apply reproduces the
//! edited network; a rollback restores the earlier one without touching unchanged processes; an
//! upgrade of the counter keeps its count and its connection; a stale plan is refused with what
//! changed; bad documents get every problem with its path; a server killed during an apply
//! finishes it after restart, each step once; the command line against the real binary.

mod common;
mod stack;

use std::{process::Command, time::Duration};

use common::*;
use serde_json::{json, Value};
use stack::*;

const UP: Duration = Duration::from_secs(120);

fn registry_has(repo: &str, tag: &str) -> bool {
    let registry = std::env::var("SWITCHYARD_REGISTRY_URL").unwrap_or_else(|_| "http://10.213.0.1:5000".into());
    let out = Command::new("curl").args(["-sf", &format!("{registry}/v2/{repo}/tags/list")]).output();
    out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("\"{tag}\"")))
}

/// POST a YAML document to `/plans`.
async fn plan_yaml(c: &Client, yaml: &str) -> reqwest::Response {
    c.post_text("/api/v1/plans", "application/yaml", yaml).await
}

async fn plan_json(c: &Client, doc: &Value) -> Value {
    let r = c.post("/api/v1/plans", doc.clone()).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

async fn plan_ok(c: &Client, yaml: &str) -> Value {
    let r = plan_yaml(c, yaml).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

/// Apply a plan and wait for its deployment to end; the deployment as it ended.
async fn apply(c: &Client, plan: &Value) -> Value {
    let r = c.post("/api/v1/deployments", json!({"plan_id": plan["id"]})).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let d: Value = r.json().await.unwrap();
    wait_deployment(c, d["id"].as_str().unwrap()).await
}

async fn wait_deployment(c: &Client, id: &str) -> Value {
    let mut last = Value::Null;
    let deadline = std::time::Instant::now() + UP * 2;
    while std::time::Instant::now() < deadline {
        last = c.get(&format!("/api/v1/deployments/{id}")).await.json().await.unwrap();
        if last["state"] != "RUNNING" {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("deployment {id} did not finish: {last:#}");
}

fn actions(plan: &Value) -> Vec<String> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["action"].as_str().unwrap(), s["subject"].as_str().unwrap()))
        .collect()
}

async fn process_named(c: &Client, name: &str) -> Option<Value> {
    let list: Value = c.get("/api/v1/processes?per_page=100").await.json().await.unwrap();
    list.as_array().unwrap().iter().find(|p| p["name"] == name).cloned()
}

/// The swarm task (so the container) that runs the process now.
fn container_of(process: &str) -> String {
    docker(&["service", "ps", "-q", "--filter", "desired-state=running", process])
}

const NETWORK: &str = r#"
processes:
  - name: kitchen
    service: sensor
    version: 1.0.0
    parameters: {interval_ms: 200, unit: celsius}
  - name: tally
    service: counter
    version: 1.0.0
    parameters: {step: 1, interval_ms: 200}
connections:
  - endpoints:
      - {process: kitchen, interface: sensor/temperature}
      - {process: tally, interface: counter/temperature}
"#;

#[tokio::test]
async fn export_edit_plan_apply_and_roll_back() {
    if !stack_here("network documents") {
        return;
    }
    let s = setup(&[]).await;
    let c = &s.admin;

    // Revision 1: a sensor and a counter, connected.
    let plan = plan_ok(c, NETWORK).await;
    assert_eq!(plan["applicable"], true, "{plan:#}");
    assert_eq!(
        actions(&plan),
        [
            "create_process kitchen",
            "create_process tally",
            "add_connection kitchen (sensor/temperature) ↔ tally (counter/temperature)"
        ]
    );
    assert_eq!(plan["steps"][2]["depends_on"], json!([0, 1]), "a connection waits for its processes");
    assert_eq!(docker_services_named("kitchen"), 0, "planning changes nothing");
    assert!(process_named(c, "kitchen").await.is_none(), "planning changes nothing");
    let d1 = apply(c, &plan).await;
    assert_eq!(d1["state"], "SUCCEEDED", "{d1:#}");
    assert_eq!(d1["number"], 1);
    let kitchen = process_named(c, "kitchen").await.expect("kitchen deployed");
    let tally = process_named(c, "tally").await.expect("tally deployed");
    assert_eq!(kitchen["state"], "RUNNING");
    let conns: Value =
        c.get(&format!("/api/v1/connections?process_id={}", tally["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(conns.as_array().unwrap().len(), 1);
    assert_eq!(conns[0]["state"], "CONNECTED");
    wait_for("the counter receives readings", UP, || async {
        logs(c, tally["id"].as_str().unwrap()).await.contains("received reading")
    })
    .await;

    // The deployment's steps are in the audit trail, as the applier's.
    let audit: Value =
        c.get(&format!("/api/v1/audit?resource_id={}", tally["id"].as_str().unwrap())).await.json().await.unwrap();
    let made = audit.as_array().unwrap().iter().find(|e| e["action"] == "deployment #1 step 2: create_process");
    let made = made.unwrap_or_else(|| panic!("the create step is audited: {audit:#}"));
    assert_eq!((made["actor"]["username"].as_str(), made["via"].as_str()), (Some("admin"), Some("deployment")));

    // Export: the network as a document, with the defaults Switchyard filled in.
    let r = c.get("/api/v1/networks/export?format=yaml").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/yaml");
    let yaml = r.text().await.unwrap();
    assert!(yaml.contains("name: kitchen") && yaml.contains("interface: counter/temperature"), "{yaml}");
    let exported: Value = c.get("/api/v1/networks/export").await.json().await.unwrap();
    assert_eq!(exported["processes"].as_array().unwrap().len(), 2);
    assert_eq!(exported["processes"][1]["parameters"]["step"], "1");
    assert_eq!(exported["connections"].as_array().unwrap().len(), 1);
    // Planning the export unchanged changes nothing, and applying it is refused as such.
    let same = plan_ok(c, &yaml).await;
    assert!(
        same["steps"].as_array().unwrap().iter().all(|s| s["action"].as_str().unwrap().starts_with("keep_")),
        "{same:#}"
    );
    let r = c.post("/api/v1/deployments", json!({"plan_id": same["id"]})).await;
    assert_eq!(
        expect_error(r, 409, "conflict").await["message"],
        "nothing to apply: the network is as the document says already"
    );

    // Revision 2, edited: the counter steps by 2, and a spare counter joins.
    let mut edited = exported.clone();
    edited["processes"][1]["parameters"]["step"] = json!(2);
    edited["processes"].as_array_mut().unwrap().push(json!({
        "name": "spare", "service": "counter", "version": "1.0.0", "parameters": {"step": 5}
    }));
    let plan2 = plan_json(c, &edited).await;
    assert_eq!(
        actions(&plan2),
        [
            "keep_process kitchen",
            "update_process tally",
            "create_process spare",
            "keep_connection kitchen (sensor/temperature) ↔ tally (counter/temperature)"
        ]
    );
    let change = &plan2["steps"][1]["changes"][0];
    assert_eq!(
        (change["field"].as_str(), change["before"].as_str(), change["after"].as_str()),
        (Some("parameters.step"), Some("1"), Some("2"))
    );

    // A plan the network moved away from is refused, saying what changed.
    let kitchen_id = kitchen["id"].as_str().unwrap();
    let r = c.patch(&format!("/api/v1/processes/{kitchen_id}"), json!({"environment": {"MOOD": "sunny"}})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = c.post("/api/v1/deployments", json!({"plan_id": plan2["id"]})).await;
    let e = expect_error(r, 409, "stale_revision").await;
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("process changed 'kitchen'") && message.contains("environment.MOOD"), "{message}");
    // Put back, the kitchen is as the plan's base says, but the plan is gone with its chance:
    // planned again.
    wait_state(c, kitchen_id, "RUNNING", UP).await;
    let r = c.patch(&format!("/api/v1/processes/{kitchen_id}"), json!({"environment": {}})).await;
    assert_eq!(r.status(), 200);
    wait_for("the kitchen restarted without MOOD", UP, || async {
        let p: Value = c.get(&format!("/api/v1/processes/{kitchen_id}")).await.json().await.unwrap();
        p["state"] == "RUNNING" && p["environment"] == json!([]) && !container_of(kitchen_id).is_empty()
    })
    .await;
    let plan2 = plan_json(c, &edited).await;
    assert_eq!(
        (plan2["summary"]["update"].as_u64(), plan2["summary"]["create"].as_u64()),
        (Some(1), Some(1)),
        "{plan2:#}"
    );
    let d2 = apply(c, &plan2).await;
    assert_eq!(d2["state"], "SUCCEEDED", "{d2:#}");
    assert_eq!(d2["number"], 2);
    let kitchen_container = container_of(kitchen_id);
    let tally_now = process_named(c, "tally").await.unwrap();
    assert_eq!(tally_now["id"], tally["id"], "the same process, reconfigured");
    assert!(tally_now["parameters"].as_array().unwrap().contains(&json!({"key": "step", "value": "2"})));
    assert_eq!(process_named(c, "spare").await.unwrap()["state"], "RUNNING");

    // History: two revisions, newest first; the diff names what the second changed.
    let history: Value = c.get("/api/v1/deployments").await.json().await.unwrap();
    assert_eq!(history.as_array().unwrap().iter().map(|d| d["number"].as_u64().unwrap()).collect::<Vec<_>>(), [2, 1]);
    let diff: Value = c
        .get(&format!("/api/v1/deployments/{}/diff?to={}", d1["id"].as_str().unwrap(), d2["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    let said: Vec<String> = diff
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d["kind"].as_str().unwrap(),
                d["effect"].as_str().unwrap(),
                d["subject"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        said.contains(&"process added spare".to_string()) && said.contains(&"process changed tally".to_string()),
        "{said:?}"
    );

    // Roll back to revision 1: the spare goes, the counter steps by 1 again, the kitchen is
    // untouched (the same container), and the counter keeps counting from where it was (a
    // parameter change does not restart it).
    let r =
        c.post(&format!("/api/v1/deployments/{}/rollback", d2["id"].as_str().unwrap()), json!({"before": false})).await;
    assert_eq!(r.status(), 201);
    let noop: Value = r.json().await.unwrap();
    assert!(
        noop["steps"].as_array().unwrap().iter().all(|s| s["action"].as_str().unwrap().starts_with("keep_")),
        "revision 2 is the network now: {noop:#}"
    );
    let r = c.post(&format!("/api/v1/deployments/{}/rollback", d1["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(r.status(), 201);
    let back: Value = r.json().await.unwrap();
    assert_eq!(back["restores"], d1["id"]);
    assert_eq!(
        actions(&back),
        [
            "terminate_process spare",
            "keep_process kitchen",
            "update_process tally",
            "keep_connection kitchen (sensor/temperature) ↔ tally (counter/temperature)"
        ]
    );
    let tally_id = tally["id"].as_str().unwrap();
    let counted = counts(&logs(c, tally_id).await).into_iter().max().unwrap_or(0);
    let tally_container = container_of(tally_id);
    let d3 = apply(c, &back).await;
    assert_eq!(d3["state"], "SUCCEEDED", "{d3:#}");
    assert_eq!(d3["restores"], d1["id"]);
    wait_for("the spare is gone", UP, || async { process_named(c, "spare").await.is_none() }).await;
    let tally_back = process_named(c, "tally").await.unwrap();
    assert!(tally_back["parameters"].as_array().unwrap().contains(&json!({"key": "step", "value": "1"})));
    assert_eq!(container_of(tally_id), tally_container, "the counter was reconfigured, not restarted");
    let k: Value = c.get(&format!("/api/v1/processes/{kitchen_id}")).await.json().await.unwrap();
    assert_eq!(
        container_of(kitchen_id),
        kitchen_container,
        "the unchanged kitchen was not touched: {:#}",
        k["history"]
    );
    wait_for("the counter counts on from where it was", UP, || async {
        let log = logs(c, tally_id).await;
        !log.contains("counter resumed") && counts(&log).into_iter().max().unwrap_or(0) > counted
    })
    .await;
    let exported: Value = c.get("/api/v1/networks/export").await.json().await.unwrap();
    let first: Value = serde_json::from_str(&serde_json::to_string(&d1["document"]).unwrap()).unwrap();
    assert_eq!(exported["processes"].as_array().unwrap().len(), first["processes"].as_array().unwrap().len());
    assert_eq!(exported["connections"], first["connections"]);
}

#[tokio::test]
async fn an_upgrade_keeps_the_count_and_the_connection() {
    if !stack_here("upgrade with state") {
        return;
    }
    if !registry_has("services/counter", "2.0.0") {
        // scripts/test pushes it (scripts/images) before the tests: in CI its absence is a failure.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "counter 2.0.0 is not in the registry: scripts/images did not push it"
        );
        println!("SKIPPED: upgrade with state: counter 2.0.0 is not in the registry (run scripts/images)");
        return;
    }
    let s = setup(&[]).await;
    let c = &s.admin;
    let d = apply(c, &plan_ok(c, NETWORK).await).await;
    assert_eq!(d["state"], "SUCCEEDED", "{d:#}");
    let tally = process_named(c, "tally").await.unwrap();
    let id = tally["id"].as_str().unwrap().to_string();
    wait_for("the counter counted past 5", UP, || async { counts(&logs(c, &id).await).iter().any(|n| *n >= 5) }).await;
    let conn: Value = c.get(&format!("/api/v1/connections?process_id={id}")).await.json().await.unwrap();
    let conn_id = conn[0]["id"].as_str().unwrap().to_string();

    // Bad upgrades are refused before anything happens.
    let r = c.post(&format!("/api/v1/processes/{id}/upgrade"), json!({"service_version": "9.9.9"})).await;
    let e = expect_error(r, 422, "validation_failed").await;
    assert!(e["message"].as_str().unwrap().contains("no version '9.9.9'"), "{e}");
    let r = c.post(&format!("/api/v1/processes/{id}/upgrade"), json!({"service_version": "1.0.0"})).await;
    expect_error(r, 409, "conflict").await;

    // The document says 2.0.0: one upgrade step, the connection kept (renegotiated).
    let doc = NETWORK.replacen("service: counter\n    version: 1.0.0", "service: counter\n    version: 2.0.0", 1);
    let plan = plan_ok(c, &doc).await;
    assert_eq!(actions(&plan)[1], "upgrade_process tally", "{plan:#}");
    assert_eq!(plan["steps"][2]["action"], "keep_connection");
    assert!(plan["steps"][2]["description"].as_str().unwrap().contains("best version pair"));
    let before = counts(&logs(c, &id).await).into_iter().max().unwrap();
    let d = apply(c, &plan).await;
    assert_eq!(d["state"], "SUCCEEDED", "{d:#}");
    let upgraded: Value = c.get(&format!("/api/v1/processes/{id}")).await.json().await.unwrap();
    assert_eq!(upgraded["service_version"], "2.0.0");
    assert_eq!(upgraded["state"], "RUNNING");
    assert_eq!(upgraded["interfaces"][0]["interfaceVersions"].as_array().unwrap().len(), 2);
    let log = logs(c, &id).await;
    let resumed = log.lines().find(|l| l.contains("counter resumed")).unwrap_or_else(|| panic!("resumed: {log}"));
    let resumed_at: i64 = counts(resumed)[0];
    assert!(resumed_at >= before, "the count went on from {before}: {resumed}");
    let conn = wait_connection(c, &conn_id, "CONNECTED", UP).await;
    assert_eq!(conn["endpoint2"]["interface_version_name"], "1", "no sensor speaks version 2: {conn:#}");
    // Readings reach the new container.
    wait_for("the upgraded counter receives readings", UP, || async {
        let log = logs(c, &id).await;
        log.split("counter resumed").nth(1).is_some_and(|after| after.contains("received reading"))
    })
    .await;
}

#[tokio::test]
async fn bad_documents_get_every_problem_with_its_path() {
    if !stack_here("network document problems") {
        return;
    }
    let s = setup(&[]).await;
    let c = &s.admin;
    let doc = r#"
processes:
  - name: kitchen
    service: sensr
  - name: tally
    service: counter
    version: 1.0.0
    parameters: {step: 1, speed: 3}
  - name: tally
    service: counter
  - name: odd
    service: counter
    version: 7.7
    placement: {pool: mian}
connections:
  - endpoints:
      - {process: kichen, interface: sensor/temperature}
      - {process: tally, interface: counter/temperature}
  - endpoints:
      - {process: tally, interface: counter/temp}
"#;
    let r = plan_yaml(c, doc).await;
    let e = expect_error(r, 422, "validation_failed").await;
    let problems = e["details"]["problems"].as_array().unwrap().clone();
    let said: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p["path"].as_str().unwrap(), p["message"].as_str().unwrap()))
        .collect();
    let expect = [
        "processes[0].service: unknown service 'sensr' — did you mean 'sensor'?",
        "processes[1].parameters.speed: unknown parameter 'speed'",
        "processes[2].name: 'tally' is the name of processes[1] already",
        "processes[3].version: service 'counter' has no version '7.7'",
        "connections[0].endpoints[0].process: no process named 'kichen' in the document — did you mean 'kitchen'?",
        "connections[1].endpoints: a connection has two endpoints, not 1",
    ];
    for want in expect {
        assert!(said.iter().any(|s| s.starts_with(want)), "missing {want:?} in {said:#?}");
    }
    assert!(e["message"].as_str().unwrap().starts_with(&format!("the document has {} problems", problems.len())));
    assert!(process_named(c, "tally").await.is_none(), "nothing was made");

    // Placement by a name that does not exist; a field that is not in the schema; bad YAML.
    let r = plan_yaml(c, "processes:\n  - name: k\n    service: sensor\n    placement: {pool: mian}\n").await;
    let e = expect_error(r, 422, "validation_failed").await;
    assert_eq!(e["details"]["problems"][0]["path"], "processes[0].placement");
    assert!(e["details"]["problems"][0]["message"].as_str().unwrap().contains("did you mean 'main'?"), "{e}");
    let r = plan_yaml(c, "processes:\n  - name: k\n    sevrice: sensor\n").await;
    let e = expect_error(r, 422, "validation_failed").await;
    assert_eq!(e["details"]["problems"][0]["path"], "processes[0].sevrice");
    let r = plan_yaml(c, "processes: [\n").await;
    expect_error(r, 422, "validation_failed").await;
    let r = c.post_text("/api/v1/plans", "text/plain", "hello").await;
    expect_error(r, 415, "unsupported_media_type").await;

    // Another user's network is not yours to plan.
    let r = c.post("/api/v1/users", json!({"username": "bob", "password": "bob-password-123"})).await;
    assert_eq!(r.status(), 201);
    let bob = s.server.client();
    bob.login_ok("bob", "bob-password-123").await;
    let r = plan_yaml(&bob, "user: admin\nprocesses: []\n").await;
    expect_error(r, 403, "forbidden").await;
    // An admin's empty document for bob plans nothing; bob's own plan is his.
    let plan = plan_ok(c, "user: bob\nprocesses: []\n").await;
    assert_eq!(plan["username"], "bob");
    let r = bob.get(&format!("/api/v1/plans/{}", plan["id"].as_str().unwrap())).await;
    assert_eq!(r.status(), 200);
}

/// Killed in the middle of an apply, Switchyard finishes it after restart, making each process
/// once.
#[tokio::test]
async fn an_apply_interrupted_by_a_crash_finishes_after_restart_each_step_once() {
    if !stack_here("apply across a crash") {
        return;
    }
    let s = setup(&[]).await;
    let c = &s.admin;
    let doc = "processes:\n".to_string()
        + &(1..=4)
            .map(|i| {
                format!("  - name: c{i}\n    service: counter\n    version: 1.0.0\n    parameters: {{step: {i}}}\n")
            })
            .collect::<String>();
    let plan = plan_ok(c, &doc).await;
    let r = c.post("/api/v1/deployments", json!({"plan_id": plan["id"]})).await;
    assert_eq!(r.status(), 201);
    let d: Value = r.json().await.unwrap();
    let id = d["id"].as_str().unwrap().to_string();
    wait_for("a step was launched", UP, || async {
        let d: Value = c.get(&format!("/api/v1/deployments/{id}")).await.json().await.unwrap();
        d["steps"].as_array().unwrap().iter().any(|s| s["launched"] == true)
    })
    .await;
    let instance = s._cleanup.0.clone();
    let Setup { server, _dir, _cleanup, .. } = s;
    let data = server.kill();
    let server = Server::start(
        &data,
        &[
            ("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("SWITCHYARD_INSTANCE_ID", instance.as_str()),
            ("SWITCHYARD_RECONCILE_SECS", "1"),
            ("SWITCHYARD_REGISTRY_PREFIX", "services/"),
            ("SWITCHYARD_CHANGE_LEASE_SECS", "3"),
        ],
    )
    .await;
    let c = server.client();
    c.login_ok("admin", ADMIN_PASSWORD).await;
    let d = wait_deployment(&c, &id).await;
    assert_eq!(d["state"], "SUCCEEDED", "{d:#}");
    let list: Value = c.get("/api/v1/processes?per_page=100").await.json().await.unwrap();
    let mut names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["c1", "c2", "c3", "c4"], "each made once");
    for p in list.as_array().unwrap() {
        assert_eq!(docker_services_named(p["id"].as_str().unwrap()), 1);
    }
    // The server first: one still running would make again what the clean-up removes (its
    // reconciler sees services removed outside Switchyard), and they would outlive the test.
    drop(server);
    drop(_cleanup);
}

/// The command line: the same binary, against the server's REST API with a token.
#[tokio::test]
async fn the_command_line_plans_applies_and_exports() {
    if !stack_here("network command line") {
        return;
    }
    let s = setup(&[]).await;
    let c = &s.admin;
    let token: Value = c.post("/api/v1/tokens", json!({"name": "gitops"})).await.json().await.unwrap();
    let token = token["secret"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("net.yaml");
    std::fs::write(&file, NETWORK).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(args)
            .env("SWITCHYARD_URL", &s.server.url)
            .env("SWITCHYARD_TOKEN", &token)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let f = file.to_str().unwrap();
    let (code, out, err) = run(&["plan", "-f", f]);
    assert_eq!(code, Some(2), "changes planned: {out}{err}");
    assert!(out.contains("2 to create, 1 to connect") && out.contains("+ Deploy 'kitchen'"), "{out}");
    let (code, _, err) = run(&["apply", "-f", f]);
    assert_eq!(code, Some(1), "not applied without --yes when nobody can be asked: {err}");
    assert!(err.contains("--yes"), "{err}");
    let (code, out, err) = run(&["apply", "-f", f, "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(err.contains("deployment #1 succeeded"), "{err}");
    assert_eq!(process_named(c, "tally").await.unwrap()["state"], "RUNNING");
    let (code, _, err) = run(&["plan", "-f", f]);
    assert_eq!(code, Some(0), "nothing left to change: {err}");
    let exported = dir.path().join("export.yaml");
    let (code, _, err) = run(&["export", "-o", exported.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(text.contains("name: tally") && text.contains("version: 1.0.0"), "{text}");
    std::fs::write(&file, NETWORK.replace("name: kitchen\n    service: sensor\n", "name: porch\n    service: sensr\n"))
        .unwrap();
    let (code, _, err) = run(&["plan", "-f", f]);
    assert_eq!(code, Some(1));
    assert!(err.contains("processes[0].service: unknown service 'sensr' — did you mean 'sensor'?"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["plan", "-f", f])
        .env("SWITCHYARD_URL", &s.server.url)
        .env_remove("SWITCHYARD_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SWITCHYARD_TOKEN"));
}
