use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

/// A person who logs in. The password hash is kept in the store's `UserRecord` only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub admin: bool,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Bumped by every change; name it when you update the user.
    pub revision: u64,
}

/// An API token as its owner sees it after creation: the secret itself is shown only once,
/// in [`NewApiToken`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub created: DateTime<Utc>,
    pub last_used: Option<DateTime<Utc>>,
    pub revision: u64,
}

/// The answer to creating a token: the only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewApiToken {
    pub token: ApiToken,
    /// Send as `Authorization: Bearer <secret>`. It cannot be shown again.
    pub secret: String,
}
