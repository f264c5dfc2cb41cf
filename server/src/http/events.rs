//! `GET /api/v1/events`: the event stream as Server-Sent Events (axum's `Sse`).
//!
//! Each event's `event:` is its topic, its `id:` resumes the stream (`Last-Event-ID`, which
//! browsers' `EventSource` sends by itself on reconnecting, or `?last_event_id=`), its `data:` a
//! [`LiveEvent`]. A `resync` event says events were missed (the client fell behind, or resumed
//! from an id this server no longer holds): reload, then carry on. Keep-alive comments (every
//! 15 s by default) keep proxies from closing an idle stream.
//!
//! The caller is checked again as often (`SWITCHYARD_EVENT_RECHECK_SECS`): a stream ends when its session is logged out or
//! expires, its token is revoked or its user deleted, and what it may see follows a promotion
//! or demotion.

use std::{collections::VecDeque, convert::Infallible, time::Duration};

use axum::{
    extract::{FromRequestParts, State},
    http::{header, request::Parts, HeaderMap, HeaderValue},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
};
use futures::Stream;
use serde::Deserialize;
use switchyard_core::{
    events::{Start, Subscription},
    managers::{Caller, Switchyard},
    model::{LiveEvent, Topic},
    Error,
};
use tokio::sync::broadcast::error::RecvError;
use tower_sessions::Session;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error::ApiResult,
    extract::{AuthUser, Query},
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only these topics, comma-separated: `process`, `connection`, `node`, `pending_change`,
    /// `catalogue` (default: all).
    pub topics: Option<String>,
    /// Resume after this event (as `Last-Event-ID`, for clients that cannot set headers).
    pub last_event_id: Option<String>,
}

/// Stream changes as Server-Sent Events
///
/// Every change of a process, connection, node, node pool or pending change the caller may see,
/// and of the service catalogue, as it is made. Administrators see everything; a user their own
/// processes, connections and pending changes, public nodes and their private nodes. The stream
/// starts with a `ready` event (or `resync`); `resync` means events were missed: reload, then
/// carry on.
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    params(EventsQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event")),
    responses(
        (status = 200, description = "An endless `text/event-stream`; each event's data is a LiveEvent", content_type = "text/event-stream", body = LiveEvent),
    ),
    security(("session" = []), ("token" = []))
)]
async fn events(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    credential: Credential,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> ApiResult<Response> {
    let topics = match query.topics.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(list) => Some(
            list.split(',')
                .map(|t| t.trim().parse::<Topic>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::BadRequest(format!("topics: {e}")))?,
        ),
    };
    let last_id =
        headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_string).or(query.last_event_id);
    let subscription = state.sy.events.subscribe(last_id.as_deref());
    let every = state.event_recheck;
    let feed = Feed::new(state.sy.clone(), caller, credential, topics, subscription, every);
    let mut response = Sse::new(feed.stream()).keep_alive(KeepAlive::new().interval(every)).into_response();
    // Proxies such as nginx buffer responses unless told not to.
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// What the caller authenticated with, to check again while the stream lasts.
pub enum Credential {
    Token(String),
    Session(Option<String>),
}

impl FromRequestParts<AppState> for Credential {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            let secret = value.split_once(' ').map(|(_, s)| s.trim().to_string()).unwrap_or_default();
            return Ok(Credential::Token(secret));
        }
        let id = match Session::from_request_parts(parts, state).await {
            Ok(session) => session.id().map(|id| id.to_string()),
            Err(_) => None,
        };
        Ok(Credential::Session(id))
    }
}

struct Feed {
    sy: Switchyard,
    caller: Caller,
    credential: Credential,
    topics: Option<Vec<Topic>>,
    subscription: Subscription,
    queue: VecDeque<Event>,
    recheck: tokio::time::Interval,
    ended: bool,
}

impl Feed {
    fn new(
        sy: Switchyard,
        caller: Caller,
        credential: Credential,
        topics: Option<Vec<Topic>>,
        mut subscription: Subscription,
        recheck_every: Duration,
    ) -> Self {
        let mut queue = VecDeque::new();
        match std::mem::replace(&mut subscription.start, Start::Replay(Vec::new())) {
            Start::Replay(missed) if missed.is_empty() => {
                queue.push_back(Event::default().event("ready").id(subscription.newest.clone()).data("{}"));
            }
            Start::Replay(missed) => {
                // No id on `ready` here: the replayed events carry theirs.
                queue.push_back(Event::default().event("ready").data("{}"));
                let admitted = missed.iter().filter(|p| p.audience.admits(&caller) && wanted(&topics, p.event.topic));
                queue.extend(admitted.map(|p| sse(&p.event)));
            }
            Start::Resync(reason) => queue.push_back(resync(&subscription.newest, &reason)),
        }
        let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + recheck_every, recheck_every);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Feed { sy, caller, credential, topics, subscription, queue, recheck, ended: false }
    }

    fn stream(self) -> impl Stream<Item = Result<Event, Infallible>> {
        futures::stream::unfold(self, |mut feed| async move {
            loop {
                if let Some(event) = feed.queue.pop_front() {
                    return Some((Ok(event), feed));
                }
                if feed.ended {
                    return None;
                }
                feed.next().await;
            }
        })
    }

    /// Wait for the next thing to send (or the end).
    async fn next(&mut self) {
        tokio::select! {
            received = self.subscription.live.recv() => match received {
                Ok(published) => {
                    if published.audience.admits(&self.caller) && wanted(&self.topics, published.event.topic) {
                        self.queue.push_back(sse(&published.event));
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    let reason = format!("this stream fell {missed} events behind");
                    self.queue.push_back(resync(&self.sy.events.newest_id(), &reason));
                }
                Err(RecvError::Closed) => self.ended = true,
            },
            _ = self.subscription.closed.changed() => self.ended = true,
            _ = self.recheck.tick() => match self.still_allowed().await {
                Ok(Some(caller)) => self.caller = caller,
                Ok(None) => {
                    self.queue.push_back(Event::default().event("end").data(r#"{"reason":"logged out"}"#));
                    self.ended = true;
                }
                // The store is unreachable for a moment: keep the caller as they were.
                Err(e) => tracing::debug!("re-checking an event stream's caller: {e}"),
            },
        }
    }

    async fn still_allowed(&self) -> switchyard_core::Result<Option<Caller>> {
        self.credential.still_allowed(&self.sy).await
    }
}

impl Credential {
    /// Who the credential stands for now: `None` once the session ended or the token was revoked.
    pub async fn still_allowed(&self, sy: &Switchyard) -> switchyard_core::Result<Option<Caller>> {
        match self {
            Credential::Token(secret) => match sy.users.authenticate_token(secret).await {
                Ok(caller) => Ok(Some(caller)),
                Err(Error::Unauthenticated(_)) => Ok(None),
                Err(e) => Err(e),
            },
            Credential::Session(Some(id)) => sy.users.stored_session_caller(id).await,
            Credential::Session(None) => Ok(None),
        }
    }
}

fn wanted(topics: &Option<Vec<Topic>>, topic: Topic) -> bool {
    topics.as_ref().is_none_or(|t| t.contains(&topic))
}

fn sse(event: &LiveEvent) -> Event {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    Event::default().event(event.topic.as_str()).id(event.id.clone()).data(data)
}

/// Events were missed: reload, and carry on after `newest`.
fn resync(newest: &str, reason: &str) -> Event {
    let data = serde_json::json!({ "reason": reason }).to_string();
    Event::default().event("resync").id(newest).data(data)
}
