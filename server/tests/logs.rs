//! A process's logs on the real swarm: each line with Docker's time, `since`, the download, the
//! follow stream, and the lines of the container before a restart marked as such.

mod common;
mod stack;

use std::time::{Duration, Instant};

use common::expect_error;
use serde_json::{json, Value};

#[tokio::test]
async fn logs_have_times_can_be_followed_downloaded_and_mark_the_previous_container() {
    if !stack::stack_here("logs_have_times_can_be_followed_downloaded_and_mark_the_previous_container") {
        return;
    }
    let s = stack::setup(&[]).await;
    let c = &s.admin;
    let id = stack::create(
        c,
        json!({"name": "logging-counter", "service_id": "counter", "service_version": "1.0.0",
               "parameters": {"step": "1", "interval_ms": "200"}}),
    )
    .await;
    stack::wait_state(c, &id, "RUNNING", Duration::from_secs(120)).await;
    stack::wait_for("the counter logs", Duration::from_secs(60), || async {
        stack::logs(c, &id).await.contains("count=")
    })
    .await;

    let logs: Value = c.get(&format!("/api/v1/processes/{id}/logs?tail=50")).await.json().await.unwrap();
    let entries = logs["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    let times: Vec<chrono::DateTime<chrono::Utc>> =
        entries.iter().map(|e| e["at"].as_str().unwrap().parse().expect("every line has Docker's time")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    assert!(entries.iter().all(|e| e["previous"] == false), "one container so far");
    assert!(!entries[0]["text"].as_str().unwrap().starts_with("com.docker"), "the details are not in the text");

    // `since`: only what came after.
    let cut = times[times.len() / 2];
    let since = cut.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let later: Value =
        c.get(&format!("/api/v1/processes/{id}/logs?tail=5000&since={since}")).await.json().await.unwrap();
    let later_times: Vec<chrono::DateTime<chrono::Utc>> =
        later["entries"].as_array().unwrap().iter().map(|e| e["at"].as_str().unwrap().parse().unwrap()).collect();
    assert!(later_times.iter().all(|t| *t > cut), "{since}: {later_times:?}");
    expect_error(c.get(&format!("/api/v1/processes/{id}/logs?since=tuesday")).await, 400, "bad_request").await;

    // The download: a text file of the same lines.
    let r = c.get(&format!("/api/v1/processes/{id}/logs/download?tail=20")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"process-"));
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().await.unwrap();
    assert!(text.lines().count() >= 1 && text.contains("count="), "{text}");

    // Follow: lines written after now arrive on the stream.
    let mut stream = c.http.get(c.url(&format!("/api/v1/processes/{id}/logs/follow"))).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let started = chrono::Utc::now();
    let mut buffer = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let first_new = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no followed line within 20 s: {buffer}");
        if let Ok(Ok(Some(chunk))) = tokio::time::timeout(left, stream.chunk()).await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
        if let Some(data) = buffer.lines().find_map(|l| l.strip_prefix("data:")) {
            break serde_json::from_str::<Value>(data.trim()).unwrap();
        }
    };
    assert!(first_new["text"].as_str().unwrap().contains("count="), "{first_new}");
    let at: chrono::DateTime<chrono::Utc> = first_new["at"].as_str().unwrap().parse().unwrap();
    assert!(at > started - chrono::Duration::seconds(2), "a new line, not an old one: {at} vs {started}");
    drop(stream);

    // A restart: the first container's lines are marked as the previous container's.
    let container = stack::docker(&["ps", "-q", "--filter", &format!("label=com.docker.swarm.service.name={id}")]);
    stack::docker(&["kill", container.lines().next().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let logs: Value = c.get(&format!("/api/v1/processes/{id}/logs?tail=5000")).await.json().await.unwrap();
        let entries = logs["entries"].as_array().unwrap();
        let previous = entries.iter().filter(|e| e["previous"] == true).count();
        let current = entries.iter().filter(|e| e["previous"] == false).count();
        let p: Value = c.get(&format!("/api/v1/processes/{id}")).await.json().await.unwrap();
        if previous > 0 && current > 0 && p["state"] == "RUNNING" {
            let last_previous = entries.iter().rposition(|e| e["previous"] == true).unwrap();
            let first_current = entries.iter().position(|e| e["previous"] == false).unwrap();
            assert!(last_previous < first_current, "the old container's lines come first");
            break;
        }
        assert!(Instant::now() < deadline, "no lines of a new container after the kill: {logs:#}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    c.delete(&format!("/api/v1/processes/{id}")).await;
    stack::wait_gone(c, &id, Duration::from_secs(60)).await;
}
