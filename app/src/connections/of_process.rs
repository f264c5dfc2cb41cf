//! The Connections section of a process's page: its connections, live, and the way to the editor.

use leptos::prelude::*;
use leptos_router::components::A;
use switchyard_core::model::Connection;
use switchyard_core::model::Topic;

use super::{
    api::{process_connections, ProcessConnectionList},
    geometry::{messages_text, source_target, state_word, EdgeFlow},
};
use crate::{
    components::{one_at_a_time, rv, ErrorMessage, Loading},
    live::refresh_live,
    AppError,
};

/// The Connections section of a process's page: its connections, live, and the way to the editor.
#[component]
pub fn ProcessConnections(process_id: String, owner_id: String) -> impl IntoView {
    let list = RwSignal::new(None::<Result<ProcessConnectionList, AppError>>);
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
        Some(Ok(l)) if l.connections.is_empty() => view! { <p class="muted">"None."</p> }.into_any(),
        Some(Ok(l)) => {
            let me = process_id.clone();
            view! {
                <div class="table-scroll">
                    <table class="list process-connections">
                        <thead><tr><th scope="col">"Interface"</th><th scope="col">"Direction"</th><th scope="col">"Connected to"</th><th scope="col">"State"</th><th scope="col">"Versions"</th></tr></thead>
                        <tbody>
                            {l.connections.iter().map(|c| row(&l, c, &me)).collect_view()}
                        </tbody>
                    </table>
                </div>
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

/// One connection seen from the process `me`: its interface, which way data goes, the peer.
fn row(l: &ProcessConnectionList, c: &Connection, me: &str) -> AnyView {
    let (mine, peer) = match c.sides(me) {
        Some((m, p)) => (m.clone(), p.clone()),
        None => (c.endpoint1.clone(), c.endpoint2.clone()),
    };
    let iface = |e: &switchyard_core::model::Endpoint| {
        l.processes
            .iter()
            .find(|p| p.id == e.process_id)
            .and_then(|p| p.interfaces.iter().find(|i| i.id == e.interface_id))
            .cloned()
    };
    let name =
        |e: &switchyard_core::model::Endpoint| iface(e).map(|i| i.name).unwrap_or_else(|| e.interface_id.clone());
    let peer_name = l
        .processes
        .iter()
        .find(|p| p.id == peer.process_id)
        .map(|p| p.name.clone())
        .unwrap_or_else(|| peer.process_name.clone());
    let (src, _, flow) = source_target(&l.processes, c);
    let direction = match flow {
        EdgeFlow::OneWay { .. } if src.process_id == me => "sends to →",
        EdgeFlow::OneWay { .. } => "receives from ←",
        EdgeFlow::TwoWay => "both ways ⇄",
        EdgeFlow::Unknown => "not declared",
    };
    let word = state_word(c);
    let versions = format!(
        "{} ↔ {}",
        mine.interface_version_name.clone().unwrap_or_else(|| "?".into()),
        peer.interface_version_name.clone().unwrap_or_else(|| "?".into())
    );
    let messages = iface(&mine).map(|i| messages_text(&i)).unwrap_or_default();
    view! {
        <tr data-connection=c.id.clone() data-state=c.state.as_str()>
            <td title=mine.interface_id.clone()>{name(&mine)}<div class="muted small">{messages}</div></td>
            <td>{direction}</td>
            <td><A href=format!("/processes/{}", peer.process_id)>{peer_name}</A>
                <div class="muted small" title=peer.interface_id.clone()>{name(&peer)}</div></td>
            <td>
                <span class=format!("state-badge state-{}", word.to_lowercase())>{word}</span>
                {c.state_reason.clone().map(|r| view! { <div class="muted small reason">{r}</div> })}
            </td>
            <td class="mono small">{versions}</td>
        </tr>
    }
    .into_any()
}
