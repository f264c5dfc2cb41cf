//! What callers ask of the process manager: create, change, suspend, resume and delete a
//! process, and the config trigger a (re)started process calls. Each checks the request in full,
//! saves the desired state and submits the pending change that carries it out; nothing is saved
//! when anything is wrong.

use super::*;
use crate::model::ConfigEntry;

impl ProcessManager {
    /// Create a process: validate everything, choose its node, save it STARTING and submit the
    /// change that creates its swarm service. Nothing is saved when anything is wrong.
    pub async fn create(&self, caller: &Caller, new: NewProcess) -> Result<Process> {
        self.create_as(caller, new, None).await
    }

    /// As [`ProcessManager::create`], with the new process's id chosen by the caller (a
    /// deployment, which must find what it made when it runs a step again); an id that exists
    /// already is a conflict.
    pub async fn create_as(&self, caller: &Caller, new: NewProcess, id: Option<String>) -> Result<Process> {
        let owner = match new.user_id.as_deref() {
            Some(uid) if uid != caller.user.id => {
                caller.require_admin()?;
                validate::id("user", uid)?;
                self.0
                    .store
                    .get::<UserRecord>(uid)
                    .await?
                    .ok_or_else(|| Error::invalid("user_id", format!("no user with id '{uid}'")))?
                    .user
            }
            _ => caller.user.clone(),
        };
        if new.service_id.trim().is_empty() {
            return Err(Error::invalid("service_id", "choose a service"));
        }
        let service = match self.0.services.get(&new.service_id, new.service_version.as_deref()).await {
            Ok(s) => s,
            Err(Error::NotFound(m)) => {
                let field = if m.contains("version") { "service_version" } else { "service_id" };
                return Err(Error::invalid(field, m));
            }
            Err(e) => return Err(e),
        };
        if service.digests.is_empty() {
            return Err(Error::invalid(
                "service_version",
                format!("version {} of {} has no image Switchyard can run", service.version, service.id),
            ));
        }
        let name = match new.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => {
                validate::process_name(n)?;
                n.to_string()
            }
            None => format!("{} @{}", service.name, owner.username),
        };
        let parameters = validate::parameters(&service.parameters, &new.parameters)?;
        let environment = validate::environment(&new.environment)?;
        let limits = self.check_limits(new.limits)?;
        if (!new.mounts.is_empty() || !new.ports.is_empty()) && !caller.is_admin() {
            return Err(Error::Forbidden(
                "only administrators may mount host directories or publish host ports".into(),
            ));
        }
        for m in &new.mounts {
            if !m.source.starts_with('/') || !m.target.starts_with('/') {
                return Err(Error::invalid("mounts", "mount source and target must be absolute paths"));
            }
        }
        for p in &new.ports {
            if p.internal == 0 || p.external == 0 {
                return Err(Error::invalid("ports", "ports must be between 1 and 65535"));
            }
        }
        let placement = new.placement.clone().unwrap_or(Placement::Automatic);
        let (node, reason) = self.place(&owner, &placement, &service, &limits, None).await?;
        let image = self.image_for(&service, &node);

        let now = Utc::now();
        let mut process = Process {
            id: id.unwrap_or_else(new_id),
            name,
            user_id: owner.id.clone(),
            service_id: service.id.clone(),
            service_version: service.version.clone(),
            image: Some(image),
            placement,
            parameters,
            environment,
            limits,
            mounts: new.mounts,
            ports: new.ports,
            interfaces: service.interfaces.clone(),
            state: ProcessState::Starting,
            state_reason: None,
            running_node_id: Some(node.id.clone()),
            placement_reason: Some(reason),
            has_saved_state: false,
            state_saved_at: None,
            state_restored_at: None,
            move_on_failure: new.move_on_failure,
            moving_to_node_id: None,
            // As stored by the insert below, at revision 1.
            config_revision: 1,
            history: Vec::new(),
            created: now,
            updated: now,
            revision: 0,
        };
        process.set_state(ProcessState::Starting, Some("creating its swarm service".into()), now);
        let record = ProcessRecord {
            process,
            token: auth::new_secret(),
            saved_state: None,
            task_id: None,
            has_run: false,
            moving_to: None,
            refused: None,
            suspending_task: None,
        };
        // Two writes (the store has no transaction across collections on a standalone MongoDB):
        // when the change cannot be saved, the record goes again, so nothing is half-made; after
        // a crash between the two, the reconciler finds a record that never had a service and
        // creates it, saying so.
        let record = self.0.store.insert(&record).await?;
        let submitted = self
            .0
            .engine
            .submit(NewChange::new(
                ChangeKind::CreateProcess,
                &owner.id,
                &record.process.id,
                format!("Create the swarm service of process '{}' on {}", record.process.name, node.name),
            ))
            .await;
        if let Err(e) = submitted {
            if let Err(undo) = self.0.store.delete::<ProcessRecord>(&record.process.id, None).await {
                tracing::warn!(process = %record.process.id, error = %undo, "undoing a create whose change was not saved");
            }
            return Err(e);
        }
        Ok(record.process)
    }

    pub(crate) fn check_limits(
        &self,
        mut limits: crate::model::ResourceLimits,
    ) -> Result<crate::model::ResourceLimits> {
        let s = &self.0.settings;
        if s.max_memory_bytes > 0 {
            if limits.memory_bytes > s.max_memory_bytes {
                return Err(Error::invalid(
                    "limits.memory_bytes",
                    format!(
                        "memory must be at most {} MiB ({} bytes): the most a process may have here",
                        s.max_memory_bytes / (1024 * 1024),
                        s.max_memory_bytes
                    ),
                ));
            }
            if limits.memory_bytes == 0 {
                limits.memory_bytes = s.max_memory_bytes;
            }
        }
        if s.max_nano_cpus > 0 {
            if limits.nano_cpus > s.max_nano_cpus {
                return Err(Error::invalid(
                    "limits.nano_cpus",
                    format!(
                        "CPUs must be at most {} ({} nano-CPUs): the most a process may have here",
                        s.max_nano_cpus as f64 / 1e9,
                        s.max_nano_cpus
                    ),
                ));
            }
            if limits.nano_cpus == 0 {
                limits.nano_cpus = s.max_nano_cpus;
            }
        }
        if limits.memory_bytes != 0 && limits.memory_bytes < 4 * 1024 * 1024 {
            return Err(Error::invalid("limits.memory_bytes", "a memory limit must be at least 4 MiB (4194304 bytes)"));
        }
        // Docker keeps both as signed 64-bit numbers; what a node can give is checked at placement.
        if limits.memory_bytes > i64::MAX as u64 {
            return Err(Error::invalid("limits.memory_bytes", "a memory limit must be less than 8 EiB"));
        }
        if limits.nano_cpus != 0 && limits.nano_cpus < 10_000_000 {
            return Err(Error::invalid(
                "limits.nano_cpus",
                "a CPU limit must be at least 0.01 CPU (10000000 nano-CPUs)",
            ));
        }
        if limits.nano_cpus > i64::MAX as u64 {
            return Err(Error::invalid("limits.nano_cpus", "a CPU limit must be less than 9.2 billion CPUs"));
        }
        Ok(limits)
    }

    /// Rename a process or change its parameters or environment.
    pub async fn update(&self, caller: &Caller, id: &str, change: ProcessUpdate) -> Result<Process> {
        let record = self.record_for(caller, id).await?;
        check_revision(&record.process, change.revision)?;
        if matches!(record.process.state, ProcessState::Terminated) {
            return Err(Error::Conflict("this process is being deleted".into()));
        }
        let name = match &change.name {
            Some(n) => {
                validate::process_name(n)?;
                Some(n.trim().to_string())
            }
            None => None,
        };
        let parameters = match &change.parameters {
            Some(p) => {
                let service =
                    self.0.services.get(&record.process.service_id, Some(&record.process.service_version)).await?;
                Some(validate::parameters(&service.parameters, p)?)
            }
            None => None,
        };
        let environment = change.environment.as_ref().map(validate::environment).transpose()?;
        let move_on_failure = change.move_on_failure;
        let params_changed = parameters.as_ref().is_some_and(|p| p != &record.process.parameters);
        let env_changed = environment.as_ref().is_some_and(|e| e != &record.process.environment);
        let expected = record.process.revision;
        let updated = self
            .0
            .store
            .modify::<ProcessRecord>(id, |r| {
                if r.process.config_revision > expected {
                    return Err(Error::StaleRevision(format!(
                        "process '{}' changed while you changed it; reload and try again",
                        r.process.name
                    )));
                }
                r.process.config_revision = r.process.revision + 1;
                let note = reconfiguration_note(
                    &r.process,
                    name.as_deref(),
                    parameters.as_deref(),
                    environment.as_deref(),
                    move_on_failure,
                );
                if let Some(n) = &name {
                    r.process.name = n.clone();
                }
                if let Some(p) = &parameters {
                    r.process.parameters = p.clone();
                }
                if let Some(e) = &environment {
                    r.process.environment = e.clone();
                }
                if let Some(m) = move_on_failure {
                    r.process.move_on_failure = m;
                }
                r.process.updated = Utc::now();
                if let Some(note) = note {
                    // Reconfigurations belong in its history beside its state changes.
                    r.process.note(note, r.process.updated);
                }
                Ok(())
            })
            .await?;
        let p = &updated.process;
        let live = !matches!(p.state, ProcessState::Suspended | ProcessState::Terminated);
        if env_changed && live {
            self.0
                .engine
                .submit(NewChange::new(
                    ChangeKind::UpdateProcessEnvironment,
                    &p.user_id,
                    &p.id,
                    format!("Restart process '{}' with its new environment", p.name),
                ))
                .await?;
        } else if params_changed && live {
            self.0
                .engine
                .submit(NewChange::new(
                    ChangeKind::UpdateProcessParameters,
                    &p.user_id,
                    &p.id,
                    format!("Send process '{}' its new configuration", p.name),
                ))
                .await?;
        }
        Ok(updated.process)
    }

    /// Suspend a running process: it hands over its state, which Switchyard keeps, and its swarm
    /// service is removed.
    pub async fn suspend(&self, caller: &Caller, id: &str) -> Result<Process> {
        let record = self.record_for(caller, id).await?;
        if record.process.state != ProcessState::Running {
            return Err(Error::Conflict(format!(
                "only a RUNNING process can be suspended; this one is {}",
                record.process.state
            )));
        }
        if self.0.engine.has_open(id, ChangeKind::SuspendProcess).await? {
            return Err(Error::Conflict("this process is being suspended already".into()));
        }
        self.0
            .engine
            .submit(NewChange::new(
                ChangeKind::SuspendProcess,
                &record.process.user_id,
                id,
                format!("Suspend process '{}', keeping its state", record.process.name),
            ))
            .await?;
        Ok(record.process)
    }

    /// Resume a suspended process from the state it handed over.
    pub async fn resume(&self, caller: &Caller, id: &str) -> Result<Process> {
        let record = self.record_for(caller, id).await?;
        if record.process.state != ProcessState::Suspended {
            return Err(Error::Conflict(format!(
                "only a SUSPENDED process can be resumed; this one is {}",
                record.process.state
            )));
        }
        if self.0.engine.has_open(id, ChangeKind::ResumeProcess).await? {
            return Err(Error::Conflict("this process is being resumed already".into()));
        }
        self.transition(id, ProcessState::Starting, "resuming", ChangeKind::ResumeProcess, |p| {
            format!("Resume process '{}' from its saved state", p.name)
        })
        .await
    }

    /// Put a process in `state` and submit the change of `kind` that carries it on.
    pub(super) async fn transition(
        &self,
        id: &str,
        state: ProcessState,
        reason: &str,
        kind: ChangeKind,
        describe: impl Fn(&Process) -> String,
    ) -> Result<Process> {
        let now = Utc::now();
        let record = self
            .0
            .store
            .modify::<ProcessRecord>(id, |r| {
                r.process.set_state(state, Some(reason.to_string()), now);
                r.process.updated = now;
                Ok(())
            })
            .await?;
        let p = record.process;
        self.0.engine.submit(NewChange::new(kind, &p.user_id, id, describe(&p))).await?;
        Ok(p)
    }

    /// Delete a process: changes that have not started are cancelled, the process is told to
    /// terminate, its swarm service is removed and then its record.
    pub async fn delete(&self, caller: &Caller, id: &str, revision: Option<u64>) -> Result<Process> {
        let record = self.record_for(caller, id).await?;
        check_revision(&record.process, revision)?;
        if self.0.engine.has_open(id, ChangeKind::DeleteProcess).await? {
            return Ok(record.process);
        }
        // Not the ends of its connections: a peer deleted a moment before asked those, and
        // they are what turns the connection TERMINATED.
        self.0.engine.cancel_waiting(id, &[ChangeKind::DeleteProcess, ChangeKind::TerminateEndpoint]).await?;
        // Its connections end first: their changes queue ahead of its deletion.
        if let Some(h) = self.0.hooks.get() {
            h.deleting(id, &record.process.name).await?;
        }
        self.transition(id, ProcessState::Terminated, "being deleted", ChangeKind::DeleteProcess, |p| {
            format!("Terminate process '{}' and remove it", p.name)
        })
        .await
    }

    /// The last lines of the process's containers' logs (after `since`, when given), oldest
    /// first; lines of an earlier container (before a restart or a move) are marked.
    pub async fn logs(
        &self,
        caller: &Caller,
        id: &str,
        tail: u32,
        since: Option<chrono::DateTime<Utc>>,
    ) -> Result<ProcessLogs> {
        let record = self.record_for(caller, id).await?;
        let raw = match self.0.swarm.service_logs(&record.process.id, tail.clamp(1, 5000), since).await {
            Ok(lines) => lines,
            Err(Error::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let current = record.task_id.as_deref();
        let mut entries = Vec::with_capacity(raw.len());
        let mut lines = Vec::with_capacity(raw.len());
        for line in &raw {
            let (at, task, text) = parse_log_line(line);
            // Docker's `since` includes a line written exactly then: that one is not new.
            if since.is_some() && at <= since {
                continue;
            }
            let previous = matches!((task, current), (Some(t), Some(c)) if t != c);
            lines.push(match at {
                Some(t) => format!("{} {text}", t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
                None => text.to_string(),
            });
            entries.push(crate::model::LogLine { at, text: text.to_string(), previous });
        }
        // Service logs come from each task in turn; people read them in time order.
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&i| entries[i].at);
        let entries = order.iter().map(|&i| entries[i].clone()).collect();
        let lines = order.iter().map(|&i| lines[i].clone()).collect();
        Ok(ProcessLogs { lines, entries })
    }

    /// The config trigger: a (re)started process asks for its configuration, authenticated by its
    /// token. Its state becomes INITIALIZING and its configuration is sent by a pending change.
    pub async fn trigger(&self, id: &str, token: &str) -> Result<()> {
        validate::id("process", id)?;
        let record = self
            .0
            .store
            .get::<ProcessRecord>(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no process with id '{id}'")))?;
        if !auth::constant_time_eq(record.token.as_bytes(), token.as_bytes()) {
            return Err(Error::Unauthenticated("wrong process token".into()));
        }
        if matches!(record.process.state, ProcessState::Terminated | ProcessState::Suspended) {
            return Err(Error::Conflict(format!("process {id} is {}", record.process.state)));
        }
        let now = Utc::now();
        let record = self
            .0
            .store
            .modify::<ProcessRecord>(id, |r| {
                if !matches!(r.process.state, ProcessState::Terminated | ProcessState::Suspended) {
                    let reason = if r.process.state == ProcessState::Running {
                        super::super::RESTARTED
                    } else {
                        "the process asked for its configuration"
                    };
                    r.process.set_state(ProcessState::Initializing, Some(reason.into()), now);
                    r.process.updated = now;
                }
                Ok(())
            })
            .await?;
        // A sending that has not started yet reads the process when it runs: hurry it. One
        // already under way may have read it before this ask (and set it RUNNING after it): a new
        // one follows it.
        if self.0.engine.has_waiting(id, ChangeKind::ConfigureProcess).await? {
            self.0.engine.hurry(id).await?;
        } else {
            self.0
                .engine
                .submit(NewChange::new(
                    ChangeKind::ConfigureProcess,
                    &record.process.user_id,
                    id,
                    format!("Send process '{}' its configuration", record.process.name),
                ))
                .await?;
        }
        Ok(())
    }
}

/// A line of `docker service logs --timestamps --details`: its time, the task that wrote it, and
/// its text.
pub(crate) fn parse_log_line(line: &str) -> (Option<chrono::DateTime<Utc>>, Option<&str>, &str) {
    let (at, rest) = match line.split_once(' ') {
        Some((first, rest)) => match chrono::DateTime::parse_from_rfc3339(first) {
            Ok(t) => (Some(t.with_timezone(&Utc)), rest),
            Err(_) => (None, line),
        },
        None => (chrono::DateTime::parse_from_rfc3339(line).ok().map(|t| t.with_timezone(&Utc)), ""),
    };
    if !rest.starts_with("com.docker.swarm.") {
        return (at, None, rest);
    }
    let (details, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let task = details.split(',').find_map(|kv| kv.strip_prefix("com.docker.swarm.task.id="));
    (at, task, text)
}

/// What a change of a process's configuration changes, in words for its history (`None` when
/// it changes nothing). Environment values are not repeated: they may be secrets.
pub(super) fn reconfiguration_note(
    old: &Process,
    name: Option<&str>,
    parameters: Option<&[ConfigEntry]>,
    environment: Option<&[ConfigEntry]>,
    move_on_failure: Option<bool>,
) -> Option<String> {
    fn short(v: &str) -> String {
        let mut s: String = v.chars().take(40).collect();
        if v.chars().count() > 40 {
            s.push('…');
        }
        format!("'{s}'")
    }
    fn diff(old: &[ConfigEntry], new: &[ConfigEntry], values: bool) -> Vec<String> {
        let mut out = Vec::new();
        for e in new {
            match old.iter().find(|o| o.key == e.key) {
                None if values => out.push(format!("{} set to {}", e.key, short(&e.value))),
                None => out.push(format!("{} added", e.key)),
                Some(o) if o.value == e.value => {}
                Some(o) if values => out.push(format!("{} {} → {}", e.key, short(&o.value), short(&e.value))),
                Some(_) => out.push(format!("{} changed", e.key)),
            }
        }
        for o in old.iter().filter(|o| !new.iter().any(|e| e.key == o.key)) {
            out.push(format!("{} removed", o.key));
        }
        out
    }
    let mut parts = Vec::new();
    if let Some(n) = name.filter(|n| *n != old.name) {
        parts.push(format!("renamed from {} to {}", short(&old.name), short(n)));
    }
    if let Some(p) = parameters {
        let d = diff(&old.parameters, p, true);
        if !d.is_empty() {
            parts.push(format!("parameters: {}", d.join(", ")));
        }
    }
    if let Some(e) = environment {
        let d = diff(&old.environment, e, false);
        if !d.is_empty() {
            parts.push(format!("environment: {}", d.join(", ")));
        }
    }
    if let Some(m) = move_on_failure.filter(|m| *m != old.move_on_failure) {
        parts.push(if m { "now moves when its node fails".into() } else { "now waits when its node fails".into() });
    }
    (!parts.is_empty()).then(|| format!("reconfigured: {}", parts.join("; ")))
}

#[cfg(test)]
mod reconfiguration_tests {
    use super::*;

    #[test]
    fn a_reconfiguration_says_what_changed() {
        let entry = |k: &str, v: &str| ConfigEntry { key: k.into(), value: v.into() };
        let mut p = Process::blank("p", "old", "u", "s", "1");
        p.parameters = vec![entry("a", "1"), entry("b", "2")];
        p.environment = vec![entry("SECRET", "x")];
        assert_eq!(reconfiguration_note(&p, Some("old"), Some(&p.parameters.clone()), None, None), None);
        let note = reconfiguration_note(
            &p,
            Some("new"),
            Some(&[entry("a", "5"), entry("c", "3")]),
            Some(&[entry("SECRET", "y")]),
            Some(true),
        )
        .unwrap();
        assert_eq!(
            note,
            "reconfigured: renamed from 'old' to 'new'; parameters: a '1' → '5', c set to '3', b removed; \
             environment: SECRET changed; now moves when its node fails"
        );
    }
}

#[cfg(test)]
mod log_tests {
    use super::parse_log_line;

    #[test]
    fn a_detailed_log_line_gives_its_time_task_and_text() {
        let line = "2026-12-04T01:02:03.123456789Z com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t9 count=3 at 12:00";
        let (at, task, text) = parse_log_line(line);
        assert_eq!(at.unwrap().to_rfc3339(), "2026-12-04T01:02:03.123456789+00:00");
        assert_eq!(task, Some("t9"));
        assert_eq!(text, "count=3 at 12:00");
        assert_eq!(parse_log_line("plain text"), (None, None, "plain text"));
        let (at, task, text) = parse_log_line("2026-12-04T01:02:03Z  indented");
        assert!(at.is_some() && task.is_none());
        assert_eq!(text, " indented");
    }
}
