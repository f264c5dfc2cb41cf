//! The editor's draft: changes staged on the graph instead of made at once — new connections,
//! removed ones, new processes deployed and connected from a port — drawn as pending, with undo
//! and redo (buttons, or Ctrl+Z and Ctrl+Shift+Z / Ctrl+Y). *Review* plans the draft exactly as
//! `POST /api/v1/plans` plans a document (the owner's network with the draft's changes), *Apply*
//! runs that plan as one deployment, followed live. The [`Matrix`] wires many processes at once.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use switchyard_core::model::{
    Candidate, ConfigEntry, Connection, ConnectionSpec, ConnectionState, Deployment, Endpoint, EndpointSpec, Interface,
    Parameter, Process, ProcessSpec,
};

use super::{
    api::ConnectionGraph,
    geometry::{verdict, PortRef},
    state::EditorState,
};
#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    components::{rv, rx, ErrorMessage, Loading},
    network::{DeploymentView, PlanAnswer, PlanView},
    AppError,
};

/// The ids of what exists only in the draft start with this.
pub(super) const DRAFT: &str = "draft:";

/// What the user staged, in the order they staged it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Draft {
    /// Processes to deploy, drawn as boxes (id `draft:<name>`).
    pub deploy: Vec<Process>,
    /// Connections to make, with the versions they would use.
    pub connect: Vec<(PortRef, PortRef, (String, String))>,
    /// Live connections to terminate.
    pub disconnect: Vec<String>,
}

impl Draft {
    pub fn len(&self) -> usize {
        self.deploy.len() + self.connect.len() + self.disconnect.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The graph as it would be with the draft applied: what the editor draws and what the fit
    /// rule checks against (so a staged connection counts for cardinality, a removed one not).
    pub fn applied(&self, g: &ConnectionGraph) -> ConnectionGraph {
        let mut out = g.clone();
        out.processes.extend(self.deploy.iter().cloned());
        out.connections.retain(|c| !self.disconnect.contains(&c.id));
        let staged: Vec<Connection> =
            self.connect.iter().map(|(a, b, versions)| staged_connection(&out, a, b, versions)).collect();
        out.connections.extend(staged);
        out
    }

    /// The draft in the document's terms (processes by name), for the plan.
    pub fn request(&self, g: &ConnectionGraph) -> DraftRequest {
        let all = self.applied(g);
        let name = |id: &str| {
            all.processes
                .iter()
                .chain(g.processes.iter())
                .find(|p| p.id == id)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| id.to_string())
        };
        let spec = |a: (&str, &str), b: (&str, &str)| ConnectionSpec {
            endpoints: vec![
                EndpointSpec { process: name(a.0), interface: a.1.to_string() },
                EndpointSpec { process: name(b.0), interface: b.1.to_string() },
            ],
        };
        DraftRequest {
            owner: g.owner_id.clone(),
            deploy: self
                .deploy
                .iter()
                .map(|p| ProcessSpec {
                    name: p.name.clone(),
                    service: p.service_id.clone(),
                    version: Some(p.service_version.clone()),
                    parameters: p.parameters.iter().map(|e| (e.key.clone(), e.value.clone())).collect(),
                    ..Default::default()
                })
                .collect(),
            connect: self
                .connect
                .iter()
                .map(|(a, b, _)| spec((&a.process_id, &a.interface_id), (&b.process_id, &b.interface_id)))
                .collect(),
            disconnect: g
                .connections
                .iter()
                .filter(|c| self.disconnect.contains(&c.id))
                .map(|c| {
                    spec(
                        (&c.endpoint1.process_id, &c.endpoint1.interface_id),
                        (&c.endpoint2.process_id, &c.endpoint2.interface_id),
                    )
                })
                .collect(),
        }
    }
}

/// The id of a connection that exists only in the draft: `draft:<port>|<port>`.
fn staged_id(a: &PortRef, b: &PortRef) -> String {
    format!("{DRAFT}{}|{}", a.key(), b.key())
}

/// A connection that exists only in the draft.
fn staged_connection(g: &ConnectionGraph, a: &PortRef, b: &PortRef, (va, vb): &(String, String)) -> Connection {
    let end = |p: &PortRef, v: &str| Endpoint {
        process_id: p.process_id.clone(),
        interface_id: p.interface_id.clone(),
        interface_version_name: Some(v.to_string()),
        process_name: g.processes.iter().find(|x| x.id == p.process_id).map(|x| x.name.clone()).unwrap_or_default(),
    };
    Connection {
        id: staged_id(a, b),
        user_id: g.owner_id.clone(),
        endpoint1: end(a, va),
        endpoint2: end(b, vb),
        port: 0,
        state: ConnectionState::Starting,
        state_reason: Some("staged in the draft".into()),
        terminating: false,
        created: Default::default(),
        updated: Default::default(),
        revision: 0,
    }
}

/// A process that exists only in the draft: the service version's interfaces, nothing placed.
pub(super) fn staged_process(
    owner: &str,
    name: &str,
    service: &str,
    version: &str,
    interfaces: Vec<Interface>,
) -> Process {
    Process {
        interfaces,
        state_reason: Some("to be deployed when the draft is applied".into()),
        ..Process::blank(&format!("{DRAFT}{name}"), name, owner, service, version)
    }
}

/// A name no process of the graph has: `<service>-2`, `<service>-3`, …
pub(super) fn free_name(g: &ConnectionGraph, service: &str) -> String {
    let taken = |n: &str| g.processes.iter().any(|p| p.name == n);
    if !taken(service) {
        return service.to_string();
    }
    (2..).map(|i| format!("{service}-{i}")).find(|n| !taken(n)).unwrap_or_default()
}

/// The draft as the server plans it: the owner's network as it is, plus these changes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftRequest {
    /// Whose network (a user id; empty: the caller's).
    pub owner: String,
    pub deploy: Vec<ProcessSpec>,
    pub connect: Vec<ConnectionSpec>,
    pub disconnect: Vec<ConnectionSpec>,
}

/// Plan a draft: the owner's network exported as a document, the draft's changes made to it, and
/// the document planned like any other (every step checked; nothing changes).
#[server(input = Json)]
pub async fn plan_draft(draft: DraftRequest) -> Result<PlanAnswer, AppError> {
    let caller = caller().await?;
    let sy = sy();
    let username = if draft.owner.is_empty() || draft.owner == caller.user.id {
        None
    } else {
        Some(sy.users.get(&caller, &draft.owner).await?.username)
    };
    let mut doc = sy.networks.export(&caller, username.as_deref(), None).await?;
    doc.processes.extend(draft.deploy);
    let gone: Vec<_> = draft.disconnect.iter().map(ConnectionSpec::key).collect();
    doc.connections.retain(|c| !gone.contains(&c.key()));
    doc.connections.extend(draft.connect);
    // Problems are told by the process they are about (the document is not the user's own text).
    let names: Vec<String> = doc.processes.iter().map(|p| p.name.clone()).collect();
    let mut answer = crate::network::answer(sy.networks.plan(&caller, doc).await)?;
    for problem in &mut answer.problems {
        let at = problem.path.strip_prefix("processes[").and_then(|rest| rest.split_once(']'));
        if let Some((name, field)) = at.and_then(|(i, field)| Some((names.get(i.parse::<usize>().ok()?)?, field))) {
            problem.path = format!("{name}{field}");
        }
    }
    Ok(answer)
}

/// A catalogue service that could be deployed and connected to a port.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeployOption {
    /// The fitting interface of the service, and the versions the connection would use.
    pub candidate: Candidate,
    /// All the service version's interfaces (to draw the new process).
    pub interfaces: Vec<Interface>,
    /// Its parameters, to give values to before it is staged.
    pub parameters: Vec<Parameter>,
}

/// The catalogue's services with an interface that fits this port.
#[server]
pub async fn deploy_options(process_id: String, interface_id: String) -> Result<Vec<DeployOption>, AppError> {
    let caller = caller().await?;
    let sy = sy();
    let candidates = sy.connections.candidates(&caller, &process_id, &interface_id).await?;
    let mut out = Vec::new();
    for candidate in candidates.services.into_iter().filter(|c| c.fits) {
        if let Ok(service) = sy.services.get(&candidate.service_id, candidate.service_version.as_deref()).await {
            out.push(DeployOption { candidate, interfaces: service.interfaces, parameters: service.parameters });
        }
    }
    Ok(out)
}

impl EditorState {
    /// Change the draft as one step the user can undo.
    pub fn edit(&self, change: impl FnOnce(&mut Draft)) {
        let before = self.draft.get_untracked();
        let mut after = before.clone();
        change(&mut after);
        if after != before {
            self.undo.update(|u| u.push(before));
            self.redo.update(Vec::clear);
            self.draft.set(after);
        }
    }

    pub fn undo_step(&self) {
        if let Some(previous) = self.undo.try_update(Vec::pop).flatten() {
            let now = self.draft.get_untracked();
            self.redo.update(|r| r.push(now));
            self.draft.set(previous);
            self.status.set("Undone.".into());
        }
    }

    pub fn redo_step(&self) {
        if let Some(next) = self.redo.try_update(Vec::pop).flatten() {
            let now = self.draft.get_untracked();
            self.undo.update(|u| u.push(now));
            self.draft.set(next);
            self.status.set("Redone.".into());
        }
    }

    /// Forget the draft (after it was applied, or when the user discards it).
    pub fn clear_draft(&self) {
        self.draft.set(Draft::default());
        self.undo.set(Vec::new());
        self.redo.set(Vec::new());
    }

    /// Stage terminating a live connection (or drop a staged one).
    pub fn stage_disconnect(&self, id: &str) {
        self.drafting.set(true);
        let id = id.to_string();
        self.edit(|d| {
            if id.starts_with(DRAFT) {
                d.connect.retain(|(a, b, _)| staged_id(a, b) != id);
            } else if !d.disconnect.contains(&id) {
                d.disconnect.push(id);
            }
        });
        self.selection.id.set(None);
        self.status.set("Staged: the connection is removed when the draft is applied.".into());
    }

    /// Stage a connection between two ports, if they fit in the graph as the draft leaves it.
    pub fn stage_connect(&self, from: PortRef, to: PortRef) -> Result<(), String> {
        let (a, b) = self.planned.with_untracked(|g| verdict(g, &from, &to)).map_err(|r| r.message().to_string())?;
        let text = format!("{} to {} (versions {a} ↔ {b})", self.port_label(&from), self.port_label(&to));
        self.drafting.set(true);
        self.edit(|d| d.connect.push((from, to, (a, b))));
        self.status.set(format!("Staged: connect {text}. Review the draft to apply it."));
        Ok(())
    }
}

/// The draft's tool bar and what hangs off it: the staged changes, deploy-and-connect, the
/// review (the plan) and the deployment that applies it.
#[component]
pub(super) fn DraftBar(ed: EditorState) -> impl IntoView {
    let reviewing = Action::new(|r: &DraftRequest| plan_draft(r.clone()));
    let applying = Action::new(|id: &String| crate::network::apply_plan(id.clone()));
    let plan = RwSignal::new(None::<Result<PlanAnswer, AppError>>);
    let deployment = RwSignal::new(None::<String>);
    Effect::watch(move || reviewing.value().get(), move |v, _, _| plan.set(v.clone()), false);
    Effect::watch(
        move || applying.value().get(),
        move |v: &Option<Result<Deployment, AppError>>, _, _| {
            if let Some(Ok(d)) = v {
                deployment.set(Some(d.id.clone()));
                plan.set(None);
                ed.clear_draft();
                ed.status.set("The draft is being applied; its steps are below.".into());
            }
        },
        false,
    );
    // A changed draft makes the plan on show stale.
    Effect::watch(move || ed.draft.track(), move |_, _, _| plan.set(None), false);
    let review = move |_| {
        let request = ed.graph.with_untracked(|g| ed.draft.with_untracked(|d| d.request(g)));
        reviewing.dispatch(request);
    };
    let count = move || ed.draft.with(Draft::len);
    view! {
        <div class="draft-bar" role="toolbar" aria-label="Draft" data-testid="draft-bar">
            <label class="inline-label">
                <input type="checkbox" data-testid="draft-mode"
                    prop:checked=rx(move || ed.drafting.get())
                    disabled=rx(move || !ed.ready.get() || (ed.drafting.get() && count() > 0))
                    title="Stage changes on the graph, review them as a plan, then apply them together"
                    on:change=move |ev| ed.drafting.set(event_target_checked(&ev))/>
                "Draft changes"
            </label>
            {rv(move || ed.drafting.get().then(|| view! {
                <span class="muted small" data-testid="draft-count">{rx(move || match count() {
                    0 => "Nothing staged: connect ports, remove a connection or deploy from a port.".to_string(),
                    1 => "1 change staged".to_string(),
                    n => format!("{n} changes staged"),
                })}</span>
                <button type="button" class="small" aria-keyshortcuts="Control+Z"
                    disabled=rx(move || ed.undo.with(Vec::is_empty)) on:click=move |_| ed.undo_step()>"Undo"</button>
                <button type="button" class="small" aria-keyshortcuts="Control+Shift+Z Control+Y"
                    disabled=rx(move || ed.redo.with(Vec::is_empty)) on:click=move |_| ed.redo_step()>"Redo"</button>
                <button type="button" class="small primary" id="review-draft"
                    disabled=rx(move || count() == 0 || reviewing.pending().get()) on:click=review>
                    {rx(move || if reviewing.pending().get() { "Planning…" } else { "Review…" })}
                </button>
                <button type="button" class="small" disabled=rx(move || count() == 0)
                    on:click=move |_| { ed.clear_draft(); ed.status.set("The draft was discarded.".into()); }>"Discard"</button>
            }))}
        </div>
        {rv(move || ed.drafting.get().then(|| view! { <Staged ed/> <DeployAndConnect ed/> }))}
        {rv(move || plan.get().map(|answer| match answer {
            Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
            Ok(PlanAnswer { problems, .. }) if !problems.is_empty() => view! {
                <section class="card stack problems" role="alert">
                    <h2>"The draft cannot be planned"</h2>
                    <ul>{problems.into_iter().map(|p| view! { <li><code>{p.path}</code>": " {p.message}</li> }).collect_view()}</ul>
                </section>
            }.into_any(),
            Ok(PlanAnswer { plan: Some(p), .. }) => view! { <PlanView plan=p applying/> }.into_any(),
            Ok(_) => ().into_any(),
        }))}
        {rv(move || applying.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorMessage error=e/> }))}
        {rv(move || deployment.get().map(|id| view! { <DeploymentView id/> }))}
    }
}

/// The staged changes, each with a button to take it out of the draft.
#[component]
fn Staged(ed: EditorState) -> impl IntoView {
    let items = Memo::new(move |_| {
        ed.planned.with(|g| {
            ed.graph.with(|real| {
                ed.draft.with(|d| {
                    let label = |p: &PortRef| {
                        let name =
                            g.processes.iter().find(|x| x.id == p.process_id).map(|x| x.name.as_str()).unwrap_or("?");
                        format!("{name} ({})", p.interface_id)
                    };
                    let mut out: Vec<(String, String, String)> = Vec::new();
                    for p in &d.deploy {
                        out.push((
                            "added".into(),
                            format!("Deploy {} ({} {})", p.name, p.service_id, p.service_version),
                            p.id.clone(),
                        ));
                    }
                    for (a, b, (va, vb)) in &d.connect {
                        out.push((
                            "added".into(),
                            format!("Connect {} ↔ {} (versions {va} ↔ {vb})", label(a), label(b)),
                            staged_id(a, b),
                        ));
                    }
                    for id in &d.disconnect {
                        if let Some(c) = real.connections.iter().find(|c| &c.id == id) {
                            out.push((
                                "removed".into(),
                                format!("Disconnect {}", super::geometry::ends_text(real, c)),
                                id.clone(),
                            ));
                        }
                    }
                    out
                })
            })
        })
    });
    let unstage = move |id: String| {
        ed.edit(|d| {
            if let Some(name) = id.strip_prefix(DRAFT).filter(|rest| !rest.contains('|')) {
                // A staged process goes with the staged connections to it.
                let pid = format!("{DRAFT}{name}");
                d.deploy.retain(|p| p.id != pid);
                d.connect.retain(|(a, b, _)| a.process_id != pid && b.process_id != pid);
            } else if id.starts_with(DRAFT) {
                d.connect.retain(|(a, b, _)| staged_id(a, b) != id);
            } else {
                d.disconnect.retain(|x| x != &id);
            }
        });
    };
    view! {
        {rv(move || (!items.with(Vec::is_empty)).then(|| view! {
            <ul class="draft-list" aria-label="Staged changes" data-testid="draft-list">
                <For each=move || items.get() key=|i| i.clone() let:item>
                    {
                        let (effect, text, id) = item;
                        view! {
                            <li class=format!("step {effect}")>
                                <span class="mark" aria-hidden="true">{if effect == "removed" { "−" } else { "+" }}</span>
                                " " {text.clone()} " "
                                <button type="button" class="small link" aria-label=format!("Unstage: {text}")
                                    on:click=move |_| unstage(id.clone())>"Unstage"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
        }))}
    }
}

/// Deploy and connect: the catalogue's services that fit the port last chosen, each added to the
/// draft as a new process connected to it.
#[component]
fn DeployAndConnect(ed: EditorState) -> impl IntoView {
    let options = Resource::new(
        move || ed.deploy_port.get().filter(|p| !p.process_id.starts_with(DRAFT)),
        |port| async move {
            match port {
                Some(p) => deploy_options(p.process_id, p.interface_id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    // The option whose parameters are being filled in (by its index), and their values.
    let choosing = RwSignal::new(None::<usize>);
    let values = RwSignal::new(Vec::<ConfigEntry>::new());
    let add = move |option: DeployOption| {
        let Some(port) = ed.deploy_port.get_untracked() else { return };
        choosing.set(None);
        let c = option.candidate;
        let version = c.service_version.clone().unwrap_or_default();
        let (name, process) = ed.planned.with_untracked(|g| {
            let name = free_name(g, &c.service_id);
            let mut p = staged_process(&g.owner_id, &name, &c.service_id, &version, option.interfaces.clone());
            p.parameters = values.get_untracked().into_iter().filter(|e| !e.value.is_empty()).collect();
            (name, p)
        });
        let to = PortRef { process_id: process.id.clone(), interface_id: c.interface_id.clone() };
        let versions = (c.version.clone().unwrap_or_default(), c.candidate_version.clone().unwrap_or_default());
        ed.edit(|d| {
            d.deploy.push(process);
            d.connect.push((port, to, versions));
        });
        ed.status.set(format!("Staged: deploy {name} ({} {version}) and connect it.", c.service_id));
    };
    view! {
        <section class="card stack deploy-connect" aria-labelledby="deploy-connect-heading" data-testid="deploy-and-connect">
            <h2 id="deploy-connect-heading" class="h3">"Deploy and connect"</h2>
            {rv(move || match ed.deploy_port.get() {
                None => view! { <p class="muted small">"Choose a port on the graph (click it) to see the catalogue's services that fit it."</p> }.into_any(),
                Some(p) if p.process_id.starts_with(DRAFT) => view! { <p class="muted small">"Choose a port of a process that exists already."</p> }.into_any(),
                Some(p) => view! { <p class="small">"Services that fit " <strong>{ed.port_label(&p)}</strong> ":"</p> }.into_any(),
            })}
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match options.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some(list)) if list.is_empty() => view! { <p class="muted small">"No service in the catalogue fits this port."</p> }.into_any(),
                        Ok(Some(list)) => view! {
                            <ul class="deploy-options">
                                {list.into_iter().enumerate().map(|(i, o)| {
                                    let c = &o.candidate;
                                    let text = format!("{} {} — {} (versions {} ↔ {})", c.service_id, c.service_version.clone().unwrap_or_default(),
                                        c.interface_name, c.version.clone().unwrap_or_default(), c.candidate_version.clone().unwrap_or_default());
                                    let label = format!("Deploy {} and connect", c.service_id);
                                    let service = c.service_id.clone();
                                    let option = o.clone();
                                    // Straight into the draft when it has no parameters; otherwise
                                    // their values first (defaults filled in).
                                    let choose = move |_| {
                                        if option.parameters.is_empty() {
                                            values.set(Vec::new());
                                            add(option.clone());
                                        } else {
                                            values.set(option.parameters.iter().map(|p| ConfigEntry { key: p.id.clone(), value: p.default.clone().unwrap_or_default() }).collect());
                                            choosing.set(Some(i));
                                        }
                                    };
                                    view! {
                                        <li data-service=service>{text} " "
                                            <button type="button" class="small" on:click=choose>{label}</button>
                                            {rv(move || (choosing.get() == Some(i)).then(|| parameters_form(o.clone(), values, add)))}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The parameters of a service about to be staged: each with its default, required ones marked.
fn parameters_form(
    option: DeployOption,
    values: RwSignal<Vec<ConfigEntry>>,
    add: impl Fn(DeployOption) + Copy + Send + Sync + 'static,
) -> AnyView {
    let fields = option
        .parameters
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let id = format!("deploy-param-{}", p.id);
            let required = !p.is_optional && p.default.is_none();
            let hint = match (&p.values, &p.default) {
                (Some(choices), _) => format!("one of {}", choices.join(", ")),
                (None, Some(d)) => format!("default {d}"),
                (None, None) if required => "required".to_string(),
                _ => String::new(),
            };
            view! {
                <label for=id.clone()>{p.name.clone()} " " <span class="muted small">{format!("({}{})", p.id, if hint.is_empty() { String::new() } else { format!("; {hint}") })}</span></label>
                <input id=id name=p.id.clone() required=required
                    prop:value=move || values.with(|v| v.get(i).map(|e| e.value.clone()).unwrap_or_default())
                    on:input=move |ev| { let v = event_target_value(&ev); values.update(|all| if let Some(e) = all.get_mut(i) { e.value = v; }); }/>
            }
        })
        .collect_view();
    let label = format!("Stage {} with these parameters", option.candidate.service_id);
    view! {
        <form class="stack-tight deploy-parameters" on:submit=move |ev| { ev.prevent_default(); add(option.clone()); }>
            {fields}
            <div class="actions"><button type="submit" class="small primary">{label}</button></div>
        </form>
    }
    .into_any()
}

/// The connection matrix: for one pair of interfaces, every process with the one against every
/// process with the other; ticking a cell stages the connection, unticking stages its removal.
#[component]
pub(super) fn Matrix(ed: EditorState) -> impl IntoView {
    // Every interface id among the processes (as the draft leaves them).
    let interfaces = Memo::new(move |_| {
        ed.planned.with(|g| {
            let mut ids: Vec<(String, String)> =
                g.processes.iter().flat_map(|p| p.interfaces.iter().map(|i| (i.id.clone(), i.name.clone()))).collect();
            ids.sort();
            ids.dedup();
            ids
        })
    });
    let rows_if = RwSignal::new(String::new());
    let cols_if = RwSignal::new(String::new());
    let choices = move |chosen: RwSignal<String>| {
        rv(move || {
            interfaces
                .get()
                .into_iter()
                .map(|(id, name)| {
                    let selected = chosen.with(|c| c == &id);
                    view! { <option value=id.clone() selected=selected>{format!("{name} ({id})")}</option> }
                })
                .collect_view()
        })
    };
    let table = move || {
        let (ri, ci) = (rows_if.get(), cols_if.get());
        if ri.is_empty() || ci.is_empty() {
            return view! { <p class="muted small">"Choose the interface of the rows and of the columns."</p> }
                .into_any();
        }
        ed.planned.with(|g| {
            let with = |iid: &str| -> Vec<Process> {
                g.processes.iter().filter(|p| p.interfaces.iter().any(|i| i.id == iid)).cloned().collect()
            };
            let (rows, cols) = (with(&ri), with(&ci));
            if rows.is_empty() || cols.is_empty() {
                return view! { <p class="muted small">"No process has one of these interfaces."</p> }.into_any();
            }
            view! {
                <div class="table-scroll">
                    <table class="list matrix" data-testid="connection-matrix">
                        <thead><tr><th scope="col">{format!("{ri} ╲ {ci}")}</th>
                            {cols.iter().map(|q| view! { <th scope="col">{q.name.clone()}</th> }).collect_view()}
                        </tr></thead>
                        <tbody>
                            {rows.iter().map(|p| view! {
                                <tr><th scope="row">{p.name.clone()}</th>
                                    {cols.iter().map(|q| matrix_cell(ed, g, p, &ri, q, &ci)).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any()
        })
    };
    view! {
        <details class="card matrix-card" data-testid="matrix">
            <summary>"Connection matrix: wire many processes at once"</summary>
            <p class="muted small">"Each ticked cell is a connection; ticking or unticking one stages the change in the draft."</p>
            <div class="toolbar">
                <label class="inline-label">"Rows"
                    <select data-testid="matrix-rows" on:change=move |ev| rows_if.set(event_target_value(&ev))>
                        <option value="">"—"</option>{choices(rows_if)}
                    </select>
                </label>
                <label class="inline-label">"Columns"
                    <select data-testid="matrix-cols" on:change=move |ev| cols_if.set(event_target_value(&ev))>
                        <option value="">"—"</option>{choices(cols_if)}
                    </select>
                </label>
            </div>
            {rv(table)}
        </details>
    }
}

/// One cell of the matrix: connected (ticked), could be (unticked) or cannot (disabled, why).
fn matrix_cell(ed: EditorState, g: &ConnectionGraph, p: &Process, pi: &str, q: &Process, qi: &str) -> AnyView {
    let existing = g.connections.iter().find(|c| c.joins((&p.id, pi), (&q.id, qi))).map(|c| c.id.clone());
    let (a, b) = (PortRef::of(p, pi), PortRef::of(q, qi));
    let fit =
        if existing.is_some() { Ok(()) } else { verdict(g, &a, &b).map(|_| ()).map_err(|r| r.message().to_string()) };
    let label = format!("{} ({pi}) ↔ {} ({qi})", p.name, q.name);
    let title = match (&existing, &fit) {
        (Some(_), _) => format!("{label}: connected; untick to remove"),
        (None, Ok(())) => format!("{label}: fits; tick to connect"),
        (None, Err(why)) => format!("{label}: {why}"),
    };
    let checked = existing.is_some();
    let disabled = fit.is_err();
    view! {
        <td class={if checked { "cell on" } else if disabled { "cell unfit" } else { "cell" }} title=title.clone()>
            <input type="checkbox" aria-label=title.clone() prop:checked=checked disabled=disabled
                data-row=p.name.clone() data-col=q.name.clone()
                on:change=move |_| match &existing {
                    Some(id) => ed.stage_disconnect(id),
                    None => {
                        if let Err(why) = ed.stage_connect(a.clone(), b.clone()) {
                            ed.alert.set(Some(AppError { code: "refused".into(), message: why, field: None }));
                        }
                    }
                }/>
        </td>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::super::geometry::tests::{iface, process};
    use super::*;
    use switchyard_core::model::Refusal;

    /// A sensor (takes many connections) and a counter (takes one), both deployed.
    fn graph() -> ConnectionGraph {
        let sensor = process("p1", "kitchen", vec![iface("sensor", "r", "none", true)]);
        let counter = process("p2", "tally", vec![iface("counter", "none", "r", false)]);
        ConnectionGraph {
            processes: vec![sensor, counter],
            process_total: 2,
            connections: vec![],
            owner_id: "u1".into(),
        }
    }

    fn port(p: &str, service: &str) -> PortRef {
        PortRef { process_id: p.into(), interface_id: format!("{service}/temperature") }
    }

    #[test]
    fn a_staged_connection_counts_for_cardinality_and_is_planned_by_name() {
        let g = graph();
        let mut d = Draft::default();
        let versions = verdict(&d.applied(&g), &port("p1", "sensor"), &port("p2", "counter")).unwrap();
        d.connect.push((port("p1", "sensor"), port("p2", "counter"), versions));
        let planned = d.applied(&g);
        assert_eq!(planned.connections.len(), 1);
        assert!(planned.connections[0].id.starts_with(DRAFT));
        // The counter takes one connection: a second sensor cannot connect to it in the draft.
        let second = staged_process("u1", "porch", "sensor", "1.0.0", vec![iface("sensor", "r", "none", true)]);
        d.deploy.push(second);
        let refusal = verdict(&d.applied(&g), &port("draft:porch", "sensor"), &port("p2", "counter")).unwrap_err();
        assert!(matches!(refusal, Refusal::OnlyOneConnection { .. }), "{refusal:?}");

        let request = d.request(&g);
        assert_eq!(request.owner, "u1");
        assert_eq!(request.deploy.len(), 1);
        assert_eq!((request.deploy[0].name.as_str(), request.deploy[0].version.as_deref()), ("porch", Some("1.0.0")));
        let ends: Vec<(&str, &str)> =
            request.connect[0].endpoints.iter().map(|e| (e.process.as_str(), e.interface.as_str())).collect();
        assert_eq!(ends, [("kitchen", "sensor/temperature"), ("tally", "counter/temperature")]);
    }

    #[test]
    fn a_removed_connection_frees_its_interface_and_is_named_in_the_request() {
        let mut g = graph();
        let live = staged_connection(&g, &port("p1", "sensor"), &port("p2", "counter"), &("1".into(), "1".into()));
        g.connections.push(Connection { id: "c1".into(), ..live });
        let mut d = Draft::default();
        assert!(verdict(&d.applied(&g), &port("p1", "sensor"), &port("p2", "counter")).is_err(), "connected already");
        d.disconnect.push("c1".into());
        assert!(d.applied(&g).connections.is_empty());
        assert!(verdict(&d.applied(&g), &port("p1", "sensor"), &port("p2", "counter")).is_ok());
        let request = d.request(&g);
        assert_eq!(request.disconnect.len(), 1);
        assert_eq!(request.disconnect[0].label(), "kitchen (sensor/temperature) ↔ tally (counter/temperature)");
        assert_eq!(free_name(&g, "tally"), "tally-2");
        assert_eq!(free_name(&g, "echo"), "echo");
    }
}
