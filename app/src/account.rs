//! My account: email, password and API tokens of the logged-in user.

use leptos::prelude::*;
use leptos_meta::Title;
use switchyard_core::model::{ApiToken, NewApiToken, User};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    auth::current_user,
    components::{when, ErrorMessage, FieldError, FormError, Loading},
    AppError,
};

#[server]
pub async fn change_email(revision: u64, email: String) -> Result<User, AppError> {
    use switchyard_core::managers::UserUpdate;
    let caller = caller().await?;
    let id = caller.user.id.clone();
    Ok(sy().users.update(&caller, &id, UserUpdate { revision, email: Some(email), admin: None }).await?)
}

#[server]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    let caller = caller().await?;
    let id = caller.user.id.clone();
    let session = crate::auth::ssr::session().await?.id().map(|i| i.to_string());
    Ok(sy().users.set_password(&caller, &id, Some(&current_password), &new_password, session.as_deref()).await?)
}

#[server]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    Ok(sy().users.list_tokens(&caller().await?).await?)
}

#[server]
pub async fn create_token(name: String) -> Result<NewApiToken, AppError> {
    Ok(sy().users.create_token(&caller().await?, &name).await?)
}

#[server]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    Ok(sy().users.revoke_token(&caller().await?, &id).await?)
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let email = ServerAction::<ChangeEmail>::new();
    let password = ServerAction::<ChangePassword>::new();
    let me = Resource::new(move || email.version().get(), |_| current_user());
    let email_result: Signal<_> = email.value().into();
    let password_result: Signal<_> = password.value().into();
    view! {
        <Title text="My account"/>
        <div class="page-head"><h1>"My account"</h1></div>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match me.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(None) => view! { <p>"Not logged in."</p> }.into_any(),
                    Ok(Some(u)) => view! {
                        <section class="card stack narrow">
                            <h2>"Profile"</h2>
                            <dl class="facts">
                                <dt>"Username"</dt><dd>{u.username.clone()}</dd>
                                <dt>"Role"</dt><dd>{if u.admin { "administrator" } else { "user" }}</dd>
                            </dl>
                            <ActionForm action=email attr:class="stack">
                                <input type="hidden" name="revision" value=u.revision.to_string()/>
                                <label>
                                    "Email"
                                    <input type="email" name="email" value=u.email.clone().unwrap_or_default() autocomplete="email"/>
                                    <FieldError result=email_result field="email"/>
                                </label>
                                <FormError result=email_result/>
                                {move || matches!(email_result.get(), Some(Ok(_))).then(|| view! { <p class="notice" role="status">"Saved."</p> })}
                                <div class="actions"><button type="submit" class="primary">"Save email"</button></div>
                            </ActionForm>
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
        <section class="card stack narrow">
            <h2>"Password"</h2>
            <p class="muted" id="password-effect">
                "Changing your password logs you out on every other browser and revokes all your API tokens: scripts that use them need a new one."
            </p>
            <ActionForm action=password attr:class="stack" attr:aria-describedby="password-effect">
                <label>
                    "Current password"
                    <input type="password" name="current_password" required autocomplete="current-password"/>
                    <FieldError result=password_result field="current_password"/>
                </label>
                <label>
                    "New password"
                    <input type="password" name="new_password" required minlength="8" autocomplete="new-password"/>
                    <FieldError result=password_result field="new_password"/>
                </label>
                <FormError result=password_result/>
                {move || matches!(password_result.get(), Some(Ok(_))).then(|| view! { <p class="notice" role="status">"Your password was changed. Your other sessions have ended and your API tokens are revoked."</p> })}
                <div class="actions"><button type="submit" class="primary">"Change password"</button></div>
            </ActionForm>
        </section>
        <Tokens/>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
    let create_result: Signal<_> = create.value().into();
    view! {
        <section class="card stack">
            <h2>"API tokens"</h2>
            <p class="muted">
                "Scripts and other programs use a token instead of your password: send it as "
                <code>"Authorization: Bearer <token>"</code> " to the " <a href="/api/v1/docs" rel="external">"REST API"</a> "."
            </p>
            {move || match create_result.get() {
                Some(Ok(new)) => Some(view! {
                    <div class="secret" role="status">
                        <p><strong>"Copy your new token now."</strong> " It will not be shown again."</p>
                        <code class="token-secret">{new.secret}</code>
                    </div>
                }),
                _ => None,
            }}
            <ActionForm action=create attr:class="toolbar">
                <label class="grow">
                    <span class="visually-hidden">"Token name"</span>
                    <input name="name" placeholder="What is it for? e.g. deploy script" required/>
                    <FieldError result=create_result field="name"/>
                </label>
                <button type="submit" class="primary">"Create token"</button>
            </ActionForm>
            <FormError result=create_result/>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"You have no API tokens."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="list">
                                <thead><tr><th>"Name"</th><th>"Starts with"</th><th>"Created"</th><th>"Last used"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|t| { let id = t.id.clone(); view! {
                                        <tr data-token=t.name.clone()>
                                            <td>{t.name.clone()}</td>
                                            <td><code>{t.prefix.clone()} "…"</code></td>
                                            <td class="muted">{when(&t.created)}</td>
                                            <td class="muted">{t.last_used.as_ref().map(when).unwrap_or_else(|| "never".into())}</td>
                                            <td>
                                                <ActionForm action=revoke attr:class="inline">
                                                    <input type="hidden" name="id" value=id.clone()/>
                                                    <button type="submit" class="danger small">"Revoke"</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }}).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
