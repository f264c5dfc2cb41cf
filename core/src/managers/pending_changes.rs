//! Pending changes as their owners see them. (The engine that runs them arrives with the
//! processes issue; the records and their visibility rules are here.)

use super::{Caller, ListParams};
use crate::{
    error::Result,
    model::{Page, PendingChange},
    store::Store,
    validate,
};

#[derive(Clone)]
pub struct PendingChangeManager {
    store: Store,
}

impl PendingChangeManager {
    pub fn new(store: Store) -> Self {
        Self { store }
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
        caller.require_self_or_admin(&change.user_id)?;
        Ok(change)
    }
}
