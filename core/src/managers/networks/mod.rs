//! Networks as documents: export a user's network, plan a document against it (every step
//! checked as the real operation would check it; nothing changes), apply a plan as one
//! deployment, and keep every deployment as a revision to diff and roll back to.
//!
//! A deployment is a record with its steps and a pending change (`apply_deployment`) that walks
//! them: each step is launched through the same manager operation a request would use, then
//! followed until it took effect (a process running, a connection connected). The ids of what a
//! step makes are chosen before it is launched and saved with it, so a step run again after a
//! restart finds what the first run made: each happens once.
//!
//! Read top-down: this file holds the manager, export and history; then [`plan`] (from a
//! document to steps) and [`apply`] (the deployment and its runner).

mod apply;
mod plan;

use std::{collections::BTreeMap, sync::Arc};

use super::{Caller, ConnectionManager, ListParams, ProcessManager, ServiceManager};
use crate::{
    changes::ChangeEngine,
    error::{Error, Result},
    model::{
        diff_documents, ConnectionSpec, Deployment, DocumentChange, EndpointSpec, NetworkDocument, Node, NodePool,
        Page, Placement, PlacementSpec, Plan, Process, ProcessSpec, ProcessState, Scope, User,
    },
    store::{CollectionSpec, Entity, ProcessRecord, Query, Store, UserRecord},
    validate,
};

use super::ConnectionRecord;

impl Entity for Plan {
    const COLLECTION: CollectionSpec =
        CollectionSpec { name: "plans", noun: "plan", unique: &[], indexed: &[], projected: &[] };
}

impl Entity for Deployment {
    const COLLECTION: CollectionSpec =
        CollectionSpec { name: "deployments", noun: "deployment", unique: &[], indexed: &[], projected: &[] };
}

/// How long a plan that was never applied is kept.
const KEEP_PLANS: chrono::Duration = chrono::Duration::hours(24);

struct Inner {
    store: Store,
    engine: ChangeEngine,
    processes: ProcessManager,
    connections: ConnectionManager,
    services: ServiceManager,
    /// One apply at a time: the staleness check, the revision number and the start of the
    /// deployment are one step.
    apply_lock: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
pub struct NetworkManager(Arc<Inner>);

/// A user's network as it is: their processes (not being deleted) and live connections.
pub(crate) struct Current {
    pub processes: Vec<Process>,
    pub connections: Vec<crate::model::Connection>,
    pub nodes: Vec<Node>,
    pub pools: Vec<NodePool>,
}

impl Current {
    /// A process's place in a document.
    fn placement_spec(&self, placement: &Placement) -> PlacementSpec {
        match placement {
            Placement::Automatic => PlacementSpec::Automatic,
            Placement::PrivateNode { node_id } => PlacementSpec::Node(
                self.nodes.iter().find(|n| &n.id == node_id).map(|n| n.name.clone()).unwrap_or_else(|| node_id.clone()),
            ),
            Placement::NodePool { pool_id } => PlacementSpec::Pool(
                self.pools.iter().find(|p| &p.id == pool_id).map(|p| p.name.clone()).unwrap_or_else(|| pool_id.clone()),
            ),
        }
    }

    /// A process as a document gives it.
    pub fn spec_of(&self, p: &Process) -> ProcessSpec {
        ProcessSpec {
            name: p.name.clone(),
            service: p.service_id.clone(),
            version: Some(p.service_version.clone()),
            parameters: p.parameters.iter().map(|e| (e.key.clone(), e.value.clone())).collect(),
            environment: p.environment.iter().map(|e| (e.key.clone(), e.value.clone())).collect(),
            placement: self.placement_spec(&p.placement),
            limits: p.limits.clone(),
            move_on_failure: p.move_on_failure,
        }
    }

    /// The document of `processes` (in this order) and the live connections between them.
    pub fn document(&self, processes: &[&Process], scope: Scope) -> NetworkDocument {
        let names: BTreeMap<&str, &str> = processes.iter().map(|p| (p.id.as_str(), p.name.as_str())).collect();
        let mut connections: Vec<ConnectionSpec> = self
            .connections
            .iter()
            .filter_map(|c| {
                let a = names.get(c.endpoint1.process_id.as_str())?;
                let b = names.get(c.endpoint2.process_id.as_str())?;
                Some(ConnectionSpec {
                    endpoints: vec![
                        EndpointSpec { process: a.to_string(), interface: c.endpoint1.interface_id.clone() },
                        EndpointSpec { process: b.to_string(), interface: c.endpoint2.interface_id.clone() },
                    ],
                })
            })
            .collect();
        connections.sort_by_key(|c| c.key());
        NetworkDocument {
            version: crate::model::DOCUMENT_VERSION,
            user: None,
            scope,
            processes: processes.iter().map(|p| self.spec_of(p)).collect(),
            connections,
        }
    }
}

impl NetworkManager {
    pub fn new(
        store: Store,
        engine: ChangeEngine,
        processes: ProcessManager,
        connections: ConnectionManager,
        services: ServiceManager,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            engine,
            processes,
            connections,
            services,
            apply_lock: tokio::sync::Mutex::new(()),
        }))
    }

    /// Whose network a request is about: the caller's, or (administrators only) the user named.
    pub(crate) async fn owner(&self, caller: &Caller, username: Option<&str>) -> Result<User> {
        match username.map(str::trim).filter(|u| !u.is_empty()) {
            None => Ok(caller.user.clone()),
            Some(u) if u == caller.user.username || u == caller.user.id => Ok(caller.user.clone()),
            Some(u) => {
                caller.require_admin().map_err(|_| {
                    Error::Forbidden(format!("only administrators may plan or export another user's network ('{u}')"))
                })?;
                let by_name = self.0.store.find_one::<UserRecord>("username", u).await?;
                let record = match by_name {
                    Some(r) => Some(r),
                    None if validate::id("user", u).is_ok() => self.0.store.get::<UserRecord>(u).await?,
                    None => None,
                };
                record.map(|r| r.user).ok_or_else(|| Error::invalid("user", format!("no user '{u}'")))
            }
        }
    }

    /// The owner's network as it is now.
    pub(crate) async fn current(&self, owner: &User) -> Result<Current> {
        let (records, _) = self
            .0
            .store
            .list::<ProcessRecord>(&Query::all().eq("user_id", owner.id.as_str()).sort("created", false))
            .await?;
        let processes: Vec<Process> =
            records.into_iter().map(|r| r.process).filter(|p| p.state != ProcessState::Terminated).collect();
        let (connections, _) =
            self.0.store.list::<ConnectionRecord>(&Query::all().eq("user_id", owner.id.as_str())).await?;
        let connections = connections.into_iter().map(|r| r.connection).filter(|c| c.is_live()).collect();
        let (nodes, _) = self.0.store.list::<Node>(&Query::all()).await?;
        let (pools, _) = self.0.store.list::<NodePool>(&Query::all()).await?;
        Ok(Current { processes, connections, nodes, pools })
    }

    /// A user's network as a document: all of it, or the processes named (by name or id) and the
    /// connections between them (`scope: listed`).
    pub async fn export(
        &self,
        caller: &Caller,
        username: Option<&str>,
        only: Option<&[String]>,
    ) -> Result<NetworkDocument> {
        let owner = self.owner(caller, username).await?;
        let current = self.current(&owner).await?;
        let (chosen, scope): (Vec<&Process>, Scope) = match only.filter(|o| !o.is_empty()) {
            None => (current.processes.iter().collect(), Scope::Network),
            Some(only) => {
                let mut chosen = Vec::new();
                for wanted in only {
                    let found: Vec<&Process> =
                        current.processes.iter().filter(|p| &p.name == wanted || &p.id == wanted).collect();
                    if found.is_empty() {
                        return Err(Error::invalid("process", format!("no process named '{wanted}' in this network")));
                    }
                    chosen.extend(found);
                }
                chosen.sort_by_key(|p| p.created);
                chosen.dedup_by_key(|p| p.id.clone());
                (chosen, Scope::Listed)
            }
        };
        let mut doc = current.document(&chosen, scope);
        if owner.id != caller.user.id {
            doc.user = Some(owner.username.clone());
        }
        Ok(doc)
    }

    /// The plan, if the caller may see it.
    pub async fn get_plan(&self, caller: &Caller, id: &str) -> Result<Plan> {
        validate::id("plan", id)?;
        let plan: Plan = self.0.store.fetch(id).await?;
        caller.require_owner_or_admin(&plan.user_id, "plan", id)?;
        Ok(plan)
    }

    /// The revisions of a user's network (its deployments), newest first.
    pub async fn deployments(
        &self,
        caller: &Caller,
        params: &ListParams,
        user_id: Option<&str>,
    ) -> Result<Page<Deployment>> {
        let (query, page, per_page) = params.to_query(&["created", "number", "state"], "-created")?;
        let query = super::listing::scope_to_owner(caller, user_id, query, "deployments")?;
        let (items, total) = self.0.store.list::<Deployment>(&query).await?;
        Ok(Page { items, total, page, per_page })
    }

    pub async fn deployment(&self, caller: &Caller, id: &str) -> Result<Deployment> {
        validate::id("deployment", id)?;
        let d: Deployment = self.0.store.fetch(id).await?;
        caller.require_owner_or_admin(&d.user_id, "deployment", id)?;
        Ok(d)
    }

    /// What deployment `to` changes compared with deployment `from` (their documents).
    pub async fn diff(&self, caller: &Caller, from: &str, to: &str) -> Result<Vec<DocumentChange>> {
        let a = self.deployment(caller, from).await?;
        let b = self.deployment(caller, to).await?;
        Ok(diff_documents(&a.document, &b.document))
    }

    /// Roll back to a revision: plan its document again (`before`: the network as it was before
    /// that deployment). Apply the plan as any other.
    pub async fn rollback(&self, caller: &Caller, id: &str, before: bool) -> Result<Plan> {
        let d = self.deployment(caller, id).await?;
        let mut doc = if before { d.before.clone() } else { d.document.clone() };
        // The revision's own scope: a listed document restores the processes it lists.
        if before {
            doc.scope = d.document.scope;
        }
        if d.user_id != caller.user.id {
            let owner: User = self.0.store.fetch::<UserRecord>(&d.user_id).await?.user;
            doc.user = Some(owner.username);
        }
        self.plan_restoring(caller, doc, Some(d.id.clone())).await
    }
}

/// `'sensr'` → `did you mean 'sensor'?`, when one of `known` is close.
pub(crate) fn did_you_mean<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let best = known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(&wanted.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, k)) => format!(" — did you mean '{k}'?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_near_miss_is_suggested_and_a_far_one_is_not() {
        let known = ["sensor", "counter"];
        assert_eq!(super::did_you_mean("sensr", known), " — did you mean 'sensor'?");
        assert_eq!(super::did_you_mean("Countr", known), " — did you mean 'counter'?");
        assert_eq!(super::did_you_mean("database", known), "");
    }
}
