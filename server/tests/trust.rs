//! Trust, against the real binary: nobody locked out, nothing let in, nothing lost. Each test is
//! one defect of issue 13 that it failed on before the fix (see the comment on each).

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use common::{expect_error, Client, Server, ADMIN_PASSWORD};
use leptos::server_fn::ServerFn;
use serde_json::{json, Value};

async fn server(extra: &[(&str, &str)]) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD)];
    env.extend_from_slice(extra);
    let server = Server::start(dir.path(), &env).await;
    (server, dir)
}

async fn new_user(admin: &Client, name: &str) -> Value {
    let r = admin.post("/api/v1/users", json!({"username": name, "password": "a-long-password"})).await;
    assert_eq!(r.status(), 201, "creating {name}");
    r.json().await.unwrap()
}

async fn token(c: &Client, name: &str) -> String {
    let r = c.post("/api/v1/tokens", json!({"name": name})).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["secret"].as_str().unwrap().to_string()
}

/// Was: the brake kept every username it saw, in full (900 kB names: +127 MiB in 12 s).
#[tokio::test]
async fn failed_logins_with_huge_usernames_do_not_grow_memory() {
    let (server, _dir) = server(&[]).await;
    let c = server.client();
    let name = "x".repeat(900 * 1024);
    // Warm up (the allocator's arenas, the first hash), then measure.
    for _ in 0..5 {
        c.login(&name, "whatever").await;
    }
    let before = server.rss_kib();
    for _ in 0..150 {
        let status = c.login(&name, "whatever").await.status().as_u16();
        assert!(status == 401 || status == 429, "{status}");
    }
    let grown = server.rss_kib().saturating_sub(before);
    assert!(grown < 40 * 1024, "memory grew by {grown} KiB over 150 failed logins with 900 kB usernames");
}

/// A form post to a server function, as the hydrated UI sends it.
async fn server_fn(c: &Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    c.http.post(c.url(path)).header("accept", "application/json").form(fields).send().await.unwrap()
}

/// Was: `next=/%09/evil.example` redirected off-site after login; CR/LF in `next` panicked.
#[tokio::test]
async fn login_redirects_only_to_this_origin() {
    use switchyard_app::auth::Login;
    let (server, _dir) = server(&[]).await;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login_with = |next: &'static str, accept: &'static str| {
        let http = no_redirects.clone();
        let url = server.client().url(Login::PATH);
        async move {
            http.post(url)
                .header("accept", accept)
                .form(&[("username", "admin"), ("password", ADMIN_PASSWORD), ("next", next)])
                .send()
                .await
                .unwrap()
        }
    };
    for bad in ["/\t/evil.example", "/\r\nSet-Cookie: x=y", "/\n/evil.example", "/\u{0}"] {
        // The hydrated UI gets the error; a plain form post is sent back to the form with it.
        let r = login_with(bad, "application/json").await;
        assert_eq!(r.status(), 400, "next={bad:?}: {}", r.text().await.unwrap());
        let r = login_with(bad, "text/html").await;
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert!(!location.contains("evil") && !location.contains("Set-Cookie"), "next={bad:?} sent to {location}");
        assert!(r.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap().starts_with("x=")));
    }
    for (next, lands) in [
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example", "/"),
        ("/processes?state=RUNNING", "/processes?state=RUNNING"),
    ] {
        let r = login_with(next, "text/html").await;
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        assert_eq!(location.as_deref(), Some(lands), "next={next:?} (status {})", r.status());
    }
}

/// Was: a page on another port of the same host (same site, so the SameSite=Lax cookie goes
/// along) could make a logged-in user create a token or log out; server functions took
/// `text/plain` bodies from any origin.
#[tokio::test]
async fn state_changes_need_this_origin() {
    use switchyard_app::account::CreateToken;
    let (server, _dir) = server(&[]).await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    let evil = "http://127.0.0.1:9"; // another port: the same site, another origin
    let tokens = |c: &Client| {
        let url = c.url("/api/v1/tokens");
        let http = c.http.clone();
        async move { http.get(url).send().await.unwrap().json::<Value>().await.unwrap().as_array().unwrap().len() }
    };
    for (name, value) in [("origin", evil), ("sec-fetch-site", "same-site"), ("sec-fetch-site", "cross-site")] {
        let r = admin
            .http
            .post(admin.url("/api/v1/tokens"))
            .header(name, value)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        let e = expect_error(r, 403, "cross_origin").await;
        assert!(e["message"].as_str().unwrap().contains("Switchyard's own pages"), "{e}");
        // A bodyless POST too.
        let r = admin.http.post(admin.url("/api/v1/auth/logout")).header(name, value).send().await.unwrap();
        expect_error(r, 403, "cross_origin").await;
        // And a server function, in its own encoding.
        let r = admin
            .http
            .post(admin.url(CreateToken::PATH))
            .header(name, value)
            .form(&[("name", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    assert_eq!(tokens(&admin).await, 0, "no token was created");
    assert_eq!(admin.get("/api/v1/auth/me").await.status(), 200, "still logged in");
    // A server function refuses bodies it was not written for (text/plain needs no preflight).
    let r = admin
        .http
        .post(admin.url(CreateToken::PATH))
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unsupported_media_type", "{body}");
    // The app's own pages are let through.
    let r = admin
        .http
        .post(admin.url("/api/v1/tokens"))
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"name": "mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = admin
        .http
        .post(admin.url("/api/v1/tokens"))
        .header("origin", admin.base.clone())
        .json(&json!({"name": "mine2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // A script with a token is not a browser's ambient credential.
    let secret = token(&admin, "script").await;
    let r = reqwest::Client::new()
        .post(admin.url("/api/v1/tokens"))
        .header("origin", evil)
        .bearer_auth(&secret)
        .json(&json!({"name": "from-a-script"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(tokens(&admin).await, 4);
}

/// Was: no security headers at all.
#[tokio::test]
async fn every_response_carries_security_headers() {
    let (server, _dir) = server(&[]).await;
    let c = server.client();
    let page = c.get("/login").await;
    let h = page.headers().clone();
    let csp = h.get("content-security-policy").expect("a CSP on pages").to_str().unwrap().to_string();
    let html = page.text().await.unwrap();
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("a nonce in the CSP").to_string();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the page's inline scripts carry the CSP's nonce");
    assert!(csp.contains("'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("'unsafe-inline'"), "{csp}");
    let second = c.get("/login").await;
    let csp2 = second.headers().get("content-security-policy").unwrap().to_str().unwrap().to_string();
    assert_ne!(csp, csp2, "a new nonce for every response");
    for r in [c.get("/login").await, c.get("/api/v1/auth/me").await, c.get("/healthz").await] {
        let h = r.headers();
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(h.get("referrer-policy").unwrap(), "same-origin");
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
        assert!(h.get("content-security-policy").unwrap().to_str().unwrap().contains("frame-ancestors 'none'"));
    }
    c.login_ok("admin", ADMIN_PASSWORD).await;
    let me = c.get("/api/v1/auth/me").await;
    assert_eq!(me.headers().get("cache-control").unwrap(), "no-store", "user data is not kept by caches");
}

/// Was: changing your password left your other sessions and tokens valid; an admin's reset
/// left the user's tokens valid.
#[tokio::test]
async fn a_password_change_ends_other_sessions_and_tokens() {
    let (server, _dir) = server(&[]).await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    let bob = new_user(&admin, "bob").await;
    let bob_id = bob["id"].as_str().unwrap();
    let (here, elsewhere) = (server.client(), server.client());
    here.login_ok("bob", "a-long-password").await;
    elsewhere.login_ok("bob", "a-long-password").await;
    let secret = token(&here, "script").await;
    let with_token = |secret: String| {
        let url = here.url("/api/v1/auth/me");
        async move { reqwest::Client::new().get(url).bearer_auth(secret).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(with_token(secret.clone()).await, 200);

    let r = here
        .put(
            &format!("/api/v1/users/{bob_id}/password"),
            json!({"current_password": "a-long-password", "new_password": "another-long-one"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(here.get("/api/v1/auth/me").await.status(), 200, "the session that changed it stays");
    assert_eq!(elsewhere.get("/api/v1/auth/me").await.status(), 401, "the other session ended");
    assert_eq!(with_token(secret).await, 401, "the token was revoked");

    // An administrator's reset: every session and token of the user ends.
    let secret = token(&here, "script2").await;
    let r = admin.put(&format!("/api/v1/users/{bob_id}/password"), json!({"new_password": "reset-by-admin"})).await;
    assert_eq!(r.status(), 204);
    assert_eq!(here.get("/api/v1/auth/me").await.status(), 401);
    assert_eq!(with_token(secret).await, 401);
    assert_eq!(admin.get("/api/v1/auth/me").await.status(), 200, "the administrator's own session is untouched");
}

/// Was: a half-sent request stayed open for minutes, and nothing bounded open connections.
#[tokio::test]
async fn slow_clients_are_cut_off_and_connections_bounded() {
    let (server, _dir) = server(&[("SWITCHYARD_HEADER_TIMEOUT_SECS", "1"), ("SWITCHYARD_MAX_CONNECTIONS", "8")]).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    let mut slow: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap(); // never finished
            s
        })
        .collect();
    // The slow connections hold every slot; a normal request still gets its answer once the
    // server has cut them off.
    let started = Instant::now();
    let r = reqwest::Client::new().get(format!("{}/healthz", server.url)).timeout(Duration::from_secs(15)).send().await;
    assert!(r.is_ok_and(|r| r.status() == 200), "a normal request is served");
    assert!(started.elapsed() < Duration::from_secs(8), "served after {:?}", started.elapsed());
    for s in &mut slow {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).expect("the server closes a connection whose headers never came, within 5 s");
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "closed, or answered 408: {text:?}");
    }
}

/// Was: a server-function body over the limit got a 500; `bearer` in lower case was refused;
/// `ErrorDetail.details` was `null` where the document promises an object.
#[tokio::test]
async fn bounds_and_small_contract_breaks() {
    use switchyard_app::users::CreateUser;
    let (server, _dir) = server(&[("SWITCHYARD_MAX_BODY_BYTES", "4096")]).await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    let big = "x".repeat(10_000);
    let r = server_fn(&admin, CreateUser::PATH, &[("username", "carol"), ("password", &big), ("email", "")]).await;
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large", "{body}");
    let r = admin.post("/api/v1/users", json!({"username": "carol", "password": big})).await;
    expect_error(r, 413, "payload_too_large").await;

    let secret = token(&admin, "script").await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let r = reqwest::Client::new()
            .get(admin.url("/api/v1/auth/me"))
            .header("authorization", format!("{scheme} {secret}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "scheme {scheme}");
    }
    let e = expect_error(admin.get("/api/v1/users/0123456789abcdef01234567").await, 404, "not_found").await;
    assert!(e["details"].is_object(), "details is an object: {e}");
}

/// Was: another user's user record or token answered 403, telling that it exists, where another
/// user's process answers 404.
#[tokio::test]
async fn other_peoples_things_do_not_exist() {
    let (server, _dir) = server(&[]).await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    let alice = new_user(&admin, "alice").await;
    new_user(&admin, "bob").await;
    let (a, b) = (server.client(), server.client());
    a.login_ok("alice", "a-long-password").await;
    b.login_ok("bob", "a-long-password").await;
    let r = a.post("/api/v1/tokens", json!({"name": "alice's"})).await;
    let alices_token: Value = r.json().await.unwrap();
    let alice_id = alice["id"].as_str().unwrap();
    let token_id = alices_token["token"]["id"].as_str().unwrap();
    expect_error(b.get(&format!("/api/v1/users/{alice_id}")).await, 404, "not_found").await;
    expect_error(
        b.patch(&format!("/api/v1/users/{alice_id}"), json!({"revision": 1, "email": "x@y.org"})).await,
        404,
        "not_found",
    )
    .await;
    expect_error(
        b.put(&format!("/api/v1/users/{alice_id}/password"), json!({"new_password": "hijacked-password"})).await,
        404,
        "not_found",
    )
    .await;
    expect_error(b.delete(&format!("/api/v1/tokens/{token_id}")).await, 404, "not_found").await;
    assert_eq!(
        a.get("/api/v1/tokens").await.json::<Value>().await.unwrap().as_array().unwrap().len(),
        1,
        "alice's token is still there"
    );
}

/// Was: a truncated store file panicked at start-up.
#[tokio::test]
async fn a_damaged_store_is_a_clear_error_not_a_panic() {
    let (server, dir) = server(&[]).await;
    let file = dir.path().join("switchyard.redb");
    drop(server.kill());
    let bytes = std::fs::read(&file).unwrap();
    for keep in [bytes.len() / 2, 1000, 100] {
        std::fs::write(&file, &bytes[..keep]).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .env("SWITCHYARD_LISTEN", "127.0.0.1:0")
            .env("SWITCHYARD_DATA_DIR", dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "exits with 1 on a store cut to {keep} bytes: {stderr}");
        assert!(!stderr.contains("panicked"), "no panic: {stderr}");
        assert!(
            stderr.contains("switchyard.redb") && stderr.contains("switchyard restore"),
            "says which file and what to do: {stderr}"
        );
    }
}

/// `switchyard backup` while the server runs, `switchyard restore` into a new data directory:
/// everything is there (the processes' side is in `stack_trust.rs`).
#[tokio::test]
async fn backup_online_and_restore() {
    let (server, _dir) = server(&[]).await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;
    new_user(&admin, "dora").await;
    let secret = token(&admin, "backups").await;
    let target = tempfile::tempdir().unwrap();
    let file = target.path().join("backup.jsonl");
    let bin = env!("CARGO_BIN_EXE_switchyard");
    // Without a token it says what it needs.
    let out = std::process::Command::new(bin)
        .args(["backup", file.to_str().unwrap(), "--url", &server.url])
        .env_remove("SWITCHYARD_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SWITCHYARD_TOKEN"));
    let out = std::process::Command::new(bin)
        .args(["backup", file.to_str().unwrap(), "--url", &server.url])
        .env("SWITCHYARD_TOKEN", &secret)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Offline, the running server's store is locked: it says so.
    let out = std::process::Command::new(bin)
        .args(["backup", "--offline", target.path().join("b2").to_str().unwrap()])
        .env("SWITCHYARD_DATA_DIR", &server.data_dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"), "{}", String::from_utf8_lossy(&out.stderr));

    let restored = target.path().join("restored");
    let restore = |dir: &std::path::Path| {
        std::process::Command::new(bin)
            .args(["restore", file.to_str().unwrap()])
            .env("SWITCHYARD_DATA_DIR", dir)
            .output()
            .unwrap()
    };
    let out = restore(&restored);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Restoring over an installation is refused, and changes nothing.
    let out = restore(&restored);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds an installation"));
    // A damaged backup is refused before anything is written.
    let damaged = target.path().join("damaged.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let cut: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&damaged, cut).unwrap();
    let empty = target.path().join("empty");
    let out = std::process::Command::new(bin)
        .args(["restore", damaged.to_str().unwrap()])
        .env("SWITCHYARD_DATA_DIR", &empty)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("incomplete"), "{}", String::from_utf8_lossy(&out.stderr));

    drop(server);
    let again = Server::start(&restored, &[]).await;
    let c = again.client();
    c.login_ok("admin", ADMIN_PASSWORD).await;
    let users: Value = c.get("/api/v1/users?q=dora").await.json().await.unwrap();
    assert_eq!(users.as_array().unwrap().len(), 1, "dora came back: {users}");
    let r = reqwest::Client::new().get(c.url("/api/v1/auth/me")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(r.status(), 200, "the API token came back");
}
