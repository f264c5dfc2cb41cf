//! The editor's state, shared by all its parts, and the browser helpers it needs (an element's
//! box on screen, box positions kept in local storage).

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use switchyard_core::model::{Connection, ConnectionState, EndpointRef, NewConnection};

use super::{
    api::{ConnectionGraph, CreateConnection, TerminateConnection},
    draft::{Draft, DRAFT},
    geometry::{
        boxes_in, first_frame, fits_from, interface_name, layout, process_name, verdict, FitMap, Layout, PortRef, View,
        BOX_W,
    },
};
use crate::{components::hydrated, AppError};

// Browser helpers

/// An element's box on screen (left, top, width, height). Through `Reflect`, because the
/// web-sys features this build has do not include `DomRect`.
#[cfg(feature = "hydrate")]
pub(super) fn client_rect(el: &leptos::web_sys::Element) -> Option<(f64, f64, f64, f64)> {
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
pub(super) fn layout_key(owner: &str) -> String {
    format!("switchyard.connections.layout.{owner}")
}

/// Where the user put boxes, kept in localStorage per owner (nothing when it is unavailable).
pub(super) fn load_positions(owner: &str) -> BTreeMap<String, (f64, f64)> {
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

pub(super) fn save_positions(owner: &str, positions: &BTreeMap<String, (f64, f64)>) {
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

// The editor's state

/// How a port looks while another is held.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Look {
    Idle,
    Origin,
    Fits(String),
    Unfit(String),
}

/// The editor's state, shared by all its parts: the graph it shows, what the user is doing
/// with it, and what it tells them. All handles, so it is `Copy` and every part takes it by value.
#[derive(Clone, Copy)]
pub(super) struct EditorState {
    /// Whose graph this is; box positions are kept per owner.
    pub owner: StoredValue<String>,
    pub graph: RwSignal<ConnectionGraph>,
    /// Changes are staged in the draft rather than made at once.
    pub drafting: RwSignal<bool>,
    pub draft: RwSignal<Draft>,
    /// Drafts before each step (undo) and after each undone one (redo).
    pub undo: RwSignal<Vec<Draft>>,
    pub redo: RwSignal<Vec<Draft>>,
    /// The graph with the draft applied: what is drawn and what the fit rule checks against.
    pub planned: Memo<ConnectionGraph>,
    /// The port whose fitting catalogue services "Deploy and connect" offers.
    pub deploy_port: RwSignal<Option<PortRef>>,
    /// Where the user put boxes (the rest stay on the grid).
    pub positions: RwSignal<BTreeMap<String, (f64, f64)>>,
    pub layout: Memo<Layout>,
    /// While a port is held: how every other port fits it.
    pub fits: Memo<Option<FitMap>>,
    pub selection: Selection,
    pub drag: Drag,
    /// The last refusal or failure, shown above the graph.
    pub alert: RwSignal<Option<AppError>>,
    /// What is going on, in words (also announced to screen readers).
    pub status: RwSignal<String>,
    pub create: ServerAction<CreateConnection>,
    pub terminate: ServerAction<TerminateConnection>,
    pub svg: NodeRef<leptos::svg::Svg>,
    /// The page is hydrated: pointer and keyboard handling work.
    pub ready: ReadSignal<bool>,
    pub zoom: Zoom,
}

/// Pan and zoom of the graph in its box.
#[derive(Clone, Copy)]
pub(super) struct Zoom {
    pub view: RwSignal<View>,
    /// The box's size in CSS pixels, once measured in the browser (the server draws the graph
    /// at its own size, scaled to the page's width).
    pub frame: RwSignal<Option<(f64, f64)>>,
    /// The view follows the box and the graph (fit) until the user pans or zooms.
    pub fitted: RwSignal<bool>,
    /// The user asked for the whole graph (Fit): followed even when it is too small to read;
    /// otherwise a large graph opens at its top ([`View::initial`]).
    pub whole: RwSignal<bool>,
    /// The processes whose boxes are drawn: those in view (and a margin around it).
    pub shown: Memo<BTreeSet<String>>,
    /// Boxes are drawn with their ports and words (else as outlines: zoomed out too far to read).
    pub detailed: Memo<bool>,
    /// Pointers pressed on the graph for panning (one) or pinching (two).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub gesture: StoredValue<Gesture>,
}

/// Pointers down on the graph and what they do.
#[derive(Clone, Debug, Default)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(super) struct Gesture {
    /// Touch pointers on the graph: id and where (client coordinates).
    pub touches: Vec<(i32, (f64, f64))>,
    /// Panning with this pointer: where it was pressed and the view then.
    pub pan: Option<(i32, (f64, f64), View)>,
    /// Pinching: the fingers' distance and middle (in the box) and the view when it began.
    pub pinch: Option<(f64, (f64, f64), View)>,
}

/// The selected connection, whose panel is open.
#[derive(Clone, Copy)]
pub(super) struct Selection {
    pub id: RwSignal<Option<String>>,
    /// The Terminate button of the selected connection asks for confirmation.
    pub confirm: RwSignal<bool>,
}

/// A port held to connect it, or a box being moved.
#[derive(Clone, Copy)]
pub(super) struct Drag {
    /// The port held (dragged from, or clicked first).
    pub from: RwSignal<Option<PortRef>>,
    /// Click-to-connect: the port was clicked, not dragged; the next port clicked completes it.
    pub sticky: RwSignal<bool>,
    /// The pointer went further than a click's slop since it was pressed.
    pub moved: RwSignal<bool>,
    /// Where the pointer was pressed, in the graph's coordinates.
    pub start: StoredValue<(f64, f64)>,
    /// Where the pointer is, in the graph's coordinates.
    pub pointer: RwSignal<(f64, f64)>,
    /// The port under the pointer.
    pub hover: RwSignal<Option<PortRef>>,
    /// A port's pointerup dealt with this release (the window's listener then leaves it).
    pub handled: StoredValue<bool>,
    /// A box being moved: its process and where in the box it was grabbed.
    pub moving: StoredValue<Option<(String, (f64, f64))>>,
}

impl EditorState {
    /// The state of an editor opened on `initial`, nothing selected or held.
    pub fn new(initial: ConnectionGraph) -> Self {
        let owner = StoredValue::new(initial.owner_id.clone());
        let graph = RwSignal::new(initial);
        let draft = RwSignal::new(Draft::default());
        let planned =
            Memo::new(move |_| graph.with(|g| draft.with(|d| if d.is_empty() { g.clone() } else { d.applied(g) })));
        let positions = RwSignal::new(BTreeMap::<String, (f64, f64)>::new());
        let layout = Memo::new(move |_| planned.with(|g| positions.with(|m| layout(&g.processes, m))));
        let from = RwSignal::new(None::<PortRef>);
        let fits =
            Memo::new(move |_| from.get().map(|f| planned.with(|g| fits_from(&g.processes, &g.connections, &f))));
        let view = RwSignal::new(View::default());
        let frame = RwSignal::new(None::<(f64, f64)>);
        EditorState {
            owner,
            graph,
            drafting: RwSignal::new(false),
            draft,
            undo: RwSignal::new(Vec::new()),
            redo: RwSignal::new(Vec::new()),
            planned,
            deploy_port: RwSignal::new(None),
            positions,
            layout,
            fits,
            selection: Selection { id: RwSignal::new(None), confirm: RwSignal::new(false) },
            drag: Drag {
                from,
                sticky: RwSignal::new(false),
                moved: RwSignal::new(false),
                start: StoredValue::new((0.0, 0.0)),
                pointer: RwSignal::new((0.0, 0.0)),
                hover: RwSignal::new(None),
                handled: StoredValue::new(false),
                moving: StoredValue::new(None),
            },
            alert: RwSignal::new(None),
            status: RwSignal::new(String::new()),
            create: ServerAction::<CreateConnection>::new(),
            terminate: ServerAction::<TerminateConnection>::new(),
            svg: NodeRef::new(),
            ready: hydrated(),
            zoom: Zoom {
                view,
                frame,
                fitted: RwSignal::new(true),
                whole: RwSignal::new(false),
                shown: Memo::new(move |_| {
                    let area = view.with(|v| layout.with(|l| v.visible(frame.get(), (l.width, l.height))));
                    layout.with(|l| boxes_in(l, area))
                }),
                detailed: Memo::new(move |_| view.with(View::detailed)),
                gesture: StoredValue::new(Gesture::default()),
            },
        }
    }

    pub fn look(&self, me: &PortRef) -> Look {
        let Some(from) = self.drag.from.get() else { return Look::Idle };
        if &from == me {
            return Look::Origin;
        }
        self.fits.with(|f| match f.as_ref().and_then(|m| m.get(me)) {
            Some(Ok((a, b))) => Look::Fits(format!("{a} ↔ {b}")),
            Some(Err(r)) => Look::Unfit(r.message().to_string()),
            None => Look::Idle,
        })
    }

    /// A point of the page in the box's coordinates (before pan and zoom).
    pub fn frame_point(&self, client_x: f64, client_y: f64) -> Option<(f64, f64)> {
        #[cfg(feature = "hydrate")]
        {
            let el = self.svg.get_untracked()?;
            let (left, top, w, h) = client_rect(&el)?;
            let (vw, vh) = self.viewbox();
            if w <= 0.0 || h <= 0.0 {
                return None;
            }
            Some(((client_x - left) * vw / w, (client_y - top) * vh / h))
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (client_x, client_y);
            None
        }
    }

    /// A point of the page in the graph's coordinates.
    pub fn graph_point(&self, client_x: i32, client_y: i32) -> Option<(f64, f64)> {
        let at = self.frame_point(client_x as f64, client_y as f64)?;
        Some(self.zoom.view.get_untracked().to_graph(at))
    }

    /// The box's coordinate system: its measured size, or the graph's own before that.
    pub fn viewbox(&self) -> (f64, f64) {
        self.zoom
            .frame
            .get_untracked()
            .unwrap_or_else(|| self.layout.with_untracked(|l| first_frame((l.width, l.height))))
    }

    /// Zoom by `factor` around a point of the box (its middle when `None`).
    pub fn zoom_by(&self, factor: f64, at: Option<(f64, f64)>) {
        let (w, h) = self.viewbox();
        let at = at.unwrap_or((w / 2.0, h / 2.0));
        self.zoom.fitted.set(false);
        self.zoom.view.update(|v| *v = v.zoom_at(factor, at));
    }

    pub fn pan_by(&self, by: (f64, f64)) {
        self.zoom.fitted.set(false);
        self.zoom.view.update(|v| *v = v.panned(by));
    }

    /// Show the whole graph, and keep doing so as the box and the graph change.
    pub fn fit(&self) {
        self.zoom.fitted.set(true);
        self.zoom.whole.set(true);
        let frame = self.viewbox();
        let content = self.layout.with_untracked(|l| (l.width, l.height));
        self.zoom.view.set(View::fit(frame, content));
    }

    /// Zoom in on a process's box at 1:1, in the middle of the view (from the outline drawn when
    /// zoomed out).
    pub fn zoom_to(&self, process_id: &str) {
        let Some((x, y, h)) = self.layout.with_untracked(|l| l.boxes.get(process_id).map(|b| (b.x, b.y, b.h))) else {
            return;
        };
        let (w, fh) = self.viewbox();
        self.zoom.fitted.set(false);
        // Centred; a box taller than the view shows its top.
        let dy = if h + 48.0 > fh { 24.0 - y } else { fh / 2.0 - (y + h / 2.0) };
        self.zoom.view.set(View { k: 1.0, dx: w / 2.0 - (x + BOX_W / 2.0), dy });
    }

    pub fn port_label(&self, p: &PortRef) -> String {
        self.planned.with_untracked(|g| {
            format!(
                "{} of '{}'",
                interface_name(g, &p.process_id, &p.interface_id),
                process_name(g, &p.process_id, &p.process_id)
            )
        })
    }

    pub fn start(&self, from: PortRef, at: (f64, f64), sticky: bool) {
        self.alert.set(None);
        self.drag.start.set_value(at);
        self.drag.pointer.set(at);
        self.drag.moved.set(false);
        self.drag.sticky.set(sticky);
        if self.drafting.get_untracked() {
            self.deploy_port.set(Some(from.clone()));
        }
        let label = self.port_label(&from);
        self.drag.from.set(Some(from));
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

    pub fn cancel(&self, why: Option<&str>) {
        self.drag.from.set(None);
        self.drag.sticky.set(false);
        self.drag.moved.set(false);
        self.drag.hover.set(None);
        if let Some(why) = why {
            self.status.set(why.to_string());
        }
    }

    /// The held port was released over (or clicked on) `to`.
    pub fn drop_on(&self, to: PortRef) {
        let Some(from) = self.drag.from.get_untracked() else { return };
        self.cancel(None);
        self.connect(from, to);
    }

    /// Connect two ports if they fit (or stage it, in the draft); say why not otherwise.
    pub fn connect(&self, from: PortRef, to: PortRef) {
        if self.drafting.get_untracked() {
            if let Err(message) = self.stage_connect(from, to) {
                self.status.set(String::new());
                self.alert.set(Some(AppError { code: "refused".into(), message, field: None }));
            }
            return;
        }
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

    pub fn select(&self, id: String) {
        // What exists only in the draft has no panel: the staged list takes it out.
        if id.starts_with(DRAFT) {
            self.status.set("A staged connection: unstage it from the list of staged changes.".into());
            return;
        }
        if self.selection.id.get_untracked().as_deref() != Some(id.as_str()) {
            self.selection.confirm.set(false);
            self.selection.id.set(Some(id));
        }
    }

    /// Put a connection the server returned into the graph at once.
    pub fn merge(&self, c: Connection) {
        self.graph.update(|g| match g.connections.iter_mut().find(|x| x.id == c.id) {
            Some(x) if x.revision <= c.revision => *x = c,
            Some(_) => {}
            None if c.state != ConnectionState::Terminated => g.connections.push(c),
            None => {}
        });
    }
}
