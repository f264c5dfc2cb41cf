use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One change made through the API or the UI (or refused there): who, when, what, from where,
/// and how it ended. Kept for the retention period (`SWITCHYARD_AUDIT_RETENTION_DAYS`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    /// `at` in milliseconds since 1970, for ranges.
    pub at_ms: i64,
    pub actor: AuditActor,
    /// `ui` (the web UI), `api` (the REST API) or `switchyard` (Switchyard itself).
    pub via: String,
    /// The client's address, as the server saw it (behind a trusted proxy: the proxy's word).
    pub address: Option<String>,
    /// What was asked: `POST /api/v1/processes`, or the UI's operation (`create_process`).
    pub action: String,
    /// A sentence for people: "created process sensor-1".
    pub summary: String,
    /// What it changed, in the order it changed them.
    pub resources: Vec<AuditResource>,
    /// The ids of the resources, for filtering.
    pub resource_ids: Vec<String>,
    /// The users whose things it touched, and the actor: who may read the entry (and admins).
    pub owners: Vec<String>,
    pub outcome: AuditOutcome,
    pub revision: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditActor {
    /// `user` (a session), `token` (an API token), `switchyard` or `anonymous` (not logged in).
    pub kind: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    /// The API token's id, when it was one.
    pub token_id: Option<String>,
}

/// One resource a change touched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditResource {
    /// `process`, `connection`, `node`, `node pool`, `user`, `API token`, `pending change`.
    pub kind: String,
    pub id: String,
    pub name: Option<String>,
    /// `created`, `updated` or `deleted`.
    pub change: String,
    /// The fields that changed, before → after; secrets are masked.
    pub fields: Vec<FieldChange>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    /// As JSON text; `null` when the field was not there.
    pub before: String,
    pub after: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditOutcome {
    /// The HTTP status of the answer.
    pub status: u16,
    pub ok: bool,
    /// Why it was refused or failed.
    pub error: Option<String>,
}
