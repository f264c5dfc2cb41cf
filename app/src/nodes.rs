//! The node view. Node pools are managed here; swarm nodes join them with the processes issue.

use leptos::prelude::*;
use leptos_meta::Title;
use switchyard_core::model::{NodePool, Page};

use crate::{
    auth::is_admin,
    components::{when, EmptyState, ErrorMessage, FieldError, FormError, Loading},
    AppError,
};
#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};

#[server]
pub async fn list_pools() -> Result<Page<NodePool>, AppError> {
    use switchyard_core::managers::ListParams;
    let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("name".into()) };
    Ok(sy().nodes.list_pools(&caller().await?, &params, None).await?)
}

#[server]
pub async fn create_pool(name: String) -> Result<NodePool, AppError> {
    use switchyard_core::managers::NewNodePool;
    Ok(sy().nodes.create_pool(&caller().await?, NewNodePool { name }).await?)
}

#[server]
pub async fn delete_pool(id: String) -> Result<(), AppError> {
    Ok(sy().nodes.delete_pool(&caller().await?, &id, None).await?)
}

#[component]
pub fn NodesPage() -> impl IntoView {
    let create = ServerAction::<CreatePool>::new();
    let delete = ServerAction::<DeletePool>::new();
    let pools = Resource::new(move || (create.version().get(), delete.version().get()), |_| list_pools());
    let admin = is_admin();
    let create_result: Signal<_> = create.value().into();
    let delete_result: Signal<_> = delete.value().into();
    view! {
        <Title text="Nodes"/>
        <div class="page-head"><h1>"Nodes"</h1></div>
        <section class="card stack">
            <h2>"Node pools"</h2>
            <p class="muted">"Public nodes are grouped in pools that every user can deploy to."</p>
            <FormError result=delete_result/>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match pools.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! {
                            <EmptyState title="No node pools yet">
                                {move || if admin.get() { "Create one below, then add public nodes to it." } else { "An administrator has not created any yet." }}
                            </EmptyState>
                        }.into_any(),
                        Ok(p) => view! {
                            <table class="list">
                                <thead><tr><th>"Pool"</th><th>"Created"</th><th></th></tr></thead>
                                <tbody>
                                    {p.items.into_iter().map(|pool| { let id = pool.id.clone(); view! {
                                        <tr data-pool=pool.name.clone()>
                                            <td>{pool.name.clone()}</td>
                                            <td class="muted">{when(&pool.created)}</td>
                                            <td>
                                                {move || admin.get().then(|| { let id = id.clone(); view! {
                                                    <ActionForm action=delete attr:class="inline">
                                                        <input type="hidden" name="id" value=id/>
                                                        <button type="submit" class="danger small">"Delete"</button>
                                                    </ActionForm>
                                                }})}
                                            </td>
                                        </tr>
                                    }}).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Show when=move || admin.get()>
                <ActionForm action=create attr:class="toolbar">
                    <label class="grow">
                        <span class="visually-hidden">"Pool name"</span>
                        <input name="name" placeholder="New pool name" required/>
                        <FieldError result=create_result field="name"/>
                    </label>
                    <button type="submit" class="primary">"Create pool"</button>
                </ActionForm>
                <FormError result=create_result/>
            </Show>
        </section>
    }
}
