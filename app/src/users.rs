//! User administration (administrators only): list, create, edit, reset passwords, delete.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_params_map, use_query_map},
};
use switchyard_core::model::{Page, User};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    components::{when, EmptyState, ErrorMessage, FieldError, FormError, Loading, Pager},
    AppError,
};

#[server]
pub async fn list_users(page: u64, q: String) -> Result<Page<User>, AppError> {
    use switchyard_core::managers::ListParams;
    let caller = caller().await?;
    let params = ListParams { page: Some(page.max(1)), per_page: Some(25), sort: Some("username".into()) };
    Ok(sy().users.list(&caller, &params, Some(&q), None).await?)
}

#[server]
pub async fn get_user(id: String) -> Result<User, AppError> {
    Ok(sy().users.get(&caller().await?, &id).await?)
}

#[server]
pub async fn create_user(
    username: String,
    password: String,
    email: String,
    admin: Option<String>,
) -> Result<User, AppError> {
    use switchyard_core::managers::NewUser;
    let caller = caller().await?;
    let new = NewUser { username: username.trim().to_string(), password, email: Some(email), admin: admin.is_some() };
    let user = sy().users.create(&caller, new).await?;
    leptos_axum::redirect(&format!("/users/{}?created=1", user.id));
    Ok(user)
}

#[server]
pub async fn update_user(id: String, revision: u64, email: String, admin: Option<String>) -> Result<User, AppError> {
    use switchyard_core::managers::UserUpdate;
    let change = UserUpdate { revision, email: Some(email), admin: Some(admin.is_some()) };
    Ok(sy().users.update(&caller().await?, &id, change).await?)
}

#[server]
pub async fn reset_password(id: String, new_password: String) -> Result<(), AppError> {
    Ok(sy().users.set_password(&caller().await?, &id, None, &new_password, None).await?)
}

#[server]
pub async fn delete_user(id: String, revision: u64) -> Result<(), AppError> {
    sy().users.delete(&caller().await?, &id, Some(revision)).await?;
    leptos_axum::redirect("/users?deleted=1");
    Ok(())
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse().ok()).unwrap_or(1u64));
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let deleted = move || query.read().get("deleted").is_some();
    let users = Resource::new(move || (page.get(), q.get()), |(page, q)| list_users(page, q));
    view! {
        <Title text="Users"/>
        <div class="page-head">
            <h1>"Users"</h1>
            <A href="/users/new" attr:class="button primary">"New user"</A>
        </div>
        {move || deleted().then(|| view! { <p class="notice" role="status">"The user was deleted."</p> })}
        <Form method="GET" action="" attr:class="toolbar" attr:role="search">
            <input type="search" name="q" placeholder="Search usernames" aria-label="Search usernames" prop:value=q/>
            <button type="submit">"Search"</button>
        </Form>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match users.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(p) if p.items.is_empty() => view! {
                        <EmptyState title="No users match">"Try another search."</EmptyState>
                    }.into_any(),
                    Ok(p) => {
                        let pages = p.pages();
                        let base = format!("/users?q={}", q.get_untracked());
                        view! {
                            <table class="list">
                                <thead><tr><th>"Username"</th><th>"Email"</th><th>"Role"</th><th>"Created"</th></tr></thead>
                                <tbody>
                                    {p.items.into_iter().map(|u| { let (name, label, href) = (u.username.clone(), u.username.clone(), format!("/users/{}", u.id)); view! {
                                        <tr data-user=label>
                                            <td><A href=href>{name}</A></td>
                                            <td>{u.email.clone().unwrap_or_default()}</td>
                                            <td>{if u.admin { view! { <span class="badge">"admin"</span> }.into_any() } else { view! { <span class="muted">"user"</span> }.into_any() }}</td>
                                            <td class="muted">{when(&u.created)}</td>
                                        </tr>
                                    }}).collect_view()}
                                </tbody>
                            </table>
                            <Pager base page=p.page pages total=p.total/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn NewUserPage() -> impl IntoView {
    let action = ServerAction::<CreateUser>::new();
    let result: Signal<_> = action.value().into();
    view! {
        <Title text="New user"/>
        <div class="page-head"><h1>"New user"</h1></div>
        <ActionForm action=action attr:class="card stack narrow">
            <label>
                "Username"
                <input name="username" required autocomplete="off" pattern="[a-z0-9][a-z0-9._\\-]{0,63}"
                    title="lower-case letters, digits, '.', '_' and '-'"/>
                <FieldError result field="username"/>
            </label>
            <label>
                "Password"
                <input type="password" name="password" required minlength="8" autocomplete="new-password"/>
                <FieldError result field="password"/>
            </label>
            <label>
                <span>"Email " <span class="muted">"(optional)"</span></span>
                <input type="email" name="email" autocomplete="off"/>
                <FieldError result field="email"/>
            </label>
            <label class="check">
                <input type="checkbox" name="admin" value="on"/>
                "Administrator (manages users and nodes)"
            </label>
            <FormError result/>
            <div class="actions">
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Create user"</button>
                <A href="/users">"Cancel"</A>
            </div>
        </ActionForm>
    }
}

#[component]
pub fn EditUserPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let update = ServerAction::<UpdateUser>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let delete = ServerAction::<DeleteUser>::new();
    // Saving and resetting both bump the revision the other forms must send.
    let user =
        Resource::new(move || (id.get(), update.version().get(), reset.version().get()), |(id, _, _)| get_user(id));
    let (confirm_delete, set_confirm_delete) = signal(false);
    let update_result: Signal<_> = update.value().into();
    let reset_result: Signal<_> = reset.value().into();
    let delete_result: Signal<_> = delete.value().into();
    view! {
        <Title text="Edit user"/>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match user.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(u) => {
                        let created = query.read_untracked().get("created").is_some();
                        let (id1, id2, id3) = (u.id.clone(), u.id.clone(), u.id.clone());
                        let (rev1, rev2) = (u.revision.to_string(), u.revision.to_string());
                        let (email, admin, name) = (u.email.clone().unwrap_or_default(), u.admin, u.username.clone());
                        view! {
                            <div class="page-head">
                                <h1>{u.username.clone()}</h1>
                                <A href="/users">"All users"</A>
                            </div>
                            {created.then(|| view! { <p class="notice" role="status">"The user was created."</p> })}
                            <section class="card stack narrow">
                                <h2>"Profile"</h2>
                                <ActionForm action=update attr:class="stack">
                                    <input type="hidden" name="id" value=id1.clone()/>
                                    <input type="hidden" name="revision" value=rev1.clone()/>
                                    <label>
                                        "Email"
                                        <input type="email" name="email" value=email.clone()/>
                                        <FieldError result=update_result field="email"/>
                                    </label>
                                    <label class="check">
                                        <input type="checkbox" name="admin" value="on" checked=admin/>
                                        "Administrator"
                                    </label>
                                    <FormError result=update_result/>
                                    {move || matches!(update_result.get(), Some(Ok(_))).then(|| view! { <p class="notice" role="status">"Saved."</p> })}
                                    <div class="actions"><button type="submit" class="primary">"Save"</button></div>
                                </ActionForm>
                            </section>
                            <section class="card stack narrow">
                                <h2>"Reset password"</h2>
                                <p class="muted">"Sets a new password, logs the user out everywhere and revokes their API tokens."</p>
                                <ActionForm action=reset attr:class="stack">
                                    <input type="hidden" name="id" value=id2.clone()/>
                                    <label>
                                        "New password"
                                        <input type="password" name="new_password" required minlength="8" autocomplete="new-password"/>
                                        <FieldError result=reset_result field="new_password"/>
                                    </label>
                                    <FormError result=reset_result/>
                                    {move || matches!(reset_result.get(), Some(Ok(_))).then(|| view! { <p class="notice" role="status">"The password was reset."</p> })}
                                    <div class="actions"><button type="submit">"Reset password"</button></div>
                                </ActionForm>
                            </section>
                            <section class="card stack narrow danger-zone">
                                <h2>"Delete user"</h2>
                                <p class="muted">"Deletes the account with its sessions and API tokens."</p>
                                <ActionForm action=delete attr:class="stack">
                                    <input type="hidden" name="id" value=id3.clone()/>
                                    <input type="hidden" name="revision" value=rev2.clone()/>
                                    <FormError result=delete_result/>
                                    <div class="actions">
                                        {move || if confirm_delete.get() {
                                            view! {
                                                <button type="submit" class="danger">"Really delete " {name.clone()}</button>
                                                <button type="button" on:click=move |_| set_confirm_delete.set(false)>"Keep"</button>
                                            }.into_any()
                                        } else {
                                            view! { <button type="button" class="danger" on:click=move |_| set_confirm_delete.set(true)>"Delete user…"</button> }.into_any()
                                        }}
                                    </div>
                                </ActionForm>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
