//! The reconciler: brings the swarm in line with the records, one process at a time, every few
//! seconds; and the pruning of deletion records.

use chrono::DateTime;

use super::*;

impl ProcessManager {
    /// The records of the processes that should be running (not suspended or being deleted),
    /// by id, from memory (kept in step with the store's writes).
    pub(crate) async fn live_records(&self) -> Result<Vec<Arc<ProcessRecord>>> {
        self.0.live.all(&self.0.store).await
    }

    /// A container runs but its process never asked for its configuration: send it anyway, over
    /// the management channel, and say so in its history.
    pub(super) async fn configure_unasked(&self, record: &ProcessRecord) -> Result<()> {
        let p = &record.process;
        if self.0.engine.has_open(&p.id, ChangeKind::ConfigureProcess).await? {
            return Ok(());
        }
        let grace = self.0.settings.trigger_grace.as_secs();
        let why = if p.state == ProcessState::Initializing {
            format!("it asked for its configuration but nothing sent it within {grace} s; Switchyard sends it again")
        } else {
            format!("its container runs but did not ask for its configuration within {grace} s; Switchyard sends it unasked")
        };
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
        let records = self.live_records().await?;
        let open = self.0.engine.open_changes().await?;
        // A process whose container an open change removes or replaces is that change's to mind.
        let busy: std::collections::HashSet<&str> = open
            .iter()
            .filter(|c| c.kind.replaces_container())
            .flat_map(|c| c.resources.iter().map(String::as_str))
            .collect();
        let busy = |id: &str| busy.contains(id);
        let (nodes, _) = self.0.store.list::<Node>(&Query::all()).await?;
        // The swarm's side in one look (a listing of services and of their tasks), not two
        // requests per process: a round costs about the same at 5 processes as at 500.
        let looked = std::time::Instant::now();
        let swarm = self.0.swarm.services_with_tasks(&self.0.settings.instance_id).await?;
        self.0.engine.metrics().swarm_look(looked.elapsed().as_secs_f64());
        for record in &records {
            let p = &record.process;
            if busy(&p.id) {
                continue;
            }
            let found = match swarm.get(&p.id) {
                // The container Switchyard configured runs: the current tasks settle it.
                Some(tasks) if settled(record, tasks) => Ok((true, tasks.clone())),
                // Anything else (a new container, none running, a failure) is decided on the
                // service's whole task history, as it always was.
                Some(_) => self.0.swarm.tasks(&p.id).await.map(|tasks| (true, tasks)),
                // Not among this installation's services: ask for it by name (a service made
                // before services carried the installation's label, or made since the listing).
                None => self.service_by_name(&p.id).await,
            };
            let result = match found {
                Ok((exists, tasks)) => self.reconcile_one(record, &nodes, exists, &tasks).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::warn!(process = %p.id, error = %e, "reconciling process");
            }
        }
        let live: std::collections::HashSet<&str> = records.iter().map(|r| r.process.id.as_str()).collect();
        // Services of this installation whose process is gone. One is removed only when a
        // record says its process was deleted, and never in the first round after start: a store
        // that is not the one these services were made from (an old backup, another place) must
        // not cost anyone their processes.
        let first_round = self.0.rounds.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0;
        for name in swarm.keys() {
            let name = name.as_str();
            if live.contains(name) || busy(name) || self.0.store.get::<ProcessRecord>(name).await?.is_some() {
                continue;
            }
            if self.0.store.get::<RemovedProcess>(name).await?.is_some() {
                if !first_round {
                    tracing::info!(service = %name, "removing the swarm service of a deleted process");
                    self.0.swarm.remove_service(name).await?;
                }
            } else if self.0.strays.lock().expect("not poisoned").insert(name.to_string()) {
                tracing::warn!(
                    service = %name,
                    "a swarm service of this installation has no process record and no record of its deletion: left alone \
                     (was the store restored from an older backup?); remove it with `docker service rm {name}` if it is not wanted"
                );
            }
        }
        Ok(())
    }

    /// Whether swarm service `name` exists, and its tasks.
    async fn service_by_name(&self, name: &str) -> Result<(bool, Vec<TaskInfo>)> {
        if !self.0.swarm.service_exists(name).await? {
            return Ok((false, Vec::new()));
        }
        Ok((true, self.0.swarm.tasks(name).await?))
    }

    pub(super) async fn reconcile_one(
        &self,
        record: &ProcessRecord,
        nodes: &[Node],
        exists: bool,
        tasks: &[TaskInfo],
    ) -> Result<()> {
        let p = &record.process;
        let id = p.id.as_str();
        let node = p.running_node_id.as_deref().and_then(|n| nodes.iter().find(|x| x.id == n));
        match decide(record, exists, node, tasks, self.0.settings.trigger_grace, Utc::now()) {
            Action::Nothing => {}
            Action::Create { recreate } => {
                let what = if recreate {
                    let why = "its swarm service was removed outside Switchyard; recreating it";
                    self.set_state(id, ProcessState::Failed, Some(why.into())).await?;
                    format!("Recreate the swarm service of process '{}' (removed outside Switchyard)", p.name)
                } else {
                    format!("Create the swarm service of process '{}' (it has none yet)", p.name)
                };
                self.0.engine.submit(NewChange::new(ChangeKind::CreateProcess, &p.user_id, id, what)).await?;
            }
            Action::NodeLost { reason, try_move } => {
                if let Some(node) = node {
                    self.node_lost(record, node, reason, try_move).await?;
                }
            }
            Action::Running { configure_unasked, adopt } => {
                if configure_unasked {
                    self.configure_unasked(record).await?;
                }
                if let Some(adopt) = adopt {
                    self.adopt(id, adopt).await?;
                }
            }
            Action::Failed(reason) => self.set_state(id, ProcessState::Failed, Some(reason)).await?,
            Action::Restarting { reason } => {
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
        Ok(())
    }

    /// Its node is down, missing or disconnected: it is FAILED, and moved when it may be.
    async fn node_lost(&self, record: &ProcessRecord, node: &Node, mut reason: String, try_move: bool) -> Result<()> {
        let id = record.process.id.as_str();
        let mut target = None;
        if try_move {
            match self.choose_away(record, node).await {
                Ok(t) => {
                    reason = format!("{reason}; moving it to {}", t.node_name);
                    target = Some(t);
                }
                Err(e) => reason = format!("{reason}; it cannot be moved: {e}"),
            }
        }
        self.set_state(id, ProcessState::Failed, Some(reason)).await?;
        if let Some(target) = target {
            if let Some(fresh) = self.load(id).await? {
                self.start_move(fresh, target).await?;
            }
        }
        Ok(())
    }

    /// A container runs that Switchyard has not configured: it is the process's now, and until
    /// it asks for its configuration the process is starting.
    async fn adopt(&self, id: &str, adopt: Adopt) -> Result<()> {
        let now = Utc::now();
        self.0
            .store
            .modify::<ProcessRecord>(id, |r| {
                if r.task_id.as_deref() == Some(adopt.task.as_str()) {
                    return Ok(()); // configured meanwhile
                }
                let had_one = r.task_id.is_some();
                r.task_id = Some(adopt.task.clone());
                let reason = adopt.reason.clone().unwrap_or_else(|| "the swarm replaced its container".into());
                if had_one && matches!(r.process.state, ProcessState::Running | ProcessState::Failed) {
                    r.process.set_state(ProcessState::Starting, Some(reason), now);
                    r.process.updated = now;
                } else if had_one && r.process.state_reason.as_deref() != Some(reason.as_str()) {
                    r.process.note(reason, now);
                }
                Ok(())
            })
            .await?;
        Ok(())
    }
}

/// What the reconciler does about one process.
#[derive(Debug, PartialEq)]
pub(super) enum Action {
    /// All is as recorded, or there is nothing it can do (Docker refused the process for good:
    /// its failed change says why and can be retried).
    Nothing,
    /// It has no swarm service: create it, or recreate it when it had one (removed outside
    /// Switchyard, so it is FAILED until then).
    Create { recreate: bool },
    /// Its node is down, missing or disconnected: FAILED with `reason`, and moved when
    /// `try_move`.
    NodeLost { reason: String, try_move: bool },
    /// A container runs: configure it unasked when it has run too long without asking, and adopt
    /// it when Switchyard has not configured it.
    Running { configure_unasked: bool, adopt: Option<Adopt> },
    /// No container runs and the latest one failed.
    Failed(String),
    /// It ran and is between containers: STARTING, saying what became of the one that ran.
    Restarting { reason: String },
}

/// A running container Switchyard has not configured, and why there is a new one.
#[derive(Debug, PartialEq)]
pub(super) struct Adopt {
    pub task: String,
    pub reason: Option<String>,
}

/// Whether a process's current tasks say all there is to say: the container it was configured
/// in is the one running. The reconciler then needs no more of the swarm for it.
fn settled(record: &ProcessRecord, current: &[TaskInfo]) -> bool {
    record.task_id.as_deref().is_some_and(|id| current.iter().any(|t| t.id == id && t.state == TaskState::Running))
}

/// The reconciler's decision for one process, from its record, whether its swarm service exists,
/// its node and its service's tasks (newest first). Pure, so each case has a unit test.
pub(super) fn decide(
    record: &ProcessRecord,
    exists: bool,
    node: Option<&Node>,
    tasks: &[TaskInfo],
    grace: Duration,
    now: DateTime<Utc>,
) -> Action {
    let p = &record.process;
    if !exists {
        if record.refused.is_some() {
            return Action::Nothing;
        }
        // Never created (Switchyard stopped between saving the process and its change, or its
        // create change gave up): it is still starting. Otherwise it was removed.
        let never_created = !record.has_run && record.task_id.is_none() && p.state == ProcessState::Starting;
        return Action::Create { recreate: !never_created };
    }
    if let Some(node) = node.filter(|n| n.is_lost()) {
        let mut reason = node.lost_reason();
        let moving = record.moving_to.is_some();
        if !moving && !p.move_on_failure {
            reason.push_str("; it runs again when the node returns (it is not set to move when its node fails)");
        }
        return Action::NodeLost { reason, try_move: !moving && p.move_on_failure };
    }
    let Some(latest) = tasks.first() else { return Action::Nothing };
    // The container Switchyard configured last, when the swarm still lists it.
    let previous = record.task_id.as_deref().and_then(|old| tasks.iter().find(|t| t.id == old));
    match tasks.iter().find(|t| t.state == TaskState::Running) {
        Some(task) => {
            // A container that has run past the grace without asking for its configuration, or a
            // process that asked for it and has waited that long with nothing sending it (its ask
            // landed while the last sending was finishing): it is sent (again).
            let initializing_since = p.history.last().filter(|h| h.state == ProcessState::Initializing).map(|h| h.at);
            let configure_unasked = (p.state == ProcessState::Starting && running_longer_than(task, grace, now))
                || (p.state == ProcessState::Initializing
                    && (now - initializing_since.unwrap_or(p.updated)).to_std().is_ok_and(|d| d > grace));
            let adopt = (record.task_id.as_deref() != Some(task.id.as_str())).then(|| Adopt {
                task: task.id.clone(),
                reason: previous.map(|old| {
                    format!("{} ({}) and the swarm started a new one", super::super::CRASHED, describe_exit(old))
                }),
            });
            if !configure_unasked && adopt.is_none() {
                return Action::Nothing;
            }
            Action::Running { configure_unasked, adopt }
        }
        None => {
            let failed = latest.state.is_failure();
            if failed && p.state != ProcessState::Failed {
                Action::Failed(describe_failure(latest))
            } else if !failed && p.state == ProcessState::Running {
                let reason = match previous {
                    Some(old) => {
                        format!("{} ({}); the swarm is starting a new one", super::super::CRASHED, describe_exit(old))
                    }
                    None => format!("its container is {}", latest.state),
                };
                Action::Restarting { reason }
            } else {
                Action::Nothing
            }
        }
    }
}

/// Whether the task has been running for longer than `grace`.
pub(super) fn running_longer_than(task: &TaskInfo, grace: Duration, now: DateTime<Utc>) -> bool {
    task.timestamp.is_some_and(|t| (now - t).to_std().is_ok_and(|d| d > grace))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Architecture;

    const GRACE: Duration = Duration::from_secs(10);

    fn record(state: ProcessState, task_id: Option<&str>, has_run: bool) -> ProcessRecord {
        let now = Utc::now();
        ProcessRecord {
            process: Process {
                state,
                running_node_id: Some("n1".into()),
                config_revision: 1,
                created: now,
                updated: now,
                revision: 1,
                ..Process::blank("p1", "counter", "u1", "counter", "1.0.0")
            },
            token: "t".into(),
            saved_state: None,
            task_id: task_id.map(str::to_string),
            has_run,
            moving_to: None,
            refused: None,
            suspending_task: None,
        }
    }

    fn node(status: NodeStatus) -> Node {
        Node {
            id: "n1".into(),
            name: "edge-1".into(),
            kind: NodeKind::Public,
            node_pool_id: None,
            user_id: None,
            docker_id: "d1".into(),
            hostname: "edge-1".into(),
            architecture: Architecture::X86_64,
            status,
            manager: false,
            last_seen: None,
            nano_cpus: 2_000_000_000,
            memory_bytes: 1 << 30,
            processes: 1,
            assigned_revision: 0,
            revision: 1,
        }
    }

    fn task(id: &str, state: TaskState, exit_code: Option<i64>, age: Duration) -> TaskInfo {
        TaskInfo {
            id: id.into(),
            state,
            desired_state: TaskState::Running,
            message: String::new(),
            error: None,
            node_id: Some("d1".into()),
            container_id: Some(format!("c-{id}")),
            exit_code,
            timestamp: Some(Utc::now() - chrono::Duration::from_std(age).unwrap()),
            addresses: Vec::new(),
        }
    }

    fn run(record: &ProcessRecord, exists: bool, node_status: NodeStatus, tasks: &[TaskInfo]) -> Action {
        decide(record, exists, Some(&node(node_status)), tasks, GRACE, Utc::now())
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_missing_service_is_created_when_it_never_ran_and_recreated_when_it_did() {
        let fresh = record(ProcessState::Starting, None, false);
        assert_eq!(run(&fresh, false, NodeStatus::Ready, &[]), Action::Create { recreate: false });
        let ran = record(ProcessState::Running, Some("t1"), true);
        assert_eq!(run(&ran, false, NodeStatus::Ready, &[]), Action::Create { recreate: true });
        let mut refused = fresh.clone();
        refused.refused = Some("no such image".into());
        assert_eq!(run(&refused, false, NodeStatus::Ready, &[]), Action::Nothing);
    }

    #[test]
    fn a_lost_node_fails_the_process_and_moves_it_only_when_it_may_and_is_not_moving_already() {
        let mut r = record(ProcessState::Running, Some("t1"), true);
        let Action::NodeLost { reason, try_move } = run(&r, true, NodeStatus::Down, &[]) else { panic!() };
        assert!(!try_move);
        assert_eq!(
            reason,
            "its node edge-1 is down; it runs again when the node returns (it is not set to move when its node fails)"
        );
        // A deployment's step waits for such a process: the node, down or back, explains it.
        assert!(node(NodeStatus::Ready).lost_explains(&reason));
        assert!(!Node { name: "edge-10".into(), ..node(NodeStatus::Down) }.lost_explains(&reason));
        assert!(!node(NodeStatus::Ready).lost_explains("process exited with code 1"));
        r.process.move_on_failure = true;
        assert_eq!(
            run(&r, true, NodeStatus::Missing, &[]),
            Action::NodeLost { reason: "its node edge-1 is missing".into(), try_move: true }
        );
        r.moving_to = Some(MoveTarget {
            node_id: "n2".into(),
            node_name: "edge-2".into(),
            placement: Placement::Automatic,
            image: "img".into(),
            reason: "r".into(),
            upgrade: None,
        });
        assert_eq!(
            run(&r, true, NodeStatus::Disconnected, &[]),
            Action::NodeLost { reason: "its node edge-1 is disconnected".into(), try_move: false }
        );
    }

    #[test]
    fn a_configured_running_container_needs_nothing() {
        let r = record(ProcessState::Running, Some("t1"), true);
        assert_eq!(run(&r, true, NodeStatus::Ready, &[task("t1", TaskState::Running, None, SECOND)]), Action::Nothing);
        assert_eq!(run(&r, true, NodeStatus::Ready, &[]), Action::Nothing);
    }

    #[test]
    fn a_container_that_runs_past_the_grace_without_asking_is_configured_unasked() {
        let r = record(ProcessState::Starting, Some("t1"), false);
        let young = [task("t1", TaskState::Running, None, SECOND)];
        assert_eq!(run(&r, true, NodeStatus::Ready, &young), Action::Nothing);
        let old = [task("t1", TaskState::Running, None, GRACE * 2)];
        assert_eq!(run(&r, true, NodeStatus::Ready, &old), Action::Running { configure_unasked: true, adopt: None });
    }

    #[test]
    fn a_process_left_initializing_past_the_grace_is_configured_again() {
        let mut r = record(ProcessState::Initializing, Some("t1"), true);
        let running = [task("t1", TaskState::Running, None, GRACE * 2)];
        let now = Utc::now();
        r.process.history.push(crate::model::StateChange {
            at: now - chrono::Duration::seconds(1),
            state: ProcessState::Initializing,
            reason: None,
        });
        assert_eq!(run(&r, true, NodeStatus::Ready, &running), Action::Nothing, "within the grace: its change runs");
        r.process.history.last_mut().unwrap().at = now - chrono::Duration::from_std(GRACE * 2).unwrap();
        assert_eq!(
            run(&r, true, NodeStatus::Ready, &running),
            Action::Running { configure_unasked: true, adopt: None }
        );
    }

    #[test]
    fn a_new_container_is_adopted_saying_how_the_old_one_ended() {
        let r = record(ProcessState::Running, Some("t1"), true);
        let tasks = [task("t2", TaskState::Running, None, SECOND), task("t1", TaskState::Failed, Some(137), GRACE)];
        assert_eq!(
            run(&r, true, NodeStatus::Ready, &tasks),
            Action::Running {
                configure_unasked: false,
                adopt: Some(Adopt {
                    task: "t2".into(),
                    reason: Some(
                        "its container stopped (killed, exit code 137) and the swarm started a new one".into()
                    ),
                }),
            }
        );
    }

    #[test]
    fn a_failed_container_fails_the_process_once_and_one_between_containers_makes_it_starting() {
        let r = record(ProcessState::Running, Some("t1"), true);
        let failed = [task("t1", TaskState::Failed, Some(3), SECOND)];
        assert_eq!(
            run(&r, true, NodeStatus::Ready, &failed),
            Action::Failed("its container failed: exit code 3".into())
        );
        let mut already = r.clone();
        already.process.state = ProcessState::Failed;
        assert_eq!(run(&already, true, NodeStatus::Ready, &failed), Action::Nothing);
        let between =
            [task("t2", TaskState::Preparing, None, SECOND), task("t1", TaskState::Complete, Some(0), SECOND)];
        assert_eq!(
            run(&r, true, NodeStatus::Ready, &between),
            Action::Restarting { reason: "its container stopped (it exited); the swarm is starting a new one".into() }
        );
    }
}
