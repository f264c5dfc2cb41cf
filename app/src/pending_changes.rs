//! Pending changes: what Switchyard still has to do to Docker or to running processes. Their
//! owners (and administrators) may retry a failed change or cancel one that is not running.

use leptos::prelude::*;
use leptos_meta::Title;
use switchyard_core::model::{Page, PendingChange, PendingChangeState, Topic};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    components::{when, EmptyState, ErrorMessage, FormError, Loading},
    AppError,
};

#[server]
pub async fn list_pending_changes() -> Result<Page<PendingChange>, AppError> {
    use switchyard_core::managers::ListParams;
    let params = ListParams { page: Some(1), per_page: Some(200), sort: Some("-created".into()) };
    Ok(sy().pending_changes.list(&caller().await?, &params).await?)
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
    let retry = ServerAction::<RetryPendingChange>::new();
    let cancel = ServerAction::<CancelPendingChange>::new();
    let live = crate::live::live_tick(&[Topic::PendingChange]);
    let changes =
        Resource::new(move || (retry.version().get(), cancel.version().get(), live.get()), |_| list_pending_changes());
    view! {
        <Title text="Pending changes"/>
        <div class="page-head"><h1>"Pending changes"</h1></div>
        <p class="muted">"Every change to Docker or to a running process is recorded here and retried until it succeeds."</p>
        <ChangeActionResult retry cancel/>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match changes.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(p) if p.items.is_empty() => view! {
                        <EmptyState title="Nothing pending">"All changes have been carried out."</EmptyState>
                    }.into_any(),
                    Ok(p) => view! {
                        <table class="list">
                            <thead><tr><th>"Change"</th><th>"State"</th><th>"Attempts"</th><th>"Last error"</th><th>"Created"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                            <tbody>
                                {p.items.into_iter().map(|c| {
                                    let state = change_state(c.state);
                                    let (id, kind) = (c.id.clone(), c.kind.as_str());
                                    view! {
                                        <tr data-change=id data-kind=kind>
                                            <td>{c.description.clone()}</td>
                                            <td><span class=format!("state change-{state}")>{state.to_uppercase()}</span></td>
                                            <td>{c.attempts}</td>
                                            <td class="muted">{c.last_error.clone().unwrap_or_default()}</td>
                                            <td class="muted nowrap">{when(&c.created)}</td>
                                            <td><ChangeActions change=c retry cancel/></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
