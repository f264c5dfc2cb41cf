//! The managers hold Switchyard's logic. Each takes the [`Caller`] and decides what that caller
//! may do, so the REST API and the web UI obey the same rules by construction. A manager never
//! speaks HTTP or Docker itself: it uses the store and the connectors.

mod alerts;
mod anchor;
mod connections;
mod dispatch;
mod listing;
mod networks;
mod nodes;
mod overview;
mod pending_changes;
mod processes;
mod services;
mod users;

pub use alerts::{sign as sign_webhook, AlertManager, WebhookRecord, CRASHED, RESTARTED};
pub use anchor::{Anchor, Presence, ORCHESTRATOR_ALIAS, TRIGGER_PORT};
pub use connections::{ConnectionFilter, ConnectionManager, ConnectionRecord};
pub use dispatch::Runners;
pub use listing::ListParams;
pub use networks::NetworkManager;
pub use nodes::{NewNodePool, NodeAssignment, NodeManager, NodePoolUpdate};
pub use pending_changes::{PendingChangeFilter, PendingChangeManager};
pub use processes::{ProcessFilter, ProcessHooks, ProcessLogs, ProcessManager, ProcessSettings};
pub use services::{compare_versions, CatalogueStatus, ServiceManager};
pub use users::{NewUser, UserManager, UserUpdate};

use crate::{
    changes::{ChangeEngine, EngineConfig},
    connectors::{docker::DockerConnector, registry::RegistryConnector, swarm::SharedSwarm},
    error::{Error, Result},
    events::Events,
    model::User,
    store::Store,
};

/// Who is asking: a logged-in user, re-read from the store on every request so that a demotion
/// or deletion takes effect at once.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: User,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.user.admin
    }
    pub fn require_admin(&self) -> Result<()> {
        if self.user.admin {
            Ok(())
        } else {
            Err(Error::Forbidden("only administrators may do this".into()))
        }
    }
    /// The caller is `owner` or an administrator. Anyone else's things do not exist as far as
    /// the caller can tell, so the refusal is the same "no such" as for an unknown id.
    pub fn require_owner_or_admin(&self, owner: &str, noun: &str, id: &str) -> Result<()> {
        if self.user.admin || self.user.id == owner {
            Ok(())
        } else {
            Err(Error::NotFound(format!("no {noun} with id '{id}'")))
        }
    }
}

/// Everything a request handler needs, built once at start-up.
#[derive(Clone)]
pub struct Switchyard {
    pub store: Store,
    pub users: UserManager,
    pub nodes: NodeManager,
    pub pending_changes: PendingChangeManager,
    pub services: ServiceManager,
    pub processes: ProcessManager,
    pub connections: ConnectionManager,
    pub anchor: Anchor,
    pub engine: ChangeEngine,
    pub docker: DockerConnector,
    /// Every committed change, pushed to whoever may see it (`/api/v1/events`).
    pub events: Events,
    /// What `/metrics` serves.
    pub metrics: crate::metrics::Metrics,
    /// Who changed what (`/api/v1/audit`).
    pub audit: crate::audit::AuditManager,
    /// Alerts: the UI's toasts and webhook deliveries.
    pub alerts: AlertManager,
    /// Networks as documents: export, plan, apply, history, rollback.
    pub networks: NetworkManager,
}

impl Switchyard {
    pub fn new(
        store: Store,
        docker: DockerConnector,
        registry: RegistryConnector,
        initial_password_file: Option<std::path::PathBuf>,
        engine_config: EngineConfig,
        process_settings: ProcessSettings,
    ) -> Self {
        let swarm: SharedSwarm = std::sync::Arc::new(docker.clone());
        Self::with_swarm(store, docker, swarm, registry, initial_password_file, engine_config, process_settings)
    }

    /// As [`Switchyard::new`], with the managers' view of the swarm given: the real one is
    /// `docker` itself; a core test gives one it wrote, to drive the managers without Docker.
    pub fn with_swarm(
        store: Store,
        docker: DockerConnector,
        swarm: SharedSwarm,
        registry: RegistryConnector,
        initial_password_file: Option<std::path::PathBuf>,
        engine_config: EngineConfig,
        process_settings: ProcessSettings,
    ) -> Self {
        let alert_grace = process_settings.alert_interrupted_grace;
        // Every write through this store (and its clones, which every manager holds) is published.
        let events = Events::new();
        // The reconciler's views, kept in memory from the same writes.
        let live_processes = ProcessManager::live_mirror();
        let connection_records = ConnectionManager::mirror();
        let store = store
            .observed(std::sync::Arc::new(events.clone()))
            .observed(std::sync::Arc::new(crate::audit::Audit))
            .observed(std::sync::Arc::new(live_processes.clone()))
            .observed(std::sync::Arc::new(connection_records.clone()));
        let services = ServiceManager::new(registry, std::time::Duration::from_secs(30)).publishing(events.clone());
        let engine = ChangeEngine::new(store.clone(), engine_config);
        let anchor = Anchor::new(
            store.clone(),
            swarm.clone(),
            process_settings.instance_id.clone(),
            process_settings.presence.clone(),
        );
        let processes = ProcessManager::new(
            store.clone(),
            engine.clone(),
            swarm.clone(),
            services.clone(),
            anchor.clone(),
            process_settings,
            live_processes,
        );
        let connections = ConnectionManager::new(
            store.clone(),
            engine.clone(),
            processes.clone(),
            services.clone(),
            anchor.clone(),
            connection_records,
        );
        let alerts = AlertManager::new(store.clone(), engine.clone(), events.clone(), alert_grace);
        let networks = NetworkManager::new(
            store.clone(),
            engine.clone(),
            processes.clone(),
            connections.clone(),
            services.clone(),
        );
        Self {
            networks,
            alerts,
            metrics: engine.metrics().clone(),
            audit: crate::audit::AuditManager::new(store.clone()),
            users: UserManager::new(store.clone(), initial_password_file),
            nodes: NodeManager::new(store.clone(), swarm, processes.clone()),
            pending_changes: PendingChangeManager::new(store.clone(), engine.clone()),
            services,
            processes,
            connections,
            anchor,
            engine,
            store,
            docker,
            events,
        }
    }

    /// Start the background work: the pending-change workers and the alert watcher.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        self.alerts.start();
        self.engine.start(std::sync::Arc::new(Runners {
            processes: self.processes.clone(),
            connections: self.connections.clone(),
            alerts: self.alerts.clone(),
            networks: self.networks.clone(),
        }))
    }
}
