//! Pending changes as their owners see them: listed, inspected, retried and cancelled. The engine
//! that runs them is [`crate::changes`].

use super::{Caller, ListParams};
use crate::{
    changes::ChangeEngine,
    error::Result,
    model::{Page, PendingChange},
    store::Store,
    validate,
};

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
        let (mut query, page, per_page) = params.to_query(&["created", "run_at", "state", "kind"], "created")?;
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
