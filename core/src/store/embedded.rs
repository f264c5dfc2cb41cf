//! The embedded store: one redb file, a table of JSON documents per collection and a table per
//! unique field mapping its value to the document id. Each call is one redb transaction, so an
//! insert with its index entries, or a revision check with its write, is atomic; a committed
//! transaction is on disk (redb's default durability) and survives a crash.

use std::{path::Path, sync::Arc};

use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition, TableError};
use serde_json::Value;

use super::{doc_id, duplicate, matches, not_found, sort_and_page, stale, Backend, CollectionSpec, Query};
use crate::error::{Error, Result};

pub struct EmbeddedBackend {
    db: Arc<Database>,
}

fn db_err(e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("embedded store: {e}"))
}

fn docs_table(coll: &CollectionSpec) -> TableDefinition<'static, &'static str, &'static [u8]> {
    TableDefinition::new(coll.name)
}

fn index_name(coll: &CollectionSpec, field: &str) -> String {
    format!("{}#{}", coll.name, field)
}

fn revision(doc: &Value) -> u64 {
    doc.get("revision").and_then(Value::as_u64).unwrap_or(0)
}

fn parse(bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| Error::Internal(format!("corrupt document: {e}")))
}

impl EmbeddedBackend {
    /// Open (or create) the store in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Unavailable(format!("cannot create data directory {}: {e}", dir.display())))?;
        // redb's default page cache is 1 GiB; Switchyard's data is small and an idle server
        // should stay small too.
        let db = Database::builder()
            .set_cache_size(16 * 1024 * 1024)
            .create(dir.join("switchyard.redb"))
            .map_err(db_err)?;
        Ok(Self { db: Arc::new(db) })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| Error::Internal(format!("store task failed: {e}")))?
    }
}

/// Check and claim the unique values of `doc` (releasing those of `old`, if any).
fn reindex(
    tx: &redb::WriteTransaction,
    coll: &CollectionSpec,
    id: &str,
    old: Option<&Value>,
    new: Option<&Value>,
) -> Result<()> {
    for field in coll.unique {
        let name = index_name(coll, field);
        let mut index = tx.open_table(TableDefinition::<&str, &str>::new(&name)).map_err(db_err)?;
        let old_value = old.and_then(|d| d.get(*field)).and_then(Value::as_str);
        let new_value = new.and_then(|d| d.get(*field)).and_then(Value::as_str);
        if old_value == new_value {
            continue;
        }
        if let Some(v) = new_value {
            if let Some(owner) = index.get(v).map_err(db_err)? {
                if owner.value() != id {
                    return Err(duplicate(coll, field, v));
                }
            }
        }
        if let Some(v) = old_value {
            index.remove(v).map_err(db_err)?;
        }
        if let Some(v) = new_value {
            index.insert(v, id).map_err(db_err)?;
        }
    }
    Ok(())
}

#[async_trait]
impl Backend for EmbeddedBackend {
    async fn insert(&self, coll: &'static CollectionSpec, doc: Value) -> Result<()> {
        self.blocking(move |db| {
            let id = doc_id(&doc)?.to_string();
            let tx = db.begin_write().map_err(db_err)?;
            {
                let mut table = tx.open_table(docs_table(coll)).map_err(db_err)?;
                if table.get(id.as_str()).map_err(db_err)?.is_some() {
                    return Err(Error::Conflict(format!("a {} with id '{id}' already exists", coll.noun)));
                }
                reindex(&tx, coll, &id, None, Some(&doc))?;
                let bytes = serde_json::to_vec(&doc).map_err(|e| Error::Internal(e.to_string()))?;
                table.insert(id.as_str(), bytes.as_slice()).map_err(db_err)?;
            }
            tx.commit().map_err(db_err)
        })
        .await
    }

    async fn get(&self, coll: &'static CollectionSpec, id: &str) -> Result<Option<Value>> {
        let id = id.to_string();
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(db_err)?;
            let table = match tx.open_table(docs_table(coll)) {
                Ok(t) => t,
                Err(TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(db_err(e)),
            };
            let found = table.get(id.as_str()).map_err(db_err)?;
            found.map(|v| parse(v.value())).transpose()
        })
        .await
    }

    async fn replace(&self, coll: &'static CollectionSpec, doc: Value, expected: u64) -> Result<()> {
        self.blocking(move |db| {
            let id = doc_id(&doc)?.to_string();
            let tx = db.begin_write().map_err(db_err)?;
            {
                let mut table = tx.open_table(docs_table(coll)).map_err(db_err)?;
                let old = match table.get(id.as_str()).map_err(db_err)? {
                    Some(v) => parse(v.value())?,
                    None => return Err(not_found(coll, &id)),
                };
                if revision(&old) != expected {
                    return Err(stale(coll, &id, revision(&old), expected));
                }
                reindex(&tx, coll, &id, Some(&old), Some(&doc))?;
                let bytes = serde_json::to_vec(&doc).map_err(|e| Error::Internal(e.to_string()))?;
                table.insert(id.as_str(), bytes.as_slice()).map_err(db_err)?;
            }
            tx.commit().map_err(db_err)
        })
        .await
    }

    async fn delete(&self, coll: &'static CollectionSpec, id: &str, expected: Option<u64>) -> Result<bool> {
        let id = id.to_string();
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(db_err)?;
            {
                let mut table = tx.open_table(docs_table(coll)).map_err(db_err)?;
                let old = match table.get(id.as_str()).map_err(db_err)? {
                    Some(v) => parse(v.value())?,
                    None => return Ok(false),
                };
                if let Some(expected) = expected {
                    if revision(&old) != expected {
                        return Err(stale(coll, &id, revision(&old), expected));
                    }
                }
                reindex(&tx, coll, &id, Some(&old), None)?;
                table.remove(id.as_str()).map_err(db_err)?;
            }
            tx.commit().map_err(db_err)?;
            Ok(true)
        })
        .await
    }

    async fn list(&self, coll: &'static CollectionSpec, query: &Query) -> Result<(Vec<Value>, u64)> {
        let query = query.clone();
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(db_err)?;
            let table = match tx.open_table(docs_table(coll)) {
                Ok(t) => t,
                Err(TableError::TableDoesNotExist(_)) => return Ok((Vec::new(), 0)),
                Err(e) => return Err(db_err(e)),
            };
            let mut docs = Vec::new();
            for entry in table.iter().map_err(db_err)? {
                let (_, v) = entry.map_err(db_err)?;
                let doc = parse(v.value())?;
                if matches(&doc, &query.filters) {
                    docs.push(doc);
                }
            }
            Ok(sort_and_page(docs, &query))
        })
        .await
    }

    async fn find_unique(&self, coll: &'static CollectionSpec, field: &str, value: &str) -> Result<Option<Value>> {
        let (name, value) = (index_name(coll, field), value.to_string());
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(db_err)?;
            let index = match tx.open_table(TableDefinition::<&str, &str>::new(&name)) {
                Ok(t) => t,
                Err(TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(db_err(e)),
            };
            let Some(id) = index.get(value.as_str()).map_err(db_err)? else { return Ok(None) };
            let table = tx.open_table(docs_table(coll)).map_err(db_err)?;
            let found = table.get(id.value()).map_err(db_err)?;
            found.map(|v| parse(v.value())).transpose()
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        self.blocking(|db| db.begin_read().map(|_| ()).map_err(db_err)).await
    }

    fn kind(&self) -> &'static str {
        "embedded"
    }
}
