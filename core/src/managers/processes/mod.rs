//! The process manager: creating, configuring, suspending, resuming, moving and deleting
//! processes, the config trigger, the pending changes that carry each of these out, and the
//! reconciler that keeps the swarm in line with the records.
//!
//! The records are the desired state. Every change to Docker or to a running process is a pending
//! change holding only ids; its runner reads the records when it runs and looks at the world before
//! it changes it, so running it twice (after a crash) does no harm.
//!
//! Read top-down: this file holds the manager, its settings and what the others share; then
//! [`actions`] (what callers ask), [`placement`] (which node), [`moves`], [`runners`] (the pending
//! changes) and [`reconcile`]. It reaches running processes through the [`Anchor`].

use std::{collections::HashMap, sync::Arc, time::Duration};

use base64::Engine as _;
use chrono::Utc;
use switchyard_protocol::process::ProcessState as WireState;

use super::{
    anchor::{Anchor, Presence, ORCHESTRATOR_ALIAS, TRIGGER_PORT},
    Caller, ListParams, ServiceManager,
};

mod actions;
mod moves;
mod placement;
mod reconcile;
mod runners;
mod upgrade;
use crate::{
    auth,
    changes::{ChangeEngine, NewChange, Outcome},
    connectors::{
        docker::{ServiceRequest, TaskExit, TaskFailure, TaskInfo, TaskState},
        swarm::SharedSwarm,
    },
    error::{Error, Result},
    model::{
        ChangeKind, Interface, NewProcess, Node, NodeKind, NodePool, NodeStatus, Page, PendingChange, Placement,
        Process, ProcessMove, ProcessState, ProcessUpdate, ProcessUpgrade, Service, User,
    },
    store::{new_id, Mirror, MoveTarget, ProcessRecord, Query, RemovedProcess, Store, UpgradeTarget, UserRecord},
    validate,
};

/// The states of a process that should be running (not suspended or being deleted): the ones
/// the reconciler minds.
const LIVE: [ProcessState; 4] =
    [ProcessState::Starting, ProcessState::Initializing, ProcessState::Running, ProcessState::Failed];

/// Settings of the process manager.
#[derive(Clone, Debug)]
pub struct ProcessSettings {
    /// Labels Docker objects (see [`crate::store::InstanceRecord`]).
    pub instance_id: String,
    /// Which container joins users' networks: the anchor (Switchyard on the host) or
    /// Switchyard's own.
    pub presence: Presence,
    /// Caps on any one process's limits (0: no cap). A process that asks for no limit gets the cap.
    pub max_memory_bytes: u64,
    pub max_nano_cpus: u64,
    /// A container that runs this long without asking for its configuration (some libraries
    /// only log a failed config trigger) is configured by Switchyard unasked.
    pub trigger_grace: Duration,
    /// A connection interrupted for this long raises an alert.
    pub alert_interrupted_grace: Duration,
}

/// A process's containers' last log lines.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcessLogs {
    /// Each line as `<RFC 3339 time> <text>`.
    pub lines: Vec<String>,
    /// The same lines, parsed: time, text, and whether an earlier container wrote it.
    pub entries: Vec<crate::model::LogLine>,
}

/// Filters of the process list.
#[derive(Clone, Debug, Default)]
pub struct ProcessFilter {
    /// Administrators only: one owner's processes.
    pub user_id: Option<String>,
    pub state: Option<ProcessState>,
    pub service_id: Option<String>,
    /// Part of the name.
    pub search: Option<String>,
    /// Only those placed on this node.
    pub node_id: Option<String>,
}

struct Inner {
    store: Store,
    engine: ChangeEngine,
    swarm: SharedSwarm,
    services: ServiceManager,
    anchor: Anchor,
    settings: ProcessSettings,
    /// Who follows the processes' life (the connection manager).
    hooks: std::sync::OnceLock<Arc<dyn ProcessHooks>>,
    /// Reconciler rounds run since start.
    rounds: std::sync::atomic::AtomicU64,
    /// Services without any record, reported once each.
    strays: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The live processes' records, in memory: what the reconciler looks at every round.
    live: Mirror<ProcessRecord>,
}

/// What the rest of Switchyard hears of a process's life.
#[async_trait::async_trait]
pub trait ProcessHooks: Send + Sync + 'static {
    /// The process answered its first configuration in a container with RUNNING;
    /// `first_time` if it never ran before.
    async fn running(&self, process_id: &str, first_time: bool);
    /// Its state changed otherwise.
    async fn changed(&self, process_id: &str);
    /// It is about to be deleted: what depends on it must be ended first (changes submitted
    /// now run before its deletion).
    async fn deleting(&self, process_id: &str, name: &str) -> Result<()>;
    /// The live connections of this process that would have no fitting interface-version pair
    /// if it had `interfaces` instead of its own: each connection's id and why.
    async fn unfit_after_upgrade(&self, process: &Process, interfaces: &[Interface]) -> Result<Vec<(String, String)>>;
    /// End these connections (an upgrade the caller chose to drop them for).
    async fn drop_connections(&self, ids: &[String], why: &str) -> Result<()>;
    /// Its upgrade took effect: its connections are renegotiated.
    async fn upgraded(&self, process_id: &str) -> Result<()>;
}

#[derive(Clone)]
pub struct ProcessManager(Arc<Inner>);

impl ProcessManager {
    pub fn new(
        store: Store,
        engine: ChangeEngine,
        swarm: SharedSwarm,
        services: ServiceManager,
        anchor: Anchor,
        settings: ProcessSettings,
        live: Mirror<ProcessRecord>,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            engine,
            swarm,
            services,
            anchor,
            settings,
            hooks: std::sync::OnceLock::new(),
            rounds: Default::default(),
            strays: Default::default(),
            live,
        }))
    }

    /// The in-memory copy of the live processes' records [`ProcessManager::new`] takes; it must
    /// observe the store the managers write through.
    pub fn live_mirror() -> Mirror<ProcessRecord> {
        let by_state = |s: ProcessState| Query::all().eq("state", s.as_str());
        Mirror::filtered_loading(|r| LIVE.contains(&r.process.state), LIVE.map(by_state).into())
    }

    /// Set who hears of the processes' life (once).
    pub fn set_hooks(&self, hooks: Arc<dyn ProcessHooks>) {
        let _ = self.0.hooks.set(hooks);
    }

    async fn changed(&self, id: &str) {
        if let Some(h) = self.0.hooks.get() {
            h.changed(id).await;
        }
    }

    /// The caller's processes (administrators: everyone's, or one owner's).
    pub async fn list(&self, caller: &Caller, params: &ListParams, filter: &ProcessFilter) -> Result<Page<Process>> {
        let (query, page, per_page) =
            params.to_query(&["name", "created", "updated", "state", "service_id"], "created")?;
        let mut query = super::listing::scope_to_owner(caller, filter.user_id.as_deref(), query, "processes")?;
        if let Some(state) = filter.state {
            query = query.eq("state", state.as_str());
        }
        if let Some(service) = &filter.service_id {
            query = query.eq("service_id", service.as_str());
        }
        if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
            query = query.contains("name", search);
        }
        if let Some(node) = &filter.node_id {
            validate::id("node", node)?;
            query = query.eq("running_node_id", node.as_str());
        }
        let (records, total) = self.0.store.list::<ProcessRecord>(&query).await?;
        Ok(Page { items: records.into_iter().map(|r| r.process).collect(), total, page, per_page })
    }

    async fn record_for(&self, caller: &Caller, id: &str) -> Result<ProcessRecord> {
        validate::id("process", id)?;
        let record: ProcessRecord = self.0.store.fetch(id).await?;
        if !caller.is_admin() && record.process.user_id != caller.user.id {
            // Others' processes do not exist, as far as the caller can tell.
            return Err(Error::NotFound(format!("no process with id '{id}'")));
        }
        Ok(record)
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Process> {
        Ok(self.record_for(caller, id).await?.process)
    }

    /// The pending changes of one process, newest first.
    pub async fn changes(&self, caller: &Caller, id: &str) -> Result<Vec<PendingChange>> {
        self.record_for(caller, id).await?;
        self.0.engine.of_resource(id).await
    }

    pub(crate) async fn load(&self, id: &str) -> Result<Option<ProcessRecord>> {
        self.0.store.get::<ProcessRecord>(id).await
    }

    /// As [`ProcessManager::load`], from the in-memory copy when the process is live (starting,
    /// initializing, running or failed), so that following hundreds of them reads no store.
    pub(crate) async fn load_shared(&self, id: &str) -> Result<Option<Arc<ProcessRecord>>> {
        match self.0.live.get(&self.0.store, id).await? {
            Some(r) => Ok(Some(r)),
            None => Ok(self.load(id).await?.map(Arc::new)),
        }
    }

    async fn set_state(&self, id: &str, state: ProcessState, reason: Option<String>) -> Result<()> {
        let now = Utc::now();
        match self
            .0
            .store
            .modify::<ProcessRecord>(id, |r| {
                r.process.set_state(state, reason.clone(), now);
                r.process.updated = now;
                Ok(())
            })
            .await
        {
            Ok(_) => {
                self.changed(id).await;
                Ok(())
            }
            Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A node's name for messages: `nowhere` when there is none, its id when it is gone.
    async fn node_name(&self, node_id: Option<&str>) -> Result<String> {
        Ok(match node_id {
            Some(n) => self.0.store.get::<Node>(n).await?.map(|n| n.name).unwrap_or_else(|| n.to_string()),
            None => "nowhere".into(),
        })
    }
}

/// Refuse a change based on a revision from before the process's configuration last changed
/// (its state changing since does not count), or on one it never had.
fn check_revision(p: &Process, revision: Option<u64>) -> Result<()> {
    match revision {
        Some(rev) if rev > p.revision || rev < p.config_revision => Err(Error::StaleRevision(format!(
            "process '{}' changed since you read it (revision {} now, yours {rev}); reload and try again",
            p.name, p.revision
        ))),
        _ => Ok(()),
    }
}
