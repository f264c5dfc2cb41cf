//! The MongoDB backend: a collection per kind, the document id as `_id`, a unique index per
//! unique field (partial, so absent values do not collide), and revision checks done by the
//! server in the filter of `replace_one`, so they are atomic.

use std::{collections::HashSet, sync::Mutex};

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::{
    bson::{doc, Bson, Document},
    error::{ErrorKind, WriteFailure},
    options::IndexOptions,
    Client, Database, IndexModel,
};
use serde_json::Value;

use super::{doc_id, duplicate, not_found, stale, Backend, CollectionSpec, Filter, Query, Tally};
use crate::error::{Error, Result};

pub struct MongoBackend {
    db: Database,
    indexed: Mutex<HashSet<&'static str>>,
}

fn mongo_err(e: mongodb::error::Error) -> Error {
    Error::Unavailable(format!("MongoDB: {e}"))
}

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        _ => false,
    }
}

fn field_name(field: &str) -> &str {
    if field == "id" {
        "_id"
    } else {
        field
    }
}

fn to_bson(value: &Value) -> Result<Bson> {
    Bson::try_from(value.clone()).map_err(|e| Error::Internal(format!("to BSON: {e}")))
}

fn to_document(mut value: Value) -> Result<Document> {
    let obj = value.as_object_mut().ok_or_else(|| Error::Internal("document is not an object".into()))?;
    if let Some(id) = obj.remove("id") {
        obj.insert("_id".into(), id);
    }
    match to_bson(&value)? {
        Bson::Document(d) => Ok(d),
        _ => Err(Error::Internal("document is not an object".into())),
    }
}

fn from_document(doc: Document) -> Value {
    let mut value = Bson::Document(doc).into_relaxed_extjson();
    if let Some(obj) = value.as_object_mut() {
        if let Some(id) = obj.remove("_id") {
            obj.insert("id".into(), id);
        }
    }
    value
}

fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn filter_document(filters: &[Filter]) -> Result<Document> {
    // One condition document per filter, and `$and` of them: two filters on one field (a range)
    // would overwrite each other in a single document.
    let mut conditions = Vec::with_capacity(filters.len());
    let on = |field: &str, condition: Bson| {
        let mut d = Document::new();
        d.insert(field_name(field), condition);
        d
    };
    for f in filters {
        let condition = match f {
            Filter::Eq(field, value) => on(field, to_bson(value)?),
            Filter::Contains(field, text) => {
                on(field, Bson::Document(doc! { "$regex": escape_regex(text), "$options": "i" }))
            }
            Filter::Lt(field, value) => on(field, Bson::Document(doc! { "$lt": to_bson(value)? })),
            Filter::Ge(field, value) => on(field, Bson::Document(doc! { "$gte": to_bson(value)? })),
            Filter::Ne(field, value) => on(field, Bson::Document(doc! { "$ne": to_bson(value)? })),
            // MongoDB matches an array field against one of its elements.
            Filter::Has(field, value) => on(field, Bson::Document(doc! { "$elemMatch": { "$eq": to_bson(value)? } })),
        };
        conditions.push(condition);
    }
    Ok(match conditions.len() {
        0 => Document::new(),
        1 => conditions.pop().unwrap_or_default(),
        _ => doc! { "$and": conditions },
    })
}

impl MongoBackend {
    pub async fn connect(url: &str) -> Result<Self> {
        let client = Client::with_uri_str(url).await.map_err(mongo_err)?;
        let db = client.default_database().unwrap_or_else(|| client.database("switchyard"));
        db.run_command(doc! { "ping": 1 }).await.map_err(mongo_err)?;
        Ok(Self { db, indexed: Mutex::new(HashSet::new()) })
    }

    /// A database of its own, for the conformance suite.
    pub async fn connect_database(url: &str, database: &str) -> Result<Self> {
        let client = Client::with_uri_str(url).await.map_err(mongo_err)?;
        let db = client.database(database);
        db.run_command(doc! { "ping": 1 }).await.map_err(mongo_err)?;
        Ok(Self { db, indexed: Mutex::new(HashSet::new()) })
    }

    pub async fn drop_database(&self) -> Result<()> {
        self.db.drop().await.map_err(mongo_err)
    }

    async fn collection(&self, coll: &'static CollectionSpec) -> Result<mongodb::Collection<Document>> {
        let c = self.db.collection::<Document>(coll.name);
        let fresh = !self.indexed.lock().expect("index set poisoned").contains(coll.name);
        if fresh {
            for field in coll.unique {
                let options = IndexOptions::builder()
                    .unique(true)
                    .partial_filter_expression(doc! { *field: { "$type": "string" } })
                    .build();
                let model = IndexModel::builder().keys(doc! { *field: 1 }).options(options).build();
                c.create_index(model).await.map_err(mongo_err)?;
            }
            // The fields lists filter and sort on; with the id, which breaks ties in every sort.
            for field in coll.indexed {
                let model = IndexModel::builder().keys(doc! { *field: 1, "_id": 1 }).build();
                c.create_index(model).await.map_err(mongo_err)?;
            }
            self.indexed.lock().expect("index set poisoned").insert(coll.name);
        }
        Ok(c)
    }

    /// Name the unique field a duplicate-key error is about, for a precise message.
    async fn duplicate_error(&self, coll: &'static CollectionSpec, doc: &Value) -> Error {
        let c = self.db.collection::<Document>(coll.name);
        let id = doc_id(doc).unwrap_or("");
        if let Ok(Some(_)) = c.find_one(doc! { "_id": id }).await {
            return Error::Conflict(format!("a {} with id '{id}' already exists", coll.noun));
        }
        for field in coll.unique {
            if let Some(v) = doc.get(*field).and_then(Value::as_str) {
                if let Ok(Some(_)) = c.find_one(doc! { *field: v, "_id": { "$ne": id } }).await {
                    return duplicate(coll, field, v);
                }
            }
        }
        Error::Conflict(format!("this {} collides with another", coll.noun))
    }
}

#[async_trait]
impl Backend for MongoBackend {
    async fn insert(&self, coll: &'static CollectionSpec, doc: Value) -> Result<()> {
        let c = self.collection(coll).await?;
        match c.insert_one(to_document(doc.clone())?).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Err(self.duplicate_error(coll, &doc).await),
            Err(e) => Err(mongo_err(e)),
        }
    }

    async fn get(&self, coll: &'static CollectionSpec, id: &str) -> Result<Option<Value>> {
        let c = self.collection(coll).await?;
        Ok(c.find_one(doc! { "_id": id }).await.map_err(mongo_err)?.map(from_document))
    }

    async fn replace(&self, coll: &'static CollectionSpec, doc: Value, expected: u64) -> Result<()> {
        let c = self.collection(coll).await?;
        let id = doc_id(&doc)?.to_string();
        let filter = doc! { "_id": &id, "revision": expected as i64 };
        match c.replace_one(filter, to_document(doc.clone())?).await {
            Ok(r) if r.matched_count == 1 => Ok(()),
            Ok(_) => match self.get(coll, &id).await? {
                None => Err(not_found(coll, &id)),
                Some(stored) => {
                    Err(stale(coll, &id, stored.get("revision").and_then(Value::as_u64).unwrap_or(0), expected))
                }
            },
            Err(e) if is_duplicate_key(&e) => Err(self.duplicate_error(coll, &doc).await),
            Err(e) => Err(mongo_err(e)),
        }
    }

    async fn delete(&self, coll: &'static CollectionSpec, id: &str, expected: Option<u64>) -> Result<bool> {
        let c = self.collection(coll).await?;
        let mut filter = doc! { "_id": id };
        if let Some(rev) = expected {
            filter.insert("revision", rev as i64);
        }
        let deleted = c.delete_one(filter).await.map_err(mongo_err)?.deleted_count == 1;
        if !deleted {
            if let (Some(rev), Some(stored)) = (expected, self.get(coll, id).await?) {
                return Err(stale(coll, id, stored.get("revision").and_then(Value::as_u64).unwrap_or(0), rev));
            }
        }
        Ok(deleted)
    }

    async fn list(&self, coll: &'static CollectionSpec, query: &Query) -> Result<(Vec<Value>, u64)> {
        let c = self.collection(coll).await?;
        let filter = filter_document(&query.filters)?;
        let total = c.count_documents(filter.clone()).await.map_err(mongo_err)?;
        if query.limit == Some(0) {
            return Ok((Vec::new(), total));
        }
        let sort = match &query.sort {
            Some((field, desc)) if field != "id" => doc! { field_name(field): if *desc { -1 } else { 1 }, "_id": 1 },
            Some((_, true)) => doc! { "_id": -1 },
            _ => doc! { "_id": 1 },
        };
        let mut find = c.find(filter).sort(sort).skip(query.offset);
        if let Some(limit) = query.limit {
            find = find.limit(limit as i64);
        }
        let docs: Vec<Document> = find.await.map_err(mongo_err)?.try_collect().await.map_err(mongo_err)?;
        Ok((docs.into_iter().map(from_document).collect(), total))
    }

    async fn tally(&self, coll: &'static CollectionSpec, fields: &[&'static str]) -> Result<Tally> {
        let c = self.collection(coll).await?;
        let mut group = Document::new();
        for (i, f) in fields.iter().enumerate() {
            group.insert(format!("f{i}"), format!("${}", field_name(f)));
        }
        let pipeline = vec![doc! { "$group": { "_id": group, "n": { "$sum": 1 } } }];
        let groups: Vec<Document> =
            c.aggregate(pipeline).await.map_err(mongo_err)?.try_collect().await.map_err(mongo_err)?;
        let mut counts = Tally::new();
        for g in groups {
            let key = g.get_document("_id").ok();
            let key = (0..fields.len())
                .map(|i| key.and_then(|k| k.get_str(format!("f{i}")).ok()).unwrap_or("").to_string())
                .collect();
            let n = match g.get("n") {
                Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
                Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
                _ => 0,
            };
            *counts.entry(key).or_default() += n;
        }
        Ok(counts)
    }

    async fn ping(&self) -> Result<()> {
        self.db.run_command(doc! { "ping": 1 }).await.map(|_| ()).map_err(mongo_err)
    }

    fn kind(&self) -> &'static str {
        "mongodb"
    }
}
