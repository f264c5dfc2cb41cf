//! `/metrics` against the real binary: who may read it, what it says, and a real Prometheus
//! (Debian's `prometheus`) scraping it and answering a query through its HTTP API.

mod common;

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{expect_error, Server, ADMIN_PASSWORD};
use serde_json::{json, Value};

const METRICS_TOKEN: &str = "prometheus-scrape-token-0123456789";

async fn server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD), ("SWITCHYARD_METRICS_TOKEN", METRICS_TOKEN)],
    )
    .await;
    (server, dir)
}

/// The value of one sample line (`name{labels} value`) in an exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

#[tokio::test]
async fn only_administrators_and_the_configured_token_read_the_metrics() {
    let (server, _dir) = server().await;
    let anonymous = server.client();
    expect_error(anonymous.get("/metrics").await, 401, "unauthenticated").await;
    let wrong =
        reqwest::Client::new().get(anonymous.url("/metrics")).bearer_auth("not-the-token").send().await.unwrap();
    expect_error(wrong, 401, "unauthenticated").await;

    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    let r = admin.post("/api/v1/users", json!({"username": "alice", "password": "alice-password"})).await;
    assert_eq!(r.status(), 201);
    let alice = server.client();
    alice.login_ok("alice", "alice-password").await;
    expect_error(alice.get("/metrics").await, 403, "forbidden").await;

    let by_token =
        reqwest::Client::new().get(anonymous.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(by_token.status(), 200);
    assert!(by_token.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = by_token.text().await.unwrap();
    // Every state is there, at 0 when empty, so an alert on one has a value to look at.
    assert_eq!(sample(&text, r#"switchyard_processes{state="FAILED"}"#), Some(0.0), "{text}");
    assert_eq!(sample(&text, r#"switchyard_connections{state="CONNECTED"}"#), Some(0.0), "{text}");
    // Requests are counted by the route they matched, not by their path.
    let logins =
        sample(&text, r#"switchyard_http_requests_total{method="POST",route="/api/v1/auth/login",status="200"}"#);
    assert_eq!(logins, Some(2.0), "{text}");
    assert!(text.contains("# TYPE switchyard_http_request_duration_seconds histogram"), "{text}");
    assert_eq!(sample(&text, "switchyard_event_stream_subscribers"), Some(0.0), "{text}");
    // The server under test is a glibc build: its allocator says what is in use (some MiB).
    let heap = sample(&text, "switchyard_heap_in_use_bytes").unwrap_or_default();
    assert!((1e6..1e9).contains(&heap), "heap in use: {heap} bytes\n{text}");
    assert!(admin.get("/metrics").await.status().is_success(), "an administrator's session reads it too");

    // The gauges count what the store holds: the swarm's nodes, by status and kind, as the node
    // list shows them.
    let deadline = Instant::now() + Duration::from_secs(30);
    let nodes = loop {
        let nodes: Vec<Value> = admin.get("/api/v1/nodes").await.json().await.unwrap();
        if !nodes.is_empty() || Instant::now() > deadline {
            break nodes;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!nodes.is_empty(), "the node sync lists the swarm's node within 30 s");
    let text = admin.get("/metrics").await.text().await.unwrap();
    for n in &nodes {
        let (status, kind) = (n["status"].as_str().unwrap(), n["kind"].as_str().unwrap());
        let want = nodes.iter().filter(|m| m["status"] == status && m["kind"] == kind).count() as f64;
        let labels = [format!(r#"status="{status}""#), format!(r#"kind="{kind}""#)];
        let line = text
            .lines()
            .find(|l| l.starts_with("switchyard_nodes{") && labels.iter().all(|x| l.contains(x.as_str())))
            .unwrap_or_else(|| panic!("no switchyard_nodes sample for {labels:?}\n{text}"));
        assert_eq!(line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()), Some(want), "{line}");
    }

    // An upkeep round times its parts, and within the processes part its look at the swarm:
    // the look is part of the part, never longer than it. (Read between rounds: a look is counted
    // just before its part is.)
    let count = |text: &str, series: &str| sample(text, series).unwrap_or_default();
    let processes = r#"switchyard_reconcile_round_seconds_count{part="processes"}"#;
    let looks = "switchyard_reconcile_swarm_look_seconds_count";
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = admin.get("/metrics").await.text().await.unwrap();
        let rounds = count(&text, processes);
        if (rounds >= 1.0 && count(&text, looks) == rounds) || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let rounds = count(&text, processes);
    assert!(rounds >= 1.0 && count(&text, looks) == rounds, "a look in each round within 30 s\n{text}");
    let part = count(&text, r#"switchyard_reconcile_round_seconds_sum{part="processes"}"#);
    let look = count(&text, "switchyard_reconcile_swarm_look_seconds_sum");
    assert!(look > 0.0 && look <= part, "the look took {look} s of a part of {part} s\n{text}");
}

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_real_prometheus_scrapes_switchyard_and_answers_a_query() {
    let Ok(path) = which("prometheus") else {
        println!("SKIPPED: a_real_prometheus_scrapes_switchyard_and_answers_a_query: prometheus is not installed (apt-get install prometheus; scripts/test does)");
        return;
    };
    let (server, dir) = server().await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    for name in ["edge", "core", "lab"] {
        assert_eq!(admin.post("/api/v1/node-pools", json!({ "name": name })).await.status(), 201);
    }
    // One open event stream, which the scrape counts.
    let stream = admin.http.get(admin.url("/api/v1/events")).send().await.unwrap();
    assert_eq!(stream.status(), 200);

    let target = server.url.trim_start_matches("http://").to_string();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: switchyard\n    metrics_path: /metrics\n    \
         authorization:\n      credentials: {METRICS_TOKEN}\n    static_configs:\n      - targets: ['{target}']\n"
    );
    let config_file = dir.path().join("prometheus.yml");
    std::fs::write(&config_file, config).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _prometheus = Prometheus(
        Command::new(path)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let api = format!("http://127.0.0.1:{port}/api/v1/query");
    let query = |q: &'static str| {
        let api = api.clone();
        async move {
            let r = reqwest::Client::new().get(&api).query(&[("query", q)]).send().await.ok()?;
            let v: Value = r.json().await.ok()?;
            let value = v["data"]["result"].get(0)?["value"][1].as_str()?.to_string();
            value.parse::<f64>().ok()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // The target is up (scraped with the token), and the POSTs to the pool route were counted.
        let up = query(r#"up{job="switchyard"}"#).await;
        let pools =
            query(r#"sum(switchyard_http_requests_total{route="/api/v1/node-pools",method="POST",status="201"})"#)
                .await;
        let subscribers = query("switchyard_event_stream_subscribers").await;
        if up == Some(1.0) && pools == Some(3.0) && subscribers == Some(1.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus did not report the scrape within 60 s: up={up:?} pools={pools:?} subscribers={subscribers:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(stream);
}

fn which(name: &str) -> Result<String, ()> {
    let out = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().map_err(|_| ())?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if path.is_empty() {
        Err(())
    } else {
        Ok(path)
    }
}
