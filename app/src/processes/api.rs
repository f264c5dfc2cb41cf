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

/// The process list's view as its URL gives it (every field as typed; the server checks them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessQuery {
    /// Part of the name.
    pub q: String,
    /// A state, any case (`running`).
    pub state: String,
    /// A service id.
    pub service: String,
    /// Administrators: one owner's processes (a user id).
    pub owner: String,
    /// Only those on this node (a node id).
    pub node: String,
    /// `name`, `service`, `state` or `created`; `-` before it for the reverse order.
    pub sort: String,
    pub page: String,
    pub per: String,
}

impl ProcessQuery {
    pub const PATH: &'static str = "/processes";
    /// The URL's sortable fields and the store's field each stands for.
    pub const SORTS: [(&'static str, &'static str); 4] =
        [("name", "name"), ("service", "service_id"), ("state", "state"), ("created", "created")];
    pub const DEFAULT_SORT: &'static str = "-created";

    pub fn from_map(map: &leptos_router::params::ParamsMap) -> Self {
        let get = |k: &str| map.get(k).unwrap_or_default();
        ProcessQuery {
            q: get("q"),
            state: get("state"),
            service: get("service"),
            owner: get("owner"),
            node: get("node"),
            sort: get("sort"),
            page: get("page"),
            per: get("per"),
        }
    }

    /// The view's parameters, for links (empty ones are left out of them).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("q", self.q.clone()),
            ("state", self.state.clone()),
            ("service", self.service.clone()),
            ("owner", self.owner.clone()),
            ("node", self.node.clone()),
            ("sort", self.sort.clone()),
            ("page", self.page.clone()),
            ("per", self.per.clone()),
        ]
    }
}

/// One page of the process list, with the view as the server understood it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessListView {
    pub items: Vec<Process>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub pages: u64,
    /// The view after the server's checks (page, size and sort as used).
    pub query: ProcessQuery,
    /// Node id → name, of the nodes the caller may see.
    pub node_names: BTreeMap<String, String>,
    /// Administrators: user id → username of the owners on this page; `None` for others.
    pub owner_names: Option<BTreeMap<String, String>>,
    /// What the server corrected in the URL, for people.
    pub notices: Vec<String>,
}

/// What the process list's filters offer: the catalogue's services and, for administrators,
/// the owners.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessListChoices {
    /// (id, name).
    pub services: Vec<(String, String)>,
    /// (id, username); administrators only, empty for others.
    pub owners: Vec<(String, String)>,
}

#[server]
pub async fn load_process_filters() -> Result<ProcessListChoices, AppError> {
    use switchyard_core::managers::ListParams;
    let caller = caller().await?;
    let sy = sy();
    let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("name".into()) };
    // The catalogue may be unreachable: the filter then offers no services (the list still works).
    let services = match sy.services.list(&params, None).await {
        Ok((page, _)) => page.items.into_iter().map(|s| (s.id, s.name)).collect(),
        Err(_) => Vec::new(),
    };
    let owners = if caller.is_admin() {
        let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("username".into()) };
        sy.users.list(&caller, &params, None, None).await?.items.into_iter().map(|u| (u.id, u.username)).collect()
    } else {
        Vec::new()
    };
    Ok(ProcessListChoices { services, owners })
}

/// One page of the caller's processes (administrators: everyone's, or one owner's), searched,
/// filtered and sorted as `query` says.
#[server(input = Json)]
pub async fn load_process_list(query: ProcessQuery) -> Result<ProcessListView, AppError> {
    use crate::lists::{paging, sort_param};
    use switchyard_core::managers::{ListParams, ProcessFilter};
    use switchyard_core::model::ProcessState;
    let caller = caller().await?;
    let sy = sy();
    let mut query = query;
    let (page, per_page, mut notices) = paging(&query.page, &query.per);
    let (sort, url_sort) = sort_param(&query.sort, &ProcessQuery::SORTS, ProcessQuery::DEFAULT_SORT, &mut notices);
    let state = match query.state.trim() {
        "" => None,
        s => match ProcessState::ALL.into_iter().find(|st| st.as_str().eq_ignore_ascii_case(s)) {
            Some(st) => Some(st),
            None => {
                notices.push(format!(
                    "There is no state “{}”: showing processes in every state.",
                    s.chars().take(40).collect::<String>()
                ));
                query.state.clear();
                None
            }
        },
    };
    let node_id = Some(query.node.trim().to_string()).filter(|n| !n.is_empty());
    if let Some(n) = &node_id {
        if switchyard_core::validate::id("node", n).is_err() {
            return Err(AppError {
                code: "validation_failed".into(),
                message: format!("“{}” is not a node id", n.chars().take(40).collect::<String>()),
                field: Some("node".into()),
            });
        }
    }
    let owner = Some(query.owner.trim().to_string()).filter(|o| !o.is_empty() && caller.is_admin());
    if let Some(o) = &owner {
        if switchyard_core::validate::id("user", o).is_err() {
            return Err(AppError {
                code: "validation_failed".into(),
                message: format!("“{}” is not a user id", o.chars().take(40).collect::<String>()),
                field: Some("owner".into()),
            });
        }
    }
    let filter = ProcessFilter {
        user_id: owner,
        state,
        service_id: Some(query.service.trim().to_string()).filter(|s| !s.is_empty()),
        search: Some(query.q.trim().to_string()).filter(|s| !s.is_empty()),
        node_id,
    };
    let fetch = |page: u64| {
        let params = ListParams { page: Some(page), per_page: Some(per_page), sort: Some(sort.clone()) };
        let (sy, caller, filter) = (sy.clone(), caller.clone(), filter.clone());
        async move { sy.processes.list(&caller, &params, &filter).await }
    };
    let mut found = fetch(page).await?;
    let pages = found.pages();
    if page > pages {
        // Past the end (a URL from before some were deleted): the last page, said so.
        notices.push(format!("There is no page {page}: showing the last page, {pages}."));
        found = fetch(pages).await?;
    }
    let node_names = sy.nodes.list_nodes(&caller, None).await?.into_iter().map(|n| (n.id, n.name)).collect();
    let owner_names = if caller.is_admin() {
        let mut names = BTreeMap::new();
        for p in &found.items {
            if !names.contains_key(&p.user_id) {
                let name =
                    sy.users.get(&caller, &p.user_id).await.map(|u| u.username).unwrap_or_else(|_| p.user_id.clone());
                names.insert(p.user_id.clone(), name);
            }
        }
        Some(names)
    } else {
        None
    };
    query.page = if found.page > 1 { found.page.to_string() } else { String::new() };
    query.per = if per_page == crate::lists::DEFAULT_PER { String::new() } else { per_page.to_string() };
    query.sort = if url_sort == ProcessQuery::DEFAULT_SORT { String::new() } else { url_sort };
    Ok(ProcessListView {
        pages: found.pages(),
        total: found.total,
        page: found.page,
        per_page,
        items: found.items,
        query,
        node_names,
        owner_names,
        notices,
    })
}

/// What a bulk action of the process list does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessVerb {
    Suspend,
    Resume,
    Delete,
}

impl ProcessVerb {
    pub fn key(self) -> &'static str {
        match self {
            ProcessVerb::Suspend => "suspend",
            ProcessVerb::Resume => "resume",
            ProcessVerb::Delete => "delete",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [ProcessVerb::Suspend, ProcessVerb::Resume, ProcessVerb::Delete].into_iter().find(|v| v.key() == key)
    }

    pub fn title(self) -> &'static str {
        match self {
            ProcessVerb::Suspend => "Suspend",
            ProcessVerb::Resume => "Resume",
            ProcessVerb::Delete => "Delete",
        }
    }

    /// What it will do to a process in `state`: `Ok(words)`, or `Err(why it is skipped)`. The
    /// confirmation and the server use the same words, so what was listed is what happens.
    pub fn plan(self, state: switchyard_core::model::ProcessState) -> Result<&'static str, String> {
        use switchyard_core::model::ProcessState as S;
        match (self, state) {
            (ProcessVerb::Suspend, S::Running) => Ok("suspend, its state is saved"),
            (ProcessVerb::Suspend, S::Suspended) => Err("already suspended — skipped".into()),
            (ProcessVerb::Suspend, s) => Err(format!("{s}: only a RUNNING process can be suspended — skipped")),
            (ProcessVerb::Resume, S::Suspended) => Ok("resume from its saved state"),
            (ProcessVerb::Resume, S::Running) => Err("already running — skipped".into()),
            (ProcessVerb::Resume, s) => Err(format!("{s}: only a SUSPENDED process can be resumed — skipped")),
            (ProcessVerb::Delete, S::Terminated) => Err("already being deleted — skipped".into()),
            (ProcessVerb::Delete, S::Suspended) => Ok("delete, its saved state is discarded and its connections end"),
            (ProcessVerb::Delete, _) => Ok("delete, its container is removed and its connections end"),
        }
    }
}

/// Suspend, resume or delete each of `ids` (at most 100), as far as its state allows; every id
/// is reported: done, skipped (why) or failed (why). One failing does not stop the others.
#[server(input = Json)]
pub async fn bulk_process_action(ids: Vec<String>, verb: ProcessVerb) -> Result<crate::lists::BulkReport, AppError> {
    use crate::lists::{bulk_ids, BulkReport, ItemOutcome, Outcome};
    use switchyard_core::Error;
    let ids = bulk_ids(ids)?;
    let caller = caller().await?;
    let sy = sy();
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let process = match sy.processes.get(&caller, &id).await {
            Ok(p) => p,
            Err(e) => {
                items.push(ItemOutcome { name: id.clone(), id, outcome: Outcome::Failed(e.to_string()) });
                continue;
            }
        };
        let name = process.name.clone();
        let outcome = match verb.plan(process.state) {
            Err(why) => Outcome::Skipped(why),
            Ok(words) => {
                let done = match verb {
                    ProcessVerb::Suspend => sy.processes.suspend(&caller, &id).await.map(|_| ()),
                    ProcessVerb::Resume => sy.processes.resume(&caller, &id).await.map(|_| ()),
                    ProcessVerb::Delete => sy.processes.delete(&caller, &id, None).await.map(|_| ()),
                };
                match done {
                    Ok(()) => Outcome::Done(words.to_string()),
                    // Its state changed meanwhile, or the same is under way already.
                    Err(Error::Conflict(why)) => Outcome::Skipped(why),
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            }
        };
        items.push(ItemOutcome { id, name, outcome });
    }
    Ok(BulkReport { action: verb.title().to_string(), items })
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
