//! Moving a process to another node: the plan (suspend it, relocate it, resume it there, each a
//! pending change) and the middle step that relocates it.

use super::*;

impl ProcessManager {
    /// Move a process to another node or node pool. A running process is suspended (handing
    /// over its state), removed from its node, created on a node of the new placement and
    /// resumed there with that state; its connections are suspended and resumed with it. A
    /// suspended process moves and stays suspended. Each step is a pending change.
    pub async fn move_process(&self, caller: &Caller, id: &str, request: ProcessMove) -> Result<Process> {
        let record = self.record_for(caller, id).await?;
        check_revision(&record.process, request.revision)?;
        let p = &record.process;
        if p.state == ProcessState::Terminated {
            return Err(Error::Conflict("this process is being deleted".into()));
        }
        if record.moving_to.is_some() || self.0.engine.has_open(id, ChangeKind::MoveProcess).await? {
            return Err(Error::Conflict(format!("process '{}' is being moved already", p.name)));
        }
        let owner: User = self.0.store.fetch::<UserRecord>(&p.user_id).await?.user;
        let service = self.service_of(p).await?;
        let (node, reason) =
            self.place(&owner, &request.placement, &service, &p.limits, p.running_node_id.as_deref()).await?;
        if Some(node.id.as_str()) == p.running_node_id.as_deref() {
            // It runs there already: only its placement changes.
            let (now, placement) = (Utc::now(), request.placement);
            let updated = self
                .0
                .store
                .modify::<ProcessRecord>(id, |r| {
                    r.process.placement = placement.clone();
                    r.process.config_revision = r.process.revision + 1;
                    r.process.placement_reason = Some(reason.clone());
                    r.process.updated = now;
                    Ok(())
                })
                .await?;
            return Ok(updated.process);
        }
        let image = self.image_for(&service, &node);
        self.start_move(
            record,
            MoveTarget {
                node_id: node.id.clone(),
                node_name: node.name.clone(),
                placement: request.placement,
                image,
                reason,
                upgrade: None,
            },
        )
        .await
    }

    /// The service version a process runs, as the registry describes it now.
    pub(crate) async fn service_of(&self, p: &Process) -> Result<Service> {
        match self.0.services.get(&p.service_id, Some(&p.service_version)).await {
            Err(Error::NotFound(_)) => Err(Error::Conflict(format!(
                "version {} of {} is no longer in the registry, so there is no image to run elsewhere",
                p.service_version, p.service_id
            ))),
            other => other,
        }
    }

    /// Record where a process goes and submit the steps of its move: suspend it (when it
    /// runs), relocate it, and start or resume it there (unless it was suspended). The target
    /// comes from [`ProcessManager::place`] or [`ProcessManager::choose_away`].
    pub(crate) async fn start_move(&self, record: ProcessRecord, target: MoveTarget) -> Result<Process> {
        let id = record.process.id.clone();
        let was = record.process.state;
        let now = Utc::now();
        let note = match &target.upgrade {
            Some(u) => format!("upgrading to version {} on {}", u.service_version, target.node_name),
            None => format!("moving to {}: {}", target.node_name, target.reason),
        };
        let updated = self
            .0
            .store
            .modify::<ProcessRecord>(&id, |r| {
                if r.moving_to.is_some() {
                    return Err(Error::Conflict(format!("process '{}' is being moved already", r.process.name)));
                }
                r.moving_to = Some(target.clone());
                r.process.moving_to_node_id = Some(target.node_id.clone());
                r.process.config_revision = r.process.revision + 1;
                r.process.note(note.clone(), now);
                r.process.updated = now;
                Ok(())
            })
            .await?;
        let p = &updated.process;
        let from = self.node_name(p.running_node_id.as_deref()).await?;
        let to = &target.node_name;
        let steps = match &target.upgrade {
            Some(u) => upgrade_steps(&p.name, was, &u.from_version, &u.service_version),
            None => move_steps(&p.name, was, &from, to),
        };
        for (kind, what) in steps {
            self.0.engine.submit(NewChange::new(kind, &p.user_id, &id, what)).await?;
        }
        tracing::info!(process = %id, from = %from, to = %to, "moving");
        Ok(updated.process)
    }

    /// The middle step of a move: remove the process's swarm service from its old node and
    /// point its record at the new one (with the image for that node's architecture).
    pub(in crate::managers) async fn run_move(&self, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else { return Ok(Outcome::Done) };
        let Some(target) = record.moving_to.clone() else { return Ok(Outcome::Done) };
        if record.process.state == ProcessState::Terminated {
            return Ok(Outcome::Done);
        }
        self.remove_container(id).await?;
        let from = self.node_name(record.process.running_node_id.as_deref()).await?;
        let now = Utc::now();
        self.0
            .store
            .modify::<ProcessRecord>(id, |r| {
                r.process.running_node_id = Some(target.node_id.clone());
                r.process.placement = target.placement.clone();
                r.process.placement_reason = Some(target.reason.clone());
                r.process.image = Some(target.image.clone());
                r.process.moving_to_node_id = None;
                r.moving_to = None;
                if let Some(u) = &target.upgrade {
                    r.process.service_version = u.service_version.clone();
                    r.process.interfaces = u.interfaces.clone();
                    r.process.parameters = u.parameters.clone();
                    r.process.environment = u.environment.clone();
                    r.process.limits = u.limits.clone();
                    let what = if u.from_version == u.service_version {
                        format!("limits changed (version {})", u.service_version)
                    } else {
                        format!("upgraded from version {} to {}", u.from_version, u.service_version)
                    };
                    r.process.note(what, now);
                }
                if r.process.state == ProcessState::Suspended {
                    r.process.note(format!("moved from {from} to {}; still suspended", target.node_name), now);
                } else {
                    let why = format!("moved from {from} to {}; starting there", target.node_name);
                    r.process.set_state(ProcessState::Starting, Some(why), now);
                }
                r.process.updated = now;
                Ok(())
            })
            .await?;
        if target.upgrade.is_some() {
            // Its connections now use the best version pair the two sides share.
            if let Some(h) = self.0.hooks.get() {
                h.upgraded(id).await?;
            }
        }
        self.changed(id).await;
        Ok(Outcome::Done)
    }
}

/// A move's pending changes, in order, for a process that was `was`: suspend it keeping its state
/// (when it runs), relocate it, then resume it there with its state, or start it (unless it stays
/// suspended).
pub(super) fn move_steps(name: &str, was: ProcessState, from: &str, to: &str) -> Vec<(ChangeKind, String)> {
    let mut steps = Vec::new();
    if was == ProcessState::Running {
        steps.push((
            ChangeKind::SuspendProcess,
            format!("Suspend process '{name}' to move it to {to}, keeping its state"),
        ));
    }
    steps.push((ChangeKind::MoveProcess, format!("Move process '{name}' from {from} to {to}")));
    match was {
        ProcessState::Suspended => {}
        ProcessState::Running => {
            steps.push((ChangeKind::ResumeProcess, format!("Resume process '{name}' on {to} with its state")))
        }
        _ => steps.push((ChangeKind::ResumeProcess, format!("Start process '{name}' on {to}"))),
    }
    steps
}

/// An upgrade's pending changes: those of a move, told as an upgrade.
pub(super) fn upgrade_steps(name: &str, was: ProcessState, from: &str, to: &str) -> Vec<(ChangeKind, String)> {
    move_steps(name, was, "", "")
        .into_iter()
        .map(|(kind, _)| {
            let what = match kind {
                ChangeKind::SuspendProcess => {
                    format!("Suspend process '{name}' to upgrade it to {to}, keeping its state")
                }
                ChangeKind::MoveProcess => format!("Replace the container of process '{name}': version {from} → {to}"),
                _ if was == ProcessState::Running => format!("Resume process '{name}' (version {to}) with its state"),
                _ => format!("Start process '{name}' (version {to})"),
            };
            (kind, what)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(was: ProcessState) -> Vec<ChangeKind> {
        move_steps("counter", was, "edge-1", "edge-2").into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn a_running_process_is_suspended_with_its_state_moved_and_resumed() {
        use ChangeKind::{MoveProcess, ResumeProcess, SuspendProcess};
        assert_eq!(kinds(ProcessState::Running), [SuspendProcess, MoveProcess, ResumeProcess]);
        let steps = move_steps("counter", ProcessState::Running, "edge-1", "edge-2");
        assert_eq!(steps[0].1, "Suspend process 'counter' to move it to edge-2, keeping its state");
        assert_eq!(steps[1].1, "Move process 'counter' from edge-1 to edge-2");
        assert_eq!(steps[2].1, "Resume process 'counter' on edge-2 with its state");
    }

    #[test]
    fn an_upgrade_takes_the_steps_of_a_move_and_says_so() {
        let steps = upgrade_steps("counter", ProcessState::Running, "1.0.0", "2.0.0");
        let kinds: Vec<ChangeKind> = steps.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [ChangeKind::SuspendProcess, ChangeKind::MoveProcess, ChangeKind::ResumeProcess]);
        assert_eq!(steps[1].1, "Replace the container of process 'counter': version 1.0.0 → 2.0.0");
        assert_eq!(steps[2].1, "Resume process 'counter' (version 2.0.0) with its state");
        assert_eq!(upgrade_steps("counter", ProcessState::Suspended, "1", "2").len(), 1);
    }

    #[test]
    fn a_suspended_process_is_only_relocated_and_a_failed_one_started_afresh() {
        assert_eq!(kinds(ProcessState::Suspended), [ChangeKind::MoveProcess]);
        let failed = move_steps("counter", ProcessState::Failed, "edge-1", "edge-2");
        assert_eq!(
            failed.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            [ChangeKind::MoveProcess, ChangeKind::ResumeProcess]
        );
        assert_eq!(failed[1].1, "Start process 'counter' on edge-2");
    }
}
