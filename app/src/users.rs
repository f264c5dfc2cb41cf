//! User administration (administrators only): list, create, edit, reset passwords, delete.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_params_map, use_query_map},
};
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use switchyard_core::model::{Page, User};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    components::{when, EmptyState, ErrorMessage, FieldError, FormError, Loading},
    lists::{navigator, per_options, with, FilterSelect, ListPager, SearchBox, SortHeader},
    AppError,
};

/// The user list's view as its URL gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserQuery {
    /// Part of the username or email.
    pub q: String,
    /// `username`, `email`, `role` or `created`; `-` before it for the reverse order.
    pub sort: String,
    pub page: String,
    pub per: String,
}

impl UserQuery {
    pub const PATH: &'static str = "/users";
    pub const SORTS: [(&'static str, &'static str); 4] =
        [("username", "username"), ("email", "email"), ("role", "admin"), ("created", "created")];
    pub const DEFAULT_SORT: &'static str = "username";

    pub fn from_map(map: &leptos_router::params::ParamsMap) -> Self {
        let get = |k: &str| map.get(k).unwrap_or_default();
        UserQuery { q: get("q"), sort: get("sort"), page: get("page"), per: get("per") }
    }

    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![("q", self.q.clone()), ("sort", self.sort.clone()), ("page", self.page.clone()), ("per", self.per.clone())]
    }
}

/// One page of users, with the view as the server understood it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserListView {
    pub page: Page<User>,
    pub pages: u64,
    pub query: UserQuery,
    pub notices: Vec<String>,
}

/// One page of the users (administrators only) whose username or email contains `q`.
#[server(input = Json)]
pub async fn load_users(query: UserQuery) -> Result<UserListView, AppError> {
    use crate::lists::{paging, sort_param, DEFAULT_PER};
    use switchyard_core::managers::ListParams;
    let caller = caller().await?;
    let sy = sy();
    let mut query = query;
    let (page, per_page, mut notices) = paging(&query.page, &query.per);
    let (sort, url_sort) = sort_param(&query.sort, &UserQuery::SORTS, UserQuery::DEFAULT_SORT, &mut notices);
    let needle = query.q.trim().to_lowercase();
    let mut found = if needle.is_empty() {
        let params = ListParams { page: Some(page), per_page: Some(per_page), sort: Some(sort.clone()) };
        let mut found = sy.users.list(&caller, &params, None, None).await?;
        if page > found.pages() {
            notices.push(format!("There is no page {page}: showing the last page, {}.", found.pages()));
            let params = ListParams { page: Some(found.pages()), ..params };
            found = sy.users.list(&caller, &params, None, None).await?;
        }
        found
    } else {
        // The store searches one field at a time: the users (in the asked order) whose
        // username or email contains it are found here, then paged.
        let mut matching = Vec::new();
        let mut at = 1;
        loop {
            let params = ListParams { page: Some(at), per_page: Some(1000), sort: Some(sort.clone()) };
            let batch = sy.users.list(&caller, &params, None, None).await?;
            let last = batch.page >= batch.pages();
            matching.extend(batch.items.into_iter().filter(|u| {
                u.username.to_lowercase().contains(&needle)
                    || u.email.as_deref().is_some_and(|e| e.to_lowercase().contains(&needle))
            }));
            if last {
                break;
            }
            at += 1;
        }
        let total = matching.len() as u64;
        let pages = total.div_ceil(per_page).max(1);
        let page = if page > pages {
            notices.push(format!("There is no page {page}: showing the last page, {pages}."));
            pages
        } else {
            page
        };
        let items = matching.into_iter().skip(((page - 1) * per_page) as usize).take(per_page as usize).collect();
        Page { items, total, page, per_page }
    };
    found.per_page = per_page;
    query.page = if found.page > 1 { found.page.to_string() } else { String::new() };
    query.per = if per_page == DEFAULT_PER { String::new() } else { per_page.to_string() };
    query.sort = if url_sort == UserQuery::DEFAULT_SORT { String::new() } else { url_sort };
    Ok(UserListView { pages: found.pages(), page: found, query, notices })
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
    let args = Memo::new(move |_| UserQuery::from_map(&query.read()));
    let deleted = move || query.read().get("deleted").is_some();
    let users = Resource::new(move || args.get(), load_users);
    let go = navigator(UserQuery::PATH, Signal::derive(move || args.with(|a| a.pairs())));
    let pick = move |key: &'static str| Callback::new(move |v: String| go.run((key, v)));
    let initial_per = args.get_untracked().per;
    view! {
        <Title text="Users"/>
        <div class="page-head">
            <h1>"Users"</h1>
            <A href="/users/new" attr:class="button primary">"New user"</A>
        </div>
        {move || deleted().then(|| view! { <p class="notice" role="status">"The user was deleted."</p> })}
        <Form method="GET" action="" attr:class="toolbar list-toolbar" attr:role="search" attr:aria-label="Search users">
            <SearchBox label="Search" placeholder="Username or email"
                current=Signal::derive(move || args.with(|a| a.q.clone())) on_search=pick("q")/>
            <FilterSelect label="Show" name="per" options=per_options(&initial_per)
                current=Signal::derive(move || args.with(|a| if a.per.is_empty() { crate::lists::DEFAULT_PER.to_string() } else { a.per.clone() }))
                on_change=pick("per")/>
            <input type="hidden" name="sort" value=move || args.with(|a| a.sort.clone())/>
            <button type="submit">"Search"</button>
        </Form>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match users.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(v) => {
                        let notices = v.notices.iter().map(|n| view! { <p class="notice" role="status" data-list-notice="">{n.clone()}</p> }).collect_view();
                        if v.page.items.is_empty() {
                            return view! {
                                {notices}
                                <EmptyState title="No users match">"Try another search."</EmptyState>
                            }.into_any();
                        }
                        let q = v.query.clone();
                        let current = if q.sort.is_empty() { UserQuery::DEFAULT_SORT.to_string() } else { q.sort.clone() };
                        let sort_pairs = with(&with(&q.pairs(), "sort", ""), "page", "");
                        let page_pairs = with(&q.pairs(), "page", "");
                        let n = v.page.items.len();
                        let header = |label: &'static str, field: &'static str| view! {
                            <SortHeader label field current=current.clone() path=UserQuery::PATH pairs=sort_pairs.clone()/>
                        };
                        view! {
                            {notices}
                            <div class="table-scroll">
                                <table class="list users">
                                    <thead><tr>
                                        {header("Username", "username")}
                                        {header("Email", "email")}
                                        {header("Role", "role")}
                                        {header("Created", "created")}
                                    </tr></thead>
                                    <tbody>
                                        {v.page.items.into_iter().map(|u| { let (name, label, href) = (u.username.clone(), u.username.clone(), format!("/users/{}", u.id)); view! {
                                            <tr data-user=label>
                                                <td><A href=href>{name}</A></td>
                                                <td>{u.email.clone().unwrap_or_default()}</td>
                                                <td>{if u.admin { view! { <span class="badge">"admin"</span> }.into_any() } else { view! { <span class="muted">"user"</span> }.into_any() }}</td>
                                                <td class="muted">{when(&u.created)}</td>
                                            </tr>
                                        }}).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <ListPager path=UserQuery::PATH pairs=page_pairs page=v.page.page pages=v.pages per_page=v.page.per_page
                                total=v.page.total shown=n noun="users"/>
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
