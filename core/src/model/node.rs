use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::Architecture;

/// A swarm node's status as Docker reports it; `Missing` once it has left the swarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NodeStatus {
    Ready,
    Down,
    Disconnected,
    Unknown,
    Missing,
}

/// What an administrator made of a node. Nodes join the swarm as `Unidentified`; a `Public`
/// node is in a node pool every user may deploy to; a `Private` node is one user's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Unidentified,
    Public,
    Private,
}

/// A host of the swarm: an unidentified node, a public node (with its pool) or a private node
/// (with its owner). One record per swarm node, whatever its kind, so that assigning a node is
/// one atomic, revision-checked change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Node {
    pub id: String,
    pub name: String,
    pub kind: NodeKind,
    /// The pool of a public node.
    pub node_pool_id: Option<String>,
    /// The owner of a private node.
    pub user_id: Option<String>,
    /// The swarm's id of the node.
    pub docker_id: String,
    pub hostname: String,
    pub architecture: Architecture,
    pub status: NodeStatus,
    /// Whether it is a swarm manager.
    pub manager: bool,
    /// When Switchyard last saw it in the swarm.
    pub last_seen: Option<DateTime<Utc>>,
    /// Its CPUs, in billionths of a core, and its memory in bytes, as the swarm reports them
    /// (0: not known). A process's limits must fit the node it runs on.
    #[serde(default)]
    pub nano_cpus: u64,
    #[serde(default)]
    pub memory_bytes: u64,
    /// How many processes are placed on it (an administrator sees everyone's, a user their
    /// own). Worked out when the node is read; not stored.
    #[serde(default)]
    pub processes: u64,
    /// The revision at which its assignment (kind, pool, owner, name) last changed. The sync
    /// with the swarm writes the status and `last_seen` too, so `revision` moves without anyone
    /// changing the node; a change based on a revision read before this one is refused, a change
    /// based on one read after it is not.
    #[serde(default)]
    pub assigned_revision: u64,
    pub revision: u64,
}

impl Node {
    /// Whether the swarm has lost it for now (down, disconnected or missing): its processes run
    /// again when it returns, or move when they are set to.
    pub fn is_lost(&self) -> bool {
        matches!(self.status, NodeStatus::Down | NodeStatus::Missing | NodeStatus::Disconnected)
    }

    /// Why its processes failed when it was lost: how a FAILED process's reason begins when the
    /// process waits for this node.
    pub fn lost_reason(&self) -> String {
        format!("its node {} is {}", self.name, format!("{:?}", self.status).to_lowercase())
    }

    /// Whether `reason` (a process's) says it failed because this node was lost.
    pub fn lost_explains(&self, reason: &str) -> bool {
        reason
            .strip_prefix("its node ")
            .and_then(|r| r.strip_prefix(self.name.as_str()))
            .is_some_and(|r| r.starts_with(" is "))
    }
}

/// A named group of public nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodePool {
    pub id: String,
    pub name: String,
    pub created: DateTime<Utc>,
    pub revision: u64,
}
