use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

/// One side of a connection: an interface of a process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Endpoint {
    pub process_id: String,
    pub interface_id: String,
    /// The interface version chosen for this side when the connection was made.
    pub interface_version_name: Option<String>,
}

/// The state of a connection as its processes report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectionState {
    Starting,
    Connected,
    Suspended,
    Interrupted,
    Terminated,
}

/// A link between an interface of one process and an interface of another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Connection {
    pub id: String,
    pub user_id: String,
    pub endpoint1: Endpoint,
    pub endpoint2: Endpoint,
    pub state: ConnectionState,
    pub created: DateTime<Utc>,
    pub revision: u64,
}
