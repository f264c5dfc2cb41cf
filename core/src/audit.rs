//! The audit trail: every change made through the API or the UI, who made it, from where, what
//! it changed (field by field, secrets masked) and how it ended.
//!
//! The HTTP layer runs each request that may change something inside a [`Scope`] (a tokio
//! task-local). Whoever authenticates the caller names them in it ([`note_actor`], from the
//! user manager), and the store tells the [`Audit`] observer of every write made while the scope
//! is open, with the document before and after. When the request is answered, the HTTP layer
//! hands the scope to [`AuditManager::finish`], which writes one [`AuditEntry`]: a request that
//! changed nothing and was not refused leaves no entry. Work Switchyard does later on its own
//! (the pending-change engine, the reconciler) runs outside any scope and is not recorded here:
//! its results are in the processes' state history and the pending changes.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde_json::Value;

use super::managers::{Caller, ListParams};
use crate::{
    error::{Error, Result},
    model::{AuditActor, AuditEntry, AuditOutcome, AuditResource, FieldChange, Page},
    store::{new_id, CollectionSpec, Entity, Observer, Query, Store, Write},
    validate,
};

impl Entity for AuditEntry {
    const COLLECTION: CollectionSpec = CollectionSpec {
        name: "audit",
        noun: "audit entry",
        unique: &[],
        indexed: &["at_ms", "owners", "resource_ids"],
        projected: &[],
    };
}

/// The collections whose changes are recorded, and the word for one of their documents.
const AUDITED: &[&str] = &[
    "users",
    "api_tokens",
    "node_pools",
    "nodes",
    "processes",
    "connections",
    "pending_changes",
    "webhooks",
    "deployments",
];

/// Fields that change without anyone changing anything worth a line (bookkeeping).
const IGNORED: &[&str] = &["revision", "updated", "last_used", "last_seen", "assigned_revision", "lease_until"];

/// Fields whose values are never written down, only that they changed.
const SECRET_FIELDS: &[&str] = &["password_hash", "secret_hash", "token", "saved_state", "secret"];

tokio::task_local! {
    static SCOPE: Arc<Scope>;
}

/// What one request did, gathered while it runs.
#[derive(Debug)]
pub struct Scope {
    pub via: &'static str,
    pub address: Option<String>,
    actor: Mutex<Option<AuditActor>>,
    resources: Mutex<Vec<(AuditResource, Option<String>)>>,
}

impl Scope {
    pub fn new(via: &'static str, address: Option<String>) -> Arc<Scope> {
        Arc::new(Scope { via, address, actor: Mutex::new(None), resources: Mutex::new(Vec::new()) })
    }

    /// Run `f` with this scope open.
    pub async fn run<F: std::future::Future>(self: &Arc<Self>, f: F) -> F::Output {
        SCOPE.scope(self.clone(), f).await
    }

    fn resources(&self) -> Vec<(AuditResource, Option<String>)> {
        self.resources.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn actor(&self) -> Option<AuditActor> {
        self.actor.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the request changed anything.
    pub fn wrote(&self) -> bool {
        !self.resources.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }
}

/// The open scope, if any.
fn current() -> Option<Arc<Scope>> {
    SCOPE.try_with(Arc::clone).ok()
}

/// Name who is asking, in the request's scope (a no-op outside one).
pub fn note_actor(caller: &Caller, token_id: Option<&str>) {
    if let Some(scope) = current() {
        *scope.actor.lock().unwrap_or_else(|p| p.into_inner()) = Some(AuditActor {
            kind: if token_id.is_some() { "token" } else { "user" }.into(),
            user_id: Some(caller.user.id.clone()),
            username: Some(caller.user.username.clone()),
            token_id: token_id.map(str::to_string),
        });
    }
}

/// The store observer that collects a scope's writes.
pub struct Audit;

impl Observer for Audit {
    fn watches(&self, coll: &CollectionSpec) -> bool {
        AUDITED.contains(&coll.name) && current().is_some()
    }

    fn wants_before(&self, _coll: &CollectionSpec) -> bool {
        true
    }

    /// The request's scope goes with its writes into the tasks they run in.
    fn carry(&self, write: Write) -> Write {
        match current() {
            Some(scope) => Box::pin(SCOPE.scope(scope, write)),
            None => write,
        }
    }

    fn written(&self, coll: &CollectionSpec, before: Option<&Value>, after: Option<&Value>) {
        let Some(scope) = current() else { return };
        let Some(doc) = after.or(before) else { return };
        let text = |field: &str| doc.get(field).and_then(Value::as_str).map(str::to_string);
        let change = match (before, after) {
            (None, _) => "created",
            (_, None) => "deleted",
            _ => "updated",
        };
        let fields = diff(before, after);
        if change == "updated" && fields.is_empty() {
            return; // bookkeeping only (a token's last use, a node's last sighting)
        }
        let owner = match coll.name {
            "users" => text("id"),
            _ => text("user_id"),
        };
        let name = text("name").or_else(|| text("username")).or_else(|| text("description"));
        let resource = AuditResource {
            kind: coll.noun.to_string(),
            id: text("id").unwrap_or_default(),
            name,
            change: change.into(),
            fields,
        };
        let mut resources = scope.resources.lock().unwrap_or_else(|p| p.into_inner());
        // Several writes of one resource in one request (a retried update) are one line.
        if let Some((earlier, _)) = resources.iter_mut().find(|(r, _)| r.id == resource.id && r.kind == resource.kind) {
            merge(earlier, resource);
        } else {
            resources.push((resource, owner));
        }
    }
}

fn merge(earlier: &mut AuditResource, later: AuditResource) {
    if later.change == "deleted" {
        earlier.change = if earlier.change == "created" { "created and deleted".into() } else { "deleted".into() };
    }
    for field in later.fields {
        match earlier.fields.iter_mut().find(|f| f.field == field.field) {
            Some(f) => f.after = field.after,
            None => earlier.fields.push(field),
        }
    }
}

/// The top-level fields that differ, as JSON text, secrets masked.
fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        if IGNORED.contains(&key.as_str()) || key == "id" {
            continue;
        }
        let (x, y) = (b.get(key), a.get(key));
        if x == y || (x.is_none_or(Value::is_null) && y.is_none_or(Value::is_null)) {
            continue;
        }
        let shown = |v: Option<&Value>| -> String {
            match v {
                None | Some(Value::Null) => "null".into(),
                Some(_) if SECRET_FIELDS.contains(&key.as_str()) => "\"(secret)\"".into(),
                Some(v) => clip(&masked(key, v).to_string()),
            }
        };
        out.push(FieldChange { field: key.clone(), before: shown(x), after: shown(y) });
    }
    out
}

/// Configuration entries whose key looks like a secret's have their value masked.
fn masked(field: &str, value: &Value) -> Value {
    let secretish = |key: &str| {
        let k = key.to_ascii_lowercase();
        ["pass", "secret", "token", "key", "credential", "auth"].iter().any(|w| k.contains(w))
    };
    match (field, value) {
        ("environment" | "parameters", Value::Array(entries)) => Value::Array(
            entries
                .iter()
                .map(|e| match e.get("key").and_then(Value::as_str) {
                    Some(key) if secretish(key) => serde_json::json!({ "key": key, "value": "(secret)" }),
                    _ => e.clone(),
                })
                .collect(),
        ),
        _ => value.clone(),
    }
}

fn clip(text: &str) -> String {
    const MAX: usize = 600;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Filters of the audit list.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub resource_id: Option<String>,
    pub action: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

#[derive(Clone)]
pub struct AuditManager {
    store: Store,
}

impl AuditManager {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Write the entry for a finished request: `action` as asked, the answer's status and error.
    /// Nothing when it changed nothing and was not refused, unless `always` (a login).
    pub async fn finish(
        &self,
        scope: &Scope,
        action: String,
        status: u16,
        error: Option<String>,
        always: bool,
    ) -> Result<()> {
        let resources = scope.resources();
        let ok = status < 400;
        if ok && resources.is_empty() && !always {
            return Ok(());
        }
        let actor = scope.actor().unwrap_or(AuditActor {
            kind: "anonymous".into(),
            user_id: None,
            username: None,
            token_id: None,
        });
        let mut owners: Vec<String> =
            resources.iter().filter_map(|(_, o)| o.clone()).chain(actor.user_id.clone()).collect();
        owners.sort();
        owners.dedup();
        let summary = summarise(&resources, ok, &action);
        let at = Utc::now();
        let entry = AuditEntry {
            id: new_id(),
            at,
            at_ms: at.timestamp_millis(),
            actor,
            via: scope.via.into(),
            address: scope.address.clone(),
            action,
            summary,
            resource_ids: resources.iter().map(|(r, _)| r.id.clone()).collect(),
            resources: resources.into_iter().map(|(r, _)| r).collect(),
            owners,
            outcome: AuditOutcome { status, ok, error },
            revision: 0,
        };
        self.store.insert(&entry).await.map(|_| ())
    }

    /// The entries the caller may read (their own and those about their things; administrators
    /// all), newest first.
    pub async fn list(&self, caller: &Caller, filter: &AuditFilter, params: &ListParams) -> Result<Page<AuditEntry>> {
        let params = ListParams { sort: params.sort.clone().or_else(|| Some("-at_ms".into())), ..params.clone() };
        let (mut query, page, per_page) = params.to_query(&["at_ms", "action", "via"], "at_ms")?;
        if !caller.is_admin() {
            if filter.user_id.as_deref().is_some_and(|u| u != caller.user.id) {
                return Err(Error::Forbidden("only administrators may read other users' audit entries".into()));
            }
            query = query.has("owners", caller.user.id.as_str());
        }
        if let Some(user) = &filter.user_id {
            validate::id("user", user)?;
            query = query.has("owners", user.as_str());
        }
        if let Some(id) = &filter.resource_id {
            validate::id("resource", id)?;
            query = query.has("resource_ids", id.as_str());
        }
        if let Some(action) = &filter.action {
            query = query.contains("action", action);
        }
        if let Some(since) = filter.since_ms {
            query = query.ge("at_ms", since);
        }
        if let Some(until) = filter.until_ms {
            query = query.lt("at_ms", until);
        }
        let (items, total) = self.store.list::<AuditEntry>(&query).await?;
        Ok(Page { items, total, page, per_page })
    }

    /// Forget the entries older than `keep`; returns how many.
    pub async fn prune(&self, keep: std::time::Duration) -> Result<u64> {
        let cutoff = Utc::now().timestamp_millis() - keep.as_millis() as i64;
        let (old, _) = self.store.list::<AuditEntry>(&Query::all().lt("at_ms", cutoff).page(0, 10_000)).await?;
        let mut n = 0;
        for entry in old {
            if self.store.delete::<AuditEntry>(&entry.id, None).await? {
                n += 1;
            }
        }
        Ok(n)
    }
}

fn summarise(resources: &[(AuditResource, Option<String>)], ok: bool, action: &str) -> String {
    if resources.is_empty() {
        return if ok { action.to_string() } else { format!("refused: {action}") };
    }
    let parts: Vec<String> = resources
        .iter()
        .map(|(r, _)| match &r.name {
            Some(name) => format!("{} {} '{name}'", r.change, r.kind),
            None => format!("{} {} {}", r.change, r.kind, r.id),
        })
        .collect();
    let text = parts.join(", ");
    if ok {
        text
    } else {
        format!("{text} (then refused)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_diff_names_the_fields_that_changed_and_masks_secrets() {
        let before = json!({"id": "p1", "name": "a", "revision": 3, "token": "t1", "environment": [{"key": "DB_PASSWORD", "value": "hunter2"}, {"key": "MODE", "value": "x"}]});
        let after = json!({"id": "p1", "name": "b", "revision": 4, "token": "t2", "environment": [{"key": "DB_PASSWORD", "value": "letmein"}, {"key": "MODE", "value": "y"}]});
        let d = diff(Some(&before), Some(&after));
        let fields: Vec<&str> = d.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["environment", "name", "token"]);
        let all = serde_json::to_string(&d).unwrap();
        assert!(!all.contains("hunter2") && !all.contains("letmein") && !all.contains("t1"), "{all}");
        assert!(all.contains("MODE"), "{all}");
        assert_eq!(d[1].before, "\"a\"");
        assert_eq!(d[1].after, "\"b\"");
    }

    #[test]
    fn bookkeeping_alone_is_no_change() {
        let before = json!({"id": "n", "revision": 1, "last_seen": "2026-01-01T00:00:00Z"});
        let after = json!({"id": "n", "revision": 2, "last_seen": "2026-01-01T00:01:00Z"});
        assert!(diff(Some(&before), Some(&after)).is_empty());
    }
}
