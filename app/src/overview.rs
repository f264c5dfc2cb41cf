//! The overview: a dashboard of the user's network (an administrator's: everyone's). How many
//! processes, connections, nodes and pending changes are in each state (each count opens the
//! list filtered to it), what is failing now and why, the last changes, the nodes with their size
//! and load, and, until it is all done, the first steps (a usable node, a deployed service, a
//! connection). It follows the event stream: a panel is drawn again only when its data changed.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use switchyard_core::model::{
    Checklist, ConnectionState, FailedChange, FailingProcess, NodeCapacity, NodeKind, NodeStatus, Overview as Summary,
    PendingChangeState, ProcessState, RecentChange, StateCounts, Topic,
};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    components::{one_at_a_time, rv, when, ErrorMessage, Loading},
    live::refresh_live,
    pending_changes::change_state,
    AppError,
};

/// What the overview shows the caller: counts, failures, nodes, recent activity, first steps.
#[server]
pub async fn load_overview() -> Result<Summary, AppError> {
    Ok(sy().overview(&caller().await?).await?)
}

/// Everything the overview counts changes with these.
const TOPICS: &[Topic] = &[Topic::Process, Topic::Connection, Topic::Node, Topic::PendingChange];

#[component]
pub fn Overview() -> impl IntoView {
    let first = Resource::new(|| (), |_| load_overview());
    view! {
        <Title text="Overview"/>
        <div class="page-head"><h1>"Overview"</h1></div>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match first.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(summary) => view! { <Dashboard initial=summary/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The panels, kept up to date from the event stream. Each panel reads its own part of the
/// summary through a memo, so an update redraws (and takes the keyboard focus out of) only the
/// panels whose data changed.
#[component]
fn Dashboard(initial: Summary) -> impl IntoView {
    let data = RwSignal::new(initial);
    let error = RwSignal::new(None::<AppError>);
    let refresh = one_at_a_time(load_overview, move |fresh| match fresh {
        Ok(fresh) => {
            let _ = error.try_set(None);
            if data.try_with_untracked(|old| old != &fresh) == Some(true) {
                let _ = data.try_set(fresh);
            }
        }
        Err(e) => {
            let _ = error.try_set(Some(e));
        }
    });
    refresh_live(TOPICS, refresh);

    let admin = Memo::new(move |_| data.with(|d| d.admin));
    let checklist = Memo::new(move |_| data.with(|d| d.checklist));
    let counts = Memo::new(move |_| data.with(|d| d.counts.clone()));
    let nodes = Memo::new(move |_| data.with(|d| d.nodes.clone()));
    let failing = Memo::new(move |_| {
        data.with(|d| Failing {
            processes: d.failing_processes.clone(),
            process_total: d.counts.process_count(ProcessState::Failed),
            changes: d.failed_changes.clone(),
            change_total: d.counts.change_count(PendingChangeState::Failed),
            nodes: d.failing_nodes().cloned().collect(),
        })
    });
    let recent = Memo::new(move |_| data.with(|d| d.recent.clone()));

    view! {
        {rv(move || error.get().map(|e| view! { <ErrorMessage error=e/> }))}
        <p class="muted overview-scope" data-testid="overview-scope">
            {move || if admin.get() {
                "You are an administrator: everything here counts everyone's processes, connections, nodes and changes."
            } else {
                "Your processes, connections and changes, and the nodes you may use."
            }}
        </p>
        {rv(move || no_usable_node(checklist.get(), admin.get(), &nodes.get()))}
        <div class="dashboard">
            {rv(move || (!checklist.get().done()).then(|| first_steps(checklist.get(), admin.get())))}
            {rv(move || counts_panel(&counts.get(), &nodes.get(), admin.get()))}
            {rv(move || failing_panel(failing.get()))}
            {rv(move || recent_panel(recent.get()))}
            {rv(move || capacity_panel(nodes.get(), admin.get()))}
        </div>
    }
}

/// What the "Failing now" panel shows.
#[derive(Clone, PartialEq)]
struct Failing {
    processes: Vec<FailingProcess>,
    process_total: u64,
    changes: Vec<FailedChange>,
    change_total: u64,
    nodes: Vec<NodeCapacity>,
}

/// A plain word on a new installation (or a new user): nothing can be deployed yet, and why.
fn no_usable_node(checklist: Checklist, admin: bool, nodes: &[NodeCapacity]) -> Option<AnyView> {
    if checklist.usable_node {
        return None;
    }
    let assigned = nodes.iter().filter(|n| n.kind != NodeKind::Unidentified).count();
    let text = match (admin, assigned) {
        (true, 0) if nodes.is_empty() => {
            "No process can run yet: the swarm has no nodes. Join a host to the swarm; it shows up on the Nodes page."
        }
        (true, 0) => {
            "No process can run yet: every node of the swarm is unidentified. Make a node public (in a node pool) or give it to a user on the Nodes page."
        }
        (true, _) => "No process can run now: none of the public or private nodes is ready.",
        (false, 0) => {
            "You have no node to deploy to yet. Ask an administrator to give you a node or a pool."
        }
        (false, _) => "None of the nodes you may use is ready now, so nothing can be deployed until one is back.",
    };
    Some(
        view! {
            <p class="notice overview-warning" role="status" data-testid="no-usable-node">
                {text}
                {admin.then(|| view! { " " <A href="/nodes">"Go to Nodes"</A> })}
            </p>
        }
        .into_any(),
    )
}

/// The first-run checklist: three steps, each ticked when done, with the link that does it.
fn first_steps(c: Checklist, admin: bool) -> AnyView {
    let step = |key: &'static str, done: bool, text: &'static str, link: Option<(&'static str, &'static str)>| {
        view! {
            <li data-step=key data-done=if done { "true" } else { "false" } class:done=done>
                <span class="tick" aria-hidden="true">{if done { "✓" } else { "" }}</span>
                <span class="visually-hidden">{if done { "Done: " } else { "To do: " }}</span>
                <span class="step-text">{text}</span>
                {link.filter(|_| !done).map(|(href, label)| view! { " " <A href=href>{label}</A> })}
            </li>
        }
    };
    let node_step = match (c.usable_node, admin) {
        (true, _) => step("node", true, "A node is ready to run processes.", None),
        (false, true) => step(
            "node",
            false,
            "Make a node usable: put it in a public node pool, or make it a user's private node.",
            Some(("/nodes", "Go to Nodes")),
        ),
        (false, false) => step("node", false, "Get a node: ask an administrator to give you a node or a pool.", None),
    };
    view! {
        <section class="card panel wide checklist" aria-labelledby="checklist-heading" data-testid="checklist">
            <h2 id="checklist-heading">"Get started"</h2>
            <p class="muted small">
                {format!("{} of 3 steps done. This list goes away once all three are.", [c.usable_node, c.deployed, c.connected].iter().filter(|d| **d).count())}
            </p>
            <ol class="steps">
                {node_step}
                {step("deploy", c.deployed, "Deploy a service from the catalogue.", Some(("/services", "Open the catalogue")))}
                {step(
                    "connect",
                    c.connected,
                    "Connect two processes: an interface of one to a fitting interface of another.",
                    Some(("/connections", "Open the connection editor")),
                )}
            </ol>
        </section>
    }
    .into_any()
}

/// A count that opens the list filtered to it: "3 running".
fn count_link(key: String, href: String, n: u64, word: &'static str, tone: &'static str) -> impl IntoView {
    let tone = if n == 0 { "zero" } else { tone };
    view! {
        <li>
            <A href=href attr:class=format!("count tone-{tone}") attr:data-count=key>
                <span class="n">{n}</span>" "<span class="word">{word}</span>
            </A>
        </li>
    }
}

fn process_word(s: ProcessState) -> (&'static str, &'static str) {
    match s {
        ProcessState::Starting => ("starting", "busy"),
        ProcessState::Initializing => ("initializing", "busy"),
        ProcessState::Running => ("running", "ok"),
        ProcessState::Suspended => ("suspended", "idle"),
        ProcessState::Terminated => ("being removed", "idle"),
        ProcessState::Failed => ("failed", "bad"),
    }
}

fn connection_word(s: ConnectionState) -> (&'static str, &'static str) {
    match s {
        ConnectionState::Starting => ("starting", "busy"),
        ConnectionState::Connected => ("connected", "ok"),
        ConnectionState::Suspended => ("suspended", "idle"),
        ConnectionState::Interrupted => ("interrupted", "warn"),
        ConnectionState::Terminated => ("terminated", "idle"),
    }
}

fn change_tone(s: PendingChangeState) -> &'static str {
    match s {
        PendingChangeState::Failed => "bad",
        PendingChangeState::Retrying => "warn",
        PendingChangeState::Running => "busy",
        _ => "idle",
    }
}

/// Processes, connections, nodes and pending changes by state.
fn counts_panel(c: &StateCounts, nodes: &[NodeCapacity], admin: bool) -> AnyView {
    let processes = c
        .processes
        .iter()
        .map(|(s, n)| {
            let (word, tone) = process_word(*s);
            count_link(format!("process-{s}"), format!("/processes?state={s}"), *n, word, tone)
        })
        .collect_view();
    // The connection table has no state filter: its search matches the state words.
    let connections = c
        .connections
        .iter()
        .map(|(s, n)| {
            let (word, tone) = connection_word(*s);
            count_link(format!("connection-{s}"), format!("/connections?q={s}"), *n, word, tone)
        })
        .collect_view();
    let changes = c
        .changes
        .iter()
        .map(|(s, n)| {
            let word = change_state(*s);
            count_link(format!("change-{word}"), format!("/pending-changes?state={word}"), *n, word, change_tone(*s))
        })
        .collect_view();
    let of_kind = |k: NodeKind| nodes.iter().filter(|n| n.kind == k).count() as u64;
    let ready = nodes.iter().filter(|n| n.status == NodeStatus::Ready).count() as u64;
    let mut node_counts = vec![
        count_link("node-public".into(), "/nodes".into(), of_kind(NodeKind::Public), "public", "idle"),
        count_link(
            "node-private".into(),
            "/nodes".into(),
            of_kind(NodeKind::Private),
            if admin { "private" } else { "private (yours)" },
            "idle",
        ),
    ];
    if admin {
        node_counts.push(count_link(
            "node-unidentified".into(),
            "/nodes".into(),
            of_kind(NodeKind::Unidentified),
            "unidentified",
            "idle",
        ));
    }
    node_counts.push(count_link("node-ready".into(), "/nodes".into(), ready, "ready", "ok"));
    node_counts.push(count_link("node-down".into(), "/nodes".into(), nodes.len() as u64 - ready, "not ready", "bad"));
    let (process_total, connection_total) = (c.process_total(), c.connection_total());
    let change_total: u64 = c.changes.iter().map(|(_, n)| n).sum();
    view! {
        <section class="card panel wide counts" aria-labelledby="counts-heading" data-testid="counts">
            <h2 id="counts-heading">"By state"</h2>
            <div class="count-groups">
                <div class="count-group" data-group="processes">
                    <h3><A href="/processes">"Processes"</A>" "<span class="total">{process_total}</span></h3>
                    <ul class="count-list">{processes}</ul>
                </div>
                <div class="count-group" data-group="connections">
                    <h3><A href="/connections">"Connections"</A>" "<span class="total">{connection_total}</span></h3>
                    <ul class="count-list">{connections}</ul>
                </div>
                <div class="count-group" data-group="nodes">
                    <h3><A href="/nodes">"Nodes"</A>" "<span class="total">{nodes.len()}</span></h3>
                    <ul class="count-list">{node_counts}</ul>
                </div>
                <div class="count-group" data-group="changes">
                    <h3><A href="/pending-changes">"Pending changes"</A>" "<span class="total">{change_total}</span></h3>
                    <ul class="count-list">{changes}</ul>
                </div>
            </div>
        </section>
    }
    .into_any()
}

/// What is failing now: processes with their reason, changes with their last error, nodes down.
fn failing_panel(f: Failing) -> AnyView {
    let nothing = f.process_total == 0 && f.change_total == 0 && f.nodes.is_empty();
    let body = if nothing {
        view! { <p class="all-well" data-testid="nothing-failing"><span aria-hidden="true">"✓ "</span>"Nothing is failing."</p> }
            .into_any()
    } else {
        let more_processes = (f.process_total > f.processes.len() as u64).then(|| {
            view! {
                <p class="small"><A href="/processes?state=FAILED">{format!("All {} failed processes", f.process_total)}</A></p>
            }
        });
        let more_changes = (f.change_total > f.changes.len() as u64).then(|| {
            view! {
                <p class="small"><A href="/pending-changes?state=failed">{format!("All {} failed changes", f.change_total)}</A></p>
            }
        });
        view! {
            <ul class="failing-list">
                {f.processes.into_iter().map(|p| view! {
                    <li data-failing="process" data-id=p.id.clone()>
                        <div class="what">
                            <span class="state-badge state-failed">"FAILED"</span>" "
                            <A href=format!("/processes/{}", p.id)>{p.name}</A>
                            <span class="muted small">{format!(" {} · since {}", p.service_id, when(&p.since))}</span>
                        </div>
                        <p class="reason" data-reason="">{p.reason.unwrap_or_else(|| "No reason was given.".into())}</p>
                    </li>
                }).collect_view()}
                {f.changes.into_iter().map(|c| view! {
                    <li data-failing="change" data-id=c.id>
                        <div class="what">
                            <span class="state-badge state-failed">"CHANGE FAILED"</span>" "
                            <A href="/pending-changes?state=failed">{c.description}</A>
                            <span class="muted small">{format!(" after {} attempts · {}", c.attempts, when(&c.at))}</span>
                        </div>
                        <p class="reason" data-reason="">{c.last_error.unwrap_or_else(|| "No error was recorded.".into())}</p>
                    </li>
                }).collect_view()}
                {f.nodes.into_iter().map(|n| view! {
                    <li data-failing="node" data-id=n.id>
                        <div class="what">
                            <span class="state-badge state-failed">"NODE"</span>" "
                            <A href="/nodes">{n.name}</A>
                            {format!(" is {}", status_word(n.status))}
                        </div>
                        <p class="reason">
                            {match n.processes {
                                0 => "No processes of yours run on it.".to_string(),
                                1 => "1 process was placed on it.".to_string(),
                                k => format!("{k} processes were placed on it."),
                            }}
                        </p>
                    </li>
                }).collect_view()}
            </ul>
            {more_processes}
            {more_changes}
        }
        .into_any()
    };
    view! {
        <section class="card panel failing" class:all-well=nothing aria-labelledby="failing-heading" data-testid="failing">
            <h2 id="failing-heading">"Failing now"</h2>
            {body}
        </section>
    }
    .into_any()
}

/// The last entries of the audit trail.
fn recent_panel(entries: Vec<RecentChange>) -> AnyView {
    let body = if entries.is_empty() {
        view! { <p class="muted">"Nothing has happened yet. Changes show up here as they are made."</p> }.into_any()
    } else {
        view! {
            <ul class="recent-list">
                {entries.into_iter().map(|e| {
                    let summary = match e.process_id {
                        Some(id) => view! { <A href=format!("/processes/{id}")>{e.summary}</A> }.into_any(),
                        None => view! { <span>{e.summary}</span> }.into_any(),
                    };
                    view! {
                        <li data-entry=e.id class:refused=!e.ok>
                            {summary}
                            {(!e.ok).then(|| view! { <span class="refused-word">" (refused)"</span> })}
                            <div class="muted small">
                                <time datetime=e.at.to_rfc3339()>{when(&e.at)}</time>{format!(" · {}", e.who)}
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <section class="card panel recent" aria-labelledby="recent-heading" data-testid="recent">
            <h2 id="recent-heading">"Recent activity"</h2>
            {body}
            <p class="small"><A href="/activity">"All activity"</A></p>
        </section>
    }
    .into_any()
}

fn status_word(s: NodeStatus) -> &'static str {
    match s {
        NodeStatus::Ready => "ready",
        NodeStatus::Down => "down",
        NodeStatus::Disconnected => "disconnected",
        NodeStatus::Unknown => "in an unknown state",
        NodeStatus::Missing => "gone from the swarm",
    }
}

/// "2 CPUs", "1.5 CPUs"; "" when the swarm did not say.
fn cpus(nano: u64) -> String {
    match nano {
        0 => String::new(),
        n if n % 1_000_000_000 == 0 => {
            let c = n / 1_000_000_000;
            format!("{c} CPU{}", if c == 1 { "" } else { "s" })
        }
        n => format!("{:.1} CPUs", n as f64 / 1e9),
    }
}

/// "7.8 GiB", "512 MiB"; "" when the swarm did not say.
fn memory(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    match bytes as f64 / MIB {
        0.0 => String::new(),
        m if m < 1024.0 => format!("{m:.0} MiB"),
        m => format!("{:.1} GiB", m / 1024.0),
    }
}

/// The nodes the user may use: kind, state, size and how many processes each runs, with a bar
/// of its share of the processes placed (the placement puts a new one where the fewest run).
fn capacity_panel(nodes: Vec<NodeCapacity>, admin: bool) -> AnyView {
    let placed: u64 = nodes.iter().map(|n| n.processes).sum();
    let body = if nodes.is_empty() {
        view! {
            <p class="muted">
                {if admin { "The swarm has no nodes yet." } else { "No node is yours or public yet." }}
            </p>
        }
        .into_any()
    } else {
        view! {
            <ul class="capacity-list">
                {nodes.into_iter().map(|n| {
                    let kind = match n.kind {
                        NodeKind::Public => format!("public · pool {}", n.pool.clone().unwrap_or_default()),
                        NodeKind::Private if admin => format!("private · {}", n.owner.clone().unwrap_or_default()),
                        NodeKind::Private => "private · yours".to_string(),
                        NodeKind::Unidentified => "unidentified".to_string(),
                    };
                    let size: Vec<String> = [cpus(n.nano_cpus), memory(n.memory_bytes)].into_iter().filter(|s| !s.is_empty()).collect();
                    let share = (n.processes * 100).checked_div(placed).unwrap_or(0);
                    let status = status_word(n.status);
                    let processes = match n.processes {
                        1 => "1 process".to_string(),
                        k => format!("{k} processes"),
                    };
                    view! {
                        <li data-node=n.id.clone() data-status=format!("{:?}", n.status).to_lowercase()>
                            <div class="node-line">
                                <strong class="node-name">{n.name}</strong>
                                <span class=format!("node-status status-{}", if n.status == NodeStatus::Ready { "ready" } else { "down" })>{status}</span>
                            </div>
                            <div class="muted small">{kind}{(!size.is_empty()).then(|| format!(" · {}", size.join(", ")))}</div>
                            <div class="node-load">
                                <A href=format!("/processes?node={}", n.id) attr:data-processes=n.processes>{processes}</A>
                                <svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true" focusable="false">
                                    <rect class="bar-track" width="100" height="8" rx="4"/>
                                    <rect class="bar-fill" width=share height="8" rx="4"/>
                                </svg>
                                <span class="muted small">{format!("{share}% of those placed")}</span>
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <section class="card panel wide capacity" aria-labelledby="capacity-heading" data-testid="capacity">
            <h2 id="capacity-heading">"Capacity per node"</h2>
            {body}
        </section>
    }
    .into_any()
}
