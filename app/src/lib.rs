//! Switchyard's web UI: server-rendered by the `server` crate and hydrated in the browser by
//! the `frontend` crate. Each feature module holds its types, its server functions and its
//! components together; server functions call the managers in `switchyard-core` directly, so
//! the UI obeys exactly the rules of the REST API.

/// The attribute the WASM entry point puts on `<body>` once the app has hydrated: the browser
/// tests wait for it, and a page built after it was opened by the running app, not the server.
pub const HYDRATED_ATTRIBUTE: &str = "data-hydrated";

pub mod account;
pub mod activity;
pub mod auth;
pub mod components;
pub mod connections;
pub mod error;
pub mod lists;
pub mod live;
pub mod network;
pub mod nodes;
pub mod overview;
pub mod pending_changes;
pub mod processes;
pub mod services;
pub mod users;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute, SsrMode,
};

pub use error::AppError;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath d='M1 4h14M1 12h14M4 4l8 8' stroke='%232563eb' stroke-width='2' fill='none'/%3E%3C/svg%3E"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <script nonce=leptos::nonce::use_nonce() inner_html=RETRY_MODULE_FETCH></script>
                <HydrationScripts options/>
                <EditorPrefetch/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Fetches of the app's own WASM modules (`/pkg/….wasm`) are tried again on a network error,
/// up to four times within about 2 s. A page's module that fails to download is fatal to the
/// whole app (the split loader panics), and a transient failure is common: a network change
/// (`ERR_NETWORK_CHANGED`, e.g. when Docker adds an interface on the same machine) aborts every
/// request in flight. Runs before the hydration scripts, so every module load goes through it.
const RETRY_MODULE_FETCH: &str = r#"(() => {
  const fetch0 = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!/\/pkg\/[^?#]*\.wasm([?#]|$)/.test(url)) return fetch0(input, init);
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetch0(input, init);
      } catch (e) {
        if (attempt >= 4) throw e;
        await new Promise((resolve) => setTimeout(resolve, 125 * 2 ** attempt));
      }
    }
  };
})();"#;

/// `<link rel="prefetch">` for the editors' modules (see [`lazy_pages!`]): the browser fetches
/// them when it is idle, so opening an editor later waits for nothing. A prefetch the browser
/// drops (the page is left, the network fails) costs nothing: the module is fetched again when
/// its page opens. Once the app has hydrated, the browser entry point has the split loader
/// instantiate them from the cache as well, around the app (`LazyRoute::preload` would panic the
/// whole app when a load fails, as it does whenever the page is left during the download).
#[component]
fn EditorPrefetch() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        let files: Vec<String> = use_context::<leptos::WasmSplitManifest>()
            .and_then(|m| {
                m.0.try_with_value(|(pkg, manifest, _)| {
                    let mut files: Vec<String> = manifest
                        .iter()
                        .filter(|(split, _)| PRELOADED_ROUTES.iter().any(|r| split.contains(r)))
                        .flat_map(|(_, files)| files.iter().map(|f| format!("{pkg}/{f}.wasm")))
                        .collect();
                    files.sort();
                    files.dedup();
                    files
                })
            })
            .unwrap_or_default();
        files
            .into_iter()
            .map(|href| view! { <link rel="prefetch" href=href r#as="fetch" type="application/wasm" crossorigin=""/> })
            .collect_view()
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|text: String| if text.is_empty() { "Switchyard".to_string() } else { format!("{text} · Switchyard") }/>
        <Router>
            <Routes fallback=|| view! { <components::NotFound/> }>
                <Route path=path!("/login") view=auth::LoginPage/>
                <ParentRoute path=path!("") view=auth::Layout>
                    <Route path=path!("") view=overview::Overview/>
                    <Route path=path!("/services") view={Lazy::<ServicesRoute>::new()}/>
                    <Route path=path!("/services/:id") view={Lazy::<ServiceRoute>::new()}/>
                    <Route path=path!("/processes") view={Lazy::<ProcessesRoute>::new()}/>
                    // The pages with data before their code are rendered whole before the first
                    // byte (their data takes milliseconds): streamed out of order, an answer that
                    // came fast could leave the server's markup without the loading state the
                    // browser's first render expects, and hydration panicked.
                    <Route path=path!("/processes/new") view={Lazy::<NewProcessRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/processes/:id") view={Lazy::<ProcessRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/connections") view={Lazy::<ConnectionsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/nodes") view={Lazy::<NodesRoute>::new()}/>
                    <Route path=path!("/pending-changes") view={Lazy::<PendingChangesRoute>::new()}/>
                    <Route path=path!("/users") view={Lazy::<UsersRoute>::new()}/>
                    <Route path=path!("/users/new") view={Lazy::<NewUserRoute>::new()}/>
                    <Route path=path!("/users/:id") view={Lazy::<EditUserRoute>::new()}/>
                    <Route path=path!("/account") view={Lazy::<AccountRoute>::new()}/>
                    <Route path=path!("/activity") view={Lazy::<ActivityRoute>::new()}/>
                    <Route path=path!("/network") view={Lazy::<NetworkRoute>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The editors, each a page whose code `cargo leptos build --split` cuts out of the first
/// download into a WASM module of its own. The browser fetches them in the background when it is
/// idle ([`EditorPrefetch`]); a page opened at an editor fetches its modules
/// before it hydrates. The other pages stay in the first download: they are small and share
/// most of their code with the shell.
///
/// Each route's `data` (in the first download) starts loading the page's data as soon as the
/// route matches, so the request runs while the page's module downloads rather than after it.
macro_rules! lazy_pages {
    ($($route:ident($data:ty) = $load:path => $page:ident { $prop:ident }),* $(,)?) => {
        $(
            struct $route($data);

            #[lazy_route]
            impl LazyRoute for $route {
                fn data() -> Self {
                    $route($load())
                }

                fn view(this: Self) -> AnyView {
                    let $prop = this.0;
                    view! { <$page $prop/> }.into_any()
                }
            }
        )*
    };
}

/// Pages that need no data before their code: each its own module, kept out of the first
/// download (which is the overview's), fetched when first visited or, for the lists, ahead of
/// time when the browser is idle (see `PRELOADED_ROUTES`).
macro_rules! lazy_plain_pages {
    ($($route:ident => $page:path),* $(,)?) => {
        $(
            struct $route;

            #[lazy_route]
            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                fn view(_this: Self) -> AnyView {
                    $page().into_any()
                }
            }
        )*
    };
}

lazy_plain_pages! {
    ServicesRoute => services::ServicesPage,
    ServiceRoute => services::ServicePage,
    ProcessesRoute => processes::ProcessesPage,
    NodesRoute => nodes::NodesPage,
    PendingChangesRoute => pending_changes::PendingChangesPage,
    ActivityRoute => activity::ActivityPage,
    NetworkRoute => network::NetworkPage,
    UsersRoute => users::UsersPage,
    NewUserRoute => users::NewUserPage,
    EditUserRoute => users::EditUserPage,
    AccountRoute => account::AccountPage,
}

use connections::{ConnectionsData, ConnectionsPage};
use processes::{DeployData, NewProcessPage, ProcessData, ProcessPage};

/// The modules fetched ahead, when the browser is idle: the editors and the lists (the pages
/// most visits go to next), as `#[lazy_route]` names them after their route types.
/// [`EditorPrefetch`] finds their files in the split manifest by these, and once the app has
/// hydrated, the browser entry point has them loaded (instantiated) ahead too.
pub const PRELOADED_ROUTES: &[&str] = &[
    "process_route",
    "connections_route",
    "processes_route",
    "services_route",
    "nodes_route",
    "pending_changes_route",
];

lazy_pages! {
    ProcessRoute(ProcessData) = processes::load_process => ProcessPage { initial },
    NewProcessRoute(DeployData) = processes::load_deploy_choices => NewProcessPage { choices },
    ConnectionsRoute(ConnectionsData) = connections::load_connections => ConnectionsPage { data },
}
