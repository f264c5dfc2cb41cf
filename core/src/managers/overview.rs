//! The overview ([`Overview`]) of one caller: their things by state (an administrator:
//! everyone's), what fails now, the nodes they may use, the last entries of the audit trail they
//! may read and the first-run checklist. One round of store queries run together: states are
//! counted on the store's projections, only the few failing records are read, and no process is
//! asked anything. The node list syncs with the swarm at most every few seconds, as on the node
//! page.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Caller, ConnectionRecord, ListParams, Switchyard};
use crate::{
    audit::AuditFilter,
    error::Result,
    model::{
        Checklist, ConnectionState, FailedChange, FailingProcess, NodeCapacity, NodeKind, NodePool, Overview,
        PendingChange, PendingChangeState, ProcessState, RecentChange, StateCounts,
    },
    store::{ProcessRecord, Query, UserRecord},
};

/// The pending-change states the overview counts: those still open.
const OPEN_CHANGES: [PendingChangeState; 4] = [
    PendingChangeState::Waiting,
    PendingChangeState::Running,
    PendingChangeState::Retrying,
    PendingChangeState::Failed,
];

/// A value as it is stored (the enums' serde names).
fn stored<T: Serialize>(value: T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

impl Switchyard {
    /// What the overview shows `caller`.
    pub async fn overview(&self, caller: &Caller) -> Result<Overview> {
        let admin = caller.is_admin();
        let me = caller.user.id.as_str();
        // The caller's own records; an administrator's: everyone's.
        let owned = |q: Query| if admin { q } else { q.eq("user_id", me) };
        let store = &self.store;

        let process_states: Vec<ProcessState> =
            ProcessState::ALL.into_iter().filter(|s| *s != ProcessState::Terminated).collect();
        let connection_states: Vec<ConnectionState> =
            ConnectionState::ALL.into_iter().filter(|s| *s != ConnectionState::Terminated).collect();

        let process_counts = futures::future::try_join_all(
            process_states.iter().map(|s| store.count::<ProcessRecord>(owned(Query::all().eq("state", s.as_str())))),
        );
        let connection_counts = futures::future::try_join_all(
            connection_states
                .iter()
                .map(|s| store.count::<ConnectionRecord>(owned(Query::all().eq("state", s.as_str())))),
        );
        let change_counts = futures::future::try_join_all(
            OPEN_CHANGES.iter().map(|s| store.count::<PendingChange>(owned(Query::all().eq("state", stored(s))))),
        );
        let failing_query = owned(Query::all().eq("state", ProcessState::Failed.as_str()))
            .sort("updated", true)
            .page(0, Overview::FAILING_SHOWN);
        let failing = store.list::<ProcessRecord>(&failing_query);
        let failed_query = owned(Query::all().eq("state", stored(PendingChangeState::Failed)))
            .sort("created", true)
            .page(0, Overview::FAILING_SHOWN);
        let failed = store.list::<PendingChange>(&failed_query);
        let nodes = self.nodes.list_nodes(caller, None);
        let all = Query::all();
        let pools = store.list::<NodePool>(&all);
        let recent_params = ListParams { page: Some(1), per_page: Some(Overview::RECENT_SHOWN), sort: None };
        let no_filter = AuditFilter::default();
        let recent = self.audit.list(caller, &no_filter, &recent_params);

        let (process_counts, connection_counts, change_counts, (failing, _), (failed, _), nodes, (pools, _), recent) =
            futures::try_join!(
                process_counts,
                connection_counts,
                change_counts,
                failing,
                failed,
                nodes,
                pools,
                recent
            )?;

        // The owners of private nodes, for administrators (a user's are their own).
        let owner_ids: BTreeSet<&str> = match admin {
            true => nodes.iter().filter(|n| n.kind == NodeKind::Private).filter_map(|n| n.user_id.as_deref()).collect(),
            false => BTreeSet::new(),
        };
        let owners: BTreeMap<String, String> = futures::future::try_join_all(
            owner_ids.iter().map(|id| async move { Ok::<_, crate::Error>((*id, store.get::<UserRecord>(id).await?)) }),
        )
        .await?
        .into_iter()
        .filter_map(|(id, user)| user.map(|u| (id.to_string(), u.user.username)))
        .collect();
        let pool_names: BTreeMap<String, String> = pools.into_iter().map(|p| (p.id, p.name)).collect();

        let counts = StateCounts {
            processes: process_states.into_iter().zip(process_counts).collect(),
            connections: connection_states.into_iter().zip(connection_counts).collect(),
            changes: OPEN_CHANGES.into_iter().zip(change_counts).collect(),
        };
        let nodes: Vec<NodeCapacity> = nodes
            .into_iter()
            .map(|n| NodeCapacity {
                pool: n
                    .node_pool_id
                    .as_ref()
                    .filter(|_| n.kind == NodeKind::Public)
                    .map(|p| pool_names.get(p).cloned().unwrap_or_else(|| p.clone())),
                owner: n
                    .user_id
                    .as_ref()
                    .filter(|_| admin && n.kind == NodeKind::Private)
                    .map(|u| owners.get(u).cloned().unwrap_or_else(|| u.clone())),
                id: n.id,
                name: n.name,
                kind: n.kind,
                status: n.status,
                processes: n.processes,
                nano_cpus: n.nano_cpus,
                memory_bytes: n.memory_bytes,
            })
            .collect();
        let checklist = Checklist {
            usable_node: nodes.iter().any(NodeCapacity::usable),
            deployed: counts.process_total() > 0,
            connected: counts.connection_total() > 0,
        };
        Ok(Overview {
            admin,
            failing_processes: failing
                .into_iter()
                .map(|r| FailingProcess {
                    id: r.process.id,
                    name: r.process.name,
                    service_id: r.process.service_id,
                    reason: r.process.state_reason,
                    since: r.process.updated,
                })
                .collect(),
            failed_changes: failed
                .into_iter()
                .map(|c| FailedChange {
                    at: c.finished.unwrap_or(c.created),
                    id: c.id,
                    description: c.description,
                    last_error: c.last_error,
                    attempts: c.attempts,
                })
                .collect(),
            recent: recent
                .items
                .into_iter()
                .map(|e| RecentChange {
                    process_id: e
                        .resources
                        .iter()
                        .find(|r| r.kind == "process" && r.change != "deleted")
                        .map(|r| r.id.clone()),
                    who: e.actor.username.clone().unwrap_or_else(|| e.actor.kind.clone()),
                    id: e.id,
                    at: e.at,
                    summary: e.summary,
                    ok: e.outcome.ok,
                })
                .collect(),
            counts,
            nodes,
            checklist,
        })
    }
}
