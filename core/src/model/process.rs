use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

/// The life cycle of a process: the original's five states, plus `Failed` with its reason.
///
/// * `Starting`: the record exists; its swarm service is being created or its task is starting.
/// * `Initializing`: the process called the config trigger; its configuration is on the way.
/// * `Running`: the process answered its configuration (or a resume) with RUNNING.
/// * `Suspended`: the process handed over its state and its swarm service is gone.
/// * `Terminated`: the process is being (or has been) removed.
/// * `Failed`: something outside stops it from running; `state_reason` says what.
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

impl ProcessState {
    pub const ALL: [ProcessState; 6] = [
        ProcessState::Starting,
        ProcessState::Initializing,
        ProcessState::Running,
        ProcessState::Suspended,
        ProcessState::Terminated,
        ProcessState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProcessState::Starting => "STARTING",
            ProcessState::Initializing => "INITIALIZING",
            ProcessState::Running => "RUNNING",
            ProcessState::Suspended => "SUSPENDED",
            ProcessState::Terminated => "TERMINATED",
            ProcessState::Failed => "FAILED",
        }
    }
}

impl std::fmt::Display for ProcessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a process should run: one of its owner's private nodes, a public node pool, or
/// wherever Switchyard sees fit among the nodes its owner may use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Placement {
    PrivateNode { node_id: String },
    NodePool { pool_id: String },
    Automatic,
}

/// One key/value pair: a parameter value (sent to the process over the management channel) or an
/// environment variable of its container.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigEntry {
    pub key: String,
    pub value: String,
}

/// Resource limits of a process; zero means "no limit of its own" (the administrator's cap
/// still applies).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(schemars::JsonSchema))]
pub struct ResourceLimits {
    #[serde(default)]
    pub memory_bytes: u64,
    /// CPU time in billionths of a CPU (1 000 000 000 = one core).
    #[serde(default)]
    pub nano_cpus: u64,
}

/// A host directory mounted into the container (administrators only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mount {
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
}

/// A container port published on its node's host (administrators only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PortMapping {
    pub internal: u16,
    pub external: u16,
}

/// One entry of a process's state history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateChange {
    pub at: DateTime<Utc>,
    pub state: ProcessState,
    pub reason: Option<String>,
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
    /// The exact image the process runs, pinned by digest
    /// (`registry/services/x@sha256:…`), chosen when it was placed.
    pub image: Option<String>,
    pub placement: Placement,
    /// Parameter values, validated against the service's declared parameters and sent to the
    /// process in `SetConfigMessage`.
    pub parameters: Vec<ConfigEntry>,
    /// Free environment variables of the container.
    pub environment: Vec<ConfigEntry>,
    pub limits: ResourceLimits,
    #[serde(default)]
    pub mounts: Vec<Mount>,
    #[serde(default)]
    pub ports: Vec<PortMapping>,
    /// The interfaces of its service version, as its image's labels gave them when it was
    /// created (what its connections are checked against, even if the tag moves on).
    #[serde(default)]
    pub interfaces: Vec<super::Interface>,
    pub state: ProcessState,
    /// Why the process is in its state (always set for `Failed`).
    pub state_reason: Option<String>,
    /// The node it runs on, once placed, and why that one.
    pub running_node_id: Option<String>,
    pub placement_reason: Option<String>,
    /// Whether Switchyard holds state the process handed over when it was suspended.
    #[serde(default)]
    pub has_saved_state: bool,
    /// When the process last handed its state over on a suspension (the state itself is kept
    /// until a resume gives it back).
    #[serde(default)]
    pub state_saved_at: Option<DateTime<Utc>>,
    /// When a resume last gave the process back its saved state (which is then let go of).
    #[serde(default)]
    pub state_restored_at: Option<DateTime<Utc>>,
    /// Whether Switchyard moves it to another permitted node when its node fails (goes down
    /// or leaves the swarm). Without it the process waits, FAILED, for its node to return.
    #[serde(default)]
    pub move_on_failure: bool,
    /// The node it is being moved to, while a move is under way.
    #[serde(default)]
    pub moving_to_node_id: Option<String>,
    /// The revision at which what its owner decides (name, parameters, environment, placement,
    /// moving on failure) last changed. Its state moves `revision` on as well, so a change
    /// based on an older revision is refused only when it is older than this one.
    #[serde(default)]
    pub config_revision: u64,
    /// The most recent state changes, newest last (at most 50).
    #[serde(default)]
    pub history: Vec<StateChange>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub revision: u64,
}

/// How many state changes a process keeps.
pub const HISTORY_LEN: usize = 50;

impl Process {
    /// A process with only its identity and service: placed automatically, nothing configured,
    /// not placed, STARTING, revision 0, dated at the epoch. For what is drawn before it exists
    /// (a draft's process) and for tests; real processes are made by the process manager.
    pub fn blank(id: &str, name: &str, user_id: &str, service_id: &str, service_version: &str) -> Process {
        Process {
            id: id.to_string(),
            name: name.to_string(),
            user_id: user_id.to_string(),
            service_id: service_id.to_string(),
            service_version: service_version.to_string(),
            image: None,
            placement: Placement::Automatic,
            parameters: Vec::new(),
            environment: Vec::new(),
            limits: ResourceLimits::default(),
            mounts: Vec::new(),
            ports: Vec::new(),
            interfaces: Vec::new(),
            state: ProcessState::Starting,
            state_reason: None,
            running_node_id: None,
            placement_reason: None,
            has_saved_state: false,
            state_saved_at: None,
            state_restored_at: None,
            move_on_failure: false,
            moving_to_node_id: None,
            config_revision: 0,
            history: Vec::new(),
            created: DateTime::<Utc>::default(),
            updated: DateTime::<Utc>::default(),
            revision: 0,
        }
    }

    /// Move to `state` with `reason`, recording it in the history when anything changed.
    pub fn set_state(&mut self, state: ProcessState, reason: Option<String>, at: DateTime<Utc>) {
        if self.state == state && self.state_reason == reason {
            return;
        }
        self.state = state;
        self.state_reason = reason.clone();
        self.history.push(StateChange { at, state, reason });
        if self.history.len() > HISTORY_LEN {
            let excess = self.history.len() - HISTORY_LEN;
            self.history.drain(..excess);
        }
    }
}

impl Process {
    /// Record an event in the history without changing the state.
    pub fn note(&mut self, reason: String, at: DateTime<Utc>) {
        self.history.push(StateChange { at, state: self.state, reason: Some(reason) });
        if self.history.len() > HISTORY_LEN {
            let excess = self.history.len() - HISTORY_LEN;
            self.history.drain(..excess);
        }
    }
}

/// What a caller sends to create a process.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewProcess {
    /// Defaults to `<service name> @<username>`, as in the original.
    #[serde(default)]
    pub name: Option<String>,
    pub service_id: String,
    /// Defaults to the newest version.
    #[serde(default)]
    pub service_version: Option<String>,
    /// Defaults to automatic placement.
    #[serde(default)]
    pub placement: Option<Placement>,
    /// Parameter values by parameter id; missing optional ones take their defaults.
    #[serde(default)]
    pub parameters: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub environment: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub limits: ResourceLimits,
    #[serde(default)]
    pub mounts: Vec<Mount>,
    #[serde(default)]
    pub ports: Vec<PortMapping>,
    /// Only administrators may create a process for another user.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Move it to another permitted node when its node fails (default: no).
    #[serde(default)]
    pub move_on_failure: bool,
}

/// What a caller sends to change a process; absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProcessUpdate {
    #[serde(default)]
    pub name: Option<String>,
    /// The complete new set of parameter values (sent to the running process, which is not
    /// restarted).
    #[serde(default)]
    pub parameters: Option<std::collections::BTreeMap<String, String>>,
    /// The complete new set of environment variables (its container is restarted).
    #[serde(default)]
    pub environment: Option<std::collections::BTreeMap<String, String>>,
    /// Whether to move it to another permitted node when its node fails.
    #[serde(default)]
    pub move_on_failure: Option<bool>,
    /// The revision this change is based on; a newer stored revision refuses it.
    #[serde(default)]
    pub revision: Option<u64>,
}

/// What a caller sends to move a process: where to. Switchyard suspends it (keeping its state),
/// creates it on a node of the new placement and resumes it there; its connections are
/// suspended and resumed with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProcessMove {
    pub placement: Placement,
    /// The revision this move is based on; a newer stored revision refuses it.
    #[serde(default)]
    pub revision: Option<u64>,
}

/// What a caller sends to upgrade a process: another version of its service (and, with it,
/// other parameters, environment or limits), keeping its state and its connections. Switchyard
/// suspends it (its state handed over), starts the new version (on a node of `placement` when
/// given) and resumes it with that state; each connection moves to the best interface-version
/// pair the two sides now share. Refused before anything happens when a connection would have no
/// fitting pair, unless `drop_connections`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProcessUpgrade {
    pub service_version: String,
    /// The complete new set of parameter values; absent: the current ones (checked against the
    /// new version).
    #[serde(default)]
    pub parameters: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub environment: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub limits: Option<ResourceLimits>,
    #[serde(default)]
    pub placement: Option<Placement>,
    /// End the connections the new version cannot keep instead of refusing the upgrade.
    #[serde(default)]
    pub drop_connections: bool,
    /// The revision this upgrade is based on; a newer stored revision refuses it.
    #[serde(default)]
    pub revision: Option<u64>,
}

/// One line a process's container wrote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    /// When Docker received it.
    pub at: Option<DateTime<Utc>>,
    pub text: String,
    /// Written by an earlier container of the process (before a restart or a move).
    #[serde(default)]
    pub previous: bool,
}
