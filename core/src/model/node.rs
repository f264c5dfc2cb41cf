use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::Architecture;

/// A swarm node's status as Docker reports it; `Missing` when it left the swarm.
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

/// What every kind of node shares: the swarm node behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeInfo {
    pub docker_id: String,
    pub hostname: String,
    pub architecture: Architecture,
    pub status: NodeStatus,
    pub last_seen: Option<DateTime<Utc>>,
}

/// A node that joined the swarm and that no administrator has assigned yet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnidentifiedNode {
    pub id: String,
    #[serde(flatten)]
    pub info: NodeInfo,
    pub revision: u64,
}

/// A node in a public pool: every user may run processes there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicNode {
    pub id: String,
    pub name: String,
    pub node_pool_id: String,
    #[serde(flatten)]
    pub info: NodeInfo,
    pub revision: u64,
}

/// A node that belongs to one user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrivateNode {
    pub id: String,
    pub name: String,
    pub user_id: String,
    #[serde(flatten)]
    pub info: NodeInfo,
    pub revision: u64,
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
