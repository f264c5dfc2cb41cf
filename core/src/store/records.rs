//! What is stored, collection by collection. Records that hold secrets wrap the public model
//! type, so a secret cannot reach an API response by accident: handlers only ever get the inner
//! type.

use serde::{Deserialize, Serialize};

use super::{CollectionSpec, Entity};
use crate::model::{ApiToken, Node, NodePool, PendingChange, Placement, Process, User};

/// A user with the argon2id hash of their password (a PHC string).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(flatten)]
    pub user: User,
    pub password_hash: String,
}

impl Entity for UserRecord {
    const COLLECTION: CollectionSpec =
        CollectionSpec { name: "users", noun: "user", unique: &["username"], indexed: &[], projected: &[] };
}

/// An API token with the SHA-256 of its secret (the secret is random, so a fast hash is enough).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiTokenRecord {
    #[serde(flatten)]
    pub token: ApiToken,
    pub secret_hash: String,
}

impl Entity for ApiTokenRecord {
    const COLLECTION: CollectionSpec = CollectionSpec {
        name: "api_tokens",
        noun: "API token",
        unique: &["secret_hash"],
        indexed: &[],
        projected: &[],
    };
}

/// A login session (tower-sessions' record), with its user lifted out so that all sessions of a
/// user can be ended at once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: Option<String>,
    pub data: serde_json::Map<String, serde_json::Value>,
    /// Unix seconds after which the session is void.
    pub expires: i64,
    pub revision: u64,
}

impl Entity for SessionRecord {
    const COLLECTION: CollectionSpec = CollectionSpec {
        name: "sessions",
        noun: "session",
        unique: &[],
        indexed: &["user_id", "expires"],
        projected: &[],
    };
}

impl Entity for NodePool {
    const COLLECTION: CollectionSpec =
        CollectionSpec { name: "node_pools", noun: "node pool", unique: &["name"], indexed: &[], projected: &[] };
}

impl Entity for Node {
    const COLLECTION: CollectionSpec =
        CollectionSpec { name: "nodes", noun: "node", unique: &["docker_id"], indexed: &[], projected: &[] };
}

impl Entity for PendingChange {
    const COLLECTION: CollectionSpec = CollectionSpec {
        name: "pending_changes",
        noun: "pending change",
        unique: &[],
        indexed: &["state", "user_id", "kind", "created", "resources"],
        projected: &[],
    };
}

/// A process with what only the server may know: the token it authenticates its config trigger
/// with (it is in its container's environment, never in an API response), the state it handed
/// over when it was suspended, and the swarm task Switchyard last saw running it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProcessRecord {
    #[serde(flatten)]
    pub process: Process,
    pub token: String,
    /// Base64 of the state data of a suspended process.
    #[serde(default)]
    pub saved_state: Option<String>,
    #[serde(default)]
    pub task_id: Option<String>,
    /// It was RUNNING at least once (autoConnect happens the first time only).
    #[serde(default)]
    pub has_run: bool,
    /// Where it is being moved, from the move's request until its relocation step has run.
    #[serde(default)]
    pub moving_to: Option<MoveTarget>,
    /// Docker refused to create its service for good (why): the reconciler does not try again
    /// by itself; retrying the failed change does.
    #[serde(default)]
    pub refused: Option<String>,
    /// The swarm task that was asked to hand over its state for a suspend, until the suspend is
    /// done: after a crash, a retry tells whether that container (and its state) still exists.
    #[serde(default)]
    pub suspending_task: Option<String>,
}

/// The destination of a move, chosen when the move was asked for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MoveTarget {
    pub node_id: String,
    pub node_name: String,
    pub placement: Placement,
    /// The image for the new node's architecture, pinned by digest.
    pub image: String,
    /// Why that node.
    pub reason: String,
    /// Set for an upgrade: what the process runs once relocated.
    #[serde(default)]
    pub upgrade: Option<UpgradeTarget>,
}

/// What an upgrade changes when its relocation step runs (see `ProcessManager::upgrade`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UpgradeTarget {
    pub from_version: String,
    pub service_version: String,
    /// The new version's interfaces, as its image's labels give them.
    pub interfaces: Vec<crate::model::Interface>,
    pub parameters: Vec<crate::model::ConfigEntry>,
    pub environment: Vec<crate::model::ConfigEntry>,
    pub limits: crate::model::ResourceLimits,
}

impl Entity for ProcessRecord {
    const COLLECTION: CollectionSpec = CollectionSpec {
        name: "processes",
        noun: "process",
        unique: &[],
        // The process list's filters (owner, state, node, service) and sort fields.
        indexed: &["user_id", "state", "running_node_id", "service_id", "name", "created", "updated"],
        projected: &["moving_to_node_id"],
    };
}

/// Facts about this installation, in one record with id `instance`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub id: String,
    /// Labels every Docker object Switchyard makes, so that its reconciler only touches its own
    /// (several installations, such as test servers, may share one swarm).
    pub instance_id: String,
    pub revision: u64,
}

impl Entity for InstanceRecord {
    const COLLECTION: CollectionSpec =
        CollectionSpec { name: "instance", noun: "instance record", unique: &[], indexed: &[], projected: &[] };
}

/// What is left of a deleted process: the reconciler removes a swarm service of this
/// installation that has no process record only when one of these says its process was
/// deleted (a service without either is reported, never removed: the store may be an old
/// backup). Forgotten a week after the deletion.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RemovedProcess {
    /// The deleted process's id (and so its swarm service's name).
    pub id: String,
    pub user_id: String,
    pub removed: chrono::DateTime<chrono::Utc>,
    pub revision: u64,
}

impl Entity for RemovedProcess {
    const COLLECTION: CollectionSpec = CollectionSpec {
        name: "removed_processes",
        noun: "removed process",
        unique: &[],
        indexed: &[],
        projected: &[],
    };
}
