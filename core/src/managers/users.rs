//! Users, their passwords, sessions and API tokens.

use std::{path::PathBuf, sync::Arc};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{Caller, ListParams};
use crate::{
    auth::{self, LoginThrottle},
    error::{Error, Result},
    model::{ApiToken, NewApiToken, Node, Page, User},
    store::{new_id, ApiTokenRecord, Query, Store, UserRecord, USER_ID_KEY},
    validate,
};

/// What an administrator gives to create a user.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub admin: bool,
}

/// A change to a user; absent fields stay as they are. `revision` is the one the change is based on.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub revision: u64,
    /// A new address, or an empty string to remove it.
    #[serde(default)]
    pub email: Option<String>,
    /// Only administrators may change this.
    #[serde(default)]
    pub admin: Option<bool>,
}

#[derive(Clone)]
pub struct UserManager {
    store: Store,
    throttle: Arc<LoginThrottle>,
    /// Where the generated first password was written, removed once it is changed.
    initial_password_file: Option<PathBuf>,
}

const SORTABLE: &[&str] = &["username", "email", "admin", "created", "updated"];

impl UserManager {
    pub fn new(store: Store, initial_password_file: Option<PathBuf>) -> Self {
        Self { store, throttle: Arc::new(LoginThrottle::default()), initial_password_file }
    }

    /// On the first start (no users at all), create the administrator `admin`. Returns the
    /// password when it was generated here, so it can be shown once.
    pub async fn ensure_first_admin(&self, configured_password: Option<String>) -> Result<Option<String>> {
        if self.store.count::<UserRecord>(Query::all()).await? > 0 {
            return Ok(None);
        }
        let (password, generated) = match configured_password {
            Some(p) => {
                validate::password("SWITCHYARD_ADMIN_PASSWORD", &p)?;
                (p, false)
            }
            None => (auth::generate_password(), true),
        };
        self.insert("admin".into(), password.clone(), None, true).await?;
        if generated {
            if let Some(file) = &self.initial_password_file {
                write_private(file, &format!("{password}\n"))
                    .map_err(|e| Error::Internal(format!("writing {}: {e}", file.display())))?;
            }
        }
        Ok(generated.then_some(password))
    }

    async fn insert(&self, username: String, password: String, email: Option<String>, admin: bool) -> Result<User> {
        let now = Utc::now();
        let record = UserRecord {
            user: User { id: new_id(), username, email, admin, created: now, updated: now, revision: 0 },
            password_hash: auth::hash_password(password).await?,
        };
        Ok(self.store.insert(&record).await?.user)
    }

    /// Check a username and password from a client at `client`. Failures say only that the pair
    /// is wrong; repeated failures from one address slow that address down (never the account:
    /// see [`LoginThrottle`]).
    pub async fn login(&self, username: &str, password: &str, client: std::net::IpAddr) -> Result<User> {
        let attempt = self.throttle.begin(client)?;
        let key = username.trim().to_lowercase();
        let plausible = key.len() <= 64 && password.len() <= auth::CREDENTIAL_MAX;
        let record = if plausible { self.store.find_one::<UserRecord>("username", key.as_str()).await? } else { None };
        let password = password.chars().take(auth::CREDENTIAL_MAX).collect::<String>();
        let ok = attempt
            .verify(async {
                match &record {
                    Some(r) if !password.is_empty() => auth::verify_password(password, r.password_hash.clone()).await,
                    _ => {
                        auth::dummy_verify(password).await;
                        false
                    }
                }
            })
            .await?;
        match record {
            Some(r) if ok => {
                crate::audit::note_actor(&Caller { user: r.user.clone() }, None);
                Ok(r.user)
            }
            _ => {
                attempt.failed();
                Err(Error::Unauthenticated("wrong username or password".into()))
            }
        }
    }

    /// The user a session or token names, if they still exist.
    pub async fn caller(&self, user_id: &str) -> Result<Option<Caller>> {
        Ok(self.store.get::<UserRecord>(user_id).await?.map(|r| Caller { user: r.user }))
    }

    /// Who a stored session still belongs to: `None` once it was logged out, expired or its user
    /// deleted. For long-lived requests (the event stream), which check again now and then.
    pub async fn stored_session_caller(&self, session_id: &str) -> Result<Option<Caller>> {
        let Some(record) = self.store.get::<crate::store::SessionRecord>(session_id).await? else { return Ok(None) };
        let user_id = record.data.get(USER_ID_KEY).and_then(|v| v.as_str()).map(str::to_string);
        match user_id {
            Some(user_id) if record.expires > Utc::now().timestamp() => self.caller(&user_id).await,
            _ => Ok(None),
        }
    }

    /// Start a logged-in session for `user` under a fresh id (a session planted before login is
    /// void). The one place a session learns whose it is; the REST API and the UI both log in here.
    pub async fn start_session(&self, session: &tower_sessions::Session, user: &User) -> Result<()> {
        session.cycle_id().await.map_err(|e| Error::Internal(e.to_string()))?;
        session.insert(USER_ID_KEY, &user.id).await.map_err(|e| Error::Internal(e.to_string()))
    }

    /// The caller a session belongs to, read afresh from the store; `None` when no one is logged
    /// in. The session of a user who was deleted meanwhile is ended. The one session lookup, used
    /// by the REST API, the page gate and the server functions alike.
    pub async fn session_caller(&self, session: &tower_sessions::Session) -> Result<Option<Caller>> {
        let user_id: Option<String> = session.get(USER_ID_KEY).await.map_err(|e| Error::Internal(e.to_string()))?;
        let Some(user_id) = user_id else { return Ok(None) };
        match self.caller(&user_id).await? {
            Some(caller) => {
                crate::audit::note_actor(&caller, None);
                Ok(Some(caller))
            }
            None => {
                let _ = session.flush().await;
                Ok(None)
            }
        }
    }

    /// The user an API token secret belongs to.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Caller> {
        let invalid = || Error::Unauthenticated("the API token is not valid (revoked, or never issued)".into());
        if !secret.starts_with(auth::TOKEN_PREFIX) {
            return Err(invalid());
        }
        let hash = auth::hash_token_secret(secret);
        let record = self.store.find_one::<ApiTokenRecord>("secret_hash", hash).await?.ok_or_else(invalid)?;
        let caller = self.caller(&record.token.user_id).await?.ok_or_else(invalid)?;
        crate::audit::note_actor(&caller, Some(&record.token.id));
        // Record use at minute resolution: enough to spot stale tokens, without a write per call.
        let now = Utc::now();
        if record.token.last_used.is_none_or(|t| (now - t).num_seconds() >= 60) {
            let mut updated = record.clone();
            updated.token.last_used = Some(now);
            let _ = self.store.update(&updated).await;
        }
        Ok(caller)
    }

    pub async fn list(
        &self,
        caller: &Caller,
        params: &ListParams,
        search: Option<&str>,
        admin: Option<bool>,
    ) -> Result<Page<User>> {
        caller.require_admin()?;
        let (mut query, page, per_page) = params.to_query(SORTABLE, "username")?;
        if let Some(s) = search.filter(|s| !s.is_empty()) {
            query = query.contains("username", s);
        }
        if let Some(a) = admin {
            query = query.eq("admin", a);
        }
        let (records, total) = self.store.list::<UserRecord>(&query).await?;
        Ok(Page { items: records.into_iter().map(|r| r.user).collect(), total, page, per_page })
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<User> {
        validate::id("user", id)?;
        caller.require_owner_or_admin(id, "user", id)?;
        Ok(self.store.fetch::<UserRecord>(id).await?.user)
    }

    pub async fn create(&self, caller: &Caller, new: NewUser) -> Result<User> {
        caller.require_admin()?;
        validate::username(&new.username)?;
        validate::password("password", &new.password)?;
        let email = normalise_email(new.email)?;
        self.insert(new.username, new.password, email, new.admin).await
    }

    pub async fn update(&self, caller: &Caller, id: &str, change: UserUpdate) -> Result<User> {
        validate::id("user", id)?;
        caller.require_owner_or_admin(id, "user", id)?;
        if change.admin.is_some() && !caller.is_admin() {
            return Err(Error::Forbidden("only administrators may grant or revoke administrator rights".into()));
        }
        let email = change.email.clone().map(|e| normalise_email(Some(e))).transpose()?;
        let mut record = self.store.fetch::<UserRecord>(id).await?;
        if record.user.revision != change.revision {
            return Err(Error::StaleRevision(format!(
                "user '{}' was changed by someone else (it is at revision {}, the change was based on {}); reload it and try again",
                record.user.username, record.user.revision, change.revision
            )));
        }
        if change.admin == Some(false) && record.user.admin {
            self.ensure_not_last_admin(&record.user, "remove administrator rights from").await?;
        }
        if let Some(email) = email {
            record.user.email = email;
        }
        if let Some(admin) = change.admin {
            record.user.admin = admin;
        }
        record.user.updated = Utc::now();
        Ok(self.store.update(&record).await?.user)
    }

    async fn ensure_not_last_admin(&self, user: &User, action: &str) -> Result<()> {
        let admins = self.store.count::<UserRecord>(Query::all().eq("admin", true)).await?;
        if user.admin && admins <= 1 {
            return Err(Error::Conflict(format!("cannot {action} '{}': it is the only administrator", user.username)));
        }
        Ok(())
    }

    /// Delete a user with their tokens and sessions. `revision`, when given, must be current.
    /// Refused while they own processes, private nodes or connections (the error names them):
    /// those are ended or handed on first, so nothing keeps running without an owner.
    pub async fn delete(&self, caller: &Caller, id: &str, revision: Option<u64>) -> Result<()> {
        validate::id("user", id)?;
        caller.require_admin()?;
        if caller.user.id == id {
            return Err(Error::Conflict("you cannot delete your own account".into()));
        }
        let record = self.store.fetch::<UserRecord>(id).await?;
        self.ensure_not_last_admin(&record.user, "delete").await?;
        let owned = self.owned_by(id).await?;
        if !owned.is_empty() {
            return Err(Error::Conflict(format!(
                "'{}' still owns {}: delete their processes and connections and hand their private nodes to someone else first",
                record.user.username,
                owned.join("; ")
            )));
        }
        if !self.store.delete::<UserRecord>(id, revision).await? {
            return Err(Error::NotFound(format!("no user with id '{id}'")));
        }
        self.store.end_sessions_of(id, None).await?;
        self.revoke_all_tokens(id).await?;
        Ok(())
    }

    /// What a user owns that must not outlive them, as phrases ("2 processes: a, b").
    async fn owned_by(&self, id: &str) -> Result<Vec<String>> {
        fn phrase(what: &str, names: Vec<String>, total: u64) -> Option<String> {
            if total == 0 {
                return None;
            }
            let more = if total as usize > names.len() {
                format!(" and {} more", total as usize - names.len())
            } else {
                String::new()
            };
            let plural =
                if total == 1 { what.trim_end_matches('s').replace("processe", "process") } else { what.to_string() };
            Some(format!("{total} {plural}: {}{more}", names.join(", ")))
        }
        let first = |q: Query| q.sort("created", false).page(0, 5);
        let (processes, n_processes) =
            self.store.list::<crate::store::ProcessRecord>(&first(Query::all().eq("user_id", id))).await?;
        let (nodes, n_nodes) = self.store.list::<Node>(&Query::all().eq("user_id", id).page(0, 5)).await?;
        let live = Query::all().eq("user_id", id).ne("state", "TERMINATED");
        let (connections, n_connections) = self.store.list::<super::ConnectionRecord>(&first(live)).await?;
        Ok([
            phrase("processes", processes.into_iter().map(|r| format!("'{}'", r.process.name)).collect(), n_processes),
            phrase("private nodes", nodes.into_iter().map(|n| format!("'{}'", n.name)).collect(), n_nodes),
            phrase("connections", connections.into_iter().map(|c| c.connection.id).collect(), n_connections),
        ]
        .into_iter()
        .flatten()
        .collect())
    }

    async fn revoke_all_tokens(&self, user_id: &str) -> Result<u64> {
        let (tokens, _) = self.store.list::<ApiTokenRecord>(&Query::all().eq("user_id", user_id)).await?;
        let mut n = 0;
        for t in tokens {
            if self.store.delete::<ApiTokenRecord>(&t.token.id, None).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Change a password. Users changing their own must give the current one; an administrator
    /// resetting someone else's need not. Either way the user's API tokens are revoked and their
    /// sessions end, all but `current_session` (the one that made the change, when it is their
    /// own): whoever knew the old password is out.
    pub async fn set_password(
        &self,
        caller: &Caller,
        id: &str,
        current: Option<&str>,
        new_password: &str,
        current_session: Option<&str>,
    ) -> Result<()> {
        validate::id("user", id)?;
        caller.require_owner_or_admin(id, "user", id)?;
        validate::password("new_password", new_password)?;
        let own = caller.user.id == id;
        let record = self.store.fetch::<UserRecord>(id).await?;
        if own {
            let current = current.unwrap_or("");
            if current.is_empty() {
                return Err(Error::invalid("current_password", "give your current password"));
            }
            if !auth::verify_password(current.to_string(), record.password_hash.clone()).await {
                return Err(Error::invalid("current_password", "the current password is wrong"));
            }
        }
        let hash = auth::hash_password(new_password.to_string()).await?;
        self.store
            .modify::<UserRecord>(id, |r| {
                r.password_hash = hash.clone();
                r.user.updated = Utc::now();
                Ok(())
            })
            .await?;
        let sessions = self.store.end_sessions_of(id, if own { current_session } else { None }).await?;
        let tokens = self.revoke_all_tokens(id).await?;
        tracing::info!(user = %record.user.username, by = %caller.user.username, sessions, tokens, "password changed; other sessions ended, API tokens revoked");
        if record.user.username == "admin" {
            if let Some(file) = &self.initial_password_file {
                let _ = std::fs::remove_file(file);
            }
        }
        Ok(())
    }

    pub async fn list_tokens(&self, caller: &Caller) -> Result<Vec<ApiToken>> {
        let query = Query::all().eq("user_id", caller.user.id.as_str()).sort("created", false);
        let (records, _) = self.store.list::<ApiTokenRecord>(&query).await?;
        Ok(records.into_iter().map(|r| r.token).collect())
    }

    pub async fn create_token(&self, caller: &Caller, name: &str) -> Result<NewApiToken> {
        validate::name("name", name)?;
        let secret = auth::new_token_secret();
        let record = ApiTokenRecord {
            token: ApiToken {
                id: new_id(),
                user_id: caller.user.id.clone(),
                name: name.trim().to_string(),
                prefix: secret.chars().take(8).collect(),
                created: Utc::now(),
                last_used: None,
                revision: 0,
            },
            secret_hash: auth::hash_token_secret(&secret),
        };
        let stored = self.store.insert(&record).await?;
        Ok(NewApiToken { token: stored.token, secret })
    }

    /// Revoke one of the caller's tokens (administrators may revoke anyone's).
    pub async fn revoke_token(&self, caller: &Caller, id: &str) -> Result<()> {
        validate::id("API token", id)?;
        let record = self.store.fetch::<ApiTokenRecord>(id).await?;
        caller.require_owner_or_admin(&record.token.user_id, "API token", id)?;
        self.store.delete::<ApiTokenRecord>(id, None).await?;
        Ok(())
    }
}

fn normalise_email(email: Option<String>) -> Result<Option<String>> {
    match email.map(|e| e.trim().to_string()) {
        None => Ok(None),
        Some(e) if e.is_empty() => Ok(None),
        Some(e) => {
            validate::email(&e)?;
            Ok(Some(e))
        }
    }
}

fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(content.as_bytes())
}
