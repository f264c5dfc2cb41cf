//! The embedded store: one redb file, a table of JSON documents per collection and a table per
//! unique field mapping its value to the document id. Each call is one redb transaction, so an
//! insert with its index entries, or a revision check with its write, is atomic; a committed
//! transaction is on disk (redb's default durability) and survives a crash.
//!
//! Listing does not parse every document: each collection keeps, once listed, an in-memory
//! projection of its documents with a sorted index per indexed field ([`super::table`]). A list
//! selects its page there and reads only the page's documents. Writes update the projection under
//! the same lock that orders them, so it never lags behind a committed transaction.

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition, TableError};
use serde_json::Value;

use super::{
    doc_id, duplicate, matches, not_found, sort_and_page_refs, stale, table::Table, tally_docs, Backend,
    CollectionSpec, Query, Tally,
};
use crate::error::{Error, Result};

pub struct EmbeddedBackend {
    db: Arc<Database>,
    /// Projections by collection; a collection is loaded on its first list.
    projections: Arc<Mutex<HashMap<&'static str, Table>>>,
}

/// The file of the embedded store inside its data directory.
pub const STORE_FILE: &str = "switchyard.redb";

fn damaged(file: &Path, why: &str) -> Error {
    Error::Unavailable(format!(
        "the store file {} cannot be opened: {why}. If it is damaged, move it aside and restore the last backup into this data directory (switchyard restore --help)",
        file.display()
    ))
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

/// `coll`'s projection, made on its first use by projecting every document once. The caller
/// holds the projections' lock, which writers wait on, so nothing is committed between the scan
/// and its install.
fn projection<'a>(
    db: &Database,
    all: &'a mut HashMap<&'static str, Table>,
    coll: &'static CollectionSpec,
) -> Result<&'a Table> {
    if !all.contains_key(coll.name) {
        let fresh = db.begin_read().map_err(db_err)?;
        let mut projection = Table::new(coll);
        if let Ok(t) = fresh.open_table(docs_table(coll)) {
            for entry in t.iter().map_err(db_err)? {
                let (_, v) = entry.map_err(db_err)?;
                projection.upsert(&parse(v.value())?);
            }
        }
        all.insert(coll.name, projection);
    }
    Ok(&all[coll.name])
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
        let file = dir.join(STORE_FILE);
        // redb's default page cache is 1 GiB; Switchyard's data is small and an idle server
        // should stay small too. redb panics on some damaged files instead of returning an
        // error: either way the operator gets a sentence, not a backtrace.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let opened = std::panic::catch_unwind(|| Database::builder().set_cache_size(16 * 1024 * 1024).create(&file));
        std::panic::set_hook(hook);
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(damaged(&file, &e.to_string())),
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("the store library gave up reading it");
                return Err(damaged(&file, &format!("it is damaged (the store library stopped at: {why})")));
            }
        };
        Ok(Self { db: Arc::new(db), projections: Arc::default() })
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&Database) -> Result<T> + Send + 'static) -> Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| Error::Internal(format!("store task failed: {e}")))?
    }

    /// A write: `f` runs its transaction while the projections are locked, and on success
    /// `update` brings the collection's projection (if loaded) in line.
    async fn write<T: Send + 'static>(
        &self,
        coll: &'static CollectionSpec,
        f: impl FnOnce(&Database) -> Result<T> + Send + 'static,
        update: impl FnOnce(&mut Table, &T) + Send + 'static,
    ) -> Result<T> {
        let projections = self.projections.clone();
        self.blocking(move |db| {
            let mut all = projections.lock().expect("not poisoned");
            let result = f(db)?;
            if let Some(projection) = all.get_mut(coll.name) {
                update(projection, &result);
            }
            Ok(result)
        })
        .await
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
        doc_id(&doc)?;
        self.write(
            coll,
            move |db| {
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
                tx.commit().map_err(db_err)?;
                Ok(doc)
            },
            |p, doc| p.upsert(doc),
        )
        .await
        .map(drop)
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
        doc_id(&doc)?;
        self.write(
            coll,
            move |db| {
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
                tx.commit().map_err(db_err)?;
                Ok(doc)
            },
            |p, doc| p.upsert(doc),
        )
        .await
        .map(drop)
    }

    async fn delete(&self, coll: &'static CollectionSpec, id: &str, expected: Option<u64>) -> Result<bool> {
        let (id, key) = (id.to_string(), id.to_string());
        self.write(
            coll,
            move |db| {
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
            },
            move |p, deleted| {
                if *deleted {
                    p.remove(&key);
                }
            },
        )
        .await
    }

    async fn list(&self, coll: &'static CollectionSpec, query: &Query) -> Result<(Vec<Value>, u64)> {
        let query = query.clone();
        let projections = self.projections.clone();
        self.blocking(move |db| {
            let selected = {
                let mut all = projections.lock().expect("not poisoned");
                projection(db, &mut all, coll)?.select(&query)
            };
            if let Some((page, total)) = &selected {
                if page.is_empty() {
                    return Ok((Vec::new(), *total));
                }
            }
            let tx = db.begin_read().map_err(db_err)?;
            let table = match tx.open_table(docs_table(coll)) {
                Ok(t) => t,
                Err(TableError::TableDoesNotExist(_)) => return Ok((Vec::new(), 0)),
                Err(e) => return Err(db_err(e)),
            };
            let Some((page, total)) = selected else {
                // A field the projection leaves out: read every document.
                let mut docs = Vec::new();
                for entry in table.iter().map_err(db_err)? {
                    docs.push(parse(entry.map_err(db_err)?.1.value())?);
                }
                let matching: Vec<&Value> = docs.iter().filter(|d| matches(d, &query.filters)).collect();
                let (page, total) = sort_and_page_refs(matching, &query);
                return Ok((page.into_iter().cloned().collect(), total));
            };
            let mut docs = Vec::with_capacity(page.len());
            for id in page {
                // Deleted since the projection was read: leave it out.
                if let Some(v) = table.get(&*id).map_err(db_err)? {
                    docs.push(parse(v.value())?);
                }
            }
            Ok((docs, total))
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

    async fn dump(&self, colls: &[&'static CollectionSpec]) -> Result<Vec<Vec<Value>>> {
        let colls = colls.to_vec();
        self.blocking(move |db| {
            // One read transaction: a consistent snapshot of every collection, while writers go on.
            let tx = db.begin_read().map_err(db_err)?;
            let mut out = Vec::with_capacity(colls.len());
            for coll in colls {
                let mut docs = Vec::new();
                match tx.open_table(docs_table(coll)) {
                    Ok(t) => {
                        for entry in t.iter().map_err(db_err)? {
                            let (_, v) = entry.map_err(db_err)?;
                            docs.push(parse(v.value())?);
                        }
                    }
                    Err(TableError::TableDoesNotExist(_)) => {}
                    Err(e) => return Err(db_err(e)),
                }
                out.push(docs);
            }
            Ok(out)
        })
        .await
    }

    async fn tally(&self, coll: &'static CollectionSpec, fields: &[&'static str]) -> Result<Tally> {
        let (projections, wanted) = (self.projections.clone(), fields.to_vec());
        let counted = self
            .blocking(move |db| {
                let mut all = projections.lock().expect("not poisoned");
                Ok(projection(db, &mut all, coll)?.tally(&wanted))
            })
            .await?;
        match counted {
            Some(counts) => Ok(counts),
            // A field the projection leaves out: count the documents.
            None => Ok(tally_docs(&self.list(coll, &Query::all()).await?.0, fields)),
        }
    }

    async fn ping(&self) -> Result<()> {
        self.blocking(|db| db.begin_read().map(|_| ()).map_err(db_err)).await
    }

    fn kind(&self) -> &'static str {
        "embedded"
    }
}
