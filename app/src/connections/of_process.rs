//! The Connections section of a process's page: its connections, live, and the way to the editor.

use leptos::prelude::*;
use leptos_router::components::A;
use switchyard_core::model::Connection;
use switchyard_core::model::Topic;

use super::{api::process_connections, geometry::state_word};
use crate::{
    components::{one_at_a_time, rv, ErrorMessage, Loading},
    live::refresh_live,
    AppError,
};

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
    refresh_live(&[Topic::Connection], load);
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
