//! The connections' server functions: the editor's graph, one connection, the candidates for a
//! port, and connecting and terminating, each a thin call into the connection manager.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use switchyard_core::model::{Candidates, Connection, NewConnection, PendingChange, Process};

#[cfg(feature = "ssr")]
use super::MAX_PROCESSES;
#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::AppError;

/// One owner's processes and live connections: everything the editor draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionGraph {
    /// Oldest first (the layout follows creation order), without their state history.
    pub processes: Vec<Process>,
    /// How many processes the owner has (only the oldest 200 are drawn).
    pub process_total: u64,
    /// Not terminated, oldest first.
    pub connections: Vec<Connection>,
    /// Whose processes these are.
    pub owner_id: String,
}

/// The page's first load: the graph and, for administrators, the owners to choose from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionsPageData {
    pub graph: ConnectionGraph,
    /// (id, username) of every user; administrators only, empty for others.
    pub owners: Vec<(String, String)>,
}

/// One connection with its pending changes (newest first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionDetail {
    pub connection: Connection,
    pub changes: Vec<PendingChange>,
}

#[cfg(feature = "ssr")]
async fn load_graph(caller: &switchyard_core::managers::Caller, owner: String) -> Result<ConnectionGraph, AppError> {
    use switchyard_core::managers::{ConnectionFilter, ListParams, ProcessFilter};
    let sy = sy();
    // Connections only join processes of one owner: administrators look at one owner at a time,
    // their own unless they choose another.
    let owner_id = if caller.is_admin() && !owner.is_empty() { owner } else { caller.user.id.clone() };
    let params = ListParams { page: Some(1), per_page: Some(MAX_PROCESSES), sort: Some("created".into()) };
    let filter = ProcessFilter { user_id: Some(owner_id.clone()), ..Default::default() };
    let page = sy.processes.list(caller, &params, &filter).await?;
    let mut processes = page.items;
    for p in &mut processes {
        p.history.clear();
    }
    let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("created".into()) };
    let filter = ConnectionFilter { user_id: Some(owner_id.clone()), ..Default::default() };
    let connections = sy.connections.list(caller, &params, &filter).await?.items;
    Ok(ConnectionGraph { processes, process_total: page.total, connections, owner_id })
}

/// The page's first load.
#[server]
pub async fn open_connections(owner: String) -> Result<ConnectionsPageData, AppError> {
    use switchyard_core::managers::ListParams;
    let caller = caller().await?;
    let graph = load_graph(&caller, owner).await?;
    let owners = if caller.is_admin() {
        let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("username".into()) };
        sy().users.list(&caller, &params, None, None).await?.items.into_iter().map(|u| (u.id, u.username)).collect()
    } else {
        Vec::new()
    };
    Ok(ConnectionsPageData { graph, owners })
}

/// The graph again, for the live refresh.
#[server]
pub async fn refresh_connections(owner: String) -> Result<ConnectionGraph, AppError> {
    load_graph(&caller().await?, owner).await
}

#[server]
pub async fn get_connection(id: String) -> Result<ConnectionDetail, AppError> {
    let caller = caller().await?;
    let sy = sy();
    let connection = sy.connections.get(&caller, &id).await?;
    let changes = sy.connections.changes(&caller, &id).await?;
    Ok(ConnectionDetail { connection, changes })
}

/// What could connect to an interface; the form uses it for the catalogue's services.
#[server]
pub async fn connection_candidates(process_id: String, interface_id: String) -> Result<Candidates, AppError> {
    Ok(sy().connections.candidates(&caller().await?, &process_id, &interface_id).await?)
}

#[server(input = Json)]
pub async fn create_connection(new: NewConnection) -> Result<Connection, AppError> {
    Ok(sy().connections.create(&caller().await?, new).await?)
}

#[server]
pub async fn terminate_connection(id: String) -> Result<Connection, AppError> {
    Ok(sy().connections.terminate(&caller().await?, &id).await?)
}

/// One process's live connections, with the processes at their ends (for interface names and
/// which way data flows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessConnectionList {
    pub connections: Vec<Connection>,
    /// The process and its peers, without their state history.
    pub processes: Vec<Process>,
}

/// One process's live connections.
#[server]
pub async fn process_connections(process_id: String) -> Result<ProcessConnectionList, AppError> {
    use switchyard_core::managers::{ConnectionFilter, ListParams};
    let caller = caller().await?;
    // Someone else's process has no connections to show: it does not exist for the caller.
    let mut me = sy().processes.get(&caller, &process_id).await?;
    me.history.clear();
    let params = ListParams { page: Some(1), per_page: Some(200), sort: Some("created".into()) };
    let filter = ConnectionFilter { process_id: Some(process_id.clone()), ..Default::default() };
    let connections = sy().connections.list(&caller, &params, &filter).await?.items;
    let mut processes = vec![me];
    for c in &connections {
        for e in [&c.endpoint1, &c.endpoint2] {
            if processes.iter().any(|p| p.id == e.process_id) {
                continue;
            }
            // A peer being deleted may be gone already: its end keeps the name it had.
            if let Ok(mut p) = sy().processes.get(&caller, &e.process_id).await {
                p.history.clear();
                processes.push(p);
            }
        }
    }
    Ok(ProcessConnectionList { connections, processes })
}
