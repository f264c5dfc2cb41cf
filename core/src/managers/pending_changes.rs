//! Pending changes as their owners see them: listed, inspected, retried and cancelled. The engine
//! that runs them is [`crate::changes`].

use super::{Caller, ListParams};
use crate::{
    changes::ChangeEngine,
    error::Result,
    model::{ChangeKind, Page, PendingChange, PendingChangeState},
    store::{Query, Store},
    validate,
};

/// Filters of the pending-change list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PendingChangeFilter {
    pub state: Option<PendingChangeState>,
    pub kind: Option<ChangeKind>,
    /// Part of the description (any case).
    pub search: Option<String>,
}

impl PendingChangeFilter {
    /// Narrow `query` to the changes this filter lets through.
    fn apply(&self, mut query: Query) -> Query {
        if let Some(state) = self.state {
            // Stored as its serde name (`FAILED`, …).
            let name = serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_string));
            if let Some(name) = name {
                query = query.eq("state", name);
            }
        }
        if let Some(kind) = self.kind {
            query = query.eq("kind", kind.as_str());
        }
        if let Some(search) = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            query = query.contains("description", search);
        }
        query
    }
}

#[derive(Clone)]
pub struct PendingChangeManager {
    store: Store,
    engine: ChangeEngine,
}

impl PendingChangeManager {
    pub fn new(store: Store, engine: ChangeEngine) -> Self {
        Self { store, engine }
    }

    /// Try a failed (or retrying) change again now.
    pub async fn retry(&self, caller: &Caller, id: &str) -> Result<PendingChange> {
        self.get(caller, id).await?;
        self.engine.retry(id).await
    }

    /// Cancel a change that is not running.
    pub async fn cancel(&self, caller: &Caller, id: &str) -> Result<PendingChange> {
        self.get(caller, id).await?;
        self.engine.cancel(id).await
    }

    /// The caller's own changes; administrators see everyone's.
    pub async fn list(&self, caller: &Caller, params: &ListParams) -> Result<Page<PendingChange>> {
        self.list_filtered(caller, params, &PendingChangeFilter::default()).await
    }

    /// The caller's own changes (administrators: everyone's) that pass `filter`.
    pub async fn list_filtered(
        &self,
        caller: &Caller,
        params: &ListParams,
        filter: &PendingChangeFilter,
    ) -> Result<Page<PendingChange>> {
        let (query, page, per_page) = params.to_query(&["created", "run_at", "state", "kind"], "created")?;
        let mut query = filter.apply(query);
        if !caller.is_admin() {
            query = query.eq("user_id", caller.user.id.as_str());
        }
        let (items, total) = self.store.list::<PendingChange>(&query).await?;
        Ok(Page { items, total, page, per_page })
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<PendingChange> {
        validate::id("pending change", id)?;
        let change: PendingChange = self.store.fetch(id).await?;
        caller.require_owner_or_admin(&change.user_id, "pending change", &change.id)?;
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::{PendingChangeFilter, PendingChangeManager};
    use crate::{
        changes::{ChangeEngine, EngineConfig},
        managers::{Caller, ListParams},
        model::{ChangeKind, PendingChange, PendingChangeState, User},
        store::{new_id, Store},
    };

    fn user(id: &str, admin: bool) -> Caller {
        let now = Utc::now();
        Caller {
            user: User {
                id: id.into(),
                username: id.into(),
                email: None,
                admin,
                created: now,
                updated: now,
                revision: 0,
            },
        }
    }

    fn change(user_id: &str, kind: ChangeKind, state: PendingChangeState, description: &str) -> PendingChange {
        let now = Utc::now();
        PendingChange {
            id: new_id(),
            kind,
            description: description.into(),
            user_id: user_id.into(),
            resources: vec![new_id()],
            state,
            attempts: 0,
            max_attempts: 3,
            last_error: None,
            created: now,
            run_at: now,
            lease_until: None,
            finished: None,
            payload: serde_json::Value::Null,
            revision: 0,
        }
    }

    #[tokio::test]
    async fn the_list_filters_by_state_kind_and_description_and_stays_within_the_callers_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().to_str().unwrap()).await.unwrap();
        let engine = ChangeEngine::new(store.clone(), EngineConfig::default());
        let manager = PendingChangeManager::new(store.clone(), engine);
        let (alice, bob) = ("a".repeat(24), "b".repeat(24));
        use {ChangeKind as K, PendingChangeState as S};
        for c in [
            change(&alice, K::SuspendProcess, S::Failed, "Suspend process 'counter-a', keeping its state"),
            change(&alice, K::ResumeProcess, S::Failed, "Resume process 'Sensor-B' from its saved state"),
            change(&alice, K::SuspendProcess, S::Done, "Suspend process 'sensor-c', keeping its state"),
            change(&bob, K::SuspendProcess, S::Failed, "Suspend process 'sensor-d', keeping its state"),
        ] {
            store.insert(&c).await.unwrap();
        }
        let params = ListParams { page: Some(1), per_page: Some(50), sort: Some("-created".into()) };
        let list = |caller: Caller, filter: PendingChangeFilter| {
            let (manager, params) = (manager.clone(), params.clone());
            async move {
                let page = manager.list_filtered(&caller, &params, &filter).await.unwrap();
                let mut names: Vec<String> = page.items.iter().map(|c| c.description.clone()).collect();
                names.sort();
                assert_eq!(page.total, names.len() as u64);
                names
            }
        };
        let failed = PendingChangeFilter { state: Some(S::Failed), ..Default::default() };
        assert_eq!(list(user(&alice, false), failed.clone()).await.len(), 2, "alice's failed ones only");
        assert_eq!(list(user("c".repeat(24).as_str(), true), failed.clone()).await.len(), 3, "an admin sees all");
        let suspends =
            PendingChangeFilter { state: Some(S::Failed), kind: Some(K::SuspendProcess), ..Default::default() };
        assert_eq!(
            list(user(&alice, false), suspends).await,
            vec!["Suspend process 'counter-a', keeping its state".to_string()]
        );
        // Any case, trimmed; an empty search is no filter.
        let search = PendingChangeFilter { search: Some("  sensor-b ".into()), ..Default::default() };
        assert_eq!(
            list(user(&alice, false), search).await,
            vec!["Resume process 'Sensor-B' from its saved state".to_string()]
        );
        let blank = PendingChangeFilter { search: Some("   ".into()), ..Default::default() };
        assert_eq!(list(user(&alice, false), blank).await.len(), 3);
        let done = PendingChangeFilter { state: Some(S::Done), search: Some("counter".into()), ..Default::default() };
        assert!(list(user(&alice, false), done).await.is_empty());
    }
}
