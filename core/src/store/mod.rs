//! The database connector: one interface, two backends.
//!
//! * [`embedded`] — a file-backed, transactional store (redb). The default: Switchyard runs with
//!   nothing else installed, and a committed write survives a crash.
//! * [`mongo`] — MongoDB through the official driver, chosen by a `mongodb://` URL.
//!
//! Both store JSON documents with a string `id` and a `revision`. Every update names the
//! revision it read and is refused with [`Error::StaleRevision`] if the record moved on, so a
//! concurrent change is never silently overwritten. Fields named in a collection's `unique` list
//! are unique (when present) and a duplicate is refused with [`Error::Conflict`].
//!
//! The conformance suite in `tests/store_conformance.rs` runs the same checks against both.

pub mod embedded;
mod mirror;
pub mod mongo;
mod records;
mod sessions;
mod table;

use std::{cmp::Ordering, collections::BTreeMap, sync::Arc};

use async_trait::async_trait;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
pub use mirror::Mirror;
pub use records::*;
pub use sessions::{SessionStore, USER_ID_KEY};

/// A collection of documents of one kind.
#[derive(Debug)]
pub struct CollectionSpec {
    pub name: &'static str,
    /// The word for one document, used in messages ("user", "node pool").
    pub noun: &'static str,
    /// Top-level string fields that no two documents may share.
    pub unique: &'static [&'static str],
    /// Top-level fields lists filter or sort on often: the embedded store keeps a sorted index of
    /// each in memory, MongoDB an index.
    pub indexed: &'static [&'static str],
    /// When not empty, the only fields (besides `indexed`) a query may name: the embedded store's
    /// in-memory projection keeps just these, which matters for a collection of 100 000 records.
    /// A query that names another field is still answered, from the documents (slowly).
    pub projected: &'static [&'static str],
}

/// A type stored in a collection. Its JSON form must have top-level `id` and `revision` fields.
pub trait Entity: Serialize + DeserializeOwned + Send + Sync + 'static {
    const COLLECTION: CollectionSpec;
}

/// A condition on a top-level field.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Eq(String, Value),
    /// Case-insensitive substring match on a string field.
    Contains(String, String),
    /// The field is less than the value (numbers or strings).
    Lt(String, Value),
    /// The field is at least the value (numbers or strings).
    Ge(String, Value),
    /// The field is not equal to the value (a missing field counts as null).
    Ne(String, Value),
    /// The field is an array holding the value.
    Has(String, Value),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    pub filters: Vec<Filter>,
    /// Field to sort by and whether descending; ties are broken by id. Default: by id.
    pub sort: Option<(String, bool)>,
    pub offset: u64,
    pub limit: Option<u64>,
}

impl Query {
    pub fn all() -> Self {
        Self::default()
    }
    pub fn eq(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.filters.push(Filter::Eq(field.to_string(), value.into()));
        self
    }
    pub fn contains(mut self, field: &str, text: &str) -> Self {
        self.filters.push(Filter::Contains(field.to_string(), text.to_string()));
        self
    }
    pub fn has(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.filters.push(Filter::Has(field.to_string(), value.into()));
        self
    }
    pub fn ne(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.filters.push(Filter::Ne(field.to_string(), value.into()));
        self
    }
    pub fn lt(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.filters.push(Filter::Lt(field.to_string(), value.into()));
        self
    }
    pub fn ge(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.filters.push(Filter::Ge(field.to_string(), value.into()));
        self
    }
    pub fn sort(mut self, field: &str, descending: bool) -> Self {
        self.sort = Some((field.to_string(), descending));
        self
    }
    pub fn page(mut self, offset: u64, limit: u64) -> Self {
        self.offset = offset;
        self.limit = Some(limit);
        self
    }
}

/// What a backend does, on JSON documents. Use [`Store`], its typed face.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Insert a new document; `Conflict` if its id or a unique field is taken.
    async fn insert(&self, coll: &'static CollectionSpec, doc: Value) -> Result<()>;
    async fn get(&self, coll: &'static CollectionSpec, id: &str) -> Result<Option<Value>>;
    /// Replace the document with `doc`'s id if its stored revision is `expected`.
    async fn replace(&self, coll: &'static CollectionSpec, doc: Value, expected: u64) -> Result<()>;
    /// Delete by id (and revision, when given). `Ok(false)` if there was nothing to delete.
    async fn delete(&self, coll: &'static CollectionSpec, id: &str, expected: Option<u64>) -> Result<bool>;
    /// Matching documents (after offset and limit) and how many match in all.
    async fn list(&self, coll: &'static CollectionSpec, query: &Query) -> Result<(Vec<Value>, u64)>;
    /// The document whose unique `field` has `value`. Backends with an index for it override this.
    async fn find_unique(&self, coll: &'static CollectionSpec, field: &str, value: &str) -> Result<Option<Value>> {
        let query = Query::all().eq(field, value).page(0, 1);
        Ok(self.list(coll, &query).await?.0.pop())
    }
    /// Every document of each of `colls`, in that order, as of one moment where the backend
    /// can promise it (the embedded store reads them all in one transaction).
    async fn dump(&self, colls: &[&'static CollectionSpec]) -> Result<Vec<Vec<Value>>> {
        let mut out = Vec::with_capacity(colls.len());
        for coll in colls {
            out.push(self.list(coll, &Query::all()).await?.0);
        }
        Ok(out)
    }
    /// How many documents have each combination of `fields`' values (a string, or "" for
    /// anything else). The embedded store counts its in-memory projection; the default reads
    /// every document.
    async fn tally(&self, coll: &'static CollectionSpec, fields: &[&'static str]) -> Result<Tally> {
        let (docs, _) = self.list(coll, &Query::all()).await?;
        Ok(tally_docs(&docs, fields))
    }
    /// Whether the backend answers.
    async fn ping(&self) -> Result<()>;
    fn kind(&self) -> &'static str;
}

/// Told of every write the store commits, after it committed (the event stream and the audit
/// trail are two).
pub trait Observer: Send + Sync {
    /// Whether it cares about this collection.
    fn watches(&self, coll: &CollectionSpec) -> bool;
    /// Whether it needs the document as it was before an update (the store then reads it first).
    fn wants_before(&self, _coll: &CollectionSpec) -> bool {
        false
    }
    /// A document was inserted (`before` is `None`), replaced, or deleted (`after` is `None`).
    /// `before` of an update is there only when [`Observer::wants_before`] said so.
    fn written(&self, coll: &CollectionSpec, before: Option<&Value>, after: Option<&Value>);
    /// Called in the writer's task before the write runs in a task of its own (see
    /// [`Store::insert`]): wrap `write` in what this observer needs of the writer's context (the
    /// audit trail, the request's scope), so that it is there when [`Observer::written`] runs.
    fn carry(&self, write: Write) -> Write {
        write
    }
}

/// A write and the telling of it, as it runs in a task of its own.
pub type Write = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The typed store every manager uses.
#[derive(Clone)]
pub struct Store(Arc<dyn Backend>, Arc<[Arc<dyn Observer>]>);

impl Store {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Store(backend, Arc::new([]))
    }

    /// This store, with `observer` told of every committed write made through it (or a clone),
    /// after the observers it already has.
    pub fn observed(&self, observer: Arc<dyn Observer>) -> Self {
        let mut all: Vec<Arc<dyn Observer>> = self.1.to_vec();
        all.push(observer);
        Store(self.0.clone(), all.into())
    }

    fn watched(&self, coll: &CollectionSpec) -> bool {
        self.1.iter().any(|o| o.watches(coll))
    }

    fn before_wanted(&self, coll: &CollectionSpec) -> bool {
        self.1.iter().any(|o| o.watches(coll) && o.wants_before(coll))
    }

    fn tell(&self, coll: &CollectionSpec, before: Option<&Value>, after: Option<&Value>) {
        for observer in self.1.iter().filter(|o| o.watches(coll)) {
            observer.written(coll, before, after);
        }
    }

    /// Open the backend a location names: a `mongodb://` or `mongodb+srv://` URL, or else the
    /// directory of the embedded store.
    pub async fn open(location: &str) -> Result<Store> {
        if location.starts_with("mongodb://") || location.starts_with("mongodb+srv://") {
            Ok(Store::new(Arc::new(mongo::MongoBackend::connect(location).await?)))
        } else {
            Ok(Store::new(Arc::new(embedded::EmbeddedBackend::open(location)?)))
        }
    }

    pub fn kind(&self) -> &'static str {
        self.0.kind()
    }

    pub async fn ping(&self) -> Result<()> {
        self.0.ping().await
    }

    /// Store a new entity at revision 1 and return it as stored.
    pub async fn insert<T: Entity>(&self, entity: &T) -> Result<T> {
        let mut doc = to_doc(entity)?;
        doc["revision"] = Value::from(1u64);
        from_doc(self.insert_doc(&T::COLLECTION, doc).await?)
    }

    /// Insert `doc` as it is and tell the observers; returns it.
    async fn insert_doc(&self, coll: &'static CollectionSpec, doc: Value) -> Result<Value> {
        let store = self.clone();
        self.to_the_end(async move {
            store.0.insert(coll, doc.clone()).await?;
            store.tell(coll, None, Some(&doc));
            Ok(doc)
        })
        .await
    }

    /// Run a write and the telling of it to the end, even when the caller stops waiting. A
    /// request handler is dropped at its next `.await` when its client hangs up (a process's
    /// trigger that times out under load, say): dropped while the backend committed, the write
    /// happened but was never told, so the in-memory copies lacked it (a pending change the
    /// dispatcher did not see until the copy's next reload, minutes later), and so did the
    /// event stream and the audit trail.
    async fn to_the_end<R: Send + 'static>(
        &self,
        write: impl std::future::Future<Output = Result<R>> + Send + 'static,
    ) -> Result<R> {
        let (done, result) = tokio::sync::oneshot::channel();
        let mut task: Write = Box::pin(async move {
            let _ = done.send(write.await);
        });
        for observer in self.1.iter() {
            task = observer.carry(task);
        }
        tokio::spawn(task);
        result.await.map_err(|_| Error::Internal("a store write stopped before it finished".into()))?
    }

    pub async fn get<T: Entity>(&self, id: &str) -> Result<Option<T>> {
        self.0.get(&T::COLLECTION, id).await?.map(from_doc).transpose()
    }

    /// Like [`Store::get`], with a `NotFound` naming the noun when it is absent.
    pub async fn fetch<T: Entity>(&self, id: &str) -> Result<T> {
        self.get(id).await?.ok_or_else(|| Error::NotFound(format!("no {} with id '{id}'", T::COLLECTION.noun)))
    }

    /// Write `entity` over the stored one if nobody changed it since `entity.revision` was read;
    /// returns it at its new revision.
    pub async fn update<T: Entity>(&self, entity: &T) -> Result<T> {
        let mut doc = to_doc(entity)?;
        let expected = doc["revision"].as_u64().ok_or_else(|| Error::Internal("entity without revision".into()))?;
        doc["revision"] = Value::from(expected + 1);
        let id = doc_id(&doc)?.to_string();
        let (store, coll) = (self.clone(), &T::COLLECTION);
        let doc = self
            .to_the_end(async move {
                let before = match store.before_wanted(coll) {
                    true => store.0.get(coll, &id).await?,
                    false => None,
                };
                store.0.replace(coll, doc.clone(), expected).await?;
                store.tell(coll, before.as_ref(), Some(&doc));
                Ok(doc)
            })
            .await?;
        from_doc(doc)
    }

    /// Read, change and write back, re-reading and trying again when a concurrent writer got
    /// there first. `change` may run more than once, so it must only look at its argument.
    pub async fn modify<T: Entity>(&self, id: &str, mut change: impl FnMut(&mut T) -> Result<()>) -> Result<T> {
        for _ in 0..20 {
            let mut current: T = self.fetch(id).await?;
            change(&mut current)?;
            match self.update(&current).await {
                Err(Error::StaleRevision(_)) => continue,
                other => return other,
            }
        }
        Err(Error::Conflict(format!("{} '{id}' is changing too often; try again", T::COLLECTION.noun)))
    }

    pub async fn delete<T: Entity>(&self, id: &str, expected: Option<u64>) -> Result<bool> {
        let (store, coll, id) = (self.clone(), &T::COLLECTION, id.to_string());
        self.to_the_end(async move {
            let before = match store.watched(coll) {
                true => store.0.get(coll, &id).await?,
                false => None,
            };
            let deleted = store.0.delete(coll, &id, expected).await?;
            if let (true, Some(doc)) = (deleted, before) {
                store.tell(coll, Some(&doc), None);
            }
            Ok(deleted)
        })
        .await
    }

    pub async fn list<T: Entity>(&self, query: &Query) -> Result<(Vec<T>, u64)> {
        let (docs, total) = self.0.list(&T::COLLECTION, query).await?;
        Ok((docs.into_iter().map(from_doc).collect::<Result<_>>()?, total))
    }

    /// The first entity whose `field` equals `value`; an index lookup for unique fields.
    pub async fn find_one<T: Entity>(&self, field: &str, value: impl Into<Value>) -> Result<Option<T>> {
        let value = value.into();
        if let (true, Some(text)) = (T::COLLECTION.unique.contains(&field), value.as_str()) {
            return self.0.find_unique(&T::COLLECTION, field, text).await?.map(from_doc).transpose();
        }
        let (mut docs, _) = self.list::<T>(&Query::all().eq(field, value).page(0, 1)).await?;
        Ok(docs.pop())
    }

    /// Every document of each of `colls` (see [`Backend::dump`]).
    pub async fn dump(&self, colls: &[&'static CollectionSpec]) -> Result<Vec<Vec<Value>>> {
        self.0.dump(colls).await
    }

    /// How many of `T`'s records have each combination of `fields`' values (see
    /// [`Backend::tally`]): what a count by state needs, without reading the records.
    pub async fn tally<T: Entity>(&self, fields: &[&'static str]) -> Result<Tally> {
        self.0.tally(&T::COLLECTION, fields).await
    }

    /// Insert a document as it is (revision included), for restoring a backup.
    pub async fn insert_raw(&self, coll: &'static CollectionSpec, doc: Value) -> Result<()> {
        doc_id(&doc)?;
        self.insert_doc(coll, doc).await.map(drop)
    }

    pub async fn count<T: Entity>(&self, query: Query) -> Result<u64> {
        Ok(self.0.list(&T::COLLECTION, &query.page(0, 0)).await?.1)
    }
}

fn to_doc<T: Serialize>(entity: &T) -> Result<Value> {
    let doc = serde_json::to_value(entity).map_err(|e| Error::Internal(format!("serialising: {e}")))?;
    if !doc.get("id").is_some_and(Value::is_string) {
        return Err(Error::Internal("entity without a string id".into()));
    }
    Ok(doc)
}

fn from_doc<T: DeserializeOwned>(doc: Value) -> Result<T> {
    serde_json::from_value(doc).map_err(|e| Error::Internal(format!("stored document does not parse: {e}")))
}

/// A new opaque id: 24 lower-case hex characters, time-ordered like a MongoDB ObjectId (which
/// keeps ids familiar to dEF-Pi processes, whose protocol compares them).
pub fn new_id() -> String {
    use rand::RngCore;
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let secs = chrono::Utc::now().timestamp() as u32;
    let mut random = [0u8; 5];
    rand::thread_rng().fill_bytes(&mut random);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    bytes[4..9].copy_from_slice(&random);
    bytes[9..].copy_from_slice(&count.to_be_bytes()[1..]);
    hex::encode(bytes)
}

// --- query evaluation shared by backends that filter in memory -------------------------------

/// Counts by a combination of fields' values (see [`Backend::tally`]).
pub type Tally = BTreeMap<Vec<String>, u64>;

/// [`Backend::tally`] of these documents.
pub(crate) fn tally_docs<'a>(docs: impl IntoIterator<Item = &'a Value>, fields: &[&str]) -> Tally {
    let mut counts = Tally::new();
    for doc in docs {
        let key = fields.iter().map(|f| doc.get(*f).and_then(Value::as_str).unwrap_or("").to_string()).collect();
        *counts.entry(key).or_default() += 1;
    }
    counts
}

pub(crate) fn matches(doc: &Value, filters: &[Filter]) -> bool {
    filters.iter().all(|f| match f {
        Filter::Eq(field, value) => doc.get(field).unwrap_or(&Value::Null) == value,
        Filter::Ne(field, value) => doc.get(field).unwrap_or(&Value::Null) != value,
        Filter::Contains(field, text) => {
            doc.get(field).and_then(Value::as_str).is_some_and(|s| s.to_lowercase().contains(&text.to_lowercase()))
        }
        Filter::Lt(field, value) => doc.get(field).is_some_and(|v| compare(v, value) == Ordering::Less && !v.is_null()),
        Filter::Ge(field, value) => doc.get(field).is_some_and(|v| compare(v, value) != Ordering::Less && !v.is_null()),
        Filter::Has(field, value) => doc.get(field).and_then(Value::as_array).is_some_and(|a| a.contains(value)),
    })
}

/// A total order on JSON values: null < bool < number < string < others, nulls last when sorting.
pub(crate) fn compare(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            _ => 4,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Sort and page borrowed documents (no document is copied): by `query.sort`, ties and the
/// default by id.
pub(crate) fn sort_and_page_refs<'a>(docs: Vec<&'a Value>, query: &Query) -> (Vec<&'a Value>, u64) {
    let total = docs.len() as u64;
    fn id(d: &Value) -> &str {
        d.get("id").and_then(Value::as_str).unwrap_or("")
    }
    // Look each sort key up once, not once per comparison.
    let field = query.sort.as_ref().map(|(f, _)| f.as_str()).filter(|f| *f != "id");
    let descending = query.sort.as_ref().is_some_and(|(_, d)| *d);
    let mut keyed: Vec<(&Value, &str, &Value)> =
        docs.into_iter().map(|d| (field.and_then(|f| d.get(f)).unwrap_or(&Value::Null), id(d), d)).collect();
    let order = |(ka, ia, _): &(&Value, &str, &Value), (kb, ib, _): &(&Value, &str, &Value)| {
        let by_key = match (ka.is_null(), kb.is_null()) {
            // Nulls last in either direction.
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => compare(ka, kb),
        };
        let ord = by_key.then_with(|| ia.cmp(ib));
        if descending {
            ord.reverse()
        } else {
            ord
        }
    };
    let offset = query.offset.min(total) as usize;
    let limit = query.limit.map_or(usize::MAX, |l| l as usize);
    let end = offset.saturating_add(limit);
    if end < keyed.len() {
        // Only the first `end` in order matter: select them in linear time, sort just those.
        keyed.select_nth_unstable_by(end, order);
        keyed.truncate(end);
    }
    keyed.sort_unstable_by(order);
    (keyed.into_iter().skip(offset).take(limit).map(|(_, _, d)| d).collect(), total)
}

pub(crate) fn doc_id(doc: &Value) -> Result<&str> {
    doc.get("id").and_then(Value::as_str).ok_or_else(|| Error::Internal("document without id".into()))
}

pub(crate) fn duplicate(coll: &CollectionSpec, field: &str, value: &str) -> Error {
    Error::Conflict(format!("a {} with {field} '{value}' already exists", coll.noun))
}

pub(crate) fn stale(coll: &CollectionSpec, id: &str, stored: u64, expected: u64) -> Error {
    Error::StaleRevision(format!(
        "{} '{id}' was changed by someone else (it is at revision {stored}, the change was based on {expected}); reload it and try again",
        coll.noun
    ))
}

pub(crate) fn not_found(coll: &CollectionSpec, id: &str) -> Error {
    Error::NotFound(format!("no {} with id '{id}'", coll.noun))
}
