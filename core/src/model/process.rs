use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

/// The life cycle of a process, as the original defines it, plus `Failed` with its reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProcessState {
    Starting,
    Initializing,
    Running,
    Suspended,
    Terminated,
    Failed,
}

/// Where a process should run: one of its owner's private nodes, a public node pool, or
/// wherever Switchyard sees fit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Placement {
    PrivateNode { node_id: String },
    NodePool { pool_id: String },
    Automatic,
}

/// One configuration entry of a process (a parameter value or a free environment variable).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigEntry {
    pub key: String,
    pub value: String,
}

/// Resource limits of a process; zero means "no limit" within the admin's cap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceLimits {
    pub memory_bytes: u64,
    pub nano_cpus: u64,
}

/// A deployed instance of a service version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Process {
    pub id: String,
    pub name: String,
    pub user_id: String,
    pub service_id: String,
    pub service_version: String,
    pub placement: Placement,
    pub configuration: Vec<ConfigEntry>,
    pub limits: ResourceLimits,
    pub state: ProcessState,
    /// Why the process is `Failed`, or why it is not where it should be.
    pub state_reason: Option<String>,
    /// The node it runs on now, once placed.
    pub running_node_id: Option<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub revision: u64,
}
