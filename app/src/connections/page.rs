//! The connections page: loading the owner's graph, keeping it live, and the editor around the
//! graph, the selected connection's panel and the table.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};
use switchyard_core::model::Topic;

use super::{
    api::{open_connections, refresh_connections, ConnectionGraph},
    draft::{DraftBar, Matrix},
    geometry::{ends_text, state_word},
    graph::{Graph, Legend},
    panel::Panel,
    state::{load_positions, EditorState, Look},
    table::{ConnectForm, ConnectionTable},
};
#[cfg(feature = "hydrate")]
use std::collections::BTreeMap;

#[cfg(feature = "hydrate")]
use super::{geometry::DRAG_SLOP, state::save_positions};
use crate::{
    components::{one_at_a_time, rv, rx, EmptyState, ErrorMessage, Loading},
    live::refresh_live,
    AppError,
};

/// The connection editor's data (the owner's graph), loading as soon as the route matches.
pub type ConnectionsData = Resource<Result<super::ConnectionsPageData, AppError>>;

/// Whose connections the address asks for (`?owner=`, administrators only; empty: the caller's).
fn owner_of_address() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get("owner").unwrap_or_default())
}

pub fn load_connections() -> ConnectionsData {
    let owner = owner_of_address();
    Resource::new(move || owner.get(), open_connections)
}

#[component]
pub fn ConnectionsPage(data: ConnectionsData) -> impl IntoView {
    let owner = owner_of_address();
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
                                        // Its content is given as HTML, not as children: a browser
                                        // with scripts parses a <noscript>'s content as text, which
                                        // hydration cannot take for a <button>.
                                        <noscript inner_html=r#"<button type="submit">Show</button>"#></noscript>
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
pub(super) fn Editor(initial: ConnectionGraph, owner: String) -> impl IntoView {
    let ed = EditorState::new(initial);
    let graph = ed.graph;

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
    refresh_live(&[Topic::Process, Topic::Connection], refresh.clone());

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
                    ed.selection.confirm.set(false);
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
            use super::graph::{gesture_move, gesture_up};
            let moves = window_event_listener(leptos::ev::pointermove, move |ev| {
                if !gesture_move(ed, &ev) {
                    on_pointer_move(ed, &ev);
                }
            });
            let ups = window_event_listener(leptos::ev::pointerup, move |ev| {
                gesture_up(ed, &ev);
                on_pointer_up(ed);
            });
            let cancels = window_event_listener(leptos::ev::pointercancel, move |ev| {
                gesture_up(ed, &ev);
                ed.drag.moving.set_value(None);
                if ed.drag.from.with_untracked(|f| f.is_some()) {
                    ed.cancel(Some("Nothing was connected."));
                }
            });
            let keys = window_event_listener(leptos::ev::keydown, move |ev| {
                if ev.key() == "Escape" && ed.drag.from.get_untracked().is_some() {
                    ed.cancel(Some("Nothing was connected."));
                }
                // Undo and redo the draft, unless the keys are for a text field.
                if ed.drafting.get_untracked() && (ev.ctrl_key() || ev.meta_key()) && !typing(&ev) {
                    match ev.key().as_str() {
                        "z" | "Z" if ev.shift_key() => ed.redo_step(),
                        "z" | "Z" => ed.undo_step(),
                        "y" | "Y" => ed.redo_step(),
                        _ => return,
                    }
                    ev.prevent_default();
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

    // Below the graph: the table, the form and the matrix, built once the graph has been painted
    // when the app opens the editor itself (a link followed); at 500 processes they are two thirds
    // of the editor's elements (the form's 500 ports, 50 rows of 18) and are below the fold. A
    // page the server rendered has them from the start, as the server sent them.
    let below = RwSignal::new(!opened_by_the_app());
    #[cfg(feature = "hydrate")]
    if !below.get_untracked() {
        request_animation_frame(move || {
            set_timeout(
                move || {
                    let _ = below.try_set(true);
                },
                std::time::Duration::ZERO,
            );
        });
    }
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
                    "Inputs are on the left of a box, outputs on the right; edges run from the sender to the receiver. "
                    "Drag from one port to another to connect them, or click a port and then another. While a port is held, the ports it fits are highlighted and the others greyed out; hover one to see why. Select an edge to inspect or terminate it. The table and form below do the same with a keyboard. "
                    "Zoom with the wheel, a pinch or the + and − keys, 0 fits the whole graph, the arrow keys or dragging the background pan it. "
                    "With " <strong>"Draft changes"</strong> " on, changes are staged on the graph (dashed) with undo and redo, then reviewed as a plan and applied together."
                </p>
                <DraftBar ed/>
                <div class=rx(move || if ed.selection.id.with(|s| s.is_some()) { "editor with-panel" } else { "editor" })>
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
                    {rv(move || ed.selection.id.get().map(|id| view! { <Panel ed id/> }))}
                </div>
                {rv(move || below.get().then(|| view! {
                    <ConnectionTable ed/>
                    <ConnectForm ed/>
                    <Matrix ed/>
                }))}
            }.into_any()
        })}
    }
    .into_any()
}

/// Whether the running app opened the page (a link followed), rather than the server rendering it
/// for the app to hydrate ([`crate::HYDRATED_ATTRIBUTE`]).
fn opened_by_the_app() -> bool {
    #[cfg(feature = "hydrate")]
    {
        document().body().is_some_and(|b| b.has_attribute(crate::HYDRATED_ATTRIBUTE))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

/// Whether a key press is meant for a text field (its own undo).
#[cfg(feature = "hydrate")]
fn typing(ev: &leptos::ev::KeyboardEvent) -> bool {
    use leptos::web_sys::wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
        .map(|el| {
            matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                && el.get_attribute("type").as_deref() != Some("checkbox")
        })
        .unwrap_or(false)
}

/// The line under the graph: what is held and what the pointer is over.
pub(super) fn drag_status(ed: EditorState) -> String {
    if ed.create.pending().get() {
        return "Connecting…".into();
    }
    if ed.drag.from.with(|f| f.is_some()) {
        if let Some(h) = ed.drag.hover.get() {
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
pub(super) fn on_pointer_move(ed: EditorState, ev: &leptos::ev::PointerEvent) {
    let moving = ed.drag.moving.get_value();
    if moving.is_none() && ed.drag.from.with_untracked(|f| f.is_none()) {
        return;
    }
    let Some((x, y)) = ed.graph_point(ev.client_x(), ev.client_y()) else { return };
    if let Some((id, (dx, dy))) = moving {
        ed.positions.update(|m| {
            m.insert(id, ((x - dx).max(0.0).round(), (y - dy).max(0.0).round()));
        });
        return;
    }
    let (sx, sy) = ed.drag.start.get_value();
    if !ed.drag.moved.get_untracked() && ((x - sx).powi(2) + (y - sy).powi(2)).sqrt() > DRAG_SLOP {
        ed.drag.moved.set(true);
    }
    ed.drag.pointer.set((x, y));
}

#[cfg(feature = "hydrate")]
pub(super) fn on_pointer_up(ed: EditorState) {
    if ed.drag.handled.get_value() {
        ed.drag.handled.set_value(false);
        return;
    }
    if ed.drag.moving.get_value().is_some() {
        ed.drag.moving.set_value(None);
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
    if ed.drag.from.with_untracked(|f| f.is_some()) {
        ed.cancel(Some("Released away from a port: nothing was connected. Drop on a highlighted port to connect."));
    }
}
