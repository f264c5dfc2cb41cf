//! The same data as a table, and a form that connects two ports by keyboard.

use leptos::prelude::*;
use leptos_router::components::A;
use switchyard_core::model::{Connection, ConnectionState};

use super::{
    api::connection_candidates,
    geometry::{ends_text, fits_from, interface_name, process_name, state_word, versions_text, PortRef},
    state::EditorState,
};
use crate::{
    components::{rv, rx, ErrorMessage},
    AppError,
};

#[component]
pub(super) fn ConnectionTable(ed: EditorState) -> impl IntoView {
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

pub(super) fn connection_row(ed: EditorState, c: Connection) -> AnyView {
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
            class=rx(move || if ed.selection.id.with(|s| s.as_deref() == Some(id1.as_str())) { "selected" } else { "" })>
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
                            on:click=move |_| { ed.select(id3.clone()); ed.selection.confirm.set(true); }>"Terminate…"</button>
                    })}
                </div>
            </td>
        </tr>
    }
    .into_any()
}

/// Connect with a form: choose a port, then one of those that fit it.
#[component]
pub(super) fn ConnectForm(ed: EditorState) -> impl IntoView {
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
