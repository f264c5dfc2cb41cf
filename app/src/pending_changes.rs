//! Pending changes: what Switchyard still has to do to Docker or to running processes. Their
//! owners (and administrators) may retry a failed change or cancel one that is not running, one
//! at a time or selected together. The list is searched, filtered, sorted and paged by its URL.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use switchyard_core::model::{ChangeKind, Page, PendingChange, PendingChangeState, Topic};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    components::{rv, when, EmptyState, ErrorMessage, FormError, Loading},
    lists::{
        navigator, per_options, with, BulkReport, BulkSummary, ConfirmPanel, FilterSelect, ListPager, PlanLine,
        SearchBox, SelectionBar, SortHeader,
    },
    AppError,
};

/// The pending-change list's view as its URL gives it (as typed; the server checks it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChangeQuery {
    /// Part of the description.
    pub q: String,
    /// A state, any case (`failed`).
    pub state: String,
    /// A kind (`suspend_process`).
    pub kind: String,
    /// `created` or `state`; `-` before it for the reverse order.
    pub sort: String,
    pub page: String,
    pub per: String,
}

impl ChangeQuery {
    pub const PATH: &'static str = "/pending-changes";
    pub const SORTS: [(&'static str, &'static str); 3] = [("created", "created"), ("state", "state"), ("kind", "kind")];
    pub const DEFAULT_SORT: &'static str = "-created";

    pub fn from_map(map: &leptos_router::params::ParamsMap) -> Self {
        let get = |k: &str| map.get(k).unwrap_or_default();
        ChangeQuery {
            q: get("q"),
            state: get("state"),
            kind: get("kind"),
            sort: get("sort"),
            page: get("page"),
            per: get("per"),
        }
    }

    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("q", self.q.clone()),
            ("state", self.state.clone()),
            ("kind", self.kind.clone()),
            ("sort", self.sort.clone()),
            ("page", self.page.clone()),
            ("per", self.per.clone()),
        ]
    }
}

/// One page of pending changes, with the view as the server understood it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeListView {
    pub page: Page<PendingChange>,
    pub pages: u64,
    pub query: ChangeQuery,
    pub notices: Vec<String>,
}

const STATES: [PendingChangeState; 6] = [
    PendingChangeState::Waiting,
    PendingChangeState::Running,
    PendingChangeState::Retrying,
    PendingChangeState::Failed,
    PendingChangeState::Done,
    PendingChangeState::Cancelled,
];

/// One page of the caller's pending changes (administrators: everyone's), as `query` says.
#[server(input = Json)]
pub async fn load_pending_changes(query: ChangeQuery) -> Result<ChangeListView, AppError> {
    use crate::lists::{paging, sort_param, DEFAULT_PER};
    use switchyard_core::managers::{ListParams, PendingChangeFilter};
    let caller = caller().await?;
    let sy = sy();
    let mut query = query;
    let (page, per_page, mut notices) = paging(&query.page, &query.per);
    let (sort, url_sort) = sort_param(&query.sort, &ChangeQuery::SORTS, ChangeQuery::DEFAULT_SORT, &mut notices);
    let state = match query.state.trim() {
        "" => None,
        s => match STATES.into_iter().find(|st| change_state(*st).eq_ignore_ascii_case(s)) {
            Some(st) => Some(st),
            None => {
                notices.push(format!(
                    "There is no state “{}”: showing changes in every state.",
                    s.chars().take(40).collect::<String>()
                ));
                query.state.clear();
                None
            }
        },
    };
    let kind = match query.kind.trim() {
        "" => None,
        k => match k.parse::<ChangeKind>() {
            Ok(kind) => Some(kind),
            Err(_) => {
                notices.push(format!(
                    "There is no kind of change “{}”: showing every kind.",
                    k.chars().take(40).collect::<String>()
                ));
                query.kind.clear();
                None
            }
        },
    };
    let filter =
        PendingChangeFilter { state, kind, search: Some(query.q.trim().to_string()).filter(|q| !q.is_empty()) };
    let fetch = |page: u64| {
        let params = ListParams { page: Some(page), per_page: Some(per_page), sort: Some(sort.clone()) };
        let (sy, caller, filter) = (sy.clone(), caller.clone(), filter.clone());
        async move { sy.pending_changes.list_filtered(&caller, &params, &filter).await }
    };
    let mut found = fetch(page).await?;
    if page > found.pages() {
        notices.push(format!("There is no page {page}: showing the last page, {}.", found.pages()));
        found = fetch(found.pages()).await?;
    }
    query.page = if found.page > 1 { found.page.to_string() } else { String::new() };
    query.per = if per_page == DEFAULT_PER { String::new() } else { per_page.to_string() };
    query.sort = if url_sort == ChangeQuery::DEFAULT_SORT { String::new() } else { url_sort };
    Ok(ChangeListView { pages: found.pages(), page: found, query, notices })
}

/// What a bulk action of the pending-change list does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeVerb {
    Retry,
    Cancel,
}

impl ChangeVerb {
    pub fn title(self) -> &'static str {
        match self {
            ChangeVerb::Retry => "Retry",
            ChangeVerb::Cancel => "Cancel",
        }
    }

    /// What it will do to a change in `state`: `Ok(words)` or `Err(why it is skipped)`; the
    /// confirmation and the server say the same.
    pub fn plan(self, state: PendingChangeState) -> Result<&'static str, String> {
        let word = change_state(state).to_uppercase();
        match self {
            ChangeVerb::Retry if can_retry(state) => Ok("try again now, with a fresh set of attempts"),
            ChangeVerb::Retry => Err(format!("{word}: only a FAILED or RETRYING change can be retried — skipped")),
            ChangeVerb::Cancel if can_cancel(state) => Ok("cancel, it will not run"),
            ChangeVerb::Cancel if state == PendingChangeState::Running => {
                Err("RUNNING now: it cannot be cancelled — skipped".into())
            }
            ChangeVerb::Cancel => Err(format!("{word} already — skipped")),
        }
    }
}

/// Retry or cancel each of `ids` (at most 100) as far as its state allows; every id is reported.
#[server(input = Json)]
pub async fn bulk_change_action(ids: Vec<String>, verb: ChangeVerb) -> Result<BulkReport, AppError> {
    use crate::lists::{bulk_ids, ItemOutcome, Outcome};
    use switchyard_core::Error;
    let ids = bulk_ids(ids)?;
    let caller = caller().await?;
    let sy = sy();
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let change = match sy.pending_changes.get(&caller, &id).await {
            Ok(c) => c,
            Err(e) => {
                items.push(ItemOutcome { name: id.clone(), id, outcome: Outcome::Failed(e.to_string()) });
                continue;
            }
        };
        let name = change.description.clone();
        let outcome = match verb.plan(change.state) {
            Err(why) => Outcome::Skipped(why),
            Ok(words) => {
                let done = match verb {
                    ChangeVerb::Retry => sy.pending_changes.retry(&caller, &id).await,
                    ChangeVerb::Cancel => sy.pending_changes.cancel(&caller, &id).await,
                };
                match done {
                    Ok(_) => Outcome::Done(words.to_string()),
                    Err(Error::Conflict(why)) => Outcome::Skipped(why),
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            }
        };
        items.push(ItemOutcome { id, name, outcome });
    }
    Ok(BulkReport { action: verb.title().to_string(), items })
}

/// Try a failed (or retrying) change again now.
#[server]
pub async fn retry_pending_change(id: String) -> Result<PendingChange, AppError> {
    Ok(sy().pending_changes.retry(&caller().await?, &id).await?)
}

/// Cancel a change that is not running.
#[server]
pub async fn cancel_pending_change(id: String) -> Result<PendingChange, AppError> {
    Ok(sy().pending_changes.cancel(&caller().await?, &id).await?)
}

/// The state of a change as a word for people (and a CSS class).
pub fn change_state(s: PendingChangeState) -> &'static str {
    match s {
        PendingChangeState::Waiting => "waiting",
        PendingChangeState::Running => "running",
        PendingChangeState::Retrying => "retrying",
        PendingChangeState::Failed => "failed",
        PendingChangeState::Done => "done",
        PendingChangeState::Cancelled => "cancelled",
    }
}

pub fn can_retry(s: PendingChangeState) -> bool {
    matches!(s, PendingChangeState::Failed | PendingChangeState::Retrying)
}

pub fn can_cancel(s: PendingChangeState) -> bool {
    matches!(s, PendingChangeState::Waiting | PendingChangeState::Retrying | PendingChangeState::Failed)
}

/// What became of the last retry or cancel, for a status line.
#[component]
pub fn ChangeActionResult(
    retry: ServerAction<RetryPendingChange>,
    cancel: ServerAction<CancelPendingChange>,
) -> impl IntoView {
    // Whichever of the two was used last speaks.
    let last = RwSignal::new(None::<&'static str>);
    Effect::watch(move || retry.version().get(), move |_, _, _| last.set(Some("retry")), false);
    Effect::watch(move || cancel.version().get(), move |_, _, _| last.set(Some("cancel")), false);
    let retry_result: Signal<_> = retry.value().into();
    let cancel_result: Signal<_> = cancel.value().into();
    view! {
        <div aria-live="polite">
            {move || match last.get() {
                Some("retry") => match retry_result.get() {
                    Some(Ok(c)) => Some(view! { <p class="notice" role="status">"Will be tried again now: " {c.description}</p> }.into_any()),
                    Some(Err(_)) => Some(view! { <FormError result=retry_result/> }.into_any()),
                    None => None,
                },
                Some(_) => match cancel_result.get() {
                    Some(Ok(c)) => Some(view! { <p class="notice" role="status">"Cancelled: " {c.description}</p> }.into_any()),
                    Some(Err(_)) => Some(view! { <FormError result=cancel_result/> }.into_any()),
                    None => None,
                },
                None => None,
            }}
        </div>
    }
}

/// The Retry and Cancel buttons of one change, as far as its state allows them.
#[component]
pub fn ChangeActions(
    change: PendingChange,
    retry: ServerAction<RetryPendingChange>,
    cancel: ServerAction<CancelPendingChange>,
) -> impl IntoView {
    let (id1, id2) = (change.id.clone(), change.id.clone());
    view! {
        <div class="row-actions">
            {can_retry(change.state).then(|| view! {
                <ActionForm action=retry attr:class="inline">
                    <input type="hidden" name="id" value=id1/>
                    <button type="submit" class="small" disabled=move || retry.pending().get()>"Retry"</button>
                </ActionForm>
            })}
            {can_cancel(change.state).then(|| view! {
                <ActionForm action=cancel attr:class="inline">
                    <input type="hidden" name="id" value=id2/>
                    <button type="submit" class="small danger" disabled=move || cancel.pending().get()>"Cancel"</button>
                </ActionForm>
            })}
        </div>
    }
}

#[component]
pub fn PendingChangesPage() -> impl IntoView {
    let query = use_query_map();
    let args = Memo::new(move |_| ChangeQuery::from_map(&query.read()));
    let retry = ServerAction::<RetryPendingChange>::new();
    let cancel = ServerAction::<CancelPendingChange>::new();
    let bulk = ServerAction::<BulkChangeAction>::new();
    let live = crate::live::live_tick(&[Topic::PendingChange]);
    let changes = Resource::new(
        move || (args.get(), retry.version().get(), cancel.version().get(), bulk.version().get(), live.get()),
        |(q, ..)| load_pending_changes(q),
    );
    // The selection outlives the list's reloads (it is redrawn at every change).
    let selected = RwSignal::new(BTreeSet::<String>::new());
    // (id, state, description) of the rows shown, for the selection and the confirmation.
    let shown = RwSignal::new(Vec::<(String, PendingChangeState, String)>::new());
    Effect::watch(move || args.get(), move |_, _, _| selected.set(BTreeSet::new()), false);
    let asking = RwSignal::new(None::<(ChangeVerb, Vec<PlanLine>)>);
    let bar = NodeRef::<leptos::html::Div>::new();
    let summary = NodeRef::<leptos::html::Div>::new();
    Effect::watch(
        move || bulk.version().get(),
        move |_, _, _| {
            if matches!(bulk.value().get_untracked(), Some(Ok(_))) {
                asking.set(None);
                selected.set(BTreeSet::new());
                set_timeout(
                    move || {
                        if let Some(el) = summary.get_untracked() {
                            let _ = el.focus();
                        }
                    },
                    std::time::Duration::ZERO,
                );
            }
        },
        false,
    );
    let count = Signal::derive(move || selected.with(|s| s.len()));
    let on_action = Callback::new(move |key: &'static str| {
        let verb = if key == "retry" { ChangeVerb::Retry } else { ChangeVerb::Cancel };
        let lines: Vec<PlanLine> = selected.with_untracked(|s| {
            shown.with_untracked(|rows| {
                rows.iter()
                    .filter(|(id, _, _)| s.contains(id))
                    .map(|(id, state, description)| match verb.plan(*state) {
                        Ok(w) => {
                            PlanLine { id: id.clone(), name: description.clone(), what: w.to_string(), skip: false }
                        }
                        Err(why) => PlanLine { id: id.clone(), name: description.clone(), what: why, skip: true },
                    })
                    .collect()
            })
        });
        if lines.is_empty() {
            return;
        }
        bulk.value().set(None);
        asking.set(Some((verb, lines)));
    });
    let on_clear = Callback::new(move |_| selected.set(BTreeSet::new()));
    let on_confirm = Callback::new(move |_| {
        if let Some((verb, lines)) = asking.get_untracked() {
            bulk.dispatch(BulkChangeAction { ids: lines.iter().map(|l| l.id.clone()).collect(), verb });
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

    view! {
        <Title text="Pending changes"/>
        <div class="page-head"><h1>"Pending changes"</h1></div>
        <p class="muted">"Every change to Docker or to a running process is recorded here and retried until it succeeds."</p>
        <ChangeToolbar args/>
        <ChangeActionResult retry cancel/>
        <SelectionBar count actions=vec![("Retry", "retry", false), ("Cancel…", "cancel", true)]
            on_action on_clear noun="changes" node_ref=bar/>
        {rv(move || asking.get().map(|(verb, lines)| {
            let n = lines.iter().filter(|l| !l.skip).count();
            let title = format!("{} {} selected {}?", verb.title(), lines.len(), if lines.len() == 1 { "change" } else { "changes" });
            view! {
                <ConfirmPanel title lines confirm_label=format!("{} {n} {}", verb.title(), if n == 1 { "change" } else { "changes" })
                    danger=verb == ChangeVerb::Cancel busy error=panel_error on_confirm on_cancel/>
            }
        }))}
        {rv(move || match bulk.value().get() {
            Some(Ok(report)) => Some(view! { <BulkSummary report node_ref=summary/> }.into_any()),
            Some(Err(e)) if asking.with(|a| a.is_none()) => Some(view! { <ErrorMessage error=e/> }.into_any()),
            _ => None,
        })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match changes.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(v) => {
                        let rows: Vec<(String, PendingChangeState, String)> =
                            v.page.items.iter().map(|c| (c.id.clone(), c.state, c.description.clone())).collect();
                        // Selected changes no longer shown are no longer selected.
                        selected.update(|s| s.retain(|id| rows.iter().any(|(r, _, _)| r == id)));
                        shown.set(rows);
                        let notices = v.notices.iter().map(|n| view! { <p class="notice" role="status" data-list-notice="">{n.clone()}</p> }).collect_view();
                        let q = v.query.clone();
                        let filtered = !q.q.is_empty() || !q.state.is_empty() || !q.kind.is_empty();
                        if v.page.items.is_empty() {
                            let body = if filtered {
                                view! {
                                    <EmptyState title="No changes match">
                                        "Nothing matches this search and these filters. " <A href=ChangeQuery::PATH>"Clear them"</A>
                                    </EmptyState>
                                }.into_any()
                            } else {
                                view! { <EmptyState title="Nothing pending">"All changes have been carried out."</EmptyState> }.into_any()
                            };
                            return view! { {notices} {body} }.into_any();
                        }
                        let current = if q.sort.is_empty() { ChangeQuery::DEFAULT_SORT.to_string() } else { q.sort.clone() };
                        let sort_pairs = with(&with(&q.pairs(), "sort", ""), "page", "");
                        let page_pairs = with(&q.pairs(), "page", "");
                        let n = v.page.items.len();
                        let header = |label: &'static str, field: &'static str| view! {
                            <SortHeader label field current=current.clone() path=ChangeQuery::PATH pairs=sort_pairs.clone()/>
                        };
                        view! {
                            {notices}
                            <div class="table-scroll">
                                <table class="list changes-list">
                                    <thead><tr>
                                        <th class="select-col">
                                            <input type="checkbox" aria-label="Select every change on this page" data-select-all=""
                                                prop:checked=move || { n > 0 && count.get() == n }
                                                prop:indeterminate=move || { let c = count.get(); c > 0 && c < n }
                                                on:change=move |ev| {
                                                    if event_target_checked(&ev) {
                                                        selected.set(shown.with_untracked(|r| r.iter().map(|(id, _, _)| id.clone()).collect()));
                                                    } else {
                                                        selected.set(BTreeSet::new());
                                                    }
                                                }/>
                                        </th>
                                        <th>"Change"</th>
                                        {header("State", "state")}
                                        {header("Kind", "kind")}
                                        <th>"Attempts"</th><th>"Last error"</th>
                                        {header("Created", "created")}
                                        <th><span class="visually-hidden">"Actions"</span></th>
                                    </tr></thead>
                                    <tbody>
                                        {v.page.items.into_iter().map(|c| {
                                            let state = change_state(c.state);
                                            let (id, kind) = (c.id.clone(), c.kind.as_str());
                                            let (check, toggle) = (c.id.clone(), c.id.clone());
                                            view! {
                                                <tr data-change=id data-kind=kind data-state=state>
                                                    <td class="select-col">
                                                        <input type="checkbox" aria-label=format!("Select “{}”", c.description)
                                                            prop:checked=move || selected.with(|s| s.contains(&check))
                                                            on:change=move |ev| {
                                                                let on = event_target_checked(&ev);
                                                                let id = toggle.clone();
                                                                selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                                                            }/>
                                                    </td>
                                                    <td>{c.description.clone()}</td>
                                                    <td><span class=format!("state change-{state}")>{state.to_uppercase()}</span></td>
                                                    <td class="muted small">{kind.replace('_', " ")}</td>
                                                    <td>{c.attempts}</td>
                                                    <td class="muted">{c.last_error.clone().unwrap_or_default()}</td>
                                                    <td class="muted nowrap">{when(&c.created)}</td>
                                                    <td><ChangeActions change=c retry cancel/></td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <ListPager path=ChangeQuery::PATH pairs=page_pairs page=v.page.page pages=v.pages per_page=v.page.per_page
                                total=v.page.total shown=n noun="changes"/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Search, state, kind and page size of the pending-change list: a GET form, applied as it
/// changes when JavaScript runs.
#[component]
fn ChangeToolbar(args: Memo<ChangeQuery>) -> impl IntoView {
    let initial = args.get_untracked();
    let go = navigator(ChangeQuery::PATH, Signal::derive(move || args.with(|a| a.pairs())));
    let pick = move |key: &'static str| Callback::new(move |v: String| go.run((key, v)));
    let states: Vec<(String, String)> = std::iter::once((String::new(), "Every state".to_string()))
        .chain(STATES.iter().map(|s| (change_state(*s).to_string(), change_state(*s).to_uppercase())))
        .collect();
    let kinds: Vec<(String, String)> = std::iter::once((String::new(), "Every kind".to_string()))
        .chain(ChangeKind::ALL.iter().map(|k| (k.as_str().to_string(), k.as_str().replace('_', " "))))
        .collect();
    view! {
        <Form method="GET" action="" attr:class="toolbar list-toolbar" attr:role="search" attr:aria-label="Filter pending changes">
            <SearchBox label="Search" placeholder="Part of the description"
                current=Signal::derive(move || args.with(|a| a.q.clone())) on_search=pick("q")/>
            <FilterSelect label="State" name="state" options=states
                current=Signal::derive(move || args.with(|a| a.state.to_lowercase())) on_change=pick("state")/>
            <FilterSelect label="Kind" name="kind" options=kinds
                current=Signal::derive(move || args.with(|a| a.kind.clone())) on_change=pick("kind")/>
            <FilterSelect label="Show" name="per" options=per_options(&initial.per)
                current=Signal::derive(move || args.with(|a| if a.per.is_empty() { crate::lists::DEFAULT_PER.to_string() } else { a.per.clone() }))
                on_change=pick("per")/>
            <input type="hidden" name="sort" value=move || args.with(|a| a.sort.clone())/>
            <button type="submit">"Apply"</button>
        </Form>
    }
}
