use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What Switchyard alerts about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A process failed, or its container stopped and the swarm is starting a new one.
    ProcessFailed,
    /// A pending change failed for good (it will not be tried again unless retried).
    ChangeFailed,
    /// A node went down, lost its connection to the swarm or left it.
    NodeDown,
    /// A connection stayed interrupted (longer than `SWITCHYARD_ALERT_INTERRUPTED_SECS`).
    ConnectionInterrupted,
}

impl AlertKind {
    pub const ALL: [AlertKind; 4] =
        [AlertKind::ProcessFailed, AlertKind::ChangeFailed, AlertKind::NodeDown, AlertKind::ConnectionInterrupted];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::ProcessFailed => "process_failed",
            AlertKind::ChangeFailed => "change_failed",
            AlertKind::NodeDown => "node_down",
            AlertKind::ConnectionInterrupted => "connection_interrupted",
        }
    }
}

/// What a webhook receives (the JSON body of the POST), and what the UI's toast says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    /// Unique per alert; a retried delivery carries the same id.
    pub id: String,
    pub kind: AlertKind,
    pub at: DateTime<Utc>,
    /// Whose thing it is (none for a public or unidentified node).
    pub user_id: Option<String>,
    /// `process`, `pending change`, `node` or `connection`.
    pub resource_kind: String,
    pub resource_id: String,
    pub resource_name: Option<String>,
    /// A sentence for people: "process sensor-1 failed: its container stopped (killed, exit code 137)…".
    pub message: String,
}

/// A webhook subscription: where alerts are POSTed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: String,
    /// Its owner: alerts about their things go to it.
    pub user_id: String,
    /// An administrator's subscription to everyone's alerts (and those about public nodes).
    pub global: bool,
    pub url: String,
    /// The kinds of alert it receives.
    pub events: Vec<AlertKind>,
    pub created: DateTime<Utc>,
    /// How the last delivery went.
    pub last_delivery: Option<WebhookDelivery>,
    pub revision: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub at: DateTime<Utc>,
    pub alert_id: String,
    pub ok: bool,
    /// The HTTP status the target answered, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// A subscription to create.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An http:// or https:// URL.
    pub url: String,
    /// The kinds to send (default: all).
    #[serde(default)]
    pub events: Option<Vec<AlertKind>>,
    /// Everyone's alerts (administrators only).
    #[serde(default)]
    pub global: bool,
}

/// The answer to creating a subscription: the only time its signing secret is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    /// Deliveries carry `X-Switchyard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with this secret>`.
    pub secret: String,
}
