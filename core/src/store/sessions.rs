//! tower-sessions' store on top of ours, so sessions live wherever the rest of the data does and
//! a restart of Switchyard logs nobody out.

use async_trait::async_trait;
use tower_sessions::{
    cookie::time::OffsetDateTime,
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
};

use super::{Query, SessionRecord, Store};
use crate::error::Error;

/// The session key under which the logged-in user's id is kept.
pub const USER_ID_KEY: &str = "user_id";

#[derive(Clone)]
pub struct SessionStore {
    store: Store,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionStore")
    }
}

impl SessionStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn backend(e: Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl session_store::SessionStore for SessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits; on the rare collision, draw another.
        while self.store.get::<SessionRecord>(&record.id.to_string()).await.map_err(backend)?.is_some() {
            record.id = Id::default();
        }
        self.save(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let id = record.id.to_string();
        let data: serde_json::Map<_, _> = record.data.clone().into_iter().collect();
        let user_id = data.get(USER_ID_KEY).and_then(|v| v.as_str()).map(str::to_string);
        let expires = record.expiry_date.unix_timestamp();
        match self.store.get::<SessionRecord>(&id).await.map_err(backend)? {
            Some(old) => {
                // An idle-expiry session is saved on every request only to push its expiry
                // back; skip writes that would move it by less than a minute (or a tenth of its
                // lifetime, for short ones) when nothing else changed.
                let remaining = expires - OffsetDateTime::now_utc().unix_timestamp();
                if old.data == data && (expires - old.expires) < (remaining / 10).min(60) {
                    return Ok(());
                }
                let new = SessionRecord { id, user_id, data, expires, revision: old.revision };
                match self.store.update(&new).await {
                    // Two requests of one session saving at once: the last write wins, as in
                    // every session store; both carry the same user.
                    Ok(_) | Err(Error::StaleRevision(_)) => Ok(()),
                    Err(e) => Err(backend(e)),
                }
            }
            None => {
                let new = SessionRecord { id, user_id, data, expires, revision: 0 };
                self.store.insert(&new).await.map(|_| ()).map_err(backend)
            }
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(rec) = self.store.get::<SessionRecord>(&id.to_string()).await.map_err(backend)? else {
            return Ok(None);
        };
        let expiry_date = OffsetDateTime::from_unix_timestamp(rec.expires)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        if expiry_date <= OffsetDateTime::now_utc() {
            return Ok(None);
        }
        Ok(Some(Record { id: *id, data: rec.data.into_iter().collect(), expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete::<SessionRecord>(&id.to_string(), None).await.map(|_| ()).map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for SessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let (expired, _) = self.store.list::<SessionRecord>(&Query::all().lt("expires", now)).await.map_err(backend)?;
        for rec in expired {
            self.store.delete::<SessionRecord>(&rec.id, Some(rec.revision)).await.ok();
        }
        Ok(())
    }
}

impl Store {
    /// End every session of a user (after deletion or a password change), but `keep`.
    pub async fn end_sessions_of(&self, user_id: &str, keep: Option<&str>) -> crate::Result<u64> {
        let (sessions, _) = self.list::<SessionRecord>(&Query::all().eq("user_id", user_id)).await?;
        let mut ended = 0;
        for s in sessions.iter().filter(|s| Some(s.id.as_str()) != keep) {
            if self.delete::<SessionRecord>(&s.id, None).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }
}
