//! Which installation this is, and what keeps its store from being mistaken for another one.
//!
//! Every Docker object Switchyard makes carries `org.switchyard.instance=<id>`, and the
//! reconciler acts on the objects of its own id. A store that is missing, empty or from another
//! place (a mistyped or unmounted data directory) must therefore never start as a *new*
//! installation under an id whose objects already run: [`resolve`] refuses that, and says what
//! it found and how to start fresh on purpose.
//!
//! Backups ([`backup`], [`restore`]) are a portable dump of every collection: a header line,
//! then one JSON line per document. The embedded store dumps from one read transaction, so a
//! backup taken while Switchyard runs is consistent.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    connectors::docker::LABEL_INSTANCE,
    error::{Error, Result},
    managers::ConnectionRecord,
    model::{Node, NodePool, PendingChange},
    store::{
        ApiTokenRecord, CollectionSpec, Entity, InstanceRecord, ProcessRecord, Query, RemovedProcess, SessionRecord,
        Store, UserRecord,
    },
};

/// Every collection Switchyard keeps.
pub fn collections() -> Vec<&'static CollectionSpec> {
    vec![
        &InstanceRecord::COLLECTION,
        &UserRecord::COLLECTION,
        &ApiTokenRecord::COLLECTION,
        &SessionRecord::COLLECTION,
        &NodePool::COLLECTION,
        &Node::COLLECTION,
        &ProcessRecord::COLLECTION,
        &RemovedProcess::COLLECTION,
        &ConnectionRecord::COLLECTION,
        &PendingChange::COLLECTION,
        &crate::model::AuditEntry::COLLECTION,
        &crate::managers::WebhookRecord::COLLECTION,
        &crate::model::Plan::COLLECTION,
        &crate::model::Deployment::COLLECTION,
    ]
}

/// What the store was before it was opened, for the refusal's wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOrigin {
    /// Its file did not exist (the embedded store made a new one).
    Missing,
    /// Its file existed but was empty.
    EmptyFile,
    /// It existed (or is a database server).
    Existing,
}

/// A Docker object of some installation: (kind, name, instance id).
pub type LabelledObject = (&'static str, String, String);

/// Whether the store holds no installation at all: no instance record and no user.
pub async fn is_new(store: &Store) -> Result<bool> {
    Ok(store.get::<InstanceRecord>("instance").await?.is_none() && store.count::<UserRecord>(Query::all()).await? == 0)
}

/// This installation's id, checked against the store and Docker's objects.
///
/// * The store knows its id: a configured id must match it.
/// * The store is new: the id is the configured one or a fresh one; if Docker already holds
///   objects of that id, the store is not what it should be and start-up is refused, unless
///   `new_store_on_purpose`. `objects` is `None` when Docker could not be asked.
pub async fn resolve(
    store: &Store,
    location: &str,
    origin: StoreOrigin,
    configured: Option<&str>,
    objects: Option<&[LabelledObject]>,
    new_store_on_purpose: bool,
) -> std::result::Result<String, String> {
    let read = |e: Error| format!("cannot read the store at {location}: {e}");
    let stored = store.get::<InstanceRecord>("instance").await.map_err(read)?;
    let users = store.count::<UserRecord>(Query::all()).await.map_err(read)?;
    if let Some(r) = &stored {
        if let Some(c) = configured.filter(|c| *c != r.instance_id) {
            return Err(format!(
                "the store at {location} belongs to the installation '{}', but SWITCHYARD_INSTANCE_ID is '{c}': \
                 unset SWITCHYARD_INSTANCE_ID, or point SWITCHYARD_DATA_DIR at that installation's store",
                r.instance_id
            ));
        }
        return Ok(r.instance_id.clone());
    }
    if users > 0 {
        // A store from before ids were recorded: it is in use, keep the configured id.
        let Some(id) = configured else {
            return Err(format!(
                "the store at {location} has users but no installation id; start with SWITCHYARD_INSTANCE_ID set to the id its Docker objects carry"
            ));
        };
        write_id(store, id).await.map_err(read)?;
        return Ok(id.to_string());
    }
    let id = configured.map(str::to_string).unwrap_or_else(|| crate::store::new_id()[..12].to_string());
    let ours: Vec<&LabelledObject> = objects.unwrap_or_default().iter().filter(|o| o.2 == id).collect();
    if !ours.is_empty() {
        let what = match origin {
            StoreOrigin::Missing => "does not exist",
            StoreOrigin::EmptyFile => "is an empty file",
            StoreOrigin::Existing => "is empty",
        };
        let listed = summarise(&ours);
        if !new_store_on_purpose {
            return Err(format!(
                "refusing to start: the store at {location} {what}, so this would be a new installation, but Docker \
                 already holds {listed} labelled {LABEL_INSTANCE}={id}: the installation with this id keeps its \
                 records elsewhere. If the data directory is mistyped or not mounted, fix SWITCHYARD_DATA_DIR (or \
                 SWITCHYARD_DATABASE_URL) and start again; to restore a backup, see `switchyard restore --help`. To \
                 start a new, empty installation with this id on purpose, start once with --new-store \
                 (SWITCHYARD_NEW_STORE=true): those objects are then left alone, never removed."
            ));
        }
        tracing::warn!(
            "starting a new store on purpose (--new-store) although Docker holds {listed} of installation {id}; they are left alone"
        );
    }
    if objects.is_none() && configured.is_some() {
        tracing::warn!(
            "the store is new and Docker cannot be asked whether installation {id} already has objects there; \
             nothing of theirs will be removed (the reconciler removes only what a record tells it to)"
        );
    }
    let others: Vec<&LabelledObject> = objects.unwrap_or_default().iter().filter(|o| o.2 != id).collect();
    if !others.is_empty() && configured.is_none() {
        let mut ids: Vec<&str> = others.iter().map(|o| o.2.as_str()).collect();
        ids.sort();
        ids.dedup();
        tracing::warn!(
            "this is a new installation ({id}); Docker also holds objects of other installations ({}). If one of them \
             should be this one, its store is elsewhere: stop and point SWITCHYARD_DATA_DIR at it",
            ids.join(", ")
        );
    }
    write_id(store, &id).await.map_err(read)?;
    Ok(id)
}

fn summarise(objects: &[&LabelledObject]) -> String {
    let count = |kind: &str| objects.iter().filter(|o| o.0 == kind).count();
    let mut parts = Vec::new();
    for (kind, plural) in [("service", "swarm services"), ("container", "containers"), ("network", "networks")] {
        match count(kind) {
            0 => {}
            1 => parts.push(format!("1 {}", plural.trim_end_matches('s'))),
            n => parts.push(format!("{n} {plural}")),
        }
    }
    parts.join(", ")
}

async fn write_id(store: &Store, id: &str) -> Result<()> {
    let record = InstanceRecord { id: "instance".into(), instance_id: id.to_string(), revision: 0 };
    match store.insert(&record).await {
        Ok(_) | Err(Error::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The first line of a backup file.
#[derive(Debug, Serialize, Deserialize)]
pub struct BackupHeader {
    /// Always `switchyard-backup`.
    pub format: String,
    pub version: u32,
    pub created: chrono::DateTime<chrono::Utc>,
    pub instance_id: Option<String>,
    /// The backend it was taken from (`embedded`, `mongodb`).
    pub backend: String,
    /// Documents per collection.
    pub counts: std::collections::BTreeMap<String, usize>,
}

#[derive(Serialize, Deserialize)]
struct BackupLine {
    collection: String,
    doc: Value,
}

/// Write a consistent copy of the whole store to `out`; returns the header written.
pub async fn backup(store: &Store, out: &mut (dyn Write + Send)) -> Result<BackupHeader> {
    let colls = collections();
    let dumped = store.dump(&colls).await?;
    let instance_id = store.get::<InstanceRecord>("instance").await?.map(|r| r.instance_id);
    let header = BackupHeader {
        format: "switchyard-backup".into(),
        version: 1,
        created: chrono::Utc::now(),
        instance_id,
        backend: store.kind().into(),
        counts: colls.iter().zip(&dumped).map(|(c, d)| (c.name.to_string(), d.len())).collect(),
    };
    let io = |e: std::io::Error| Error::Unavailable(format!("writing the backup: {e}"));
    let json = |e: serde_json::Error| Error::Internal(e.to_string());
    writeln!(out, "{}", serde_json::to_string(&header).map_err(json)?).map_err(io)?;
    for (coll, docs) in colls.iter().zip(dumped) {
        for doc in docs {
            let line = serde_json::to_string(&BackupLine { collection: coll.name.into(), doc }).map_err(json)?;
            writeln!(out, "{line}").map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    Ok(header)
}

/// Read a backup into `store`, which must be new (no installation in it). Returns its header.
pub async fn restore(store: &Store, input: &mut (dyn BufRead + Send)) -> Result<BackupHeader> {
    if !is_new(store).await? {
        return Err(Error::Conflict(
            "the target store already holds an installation; restore into a new data directory (or an empty database)"
                .into(),
        ));
    }
    let colls = collections();
    let mut lines = input.lines();
    let bad = |n: usize, why: String| Error::BadRequest(format!("line {n} of the backup: {why}"));
    let first = lines.next().ok_or_else(|| Error::BadRequest("the backup is empty".into()))?;
    let first = first.map_err(|e| bad(1, e.to_string()))?;
    let header: BackupHeader =
        serde_json::from_str(&first).map_err(|e| bad(1, format!("not a Switchyard backup ({e})")))?;
    if header.format != "switchyard-backup" || header.version != 1 {
        return Err(bad(
            1,
            format!("format {} version {} is not one this Switchyard reads", header.format, header.version),
        ));
    }
    // Read and check all of it before writing anything, so a damaged backup leaves the target
    // as it was.
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    let mut entries = Vec::new();
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let line = line.map_err(|e| bad(n, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: BackupLine = serde_json::from_str(&line).map_err(|e| bad(n, e.to_string()))?;
        let coll = *colls
            .iter()
            .find(|c| c.name == entry.collection)
            .ok_or_else(|| bad(n, format!("unknown collection '{}'", entry.collection)))?;
        if !entry.doc.get("id").is_some_and(Value::is_string) {
            return Err(bad(n, "a document without an id".into()));
        }
        *counts.entry(entry.collection).or_default() += 1;
        entries.push((coll, entry.doc));
    }
    for (name, want) in &header.counts {
        let got = counts.get(name).copied().unwrap_or(0);
        if got != *want {
            return Err(Error::BadRequest(format!(
                "the backup is incomplete: its header promises {want} documents of {name}, it holds {got}"
            )));
        }
    }
    for (coll, doc) in entries {
        store.insert_raw(coll, doc).await?;
    }
    Ok(header)
}
