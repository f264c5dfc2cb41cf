//! Alerts: when a process fails (or its container stops and the swarm starts a new one), a
//! pending change fails for good, a node goes down or a connection stays interrupted, the people
//! concerned hear of it: the UI shows a toast (an `alert` event on the event stream) and every
//! matching webhook subscription gets a signed POST.
//!
//! The watcher follows the event bus (it sees every event, whoever's), keeps the last state of
//! each resource, and raises an alert on a transition into one of those states. Each delivery is a
//! pending change (`deliver_webhook`) on its subscription: retried with the engine's back-off,
//! one at a time per subscription (so a slow target holds up only its own deliveries), with its
//! history under the subscription's pending changes and its last result on the subscription.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::Utc;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::broadcast::error::RecvError;

use super::{Caller, ConnectionRecord};
use crate::{
    changes::{ChangeEngine, NewChange, Outcome},
    error::{Error, Result},
    events::{Audience, Events, Published},
    model::{
        Alert, AlertKind, ChangeKind, ConnectionState, CreatedWebhook, NewWebhook, Node, NodeKind, PendingChange,
        PendingChangeState, ProcessState, StateChange, Topic, Webhook, WebhookDelivery,
    },
    store::{new_id, CollectionSpec, Entity, ProcessRecord, Query, Store},
    validate,
};

/// A subscription with its signing secret, which only the server knows after creation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WebhookRecord {
    #[serde(flatten)]
    pub webhook: Webhook,
    pub secret: String,
}

impl Entity for WebhookRecord {
    const COLLECTION: CollectionSpec =
        CollectionSpec { name: "webhooks", noun: "webhook", unique: &[], indexed: &[], projected: &[] };
}

/// The reason the reconciler gives when a running process's container stopped (a crash).
pub const CRASHED: &str = "its container stopped";

/// The reason recorded when a running process's new container asks for its configuration
/// before the reconciler saw the old one stop (a crash, too).
pub const RESTARTED: &str = "the process restarted and asked for its configuration again";

/// What the watcher has seen: each resource's last state, and for each process the time of the
/// last history entry it alerted about (or when it started watching).
struct Seen {
    states: HashMap<String, String>,
    history: HashMap<String, chrono::DateTime<Utc>>,
    since: chrono::DateTime<Utc>,
}

/// How long a delivery may take before it counts as failed (and is tried again).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

struct Inner {
    store: Store,
    engine: ChangeEngine,
    events: Events,
    http: reqwest::Client,
    interrupted_grace: Duration,
}

#[derive(Clone)]
pub struct AlertManager(Arc<Inner>);

impl AlertManager {
    pub fn new(store: Store, engine: ChangeEngine, events: Events, interrupted_grace: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        AlertManager(Arc::new(Inner { store, engine, events, http, interrupted_grace }))
    }

    /// Subscribe a URL to alerts: the caller's own, or (administrators, `global`) everyone's.
    pub async fn create(&self, caller: &Caller, new: NewWebhook) -> Result<CreatedWebhook> {
        if new.global {
            caller.require_admin().map_err(|_| {
                Error::Forbidden("only administrators may subscribe to everyone's alerts (global)".into())
            })?;
        }
        let url = new.url.trim();
        let parsed = reqwest::Url::parse(url).map_err(|e| Error::invalid("url", format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::invalid("url", "must be an http:// or https:// URL with a host"));
        }
        if url.len() > 2000 {
            return Err(Error::invalid("url", "is longer than 2000 characters"));
        }
        let mut events = new.events.unwrap_or_else(|| AlertKind::ALL.to_vec());
        events.sort_by_key(|k| k.as_str());
        events.dedup();
        if events.is_empty() {
            return Err(Error::invalid("events", "name at least one kind of alert"));
        }
        let secret = format!("whsec_{}", crate::auth::new_secret());
        let record = WebhookRecord {
            webhook: Webhook {
                id: new_id(),
                user_id: caller.user.id.clone(),
                global: new.global,
                url: url.to_string(),
                events,
                created: Utc::now(),
                last_delivery: None,
                revision: 0,
            },
            secret: secret.clone(),
        };
        let stored = self.0.store.insert(&record).await?;
        Ok(CreatedWebhook { webhook: stored.webhook, secret })
    }

    /// The caller's subscriptions; administrators see everyone's.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<Webhook>> {
        let mut query = Query::all().sort("created", false);
        if !caller.is_admin() {
            query = query.eq("user_id", caller.user.id.as_str());
        }
        Ok(self.0.store.list::<WebhookRecord>(&query).await?.0.into_iter().map(|r| r.webhook).collect())
    }

    async fn record(&self, caller: &Caller, id: &str) -> Result<WebhookRecord> {
        validate::id("webhook", id)?;
        let record: WebhookRecord = self.0.store.fetch(id).await?;
        caller.require_owner_or_admin(&record.webhook.user_id, "webhook", id)?;
        Ok(record)
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Webhook> {
        Ok(self.record(caller, id).await?.webhook)
    }

    /// Unsubscribe; deliveries still waiting are cancelled.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        self.record(caller, id).await?;
        self.0.engine.cancel_waiting(id, &[]).await?;
        self.0.store.delete::<WebhookRecord>(id, None).await?;
        Ok(())
    }

    /// Its deliveries (pending changes), newest first.
    pub async fn deliveries(&self, caller: &Caller, id: &str) -> Result<Vec<PendingChange>> {
        self.record(caller, id).await?;
        let mut changes = self.0.engine.of_resource(id).await?;
        changes.sort_by_key(|c| std::cmp::Reverse(c.created));
        Ok(changes)
    }

    /// Follow the event bus and raise alerts, for as long as Switchyard runs.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move { this.watch().await })
    }

    async fn watch(self) {
        let mut subscription = self.0.events.subscribe_inside();
        let mut seen = Seen { states: HashMap::new(), history: HashMap::new(), since: Utc::now() };
        loop {
            match subscription.live.recv().await {
                Ok(published) => {
                    if let Err(e) = self.consider(&published, &mut seen).await {
                        tracing::warn!("raising an alert: {e}");
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!("the alert watcher fell {n} events behind; some alerts may be missed")
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Raise an alert if this event is a transition into a state worth one.
    async fn consider(&self, published: &Published, seen: &mut Seen) -> Result<()> {
        let e = &published.event;
        if e.action == "deleted" {
            seen.states.remove(&e.resource_id);
            seen.history.remove(&e.resource_id);
            return Ok(());
        }
        let store = &self.0.store;
        if e.topic == Topic::Process {
            // A process's history says what happened to it, however Switchyard learnt it (the
            // reconciler saw the failed task, or the new container asked for its configuration
            // before the reconciler looked): alert on each failure or crash written since.
            let Some(r) = store.get::<ProcessRecord>(&e.resource_id).await? else { return Ok(()) };
            let p = &r.process;
            let after = *seen.history.get(&p.id).unwrap_or(&seen.since);
            let worth = |h: &&StateChange| {
                h.at > after
                    && (h.state == ProcessState::Failed
                        || h.reason.as_deref().is_some_and(|r| r.starts_with(CRASHED) || r.starts_with(RESTARTED)))
            };
            if let Some(h) = p.history.iter().rev().find(worth) {
                seen.history.insert(p.id.clone(), h.at);
                let what = if h.state == ProcessState::Failed { "has failed" } else { "stopped" };
                let message = format!("process {} {what}: {}", p.name, h.reason.clone().unwrap_or_default());
                self.raise(AlertKind::ProcessFailed, Some(&p.user_id), "process", &p.id, Some(&p.name), message)
                    .await?;
            }
            return Ok(());
        }
        let Some(state) = e.state.clone() else { return Ok(()) };
        let before = seen.states.insert(e.resource_id.clone(), state.clone());
        if before.as_deref() == Some(state.as_str()) {
            return Ok(());
        }
        match (e.topic, state.as_str()) {
            (Topic::PendingChange, "FAILED") => {
                let Some(c) = store.get::<PendingChange>(&e.resource_id).await? else { return Ok(()) };
                // A delivery that failed for good is on its subscription; alerting about it would
                // only send more to a target that does not answer.
                if c.kind != ChangeKind::DeliverWebhook && c.state == PendingChangeState::Failed {
                    let why = c.last_error.clone().unwrap_or_default();
                    let message = format!("{} failed for good after {} attempts: {why}", c.description, c.attempts);
                    self.raise(AlertKind::ChangeFailed, Some(&c.user_id), "pending change", &c.id, None, message)
                        .await?;
                }
            }
            (Topic::Node, "DOWN" | "DISCONNECTED" | "MISSING") => {
                let Some(n) = store.get::<Node>(&e.resource_id).await? else { return Ok(()) };
                let owner = (n.kind == NodeKind::Private).then_some(n.user_id.clone()).flatten();
                let word = format!("{:?}", n.status).to_lowercase();
                let message = format!("node {} is {word}", n.name);
                self.raise(AlertKind::NodeDown, owner.as_deref(), "node", &n.id, Some(&n.name), message).await?;
            }
            (Topic::Connection, "INTERRUPTED") => {
                // Only when it stays so: check again after the grace period.
                let (this, id) = (self.clone(), e.resource_id.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(this.0.interrupted_grace).await;
                    if let Err(e) = this.still_interrupted(&id).await {
                        tracing::warn!("raising an alert: {e}");
                    }
                });
            }
            _ => {}
        }
        Ok(())
    }

    async fn still_interrupted(&self, id: &str) -> Result<()> {
        let Some(r) = self.0.store.get::<ConnectionRecord>(id).await? else { return Ok(()) };
        let c = &r.connection;
        let stayed = Utc::now() - c.updated >= chrono::Duration::from_std(self.0.interrupted_grace).unwrap_or_default();
        if c.state == ConnectionState::Interrupted && stayed {
            let secs = self.0.interrupted_grace.as_secs();
            let why = c.state_reason.clone().unwrap_or_default();
            let message = format!(
                "connection {} ↔ {} has been interrupted for over {secs} s: {why}",
                c.endpoint1.process_name, c.endpoint2.process_name
            );
            self.raise(AlertKind::ConnectionInterrupted, Some(&c.user_id), "connection", &c.id, None, message).await?;
        }
        Ok(())
    }

    /// Tell the UI, and queue a delivery to every subscription that wants it.
    async fn raise(
        &self,
        kind: AlertKind,
        user_id: Option<&str>,
        resource_kind: &str,
        resource_id: &str,
        resource_name: Option<&str>,
        message: String,
    ) -> Result<()> {
        let alert = Alert {
            id: new_id(),
            kind,
            at: Utc::now(),
            user_id: user_id.map(str::to_string),
            resource_kind: resource_kind.into(),
            resource_id: resource_id.into(),
            resource_name: resource_name.map(str::to_string),
            message: message.clone(),
        };
        tracing::info!(kind = kind.as_str(), resource = resource_id, "alert: {message}");
        let audience = user_id.map_or(Audience::Admins, |u| Audience::User(u.to_string()));
        self.0.events.publish_message(Topic::Alert, kind.as_str(), resource_id, message, audience);
        let (subscriptions, _) = self.0.store.list::<WebhookRecord>(&Query::all()).await?;
        for s in subscriptions.into_iter().map(|s| s.webhook) {
            let concerned = s.global || user_id == Some(s.user_id.as_str());
            if !concerned || !s.events.contains(&kind) {
                continue;
            }
            let description = format!("Deliver the alert '{}' to {}", kind.as_str(), s.url);
            let change = NewChange::new(ChangeKind::DeliverWebhook, &s.user_id, &s.id, description)
                .payload(serde_json::to_value(&alert).map_err(|e| Error::Internal(e.to_string()))?)
                .max_attempts(8);
            self.0.engine.submit(change).await?;
        }
        Ok(())
    }

    /// Carry out one delivery: POST the alert, signed. A 2xx is done; anything else is tried
    /// again with back-off, and the subscription says how it went.
    pub async fn run_deliver(&self, change: &PendingChange, id: &str) -> Result<Outcome> {
        let Some(record) = self.0.store.get::<WebhookRecord>(id).await? else {
            return Ok(Outcome::Done); // unsubscribed meanwhile
        };
        let body = serde_json::to_vec(&change.payload).map_err(|e| Error::Internal(e.to_string()))?;
        let alert_id = change.payload.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let kind = change.payload.get("kind").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let timestamp = Utc::now().timestamp();
        let signature = sign(&record.secret, timestamp, &body);
        let sent = self
            .0
            .http
            .post(&record.webhook.url)
            .header("content-type", "application/json")
            .header("user-agent", "Switchyard-Webhook/1")
            .header("x-switchyard-event", kind)
            .header("x-switchyard-delivery", change.id.as_str())
            .header("x-switchyard-signature", format!("t={timestamp},v1={signature}"))
            .body(body)
            .send()
            .await;
        let (status, error) = match &sent {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
            Ok(r) => (Some(r.status().as_u16()), Some(format!("the target answered {}", r.status()))),
            Err(e) if e.is_timeout() => (None, Some(format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs()))),
            Err(e) => (None, Some(format!("cannot reach the target: {e}"))),
        };
        let delivery = WebhookDelivery { at: Utc::now(), alert_id, ok: error.is_none(), status, error: error.clone() };
        let noted = self
            .0
            .store
            .modify::<WebhookRecord>(id, |r| {
                r.webhook.last_delivery = Some(delivery.clone());
                Ok(())
            })
            .await;
        if let Err(e) = noted {
            tracing::debug!("noting a webhook delivery: {e}");
        }
        match error {
            None => Ok(Outcome::Done),
            Some(e) => Err(Error::Unavailable(e)),
        }
    }
}

/// The signature of a delivery: hex HMAC-SHA256 of `"<timestamp>.<body>"` with the secret (the
/// timestamp makes a captured delivery useless for replaying later).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::sign;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // As `printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test` computes it.
        assert_eq!(
            sign("whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert_ne!(sign("whsec_test", 1_700_000_001, br#"{"a":1}"#), sign("whsec_test", 1_700_000_000, br#"{"a":1}"#));
    }
}
