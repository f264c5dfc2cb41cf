//! Nodes and node pools. Swarm nodes are read from Docker and kept as records: a node that
//! joins appears as unidentified; administrators make it public (in a pool) or private (one
//! user's) and back. Users see the public nodes and their own private ones.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{Caller, ListParams, ProcessManager};
use crate::{
    connectors::swarm::SharedSwarm,
    error::{Error, Result},
    model::{Node, NodeKind, NodePool, NodeStatus, Page},
    store::{new_id, Query, Store, UserRecord},
    validate,
};

/// What an administrator makes of a node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NodeAssignment {
    /// The revision of the node this change is based on. It is refused (409) only if the
    /// node's assignment changed after that revision, not for the status the swarm reported.
    pub revision: u64,
    pub kind: NodeKind,
    /// Required for `public`.
    #[serde(default)]
    pub node_pool_id: Option<String>,
    /// Required for `private`.
    #[serde(default)]
    pub user_id: Option<String>,
    /// A new display name; the hostname when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Move the processes the node would no longer take (a node made unidentified takes
    /// none) to other nodes their owners may use. Without it such a change is refused.
    #[serde(default)]
    pub move_processes: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewNodePool {
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NodePoolUpdate {
    pub revision: u64,
    pub name: String,
}

#[derive(Clone)]
pub struct NodeManager {
    store: Store,
    swarm: SharedSwarm,
    processes: ProcessManager,
    last_sync: Arc<Mutex<Option<Instant>>>,
}

/// How old the node records may be when someone looks at them.
const SYNC_MAX_AGE: Duration = Duration::from_secs(5);

impl NodeManager {
    pub fn new(store: Store, swarm: SharedSwarm, processes: ProcessManager) -> Self {
        Self { store, swarm, processes, last_sync: Arc::default() }
    }

    /// Bring the node records in line with the swarm: new swarm nodes become unidentified
    /// nodes, known ones get their status, hostname and architecture, and nodes that left are
    /// marked missing (never deleted: processes may still name them).
    pub async fn sync(&self) -> Result<()> {
        let mut last = self.last_sync.lock().await;
        let swarm = self.swarm.nodes().await?;
        let now = Utc::now();
        let (known, _) = self.store.list::<Node>(&Query::all()).await?;
        for s in &swarm {
            match known.iter().find(|n| n.docker_id == s.docker_id) {
                None => {
                    let node = Node {
                        id: new_id(),
                        name: s.hostname.clone(),
                        kind: NodeKind::Unidentified,
                        node_pool_id: None,
                        user_id: None,
                        docker_id: s.docker_id.clone(),
                        hostname: s.hostname.clone(),
                        architecture: s.architecture,
                        status: s.status,
                        manager: s.manager,
                        last_seen: Some(now),
                        nano_cpus: s.nano_cpus,
                        memory_bytes: s.memory_bytes,
                        processes: 0,
                        assigned_revision: 0,
                        revision: 0,
                    };
                    match self.store.insert(&node).await {
                        // Another sync got there first.
                        Ok(_) | Err(Error::Conflict(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                // Write only what changed (and `last_seen` once a minute): every write bumps the
                // revision, and an administrator assigning the node names the one they read.
                Some(n)
                    if n.hostname == s.hostname
                        && n.architecture == s.architecture
                        && n.status == s.status
                        && n.manager == s.manager
                        && n.nano_cpus == s.nano_cpus
                        && n.memory_bytes == s.memory_bytes
                        && n.last_seen.is_some_and(|t| now - t < chrono::Duration::seconds(60)) => {}
                Some(n) => {
                    self.store
                        .modify::<Node>(&n.id, |n| {
                            n.hostname = s.hostname.clone();
                            n.architecture = s.architecture;
                            n.status = s.status;
                            n.manager = s.manager;
                            n.nano_cpus = s.nano_cpus;
                            n.memory_bytes = s.memory_bytes;
                            n.last_seen = Some(now);
                            Ok(())
                        })
                        .await?;
                }
            }
        }
        for n in known.iter().filter(|n| n.status != NodeStatus::Missing) {
            if !swarm.iter().any(|s| s.docker_id == n.docker_id) {
                self.store
                    .modify::<Node>(&n.id, |n| {
                        n.status = NodeStatus::Missing;
                        Ok(())
                    })
                    .await?;
            }
        }
        *last = Some(Instant::now());
        Ok(())
    }

    /// Sync when the records are older than a few seconds. When Docker cannot be reached, the
    /// records are served as they are (their `last_seen` tells how old they are).
    async fn fresh(&self) {
        let stale = self.last_sync.lock().await.is_none_or(|t| t.elapsed() > SYNC_MAX_AGE);
        if stale {
            if let Err(e) = self.sync().await {
                tracing::warn!("syncing nodes with the swarm: {e}");
            }
        }
    }

    /// The nodes the caller may see: all for administrators (optionally of one kind), else the
    /// public nodes and the caller's own private ones.
    pub async fn list_nodes(&self, caller: &Caller, kind: Option<NodeKind>) -> Result<Vec<Node>> {
        self.fresh().await;
        let mut query = Query::all().sort("name", false);
        if let Some(kind) = kind {
            query = query.eq("kind", serde_json::to_value(kind).unwrap_or_default());
        }
        let (nodes, _) = self.store.list::<Node>(&query).await?;
        let mut nodes: Vec<Node> = nodes.into_iter().filter(|n| visible(caller, n)).collect();
        for n in &mut nodes {
            n.processes = self.process_count(caller, &n.id).await?;
        }
        Ok(nodes)
    }

    /// The processes placed on a node that the caller may see.
    async fn process_count(&self, caller: &Caller, node_id: &str) -> Result<u64> {
        let mut query = Query::all().eq("running_node_id", node_id);
        if !caller.is_admin() {
            query = query.eq("user_id", caller.user.id.as_str());
        }
        self.store.count::<crate::store::ProcessRecord>(query).await
    }

    pub async fn get_node(&self, caller: &Caller, id: &str) -> Result<Node> {
        validate::id("node", id)?;
        let mut node: Node = self.store.fetch(id).await?;
        if !visible(caller, &node) {
            // Others' private nodes do not exist, as far as the caller can tell.
            return Err(Error::NotFound(format!("no node with id '{id}'")));
        }
        node.processes = self.process_count(caller, id).await?;
        Ok(node)
    }

    /// The pool and owner an assignment names, checked: a public node needs a pool that exists,
    /// a private node a user that exists, and neither names what its kind does not have.
    async fn resolve(&self, change: &NodeAssignment) -> Result<(Option<String>, Option<String>)> {
        let resolved = match change.kind {
            NodeKind::Unidentified => (None, None),
            NodeKind::Public => {
                let pool_id = change
                    .node_pool_id
                    .clone()
                    .ok_or_else(|| Error::invalid("node_pool_id", "a public node needs a node pool"))?;
                validate::id("node pool", &pool_id)?;
                if self.store.get::<NodePool>(&pool_id).await?.is_none() {
                    return Err(Error::invalid("node_pool_id", format!("no node pool with id '{pool_id}'")));
                }
                (Some(pool_id), None)
            }
            NodeKind::Private => {
                let user_id =
                    change.user_id.clone().ok_or_else(|| Error::invalid("user_id", "a private node needs an owner"))?;
                validate::id("user", &user_id)?;
                if self.store.get::<UserRecord>(&user_id).await?.is_none() {
                    return Err(Error::invalid("user_id", format!("no user with id '{user_id}'")));
                }
                (None, Some(user_id))
            }
        };
        if change.kind != NodeKind::Public && change.node_pool_id.is_some() {
            return Err(Error::invalid("node_pool_id", "only a public node is in a node pool"));
        }
        if change.kind != NodeKind::Private && change.user_id.is_some() {
            return Err(Error::invalid("user_id", "only a private node has an owner"));
        }
        Ok(resolved)
    }

    /// What an assignment would do to the processes on the node, before it is made: the
    /// processes the node would no longer take (their owner loses the node, or their placement
    /// no longer names it), as (id, name, owner's user id). Those must move for the change to go
    /// ahead; an empty list means every process stays where it is.
    pub async fn assignment_preview(
        &self,
        caller: &Caller,
        id: &str,
        change: &NodeAssignment,
    ) -> Result<Vec<(String, String, String)>> {
        caller.require_admin()?;
        validate::id("node", id)?;
        let (pool, user) = self.resolve(change).await?;
        let mut node: Node = self.store.fetch(id).await?;
        node.kind = change.kind;
        node.node_pool_id = pool;
        node.user_id = user;
        let stranded = self.processes.stranded_by(&node).await?;
        Ok(stranded.into_iter().map(|r| (r.process.id, r.process.name, r.process.user_id)).collect())
    }

    /// Assign a node in one step, whatever it was: unidentified, public (in a pool) or private
    /// (to a user); pool → other pool, public → private, private → public, private → another
    /// user. One revision-checked write of the node record; processes it would no longer take
    /// (see [`NodeManager::assignment_preview`]) make the change refused, unless
    /// `move_processes` asks for them to be moved to nodes their owners may use — every
    /// destination is chosen before anything is written, so nothing is half done.
    pub async fn assign(&self, caller: &Caller, id: &str, change: NodeAssignment) -> Result<Node> {
        caller.require_admin()?;
        validate::id("node", id)?;
        let (pool, user) = self.resolve(&change).await?;
        if let Some(name) = &change.name {
            validate::name("name", name)?;
        }
        // The node is written at the revision just read; a sync with the swarm that wrote it in
        // between makes the write stale, and the change is worked out again on the fresh record.
        let mut attempts = 0;
        let (updated, moves) = loop {
            attempts += 1;
            let mut node: Node = self.store.fetch(id).await?;
            unchanged_since(&node, change.revision)?;
            node.kind = change.kind;
            node.node_pool_id = pool.clone();
            node.user_id = user.clone();
            node.name = change.name.as_deref().map(|n| n.trim().to_string()).unwrap_or_else(|| node.hostname.clone());
            node.assigned_revision = node.revision + 1;
            // Never strand a process: one the node would no longer take is moved, or the change
            // is refused. Every destination is chosen before anything changes.
            let stranded = self.processes.stranded_by(&node).await?;
            let mut moves = Vec::new();
            if !stranded.is_empty() {
                if !change.move_processes {
                    let becoming = match node.kind {
                        NodeKind::Unidentified => "once unidentified",
                        NodeKind::Public => "in that pool",
                        NodeKind::Private => "as that user's private node",
                    };
                    return Err(Error::Conflict(format!(
                        "node {} runs {} process(es) it would no longer take {becoming} ({}): their owners could not \
                         use it, or their placement names something else; move them first, or ask to move them elsewhere",
                        node.name,
                        stranded.len(),
                        some_names(&stranded)
                    )));
                }
                for record in stranded {
                    match self.processes.choose_away(&record, &node).await {
                        Ok(target) => moves.push((record, target)),
                        Err(e) => {
                            return Err(Error::Conflict(format!(
                                "process '{}' cannot be moved off node {}: {e}",
                                record.process.name, node.name
                            )))
                        }
                    }
                }
            }
            match self.store.update(&node).await {
                Err(Error::StaleRevision(_)) if attempts < 5 => continue,
                other => break (other?, moves),
            }
        };
        for (record, target) in moves {
            self.processes.start_move(record, target).await?;
        }
        Ok(updated)
    }

    /// Forget a node that has left the swarm: its record goes (a node that joins again later
    /// comes back as a new, unidentified node). Refused while the swarm still has it, or while a
    /// process still runs on it or is being moved to it: those must be moved or deleted first.
    pub async fn forget(&self, caller: &Caller, id: &str, revision: Option<u64>) -> Result<()> {
        caller.require_admin()?;
        validate::id("node", id)?;
        // The swarm's view of now, not of up to SYNC_MAX_AGE ago: a node that came back is kept.
        if let Err(e) = self.sync().await {
            return Err(Error::Unavailable(format!("cannot ask the swarm whether the node is gone: {e}")));
        }
        let node: Node = self.store.fetch(id).await?;
        if let Some(revision) = revision {
            unchanged_since(&node, revision)?;
        }
        if node.status != NodeStatus::Missing {
            return Err(Error::Conflict(format!(
                "node {} is still in the swarm ({}); only a node that has left it can be forgotten \
                 (remove it from the swarm first: docker node rm)",
                node.name,
                format!("{:?}", node.status).to_lowercase()
            )));
        }
        let (mut named, _) =
            self.store.list::<crate::store::ProcessRecord>(&Query::all().eq("running_node_id", id)).await?;
        named
            .extend(self.store.list::<crate::store::ProcessRecord>(&Query::all().eq("moving_to_node_id", id)).await?.0);
        if !named.is_empty() {
            return Err(Error::Conflict(format!(
                "node {} still has processes ({}); move or delete them first",
                node.name,
                some_names(&named)
            )));
        }
        if !self.store.delete::<Node>(id, Some(node.revision)).await? {
            return Err(Error::NotFound(format!("no node with id '{id}'")));
        }
        Ok(())
    }

    /// Every logged-in user sees the public pools.
    pub async fn list_pools(
        &self,
        _caller: &Caller,
        params: &ListParams,
        search: Option<&str>,
    ) -> Result<Page<NodePool>> {
        let (mut query, page, per_page) = params.to_query(&["name", "created"], "name")?;
        if let Some(s) = search.filter(|s| !s.is_empty()) {
            query = query.contains("name", s);
        }
        let (items, total) = self.store.list::<NodePool>(&query).await?;
        Ok(Page { items, total, page, per_page })
    }

    pub async fn get_pool(&self, _caller: &Caller, id: &str) -> Result<NodePool> {
        validate::id("node pool", id)?;
        self.store.fetch(id).await
    }

    pub async fn create_pool(&self, caller: &Caller, new: NewNodePool) -> Result<NodePool> {
        caller.require_admin()?;
        validate::name("name", &new.name)?;
        let pool = NodePool { id: new_id(), name: new.name.trim().to_string(), created: Utc::now(), revision: 0 };
        self.store.insert(&pool).await
    }

    pub async fn rename_pool(&self, caller: &Caller, id: &str, change: NodePoolUpdate) -> Result<NodePool> {
        caller.require_admin()?;
        validate::id("node pool", id)?;
        validate::name("name", &change.name)?;
        let mut pool: NodePool = self.store.fetch(id).await?;
        pool.revision = change.revision;
        pool.name = change.name.trim().to_string();
        self.store.update(&pool).await
    }

    /// Delete a pool that no node is in.
    pub async fn delete_pool(&self, caller: &Caller, id: &str, revision: Option<u64>) -> Result<()> {
        caller.require_admin()?;
        validate::id("node pool", id)?;
        let members = self.store.count::<Node>(Query::all().eq("node_pool_id", id)).await?;
        if members > 0 {
            return Err(Error::Conflict(format!(
                "node pool '{id}' still has {members} node(s); make them private or unidentified first"
            )));
        }
        if !self.store.delete::<NodePool>(id, revision).await? {
            return Err(Error::NotFound(format!("no node pool with id '{id}'")));
        }
        Ok(())
    }
}

/// The first five processes' names, quoted, and how many more there are.
fn some_names(records: &[crate::store::ProcessRecord]) -> String {
    let names: Vec<String> = records.iter().take(5).map(|r| format!("'{}'", r.process.name)).collect();
    let more = if records.len() > 5 { format!(" and {} more", records.len() - 5) } else { String::new() };
    format!("{}{more}", names.join(", "))
}

/// Whether a change based on `read` (the revision a client read) may go ahead: nobody changed
/// the node's assignment since, whatever the sync with the swarm wrote.
fn unchanged_since(node: &Node, read: u64) -> Result<()> {
    if read > node.revision || read < node.assigned_revision {
        return Err(Error::StaleRevision(format!(
            "node '{}' was changed by someone else (it is at revision {}, the change was based on {read}); reload it and try again",
            node.id, node.revision
        )));
    }
    Ok(())
}

fn visible(caller: &Caller, node: &Node) -> bool {
    caller.is_admin()
        || node.kind == NodeKind::Public
        || (node.kind == NodeKind::Private && node.user_id.as_deref() == Some(caller.user.id.as_str()))
}
