//! The swarm as the managers see it: the few things they ask of Docker, in Switchyard's words.
//!
//! [`DockerConnector`] is the one real implementation (bollard, against a real dockerd in swarm
//! mode, which the end-to-end tests use). The managers hold an `Arc<dyn Swarm>`, so that a core
//! test can drive their decisions (what the reconciler does when a service vanished, a task
//! failed, …) with a swarm written in the test, without Docker.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};

use super::docker::{DockerConnector, Owner, ServiceRequest, SwarmNode, TaskInfo};
use crate::error::Result;

/// The managers' view of the swarm. Errors are [`crate::Error::Unavailable`] when Docker cannot
/// be reached or answer now (try again), [`crate::Error::Refused`] when it refused the request
/// for good.
#[async_trait::async_trait]
pub trait Swarm: Send + Sync + 'static {
    /// Every node of the swarm.
    async fn nodes(&self) -> Result<Vec<SwarmNode>>;
    /// Whether a swarm service named `name` exists.
    async fn service_exists(&self, name: &str) -> Result<bool>;
    /// The names of the swarm services of installation `instance_id`.
    async fn services_of_instance(&self, instance_id: &str) -> Result<Vec<String>>;
    /// The swarm services of installation `instance_id` by name, each with its current tasks
    /// (those the swarm means to run, newest first; the reconciler asks for a service's whole
    /// history with [`Swarm::tasks`] when these do not settle it). The reconciler's one look at
    /// the swarm per round: the Docker connector asks for them in bulk, whatever their number.
    async fn services_with_tasks(&self, instance_id: &str) -> Result<HashMap<String, Vec<TaskInfo>>> {
        let mut out = HashMap::new();
        for name in self.services_of_instance(instance_id).await? {
            let mut tasks = self.tasks(&name).await?;
            tasks.retain(|t| t.desired_state == crate::connectors::docker::TaskState::Running);
            out.insert(name, tasks);
        }
        Ok(out)
    }
    /// Create a swarm service (nothing happens when it exists).
    async fn create_service(&self, request: &ServiceRequest) -> Result<()>;
    /// Remove a swarm service (nothing happens when there is none).
    async fn remove_service(&self, name: &str) -> Result<()>;
    /// The tasks of service `name`, newest first.
    async fn tasks(&self, name: &str) -> Result<Vec<TaskInfo>>;
    /// The last `tail` log lines of service `name`'s containers (only those after `since`, when
    /// given), each `<RFC 3339 time> <details> <text>`, where the details name the swarm task
    /// that wrote it (`…,com.docker.swarm.task.id=<id>`).
    async fn service_logs(&self, name: &str, tail: u32, since: Option<DateTime<Utc>>) -> Result<Vec<String>>;
    /// Make sure an attachable overlay network `name` exists; returns its id.
    async fn ensure_network(&self, name: &str, owner: &Owner) -> Result<String>;
    /// Make sure a plain container `name` of `image` runs; returns its main process's pid.
    async fn ensure_container(&self, name: &str, image: &str, owner: &Owner) -> Result<i64>;
    /// The networks container `name` is attached to, each with its address there.
    async fn container_networks(&self, name: &str) -> Result<Vec<(String, Option<std::net::IpAddr>)>>;
    /// Attach container `container` to `network`, under `alias` if given.
    async fn connect_container(&self, network: &str, container: &str, alias: Option<&str>) -> Result<()>;
    /// Remove container `name` (none there is fine).
    async fn remove_container(&self, _name: &str) -> Result<()> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl Swarm for DockerConnector {
    async fn nodes(&self) -> Result<Vec<SwarmNode>> {
        DockerConnector::nodes(self).await
    }
    async fn service_exists(&self, name: &str) -> Result<bool> {
        Ok(self.service_labels(name).await?.is_some())
    }
    async fn services_of_instance(&self, instance_id: &str) -> Result<Vec<String>> {
        DockerConnector::services_of_instance(self, instance_id).await
    }
    async fn services_with_tasks(&self, instance_id: &str) -> Result<HashMap<String, Vec<TaskInfo>>> {
        DockerConnector::services_with_tasks(self, instance_id).await
    }
    async fn create_service(&self, request: &ServiceRequest) -> Result<()> {
        DockerConnector::create_service(self, request).await
    }
    async fn remove_service(&self, name: &str) -> Result<()> {
        DockerConnector::remove_service(self, name).await
    }
    async fn tasks(&self, name: &str) -> Result<Vec<TaskInfo>> {
        DockerConnector::tasks(self, name).await
    }
    async fn service_logs(&self, name: &str, tail: u32, since: Option<DateTime<Utc>>) -> Result<Vec<String>> {
        DockerConnector::service_logs(self, name, tail, since).await
    }
    async fn ensure_network(&self, name: &str, owner: &Owner) -> Result<String> {
        DockerConnector::ensure_network(self, name, owner).await
    }
    async fn ensure_container(&self, name: &str, image: &str, owner: &Owner) -> Result<i64> {
        DockerConnector::ensure_container(self, name, image, owner).await
    }
    async fn container_networks(&self, name: &str) -> Result<Vec<(String, Option<std::net::IpAddr>)>> {
        DockerConnector::container_networks(self, name).await
    }
    async fn connect_container(&self, network: &str, container: &str, alias: Option<&str>) -> Result<()> {
        DockerConnector::connect_container(self, network, container, alias).await
    }
    async fn remove_container(&self, name: &str) -> Result<()> {
        DockerConnector::remove_container(self, name).await
    }
}

/// What the managers hold.
pub type SharedSwarm = Arc<dyn Swarm>;
