//! Alerts against the real binary: webhook subscriptions (bad input, who may subscribe to what),
//! and on the real swarm a webhook receiver that gets a signed alert when a process's container
//! is killed: the first delivery answered 500 and retried, the signature checked, nothing sent to
//! another user's subscription.

mod common;
mod stack;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{extract::State, http::HeaderMap, routing::post, Router};
use common::{expect_error, Server, ADMIN_PASSWORD};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// How many requests to answer 500 before answering 200.
    fail_first: Arc<Mutex<u32>>,
}

impl Receiver {
    async fn start(fail_first: u32) -> (Receiver, SocketAddr) {
        let receiver = Receiver { got: Arc::default(), fail_first: Arc::new(Mutex::new(fail_first)) };
        async fn take(
            State(r): State<Receiver>,
            uri: axum::http::Uri,
            headers: HeaderMap,
            body: String,
        ) -> axum::http::StatusCode {
            r.got.lock().unwrap().push(Received { path: uri.path().to_string(), headers, body });
            let mut left = r.fail_first.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            } else {
                axum::http::StatusCode::NO_CONTENT
            }
        }
        let app = Router::new().route("/{who}", post(take)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, addr)
    }

    fn got(&self, path: &str) -> Vec<Received> {
        self.got.lock().unwrap().iter().filter(|r| r.path == path).cloned().collect()
    }
}

fn verify(secret: &str, r: &Received) -> bool {
    let header = r.headers["x-switchyard-signature"].to_str().unwrap();
    let (t, v1) = header.split_once(',').unwrap();
    let (t, v1) = (t.strip_prefix("t=").unwrap(), v1.strip_prefix("v1=").unwrap());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", r.body).as_bytes());
    hex::encode(mac.finalize().into_bytes()) == v1
}

#[tokio::test]
async fn subscriptions_refuse_bad_input_and_only_admins_subscribe_to_everything() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        admin.post("/api/v1/users", json!({"username": "alice", "password": "alice-password"})).await.status(),
        201
    );
    let alice = server.client();
    alice.login_ok("alice", "alice-password").await;

    let e = expect_error(
        alice.post("/api/v1/webhooks", json!({"url": "ftp://example.org/x"})).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("http"), "{e}");
    expect_error(alice.post("/api/v1/webhooks", json!({"url": "not a url"})).await, 422, "validation_failed").await;
    expect_error(
        alice.post("/api/v1/webhooks", json!({"url": "http://x.org", "events": []})).await,
        422,
        "validation_failed",
    )
    .await;
    expect_error(
        alice.post("/api/v1/webhooks", json!({"url": "http://x.org", "events": ["sunrise"]})).await,
        422,
        "validation_failed",
    )
    .await;
    expect_error(
        alice.post("/api/v1/webhooks", json!({"url": "http://x.org", "global": true})).await,
        403,
        "forbidden",
    )
    .await;
    assert!(alice.get("/api/v1/webhooks").await.json::<Vec<Value>>().await.unwrap().is_empty(), "nothing was created");

    let r = alice.post("/api/v1/webhooks", json!({"url": "http://127.0.0.1:9/alerts"})).await;
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    let id = made["webhook"]["id"].as_str().unwrap();
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(made["webhook"]["events"].as_array().unwrap().len(), 4, "all kinds by default");
    let listed = alice.get(&format!("/api/v1/webhooks/{id}")).await.text().await.unwrap();
    assert!(!listed.contains(made["secret"].as_str().unwrap()), "the secret is shown once: {listed}");
    // Another user does not see it; the admin does.
    let r = admin.post("/api/v1/webhooks", json!({"url": "https://ops.example.org/hook", "global": true})).await;
    assert_eq!(r.status(), 201);
    assert_eq!(admin.get("/api/v1/webhooks").await.json::<Vec<Value>>().await.unwrap().len(), 2);
    assert_eq!(alice.get("/api/v1/webhooks").await.json::<Vec<Value>>().await.unwrap().len(), 1);
    let admins: Vec<Value> = admin.get("/api/v1/webhooks").await.json().await.unwrap();
    let global = admins.iter().find(|w| w["global"] == true).unwrap()["id"].as_str().unwrap().to_string();
    expect_error(alice.get(&format!("/api/v1/webhooks/{global}")).await, 404, "not_found").await;
    expect_error(alice.delete(&format!("/api/v1/webhooks/{global}")).await, 404, "not_found").await;
    assert_eq!(alice.delete(&format!("/api/v1/webhooks/{id}")).await.status(), 204);
}

#[tokio::test]
async fn a_killed_container_sends_a_signed_alert_retried_until_it_is_taken() {
    if !stack::stack_here("a_killed_container_sends_a_signed_alert_retried_until_it_is_taken") {
        return;
    }
    let s = stack::setup(&[]).await;
    let (receiver, addr) = Receiver::start(1).await;
    for name in ["alice", "bob"] {
        let r = s.admin.post("/api/v1/users", json!({"username": name, "password": format!("{name}-password")})).await;
        assert_eq!(r.status(), 201);
    }
    let alice = s.server.client();
    alice.login_ok("alice", "alice-password").await;
    let bob = s.server.client();
    bob.login_ok("bob", "bob-password").await;
    let hook: Value = alice
        .post("/api/v1/webhooks", json!({"url": format!("http://{addr}/alice"), "events": ["process_failed"]}))
        .await
        .json()
        .await
        .unwrap();
    let secret = hook["secret"].as_str().unwrap().to_string();
    let hook_id = hook["webhook"]["id"].as_str().unwrap().to_string();
    let r = bob.post("/api/v1/webhooks", json!({"url": format!("http://{addr}/bob")})).await;
    assert_eq!(r.status(), 201);

    let pools: Vec<Value> = s.admin.get("/api/v1/node-pools").await.json().await.unwrap();
    let id = stack::create(
        &alice,
        json!({"name": "alerting-sensor", "service_id": "sensor", "service_version": "1.0.0",
               "placement": {"kind": "node_pool", "pool_id": pools[0]["id"]}}),
    )
    .await;
    stack::wait_state(&alice, &id, "RUNNING", Duration::from_secs(120)).await;
    assert!(receiver.got("/alice").is_empty(), "no alert while all is well");

    let container = stack::docker(&["ps", "-q", "--filter", &format!("label=com.docker.swarm.service.name={id}")]);
    assert!(!container.is_empty(), "the process has a running container");
    stack::docker(&["kill", container.lines().next().unwrap()]);

    // The first delivery is answered 500; the retry is taken.
    let deadline = Instant::now() + Duration::from_secs(90);
    while receiver.got("/alice").len() < 2 {
        assert!(Instant::now() < deadline, "no retried delivery within 90 s: {:?}", receiver.got("/alice"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deliveries = receiver.got("/alice");
    let (first, second) = (&deliveries[0], &deliveries[1]);
    assert_eq!(first.body, second.body, "a retry sends the same alert");
    assert_eq!(first.headers["x-switchyard-delivery"], second.headers["x-switchyard-delivery"]);
    assert!(verify(&secret, second), "signed with the subscription's secret: {:?}", second.headers);
    assert!(!verify("whsec_someone-else", second));
    assert_eq!(second.headers["x-switchyard-event"], "process_failed");
    assert_eq!(second.headers["content-type"], "application/json");
    let alert: Value = serde_json::from_str(&second.body).unwrap();
    assert_eq!(alert["kind"], "process_failed");
    assert_eq!(alert["resource_id"], id.as_str());
    assert_eq!(alert["resource_name"], "alerting-sensor");
    let message = alert["message"].as_str().unwrap();
    assert!(["137", "killed", "restarted"].iter().any(|w| message.contains(w)), "{alert}");

    // The subscription says how it went; its deliveries are pending changes with their history.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let w: Value = alice.get(&format!("/api/v1/webhooks/{hook_id}")).await.json().await.unwrap();
        if w["last_delivery"]["ok"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "the subscription never recorded the good delivery: {w}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let changes: Vec<Value> = alice.get(&format!("/api/v1/webhooks/{hook_id}/deliveries")).await.json().await.unwrap();
    let done = changes.iter().find(|c| c["state"] == "DONE").expect("a delivery is done");
    assert_eq!(done["kind"], "deliver_webhook");
    assert!(done["attempts"].as_u64().unwrap() >= 2, "{done}");
    // Bob's subscription heard nothing of Alice's process.
    assert!(receiver.got("/bob").is_empty(), "{:?}", receiver.got("/bob"));
    let _ = alice.delete(&format!("/api/v1/processes/{id}")).await;
    stack::wait_gone(&alice, &id, Duration::from_secs(60)).await;
}
