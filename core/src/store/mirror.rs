//! An in-memory, typed copy of one collection, kept in step with the store's writes.
//!
//! The reconciler looks at every live process and connection every few seconds. Read from the
//! store, that is every record read and decoded each round: at 500 processes most of a round's
//! 115 ms, and most of Switchyard's idle CPU. A [`Mirror`] is an [`Observer`]: each write the store
//! commits (through it or any of its clones) updates the copy, decoding the one document written,
//! so a round reads memory.
//!
//! It is loaded from the store on first use, and again every [`RELOAD`]. Between loads the writes
//! are its only source, so a reload that finds the copy differing from the store says so in the
//! log (a write that did not go through the observed store would show there) and the store wins.
//!
//! Writes are told after they commit, so two writes of one document can be told out of order: the
//! higher revision wins, and a deleted document leaves a tombstone for a while so that an update
//! told after its deletion does not bring it back.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;

use super::{CollectionSpec, Entity, Observer, Query, Store};
use crate::error::Result;

/// How often the copy is read afresh from the store.
pub const RELOAD: Duration = Duration::from_secs(300);

/// How long a deleted document's tombstone is kept: far longer than a write takes from its
/// commit to its telling.
const TOMBSTONE: Duration = Duration::from_secs(60);

/// The documents of `T`'s collection, in memory. Cloning shares the copy.
pub struct Mirror<T>(Arc<Inner<T>>);

impl<T> Clone for Mirror<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

struct Inner<T> {
    /// Which documents it holds (the rest are left out, as if deleted).
    keep: fn(&T) -> bool,
    /// What a load reads: these queries' documents (all of them when empty), so that a copy of
    /// the few open changes among thousands done does not read the thousands.
    load: Vec<Query>,
    state: Mutex<State<T>>,
    /// One load at a time.
    loading: tokio::sync::Mutex<()>,
}

struct State<T> {
    /// When the copy was last read from the store; `None` before the first load, or when a told
    /// document did not decode (the next use then reads the store again).
    loaded: Option<Instant>,
    /// Writes told so far. Each entry and tombstone remembers the count when it was told, so a
    /// load knows which writes it may have missed.
    told: u64,
    docs: HashMap<String, Entry<T>>,
    gone: HashMap<String, Tombstone>,
}

struct Entry<T> {
    revision: u64,
    /// 0 when it came from a load.
    told: u64,
    value: Arc<T>,
}

struct Tombstone {
    revision: u64,
    told: u64,
    at: Instant,
}

impl<T> State<T> {
    /// Forget old tombstones, now and then (each write would be a waste).
    fn prune_tombstones(&mut self) {
        if self.gone.len() >= 4096 {
            self.gone.retain(|_, t| t.at.elapsed() < TOMBSTONE);
        }
    }
}

fn id_and_revision(doc: &Value) -> Option<(&str, u64)> {
    Some((doc.get("id")?.as_str()?, doc.get("revision")?.as_u64()?))
}

impl<T: Entity> Default for Mirror<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Entity> Mirror<T> {
    /// A copy of every document.
    pub fn new() -> Self {
        Self::filtered(|_| true)
    }

    /// A copy of the documents `keep` says yes to (an open pending change, a live process): a
    /// document that stops being one leaves the copy.
    pub fn filtered(keep: fn(&T) -> bool) -> Self {
        Self::filtered_loading(keep, Vec::new())
    }

    /// As [`Mirror::filtered`], loading only what `load`'s queries find (every document `keep`
    /// says yes to must be among them; an indexed field's values make them cheap).
    pub fn filtered_loading(keep: fn(&T) -> bool, load: Vec<Query>) -> Self {
        Self(Arc::new(Inner {
            keep,
            load,
            state: Mutex::new(State { loaded: None, told: 0, docs: HashMap::new(), gone: HashMap::new() }),
            loading: tokio::sync::Mutex::new(()),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn due(&self) -> bool {
        self.state().loaded.is_none_or(|at| at.elapsed() >= RELOAD)
    }

    /// Every document, by id. `store` must be the store this mirror observes (or a clone of it).
    pub async fn all(&self, store: &Store) -> Result<Vec<Arc<T>>> {
        if self.due() {
            self.load(store).await?;
        }
        let st = self.state();
        let mut all: Vec<(&String, &Entry<T>)> = st.docs.iter().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Ok(all.into_iter().map(|(_, e)| e.value.clone()).collect())
    }

    /// The document `id`, when the copy holds it.
    pub async fn get(&self, store: &Store, id: &str) -> Result<Option<Arc<T>>> {
        if self.due() {
            self.load(store).await?;
        }
        Ok(self.state().docs.get(id).map(|e| e.value.clone()))
    }

    /// Whether any document is one `test` says yes to (no copy of the list is made).
    pub async fn any(&self, store: &Store, test: impl Fn(&T) -> bool) -> Result<bool> {
        if self.due() {
            self.load(store).await?;
        }
        Ok(self.state().docs.values().any(|e| test(&e.value)))
    }

    /// Read the whole collection from the store and make it the copy, keeping what was told
    /// while it was being read when that is newer.
    async fn load(&self, store: &Store) -> Result<()> {
        let _one = self.0.loading.lock().await;
        if !self.due() {
            return Ok(()); // loaded while this one waited
        }
        let since = self.state().told;
        let docs = match self.0.load.as_slice() {
            [] => store.0.list(&T::COLLECTION, &Query::all()).await?.0,
            queries => {
                let mut docs = Vec::new();
                for query in queries {
                    docs.extend(store.0.list(&T::COLLECTION, query).await?.0);
                }
                docs
            }
        };
        let differing = self.merge(since, docs)?;
        if differing > 0 {
            tracing::info!(
                collection = T::COLLECTION.name,
                differing,
                "the in-memory copy differed from the store on reload (a write was not told to it); the store's records are used"
            );
        }
        Ok(())
    }

    /// Make `docs`, read from the store after `since` writes had been told, the copy; a write
    /// told since then wins where it is newer. Returns how many records the copy had wrong
    /// (0 on the first load).
    fn merge(&self, since: u64, docs: Vec<Value>) -> Result<usize> {
        let mut fresh = HashMap::with_capacity(docs.len());
        for doc in docs {
            let Some((id, revision)) = id_and_revision(&doc) else { continue };
            let id = id.to_string();
            let value = super::from_doc::<T>(doc)?;
            if (self.0.keep)(&value) {
                fresh.insert(id, Entry { revision, told: 0, value: Arc::new(value) });
            }
        }
        let mut st = self.state();
        let reloading = st.loaded.is_some();
        let mut differing = 0usize;
        for (id, entry) in std::mem::take(&mut st.docs) {
            if entry.told > since {
                // Told while the store was being read: the read may or may not have seen it.
                if fresh.get(&id).is_none_or(|f| f.revision < entry.revision) {
                    fresh.insert(id, entry);
                }
            } else if reloading && fresh.get(&id).is_none_or(|f| f.revision != entry.revision) {
                differing += 1;
            }
        }
        for (id, tomb) in &st.gone {
            if tomb.told > since && fresh.get(id).is_some_and(|f| f.revision <= tomb.revision) {
                fresh.remove(id);
            }
        }
        st.gone.retain(|_, t| t.at.elapsed() < TOMBSTONE);
        st.docs = fresh;
        st.loaded = Some(Instant::now());
        Ok(differing)
    }
}

impl<T: Entity> Observer for Mirror<T> {
    fn watches(&self, coll: &CollectionSpec) -> bool {
        coll.name == T::COLLECTION.name
    }

    fn written(&self, _coll: &CollectionSpec, before: Option<&Value>, after: Option<&Value>) {
        match after {
            Some(doc) => {
                let Some((id, revision)) = id_and_revision(doc) else { return };
                // Decoded before taking the lock: the lock is held for map updates only.
                let decoded = T::deserialize(doc);
                let mut st = self.state();
                st.prune_tombstones();
                st.told += 1;
                let told = st.told;
                if st.gone.get(id).is_some_and(|t| t.revision >= revision)
                    || st.docs.get(id).is_some_and(|e| e.revision >= revision)
                {
                    return; // an older write, told late
                }
                match decoded {
                    Ok(value) if (self.0.keep)(&value) => {
                        st.gone.remove(id);
                        st.docs.insert(id.to_string(), Entry { revision, told, value: Arc::new(value) });
                    }
                    // No longer one it holds: gone from the copy, at this revision.
                    Ok(_) => {
                        st.docs.remove(id);
                        st.gone.insert(id.to_string(), Tombstone { revision, told, at: Instant::now() });
                    }
                    Err(e) => {
                        tracing::warn!(collection = T::COLLECTION.name, id, error = %e, "a written record does not decode; reading them all again");
                        st.docs.remove(id);
                        st.loaded = None;
                    }
                }
            }
            None => {
                let Some((id, revision)) = before.and_then(id_and_revision) else { return };
                let mut st = self.state();
                st.prune_tombstones();
                st.told += 1;
                let told = st.told;
                if st.docs.get(id).is_some_and(|e| e.revision > revision) {
                    return; // written again after this deletion (a restore), and told first
                }
                st.docs.remove(id);
                st.gone.insert(id.to_string(), Tombstone { revision, told, at: Instant::now() });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;
    use crate::store::embedded::EmbeddedBackend;

    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
    struct Thing {
        id: String,
        name: String,
        revision: u64,
    }

    impl Entity for Thing {
        const COLLECTION: CollectionSpec =
            CollectionSpec { name: "things", noun: "thing", unique: &[], indexed: &[], projected: &[] };
    }

    fn open() -> (tempfile::TempDir, Store, Mirror<Thing>) {
        let dir = tempfile::tempdir().unwrap();
        let backend = EmbeddedBackend::open(dir.path().to_str().unwrap()).unwrap();
        let mirror = Mirror::<Thing>::new();
        let store = Store::new(Arc::new(backend)).observed(Arc::new(mirror.clone()));
        (dir, store, mirror)
    }

    fn thing(id: &str, name: &str) -> Thing {
        Thing { id: id.into(), name: name.into(), revision: 0 }
    }

    fn names(all: &[Arc<Thing>]) -> Vec<(String, String, u64)> {
        all.iter().map(|t| (t.id.clone(), t.name.clone(), t.revision)).collect()
    }

    #[tokio::test]
    async fn it_loads_what_was_there_and_follows_every_write_after() {
        let (_dir, store, mirror) = open();
        store.insert(&thing("a", "first")).await.unwrap();
        // Written through a store that does not tell the mirror: only a load sees it.
        Store::new(store.0.clone()).insert(&thing("b", "unseen")).await.unwrap();
        assert_eq!(
            names(&mirror.all(&store).await.unwrap()),
            [("a".into(), "first".into(), 1), ("b".into(), "unseen".into(), 1)]
        );
        let a = store.fetch::<Thing>("a").await.unwrap();
        store.update(&Thing { name: "renamed".into(), ..a }).await.unwrap();
        store.insert(&thing("c", "new")).await.unwrap();
        store.delete::<Thing>("b", None).await.unwrap();
        assert_eq!(
            names(&mirror.all(&store).await.unwrap()),
            [("a".into(), "renamed".into(), 2), ("c".into(), "new".into(), 1)]
        );
        // One document by its id, as written last; a deleted one is not there.
        assert_eq!(mirror.get(&store, "a").await.unwrap().map(|t| t.name.clone()).as_deref(), Some("renamed"));
        assert!(mirror.get(&store, "b").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_older_write_told_late_does_not_undo_a_newer_one_nor_bring_back_a_deleted_record() {
        let (_dir, store, mirror) = open();
        mirror.all(&store).await.unwrap();
        let coll = &Thing::COLLECTION;
        let v1 = json!({"id": "a", "name": "one", "revision": 1});
        let v2 = json!({"id": "a", "name": "two", "revision": 2});
        mirror.written(coll, None, Some(&v2));
        mirror.written(coll, None, Some(&v1));
        assert_eq!(names(&mirror.all(&store).await.unwrap()), [("a".into(), "two".into(), 2)]);
        mirror.written(coll, Some(&v2), None);
        mirror.written(coll, None, Some(&v1));
        mirror.written(coll, None, Some(&v2));
        assert!(mirror.all(&store).await.unwrap().is_empty(), "deleted at revision 2: nothing older comes back");
        let v3 = json!({"id": "a", "name": "restored", "revision": 3});
        mirror.written(coll, None, Some(&v3));
        assert_eq!(names(&mirror.all(&store).await.unwrap()), [("a".into(), "restored".into(), 3)]);
    }

    #[tokio::test]
    async fn a_record_that_does_not_decode_makes_the_next_use_read_the_store() {
        let (_dir, store, mirror) = open();
        store.insert(&thing("a", "first")).await.unwrap();
        mirror.all(&store).await.unwrap();
        mirror.written(&Thing::COLLECTION, None, Some(&json!({"id": "a", "revision": 5, "name": 7})));
        assert_eq!(names(&mirror.all(&store).await.unwrap()), [("a".into(), "first".into(), 1)]);
    }

    #[tokio::test]
    async fn a_load_keeps_what_was_told_while_it_read_and_drops_what_was_deleted_meanwhile() {
        let (_dir, store, mirror) = open();
        let coll = &Thing::COLLECTION;
        let since = mirror.state().told;
        // While the load reads: "z" is written after the read passed it, "a" deleted after.
        mirror.written(coll, None, Some(&json!({"id": "z", "name": "late", "revision": 1})));
        mirror.written(coll, Some(&json!({"id": "a", "name": "gone", "revision": 4})), None);
        let read =
            vec![json!({"id": "a", "name": "gone", "revision": 4}), json!({"id": "b", "name": "kept", "revision": 2})];
        assert_eq!(mirror.merge(since, read).unwrap(), 0);
        assert_eq!(
            names(&mirror.all(&store).await.unwrap()),
            [("b".into(), "kept".into(), 2), ("z".into(), "late".into(), 1)]
        );
        // A reload that finds the copy wrong counts it, and the store's record wins.
        let since = mirror.state().told;
        let read = vec![json!({"id": "b", "name": "changed", "revision": 3})];
        assert_eq!(mirror.merge(since, read).unwrap(), 2, "b at another revision, z not in the store");
        assert_eq!(names(&mirror.all(&store).await.unwrap()), [("b".into(), "changed".into(), 3)]);
    }

    #[tokio::test]
    async fn a_filtered_copy_holds_only_what_it_keeps_and_a_record_that_leaves_it_does_not_come_back_late() {
        let dir = tempfile::tempdir().unwrap();
        let backend = EmbeddedBackend::open(dir.path().to_str().unwrap()).unwrap();
        let mirror = Mirror::<Thing>::filtered(|t| t.name != "done");
        let store = Store::new(Arc::new(backend)).observed(Arc::new(mirror.clone()));
        store.insert(&thing("a", "open")).await.unwrap();
        store.insert(&thing("b", "done")).await.unwrap();
        assert_eq!(names(&mirror.all(&store).await.unwrap()), [("a".into(), "open".into(), 1)]);
        let a = store.fetch::<Thing>("a").await.unwrap();
        let done = store.update(&Thing { name: "done".into(), ..a.clone() }).await.unwrap();
        assert!(mirror.all(&store).await.unwrap().is_empty());
        // The open write of revision 1, told after the one that closed it.
        mirror.written(&Thing::COLLECTION, None, Some(&json!({"id": "a", "name": "open", "revision": 1})));
        assert!(mirror.all(&store).await.unwrap().is_empty());
        store.update(&Thing { name: "open again".into(), ..done }).await.unwrap();
        assert_eq!(names(&mirror.all(&store).await.unwrap()), [("a".into(), "open again".into(), 3)]);
    }

    #[tokio::test]
    async fn a_load_reads_only_what_its_queries_find() {
        let dir = tempfile::tempdir().unwrap();
        let backend = EmbeddedBackend::open(dir.path().to_str().unwrap()).unwrap();
        let mirror = Mirror::<Thing>::filtered_loading(|_| true, vec![Query::all().eq("name", "open")]);
        let store = Store::new(Arc::new(backend));
        store.insert(&thing("a", "open")).await.unwrap();
        store.insert(&thing("b", "done")).await.unwrap();
        assert_eq!(names(&mirror.all(&store).await.unwrap()), [("a".into(), "open".into(), 1)]);
    }

    /// The embedded store, stopping after each write it committed until let go on: the moment
    /// at which a writer that stops waiting (a request whose client hung up) is dropped.
    struct PausingAfterCommit {
        inner: EmbeddedBackend,
        committed: Arc<tokio::sync::Notify>,
        go_on: Arc<tokio::sync::Notify>,
    }

    impl PausingAfterCommit {
        async fn pause(&self) {
            self.committed.notify_one();
            self.go_on.notified().await;
        }
    }

    #[async_trait::async_trait]
    impl crate::store::Backend for PausingAfterCommit {
        async fn insert(&self, coll: &'static CollectionSpec, doc: Value) -> Result<()> {
            self.inner.insert(coll, doc).await?;
            self.pause().await;
            Ok(())
        }
        async fn get(&self, coll: &'static CollectionSpec, id: &str) -> Result<Option<Value>> {
            self.inner.get(coll, id).await
        }
        async fn replace(&self, coll: &'static CollectionSpec, doc: Value, expected: u64) -> Result<()> {
            self.inner.replace(coll, doc, expected).await?;
            self.pause().await;
            Ok(())
        }
        async fn delete(&self, coll: &'static CollectionSpec, id: &str, expected: Option<u64>) -> Result<bool> {
            let deleted = self.inner.delete(coll, id, expected).await?;
            self.pause().await;
            Ok(deleted)
        }
        async fn list(&self, coll: &'static CollectionSpec, query: &Query) -> Result<(Vec<Value>, u64)> {
            self.inner.list(coll, query).await
        }
        async fn ping(&self) -> Result<()> {
            self.inner.ping().await
        }
        fn kind(&self) -> &'static str {
            "pausing"
        }
    }

    #[tokio::test]
    async fn a_write_whose_writer_is_dropped_after_the_commit_is_still_told() {
        let dir = tempfile::tempdir().unwrap();
        let (committed, go_on) = (Arc::new(tokio::sync::Notify::new()), Arc::new(tokio::sync::Notify::new()));
        let inner = EmbeddedBackend::open(dir.path().to_str().unwrap()).unwrap();
        let backend = PausingAfterCommit { inner, committed: committed.clone(), go_on: go_on.clone() };
        let mirror = Mirror::<Thing>::new();
        let store = Store::new(Arc::new(backend)).observed(Arc::new(mirror.clone()));
        // Loaded now: until its next reload, minutes away, the writes told are all it learns.
        assert!(mirror.all(&store).await.unwrap().is_empty());
        let inserted = thing("a", "inserted");
        tokio::select! {
            _ = store.insert(&inserted) => panic!("the insert finished before it was let go on"),
            _ = committed.notified() => {}, // the insert is dropped here, committed and not yet told
        }
        go_on.notify_one();
        told(&mirror, &store, ("a", "inserted", 1)).await;
        let updated = Thing { name: "updated".into(), ..store.fetch::<Thing>("a").await.unwrap() };
        tokio::select! {
            _ = store.update(&updated) => panic!("the update finished before it was let go on"),
            _ = committed.notified() => {},
        }
        go_on.notify_one();
        told(&mirror, &store, ("a", "updated", 2)).await;
    }

    /// Wait (10 s at most) until `mirror` holds `expected` (id, name, revision).
    async fn told(mirror: &Mirror<Thing>, store: &Store, expected: (&str, &str, u64)) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let all = names(&mirror.all(store).await.unwrap());
            if all.iter().any(|(id, name, rev)| (id.as_str(), name.as_str(), *rev) == expected) {
                return;
            }
            assert!(Instant::now() < deadline, "never told of {expected:?}; the copy holds {all:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
