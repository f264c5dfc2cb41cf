//! The REST API against the real binary: users, sessions, tokens, bad input, persistence.

mod common;

use common::{expect_error, Server, ADMIN_PASSWORD};
use serde_json::json;

async fn server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await;
    (server, dir)
}

#[tokio::test]
async fn login_logout_and_sessions() {
    let (server, _dir) = server().await;
    let c = server.client();

    expect_error(c.get("/api/v1/auth/me").await, 401, "unauthenticated").await;
    expect_error(c.login("admin", "wrong password").await, 401, "unauthenticated").await;
    expect_error(c.login("nobody", "whatever-password").await, 401, "unauthenticated").await;
    expect_error(c.login("admin", "").await, 401, "unauthenticated").await;

    let r = c.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 200);
    let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("switchyard_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "not Secure over plain http: {cookie}");
    let me: serde_json::Value = r.json().await.unwrap();
    assert_eq!(me["username"], "admin");
    assert_eq!(me["admin"], true);
    assert!(me.get("password_hash").is_none(), "no hash in responses: {me}");

    assert_eq!(c.get("/api/v1/auth/me").await.status(), 200);

    // Logging out ends the session on the server: the old cookie is worth nothing.
    let session = cookie.split(';').next().unwrap().to_string();
    let r = c.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(r.status(), 204);
    expect_error(c.get("/api/v1/auth/me").await, 401, "unauthenticated").await;
    let replay = reqwest::Client::new().get(c.url("/api/v1/auth/me")).header("cookie", session).send().await.unwrap();
    expect_error(replay, 401, "unauthenticated").await;
}

#[tokio::test]
async fn repeated_failed_logins_slow_down_their_address_only() {
    let (server, _dir) = server().await;
    let attacker = server.client();
    for _ in 0..5 {
        expect_error(attacker.login("admin", "guess-guess").await, 401, "unauthenticated").await;
    }
    let r = attacker.login("admin", ADMIN_PASSWORD).await;
    assert!(r.headers().get("retry-after").is_some());
    let e = expect_error(r, 429, "too_many_attempts").await;
    assert!(e["details"]["retry_after_secs"].as_u64().unwrap() >= 1);
    // The administrator, from another address, is not locked out by someone else's failures.
    let admin = server.client_from("127.0.0.2");
    assert_eq!(admin.login("admin", ADMIN_PASSWORD).await.status(), 200, "the right password from another address");
}

#[tokio::test]
async fn admin_manages_users_and_nobody_else_does() {
    let (server, _dir) = server().await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;

    let r = admin
        .post(
            "/api/v1/users",
            json!({ "username": "alice", "password": "alice-password", "email": "alice@example.org" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let location = r.headers().get("location").unwrap().to_str().unwrap().to_string();
    let alice: serde_json::Value = r.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/users/{}", alice["id"].as_str().unwrap()));
    assert_eq!(alice["admin"], false);
    assert_eq!(alice["revision"], 1);
    let alice_id = alice["id"].as_str().unwrap().to_string();

    let r = admin.get("/api/v1/users?sort=-username&per_page=1").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-total-count"], "2");
    let page: Vec<serde_json::Value> = r.json().await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["username"], "alice");
    let r = admin.get("/api/v1/users?q=ALI").await;
    assert_eq!(r.headers()["x-total-count"], "1");

    // The user's own view.
    let alice_c = server.client();
    alice_c.login_ok("alice", "alice-password").await;
    expect_error(alice_c.get("/api/v1/users").await, 403, "forbidden").await;
    expect_error(
        alice_c.post("/api/v1/users", json!({ "username": "x", "password": "xxxxxxxxxx" })).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(alice_c.get(&format!("/api/v1/users/{alice_id}")).await.status(), 200);
    let admin_id = admin.get("/api/v1/auth/me").await.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Someone else's account does not exist, as far as a user can tell.
    expect_error(alice_c.get(&format!("/api/v1/users/{admin_id}")).await, 404, "not_found").await;

    // Nobody makes themselves admin.
    let e = expect_error(
        alice_c.patch(&format!("/api/v1/users/{alice_id}"), json!({ "revision": 1, "admin": true })).await,
        403,
        "forbidden",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("administrator"));
    let r =
        alice_c.patch(&format!("/api/v1/users/{alice_id}"), json!({ "revision": 1, "email": "a@example.com" })).await;
    assert_eq!(r.status(), 200);
    let alice: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (alice["email"].as_str(), alice["admin"].as_bool(), alice["revision"].as_u64()),
        (Some("a@example.com"), Some(false), Some(2))
    );

    // A change based on an old revision is refused and changes nothing.
    let e = expect_error(
        admin.patch(&format!("/api/v1/users/{alice_id}"), json!({ "revision": 1, "email": "old@example.org" })).await,
        409,
        "stale_revision",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("revision 2"));
    let now: serde_json::Value = admin.get(&format!("/api/v1/users/{alice_id}")).await.json().await.unwrap();
    assert_eq!(now["email"], "a@example.com");

    // Own password: the current one is needed.
    let e = expect_error(
        alice_c
            .put(
                &format!("/api/v1/users/{alice_id}/password"),
                json!({ "current_password": "nope-nope", "new_password": "alice-new-password" }),
            )
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(e["details"]["field"], "current_password");
    assert_eq!(
        alice_c
            .put(
                &format!("/api/v1/users/{alice_id}/password"),
                json!({ "current_password": "alice-password", "new_password": "alice-new-password" })
            )
            .await
            .status(),
        204
    );

    // An admin reset ends the user's sessions.
    assert_eq!(
        admin
            .put(&format!("/api/v1/users/{alice_id}/password"), json!({ "new_password": "reset-by-admin" }))
            .await
            .status(),
        204
    );
    expect_error(alice_c.get("/api/v1/auth/me").await, 401, "unauthenticated").await;
    alice_c.login_ok("alice", "reset-by-admin").await;

    // The last admin can neither be demoted nor delete themselves.
    let me: serde_json::Value = admin.get("/api/v1/auth/me").await.json().await.unwrap();
    expect_error(
        admin.patch(&format!("/api/v1/users/{admin_id}"), json!({ "revision": me["revision"], "admin": false })).await,
        409,
        "conflict",
    )
    .await;
    expect_error(admin.delete(&format!("/api/v1/users/{admin_id}")).await, 409, "conflict").await;

    // Deleting a user ends their session at once.
    assert_eq!(admin.delete(&format!("/api/v1/users/{alice_id}")).await.status(), 204);
    expect_error(alice_c.get("/api/v1/auth/me").await, 401, "unauthenticated").await;
    expect_error(admin.get(&format!("/api/v1/users/{alice_id}")).await, 404, "not_found").await;
    expect_error(admin.delete(&format!("/api/v1/users/{alice_id}")).await, 404, "not_found").await;
}

#[tokio::test]
async fn bad_input_gets_precise_errors_and_changes_nothing() {
    let (server, _dir) = server().await;
    let c = server.client();
    c.login_ok("admin", ADMIN_PASSWORD).await;
    let count = || async { c.get("/api/v1/users").await.headers()["x-total-count"].to_str().unwrap().to_string() };
    assert_eq!(count().await, "1");

    let raw = |body: &'static str, content_type: &'static str| {
        c.http.post(c.url("/api/v1/users")).header("content-type", content_type).body(body).send()
    };
    let e = expect_error(raw("{\"username\": ", "application/json").await.unwrap(), 400, "bad_request").await;
    assert!(e["message"].as_str().unwrap().starts_with("malformed JSON"));
    expect_error(raw("{}", "text/plain").await.unwrap(), 415, "unsupported_media_type").await;
    let e = expect_error(
        c.post("/api/v1/users", json!({ "username": "bob", "password": "bob-password", "role": "boss" })).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("unknown field `role`"), "{e}");
    let e = expect_error(
        c.post("/api/v1/users", json!({ "username": 42, "password": "bob-password" })).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("invalid type"), "{e}");
    let e = expect_error(
        c.post("/api/v1/users", json!({ "username": "bob", "password": "" })).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(e["details"]["field"], "password");
    let e = expect_error(
        c.post("/api/v1/users", json!({ "username": "Bob Smith", "password": "bob-password" })).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(e["details"]["field"], "username");
    let e = expect_error(
        c.post("/api/v1/users", json!({ "username": "bob", "password": "bob-password", "email": "not-an-address" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(e["details"]["field"], "email");
    let e = expect_error(
        c.post("/api/v1/users", json!({ "username": "admin", "password": "bob-password" })).await,
        409,
        "conflict",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("username 'admin'"), "{e}");
    // The server answers 413 as soon as the body passes the limit (1 MiB) and then closes the
    // connection: send a body just over it, so the client has written it all by then, on a
    // connection of its own (with a token) rather than one of `c`'s pooled ones.
    let token: serde_json::Value = c.post("/api/v1/tokens", json!({ "name": "big" })).await.json().await.unwrap();
    let big = format!("{{\"username\":\"bob\",\"password\":\"{}\"}}", "x".repeat(1024 * 1024));
    let r = reqwest::Client::new()
        .post(c.url("/api/v1/users"))
        .header("content-type", "application/json")
        .bearer_auth(token["secret"].as_str().unwrap())
        .body(big)
        .send()
        .await
        .unwrap();
    expect_error(r, 413, "payload_too_large").await;
    assert_eq!(count().await, "1", "nothing was created");

    expect_error(c.get("/api/v1/users/not-an-id").await, 400, "bad_request").await;
    expect_error(c.get("/api/v1/users/0123456789abcdef01234567").await, 404, "not_found").await;
    expect_error(c.get("/api/v1/users?page=0").await, 400, "bad_request").await;
    expect_error(c.get("/api/v1/users?per_page=5000").await, 400, "bad_request").await;
    expect_error(c.get("/api/v1/users?page=abc").await, 400, "bad_request").await;
    let e = expect_error(c.get("/api/v1/users?sort=password_hash").await, 400, "bad_request").await;
    assert!(e["message"].as_str().unwrap().contains("sortable fields"));
    expect_error(c.get("/api/v1/users?colour=red").await, 400, "bad_request").await;
    expect_error(c.get("/api/v1/no-such-thing").await, 404, "not_found").await;
}

#[tokio::test]
async fn api_tokens_authenticate_until_revoked() {
    let (server, _dir) = server().await;
    let c = server.client();
    c.login_ok("admin", ADMIN_PASSWORD).await;
    let r = c.post("/api/v1/tokens", json!({ "name": "ci script" })).await;
    assert_eq!(r.status(), 201);
    let created: serde_json::Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sy_"));
    let id = created["token"]["id"].as_str().unwrap().to_string();

    let listed: Vec<serde_json::Value> = c.get("/api/v1/tokens").await.json().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].to_string().contains(&secret), "the secret is shown only once");
    assert!(listed[0].get("secret_hash").is_none());

    let bearer = reqwest::Client::new();
    let call = |auth: String| bearer.get(c.url("/api/v1/users")).header("authorization", auth).send();
    let r = call(format!("Bearer {secret}")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-total-count"], "1");
    expect_error(call("Bearer sy_forged".into()).await.unwrap(), 401, "unauthenticated").await;
    expect_error(call(format!("Basic {secret}")).await.unwrap(), 401, "unauthenticated").await;

    assert_eq!(c.delete(&format!("/api/v1/tokens/{id}")).await.status(), 204);
    expect_error(call(format!("Bearer {secret}")).await.unwrap(), 401, "unauthenticated").await;
    expect_error(c.post("/api/v1/tokens", json!({ "name": "  " })).await, 422, "validation_failed").await;
}

#[tokio::test]
async fn node_pools_and_pending_changes() {
    let (server, _dir) = server().await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    let pool: serde_json::Value =
        admin.post("/api/v1/node-pools", json!({ "name": "edge" })).await.json().await.unwrap();
    expect_error(admin.post("/api/v1/node-pools", json!({ "name": "edge" })).await, 409, "conflict").await;
    let id = pool["id"].as_str().unwrap();
    let renamed = admin.patch(&format!("/api/v1/node-pools/{id}"), json!({ "revision": 1, "name": "edge-eu" })).await;
    assert_eq!(renamed.status(), 200);
    expect_error(
        admin.patch(&format!("/api/v1/node-pools/{id}"), json!({ "revision": 1, "name": "x" })).await,
        409,
        "stale_revision",
    )
    .await;

    admin.post("/api/v1/users", json!({ "username": "carol", "password": "carol-password" })).await;
    let carol = server.client();
    carol.login_ok("carol", "carol-password").await;
    let r = carol.get("/api/v1/node-pools").await;
    assert_eq!(r.headers()["x-total-count"], "1");
    expect_error(carol.post("/api/v1/node-pools", json!({ "name": "mine" })).await, 403, "forbidden").await;
    expect_error(carol.delete(&format!("/api/v1/node-pools/{id}")).await, 403, "forbidden").await;
    let r = carol.get("/api/v1/pending-changes").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-total-count"], "0");
    assert_eq!(admin.delete(&format!("/api/v1/node-pools/{id}")).await.status(), 204);
}

#[tokio::test]
async fn data_survives_a_crash_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await;
    let c = server.client();
    c.login_ok("admin", ADMIN_PASSWORD).await;
    assert_eq!(c.post("/api/v1/users", json!({ "username": "dave", "password": "dave-password" })).await.status(), 201);
    let dave = server.client();
    dave.login_ok("dave", "dave-password").await;
    server.kill();

    // A different admin password in the environment does not reset the existing admin.
    let server = Server::start(dir.path(), &[("SWITCHYARD_ADMIN_PASSWORD", "another-password")]).await;
    let c = server.client();
    c.login_ok("admin", ADMIN_PASSWORD).await;
    c.login_ok("dave", "dave-password").await;
    // The session from before the crash is still valid: a restart logs nobody out.
    let dave_again = common::Client { base: server.url.clone(), http: dave.http.clone() };
    let me: serde_json::Value = dave_again.get("/api/v1/auth/me").await.json().await.unwrap();
    assert_eq!(me["username"], "dave");
}

#[tokio::test]
async fn first_start_generates_and_prints_the_admin_password() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let file = dir.path().join("initial-admin-password");
    let password = std::fs::read_to_string(&file).expect("the generated password is written").trim().to_string();
    assert!(password.len() >= 16);
    let c = server.client();
    let me = c.login_ok("admin", &password).await;
    expect_error(c.login("admin", "admin").await, 401, "unauthenticated").await;
    // Changing it removes the file.
    let id = me["id"].as_str().unwrap();
    let r = c
        .put(
            &format!("/api/v1/users/{id}/password"),
            json!({ "current_password": password, "new_password": "my-own-password" }),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert!(!file.exists(), "the initial password file is removed once changed");
    let out = server.stdout();
    assert!(out.contains(&password), "the password is printed once: {out}");
}

#[tokio::test]
async fn openapi_describes_every_endpoint() {
    let (server, _dir) = server().await;
    let doc: serde_json::Value = server.client().get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/users/{id}/password",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/node-pools",
        "/api/v1/node-pools/{id}",
        "/api/v1/pending-changes",
        "/api/v1/pending-changes/{id}",
        "/api/v1/services",
        "/api/v1/services/{id}",
        "/api/v1/services/{id}/versions",
        "/api/v1/nodes",
        "/api/v1/nodes/{id}",
        "/api/v1/nodes/{id}/assignment",
        "/api/v1/processes/{id}/move",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(p), "{p} is documented");
    }
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} has responses");
            if path.starts_with("/api/v1/") && path != "/api/v1/auth/logout" {
                assert!(responses.keys().any(|s| s.starts_with('4')), "{method} {path} documents its error responses");
            }
        }
    }
    for schema in [
        "Service",
        "Interface",
        "InterfaceVersion",
        "Parameter",
        "User",
        "ErrorBody",
        "NewUser",
        "UserUpdate",
        "NodePool",
        "PendingChange",
        "ApiToken",
        "NewApiToken",
    ] {
        assert!(doc["components"]["schemas"].get(schema).is_some(), "schema {schema}");
    }
    let docs = server.client().get("/api/v1/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"), "the browsable API page is served");
}

#[tokio::test]
async fn health_and_readiness() {
    // With the files its pages name (the test binary's build has no site of its own).
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    for ext in ["js", "wasm", "css"] {
        std::fs::write(site.join(format!("pkg/switchyard.{ext}")), ext).unwrap();
    }
    let site = site.display().to_string();
    let env = [("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD), ("LEPTOS_SITE_ROOT", site.as_str())];
    let server = Server::start(&dir.path().join("data"), &env).await;
    let c = server.client();
    assert_eq!(c.get("/healthz").await.status(), 200);
    let r = c.get("/readyz").await;
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["store"], "ok");
    let docker_up = std::process::Command::new("docker")
        .args(["info", "--format", "{{.Swarm.ControlAvailable}}"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "true")
        .unwrap_or(false);
    if docker_up {
        assert_eq!(body["docker"], "ok", "{body}");
        let checks = body["checks"].as_array().unwrap();
        for name in ["docker", "swarm", "networks", "site", "store", "clock", "disk"] {
            assert!(checks.iter().any(|c| c["name"] == name && c["ok"] == true), "{name}: {body}");
        }
        // The registry and the anchor image are the stack's (scripts/test starts them).
        let all = checks.iter().all(|c| c["ok"] == true);
        assert_eq!((status, body["ready"].as_bool()), (if all { 200 } else { 503 }, Some(all)), "{body}");
    } else {
        eprintln!("NOTE: no swarm manager answers here; checking that /readyz says so");
        assert_eq!(status, 503, "{body}");
        assert_ne!(body["docker"], "ok");
    }
}

fn swarm_manager_here() -> bool {
    std::process::Command::new("docker")
        .args(["info", "--format", "{{.Swarm.ControlAvailable}}"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "true")
        .unwrap_or(false)
}

#[tokio::test]
async fn nodes_of_the_real_swarm_are_onboarded_by_admins() {
    if !swarm_manager_here() {
        eprintln!("SKIPPED: node onboarding test: no Docker swarm manager answers here (scripts/test starts one)");
        return;
    }
    let (server, _dir) = server().await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    let nodes: Vec<serde_json::Value> = admin.get("/api/v1/nodes").await.json().await.unwrap();
    let node = nodes.iter().find(|n| n["manager"] == true).expect("the swarm manager is listed").clone();
    assert_eq!(node["kind"], "unidentified", "a node that joined is unidentified: {node}");
    assert_eq!(node["status"], "READY");
    assert_ne!(node["architecture"], "UNKNOWN");
    let id = node["id"].as_str().unwrap().to_string();

    let pool: serde_json::Value =
        admin.post("/api/v1/node-pools", json!({ "name": "lab" })).await.json().await.unwrap();
    let pool_id = pool["id"].as_str().unwrap();
    let user: serde_json::Value = admin
        .post("/api/v1/users", json!({ "username": "nina", "password": "nina-password" }))
        .await
        .json()
        .await
        .unwrap();
    let nina = server.client();
    nina.login_ok("nina", "nina-password").await;
    assert_eq!(nina.get("/api/v1/nodes").await.headers()["x-total-count"], "0", "users do not see unidentified nodes");
    expect_error(nina.get(&format!("/api/v1/nodes/{id}")).await, 404, "not_found").await;

    let path = format!("/api/v1/nodes/{id}/assignment");
    let assign = |body: serde_json::Value| admin.put(&path, body);
    let e =
        expect_error(assign(json!({ "revision": node["revision"], "kind": "public" })).await, 422, "validation_failed")
            .await;
    assert_eq!(e["details"]["field"], "node_pool_id");
    expect_error(
        assign(json!({ "revision": node["revision"], "kind": "public", "node_pool_id": "0123456789abcdef01234567" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    expect_error(
        nina.put(
            &format!("/api/v1/nodes/{id}/assignment"),
            json!({ "revision": node["revision"], "kind": "public", "node_pool_id": pool_id }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let public: serde_json::Value =
        assign(json!({ "revision": node["revision"], "kind": "public", "node_pool_id": pool_id, "name": "lab-1" }))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!((public["kind"].as_str(), public["name"].as_str()), (Some("public"), Some("lab-1")));
    expect_error(assign(json!({ "revision": node["revision"], "kind": "unidentified" })).await, 409, "stale_revision")
        .await;
    let seen: Vec<serde_json::Value> = nina.get("/api/v1/nodes").await.json().await.unwrap();
    assert_eq!(seen.len(), 1, "users see public nodes");
    let e = expect_error(admin.delete(&format!("/api/v1/node-pools/{pool_id}")).await, 409, "conflict").await;
    assert!(e["message"].as_str().unwrap().contains("still has 1 node"));

    let user_id = user["id"].as_str().unwrap();
    let private: serde_json::Value =
        assign(json!({ "revision": public["revision"], "kind": "private", "user_id": user_id }))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!((private["kind"].as_str(), private["node_pool_id"].as_str()), (Some("private"), None));
    assert_eq!(nina.get(&format!("/api/v1/nodes/{id}")).await.status(), 200, "the owner sees a private node");
    assert_eq!(admin.delete(&format!("/api/v1/node-pools/{pool_id}")).await.status(), 204, "an empty pool can go");

    expect_error(nina.delete(&format!("/api/v1/nodes/{id}")).await, 403, "forbidden").await;

    // The owner of a private node is not deleted while they have it: it goes back first.
    let e = expect_error(admin.delete(&format!("/api/v1/users/{user_id}")).await, 409, "conflict").await;
    assert!(e["message"].as_str().unwrap().contains("1 private node"), "{e}");
    let back: serde_json::Value =
        assign(json!({ "revision": private["revision"], "kind": "unidentified" })).await.json().await.unwrap();
    assert_eq!((back["kind"].as_str(), back["user_id"].as_str()), (Some("unidentified"), None));
    assert_eq!(admin.delete(&format!("/api/v1/users/{user_id}")).await.status(), 204);

    // Only a node that has left the swarm can be forgotten, and only by an administrator.
    let e = expect_error(admin.delete(&format!("/api/v1/nodes/{id}")).await, 409, "conflict").await;
    assert!(e["message"].as_str().unwrap().contains("still in the swarm"), "{e}");
    expect_error(admin.delete("/api/v1/nodes/0123456789abcdef01234567").await, 404, "not_found").await;
    expect_error(admin.delete("/api/v1/nodes/not-an-id").await, 400, "bad_request").await;
    assert_eq!(admin.get(&format!("/api/v1/nodes/{id}")).await.status(), 200, "the node is still there");
}

/// A form post to one of the UI's server functions, as the hydrated UI sends it.
async fn call_server_fn(c: &common::Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    c.http.post(c.url(path)).header("accept", "application/json").form(fields).send().await.unwrap()
}

/// The error body of a server function (the UI decodes it): its status and code.
async fn expect_server_fn_error(r: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(r.status().as_u16(), status, "status");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], code, "error code in {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "a message in {body}");
    body
}

/// The UI's server functions answer a refused request with the status of its error, as the
/// REST API does (server_fn's default is a 500 for every error), keep the body the UI decodes,
/// and still answer a plain form post (before hydration) with a redirect back to the form.
#[tokio::test]
async fn server_functions_answer_errors_with_their_status() {
    use leptos::server_fn::ServerFn;
    use switchyard_app::{
        auth::Login,
        users::{CreateUser, GetUser},
    };
    let (server, _dir) = server().await;
    let c = server.client();

    let wrong = [("username", "admin"), ("password", "wrong password")];
    expect_server_fn_error(call_server_fn(&c, Login::PATH, &wrong).await, 401, "unauthenticated").await;
    expect_server_fn_error(call_server_fn(&c, Login::PATH, &[]).await, 400, "bad_request").await;
    expect_server_fn_error(call_server_fn(&c, GetUser::PATH, &[("id", "nobody")]).await, 401, "unauthenticated").await;

    // Without JavaScript the browser posts the form itself: back to the form, error in the URL.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirects
        .post(c.url(Login::PATH))
        .header("accept", "text/html")
        .header("referer", c.url("/login"))
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let location = r.headers().get("location").unwrap().to_str().unwrap();
    assert!(location.starts_with(&c.url("/login?")), "back to the form with the error: {location}");

    c.login_ok("admin", ADMIN_PASSWORD).await;
    expect_server_fn_error(call_server_fn(&c, GetUser::PATH, &[("id", "nobody")]).await, 400, "bad_request").await;
    let unknown = [("id", "0123456789abcdef01234567")];
    expect_server_fn_error(call_server_fn(&c, GetUser::PATH, &unknown).await, 404, "not_found").await;
    let duplicate = [("username", "admin"), ("password", "a-long-password"), ("email", "")];
    expect_server_fn_error(call_server_fn(&c, CreateUser::PATH, &duplicate).await, 409, "conflict").await;
    let empty_password = [("username", "carol"), ("password", ""), ("email", "")];
    let e =
        expect_server_fn_error(call_server_fn(&c, CreateUser::PATH, &empty_password).await, 422, "validation_failed")
            .await;
    assert_eq!(e["field"], "password", "the form shows it at its field: {e}");
    // Nothing was half-applied: no user carol.
    let users: serde_json::Value = c.get("/api/v1/users?q=carol").await.json().await.unwrap();
    assert_eq!(users.as_array().map(Vec::len), Some(0), "{users}");
}
