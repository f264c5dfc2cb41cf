//! Logging in and out, the current user, and the app layout that needs one.

use leptos::prelude::*;

use crate::live::{LiveIndicator, Toasts};
use leptos_meta::Title;
use leptos_router::{
    components::{Outlet, A},
    hooks::{use_location, use_query_map},
};
use switchyard_core::model::User;

use crate::AppError;

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Server-side helpers for the server functions (and the REST API, which shares them).

    use leptos::prelude::*;
    use switchyard_core::{
        managers::{Caller, Switchyard},
        Error,
    };
    use tower_sessions::Session;

    use crate::AppError;

    /// The installation's one set of managers, given to every page and server function.
    static SWITCHYARD: std::sync::OnceLock<Switchyard> = std::sync::OnceLock::new();

    /// Remember the managers for the server functions (the server calls this once per request
    /// context; only the first call stores anything).
    pub fn provide_switchyard(sy: &Switchyard) {
        SWITCHYARD.get_or_init(|| sy.clone());
        provide_context(sy.clone());
    }

    /// The managers. From the reactive context where there is one; a server function that
    /// asks after an `.await` may be resumed where the context is not (a resource's future
    /// polled again outside its owner during server rendering), so the one instance is also kept
    /// for the whole server.
    pub fn sy() -> Switchyard {
        use_context::<Switchyard>()
            .or_else(|| SWITCHYARD.get().cloned())
            .expect("the server provides the managers before any page or server function runs")
    }

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(|e| AppError::from(Error::Internal(format!("no session layer: {e}"))))
    }

    /// The address the request came from (the server puts it on every request).
    pub async fn client_addr() -> std::net::IpAddr {
        leptos_axum::extract::<axum::Extension<switchyard_core::auth::ClientAddr>>()
            .await
            .map(|e| e.0 .0)
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
    }

    /// The logged-in caller of a server function.
    pub async fn caller() -> Result<Caller, AppError> {
        let session = session().await?;
        sy().users
            .session_caller(&session)
            .await?
            .ok_or_else(|| Error::Unauthenticated("your session has ended; log in again".into()).into())
    }
}

/// Where to go after login: only a path of this origin, so a crafted link cannot send someone
/// elsewhere. Browsers drop tabs and line breaks from a URL and read `\\` as `/`, so
/// `/%09/evil.example` would become `//evil.example`, another site: control characters are
/// refused outright, and any other address that does not start with one `/` means the start page.
pub fn checked_next(next: Option<&str>) -> Result<String, switchyard_core::Error> {
    let Some(n) = next.filter(|n| !n.is_empty()) else { return Ok("/".into()) };
    if n.chars().any(char::is_control) {
        return Err(switchyard_core::Error::BadRequest(
            "the address to go to after login must not contain control characters".into(),
        ));
    }
    let same_origin = n.starts_with('/') && !n.starts_with("//") && !n.contains('\\');
    Ok(if same_origin { n.to_string() } else { "/".into() })
}

/// [`checked_next`], with anything refused meaning the start page.
pub fn safe_next(next: Option<String>) -> String {
    checked_next(next.as_deref()).unwrap_or_else(|_| "/".into())
}

#[server]
pub async fn login(username: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let sy = ssr::sy();
    let next = checked_next(next.as_deref())?;
    let user = sy.users.login(&username, &password, ssr::client_addr().await).await?;
    ssr::sy().users.start_session(&ssr::session().await?, &user).await?;
    leptos_axum::redirect(&next);
    Ok(())
}

#[server]
pub async fn logout() -> Result<(), AppError> {
    let session = ssr::session().await?;
    session.flush().await.map_err(|e| AppError::from(switchyard_core::Error::Internal(e.to_string())))?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server]
pub async fn current_user() -> Result<Option<User>, AppError> {
    let session = ssr::session().await?;
    Ok(ssr::sy().users.session_caller(&session).await?.map(|c| c.user))
}

/// Load a page from the server, dropping all client state (after logging in or out).
pub(crate) fn reload_at(path: &str) {
    #[cfg(feature = "hydrate")]
    let _ = window().location().set_href(path);
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let expired = move || query.read().get("expired").is_some();
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            reload_at(&safe_next(Some(next())));
        }
    });
    view! {
        <Title text="Log in"/>
        <main class="login">
            <div class="card login-card">
                <h1 class="brand-large">"Switchyard"</h1>
                <p class="muted">"Log in to run and connect your services."</p>
                {move || expired().then(|| view! { <p class="notice" role="status">"Your session has ended. Log in again."</p> })}
                <ActionForm action=action attr:class="stack">
                    // An attribute, not a property: the server renders it, so a login sent before
                    // the page is hydrated still goes back to the page that asked for it.
                    <input type="hidden" name="next" value=move || safe_next(Some(next()))/>
                    <label>
                        "Username"
                        <input name="username" autocomplete="username" required autofocus/>
                    </label>
                    <label>
                        "Password"
                        <input type="password" name="password" autocomplete="current-password" required/>
                    </label>
                    {move || action.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.message}</p> })}
                    <button type="submit" class="primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Logging in…" } else { "Log in" }}
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}

/// The current user, provided by [`Layout`] to every page inside it.
#[derive(Clone, Copy)]
pub struct UserContext(pub Resource<Result<Option<User>, AppError>>);

/// Whether the current user is an administrator, to be awaited inside a `Suspend`.
///
/// Reading the user synchronously (`.get()`) would race its arrival: the server and the
/// browser could each render before or after it is known, their HTML would differ, and
/// hydration would panic. Awaited, both render with the answer.
#[derive(Clone, Copy)]
pub struct Admin(Resource<Result<Option<User>, AppError>>);

impl Admin {
    /// The current page's answer (from [`Layout`]'s user resource).
    pub fn of_page() -> Self {
        Self(expect_context::<UserContext>().0)
    }

    /// True for an administrator; false for anyone else, and when the user cannot be read.
    pub async fn get(self) -> bool {
        matches!(self.0.await, Ok(Some(u)) if u.admin)
    }
}

#[component]
pub fn Layout() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    provide_context(UserContext(user));
    let logout = ServerAction::<Logout>::new();
    crate::live::provide_live();
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            reload_at("/login");
        }
    });
    // The navigation folds behind a Menu button on narrow screens (CSS decides when); it closes
    // again whenever the page changes.
    let menu_open = RwSignal::new(false);
    let location = use_location();
    Effect::watch(move || location.pathname.get(), move |_, _, _| menu_open.set(false), false);
    view! {
        <div class="shell">
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="topbar" class:menu-open=move || menu_open.get()>
                <A href="/" attr:class="brand">"Switchyard"</A>
                <button
                    type="button"
                    class="menu-button"
                    aria-controls="mainnav"
                    aria-expanded=move || if menu_open.get() { "true" } else { "false" }
                    on:click=move |_| menu_open.update(|o| *o = !*o)
                >
                    <span aria-hidden="true">"☰"</span>"Menu"
                </button>
                <nav class="mainnav" id="mainnav" aria-label="main">
                    <A href="/services">"Services"</A>
                    <A href="/processes">"Processes"</A>
                    <A href="/connections">"Connections"</A>
                    <A href="/network">"Network"</A>
                    <A href="/nodes">"Nodes"</A>
                    <A href="/pending-changes">"Pending changes"</A>
                    <A href="/activity">"Activity"</A>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            matches!(user.await, Ok(Some(u)) if u.admin)
                                .then(|| view! { <A href="/users">"Users"</A> })
                        })}
                    </Transition>
                </nav>
                <div class="me">
                    <LiveIndicator/>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match user.await {
                                Ok(Some(u)) => Some(view! {
                                    <A href="/account" attr:class="whoami" attr:title="My account">
                                        {u.username.clone()}
                                        {u.admin.then(|| view! { <span class="badge">"admin"</span> })}
                                    </A>
                                }),
                                _ => None,
                            }
                        })}
                    </Transition>
                    <ActionForm action=logout attr:class="inline">
                        <button type="submit" class="link">"Log out"</button>
                    </ActionForm>
                </div>
            </header>
            <main class="content" id="main" tabindex="-1">
                <Outlet/>
            </main>
            <Toasts/>
        </div>
    }
}
