//! The selected connection: its ends, versions, state, history and pending changes, and
//! terminating it.

use leptos::prelude::*;
use leptos_router::components::A;
use switchyard_core::model::ConnectionState;
use switchyard_core::model::Topic;

use super::{
    api::{get_connection, ConnectionDetail, TerminateConnection},
    geometry::{ends_text, interface_name, process_name, state_word},
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
