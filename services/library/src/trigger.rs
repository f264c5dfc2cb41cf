//! The config trigger (docs/protocol.md#the-config-trigger): the process asks the
//! orchestrator for its configuration with `PUT /process/trigger/{PROCESS_ID}`; the
//! orchestrator answers 204 and then sends a `SetConfigMessage` on the management channel.
//!
//! The Java library tries once and exits on failure, leaving it to the swarm to restart the
//! container. Here a failure is retried with a growing delay for a bounded time first, so an
//! orchestrator that is briefly unreachable (restarting, or not yet attached to the user
//! network) costs no container restart; only then does the process exit non-zero.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tracing::{info, warn};

use crate::{Environment, Error};

/// How long and how often to try.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Retry {
    /// Give up when the next attempt would start after this much time.
    pub deadline: Duration,
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// For one request, from connecting to the status line.
    pub request_timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            deadline: Duration::from_secs(60),
            first_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Ask for the configuration until the orchestrator answers 204. Without `ORCHESTRATOR_HOST`
/// or `ORCHESTRATOR_PORT` there is no one to ask: the process then just waits for the
/// orchestrator (or a person) to connect, which is handy when running an image by hand.
pub(crate) async fn request_configuration(env: &Environment, retry: Retry) -> Result<(), Error> {
    let (Some(host), Some(port)) = (env.orchestrator_host.as_deref(), env.orchestrator_port) else {
        warn!("ORCHESTRATOR_HOST or ORCHESTRATOR_PORT is unset or invalid: not asking for a configuration");
        return Ok(());
    };
    if std::env::var("SWITCHYARD_SKIP_TRIGGER").is_ok_and(|v| v == "true") {
        // For tests: behave like a library whose config trigger failed and that only logged it.
        warn!("SWITCHYARD_SKIP_TRIGGER=true: not asking for a configuration; waiting for the orchestrator");
        return Ok(());
    }
    let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
    let url = format!("http://{host}:{port}/process/trigger/{}", env.reply_process_id());
    // Never through a proxy: the orchestrator is on the process's own network.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(retry.request_timeout)
        .build()
        .map_err(|e| Error::Http(chain(&e)))?;

    let started = Instant::now();
    let mut delay = retry.first_delay;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        // An explicit zero length: some servers and proxies refuse a PUT without one (411).
        let mut request = client.put(&url).header(reqwest::header::CONTENT_LENGTH, "0");
        if let Some(token) = &env.orchestrator_token {
            request = request.header("X-Auth-Token", token);
        }
        let failure = match request.send().await {
            Ok(response) if response.status() == StatusCode::NO_CONTENT => {
                info!(%url, attempts, "the orchestrator accepted the configuration request");
                return Ok(());
            }
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                let body: String = body.chars().take(200).collect();
                format!("HTTP {status} (expected 204 No Content) {body}").trim_end().to_string()
            }
            Err(e) => chain(&e),
        };
        let elapsed = started.elapsed();
        if elapsed + delay > retry.deadline {
            return Err(Error::Trigger { url, attempts, elapsed, last: failure });
        }
        warn!(%url, attempts, retry_in = ?delay, "configuration request failed: {failure}");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(retry.max_delay);
    }
}

/// An error and its causes on one line: reqwest's own message alone rarely says what failed.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}
