use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

/// Where a pending change is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PendingChangeState {
    /// Waiting for its `run_at` and for its resources to be free.
    Waiting,
    /// Claimed by a worker whose lease has not expired.
    Running,
    /// Failed for now; it will be tried again at `run_at`.
    Retrying,
    /// Gave up after too many attempts, or could never succeed; an owner may retry it.
    Failed,
    Done,
    Cancelled,
}

/// What a pending change does. Stored as its snake_case name (`create_process`, …), the strings
/// changes were stored with before this type existed, so stored changes still load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Create the process's swarm service.
    CreateProcess,
    /// Send a (re)started process its configuration (and its saved state, when resuming).
    ConfigureProcess,
    /// Send a running process its changed parameters.
    UpdateProcessParameters,
    /// Replace the process's container to give it a new environment.
    UpdateProcessEnvironment,
    /// Take the process's state and remove its swarm service.
    SuspendProcess,
    /// Create the swarm service of a suspended (or moving) process again.
    ResumeProcess,
    /// Tell the process to terminate, remove its service and then its record.
    DeleteProcess,
    /// The middle step of a move: remove it from its old node and point it at the new one.
    MoveProcess,
    /// Tell one side of a connection to connect (or resume) to its peer.
    ConnectEndpoint,
    /// Tell one side of a connection that its peer is suspended.
    SuspendEndpoint,
    /// Tell one side of a connection to end it.
    TerminateEndpoint,
    /// POST an alert to a webhook subscription.
    DeliverWebhook,
    /// Carry out a deployment's steps (a network document applied).
    ApplyDeployment,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 13] = [
        ChangeKind::CreateProcess,
        ChangeKind::ConfigureProcess,
        ChangeKind::UpdateProcessParameters,
        ChangeKind::UpdateProcessEnvironment,
        ChangeKind::SuspendProcess,
        ChangeKind::ResumeProcess,
        ChangeKind::DeleteProcess,
        ChangeKind::MoveProcess,
        ChangeKind::ConnectEndpoint,
        ChangeKind::SuspendEndpoint,
        ChangeKind::TerminateEndpoint,
        ChangeKind::DeliverWebhook,
        ChangeKind::ApplyDeployment,
    ];

    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::CreateProcess => "create_process",
            ChangeKind::ConfigureProcess => "configure_process",
            ChangeKind::UpdateProcessParameters => "update_process_parameters",
            ChangeKind::UpdateProcessEnvironment => "update_process_environment",
            ChangeKind::SuspendProcess => "suspend_process",
            ChangeKind::ResumeProcess => "resume_process",
            ChangeKind::DeleteProcess => "delete_process",
            ChangeKind::MoveProcess => "move_process",
            ChangeKind::ConnectEndpoint => "connect_endpoint",
            ChangeKind::SuspendEndpoint => "suspend_endpoint",
            ChangeKind::TerminateEndpoint => "terminate_endpoint",
            ChangeKind::DeliverWebhook => "deliver_webhook",
            ChangeKind::ApplyDeployment => "apply_deployment",
        }
    }

    /// Whether it removes or replaces the process's container (or creates its first): while one
    /// is open, the reconciler leaves the process alone.
    pub fn replaces_container(self) -> bool {
        matches!(
            self,
            ChangeKind::CreateProcess
                | ChangeKind::SuspendProcess
                | ChangeKind::ResumeProcess
                | ChangeKind::MoveProcess
                | ChangeKind::DeleteProcess
                | ChangeKind::UpdateProcessEnvironment
        )
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ChangeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ChangeKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("no kind of change '{s}'"))
    }
}

/// A durable unit of work that changes the outside world (Docker or a running process).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingChange {
    pub id: String,
    /// What it does.
    pub kind: ChangeKind,
    /// A sentence for people.
    pub description: String,
    pub user_id: String,
    /// Ids of the things it changes; changes that share one never run at once.
    pub resources: Vec<String>,
    pub state: PendingChangeState,
    pub attempts: u32,
    /// It is given up (`Failed`) after this many attempts.
    pub max_attempts: u32,
    pub last_error: Option<String>,
    pub created: DateTime<Utc>,
    /// Not before this time.
    pub run_at: DateTime<Utc>,
    /// While `Running`: until when its worker holds it. A change whose lease has run out (its
    /// worker died) is taken up again.
    pub lease_until: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// The change's own parameters (ids, not snapshots of the things it changes).
    pub payload: serde_json::Value,
    pub revision: u64,
}

impl PendingChangeState {
    /// Whether it will never run again (unless an owner retries a `Failed` one).
    pub fn is_final(self) -> bool {
        matches!(self, PendingChangeState::Failed | PendingChangeState::Done | PendingChangeState::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::ChangeKind;

    #[test]
    fn kinds_are_stored_under_the_names_they_always_had() {
        for kind in ChangeKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<ChangeKind>(&json).unwrap(), kind);
            assert_eq!(kind.as_str().parse::<ChangeKind>(), Ok(kind));
        }
        assert_eq!(ChangeKind::CreateProcess.as_str(), "create_process");
        assert_eq!(ChangeKind::TerminateEndpoint.as_str(), "terminate_endpoint");
        assert!("create_swarm_service".parse::<ChangeKind>().is_err());
    }
}
