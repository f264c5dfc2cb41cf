//! Nodes and node pools. (Swarm nodes themselves arrive with the processes issue; pools are
//! plain records and are complete here.)

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{Caller, ListParams};
use crate::{
    error::{Error, Result},
    model::{NodePool, Page},
    store::{new_id, Store},
    validate,
};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewNodePool {
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NodePoolUpdate {
    pub revision: u64,
    pub name: String,
}

#[derive(Clone)]
pub struct NodeManager {
    store: Store,
}

impl NodeManager {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Every logged-in user sees the public pools.
    pub async fn list_pools(&self, _caller: &Caller, params: &ListParams, search: Option<&str>) -> Result<Page<NodePool>> {
        let (mut query, page, per_page) = params.to_query(&["name", "created"], "name")?;
        if let Some(s) = search.filter(|s| !s.is_empty()) {
            query = query.contains("name", s);
        }
        let (items, total) = self.store.list::<NodePool>(&query).await?;
        Ok(Page { items, total, page, per_page })
    }

    pub async fn get_pool(&self, _caller: &Caller, id: &str) -> Result<NodePool> {
        validate::id("node pool", id)?;
        self.store.fetch(id).await
    }

    pub async fn create_pool(&self, caller: &Caller, new: NewNodePool) -> Result<NodePool> {
        caller.require_admin()?;
        validate::name("name", &new.name)?;
        let pool = NodePool { id: new_id(), name: new.name.trim().to_string(), created: Utc::now(), revision: 0 };
        self.store.insert(&pool).await
    }

    pub async fn rename_pool(&self, caller: &Caller, id: &str, change: NodePoolUpdate) -> Result<NodePool> {
        caller.require_admin()?;
        validate::id("node pool", id)?;
        validate::name("name", &change.name)?;
        let mut pool: NodePool = self.store.fetch(id).await?;
        pool.revision = change.revision;
        pool.name = change.name.trim().to_string();
        self.store.update(&pool).await
    }

    /// Delete a pool that no node is in.
    pub async fn delete_pool(&self, caller: &Caller, id: &str, revision: Option<u64>) -> Result<()> {
        caller.require_admin()?;
        validate::id("node pool", id)?;
        // Public nodes arrive with the processes issue; until then no pool can be in use.
        if !self.store.delete::<NodePool>(id, revision).await? {
            return Err(Error::NotFound(format!("no node pool with id '{id}'")));
        }
        Ok(())
    }
}
