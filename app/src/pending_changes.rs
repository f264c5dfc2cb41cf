//! Pending changes: what Switchyard still has to do to Docker or to running processes.

use leptos::prelude::*;
use leptos_meta::Title;
use switchyard_core::model::{Page, PendingChange};

use crate::{
    components::{when, EmptyState, ErrorMessage, Loading},
    AppError,
};
#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};

#[server]
pub async fn list_pending_changes() -> Result<Page<PendingChange>, AppError> {
    use switchyard_core::managers::ListParams;
    let params = ListParams { page: Some(1), per_page: Some(200), sort: Some("-created".into()) };
    Ok(sy().pending_changes.list(&caller().await?, &params).await?)
}

#[component]
pub fn PendingChangesPage() -> impl IntoView {
    let changes = Resource::new(|| (), |_| list_pending_changes());
    view! {
        <Title text="Pending changes"/>
        <div class="page-head"><h1>"Pending changes"</h1></div>
        <p class="muted">"Every change to Docker or to a running process is recorded here and retried until it succeeds."</p>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match changes.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(p) if p.items.is_empty() => view! {
                        <EmptyState title="Nothing pending">"All changes have been carried out."</EmptyState>
                    }.into_any(),
                    Ok(p) => view! {
                        <table class="list">
                            <thead><tr><th>"Change"</th><th>"State"</th><th>"Attempts"</th><th>"Last error"</th><th>"Created"</th></tr></thead>
                            <tbody>
                                {p.items.into_iter().map(|c| view! {
                                    <tr>
                                        <td>{c.description.clone()}</td>
                                        <td><span class="state">{format!("{:?}", c.state).to_uppercase()}</span></td>
                                        <td>{c.attempts}</td>
                                        <td class="muted">{c.last_error.clone().unwrap_or_default()}</td>
                                        <td class="muted">{when(&c.created)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
