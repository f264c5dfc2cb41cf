//! Start the real `switchyard` binary on a free port with a fresh data directory, and talk to
//! it over HTTP.

#![allow(dead_code)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

pub struct Server {
    pub url: String,
    pub data_dir: PathBuf,
    child: Child,
}

/// How long the tests' clients keep an idle connection for another request: less than the
/// server's 10 s (`--header-timeout-secs`, which also closes a kept-alive connection idle that
/// long). A client that kept it longer could send on a connection the server is closing at that
/// moment and get an incomplete answer (hyper's `IncompleteMessage`), as the dockerd restart
/// test did, its client idle about 10 s while Docker came back.
const CLIENT_IDLE: Duration = Duration::from_secs(5);

impl Server {
    pub async fn start(data_dir: &Path, extra_env: &[(&str, &str)]) -> Server {
        Self::start_binary(Path::new(env!("CARGO_BIN_EXE_switchyard")), data_dir, extra_env).await
    }

    /// [`Self::start`] with another copy of the binary (one with a site build of its own).
    pub async fn start_binary(binary: &Path, data_dir: &Path, extra_env: &[(&str, &str)]) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let mut cmd = Command::new(binary);
        cmd.env("SWITCHYARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("SWITCHYARD_DATA_DIR", data_dir)
            .env_remove("SWITCHYARD_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start switchyard");
        let server = Server { url, data_dir: data_dir.to_path_buf(), child };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", self.url)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "switchyard did not become healthy within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kill the server without letting it shut down cleanly (as a crash would).
    pub fn kill(mut self) -> PathBuf {
        self.child.kill().ok();
        self.child.wait().ok();
        self.data_dir.clone()
    }

    pub fn stdout(mut self) -> String {
        use std::io::Read;
        self.child.kill().ok();
        let mut out = String::new();
        if let Some(mut s) = self.child.stdout.take() {
            s.read_to_string(&mut out).ok();
        }
        self.child.wait().ok();
        out
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the server, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// A client whose requests come from another local address (every 127.x.y.z is this host).
    pub fn client_from(&self, addr: &str) -> Client {
        Client {
            base: self.url.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .pool_idle_timeout(CLIENT_IDLE)
                .local_address(addr.parse::<std::net::IpAddr>().unwrap())
                .build()
                .unwrap(),
        }
    }

    pub fn client(&self) -> Client {
        Client {
            base: self.url.clone(),
            http: reqwest::Client::builder().cookie_store(true).pool_idle_timeout(CLIENT_IDLE).build().unwrap(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// An HTTP client with its own cookie jar (one browser, one user); a clone shares the jar.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }
    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http.post(self.url(path)).json(&body).send().await.unwrap()
    }
    pub async fn patch(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http.patch(self.url(path)).json(&body).send().await.unwrap()
    }
    pub async fn put(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http.put(self.url(path)).json(&body).send().await.unwrap()
    }
    /// POST a body of this content type (a YAML document, say).
    pub async fn post_text(&self, path: &str, content_type: &str, body: &str) -> reqwest::Response {
        self.http.post(self.url(path)).header("content-type", content_type).body(body.to_string()).send().await.unwrap()
    }
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.http.delete(self.url(path)).send().await.unwrap()
    }
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post("/api/v1/auth/login", serde_json::json!({ "username": username, "password": password })).await
    }
    pub async fn login_ok(&self, username: &str, password: &str) -> serde_json::Value {
        let r = self.login(username, password).await;
        assert_eq!(r.status(), 200, "login as {username}");
        r.json().await.unwrap()
    }
}

/// Assert a JSON error response: its status and code, and return its message.
pub async fn expect_error(r: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(r.status().as_u16(), status, "status");
    assert_eq!(
        r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()),
        Some("application/json".to_string())
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "error code in {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "a message in {body}");
    body["error"].clone()
}
