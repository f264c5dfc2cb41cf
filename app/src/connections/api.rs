//! The connections' server functions: the editor's graph, one connection, the candidates for a
//! port, and connecting and terminating, each a thin call into the connection manager.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use switchyard_core::model::{Candidates, Connection, Interface, NewConnection, PendingChange, Process, ProcessState};

#[cfg(feature = "ssr")]
use super::MAX_PROCESSES;
#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::AppError;

/// One owner's processes and live connections: everything the editor draws.
///
/// On the wire as [`GraphWire`]: only what the editor uses of each process, and each service
/// version's interfaces once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "GraphWire", from = "GraphWire")]
pub struct ConnectionGraph {
    /// Oldest first (the layout follows creation order), with what the editor uses of them:
    /// identity, service, state, interfaces (the rest is left at [`Process::blank`]'s values).
    pub processes: Vec<Process>,
    /// How many processes the owner has (the editor takes the oldest 1 000).
    pub process_total: u64,
    /// Not terminated, oldest first.
    pub connections: Vec<Connection>,
    /// Whose processes these are.
    pub owner_id: String,
}

/// The graph as it is sent: the page embeds it, so at hundreds of processes every byte counts
/// (200 whole processes with their interfaces' hashes repeated came to 470 KB of a 1.5 MB page).
#[derive(Clone, Serialize, Deserialize)]
struct GraphWire {
    /// The interfaces of each service version drawn, once: every process of a service version
    /// declares the same.
    interfaces: Vec<Vec<Interface>>,
    processes: Vec<ProcessWire>,
    process_total: u64,
    connections: Vec<Connection>,
    owner_id: String,
}

#[derive(Clone, Serialize, Deserialize)]
struct ProcessWire {
    id: String,
    name: String,
    service_id: String,
    service_version: String,
    state: ProcessState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state_reason: Option<String>,
    revision: u64,
    /// Index into [`GraphWire::interfaces`].
    interfaces: usize,
}

impl From<ConnectionGraph> for GraphWire {
    fn from(g: ConnectionGraph) -> Self {
        let mut interfaces: Vec<Vec<Interface>> = Vec::new();
        let processes = g
            .processes
            .into_iter()
            .map(|p| {
                let at = match interfaces.iter().position(|i| *i == p.interfaces) {
                    Some(at) => at,
                    None => {
                        interfaces.push(p.interfaces);
                        interfaces.len() - 1
                    }
                };
                ProcessWire {
                    id: p.id,
                    name: p.name,
                    service_id: p.service_id,
                    service_version: p.service_version,
                    state: p.state,
                    state_reason: p.state_reason,
                    revision: p.revision,
                    interfaces: at,
                }
            })
            .collect();
        GraphWire {
            interfaces,
            processes,
            process_total: g.process_total,
            connections: g.connections,
            owner_id: g.owner_id,
        }
    }
}

impl From<GraphWire> for ConnectionGraph {
    fn from(w: GraphWire) -> Self {
        let processes = w
            .processes
            .into_iter()
            .map(|p| Process {
                state: p.state,
                state_reason: p.state_reason,
                revision: p.revision,
                interfaces: w.interfaces.get(p.interfaces).cloned().unwrap_or_default(),
                ..Process::blank(&p.id, &p.name, &w.owner_id, &p.service_id, &p.service_version)
            })
            .collect();
        ConnectionGraph { processes, process_total: w.process_total, connections: w.connections, owner_id: w.owner_id }
    }
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
    // Only what the editor uses travels (see GraphWire).
    let processes = page.items;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::geometry::tests::{iface, process};

    #[test]
    fn the_graph_travels_with_each_service_versions_interfaces_once() {
        let mut a = process("a", "sensor A", vec![iface("sensor", "T", "none", true)]);
        a.user_id = "u1".into();
        a.environment = vec![switchyard_core::model::ConfigEntry { key: "SECRET".into(), value: "x".into() }];
        let mut b = process("b", "sensor B", vec![iface("sensor", "T", "none", true)]);
        b.user_id = "u1".into();
        let mut c = process("c", "counter", vec![iface("counter", "none", "T", false)]);
        c.user_id = "u1".into();
        c.state_reason = Some("waiting".into());
        let g = ConnectionGraph {
            processes: vec![a.clone(), b.clone(), c.clone()],
            process_total: 3,
            connections: vec![],
            owner_id: "u1".into(),
        };
        let text = serde_json::to_string(&g).unwrap();
        assert_eq!(text.matches("sensor/temperature").count(), 1, "{text}");
        assert!(!text.contains("SECRET"), "only what the editor uses: {text}");
        let back: ConnectionGraph = serde_json::from_str(&text).unwrap();
        assert_eq!(back.process_total, 3);
        for (got, want) in back.processes.iter().zip([&a, &b, &c]) {
            assert_eq!(
                (&got.id, &got.name, &got.user_id, &got.service_id, &got.service_version),
                (&want.id, &want.name, &want.user_id, &want.service_id, &want.service_version)
            );
            assert_eq!((got.state, &got.state_reason, got.revision), (want.state, &want.state_reason, want.revision));
            assert_eq!(got.interfaces, want.interfaces);
            assert!(got.environment.is_empty());
        }
        // What the editor compares on each refresh survives the trip.
        assert_eq!(serde_json::from_str::<ConnectionGraph>(&serde_json::to_string(&back).unwrap()).unwrap(), back);
    }
}
