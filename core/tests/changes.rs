//! The pending-change engine on the embedded store: ordering and exclusion per resource,
//! retries with back-off, giving up, cancelling and retrying, and taking up a change whose
//! worker died when its lease runs out.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use switchyard_core::{
    changes::{ChangeEngine, ChangeRunner, EngineConfig, NewChange, Outcome},
    model::{ChangeKind, PendingChange, PendingChangeState},
    store::Store,
};

/// Records what ran, when, and how many ran at once per resource.
#[derive(Default)]
struct Recorder {
    log: Mutex<Vec<(String, String)>>, // (event, change description)
    active: Mutex<Vec<String>>,
    overlap: Mutex<bool>,
    fail_first: Mutex<u32>,
}

#[async_trait::async_trait]
impl ChangeRunner for Recorder {
    async fn run(&self, change: &PendingChange) -> Outcome {
        {
            let mut active = self.active.lock().unwrap();
            if change.resources.iter().any(|r| active.contains(r)) {
                *self.overlap.lock().unwrap() = true;
            }
            active.extend(change.resources.iter().cloned());
        }
        self.log.lock().unwrap().push(("start".into(), change.description.clone()));
        tokio::time::sleep(Duration::from_millis(30)).await;
        {
            let mut active = self.active.lock().unwrap();
            for r in &change.resources {
                if let Some(i) = active.iter().position(|a| a == r) {
                    active.remove(i);
                }
            }
        }
        match change.payload["behaviour"].as_str().unwrap_or_default() {
            "flaky" => {
                let mut left = self.fail_first.lock().unwrap();
                if *left > 0 {
                    *left -= 1;
                    return Outcome::Retry("not yet".into());
                }
                Outcome::Done
            }
            "doomed" => Outcome::Retry("always fails".into()),
            "impossible" => Outcome::Fail("can never work".into()),
            _ => Outcome::Done,
        }
    }
}

fn config(lease_ms: u64) -> EngineConfig {
    EngineConfig {
        lease: Duration::from_millis(lease_ms),
        concurrency: 8,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        attempt_timeout: Duration::from_secs(10),
    }
}

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Store::open(dir.path().to_str().unwrap()).await.unwrap(), dir)
}

async fn wait_final(store: &Store, id: &str) -> PendingChange {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let c: PendingChange = store.fetch(id).await.unwrap();
        if c.state.is_final() {
            return c;
        }
        assert!(Instant::now() < deadline, "change did not finish: {c:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A change whose runner above behaves as `behaviour` says.
fn change(behaviour: &str, resources: &[&str], description: &str) -> NewChange {
    let mut c = NewChange::new(ChangeKind::ConfigureProcess, "u1", resources[0], description)
        .payload(serde_json::json!({ "behaviour": behaviour }));
    c.resources = resources.iter().map(|r| r.to_string()).collect();
    c
}

#[tokio::test]
async fn changes_on_one_resource_run_one_at_a_time_in_order() {
    let (store, _dir) = store().await;
    let engine = ChangeEngine::new(store.clone(), config(5_000));
    let recorder = Arc::new(Recorder::default());
    // Submitted before the engine starts, so they are all waiting together.
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(engine.submit(change("plain", &["p1"], &format!("p1-{i}"))).await.unwrap().id);
        ids.push(engine.submit(change("plain", &["p2", "p1"], &format!("both-{i}"))).await.unwrap().id);
        ids.push(engine.submit(change("plain", &["p3"], &format!("p3-{i}"))).await.unwrap().id);
    }
    engine.start(recorder.clone());
    for id in &ids {
        assert_eq!(wait_final(&store, id).await.state, PendingChangeState::Done);
    }
    assert!(!*recorder.overlap.lock().unwrap(), "two changes on one resource ran at once");
    let starts: Vec<String> = recorder.log.lock().unwrap().iter().map(|(_, d)| d.clone()).collect();
    let on_p1: Vec<&String> = starts.iter().filter(|d| d.starts_with("p1-") || d.starts_with("both-")).collect();
    let expected: Vec<String> = (0..5).flat_map(|i| [format!("p1-{i}"), format!("both-{i}")]).collect();
    assert_eq!(on_p1, expected.iter().collect::<Vec<_>>(), "FIFO per resource");
}

#[tokio::test]
async fn failures_retry_with_backoff_then_give_up() {
    let (store, _dir) = store().await;
    let engine = ChangeEngine::new(store.clone(), config(5_000));
    let recorder = Arc::new(Recorder::default());
    *recorder.fail_first.lock().unwrap() = 3;
    engine.start(recorder.clone());

    let flaky = engine.submit(change("flaky", &["a"], "flaky")).await.unwrap();
    let done = wait_final(&store, &flaky.id).await;
    assert_eq!(done.state, PendingChangeState::Done);
    assert_eq!(done.attempts, 4, "three failures then success");
    assert_eq!(done.last_error, None);

    let doomed = engine.submit(change("doomed", &["b"], "doomed").max_attempts(3)).await.unwrap();
    let gave_up = wait_final(&store, &doomed.id).await;
    assert_eq!(gave_up.state, PendingChangeState::Failed);
    assert_eq!(gave_up.attempts, 3);
    assert_eq!(gave_up.last_error.as_deref(), Some("always fails"));

    // An owner retries it: it runs again (and fails again, with fresh attempts).
    engine.retry(&doomed.id).await.unwrap();
    let again = wait_final(&store, &doomed.id).await;
    assert_eq!(again.state, PendingChangeState::Failed);
    assert!(again.attempts > 3);

    let impossible = engine.submit(change("impossible", &["c"], "impossible")).await.unwrap();
    let failed = wait_final(&store, &impossible.id).await;
    assert_eq!((failed.state, failed.attempts), (PendingChangeState::Failed, 1), "no retries for a permanent failure");
    // A finished change cannot be cancelled; a done one cannot be retried.
    assert!(engine.retry(&flaky.id).await.is_err());
    assert!(engine.cancel(&flaky.id).await.is_err());
}

#[tokio::test]
async fn a_waiting_change_can_be_cancelled_and_then_never_runs() {
    let (store, _dir) = store().await;
    let engine = ChangeEngine::new(store.clone(), config(5_000));
    let recorder = Arc::new(Recorder::default());
    let mut later = change("plain", &["x"], "later");
    later.delay = Duration::from_secs(3600);
    let later = engine.submit(later).await.unwrap();
    engine.start(recorder.clone());
    let cancelled = engine.cancel(&later.id).await.unwrap();
    assert_eq!(cancelled.state, PendingChangeState::Cancelled);
    // A change queued behind it on the same resource runs (the cancelled one no longer blocks).
    let next = engine.submit(change("plain", &["x"], "next")).await.unwrap();
    assert_eq!(wait_final(&store, &next.id).await.state, PendingChangeState::Done);
    assert!(recorder.log.lock().unwrap().iter().all(|(_, d)| d != "later"));
}

#[tokio::test]
async fn a_change_whose_worker_died_is_taken_up_when_its_lease_runs_out() {
    let (store, _dir) = store().await;
    // A "dead worker": the change is marked running with a lease, and nobody renews it.
    let engine = ChangeEngine::new(store.clone(), config(300));
    let c = engine.submit(change("plain", &["r"], "orphan")).await.unwrap();
    let mut orphan: PendingChange = store.fetch(&c.id).await.unwrap();
    orphan.state = PendingChangeState::Running;
    orphan.attempts = 1;
    orphan.lease_until = Some(chrono::Utc::now() + chrono::Duration::milliseconds(300));
    store.update(&orphan).await.unwrap();

    let recorder = Arc::new(Recorder::default());
    let started = Instant::now();
    engine.start(recorder.clone());
    let done = wait_final(&store, &c.id).await;
    assert_eq!(done.state, PendingChangeState::Done);
    assert_eq!(done.attempts, 2);
    assert!(started.elapsed() >= Duration::from_millis(200), "not before the lease ran out");
    assert_eq!(recorder.log.lock().unwrap().len(), 1, "run exactly once");
}
