//! Activity: the audit trail as people read it. The Activity page lists what the user may see
//! (administrators: everything), newest first, with paging; each process page shows its own.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use switchyard_core::model::{AuditEntry, Page, Topic};

use crate::{
    components::{rv, when, EmptyState, ErrorMessage, Loading},
    live::live_tick,
    AppError,
};

#[cfg(feature = "ssr")]
const PER_PAGE: u64 = 50;

/// One page of the entries the caller may read, optionally only those about one resource.
#[server]
pub async fn list_activity(resource_id: Option<String>, page: u64) -> Result<Page<AuditEntry>, AppError> {
    use crate::auth::ssr::{caller, sy};
    use switchyard_core::{audit::AuditFilter, managers::ListParams};
    let filter = AuditFilter { resource_id, ..Default::default() };
    let params = ListParams { page: Some(page.max(1)), per_page: Some(PER_PAGE), sort: None };
    Ok(sy().audit.list(&caller().await?, &filter, &params).await?)
}

/// What changes the entries it lists: anything a user can change.
const TOPICS: &[Topic] = &[Topic::Process, Topic::Connection, Topic::Node, Topic::PendingChange];

#[component]
pub fn ActivityPage() -> impl IntoView {
    let query = use_query_map();
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(1).max(1));
    let live = live_tick(TOPICS);
    let entries = Resource::new(move || (page.get(), live.get()), |(page, _)| list_activity(None, page));
    view! {
        <Title text="Activity"/>
        <div class="page-head"><h1>"Activity"</h1></div>
        <p class="muted">"Every change made through the UI or the API: who, when, from where, what changed, and how it ended."</p>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match entries.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(p) if p.items.is_empty() => view! {
                        <EmptyState title="No activity yet">"Changes show up here as they are made."</EmptyState>
                    }.into_any(),
                    Ok(p) => {
                        let (current, pages) = (p.page, p.pages());
                        view! {
                            <ActivityTable entries=p.items/>
                            <nav class="pager" aria-label="Pages">
                                {(current > 1).then(|| view! { <a href=format!("/activity?page={}", current - 1)>"Newer"</a> })}
                                <span class="muted">{format!("Page {current} of {pages}")}</span>
                                {(current < pages).then(|| view! { <a href=format!("/activity?page={}", current + 1)>"Older"</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The entries about one resource (a process page's Activity section).
#[component]
pub fn ResourceActivity(resource_id: String) -> impl IntoView {
    let live = live_tick(TOPICS);
    let entries = Resource::new(move || live.get(), move |_| list_activity(Some(resource_id.clone()), 1));
    view! {
        <section class="card stack" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Activity"</h2>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match entries.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! { <p class="muted">"None."</p> }.into_any(),
                        Ok(p) => view! { <ActivityTable entries=p.items/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ActivityTable(entries: Vec<AuditEntry>) -> impl IntoView {
    view! {
        <table class="list activity" aria-label="Activity" tabindex="0">
            <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Outcome"</th></tr></thead>
            <tbody>
                {entries.into_iter().map(|e| {
                    let who = e.actor.username.clone().unwrap_or_else(|| e.actor.kind.clone());
                    let how = match (e.actor.kind.as_str(), e.via.as_str()) {
                        ("token", _) => "API token".to_string(),
                        (_, "ui") => "web UI".to_string(),
                        (_, via) => via.to_uppercase(),
                    };
                    let from = e.address.clone().map(|a| format!(" · {a}")).unwrap_or_default();
                    let fields: Vec<String> = e.resources.iter().flat_map(|r| {
                        r.fields.iter().filter(|_| r.change == "updated").map(|f| format!("{}: {} → {}", f.field, f.before, f.after)).collect::<Vec<_>>()
                    }).collect();
                    let outcome = if e.outcome.ok { "ok".to_string() } else { format!("refused ({})", e.outcome.status) };
                    let error = e.outcome.error.clone();
                    view! {
                        <tr data-action=e.action.clone() class=if e.outcome.ok { "" } else { "refused" }>
                            <td class="nowrap">{when(&e.at)}</td>
                            <td>{who}<div class="muted small">{format!("{how}{from}")}</div></td>
                            <td>
                                {e.summary.clone()}
                                <div class="muted small"><code>{e.action.clone()}</code></div>
                                {(!fields.is_empty()).then(|| view! {
                                    <details class="small"><summary>"Changed fields"</summary>
                                        <ul class="fields">{fields.into_iter().map(|f| view! { <li><code>{f}</code></li> }).collect_view()}</ul>
                                    </details>
                                })}
                            </td>
                            <td>{outcome}{rv(move || error.clone().map(|m| view! { <div class="muted small">{m}</div> }))}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
