//! The graph: the processes as boxes, their interfaces as ports (inputs on the left, outputs on
//! the right), the connections as edges from sender to receiver, the pointer and keyboard
//! handling on them, and pan and zoom.

use std::collections::BTreeMap;

use leptos::prelude::*;
use switchyard_core::model::{Connection, Process};

use super::{
    draft::DRAFT,
    geometry::{
        anchor, box_height, clip, clip_middle, edge_geometry, ends_text, messages_short, messages_text, process_name,
        source_target, state_word, versions_text, EdgeFlow, Flow, PortRef, View, BOX_W, HEADER_H, PORT_H,
    },
    state::{save_positions, EditorState, Look},
};
use crate::components::{rv, rx};

/// How much one press of a zoom button or key zooms.
const ZOOM_STEP: f64 = 1.25;
/// How far one arrow key pans, in the box's pixels.
const PAN_STEP: f64 = 48.0;

#[component]
pub(super) fn Graph(ed: EditorState) -> impl IntoView {
    // The box: measured in the browser; before that the graph's top left corner (`viewbox`).
    let size = Memo::new(move |_| {
        ed.zoom.frame.track();
        ed.layout.track();
        ed.viewbox()
    });
    // The rubber band from the held port to the pointer: one element, moved, never rebuilt.
    let band = Memo::new(move |_| -> Option<(f64, f64, f64, f64)> {
        let from = ed.drag.from.get()?;
        if !(ed.drag.moved.get() || ed.drag.sticky.get()) {
            return None;
        }
        let (px, py) = ed.drag.pointer.get();
        let (ax, ay) = ed.planned.with(|g| {
            ed.layout.with(|l| {
                let flow = port_flow(&g.processes, &from);
                let right = match flow {
                    Flow::Out => true,
                    Flow::In => false,
                    _ => l.boxes.get(&from.process_id).map(|b| px > b.x + BOX_W / 2.0).unwrap_or(true),
                };
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
        ed.fit();
    };

    // Fit: on load, and as the box and the graph change, until the user pans or zooms.
    Effect::new(move |_| {
        if !ed.zoom.fitted.get() {
            return;
        }
        let Some(frame) = ed.zoom.frame.get() else { return };
        let content = ed.layout.with(|l| (l.width, l.height));
        ed.zoom.view.set(if ed.zoom.whole.get() { View::fit(frame, content) } else { View::initial(frame, content) });
    });
    // Measure the box once mounted and whenever the graph's size changes…
    Effect::new(move |_| {
        let _ = ed.svg.get();
        let _ = ed.layout.with(|l| (l.width, l.height));
        #[cfg(feature = "hydrate")]
        measure(ed);
    });
    // …or the page around it does (the window, the panel opening beside it).
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use leptos::{
            wasm_bindgen::{closure::Closure, JsCast},
            web_sys::js_sys::{Array, Function, Reflect},
        };
        let Some(svg) = ed.svg.get() else { return };
        let Some(parent) = svg.parent_element() else { return };
        let on_resize = Closure::<dyn FnMut()>::new(move || measure(ed));
        let observer = (|| {
            let ctor: Function = Reflect::get(&window(), &"ResizeObserver".into()).ok()?.dyn_into().ok()?;
            let observer = Reflect::construct(&ctor, &Array::of1(on_resize.as_ref())).ok()?;
            let observe: Function = Reflect::get(&observer, &"observe".into()).ok()?.dyn_into().ok()?;
            observe.call1(&observer, &parent).ok()?;
            Some(observer)
        })();
        let held = send_wrapper::SendWrapper::new((observer, on_resize));
        on_cleanup(move || {
            let (observer, on_resize) = held.take();
            if let Some(o) = observer {
                if let Some(disconnect) =
                    Reflect::get(&o, &"disconnect".into()).ok().and_then(|f| f.dyn_into::<Function>().ok())
                {
                    let _ = disconnect.call0(&o);
                }
            }
            drop(on_resize);
        });
    });

    let zoom_in = move |_| ed.zoom_by(ZOOM_STEP, None);
    let zoom_out = move |_| ed.zoom_by(1.0 / ZOOM_STEP, None);
    let fit = move |_| ed.fit();
    let keys = move |ev: leptos::ev::KeyboardEvent| {
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        match ev.key().as_str() {
            "+" | "=" => ed.zoom_by(ZOOM_STEP, None),
            "-" | "_" => ed.zoom_by(1.0 / ZOOM_STEP, None),
            "0" => ed.fit(),
            "ArrowLeft" => ed.pan_by((PAN_STEP, 0.0)),
            "ArrowRight" => ed.pan_by((-PAN_STEP, 0.0)),
            "ArrowUp" => ed.pan_by((0.0, PAN_STEP)),
            "ArrowDown" => ed.pan_by((0.0, -PAN_STEP)),
            _ => return,
        }
        ev.prevent_default();
    };
    let wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        let unit = match ev.delta_mode() {
            1 => 16.0,
            2 => 400.0,
            _ => 1.0,
        };
        // A trackpad's pinch comes as a wheel with Ctrl, in small steps.
        let rate = if ev.ctrl_key() { 0.01 } else { 0.0015 };
        let factor = (-ev.delta_y() * unit * rate).clamp(-1.0, 1.0).exp();
        let at = ed.frame_point(ev.client_x() as f64, ev.client_y() as f64);
        ed.zoom_by(factor, at);
    };
    view! {
        <div class="card graph-card">
            <div class="graph-tools">
                <div class="zoom-tools" role="group" aria-label="Zoom">
                    <button type="button" class="small" aria-label="Zoom in" title="Zoom in (+)" data-testid="zoom-in"
                        aria-keyshortcuts="+" aria-controls="connection-graph" on:click=zoom_in>"+"</button>
                    <button type="button" class="small" aria-label="Zoom out" title="Zoom out (−)" data-testid="zoom-out"
                        aria-keyshortcuts="-" aria-controls="connection-graph" on:click=zoom_out>"−"</button>
                    <button type="button" class="small" aria-label="Fit the graph" title="Fit the graph in its box (0)" data-testid="zoom-fit"
                        aria-keyshortcuts="0" aria-controls="connection-graph" on:click=fit>"Fit"</button>
                    <span class="zoom-level muted small" data-testid="zoom-level">{rx(move || format!("{:.0} %", ed.zoom.view.get().k * 100.0))}</span>
                </div>
                {rv(move || ed.positions.with(|m| !m.is_empty()).then(|| view! {
                    <button type="button" class="small" on:click=reset>"Reset layout"</button>
                }))}
            </div>
            <div class="graph-scroll">
                <svg class=rx(move || if ed.drag.from.with(|f| f.is_some()) { "graph dragging" } else { "graph" })
                    node_ref=ed.svg id="connection-graph"
                    xmlns="http://www.w3.org/2000/svg"
                    viewBox=rx(move || { let (w, h) = size.get(); format!("0 0 {w} {h}") })
                    width=rx(move || size.get().0.to_string())
                    height=rx(move || size.get().1.to_string())
                    role="group" aria-label="Connection graph" aria-describedby="graph-help"
                    tabindex="0" aria-keyshortcuts="+ - 0 ArrowLeft ArrowRight ArrowUp ArrowDown"
                    data-testid="connection-graph" data-processes=rx(move || ed.planned.with(|g| g.processes.len()).to_string())
                    on:keydown=keys on:wheel=wheel
                    on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                        #[cfg(feature = "hydrate")]
                        gesture_down(ed, &ev);
                        #[cfg(not(feature = "hydrate"))]
                        let _ = ev;
                    }>
                    <rect class="graph-bg" x="0" y="0" width="100%" height="100%"/>
                    <g class="viewport" data-testid="graph-viewport" transform=rx(move || ed.zoom.view.get().transform())>
                        // Only the boxes in view are drawn (hundreds would cost the page its speed),
                        // zoomed out too far to read as outlines.
                        <g class="boxes">
                            <For each=move || shown_boxes(ed) key=|(p, detailed)| (p.id.clone(), p.revision, *detailed)
                                children=move |(p, detailed)| if detailed { process_box(ed, p) } else { outline_box(ed, p) }/>
                        </g>
                        <g class="edges">
                            // What the draft leaves, and the live connections it removes (drawn as such).
                            <For each=move || drawn_edges(ed) key=|(c, detailed)| (c.id.clone(), c.revision, c.terminating, *detailed)
                                children=move |(c, detailed)| if detailed { edge_view(ed, c) } else { edge_line(ed, c) }/>
                        </g>
                        <line class=rx(move || if band.with(|b| b.is_some()) { "rubber-band" } else { "rubber-band idle" })
                            x1=coordinate(0) y1=coordinate(1) x2=coordinate(2) y2=coordinate(3)/>
                    </g>
                </svg>
            </div>
            {rv(move || ed.graph.with(|g| (g.process_total > g.processes.len() as u64).then(|| format!(
                "Showing the oldest {} of {} processes.", g.processes.len(), g.process_total
            ))).map(|t| view! { <p class="muted small">{t}</p> }))}
        </div>
    }
    .into_any()
}

/// The flow of a port's interface.
fn port_flow(processes: &[Process], port: &PortRef) -> Flow {
    processes
        .iter()
        .find(|p| p.id == port.process_id)
        .and_then(|p| p.interfaces.iter().find(|i| i.id == port.interface_id))
        .map(Flow::of)
        .unwrap_or(Flow::Unknown)
}

/// The box's size from the width the page gives it.
#[cfg(feature = "hydrate")]
fn measure(ed: EditorState) {
    let Some(svg) = ed.svg.get_untracked() else { return };
    let Some(parent) = svg.parent_element() else { return };
    let Some((_, _, width, _)) = super::state::client_rect(&parent) else { return };
    if width < 1.0 {
        return;
    }
    let window_h = window().inner_height().ok().and_then(|v| v.as_f64()).unwrap_or(800.0);
    let content = ed.layout.with_untracked(|l| (l.width, l.height));
    let frame = super::geometry::frame_size(width.floor(), window_h, content);
    if ed.zoom.frame.get_untracked() != Some(frame) {
        ed.zoom.frame.set(Some(frame));
    }
}

#[cfg(feature = "hydrate")]
fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

#[cfg(feature = "hydrate")]
fn middle(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)
}

/// A pointer pressed anywhere on the graph (after a port or a box had it): on the background
/// it pans; a second finger makes a pinch (and ends what the first began).
#[cfg(feature = "hydrate")]
fn gesture_down(ed: EditorState, ev: &leptos::ev::PointerEvent) {
    use leptos::wasm_bindgen::JsCast;
    let at = (ev.client_x() as f64, ev.client_y() as f64);
    let touch = ev.pointer_type() == "touch";
    let background = ev
        .target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
        .map(|el| {
            el.tag_name().eq_ignore_ascii_case("svg")
                || el.get_attribute("class").is_some_and(|c| c.split_whitespace().any(|c| c == "graph-bg"))
        })
        .unwrap_or(false);
    let mut g = ed.zoom.gesture.get_value();
    if touch {
        g.touches.retain(|(id, _)| *id != ev.pointer_id());
        g.touches.push((ev.pointer_id(), at));
    }
    if touch && g.touches.len() >= 2 {
        ed.drag.moving.set_value(None);
        if ed.drag.from.with_untracked(|f| f.is_some()) {
            ed.cancel(None);
        }
        g.pan = None;
        let (a, b) = (g.touches[0].1, g.touches[1].1);
        if let (Some(fa), Some(fb)) = (ed.frame_point(a.0, a.1), ed.frame_point(b.0, b.1)) {
            g.pinch = Some((distance(fa, fb).max(1.0), middle(fa, fb), ed.zoom.view.get_untracked()));
        }
    } else if background && ev.button() == 0 && g.pinch.is_none() && ed.drag.from.with_untracked(|f| f.is_none()) {
        ev.prevent_default();
        g.pan = Some((ev.pointer_id(), at, ed.zoom.view.get_untracked()));
    }
    ed.zoom.gesture.set_value(g);
}

/// The pointer moved: pan or pinch if one is under way (then nothing else handles the move).
#[cfg(feature = "hydrate")]
pub(super) fn gesture_move(ed: EditorState, ev: &leptos::ev::PointerEvent) -> bool {
    let mut g = ed.zoom.gesture.get_value();
    if g.pan.is_none() && g.pinch.is_none() && g.touches.is_empty() {
        return false;
    }
    let at = (ev.client_x() as f64, ev.client_y() as f64);
    if let Some(t) = g.touches.iter_mut().find(|(id, _)| *id == ev.pointer_id()) {
        t.1 = at;
    }
    let mut handled = false;
    if let (Some((d0, m0, v0)), true) = (g.pinch, g.touches.len() >= 2) {
        let (a, b) = (g.touches[0].1, g.touches[1].1);
        if let (Some(fa), Some(fb)) = (ed.frame_point(a.0, a.1), ed.frame_point(b.0, b.1)) {
            let m = middle(fa, fb);
            let view = v0.zoom_at(distance(fa, fb) / d0, m0).panned((m.0 - m0.0, m.1 - m0.1));
            ed.zoom.fitted.set(false);
            ed.zoom.view.set(view);
        }
        handled = true;
    } else if let Some((id, start, v0)) = g.pan.filter(|(id, _, _)| *id == ev.pointer_id()) {
        let _ = id;
        if let (Some(s), Some(now)) = (ed.frame_point(start.0, start.1), ed.frame_point(at.0, at.1)) {
            let by = (now.0 - s.0, now.1 - s.1);
            if by.0.abs() + by.1.abs() > 0.5 {
                ed.zoom.fitted.set(false);
                ed.zoom.view.set(v0.panned(by));
            }
        }
        handled = true;
    }
    ed.zoom.gesture.set_value(g);
    handled
}

/// A pointer was released (or the browser took it): the gesture it was part of ends.
#[cfg(feature = "hydrate")]
pub(super) fn gesture_up(ed: EditorState, ev: &leptos::ev::PointerEvent) {
    let mut g = ed.zoom.gesture.get_value();
    g.touches.retain(|(id, _)| *id != ev.pointer_id());
    if g.touches.len() < 2 {
        g.pinch = None;
    }
    if g.pan.as_ref().is_some_and(|(id, _, _)| *id == ev.pointer_id()) {
        g.pan = None;
    }
    ed.zoom.gesture.set_value(g);
}

/// The boxes to draw (those in view) and whether in detail.
fn shown_boxes(ed: EditorState) -> Vec<(Process, bool)> {
    let detailed = ed.zoom.detailed.get();
    ed.zoom.shown.with(|shown| {
        ed.planned
            .with(|g| g.processes.iter().filter(|p| shown.contains(&p.id)).map(|p| (p.clone(), detailed)).collect())
    })
}

/// The edges to draw: the graph as the draft leaves it, plus the live connections it removes;
/// those with a box drawn at one end at least.
fn drawn_edges(ed: EditorState) -> Vec<(Connection, bool)> {
    let detailed = ed.zoom.detailed.get();
    ed.zoom.shown.with(|shown| {
        let drawn = |c: &Connection| shown.contains(&c.endpoint1.process_id) || shown.contains(&c.endpoint2.process_id);
        ed.planned.with(|g| {
            let mut edges: Vec<(Connection, bool)> =
                g.connections.iter().filter(|c| drawn(c)).map(|c| (c.clone(), detailed)).collect();
            ed.draft.with(|d| {
                ed.graph.with(|real| {
                    edges.extend(
                        real.connections
                            .iter()
                            .filter(|c| d.disconnect.contains(&c.id) && drawn(c))
                            .map(|c| (c.clone(), detailed)),
                    )
                })
            });
            edges
        })
    })
}

/// A box zoomed out too far to read: its outline, state and name (large), no ports. A click or
/// Enter zooms in on it.
fn outline_box(ed: EditorState, p: Process) -> AnyView {
    let pid = p.id.clone();
    let BoxLook { transform, h, staged, state, lower } = box_look(ed, &p);
    let label = format!("{} ({}, {}): zoom in on it", p.name, p.service_id, state.to_lowercase());
    let (p1, p2) = (pid.clone(), pid.clone());
    view! {
        <g class=format!("proc outline state-{lower}") data-box=p.name.clone() data-process-id=pid transform=transform
            data-staged=staged.then_some("true") tabindex="0" role="button" aria-label=label
            on:click=move |_| ed.zoom_to(&p1)
            on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Enter" || ev.key() == " " {
                ev.prevent_default();
                ed.zoom_to(&p2);
            }>
            <title>{format!("{} — {} {} — {state}", p.name, p.service_id, p.service_version)}</title>
            <rect class="proc-box" width=BOX_W.to_string() height=h.to_string() rx="8"/>
            <rect class="outline-state" width="14" height=h.to_string() rx="4"/>
            <text class="outline-name" x="28" y=(h / 2.0 + 11.0).to_string()>{clip_middle(&p.name, 12)}</text>
        </g>
    }
    .into_any()
}

/// An edge zoomed out too far to read: its line, coloured by state.
fn edge_line(ed: EditorState, c: Connection) -> AnyView {
    let path = {
        let c = c.clone();
        move || {
            ed.planned
                .with(|g| ed.layout.with(|l| edge_geometry(l, &g.processes, &c).map(|e| e.path).unwrap_or_default()))
        }
    };
    let class = format!(
        "edge outline state-{}{}{}",
        c.state.as_str().to_lowercase(),
        if c.terminating { " terminating" } else { "" },
        if c.id.starts_with(DRAFT) { " staged" } else { "" }
    );
    view! {
        <g class=class data-connection=c.id.clone() data-state=c.state.as_str()>
            <path class="edge-line" d=rx(path)/>
        </g>
    }
    .into_any()
}

/// What both drawings of a box share: where it is (following the layout), its height, and its
/// state as shown (a process staged in the draft is NEW).
struct BoxLook {
    transform: crate::components::Rx<String>,
    h: f64,
    staged: bool,
    state: &'static str,
    lower: String,
}

fn box_look(ed: EditorState, p: &Process) -> BoxLook {
    let pid = p.id.clone();
    let transform = rx(move || {
        ed.layout.with(|l| l.boxes.get(&pid).map(|b| format!("translate({} {})", b.x, b.y)).unwrap_or_default())
    });
    let staged = p.id.starts_with(DRAFT);
    let state = if staged { "NEW" } else { p.state.as_str() };
    let lower = if staged { "staged".to_string() } else { state.to_lowercase() };
    BoxLook { transform, h: box_height(p), staged, state, lower }
}

pub(super) fn process_box(ed: EditorState, p: Process) -> AnyView {
    let pid = p.id.clone();
    let BoxLook { transform, h, staged, state, lower } = box_look(ed, &p);
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
            if ev.button() != 0 || ed.drag.from.with_untracked(|f| f.is_some()) {
                return;
            }
            ev.prevent_default();
            let Some((x, y)) = ed.graph_point(ev.client_x(), ev.client_y()) else { return };
            if let Some((bx, by)) = ed.layout.with_untracked(|l| l.boxes.get(&pid).map(|b| (b.x, b.y))) {
                // The view stays where it is while boxes move (no refit under the pointer).
                ed.zoom.fitted.set(false);
                ed.drag.moving.set_value(Some((pid.clone(), (x - bx, y - by))));
            }
        }
    };
    let ports = if p.interfaces.is_empty() {
        view! { <text class="no-ports" x="12" y=(HEADER_H + 20.0).to_string()>"no interfaces"</text> }.into_any()
    } else {
        p.interfaces.iter().enumerate().map(|(i, iface)| port_view(ed, &p, i, iface)).collect_view().into_any()
    };
    view! {
        <g class=format!("proc state-{lower}") data-box=p.name.clone() data-process-id=pid transform=transform
            data-staged=staged.then_some("true")>
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

pub(super) fn port_view(
    ed: EditorState,
    p: &Process,
    index: usize,
    iface: &switchyard_core::model::Interface,
) -> AnyView {
    let me = PortRef::of(p, &iface.id);
    let look = {
        let me = me.clone();
        Memo::new(move |_| ed.look(&me))
    };
    let flow = Flow::of(iface);
    let messages = messages_text(iface);
    let versions = iface.interface_versions.iter().map(|v| v.version_name.clone()).collect::<Vec<_>>().join(", ");
    let about = format!(
        "{} of '{}': {}, {}; version{} {}; {}{}",
        iface.name,
        p.name,
        flow.word(),
        messages,
        if iface.interface_versions.len() == 1 { "" } else { "s" },
        if versions.is_empty() { "none".into() } else { versions },
        if iface.allow_multiple { "allows several connections" } else { "allows one connection" },
        if iface.auto_connect { "; connects automatically" } else { "" },
    );
    // The hashes only on hover: what the fit rule compares, for whoever needs them.
    let hashes = iface
        .interface_versions
        .iter()
        .map(|v| format!("version {}: sends hash {}, receives hash {}", v.version_name, v.sends_hash, v.receives_hash))
        .collect::<Vec<_>>()
        .join("\n");
    let name = format!("{} of '{}'", iface.name, p.name);
    let marks = format!(
        "{}{}",
        if iface.allow_multiple { "1:n" } else { "1:1" },
        if iface.auto_connect { " · auto" } else { "" }
    );
    // What the port shows, first in its accessible name (WCAG 2.5.3: a speech user says what
    // they see), then what it means.
    let shown = format!("{} {} {}", clip(&iface.name, 22), clip(&messages_short(iface), 32), marks);
    let label = {
        let (about, name) = (about.clone(), name.clone());
        rx(move || match look.get() {
            Look::Idle => format!("{shown} — {about}. Press Enter to connect from here."),
            Look::Origin => format!("{shown} — {name}: connecting from here; press Escape to stop."),
            Look::Fits(v) => format!("{shown} — {name}: fits (versions {v}); press Enter to connect."),
            Look::Unfit(reason) => format!("{shown} — {name}: cannot connect: {reason}"),
        })
    };
    let interface_id = iface.id.clone();
    let title = rx(move || match look.get() {
        Look::Idle => format!("{about}\nInterface {interface_id}\n{hashes}\nDrag to another port to connect."),
        Look::Origin => "Connecting from here".to_string(),
        Look::Fits(v) => format!("Fits: versions {v}"),
        Look::Unfit(reason) => reason,
    });
    let (m1, m2, m3, m4, m5) = (me.clone(), me.clone(), me.clone(), me.clone(), me);
    let y = HEADER_H + index as f64 * PORT_H;
    let mid = (PORT_H / 2.0).to_string();
    view! {
        <g class=rx(move || match look.get() {
                Look::Idle => "port",
                Look::Origin => "port origin",
                Look::Fits(_) => "port fits",
                Look::Unfit(_) => "port unfit",
            })
            transform=format!("translate(0 {y})")
            data-process=p.name.clone() data-process-id=p.id.clone() data-interface=iface.id.clone()
            data-interface-name=iface.name.clone() data-flow=flow.key()
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
                if ed.drag.sticky.get_untracked() && ed.drag.from.with_untracked(|f| f.is_some()) {
                    return;
                }
                let at = ed.graph_point(ev.client_x(), ev.client_y()).unwrap_or((0.0, 0.0));
                ed.start(m1.clone(), at, false);
            }
            on:pointerup=move |_| {
                let Some(from) = ed.drag.from.get_untracked() else { return };
                ed.drag.handled.set_value(true);
                if from != m2 {
                    ed.drop_on(m2.clone());
                } else if ed.drag.sticky.get_untracked() || ed.drag.moved.get_untracked() {
                    ed.cancel(Some("Nothing was connected."));
                } else {
                    // A click, not a drag: keep the port held until another is clicked.
                    let label = ed.port_label(&m2);
                    ed.drag.sticky.set(true);
                    ed.status.set(format!("Connecting from {label}: click the port to connect to, or press Escape."));
                }
            }
            on:pointerenter=move |_| ed.drag.hover.set(Some(m3.clone()))
            on:pointerleave=move |_| if ed.drag.hover.with_untracked(|h| h.as_ref() == Some(&m4)) { ed.drag.hover.set(None) }
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() != "Enter" && ev.key() != " " {
                    return;
                }
                ev.prevent_default();
                ev.stop_propagation();
                match ed.drag.from.get_untracked() {
                    None => {
                        let right = flow.has_output();
                        let at = ed.graph.with_untracked(|g| ed.layout.with_untracked(|l| anchor(l, &g.processes, &m5, right))).unwrap_or((0.0, 0.0));
                        ed.start(m5.clone(), at, true);
                        ed.drag.pointer.set((at.0 + if right { 40.0 } else { -40.0 }, at.1));
                    }
                    Some(f) if f == m5 => ed.cancel(Some("Nothing was connected.")),
                    Some(_) => ed.drop_on(m5.clone()),
                }
            }>
            <title>{title}</title>
            <rect class="port-hit" x="6" y="3" width=(BOX_W - 12.0).to_string() height=(PORT_H - 6.0).to_string() rx="6"/>
            {flow.has_input().then(|| view! { <circle class="port-dot in" data-side="input" cx="0" cy=mid.clone() r="5"/> })}
            {flow.has_output().then(|| view! { <circle class="port-dot out" data-side="output" cx=BOX_W.to_string() cy=mid.clone() r="5"/> })}
            // Each text ends in a space (not drawn): assistive tools join an SVG's texts as they
            // are, and the port's name must read as the words it shows.
            <text class="port-name" x="16" y="18">{format!("{} ", clip(&iface.name, 22))}</text>
            <text class="port-messages" x="16" y="32">{format!("{} ", clip(&messages_short(iface), 32))}</text>
            <text class="port-marks" x=(BOX_W - 16.0).to_string() y="18" text-anchor="end">{marks}</text>
        </g>
    }
    .into_any()
}

pub(super) fn edge_view(ed: EditorState, c: Connection) -> AnyView {
    let geometry = {
        let c = c.clone();
        Memo::new(move |_| ed.planned.with(|g| ed.layout.with(|l| edge_geometry(l, &g.processes, &c))))
    };
    let id = c.id.clone();
    let staged = c.id.starts_with(DRAFT);
    let (describe, label_text, ends) = ed.planned.with_untracked(|g| {
        let (src, dst, flow) = source_target(&g.processes, &c);
        let name = |e: &switchyard_core::model::Endpoint| process_name(g, &e.process_id, &e.process_name);
        let version =
            |e: &switchyard_core::model::Endpoint| e.interface_version_name.clone().unwrap_or_else(|| "?".into());
        let how = match flow {
            EdgeFlow::OneWay { .. } => "one-way",
            EdgeFlow::TwoWay => "two-way",
            EdgeFlow::Unknown => "direction not declared",
        };
        let describe = format!(
            "Connection {}: {}, {how}; versions {} ('{}' uses {}, '{}' uses {}){}",
            ends_text(g, &c),
            state_word(&c),
            versions_text(g, &c),
            name(src),
            version(src),
            name(dst),
            version(dst),
            c.state_reason.as_ref().map(|r| format!("; {r}")).unwrap_or_default()
        );
        let ends = (
            name(src),
            name(dst),
            src.process_id.clone(),
            dst.process_id.clone(),
            match flow {
                EdgeFlow::OneWay { .. } => "one-way",
                EdgeFlow::TwoWay => "two-way",
                EdgeFlow::Unknown => "unknown",
            },
        );
        (describe, versions_text(g, &c), ends)
    });
    let class = format!(
        "edge state-{}{}{}",
        c.state.as_str().to_lowercase(),
        if c.terminating { " terminating" } else { "" },
        if staged { " staged" } else { "" }
    );
    let (id1, id2, id3, id4) = (id.clone(), id.clone(), id.clone(), id.clone());
    let removing = Memo::new(move |_| ed.draft.with(|d| d.disconnect.contains(&id4)));
    let label = describe.clone();
    // A pill over the curve's middle with the versions in use.
    let label_w = label_text.chars().count() as f64 * 6.8 + 14.0;
    let path = move || geometry.with(|g| g.as_ref().map(|g| g.path.clone()).unwrap_or_default());
    let heads = move || geometry.with(|g| g.as_ref().map(|g| g.heads.clone()).unwrap_or_default());
    let (source, target, source_id, target_id, flow) = ends;
    let versions_attr = label_text.clone();
    view! {
        <g class=rx(move || {
                let selected = if ed.selection.id.with(|s| s.as_deref() == Some(id1.as_str())) { " selected" } else { "" };
                let removing = if removing.get() { " removing" } else { "" };
                format!("{class}{selected}{removing}")
            })
            data-connection=id.clone() data-state=c.state.as_str() data-terminating=c.terminating.then_some("true")
            data-source=source data-target=target data-source-id=source_id data-target-id=target_id data-flow=flow
            data-versions=versions_attr
            data-staged=staged.then_some("added") data-removing=rx(move || removing.get().then_some("true"))
            tabindex="0" role="button" aria-label=label
            on:click=move |_| ed.select(id2.clone())
            on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Enter" || ev.key() == " " {
                ev.prevent_default();
                ed.select(id3.clone());
            }>
            <title>{describe}</title>
            <path class="edge-hit" d=rx(path)/>
            <path class="edge-line" d=rx(path)/>
            {move || heads().into_iter().map(|points| view! { <polygon class="edge-head" points=points/> }).collect_view()}
            <g class="edge-label" transform=rx(move || geometry.with(|g| g.as_ref().map(|g| format!("translate({:.1} {:.1})", g.mid.0, g.mid.1)).unwrap_or_default()))>
                <rect x=format!("{:.1}", -label_w / 2.0) y="-9" width=format!("{label_w:.1}") height="18" rx="9"/>
                <text y="4" text-anchor="middle">{label_text}</text>
            </g>
        </g>
    }
    .into_any()
}

/// What the marks in the graph mean.
#[component]
pub(super) fn Legend() -> impl IntoView {
    view! {
        <ul class="graph-legend muted small" aria-label="Legend">
            <li><svg width="34" height="12" aria-hidden="true"><line class="legend-line state-connected" x1="0" y1="6" x2="24" y2="6"/><polygon class="legend-head state-connected" points="34,6 23,1 23,11"/></svg>"data flows from an output (right side of a box) to an input (left side)"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line state-connected" x1="0" y1="5" x2="28" y2="5"/></svg>"connected"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line state-starting" x1="0" y1="5" x2="28" y2="5"/></svg>"starting"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line state-interrupted" x1="0" y1="5" x2="28" y2="5"/></svg>"interrupted or suspended"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line terminating" x1="0" y1="5" x2="28" y2="5"/></svg>"terminating"</li>
            <li><code>"→"</code>" sends · " <code>"←"</code>" receives · " <code>"⇄"</code>" both"</li>
            <li><code>"1:1"</code>" one connection only · " <code>"1:n"</code>" several · " <code>"auto"</code>" connects automatically"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line staged" x1="0" y1="5" x2="28" y2="5"/></svg>"staged in the draft"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line removing" x1="0" y1="5" x2="28" y2="5"/></svg>"removed by the draft"</li>
            <li>"Edge labels: the negotiated interface versions, sender's first"</li>
        </ul>
    }
    .into_any()
}
