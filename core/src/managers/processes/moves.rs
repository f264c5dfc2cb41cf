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
            },
        )
        .await
    }

    /// The service version a process runs, as the registry describes it now.
    pub(super) async fn service_of(&self, p: &Process) -> Result<Service> {
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
        let note = format!("moving to {}: {}", target.node_name, target.reason);
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
        if was == ProcessState::Running {
            let what = format!("Suspend process '{}' to move it to {to}, keeping its state", p.name);
            self.0.engine.submit(NewChange::new(ChangeKind::SuspendProcess, &p.user_id, &id, what)).await?;
        }
        let what = format!("Move process '{}' from {from} to {to}", p.name);
        self.0.engine.submit(NewChange::new(ChangeKind::MoveProcess, &p.user_id, &id, what)).await?;
        if was != ProcessState::Suspended {
            let what = if was == ProcessState::Running {
                format!("Resume process '{}' on {to} with its state", p.name)
            } else {
                format!("Start process '{}' on {to}", p.name)
            };
            self.0.engine.submit(NewChange::new(ChangeKind::ResumeProcess, &p.user_id, &id, what)).await?;
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
        self.changed(id).await;
        Ok(Outcome::Done)
    }
}
