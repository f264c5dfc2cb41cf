use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Process,
    Connection,
    /// A node or a node pool.
    Node,
    PendingChange,
    /// The service catalogue (read from the registry).
    Catalogue,
    /// Something failed that someone should hear of (see `message`).
    Alert,
    /// A deployment (a network document applied) and its steps.
    Deployment,
}

impl Topic {
    pub const ALL: [Topic; 7] = [
        Topic::Process,
        Topic::Connection,
        Topic::Node,
        Topic::PendingChange,
        Topic::Catalogue,
        Topic::Alert,
        Topic::Deployment,
    ];

    /// Its name on the wire: the SSE `event:` field, and `topics=` in the query.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Process => "process",
            Topic::Connection => "connection",
            Topic::Node => "node",
            Topic::PendingChange => "pending_change",
            Topic::Catalogue => "catalogue",
            Topic::Alert => "alert",
            Topic::Deployment => "deployment",
        }
    }
}

impl std::str::FromStr for Topic {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Topic::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = Topic::ALL.iter().map(|t| t.as_str()).collect();
            format!("no topic '{s}' (topics: {})", known.join(", "))
        })
    }
}

/// One change, as `GET /api/v1/events` sends it (the `data:` of an SSE event whose `event:` is
/// the topic and whose `id:` is `id`). It says what changed; read the resource for the rest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveEvent {
    /// Resume after this event with `Last-Event-ID: <id>` (or `?last_event_id=`).
    pub id: String,
    pub topic: Topic,
    /// `created`, `updated` or `deleted` (`changed` for the catalogue).
    pub action: String,
    /// The id of the process, connection, node, node pool or pending change (the catalogue: empty).
    pub resource_id: String,
    /// Its state (a node: its status) after the change, where it has one.
    pub state: Option<String>,
    /// What an alert says, for people (alerts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}
