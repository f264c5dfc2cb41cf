//! The Docker connector: the swarm manager's Engine API, through bollard's typed requests.

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
}

#[derive(Clone)]
pub struct DockerConnector {
    docker: Docker,
    endpoint: String,
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
        Ok(Self { docker, endpoint: endpoint.to_string() })
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
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| Error::Unavailable(format!("Docker at {} does not answer: {e}", self.endpoint)))?;
        let swarm = info.swarm.unwrap_or_default();
        if swarm.control_available != Some(true) {
            return Err(Error::Unavailable(format!(
                "Docker at {} is not a swarm manager (run `docker swarm init`)",
                self.endpoint
            )));
        }
        Ok(())
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
                })
            })
            .collect())
    }
}
