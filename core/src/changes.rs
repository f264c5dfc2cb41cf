//! The pending-change engine. Every change to the outside world (Docker, a running process) is a
//! durable [`PendingChange`] record, run by this engine until it succeeds:
//!
//! * **Claiming is atomic**: a worker takes a change by writing it `Running` with a lease at the
//!   revision it read; a concurrent claim fails its revision check.
//! * **Resources are exclusive and ordered**: changes that share a resource (a process id, a
//!   connection id) never run at once, and run in the order they were submitted, so a
//!   "terminate" can never overtake the "create" it undoes.
//! * **Failures retry** with exponential back-off and jitter, up to a cap; a change that keeps
//!   failing is given up (`Failed`) after `max_attempts`, visible to its owner, who may retry it.
//! * **Leases, not clean-up**: a running change renews its lease; if its worker died (Switchyard
//!   was killed), the lease runs out and the change is taken up again. Runners are therefore
//!   written to be idempotent: each looks at the world before it changes it.
//!
//! Changes store ids, never snapshots of what they change (the original's flaw, docs/original-orchestrator.md#23-changes-hold-snapshots): a
//! runner reads the current records when it runs.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::Notify;

use crate::{
    error::{Error, Result},
    model::{ChangeKind, PendingChange, PendingChangeState},
    store::{new_id, Mirror, Query, Store},
};

/// What became of one attempt.
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// A temporary failure: try again after the back-off.
    Retry(String),
    /// Not yet possible (e.g. the process is not up yet): try again after `after`, without
    /// counting it as a failure of the change.
    NotYet(Duration, String),
    /// It can never succeed; give up now.
    Fail(String),
}

/// Runs changes of the kinds it knows.
#[async_trait::async_trait]
pub trait ChangeRunner: Send + Sync + 'static {
    async fn run(&self, change: &PendingChange) -> Outcome;
}

/// A change to submit.
#[derive(Clone, Debug)]
pub struct NewChange {
    pub kind: ChangeKind,
    pub description: String,
    pub user_id: String,
    pub resources: Vec<String>,
    pub payload: serde_json::Value,
    /// Not before this long from now.
    pub delay: Duration,
    pub max_attempts: u32,
}

impl NewChange {
    pub fn new(kind: ChangeKind, user_id: &str, resource: &str, description: impl Into<String>) -> Self {
        Self {
            kind,
            description: description.into(),
            user_id: user_id.to_string(),
            resources: vec![resource.to_string()],
            payload: serde_json::Value::Null,
            delay: Duration::ZERO,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
    pub fn payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = payload;
        self
    }
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }
}

pub const DEFAULT_MAX_ATTEMPTS: u32 = 60;

/// The states of a change that is not final.
const OPEN: [PendingChangeState; 3] =
    [PendingChangeState::Waiting, PendingChangeState::Retrying, PendingChangeState::Running];

/// Tuning of the engine.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// How long a claim holds without renewal.
    pub lease: Duration,
    /// At most this many changes run at once.
    pub concurrency: usize,
    /// First retry delay; doubles per attempt up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// One attempt is cut off after this long (and counts as a temporary failure).
    pub attempt_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            concurrency: 16,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(300),
            attempt_timeout: Duration::from_secs(120),
        }
    }
}

struct Inner {
    store: Store,
    /// The open changes (waiting, retrying, running), in memory: the dispatcher looks at them
    /// all each time a change is submitted or finishes, and reading them from the store made that
    /// cost grow with the square of the changes under way.
    open: Mirror<PendingChange>,
    config: EngineConfig,
    runner: OnceLock<Arc<dyn ChangeRunner>>,
    wake: Notify,
    /// Ids of the changes this engine is running now.
    running: Mutex<HashSet<String>>,
    /// Test hook: after the effect of a change of this kind, hang instead of recording it.
    hang_after: Option<String>,
    metrics: crate::metrics::Metrics,
}

#[derive(Clone)]
pub struct ChangeEngine(Arc<Inner>);

impl ChangeEngine {
    /// An engine writing its changes through `store` (which it watches for them).
    pub fn new(store: Store, config: EngineConfig) -> Self {
        let by_state = |s: PendingChangeState| Query::all().eq("state", serde_json::to_value(s).unwrap_or_default());
        let open = Mirror::filtered_loading(|c: &PendingChange| OPEN.contains(&c.state), OPEN.map(by_state).into());
        let store = store.observed(Arc::new(open.clone()));
        Self(Arc::new(Inner {
            store,
            open,
            config,
            runner: OnceLock::new(),
            wake: Notify::new(),
            running: Mutex::new(HashSet::new()),
            hang_after: std::env::var("SWITCHYARD_TEST_HANG_AFTER_CHANGE").ok().filter(|s| !s.is_empty()),
            metrics: crate::metrics::Metrics::new(),
        }))
    }

    /// The metrics this engine (and the rest of Switchyard) records into.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.0.metrics
    }

    pub fn config(&self) -> &EngineConfig {
        &self.0.config
    }

    /// Record a change; it runs as soon as its time comes and its resources are free.
    pub async fn submit(&self, new: NewChange) -> Result<PendingChange> {
        let now = Utc::now();
        let change = PendingChange {
            id: new_id(),
            kind: new.kind,
            description: new.description,
            user_id: new.user_id,
            resources: new.resources,
            state: PendingChangeState::Waiting,
            attempts: 0,
            max_attempts: new.max_attempts.max(1),
            last_error: None,
            created: now,
            run_at: now + chrono::Duration::from_std(new.delay).unwrap_or_default(),
            lease_until: None,
            finished: None,
            payload: new.payload,
            revision: 0,
        };
        let change = self.0.store.insert(&change).await?;
        self.0.wake.notify_one();
        Ok(change)
    }

    /// Wake the dispatcher (e.g. after a process became RUNNING, so that waiting changes that
    /// need it try at once).
    pub fn kick(&self) {
        self.0.wake.notify_one();
    }

    /// Make every change on `resource` that waits for a retry try again now.
    pub async fn hurry(&self, resource: &str) -> Result<()> {
        for change in self.open_changes().await? {
            if change.state == PendingChangeState::Retrying && change.resources.iter().any(|r| r == resource) {
                let now = Utc::now();
                let _ = self
                    .0
                    .store
                    .modify::<PendingChange>(&change.id, |c| {
                        if c.state == PendingChangeState::Retrying {
                            c.run_at = now;
                        }
                        Ok(())
                    })
                    .await;
            }
        }
        self.kick();
        Ok(())
    }

    /// Cancel a change that is not running now; a running one cannot be cancelled.
    pub async fn cancel(&self, id: &str) -> Result<PendingChange> {
        let change = self
            .0
            .store
            .modify::<PendingChange>(id, |c| match c.state {
                PendingChangeState::Waiting | PendingChangeState::Retrying | PendingChangeState::Failed => {
                    c.state = PendingChangeState::Cancelled;
                    c.finished = Some(Utc::now());
                    Ok(())
                }
                PendingChangeState::Running => Err(Error::Conflict(
                    "this change is running now and cannot be cancelled; try again when it has finished".into(),
                )),
                other => Err(Error::Conflict(format!("this change is already {}", state_word(other)))),
            })
            .await?;
        self.kick();
        Ok(change)
    }

    /// Try a failed change again, from now, with a fresh set of attempts.
    pub async fn retry(&self, id: &str) -> Result<PendingChange> {
        let change = self
            .0
            .store
            .modify::<PendingChange>(id, |c| match c.state {
                PendingChangeState::Failed | PendingChangeState::Retrying => {
                    c.state = PendingChangeState::Waiting;
                    c.run_at = Utc::now();
                    c.max_attempts = c.attempts + c.max_attempts.max(DEFAULT_MAX_ATTEMPTS);
                    c.finished = None;
                    Ok(())
                }
                other => Err(Error::Conflict(format!(
                    "only a failed or retrying change can be retried; this one is {}",
                    state_word(other)
                ))),
            })
            .await?;
        self.kick();
        Ok(change)
    }

    /// Cancel every change on `resource` that has not started (used when the thing it would
    /// change is being deleted).
    pub async fn cancel_waiting(&self, resource: &str, except_kinds: &[ChangeKind]) -> Result<()> {
        for change in self.open_changes().await? {
            if change.resources.iter().any(|r| r == resource)
                && matches!(change.state, PendingChangeState::Waiting | PendingChangeState::Retrying)
                && !except_kinds.contains(&change.kind)
            {
                let _ = self.cancel(&change.id).await;
            }
        }
        Ok(())
    }

    /// The last 100 changes of `resource` (a process or a connection), newest first.
    pub async fn of_resource(&self, resource: &str) -> Result<Vec<PendingChange>> {
        let query = Query::all().has("resources", resource).sort("created", true).page(0, 100);
        Ok(self.0.store.list::<PendingChange>(&query).await?.0)
    }

    /// Whether a change of `kind` on `resource` is waiting, retrying or running.
    pub async fn has_open(&self, resource: &str, kind: ChangeKind) -> Result<bool> {
        self.has_in(resource, kind, &OPEN).await
    }

    /// Whether a change of `kind` on `resource` is waiting or retrying: it has not started (again)
    /// and will read what it acts on when it does.
    pub async fn has_waiting(&self, resource: &str, kind: ChangeKind) -> Result<bool> {
        self.has_in(resource, kind, &[PendingChangeState::Waiting, PendingChangeState::Retrying]).await
    }

    async fn has_in(&self, resource: &str, kind: ChangeKind, states: &[PendingChangeState]) -> Result<bool> {
        // From memory: every state asked about is an open one.
        self.0
            .open
            .any(&self.0.store, |c| {
                c.kind == kind && states.contains(&c.state) && c.resources.iter().any(|r| r == resource)
            })
            .await
    }

    /// Forget changes that finished (done or cancelled) more than `keep` ago; failed ones stay
    /// until their owner retries or cancels them.
    pub async fn prune(&self, keep: Duration) -> Result<u64> {
        let cutoff = Utc::now() - chrono::Duration::from_std(keep).unwrap_or_default();
        let mut removed = 0;
        for state in [PendingChangeState::Done, PendingChangeState::Cancelled] {
            let (old, _) = self
                .0
                .store
                .list::<PendingChange>(&Query::all().eq("state", serde_json::to_value(state).unwrap_or_default()))
                .await?;
            for change in old.iter().filter(|c| c.finished.is_some_and(|f| f < cutoff)) {
                if self.0.store.delete::<PendingChange>(&change.id, Some(change.revision)).await.unwrap_or(false) {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Every change that is not final, oldest first (from memory).
    pub async fn open_changes(&self) -> Result<Vec<Arc<PendingChange>>> {
        let mut open = self.0.open.all(&self.0.store).await?;
        open.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(open)
    }

    /// Run changes until the process ends. `runner` does the work of each kind.
    pub fn start(&self, runner: Arc<dyn ChangeRunner>) -> tokio::task::JoinHandle<()> {
        let _ = self.0.runner.set(runner);
        let engine = self.clone();
        tokio::spawn(async move { engine.dispatch_loop().await })
    }

    async fn dispatch_loop(self) {
        loop {
            let next = match self.dispatch_once().await {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(error = %e, "pending-change dispatcher: cannot read the store");
                    Some(Utc::now() + chrono::Duration::seconds(2))
                }
            };
            let wait = next
                .map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(Duration::from_secs(5))
                .clamp(Duration::from_millis(20), Duration::from_secs(5));
            let _ = tokio::time::timeout(wait, self.0.wake.notified()).await;
        }
    }

    /// Start every change that may run now; returns when the next one may become due.
    async fn dispatch_once(&self) -> Result<Option<DateTime<Utc>>> {
        let now = Utc::now();
        let open = self.open_changes().await?;
        // The oldest open change on each resource is the only one that may run on it.
        let mut head: HashMap<&str, &str> = HashMap::new();
        for change in &open {
            for r in &change.resources {
                head.entry(r.as_str()).or_insert(change.id.as_str());
            }
        }
        let mut next: Option<DateTime<Utc>> = None;
        let mut to_start = Vec::new();
        {
            let running = self.0.running.lock().expect("not poisoned");
            let mut slots = self.0.config.concurrency.saturating_sub(running.len());
            for change in &open {
                if running.contains(&change.id) {
                    continue;
                }
                let due = match change.state {
                    PendingChangeState::Running => change.lease_until.unwrap_or(now),
                    _ => change.run_at,
                };
                if !change.resources.iter().all(|r| head.get(r.as_str()) == Some(&change.id.as_str())) {
                    continue;
                }
                if due > now {
                    next = Some(next.map_or(due, |n| n.min(due)));
                    continue;
                }
                if slots == 0 {
                    next = Some(now);
                    break;
                }
                slots -= 1;
                to_start.push(PendingChange::clone(change));
            }
        }
        for change in to_start {
            if let Some(claimed) = self.claim(&change).await? {
                self.0.running.lock().expect("not poisoned").insert(claimed.id.clone());
                let engine = self.clone();
                tokio::spawn(async move { engine.execute(claimed).await });
            }
        }
        Ok(next)
    }

    /// Take `change` if it is still as we read it.
    async fn claim(&self, change: &PendingChange) -> Result<Option<PendingChange>> {
        let now = Utc::now();
        let mut claimed = change.clone();
        if claimed.state == PendingChangeState::Running {
            tracing::info!(change = %claimed.id, kind = %claimed.kind, "taking up a change whose worker's lease ran out");
        }
        claimed.state = PendingChangeState::Running;
        claimed.attempts += 1;
        claimed.lease_until = Some(now + chrono::Duration::from_std(self.0.config.lease).unwrap_or_default());
        match self.0.store.update(&claimed).await {
            Ok(c) => Ok(Some(c)),
            Err(Error::StaleRevision(_)) | Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn execute(self, change: PendingChange) {
        let id = change.id.clone();
        let runner = self.0.runner.get().cloned().expect("started with a runner");
        // Keep the lease while the attempt runs.
        let renew = {
            let store = self.0.store.clone();
            let lease = self.0.config.lease;
            let id = id.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    let until = Utc::now() + chrono::Duration::from_std(lease).unwrap_or_default();
                    let _ = store
                        .modify::<PendingChange>(&id, |c| {
                            if c.state == PendingChangeState::Running {
                                c.lease_until = Some(until);
                            }
                            Ok(())
                        })
                        .await;
                }
            })
        };
        let started = std::time::Instant::now();
        let outcome = match tokio::time::timeout(self.0.config.attempt_timeout, runner.run(&change)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Retry(format!("gave up on this attempt after {:?}", self.0.config.attempt_timeout)),
        };
        tracing::debug!(change = %id, kind = %change.kind, ?outcome, elapsed = ?started.elapsed(), "pending change attempt");
        if self.0.hang_after.as_deref() == Some(change.kind.as_str()) {
            tracing::warn!(change = %id, "SWITCHYARD_TEST_HANG_AFTER_CHANGE: hanging before recording the outcome");
            std::future::pending::<()>().await;
        }
        renew.abort();
        if let Err(e) = self.record(&change, outcome).await {
            tracing::warn!(change = %id, error = %e, "cannot record the outcome of a pending change; its lease will run out and it runs again");
        }
        self.0.running.lock().expect("not poisoned").remove(&id);
        self.0.wake.notify_one();
    }

    async fn record(&self, change: &PendingChange, outcome: Outcome) -> Result<()> {
        let now = Utc::now();
        let config = &self.0.config;
        let result = self
            .0
            .store
            .modify::<PendingChange>(&change.id, |c| {
                if c.state != PendingChangeState::Running {
                    return Ok(()); // cancelled meanwhile; keep that
                }
                c.lease_until = None;
                match &outcome {
                    Outcome::Done => {
                        c.state = PendingChangeState::Done;
                        c.last_error = None;
                        c.finished = Some(now);
                    }
                    Outcome::Fail(e) => {
                        c.state = PendingChangeState::Failed;
                        c.last_error = Some(e.clone());
                        c.finished = Some(now);
                    }
                    Outcome::NotYet(after, why) => {
                        c.state = PendingChangeState::Retrying;
                        c.attempts = c.attempts.saturating_sub(1);
                        c.last_error = Some(why.clone());
                        c.run_at = now + chrono::Duration::from_std(*after).unwrap_or_default();
                    }
                    Outcome::Retry(e) => {
                        c.last_error = Some(e.clone());
                        if c.attempts >= c.max_attempts {
                            c.state = PendingChangeState::Failed;
                            c.finished = Some(now);
                        } else {
                            c.state = PendingChangeState::Retrying;
                            c.run_at = now
                                + chrono::Duration::from_std(backoff(
                                    c.attempts,
                                    config.base_backoff,
                                    config.max_backoff,
                                ))
                                .unwrap_or_default();
                        }
                    }
                }
                Ok(())
            })
            .await;
        match result {
            Ok(c) => {
                if c.finished == Some(now) && matches!(c.state, PendingChangeState::Done | PendingChangeState::Failed) {
                    self.0.metrics.change_finished(&c);
                }
                Ok(())
            }
            Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Delay before attempt `attempts + 1`: `base · 2^(attempts-1)`, capped, with ±20 % jitter so that
/// many changes failing together do not retry in lockstep.
pub fn backoff(attempts: u32, base: Duration, max: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    let capped = exp.min(max);
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    capped.mul_f64(jitter).min(max)
}

fn state_word(state: PendingChangeState) -> &'static str {
    match state {
        PendingChangeState::Waiting => "waiting",
        PendingChangeState::Running => "running",
        PendingChangeState::Retrying => "waiting to retry",
        PendingChangeState::Failed => "failed",
        PendingChangeState::Done => "done",
        PendingChangeState::Cancelled => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(500);
        let max = Duration::from_secs(300);
        let first = backoff(1, base, max);
        assert!(first >= Duration::from_millis(400) && first <= Duration::from_millis(600), "{first:?}");
        let fifth = backoff(5, base, max);
        assert!(fifth >= Duration::from_millis(6400) && fifth <= Duration::from_millis(9600), "{fifth:?}");
        assert!(backoff(40, base, max) <= max);
    }
}
