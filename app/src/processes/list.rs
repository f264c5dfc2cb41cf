//! The process list (with live states) and the small views it shares with other pages.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};
use switchyard_core::model::Topic;
use switchyard_core::model::{Node, Placement, ProcessState};

use super::api::{list_processes, PoolChoice, ProcessList};
use crate::{
    components::{one_at_a_time, rv, rx, when, EmptyState, ErrorMessage, Loading},
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
    let owner = Memo::new(move |_| query.read().get("owner").unwrap_or_default());
    let node = Memo::new(move |_| query.read().get("node").unwrap_or_default());
    let deleted = move || query.read().get("deleted").is_some();
    let list = Resource::new(move || (owner.get(), node.get()), |(owner, node)| list_processes(owner, node));
    let navigate = use_navigate();
    view! {
        <Title text="Processes"/>
        <div class="page-head">
            <h1>"Processes"</h1>
            <A href="/processes/new" attr:class="button primary">"New process"</A>
        </div>
        {rv(move || deleted().then(|| view! {
            <p class="notice" role="status">"The process is being deleted; it disappears from the list when its container is gone."</p>
        }))}
        <Transition fallback=Loading>
            {rv(move || {
                let navigate = navigate.clone();
                Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(l) => {
                            let filter = (!l.owners.is_empty()).then(|| {
                                let owners = l.owners.clone();
                                let navigate = navigate.clone();
                                let current = owner.get_untracked();
                                view! {
                                    <Form method="GET" action="" attr:class="toolbar" attr:role="search">
                                        <label class="inline-label">
                                            "Owner"
                                            <select name="owner" on:change=move |ev| {
                                                let v = event_target_value(&ev);
                                                let to = if v.is_empty() { "/processes".to_string() } else { format!("/processes?owner={v}") };
                                                navigate(&to, NavigateOptions::default());
                                            }>
                                                <option value="" selected=current.is_empty()>"Everyone"</option>
                                                {owners.into_iter().map(|(id, name)| {
                                                    let selected = id == current;
                                                    view! { <option value=id selected=selected>{name}</option> }
                                                }).collect_view()}
                                            </select>
                                        </label>
                                        <noscript><button type="submit">"Filter"</button></noscript>
                                    </Form>
                                }
                            });
                            let on_node = node.get_untracked();
                            let node_notice = (!on_node.is_empty()).then(|| {
                                let name = l.node_names.get(&on_node).cloned().unwrap_or_else(|| on_node.clone());
                                view! {
                                    <p class="notice" role="status" data-node-filter=on_node.clone()>
                                        {format!("Only the processes on node {name}. ")}
                                        <A href="/processes">"Show all"</A>
                                    </p>
                                }
                            });
                            view! { {filter} {node_notice} <ProcessTable initial=l owner=owner.get_untracked() node=on_node/> }.into_any()
                        }
                    }
                })
            })}
        </Transition>
    }
}

/// The process table, refreshed every two seconds while it is shown.
#[component]
fn ProcessTable(initial: ProcessList, owner: String, node: String) -> impl IntoView {
    let show_owner = !initial.owners.is_empty();
    let list = RwSignal::new(initial);
    let announce = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let refresh = one_at_a_time(
        move || list_processes(owner.clone(), node.clone()),
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
                    let _ = list.try_set(fresh);
                }
            }
            Err(e) => {
                let _ = error.try_set(Some(e));
            }
        },
    );
    refresh_live(&[Topic::Process], refresh);
    view! {
        <p class="visually-hidden" aria-live="polite">{rx(move || announce.get())}</p>
        {rv(move || error.get().map(|e| view! { <ErrorMessage error=e/> }))}
        {rv(move || if list.with(|l| l.items.is_empty()) {
            view! {
                <EmptyState title="No processes yet">
                    "Choose a service in the " <A href="/services">"catalogue"</A> " and deploy it, or use " <A href="/processes/new">"New process"</A> "."
                </EmptyState>
            }.into_any()
        } else {
            view! {
                <table class="list processes">
                    <thead>
                        <tr>
                            <th>"Name"</th><th>"Service"</th><th>"State"</th><th>"Node"</th>
                            {show_owner.then(|| view! { <th>"Owner"</th> })}
                            <th>"Created"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || list.with(|l| l.items.clone()) key=|p| (p.id.clone(), p.revision) let:p>
                            {
                                let node = p.running_node_id.clone().map(|n| list.with_untracked(|l| l.node_names.get(&n).cloned().unwrap_or(n)));
                                let owner = show_owner.then(|| {
                                    let name = list.with_untracked(|l| l.owners.iter().find(|(id, _)| id == &p.user_id).map(|(_, n)| n.clone()).unwrap_or_else(|| p.user_id.clone()));
                                    view! { <td>{name}</td> }
                                });
                                let (label, row_id, href, name) = (p.name.clone(), p.id.clone(), format!("/processes/{}", p.id), p.name.clone());
                                view! {
                                    <tr data-process=label data-id=row_id>
                                        <td><A href=href>{name}</A></td>
                                        <td><A href=format!("/services/{}", p.service_id)>{p.service_id.clone()}</A>" "<span class="muted">{p.service_version.clone()}</span></td>
                                        <td>
                                            <StateBadge state=p.state reason=p.state_reason.clone()/>
                                            {p.state_reason.clone().map(|r| view! { <div class="muted small reason">{r}</div> })}
                                        </td>
                                        <td>{node.unwrap_or_else(|| "—".into())}</td>
                                        {owner}
                                        <td class="muted">{when(&p.created)}</td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
                {rv(move || list.with(|l| (l.total > l.items.len() as u64).then(|| format!("Showing the newest {} of {} processes.", l.items.len(), l.total)))
                    .map(|t| view! { <p class="muted small">{t}</p> }))}
            }.into_any()
        })}
    }
}
