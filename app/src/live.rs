//! The event stream in the browser: one `EventSource` on `/api/v1/events` for the whole
//! logged-in app (opened by the layout, kept across page changes), and [`refresh_live`], with
//! which a page reloads what it shows when an event says it changed.
//!
//! Pages do not poll while the stream is up. While it is down (the server restarts, a proxy cut
//! it, the network went away) the header says so and pages fall back to refreshing every 2 s,
//! so what they show is never more than that out of date; once the stream is back, every page
//! reloads once (it may have missed events) and polling stops. The browser's own reconnect
//! resumes after the last event seen (`Last-Event-ID`); when the server refused the stream
//! (`EventSource` then gives up), it is opened again with back-off, resuming likewise.
//!
//! Events carry only what changed (a topic and an id), so the browser decodes no JSON here: the
//! page asks for the new state, which costs one request per change and keeps the bundle small.

use leptos::prelude::*;
use std::time::Duration;
use switchyard_core::model::Topic;

/// How often a page refreshes itself while the stream is down.
const FALLBACK_EVERY: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveStatus {
    /// Before the stream first opened (and on the server).
    Connecting,
    Live,
    /// It was lost; trying again (pages poll meanwhile).
    Reconnecting,
}

/// How many events of each topic arrived, and how many times everything must be reloaded.
#[derive(Clone, Copy)]
pub struct Live {
    seen: RwSignal<[u32; Topic::ALL.len()]>,
    /// Alerts to show as toasts: (id, message, link).
    pub toasts: RwSignal<Vec<(u32, String, Option<String>)>>,
    resyncs: RwSignal<u32>,
    pub status: RwSignal<LiveStatus>,
}

fn slot(topic: Topic) -> usize {
    Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0)
}

/// Open the stream for this page's lifetime and provide it to the pages below.
pub fn provide_live() -> Live {
    let live = Live {
        seen: RwSignal::new([0; Topic::ALL.len()]),
        toasts: RwSignal::new(Vec::new()),
        resyncs: RwSignal::new(0),
        status: RwSignal::new(LiveStatus::Connecting),
    };
    provide_context(live);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| browser::open(live, browser::Stream::default()));
    live
}

/// Call `refresh` whenever an event of `topics` arrives (or everything must be reloaded) while
/// the calling component is mounted; while the stream is down, every 2 s instead.
pub(crate) fn refresh_live(topics: &'static [Topic], refresh: impl Fn() + Clone + Send + Sync + 'static) {
    // One copy of the code below for every page, not one per page's closure type.
    refresh_any(topics, std::sync::Arc::new(refresh));
}

fn refresh_any(topics: &'static [Topic], refresh: std::sync::Arc<dyn Fn() + Send + Sync>) {
    let Some(live) = use_context::<Live>() else {
        // Outside the layout (never, today): refresh as the pages used to.
        crate::components::poll_while_mounted(FALLBACK_EVERY, move || refresh());
        return;
    };
    let on_event = refresh.clone();
    Effect::new(move |before: Option<u32>| {
        let now = live.seen.with(|seen| topics.iter().map(|t| seen[slot(*t)]).sum::<u32>()) + live.resyncs.get();
        if before.is_some_and(|b| b != now) {
            on_event();
        }
        now
    });
    Effect::new(move |_| {
        if live.status.get() == LiveStatus::Reconnecting {
            #[cfg(feature = "hydrate")]
            {
                let refresh = refresh.clone();
                if let Ok(handle) = set_interval_with_handle(move || refresh(), FALLBACK_EVERY) {
                    on_cleanup(move || handle.clear());
                }
            }
        }
    });
}

/// A counter that moves whenever `refresh_live` would refresh: for pages whose data is a
/// `Resource` (make the counter part of its source).
pub(crate) fn live_tick(topics: &'static [Topic]) -> RwSignal<u32> {
    let tick = RwSignal::new(0u32);
    refresh_live(topics, move || tick.update(|n| *n += 1));
    tick
}

/// Alerts (a process failed, a change failed for good, a node down, a connection that stays
/// interrupted), as toasts on every page; each goes after 15 s or when closed.
#[component]
pub fn Toasts() -> impl IntoView {
    let live = use_context::<Live>();
    let toasts = move || live.map(|l| l.toasts.get()).unwrap_or_default();
    view! {
        <div class="toasts" role="status" aria-live="assertive">
            {move || toasts().into_iter().map(|(id, message, link)| {
                let close = move |_| {
                    if let Some(l) = live {
                        l.toasts.update(|t| t.retain(|(i, _, _)| *i != id));
                    }
                };
                view! {
                    <div class="toast" data-toast=id>
                        <span>{message}</span>
                        {link.map(|href| view! { <a href=href>"Open"</a> })}
                        <button type="button" class="link" aria-label="Dismiss" on:click=close>"×"</button>
                    </div>
                }
            }).collect_view()}
        </div>
    }
}

/// The header's word on the stream: nothing while it is live, "Reconnecting…" while it is not.
#[component]
pub fn LiveIndicator() -> impl IntoView {
    let live = use_context::<Live>();
    let status = move || live.map_or(LiveStatus::Connecting, |l| l.status.get());
    view! {
        <span class="live-status" role="status" data-status=move || match status() {
            LiveStatus::Connecting => "connecting",
            LiveStatus::Live => "live",
            LiveStatus::Reconnecting => "reconnecting",
        }>
            {move || (status() == LiveStatus::Reconnecting).then_some("Reconnecting… (updating every 2 s)")}
        </span>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::{cell::RefCell, rc::Rc};

    use leptos::{
        prelude::*,
        wasm_bindgen::{closure::Closure, JsCast},
        web_sys::{EventSource, MessageEvent},
    };
    use switchyard_core::model::Topic;

    use super::{slot, Live, LiveStatus};

    /// What survives a reopen: the last event's id and how many times it failed in a row.
    #[derive(Clone, Default)]
    pub(super) struct Stream {
        last_id: Rc<RefCell<Option<String>>>,
        failures: Rc<RefCell<u32>>,
        opened_once: Rc<RefCell<bool>>,
    }

    pub(super) fn open(live: Live, stream: Stream) {
        let url = match stream.last_id.borrow().as_deref() {
            Some(id) => format!("/api/v1/events?last_event_id={id}"),
            None => "/api/v1/events".to_string(),
        };
        let Ok(source) = EventSource::new(&url) else {
            live.status.set(LiveStatus::Reconnecting);
            return;
        };
        let listen = |name: &str, f: Box<dyn FnMut(MessageEvent)>| {
            let closure = Closure::<dyn FnMut(MessageEvent)>::wrap(f);
            let _ = source.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
            // Lives as long as the EventSource, which lives as long as the page.
            closure.forget();
        };
        for topic in Topic::ALL {
            let last_id = stream.last_id.clone();
            listen(
                topic.as_str(),
                Box::new(move |e: MessageEvent| {
                    *last_id.borrow_mut() = Some(e.last_event_id());
                    live.seen.update(|seen| seen[slot(topic)] += 1);
                }),
            );
        }
        for name in ["ready", "resync"] {
            let s = stream.clone();
            listen(
                name,
                Box::new(move |e: MessageEvent| {
                    if !e.last_event_id().is_empty() {
                        *s.last_id.borrow_mut() = Some(e.last_event_id());
                    }
                    *s.failures.borrow_mut() = 0;
                    live.status.set(LiveStatus::Live);
                    // After a reconnect, or when told events were missed: reload everything once.
                    if name == "resync" || s.opened_once.replace(true) {
                        live.resyncs.update(|n| *n += 1);
                    }
                }),
            );
        }
        {
            let counter = std::rc::Rc::new(std::cell::Cell::new(0u32));
            listen(
                "alert",
                Box::new(move |e: MessageEvent| {
                    let Some(text) = e.data().as_string() else { return };
                    let Ok(value) = leptos::web_sys::js_sys::JSON::parse(&text) else { return };
                    let field = |name: &str| {
                        leptos::web_sys::js_sys::Reflect::get(&value, &name.into()).ok().and_then(|v| v.as_string())
                    };
                    let Some(message) = field("message") else { return };
                    let link = match (field("action").as_deref(), field("resource_id")) {
                        (Some("process_failed"), Some(id)) => Some(format!("/processes/{id}")),
                        (Some("connection_interrupted"), _) => Some("/connections".to_string()),
                        (Some("node_down"), _) => Some("/nodes".to_string()),
                        _ => Some("/pending-changes".to_string()),
                    };
                    let id = counter.get() + 1;
                    counter.set(id);
                    live.toasts.update(|t| {
                        t.push((id, message, link));
                        let excess = t.len().saturating_sub(4);
                        t.drain(..excess);
                    });
                    set_timeout(
                        move || live.toasts.update(|t| t.retain(|(i, _, _)| *i != id)),
                        std::time::Duration::from_secs(15),
                    );
                }),
            );
        }
        // Logged out or expired: the login page says so.
        listen("end", Box::new(|_| super::super::auth::reload_at("/login?expired=1")));
        let s = stream.clone();
        let errored = source.clone();
        let on_error = Closure::<dyn FnMut()>::new(move || {
            live.status.set(LiveStatus::Reconnecting);
            if errored.ready_state() == EventSource::CLOSED {
                // The server refused it (an error status, not a lost connection): the browser
                // will not try again, so we do, backing off up to 15 s.
                let failures = {
                    let mut f = s.failures.borrow_mut();
                    *f += 1;
                    *f
                };
                let wait = std::time::Duration::from_millis((500u64 << failures.min(5)).min(15_000));
                let again = s.clone();
                set_timeout(move || open(live, again), wait);
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
    }
}
