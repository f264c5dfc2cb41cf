//! The same data as a table, and a form that connects two ports by keyboard.

use leptos::prelude::*;
use leptos_router::{
    components::{Form, A},
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};
use switchyard_core::model::{Connection, ConnectionState};

use super::{
    api::{connection_candidates, TerminateConnection},
    geometry::{
        ends_text, fits_from, flow_arrow, interface_name, messages_text, process_name, source_target, state_word,
        versions_text, EdgeFlow, Flow, PortRef,
    },
    state::EditorState,
};
use crate::{
    components::{rv, rx, ErrorMessage},
    AppError,
};

/// How the table can be ordered (`?sort=`).
const SORTS: [(&str, &str); 5] = [
    ("created", "Oldest first"),
    ("from", "Sender"),
    ("to", "Receiver"),
    ("interface", "Interface"),
    ("state", "State"),
];

/// Rows per page of the table (a network of hundreds of connections is not one table).
const PER_PAGE: usize = 50;

/// One row's words, the sender first: what the search looks in and the sort orders by.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct RowText {
    pub from: (String, String, String),
    pub to: (String, String, String),
    pub state: String,
}

pub(super) fn row_text(g: &super::api::ConnectionGraph, c: &Connection) -> RowText {
    let (src, dst, _) = source_target(&g.processes, c);
    let side = |e: &switchyard_core::model::Endpoint| {
        (
            e.process_id.clone(),
            process_name(g, &e.process_id, &e.process_name),
            interface_name(g, &e.process_id, &e.interface_id),
        )
    };
    RowText { from: side(src), to: side(dst), state: state_word(c).to_string() }
}

/// Whether a row matches the search: every word in a process's or interface's name or id, or the state.
pub(super) fn matches(t: &RowText, c: &Connection, q: &str) -> bool {
    let hay = format!(
        "{} {} {} {} {} {} {}",
        t.from.1, t.from.2, c.endpoint1.interface_id, t.to.1, t.to.2, c.endpoint2.interface_id, t.state
    )
    .to_lowercase();
    q.split_whitespace().all(|w| hay.contains(&w.to_lowercase()))
}

/// The connections in the table's order, filtered.
pub(super) fn table_rows(g: &super::api::ConnectionGraph, q: &str, sort: &str) -> Vec<Connection> {
    let mut rows: Vec<(RowText, Connection)> =
        g.connections.iter().map(|c| (row_text(g, c), c.clone())).filter(|(t, c)| matches(t, c, q)).collect();
    let key = |t: &RowText| -> String {
        match sort {
            "from" => format!("{}\u{0}{}", t.from.1.to_lowercase(), t.to.1.to_lowercase()),
            "to" => format!("{}\u{0}{}", t.to.1.to_lowercase(), t.from.1.to_lowercase()),
            "interface" => format!("{}\u{0}{}", t.from.2.to_lowercase(), t.from.1.to_lowercase()),
            "state" => t.state.clone(),
            _ => String::new(),
        }
    };
    // Stable: equal keys keep the graph's order (oldest first).
    rows.sort_by_key(|(t, _)| key(t));
    rows.into_iter().map(|(_, c)| c).collect()
}

#[component]
pub(super) fn ConnectionTable(ed: EditorState) -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let q = RwSignal::new(query.read_untracked().get("q").unwrap_or_default());
    let sort = RwSignal::new(
        query
            .read_untracked()
            .get("sort")
            .filter(|s| SORTS.iter().any(|(k, _)| k == s))
            .unwrap_or_else(|| "created".into()),
    );
    let page = RwSignal::new(
        query.read_untracked().get("page").and_then(|p| p.parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1),
    );
    // The address follows the search, the order and the page, so a view can be shared.
    let write_address = move || {
        let owner = query.read_untracked().get("owner").unwrap_or_default();
        let mut parts = Vec::new();
        if !owner.is_empty() {
            parts.push(format!("owner={}", encode(&owner)));
        }
        let (qv, sv) = (q.get_untracked(), sort.get_untracked());
        if !qv.is_empty() {
            parts.push(format!("q={}", encode(&qv)));
        }
        if sv != "created" {
            parts.push(format!("sort={}", encode(&sv)));
        }
        let pv = page.get_untracked();
        if pv > 1 {
            parts.push(format!("page={pv}"));
        }
        let url =
            if parts.is_empty() { "/connections".to_string() } else { format!("/connections?{}", parts.join("&")) };
        navigate(&url, NavigateOptions { replace: true, scroll: false, ..Default::default() });
    };
    let write = write_address.clone();
    let (write_prev, write_next) = (write_address.clone(), write_address.clone());
    let confirming = RwSignal::new(None::<String>);
    let rows = Memo::new(move |_| ed.graph.with(|g| table_rows(g, &q.get(), &sort.get())));
    let total = Memo::new(move |_| ed.graph.with(|g| g.connections.len()));
    let pages = Memo::new(move |_| rows.with(|r| r.len().div_ceil(PER_PAGE).max(1)));
    // A page past the end (rows ended, or a stale address) shows the last one.
    let at = Memo::new(move |_| page.get().min(pages.get()));
    let page_rows = Memo::new(move |_| {
        let first = (at.get() - 1) * PER_PAGE;
        rows.with(|r| r.iter().skip(first).take(PER_PAGE).cloned().collect::<Vec<_>>())
    });
    let pager = move || {
        let (at, pages, all) = (at.get(), pages.get(), rows.with(Vec::len));
        let (write_prev, write_next) = (write_prev.clone(), write_next.clone());
        (pages > 1).then(|| {
            let first = (at - 1) * PER_PAGE + 1;
            let last = (at * PER_PAGE).min(all);
            view! {
                <nav class="pager list-pager" aria-label="Pages of connections" data-testid="connections-pager">
                    <span class="muted" data-range="">{format!("{first}–{last} of {all} connections")}</span>
                    <button type="button" class="small" disabled={at <= 1} data-pager="previous"
                        on:click=move |_| { page.set(at - 1); write_prev(); }>
                        <span aria-hidden="true">"← "</span>"Previous"
                    </button>
                    <span data-page-of="" aria-current="page">{format!("Page {at} of {pages}")}</span>
                    <button type="button" class="small" disabled={at >= pages} data-pager="next"
                        on:click=move |_| { page.set(at + 1); write_next(); }>
                        "Next"<span aria-hidden="true">" →"</span>
                    </button>
                </nav>
            }
        })
    };
    let body = rv(move || {
        if total.get() == 0 {
            return view! { <p class="muted">"No connections yet. Drag from one port to another above, or use the form below."</p> }.into_any();
        }
        if rows.with(Vec::is_empty) {
            return view! { <p class="muted" data-testid="connections-none-match">"No connection matches this search."</p> }.into_any();
        }
        view! {
            <div class="table-scroll">
                <table class="list connections">
                    <thead>
                        <tr><th scope="col">"From (sender)"</th><th scope="col"><span class="visually-hidden">"Direction"</span></th><th scope="col">"To (receiver)"</th><th scope="col">"State"</th><th scope="col">"Versions"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr>
                    </thead>
                    <tbody>
                        <For each=move || page_rows.get() key=|c| (c.id.clone(), c.revision, c.terminating) let:c>
                            {connection_row(ed, c, confirming)}
                        </For>
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    });
    let count = rv(move || {
        let (shown, all) = (rows.with(Vec::len), total.get());
        (all > 0).then(|| view! { <span class="muted small" role="status">{if shown == all { format!("{all} in all") } else { format!("{shown} of {all}") }}</span> })
    });
    view! {
        <section class="card stack" aria-labelledby="connections-heading">
            <h2 id="connections-heading">"All connections"</h2>
            <Form method="GET" action="" attr:class="toolbar connections-filter" attr:role="search" attr:aria-label="Filter connections">
                {move || query.read().get("owner").map(|o| view! { <input type="hidden" name="owner" value=o/> })}
                <label class="inline-label">
                    "Search"
                    <input type="search" name="q" data-testid="connections-search" placeholder="Process or interface"
                        value=q.get_untracked() prop:value=move || q.get()
                        on:input=move |ev| { q.set(event_target_value(&ev)); page.set(1); write_address(); }/>
                </label>
                <label class="inline-label">
                    "Sort by"
                    <select name="sort" data-testid="connections-sort" prop:value=move || sort.get()
                        on:change=move |ev| { sort.set(event_target_value(&ev)); page.set(1); write(); }>
                        {SORTS.iter().map(|(k, label)| view! { <option value=*k selected=move || sort.get() == *k>{*label}</option> }).collect_view()}
                    </select>
                </label>
                // Its content is given as HTML, not as children: a browser with scripts parses a
                // <noscript>'s content as text, which hydration cannot take for a <button>.
                <noscript inner_html=r#"<button type="submit">Show</button>"#></noscript>
                {count}
            </Form>
            {body}
            {pager}
        </section>
    }
    .into_any()
}

/// Percent-encode a query value.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(super) fn connection_row(ed: EditorState, c: Connection, confirming: RwSignal<Option<String>>) -> AnyView {
    let (text, ends, flow) = ed.graph.with_untracked(|g| {
        let (_, _, flow) = source_target(&g.processes, &c);
        (row_text(g, &c), ends_text(g, &c), flow)
    });
    let cell = |class: &'static str, (pid, pname, iname): (String, String, String)| {
        let process = pname.clone();
        view! {
            <td class=class data-process=process><A href=format!("/processes/{pid}")>{pname}</A><div class="muted small">{iname}</div></td>
        }
    };
    let arrow = flow_arrow(flow);
    let arrow_words = match flow {
        EdgeFlow::OneWay { .. } => "sends to",
        EdgeFlow::TwoWay => "sends to and receives from",
        EdgeFlow::Unknown => "connected to",
    };
    let word = state_word(&c);
    let live = c.state != ConnectionState::Terminated && !c.terminating;
    let staged_only = c.id.starts_with(super::draft::DRAFT);
    let id = c.id.clone();
    let (id1, id2, id3, id4, id5) = (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
    let versions = ed.graph.with_untracked(|g| versions_text(g, &c));
    let (ends2, ends3, ends4) = (ends.clone(), ends.clone(), ends.clone());
    let (source, target) = (text.from.1.clone(), text.to.1.clone());
    view! {
        <tr data-connection=id data-state=c.state.as_str() data-source=source data-target=target
            class=rx(move || if ed.selection.id.with(|s| s.as_deref() == Some(id1.as_str())) { "selected" } else { "" })>
            {cell("from", text.from)}
            <td class="flow-arrow"><span aria-hidden="true">{arrow}</span><span class="visually-hidden">{arrow_words}</span></td>
            {cell("to", text.to)}
            <td>
                <span class=format!("state-badge state-{}", word.to_lowercase())>{word}</span>
                {c.state_reason.clone().map(|r| view! { <div class="muted small reason">{r}</div> })}
            </td>
            <td class="mono small">{versions}</td>
            <td>
                <div class="row-actions">
                    <button type="button" class="small" aria-label=format!("Details of {ends}") on:click=move |_| ed.select(id2.clone())>"Details"</button>
                    {(live && !staged_only).then(|| rv(move || {
                        let (id3, id4, id5) = (id3.clone(), id4.clone(), id5.clone());
                        if ed.drafting.get() {
                            view! {
                                <button type="button" class="small danger" aria-label=format!("Remove {} in the draft", ends2)
                                    on:click=move |_| ed.stage_disconnect(&id3)>"Remove in the draft"</button>
                            }.into_any()
                        } else if confirming.with(|c| c.as_deref() == Some(id4.as_str())) {
                            view! {
                                <span class="confirm" role="group" aria-label=format!("Confirm disconnecting {}", ends3)>
                                    <button type="button" class="small danger" data-testid="row-confirm-disconnect"
                                        disabled=rx(move || ed.terminate.pending().get() || !ed.ready.get())
                                        on:click=move |_| { confirming.set(None); ed.terminate.dispatch(TerminateConnection { id: id4.clone() }); }>
                                        "Really disconnect"
                                    </button>
                                    <button type="button" class="small" on:click=move |_| confirming.set(None)>"Keep"</button>
                                </span>
                            }.into_any()
                        } else {
                            view! {
                                <button type="button" class="small danger" aria-label=format!("Disconnect {}…", ends4)
                                    disabled=rx(move || !ed.ready.get())
                                    on:click=move |_| confirming.set(Some(id5.clone()))>"Disconnect…"</button>
                            }.into_any()
                        }
                    }))}
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
                    p.interfaces.iter().map(move |i| {
                        (
                            PortRef::of(p, &i.id),
                            format!("{} — {} ({}: {})", p.name, i.name, Flow::of(i).word(), messages_text(i)),
                        )
                    })
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
