//! The anchor: Switchyard's presence on its users' networks, and so the one way the managers
//! reach a running process.
//!
//! A container is attached to every user network that has processes (as `orchestrator`), so
//! processes reach Switchyard as `orchestrator:8080` and Switchyard reaches them at their address
//! on their user network. Which container is the [`Presence`]:
//!
//! * Switchyard on the host, outside the swarm's overlay networks: one small **anchor** container
//!   per installation, and the config-trigger listener and the management connections live in
//!   its network namespace;
//! * Switchyard in a container of its own (a swarm service): **that container** joins the
//!   networks, as the original orchestrator did, with plain sockets. Docker attaches a swarm
//!   task's container only to an overlay network already present on its node, and only a plain
//!   container's attachment brings one there; so a small plain container (the anchor's image,
//!   named `…-holder`, without the alias) holds each network on the manager first.
//!
//! The process manager asks through it for a process's state and configuration, the connection
//! manager tells processes of their connections; neither reaches into the other.

use std::{
    collections::HashSet,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use switchyard_protocol::connection::ConnectionMessage;

use crate::{
    connectors::{
        docker::Owner,
        process::{NetNamespace, ProcessConnector, Target},
        swarm::SharedSwarm,
    },
    error::{Error, Result},
    model::Process,
    store::{ProcessRecord, Query, Store, UserRecord},
};

/// The port of the config-trigger listener inside the anchor's network namespace, and so the
/// `ORCHESTRATOR_PORT` processes are given (the original's fixed 8080).
pub const TRIGGER_PORT: u16 = 8080;
/// The anchor's alias on every user network, and so `ORCHESTRATOR_HOST`.
pub const ORCHESTRATOR_ALIAS: &str = "orchestrator";

/// The start of the name of every user's overlay network.
const NETWORK_PREFIX: &str = "usernet-";

/// The overlay network of one user's processes.
pub(crate) fn network_name(user_id: &str) -> String {
    format!("{NETWORK_PREFIX}{user_id}")
}

/// How a process answered being told of one of its connections.
#[derive(Debug)]
pub(crate) enum Told {
    /// It has no running container on its network to tell.
    Unreachable,
    /// It took it; `task` is the container (swarm task) that did.
    Took { task: String },
    /// It answered with an error instead (e.g. an interface version it does not handle).
    Refused(String),
}

/// How Switchyard is on users' networks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presence {
    /// The image of the anchor (Switchyard on the host), or of the holder of the networks
    /// (Switchyard in a container).
    pub anchor_image: String,
    /// Switchyard runs in this container (its name or id), which joins users' networks itself.
    pub own_container: Option<String>,
}

struct Inner {
    store: Store,
    swarm: SharedSwarm,
    connector: ProcessConnector,
    instance_id: String,
    presence: Presence,
    /// Whether the other way's container (after a switch between host and container) is gone.
    cleared: std::sync::atomic::AtomicBool,
    /// Switchyard's own addresses on users' networks (in a container; none on the host).
    process_side: std::sync::RwLock<HashSet<IpAddr>>,
    /// Serialises set-up.
    lock: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
pub struct Anchor(Arc<Inner>);

impl Anchor {
    pub fn new(store: Store, swarm: SharedSwarm, instance_id: String, presence: Presence) -> Self {
        Self(Arc::new(Inner {
            store,
            swarm,
            connector: ProcessConnector::new(),
            instance_id,
            presence,
            cleared: Default::default(),
            process_side: Default::default(),
            lock: tokio::sync::Mutex::new(()),
        }))
    }

    /// The name of the container on users' networks as `orchestrator`: the anchor's, or
    /// Switchyard's own.
    pub fn container(&self) -> String {
        self.0.presence.own_container.clone().unwrap_or_else(|| self.plain_container())
    }

    /// The plain container of the anchor's image: the anchor, or the holder of the networks.
    fn plain_container(&self) -> String {
        match self.0.presence.own_container {
            None => format!("switchyard-anchor-{}", self.0.instance_id),
            Some(_) => format!("switchyard-anchor-{}-holder", self.0.instance_id),
        }
    }

    pub fn presence(&self) -> &Presence {
        &self.0.presence
    }

    /// Whether `local`, the address a connection arrived at, is Switchyard's own address on a
    /// user's network: the connection is then a process's (only in a container; on the host,
    /// processes reach only the trigger listener in the anchor's namespace).
    pub fn on_process_side(&self, local: IpAddr) -> bool {
        self.0.process_side.read().expect("not poisoned").contains(&local.to_canonical())
    }

    /// The management connections (in the anchor's namespace), for the process manager.
    pub(crate) fn connector(&self) -> &ProcessConnector {
        &self.0.connector
    }

    /// Whose a Docker object of `user_id` (and of process `process_id`) is.
    pub(crate) fn owner(&self, process_id: Option<&str>, user_id: &str) -> Owner {
        Owner {
            instance_id: self.0.instance_id.clone(),
            user_id: Some(user_id.to_string()),
            process_id: process_id.map(str::to_string),
        }
    }

    /// Make sure the anchor (or the holder) runs and is attached to `networks` (and every user
    /// network that has processes), and Switchyard's own container too when it has one; returns
    /// the network namespace the connector then uses.
    pub async fn ensure(&self, networks: &[String]) -> Result<NetNamespace> {
        use std::sync::atomic::Ordering;
        let _guard = self.0.lock.lock().await;
        let plain = self.plain_container();
        let own = self.0.presence.own_container.as_deref();
        if !self.0.cleared.load(Ordering::Relaxed) {
            // The other way's container, left by a switch between host and container: an anchor
            // with the alias would take half of the processes' config triggers.
            let other = match own {
                Some(_) => format!("switchyard-anchor-{}", self.0.instance_id),
                None => format!("switchyard-anchor-{}-holder", self.0.instance_id),
            };
            match self.0.swarm.remove_container(&other).await {
                Ok(()) => self.0.cleared.store(true, Ordering::Relaxed),
                // Not a reason to stop every process from starting: tried again next time.
                Err(e) => tracing::warn!("removing {other}, left by the other way of running Switchyard: {e}"),
            }
        }
        let owner = Owner { instance_id: self.0.instance_id.clone(), ..Default::default() };
        let image = &self.0.presence.anchor_image;
        let pid = self.0.swarm.ensure_container(&plain, image, &owner).await.map_err(|e| {
            let what = if own.is_some() { "the holder of users' networks" } else { "the anchor container" };
            Error::Unavailable(format!("{what} ({image}) cannot run: {e}"))
        })?;
        let alias = own.is_none().then_some(ORCHESTRATOR_ALIAS);
        let names = |attached: Vec<(String, Option<IpAddr>)>| attached.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        let attached = names(self.0.swarm.container_networks(&plain).await?);
        for net in networks.iter().filter(|n| !attached.contains(n)) {
            self.0.swarm.connect_container(net, &plain, alias).await?;
        }
        if let Some(own) = own {
            let own_error = |e: Error| {
                Error::Unavailable(format!("Switchyard's own container '{own}' (SWITCHYARD_CONTAINER): {e}"))
            };
            let mut attached = self.0.swarm.container_networks(own).await.map_err(own_error)?;
            if networks.iter().any(|n| !attached.iter().any(|(a, _)| a == n)) {
                for net in networks.iter().filter(|n| !attached.iter().any(|(a, _)| a == *n)) {
                    self.0.swarm.connect_container(net, own, Some(ORCHESTRATOR_ALIAS)).await?;
                }
                attached = self.0.swarm.container_networks(own).await.map_err(own_error)?;
            }
            // Where processes reach this container: a connection arriving there is a process's.
            let sides = attached
                .into_iter()
                .filter(|(n, _)| n.starts_with(NETWORK_PREFIX))
                .filter_map(|(_, ip)| ip.map(|ip| ip.to_canonical()))
                .collect();
            *self.0.process_side.write().expect("not poisoned") = sides;
        }
        let want = match own {
            Some(_) => NetNamespace::own(),
            None => match self.0.connector.namespace() {
                Some(ns) if ns.pid() == pid => return Ok(ns),
                _ => NetNamespace::of_pid(pid)?,
            },
        };
        match self.0.connector.namespace() {
            Some(ns) if ns.pid() == want.pid() => Ok(ns),
            _ => {
                self.0.connector.set_namespace(want.clone());
                Ok(want)
            }
        }
    }

    /// Make sure `user_id`'s network exists and the anchor is on it (before a process of theirs
    /// is created there).
    pub(crate) async fn join(&self, user_id: &str) -> Result<String> {
        let network = network_name(user_id);
        self.0.swarm.ensure_network(&network, &self.owner(None, user_id)).await?;
        let mut nets = self.user_networks().await?;
        if !nets.contains(&network) {
            nets.push(network.clone());
        }
        self.ensure(&nets).await?;
        Ok(network)
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

    /// Upkeep, run every few seconds: the anchor (or Switchyard's own container) runs and is on
    /// every user network with processes. Returns its namespace; `None` while no process exists
    /// and no anchor is needed.
    pub async fn keep(&self) -> Result<Option<NetNamespace>> {
        let nets = self.user_networks().await?;
        if nets.is_empty() && self.0.connector.namespace().is_none() {
            return Ok(None);
        }
        for net in &nets {
            self.0.swarm.ensure_network(net, &self.owner(None, net.trim_start_matches(NETWORK_PREFIX))).await?;
        }
        self.ensure(&nets).await.map(Some)
    }

    /// Where the process's running task can be reached on its user network.
    pub(crate) async fn target(&self, p: &Process) -> Result<Option<Target>> {
        let network = network_name(&p.user_id);
        let tasks = self.0.swarm.tasks(&p.id).await?;
        let Some(task) = tasks.iter().find(|t| t.is_up()) else { return Ok(None) };
        let Some((_, ip)) = task.addresses.iter().find(|(n, _)| n == &network) else { return Ok(None) };
        let ip: IpAddr =
            ip.parse().map_err(|_| Error::Unavailable(format!("Docker gave process {} a bad address '{ip}'", p.id)))?;
        Ok(Some(Target {
            process_id: p.id.clone(),
            address: SocketAddr::new(ip, switchyard_protocol::MANAGEMENT_PORT),
            task_id: task.id.clone(),
        }))
    }

    /// Tell a process's running container of one of its connections.
    pub(crate) async fn tell_connection(&self, p: &Process, message: ConnectionMessage) -> Result<Told> {
        let Some(target) = self.target(p).await? else { return Ok(Told::Unreachable) };
        Ok(match self.0.connector.connection(&target, message).await? {
            Ok(_) => Told::Took { task: target.task_id },
            Err(refused) => Told::Refused(refused),
        })
    }
}
