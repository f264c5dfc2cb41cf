//! Small pieces every page uses: error messages, field errors, paging, empty states.

use leptos::prelude::*;
use leptos_router::components::A;

use std::time::Duration;

use crate::AppError;

/// An error from a server function, shown as a page or form would. An ended session sends the
/// browser to the login page.
#[component]
pub fn ErrorMessage(error: AppError) -> impl IntoView {
    if error.is_unauthenticated() {
        #[cfg(feature = "hydrate")]
        {
            let here = window().location().pathname().unwrap_or_default();
            if here != "/login" {
                let _ = window().location().set_href(&format!("/login?expired=1&next={here}"));
            }
        }
    }
    view! { <p class="error" role="alert">{error.message}</p> }
}

/// The error of a form's last submission if it is not about one field.
#[component]
pub fn FormError<T: Clone + Send + Sync + 'static>(result: Signal<Option<Result<T, AppError>>>) -> impl IntoView {
    move || match result.get() {
        Some(Err(e)) if e.field.is_none() => Some(view! { <ErrorMessage error=e/> }),
        _ => None,
    }
}

/// The error of a form's last submission about `field`, shown under that field.
#[component]
pub fn FieldError<T: Clone + Send + Sync + 'static>(
    result: Signal<Option<Result<T, AppError>>>,
    field: &'static str,
) -> impl IntoView {
    move || {
        result.get().and_then(|r| r.err()).and_then(|e| e.for_field(field)).map(|message| {
            view! { <span class="field-error" role="alert" data-field=field>{message}</span> }
        })
    }
}

/// "Previous / page n of m / Next" links that keep the other query parameters.
#[component]
pub fn Pager(base: String, page: u64, pages: u64, total: u64) -> impl IntoView {
    let sep = if base.contains('?') { "&" } else { "?" };
    let link = move |p: u64| format!("{base}{sep}page={p}");
    view! {
        <nav class="pager" aria-label="pages">
            <span class="muted">{format!("{total} in all")}</span>
            {(page > 1).then(|| view! { <A href=link(page - 1)>"← Previous"</A> })}
            <span>{format!("page {page} of {pages}")}</span>
            {(page < pages).then(|| view! { <A href=link(page + 1)>"Next →"</A> })}
        </nav>
    }
}

#[component]
pub fn EmptyState(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty">
            <h2>{title}</h2>
            <div class="muted">{children()}</div>
        </div>
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted loading">"Loading…"</p> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text="Page not found"/>
        <main class="content" id="main">
            <div class="page-head"><h1>"Page not found"</h1></div>
            <p>"There is nothing at this address. " <A href="/">"Go to the overview"</A></p>
        </main>
    }
}

/// Format a timestamp for people, in UTC.
pub fn when(t: &switchyard_core::model::Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A reactive attribute value or text behind one boxed closure type per value type. The
/// renderer's generic code is then instantiated once per type instead of once per closure (what
/// `--cfg erase_components` does for a whole build), which keeps these pages' share of the WASM
/// bundle down.
pub(crate) type Rx<T> = Box<dyn FnMut() -> T + Send>;

pub(crate) fn rx<T>(f: impl FnMut() -> T + Send + 'static) -> Rx<T> {
    Box::new(f)
}

/// A reactive piece of view, type-erased likewise.
pub(crate) fn rv<V: IntoAny>(mut f: impl FnMut() -> V + Send + 'static) -> Rx<AnyView> {
    Box::new(move || f().into_any())
}

/// True once the page runs in the browser, so forms that need it are not used before.
pub(crate) fn hydrated() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    ready
}

/// Run `poll` every `every` while the calling component is mounted (in the browser only).
pub(crate) fn poll_while_mounted(every: Duration, poll: impl Fn() + Clone + 'static) {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Ok(handle) = set_interval_with_handle(poll.clone(), every) {
            on_cleanup(move || handle.clear());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&poll, every);
    });
}

/// A loader: each call runs `fetch` and hands its answer to `apply`. A call while the previous
/// one still waits for its answer does not start another (loads do not pile up, and an old
/// answer never lands after a newer one), but the load runs once more when that answer is in,
/// so a change announced meanwhile is never missed. For the pages that refresh themselves.
pub(crate) fn one_at_a_time<T, Fut, F, A>(fetch: F, apply: A) -> impl Fn() + Clone + Send + Sync + 'static
where
    T: 'static,
    Fut: std::future::Future<Output = T> + 'static,
    F: Fn() -> Fut + Send + Sync + 'static,
    A: Fn(T) + Send + Sync + 'static,
{
    use std::sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    };
    // 0: idle, 1: loading, 2: loading and asked again meanwhile.
    let state = Arc::new(AtomicU8::new(0));
    let (fetch, apply) = (Arc::new(fetch), Arc::new(apply));
    move || {
        if state.fetch_max(1, Ordering::SeqCst) > 0 {
            state.store(2, Ordering::SeqCst);
            return;
        }
        let (state, fetch, apply) = (state.clone(), fetch.clone(), apply.clone());
        leptos::task::spawn_local(async move {
            loop {
                let answer = fetch().await;
                apply(answer);
                // Asked again while loading: load once more; else done.
                if state.compare_exchange(1, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                    break;
                }
                state.store(1, Ordering::SeqCst);
            }
        });
    }
}
