//! The event stream (`GET /api/v1/events`) against the real binary: what it sends, to whom,
//! resuming with Last-Event-ID, resync, and the end of a stream whose session ends.

mod common;
mod stack;

use std::time::{Duration, Instant};

use common::{expect_error, Client, Server, ADMIN_PASSWORD};
use serde_json::{json, Value};

/// One SSE event as read off the wire.
#[derive(Debug, Clone)]
struct Sse {
    event: String,
    id: Option<String>,
    data: String,
}

impl Sse {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

/// An open stream and what it has sent so far.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(c: &Client, query: &str, last_id: Option<&str>) -> Stream {
        let mut request = c.http.get(c.url(&format!("/api/v1/events{query}"))).header("accept-encoding", "gzip");
        if let Some(id) = last_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/event-stream");
        // Never compressed: a compressor would hold events back until its buffer fills.
        assert!(headers.get("content-encoding").is_none(), "{headers:?}");
        Stream { response, buffer: String::new() }
    }

    /// The next event (keep-alive comments skipped), or `None` when the stream ended.
    async fn next(&mut self, within: Duration) -> Option<Sse> {
        let deadline = Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut sse = Sse { event: "message".into(), id: None, data: String::new() };
                let mut any = false;
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        sse.event = v.trim().into();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("id:") {
                        sse.id = Some(v.trim().into());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        sse.data.push_str(v.trim_start());
                        any = true;
                    }
                }
                if any {
                    return Some(sse);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no event within {within:?}; got so far: {:?}", self.buffer);
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) | Ok(Err(_)) => return None,
                Err(_) => panic!("no event within {within:?}; got so far: {:?}", self.buffer),
            }
        }
    }

    /// The next event of `topic` (others skipped).
    async fn next_of(&mut self, topic: &str, within: Duration) -> Sse {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = self.next(left).await.unwrap_or_else(|| panic!("the stream ended before a {topic} event"));
            if e.event == topic {
                return e;
            }
        }
    }
}

async fn server(extra: &[(&str, &str)]) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD)];
    env.extend_from_slice(extra);
    let server = Server::start(dir.path(), &env).await;
    (server, dir)
}

async fn user(admin: &Client, server: &Server, name: &str) -> (Client, Value) {
    let r = admin.post("/api/v1/users", json!({"username": name, "password": format!("{name}-password")})).await;
    assert_eq!(r.status(), 201);
    let u: Value = r.json().await.unwrap();
    let c = server.client();
    c.login_ok(name, &format!("{name}-password")).await;
    (c, u)
}

#[tokio::test]
async fn changes_are_pushed_as_they_happen_and_a_stream_resumes_where_it_left_off() {
    let (server, _dir) = server(&[]).await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    let (alice, _) = user(&admin, &server, "alice").await;

    let mut a = Stream::open(&admin, "", None).await;
    let ready = a.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ready.event, "ready");
    let mut b = Stream::open(&alice, "?topics=node", None).await;
    assert_eq!(b.next(Duration::from_secs(5)).await.unwrap().event, "ready");

    // A node pool is public: both see it created, at once.
    let started = Instant::now();
    let pool: Value = admin.post("/api/v1/node-pools", json!({"name": "edge"})).await.json().await.unwrap();
    let seen = a.next_of("node", Duration::from_secs(5)).await;
    let pushed_within = started.elapsed();
    let e = seen.json();
    assert_eq!(e["topic"], "node");
    assert_eq!(e["action"], "created");
    assert_eq!(e["resource_id"], pool["id"]);
    assert_eq!(seen.id.as_deref(), e["id"].as_str());
    assert!(pushed_within < Duration::from_secs(1), "pushed, not polled: {pushed_within:?}");
    assert_eq!(b.next_of("node", Duration::from_secs(5)).await.json()["resource_id"], pool["id"]);
    let last_seen = seen.id.clone().unwrap();

    // Two more changes while a third client is away; it resumes after the one it saw.
    let renamed = admin
        .patch(
            &format!("/api/v1/node-pools/{}", pool["id"].as_str().unwrap()),
            json!({"name": "edge-2", "revision": pool["revision"]}),
        )
        .await;
    assert_eq!(renamed.status(), 200, "{}", renamed.text().await.unwrap());
    let second: Value = admin.post("/api/v1/node-pools", json!({"name": "core"})).await.json().await.unwrap();
    let mut resumed = Stream::open(&admin, "", Some(&last_seen)).await;
    assert_eq!(resumed.next(Duration::from_secs(5)).await.unwrap().event, "ready");
    let first = resumed.next_of("node", Duration::from_secs(5)).await.json();
    assert_eq!((first["action"].as_str(), first["resource_id"].as_str()), (Some("updated"), pool["id"].as_str()));
    let then = resumed.next_of("node", Duration::from_secs(5)).await.json();
    assert_eq!((then["action"].as_str(), then["resource_id"].as_str()), (Some("created"), second["id"].as_str()));

    // The same through the query, for clients that cannot set headers.
    let mut by_query = Stream::open(&admin, &format!("?last_event_id={last_seen}"), None).await;
    by_query.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(by_query.next_of("node", Duration::from_secs(5)).await.json()["action"], "updated");

    // An id from another run of the server (or nonsense): told to resync, then live.
    let mut stale = Stream::open(&admin, "", Some("0123456789ab-42")).await;
    let resync = stale.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(resync.event, "resync");
    assert!(resync.json()["reason"].as_str().unwrap().contains("run"), "{resync:?}");
    assert!(resync.id.is_some(), "a resync says where to carry on from");
    admin.delete(&format!("/api/v1/node-pools/{}", second["id"].as_str().unwrap())).await;
    let deleted = stale.next_of("node", Duration::from_secs(5)).await.json();
    assert_eq!((deleted["action"].as_str(), deleted["resource_id"].as_str()), (Some("deleted"), second["id"].as_str()));
}

#[tokio::test]
async fn bad_requests_get_precise_errors() {
    let (server, _dir) = server(&[]).await;
    expect_error(server.client().get("/api/v1/events").await, 401, "unauthenticated").await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    let e = expect_error(admin.get("/api/v1/events?topics=process,sprocket").await, 400, "bad_request").await;
    assert!(e["message"].as_str().unwrap().contains("no topic 'sprocket'"), "{e}");
    expect_error(admin.get("/api/v1/events?colour=blue").await, 400, "bad_request").await;
    let r = reqwest::Client::new()
        .get(admin.url("/api/v1/events"))
        .header("authorization", "Bearer sy_not-a-token")
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_stream_ends_when_its_session_is_logged_out_or_its_token_revoked() {
    let (server, _dir) = server(&[("SWITCHYARD_EVENT_RECHECK_SECS", "1")]).await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    let (alice, _) = user(&admin, &server, "alice").await;

    let mut stream = Stream::open(&alice, "", None).await;
    assert_eq!(stream.next(Duration::from_secs(5)).await.unwrap().event, "ready");
    // Logged out in another tab (same cookie): the open stream ends within a recheck.
    assert_eq!(alice.post("/api/v1/auth/logout", json!({})).await.status(), 204);
    let end = stream.next(Duration::from_secs(10)).await.expect("an end event");
    assert_eq!(end.event, "end");
    assert!(stream.next(Duration::from_secs(10)).await.is_none(), "and then the stream closes");

    // A token's stream ends when the token is revoked.
    let token: Value = admin.post("/api/v1/tokens", json!({"name": "script"})).await.json().await.unwrap();
    let secret = token["secret"].as_str().unwrap();
    let response = reqwest::Client::new().get(admin.url("/api/v1/events")).bearer_auth(secret).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut by_token = Stream { response, buffer: String::new() };
    assert_eq!(by_token.next(Duration::from_secs(5)).await.unwrap().event, "ready");
    let r = admin.delete(&format!("/api/v1/tokens/{}", token["token"]["id"].as_str().unwrap())).await;
    assert_eq!(r.status(), 204);
    assert_eq!(by_token.next(Duration::from_secs(10)).await.expect("an end event").event, "end");
}

#[tokio::test]
async fn users_see_their_own_processes_events_and_nobody_elses() {
    if !stack::stack_here("users_see_their_own_processes_events_and_nobody_elses") {
        return;
    }
    let s = stack::setup(&[]).await;
    let (alice, _) = user(&s.admin, &s.server, "alice").await;
    let (bob, _) = user(&s.admin, &s.server, "bob").await;
    let mut alice_sees = Stream::open(&alice, "?topics=process", None).await;
    let mut bob_sees = Stream::open(&bob, "?topics=process,pending_change", None).await;
    let mut admin_sees = Stream::open(&s.admin, "?topics=process", None).await;
    for s in [&mut alice_sees, &mut bob_sees, &mut admin_sees] {
        assert_eq!(s.next(Duration::from_secs(5)).await.unwrap().event, "ready");
    }

    let id =
        stack::create(&bob, json!({"name": "bobs-sensor", "service_id": "sensor", "service_version": "1.0.0"})).await;
    let created = bob_sees.next_of("process", Duration::from_secs(5)).await.json();
    assert_eq!((created["action"].as_str(), created["resource_id"].as_str()), (Some("created"), Some(id.as_str())));
    assert_eq!(admin_sees.next_of("process", Duration::from_secs(5)).await.json()["resource_id"], id.as_str());
    // Its state follows as it starts.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let e = bob_sees.next_of("process", deadline.saturating_duration_since(Instant::now())).await.json();
        if e["state"] == "RUNNING" {
            break;
        }
    }
    let r = bob.delete(&format!("/api/v1/processes/{id}")).await;
    assert!(r.status().is_success(), "{}", r.status());
    stack::wait_gone(&bob, &id, Duration::from_secs(60)).await;
    // Alice saw none of it: her stream holds nothing but keep-alives. A process of her own shows
    // up at once, and is the first thing she sees.
    let mine =
        stack::create(&alice, json!({"name": "alices-sensor", "service_id": "sensor", "service_version": "1.0.0"}))
            .await;
    let first = alice_sees.next(Duration::from_secs(5)).await.unwrap().json();
    assert_eq!(
        first["resource_id"].as_str(),
        Some(mine.as_str()),
        "alice's first event is about her own process: {first}"
    );
    alice.delete(&format!("/api/v1/processes/{mine}")).await;
    stack::wait_gone(&alice, &mine, Duration::from_secs(60)).await;
}
