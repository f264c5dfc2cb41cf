//! The runners of the process manager's pending changes. Each reads the records when it runs and
//! looks at the world before it changes it, so running it twice (after a crash) does no harm.

use super::*;

impl ProcessManager {
    /// Create the process's swarm service, unless it exists.
    pub(super) async fn create_service(&self, record: &ProcessRecord) -> Result<()> {
        let p = &record.process;
        let node_id = p.running_node_id.clone().ok_or_else(|| Error::Internal("process without a node".into()))?;
        let node: Node = self.0.store.fetch(&node_id).await?;
        let owner: User = self.0.store.fetch::<UserRecord>(&p.user_id).await?.user;
        let network = self.0.anchor.join(&p.user_id).await?;
        if self.0.swarm.service_exists(&p.id).await? {
            return Ok(());
        }
        let mut env = vec![
            format!("ORCHESTRATOR_HOST={ORCHESTRATOR_ALIAS}"),
            format!("ORCHESTRATOR_PORT={TRIGGER_PORT}"),
            format!("ORCHESTRATOR_TOKEN={}", record.token),
            format!("PROCESS_ID={}", p.id),
            format!("USER_ID={}", owner.id),
            format!("USER_NAME={}", owner.username),
        ];
        if let Some(email) = &owner.email {
            env.push(format!("USER_EMAIL={email}"));
        }
        env.extend(p.environment.iter().map(|e| format!("{}={}", e.key, e.value)));
        let request = ServiceRequest {
            name: p.id.clone(),
            image: p.image.clone().unwrap_or_default(),
            env,
            owner: self.0.anchor.owner(Some(&p.id), &p.user_id),
            network,
            aliases: vec![p.id.clone()],
            node_docker_id: node.docker_id.clone(),
            memory_bytes: p.limits.memory_bytes,
            nano_cpus: p.limits.nano_cpus,
            mounts: p.mounts.iter().map(|m| (m.source.clone(), m.target.clone(), m.read_only)).collect(),
            ports: p.ports.iter().map(|m| (m.internal, m.external)).collect(),
        };
        self.0.swarm.create_service(&request).await
    }

    pub(in crate::managers) async fn run_create(&self, change: &PendingChange, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else {
            return Ok(Outcome::Fail("the process no longer exists".into()));
        };
        if matches!(record.process.state, ProcessState::Terminated | ProcessState::Suspended) {
            return Ok(Outcome::Done);
        }
        self.create_or_refuse(&record).await?;
        if record.refused.is_some() {
            self.0
                .store
                .modify::<ProcessRecord>(id, |r| {
                    r.refused = None;
                    Ok(())
                })
                .await?;
        }
        if record.process.state == ProcessState::Failed || change.attempts > 1 {
            self.set_state(
                id,
                ProcessState::Starting,
                Some("its swarm service was created; waiting for it to start".into()),
            )
            .await?;
        } else {
            self.set_state(id, ProcessState::Starting, Some("waiting for its container to start".into())).await?;
        }
        Ok(Outcome::Done)
    }

    /// Create the process's swarm service; when Docker refuses it for good, record that (the
    /// reconciler then leaves it alone: its failed change says why) and fail.
    async fn create_or_refuse(&self, record: &ProcessRecord) -> Result<()> {
        match self.create_service(record).await {
            Err(Error::Refused(m)) => {
                let (id, now) = (record.process.id.as_str(), Utc::now());
                self.0
                    .store
                    .modify::<ProcessRecord>(id, |r| {
                        r.refused = Some(m.clone());
                        r.process.set_state(ProcessState::Failed, Some(m.clone()), now);
                        r.process.updated = now;
                        Ok(())
                    })
                    .await?;
                self.changed(id).await;
                Err(Error::Refused(m))
            }
            other => other,
        }
    }

    pub(in crate::managers) async fn run_configure(
        &self,
        change: &PendingChange,
        id: &str,
        is_update: bool,
    ) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else {
            return Ok(Outcome::Fail("the process no longer exists".into()));
        };
        let p = &record.process;
        if matches!(p.state, ProcessState::Terminated | ProcessState::Suspended) {
            return Ok(Outcome::Done);
        }
        // The process asked for its configuration, so its container runs; the swarm may take a
        // moment to say so. The engine asks again shortly (less often after the first seconds),
        // without counting a failure.
        let Some(target) = self.0.anchor.target(p).await? else {
            let waited = (Utc::now() - change.created).to_std().unwrap_or_default();
            let after =
                if waited < Duration::from_secs(5) { Duration::from_millis(50) } else { Duration::from_secs(1) };
            return Ok(Outcome::NotYet(after, "the process's container is not running yet".into()));
        };
        let config: HashMap<String, String> = p.parameters.iter().map(|e| (e.key.clone(), e.value.clone())).collect();
        let state = self.0.anchor.connector().set_config(&target, config, is_update).await?;
        if !is_update {
            if let Some(saved) = &record.saved_state {
                let data = base64::engine::general_purpose::STANDARD.decode(saved).unwrap_or_default();
                self.0.anchor.connector().resume(&target, data).await?;
                let now = Utc::now();
                self.0
                    .store
                    .modify::<ProcessRecord>(id, |r| {
                        r.saved_state = None;
                        r.task_id = Some(target.task_id.clone());
                        r.process.has_saved_state = false;
                        r.process.state_restored_at = Some(now);
                        r.process.set_state(ProcessState::Running, Some("resumed from its saved state".into()), now);
                        r.process.updated = now;
                        r.has_run = true;
                        Ok(())
                    })
                    .await?;
                if let Some(h) = self.0.hooks.get() {
                    h.running(id, false).await;
                }
                return Ok(Outcome::Done);
            }
        }
        let (state, reason) = match state {
            WireState::Running => (ProcessState::Running, None),
            WireState::Suspended => (ProcessState::Suspended, None),
            WireState::Terminated => (ProcessState::Terminated, Some("the process says it terminated".into())),
            other => (ProcessState::Failed, Some(format!("the process answered its configuration with {other:?}"))),
        };
        // This container has its configuration now (the reconciler compares task ids).
        let now = Utc::now();
        let first_time = !record.has_run;
        match self
            .0
            .store
            .modify::<ProcessRecord>(id, |r| {
                r.task_id = Some(target.task_id.clone());
                r.process.set_state(state, reason.clone(), now);
                r.process.updated = now;
                if state == ProcessState::Running {
                    r.has_run = true;
                }
                Ok(())
            })
            .await
        {
            Ok(_) => {
                if let Some(h) = self.0.hooks.get() {
                    if state == ProcessState::Running && !is_update {
                        h.running(id, first_time).await;
                    } else {
                        h.changed(id).await;
                    }
                }
            }
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        self.0.engine.kick();
        Ok(Outcome::Done)
    }

    pub(in crate::managers) async fn run_update_environment(&self, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else { return Ok(Outcome::Done) };
        if matches!(record.process.state, ProcessState::Terminated | ProcessState::Suspended) {
            return Ok(Outcome::Done);
        }
        // A new environment needs a new container: replace the service. The new container
        // triggers and gets its configuration as any (re)started one does.
        self.remove_container(id).await?;
        self.set_state(id, ProcessState::Starting, Some("restarting with its new environment".into())).await?;
        self.create_or_refuse(&record).await?;
        Ok(Outcome::Done)
    }

    /// Remove a process's swarm service and wait until its tasks are gone (its name and alias
    /// are free again for the next one).
    pub(super) async fn remove_container(&self, id: &str) -> Result<()> {
        self.0.anchor.connector().disconnect(id);
        self.0.swarm.remove_service(id).await?;
        self.wait_service_gone(id).await
    }

    /// Wait until Docker has removed every task of a removed service (its name and alias are
    /// free again), up to 30 s. Tasks on a node that is not ready are not waited for: that
    /// node cannot stop them until it returns.
    pub(super) async fn wait_service_gone(&self, id: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let (nodes, _) = self.0.store.list::<Node>(&Query::all()).await?;
        let unreachable: Vec<&str> =
            nodes.iter().filter(|n| n.status != NodeStatus::Ready).map(|n| n.docker_id.as_str()).collect();
        loop {
            let tasks = match self.0.swarm.tasks(id).await {
                Ok(t) => t,
                Err(Error::NotFound(_)) => return Ok(()),
                Err(e) => return Err(e),
            };
            if tasks.iter().all(|t| t.state.is_over() || t.node_id.as_deref().is_some_and(|n| unreachable.contains(&n)))
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::Unavailable(format!("the tasks of process {id} are still stopping")));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub(in crate::managers) async fn run_suspend(&self, change: &PendingChange, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else { return Ok(Outcome::Done) };
        if record.process.state == ProcessState::Suspended {
            return Ok(Outcome::Done);
        }
        if record.process.state == ProcessState::Terminated {
            return Ok(Outcome::Fail("the process is being deleted".into()));
        }
        // Take its state, unless it handed it over already (an earlier attempt died after that).
        let mut lost = false;
        if record.saved_state.is_none() {
            let Some(target) = self.0.anchor.target(&record.process).await? else {
                return Ok(Outcome::Retry("the process's container is not running".into()));
            };
            if record.suspending_task.as_deref().is_some_and(|asked| asked != target.task_id) {
                // An earlier attempt asked another container, and Switchyard stopped before it
                // heard the answer: that container handed its state to no one and is gone. The
                // one running now is a fresh start; its state is not the process's.
                lost = true;
            } else {
                // Which container is asked, before asking: a retry after a crash can then tell
                // whether the one that may have handed its state over is still there.
                let task = target.task_id.clone();
                self.0
                    .store
                    .modify::<ProcessRecord>(id, |r| {
                        r.suspending_task = Some(task.clone());
                        Ok(())
                    })
                    .await?;
                match self.0.anchor.connector().go_to(&target, WireState::Suspended).await {
                    Ok((_, data)) => {
                        let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
                        self.0
                            .store
                            .modify::<ProcessRecord>(id, |r| {
                                r.saved_state = Some(encoded.clone());
                                r.process.has_saved_state = true;
                                r.process.state_saved_at = Some(Utc::now());
                                Ok(())
                            })
                            .await?;
                    }
                    Err(e) if change.attempts < 4 => return Ok(Outcome::Retry(e.to_string())),
                    Err(e) => {
                        tracing::warn!(process = id, error = %e, "suspending without state: the process does not hand it over");
                    }
                }
            }
        }
        self.0.swarm.remove_service(id).await?;
        self.0.anchor.connector().disconnect(id);
        let reason = if lost {
            "suspended without state: Switchyard stopped while the process handed its state over, and that container is gone"
        } else if self.load(id).await?.is_some_and(|r| r.saved_state.is_some()) {
            "suspended; its state is kept"
        } else {
            "suspended without state (the process did not hand it over)"
        };
        let now = Utc::now();
        match self
            .0
            .store
            .modify::<ProcessRecord>(id, |r| {
                r.suspending_task = None;
                r.process.set_state(ProcessState::Suspended, Some(reason.into()), now);
                r.process.updated = now;
                Ok(())
            })
            .await
        {
            Ok(_) => self.changed(id).await,
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(Outcome::Done)
    }

    pub(in crate::managers) async fn run_resume(&self, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else { return Ok(Outcome::Done) };
        if matches!(record.process.state, ProcessState::Terminated) {
            return Ok(Outcome::Done);
        }
        self.wait_service_gone(id).await?;
        self.create_or_refuse(&record).await?;
        self.set_state(id, ProcessState::Starting, Some("resuming: waiting for its container to start".into())).await?;
        Ok(Outcome::Done)
    }

    pub(in crate::managers) async fn run_delete(&self, change: &PendingChange, id: &str) -> Result<Outcome> {
        let Some(record) = self.load(id).await? else { return Ok(Outcome::Done) };
        // Ask it to terminate (a few tries; a process that does not answer is removed anyway).
        if change.attempts <= 3 {
            if let Some(target) = self.0.anchor.target(&record.process).await? {
                if let Err(e) = self.0.anchor.connector().go_to(&target, WireState::Terminated).await {
                    if change.attempts < 3 {
                        return Ok(Outcome::Retry(format!("telling it to terminate: {e}")));
                    }
                }
            }
        }
        self.0.anchor.connector().disconnect(id);
        self.0.swarm.remove_service(id).await?;
        // What says, later, that a service of this id may be removed (see `reconcile`).
        let removed = RemovedProcess {
            id: id.to_string(),
            user_id: record.process.user_id.clone(),
            removed: Utc::now(),
            revision: 0,
        };
        match self.0.store.insert(&removed).await {
            Ok(_) | Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        match self.0.store.delete::<ProcessRecord>(id, None).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(Outcome::Done),
            Err(e) => Err(e),
        }
    }
}
