//! Connections: Switchyard alone links an interface of one process to an interface of another,
//! and only when they fit (`model::check_fit`). What each process is told goes through pending
//! changes, so it survives restarts of Switchyard and of the processes:
//!
//! * `connect_endpoint` sends `ConnectionMessage{CREATE}` (or `RESUME` to the side that
//!   stayed up while the other was suspended) to one side, only once that process is RUNNING;
//!   a side restarted since it accepted the connection gets it again;
//! * `suspend_endpoint` tells the side that stays up that its peer is suspended;
//! * `terminate_endpoint` sends `TERMINATE`; it is queued behind the process's earlier changes
//!   and ahead of its deletion, and completes when the process is gone.
//!
//! The connection's state follows from its two processes (level-triggered, see [`refresh`]):
//! CONNECTED when both run and accepted it in their current container, INTERRUPTED when one
//! stopped unexpectedly, SUSPENDED when one is suspended, back to CONNECTED with no user action.
//!
//! Read top-down: this file holds the record, the manager and what callers ask; then [`follow`]
//! (keeping connections in line with their processes, auto-connect, the process hooks) and
//! [`runners`] (the pending changes, which tell processes through the anchor).
//!
//! [`refresh`]: ConnectionManager::refresh

mod follow;
mod runners;

use std::{collections::HashSet, sync::Arc, time::Duration};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use switchyard_protocol::connection::{connection_message::ModeType, ConnectionMessage};

use super::{
    anchor::{Anchor, Told},
    listing::ListParams,
    processes::ProcessManager,
    services::ServiceManager,
    Caller,
};
use crate::{
    changes::{ChangeEngine, NewChange, Outcome},
    error::{Error, Result},
    model::{
        check_fit, choose_versions, Candidate, Candidates, ChangeKind, Connection, ConnectionState, Endpoint,
        NewConnection, Page, PendingChange, Process, ProcessState, Refusal,
    },
    store::{new_id, CollectionSpec, Entity, Mirror, ProcessRecord, Query, Store},
    validate,
};

/// A connection with what the server tracks about its two sides.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConnectionRecord {
    #[serde(flatten)]
    pub connection: Connection,
    /// Both process ids, for lookups by process.
    pub process_ids: Vec<String>,
    /// Per side: the container (swarm task) of the process that accepted the connection.
    #[serde(default)]
    pub accepted: [Option<String>; 2],
    /// Per side: it was told of its peer's suspension (and must be resumed).
    #[serde(default)]
    pub told_suspended: [bool; 2],
    /// Per side: it was told to terminate (or is gone).
    #[serde(default)]
    pub terminated: [bool; 2],
    /// Why it is being terminated (its reason once TERMINATED).
    #[serde(default)]
    pub ending: Option<String>,
    /// Per side: the interface version this side uses changed (its peer was upgraded), so it
    /// is told to end the connection and make it again with the new version's hashes (a RESUME
    /// keeps the old ones).
    #[serde(default)]
    pub renegotiate: [bool; 2],
}

impl Entity for ConnectionRecord {
    const COLLECTION: CollectionSpec = CollectionSpec {
        name: "connections",
        noun: "connection",
        unique: &[],
        indexed: &["user_id", "state", "created", "process_ids"],
        projected: &[],
    };
}

impl ConnectionRecord {
    fn endpoint(&self, side: usize) -> &Endpoint {
        if side == 0 {
            &self.connection.endpoint1
        } else {
            &self.connection.endpoint2
        }
    }
}

/// Which connections to list.
#[derive(Clone, Debug, Default)]
pub struct ConnectionFilter {
    /// Administrators: only this user's.
    pub user_id: Option<String>,
    /// Only those of this process.
    pub process_id: Option<String>,
    pub state: Option<ConnectionState>,
    /// Also those terminated recently (they are kept for an hour).
    pub include_terminated: bool,
}

/// How long terminated connections stay visible.
const KEEP_TERMINATED: Duration = Duration::from_secs(3600);

struct Inner {
    store: Store,
    engine: ChangeEngine,
    processes: ProcessManager,
    services: ServiceManager,
    /// How processes are told of their connections.
    anchor: Anchor,
    /// Serialises the check-then-insert of new connections, so two requests cannot both pass
    /// a cardinality rule that only one of them may use.
    create_lock: tokio::sync::Mutex<()>,
    /// Every connection's record, in memory: what the reconciler looks at every round.
    records: Mirror<ConnectionRecord>,
}

#[derive(Clone)]
pub struct ConnectionManager(Arc<Inner>);

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct SidePayload {
    side: usize,
}

impl ConnectionManager {
    /// The in-memory copy of every connection's record [`ConnectionManager::new`] takes; it must
    /// observe the store the managers write through.
    pub fn mirror() -> Mirror<ConnectionRecord> {
        Mirror::new()
    }

    pub fn new(
        store: Store,
        engine: ChangeEngine,
        processes: ProcessManager,
        services: ServiceManager,
        anchor: Anchor,
        records: Mirror<ConnectionRecord>,
    ) -> Self {
        let manager = Self(Arc::new(Inner {
            store,
            engine,
            processes: processes.clone(),
            services,
            anchor,
            create_lock: tokio::sync::Mutex::new(()),
            records,
        }));
        processes.set_hooks(Arc::new(manager.clone()));
        manager
    }

    pub async fn list(
        &self,
        caller: &Caller,
        params: &ListParams,
        filter: &ConnectionFilter,
    ) -> Result<Page<Connection>> {
        let (query, page, per_page) = params.to_query(&["created", "updated", "state"], "created")?;
        let mut query = super::listing::scope_to_owner(caller, filter.user_id.as_deref(), query, "connections")?;
        if let Some(process) = &filter.process_id {
            validate::id("process", process)?;
            query = query.has("process_ids", process.as_str());
        }
        match filter.state {
            Some(state) => query = query.eq("state", state.as_str()),
            None if !filter.include_terminated => query = query.ne("state", ConnectionState::Terminated.as_str()),
            None => {}
        }
        let (records, total) = self.0.store.list::<ConnectionRecord>(&query).await?;
        Ok(Page { items: records.into_iter().map(|r| r.connection).collect(), total, page, per_page })
    }

    async fn record_for(&self, caller: &Caller, id: &str) -> Result<ConnectionRecord> {
        validate::id("connection", id)?;
        let record: ConnectionRecord = self.0.store.fetch(id).await?;
        if !caller.is_admin() && record.connection.user_id != caller.user.id {
            return Err(Error::NotFound(format!("no connection with id '{id}'")));
        }
        Ok(record)
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Connection> {
        Ok(self.record_for(caller, id).await?.connection)
    }

    /// The pending changes of one connection, newest first.
    pub async fn changes(&self, caller: &Caller, id: &str) -> Result<Vec<PendingChange>> {
        self.record_for(caller, id).await?;
        self.0.engine.of_resource(id).await
    }

    /// A process the caller may connect.
    async fn process_for(&self, caller: &Caller, field: &str, id: &str) -> Result<Process> {
        if id.is_empty() {
            return Err(Error::invalid(field, "a process id is required"));
        }
        validate::id("process", id).map_err(|e| Error::invalid(field, e.to_string()))?;
        match self.0.processes.get(caller, id).await {
            Ok(p) => Ok(p),
            Err(Error::NotFound(m)) => Err(Error::Invalid { field: Some(field.into()), message: m }),
            Err(e) => Err(e),
        }
    }

    /// The live connections of these processes.
    async fn live_of(&self, process_ids: &[&str]) -> Result<Vec<ConnectionRecord>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for id in process_ids {
            let (records, _) = self.0.store.list::<ConnectionRecord>(&Query::all().has("process_ids", *id)).await?;
            for r in records {
                if r.connection.is_live() && seen.insert(r.connection.id.clone()) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    /// Connect two interfaces, if they fit and no cardinality rule is broken. The connection is
    /// saved STARTING; each process is told once it runs.
    pub async fn create(&self, caller: &Caller, new: NewConnection) -> Result<Connection> {
        self.create_as(caller, new, None).await
    }

    /// As [`ConnectionManager::create`], with the new connection's id chosen by the caller (a
    /// deployment step, which must find what it made when it runs again).
    pub async fn create_as(&self, caller: &Caller, new: NewConnection, id: Option<String>) -> Result<Connection> {
        let a = self.process_for(caller, "endpoint1.process_id", &new.endpoint1.process_id).await?;
        let b = self.process_for(caller, "endpoint2.process_id", &new.endpoint2.process_id).await?;
        for (field, value) in [
            ("endpoint1.interface_id", &new.endpoint1.interface_id),
            ("endpoint2.interface_id", &new.endpoint2.interface_id),
        ] {
            if value.trim().is_empty() {
                return Err(Error::invalid(field, "an interface id is required"));
            }
        }
        self.connect(a, &new.endpoint1.interface_id, b, &new.endpoint2.interface_id, false, id).await
    }

    async fn connect(
        &self,
        a: Process,
        ia: &str,
        b: Process,
        ib: &str,
        automatic: bool,
        id: Option<String>,
    ) -> Result<Connection> {
        let _guard = self.0.create_lock.lock().await;
        let existing = self.live_of(&[&a.id, &b.id]).await?;
        let connections: Vec<Connection> = existing.iter().map(|r| r.connection.clone()).collect();
        let (v1, v2) = check_fit(&a, ia, &b, ib, &connections).map_err(refusal_error)?;
        // One port per connection; neither process may use it for another live connection.
        let used: HashSet<u16> = connections.iter().map(|c| c.port).collect();
        let port = loop {
            let candidate = 5000 + (rand::random::<u16>() % 5000);
            if !used.contains(&candidate) {
                break candidate;
            }
        };
        let now = Utc::now();
        let connection = Connection {
            id: id.unwrap_or_else(new_id),
            user_id: a.user_id.clone(),
            endpoint1: Endpoint {
                process_id: a.id.clone(),
                interface_id: ia.to_string(),
                interface_version_name: Some(v1),
                process_name: a.name.clone(),
            },
            endpoint2: Endpoint {
                process_id: b.id.clone(),
                interface_id: ib.to_string(),
                interface_version_name: Some(v2),
                process_name: b.name.clone(),
            },
            port,
            state: ConnectionState::Starting,
            state_reason: Some(waiting_reason(&a, &b)),
            terminating: false,
            created: now,
            updated: now,
            revision: 0,
        };
        let record = ConnectionRecord {
            process_ids: vec![a.id.clone(), b.id.clone()],
            connection,
            accepted: [None, None],
            told_suspended: [false, false],
            terminated: [false, false],
            ending: None,
            renegotiate: [false, false],
        };
        let record = self.0.store.insert(&record).await?;
        let how = if automatic { "Auto-connect" } else { "Connect" };
        for side in 0..2 {
            let (me, peer) = if side == 0 { (&a, &b) } else { (&b, &a) };
            let iface = if side == 0 { ia } else { ib };
            self.submit_side(
                &record,
                ChangeKind::ConnectEndpoint,
                side,
                format!("{how} '{}' ({iface}) to '{}'", me.name, peer.name),
            )
            .await?;
        }
        tracing::info!(connection = %record.connection.id, a = %a.id, b = %b.id, "connection requested");
        Ok(record.connection)
    }

    async fn submit_side(
        &self,
        record: &ConnectionRecord,
        kind: ChangeKind,
        side: usize,
        description: String,
    ) -> Result<()> {
        let c = &record.connection;
        let mut change = NewChange::new(kind, &c.user_id, &c.id, description)
            .payload(serde_json::to_value(SidePayload { side }).unwrap_or_default());
        change.resources.push(side_resource(&c.id, side));
        if kind == ChangeKind::TerminateEndpoint {
            // Queued with the process's own changes: after what is already asked of it, before
            // its deletion.
            change.resources.push(record.endpoint(side).process_id.clone());
        }
        self.0.engine.submit(change).await?;
        Ok(())
    }

    /// End a connection: both processes are told, then it is TERMINATED.
    pub async fn terminate(&self, caller: &Caller, id: &str) -> Result<Connection> {
        let record = self.record_for(caller, id).await?;
        if record.connection.terminating || record.connection.state == ConnectionState::Terminated {
            return Ok(record.connection);
        }
        self.terminate_record(record, "terminated by its owner").await
    }

    async fn terminate_record(&self, record: ConnectionRecord, why: &str) -> Result<Connection> {
        let id = record.connection.id.clone();
        // Connecting it any further is moot.
        self.0.engine.cancel_waiting(&id, &[ChangeKind::TerminateEndpoint]).await?;
        let now = Utc::now();
        let updated = self
            .0
            .store
            .modify::<ConnectionRecord>(&id, |r| {
                r.connection.terminating = true;
                r.connection.state_reason = Some(format!("{why}; telling both processes"));
                r.ending = Some(why.to_string());
                r.connection.updated = now;
                Ok(())
            })
            .await?;
        for side in 0..2 {
            if !updated.terminated[side] {
                let e = updated.endpoint(side);
                self.submit_side(
                    &updated,
                    ChangeKind::TerminateEndpoint,
                    side,
                    format!("Terminate the connection of '{}' ({})", e.process_name, e.interface_id),
                )
                .await?;
            }
        }
        Ok(updated.connection)
    }

    /// What could connect to this interface: the owner's other processes and the catalogue's
    /// services, each with whether it fits and why not.
    pub async fn candidates(&self, caller: &Caller, process_id: &str, interface_id: &str) -> Result<Candidates> {
        let p = self.process_for(caller, "process_id", process_id).await?;
        let Some(iface) = p.interfaces.iter().find(|i| i.id == interface_id).cloned() else {
            return Err(Error::NotFound(format!("process '{}' has no interface '{interface_id}'", p.name)));
        };
        let (others, _) = self
            .0
            .store
            .list::<ProcessRecord>(&Query::all().eq("user_id", p.user_id.as_str()).sort("created", false))
            .await?;
        let others: Vec<Process> = others.into_iter().map(|r| r.process).filter(|o| o.id != p.id).collect();
        let ids: Vec<&str> = std::iter::once(p.id.as_str()).chain(others.iter().map(|o| o.id.as_str())).collect();
        let connections: Vec<Connection> = self.live_of(&ids).await?.into_iter().map(|r| r.connection).collect();
        let mut processes = Vec::new();
        for o in &others {
            for oi in &o.interfaces {
                let fit = check_fit(&p, interface_id, o, &oi.id, &connections);
                processes.push(Candidate {
                    process_id: Some(o.id.clone()),
                    process_name: Some(o.name.clone()),
                    service_id: o.service_id.clone(),
                    service_version: Some(o.service_version.clone()),
                    interface_id: oi.id.clone(),
                    interface_name: oi.name.clone(),
                    fits: fit.is_ok(),
                    version: fit.as_ref().ok().map(|v| v.0.clone()),
                    candidate_version: fit.as_ref().ok().map(|v| v.1.clone()),
                    refusal: fit.err(),
                });
            }
        }
        let mut services = Vec::new();
        let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("name".into()) };
        if let Ok((page, _)) = self.0.services.list(&params, None).await {
            for s in page.items {
                for si in &s.interfaces {
                    let fit = choose_versions(&iface, si);
                    services.push(Candidate {
                        process_id: None,
                        process_name: None,
                        service_id: s.id.clone(),
                        service_version: Some(s.version.clone()),
                        interface_id: si.id.clone(),
                        interface_name: si.name.clone(),
                        fits: fit.is_some(),
                        version: fit.map(|(x, _)| x.version_name.clone()),
                        candidate_version: fit.map(|(_, y)| y.version_name.clone()),
                        refusal: fit.is_none().then(|| Refusal::Incompatible {
                            message: format!(
                                "interface '{}' of service {} {} does not fit interface '{}': no version of one sends \
                                 what a version of the other receives and receives what it sends",
                                si.name, s.id, s.version, iface.name
                            ),
                        }),
                    });
                }
            }
        }
        Ok(Candidates { process_id: p.id, interface_id: interface_id.to_string(), processes, services })
    }
}

/// The version names a connection's two sides use once the process on `side` has
/// `interfaces` (an upgrade), and whether the other side's changes; `Err` with why when the
/// two no longer fit.
pub(crate) fn renegotiate(
    c: &Connection,
    side: usize,
    interfaces: &[crate::model::Interface],
    peer: &Process,
) -> std::result::Result<(Option<String>, Option<String>, bool), String> {
    let (me_ep, peer_ep) = if side == 0 { (&c.endpoint1, &c.endpoint2) } else { (&c.endpoint2, &c.endpoint1) };
    let Some(mine) = interfaces.iter().find(|i| i.id == me_ep.interface_id) else {
        return Err(format!(
            "the connection to '{}' uses interface '{}', which the new version does not have",
            peer.name, me_ep.interface_id
        ));
    };
    let Some(theirs) = peer.interfaces.iter().find(|i| i.id == peer_ep.interface_id) else {
        return Err(format!("process '{}' has no interface '{}'", peer.name, peer_ep.interface_id));
    };
    match choose_versions(mine, theirs) {
        Some((v_me, v_peer)) => {
            let peer_changed = peer_ep.interface_version_name.as_deref() != Some(v_peer.version_name.as_str());
            Ok((Some(v_me.version_name.clone()), Some(v_peer.version_name.clone()), peer_changed))
        }
        None => Err(format!(
            "the connection to '{}' ({}) would have no interface version the two sides share",
            peer.name, peer_ep.interface_id
        )),
    }
}

fn side_resource(id: &str, side: usize) -> String {
    format!("{id}:{}", side + 1)
}

fn mode_only(mode: ModeType, id: &str) -> ConnectionMessage {
    ConnectionMessage { mode: mode as i32, connection_id: id.to_string(), ..Default::default() }
}

fn waiting_reason(a: &Process, b: &Process) -> String {
    let waiting: Vec<String> = [a, b]
        .iter()
        .filter(|p| p.state != ProcessState::Running)
        .map(|p| format!("'{}' ({})", p.name, p.state))
        .collect();
    if waiting.is_empty() {
        "telling both processes".into()
    } else {
        format!("waiting for {} to run", waiting.join(" and "))
    }
}

/// A connection's state, from its processes and what they accepted.
fn derive_state(record: &ConnectionRecord, procs: [&ProcessRecord; 2]) -> (ConnectionState, Option<String>) {
    let c = &record.connection;
    let was_up = c.state != ConnectionState::Starting || record.accepted.iter().any(Option::is_some);
    if let Some(p) = procs.iter().find(|p| p.process.state == ProcessState::Suspended) {
        return (ConnectionState::Suspended, Some(format!("process '{}' is suspended", p.process.name)));
    }
    let current = |side: usize| {
        procs[side].process.state == ProcessState::Running
            && record.accepted[side].is_some()
            && record.accepted[side] == procs[side].task_id
    };
    if current(0) && current(1) {
        return (ConnectionState::Connected, None);
    }
    let down: Vec<&ProcessRecord> =
        procs.iter().copied().filter(|p| p.process.state != ProcessState::Running).collect();
    if was_up && (c.state != ConnectionState::Starting) {
        let reason = match down.first() {
            Some(p) => format!(
                "process '{}' is {}{}; the connection resumes when it runs again",
                p.process.name,
                p.process.state,
                p.process.state_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            ),
            None => "reconnecting a restarted process".to_string(),
        };
        return (ConnectionState::Interrupted, Some(reason));
    }
    let reason = if down.is_empty() {
        "telling both processes".to_string()
    } else {
        format!(
            "waiting for {} to run",
            down.iter()
                .map(|p| format!("'{}' ({})", p.process.name, p.process.state))
                .collect::<Vec<_>>()
                .join(" and ")
        )
    };
    (ConnectionState::Starting, Some(reason))
}

/// A refusal as the error the API returns: 422 for what can never fit, 409 for what collides
/// with connections that exist or a process that is ending.
fn refusal_error(r: Refusal) -> Error {
    let message = r.message().to_string();
    match r {
        Refusal::SameProcess { .. } => Error::invalid("endpoint2.process_id", message),
        Refusal::DifferentOwners { .. } => Error::invalid("endpoint2.process_id", message),
        Refusal::UnknownInterface { .. } => Error::invalid("interface_id", message),
        Refusal::Incompatible { .. } => Error::invalid("endpoint2.interface_id", message),
        Refusal::ProcessEnding { .. } | Refusal::AlreadyConnected { .. } | Refusal::OnlyOneConnection { .. } => {
            Error::Conflict(message)
        }
    }
}
