//! Following the processes: each connection's state follows from its two processes' (see
//! [`ConnectionManager::refresh`]); a process that runs for the first time auto-connects; one that
//! is deleted ends its connections first.

use super::*;
use crate::model::PendingChangeState;

impl ConnectionManager {
    /// Bring every live connection of `process_id` in line with its processes.
    pub async fn refresh_process(&self, process_id: &str) -> Result<()> {
        let (records, _) = self.0.store.list::<ConnectionRecord>(&Query::all().has("process_ids", process_id)).await?;
        for r in records {
            if r.connection.state != ConnectionState::Terminated && !r.connection.terminating {
                self.refresh(&r.connection.id).await?;
            }
        }
        Ok(())
    }

    /// Every live connection, once (the upkeep loop calls this); also forgets connections
    /// terminated more than an hour ago, and asks again for the end of a side of a terminating
    /// connection that nothing is still telling.
    ///
    /// The processes are read once for the round. A connection whose two processes run the
    /// containers that accepted it, with nothing left to tell either, and whose state already
    /// says so is settled: [`Self::refresh`] would do nothing for it, so it is not asked (at 500
    /// processes that is most of them, and three record reads each).
    pub async fn reconcile(&self) -> Result<()> {
        // Both from memory: only a connection that is not settled is read from the store.
        let records = self.0.records.all(&self.0.store).await?;
        let processes = self.0.processes.live_records().await?;
        let processes: std::collections::HashMap<&str, &ProcessRecord> =
            processes.iter().map(|p| (p.process.id.as_str(), &**p)).collect();
        let cutoff = Utc::now() - chrono::Duration::from_std(KEEP_TERMINATED).unwrap_or_default();
        for r in records {
            let c = &r.connection;
            if c.state == ConnectionState::Terminated {
                if c.updated < cutoff {
                    let _ = self.0.store.delete::<ConnectionRecord>(&c.id, None).await;
                }
                continue;
            }
            let result = if c.terminating {
                self.finish_terminating(&r).await
            } else {
                let sides = [&r.connection.endpoint1.process_id, &r.connection.endpoint2.process_id]
                    .map(|id| processes.get(id.as_str()).copied());
                if let [Some(p1), Some(p2)] = sides {
                    if settled(&r, [p1, p2]) {
                        continue;
                    }
                }
                self.refresh(&c.id).await
            };
            if let Err(e) = result {
                tracing::warn!(connection = %c.id, error = %e, "reconciling connection");
            }
        }
        Ok(())
    }

    /// A terminating connection ends when both sides are told; a side whose telling was cancelled
    /// (its process deleted right after its peer) or lost is asked for again. A side whose
    /// change failed waits for its owner to retry it.
    async fn finish_terminating(&self, record: &ConnectionRecord) -> Result<()> {
        let id = &record.connection.id;
        for side in (0..2).filter(|&side| !record.terminated[side]) {
            let changes = self.0.engine.of_resource(&side_resource(id, side)).await?;
            let asked = changes.iter().any(|c| {
                c.kind == ChangeKind::TerminateEndpoint
                    && !matches!(c.state, PendingChangeState::Done | PendingChangeState::Cancelled)
            });
            if !asked {
                let e = record.endpoint(side);
                tracing::info!(connection = %id, side, "asking again for the end of a side of a terminating connection");
                self.submit_side(
                    record,
                    ChangeKind::TerminateEndpoint,
                    side,
                    format!("Terminate the connection of '{}' ({})", e.process_name, e.interface_id),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Work out one connection's state from its processes, and ask each side for what it
    /// still needs to be told.
    pub async fn refresh(&self, id: &str) -> Result<()> {
        let Some(record) = self.0.store.get::<ConnectionRecord>(id).await? else { return Ok(()) };
        if record.connection.terminating || record.connection.state == ConnectionState::Terminated {
            return Ok(());
        }
        let mut sides = Vec::new();
        for side in 0..2 {
            sides.push(self.0.processes.load(&record.endpoint(side).process_id).await?);
        }
        let (Some(p1), Some(p2)) = (&sides[0], &sides[1]) else {
            // One process is gone (deleted without its connections: an older installation).
            self.terminate_record(record, "one of its processes no longer exists").await?;
            return Ok(());
        };
        let procs = [p1, p2];
        // A process that is deleted takes its connections with it (its deletion asked already).
        if let Some(gone) = procs.iter().find(|p| p.process.state == ProcessState::Terminated) {
            let why = format!("process '{}' is being deleted", gone.process.name);
            self.terminate_record(record, &why).await?;
            return Ok(());
        }
        // What each side still needs.
        for side in 0..2 {
            let me = procs[side];
            let peer = procs[1 - side];
            let current = me.task_id.as_deref();
            // Merging the open-change check into the guard would let a side with a connect in
            // flight fall through to the next arm.
            #[allow(clippy::collapsible_match)]
            match me.process.state {
                // Connect a side that has not accepted it in its current container; resume a
                // side that was told of its peer's suspension once the peer runs again.
                ProcessState::Running
                    if record.accepted[side].as_deref() != current
                        || ((record.told_suspended[side] || record.renegotiate[side])
                            && peer.process.state == ProcessState::Running) =>
                {
                    if !self.0.engine.has_open(&side_resource(id, side), ChangeKind::ConnectEndpoint).await? {
                        let verb = if record.told_suspended[side] { "Resume" } else { "Connect" };
                        self.submit_side(
                            &record,
                            ChangeKind::ConnectEndpoint,
                            side,
                            format!("{verb} '{}' to '{}'", me.process.name, peer.process.name),
                        )
                        .await?;
                    }
                }
                ProcessState::Running
                    if peer.process.state == ProcessState::Suspended
                        && record.accepted[side].is_some()
                        && !record.told_suspended[side]
                        && !self.0.engine.has_open(&side_resource(id, side), ChangeKind::SuspendEndpoint).await? =>
                {
                    self.submit_side(
                        &record,
                        ChangeKind::SuspendEndpoint,
                        side,
                        format!("Tell '{}' that '{}' is suspended", me.process.name, peer.process.name),
                    )
                    .await?;
                }
                _ => {}
            }
        }
        let (state, reason) = derive_state(&record, procs);
        if state != record.connection.state || reason != record.connection.state_reason {
            let now = Utc::now();
            let rev = record.connection.revision;
            match self
                .0
                .store
                .modify::<ConnectionRecord>(id, |r| {
                    if r.connection.revision != rev || r.connection.terminating {
                        return Ok(()); // changed meanwhile; the next refresh sees it
                    }
                    r.connection.state = state;
                    r.connection.state_reason = reason.clone();
                    r.connection.updated = now;
                    Ok(())
                })
                .await
            {
                Ok(_) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
            if state != record.connection.state {
                tracing::info!(connection = id, from = %record.connection.state, to = %state, "connection state");
            }
        }
        Ok(())
    }

    /// autoConnect: connect every autoConnect interface of a newly running process to its
    /// owner's other processes' fitting autoConnect interfaces (both sides must say
    /// autoConnect). Connections that would break a rule are skipped, as in the original.
    pub async fn auto_connect(&self, process_id: &str) -> Result<usize> {
        let Some(me) = self.0.processes.load(process_id).await? else { return Ok(0) };
        let me = me.process;
        if !me.interfaces.iter().any(|i| i.auto_connect) {
            return Ok(0);
        }
        let (others, _) = self
            .0
            .store
            .list::<ProcessRecord>(&Query::all().eq("user_id", me.user_id.as_str()).sort("created", false))
            .await?;
        let mut made = 0;
        for iface in me.interfaces.iter().filter(|i| i.auto_connect) {
            for other in
                others.iter().map(|r| &r.process).filter(|o| o.id != me.id && o.state != ProcessState::Terminated)
            {
                for oi in other.interfaces.iter().filter(|i| i.auto_connect) {
                    match self.connect(me.clone(), &iface.id, other.clone(), &oi.id, true, None).await {
                        Ok(c) => {
                            made += 1;
                            tracing::info!(connection = %c.id, process = %me.id, peer = %other.id, "auto-connected");
                        }
                        Err(e) => tracing::debug!(process = %me.id, peer = %other.id, "not auto-connected: {e}"),
                    }
                }
            }
        }
        Ok(made)
    }
}

#[async_trait::async_trait]
impl crate::managers::ProcessHooks for ConnectionManager {
    async fn running(&self, process_id: &str, first_time: bool) {
        if first_time {
            if let Err(e) = self.auto_connect(process_id).await {
                tracing::warn!(process = process_id, error = %e, "auto-connect");
            }
        }
        if let Err(e) = self.refresh_process(process_id).await {
            tracing::warn!(process = process_id, error = %e, "refreshing connections");
        }
    }

    async fn changed(&self, process_id: &str) {
        if let Err(e) = self.refresh_process(process_id).await {
            tracing::warn!(process = process_id, error = %e, "refreshing connections");
        }
    }

    async fn deleting(&self, process_id: &str, name: &str) -> Result<()> {
        for record in self.live_of(&[process_id]).await? {
            self.terminate_record(record, &format!("process '{name}' is being deleted")).await?;
        }
        Ok(())
    }

    async fn unfit_after_upgrade(
        &self,
        process: &Process,
        interfaces: &[crate::model::Interface],
    ) -> Result<Vec<(String, String)>> {
        let mut unfit = Vec::new();
        for record in self.live_of(&[&process.id]).await? {
            let c = &record.connection;
            let side = if c.endpoint1.process_id == process.id { 0 } else { 1 };
            let Some(peer) = self.0.processes.load(&record.endpoint(1 - side).process_id).await? else { continue };
            if let Err(why) = renegotiate(c, side, interfaces, &peer.process) {
                unfit.push((c.id.clone(), why));
            }
        }
        Ok(unfit)
    }

    async fn drop_connections(&self, ids: &[String], why: &str) -> Result<()> {
        for id in ids {
            if let Some(record) = self.0.store.get::<ConnectionRecord>(id).await? {
                if record.connection.is_live() {
                    self.terminate_record(record, why).await?;
                }
            }
        }
        Ok(())
    }

    async fn upgraded(&self, process_id: &str) -> Result<()> {
        let Some(me) = self.0.processes.load(process_id).await? else { return Ok(()) };
        for record in self.live_of(&[process_id]).await? {
            let c = &record.connection;
            let side = if c.endpoint1.process_id == process_id { 0 } else { 1 };
            let Some(peer) = self.0.processes.load(&record.endpoint(1 - side).process_id).await? else { continue };
            match renegotiate(c, side, &me.process.interfaces, &peer.process) {
                Ok((mine, theirs, peer_changed)) => {
                    self.0
                        .store
                        .modify::<ConnectionRecord>(&c.id, |r| {
                            let (me_ep, peer_ep) = if side == 0 {
                                (&mut r.connection.endpoint1, &mut r.connection.endpoint2)
                            } else {
                                (&mut r.connection.endpoint2, &mut r.connection.endpoint1)
                            };
                            me_ep.interface_version_name = mine.clone();
                            peer_ep.interface_version_name = theirs.clone();
                            if peer_changed {
                                r.renegotiate[1 - side] = true;
                            }
                            Ok(())
                        })
                        .await?;
                }
                // Checked when the upgrade was asked for; a peer upgraded meanwhile may not fit.
                Err(why) => self.terminate_record(record, &why).await.map(|_| ())?,
            }
        }
        Ok(())
    }
}

/// Whether [`ConnectionManager::refresh`] would leave this connection as it is: both processes
/// run the containers that accepted it, neither is to be told of a suspension or an upgrade, and
/// its state already follows from theirs.
fn settled(record: &ConnectionRecord, procs: [&ProcessRecord; 2]) -> bool {
    let sides_done = (0..2).all(|side| {
        procs[side].process.state == ProcessState::Running
            && procs[side].task_id.is_some()
            && record.accepted[side] == procs[side].task_id
            && !record.told_suspended[side]
            && !record.renegotiate[side]
    });
    sides_done && derive_state(record, procs) == (record.connection.state, record.connection.state_reason.clone())
}
