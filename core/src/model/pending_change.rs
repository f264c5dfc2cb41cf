use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

/// Where a pending change is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PendingChangeState {
    /// Waiting for its `run_at` and for its resources to be free.
    Waiting,
    /// Claimed by a worker whose lease has not expired.
    Running,
    /// Failed for now; it will be tried again at `run_at`.
    Retrying,
    /// Gave up after too many attempts, or could never succeed; an owner may retry it.
    Failed,
    Done,
    Cancelled,
}

/// A durable unit of work that changes the outside world (Docker or a running process).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingChange {
    pub id: String,
    /// What it does, e.g. `create_swarm_service`.
    pub kind: String,
    /// A sentence for people.
    pub description: String,
    pub user_id: String,
    /// Ids of the things it changes; changes that share one never run at once.
    pub resources: Vec<String>,
    pub state: PendingChangeState,
    pub attempts: u32,
    /// It is given up (`Failed`) after this many attempts.
    pub max_attempts: u32,
    pub last_error: Option<String>,
    pub created: DateTime<Utc>,
    /// Not before this time.
    pub run_at: DateTime<Utc>,
    /// While `Running`: until when its worker holds it. A change whose lease has run out (its
    /// worker died) is taken up again.
    pub lease_until: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// The change's own parameters (ids, not snapshots of the things it changes).
    pub payload: serde_json::Value,
    pub revision: u64,
}

impl PendingChangeState {
    /// Whether it will never run again (unless an owner retries a `Failed` one).
    pub fn is_final(self) -> bool {
        matches!(self, PendingChangeState::Failed | PendingChangeState::Done | PendingChangeState::Cancelled)
    }
}
