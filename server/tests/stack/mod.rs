//! Helpers of the tests that need the real stack (a swarm manager, the registry with the
//! example images): a server per test with its own instance id, cleaned up when dropped.

#![allow(dead_code)]

use std::{
    process::Command,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use super::common::*;

/// Whether the real stack is here: a swarm manager and the example images. Says loudly why not.
pub fn stack_here(test: &str) -> bool {
    let swarm = Command::new("docker")
        .args(["info", "--format", "{{.Swarm.ControlAvailable}}"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true");
    if !swarm {
        println!(
            "SKIPPED: {test}: no swarm manager answers on the local Docker socket (run scripts/test, which starts one)"
        );
        return false;
    }
    let registry = std::env::var("SWITCHYARD_REGISTRY_URL").unwrap_or_else(|_| "http://10.213.0.1:5000".into());
    let have = Command::new("curl")
        .args(["-sf", &format!("{registry}/v2/services/sensor/tags/list")])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("1.0.0"));
    if !have {
        println!("SKIPPED: {test}: the example images are not in the registry at {registry} (run scripts/images)");
        return false;
    }
    true
}

/// Removes every Docker object of one instance when dropped (also when a test fails).
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let label = format!("label=org.switchyard.instance={}", self.0);
        let list = |args: &[&str]| -> Vec<String> {
            Command::new("docker")
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().map(String::from).collect())
                .unwrap_or_default()
        };
        for s in list(&["service", "ls", "-q", "--filter", &label]) {
            let _ = Command::new("docker").args(["service", "rm", &s]).output();
        }
        for c in list(&["ps", "-aq", "--filter", &label]) {
            let _ = Command::new("docker").args(["rm", "-f", &c]).output();
        }
        // Networks go once their last task is gone; try for a while.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let nets = list(&["network", "ls", "-q", "--filter", &label]);
            if nets.is_empty() || Instant::now() > deadline {
                break;
            }
            for n in nets {
                let _ = Command::new("docker").args(["network", "rm", &n]).output();
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

pub struct Setup {
    pub server: Server,
    pub admin: Client,
    pub _dir: tempfile::TempDir,
    pub _cleanup: Cleanup,
}

pub fn instance_id() -> String {
    format!("test-{}-{}", std::process::id(), rand_suffix())
}

pub fn rand_suffix() -> String {
    use std::time::SystemTime;
    let n = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{n:08x}")
}

pub async fn setup(extra_env: &[(&str, &str)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let instance = instance_id();
    let mut env: Vec<(&str, &str)> = vec![
        ("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("SWITCHYARD_INSTANCE_ID", instance.as_str()),
        ("SWITCHYARD_RECONCILE_SECS", "1"),
        ("SWITCHYARD_REGISTRY_PREFIX", "services/"),
    ];
    env.extend_from_slice(extra_env);
    let server = Server::start(dir.path(), &env).await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    // The swarm's manager node becomes public, in a pool, so processes have somewhere to run.
    let pool: Value = admin.post("/api/v1/node-pools", json!({"name": "main"})).await.json().await.unwrap();
    let nodes: Value = admin.get("/api/v1/nodes").await.json().await.unwrap();
    // The manager: the workers of scripts/cluster may be listed too, and stay unidentified.
    let node = nodes.as_array().unwrap().iter().find(|n| n["manager"] == true).expect("the swarm manager is listed");
    let r = admin
        .put(
            &format!("/api/v1/nodes/{}/assignment", node["id"].as_str().unwrap()),
            json!({"kind": "public", "node_pool_id": pool["id"], "revision": node["revision"]}),
        )
        .await;
    assert_eq!(r.status(), 200, "making the node public: {}", r.text().await.unwrap());
    Setup { server, admin, _dir: dir, _cleanup: Cleanup(instance) }
}

/// Wait until the process's state is `state`, failing with what it was.
pub async fn wait_state(c: &Client, id: &str, state: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        let r = c.get(&format!("/api/v1/processes/{id}")).await;
        if r.status() == 200 {
            last = r.json().await.unwrap();
            if last["state"] == state {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let changes: Value =
        c.get(&format!("/api/v1/processes/{id}/pending-changes")).await.json().await.unwrap_or_default();
    panic!("process {id} did not become {state} within {within:?}; it is {last:#}\nits changes: {changes:#}");
}

pub async fn wait_gone(c: &Client, id: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if c.get(&format!("/api/v1/processes/{id}")).await.status() == 404 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("process {id} was not removed within {within:?}");
}

/// Wait until `f` holds, polling.
pub async fn wait_for<F, Fut>(what: &str, within: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what} did not happen within {within:?}");
}

pub async fn logs(c: &Client, id: &str) -> String {
    let v: Value = c.get(&format!("/api/v1/processes/{id}/logs?tail=500")).await.json().await.unwrap();
    v["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect::<Vec<_>>().join("\n")
}

/// The counts a counter logged (`count=N`), in order.
pub fn counts(log: &str) -> Vec<i64> {
    log.lines()
        .filter_map(|l| l.split("count=").nth(1))
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit() && c != '-').next())
        .filter_map(|n| n.parse().ok())
        .collect()
}

pub fn docker_services_named(name: &str) -> usize {
    let out =
        Command::new("docker").args(["service", "ls", "-q", "--filter", &format!("name={name}")]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().count()
}

pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub async fn create(c: &Client, body: Value) -> String {
    let r = c.post("/api/v1/processes", body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let p: Value = r.json().await.unwrap();
    p["id"].as_str().unwrap().to_string()
}

pub async fn connect(c: &Client, a: &str, ia: &str, b: &str, ib: &str) -> reqwest::Response {
    c.post(
        "/api/v1/connections",
        json!({"endpoint1": {"process_id": a, "interface_id": ia}, "endpoint2": {"process_id": b, "interface_id": ib}}),
    )
    .await
}

pub async fn connection(c: &Client, id: &str) -> Value {
    c.get(&format!("/api/v1/connections/{id}")).await.json().await.unwrap()
}

pub async fn wait_connection(c: &Client, id: &str, state: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        last = connection(c, id).await;
        if last["state"] == state {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let changes: Value =
        c.get(&format!("/api/v1/connections/{id}/pending-changes")).await.json().await.unwrap_or_default();
    panic!("connection {id} did not become {state} within {within:?}; it is {last:#}\nits changes: {changes:#}");
}
