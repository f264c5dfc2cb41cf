//! Switchyard's event stream: every committed change of a process, connection, node, pending
//! change or the service catalogue, in the order it was made, for whoever may see it.
//!
//! The store tells [`Events`] of every write it commits (see [`crate::store::Observer`]), so no
//! manager can forget to publish, and the catalogue is published by the service manager when a
//! read of the registry finds it changed. Subscribers are the SSE endpoint `/api/v1/events`
//! (one per open page or script) and the metrics and alerts inside.
//!
//! Publishing never waits for a subscriber: events go into a bounded ring (the backlog a
//! reconnecting client resumes from with `Last-Event-ID`) and a bounded broadcast channel. A
//! subscriber that falls more than a channel's length behind, or resumes from an id the ring no
//! longer holds (or from another run of the server), is told to *resync*: reload what it shows
//! and carry on from the newest event.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use serde_json::Value;
use tokio::sync::{broadcast, watch};

use crate::{
    managers::Caller,
    model::{LiveEvent, Topic},
    store::{CollectionSpec, Observer},
};

/// How many recent events a reconnecting client can resume from.
pub const BACKLOG: usize = 4096;
/// How far a subscriber may fall behind before it is told to resync.
pub const CHANNEL: usize = 1024;

/// Who may see an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    Admins,
    /// The owner (and administrators).
    User(String),
}

impl Audience {
    pub fn admits(&self, caller: &Caller) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Admins => caller.is_admin(),
            Audience::User(id) => caller.is_admin() || caller.user.id == *id,
        }
    }
}

/// One published event: what travels, and who may see it.
#[derive(Clone, Debug)]
pub struct Published {
    pub seq: u64,
    pub event: LiveEvent,
    pub audience: Audience,
}

/// Where a new subscription starts.
#[derive(Debug)]
pub enum Start {
    /// The events after the one it named (none when it named none or the newest).
    Replay(Vec<Arc<Published>>),
    /// It named an event this run does not hold any more (or never had): reload everything.
    Resync(String),
}

/// A subscription: the start, then the live events. Counted while it lives.
pub struct Subscription {
    pub start: Start,
    /// The id of the newest event when it started.
    pub newest: String,
    pub live: broadcast::Receiver<Arc<Published>>,
    pub closed: watch::Receiver<bool>,
    _count: Option<SubscriberCount>,
}

struct SubscriberCount(Arc<Inner>);

impl Drop for SubscriberCount {
    fn drop(&mut self) {
        self.0.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Ring {
    next: u64,
    backlog: VecDeque<Arc<Published>>,
}

struct Inner {
    /// This run of the server, so that an id from an earlier run is recognised as such.
    boot: String,
    ring: Mutex<Ring>,
    live: broadcast::Sender<Arc<Published>>,
    closed: watch::Sender<bool>,
    subscribers: AtomicUsize,
}

/// The event bus. Cheap to clone.
#[derive(Clone)]
pub struct Events(Arc<Inner>);

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("boot", &self.0.boot).finish()
    }
}

impl Events {
    pub fn new() -> Self {
        let boot = crate::store::new_id()[..12].to_string();
        let (live, _) = broadcast::channel(CHANNEL);
        let (closed, _) = watch::channel(false);
        Events(Arc::new(Inner {
            boot,
            ring: Mutex::new(Ring { next: 1, backlog: VecDeque::with_capacity(BACKLOG) }),
            live,
            closed,
            subscribers: AtomicUsize::new(0),
        }))
    }

    /// Publish one event. Never waits: a subscriber that is behind misses it and is told to
    /// resync.
    pub fn publish(&self, topic: Topic, action: &str, resource_id: &str, state: Option<String>, audience: Audience) {
        self.publish_full(topic, action, resource_id, state, None, audience)
    }

    /// Publish an event that says something to people (an alert).
    pub fn publish_message(&self, topic: Topic, action: &str, resource_id: &str, message: String, audience: Audience) {
        self.publish_full(topic, action, resource_id, None, Some(message), audience)
    }

    fn publish_full(
        &self,
        topic: Topic,
        action: &str,
        resource_id: &str,
        state: Option<String>,
        message: Option<String>,
        audience: Audience,
    ) {
        let mut ring = self.0.ring.lock().unwrap_or_else(|p| p.into_inner());
        let seq = ring.next;
        ring.next += 1;
        let event = LiveEvent {
            id: format!("{}-{seq}", self.0.boot),
            topic,
            action: action.to_string(),
            resource_id: resource_id.to_string(),
            state,
            message,
            at: chrono::Utc::now(),
        };
        let published = Arc::new(Published { seq, event, audience });
        if ring.backlog.len() == BACKLOG {
            ring.backlog.pop_front();
        }
        ring.backlog.push_back(published.clone());
        // Sent under the lock, so the backlog and the channel agree on the order. An error only
        // means nobody listens.
        let _ = self.0.live.send(published);
    }

    /// Subscribe, resuming after `last_id` (an event id this stream gave before) when given.
    /// Counted among the [`Events::subscribers`] (the open streams) while it lives.
    pub fn subscribe(&self, last_id: Option<&str>) -> Subscription {
        self.subscribe_with(last_id, true)
    }

    /// A subscription of Switchyard's own (the alert watcher), from now on, not counted.
    pub fn subscribe_inside(&self) -> Subscription {
        self.subscribe_with(None, false)
    }

    fn subscribe_with(&self, last_id: Option<&str>, counted: bool) -> Subscription {
        let ring = self.0.ring.lock().unwrap_or_else(|p| p.into_inner());
        let live = self.0.live.subscribe();
        let newest = ring.next - 1;
        let start = match last_id.map(str::trim).filter(|s| !s.is_empty()) {
            None => Start::Replay(Vec::new()),
            Some(id) => match self.seq_of(id) {
                Some(seq) if seq == newest => Start::Replay(Vec::new()),
                Some(seq) if seq < newest && ring.backlog.front().is_some_and(|first| first.seq <= seq + 1) => {
                    Start::Replay(ring.backlog.iter().filter(|e| e.seq > seq).cloned().collect())
                }
                Some(seq) if seq > newest => Start::Resync(format!("event '{id}' is newer than this server's newest")),
                Some(_) => Start::Resync(format!("event '{id}' is older than the {BACKLOG} this server keeps")),
                None => Start::Resync(format!("event '{id}' is not from this run of the server")),
            },
        };
        let newest = format!("{}-{newest}", self.0.boot);
        drop(ring);
        let count = counted.then(|| {
            self.0.subscribers.fetch_add(1, Ordering::Relaxed);
            SubscriberCount(self.0.clone())
        });
        Subscription { start, newest, live, closed: self.0.closed.subscribe(), _count: count }
    }

    fn seq_of(&self, id: &str) -> Option<u64> {
        let (boot, seq) = id.rsplit_once('-')?;
        (boot == self.0.boot).then(|| seq.parse().ok()).flatten()
    }

    /// The id of the newest event (for a resync: carry on from here).
    pub fn newest_id(&self) -> String {
        let ring = self.0.ring.lock().unwrap_or_else(|p| p.into_inner());
        format!("{}-{}", self.0.boot, ring.next - 1)
    }

    /// How many subscriptions are open.
    pub fn subscribers(&self) -> usize {
        self.0.subscribers.load(Ordering::Relaxed)
    }

    /// End every subscription (at shutdown, so open streams do not hold it up).
    pub fn close(&self) {
        let _ = self.0.closed.send(true);
    }
}

/// The store's writes, as events: which collection is which topic, and who sees a record.
impl Observer for Events {
    fn watches(&self, coll: &CollectionSpec) -> bool {
        topic_of(coll).is_some()
    }

    /// A node's record is rewritten now and then only to note when it was last seen; that is
    /// no change anyone needs to hear of, and telling needs the record as it was.
    fn wants_before(&self, coll: &CollectionSpec) -> bool {
        coll.name == "nodes"
    }

    fn written(&self, coll: &CollectionSpec, before: Option<&Value>, after: Option<&Value>) {
        let Some(topic) = topic_of(coll) else { return };
        let Some(doc) = after.or(before) else { return };
        if let (Some(b), Some(a)) = (before, after) {
            let unchanged = |field: &str| field == "last_seen" || field == "revision" || a.get(field) == b.get(field);
            let fields = a
                .as_object()
                .into_iter()
                .flat_map(|m| m.keys())
                .chain(b.as_object().into_iter().flat_map(|m| m.keys()));
            if coll.name == "nodes" && fields.into_iter().all(|f| unchanged(f)) {
                return;
            }
        }
        let deleted = after.is_none();
        let text = |field: &str| doc.get(field).and_then(Value::as_str).map(str::to_string);
        let id = text("id").unwrap_or_default();
        let audience = match coll.name {
            "nodes" => match (text("kind").as_deref(), text("user_id")) {
                (Some("public"), _) => Audience::Everyone,
                (Some("private"), Some(owner)) => Audience::User(owner),
                _ => Audience::Admins,
            },
            "node_pools" => Audience::Everyone,
            _ => text("user_id").map_or(Audience::Admins, Audience::User),
        };
        let state = text("state").or_else(|| text("status"));
        let action = if deleted {
            "deleted"
        } else if doc.get("revision").and_then(Value::as_u64) == Some(1) {
            "created"
        } else {
            "updated"
        };
        self.publish(topic, action, &id, state, audience);
    }
}

fn topic_of(coll: &CollectionSpec) -> Option<Topic> {
    match coll.name {
        "processes" => Some(Topic::Process),
        "connections" => Some(Topic::Connection),
        "nodes" | "node_pools" => Some(Topic::Node),
        "pending_changes" => Some(Topic::PendingChange),
        "deployments" => Some(Topic::Deployment),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::User;

    fn caller(id: &str, admin: bool) -> Caller {
        let now = chrono::Utc::now();
        Caller {
            user: User {
                id: id.into(),
                username: id.into(),
                email: None,
                admin,
                created: now,
                updated: now,
                revision: 1,
            },
        }
    }

    fn publish(events: &Events, n: usize) {
        for i in 0..n {
            events.publish(Topic::Process, "updated", &format!("p{i}"), None, Audience::User("alice".into()));
        }
    }

    #[test]
    fn a_subscriber_resumes_after_the_event_it_last_saw() {
        let events = Events::new();
        publish(&events, 5);
        let second = events.subscribe(None);
        assert!(matches!(second.start, Start::Replay(ref v) if v.is_empty()));
        let id = format!("{}-2", events.0.boot);
        let Start::Replay(missed) = events.subscribe(Some(&id)).start else { panic!("expected a replay") };
        assert_eq!(missed.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
        let newest = events.newest_id();
        assert!(matches!(events.subscribe(Some(&newest)).start, Start::Replay(ref v) if v.is_empty()));
    }

    #[test]
    fn an_id_the_backlog_lost_or_another_run_gave_means_resync() {
        let events = Events::new();
        publish(&events, BACKLOG + 10);
        let old = format!("{}-3", events.0.boot);
        assert!(matches!(events.subscribe(Some(&old)).start, Start::Resync(ref why) if why.contains("older")));
        assert!(
            matches!(events.subscribe(Some("0123456789ab-7")).start, Start::Resync(ref why) if why.contains("run"))
        );
        assert!(matches!(events.subscribe(Some("nonsense")).start, Start::Resync(_)));
        // The oldest event still held is replayable from the one before it.
        let held = format!("{}-10", events.0.boot);
        let Start::Replay(missed) = events.subscribe(Some(&held)).start else { panic!("expected a replay") };
        assert_eq!(missed.len(), BACKLOG);
    }

    #[test]
    fn a_slow_subscriber_never_holds_up_publishing_and_learns_it_lagged() {
        let events = Events::new();
        let mut slow = events.subscribe(None);
        publish(&events, CHANNEL * 3);
        assert!(matches!(slow.live.try_recv(), Err(broadcast::error::TryRecvError::Lagged(_))));
    }

    #[test]
    fn subscribers_are_counted_while_they_live() {
        let events = Events::new();
        let a = events.subscribe(None);
        let b = events.subscribe(None);
        assert_eq!(events.subscribers(), 2);
        drop(a);
        drop(b);
        assert_eq!(events.subscribers(), 0);
    }

    #[test]
    fn owners_and_admins_see_a_users_events_nobody_else_does() {
        let alice = Audience::User("alice".into());
        assert!(alice.admits(&caller("alice", false)));
        assert!(alice.admits(&caller("root", true)));
        assert!(!alice.admits(&caller("bob", false)));
        assert!(!Audience::Admins.admits(&caller("bob", false)));
        assert!(Audience::Everyone.admits(&caller("bob", false)));
    }
}
