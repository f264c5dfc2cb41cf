//! The process list and the small views it shares with other pages. The list's whole view
//! (search, state, service, owner, node, sort, page, page size) is in the URL; its states stay
//! live; rows can be selected for a bulk suspend, resume or delete behind one confirmation, and
//! each row has its own actions.

use std::collections::BTreeSet;
use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};
use switchyard_core::model::Topic;
use switchyard_core::model::{Node, Placement, ProcessState};

use super::api::{
    load_process_filters, load_process_list, BulkProcessAction, PoolChoice, ProcessListChoices, ProcessListView,
    ProcessQuery, ProcessVerb,
};
use crate::{
    components::{one_at_a_time, rv, rx, when, EmptyState, ErrorMessage, Loading},
    lists::{
        href, navigator, per_options, with, BulkSummary, ConfirmPanel, FilterSelect, ListPager, PlanLine, SearchBox,
        SelectionBar, SortHeader,
    },
    live::refresh_live,
    AppError,
};

/// A process state as a coloured badge; its reason shows on hover.
#[component]
pub fn StateBadge(state: ProcessState, #[prop(optional_no_strip)] reason: Option<String>) -> impl IntoView {
    view! {
        <span class=format!("state-badge state-{}", state.as_str().to_lowercase()) title=reason data-state=state.as_str()>
            {state.as_str()}
        </span>
    }
}

pub(super) fn placement_words(p: &Placement, pools: &[PoolChoice], nodes: &[Node]) -> String {
    match p {
        Placement::Automatic => "automatic".into(),
        Placement::PrivateNode { node_id } => {
            format!(
                "private node {}",
                nodes.iter().find(|n| &n.id == node_id).map(|n| n.name.as_str()).unwrap_or(node_id)
            )
        }
        Placement::NodePool { pool_id } => {
            format!("node pool {}", pools.iter().find(|n| &n.id == pool_id).map(|n| n.name.as_str()).unwrap_or(pool_id))
        }
    }
}

#[component]
pub fn ProcessesPage() -> impl IntoView {
    let query = use_query_map();
    let args = Memo::new(move |_| ProcessQuery::from_map(&query.read()));
    let deleted = move || query.read().get("deleted").is_some();
    let choices = Resource::new(|| (), |_| load_process_filters());
    let list = Resource::new(move || args.get(), load_process_list);
    view! {
        <Title text="Processes"/>
        <div class="page-head">
            <h1>"Processes"</h1>
            <A href="/processes/new" attr:class="button primary">"New process"</A>
        </div>
        {rv(move || deleted().then(|| view! {
            <p class="notice" role="status">"The process is being deleted; it disappears from the list when its container is gone."</p>
        }))}
        <ProcessToolbar args choices/>
        <Transition fallback=Loading>
            {rv(move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(l) => {
                        let notices = l.notices.iter().map(|n| view! { <p class="notice" role="status" data-list-notice="">{n.clone()}</p> }).collect_view();
                        let on_node = l.query.node.clone();
                        let node_notice = (!on_node.is_empty()).then(|| {
                            let name = l.node_names.get(&on_node).cloned().unwrap_or_else(|| on_node.clone());
                            let all = href(ProcessQuery::PATH, &with(&with(&l.query.pairs(), "node", ""), "page", ""));
                            view! {
                                <p class="notice" role="status" data-node-filter=on_node.clone()>
                                    {format!("Only the processes on node {name}. ")}
                                    <A href=all>"Show all"</A>
                                </p>
                            }
                        });
                        view! { {notices} {node_notice} <ProcessTable initial=l/> }.into_any()
                    }
                }
            }))}
        </Transition>
    }
}

/// Search, filters and page size: a GET form (it works without JavaScript; with it, each change
/// shows at once). It is drawn once, so typing is never interrupted by the list reloading.
#[component]
fn ProcessToolbar(args: Memo<ProcessQuery>, choices: Resource<Result<ProcessListChoices, AppError>>) -> impl IntoView {
    let initial = args.get_untracked();
    let go = navigator(ProcessQuery::PATH, Signal::derive(move || args.with(|a| a.pairs())));
    let pick = move |key: &'static str| Callback::new(move |v: String| go.run((key, v)));
    let states: Vec<(String, String)> = std::iter::once((String::new(), "Every state".to_string()))
        .chain(ProcessState::ALL.iter().map(|s| (s.as_str().to_lowercase(), s.as_str().to_string())))
        .collect();
    let (on_state, on_service, on_owner, on_per) = (pick("state"), pick("service"), pick("owner"), pick("per"));
    view! {
        <Form method="GET" action="" attr:class="toolbar list-toolbar" attr:role="search" attr:aria-label="Filter processes">
            <SearchBox label="Search" placeholder="Part of the name"
                current=Signal::derive(move || args.with(|a| a.q.clone())) on_search=pick("q")/>
            <FilterSelect label="State" name="state" options=states
                current=Signal::derive(move || args.with(|a| a.state.to_lowercase())) on_change=on_state/>
            <Suspense fallback=|| ()>
                {rv(move || Suspend::new(async move {
                    let c = choices.await.unwrap_or(ProcessListChoices { services: Vec::new(), owners: Vec::new() });
                    let now = args.get_untracked();
                    let mut services: Vec<(String, String)> = vec![(String::new(), "Every service".into())];
                    if !now.service.is_empty() && !c.services.iter().any(|(id, _)| id == &now.service) {
                        services.push((now.service.clone(), now.service.clone()));
                    }
                    services.extend(c.services.iter().cloned());
                    let owners = (!c.owners.is_empty()).then(|| {
                        let mut options: Vec<(String, String)> = vec![(String::new(), "Everyone".into())];
                        options.extend(c.owners.iter().cloned());
                        view! { <FilterSelect label="Owner" name="owner" options current=Signal::derive(move || args.with(|a| a.owner.clone())) on_change=on_owner/> }
                    });
                    view! {
                        <FilterSelect label="Service" name="service" options=services
                            current=Signal::derive(move || args.with(|a| a.service.clone())) on_change=on_service/>
                        {owners}
                    }
                }))}
            </Suspense>
            <FilterSelect label="Show" name="per" options=per_options(&initial.per)
                current=Signal::derive(move || args.with(|a| if a.per.is_empty() { crate::lists::DEFAULT_PER.to_string() } else { a.per.clone() }))
                on_change=on_per/>
            <input type="hidden" name="sort" value=move || args.with(|a| a.sort.clone())/>
            {(!initial.node.is_empty()).then(|| view! { <input type="hidden" name="node" value=move || args.with(|a| a.node.clone())/> })}
            <button type="submit">"Apply"</button>
        </Form>
    }
}

/// What a bulk action will do to each selected process, in the list's order.
fn plan(verb: ProcessVerb, list: &ProcessListView, selected: &BTreeSet<String>) -> Vec<PlanLine> {
    list.items
        .iter()
        .filter(|p| selected.contains(&p.id))
        .map(|p| match verb.plan(p.state) {
            Ok(words) => PlanLine { id: p.id.clone(), name: p.name.clone(), what: words.to_string(), skip: false },
            Err(why) => PlanLine { id: p.id.clone(), name: p.name.clone(), what: why, skip: true },
        })
        .collect()
}

/// The process table, kept current by the event stream, with selection and actions.
#[component]
fn ProcessTable(initial: ProcessListView) -> impl IntoView {
    let show_owner = initial.owner_names.is_some();
    let query = initial.query.clone();
    let filtered =
        !query.q.is_empty() || !query.state.is_empty() || !query.service.is_empty() || !query.owner.is_empty();
    let list = RwSignal::new(initial);
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let announce = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let refresh = {
        let query = query.clone();
        one_at_a_time(
            move || load_process_list(query.clone()),
            move |fresh| match fresh {
                Ok(fresh) => {
                    let _ = error.try_set(None);
                    let changed = list.try_with_untracked(|old| {
                        if old == &fresh {
                            return None;
                        }
                        let news: Vec<String> = fresh
                            .items
                            .iter()
                            .filter_map(|p| match old.items.iter().find(|o| o.id == p.id) {
                                Some(o) if o.state == p.state => None,
                                _ => Some(format!("{} is {}", p.name, p.state)),
                            })
                            .chain(
                                old.items
                                    .iter()
                                    .filter(|o| !fresh.items.iter().any(|p| p.id == o.id))
                                    .map(|o| format!("{} is gone", o.name)),
                            )
                            .collect();
                        Some(news)
                    });
                    if let Some(Some(news)) = changed {
                        if !news.is_empty() {
                            let _ = announce.try_set(news.join("; "));
                        }
                        // A selected process that left this page is no longer selected.
                        let _ = selected.try_update(|s| s.retain(|id| fresh.items.iter().any(|p| &p.id == id)));
                        let _ = list.try_set(fresh);
                    }
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            },
        )
    };
    refresh_live(&[Topic::Process], refresh.clone());

    // Bulk and per-row actions share one server action; its report shows above the table.
    let bulk = ServerAction::<BulkProcessAction>::new();
    let asking = RwSignal::new(None::<(ProcessVerb, Vec<PlanLine>)>);
    let bar = NodeRef::<leptos::html::Div>::new();
    let summary = NodeRef::<leptos::html::Div>::new();
    Effect::watch(
        move || bulk.version().get(),
        move |_, _, _| {
            if matches!(bulk.value().get_untracked(), Some(Ok(_))) {
                let from_panel = asking.get_untracked().is_some();
                asking.set(None);
                if from_panel {
                    selected.set(BTreeSet::new());
                    set_timeout(
                        move || {
                            if let Some(el) = summary.get_untracked() {
                                let _ = el.focus();
                            }
                        },
                        Duration::ZERO,
                    );
                }
                refresh();
            }
        },
        false,
    );
    let count = Signal::derive(move || selected.with(|s| s.len()));
    let on_action = Callback::new(move |key: &'static str| {
        let Some(verb) = ProcessVerb::from_key(key) else { return };
        let lines = selected.with_untracked(|s| list.with_untracked(|l| plan(verb, l, s)));
        if lines.is_empty() {
            return;
        }
        bulk.value().set(None);
        asking.set(Some((verb, lines)));
    });
    let on_clear = Callback::new(move |_| selected.set(BTreeSet::new()));
    let on_confirm = Callback::new(move |_| {
        if let Some((verb, lines)) = asking.get_untracked() {
            bulk.dispatch(BulkProcessAction { ids: lines.iter().map(|l| l.id.clone()).collect(), verb });
        }
    });
    let on_cancel = Callback::new(move |_| {
        asking.set(None);
        if let Some(el) = bar.get_untracked() {
            let _ = el.focus();
        }
    });
    let busy = Signal::derive(move || bulk.pending().get());
    let panel_error = Signal::derive(move || match bulk.value().get() {
        Some(Err(e)) => Some(e.message),
        _ => None,
    });

    let empty = Memo::new(move |_| list.with(|l| l.items.is_empty()));
    let current_sort = if query.sort.is_empty() { ProcessQuery::DEFAULT_SORT.to_string() } else { query.sort.clone() };
    let sort_pairs = with(&with(&query.pairs(), "sort", ""), "page", "");
    let page_pairs = with(&query.pairs(), "page", "");
    let head = move || {
        let header = |label: &'static str, field: &'static str| {
            view! { <SortHeader label field current=current_sort.clone() path=ProcessQuery::PATH pairs=sort_pairs.clone()/> }
        };
        view! {
            <thead>
                <tr>
                    <th class="select-col">
                        <input type="checkbox" aria-label="Select every process on this page" data-select-all=""
                            prop:checked=move || { let n = list.with(|l| l.items.len()); n > 0 && count.get() == n }
                            prop:indeterminate=move || { let n = count.get(); n > 0 && n < list.with(|l| l.items.len()) }
                            on:change=move |ev| {
                                if event_target_checked(&ev) {
                                    selected.set(list.with_untracked(|l| l.items.iter().map(|p| p.id.clone()).collect()));
                                } else {
                                    selected.set(BTreeSet::new());
                                }
                            }/>
                    </th>
                    {header("Name", "name")}
                    {header("Service", "service")}
                    {header("State", "state")}
                    <th>"Node"</th>
                    {show_owner.then(|| view! { <th>"Owner"</th> })}
                    {header("Created", "created")}
                    <th><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
        }
    };
    let clear_filters = href(ProcessQuery::PATH, &[("node", query.node.clone())]);

    view! {
        <p class="visually-hidden" aria-live="polite">{rx(move || announce.get())}</p>
        {rv(move || error.get().map(|e| view! { <ErrorMessage error=e/> }))}
        <SelectionBar count actions=vec![("Suspend", "suspend", false), ("Resume", "resume", false), ("Delete…", "delete", true)]
            on_action on_clear noun="processes" node_ref=bar/>
        {rv(move || asking.get().map(|(verb, lines)| {
            let n = lines.iter().filter(|l| !l.skip).count();
            let noun = if n == 1 { "process" } else { "processes" };
            let title = format!("{} {} selected {}?", verb.title(), lines.len(), if lines.len() == 1 { "process" } else { "processes" });
            view! {
                <ConfirmPanel title lines confirm_label=format!("{} {n} {noun}", verb.title())
                    danger=verb == ProcessVerb::Delete busy error=panel_error on_confirm on_cancel/>
            }
        }))}
        {rv(move || match bulk.value().get() {
            Some(Ok(report)) => Some(view! { <BulkSummary report node_ref=summary/> }.into_any()),
            Some(Err(e)) if asking.with(|a| a.is_none()) => Some(view! { <ErrorMessage error=e/> }.into_any()),
            _ => None,
        })}
        {rv(move || if empty.get() {
            if filtered {
                let to = clear_filters.clone();
                view! {
                    <EmptyState title="No processes match">
                        "Nothing matches this search and these filters. " <A href=to>"Clear them"</A>
                    </EmptyState>
                }.into_any()
            } else {
                view! {
                    <EmptyState title="No processes yet">
                        "Choose a service in the " <A href="/services">"catalogue"</A> " and deploy it, or use " <A href="/processes/new">"New process"</A> "."
                    </EmptyState>
                }.into_any()
            }
        } else {
            view! {
                <div class="table-scroll">
                    <table class="list processes">
                        {head()}
                        <tbody>
                            <For each=move || list.with(|l| l.items.clone()) key=|p| (p.id.clone(), p.revision) let:p>
                                {
                                    let node = p.running_node_id.clone().map(|n| list.with_untracked(|l| l.node_names.get(&n).cloned().unwrap_or(n)));
                                    let owner = show_owner.then(|| {
                                        let name = list.with_untracked(|l| l.owner_names.as_ref().and_then(|o| o.get(&p.user_id).cloned()).unwrap_or_else(|| p.user_id.clone()));
                                        view! { <td>{name}</td> }
                                    });
                                    let (label, row_id, href, name) = (p.name.clone(), p.id.clone(), format!("/processes/{}", p.id), p.name.clone());
                                    let check_id = p.id.clone();
                                    let toggle_id = p.id.clone();
                                    view! {
                                        <tr data-process=label data-id=row_id class:selected=move || selected.with(|s| s.contains(&check_id))>
                                            <td class="select-col">
                                                <input type="checkbox" aria-label=format!("Select {}", p.name) data-select=p.name.clone()
                                                    prop:checked={ let id = toggle_id.clone(); move || selected.with(|s| s.contains(&id)) }
                                                    on:change=move |ev| {
                                                        let on = event_target_checked(&ev);
                                                        let id = toggle_id.clone();
                                                        selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                                                    }/>
                                            </td>
                                            <td><A href=href>{name}</A></td>
                                            <td><A href=format!("/services/{}", p.service_id)>{p.service_id.clone()}</A>" "<span class="muted">{p.service_version.clone()}</span></td>
                                            <td>
                                                <StateBadge state=p.state reason=p.state_reason.clone()/>
                                                {p.state_reason.clone().map(|r| view! { <div class="muted small reason">{r}</div> })}
                                            </td>
                                            <td>{node.unwrap_or_else(|| "—".into())}</td>
                                            {owner}
                                            <td class="muted nowrap">{when(&p.created)}</td>
                                            <td><RowActions id=p.id.clone() name=p.name.clone() state=p.state bulk/></td>
                                        </tr>
                                    }
                                }
                            </For>
                        </tbody>
                    </table>
                </div>
            }.into_any()
        })}
        {rv(move || list.with(|l| {
            let pairs = page_pairs.clone();
            view! { <ListPager path=ProcessQuery::PATH pairs page=l.page pages=l.pages per_page=l.per_page total=l.total shown=l.items.len() noun="processes"/> }
        }))}
    }
}

/// One row's Suspend, Resume and Delete (confirmed in place), as far as its state allows.
#[component]
fn RowActions(id: String, name: String, state: ProcessState, bulk: ServerAction<BulkProcessAction>) -> impl IntoView {
    let confirm = RwSignal::new(false);
    // Kept: focus goes back to the Delete… button when it is drawn again.
    let back = RwSignal::new(false);
    let really = NodeRef::<leptos::html::Button>::new();
    let ask = NodeRef::<leptos::html::Button>::new();
    let run = {
        let id = id.clone();
        move |verb: ProcessVerb| bulk.dispatch(BulkProcessAction { ids: vec![id.clone()], verb })
    };
    let one = |verb: ProcessVerb| {
        let run = run.clone();
        let label = format!("{} {name}", verb.title());
        view! {
            <button type="button" class="small" aria-label=label data-row-action=verb.key()
                disabled=rx(move || bulk.pending().get()) on:click=move |_| { run(verb); }>{verb.title()}</button>
        }
    };
    let suspend = (state == ProcessState::Running).then(|| one(ProcessVerb::Suspend));
    let resume = (state == ProcessState::Suspended).then(|| one(ProcessVerb::Resume));
    let delete = (state != ProcessState::Terminated).then(|| {
        let (name, run) = (name.clone(), run.clone());
        rv(move || {
            let run = run.clone();
            if confirm.get() {
                Effect::new(move |_| {
                    if let Some(b) = really.get() {
                        let _ = b.focus();
                    }
                });
                view! {
                    <span class="confirm" role="group" aria-label=format!("Confirm deleting {name}")
                        on:keydown=move |ev| if ev.key() == "Escape" { back.set(true); confirm.set(false) }>
                        <button type="button" class="small danger" node_ref=really data-row-action="really-delete"
                            disabled=rx(move || bulk.pending().get())
                            on:click=move |_| { run(ProcessVerb::Delete); confirm.set(false); }>{format!("Really delete {name}")}</button>
                        <button type="button" class="small" on:click=move |_| { back.set(true); confirm.set(false); }>"Keep"</button>
                    </span>
                }.into_any()
            } else {
                Effect::new(move |_| {
                    if let Some(b) = ask.get() {
                        if back.get_untracked() {
                            back.set(false);
                            let _ = b.focus();
                        }
                    }
                });
                view! {
                    <button type="button" class="small danger" node_ref=ask aria-label=format!("Delete {name}…") data-row-action="delete"
                        on:click=move |_| confirm.set(true)>"Delete…"</button>
                }.into_any()
            }
        })
    });
    view! { <div class="row-actions">{suspend}{resume}{delete}</div> }
}
