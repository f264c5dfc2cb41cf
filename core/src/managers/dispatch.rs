//! The one place a pending change is routed by its kind to the runner that carries it out, and
//! the one policy that turns a runner's error into a retry or a failure ([`Outcome::of`]).

use crate::{
    changes::{ChangeRunner, Outcome},
    error::{Error, Result},
    model::{ChangeKind, PendingChange},
};

use super::{AlertManager, ConnectionManager, NetworkManager, ProcessManager};

/// Runs every kind of pending change.
pub struct Runners {
    pub processes: ProcessManager,
    pub connections: ConnectionManager,
    pub alerts: AlertManager,
    pub networks: NetworkManager,
}

impl Runners {
    async fn run_kind(&self, change: &PendingChange, id: &str) -> Result<Outcome> {
        let (p, c) = (&self.processes, &self.connections);
        match change.kind {
            ChangeKind::CreateProcess => p.run_create(change, id).await,
            ChangeKind::ConfigureProcess => p.run_configure(change, id, false).await,
            ChangeKind::UpdateProcessParameters => p.run_configure(change, id, true).await,
            ChangeKind::UpdateProcessEnvironment => p.run_update_environment(id).await,
            ChangeKind::SuspendProcess => p.run_suspend(change, id).await,
            ChangeKind::ResumeProcess => p.run_resume(id).await,
            ChangeKind::MoveProcess => p.run_move(id).await,
            ChangeKind::DeleteProcess => p.run_delete(change, id).await,
            ChangeKind::DeliverWebhook => self.alerts.run_deliver(change, id).await,
            ChangeKind::ApplyDeployment => self.networks.run_deployment(id).await,
            ChangeKind::ConnectEndpoint | ChangeKind::SuspendEndpoint | ChangeKind::TerminateEndpoint => {
                let Some((record, side)) = c.side_of(change, id).await? else { return Ok(Outcome::Done) };
                match change.kind {
                    ChangeKind::ConnectEndpoint if record.connection.terminating => Ok(Outcome::Done),
                    ChangeKind::ConnectEndpoint => c.run_connect(record, side).await,
                    ChangeKind::SuspendEndpoint => c.run_suspend(record, side).await,
                    _ => c.run_terminate(record, side).await,
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl ChangeRunner for Runners {
    async fn run(&self, change: &PendingChange) -> Outcome {
        let Some(id) = change.resources.first() else {
            return Outcome::Fail(format!("a change of kind {} without the id of what it changes", change.kind));
        };
        Outcome::of(self.run_kind(change, id).await)
    }
}

impl Outcome {
    /// The error policy of every runner, so that runners can use `?`: a request refused for good
    /// (a connector's [`Error::Refused`]: Docker answered 400) or a malformed change
    /// ([`Error::BadRequest`]) fails the change now, with its reason; anything else (Docker, the registry, the store or a
    /// process unreachable for now) is tried again after the engine's back-off, until the
    /// change's `max_attempts`.
    pub fn of(result: Result<Outcome>) -> Outcome {
        match result {
            Ok(outcome) => outcome,
            Err(Error::Refused(reason) | Error::BadRequest(reason)) => Outcome::Fail(reason),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}
