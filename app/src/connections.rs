//! The connection editor: the owner's processes as a graph (each a box, its interfaces as ports),
//! their connections as edges coloured by state and labelled with the negotiated versions.
//!
//! Drag from one port to another to connect them (or click a port, then another; or Enter on
//! the focused ports). While a port is held, every other port is marked `fits` or `unfit` at once:
//! the browser runs the server's own rule (`model::check_fit`), so the reason shown on an unfit
//! port is the one the server would give. The same data is below the graph as a table and a
//! form for keyboard and screen-reader users. States follow the server by polling every two
//! seconds; selection, drag and layout survive a refresh.

use std::{collections::BTreeMap, time::Duration};

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use switchyard_core::model::{
    check_fit, Candidates, Connection, ConnectionState, EndpointRef, NewConnection, PendingChange, Process, Refusal,
};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    components::{hydrated, one_at_a_time, poll_while_mounted, rv, rx, when, EmptyState, ErrorMessage, Loading},
    pending_changes::{change_state, CancelPendingChange, ChangeActionResult, ChangeActions, RetryPendingChange},
    AppError,
};

/// How often the editor asks for fresh states.
const POLL_EVERY: Duration = Duration::from_secs(2);
/// At most this many processes are drawn (oldest first).
#[cfg(feature = "ssr")]
const MAX_PROCESSES: u64 = 200;

// ------------------------------------------------------------------------------------------------
// Server functions
// ------------------------------------------------------------------------------------------------

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

// ------------------------------------------------------------------------------------------------
// The graph's geometry and rules: plain functions of the data
// ------------------------------------------------------------------------------------------------

const BOX_W: f64 = 250.0;
const HEADER_H: f64 = 56.0;
const PORT_H: f64 = 30.0;
const BOX_PAD: f64 = 8.0;
const GAP_X: f64 = 150.0;
const GAP_Y: f64 = 56.0;
const MARGIN: f64 = 32.0;
/// How far the pointer must move before a press on a port is a drag rather than a click.
#[cfg(feature = "hydrate")]
const DRAG_SLOP: f64 = 4.0;

/// An interface of a process.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRef {
    pub process_id: String,
    pub interface_id: String,
}

impl PortRef {
    fn of(p: &Process, interface_id: &str) -> Self {
        PortRef { process_id: p.id.clone(), interface_id: interface_id.to_string() }
    }

    /// As an option value: the process id (hex, no spaces) first.
    fn key(&self) -> String {
        format!("{} {}", self.process_id, self.interface_id)
    }

    fn parse(key: &str) -> Option<Self> {
        key.split_once(' ').map(|(p, i)| PortRef { process_id: p.into(), interface_id: i.into() })
    }
}

/// Whether each other port fits the one held, with the versions it would use or why not.
pub type FitMap = BTreeMap<PortRef, Result<(String, String), Refusal>>;

/// Every port's verdict seen from `from` (the port itself is left out).
pub fn fits_from(processes: &[Process], connections: &[Connection], from: &PortRef) -> FitMap {
    let mut out = FitMap::new();
    let Some(a) = processes.iter().find(|p| p.id == from.process_id) else { return out };
    for b in processes {
        for i in &b.interfaces {
            let to = PortRef::of(b, &i.id);
            if &to != from {
                out.insert(to, check_fit(a, &from.interface_id, b, &i.id, connections));
            }
        }
    }
    out
}

/// The verdict for one pair, also when a process has gone meanwhile.
fn verdict(g: &ConnectionGraph, from: &PortRef, to: &PortRef) -> Result<(String, String), Refusal> {
    let find = |r: &PortRef| g.processes.iter().find(|p| p.id == r.process_id);
    match (find(from), find(to)) {
        (Some(a), Some(b)) => check_fit(a, &from.interface_id, b, &to.interface_id, &g.connections),
        _ => Err(Refusal::UnknownInterface { message: "that process no longer exists".into() }),
    }
}

/// Where a process box is: its top left corner and height.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxGeom {
    pub x: f64,
    pub y: f64,
    pub h: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    pub boxes: BTreeMap<String, BoxGeom>,
    pub width: f64,
    pub height: f64,
}

pub fn box_height(p: &Process) -> f64 {
    HEADER_H + PORT_H * p.interfaces.len().max(1) as f64 + BOX_PAD
}

fn columns(n: usize) -> usize {
    match n {
        0 | 1 => 1,
        2..=4 => 2,
        5..=9 => 3,
        _ => 4,
    }
}

/// A grid in creation order, row by row; boxes the user moved keep their place.
pub fn layout(processes: &[Process], moved: &BTreeMap<String, (f64, f64)>) -> Layout {
    let cols = columns(processes.len());
    let rows = processes.len().div_ceil(cols);
    let mut row_h = vec![0.0f64; rows];
    for (i, p) in processes.iter().enumerate() {
        row_h[i / cols] = row_h[i / cols].max(box_height(p));
    }
    let mut row_y = Vec::with_capacity(rows);
    let mut y = MARGIN;
    for h in &row_h {
        row_y.push(y);
        y += h + GAP_Y;
    }
    let mut out = Layout { width: 2.0 * MARGIN + BOX_W, height: 2.0 * MARGIN + HEADER_H, ..Default::default() };
    for (i, p) in processes.iter().enumerate() {
        let (x, y) = moved
            .get(&p.id)
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .unwrap_or((MARGIN + (i % cols) as f64 * (BOX_W + GAP_X), row_y[i / cols]));
        let h = box_height(p);
        out.width = out.width.max(x + BOX_W + MARGIN);
        out.height = out.height.max(y + h + MARGIN);
        out.boxes.insert(p.id.clone(), BoxGeom { x, y, h });
    }
    out
}

/// The point on a port's left or right end where edges attach.
fn anchor(l: &Layout, processes: &[Process], port: &PortRef, right: bool) -> Option<(f64, f64)> {
    let p = processes.iter().find(|p| p.id == port.process_id)?;
    let index = p.interfaces.iter().position(|i| i.id == port.interface_id)?;
    let b = l.boxes.get(&p.id)?;
    Some((if right { b.x + BOX_W } else { b.x }, b.y + HEADER_H + index as f64 * PORT_H + PORT_H / 2.0))
}

/// An edge's path (a cubic curve between the facing ends of its two ports) and its middle.
pub fn edge_geometry(l: &Layout, processes: &[Process], c: &Connection) -> Option<(String, f64, f64)> {
    let a = PortRef { process_id: c.endpoint1.process_id.clone(), interface_id: c.endpoint1.interface_id.clone() };
    let b = PortRef { process_id: c.endpoint2.process_id.clone(), interface_id: c.endpoint2.interface_id.clone() };
    let (ba, bb) = (l.boxes.get(&a.process_id)?, l.boxes.get(&b.process_id)?);
    // Boxes in one column: both right ends, the curve bulging out; else the facing ends.
    let (ra, rb) = if (ba.x - bb.x).abs() < BOX_W / 2.0 {
        (true, true)
    } else if ba.x < bb.x {
        (true, false)
    } else {
        (false, true)
    };
    let (ax, ay) = anchor(l, processes, &a, ra)?;
    let (bx, by) = anchor(l, processes, &b, rb)?;
    let k = if ra == rb { 60.0 + (ay - by).abs() * 0.12 } else { ((bx - ax).abs() / 2.0).max(50.0) };
    let dir = |right: bool| if right { 1.0 } else { -1.0 };
    let (c1x, c2x) = (ax + dir(ra) * k, bx + dir(rb) * k);
    let path = format!("M{ax:.1} {ay:.1} C{c1x:.1} {ay:.1} {c2x:.1} {by:.1} {bx:.1} {by:.1}");
    // The curve's point at t = 1/2.
    let mx = (ax + 3.0 * c1x + 3.0 * c2x + bx) / 8.0;
    let my = (ay + by) / 2.0;
    Some((path, mx, my))
}

/// Text cut to `max` characters, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn process_name(g: &ConnectionGraph, id: &str, fallback: &str) -> String {
    g.processes.iter().find(|p| p.id == id).map(|p| p.name.clone()).unwrap_or_else(|| fallback.to_string())
}

fn interface_name(g: &ConnectionGraph, process_id: &str, interface_id: &str) -> String {
    g.processes
        .iter()
        .find(|p| p.id == process_id)
        .and_then(|p| p.interfaces.iter().find(|i| i.id == interface_id))
        .map(|i| i.name.clone())
        .unwrap_or_else(|| interface_id.to_string())
}

fn versions_text(c: &Connection) -> String {
    let v = |e: &Option<String>| e.clone().unwrap_or_else(|| "?".into());
    format!("{} ↔ {}", v(&c.endpoint1.interface_version_name), v(&c.endpoint2.interface_version_name))
}

/// "'a' Temperature ↔ 'b' Temperature" with the current process names.
fn ends_text(g: &ConnectionGraph, c: &Connection) -> String {
    let side = |e: &switchyard_core::model::Endpoint| {
        format!(
            "'{}' {}",
            process_name(g, &e.process_id, &e.process_name),
            interface_name(g, &e.process_id, &e.interface_id)
        )
    };
    format!("{} ↔ {}", side(&c.endpoint1), side(&c.endpoint2))
}

/// The state as people read it: `TERMINATING` while termination is under way.
fn state_word(c: &Connection) -> &'static str {
    if c.terminating && c.state != ConnectionState::Terminated {
        "TERMINATING"
    } else {
        c.state.as_str()
    }
}

// ------------------------------------------------------------------------------------------------
// Browser helpers
// ------------------------------------------------------------------------------------------------

/// An element's box on screen (left, top, width, height). Through `Reflect`, because the
/// web-sys features this build has do not include `DomRect`.
#[cfg(feature = "hydrate")]
fn client_rect(el: &leptos::web_sys::Element) -> Option<(f64, f64, f64, f64)> {
    use leptos::web_sys::{
        js_sys::{Function, Reflect},
        wasm_bindgen::JsCast,
    };
    let f: Function = Reflect::get(el, &"getBoundingClientRect".into()).ok()?.dyn_into().ok()?;
    let r = f.call0(el).ok()?;
    let n = |k: &str| Reflect::get(&r, &k.into()).ok().and_then(|v| v.as_f64());
    Some((n("left")?, n("top")?, n("width")?, n("height")?))
}

#[cfg(feature = "hydrate")]
fn layout_key(owner: &str) -> String {
    format!("switchyard.connections.layout.{owner}")
}

/// Where the user put boxes, kept in localStorage per owner (nothing when it is unavailable).
fn load_positions(owner: &str) -> BTreeMap<String, (f64, f64)> {
    #[cfg(feature = "hydrate")]
    {
        use leptos::web_sys::{
            js_sys::{Function, Reflect},
            wasm_bindgen::JsCast,
        };
        let read = || -> Option<String> {
            let storage = Reflect::get(&window(), &"localStorage".into()).ok().filter(|s| s.is_object())?;
            let get: Function = Reflect::get(&storage, &"getItem".into()).ok()?.dyn_into().ok()?;
            get.call1(&storage, &layout_key(owner).into()).ok()?.as_string()
        };
        read().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = owner;
        BTreeMap::new()
    }
}

fn save_positions(owner: &str, positions: &BTreeMap<String, (f64, f64)>) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::web_sys::{
            js_sys::{Function, Reflect},
            wasm_bindgen::JsCast,
        };
        let key = layout_key(owner);
        let write = || -> Option<()> {
            let storage = Reflect::get(&window(), &"localStorage".into()).ok().filter(|s| s.is_object())?;
            if positions.is_empty() {
                let remove: Function = Reflect::get(&storage, &"removeItem".into()).ok()?.dyn_into().ok()?;
                remove.call1(&storage, &key.into()).ok()?;
            } else {
                let set: Function = Reflect::get(&storage, &"setItem".into()).ok()?.dyn_into().ok()?;
                let text = serde_json::to_string(positions).ok()?;
                set.call2(&storage, &key.into(), &text.into()).ok()?;
            }
            Some(())
        };
        let _ = write();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (owner, positions);
}

// ------------------------------------------------------------------------------------------------
// The editor's state
// ------------------------------------------------------------------------------------------------

/// How a port looks while another is held.
#[derive(Clone, Debug, PartialEq)]
enum Look {
    Idle,
    Origin,
    Fits(String),
    Unfit(String),
}

/// Everything the editor's parts share; all handles, so it is `Copy`.
#[derive(Clone, Copy)]
struct Ed {
    owner: StoredValue<String>,
    graph: RwSignal<ConnectionGraph>,
    positions: RwSignal<BTreeMap<String, (f64, f64)>>,
    layout: Memo<Layout>,
    selected: RwSignal<Option<String>>,
    /// The Terminate button of the selected connection asks for confirmation.
    confirm: RwSignal<bool>,
    /// The port held (dragged from, or clicked first).
    from: RwSignal<Option<PortRef>>,
    /// Click-to-connect: the port was clicked, not dragged; the next port clicked completes it.
    sticky: RwSignal<bool>,
    moved: RwSignal<bool>,
    start: StoredValue<(f64, f64)>,
    pointer: RwSignal<(f64, f64)>,
    hover: RwSignal<Option<PortRef>>,
    /// A port's pointerup dealt with this release (the window's listener then leaves it).
    handled: StoredValue<bool>,
    /// A box being moved: its process and where in the box it was grabbed.
    moving: StoredValue<Option<(String, (f64, f64))>>,
    fits: Memo<Option<FitMap>>,
    alert: RwSignal<Option<AppError>>,
    status: RwSignal<String>,
    create: ServerAction<CreateConnection>,
    terminate: ServerAction<TerminateConnection>,
    svg: NodeRef<leptos::svg::Svg>,
    ready: ReadSignal<bool>,
}

impl Ed {
    fn look(&self, me: &PortRef) -> Look {
        let Some(from) = self.from.get() else { return Look::Idle };
        if &from == me {
            return Look::Origin;
        }
        self.fits.with(|f| match f.as_ref().and_then(|m| m.get(me)) {
            Some(Ok((a, b))) => Look::Fits(format!("{a} ↔ {b}")),
            Some(Err(r)) => Look::Unfit(r.message().to_string()),
            None => Look::Idle,
        })
    }

    /// A point of the page in the graph's coordinates.
    fn graph_point(&self, client_x: i32, client_y: i32) -> Option<(f64, f64)> {
        #[cfg(feature = "hydrate")]
        {
            let el = self.svg.get_untracked()?;
            let (left, top, w, h) = client_rect(&el)?;
            let (vw, vh) = self.layout.with_untracked(|l| (l.width, l.height));
            if w <= 0.0 || h <= 0.0 {
                return None;
            }
            Some(((client_x as f64 - left) * vw / w, (client_y as f64 - top) * vh / h))
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (client_x, client_y);
            None
        }
    }

    fn port_label(&self, p: &PortRef) -> String {
        self.graph.with_untracked(|g| {
            format!(
                "{} of '{}'",
                interface_name(g, &p.process_id, &p.interface_id),
                process_name(g, &p.process_id, &p.process_id)
            )
        })
    }

    fn start(&self, from: PortRef, at: (f64, f64), sticky: bool) {
        self.alert.set(None);
        self.start.set_value(at);
        self.pointer.set(at);
        self.moved.set(false);
        self.sticky.set(sticky);
        let label = self.port_label(&from);
        self.from.set(Some(from));
        let fitting =
            self.fits.with_untracked(|f| f.as_ref().map(|m| m.values().filter(|r| r.is_ok()).count()).unwrap_or(0));
        self.status.set(format!(
            "Connecting from {label}: {} fit. {}",
            match fitting {
                0 => "no port".to_string(),
                1 => "1 port".to_string(),
                n => format!("{n} ports"),
            },
            if sticky { "Choose the port to connect to, or press Escape." } else { "Drop on a highlighted port." }
        ));
    }

    fn cancel(&self, why: Option<&str>) {
        self.from.set(None);
        self.sticky.set(false);
        self.moved.set(false);
        self.hover.set(None);
        if let Some(why) = why {
            self.status.set(why.to_string());
        }
    }

    /// The held port was released over (or clicked on) `to`.
    fn drop_on(&self, to: PortRef) {
        let Some(from) = self.from.get_untracked() else { return };
        self.cancel(None);
        self.connect(from, to);
    }

    /// Connect two ports if they fit; say why not otherwise.
    fn connect(&self, from: PortRef, to: PortRef) {
        match self.graph.with_untracked(|g| verdict(g, &from, &to)) {
            Err(refusal) => {
                self.status.set(String::new());
                self.alert.set(Some(AppError {
                    code: refusal.code().into(),
                    message: refusal.message().to_string(),
                    field: None,
                }));
            }
            Ok((a, b)) => {
                self.alert.set(None);
                self.status.set(format!(
                    "Connecting {} to {} (versions {a} ↔ {b})…",
                    self.port_label(&from),
                    self.port_label(&to)
                ));
                self.create.dispatch(CreateConnection {
                    new: NewConnection {
                        endpoint1: EndpointRef { process_id: from.process_id, interface_id: from.interface_id },
                        endpoint2: EndpointRef { process_id: to.process_id, interface_id: to.interface_id },
                    },
                });
            }
        }
    }

    fn select(&self, id: String) {
        if self.selected.get_untracked().as_deref() != Some(id.as_str()) {
            self.confirm.set(false);
            self.selected.set(Some(id));
        }
    }

    /// Put a connection the server returned into the graph at once.
    fn merge(&self, c: Connection) {
        self.graph.update(|g| match g.connections.iter_mut().find(|x| x.id == c.id) {
            Some(x) if x.revision <= c.revision => *x = c,
            Some(_) => {}
            None if c.state != ConnectionState::Terminated => g.connections.push(c),
            None => {}
        });
    }
}

// ------------------------------------------------------------------------------------------------
// The page
// ------------------------------------------------------------------------------------------------

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let query = use_query_map();
    let owner = Memo::new(move |_| query.read().get("owner").unwrap_or_default());
    let data = Resource::new(move || owner.get(), open_connections);
    let navigate = use_navigate();
    view! {
        <Title text="Connections"/>
        <div class="page-head">
            <h1>"Connections"</h1>
            <A href="/processes">"All processes"</A>
        </div>
        <Transition fallback=Loading>
            {rv(move || {
                let navigate = navigate.clone();
                Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(d) => {
                            let owner_id = d.graph.owner_id.clone();
                            let filter = (!d.owners.is_empty()).then(|| {
                                let current = owner_id.clone();
                                view! {
                                    <Form method="GET" action="" attr:class="toolbar" attr:role="search">
                                        <label class="inline-label">
                                            "Owner"
                                            <select name="owner" on:change=move |ev| {
                                                let v = event_target_value(&ev);
                                                navigate(&format!("/connections?owner={v}"), NavigateOptions::default());
                                            }>
                                                {d.owners.iter().map(|(id, name)| {
                                                    let selected = *id == current;
                                                    view! { <option value=id.clone() selected=selected>{name.clone()}</option> }
                                                }).collect_view()}
                                            </select>
                                        </label>
                                        <noscript><button type="submit">"Show"</button></noscript>
                                    </Form>
                                }
                            });
                            view! { {filter} <Editor initial=d.graph owner=owner.get_untracked()/> }.into_any()
                        }
                    }
                })
            })}
        </Transition>
    }
}

#[component]
fn Editor(initial: ConnectionGraph, owner: String) -> impl IntoView {
    let owner_id = initial.owner_id.clone();
    let graph = RwSignal::new(initial);
    let positions = RwSignal::new(BTreeMap::<String, (f64, f64)>::new());
    let layout = Memo::new(move |_| graph.with(|g| positions.with(|m| layout(&g.processes, m))));
    let from = RwSignal::new(None::<PortRef>);
    let fits = Memo::new(move |_| from.get().map(|f| graph.with(|g| fits_from(&g.processes, &g.connections, &f))));
    let ed = Ed {
        owner: StoredValue::new(owner_id),
        graph,
        positions,
        layout,
        selected: RwSignal::new(None),
        confirm: RwSignal::new(false),
        from,
        sticky: RwSignal::new(false),
        moved: RwSignal::new(false),
        start: StoredValue::new((0.0, 0.0)),
        pointer: RwSignal::new((0.0, 0.0)),
        hover: RwSignal::new(None),
        handled: StoredValue::new(false),
        moving: StoredValue::new(None),
        fits,
        alert: RwSignal::new(None),
        status: RwSignal::new(String::new()),
        create: ServerAction::<CreateConnection>::new(),
        terminate: ServerAction::<TerminateConnection>::new(),
        svg: NodeRef::new(),
        ready: hydrated(),
    };

    // Positions the user gave boxes, once in the browser (the server renders the plain grid).
    Effect::new(move |_| {
        let saved = load_positions(&ed.owner.get_value());
        if !saved.is_empty() {
            ed.positions.set(saved);
        }
    });

    // Live states, without flicker: the graph is replaced only when something changed.
    let announce = RwSignal::new(String::new());
    let poll_error = RwSignal::new(None::<AppError>);
    let refresh = one_at_a_time(
        move || refresh_connections(owner.clone()),
        move |fresh| match fresh {
            Ok(fresh) => {
                let _ = poll_error.try_set(None);
                let news = graph.try_with_untracked(|old| {
                    if old == &fresh {
                        return None;
                    }
                    let news: Vec<String> = fresh
                        .connections
                        .iter()
                        .filter_map(|c| match old.connections.iter().find(|o| o.id == c.id) {
                            Some(o) if state_word(o) == state_word(c) => None,
                            _ => Some(format!("{} is {}", ends_text(&fresh, c), state_word(c))),
                        })
                        .chain(
                            old.connections
                                .iter()
                                .filter(|o| !fresh.connections.iter().any(|c| c.id == o.id))
                                .map(|o| format!("{} has ended", ends_text(old, o))),
                        )
                        .collect();
                    Some(news)
                });
                if let Some(Some(news)) = news {
                    if !news.is_empty() {
                        let _ = announce.try_set(news.join("; "));
                    }
                    let _ = graph.try_set(fresh);
                }
            }
            Err(e) => {
                let _ = poll_error.try_set(Some(e));
            }
        },
    );
    poll_while_mounted(POLL_EVERY, refresh.clone());

    Effect::watch(
        move || ed.create.version().get(),
        {
            let refresh = refresh.clone();
            move |_, _, _| {
                match ed.create.value().get_untracked() {
                    Some(Ok(c)) => {
                        let text = graph.with_untracked(|g| ends_text(g, &c));
                        ed.status.set(format!("Connected {text}; it is {} until both processes accept it.", c.state));
                        ed.merge(c);
                    }
                    Some(Err(e)) => {
                        ed.status.set(String::new());
                        ed.alert.set(Some(e));
                    }
                    None => {}
                }
                refresh();
            }
        },
        false,
    );
    Effect::watch(
        move || ed.terminate.version().get(),
        move |_, _, _| {
            match ed.terminate.value().get_untracked() {
                Some(Ok(c)) => {
                    ed.confirm.set(false);
                    let text = graph.with_untracked(|g| ends_text(g, &c));
                    ed.status.set(format!("Terminating {text}: both processes are being told."));
                    ed.merge(c);
                }
                Some(Err(e)) => ed.alert.set(Some(e)),
                None => {}
            }
            refresh();
        },
        false,
    );

    // Drags go on outside the graph (and end there): the window follows the pointer.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let moves = window_event_listener(leptos::ev::pointermove, move |ev| on_pointer_move(ed, &ev));
            let ups = window_event_listener(leptos::ev::pointerup, move |_| on_pointer_up(ed));
            let cancels = window_event_listener(leptos::ev::pointercancel, move |_| {
                ed.moving.set_value(None);
                ed.cancel(Some("Nothing was connected."));
            });
            let keys = window_event_listener(leptos::ev::keydown, move |ev| {
                if ev.key() == "Escape" && ed.from.get_untracked().is_some() {
                    ed.cancel(Some("Nothing was connected."));
                }
            });
            on_cleanup(move || {
                moves.remove();
                ups.remove();
                cancels.remove();
                keys.remove();
            });
        }
    });

    let empty = Memo::new(move |_| graph.with(|g| g.processes.is_empty()));
    view! {
        <p class="visually-hidden" aria-live="polite">{rx(move || announce.get())}</p>
        {rv(move || poll_error.get().map(|e| view! { <ErrorMessage error=e/> }))}
        {rv(move || if empty.get() {
            view! {
                <EmptyState title="No processes to connect">
                    "Deploy a service from the " <A href="/services">"catalogue"</A> " first; its interfaces appear here as ports."
                </EmptyState>
            }.into_any()
        } else {
            view! {
                <p class="hint" id="graph-help">
                    "Drag from one port to another to connect them, or click a port and then another. While a port is held, the ports it fits are highlighted and the others greyed out; hover one to see why. Select an edge to inspect or terminate it. The table and form below do the same with a keyboard."
                </p>
                <div class=rx(move || if ed.selected.with(|s| s.is_some()) { "editor with-panel" } else { "editor" })>
                    // The messages go under the graph, so nothing above it moves while a port is held.
                    <div class="stack-tight">
                        <Graph ed/>
                        <div class="editor-messages">
                            <p class="drag-status muted" role="status" data-testid="editor-status">{rx(move || drag_status(ed))}</p>
                            <div data-testid="editor-alert" class="editor-alert">
                                {rv(move || ed.alert.get().map(|e| view! {
                                    <div class="alert-line">
                                        <ErrorMessage error=e/>
                                        <button type="button" class="small" on:click=move |_| ed.alert.set(None)>"Dismiss"</button>
                                    </div>
                                }))}
                            </div>
                            <Legend/>
                        </div>
                    </div>
                    {rv(move || ed.selected.get().map(|id| view! { <Panel ed id/> }))}
                </div>
                <ConnectionTable ed/>
                <ConnectForm ed/>
            }.into_any()
        })}
    }
    .into_any()
}

/// The line under the graph: what is held and what the pointer is over.
fn drag_status(ed: Ed) -> String {
    if ed.create.pending().get() {
        return "Connecting…".into();
    }
    if ed.from.with(|f| f.is_some()) {
        if let Some(h) = ed.hover.get() {
            return match ed.look(&h) {
                Look::Fits(v) => format!("{} fits (versions {v}): release to connect.", ed.port_label(&h)),
                Look::Unfit(reason) => format!("{} does not fit: {reason}", ed.port_label(&h)),
                _ => ed.status.get(),
            };
        }
    }
    ed.status.get()
}

#[cfg(feature = "hydrate")]
fn on_pointer_move(ed: Ed, ev: &leptos::ev::PointerEvent) {
    let moving = ed.moving.get_value();
    if moving.is_none() && ed.from.with_untracked(|f| f.is_none()) {
        return;
    }
    let Some((x, y)) = ed.graph_point(ev.client_x(), ev.client_y()) else { return };
    if let Some((id, (dx, dy))) = moving {
        ed.positions.update(|m| {
            m.insert(id, ((x - dx).max(0.0).round(), (y - dy).max(0.0).round()));
        });
        return;
    }
    let (sx, sy) = ed.start.get_value();
    if !ed.moved.get_untracked() && ((x - sx).powi(2) + (y - sy).powi(2)).sqrt() > DRAG_SLOP {
        ed.moved.set(true);
    }
    ed.pointer.set((x, y));
}

#[cfg(feature = "hydrate")]
fn on_pointer_up(ed: Ed) {
    if ed.handled.get_value() {
        ed.handled.set_value(false);
        return;
    }
    if ed.moving.get_value().is_some() {
        ed.moving.set_value(None);
        let keep: BTreeMap<String, (f64, f64)> = ed.graph.with_untracked(|g| {
            ed.positions.with_untracked(|m| {
                m.iter()
                    .filter(|(id, _)| g.processes.iter().any(|p| &p.id == *id))
                    .map(|(k, v)| (k.clone(), *v))
                    .collect()
            })
        });
        save_positions(&ed.owner.get_value(), &keep);
        return;
    }
    if ed.from.with_untracked(|f| f.is_some()) {
        ed.cancel(Some("Released away from a port: nothing was connected. Drop on a highlighted port to connect."));
    }
}

// ------------------------------------------------------------------------------------------------
// The graph
// ------------------------------------------------------------------------------------------------

#[component]
fn Graph(ed: Ed) -> impl IntoView {
    let size = Memo::new(move |_| ed.layout.with(|l| (l.width.round(), l.height.round())));
    // The rubber band from the held port to the pointer: one element, moved, never rebuilt.
    let band = Memo::new(move |_| -> Option<(f64, f64, f64, f64)> {
        let from = ed.from.get()?;
        if !(ed.moved.get() || ed.sticky.get()) {
            return None;
        }
        let (px, py) = ed.pointer.get();
        let (ax, ay) = ed.graph.with(|g| {
            ed.layout.with(|l| {
                let right = l.boxes.get(&from.process_id).map(|b| px > b.x + BOX_W / 2.0).unwrap_or(true);
                anchor(l, &g.processes, &from, right)
            })
        })?;
        Some((ax, ay, px, py))
    });
    let coordinate = move |i: usize| {
        rx(move || band.with(|b| b.map(|b| format!("{:.1}", [b.0, b.1, b.2, b.3][i])).unwrap_or_else(|| "0".into())))
    };
    let reset = move |_| {
        ed.positions.set(BTreeMap::new());
        save_positions(&ed.owner.get_value(), &BTreeMap::new());
    };
    view! {
        <div class="card graph-card">
            <div class="graph-scroll">
                <svg class=rx(move || if ed.from.with(|f| f.is_some()) { "graph dragging" } else { "graph" })
                    node_ref=ed.svg
                    xmlns="http://www.w3.org/2000/svg"
                    viewBox=rx(move || { let (w, h) = size.get(); format!("0 0 {w} {h}") })
                    width=rx(move || size.get().0.to_string())
                    height=rx(move || size.get().1.to_string())
                    role="group" aria-label="Connection graph" aria-describedby="graph-help"
                    data-testid="connection-graph">
                    <g class="boxes">
                        <For each=move || ed.graph.with(|g| g.processes.clone()) key=|p| (p.id.clone(), p.revision) let:p>
                            {process_box(ed, p)}
                        </For>
                    </g>
                    <g class="edges">
                        <For each=move || ed.graph.with(|g| g.connections.clone()) key=|c| (c.id.clone(), c.revision, c.terminating) let:c>
                            {edge_view(ed, c)}
                        </For>
                    </g>
                    <line class=rx(move || if band.with(|b| b.is_some()) { "rubber-band" } else { "rubber-band idle" })
                        x1=coordinate(0) y1=coordinate(1) x2=coordinate(2) y2=coordinate(3)/>
                </svg>
            </div>
            {rv(move || ed.positions.with(|m| !m.is_empty()).then(|| view! {
                <div class="graph-tools"><button type="button" class="small" on:click=reset>"Reset layout"</button></div>
            }))}
            {rv(move || ed.graph.with(|g| (g.process_total > g.processes.len() as u64).then(|| format!(
                "Showing the oldest {} of {} processes.", g.processes.len(), g.process_total
            ))).map(|t| view! { <p class="muted small">{t}</p> }))}
        </div>
    }
    .into_any()
}

fn process_box(ed: Ed, p: Process) -> AnyView {
    let pid = p.id.clone();
    let transform = {
        let pid = pid.clone();
        rx(move || {
            ed.layout.with(|l| l.boxes.get(&pid).map(|b| format!("translate({} {})", b.x, b.y)).unwrap_or_default())
        })
    };
    let h = box_height(&p);
    let state = p.state.as_str();
    let lower = state.to_lowercase();
    let badge_w = state.len() as f64 * 7.0 + 14.0;
    let title = format!(
        "{} — {} {} — {}{}",
        p.name,
        p.service_id,
        p.service_version,
        state,
        p.state_reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
    );
    let grab = {
        let pid = pid.clone();
        move |ev: leptos::ev::PointerEvent| {
            if ev.button() != 0 || ed.from.with_untracked(|f| f.is_some()) {
                return;
            }
            ev.prevent_default();
            let Some((x, y)) = ed.graph_point(ev.client_x(), ev.client_y()) else { return };
            if let Some((bx, by)) = ed.layout.with_untracked(|l| l.boxes.get(&pid).map(|b| (b.x, b.y))) {
                ed.moving.set_value(Some((pid.clone(), (x - bx, y - by))));
            }
        }
    };
    let ports = if p.interfaces.is_empty() {
        view! { <text class="no-ports" x="12" y=(HEADER_H + 20.0).to_string()>"no interfaces"</text> }.into_any()
    } else {
        p.interfaces.iter().enumerate().map(|(i, iface)| port_view(ed, &p, i, iface)).collect_view().into_any()
    };
    view! {
        <g class=format!("proc state-{lower}") data-box=p.name.clone() data-process-id=pid transform=transform>
            <title>{title}</title>
            <rect class="proc-box" width=BOX_W.to_string() height=h.to_string() rx="8"/>
            <g class="proc-head" on:pointerdown=grab>
                <rect class="proc-handle" width=BOX_W.to_string() height=HEADER_H.to_string() rx="8"/>
                <text class="proc-name" x="12" y="23">{clip(&p.name, 27)}</text>
                <text class="proc-service" x="12" y="44">{clip(&format!("{} {}", p.service_id, p.service_version), 20)}</text>
                <g class=format!("svg-badge state-{lower}") transform=format!("translate({} 31)", BOX_W - 10.0 - badge_w)>
                    <rect width=badge_w.to_string() height="17" rx="8.5"/>
                    <text x=(badge_w / 2.0).to_string() y="12.5" text-anchor="middle">{state}</text>
                </g>
            </g>
            <line class="proc-rule" x1="0" y1=HEADER_H.to_string() x2=BOX_W.to_string() y2=HEADER_H.to_string()/>
            {ports}
        </g>
    }
    .into_any()
}

fn port_view(ed: Ed, p: &Process, index: usize, iface: &switchyard_core::model::Interface) -> AnyView {
    let me = PortRef::of(p, &iface.id);
    let look = {
        let me = me.clone();
        Memo::new(move |_| ed.look(&me))
    };
    let versions = iface.interface_versions.iter().map(|v| v.version_name.clone()).collect::<Vec<_>>().join(", ");
    let about = format!(
        "{} ({}) of '{}': version{} {}; {}{}",
        iface.name,
        iface.id,
        p.name,
        if iface.interface_versions.len() == 1 { "" } else { "s" },
        if versions.is_empty() { "none".into() } else { versions },
        if iface.allow_multiple { "allows several connections" } else { "allows one connection" },
        if iface.auto_connect { "; connects automatically" } else { "" },
    );
    let name = format!("{} of '{}'", iface.name, p.name);
    let label = {
        let (about, name) = (about.clone(), name.clone());
        rx(move || match look.get() {
            Look::Idle => format!("{about}. Press Enter to connect from here."),
            Look::Origin => format!("{name}: connecting from here; press Escape to stop."),
            Look::Fits(v) => format!("{name}: fits (versions {v}); press Enter to connect."),
            Look::Unfit(reason) => format!("{name}: cannot connect: {reason}"),
        })
    };
    let title = rx(move || match look.get() {
        Look::Idle => format!("{about}\nDrag to another port to connect."),
        Look::Origin => "Connecting from here".to_string(),
        Look::Fits(v) => format!("Fits: versions {v}"),
        Look::Unfit(reason) => reason,
    });
    let marks = format!(
        "{}{}",
        if iface.allow_multiple { "1:n" } else { "1:1" },
        if iface.auto_connect { " · auto" } else { "" }
    );
    let (m1, m2, m3, m4, m5) = (me.clone(), me.clone(), me.clone(), me.clone(), me);
    let y = HEADER_H + index as f64 * PORT_H;
    view! {
        <g class=rx(move || match look.get() {
                Look::Idle => "port",
                Look::Origin => "port origin",
                Look::Fits(_) => "port fits",
                Look::Unfit(_) => "port unfit",
            })
            transform=format!("translate(0 {y})")
            data-process=p.name.clone() data-process-id=p.id.clone() data-interface=iface.id.clone()
            data-reason=rx(move || match look.get() { Look::Unfit(r) => Some(r), _ => None })
            data-multiple=iface.allow_multiple.to_string() data-auto=iface.auto_connect.to_string()
            tabindex="0" role="button" aria-label=label
            on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                if ev.button() != 0 {
                    return;
                }
                ev.prevent_default();
                // Touch pointers are captured by the element pressed; release it, so the
                // port the finger is lifted over gets the pointerup.
                let _ = event_target::<leptos::web_sys::Element>(&ev).release_pointer_capture(ev.pointer_id());
                // In click-to-connect mode the release on a port completes it.
                if ed.sticky.get_untracked() && ed.from.with_untracked(|f| f.is_some()) {
                    return;
                }
                let at = ed.graph_point(ev.client_x(), ev.client_y()).unwrap_or((0.0, 0.0));
                ed.start(m1.clone(), at, false);
            }
            on:pointerup=move |_| {
                let Some(from) = ed.from.get_untracked() else { return };
                ed.handled.set_value(true);
                if from != m2 {
                    ed.drop_on(m2.clone());
                } else if ed.sticky.get_untracked() || ed.moved.get_untracked() {
                    ed.cancel(Some("Nothing was connected."));
                } else {
                    // A click, not a drag: keep the port held until another is clicked.
                    let label = ed.port_label(&m2);
                    ed.sticky.set(true);
                    ed.status.set(format!("Connecting from {label}: click the port to connect to, or press Escape."));
                }
            }
            on:pointerenter=move |_| ed.hover.set(Some(m3.clone()))
            on:pointerleave=move |_| if ed.hover.with_untracked(|h| h.as_ref() == Some(&m4)) { ed.hover.set(None) }
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() != "Enter" && ev.key() != " " {
                    return;
                }
                ev.prevent_default();
                match ed.from.get_untracked() {
                    None => {
                        let at = ed.graph.with_untracked(|g| ed.layout.with_untracked(|l| anchor(l, &g.processes, &m5, true))).unwrap_or((0.0, 0.0));
                        ed.start(m5.clone(), at, true);
                        ed.pointer.set((at.0 + 40.0, at.1));
                    }
                    Some(f) if f == m5 => ed.cancel(Some("Nothing was connected.")),
                    Some(_) => ed.drop_on(m5.clone()),
                }
            }>
            <title>{title}</title>
            <rect class="port-hit" x="6" y="3" width=(BOX_W - 12.0).to_string() height=(PORT_H - 6.0).to_string() rx="6"/>
            <circle class="port-dot" cx="0" cy=(PORT_H / 2.0).to_string() r="5"/>
            <circle class="port-dot" cx=BOX_W.to_string() cy=(PORT_H / 2.0).to_string() r="5"/>
            <text class="port-name" x="16" y="19.5">{clip(&iface.name, 20)}</text>
            <text class="port-marks" x=(BOX_W - 16.0).to_string() y="19.5" text-anchor="end">{marks}</text>
        </g>
    }
    .into_any()
}

fn edge_view(ed: Ed, c: Connection) -> AnyView {
    let geometry = {
        let c = c.clone();
        Memo::new(move |_| ed.graph.with(|g| ed.layout.with(|l| edge_geometry(l, &g.processes, &c))))
    };
    let id = c.id.clone();
    let describe = ed.graph.with_untracked(|g| {
        format!(
            "Connection {}: {} (versions {}){}",
            ends_text(g, &c),
            state_word(&c),
            versions_text(&c),
            c.state_reason.as_ref().map(|r| format!("; {r}")).unwrap_or_default()
        )
    });
    let class =
        format!("edge state-{}{}", c.state.as_str().to_lowercase(), if c.terminating { " terminating" } else { "" });
    let (id1, id2, id3) = (id.clone(), id.clone(), id.clone());
    let label = describe.clone();
    // A pill over the curve's middle with the versions in use.
    let label_text = versions_text(&c);
    let label_w = label_text.chars().count() as f64 * 6.8 + 14.0;
    let path = move || geometry.with(|g| g.as_ref().map(|g| g.0.clone()).unwrap_or_default());
    view! {
        <g class=rx(move || if ed.selected.with(|s| s.as_deref() == Some(id1.as_str())) { format!("{class} selected") } else { class.clone() })
            data-connection=id.clone() data-state=c.state.as_str() data-terminating=c.terminating.then_some("true")
            tabindex="0" role="button" aria-label=label
            on:click=move |_| ed.select(id2.clone())
            on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Enter" || ev.key() == " " {
                ev.prevent_default();
                ed.select(id3.clone());
            }>
            <title>{describe}</title>
            <path class="edge-hit" d=rx(path)/>
            <path class="edge-line" d=rx(path)/>
            <g class="edge-label" transform=rx(move || geometry.with(|g| g.as_ref().map(|g| format!("translate({:.1} {:.1})", g.1, g.2)).unwrap_or_default()))>
                <rect x=format!("{:.1}", -label_w / 2.0) y="-9" width=format!("{label_w:.1}") height="18" rx="9"/>
                <text y="4" text-anchor="middle">{label_text}</text>
            </g>
        </g>
    }
    .into_any()
}

/// What the marks in the graph mean.
#[component]
fn Legend() -> impl IntoView {
    view! {
        <ul class="graph-legend muted small" aria-label="Legend">
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line state-connected" x1="0" y1="5" x2="28" y2="5"/></svg>"connected"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line state-starting" x1="0" y1="5" x2="28" y2="5"/></svg>"starting"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line state-interrupted" x1="0" y1="5" x2="28" y2="5"/></svg>"interrupted or suspended"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line terminating" x1="0" y1="5" x2="28" y2="5"/></svg>"terminating"</li>
            <li><code>"1:1"</code>" one connection only · " <code>"1:n"</code>" several · " <code>"auto"</code>" connects automatically"</li>
            <li>"Edge labels: the interface versions in use"</li>
        </ul>
    }
    .into_any()
}

// ------------------------------------------------------------------------------------------------
// The selected connection
// ------------------------------------------------------------------------------------------------

#[component]
fn Panel(ed: Ed, id: String) -> impl IntoView {
    let detail = RwSignal::new(None::<ConnectionDetail>);
    let error = RwSignal::new(None::<AppError>);
    let load = one_at_a_time(
        {
            let id = id.clone();
            move || get_connection(id.clone())
        },
        move |fresh| match fresh {
            Ok(d) => {
                let _ = error.try_set(None);
                if detail.try_with_untracked(|old| old.as_ref() != Some(&d)) == Some(true) {
                    let _ = detail.try_set(Some(d));
                }
            }
            Err(e) => {
                let _ = error.try_set(Some(e));
            }
        },
    );
    Effect::new({
        let load = load.clone();
        move |_| load()
    });
    poll_while_mounted(POLL_EVERY, load.clone());
    Effect::watch(move || ed.terminate.version().get(), move |_, _, _| load(), false);
    let retry = ServerAction::<RetryPendingChange>::new();
    let cancel = ServerAction::<CancelPendingChange>::new();

    // The newest of what the graph and the panel's own reading say.
    let connection = {
        let id = id.clone();
        Memo::new(move |_| {
            let from_graph = ed.graph.with(|g| g.connections.iter().find(|c| c.id == id).cloned());
            let from_detail = detail.with(|d| d.as_ref().map(|d| d.connection.clone()));
            match (from_graph, from_detail) {
                (Some(a), Some(b)) => Some(if a.revision > b.revision { a } else { b }),
                (a, b) => a.or(b),
            }
        })
    };
    let heading = NodeRef::<leptos::html::H2>::new();
    Effect::new(move |_| {
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });
    let close = move |_| {
        ed.confirm.set(false);
        ed.selected.set(None);
    };
    let body = rv(move || {
        let Some(c) = connection.get() else {
            return match error.get() {
                Some(e) => view! { <ErrorMessage error=e/> }.into_any(),
                None => view! { <Loading/> }.into_any(),
            };
        };
        let (ends, from, to) = ed.graph.with_untracked(|g| {
            let side = |e: &switchyard_core::model::Endpoint| {
                (
                    e.process_id.clone(),
                    process_name(g, &e.process_id, &e.process_name),
                    interface_name(g, &e.process_id, &e.interface_id),
                    e.interface_id.clone(),
                    e.interface_version_name.clone().unwrap_or_else(|| "?".into()),
                )
            };
            (ends_text(g, &c), side(&c.endpoint1), side(&c.endpoint2))
        });
        let endpoint = |(pid, pname, iname, iid, version): (String, String, String, String, String)| {
            view! {
                <dd>
                    <A href=format!("/processes/{pid}")>{pname}</A>" · "{iname}
                    <div class="muted small"><code>{iid}</code>" · version "{version}</div>
                </dd>
            }
        };
        let word = state_word(&c);
        let ended = c.state == ConnectionState::Terminated;
        let terminating = c.terminating && !ended;
        let cid = c.id.clone();
        let actions = if ended {
            view! { <p class="notice" role="status">"This connection has ended."</p> }.into_any()
        } else if terminating {
            view! { <p class="notice" role="status">"Being terminated: both processes are being told to close it."</p> }
                .into_any()
        } else {
            view! {
                <div class="actions">
                    {rv(move || if ed.confirm.get() {
                        let cid = cid.clone();
                        view! {
                            <span class="confirm" role="group" aria-label="Confirm termination">
                                <button type="button" class="danger" disabled=rx(move || ed.terminate.pending().get() || !ed.ready.get())
                                    on:click=move |_| { ed.terminate.dispatch(TerminateConnection { id: cid.clone() }); }>
                                    "Really terminate"
                                </button>
                                <button type="button" on:click=move |_| ed.confirm.set(false)>"Keep it"</button>
                            </span>
                        }.into_any()
                    } else {
                        view! {
                            <button type="button" class="danger" disabled=rx(move || !ed.ready.get()) on:click=move |_| ed.confirm.set(true)>"Terminate…"</button>
                        }.into_any()
                    })}
                </div>
            }.into_any()
        };
        view! {
            <p class="panel-ends">{ends}</p>
            <div class="state-line">
                <span class=format!("state-badge state-{}", word.to_lowercase()) data-state=word>{word}</span>
                {c.state_reason.clone().map(|r| view! { <span class="reason small">{r}</span> })}
            </div>
            {actions}
            <dl class="facts">
                <dt>"From"</dt>{endpoint(from)}
                <dt>"To"</dt>{endpoint(to)}
                <dt>"Port"</dt><dd>{if c.port == 0 { "—".to_string() } else { c.port.to_string() }}</dd>
                <dt>"Created"</dt><dd>{when(&c.created)}</dd>
                <dt>"Updated"</dt><dd>{when(&c.updated)}</dd>
                <dt>"Id"</dt><dd><code class="digest">{c.id.clone()}</code></dd>
            </dl>
        }
        .into_any()
    });
    let changes = rv(move || {
        let list = detail.with(|d| d.as_ref().map(|d| d.changes.clone()));
        match list {
            None => ().into_any(),
            Some(list) if list.is_empty() => view! { <p class="muted small">"None."</p> }.into_any(),
            Some(list) => view! {
                <ul class="panel-changes">
                    {list.into_iter().map(|c| {
                        let state = change_state(c.state);
                        let (id, kind) = (c.id.clone(), c.kind.as_str());
                        view! {
                            <li data-change=id data-kind=kind>
                                <div>{c.description.clone()}</div>
                                <div class="small">
                                    <span class=format!("state change-{state}")>{state.to_uppercase()}</span>
                                    <span class="muted">{format!(" · {} of {} attempts · {}", c.attempts, c.max_attempts, when(&c.created))}</span>
                                </div>
                                {c.last_error.clone().map(|e| view! { <div class="muted small reason">{e}</div> })}
                                <ChangeActions change=c retry cancel/>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        }
    });
    view! {
        <aside class="card stack conn-panel" aria-labelledby="conn-panel-heading" data-testid="connection-panel" data-connection=id.clone()>
            <div class="section-head">
                <h2 id="conn-panel-heading" tabindex="-1" node_ref=heading>"Connection"</h2>
                <button type="button" class="small" aria-label="Close the connection's details" on:click=close>"Close"</button>
            </div>
            {body}
            <h3>"Pending changes"</h3>
            <ChangeActionResult retry cancel/>
            {changes}
        </aside>
    }
    .into_any()
}

// ------------------------------------------------------------------------------------------------
// The same as a table, and the keyboard's way to connect
// ------------------------------------------------------------------------------------------------

#[component]
fn ConnectionTable(ed: Ed) -> impl IntoView {
    let rows = rv(move || {
        if ed.graph.with(|g| g.connections.is_empty()) {
            return view! { <p class="muted">"No connections yet. Drag from one port to another above, or use the form below."</p> }.into_any();
        }
        view! {
            <table class="list connections">
                <thead>
                    <tr><th>"From"</th><th>"To"</th><th>"State"</th><th>"Versions"</th><th><span class="visually-hidden">"Actions"</span></th></tr>
                </thead>
                <tbody>
                    <For each=move || ed.graph.with(|g| g.connections.clone()) key=|c| (c.id.clone(), c.revision, c.terminating) let:c>
                        {connection_row(ed, c)}
                    </For>
                </tbody>
            </table>
        }
        .into_any()
    });
    view! {
        <section class="card stack" aria-labelledby="connections-heading">
            <h2 id="connections-heading">"All connections"</h2>
            {rows}
        </section>
    }
    .into_any()
}

fn connection_row(ed: Ed, c: Connection) -> AnyView {
    let (from, to, ends) = ed.graph.with_untracked(|g| {
        let side = |e: &switchyard_core::model::Endpoint| {
            (
                e.process_id.clone(),
                process_name(g, &e.process_id, &e.process_name),
                interface_name(g, &e.process_id, &e.interface_id),
            )
        };
        (side(&c.endpoint1), side(&c.endpoint2), ends_text(g, &c))
    });
    let cell = |(pid, pname, iname): (String, String, String)| {
        view! {
            <td><A href=format!("/processes/{pid}")>{pname}</A><div class="muted small">{iname}</div></td>
        }
    };
    let word = state_word(&c);
    let live = c.state != ConnectionState::Terminated && !c.terminating;
    let id = c.id.clone();
    let (id1, id2, id3) = (id.clone(), id.clone(), id.clone());
    let ends2 = ends.clone();
    view! {
        <tr data-connection=id data-state=c.state.as_str()
            class=rx(move || if ed.selected.with(|s| s.as_deref() == Some(id1.as_str())) { "selected" } else { "" })>
            {cell(from)}
            {cell(to)}
            <td>
                <span class=format!("state-badge state-{}", word.to_lowercase())>{word}</span>
                {c.state_reason.clone().map(|r| view! { <div class="muted small reason">{r}</div> })}
            </td>
            <td class="mono small">{versions_text(&c)}</td>
            <td>
                <div class="row-actions">
                    <button type="button" class="small" aria-label=format!("Details of {ends}") on:click=move |_| ed.select(id2.clone())>"Details"</button>
                    {live.then(|| view! {
                        <button type="button" class="small danger" aria-label=format!("Terminate {ends2}…")
                            on:click=move |_| { ed.select(id3.clone()); ed.confirm.set(true); }>"Terminate…"</button>
                    })}
                </div>
            </td>
        </tr>
    }
    .into_any()
}

/// Connect with a form: choose a port, then one of those that fit it.
#[component]
fn ConnectForm(ed: Ed) -> impl IntoView {
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    // Every port, in graph order, with its label.
    let ports = Memo::new(move |_| {
        ed.graph.with(|g| {
            g.processes
                .iter()
                .flat_map(|p| {
                    p.interfaces
                        .iter()
                        .map(move |i| (PortRef::of(p, &i.id), format!("{} — {} ({})", p.name, i.name, i.id)))
                })
                .collect::<Vec<_>>()
        })
    });
    let from_ref = Memo::new(move |_| PortRef::parse(&from.get()));
    let targets = Memo::new(move |_| {
        let Some(f) = from_ref.get() else { return Vec::new() };
        let verdicts = ed.graph.with(|g| fits_from(&g.processes, &g.connections, &f));
        ports.with(|all| {
            all.iter()
                .filter_map(|(p, label)| verdicts.get(p).map(|v| (p.clone(), label.clone(), v.clone())))
                .collect::<Vec<_>>()
        })
    });
    // The catalogue's services that would fit: deploy one to connect it.
    let services = LocalResource::new(move || {
        let f = from_ref.get();
        async move {
            match f {
                None => Ok(None),
                Some(f) => connection_candidates(f.process_id, f.interface_id).await.map(Some),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(f), Some(t)) = (PortRef::parse(&from.get_untracked()), PortRef::parse(&to.get_untracked())) else {
            ed.alert.set(Some(AppError {
                code: "validation_failed".into(),
                message: "choose both interfaces to connect".into(),
                field: None,
            }));
            return;
        };
        ed.connect(f, t);
        to.set(String::new());
    };
    let from_options = rv(move || {
        let current = from.get_untracked();
        view! {
            <option value="" selected=current.is_empty()>"Choose an interface…"</option>
            {ports.get().into_iter().map(|(p, label)| {
                let key = p.key();
                let selected = key == current;
                view! { <option value=key selected=selected>{label}</option> }
            }).collect_view()}
        }
        .into_any()
    });
    let to_options = rv(move || {
        let current = to.get_untracked();
        let list = targets.get();
        if from_ref.with(|f| f.is_none()) {
            return view! { <option value="">"First choose where to connect from"</option> }.into_any();
        }
        let (fit, unfit): (Vec<_>, Vec<_>) = list.into_iter().partition(|(_, _, v)| v.is_ok());
        let fit_empty = fit.is_empty();
        view! {
            <option value="" selected=current.is_empty()>{if fit_empty { "Nothing fits this interface" } else { "Choose an interface that fits…" }}</option>
            {(!fit_empty).then(|| view! {
                <optgroup label="Fits">
                    {fit.into_iter().map(|(p, label, v)| {
                        let key = p.key();
                        let selected = key == current;
                        let versions = v.map(|(a, b)| format!("{a} ↔ {b}")).unwrap_or_default();
                        view! { <option value=key selected=selected data-fits="true">{format!("{label} — versions {versions}")}</option> }
                    }).collect_view()}
                </optgroup>
            })}
            {(!unfit.is_empty()).then(|| view! {
                <optgroup label="Does not fit">
                    {unfit.into_iter().map(|(p, label, v)| {
                        let reason = v.err().map(|r| r.message().to_string()).unwrap_or_default();
                        view! { <option value=p.key() disabled=true data-fits="false" data-reason=reason.clone()>{format!("{label}: {reason}")}</option> }
                    }).collect_view()}
                </optgroup>
            })}
        }
        .into_any()
    });
    let summary = rv(move || {
        from_ref.get().map(|_| {
            let (fit, all) = targets.with(|t| (t.iter().filter(|(_, _, v)| v.is_ok()).count(), t.len()));
            view! { <span class="hint" id="connect-to-hint">{format!("{fit} of {all} other interfaces fit.")}</span> }
        })
    });
    let service_hint = rv(move || match services.get() {
        Some(Err(e)) => Some(view! { <ErrorMessage error=e/> }.into_any()),
        Some(Ok(Some(c))) => {
            let fitting: Vec<_> = c.services.into_iter().filter(|s| s.fits).collect();
            (!fitting.is_empty()).then(|| view! {
                <div class="stack-tight">
                    <span class="hint">"Services in the catalogue that would fit (deploy one, then connect it):"</span>
                    <ul class="service-fits">
                        {fitting.into_iter().map(|s| {
                            let version = s.service_version.clone().unwrap_or_default();
                            let href = format!("/processes/new?service={}&version={}", s.service_id, version);
                            view! {
                                <li><A href=href>{format!("{} {}", s.service_id, version)}</A>
                                    <span class="muted small">{format!(" · {} ({})", s.interface_name, s.interface_id)}</span></li>
                            }
                        }).collect_view()}
                    </ul>
                </div>
            }.into_any())
        }
        _ => None,
    });
    view! {
        <section class="card stack" aria-labelledby="connect-heading">
            <h2 id="connect-heading">"Connect two interfaces"</h2>
            <form class="stack connect-form" novalidate on:submit=submit>
                <div class="grid-2">
                    <div class="field">
                        <label for="connect-from">"From"</label>
                        <select id="connect-from" name="from" prop:value=rx(move || from.get()) on:change=move |ev| { from.set(event_target_value(&ev)); to.set(String::new()); }>
                            {from_options}
                        </select>
                    </div>
                    <div class="field">
                        <label for="connect-to">"To"</label>
                        <select id="connect-to" name="to" aria-describedby="connect-to-hint" prop:value=rx(move || to.get())
                            on:change=move |ev| to.set(event_target_value(&ev))>
                            {to_options}
                        </select>
                        {summary}
                    </div>
                </div>
                <div class="actions">
                    <button type="submit" class="primary"
                        disabled=rx(move || !ed.ready.get() || ed.create.pending().get() || from.with(|f| f.is_empty()) || to.with(|t| t.is_empty()))>
                        {rv(move || if ed.create.pending().get() { "Connecting…" } else { "Connect" })}
                    </button>
                </div>
            </form>
            {service_hint}
        </section>
    }
    .into_any()
}

// ------------------------------------------------------------------------------------------------
// On a process's page
// ------------------------------------------------------------------------------------------------

/// One process's live connections.
#[server]
pub async fn process_connections(process_id: String) -> Result<Vec<Connection>, AppError> {
    use switchyard_core::managers::{ConnectionFilter, ListParams};
    let caller = caller().await?;
    // Someone else's process has no connections to show: it does not exist for the caller.
    sy().processes.get(&caller, &process_id).await?;
    let params = ListParams { page: Some(1), per_page: Some(200), sort: Some("created".into()) };
    let filter = ConnectionFilter { process_id: Some(process_id), ..Default::default() };
    Ok(sy().connections.list(&caller, &params, &filter).await?.items)
}

/// The Connections section of a process's page: its connections, live, and the way to the editor.
#[component]
pub fn ProcessConnections(process_id: String, owner_id: String) -> impl IntoView {
    let list = RwSignal::new(None::<Result<Vec<Connection>, AppError>>);
    let load = one_at_a_time(
        {
            let process_id = process_id.clone();
            move || process_connections(process_id.clone())
        },
        move |fresh| {
            if list.try_with_untracked(|old| old.as_ref() != Some(&fresh)) == Some(true) {
                let _ = list.try_set(Some(fresh));
            }
        },
    );
    Effect::new({
        let load = load.clone();
        move |_| load()
    });
    poll_while_mounted(POLL_EVERY, load);
    let body = rv(move || match list.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Err(e)) => view! { <ErrorMessage error=e/> }.into_any(),
        Some(Ok(l)) if l.is_empty() => view! { <p class="muted">"None."</p> }.into_any(),
        Some(Ok(l)) => {
            let me = process_id.clone();
            view! {
                <table class="list process-connections">
                    <thead><tr><th>"Interface"</th><th>"Connected to"</th><th>"State"</th><th>"Versions"</th></tr></thead>
                    <tbody>
                        {l.into_iter().map(|c| {
                            let (mine, peer) = match c.sides(&me) {
                                Some((m, p)) => (m.clone(), p.clone()),
                                None => (c.endpoint1.clone(), c.endpoint2.clone()),
                            };
                            let word = state_word(&c);
                            let versions = format!(
                                "{} ↔ {}",
                                mine.interface_version_name.clone().unwrap_or_else(|| "?".into()),
                                peer.interface_version_name.clone().unwrap_or_else(|| "?".into())
                            );
                            view! {
                                <tr data-connection=c.id.clone() data-state=c.state.as_str()>
                                    <td><code>{mine.interface_id.clone()}</code></td>
                                    <td><A href=format!("/processes/{}", peer.process_id)>{peer.process_name.clone()}</A>
                                        <div class="muted small"><code>{peer.interface_id.clone()}</code></div></td>
                                    <td>
                                        <span class=format!("state-badge state-{}", word.to_lowercase())>{word}</span>
                                        {c.state_reason.clone().map(|r| view! { <div class="muted small reason">{r}</div> })}
                                    </td>
                                    <td class="mono small">{versions}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }
    });
    view! {
        <section class="card stack" aria-labelledby="process-connections-heading">
            <div class="section-head">
                <h2 id="process-connections-heading">"Connections"</h2>
                <A href=format!("/connections?owner={owner_id}")>"Open the connection editor"</A>
            </div>
            {body}
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use switchyard_core::model::{Interface, InterfaceVersion, Placement, ProcessState, ResourceLimits};

    fn iface(service: &str, sends: &str, receives: &str, multiple: bool) -> Interface {
        Interface {
            id: format!("{service}/temperature"),
            name: "Temperature".into(),
            service_id: service.into(),
            interface_versions: vec![InterfaceVersion {
                version_name: "1".into(),
                receives_hash: receives.into(),
                sends_hash: sends.into(),
            }],
            allow_multiple: multiple,
            auto_connect: false,
        }
    }

    fn process(id: &str, name: &str, interfaces: Vec<Interface>) -> Process {
        Process {
            id: id.into(),
            name: name.into(),
            user_id: "u1".into(),
            service_id: interfaces.first().map(|i| i.service_id.clone()).unwrap_or_default(),
            service_version: "1.0.0".into(),
            image: None,
            placement: Placement::Automatic,
            parameters: vec![],
            environment: vec![],
            limits: ResourceLimits::default(),
            mounts: vec![],
            ports: vec![],
            interfaces,
            state: ProcessState::Running,
            state_reason: None,
            running_node_id: None,
            placement_reason: None,
            has_saved_state: false,
            move_on_failure: false,
            moving_to_node_id: None,
            config_revision: 0,
            history: vec![],
            created: Utc::now(),
            updated: Utc::now(),
            revision: 1,
        }
    }

    fn example() -> Vec<Process> {
        vec![
            process("a", "sensor A", vec![iface("sensor", "T", "none", true)]),
            process("b", "sensor B", vec![iface("sensor", "T", "none", true)]),
            process("c", "counter", vec![iface("counter", "none", "T", false)]),
        ]
    }

    fn connection(a: &Process, b: &Process) -> Connection {
        let end = |p: &Process| switchyard_core::model::Endpoint {
            process_id: p.id.clone(),
            interface_id: p.interfaces[0].id.clone(),
            interface_version_name: Some("1".into()),
            process_name: p.name.clone(),
        };
        Connection {
            id: "c1".into(),
            user_id: "u1".into(),
            endpoint1: end(a),
            endpoint2: end(b),
            port: 5001,
            state: ConnectionState::Connected,
            state_reason: None,
            terminating: false,
            created: Utc::now(),
            updated: Utc::now(),
            revision: 1,
        }
    }

    #[test]
    fn ports_fit_as_the_server_decides() {
        let ps = example();
        let from = PortRef::of(&ps[0], "sensor/temperature");
        let fits = fits_from(&ps, &[], &from);
        assert_eq!(fits.len(), 2, "the held port itself is left out");
        assert!(fits[&PortRef::of(&ps[2], "counter/temperature")].is_ok());
        let other = fits[&PortRef::of(&ps[1], "sensor/temperature")].as_ref().unwrap_err();
        assert!(other.message().contains("do not fit"), "{}", other.message());

        // The counter allows one connection: once it has one, nothing else fits it.
        let c = connection(&ps[2], &ps[0]);
        let from = PortRef::of(&ps[2], "counter/temperature");
        let fits = fits_from(&ps, std::slice::from_ref(&c), &from);
        let b = fits[&PortRef::of(&ps[1], "sensor/temperature")].as_ref().unwrap_err();
        assert!(b.message().contains("allows only one connection"), "{}", b.message());
        // A terminating connection no longer counts.
        let ending = Connection { terminating: true, ..c };
        assert!(fits_from(&ps, &[ending], &from)[&PortRef::of(&ps[1], "sensor/temperature")].is_ok());
    }

    #[test]
    fn layout_is_a_grid_in_creation_order_and_keeps_moved_boxes() {
        let ps = example();
        let l = layout(&ps, &BTreeMap::new());
        let (a, b, c) = (&l.boxes["a"], &l.boxes["b"], &l.boxes["c"]);
        assert_eq!((a.x, a.y), (MARGIN, MARGIN));
        assert_eq!(b.y, a.y);
        assert!(b.x > a.x + BOX_W);
        assert_eq!(c.x, a.x);
        assert!(c.y > a.y + a.h);
        assert!(l.width >= b.x + BOX_W && l.height >= c.y + c.h);
        let moved = BTreeMap::from([("c".to_string(), (900.0, 10.0))]);
        let l = layout(&ps, &moved);
        assert_eq!((l.boxes["c"].x, l.boxes["c"].y), (900.0, 10.0));
        assert!(l.width >= 900.0 + BOX_W);
    }

    #[test]
    fn edges_join_facing_port_ends() {
        let ps = example();
        let l = layout(&ps, &BTreeMap::new());
        // Side by side: from A's right end to B's left end.
        let (path, mx, _) = edge_geometry(&l, &ps, &connection(&ps[0], &ps[1])).unwrap();
        let ay = MARGIN + HEADER_H + PORT_H / 2.0;
        assert!(path.starts_with(&format!("M{:.1} {:.1}", MARGIN + BOX_W, ay)), "{path}");
        assert!(path.ends_with(&format!("{:.1} {:.1}", l.boxes["b"].x, ay)), "{path}");
        assert!(mx > MARGIN + BOX_W && mx < l.boxes["b"].x);
        // One column: both right ends, bulging right.
        let (path, mx, _) = edge_geometry(&l, &ps, &connection(&ps[0], &ps[2])).unwrap();
        assert!(path.starts_with(&format!("M{:.1}", MARGIN + BOX_W)), "{path}");
        assert!(mx > MARGIN + BOX_W);
        // An end on a process that is not drawn: no edge.
        let mut gone = connection(&ps[0], &ps[2]);
        gone.endpoint2.process_id = "zz".into();
        assert!(edge_geometry(&l, &ps, &gone).is_none());
    }

    #[test]
    fn port_keys_round_trip() {
        let p = PortRef { process_id: "0123abcd".into(), interface_id: "svc/with space".into() };
        assert_eq!(PortRef::parse(&p.key()), Some(p));
        assert_eq!(PortRef::parse("nospace"), None);
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
