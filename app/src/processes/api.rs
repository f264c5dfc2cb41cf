//! The processes' server functions: what the pages read and the actions they take, each a thin
//! call into the process manager with the caller's identity.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use switchyard_core::model::{NewProcess, Node, PendingChange, Process, ProcessUpdate};

#[cfg(feature = "ssr")]
use super::fields::placement_of;
#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::AppError;
#[cfg(feature = "ssr")]
use switchyard_core::model::Placement;

/// The process list with what it needs to be shown: node names and, for administrators, the
/// users they may filter by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessList {
    pub items: Vec<Process>,
    pub total: u64,
    /// Node id → name, of the nodes the caller may see.
    pub node_names: BTreeMap<String, String>,
    /// (id, username) of every user; administrators only, empty for others.
    pub owners: Vec<(String, String)>,
}

/// The caller's processes, newest first; administrators see everyone's, or one owner's; all,
/// or those on one node.
#[server]
pub async fn list_processes(owner: String, node: String) -> Result<ProcessList, AppError> {
    use switchyard_core::managers::{ListParams, ProcessFilter};
    let caller = caller().await?;
    let sy = sy();
    let params = ListParams { page: Some(1), per_page: Some(200), sort: Some("-created".into()) };
    let filter = ProcessFilter {
        user_id: Some(owner).filter(|o| !o.is_empty() && caller.is_admin()),
        node_id: Some(node).filter(|n| !n.is_empty()),
        ..Default::default()
    };
    let page = sy.processes.list(&caller, &params, &filter).await?;
    let node_names = sy.nodes.list_nodes(&caller, None).await?.into_iter().map(|n| (n.id, n.name)).collect();
    let owners = if caller.is_admin() {
        let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("username".into()) };
        sy.users.list(&caller, &params, None, None).await?.items.into_iter().map(|u| (u.id, u.username)).collect()
    } else {
        Vec::new()
    };
    Ok(ProcessList { items: page.items, total: page.total, node_names, owners })
}

/// One process with its pending changes and the names its ids stand for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessDetail {
    pub process: Process,
    /// Newest first.
    pub changes: Vec<PendingChange>,
    pub node_name: Option<String>,
    /// The placement in words, e.g. "node pool lab".
    pub placement: String,
    pub owner: String,
    /// The node it is being moved to, while it is.
    #[serde(default)]
    pub moving_to: Option<String>,
}

#[server]
pub async fn get_process(id: String) -> Result<ProcessDetail, AppError> {
    let caller = caller().await?;
    let sy = sy();
    let process = sy.processes.get(&caller, &id).await?;
    let changes = sy.processes.changes(&caller, &id).await?;
    let node_name = |node_id: &str| {
        let (sy, caller, node_id) = (sy.clone(), caller.clone(), node_id.to_string());
        async move { sy.nodes.get_node(&caller, &node_id).await.map(|n| n.name).unwrap_or(node_id) }
    };
    let placement = match &process.placement {
        Placement::Automatic => "automatic".to_string(),
        Placement::PrivateNode { node_id } => format!("private node {}", node_name(node_id).await),
        Placement::NodePool { pool_id } => format!(
            "node pool {}",
            sy.nodes.get_pool(&caller, pool_id).await.map(|p| p.name).unwrap_or_else(|_| pool_id.clone())
        ),
    };
    let moving_to = match &process.moving_to_node_id {
        Some(n) => Some(node_name(n).await),
        None => None,
    };
    let node_name = match &process.running_node_id {
        Some(n) => Some(node_name(n).await),
        None => None,
    };
    let owner = if process.user_id == caller.user.id {
        caller.user.username.clone()
    } else {
        sy.users.get(&caller, &process.user_id).await.map(|u| u.username).unwrap_or_else(|_| process.user_id.clone())
    };
    Ok(ProcessDetail { process, changes, node_name, placement, owner, moving_to })
}

/// The last lines of a process's container logs.
#[server]
pub async fn process_logs(
    id: String,
    tail: u32,
    since_secs: Option<u64>,
) -> Result<Vec<switchyard_core::model::LogLine>, AppError> {
    let since = since_secs.map(|s| chrono::Utc::now() - chrono::Duration::seconds(s.min(365 * 86400) as i64));
    Ok(sy().processes.logs(&caller().await?, &id, tail, since).await?.entries)
}

/// A service the deploy form offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceChoice {
    pub id: String,
    pub name: String,
}

/// A node pool the deploy form offers, with how many public nodes it has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolChoice {
    pub id: String,
    pub name: String,
    pub nodes: usize,
}

/// What the deploy form offers: the catalogue, the caller's private nodes and the node pools.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeployOptions {
    pub services: Vec<ServiceChoice>,
    /// Set when the registry cannot be read (the list is the last known one, or empty).
    pub catalogue_error: Option<String>,
    pub private_nodes: Vec<Node>,
    pub pools: Vec<PoolChoice>,
    pub username: String,
}

#[server]
pub async fn deploy_choices() -> Result<DeployOptions, AppError> {
    use switchyard_core::{managers::ListParams, model::NodeKind};
    let caller = caller().await?;
    let sy = sy();
    let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("name".into()) };
    let (services, catalogue_error) = match sy.services.list(&params, None).await {
        Ok((page, status)) => (
            page.items.into_iter().map(|s| ServiceChoice { id: s.id, name: s.name }).collect(),
            status.stale.then(|| status.error.unwrap_or_else(|| "the registry cannot be read".into())),
        ),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let nodes = sy.nodes.list_nodes(&caller, None).await?;
    let private_nodes = nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Private && n.user_id.as_deref() == Some(caller.user.id.as_str()))
        .cloned()
        .collect();
    let pools = sy
        .nodes
        .list_pools(&caller, &params, None)
        .await?
        .items
        .into_iter()
        .map(|p| PoolChoice {
            nodes: nodes
                .iter()
                .filter(|n| n.kind == NodeKind::Public && n.node_pool_id.as_deref() == Some(p.id.as_str()))
                .count(),
            id: p.id,
            name: p.name,
        })
        .collect();
    Ok(DeployOptions { services, catalogue_error, private_nodes, pools, username: caller.user.username })
}

#[server(input = Json)]
pub async fn create_process(new: NewProcess) -> Result<Process, AppError> {
    Ok(sy().processes.create(&caller().await?, new).await?)
}

#[server(input = Json)]
pub async fn update_process(id: String, change: ProcessUpdate) -> Result<Process, AppError> {
    Ok(sy().processes.update(&caller().await?, &id, change).await?)
}

/// Upgrade a process to another version of its service, keeping its state and connections
/// (those the new version cannot keep end only with `drop_connections`).
#[server]
pub async fn upgrade_process(
    id: String,
    version: String,
    drop_connections: Option<String>,
) -> Result<Process, AppError> {
    use switchyard_core::model::ProcessUpgrade;
    if version.is_empty() {
        return Err(AppError {
            code: "validation_failed".into(),
            message: "choose a version".into(),
            field: Some("service_version".into()),
        });
    }
    let request = ProcessUpgrade {
        service_version: version,
        drop_connections: drop_connections.is_some_and(|d| d == "on" || d == "true"),
        ..Default::default()
    };
    Ok(sy().processes.upgrade(&caller().await?, &id, request).await?)
}

/// Move a process to `placement` (`node:<id>` or `pool:<id>`, as the deploy form's choice).
#[server]
pub async fn move_process(id: String, placement: String) -> Result<Process, AppError> {
    use switchyard_core::model::ProcessMove;
    if placement.is_empty() {
        return Err(AppError {
            code: "validation_failed".into(),
            message: "choose where to move it".into(),
            field: Some("placement".into()),
        });
    }
    let request = ProcessMove { placement: placement_of(&placement), revision: None };
    Ok(sy().processes.move_process(&caller().await?, &id, request).await?)
}

/// Whether the process moves to another node when its node fails.
#[server]
pub async fn set_move_on_failure(id: String, enabled: bool) -> Result<Process, AppError> {
    let change = ProcessUpdate { move_on_failure: Some(enabled), ..Default::default() };
    Ok(sy().processes.update(&caller().await?, &id, change).await?)
}

#[server]
pub async fn suspend_process(id: String) -> Result<Process, AppError> {
    Ok(sy().processes.suspend(&caller().await?, &id).await?)
}

#[server]
pub async fn resume_process(id: String) -> Result<Process, AppError> {
    Ok(sy().processes.resume(&caller().await?, &id).await?)
}

/// Delete a process (it is TERMINATED until its swarm service is gone) and go back to the list.
#[server]
pub async fn delete_process(id: String) -> Result<(), AppError> {
    sy().processes.delete(&caller().await?, &id, None).await?;
    leptos_axum::redirect("/processes?deleted=1");
    Ok(())
}
