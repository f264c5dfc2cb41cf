//! The graph: the processes as boxes, their interfaces as ports, the connections as edges, and
//! the pointer and keyboard handling on them.

use std::collections::BTreeMap;

use leptos::prelude::*;
use switchyard_core::model::{Connection, Process};

use super::{
    draft::DRAFT,
    geometry::{
        anchor, box_height, clip, edge_geometry, ends_text, state_word, versions_text, PortRef, BOX_W, HEADER_H, PORT_H,
    },
    state::{save_positions, EditorState, Look},
};
use crate::components::{rv, rx};

#[component]
pub(super) fn Graph(ed: EditorState) -> impl IntoView {
    let size = Memo::new(move |_| ed.layout.with(|l| (l.width.round(), l.height.round())));
    // The rubber band from the held port to the pointer: one element, moved, never rebuilt.
    let band = Memo::new(move |_| -> Option<(f64, f64, f64, f64)> {
        let from = ed.drag.from.get()?;
        if !(ed.drag.moved.get() || ed.drag.sticky.get()) {
            return None;
        }
        let (px, py) = ed.drag.pointer.get();
        let (ax, ay) = ed.planned.with(|g| {
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
                <svg class=rx(move || if ed.drag.from.with(|f| f.is_some()) { "graph dragging" } else { "graph" })
                    node_ref=ed.svg
                    xmlns="http://www.w3.org/2000/svg"
                    viewBox=rx(move || { let (w, h) = size.get(); format!("0 0 {w} {h}") })
                    width=rx(move || size.get().0.to_string())
                    height=rx(move || size.get().1.to_string())
                    role="group" aria-label="Connection graph" aria-describedby="graph-help"
                    data-testid="connection-graph">
                    <g class="boxes">
                        <For each=move || ed.planned.with(|g| g.processes.clone()) key=|p| (p.id.clone(), p.revision) let:p>
                            {process_box(ed, p)}
                        </For>
                    </g>
                    <g class="edges">
                        // What the draft leaves, and the live connections it removes (drawn as such).
                        <For each=move || drawn_edges(ed) key=|c| (c.id.clone(), c.revision, c.terminating) let:c>
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

/// The edges to draw: the graph as the draft leaves it, plus the live connections it removes.
fn drawn_edges(ed: EditorState) -> Vec<Connection> {
    ed.planned.with(|g| {
        let mut edges = g.connections.clone();
        ed.draft.with(|d| {
            ed.graph
                .with(|real| edges.extend(real.connections.iter().filter(|c| d.disconnect.contains(&c.id)).cloned()))
        });
        edges
    })
}

pub(super) fn process_box(ed: EditorState, p: Process) -> AnyView {
    let pid = p.id.clone();
    let transform = {
        let pid = pid.clone();
        rx(move || {
            ed.layout.with(|l| l.boxes.get(&pid).map(|b| format!("translate({} {})", b.x, b.y)).unwrap_or_default())
        })
    };
    let h = box_height(&p);
    let staged = p.id.starts_with(DRAFT);
    let state = if staged { "NEW" } else { p.state.as_str() };
    let lower = if staged { "staged".to_string() } else { state.to_lowercase() };
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
                match ed.drag.from.get_untracked() {
                    None => {
                        let at = ed.graph.with_untracked(|g| ed.layout.with_untracked(|l| anchor(l, &g.processes, &m5, true))).unwrap_or((0.0, 0.0));
                        ed.start(m5.clone(), at, true);
                        ed.drag.pointer.set((at.0 + 40.0, at.1));
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

pub(super) fn edge_view(ed: EditorState, c: Connection) -> AnyView {
    let geometry = {
        let c = c.clone();
        Memo::new(move |_| ed.planned.with(|g| ed.layout.with(|l| edge_geometry(l, &g.processes, &c))))
    };
    let id = c.id.clone();
    let staged = c.id.starts_with(DRAFT);
    let describe = ed.planned.with_untracked(|g| {
        format!(
            "Connection {}: {} (versions {}){}",
            ends_text(g, &c),
            state_word(&c),
            versions_text(&c),
            c.state_reason.as_ref().map(|r| format!("; {r}")).unwrap_or_default()
        )
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
    let label_text = versions_text(&c);
    let label_w = label_text.chars().count() as f64 * 6.8 + 14.0;
    let path = move || geometry.with(|g| g.as_ref().map(|g| g.0.clone()).unwrap_or_default());
    view! {
        <g class=rx(move || {
                let selected = if ed.selection.id.with(|s| s.as_deref() == Some(id1.as_str())) { " selected" } else { "" };
                let removing = if removing.get() { " removing" } else { "" };
                format!("{class}{selected}{removing}")
            })
            data-connection=id.clone() data-state=c.state.as_str() data-terminating=c.terminating.then_some("true")
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
pub(super) fn Legend() -> impl IntoView {
    view! {
        <ul class="graph-legend muted small" aria-label="Legend">
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line state-connected" x1="0" y1="5" x2="28" y2="5"/></svg>"connected"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line state-starting" x1="0" y1="5" x2="28" y2="5"/></svg>"starting"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line state-interrupted" x1="0" y1="5" x2="28" y2="5"/></svg>"interrupted or suspended"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line terminating" x1="0" y1="5" x2="28" y2="5"/></svg>"terminating"</li>
            <li><code>"1:1"</code>" one connection only · " <code>"1:n"</code>" several · " <code>"auto"</code>" connects automatically"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line staged" x1="0" y1="5" x2="28" y2="5"/></svg>"staged in the draft"</li>
            <li><svg width="28" height="10" aria-hidden="true"><line class="legend-line removing" x1="0" y1="5" x2="28" y2="5"/></svg>"removed by the draft"</li>
            <li>"Edge labels: the interface versions in use"</li>
        </ul>
    }
    .into_any()
}
