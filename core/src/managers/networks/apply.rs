//! Applying a plan: the deployment record, its runner (the `apply_deployment` pending change),
//! cancelling and retrying.
//!
//! The runner is level-triggered, like the reconciler: each time it runs it looks at every step,
//! launches those whose dependencies are done, follows those launched until they took effect,
//! skips those whose dependencies failed, and asks to run again shortly while anything is open.
//! A step is marked RUNNING (with the id of what it will make) before its operation is asked for,
//! and each launch first looks whether its effect exists, so a runner killed at any point and
//! run again does each step once.

use std::time::Duration;

use chrono::Utc;

use super::*;
use crate::{
    changes::{NewChange, Outcome},
    model::{
        ChangeKind, ConnectionState, DeploymentState, DeploymentStep, EndpointRef, NewConnection, NewProcess,
        PendingChangeState, ProcessMove, ProcessUpdate, ProcessUpgrade, StepAction, StepState,
    },
    store::new_id,
};

/// A step not done after this long has failed.
const STEP_TIMEOUT: chrono::Duration = chrono::Duration::minutes(10);

/// Where the owner's processes can go, read once for a look's launches: a document names nodes
/// and pools, and placing 500 processes must not read the owner's whole network 500 times.
struct Places {
    owner: User,
    nodes: Vec<Node>,
    pools: Vec<NodePool>,
}

impl NetworkManager {
    /// Apply a plan as one deployment (a new revision of the network). Refused when the plan has
    /// refusals, changes nothing, or is stale (the network changed since it was planned: the
    /// refusal says what changed), and while another deployment of the network runs.
    pub async fn apply(&self, caller: &Caller, plan_id: &str) -> Result<Deployment> {
        let plan = self.get_plan(caller, plan_id).await?;
        let _one_at_a_time = self.0.apply_lock.lock().await;
        if !plan.applicable {
            let refused: Vec<String> = plan
                .steps
                .iter()
                .filter_map(|s| s.refusal.as_ref().map(|r| format!("step {} ({}): {r}", s.index + 1, s.subject)))
                .collect();
            return Err(Error::Conflict(format!("this plan cannot be applied: {}", refused.join("; "))));
        }
        if !plan.changes_anything() {
            return Err(Error::Conflict("nothing to apply: the network is as the document says already".into()));
        }
        self.refuse_while_running(&plan.user_id).await?;
        let owner: User = self.0.store.fetch::<UserRecord>(&plan.user_id).await?.user;
        let current = self.current(&owner).await?;
        let names: BTreeSet<&str> = plan.document.processes.iter().map(|p| p.name.as_str()).collect();
        let in_scope: Vec<&Process> = current
            .processes
            .iter()
            .filter(|p| plan.document.scope == Scope::Network || names.contains(p.name.as_str()))
            .collect();
        let now_doc = current.document(&in_scope, plan.document.scope);
        if now_doc != plan.base {
            let changed: Vec<String> = diff_documents(&plan.base, &now_doc).iter().map(|c| c.to_string()).collect();
            return Err(Error::StaleRevision(format!(
                "the network changed since this plan was made ({}); plan again",
                if changed.is_empty() { "its details differ".to_string() } else { changed.join("; ") }
            )));
        }
        let (_, count) =
            self.0.store.list::<Deployment>(&Query::all().eq("user_id", plan.user_id.as_str()).page(0, 1)).await?;
        let now = Utc::now();
        let steps = plan
            .steps
            .iter()
            .map(|s| {
                let fresh = matches!(s.action, StepAction::CreateProcess | StepAction::AddConnection);
                DeploymentStep {
                    step: s.clone(),
                    state: if s.action.changes() { StepState::Waiting } else { StepState::Done },
                    message: None,
                    target_id: if fresh { Some(new_id()) } else { s.resource_id.clone() },
                    launched: false,
                    started: None,
                    finished: if s.action.changes() { None } else { Some(now) },
                }
            })
            .collect();
        let deployment = Deployment {
            id: new_id(),
            user_id: plan.user_id.clone(),
            number: count + 1,
            plan_id: plan.id.clone(),
            document: plan.document.clone(),
            before: plan.base.clone(),
            steps,
            state: DeploymentState::Running,
            applied_by: caller.user.username.clone(),
            applied_by_id: caller.user.id.clone(),
            restores: plan.restores.clone(),
            summary: plan.summary.clone(),
            created: now,
            finished: None,
            revision: 0,
        };
        let deployment = self.0.store.insert(&deployment).await?;
        if let Err(e) = self.submit_runner(&deployment).await {
            let _ = self.0.store.delete::<Deployment>(&deployment.id, None).await;
            return Err(e);
        }
        // A plan is applied once.
        let _ = self.0.store.delete::<Plan>(&plan.id, None).await;
        Ok(deployment)
    }

    /// One deployment of a network at a time.
    async fn refuse_while_running(&self, user_id: &str) -> Result<()> {
        let query = Query::all().eq("user_id", user_id).eq("state", DeploymentState::Running.as_str()).page(0, 1);
        let (running, _) = self.0.store.list::<Deployment>(&query).await?;
        match running.first() {
            Some(d) => Err(Error::Conflict(format!(
                "deployment #{} of this network is still running; wait for it to finish or cancel it",
                d.number
            ))),
            None => Ok(()),
        }
    }

    async fn submit_runner(&self, d: &Deployment) -> Result<()> {
        let mut change = NewChange::new(
            ChangeKind::ApplyDeployment,
            &d.user_id,
            &d.id,
            match d.document.user.as_deref() {
                Some(user) => format!("Apply deployment #{} of {user}'s network", d.number),
                // The owner's own document, which need not name them.
                None => format!("Apply deployment #{} of the network", d.number),
            },
        );
        // One deployment of a network at a time, in order.
        change.resources.push(format!("network:{}", d.user_id));
        self.0.engine.submit(change).await?;
        Ok(())
    }

    /// Stop a running deployment: steps not yet launched are cancelled; those under way finish.
    pub async fn cancel(&self, caller: &Caller, id: &str) -> Result<Deployment> {
        let d = self.deployment(caller, id).await?;
        if d.state != DeploymentState::Running {
            return Err(Error::Conflict(format!("deployment #{} is {} already", d.number, d.state.as_str())));
        }
        let now = Utc::now();
        let by = caller.user.username.clone();
        let d = self
            .0
            .store
            .modify::<Deployment>(id, |d| {
                for s in d.steps.iter_mut().filter(|s| s.state == StepState::Waiting) {
                    s.state = StepState::Cancelled;
                    s.message = Some(format!("cancelled by {by}"));
                    s.finished = Some(now);
                }
                Ok(())
            })
            .await?;
        // Its runner finishes it; one that is gone (cancelled or failed for good as a pending
        // change) is started again, so a deployment never stays RUNNING with nothing running it.
        if !self.runner_open(&d).await? {
            self.submit_runner(&d).await?;
        }
        self.0.engine.kick();
        Ok(d)
    }

    /// Whether the deployment's runner (its `apply_deployment` change) is waiting or running.
    async fn runner_open(&self, d: &Deployment) -> Result<bool> {
        self.0.engine.has_open(&d.id, ChangeKind::ApplyDeployment).await
    }

    /// Run a failed or cancelled deployment's unfinished steps again (failed changes of what
    /// they act on are retried too).
    pub async fn retry(&self, caller: &Caller, id: &str) -> Result<Deployment> {
        let _one_at_a_time = self.0.apply_lock.lock().await;
        let d = self.deployment(caller, id).await?;
        // A RUNNING one whose runner is gone (its pending change cancelled, or failed for good)
        // is retried too: it would stay RUNNING otherwise, and block every later apply.
        let orphaned = d.state == DeploymentState::Running && !self.runner_open(&d).await?;
        if !(orphaned || matches!(d.state, DeploymentState::Failed | DeploymentState::Cancelled)) {
            return Err(Error::Conflict(format!(
                "only a FAILED or CANCELLED deployment can be retried; #{} is {} (and still being applied)",
                d.number,
                d.state.as_str()
            )));
        }
        if !orphaned {
            self.refuse_while_running(&d.user_id).await?;
        }
        for s in d.steps.iter().filter(|s| s.state == StepState::Failed) {
            if let Some(target) = &s.target_id {
                for change in self.0.engine.of_resource(target).await? {
                    if change.state == PendingChangeState::Failed {
                        self.0.engine.retry(&change.id).await?;
                    }
                }
            }
        }
        let d = self
            .0
            .store
            .modify::<Deployment>(id, |d| {
                d.state = DeploymentState::Running;
                d.finished = None;
                for s in d
                    .steps
                    .iter_mut()
                    .filter(|s| matches!(s.state, StepState::Failed | StepState::Skipped | StepState::Cancelled))
                {
                    s.state = if s.launched { StepState::Running } else { StepState::Waiting };
                    s.message = None;
                    s.started = s.launched.then(Utc::now);
                    s.finished = None;
                }
                Ok(())
            })
            .await?;
        self.submit_runner(&d).await?;
        Ok(d)
    }

    /// The runner: one look at every step (see the module's comment).
    pub(in crate::managers) async fn run_deployment(&self, id: &str) -> Result<Outcome> {
        let Some(d) = self.0.store.get::<Deployment>(id).await? else { return Ok(Outcome::Done) };
        if d.state != DeploymentState::Running {
            return Ok(Outcome::Done);
        }
        let caller = match self.0.store.get::<UserRecord>(&d.applied_by_id).await? {
            Some(r) => Caller { user: r.user },
            None => {
                self.finish_all(id, "the user who applied it no longer exists").await?;
                return Ok(Outcome::Done);
            }
        };
        loop {
            let pass = std::time::Instant::now();
            let d: Deployment = self.0.store.fetch(id).await?;
            let mut progressed = false;
            // What this pass finds is written together (one write of the deployment for each
            // kind of finding, not one or two per step: the deployment holds every step, so
            // writing it per step made a document's cost grow with the square of its steps).
            let mut settled: Vec<(usize, StepState, Option<String>)> = Vec::new();
            let mut skipped: Vec<(usize, StepState, Option<String>)> = Vec::new();
            let mut to_start: Vec<usize> = Vec::new();
            let mut to_launch: Vec<usize> = Vec::new();
            for i in 0..d.steps.len() {
                let s = &d.steps[i];
                match s.state {
                    StepState::Waiting => {
                        let deps: Vec<&DeploymentStep> =
                            s.step.depends_on.iter().filter_map(|j| d.steps.get(*j)).collect();
                        if let Some(bad) = deps
                            .iter()
                            .find(|x| matches!(x.state, StepState::Failed | StepState::Skipped | StepState::Cancelled))
                        {
                            let why = format!(
                                "not done: step {} ({}) {}",
                                bad.step.index + 1,
                                bad.step.subject,
                                match bad.state {
                                    StepState::Failed => "did not succeed",
                                    StepState::Cancelled => "was cancelled",
                                    _ => "was skipped",
                                }
                            );
                            skipped.push((i, StepState::Skipped, Some(why)));
                        } else if deps.iter().all(|x| x.state == StepState::Done) {
                            to_start.push(i);
                        }
                    }
                    StepState::Running if !s.launched => to_launch.push(i),
                    StepState::Running => {
                        if let Some((state, message)) = self.settled(s).await? {
                            settled.push((i, state, message));
                        }
                    }
                    _ => {}
                }
            }
            if !skipped.is_empty() {
                self.set_steps(id, &skipped).await?;
                progressed = true;
            }
            if !to_start.is_empty() {
                // Only a step still waiting starts: a cancel may have landed since this copy of
                // the deployment was read.
                to_launch.extend(self.start_steps(id, &to_start).await?);
                progressed = true;
            }
            if !to_launch.is_empty() {
                self.launch_all(&caller, &d, &to_launch).await?;
                progressed = true;
            }
            if !settled.is_empty() {
                self.set_steps(id, &settled).await?;
                progressed = true;
            }
            if progressed {
                continue;
            }
            let d: Deployment = self.0.store.fetch(id).await?;
            if d.steps.iter().any(|s| !s.state.is_final()) {
                let open = d.steps.iter().filter(|s| !s.state.is_final()).count();
                // Looked at again in half a second, or later when a look takes long (hundreds of
                // steps under way): the runner takes at most about a fifth of a core from the
                // work it waits for.
                let wait = Duration::from_millis(500).max(pass.elapsed() * 4);
                return Ok(Outcome::NotYet(wait, format!("{open} steps under way")));
            }
            let state = if d.steps.iter().any(|s| matches!(s.state, StepState::Failed | StepState::Skipped)) {
                DeploymentState::Failed
            } else if d.steps.iter().any(|s| s.state == StepState::Cancelled) {
                DeploymentState::Cancelled
            } else {
                DeploymentState::Succeeded
            };
            let now = Utc::now();
            self.0
                .store
                .modify::<Deployment>(id, |d| {
                    d.state = state;
                    d.finished = Some(now);
                    Ok(())
                })
                .await?;
            tracing::info!(deployment = id, state = state.as_str(), "deployment finished");
            return Ok(Outcome::Done);
        }
    }

    async fn finish_all(&self, id: &str, why: &str) -> Result<()> {
        let now = Utc::now();
        self.0
            .store
            .modify::<Deployment>(id, |d| {
                for s in d.steps.iter_mut().filter(|s| !s.state.is_final()) {
                    s.state = StepState::Cancelled;
                    s.message = Some(why.to_string());
                    s.finished = Some(now);
                }
                d.state = DeploymentState::Cancelled;
                d.finished = Some(now);
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Mark the waiting steps among `indices` RUNNING, in one write; returns those it marked
    /// (a step cancelled meanwhile is not waiting any more).
    async fn start_steps(&self, id: &str, indices: &[usize]) -> Result<Vec<usize>> {
        let now = Utc::now();
        let mut started = Vec::new();
        self.0
            .store
            .modify::<Deployment>(id, |d| {
                started.clear();
                for &i in indices {
                    let Some(s) = d.steps.get_mut(i) else { continue };
                    if s.state == StepState::Waiting {
                        s.state = StepState::Running;
                        s.started = Some(now);
                        started.push(i);
                    }
                }
                Ok(())
            })
            .await?;
        Ok(started)
    }

    /// Give steps their states (and messages), in one write.
    async fn set_steps(&self, id: &str, steps: &[(usize, StepState, Option<String>)]) -> Result<()> {
        let now = Utc::now();
        self.0
            .store
            .modify::<Deployment>(id, |d| {
                for (i, state, message) in steps {
                    let Some(s) = d.steps.get_mut(*i) else { continue };
                    s.state = *state;
                    if message.is_some() {
                        s.message = message.clone();
                    }
                    match state {
                        StepState::Running => s.started = Some(now),
                        _ if state.is_final() => s.finished = Some(now),
                        _ => {}
                    }
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Launch the RUNNING steps `indices` one after the other, then record what became of them in
    /// one write. One after the other: a launch only saves records and submits pending changes
    /// (the engine does the work outside, many at once), and in order, so processes are created
    /// in the document's order (an export lists them so) and each automatic placement sees the
    /// ones before it. The store or Docker unreachable stops the launching there: the steps
    /// launched so far are recorded, the rest stay RUNNING, unlaunched, and are launched again (a
    /// launch asks for nothing that exists already, so one made before a crash is not made twice).
    async fn launch_all(&self, caller: &Caller, d: &Deployment, indices: &[usize]) -> Result<()> {
        let started = std::time::Instant::now();
        let places = self.places(&d.user_id).await?;
        let mut outcomes: Vec<(usize, Option<String>)> = Vec::with_capacity(indices.len());
        let mut stopped = None;
        for &i in indices {
            match self.launch(caller, d, i, &places).await {
                Ok(outcome) => outcomes.push((i, outcome)),
                Err(e) => {
                    stopped = Some(e);
                    break;
                }
            }
        }
        tracing::debug!(
            deployment = %d.id,
            launched = outcomes.len(),
            ms = started.elapsed().as_millis() as u64,
            "launched a look's steps"
        );
        if !outcomes.is_empty() {
            let now = Utc::now();
            self.0
                .store
                .modify::<Deployment>(&d.id, |d| {
                    for (i, outcome) in &outcomes {
                        let Some(s) = d.steps.get_mut(*i) else { continue };
                        match outcome {
                            None => s.launched = true,
                            Some(why) => {
                                s.state = StepState::Failed;
                                s.message = Some(why.clone());
                                s.finished = Some(now);
                            }
                        }
                    }
                    Ok(())
                })
                .await?;
        }
        stopped.map_or(Ok(()), Err)
    }

    /// Ask for step `i`'s operation, unless what it makes exists already: `None` when it was
    /// asked for, or why it was refused (which fails the step). The store or Docker unreachable
    /// is an error: the step is launched again.
    async fn launch(&self, caller: &Caller, d: &Deployment, i: usize, places: &Places) -> Result<Option<String>> {
        let s = &d.steps[i];
        // Recorded in the audit trail as the applier's, like the request it stands for.
        let scope = crate::audit::Scope::new("deployment", None);
        let result = scope
            .run(async {
                crate::audit::note_actor(caller, None);
                self.launch_step(caller, d, s, places).await
            })
            .await;
        let (status, error) = match &result {
            Ok(()) => (200, None),
            Err(e) => (if matches!(e, Error::NotFound(_)) { 404 } else { 422 }, Some(e.to_string())),
        };
        let action = format!("deployment #{} step {}: {}", d.number, s.step.index + 1, s.step.action.as_str());
        if let Err(e) =
            crate::audit::AuditManager::new(self.0.store.clone()).finish(&scope, action, status, error, false).await
        {
            tracing::warn!(deployment = %d.id, error = %e, "recording a deployment step in the audit trail");
        }
        match result {
            Ok(()) => Ok(None),
            Err(e @ (Error::Unavailable(_) | Error::Internal(_))) => Err(e),
            Err(e) => Ok(Some(e.to_string())),
        }
    }

    async fn launch_step(&self, caller: &Caller, d: &Deployment, s: &DeploymentStep, places: &Places) -> Result<()> {
        let target = s.target_id.clone().unwrap_or_default();
        let spec = || {
            d.document
                .processes
                .iter()
                .find(|p| p.name == s.step.subject)
                .cloned()
                .ok_or_else(|| Error::BadRequest("the step's process is not in its document".into()))
        };
        let (p, c) = (&self.0.processes, &self.0.connections);
        match s.step.action {
            StepAction::CreateProcess => {
                if p.load(&target).await?.is_some() {
                    return Ok(());
                }
                let spec = spec()?;
                let placement = self.placement_for(places, &spec.placement)?;
                let new = NewProcess {
                    name: Some(spec.name.clone()),
                    service_id: spec.service.clone(),
                    service_version: spec.version.clone(),
                    placement: Some(placement),
                    parameters: spec.parameters.clone(),
                    environment: spec.environment.clone(),
                    limits: spec.limits.clone(),
                    mounts: vec![],
                    ports: vec![],
                    user_id: Some(d.user_id.clone()),
                    move_on_failure: spec.move_on_failure,
                };
                p.create_as(caller, new, Some(target)).await.map(|_| ())
            }
            StepAction::UpdateProcess => p.update(caller, &target, settings(&spec()?)).await.map(|_| ()),
            StepAction::MoveProcess => {
                let spec = spec()?;
                // The other settings the document changes go first (a move takes only the
                // placement): asked for again after a restart, they change nothing.
                if s.step.changes.iter().any(|c| settings_field(&c.field)) {
                    p.update(caller, &target, settings(&spec)).await?;
                }
                let placement = self.placement_for(places, &spec.placement)?;
                let now = p.get(caller, &target).await?;
                if now.placement == placement || now.moving_to_node_id.is_some() {
                    return Ok(());
                }
                p.move_process(caller, &target, ProcessMove { placement, revision: None }).await.map(|_| ())
            }
            StepAction::UpgradeProcess => {
                let spec = spec()?;
                let mut now = p.get(caller, &target).await?;
                // An upgrade takes parameters and environment, not moving on failure: that
                // goes first (asked for again after a restart, it changes nothing).
                if now.move_on_failure != spec.move_on_failure {
                    let update = ProcessUpdate { parameters: None, environment: None, ..settings(&spec) };
                    now = p.update(caller, &target, update).await?;
                }
                let version = spec.version.clone().unwrap_or_default();
                if now.moving_to_node_id.is_some() || (now.service_version == version && now.limits == spec.limits) {
                    return Ok(());
                }
                let placement = self.placement_for(places, &spec.placement)?;
                let request = ProcessUpgrade {
                    service_version: version,
                    parameters: Some(spec.parameters.clone()),
                    environment: Some(spec.environment.clone()),
                    limits: Some(spec.limits.clone()),
                    placement: (placement != now.placement).then_some(placement),
                    drop_connections: false,
                    revision: None,
                };
                p.upgrade(caller, &target, request).await.map(|_| ())
            }
            StepAction::TerminateProcess => match p.load(&target).await? {
                None => Ok(()),
                Some(r) if r.process.state == ProcessState::Terminated => Ok(()),
                Some(_) => p.delete(caller, &target, None).await.map(|_| ()),
            },
            StepAction::AddConnection => {
                if c.get(caller, &target).await.is_ok() {
                    return Ok(());
                }
                let spec = s
                    .step
                    .connection
                    .clone()
                    .ok_or_else(|| Error::BadRequest("a connection step without its connection".into()))?;
                let id_of = |name: &str| {
                    d.steps
                        .iter()
                        .find(|x| x.step.subject == name && x.step.connection.is_none())
                        .and_then(|x| x.target_id.clone())
                        .ok_or_else(|| Error::BadRequest(format!("process '{name}' has no step in this deployment")))
                };
                let new = NewConnection {
                    endpoint1: EndpointRef {
                        process_id: id_of(&spec.endpoints[0].process)?,
                        interface_id: spec.endpoints[0].interface.clone(),
                    },
                    endpoint2: EndpointRef {
                        process_id: id_of(&spec.endpoints[1].process)?,
                        interface_id: spec.endpoints[1].interface.clone(),
                    },
                };
                c.create_as(caller, new, Some(target)).await.map(|_| ())
            }
            StepAction::RemoveConnection => match c.terminate(caller, &target).await {
                Ok(_) | Err(Error::NotFound(_)) => Ok(()),
                Err(e) => Err(e),
            },
            StepAction::KeepProcess | StepAction::KeepConnection => Ok(()),
        }
    }

    /// The owner's nodes and pools as they are now, for placing a look's processes.
    async fn places(&self, user_id: &str) -> Result<Places> {
        let owner: User = self.0.store.fetch::<UserRecord>(user_id).await?.user;
        let (nodes, _) = self.0.store.list::<Node>(&Query::all()).await?;
        let (pools, _) = self.0.store.list::<NodePool>(&Query::all()).await?;
        Ok(Places { owner, nodes, pools })
    }

    /// A document's placement, among the owner's nodes and pools.
    fn placement_for(&self, places: &Places, spec: &crate::model::PlacementSpec) -> Result<Placement> {
        self.resolve_placement(&places.owner, &places.nodes, &places.pools, spec)
            .map_err(|m| Error::invalid("placement", m))
    }

    /// Whether FAILED process `p` waits for its node: the node is lost for now, or it is back and
    /// the process, failed when it was lost, is about to run again.
    async fn waits_for_node(&self, p: &Process) -> Result<bool> {
        let Some(id) = p.running_node_id.as_deref() else { return Ok(false) };
        let Some(node) = self.0.store.get::<Node>(id).await? else { return Ok(false) };
        Ok(node.is_lost() || p.state_reason.as_deref().is_some_and(|r| node.lost_explains(r)))
    }

    /// Whether a launched step took effect: `Some(DONE)`, `Some(FAILED with why)`, or `None`
    /// (not yet).
    async fn settled(&self, s: &DeploymentStep) -> Result<Option<(StepState, Option<String>)>> {
        let target = s.target_id.clone().unwrap_or_default();
        let started = s.started.unwrap_or_else(Utc::now);
        // The target's changes (read once): one that failed since the step started fails it.
        let failed_in = |changes: &[crate::model::PendingChange]| {
            changes
                .iter()
                .find(|c| c.state == PendingChangeState::Failed && c.created >= started - chrono::Duration::seconds(1))
                .map(|c| format!("{}: {}", c.description, c.last_error.clone().unwrap_or_default()))
        };
        let failed_change =
            || async { Ok::<Option<String>, Error>(failed_in(&self.0.engine.of_resource(&target).await?)) };
        let late = Utc::now() - started > STEP_TIMEOUT;
        match s.step.action {
            StepAction::CreateProcess
            | StepAction::UpdateProcess
            | StepAction::MoveProcess
            | StepAction::UpgradeProcess => {
                // A look follows every step under way (500 of them in a large document): the
                // process is read from the in-memory copy of the live ones where it is there.
                let Some(r) = self.0.processes.load_shared(&target).await? else {
                    return Ok(Some((StepState::Failed, Some("the process is gone".into()))));
                };
                let p = &r.process;
                let changes = self.0.engine.of_resource(&target).await?;
                if let Some(why) = failed_in(&changes) {
                    return Ok(Some((StepState::Failed, Some(why))));
                }
                // A process failed because its node is lost for now (a worker that missed the
                // swarm's heartbeats under load, say) runs again when the node returns, or moves
                // when it is set to: its step waits for that, up to the step's time limit.
                if p.state == ProcessState::Failed && !late && self.waits_for_node(p).await? {
                    return Ok(None);
                }
                if p.state == ProcessState::Failed {
                    let why = p.state_reason.clone().unwrap_or_else(|| "it failed".into());
                    return Ok(Some((StepState::Failed, Some(format!("process '{}' failed: {why}", p.name)))));
                }
                let open = changes.iter().any(|c| !c.state.is_final());
                let resting = matches!(p.state, ProcessState::Running | ProcessState::Suspended);
                if resting && !open && r.moving_to.is_none() {
                    return Ok(Some((StepState::Done, None)));
                }
                if late {
                    return Ok(Some((
                        StepState::Failed,
                        Some(format!(
                            "not done after {} minutes: process '{}' is {}{}",
                            STEP_TIMEOUT.num_minutes(),
                            p.name,
                            p.state,
                            p.state_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                        )),
                    )));
                }
                Ok(None)
            }
            StepAction::TerminateProcess => {
                if self.0.processes.load(&target).await?.is_none() {
                    return Ok(Some((StepState::Done, None)));
                }
                if let Some(why) = failed_change().await? {
                    return Ok(Some((StepState::Failed, Some(why))));
                }
                Ok(late.then(|| (StepState::Failed, Some("the process was not removed in time".into()))))
            }
            StepAction::AddConnection => {
                let Some(r) = self.0.store.get::<ConnectionRecord>(&target).await? else {
                    return Ok(Some((StepState::Failed, Some("the connection is gone".into()))));
                };
                match r.connection.state {
                    ConnectionState::Connected => Ok(Some((StepState::Done, None))),
                    ConnectionState::Terminated => Ok(Some((
                        StepState::Failed,
                        Some(format!("the connection ended: {}", r.connection.state_reason.unwrap_or_default())),
                    ))),
                    _ => {
                        if let Some(why) = failed_change().await? {
                            return Ok(Some((StepState::Failed, Some(why))));
                        }
                        Ok(late.then(|| {
                            (
                                StepState::Failed,
                                Some(format!(
                                    "not connected after {} minutes: {}",
                                    STEP_TIMEOUT.num_minutes(),
                                    r.connection.state_reason.unwrap_or_default()
                                )),
                            )
                        }))
                    }
                }
            }
            StepAction::RemoveConnection => match self.0.store.get::<ConnectionRecord>(&target).await? {
                None => Ok(Some((StepState::Done, None))),
                Some(r) if r.connection.state == ConnectionState::Terminated => Ok(Some((StepState::Done, None))),
                Some(_) => Ok(late.then(|| (StepState::Failed, Some("the connection did not end in time".into())))),
            },
            StepAction::KeepProcess | StepAction::KeepConnection => Ok(Some((StepState::Done, None))),
        }
    }
}

use std::collections::BTreeSet;

/// The reconfiguration that gives a process the document's settings.
fn settings(spec: &crate::model::ProcessSpec) -> ProcessUpdate {
    ProcessUpdate {
        name: None,
        parameters: Some(spec.parameters.clone()),
        environment: Some(spec.environment.clone()),
        move_on_failure: Some(spec.move_on_failure),
        revision: None,
    }
}

/// Whether a changed field is one of the settings a reconfiguration makes (not placement,
/// version or limits).
fn settings_field(field: &str) -> bool {
    field.starts_with("parameters.") || field.starts_with("environment.") || field == "move_on_failure"
}
