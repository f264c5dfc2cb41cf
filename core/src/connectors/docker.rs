//! The Docker connector: the swarm manager's Engine API, through bollard's typed requests.

use std::sync::Arc;

use bollard::Docker;

use crate::{
    error::{Error, Result},
    model::{Architecture, NodeStatus},
};

/// A node as the swarm describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct SwarmNode {
    pub docker_id: String,
    pub hostname: String,
    pub architecture: Architecture,
    pub status: NodeStatus,
    pub manager: bool,
    /// What the node has (0: Docker did not say).
    pub nano_cpus: u64,
    pub memory_bytes: u64,
}

/// The label every Docker object of an installation carries, its value the installation's id.
pub const LABEL_INSTANCE: &str = "org.switchyard.instance";
/// On a process's swarm service and container: the process's id.
pub const LABEL_PROCESS: &str = "org.switchyard.process";
/// On a process's service and its user's network: the owner's id (the original's label).
pub const LABEL_USER: &str = "user.id";
/// On a process's service: its image, and the swarm node it is pinned to (the original's labels).
const LABEL_SERVICE_NAME: &str = "service.name";
const LABEL_NODE_ID: &str = "node.id";

/// Whose a Docker object is: the labels Switchyard puts on what it creates.
#[derive(Clone, Debug, Default)]
pub struct Owner {
    pub instance_id: String,
    pub user_id: Option<String>,
    pub process_id: Option<String>,
}

impl Owner {
    fn labels(&self) -> std::collections::HashMap<String, String> {
        let mut labels = std::collections::HashMap::new();
        labels.insert(LABEL_INSTANCE.to_string(), self.instance_id.clone());
        if let Some(u) = &self.user_id {
            labels.insert(LABEL_USER.to_string(), u.clone());
        }
        if let Some(p) = &self.process_id {
            labels.insert(LABEL_PROCESS.to_string(), p.clone());
        }
        labels
    }
}

/// The state of a swarm task, in Docker's words (`running`, `failed`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    New,
    Allocated,
    Pending,
    Assigned,
    Accepted,
    Preparing,
    Ready,
    Starting,
    Running,
    Complete,
    Shutdown,
    Failed,
    Rejected,
    Remove,
    Orphaned,
    /// A state this version of Switchyard does not know.
    Unknown,
}

impl TaskState {
    const NAMES: [(&'static str, TaskState); 15] = [
        ("new", TaskState::New),
        ("allocated", TaskState::Allocated),
        ("pending", TaskState::Pending),
        ("assigned", TaskState::Assigned),
        ("accepted", TaskState::Accepted),
        ("preparing", TaskState::Preparing),
        ("ready", TaskState::Ready),
        ("starting", TaskState::Starting),
        ("running", TaskState::Running),
        ("complete", TaskState::Complete),
        ("shutdown", TaskState::Shutdown),
        ("failed", TaskState::Failed),
        ("rejected", TaskState::Rejected),
        ("remove", TaskState::Remove),
        ("orphaned", TaskState::Orphaned),
    ];

    pub fn parse(s: &str) -> TaskState {
        Self::NAMES.iter().find(|(n, _)| *n == s).map_or(TaskState::Unknown, |(_, t)| *t)
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES.iter().find(|(_, t)| *t == self).map_or("unknown", |(n, _)| n)
    }

    /// The task will never run (again).
    pub fn is_over(self) -> bool {
        matches!(
            self,
            TaskState::Complete
                | TaskState::Shutdown
                | TaskState::Failed
                | TaskState::Rejected
                | TaskState::Remove
                | TaskState::Orphaned
        )
    }

    /// It ended in failure: its container failed, or the swarm could not start it.
    pub fn is_failure(self) -> bool {
        matches!(self, TaskState::Failed | TaskState::Rejected)
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a task's container ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskExit {
    /// SIGKILLed (exit code 137): killed from outside, or out of memory.
    Killed,
    /// Exited with this code (not 0).
    Code(i64),
    /// Docker's error for it.
    Error(String),
    /// Exited with code 0.
    Exited,
    /// Nothing more than Docker's status message.
    Message(String),
}

/// Why a task failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskFailure {
    /// Its image cannot be pulled (Docker's error).
    ImageUnavailable(String),
    /// The swarm rejected it (Docker's error).
    Rejected(String),
    /// Its container ran and failed.
    Container(TaskExit),
}

#[derive(Clone)]
pub struct DockerConnector {
    docker: Docker,
    endpoint: String,
    /// Where users' networks get their subnets (None: Docker's default pool and size).
    subnets: Option<Arc<SubnetPool>>,
    /// The installation's services (id → name) as last listed, for the reconciler's look.
    services: Arc<std::sync::Mutex<Option<ServiceNames>>>,
}

/// A listing of the installation's swarm services: their names by id, and when it was made.
struct ServiceNames {
    listed: std::time::Instant,
    names: Arc<std::collections::HashMap<String, String>>,
}

/// How long a listing of the installation's services serves the reconciler's looks while the
/// tasks say nothing changed (the listing finds services made outside Switchyard without tasks).
const SERVICES_KEPT: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether the tasks meant to run match the services listed: each task is of a listed service
/// and each listed service has a task. Otherwise a service was made or removed since (or one
/// has no task), and the services are listed again.
fn services_current(names: &std::collections::HashMap<String, String>, tasks: &[TaskRow]) -> bool {
    let with_tasks: std::collections::HashSet<&str> = tasks.iter().map(|t| t.service_id.as_str()).collect();
    with_tasks.len() == names.len() && with_tasks.iter().all(|id| names.contains_key(*id))
}

/// The address range users' overlay networks are cut from, and their size. Docker's default
/// (a /24 from `swarm init`'s pool) holds 249 containers with four nodes on the network: a user
/// with more processes than that could not start the next one.
pub struct SubnetPool {
    pool: ipnet::Ipv4Net,
    prefix: u8,
    /// One choice at a time: two networks made at once must not take the same subnet.
    choosing: tokio::sync::Mutex<()>,
}

impl SubnetPool {
    /// `pool` in CIDR notation (`10.240.0.0/12`), networks of `/prefix` each.
    pub fn new(pool: &str, prefix: u8) -> Result<Self> {
        let pool: ipnet::Ipv4Net = pool.trim().parse().map_err(|_| {
            Error::BadRequest(format!(
                "network pool '{pool}' is not an IPv4 range in CIDR notation (like 10.240.0.0/12)"
            ))
        })?;
        if prefix < pool.prefix_len() || prefix > 28 {
            return Err(Error::BadRequest(format!(
                "network size /{prefix} must lie between the pool's /{} and /28",
                pool.prefix_len()
            )));
        }
        Ok(Self { pool: pool.trunc(), prefix, choosing: tokio::sync::Mutex::new(()) })
    }

    /// The first subnet of the pool that overlaps none of `taken`.
    fn first_free(&self, taken: &[ipnet::Ipv4Net]) -> Option<ipnet::Ipv4Net> {
        let overlaps = |a: &ipnet::Ipv4Net, b: &ipnet::Ipv4Net| a.contains(&b.network()) || b.contains(&a.network());
        self.pool.subnets(self.prefix).ok()?.find(|candidate| !taken.iter().any(|t| overlaps(candidate, t)))
    }
}

/// An attachable overlay network, on `subnet` if given.
fn overlay_request(
    name: &str,
    labels: std::collections::HashMap<String, String>,
    subnet: Option<ipnet::Ipv4Net>,
) -> bollard::models::NetworkCreateRequest {
    bollard::models::NetworkCreateRequest {
        name: name.to_string(),
        driver: Some("overlay".into()),
        attachable: Some(true),
        labels: Some(labels),
        ipam: subnet.map(|s| bollard::models::Ipam {
            config: Some(vec![bollard::models::IpamConfig { subnet: Some(s.to_string()), ..Default::default() }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The daemon as `switchyard doctor` sees it.
#[derive(Clone, Debug)]
pub struct DaemonInfo {
    pub version: String,
    /// A swarm manager (it can create services).
    pub manager: bool,
    /// `active`, `inactive`, `pending`, …
    pub swarm_state: String,
    /// The daemon's clock.
    pub system_time: Option<chrono::DateTime<chrono::Utc>>,
    pub root_dir: Option<String>,
}

/// A task of a swarm service, as far as Switchyard cares.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskInfo {
    pub id: String,
    pub state: TaskState,
    pub desired_state: TaskState,
    pub message: String,
    pub error: Option<String>,
    pub node_id: Option<String>,
    pub container_id: Option<String>,
    pub exit_code: Option<i64>,
    /// When it last changed state.
    pub timestamp: Option<chrono::DateTime<chrono::Utc>>,
    /// Its addresses by network name (without the prefix length).
    pub addresses: Vec<(String, String)>,
}

impl TaskInfo {
    /// It runs, and the swarm means it to.
    pub fn is_up(&self) -> bool {
        self.state == TaskState::Running && self.desired_state == TaskState::Running
    }

    /// How its container ended.
    pub fn exit(&self) -> TaskExit {
        match (self.exit_code, self.error.as_deref()) {
            (Some(137), _) => TaskExit::Killed,
            (Some(code), _) if code != 0 => TaskExit::Code(code),
            (_, Some(err)) if !err.is_empty() => TaskExit::Error(err.to_string()),
            (Some(0), _) => TaskExit::Exited,
            _ => TaskExit::Message(self.message.clone()),
        }
    }

    /// Why it failed (for a task whose state [`TaskState::is_failure`]).
    pub fn failure(&self) -> TaskFailure {
        let err = self.error.clone().unwrap_or_else(|| self.message.clone());
        if err.contains("No such image") || err.contains("pull") || err.contains("manifest unknown") {
            TaskFailure::ImageUnavailable(err)
        } else if self.state == TaskState::Rejected {
            TaskFailure::Rejected(err)
        } else {
            TaskFailure::Container(self.exit())
        }
    }
}

/// What Switchyard asks of a process's swarm service.
#[derive(Clone, Debug, Default)]
pub struct ServiceRequest {
    pub name: String,
    pub image: String,
    pub env: Vec<String>,
    pub owner: Owner,
    pub network: String,
    pub aliases: Vec<String>,
    pub node_docker_id: String,
    pub memory_bytes: u64,
    pub nano_cpus: u64,
    /// (source, target, read-only)
    pub mounts: Vec<(String, String, bool)>,
    /// (container port, host port)
    pub ports: Vec<(u16, u16)>,
}

impl DockerConnector {
    /// Connect to `endpoint` (`unix:///path`, `tcp://host:port` or `http://host:port`); the
    /// connection itself is made lazily, per request.
    pub fn connect(endpoint: &str) -> Result<Self> {
        let docker = if let Some(path) = endpoint.strip_prefix("unix://") {
            Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION)
        } else if endpoint.starts_with("tcp://") || endpoint.starts_with("http://") {
            Docker::connect_with_http(endpoint, 120, bollard::API_DEFAULT_VERSION)
        } else {
            return Err(Error::BadRequest(format!(
                "Docker endpoint '{endpoint}' must start with unix://, tcp:// or http://"
            )));
        }
        .map_err(|e| Error::Unavailable(format!("Docker at {endpoint}: {e}")))?;
        Ok(Self { docker, endpoint: endpoint.to_string(), subnets: None, services: Default::default() })
    }

    /// Cut users' networks from `pool` (see [`SubnetPool`]).
    pub fn with_subnets(self, pool: SubnetPool) -> Self {
        Self { subnets: Some(Arc::new(pool)), ..self }
    }

    /// While held, no other network of this Switchyard gets a subnet (none, without a pool).
    async fn choosing(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.subnets {
            Some(pool) => Some(pool.choosing.lock().await),
            None => None,
        }
    }

    /// The pool's first subnet that no network has and Docker did not refuse for `name`
    /// (`None`: no pool, Docker chooses).
    async fn free_subnet(&self, name: &str, refused: &[ipnet::Ipv4Net]) -> Result<Option<ipnet::Ipv4Net>> {
        let Some(pool) = &self.subnets else { return Ok(None) };
        let mut taken = self.taken_subnets().await?;
        taken.extend_from_slice(refused);
        match pool.first_free(&taken) {
            Some(subnet) => Ok(Some(subnet)),
            None => Err(Error::Unavailable(format!(
                "no /{} is left for network {name} in the network pool {} (SWITCHYARD_NETWORK_POOL)",
                pool.prefix, pool.pool
            ))),
        }
    }

    /// The subnets of every network Docker knows (any scope, any driver).
    async fn taken_subnets(&self) -> Result<Vec<ipnet::Ipv4Net>> {
        let networks = self
            .docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .map_err(|e| unavailable("listing networks", "all", &e))?;
        Ok(networks
            .iter()
            .filter_map(|n| n.ipam.as_ref()?.config.as_ref())
            .flatten()
            .filter_map(|c| c.subnet.as_deref()?.parse().ok())
            .collect())
    }

    /// Agree on the API version with an older daemon (Debian's 20.10 speaks 1.41).
    pub async fn negotiate(self) -> Self {
        match self.docker.clone().negotiate_version().await {
            Ok(docker) => Self { docker, ..self },
            Err(_) => self,
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether the daemon answers and is a swarm manager.
    pub async fn ready(&self) -> Result<()> {
        if !self.daemon_info().await?.manager {
            return Err(Error::Unavailable(format!(
                "Docker at {} is not a swarm manager (run `docker swarm init`)",
                self.endpoint
            )));
        }
        Ok(())
    }

    /// What `switchyard doctor` asks of the daemon.
    pub async fn daemon_info(&self) -> Result<DaemonInfo> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| Error::Unavailable(format!("Docker at {} does not answer: {e}", self.endpoint)))?;
        let swarm = info.swarm.unwrap_or_default();
        Ok(DaemonInfo {
            version: info.server_version.unwrap_or_default(),
            manager: swarm.control_available == Some(true),
            swarm_state: swarm.local_node_state.map(|s| s.to_string()).unwrap_or_default(),
            system_time: info
                .system_time
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.to_utc()),
            root_dir: info.docker_root_dir,
        })
    }

    /// Whether the daemon has `image` locally.
    pub async fn image_present(&self, image: &str) -> Result<bool> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(unavailable("inspecting image", image, &e)),
        }
    }

    /// Make an attachable overlay network as a user's would be made (from the pool, when there
    /// is one) and remove it again: the subnet it got.
    pub async fn probe_network(&self) -> Result<String> {
        let name = format!("switchyard-doctor-{}-{:08x}", std::process::id(), rand::random::<u32>());
        let _choosing = self.choosing().await;
        let subnet = self.free_subnet(&name, &[]).await?;
        let request = overlay_request(&name, Default::default(), subnet);
        self.docker.create_network(request).await.map_err(|e| unavailable("creating network", &name, &e))?;
        let made = self
            .docker
            .inspect_network(&name, None::<bollard::query_parameters::InspectNetworkOptions>)
            .await
            .ok()
            .and_then(|n| n.ipam?.config?.into_iter().find_map(|c| c.subnet))
            .unwrap_or_else(|| "a subnet of Docker's".into());
        self.docker.remove_network(&name).await.map_err(|e| unavailable("removing network", &name, &e))?;
        Ok(made)
    }

    /// Every node of the swarm.
    pub async fn nodes(&self) -> Result<Vec<SwarmNode>> {
        use bollard::models::{NodeSpecRoleEnum, NodeState};
        let nodes = self
            .docker
            .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
            .await
            .map_err(|e| Error::Unavailable(format!("listing the swarm's nodes: {e}")))?;
        Ok(nodes
            .into_iter()
            .filter_map(|n| {
                let docker_id = n.id?;
                let description = n.description.unwrap_or_default();
                let resources = description.resources.clone().unwrap_or_default();
                let status = match n.status.and_then(|s| s.state) {
                    Some(NodeState::READY) => NodeStatus::Ready,
                    Some(NodeState::DOWN) => NodeStatus::Down,
                    Some(NodeState::DISCONNECTED) => NodeStatus::Disconnected,
                    _ => NodeStatus::Unknown,
                };
                Some(SwarmNode {
                    docker_id,
                    hostname: description.hostname.unwrap_or_default(),
                    architecture: description
                        .platform
                        .and_then(|p| p.architecture)
                        .map(|a| Architecture::from_docker(&a))
                        .unwrap_or(Architecture::Unknown),
                    status,
                    manager: n.spec.and_then(|s| s.role) == Some(NodeSpecRoleEnum::MANAGER),
                    nano_cpus: resources.nano_cpus.unwrap_or(0).max(0) as u64,
                    memory_bytes: resources.memory_bytes.unwrap_or(0).max(0) as u64,
                })
            })
            .collect())
    }
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

fn is_conflict(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 409, .. })
}

/// The message of a Docker error, without bollard's wrapping.
pub fn docker_message(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

impl DockerConnector {
    /// The id of the network `name`, creating it (an attachable overlay network) if it is absent.
    pub async fn ensure_network(&self, name: &str, owner: &Owner) -> Result<String> {
        let labels = owner.labels();
        let _choosing = self.choosing().await;
        let mut refused: Vec<ipnet::Ipv4Net> = Vec::new();
        for _ in 0..3 {
            match self.docker.inspect_network(name, None::<bollard::query_parameters::InspectNetworkOptions>).await {
                Ok(n) => return Ok(n.id.unwrap_or_default()),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(unavailable("inspecting network", name, &e)),
            }
            let subnet = self.free_subnet(name, &refused).await?;
            let request = overlay_request(name, labels.clone(), subnet);
            match self.docker.create_network(request).await {
                Ok(r) => return Ok(r.id),
                Err(e) if is_conflict(&e) => continue, // created concurrently; inspect again
                // Taken meanwhile by someone else (another Swarm client): the next one.
                Err(e) if subnet.is_some() && docker_message(&e).to_lowercase().contains("overlap") => {
                    refused.extend(subnet);
                    continue;
                }
                Err(e) => return Err(unavailable("creating network", name, &e)),
            }
        }
        Err(Error::Unavailable(format!("network {name} keeps disappearing")))
    }

    /// Every service, network and container carrying `label` (whatever its value), as
    /// (kind, name, the label's value).
    pub async fn labelled_objects(&self, label: &str) -> Result<Vec<(&'static str, String, String)>> {
        let mut filters = std::collections::HashMap::new();
        filters.insert("label".to_string(), vec![label.to_string()]);
        let value_of = |labels: Option<std::collections::HashMap<String, String>>| {
            labels.and_then(|l| l.get(label).cloned()).unwrap_or_default()
        };
        let mut out = Vec::new();
        let services = self
            .docker
            .list_services(Some(bollard::query_parameters::ListServicesOptions {
                filters: Some(filters.clone()),
                status: None,
            }))
            .await
            .map_err(|e| unavailable("listing services", label, &e))?;
        for s in services {
            let spec = s.spec.unwrap_or_default();
            out.push(("service", spec.name.unwrap_or_default(), value_of(spec.labels)));
        }
        let nets = self
            .docker
            .list_networks(Some(bollard::query_parameters::ListNetworksOptions { filters: Some(filters.clone()) }))
            .await
            .map_err(|e| unavailable("listing networks", label, &e))?;
        for n in nets {
            out.push(("network", n.name.unwrap_or_default(), value_of(n.labels)));
        }
        let containers = self
            .docker
            .list_containers(Some(bollard::query_parameters::ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(|e| unavailable("listing containers", label, &e))?;
        for c in containers {
            let name = c.names.and_then(|n| n.into_iter().next()).unwrap_or_default();
            // Swarm tasks' containers carry their service's labels; the service stands for them.
            if c.labels.as_ref().is_some_and(|l| l.contains_key("com.docker.swarm.service.id")) {
                continue;
            }
            out.push(("container", name.trim_start_matches('/').to_string(), value_of(c.labels)));
        }
        Ok(out)
    }

    /// Whether a swarm service named `name` exists, with its labels.
    pub async fn service_labels(&self, name: &str) -> Result<Option<std::collections::HashMap<String, String>>> {
        match self.docker.inspect_service(name, None::<bollard::query_parameters::InspectServiceOptions>).await {
            Ok(s) => Ok(Some(s.spec.and_then(|s| s.labels).unwrap_or_default())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(unavailable("inspecting service", name, &e)),
        }
    }

    /// Names of the swarm services of installation `instance_id`.
    pub async fn services_of_instance(&self, instance_id: &str) -> Result<Vec<String>> {
        let label = LABEL_INSTANCE;
        let mut filters = std::collections::HashMap::new();
        filters.insert("label".to_string(), vec![format!("{label}={instance_id}")]);
        let services = self
            .docker
            .list_services(Some(bollard::query_parameters::ListServicesOptions {
                filters: Some(filters),
                status: None,
            }))
            .await
            .map_err(|e| unavailable("listing services", label, &e))?;
        Ok(services.into_iter().filter_map(|s| s.spec.and_then(|s| s.name)).collect())
    }

    /// The swarm services of installation `instance_id` by name, each with its current tasks
    /// (those the swarm means to run; newest first), in one listing of the services and one of
    /// their tasks, however many there are: the reconciler's view of the swarm.
    /// Only the fields Switchyard reads are decoded (the rest of Docker's answer is skipped), so
    /// a round stays cheap at hundreds of services.
    pub async fn services_with_tasks(
        &self,
        instance_id: &str,
    ) -> Result<std::collections::HashMap<String, Vec<TaskInfo>>> {
        #[derive(serde::Deserialize)]
        struct ServiceRow {
            #[serde(rename = "ID")]
            id: String,
            #[serde(rename = "Spec")]
            spec: ServiceSpecRow,
        }
        #[derive(serde::Deserialize)]
        struct ServiceSpecRow {
            #[serde(rename = "Name")]
            name: String,
        }
        // The tasks meant to run of all the installation's services (tasks carry the service's
        // labels), whatever their number; and the services, at once, unless the last listing of
        // them is recent and the tasks match it (at 500 processes dockerd takes ~20 ms for each).
        let label = serde_json::json!({ format!("{LABEL_INSTANCE}={instance_id}"): true });
        let services_path =
            format!("/services?filters={}", urlencode(&serde_json::json!({ "label": label }).to_string()));
        let tasks_filter = serde_json::json!({ "label": label, "desired-state": { "running": true } });
        let tasks_path = format!("/tasks?filters={}", urlencode(&tasks_filter.to_string()));
        let list_services = || async {
            let services = self.raw_get_as::<Vec<ServiceRow>>(&services_path).await?;
            let names: std::collections::HashMap<String, String> =
                services.into_iter().map(|s| (s.id, s.spec.name)).collect();
            let names = Arc::new(names);
            *self.services.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(ServiceNames { listed: std::time::Instant::now(), names: names.clone() });
            Ok::<_, Error>(names)
        };
        let kept = {
            let cache = self.services.lock().unwrap_or_else(|p| p.into_inner());
            cache.as_ref().filter(|c| c.listed.elapsed() < SERVICES_KEPT).map(|c| c.names.clone())
        };
        let (names, rows) = match kept {
            Some(names) => {
                let rows = self.raw_get_as::<Vec<TaskRow>>(&tasks_path).await?;
                match services_current(&names, &rows) {
                    true => (names, rows),
                    false => (list_services().await?, rows),
                }
            }
            None => tokio::try_join!(list_services(), self.raw_get_as::<Vec<TaskRow>>(&tasks_path))?,
        };
        let mut out: std::collections::HashMap<String, Vec<TaskInfo>> =
            names.values().map(|n| (n.clone(), Vec::new())).collect();
        for row in rows {
            // A task of a service made after the services were listed waits for the next round.
            let Some(name) = names.get(&row.service_id) else { continue };
            if let Some(tasks) = out.get_mut(name) {
                tasks.push(row.into_info());
            }
        }
        for tasks in out.values_mut() {
            tasks.sort_by_key(|t| std::cmp::Reverse(t.timestamp));
        }
        Ok(out)
    }

    /// Create the swarm service of a process: one replica, pinned to its node, on its user's
    /// network with its id as alias (DNS round-robin: no virtual IP, which needs IPVS), restarted
    /// when it fails, with bounded logs. A service of that name that already exists counts as
    /// created (the change that creates it may run twice).
    pub async fn create_service(&self, req: &ServiceRequest) -> Result<()> {
        use bollard::models::*;
        let mut labels = req.owner.labels();
        labels.insert(LABEL_SERVICE_NAME.into(), req.image.clone());
        labels.insert(LABEL_NODE_ID.into(), req.node_docker_id.clone());
        let spec = ServiceSpec {
            name: Some(req.name.clone()),
            labels: Some(labels.clone()),
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some(req.image.clone()),
                    env: Some(req.env.clone()),
                    labels: Some(labels),
                    stop_grace_period: Some(5_000_000_000),
                    mounts: Some(
                        req.mounts
                            .iter()
                            .map(|(source, target, read_only)| Mount {
                                source: Some(source.clone()),
                                target: Some(target.clone()),
                                typ: Some(MountTypeEnum::BIND),
                                read_only: Some(*read_only),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    ..Default::default()
                }),
                resources: Some(TaskSpecResources {
                    limits: Some(Limit {
                        memory_bytes: (req.memory_bytes > 0).then_some(req.memory_bytes as i64),
                        nano_cpus: (req.nano_cpus > 0).then_some(req.nano_cpus as i64),
                        pids: None,
                    }),
                    reservations: None,
                }),
                restart_policy: Some(TaskSpecRestartPolicy {
                    // Any container that stops is restarted, and the new one asks for its
                    // configuration again through the trigger: a crash or a kill, and also a
                    // clean exit, which is what a process does when its node's dockerd stops
                    // (with only ON_FAILURE, every process on a restarted node stayed down).
                    // Suspending and deleting remove the service once the process has
                    // answered, so what Switchyard stops stays stopped.
                    condition: Some(TaskSpecRestartPolicyConditionEnum::ANY),
                    delay: Some(1_000_000_000),
                    max_attempts: Some(0),
                    window: None,
                }),
                placement: Some(TaskSpecPlacement {
                    constraints: Some(vec![format!("node.id=={}", req.node_docker_id)]),
                    ..Default::default()
                }),
                networks: Some(vec![NetworkAttachmentConfig {
                    target: Some(req.network.clone()),
                    aliases: Some(req.aliases.clone()),
                    driver_opts: None,
                }]),
                log_driver: Some(TaskSpecLogDriver {
                    name: Some("json-file".into()),
                    options: Some(
                        [("max-size".to_string(), "10m".to_string()), ("max-file".to_string(), "3".to_string())]
                            .into_iter()
                            .collect(),
                    ),
                }),
                ..Default::default()
            }),
            mode: Some(ServiceSpecMode {
                replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
                ..Default::default()
            }),
            endpoint_spec: Some(EndpointSpec {
                mode: Some(EndpointSpecModeEnum::DNSRR),
                ports: Some(
                    req.ports
                        .iter()
                        .map(|(internal, external)| EndpointPortConfig {
                            protocol: Some(EndpointPortConfigProtocolEnum::TCP),
                            target_port: Some(*internal as i64),
                            published_port: Some(*external as i64),
                            // Ingress publishing needs IPVS; host mode publishes on the node.
                            publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
                            name: None,
                        })
                        .collect(),
                ),
            }),
            ..Default::default()
        };
        match self.docker.create_service(spec, None).await {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) => Ok(()),
            Err(e) => Err(match &e {
                bollard::errors::Error::DockerResponseServerError { status_code: 400, message } => {
                    Error::Refused(format!("Docker refused the service: {message}"))
                }
                _ => unavailable("creating service", &req.name, &e),
            }),
        }
    }

    /// Remove a swarm service; one that is already gone counts as removed.
    pub async fn remove_service(&self, name: &str) -> Result<()> {
        match self.docker.delete_service(name).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(unavailable("removing service", name, &e)),
        }
    }

    /// The tasks of service `name`, newest first. (bollard's `Task` model lacks the network
    /// attachments, so this reads Docker's JSON itself.)
    pub async fn tasks(&self, name: &str) -> Result<Vec<TaskInfo>> {
        let filters = serde_json::json!({ "service": { name: true } }).to_string();
        let path = format!("/tasks?filters={}", urlencode(&filters));
        let rows: Vec<TaskRow> = self.raw_get_as(&path).await?;
        let mut tasks: Vec<TaskInfo> = rows.into_iter().map(TaskRow::into_info).collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.timestamp));
        Ok(tasks)
    }

    /// The last `tail` lines of a service's logs, from every node its tasks ran on.
    pub async fn service_logs(
        &self,
        name: &str,
        tail: u32,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<String>> {
        // Seconds and nanoseconds exactly (a float loses the nanoseconds at today's timestamps).
        let since =
            since.map(|t| format!("&since={}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())).unwrap_or_default();
        let path = format!("/services/{name}/logs?stdout=1&stderr=1&timestamps=1&details=1&tail={tail}{since}");
        let bytes = self.raw_get(&path).await?;
        Ok(demultiplex(&bytes))
    }

    /// Make sure a container named `name` runs `image` (pulling it if needed), restarting with the
    /// daemon; returns its process id on the host.
    pub async fn ensure_container(&self, name: &str, image: &str, owner: &Owner) -> Result<i64> {
        use bollard::models::{ContainerCreateBody, HostConfig, RestartPolicy, RestartPolicyNameEnum};
        let inspect = |docker: Docker, name: String| async move {
            docker.inspect_container(&name, None::<bollard::query_parameters::InspectContainerOptions>).await
        };
        match inspect(self.docker.clone(), name.to_string()).await {
            Ok(c) => {
                let state = c.state.unwrap_or_default();
                if state.running == Some(true) {
                    if let Some(pid) = state.pid.filter(|p| *p > 0) {
                        return Ok(pid);
                    }
                }
                self.docker
                    .start_container(name, None::<bollard::query_parameters::StartContainerOptions>)
                    .await
                    .map_err(|e| unavailable("starting container", name, &e))?;
            }
            Err(e) if is_not_found(&e) => {
                self.pull(image).await?;
                let body = ContainerCreateBody {
                    image: Some(image.to_string()),
                    labels: Some(owner.labels()),
                    host_config: Some(HostConfig {
                        restart_policy: Some(RestartPolicy {
                            name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                            maximum_retry_count: None,
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let options = bollard::query_parameters::CreateContainerOptions {
                    name: Some(name.to_string()),
                    ..Default::default()
                };
                match self.docker.create_container(Some(options), body).await {
                    Ok(_) => {}
                    Err(e) if is_conflict(&e) => {}
                    Err(e) => return Err(unavailable("creating container", name, &e)),
                }
                self.docker
                    .start_container(name, None::<bollard::query_parameters::StartContainerOptions>)
                    .await
                    .map_err(|e| unavailable("starting container", name, &e))?;
            }
            Err(e) => return Err(unavailable("inspecting container", name, &e)),
        }
        let c = inspect(self.docker.clone(), name.to_string())
            .await
            .map_err(|e| unavailable("inspecting container", name, &e))?;
        c.state
            .and_then(|s| s.pid)
            .filter(|p| *p > 0)
            .ok_or_else(|| Error::Unavailable(format!("container {name} does not run")))
    }

    /// Remove container `name`, running or not (none there is fine).
    pub async fn remove_container(&self, name: &str) -> Result<()> {
        let options = bollard::query_parameters::RemoveContainerOptions { force: true, ..Default::default() };
        match self.docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(unavailable("removing container", name, &e)),
        }
    }

    /// The networks container `name` is attached to, each with the container's address on it.
    pub async fn container_networks(&self, name: &str) -> Result<Vec<(String, Option<std::net::IpAddr>)>> {
        let c = self
            .docker
            .inspect_container(name, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
            .map_err(|e| unavailable("inspecting container", name, &e))?;
        let networks = c.network_settings.and_then(|n| n.networks).unwrap_or_default();
        Ok(networks
            .into_iter()
            .map(|(net, endpoint)| (net, endpoint.ip_address.and_then(|ip| ip.parse().ok())))
            .collect())
    }

    /// Attach container `container` to `network`, under `alias` if given (already attached is
    /// fine).
    pub async fn connect_container(&self, network: &str, container: &str, alias: Option<&str>) -> Result<()> {
        use bollard::models::{EndpointSettings, NetworkConnectRequest};
        let request = NetworkConnectRequest {
            container: Some(container.to_string()),
            endpoint_config: Some(EndpointSettings {
                aliases: alias.map(|a| vec![a.to_string()]),
                ..Default::default()
            }),
        };
        match self.docker.connect_network(network, request).await {
            Ok(()) => Ok(()),
            Err(e) if docker_message(&e).contains("already exists") => Ok(()),
            Err(e) => Err(unavailable("attaching to network", network, &e)),
        }
    }

    /// Pull `image` into the local daemon.
    pub async fn pull(&self, image: &str) -> Result<()> {
        use futures::StreamExt;
        let options =
            bollard::query_parameters::CreateImageOptions { from_image: Some(image.to_string()), ..Default::default() };
        let mut stream = self.docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                return Err(Error::Unavailable(format!("cannot pull {image}: {}", docker_message(&e))));
            }
        }
        Ok(())
    }

    /// GET `path` and decode Docker's JSON answer as `T` (fields `T` does not name are skipped).
    async fn raw_get_as<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let bytes = self.raw_get(path).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Unavailable(format!("Docker answered {path} with bad JSON: {e}")))
    }

    /// A GET to the Engine API for what bollard does not model (task network attachments, service
    /// logs). The body as received, not copied again: at 500 processes the reconciler's tasks
    /// listing is over a MiB, read every round.
    async fn raw_get(&self, path: &str) -> Result<bytes::Bytes> {
        use http_body_util::BodyExt;
        let version = self.docker.client_version();
        let versioned = format!("/v{}.{}{}", version.major_version, version.minor_version, path);
        let fail = |e: String| Error::Unavailable(format!("Docker at {}: GET {path}: {e}", self.endpoint));
        let (status, body) = if let Some(socket) = self.endpoint.strip_prefix("unix://") {
            use hyperlocal::UnixClientExt;
            let client: hyper_util::client::legacy::Client<
                hyperlocal::UnixConnector,
                http_body_util::Full<bytes::Bytes>,
            > = hyper_util::client::legacy::Client::unix();
            let uri: hyper::Uri = hyperlocal::Uri::new(socket, &versioned).into();
            let response = tokio::time::timeout(std::time::Duration::from_secs(30), client.get(uri))
                .await
                .map_err(|_| fail("timed out".into()))?
                .map_err(|e| fail(e.to_string()))?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| fail(e.to_string()))?.to_bytes();
            (status, body)
        } else {
            let base = self.endpoint.replacen("tcp://", "http://", 1);
            let response = reqwest::Client::new()
                .get(format!("{}{versioned}", base.trim_end_matches('/')))
                .timeout(std::time::Duration::from_secs(30))
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            let status = response.status().as_u16();
            (status, response.bytes().await.map_err(|e| fail(e.to_string()))?)
        };
        match status {
            200..=299 => Ok(body),
            404 => Err(Error::NotFound(format!(
                "Docker: {}",
                serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["message"].as_str().map(String::from))
                    .unwrap_or_else(|| "not found".into())
            ))),
            s => Err(fail(format!("status {s}: {}", String::from_utf8_lossy(&body)))),
        }
    }
}

fn unavailable(doing: &str, what: &str, e: &bollard::errors::Error) -> Error {
    Error::Unavailable(format!("Docker: {doing} {what}: {}", docker_message(e)))
}

fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A task as Docker lists it, decoded only as far as [`TaskInfo`] needs (the rest is skipped).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TaskRow {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "ServiceID", default)]
    service_id: String,
    #[serde(rename = "NodeID", default)]
    node_id: Option<String>,
    #[serde(default)]
    desired_state: String,
    #[serde(default)]
    status: TaskStatusRow,
    #[serde(default)]
    networks_attachments: Vec<AttachmentRow>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct TaskStatusRow {
    #[serde(default)]
    state: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    err: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    container_status: Option<ContainerStatusRow>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerStatusRow {
    #[serde(rename = "ContainerID", default)]
    container_id: Option<String>,
    #[serde(default)]
    exit_code: Option<i64>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttachmentRow {
    #[serde(default)]
    network: Option<AttachedNetworkRow>,
    #[serde(default)]
    addresses: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttachedNetworkRow {
    #[serde(default)]
    spec: Option<NetworkSpecRow>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NetworkSpecRow {
    #[serde(default)]
    name: String,
}

impl TaskRow {
    fn into_info(self) -> TaskInfo {
        let mut addresses = Vec::new();
        for a in self.networks_attachments {
            let name = a.network.and_then(|n| n.spec).map(|s| s.name).unwrap_or_default();
            for addr in a.addresses {
                addresses.push((name.clone(), addr.split('/').next().unwrap_or(&addr).to_string()));
            }
        }
        let container = self.status.container_status;
        TaskInfo {
            id: self.id,
            state: TaskState::parse(&self.status.state),
            desired_state: TaskState::parse(&self.desired_state),
            message: self.status.message,
            error: self.status.err.filter(|s| !s.is_empty()),
            node_id: self.node_id.filter(|s| !s.is_empty()),
            container_id: container.as_ref().and_then(|c| c.container_id.clone()).filter(|s| !s.is_empty()),
            exit_code: container.and_then(|c| c.exit_code),
            timestamp: self
                .status
                .timestamp
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc)),
            addresses,
        }
    }
}

/// Docker's log stream for containers without a TTY: frames of `[stream, 0, 0, 0, len: u32 BE]`
/// and `len` bytes. Returns the lines.
fn demultiplex(bytes: &[u8]) -> Vec<String> {
    let mut text = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    let framed = bytes.len() >= 8 && matches!(bytes[0], 0..=2) && bytes[1..4] == [0, 0, 0];
    if !framed {
        text.extend_from_slice(bytes);
    } else {
        while rest.len() >= 8 {
            let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
            let end = (8 + len).min(rest.len());
            text.extend_from_slice(&rest[8..end]);
            rest = &rest[end..];
        }
    }
    String::from_utf8_lossy(&text).lines().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_services_are_listed_again_when_the_tasks_name_another_or_miss_one() {
        let names: std::collections::HashMap<String, String> =
            [("s1", "p1"), ("s2", "p2")].map(|(i, n)| (i.to_string(), n.to_string())).into();
        let task = |id: &str, service: &str| -> TaskRow {
            serde_json::from_value(serde_json::json!({"ID": id, "ServiceID": service})).unwrap()
        };
        assert!(services_current(&names, &[task("t1", "s1"), task("t2", "s2")]));
        assert!(services_current(&names, &[task("t1", "s1"), task("t3", "s1"), task("t2", "s2")]));
        assert!(!services_current(&names, &[task("t1", "s1")]), "s2 has no task: removed?");
        assert!(!services_current(&names, &[task("t1", "s1"), task("t2", "s2"), task("t4", "s3")]), "s3 is new");
    }

    #[test]
    fn demultiplexes_docker_log_frames() {
        let mut bytes = vec![1, 0, 0, 0, 0, 0, 0, 6];
        bytes.extend_from_slice(b"hello\n");
        bytes.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 4]);
        bytes.extend_from_slice(b"err\n");
        assert_eq!(demultiplex(&bytes), vec!["hello", "err"]);
        assert_eq!(demultiplex(b"plain\ntext\n"), vec!["plain", "text"]);
    }

    fn task_info(t: &serde_json::Value) -> Option<TaskInfo> {
        serde_json::from_value::<TaskRow>(t.clone()).ok().map(TaskRow::into_info)
    }

    #[test]
    fn reads_task_json() {
        let t = serde_json::json!({
            "ID": "t1", "NodeID": "n1", "DesiredState": "running",
            "Status": {"State": "running", "Message": "started", "Timestamp": "2026-01-01T00:00:00Z",
                       "ContainerStatus": {"ContainerID": "c1", "ExitCode": 0}},
            "NetworksAttachments": [{"Network": {"Spec": {"Name": "usernet-a"}}, "Addresses": ["10.0.3.4/24"]}]
        });
        let info = task_info(&t).unwrap();
        assert_eq!(info.addresses, vec![("usernet-a".to_string(), "10.0.3.4".to_string())]);
        assert_eq!(info.container_id.as_deref(), Some("c1"));
    }
}

#[cfg(test)]
mod task_tests {
    use super::*;

    fn task_info(t: &serde_json::Value) -> Option<TaskInfo> {
        serde_json::from_value::<TaskRow>(t.clone()).ok().map(TaskRow::into_info)
    }

    fn task(state: &str, exit_code: Option<i64>, error: Option<&str>) -> TaskInfo {
        task_info(&serde_json::json!({
            "ID": "t1",
            "DesiredState": "running",
            "Status": {
                "State": state,
                "Message": "started",
                "Err": error,
                "Timestamp": "2026-12-03T10:00:00.123456789Z",
                "ContainerStatus": { "ExitCode": exit_code },
            },
        }))
        .unwrap()
    }

    #[test]
    fn task_states_and_failures_in_switchyard_terms() {
        let up = task("running", None, None);
        assert!(up.is_up() && !up.state.is_over());
        assert_eq!(up.timestamp.unwrap().timestamp(), 1_796_292_000);
        assert_eq!(TaskState::parse("orphaned"), TaskState::Orphaned);
        assert_eq!(TaskState::parse("something new"), TaskState::Unknown);
        assert!(TaskState::Remove.is_over() && !TaskState::Pending.is_over());
        assert_eq!(task("failed", Some(137), None).exit(), TaskExit::Killed);
        assert_eq!(task("failed", Some(3), None).failure(), TaskFailure::Container(TaskExit::Code(3)));
        let pull = task("rejected", None, Some("No such image: services/x@sha256:00"));
        assert!(pull.state.is_failure());
        assert!(matches!(pull.failure(), TaskFailure::ImageUnavailable(_)));
        let rejected = task("rejected", None, Some("no suitable node"));
        assert_eq!(rejected.failure(), TaskFailure::Rejected("no suitable node".into()));
    }
    /// A task as Docker writes it, with all it carries that Switchyard skips, and one with
    /// fields missing: both decode, with what Switchyard reads.
    #[test]
    fn decodes_what_it_reads_of_a_whole_task_and_of_a_sparse_one() {
        let full = serde_json::json!({
            "ID": "t1", "Version": { "Index": 12 }, "CreatedAt": "2026-12-03T09:59:00Z",
            "Spec": { "ContainerSpec": { "Image": "x", "Labels": { "a": "b" } }, "Placement": {} },
            "ServiceID": "s1", "Slot": 1, "NodeID": "n1",
            "Status": {
                "Timestamp": "2026-12-03T10:00:00.123456789Z", "State": "running", "Message": "started",
                "ContainerStatus": { "ContainerID": "c1", "PID": 42, "ExitCode": 0 }, "PortStatus": {},
            },
            "DesiredState": "running",
            "NetworksAttachments": [
                { "Network": { "ID": "w", "Spec": { "Name": "sy-u1", "Labels": {} } }, "Addresses": ["10.0.1.5/24"] },
                { "Network": { "ID": "i" }, "Addresses": ["10.0.0.9/24"] },
            ],
        });
        let row: TaskRow = serde_json::from_value(full).unwrap();
        assert_eq!(row.service_id, "s1");
        let info = row.into_info();
        assert!(info.is_up());
        assert_eq!(
            (info.node_id.as_deref(), info.container_id.as_deref(), info.exit_code),
            (Some("n1"), Some("c1"), Some(0))
        );
        assert_eq!(
            info.addresses,
            vec![("sy-u1".to_string(), "10.0.1.5".to_string()), (String::new(), "10.0.0.9".to_string())]
        );
        let sparse = task_info(&serde_json::json!({ "ID": "t2" })).unwrap();
        assert_eq!((sparse.state, sparse.timestamp, sparse.container_id), (TaskState::Unknown, None, None));
        assert!(task_info(&serde_json::json!({ "NodeID": "n1" })).is_none(), "a task without an id");
    }
}

#[cfg(test)]
mod subnet_tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<ipnet::Ipv4Net> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn a_users_network_takes_the_first_subnet_that_overlaps_nothing() {
        let pool = SubnetPool::new("10.240.0.0/12", 20).unwrap();
        assert_eq!(pool.first_free(&[]).unwrap().to_string(), "10.240.0.0/20");
        // Docker's own /24s elsewhere do not matter; one inside the first /20 skips it, an equal
        // one the second, a wider one the third and fourth.
        let taken = nets(&["10.0.0.0/24", "10.240.3.0/24", "10.240.16.0/20", "10.240.32.0/19"]);
        assert_eq!(pool.first_free(&taken).unwrap().to_string(), "10.240.64.0/20");
        // A network wider than the pool takes all of it.
        assert_eq!(pool.first_free(&nets(&["10.0.0.0/8"])), None);
    }

    #[test]
    fn a_pool_that_makes_no_sense_is_refused_with_what_is_wrong() {
        let e = SubnetPool::new("10.240.0.0", 20).err().unwrap().to_string();
        assert!(e.contains("CIDR"), "{e}");
        let e = SubnetPool::new("10.240.0.0/12", 8).err().unwrap().to_string();
        assert!(e.contains("between the pool's /12 and /28"), "{e}");
        assert!(SubnetPool::new("10.240.0.0/12", 30).is_err());
        // A pool given with host bits is taken from its start.
        assert_eq!(SubnetPool::new("10.240.1.2/12", 20).unwrap().first_free(&[]).unwrap().to_string(), "10.240.0.0/20");
    }
}
