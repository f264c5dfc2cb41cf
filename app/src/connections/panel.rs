//! The selected connection: its ends, versions, state, history and pending changes, and
//! terminating it.

use leptos::prelude::*;
use leptos_router::components::A;
use switchyard_core::model::ConnectionState;
use switchyard_core::model::Topic;

use super::{
    api::{get_connection, ConnectionDetail, TerminateConnection},
    geometry::{
        ends_text, interface_name, messages_text, process_name, source_target, state_word, versions_text, EdgeFlow,
    },
    state::EditorState,
};
use crate::{
    components::{one_at_a_time, rv, rx, when, ErrorMessage, Loading},
    live::refresh_live,
    pending_changes::{change_state, CancelPendingChange, ChangeActionResult, ChangeActions, RetryPendingChange},
    AppError,
};

#[component]
pub(super) fn Panel(ed: EditorState, id: String) -> impl IntoView {
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
    refresh_live(&[Topic::Connection, Topic::Process], load.clone());
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
        ed.selection.confirm.set(false);
        ed.selection.id.set(None);
    };
    let body = rv(move || {
        let Some(c) = connection.get() else {
            return match error.get() {
                Some(e) => view! { <ErrorMessage error=e/> }.into_any(),
                None => view! { <Loading/> }.into_any(),
            };
        };
        let (ends, from, to, flow, versions) = ed.graph.with_untracked(|g| {
            let side = |e: &switchyard_core::model::Endpoint| {
                let iface = g
                    .processes
                    .iter()
                    .find(|p| p.id == e.process_id)
                    .and_then(|p| p.interfaces.iter().find(|i| i.id == e.interface_id));
                let version = e.interface_version_name.clone().unwrap_or_else(|| "?".into());
                let hashes = iface
                    .and_then(|i| {
                        i.interface_versions.iter().find(|v| Some(&v.version_name) == e.interface_version_name.as_ref())
                    })
                    .map(|v| (v.sends_hash.clone(), v.receives_hash.clone()));
                Endpoint {
                    process_id: e.process_id.clone(),
                    process: process_name(g, &e.process_id, &e.process_name),
                    interface: interface_name(g, &e.process_id, &e.interface_id),
                    interface_id: e.interface_id.clone(),
                    messages: iface.map(messages_text).unwrap_or_default(),
                    version,
                    hashes,
                }
            };
            let (src, dst, flow) = source_target(&g.processes, &c);
            (ends_text(g, &c), side(src), side(dst), flow, versions_text(g, &c))
        });
        let endpoint = |e: Endpoint| {
            view! {
                <dd>
                    <A href=format!("/processes/{}", e.process_id)>{e.process}</A>" · "<strong>{e.interface}</strong>
                    <div class="muted small">{e.messages}</div>
                    <div class="muted small">"version "{e.version}</div>
                    <details class="hashes small">
                        <summary>"Interface details"</summary>
                        <div><code>{e.interface_id}</code></div>
                        {e.hashes.map(|(sends, receives)| view! {
                            <div>"sends hash " <code class="digest">{sends}</code></div>
                            <div>"receives hash " <code class="digest">{receives}</code></div>
                        })}
                    </details>
                </dd>
            }
        };
        let (from_label, to_label) = match flow {
            EdgeFlow::OneWay { .. } => ("From (sends)", "To (receives)"),
            EdgeFlow::TwoWay => ("One end (both send)", "Other end"),
            EdgeFlow::Unknown => ("One end", "Other end"),
        };
        let direction = match flow {
            EdgeFlow::OneWay { .. } => "one-way: data flows from the first process to the second",
            EdgeFlow::TwoWay => "two-way: each side sends to the other",
            EdgeFlow::Unknown => "not declared: the services' labels do not list their message types",
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
            let staging = cid.clone();
            view! {
                <div class="actions">
                    {rv(move || if ed.drafting.get() {
                        let id = staging.clone();
                        view! {
                            <button type="button" class="danger" on:click=move |_| ed.stage_disconnect(&id)>"Remove in the draft"</button>
                        }.into_any()
                    } else if ed.selection.confirm.get() {
                        let cid = cid.clone();
                        view! {
                            <span class="confirm" role="group" aria-label="Confirm termination">
                                <button type="button" class="danger" disabled=rx(move || ed.terminate.pending().get() || !ed.ready.get())
                                    on:click=move |_| { ed.terminate.dispatch(TerminateConnection { id: cid.clone() }); }>
                                    "Really terminate"
                                </button>
                                <button type="button" on:click=move |_| ed.selection.confirm.set(false)>"Keep it"</button>
                            </span>
                        }.into_any()
                    } else {
                        view! {
                            <button type="button" class="danger" disabled=rx(move || !ed.ready.get()) on:click=move |_| ed.selection.confirm.set(true)>"Terminate…"</button>
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
                <dt>{from_label}</dt>{endpoint(from)}
                <dt>{to_label}</dt>{endpoint(to)}
                <dt>"Versions"</dt><dd data-testid="panel-versions">{versions}</dd>
                <dt>"Direction"</dt><dd>{direction}</dd>
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

/// One end of the connection as the panel shows it.
struct Endpoint {
    process_id: String,
    process: String,
    interface: String,
    interface_id: String,
    /// "sends …" / "receives …".
    messages: String,
    version: String,
    /// The version's (sends, receives) hashes, for the details.
    hashes: Option<(String, String)>,
}
