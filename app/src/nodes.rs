//! The node view: the swarm's nodes by kind (unidentified, public by pool, private by owner)
//! with their status and their processes, and the node pools. Administrators onboard nodes
//! here; a process dragged onto another node moves there, once confirmed.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};
use serde::{Deserialize, Serialize};
use switchyard_core::model::Topic;
use switchyard_core::model::{Node, NodeKind, NodePool, NodeStatus, Page, ProcessState};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    auth::Admin,
    components::{one_at_a_time, rv, rx, when, EmptyState, ErrorMessage, FieldError, FormError, Loading},
    live::refresh_live,
    processes::{MoveProcess, StateBadge},
    AppError,
};

#[server]
pub async fn list_pools() -> Result<Page<NodePool>, AppError> {
    use switchyard_core::managers::ListParams;
    let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("name".into()) };
    Ok(sy().nodes.list_pools(&caller().await?, &params, None).await?)
}

#[server]
pub async fn create_pool(name: String) -> Result<NodePool, AppError> {
    use switchyard_core::managers::NewNodePool;
    Ok(sy().nodes.create_pool(&caller().await?, NewNodePool { name }).await?)
}

#[server]
pub async fn delete_pool(id: String) -> Result<(), AppError> {
    Ok(sy().nodes.delete_pool(&caller().await?, &id, None).await?)
}

/// A process as the node view shows it, on its node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlacedProcess {
    pub id: String,
    pub name: String,
    pub state: ProcessState,
    pub node_id: Option<String>,
    pub moving_to: Option<String>,
}

/// The processes the caller sees (an administrator: everyone's), for their nodes.
#[server]
pub async fn placed_processes() -> Result<Vec<PlacedProcess>, AppError> {
    use switchyard_core::managers::{ListParams, ProcessFilter};
    let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("name".into()) };
    let page = sy().processes.list(&caller().await?, &params, &ProcessFilter::default()).await?;
    Ok(page
        .items
        .into_iter()
        .filter(|p| p.state != ProcessState::Terminated)
        .map(|p| PlacedProcess {
            id: p.id,
            name: p.name,
            state: p.state,
            node_id: p.running_node_id,
            moving_to: p.moving_to_node_id,
        })
        .collect())
}

#[server]
pub async fn list_nodes() -> Result<Vec<Node>, AppError> {
    Ok(sy().nodes.list_nodes(&caller().await?, None).await?)
}

/// Users an administrator can give a private node to: (id, username).
#[server]
pub async fn user_choices() -> Result<Vec<(String, String)>, AppError> {
    use switchyard_core::managers::ListParams;
    let caller = caller().await?;
    if !caller.is_admin() {
        return Ok(Vec::new());
    }
    let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("username".into()) };
    let users = sy().users.list(&caller, &params, None, None).await?;
    Ok(users.items.into_iter().map(|u| (u.id, u.username)).collect())
}

#[server]
pub async fn assign_node(
    id: String,
    revision: u64,
    kind: String,
    node_pool_id: Option<String>,
    user_id: Option<String>,
    move_processes: Option<String>,
) -> Result<Node, AppError> {
    use switchyard_core::managers::NodeAssignment;
    let kind = match kind.as_str() {
        "public" => NodeKind::Public,
        "private" => NodeKind::Private,
        _ => NodeKind::Unidentified,
    };
    let change = NodeAssignment {
        revision,
        kind,
        node_pool_id: node_pool_id.filter(|p| !p.is_empty()),
        user_id: user_id.filter(|u| !u.is_empty()),
        name: None,
        move_processes: move_processes.is_some(),
    };
    Ok(sy().nodes.assign(&caller().await?, &id, change).await?)
}

/// The assignment a reassignment form asks for: `pool:<id>` (public, in that pool),
/// `user:<id>` (private, that user's) or `unidentified`.
#[cfg(feature = "ssr")]
fn assignment_of(
    target: &str,
    revision: u64,
    move_processes: bool,
) -> Result<switchyard_core::managers::NodeAssignment, AppError> {
    use switchyard_core::{error::Error, managers::NodeAssignment};
    let (kind, node_pool_id, user_id) = if let Some(pool) = target.strip_prefix("pool:") {
        (NodeKind::Public, Some(pool.to_string()), None)
    } else if let Some(user) = target.strip_prefix("user:") {
        (NodeKind::Private, None, Some(user.to_string()))
    } else if target == "unidentified" {
        (NodeKind::Unidentified, None, None)
    } else {
        return Err(Error::invalid("target", "choose a node pool or a user to assign the node to").into());
    };
    Ok(NodeAssignment { revision, kind, node_pool_id, user_id, name: None, move_processes })
}

/// Assign a node anew in one step: to another pool, to a user, or from a user to a pool.
#[server]
pub async fn reassign_node(
    id: String,
    revision: u64,
    target: String,
    move_processes: Option<String>,
) -> Result<Node, AppError> {
    let change = assignment_of(&target, revision, move_processes.is_some())?;
    Ok(sy().nodes.assign(&caller().await?, &id, change).await?)
}

/// A process a reassignment would make move.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stranded {
    pub id: String,
    pub name: String,
    pub owner_id: String,
}

/// The processes a reassignment would make move (the node would no longer take them).
#[server]
pub async fn reassign_preview(id: String, target: String) -> Result<Vec<Stranded>, AppError> {
    let change = assignment_of(&target, 0, false)?;
    let list = sy().nodes.assignment_preview(&caller().await?, &id, &change).await?;
    Ok(list.into_iter().map(|(id, name, owner_id)| Stranded { id, name, owner_id }).collect())
}

/// Forget a node that has left the swarm.
#[server]
pub async fn forget_node(id: String, revision: u64) -> Result<(), AppError> {
    Ok(sy().nodes.forget(&caller().await?, &id, Some(revision)).await?)
}

/// A move asked for by a drop, waiting for its confirmation.
#[derive(Clone, Debug, PartialEq)]
struct MoveAsk {
    process_id: String,
    process_name: String,
    /// The placement as the move form sends it (`node:<id>` or `pool:<id>`).
    placement: String,
    /// Where, in words.
    words: String,
}

fn status_text(s: NodeStatus) -> &'static str {
    match s {
        NodeStatus::Ready => "ready",
        NodeStatus::Down => "down",
        NodeStatus::Disconnected => "disconnected",
        NodeStatus::Unknown => "unknown",
        NodeStatus::Missing => "left the swarm",
    }
}

#[component]
pub fn NodesPage() -> impl IntoView {
    let create = ServerAction::<CreatePool>::new();
    let delete = ServerAction::<DeletePool>::new();
    let pools_changed = Signal::derive(move || create.version().get() + delete.version().get());
    view! {
        <Title text="Nodes"/>
        <div class="page-head"><h1>"Nodes"</h1></div>
        <SwarmNodes pools_changed/>
        <Pools create delete/>
    }
}

#[component]
fn SwarmNodes(pools_changed: Signal<usize>) -> impl IntoView {
    let assign = ServerAction::<AssignNode>::new();
    let reassign = ServerAction::<ReassignNode>::new();
    // The filter, in the address (`/nodes?q=&kind=`) so a view can be shared.
    let query = use_query_map();
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let kind_filter = Memo::new(move |_| match query.read().get("kind").as_deref() {
        Some("unidentified") => Some(NodeKind::Unidentified),
        Some("public") => Some(NodeKind::Public),
        Some("private") => Some(NodeKind::Private),
        _ => None,
    });
    let relocate = ServerAction::<MoveProcess>::new();
    let forget = ServerAction::<ForgetNode>::new();
    let live = crate::live::live_tick(&[Topic::Node]);
    let nodes = Resource::new(
        move || {
            (
                (assign.version().get(), reassign.version().get()),
                relocate.version().get(),
                forget.version().get(),
                live.get(),
            )
        },
        |_| list_nodes(),
    );
    // The processes on the nodes, refreshed as they change; only their lists are redrawn, and only
    // when something changed, so a drag in progress is not disturbed.
    let placed = RwSignal::new(Vec::<PlacedProcess>::new());
    let refresh = one_at_a_time(placed_processes, move |fresh| {
        if let Ok(list) = fresh {
            if placed.try_with_untracked(|old| old != &list) == Some(true) {
                let _ = placed.try_set(list);
            }
        }
    });
    refresh_live(&[Topic::Node, Topic::Process], refresh.clone());
    {
        let refresh = refresh.clone();
        Effect::new(move |_| {
            let _ = (relocate.version().get(), assign.version().get(), reassign.version().get());
            refresh();
        });
    }
    // The process being dragged (id, name), and the move waiting for confirmation.
    let dragging = RwSignal::new(None::<(String, String)>);
    let asked = RwSignal::new(None::<MoveAsk>);
    Effect::watch(
        move || relocate.version().get(),
        move |_, _, _| {
            if matches!(relocate.value().get_untracked(), Some(Ok(_))) {
                asked.set(None);
            }
        },
        false,
    );
    let move_result: Signal<_> = relocate.value().into();
    let pools = Resource::new(move || (pools_changed.get(), live.get()), |_| list_pools());
    let users = Resource::new(move || (), |_| user_choices());
    let admin = Admin::of_page();
    let result: Signal<_> = assign.value().into();
    let reassign_result: Signal<_> = reassign.value().into();
    let forget_result: Signal<_> = forget.value().into();
    let kind_is =
        move |k: &'static str| move || kind_filter.get().map(|f| format!("{f:?}").to_lowercase()).as_deref() == Some(k);
    view! {
        <Form method="GET" action="" attr:class="toolbar node-filter" attr:role="search" attr:aria-label="Filter nodes">
            <label for="node-q">"Name"</label>
            <input type="search" id="node-q" name="q" placeholder="Name or hostname" autocomplete="off" prop:value=q/>
            <label for="node-kind">"Kind"</label>
            <select id="node-kind" name="kind">
                <option value="" selected=move || kind_filter.get().is_none()>"All kinds"</option>
                <option value="unidentified" selected=kind_is("unidentified")>"Unidentified"</option>
                <option value="public" selected=kind_is("public")>"Public"</option>
                <option value="private" selected=kind_is("private")>"Private"</option>
            </select>
            <button type="submit">"Filter"</button>
            {move || (!q.get().is_empty() || kind_filter.get().is_some()).then(|| view! { <A href="/nodes">"Show all"</A> })}
        </Form>
        <FormError result/>
        <FormError result=reassign_result/>
        <FormError result=forget_result/>
        {rv(move || asked.get().map(|a| view! {
            <div class="card confirm-move" role="dialog" aria-label="Confirm the move">
                <p>{format!("Move {} to {}? It is suspended with its state, then resumed there; its connections follow.", a.process_name, a.words)}</p>
                <ActionForm action=relocate attr:class="toolbar">
                    <input type="hidden" name="id" value=a.process_id.clone()/>
                    <input type="hidden" name="placement" value=a.placement.clone()/>
                    <button type="submit" class="primary" disabled=rx(move || relocate.pending().get())>"Move"</button>
                    <button type="button" on:click=move |_| asked.set(None)>"Cancel"</button>
                </ActionForm>
            </div>
        }))}
        <FormError result=move_result/>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let (nodes, pools, users, admin) = (nodes.await, pools.await, users.await, admin.get().await);
                let (nodes, pools, users) = match (nodes, pools, users) {
                    (Ok(n), Ok(p), Ok(u)) => (n, p.items, u),
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return view! { <ErrorMessage error=e/> }.into_any(),
                };
                let pool_name = {
                    let pools = pools.clone();
                    move |id: &Option<String>| pools.iter().find(|p| Some(&p.id) == id.as_ref()).map(|p| p.name.clone()).unwrap_or_default()
                };
                let owner_name = {
                    let users = users.clone();
                    move |id: &Option<String>| users.iter().find(|(u, _)| Some(u) == id.as_ref()).map(|(_, n)| n.clone()).unwrap_or_else(|| "you".into())
                };
                let needle = q.get().trim().to_lowercase();
                let only = kind_filter.get();
                let filtering = !needle.is_empty() || only.is_some();
                let matches = |n: &Node| needle.is_empty() || n.name.to_lowercase().contains(&needle) || n.hostname.to_lowercase().contains(&needle);
                let of = |kind: NodeKind| nodes.iter().filter(|n| n.kind == kind && matches(n)).cloned().collect::<Vec<_>>();
                let (unidentified, public, private) = (of(NodeKind::Unidentified), of(NodeKind::Public), of(NodeKind::Private));
                let row = move |n: &Node, place: String| {
                    // Where a process dropped here goes: a private node itself, a public
                    // node's pool (Switchyard picks the least busy node of it).
                    let target = match n.kind {
                        NodeKind::Private => Some((format!("node:{}", n.id), format!("private node {}", n.name))),
                        NodeKind::Public => n.node_pool_id.clone().map(|p| (format!("pool:{p}"), format!("node pool {place}"))),
                        NodeKind::Unidentified => None,
                    };
                    let droppable = target.is_some();
                    let chips = {
                        let node_id = n.id.clone();
                        rv(move || {
                            let here: Vec<PlacedProcess> =
                                placed.with(|all| all.iter().filter(|p| p.node_id.as_deref() == Some(node_id.as_str())).cloned().collect());
                            (!here.is_empty()).then(|| view! {
                                <ul class="chips">
                                    {here.into_iter().map(|p| {
                                        let PlacedProcess { id, name, state, moving_to, .. } = p;
                                        let (href, label, text) = (format!("/processes/{id}"), name.clone(), name.clone());
                                        view! {
                                            <li class="chip" draggable="true" data-process=label title="Drag onto another node to move it"
                                                on:dragstart=move |_| dragging.set(Some((id.clone(), name.clone())))
                                                on:dragend=move |_| dragging.set(None)>
                                                <A href=href>{text}</A>
                                                " " <StateBadge state=state/>
                                                {moving_to.is_some().then_some(" moving…")}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            })
                        })
                    };
                    let (hostname, label, id, rev, id2, rev2) = (n.hostname.clone(), n.hostname.clone(), n.id.clone(), n.revision.to_string(), n.id.clone(), n.revision.to_string());
                    let (name, manager, status, arch, seen) = (n.name.clone(), n.manager, n.status, n.architecture, n.last_seen);
                    let (count, node_link) = (n.processes, format!("/processes?node={}", n.id));
                    let (pools, users) = (pools.clone(), users.clone());
                    let unidentified = n.kind == NodeKind::Unidentified;
                    let current = match n.kind {
                        NodeKind::Public => format!("pool:{}", n.node_pool_id.clone().unwrap_or_default()),
                        NodeKind::Private => format!("user:{}", n.user_id.clone().unwrap_or_default()),
                        NodeKind::Unidentified => String::new(),
                    };
                    let gone = status == NodeStatus::Missing;
                    let (forget_id, forget_rev) = (n.id.clone(), n.revision.to_string());
                    let drop = move |ev: leptos::ev::DragEvent| {
                        ev.prevent_default();
                        if let (Some((process_id, process_name)), Some((placement, words))) = (dragging.get_untracked(), target.clone()) {
                            dragging.set(None);
                            asked.set(Some(MoveAsk { process_id, process_name, placement, words }));
                        }
                    };
                    view! {
                        <tr data-node=label class:drop-target=droppable
                            on:dragover=move |ev: leptos::ev::DragEvent| if droppable && dragging.with_untracked(Option::is_some) { ev.prevent_default() }
                            on:drop=drop>
                            <td>{name}<div class="muted small">{hostname}{manager.then_some(" · manager")}</div></td>
                            <td>{place}</td>
                            <td><span class=format!("status {}", status_text(status).replace(' ', "-"))>{status_text(status)}</span></td>
                            <td>{format!("{arch:?}").to_lowercase().replace("x86_64", "x86-64")}</td>
                            <td class="muted">{seen.as_ref().map(when).unwrap_or_default()}</td>
                            <td data-processes=count.to_string()>
                                {if count == 0 {
                                    view! { <span class="muted">"none"</span> }.into_any()
                                } else {
                                    view! { <A href=node_link>{format!("{count} process{}", if count == 1 { "" } else { "es" })}</A> }.into_any()
                                }}
                                {chips}
                            </td>
                            <td>
                                {admin.then(|| if gone {
                                    // Nothing can run on it: the only thing left is to forget it.
                                    let (id, rev) = (forget_id.clone(), forget_rev.clone());
                                    view! {
                                        <ActionForm action=forget attr:class="inline">
                                            <input type="hidden" name="id" value=id/>
                                            <input type="hidden" name="revision" value=rev/>
                                            <button type="submit" class="small" title="Remove this node's record: it has left the swarm">"Forget"</button>
                                        </ActionForm>
                                    }.into_any()
                                } else if unidentified {
                                    let (pools, users, id, rev, id2, rev2) = (pools.clone(), users.clone(), id.clone(), rev.clone(), id2.clone(), rev2.clone());
                                    view! {
                                        <div class="stack-tight">
                                            <ActionForm action=assign attr:class="toolbar">
                                                <input type="hidden" name="id" value=id/>
                                                <input type="hidden" name="revision" value=rev/>
                                                <input type="hidden" name="kind" value="public"/>
                                                <select name="node_pool_id" aria-label="Node pool" required>
                                                    <option value="">"Pool…"</option>
                                                    {pools.into_iter().map(|p| view! { <option value=p.id>{p.name}</option> }).collect_view()}
                                                </select>
                                                <button type="submit" class="small">"Make public"</button>
                                            </ActionForm>
                                            <ActionForm action=assign attr:class="toolbar">
                                                <input type="hidden" name="id" value=id2/>
                                                <input type="hidden" name="revision" value=rev2/>
                                                <input type="hidden" name="kind" value="private"/>
                                                <select name="user_id" aria-label="Owner" required>
                                                    <option value="">"Owner…"</option>
                                                    {users.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                                                </select>
                                                <button type="submit" class="small">"Make private"</button>
                                            </ActionForm>
                                        </div>
                                    }.into_any()
                                } else {
                                    let (id, rev) = (id.clone(), rev.clone());
                                    let reassign_form = view! {
                                        <Reassign node_id=id.clone() revision=rev.clone() current=current.clone() runs=count
                                            pools=pools.clone() users=users.clone() action=reassign/>
                                    };
                                    view! {
                                        <div class="stack-tight">
                                        {reassign_form}
                                        <ActionForm action=assign attr:class="inline">
                                            <input type="hidden" name="id" value=id/>
                                            <input type="hidden" name="revision" value=rev/>
                                            <input type="hidden" name="kind" value="unidentified"/>
                                            {(count > 0).then(|| view! {
                                                <label class="check small"><input type="checkbox" name="move_processes" value="yes"/>" move its processes elsewhere"</label>
                                            })}
                                            <button type="submit" class="small">"Make unidentified"</button>
                                        </ActionForm>
                                        </div>
                                    }.into_any()
                                })}
                            </td>
                        </tr>
                    }
                };
                let table = move |title: &'static str, list: Vec<Node>, place: &dyn Fn(&Node) -> String, empty: &'static str| {
                    let rows = list.iter().map(|n| row(n, place(n))).collect_view();
                    let empty = if filtering { "No node here matches the filter." } else { empty };
                    view! {
                        <section class="card stack">
                            <h2>{title}</h2>
                            {if list.is_empty() {
                                view! { <p class="muted">{empty}</p> }.into_any()
                            } else {
                                view! {
                                    <table class="list">
                                        <thead><tr><th>"Node"</th><th>"Where"</th><th>"Status"</th><th>"Architecture"</th><th>"Last seen"</th><th>"Processes"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                }.into_any()
                            }}
                        </section>
                    }
                };
                let shows = |k: NodeKind| only.is_none_or(|o| o == k);
                let unidentified_section = (admin && shows(NodeKind::Unidentified)).then(|| table(
                    "Unidentified nodes", unidentified, &|_| "not assigned".to_string(),
                    "Every node of the swarm has been assigned.",
                ));
                let public_section = shows(NodeKind::Public)
                    .then(|| table("Public nodes", public, &move |n| pool_name(&n.node_pool_id), "No public nodes yet."));
                let private_section = shows(NodeKind::Private)
                    .then(|| table("Private nodes", private, &move |n| owner_name(&n.user_id), "No private nodes."));
                view! {
                    {unidentified_section}
                    {public_section}
                    {private_section}
                }.into_any()
            })}
        </Transition>
    }
}

/// Assigning an assigned node anew in one step: to another pool, or to a user (a public node
/// made private, a private node given to someone else or made public). Before it is sent, it
/// says which processes would have to move (their owners could not use the node, or their
/// placement names something else); the change goes through only if they may be moved.
#[component]
fn Reassign(
    node_id: String,
    revision: String,
    /// What the node is now: `pool:<id>` or `user:<id>`.
    current: String,
    /// How many processes it runs.
    runs: u64,
    pools: Vec<NodePool>,
    users: Vec<(String, String)>,
    action: ServerAction<ReassignNode>,
) -> impl IntoView {
    let target = RwSignal::new(String::new());
    let select_id = format!("reassign-{node_id}");
    let status_id = format!("reassign-{node_id}-status");
    let preview = {
        let node_id = node_id.clone();
        LocalResource::new(move || {
            let (id, t) = (node_id.clone(), target.get());
            async move {
                if t.is_empty() {
                    None
                } else {
                    Some(reassign_preview(id, t).await)
                }
            }
        })
    };
    // Back to no choice once the change went through (the row is drawn afresh anyway).
    Effect::watch(move || action.version().get(), move |_, _, _| target.set(String::new()), false);
    let names = users.clone();
    let owner =
        move |id: &str| names.iter().find(|(u, _)| u == id).map(|(_, n)| n.clone()).unwrap_or_else(|| id.to_string());
    let pool_options: Vec<(String, String)> =
        pools.into_iter().map(|p| (format!("pool:{}", p.id), p.name)).filter(|(v, _)| *v != current).collect();
    let user_options: Vec<(String, String)> =
        users.into_iter().map(|(id, name)| (format!("user:{id}"), name)).filter(|(v, _)| *v != current).collect();
    let (form_id, marker) = (node_id.clone(), node_id);
    view! {
        <ActionForm action attr:class="toolbar reassign" attr:data-reassign=marker>
            <input type="hidden" name="id" value=form_id/>
            <input type="hidden" name="revision" value=revision/>
            <label for=select_id.clone() class="small">"Assign to"</label>
            <select id=select_id name="target" required aria-describedby=status_id.clone()
                prop:value=move || target.get()
                on:change=move |ev| target.set(event_target_value(&ev))>
                <option value="">"Choose…"</option>
                <optgroup label="Public, in node pool">
                    {pool_options.into_iter().map(|(v, name)| view! { <option value=v>{name}</option> }).collect_view()}
                </optgroup>
                <optgroup label="Private, to user">
                    {user_options.into_iter().map(|(v, name)| view! { <option value=v>{name}</option> }).collect_view()}
                </optgroup>
            </select>
            <button type="submit" class="small" disabled=rx(move || action.pending().get() || target.with(String::is_empty))>"Reassign"</button>
            <div class="reassign-status small" id=status_id role="status">
                {rv(move || {
                    if target.with(String::is_empty) {
                        return ().into_any();
                    }
                    match preview.get() {
                        None | Some(None) => view! { <span class="muted">"Checking its processes…"</span> }.into_any(),
                        Some(Some(Err(e))) => view! { <span class="field-error">{e.message}</span> }.into_any(),
                        Some(Some(Ok(list))) if list.is_empty() => view! {
                            <span class="muted" data-preview="stay">
                                {if runs == 0 { "It runs no processes." } else { "Its processes can stay on it." }}
                            </span>
                        }.into_any(),
                        Some(Some(Ok(list))) => {
                            let n = list.len();
                            let names = list.iter().map(|p| format!("{} ({})", p.name, owner(&p.owner_id))).collect::<Vec<_>>().join(", ");
                            view! {
                                <span class="notice" data-preview="move">
                                    {format!("{n} process{} could not stay on it: {names}. ", if n == 1 { "" } else { "es" })}
                                    <label class="check"><input type="checkbox" name="move_processes" value="yes"/>
                                        " move them to other nodes their owners may use"</label>
                                </span>
                            }.into_any()
                        }
                    }
                })}
            </div>
        </ActionForm>
    }
}

#[component]
fn Pools(create: ServerAction<CreatePool>, delete: ServerAction<DeletePool>) -> impl IntoView {
    let live = crate::live::live_tick(&[Topic::Node]);
    let pools = Resource::new(move || (create.version().get(), delete.version().get(), live.get()), |_| list_pools());
    let admin = Admin::of_page();
    let create_result: Signal<_> = create.value().into();
    let delete_result: Signal<_> = delete.value().into();
    view! {
        <section class="card stack">
            <h2>"Node pools"</h2>
            <p class="muted">"Public nodes are grouped in pools that every user can deploy to."</p>
            <FormError result=delete_result/>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    let (pools, admin) = (pools.await, admin.get().await);
                    match pools {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! {
                            <EmptyState title="No node pools yet">
                                {if admin { "Create one below, then add public nodes to it." } else { "An administrator has not created any yet." }}
                            </EmptyState>
                        }.into_any(),
                        Ok(p) => view! {
                            <table class="list">
                                <thead><tr><th>"Pool"</th><th>"Created"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {p.items.into_iter().map(|pool| { let id = pool.id.clone(); view! {
                                        <tr data-pool=pool.name.clone()>
                                            <td>{pool.name.clone()}</td>
                                            <td class="muted">{when(&pool.created)}</td>
                                            <td>
                                                {admin.then(|| { let id = id.clone(); view! {
                                                    <ActionForm action=delete attr:class="inline">
                                                        <input type="hidden" name="id" value=id/>
                                                        <button type="submit" class="danger small">"Delete"</button>
                                                    </ActionForm>
                                                }})}
                                            </td>
                                        </tr>
                                    }}).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    admin.get().await.then(|| view! {
                        <ActionForm action=create attr:class="toolbar">
                            <label class="grow">
                                <span class="visually-hidden">"Pool name"</span>
                                <input name="name" placeholder="New pool name" required/>
                                <FieldError result=create_result field="name"/>
                            </label>
                            <button type="submit" class="primary">"Create pool"</button>
                        </ActionForm>
                        <FormError result=create_result/>
                    })
                })}
            </Suspense>
        </section>
    }
}
