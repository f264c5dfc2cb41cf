//! The reconciler: brings the swarm in line with the records, one process at a time, every few
//! seconds; and the pruning of deletion records.

use super::*;

impl ProcessManager {
    /// The processes that should be running (not suspended or being deleted).
    pub(super) async fn live_processes(&self) -> Result<Vec<ProcessRecord>> {
        let mut live = Vec::new();
        for state in [ProcessState::Starting, ProcessState::Initializing, ProcessState::Running, ProcessState::Failed] {
            let (mut some, _) = self.0.store.list::<ProcessRecord>(&Query::all().eq("state", state.as_str())).await?;
            live.append(&mut some);
        }
        Ok(live)
    }

    /// A container runs but its process never asked for its configuration: send it anyway, over
    /// the management channel, and say so in its history.
    pub(super) async fn configure_unasked(&self, record: &ProcessRecord) -> Result<()> {
        let p = &record.process;
        if self.0.engine.has_open(&p.id, ChangeKind::ConfigureProcess).await? {
            return Ok(());
        }
        let grace = self.0.settings.trigger_grace.as_secs();
        let why = format!(
            "its container runs but did not ask for its configuration within {grace} s; Switchyard sends it unasked"
        );
        let now = Utc::now();
        self.0
            .store
            .modify::<ProcessRecord>(&p.id, |r| {
                r.process.note(why.clone(), now);
                Ok(())
            })
            .await?;
        tracing::info!(process = %p.id, "{why}");
        self.0
            .engine
            .submit(NewChange::new(
                ChangeKind::ConfigureProcess,
                &p.user_id,
                &p.id,
                format!("Send process '{}' its configuration (it did not ask for it)", p.name),
            ))
            .await?;
        self.changed(&p.id).await;
        Ok(())
    }

    /// Forget the records of processes deleted more than `keep` ago.
    pub async fn prune_removed(&self, keep: Duration) -> Result<u64> {
        let cutoff = Utc::now() - chrono::Duration::from_std(keep).unwrap_or_default();
        let (all, _) = self.0.store.list::<RemovedProcess>(&Query::all()).await?;
        let mut n = 0;
        for r in all.into_iter().filter(|r| r.removed < cutoff) {
            if self.0.store.delete::<RemovedProcess>(&r.id, Some(r.revision)).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Bring the swarm in line with the records, once: a process whose swarm service vanished
    /// gets it back; a task that cannot start or a container that died shows why; a node that
    /// left shows as the reason; services of this installation without a process are removed.
    pub async fn reconcile(&self) -> Result<()> {
        let records = self.live_processes().await?;
        let open = self.0.engine.open_changes().await?;
        // A process whose container an open change removes or replaces is that change's to mind.
        let busy = |id: &str| open.iter().any(|c| c.kind.replaces_container() && c.resources.iter().any(|r| r == id));
        let (nodes, _) = self.0.store.list::<Node>(&Query::all()).await?;
        for record in &records {
            let p = &record.process;
            if busy(&p.id) {
                continue;
            }
            if let Err(e) = self.reconcile_one(record, &nodes).await {
                tracing::warn!(process = %p.id, error = %e, "reconciling process");
            }
        }
        // Services of this installation whose process is gone. One is removed only when a
        // record says its process was deleted, and never in the first round after start: a store
        // that is not the one these services were made from (an old backup, another place) must
        // not cost anyone their processes.
        let first_round = self.0.rounds.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0;
        let ours = self.0.docker.services_of_instance(&self.0.settings.instance_id).await?;
        for name in ours {
            if busy(&name) || self.0.store.get::<ProcessRecord>(&name).await?.is_some() {
                continue;
            }
            if self.0.store.get::<RemovedProcess>(&name).await?.is_some() {
                if !first_round {
                    tracing::info!(service = %name, "removing the swarm service of a deleted process");
                    self.0.docker.remove_service(&name).await?;
                }
            } else if self.0.strays.lock().expect("not poisoned").insert(name.clone()) {
                tracing::warn!(
                    service = %name,
                    "a swarm service of this installation has no process record and no record of its deletion: left alone \
                     (was the store restored from an older backup?); remove it with `docker service rm {name}` if it is not wanted"
                );
            }
        }
        Ok(())
    }

    pub(super) async fn reconcile_one(&self, record: &ProcessRecord, nodes: &[Node]) -> Result<()> {
        let p = &record.process;
        let id = p.id.as_str();
        let exists = self.0.docker.service_labels(id).await?.is_some();
        if !exists && record.refused.is_some() {
            // Docker refused it for good; its failed change says why and can be retried.
            return Ok(());
        }
        if !exists {
            // Never created (Switchyard stopped between saving the process and its change, or
            // its create change gave up): it is still starting. Otherwise it was removed.
            let never_created = !record.has_run && record.task_id.is_none() && p.state == ProcessState::Starting;
            let what = if never_created {
                format!("Create the swarm service of process '{}' (it has none yet)", p.name)
            } else {
                let why = "its swarm service was removed outside Switchyard; recreating it";
                self.set_state(id, ProcessState::Failed, Some(why.into())).await?;
                format!("Recreate the swarm service of process '{}' (removed outside Switchyard)", p.name)
            };
            self.0.engine.submit(NewChange::new(ChangeKind::CreateProcess, &p.user_id, id, what)).await?;
            return Ok(());
        }
        let node = p.running_node_id.as_deref().and_then(|n| nodes.iter().find(|x| x.id == n));
        if let Some(node) =
            node.filter(|n| matches!(n.status, NodeStatus::Down | NodeStatus::Missing | NodeStatus::Disconnected))
        {
            let status = format!("{:?}", node.status).to_lowercase();
            let mut reason = format!("its node {} is {status}", node.name);
            let mut target = None;
            if record.moving_to.is_none() {
                if p.move_on_failure {
                    match self.choose_away(record, node).await {
                        Ok(t) => {
                            reason = format!("{reason}; moving it to {}", t.node_name);
                            target = Some(t);
                        }
                        Err(e) => reason = format!("{reason}; it cannot be moved: {e}"),
                    }
                } else {
                    reason
                        .push_str("; it runs again when the node returns (it is not set to move when its node fails)");
                }
            }
            self.set_state(id, ProcessState::Failed, Some(reason)).await?;
            if let Some(target) = target {
                if let Some(fresh) = self.load(id).await? {
                    self.start_move(fresh, target).await?;
                }
            }
            return Ok(());
        }
        let tasks = self.0.docker.tasks(id).await?;
        let Some(latest) = tasks.first() else { return Ok(()) };
        let running = tasks.iter().find(|t| t.state == TaskState::Running);
        match running {
            Some(task) => {
                if p.state == ProcessState::Starting && running_longer_than(task, self.0.settings.trigger_grace) {
                    self.configure_unasked(record).await?;
                }
                if record.task_id.as_deref() != Some(task.id.as_str()) {
                    // A container Switchyard has not configured: say what became of the old one.
                    let previous = record.task_id.as_deref().and_then(|old| tasks.iter().find(|t| t.id == old));
                    let reason = previous.map(|old| {
                        format!("its container stopped ({}) and the swarm started a new one", describe_exit(old))
                    });
                    let now = Utc::now();
                    let new_id = task.id.clone();
                    self.0
                        .store
                        .modify::<ProcessRecord>(id, |r| {
                            if r.task_id.as_deref() == Some(new_id.as_str()) {
                                return Ok(()); // configured meanwhile
                            }
                            let had_one = r.task_id.is_some();
                            r.task_id = Some(new_id.clone());
                            let reason = reason.clone().unwrap_or_else(|| "the swarm replaced its container".into());
                            if had_one && matches!(r.process.state, ProcessState::Running | ProcessState::Failed) {
                                // It will ask for its configuration; until then it is starting.
                                r.process.set_state(ProcessState::Starting, Some(reason), now);
                                r.process.updated = now;
                            } else if had_one && r.process.state_reason.as_deref() != Some(reason.as_str()) {
                                r.process.note(reason, now);
                            }
                            Ok(())
                        })
                        .await?;
                }
            }
            None => {
                let failed = latest.state.is_failure();
                if failed && p.state != ProcessState::Failed {
                    let reason = describe_failure(latest);
                    self.set_state(id, ProcessState::Failed, Some(reason)).await?;
                } else if !failed && p.state == ProcessState::Running {
                    // Between containers: say what became of the one that ran.
                    let old = record.task_id.as_deref().and_then(|old| tasks.iter().find(|t| t.id == old));
                    let reason = match old {
                        Some(old) => {
                            format!("its container stopped ({}); the swarm is starting a new one", describe_exit(old))
                        }
                        None => format!("its container is {}", latest.state),
                    };
                    let (seen, now) = (record.task_id.clone(), Utc::now());
                    self.0
                        .store
                        .modify::<ProcessRecord>(id, |r| {
                            // Unless a new container was configured meanwhile.
                            if r.task_id == seen && r.process.state == ProcessState::Running {
                                r.process.set_state(ProcessState::Starting, Some(reason.clone()), now);
                                r.process.updated = now;
                            }
                            Ok(())
                        })
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// Whether the task has been running for longer than `grace`.
pub(super) fn running_longer_than(task: &TaskInfo, grace: Duration) -> bool {
    task.timestamp.is_some_and(|t| (Utc::now() - t).to_std().is_ok_and(|d| d > grace))
}

/// How a task's container ended, for a state reason.
pub(super) fn describe_exit(task: &TaskInfo) -> String {
    match task.exit() {
        TaskExit::Killed => "killed, exit code 137".into(),
        TaskExit::Code(code) => format!("exit code {code}"),
        TaskExit::Error(err) | TaskExit::Message(err) => err,
        TaskExit::Exited => "it exited".into(),
    }
}

/// Why a task failed, for a state reason.
pub(super) fn describe_failure(task: &TaskInfo) -> String {
    match task.failure() {
        TaskFailure::ImageUnavailable(err) => format!("its image cannot be pulled: {err}"),
        TaskFailure::Rejected(err) => format!("the swarm rejected its task: {err}"),
        TaskFailure::Container(_) => format!("its container failed: {}", describe_exit(task)),
    }
}
