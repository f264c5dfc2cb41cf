//! The process manager: creating, configuring, suspending, resuming and deleting processes, the
//! config trigger, the pending changes that carry each of these out, and the reconciler that keeps
//! the swarm in line with the records.
//!
//! The records are the desired state. Every change to Docker or to a running process is a pending
//! change holding only ids; its runner reads the records when it runs and looks at the world before
//! it changes it, so running it twice (after a crash) does no harm.

use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Duration};

use base64::Engine as _;
use chrono::Utc;
use switchyard_protocol::process::ProcessState as WireState;

use super::{Caller, ListParams, ServiceManager};
use crate::{
    auth,
    changes::{ChangeEngine, ChangeRunner, NewChange, Outcome},
    connectors::{
        docker::{DockerConnector, ServiceRequest},
        process::{NetNamespace, ProcessConnector, Target},
    },
    error::{Error, Result},
    model::{
        NewProcess, Node, NodeKind, NodePool, NodeStatus, Page, PendingChange, Placement, Process, ProcessMove,
        ProcessState, ProcessUpdate, Service, User,
    },
    store::{new_id, MoveTarget, ProcessRecord, Query, RemovedProcess, Store, UserRecord},
    validate,
};

/// Kinds of pending change this manager runs.
pub mod kinds {
    pub const CREATE: &str = "create_process";
    pub const CONFIGURE: &str = "configure_process";
    pub const UPDATE_PARAMETERS: &str = "update_process_parameters";
    pub const UPDATE_ENVIRONMENT: &str = "update_process_environment";
    pub const SUSPEND: &str = "suspend_process";
    pub const RESUME: &str = "resume_process";
    pub const DELETE: &str = "delete_process";
    /// The middle step of a move: remove it from its old node and point it at the new one.
    pub const MOVE: &str = "move_process";
}

/// Label keys on Docker objects.
pub const LABEL_INSTANCE: &str = "org.switchyard.instance";
pub const LABEL_PROCESS: &str = "org.switchyard.process";
pub const LABEL_USER: &str = "user.id";

/// The port of the config-trigger listener inside the anchor's network namespace, and so the
/// `ORCHESTRATOR_PORT` processes are given (the original's fixed 8080).
pub const TRIGGER_PORT: u16 = 8080;
/// The anchor's alias on every user network, and so `ORCHESTRATOR_HOST`.
pub const ORCHESTRATOR_ALIAS: &str = "orchestrator";

/// Settings of the process manager.
#[derive(Clone, Debug)]
pub struct ProcessSettings {
    /// Labels Docker objects (see [`crate::store::InstanceRecord`]).
    pub instance_id: String,
    /// The image of the anchor container.
    pub anchor_image: String,
    /// Caps on any one process's limits (0: no cap). A process that asks for no limit gets the cap.
    pub max_memory_bytes: u64,
    pub max_nano_cpus: u64,
    /// A container that runs this long without asking for its configuration (some libraries
    /// only log a failed config trigger) is configured by Switchyard unasked.
    pub trigger_grace: Duration,
}

impl ProcessSettings {
    pub fn anchor_container(&self) -> String {
        format!("switchyard-anchor-{}", self.instance_id)
    }
}

/// A process's containers' last log lines.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcessLogs {
    pub lines: Vec<String>,
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
    docker: DockerConnector,
    services: ServiceManager,
    connector: ProcessConnector,
    settings: ProcessSettings,
    /// Serialises anchor set-up.
    anchor_lock: tokio::sync::Mutex<()>,
    /// Who follows the processes' life (the connection manager).
    hooks: std::sync::OnceLock<Arc<dyn ProcessHooks>>,
    /// Reconciler rounds run since start.
    rounds: std::sync::atomic::AtomicU64,
    /// Services without any record, reported once each.
    strays: std::sync::Mutex<std::collections::HashSet<String>>,
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
}

#[derive(Clone)]
pub struct ProcessManager(Arc<Inner>);

fn network_name(user_id: &str) -> String {
    format!("usernet-{user_id}")
}

impl ProcessManager {
    pub fn new(
        store: Store,
        engine: ChangeEngine,
        docker: DockerConnector,
        services: ServiceManager,
        settings: ProcessSettings,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            engine,
            docker,
            services,
            connector: ProcessConnector::new(),
            settings,
            anchor_lock: tokio::sync::Mutex::new(()),
            hooks: std::sync::OnceLock::new(),
            rounds: Default::default(),
            strays: Default::default(),
        }))
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

    pub fn settings(&self) -> &ProcessSettings {
        &self.0.settings
    }

    pub fn engine(&self) -> &ChangeEngine {
        &self.0.engine
    }

    pub fn connector(&self) -> &ProcessConnector {
        &self.0.connector
    }

    // ----------------------------------------------------------------------------------------
    // What callers do
    // ----------------------------------------------------------------------------------------

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
        let (all, _) = self
            .0
            .store
            .list::<PendingChange>(&Query::all().has("resources", id).sort("created", true).page(0, 100))
            .await?;
        Ok(all)
    }

    /// Create a process: validate everything, choose its node, save it STARTING and submit the
    /// change that creates its swarm service. Nothing is saved when anything is wrong.
    pub async fn create(&self, caller: &Caller, new: NewProcess) -> Result<Process> {
        let owner = match new.user_id.as_deref() {
            Some(uid) if uid != caller.user.id => {
                caller.require_admin()?;
                validate::id("user", uid)?;
                self.0
                    .store
                    .get::<UserRecord>(uid)
                    .await?
                    .ok_or_else(|| Error::invalid("user_id", format!("no user with id '{uid}'")))?
                    .user
            }
            _ => caller.user.clone(),
        };
        if new.service_id.trim().is_empty() {
            return Err(Error::invalid("service_id", "choose a service"));
        }
        let service = match self.0.services.get(&new.service_id, new.service_version.as_deref()).await {
            Ok(s) => s,
            Err(Error::NotFound(m)) => {
                let field = if m.contains("version") { "service_version" } else { "service_id" };
                return Err(Error::invalid(field, m));
            }
            Err(e) => return Err(e),
        };
        if service.digests.is_empty() {
            return Err(Error::invalid(
                "service_version",
                format!("version {} of {} has no image Switchyard can run", service.version, service.id),
            ));
        }
        let name = match new.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => {
                validate::process_name(n)?;
                n.to_string()
            }
            None => format!("{} @{}", service.name, owner.username),
        };
        let parameters = validate::parameters(&service.parameters, &new.parameters)?;
        let environment = validate::environment(&new.environment)?;
        let limits = self.check_limits(new.limits)?;
        if (!new.mounts.is_empty() || !new.ports.is_empty()) && !caller.is_admin() {
            return Err(Error::Forbidden(
                "only administrators may mount host directories or publish host ports".into(),
            ));
        }
        for m in &new.mounts {
            if !m.source.starts_with('/') || !m.target.starts_with('/') {
                return Err(Error::invalid("mounts", "mount source and target must be absolute paths"));
            }
        }
        for p in &new.ports {
            if p.internal == 0 || p.external == 0 {
                return Err(Error::invalid("ports", "ports must be between 1 and 65535"));
            }
        }
        let placement = new.placement.clone().unwrap_or(Placement::Automatic);
        let (node, reason) = self.place(&owner, &placement, &service, &limits, None).await?;
        let image = self.image_for(&service, &node);

        let now = Utc::now();
        let mut process = Process {
            id: new_id(),
            name,
            user_id: owner.id.clone(),
            service_id: service.id.clone(),
            service_version: service.version.clone(),
            image: Some(image),
            placement,
            parameters,
            environment,
            limits,
            mounts: new.mounts,
            ports: new.ports,
            interfaces: service.interfaces.clone(),
            state: ProcessState::Starting,
            state_reason: None,
            running_node_id: Some(node.id.clone()),
            placement_reason: Some(reason),
            has_saved_state: false,
            move_on_failure: new.move_on_failure,
            moving_to_node_id: None,
            // As stored by the insert below, at revision 1.
            config_revision: 1,
            history: Vec::new(),
            created: now,
            updated: now,
            revision: 0,
        };
        process.set_state(ProcessState::Starting, Some("creating its swarm service".into()), now);
        let record = ProcessRecord {
            process,
            token: auth::new_secret(),
            saved_state: None,
            task_id: None,
            has_run: false,
            moving_to: None,
            refused: None,
            suspending_task: None,
        };
        let record = self.0.store.insert(&record).await?;
        self.0
            .engine
            .submit(NewChange::new(
                kinds::CREATE,
                &owner.id,
                &record.process.id,
                format!("Create the swarm service of process '{}' on {}", record.process.name, node.name),
            ))
            .await?;
        Ok(record.process)
    }

    fn check_limits(&self, mut limits: crate::model::ResourceLimits) -> Result<crate::model::ResourceLimits> {
        let s = &self.0.settings;
        if s.max_memory_bytes > 0 {
            if limits.memory_bytes > s.max_memory_bytes {
                return Err(Error::invalid(
                    "limits.memory_bytes",
                    format!("at most {} bytes of memory per process are allowed", s.max_memory_bytes),
                ));
            }
            if limits.memory_bytes == 0 {
                limits.memory_bytes = s.max_memory_bytes;
            }
        }
        if s.max_nano_cpus > 0 {
            if limits.nano_cpus > s.max_nano_cpus {
                return Err(Error::invalid(
                    "limits.nano_cpus",
                    format!("at most {} nano-CPUs per process are allowed", s.max_nano_cpus),
                ));
            }
            if limits.nano_cpus == 0 {
                limits.nano_cpus = s.max_nano_cpus;
            }
        }
        if limits.memory_bytes != 0 && limits.memory_bytes < 4 * 1024 * 1024 {
            return Err(Error::invalid("limits.memory_bytes", "a memory limit must be at least 4 MiB (4194304 bytes)"));
        }
        // Docker keeps both as signed 64-bit numbers; what a node can give is checked at placement.
        if limits.memory_bytes > i64::MAX as u64 {
            return Err(Error::invalid("limits.memory_bytes", "a memory limit must be less than 8 EiB"));
        }
        if limits.nano_cpus != 0 && limits.nano_cpus < 10_000_000 {
            return Err(Error::invalid(
                "limits.nano_cpus",
                "a CPU limit must be at least 0.01 CPU (10000000 nano-CPUs)",
            ));
        }
        if limits.nano_cpus > i64::MAX as u64 {
            return Err(Error::invalid("limits.nano_cpus", "a CPU limit must be less than 9.2 billion CPUs"));
        }
        Ok(limits)
    }

    /// The image of `service` for `node`'s architecture, pinned by digest.
    fn image_for(&self, service: &Service, node: &Node) -> String {
        let digest = service.digests.get(&node.architecture).cloned().unwrap_or_default();
        format!(
            "{}/{}@{}",
            self.0.services.registry().image_host(),
            self.0.services.registry().repository(&service.id),
            digest
        )
    }

    /// Choose a node for a process of `owner` running `service` under `placement` with
    /// `limits`, with the reason for the choice. `avoid` (the node a process is moved away from)
    /// is chosen only when the placement names it alone.
    pub async fn place(
        &self,
        owner: &User,
        placement: &Placement,
        service: &Service,
        limits: &crate::model::ResourceLimits,
        avoid: Option<&str>,
    ) -> Result<(Node, String)> {
        let (nodes, _) = self.0.store.list::<Node>(&Query::all()).await?;
        let (candidates, what): (Vec<Node>, String) = match placement {
            Placement::PrivateNode { node_id } => {
                validate::id("node", node_id).map_err(|e| Error::invalid("placement.node_id", e.to_string()))?;
                let node = nodes
                    .iter()
                    .find(|n| &n.id == node_id)
                    .filter(|n| n.kind == NodeKind::Private && n.user_id.as_deref() == Some(owner.id.as_str()))
                    .ok_or_else(|| {
                        Error::invalid(
                            "placement.node_id",
                            format!("node '{node_id}' is not one of your private nodes"),
                        )
                    })?;
                (vec![node.clone()], format!("private node {}", node.name))
            }
            Placement::NodePool { pool_id } => {
                validate::id("node pool", pool_id).map_err(|e| Error::invalid("placement.pool_id", e.to_string()))?;
                let pool =
                    self.0.store.get::<NodePool>(pool_id).await?.ok_or_else(|| {
                        Error::invalid("placement.pool_id", format!("no node pool with id '{pool_id}'"))
                    })?;
                let in_pool: Vec<Node> = nodes
                    .iter()
                    .filter(|n| n.kind == NodeKind::Public && n.node_pool_id.as_deref() == Some(pool_id.as_str()))
                    .cloned()
                    .collect();
                if in_pool.is_empty() {
                    return Err(Error::invalid(
                        "placement.pool_id",
                        format!("node pool '{}' has no nodes; an administrator must add one first", pool.name),
                    ));
                }
                (in_pool, format!("node pool {}", pool.name))
            }
            Placement::Automatic => {
                let usable: Vec<Node> = nodes
                    .iter()
                    .filter(|n| {
                        n.kind == NodeKind::Public
                            || (n.kind == NodeKind::Private && n.user_id.as_deref() == Some(owner.id.as_str()))
                    })
                    .cloned()
                    .collect();
                if usable.is_empty() {
                    return Err(Error::invalid(
                        "placement",
                        "no node is available to you: an administrator must make a node public or yours first",
                    ));
                }
                (usable, "the nodes you may use".to_string())
            }
        };
        // A node that has left the swarm runs nothing; its record only waits to be forgotten.
        let candidates: Vec<Node> = candidates.into_iter().filter(|n| n.status != NodeStatus::Missing).collect();
        if candidates.is_empty() {
            let why = match placement {
                Placement::PrivateNode { .. } => format!("{what} has left the swarm"),
                Placement::NodePool { .. } => format!("every node of {what} has left the swarm"),
                Placement::Automatic => "every node you may use has left the swarm".to_string(),
            };
            return Err(Error::invalid("placement", why));
        }
        let fitting: Vec<&Node> = candidates.iter().filter(|n| service.digests.contains_key(&n.architecture)).collect();
        if fitting.is_empty() {
            let have: Vec<String> = service.digests.keys().map(|a| format!("{a:?}")).collect();
            let need: Vec<String> = candidates.iter().map(|n| format!("{} ({:?})", n.name, n.architecture)).collect();
            return Err(Error::invalid(
                "service_version",
                format!(
                    "version {} of {} has images for {} only, none of which runs on {what}: {}",
                    service.version,
                    service.id,
                    have.join(", "),
                    need.join(", ")
                ),
            ));
        }
        // A limit above what a node has is refused by the node (its tasks fail for ever).
        let roomy = |n: &Node| {
            (n.nano_cpus == 0 || limits.nano_cpus <= n.nano_cpus)
                && (n.memory_bytes == 0 || limits.memory_bytes <= n.memory_bytes)
        };
        if !fitting.iter().any(|n| roomy(n)) {
            let cpus = fitting.iter().any(|n| n.nano_cpus != 0 && limits.nano_cpus > n.nano_cpus);
            let have: Vec<String> = fitting
                .iter()
                .map(|n| format!("{} has {} CPUs and {} MiB", n.name, n.nano_cpus as f64 / 1e9, n.memory_bytes >> 20))
                .collect();
            let (field, what_limit) =
                if cpus { ("limits.nano_cpus", "CPU limit") } else { ("limits.memory_bytes", "memory limit") };
            return Err(Error::invalid(
                field,
                format!("the {what_limit} is more than any fitting node of {what} has: {}", have.join("; ")),
            ));
        }
        let fitting: Vec<&Node> = fitting.into_iter().filter(|n| roomy(n)).collect();
        let others: Vec<&Node> = fitting.iter().copied().filter(|n| Some(n.id.as_str()) != avoid).collect();
        let fitting = if others.is_empty() { fitting } else { others };
        let ready: Vec<&&Node> = fitting.iter().filter(|n| n.status == NodeStatus::Ready).collect();
        let pool: Vec<&Node> = if ready.is_empty() { fitting.clone() } else { ready.into_iter().copied().collect() };
        // Load: the processes placed on each node (counted on the store's index, not read).
        let mut loads = HashMap::new();
        for n in &pool {
            let placed = self.0.store.count::<ProcessRecord>(Query::all().eq("running_node_id", n.id.as_str())).await?;
            loads.insert(n.id.clone(), placed as usize);
        }
        let load = |n: &Node| loads.get(&n.id).copied().unwrap_or(0);
        let best = pool.iter().min_by_key(|n| (load(n), n.name.clone())).copied().expect("not empty");
        let reason = if pool.len() == 1 {
            format!("{} is the only fitting node of {what}", best.name)
        } else {
            format!(
                "{} runs the fewest processes ({}) of {} fitting nodes of {what}",
                best.name,
                load(best),
                pool.len()
            )
        } + if best.status != NodeStatus::Ready { " (it is not ready now)" } else { "" };
        Ok((best.clone(), reason))
    }

    /// Rename a process or change its parameters or environment.
    pub async fn update(&self, caller: &Caller, id: &str, change: ProcessUpdate) -> Result<Process> {
        let record = self.record_for(caller, id).await?;
        check_revision(&record.process, change.revision)?;
        if matches!(record.process.state, ProcessState::Terminated) {
            return Err(Error::Conflict("this process is being deleted".into()));
        }
        let name = match &change.name {
            Some(n) => {
                validate::process_name(n)?;
                Some(n.trim().to_string())
            }
            None => None,
        };
        let parameters = match &change.parameters {
            Some(p) => {
                let service =
                    self.0.services.get(&record.process.service_id, Some(&record.process.service_version)).await?;
                Some(validate::parameters(&service.parameters, p)?)
            }
            None => None,
        };
        let environment = change.environment.as_ref().map(validate::environment).transpose()?;
        let move_on_failure = change.move_on_failure;
        let params_changed = parameters.as_ref().is_some_and(|p| p != &record.process.parameters);
        let env_changed = environment.as_ref().is_some_and(|e| e != &record.process.environment);
        let expected = record.process.revision;
        let updated = self
            .0
            .store
            .modify::<ProcessRecord>(id, |r| {
                if r.process.config_revision > expected {
                    return Err(Error::StaleRevision(format!(
                        "process '{}' changed while you changed it; reload and try again",
                        r.process.name
                    )));
                }
                r.process.config_revision = r.process.revision + 1;
                if let Some(n) = &name {
                    r.process.name = n.clone();
                }
                if let Some(p) = &parameters {
                    r.process.parameters = p.clone();
                }
                if let Some(e) = &environment {
                    r.process.environment = e.clone();
                }
                if let Some(m) = move_on_failure {
                    r.process.move_on_failure = m;
                }
                r.process.updated = Utc::now();
                Ok(())
            })
            .await?;
        let p = &updated.process;
        let live = !matches!(p.state, ProcessState::Suspended | ProcessState::Terminated);
        if env_changed && live {
            self.0
                .engine
                .submit(NewChange::new(
                    kinds::UPDATE_ENVIRONMENT,
                    &p.user_id,
                    &p.id,
                    format!("Restart process '{}' with its new environment", p.name),
                ))
                .await?;
        } else if params_changed && live {
            self.0
                .engine
                .submit(NewChange::new(
                    kinds::UPDATE_PARAMETERS,
                    &p.user_id,
                    &p.id,
                    format!("Send process '{}' its new configuration", p.name),
                ))
                .await?;
        }
        Ok(updated.process)
    }

    /// Suspend a running process: it hands over its state, which Switchyard keeps, and its swarm
    /// service is removed.
    pub async fn suspend(&self, caller: &Caller, id: &str) -> Result<Process> {
        let record = self.record_for(caller, id).await?;
        if record.process.state != ProcessState::Running {
            return Err(Error::Conflict(format!(
                "only a RUNNING process can be suspended; this one is {}",
                record.process.state
            )));
        }
        if self.0.engine.has_open(id, kinds::SUSPEND).await? {
            return Err(Error::Conflict("this process is being suspended already".into()));
        }
        self.0
            .engine
            .submit(NewChange::new(
                kinds::SUSPEND,
                &record.process.user_id,
                id,
                format!("Suspend process '{}', keeping its state", record.process.name),
            ))
            .await?;
        Ok(record.process)
    }

    /// Resume a suspended process from the state it handed over.
    pub async fn resume(&self, caller: &Caller, id: &str) -> Result<Process> {
        let record = self.record_for(caller, id).await?;
        if record.process.state != ProcessState::Suspended {
            return Err(Error::Conflict(format!(
                "only a SUSPENDED process can be resumed; this one is {}",
                record.process.state
            )));
        }
        if self.0.engine.has_open(id, kinds::RESUME).await? {
            return Err(Error::Conflict("this process is being resumed already".into()));
        }
        self.transition(id, ProcessState::Starting, "resuming", kinds::RESUME, |p| {
            format!("Resume process '{}' from its saved state", p.name)
        })
        .await
    }

    /// Move a process to another node or node pool. A running process is suspended (handing
    /// over its state), removed from its node, created on a node of the new placement and
    /// resumed there with that state; its connections are suspended and resumed with it. A
    /// suspended process moves and stays suspended. Each step is a pending change.
    pub async fn move_process(&self, caller: &Caller, id: &str, request: ProcessMove) -> Result<Process> {
        let record = self.record_for(caller, id).await?;
        check_revision(&record.process, request.revision)?;
        let p = &record.process;
        if p.state == ProcessState::Terminated {
            return Err(Error::Conflict("this process is being deleted".into()));
        }
        if record.moving_to.is_some() || self.0.engine.has_open(id, kinds::MOVE).await? {
            return Err(Error::Conflict(format!("process '{}' is being moved already", p.name)));
        }
        let owner: User = self.0.store.fetch::<UserRecord>(&p.user_id).await?.user;
        let service = self.service_of(p).await?;
        let (node, reason) =
            self.place(&owner, &request.placement, &service, &p.limits, p.running_node_id.as_deref()).await?;
        if Some(node.id.as_str()) == p.running_node_id.as_deref() {
            // It runs there already: only its placement changes.
            let (now, placement) = (Utc::now(), request.placement);
            let updated = self
                .0
                .store
                .modify::<ProcessRecord>(id, |r| {
                    r.process.placement = placement.clone();
                    r.process.config_revision = r.process.revision + 1;
                    r.process.placement_reason = Some(reason.clone());
                    r.process.updated = now;
                    Ok(())
                })
                .await?;
            return Ok(updated.process);
        }
        let image = self.image_for(&service, &node);
        self.start_move(
            record,
            MoveTarget {
                node_id: node.id.clone(),
                node_name: node.name.clone(),
                placement: request.placement,
                image,
                reason,
            },
        )
        .await
    }

    /// The service version a process runs, as the registry describes it now.
    async fn service_of(&self, p: &Process) -> Result<Service> {
        match self.0.services.get(&p.service_id, Some(&p.service_version)).await {
            Err(Error::NotFound(_)) => Err(Error::Conflict(format!(
                "version {} of {} is no longer in the registry, so there is no image to run elsewhere",
                p.service_version, p.service_id
            ))),
            other => other,
        }
    }

    /// Where to move a process off `node` (which failed or no longer permits it): another node
    /// its placement allows, or, when that names only this node or no other is ready, any
    /// node its owner may use.
    pub(crate) async fn choose_away(&self, record: &ProcessRecord, node: &Node) -> Result<MoveTarget> {
        let p = &record.process;
        let owner: User = self.0.store.fetch::<UserRecord>(&p.user_id).await?.user;
        let service = self.service_of(p).await?;
        for placement in [p.placement.clone(), Placement::Automatic] {
            match self.place(&owner, &placement, &service, &p.limits, Some(&node.id)).await {
                Ok((to, reason)) if to.id != node.id && to.status == NodeStatus::Ready => {
                    return Ok(MoveTarget {
                        image: self.image_for(&service, &to),
                        reason: format!("{reason} (moved off {}, which {})", node.name, why_off(node)),
                        node_id: to.id,
                        node_name: to.name,
                        placement,
                    });
                }
                Ok(_) | Err(Error::Invalid { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!("no other ready node is available to {}", owner.username)))
    }

    /// The processes placed on `node` (as it is about to become) that it would no longer
    /// take: a process may stay only where its placement and its owner permit it.
    pub(crate) async fn stranded_by(&self, node: &Node) -> Result<Vec<ProcessRecord>> {
        let (on_node, _) =
            self.0.store.list::<ProcessRecord>(&Query::all().eq("running_node_id", node.id.as_str())).await?;
        Ok(on_node
            .into_iter()
            .filter(|r| r.process.state != ProcessState::Terminated && r.moving_to.is_none())
            .filter(|r| !permits(node, &r.process))
            .collect())
    }

    /// Record where a process goes and submit the steps of its move: suspend it (when it
    /// runs), relocate it, and start or resume it there (unless it was suspended). The target
    /// comes from [`ProcessManager::place`] or [`ProcessManager::choose_away`].
    pub(crate) async fn start_move(&self, record: ProcessRecord, target: MoveTarget) -> Result<Process> {
        let id = record.process.id.clone();
        let was = record.process.state;
        let now = Utc::now();
        let note = format!("moving to {}: {}", target.node_name, target.reason);
        let updated = self
            .0
            .store
            .modify::<ProcessRecord>(&id, |r| {
                if r.moving_to.is_some() {
                    return Err(Error::Conflict(format!("process '{}' is being moved already", r.process.name)));
                }
                r.moving_to = Some(target.clone());
                r.process.moving_to_node_id = Some(target.node_id.clone());
                r.process.config_revision = r.process.revision + 1;
                r.process.note(note.clone(), now);
                r.process.updated = now;
                Ok(())
            })
            .await?;
        let p = &updated.process;
        let from = self.node_name(p.running_node_id.as_deref()).await?;
        let to = &target.node_name;
        if was == ProcessState::Running {
            let what = format!("Suspend process '{}' to move it to {to}, keeping its state", p.name);
            self.0.engine.submit(NewChange::new(kinds::SUSPEND, &p.user_id, &id, what)).await?;
        }
        let what = format!("Move process '{}' from {from} to {to}", p.name);
        self.0.engine.submit(NewChange::new(kinds::MOVE, &p.user_id, &id, what)).await?;
        if was != ProcessState::Suspended {
            let what = if was == ProcessState::Running {
                format!("Resume process '{}' on {to} with its state", p.name)
            } else {
                format!("Start process '{}' on {to}", p.name)
            };
            self.0.engine.submit(NewChange::new(kinds::RESUME, &p.user_id, &id, what)).await?;
        }
        tracing::info!(process = %id, from = %from, to = %to, "moving");
        Ok(updated.process)
    }

    /// Put a process in `state` and submit the change of `kind` that carries it on.
    async fn transition(
        &self,
        id: &str,
        state: ProcessState,
        reason: &str,
        kind: &'static str,
        describe: impl Fn(&Process) -> String,
    ) -> Result<Process> {
        let now = Utc::now();
        let record = self
            .0
            .store
            .modify::<ProcessRecord>(id, |r| {
                r.process.set_state(state, Some(reason.to_string()), now);
                r.process.updated = now;
                Ok(())
            })
            .await?;
        let p = record.process;
        self.0.engine.submit(NewChange::new(kind, &p.user_id, id, describe(&p))).await?;
        Ok(p)
    }

    /// Delete a process: changes that have not started are cancelled, the process is told to
    /// terminate, its swarm service is removed and then its record.
    pub async fn delete(&self, caller: &Caller, id: &str, revision: Option<u64>) -> Result<Process> {
        let record = self.record_for(caller, id).await?;
        check_revision(&record.process, revision)?;
        if self.0.engine.has_open(id, kinds::DELETE).await? {
            return Ok(record.process);
        }
        self.0.engine.cancel_waiting(id, &[kinds::DELETE]).await?;
        // Its connections end first: their changes queue ahead of its deletion.
        if let Some(h) = self.0.hooks.get() {
            h.deleting(id, &record.process.name).await?;
        }
        self.transition(id, ProcessState::Terminated, "being deleted", kinds::DELETE, |p| {
            format!("Terminate process '{}' and remove it", p.name)
        })
        .await
    }

    /// The last lines of the process's container logs.
    pub async fn logs(&self, caller: &Caller, id: &str, tail: u32) -> Result<ProcessLogs> {
        let record = self.record_for(caller, id).await?;
        match self.0.docker.service_logs(&record.process.id, tail.clamp(1, 5000)).await {
            Ok(lines) => Ok(ProcessLogs { lines }),
            Err(Error::NotFound(_)) => Ok(ProcessLogs { lines: Vec::new() }),
            Err(e) => Err(e),
        }
    }

    /// The config trigger: a (re)started process asks for its configuration, authenticated by its
    /// token. Its state becomes INITIALIZING and its configuration is sent by a pending change.
    pub async fn trigger(&self, id: &str, token: &str) -> Result<()> {
        validate::id("process", id)?;
        let record = self
            .0
            .store
            .get::<ProcessRecord>(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no process with id '{id}'")))?;
        if !auth::constant_time_eq(record.token.as_bytes(), token.as_bytes()) {
            return Err(Error::Unauthenticated("wrong process token".into()));
        }
        if matches!(record.process.state, ProcessState::Terminated | ProcessState::Suspended) {
            return Err(Error::Conflict(format!("process {id} is {}", record.process.state)));
        }
        let now = Utc::now();
        let record = self
            .0
            .store
            .modify::<ProcessRecord>(id, |r| {
                if !matches!(r.process.state, ProcessState::Terminated | ProcessState::Suspended) {
                    let reason = if r.process.state == ProcessState::Running {
                        "the process restarted and asked for its configuration again"
                    } else {
                        "the process asked for its configuration"
                    };
                    r.process.set_state(ProcessState::Initializing, Some(reason.into()), now);
                    r.process.updated = now;
                }
                Ok(())
            })
            .await?;
        if self.0.engine.has_open(id, kinds::CONFIGURE).await? {
            self.0.engine.hurry(id).await?;
        } else {
            self.0
                .engine
                .submit(NewChange::new(
                    kinds::CONFIGURE,
                    &record.process.user_id,
                    id,
                    format!("Send process '{}' its configuration", record.process.name),
                ))
                .await?;
        }
        Ok(())
    }

    // ----------------------------------------------------------------------------------------
    // The anchor container
    // ----------------------------------------------------------------------------------------

    /// Make sure the anchor container runs and is attached to `networks` (and every user network
    /// that has processes); returns its network namespace, which the connector then uses.
    pub async fn ensure_anchor(&self, networks: &[String]) -> Result<NetNamespace> {
        let _guard = self.0.anchor_lock.lock().await;
        let name = self.0.settings.anchor_container();
        let labels: HashMap<String, String> =
            [(LABEL_INSTANCE.to_string(), self.0.settings.instance_id.clone())].into_iter().collect();
        let pid = self.0.docker.ensure_container(&name, &self.0.settings.anchor_image, labels).await.map_err(|e| {
            Error::Unavailable(format!("the anchor container ({}) cannot run: {e}", self.0.settings.anchor_image))
        })?;
        let attached = self.0.docker.container_networks(&name).await?;
        for net in networks.iter().filter(|n| !attached.contains(n)) {
            self.0.docker.connect_container(net, &name, ORCHESTRATOR_ALIAS).await?;
        }
        let ns = match self.0.connector.namespace() {
            Some(ns) if ns.pid() == pid => ns,
            _ => {
                let ns = NetNamespace::of_pid(pid)?;
                self.0.connector.set_namespace(ns.clone());
                ns
            }
        };
        Ok(ns)
    }

    /// The user networks of every user that has a process.
    async fn user_networks(&self) -> Result<Vec<String>> {
        // Users are few and processes many: count each user's processes on the index.
        let (users, _) = self.0.store.list::<UserRecord>(&Query::all()).await?;
        let mut nets = Vec::new();
        for u in users {
            if self.0.store.count::<ProcessRecord>(Query::all().eq("user_id", u.user.id.as_str())).await? > 0 {
                nets.push(network_name(&u.user.id));
            }
        }
        Ok(nets)
    }

    /// The processes that should be running (not suspended or being deleted).
    async fn live_processes(&self) -> Result<Vec<ProcessRecord>> {
        let mut live = Vec::new();
        for state in [ProcessState::Starting, ProcessState::Initializing, ProcessState::Running, ProcessState::Failed] {
            let (mut some, _) = self.0.store.list::<ProcessRecord>(&Query::all().eq("state", state.as_str())).await?;
            live.append(&mut some);
        }
        Ok(live)
    }

    /// Anchor upkeep, run every few seconds: the anchor runs and is on every user network with
    /// processes. Returns its namespace; `None` while no process exists and no anchor is needed.
    pub async fn keep_anchor(&self) -> Result<Option<NetNamespace>> {
        let nets = self.user_networks().await?;
        if nets.is_empty() && self.0.connector.namespace().is_none() {
            return Ok(None);
        }
        for net in &nets {
            self.0.docker.ensure_network(net, self.labels_for(None, net.trim_start_matches("usernet-"))).await?;
        }
        self.ensure_anchor(&nets).await.map(Some)
    }

    fn labels_for(&self, process_id: Option<&str>, user_id: &str) -> HashMap<String, String> {
        let mut labels: HashMap<String, String> = HashMap::new();
        labels.insert(LABEL_INSTANCE.into(), self.0.settings.instance_id.clone());
        labels.insert(LABEL_USER.into(), user_id.to_string());
        if let Some(p) = process_id {
            labels.insert(LABEL_PROCESS.into(), p.to_string());
        }
        labels
    }

    // ----------------------------------------------------------------------------------------
    // The runners of the pending changes
    // ----------------------------------------------------------------------------------------

    pub(crate) async fn load(&self, id: &str) -> Result<Option<ProcessRecord>> {
        self.0.store.get::<ProcessRecord>(id).await
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

    /// Create the process's swarm service, unless it exists.
    async fn create_service(&self, record: &ProcessRecord) -> Result<()> {
        let p = &record.process;
        let node_id = p.running_node_id.clone().ok_or_else(|| Error::Internal("process without a node".into()))?;
        let node: Node = self.0.store.fetch(&node_id).await?;
        let owner: User = self.0.store.fetch::<UserRecord>(&p.user_id).await?.user;
        let network = network_name(&p.user_id);
        self.0.docker.ensure_network(&network, self.labels_for(None, &p.user_id)).await?;
        let mut nets = self.user_networks().await?;
        if !nets.contains(&network) {
            nets.push(network.clone());
        }
        self.ensure_anchor(&nets).await?;
        if self.0.docker.service_labels(&p.id).await?.is_some() {
            return Ok(());
        }
        let mut env = vec![
            format!("ORCHESTRATOR_HOST={ORCHESTRATOR_ALIAS}"),
            format!("ORCHESTRATOR_PORT={TRIGGER_PORT}"),
            format!("ORCHESTRATOR_TOKEN={}", record.token),
            format!("PROCESS_ID={}", p.id),
            format!("USER_ID={}", owner.id),
            format!("USER_NAME={}", owner.username),
        ];
        if let Some(email) = &owner.email {
            env.push(format!("USER_EMAIL={email}"));
        }
        env.extend(p.environment.iter().map(|e| format!("{}={}", e.key, e.value)));
        let mut labels = self.labels_for(Some(&p.id), &p.user_id);
        labels.insert("service.name".into(), p.image.clone().unwrap_or_default());
        labels.insert("node.id".into(), node.docker_id.clone());
        let request = ServiceRequest {
            name: p.id.clone(),
            image: p.image.clone().unwrap_or_default(),
            env,
            labels,
            network,
            aliases: vec![p.id.clone()],
            node_docker_id: node.docker_id.clone(),
            memory_bytes: p.limits.memory_bytes,
            nano_cpus: p.limits.nano_cpus,
            mounts: p.mounts.iter().map(|m| (m.source.clone(), m.target.clone(), m.read_only)).collect(),
            ports: p.ports.iter().map(|m| (m.internal, m.external)).collect(),
        };
        self.0.docker.create_service(&request).await
    }

    /// Where the process's running task can be reached on its user network.
    pub(crate) async fn target(&self, p: &Process) -> Result<Option<Target>> {
        let network = network_name(&p.user_id);
        let tasks = self.0.docker.tasks(&p.id).await?;
        let running = tasks.iter().find(|t| t.state == "running" && t.desired_state == "running");
        let Some(task) = running else { return Ok(None) };
        let Some((_, ip)) = task.addresses.iter().find(|(n, _)| n == &network) else { return Ok(None) };
        let ip: std::net::IpAddr =
            ip.parse().map_err(|_| Error::Unavailable(format!("Docker gave process {} a bad address '{ip}'", p.id)))?;
        Ok(Some(Target {
            process_id: p.id.clone(),
            address: SocketAddr::new(ip, switchyard_protocol::MANAGEMENT_PORT),
            task_id: task.id.clone(),
        }))
    }

    async fn run_create(&self, change: &PendingChange, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else {
            return Ok(Outcome::Fail("the process no longer exists".into()));
        };
        if matches!(record.process.state, ProcessState::Terminated | ProcessState::Suspended) {
            return Ok(Outcome::Done);
        }
        match self.create_service(&record).await {
            Ok(()) => {
                if record.refused.is_some() {
                    self.0
                        .store
                        .modify::<ProcessRecord>(id, |r| {
                            r.refused = None;
                            Ok(())
                        })
                        .await?;
                }
                if record.process.state == ProcessState::Failed || change.attempts > 1 {
                    self.set_state(
                        id,
                        ProcessState::Starting,
                        Some("its swarm service was created; waiting for it to start".into()),
                    )
                    .await?;
                } else {
                    self.set_state(id, ProcessState::Starting, Some("waiting for its container to start".into()))
                        .await?;
                }
                Ok(Outcome::Done)
            }
            Err(Error::BadRequest(m)) => {
                let now = Utc::now();
                self.0
                    .store
                    .modify::<ProcessRecord>(id, |r| {
                        r.refused = Some(m.clone());
                        r.process.set_state(ProcessState::Failed, Some(m.clone()), now);
                        r.process.updated = now;
                        Ok(())
                    })
                    .await?;
                self.changed(id).await;
                Ok(Outcome::Fail(m))
            }
            Err(e) => Ok(Outcome::Retry(e.to_string())),
        }
    }

    async fn run_configure(&self, id: &str, is_update: bool) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else {
            return Ok(Outcome::Fail("the process no longer exists".into()));
        };
        let p = &record.process;
        if matches!(p.state, ProcessState::Terminated | ProcessState::Suspended) {
            return Ok(Outcome::Done);
        }
        // The process asked for its configuration, so its container runs; the swarm may take a
        // moment to say so.
        let mut target = self.target(p).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while target.is_none() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(25)).await;
            target = self.target(p).await?;
        }
        let Some(target) = target else {
            return Ok(Outcome::NotYet(
                Duration::from_millis(500),
                "the process's container is not running yet".into(),
            ));
        };
        let config: HashMap<String, String> = p.parameters.iter().map(|e| (e.key.clone(), e.value.clone())).collect();
        let state = match self.0.connector.set_config(&target, config, is_update).await {
            Ok(s) => s,
            Err(e) => return Ok(Outcome::Retry(e.to_string())),
        };
        if !is_update {
            if let Some(saved) = &record.saved_state {
                let data = base64::engine::general_purpose::STANDARD.decode(saved).unwrap_or_default();
                if let Err(e) = self.0.connector.resume(&target, data).await {
                    return Ok(Outcome::Retry(e.to_string()));
                }
                let now = Utc::now();
                self.0
                    .store
                    .modify::<ProcessRecord>(id, |r| {
                        r.saved_state = None;
                        r.task_id = Some(target.task_id.clone());
                        r.process.has_saved_state = false;
                        r.process.set_state(ProcessState::Running, Some("resumed from its saved state".into()), now);
                        r.process.updated = now;
                        r.has_run = true;
                        Ok(())
                    })
                    .await?;
                if let Some(h) = self.0.hooks.get() {
                    h.running(id, false).await;
                }
                return Ok(Outcome::Done);
            }
        }
        let (state, reason) = match state {
            WireState::Running => (ProcessState::Running, None),
            WireState::Suspended => (ProcessState::Suspended, None),
            WireState::Terminated => (ProcessState::Terminated, Some("the process says it terminated".into())),
            other => (ProcessState::Failed, Some(format!("the process answered its configuration with {other:?}"))),
        };
        // This container has its configuration now (the reconciler compares task ids).
        let now = Utc::now();
        let first_time = !record.has_run;
        match self
            .0
            .store
            .modify::<ProcessRecord>(id, |r| {
                r.task_id = Some(target.task_id.clone());
                r.process.set_state(state, reason.clone(), now);
                r.process.updated = now;
                if state == ProcessState::Running {
                    r.has_run = true;
                }
                Ok(())
            })
            .await
        {
            Ok(_) => {
                if let Some(h) = self.0.hooks.get() {
                    if state == ProcessState::Running && !is_update {
                        h.running(id, first_time).await;
                    } else {
                        h.changed(id).await;
                    }
                }
            }
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        self.0.engine.kick();
        Ok(Outcome::Done)
    }

    async fn run_update_environment(&self, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else { return Ok(Outcome::Done) };
        if matches!(record.process.state, ProcessState::Terminated | ProcessState::Suspended) {
            return Ok(Outcome::Done);
        }
        // A new environment needs a new container: replace the service. The new container
        // triggers and gets its configuration as any (re)started one does.
        if let Err(e) = self.remove_container(id).await {
            return Ok(Outcome::Retry(e.to_string()));
        }
        self.set_state(id, ProcessState::Starting, Some("restarting with its new environment".into())).await?;
        match self.create_service(&record).await {
            Ok(()) => Ok(Outcome::Done),
            Err(e) => Ok(Outcome::Retry(e.to_string())),
        }
    }

    /// Remove a process's swarm service and wait until its tasks are gone (its name and alias
    /// are free again for the next one).
    async fn remove_container(&self, id: &str) -> Result<()> {
        self.0.connector.disconnect(id);
        self.0.docker.remove_service(id).await?;
        self.wait_service_gone(id).await
    }

    /// A node's name for messages: `nowhere` when there is none, its id when it is gone.
    async fn node_name(&self, node_id: Option<&str>) -> Result<String> {
        Ok(match node_id {
            Some(n) => self.0.store.get::<Node>(n).await?.map(|n| n.name).unwrap_or_else(|| n.to_string()),
            None => "nowhere".into(),
        })
    }

    /// Wait until Docker has removed every task of a removed service (its name and alias are
    /// free again), up to 30 s. Tasks on a node that is not ready are not waited for: that
    /// node cannot stop them until it returns.
    async fn wait_service_gone(&self, id: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let (nodes, _) = self.0.store.list::<Node>(&Query::all()).await?;
        let unreachable: Vec<&str> =
            nodes.iter().filter(|n| n.status != NodeStatus::Ready).map(|n| n.docker_id.as_str()).collect();
        loop {
            let tasks = match self.0.docker.tasks(id).await {
                Ok(t) => t,
                Err(Error::NotFound(_)) => return Ok(()),
                Err(e) => return Err(e),
            };
            if tasks.iter().all(|t| {
                matches!(t.state.as_str(), "shutdown" | "complete" | "failed" | "rejected" | "orphaned" | "remove")
                    || t.node_id.as_deref().is_some_and(|n| unreachable.contains(&n))
            }) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::Unavailable(format!("the tasks of process {id} are still stopping")));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn run_suspend(&self, change: &PendingChange, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else { return Ok(Outcome::Done) };
        if record.process.state == ProcessState::Suspended {
            return Ok(Outcome::Done);
        }
        if record.process.state == ProcessState::Terminated {
            return Ok(Outcome::Fail("the process is being deleted".into()));
        }
        // Take its state, unless it handed it over already (an earlier attempt died after that).
        let mut lost = false;
        if record.saved_state.is_none() {
            let Some(target) = self.target(&record.process).await? else {
                return Ok(Outcome::Retry("the process's container is not running".into()));
            };
            if record.suspending_task.as_deref().is_some_and(|asked| asked != target.task_id) {
                // An earlier attempt asked another container, and Switchyard stopped before it
                // heard the answer: that container handed its state to no one and is gone. The
                // one running now is a fresh start; its state is not the process's.
                lost = true;
            } else {
                // Which container is asked, before asking: a retry after a crash can then tell
                // whether the one that may have handed its state over is still there.
                let task = target.task_id.clone();
                self.0
                    .store
                    .modify::<ProcessRecord>(id, |r| {
                        r.suspending_task = Some(task.clone());
                        Ok(())
                    })
                    .await?;
                match self.0.connector.go_to(&target, WireState::Suspended).await {
                    Ok((_, data)) => {
                        let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
                        self.0
                            .store
                            .modify::<ProcessRecord>(id, |r| {
                                r.saved_state = Some(encoded.clone());
                                r.process.has_saved_state = true;
                                Ok(())
                            })
                            .await?;
                    }
                    Err(e) if change.attempts < 4 => return Ok(Outcome::Retry(e.to_string())),
                    Err(e) => {
                        tracing::warn!(process = id, error = %e, "suspending without state: the process does not hand it over");
                    }
                }
            }
        }
        if let Err(e) = self.0.docker.remove_service(id).await {
            return Ok(Outcome::Retry(e.to_string()));
        }
        self.0.connector.disconnect(id);
        let reason = if lost {
            "suspended without state: Switchyard stopped while the process handed its state over, and that container is gone"
        } else if self.load(id).await?.is_some_and(|r| r.saved_state.is_some()) {
            "suspended; its state is kept"
        } else {
            "suspended without state (the process did not hand it over)"
        };
        let now = Utc::now();
        match self
            .0
            .store
            .modify::<ProcessRecord>(id, |r| {
                r.suspending_task = None;
                r.process.set_state(ProcessState::Suspended, Some(reason.into()), now);
                r.process.updated = now;
                Ok(())
            })
            .await
        {
            Ok(_) => self.changed(id).await,
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(Outcome::Done)
    }

    async fn run_resume(&self, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else { return Ok(Outcome::Done) };
        if matches!(record.process.state, ProcessState::Terminated) {
            return Ok(Outcome::Done);
        }
        if let Err(e) = self.wait_service_gone(id).await {
            return Ok(Outcome::Retry(e.to_string()));
        }
        match self.create_service(&record).await {
            Ok(()) => {
                self.set_state(id, ProcessState::Starting, Some("resuming: waiting for its container to start".into()))
                    .await?;
                Ok(Outcome::Done)
            }
            Err(e) => Ok(Outcome::Retry(e.to_string())),
        }
    }

    /// The middle step of a move: remove the process's swarm service from its old node and
    /// point its record at the new one (with the image for that node's architecture).
    async fn run_move(&self, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else { return Ok(Outcome::Done) };
        let Some(target) = record.moving_to.clone() else { return Ok(Outcome::Done) };
        if record.process.state == ProcessState::Terminated {
            return Ok(Outcome::Done);
        }
        if let Err(e) = self.remove_container(id).await {
            return Ok(Outcome::Retry(e.to_string()));
        }
        let from = self.node_name(record.process.running_node_id.as_deref()).await?;
        let now = Utc::now();
        self.0
            .store
            .modify::<ProcessRecord>(id, |r| {
                r.process.running_node_id = Some(target.node_id.clone());
                r.process.placement = target.placement.clone();
                r.process.placement_reason = Some(target.reason.clone());
                r.process.image = Some(target.image.clone());
                r.process.moving_to_node_id = None;
                r.moving_to = None;
                if r.process.state == ProcessState::Suspended {
                    r.process.note(format!("moved from {from} to {}; still suspended", target.node_name), now);
                } else {
                    let why = format!("moved from {from} to {}; starting there", target.node_name);
                    r.process.set_state(ProcessState::Starting, Some(why), now);
                }
                r.process.updated = now;
                Ok(())
            })
            .await?;
        self.changed(id).await;
        Ok(Outcome::Done)
    }

    async fn run_delete(&self, change: &PendingChange, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else { return Ok(Outcome::Done) };
        // Ask it to terminate (a few tries; a process that does not answer is removed anyway).
        if change.attempts <= 3 {
            match self.target(&record.process).await {
                Ok(Some(target)) => {
                    if let Err(e) = self.0.connector.go_to(&target, WireState::Terminated).await {
                        if change.attempts < 3 {
                            return Ok(Outcome::Retry(format!("telling it to terminate: {e}")));
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => return Ok(Outcome::Retry(e.to_string())),
            }
        }
        self.0.connector.disconnect(id);
        if let Err(e) = self.0.docker.remove_service(id).await {
            return Ok(Outcome::Retry(e.to_string()));
        }
        // What says, later, that a service of this id may be removed (see `reconcile`).
        let removed = RemovedProcess {
            id: id.to_string(),
            user_id: record.process.user_id.clone(),
            removed: Utc::now(),
            revision: 0,
        };
        match self.0.store.insert(&removed).await {
            Ok(_) | Err(Error::Conflict(_)) => {}
            Err(e) => return Ok(Outcome::Retry(e.to_string())),
        }
        match self.0.store.delete::<ProcessRecord>(id, None).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(Outcome::Done),
            Err(e) => Ok(Outcome::Retry(e.to_string())),
        }
    }

    // ----------------------------------------------------------------------------------------
    // The reconciler
    // ----------------------------------------------------------------------------------------

    /// A container runs but its process never asked for its configuration: send it anyway, over
    /// the management channel, and say so in its history.
    async fn configure_unasked(&self, record: &ProcessRecord) -> Result<()> {
        let p = &record.process;
        if self.0.engine.has_open(&p.id, kinds::CONFIGURE).await? {
            return Ok(());
        }
        let grace = self.0.settings.trigger_grace.as_secs();
        let why = format!(
            "its container runs but did not ask for its configuration within {grace} s; Switchyard sends it unasked"
        );
        let now = Utc::now();
        self.0
            .store
            .modify::<ProcessRecord>(&p.id, |r| {
                r.process.note(why.clone(), now);
                Ok(())
            })
            .await?;
        tracing::info!(process = %p.id, "{why}");
        self.0
            .engine
            .submit(NewChange::new(
                kinds::CONFIGURE,
                &p.user_id,
                &p.id,
                format!("Send process '{}' its configuration (it did not ask for it)", p.name),
            ))
            .await?;
        self.changed(&p.id).await;
        Ok(())
    }

    /// Forget the records of processes deleted more than `keep` ago.
    pub async fn prune_removed(&self, keep: Duration) -> Result<u64> {
        let cutoff = Utc::now() - chrono::Duration::from_std(keep).unwrap_or_default();
        let (all, _) = self.0.store.list::<RemovedProcess>(&Query::all()).await?;
        let mut n = 0;
        for r in all.into_iter().filter(|r| r.removed < cutoff) {
            if self.0.store.delete::<RemovedProcess>(&r.id, Some(r.revision)).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Bring the swarm in line with the records, once: a process whose swarm service vanished
    /// gets it back; a task that cannot start or a container that died shows why; a node that
    /// left shows as the reason; services of this installation without a process are removed.
    pub async fn reconcile(&self) -> Result<()> {
        let records = self.live_processes().await?;
        let open = self.0.engine.open_changes().await?;
        let busy = |id: &str| {
            open.iter().any(|c| {
                c.resources.iter().any(|r| r == id)
                    && matches!(
                        c.kind.as_str(),
                        kinds::CREATE
                            | kinds::SUSPEND
                            | kinds::RESUME
                            | kinds::MOVE
                            | kinds::DELETE
                            | kinds::UPDATE_ENVIRONMENT
                    )
            })
        };
        let (nodes, _) = self.0.store.list::<Node>(&Query::all()).await?;
        for record in &records {
            let p = &record.process;
            if busy(&p.id) {
                continue;
            }
            if let Err(e) = self.reconcile_one(record, &nodes).await {
                tracing::warn!(process = %p.id, error = %e, "reconciling process");
            }
        }
        // Services of this installation whose process is gone. One is removed only when a
        // record says its process was deleted, and never in the first round after start: a store
        // that is not the one these services were made from (an old backup, another place) must
        // not cost anyone their processes.
        let first_round = self.0.rounds.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0;
        let ours = self.0.docker.services_labelled(LABEL_INSTANCE, &self.0.settings.instance_id).await?;
        for name in ours {
            if busy(&name) || self.0.store.get::<ProcessRecord>(&name).await?.is_some() {
                continue;
            }
            if self.0.store.get::<RemovedProcess>(&name).await?.is_some() {
                if !first_round {
                    tracing::info!(service = %name, "removing the swarm service of a deleted process");
                    self.0.docker.remove_service(&name).await?;
                }
            } else if self.0.strays.lock().expect("not poisoned").insert(name.clone()) {
                tracing::warn!(
                    service = %name,
                    "a swarm service of this installation has no process record and no record of its deletion: left alone \
                     (was the store restored from an older backup?); remove it with `docker service rm {name}` if it is not wanted"
                );
            }
        }
        Ok(())
    }

    async fn reconcile_one(&self, record: &ProcessRecord, nodes: &[Node]) -> Result<()> {
        let p = &record.process;
        let id = p.id.as_str();
        let exists = self.0.docker.service_labels(id).await?.is_some();
        if !exists && record.refused.is_some() {
            // Docker refused it for good; its failed change says why and can be retried.
            return Ok(());
        }
        if !exists {
            self.set_state(
                id,
                ProcessState::Failed,
                Some("its swarm service was removed outside Switchyard; recreating it".into()),
            )
            .await?;
            self.0
                .engine
                .submit(NewChange::new(
                    kinds::CREATE,
                    &p.user_id,
                    id,
                    format!("Recreate the swarm service of process '{}' (removed outside Switchyard)", p.name),
                ))
                .await?;
            return Ok(());
        }
        let node = p.running_node_id.as_deref().and_then(|n| nodes.iter().find(|x| x.id == n));
        if let Some(node) =
            node.filter(|n| matches!(n.status, NodeStatus::Down | NodeStatus::Missing | NodeStatus::Disconnected))
        {
            let status = format!("{:?}", node.status).to_lowercase();
            let mut reason = format!("its node {} is {status}", node.name);
            let mut target = None;
            if record.moving_to.is_none() {
                if p.move_on_failure {
                    match self.choose_away(record, node).await {
                        Ok(t) => {
                            reason = format!("{reason}; moving it to {}", t.node_name);
                            target = Some(t);
                        }
                        Err(e) => reason = format!("{reason}; it cannot be moved: {e}"),
                    }
                } else {
                    reason
                        .push_str("; it runs again when the node returns (it is not set to move when its node fails)");
                }
            }
            self.set_state(id, ProcessState::Failed, Some(reason)).await?;
            if let Some(target) = target {
                if let Some(fresh) = self.load(id).await? {
                    self.start_move(fresh, target).await?;
                }
            }
            return Ok(());
        }
        let tasks = self.0.docker.tasks(id).await?;
        let Some(latest) = tasks.first() else { return Ok(()) };
        let running = tasks.iter().find(|t| t.state == "running");
        match running {
            Some(task) => {
                if p.state == ProcessState::Starting && running_longer_than(task, self.0.settings.trigger_grace) {
                    self.configure_unasked(record).await?;
                }
                if record.task_id.as_deref() != Some(task.id.as_str()) {
                    // A container Switchyard has not configured: say what became of the old one.
                    let previous = record.task_id.as_deref().and_then(|old| tasks.iter().find(|t| t.id == old));
                    let reason = previous.map(|old| {
                        format!("its container stopped ({}) and the swarm started a new one", describe_exit(old))
                    });
                    let now = Utc::now();
                    let new_id = task.id.clone();
                    self.0
                        .store
                        .modify::<ProcessRecord>(id, |r| {
                            if r.task_id.as_deref() == Some(new_id.as_str()) {
                                return Ok(()); // configured meanwhile
                            }
                            let had_one = r.task_id.is_some();
                            r.task_id = Some(new_id.clone());
                            let reason = reason.clone().unwrap_or_else(|| "the swarm replaced its container".into());
                            if had_one && matches!(r.process.state, ProcessState::Running | ProcessState::Failed) {
                                // It will ask for its configuration; until then it is starting.
                                r.process.set_state(ProcessState::Starting, Some(reason), now);
                                r.process.updated = now;
                            } else if had_one && r.process.state_reason.as_deref() != Some(reason.as_str()) {
                                r.process.note(reason, now);
                            }
                            Ok(())
                        })
                        .await?;
                }
            }
            None => {
                let failed = matches!(latest.state.as_str(), "failed" | "rejected");
                if failed && p.state != ProcessState::Failed {
                    let reason = describe_failure(latest);
                    self.set_state(id, ProcessState::Failed, Some(reason)).await?;
                } else if !failed && p.state == ProcessState::Running {
                    // Between containers: say what became of the one that ran.
                    let old = record.task_id.as_deref().and_then(|old| tasks.iter().find(|t| t.id == old));
                    let reason = match old {
                        Some(old) => {
                            format!("its container stopped ({}); the swarm is starting a new one", describe_exit(old))
                        }
                        None => format!("its container is {}", latest.state),
                    };
                    let (seen, now) = (record.task_id.clone(), Utc::now());
                    self.0
                        .store
                        .modify::<ProcessRecord>(id, |r| {
                            // Unless a new container was configured meanwhile.
                            if r.task_id == seen && r.process.state == ProcessState::Running {
                                r.process.set_state(ProcessState::Starting, Some(reason.clone()), now);
                                r.process.updated = now;
                            }
                            Ok(())
                        })
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// Whether the task has been running for longer than `grace`.
fn running_longer_than(task: &crate::connectors::docker::TaskInfo, grace: Duration) -> bool {
    let since = task.timestamp.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    since.is_some_and(|t| (Utc::now() - t.with_timezone(&Utc)).to_std().is_ok_and(|d| d > grace))
}

/// Whether `node` takes process `p` where it is: as one of the nodes its placement allows,
/// usable by its owner.
fn permits(node: &Node, p: &Process) -> bool {
    match (node.kind, &p.placement) {
        (NodeKind::Unidentified, _) => false,
        (NodeKind::Public, Placement::Automatic) => true,
        (NodeKind::Public, Placement::NodePool { pool_id }) => node.node_pool_id.as_deref() == Some(pool_id.as_str()),
        (NodeKind::Public, Placement::PrivateNode { .. }) => false,
        (NodeKind::Private, Placement::NodePool { .. }) => false,
        (NodeKind::Private, _) => node.user_id.as_deref() == Some(p.user_id.as_str()),
    }
}

/// Why a process leaves `node`, for its placement reason.
fn why_off(node: &Node) -> &'static str {
    match (node.status, node.kind) {
        (NodeStatus::Down | NodeStatus::Disconnected, _) => "went down",
        (NodeStatus::Missing, _) => "left the swarm",
        (_, NodeKind::Unidentified) => "was made unidentified",
        _ => "no longer takes it",
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

fn describe_exit(task: &crate::connectors::docker::TaskInfo) -> String {
    match (task.exit_code, task.error.as_deref()) {
        (Some(137), _) => "killed, exit code 137".into(),
        (Some(code), _) if code != 0 => format!("exit code {code}"),
        (_, Some(err)) if !err.is_empty() => err.to_string(),
        (Some(0), _) => "it exited".into(),
        _ => task.message.clone(),
    }
}

fn describe_failure(task: &crate::connectors::docker::TaskInfo) -> String {
    let err = task.error.clone().unwrap_or_else(|| task.message.clone());
    if err.contains("No such image") || err.contains("pull") || err.contains("manifest unknown") {
        format!("its image cannot be pulled: {err}")
    } else if task.state == "rejected" {
        format!("the swarm rejected its task: {err}")
    } else {
        format!("its container failed: {}", describe_exit(task))
    }
}

#[async_trait::async_trait]
impl ChangeRunner for ProcessManager {
    async fn run(&self, change: &PendingChange) -> Outcome {
        let Some(id) = change.resources.first().cloned() else {
            return Outcome::Fail("a process change without a process".into());
        };
        let result = match change.kind.as_str() {
            kinds::CREATE => self.run_create(change, &id).await,
            kinds::CONFIGURE => self.run_configure(&id, false).await,
            kinds::UPDATE_PARAMETERS => self.run_configure(&id, true).await,
            kinds::UPDATE_ENVIRONMENT => self.run_update_environment(&id).await,
            kinds::SUSPEND => self.run_suspend(change, &id).await,
            kinds::RESUME => self.run_resume(&id).await,
            kinds::MOVE => self.run_move(&id).await,
            kinds::DELETE => self.run_delete(change, &id).await,
            other => Ok(Outcome::Fail(format!("unknown kind of change '{other}'"))),
        };
        result.unwrap_or_else(|e| Outcome::Retry(e.to_string()))
    }
}
