//! The connection manager's pending changes: tell one side of a connection that it is made,
//! that its peer is suspended, or that it ends. Each reads the records when it runs, so running it
//! twice does no harm.

use super::*;

impl ConnectionManager {
    /// The connection and the side a change of one of its sides is for; `None` when the
    /// connection is gone (nothing is left to do).
    pub(in crate::managers) async fn side_of(
        &self,
        change: &PendingChange,
        id: &str,
    ) -> Result<Option<(ConnectionRecord, usize)>> {
        let side = match serde_json::from_value::<SidePayload>(change.payload.clone()) {
            Ok(p) if p.side < 2 => p.side,
            _ => return Err(Error::BadRequest("a connection change without its side".into())),
        };
        Ok(self.0.store.get::<ConnectionRecord>(id).await?.map(|r| (r, side)))
    }

    pub(in crate::managers) async fn run_connect(&self, record: ConnectionRecord, side: usize) -> Result<Outcome> {
        let id = record.connection.id.clone();
        let me_ep = record.endpoint(side).clone();
        let peer_ep = record.endpoint(1 - side).clone();
        let Some(me) = self.0.processes.load(&me_ep.process_id).await? else {
            return Ok(Outcome::Fail(format!("process {} no longer exists", me_ep.process_id)));
        };
        let Some(peer) = self.0.processes.load(&peer_ep.process_id).await? else {
            return Ok(Outcome::Fail(format!("process {} no longer exists", peer_ep.process_id)));
        };
        match me.process.state {
            ProcessState::Running => {}
            ProcessState::Terminated => return Ok(Outcome::Done),
            s => {
                return Ok(Outcome::NotYet(
                    Duration::from_secs(1),
                    format!("waiting for process '{}' to run (it is {s})", me.process.name),
                ))
            }
        }
        let Some(iface) = me.process.interfaces.iter().find(|i| i.id == me_ep.interface_id) else {
            return Ok(Outcome::Fail(format!(
                "process '{}' has no interface '{}'",
                me.process.name, me_ep.interface_id
            )));
        };
        let Some(version) = iface
            .interface_versions
            .iter()
            .find(|v| Some(&v.version_name) == me_ep.interface_version_name.as_ref())
            .or(iface.interface_versions.first())
        else {
            return Ok(Outcome::Fail(format!("interface '{}' has no versions", iface.id)));
        };
        // The side with the smaller process id listens; the other connects to it by name.
        let target_address = if me.process.id <= peer.process.id { String::new() } else { peer.process.id.clone() };
        let renegotiating = record.renegotiate[side];
        if renegotiating {
            // Its peer's upgrade changed the version this side uses: it ends the connection it
            // has and makes it again with the new hashes (a RESUME would keep the old ones).
            if let Told::Unreachable =
                self.0.anchor.tell_connection(&me.process, mode_only(ModeType::Terminate, &id)).await?
            {
                return Ok(Outcome::NotYet(
                    Duration::from_secs(1),
                    format!("process '{}' has no running container", me.process.name),
                ));
            }
        }
        let resume = record.told_suspended[side] && !renegotiating;
        let message = ConnectionMessage {
            mode: if resume { ModeType::Resume } else { ModeType::Create } as i32,
            connection_id: id.clone(),
            target_address: Some(target_address),
            listen_port: Some(i32::from(record.connection.port)),
            receive_hash: Some(version.receives_hash.clone()),
            send_hash: Some(version.sends_hash.clone()),
            remote_interface_id: Some(peer_ep.interface_id.clone()),
            remote_process_id: Some(peer.process.id.clone()),
            remote_service_id: Some(peer.process.service_id.clone()),
            remote_process_name: Some(peer.process.name.clone()),
        };
        let task = match self.0.anchor.tell_connection(&me.process, message).await? {
            Told::Took { task } => task,
            Told::Unreachable => {
                return Ok(Outcome::NotYet(
                    Duration::from_secs(1),
                    format!("process '{}' has no running container", me.process.name),
                ))
            }
            Told::Refused(refused) => {
                let reason = format!("process '{}' refused the connection: {refused}", me.process.name);
                self.note(&id, &reason).await?;
                return Ok(Outcome::Retry(reason));
            }
        };
        self.0
            .store
            .modify::<ConnectionRecord>(&id, |r| {
                r.accepted[side] = Some(task.clone());
                r.told_suspended[side] = false;
                r.renegotiate[side] = false;
                Ok(())
            })
            .await?;
        self.refresh(&id).await?;
        Ok(Outcome::Done)
    }

    pub(in crate::managers) async fn run_suspend(&self, record: ConnectionRecord, side: usize) -> Result<Outcome> {
        let ep = record.endpoint(side).clone();
        let Some(me) = self.0.processes.load(&ep.process_id).await? else { return Ok(Outcome::Done) };
        if me.process.state != ProcessState::Running {
            // It restarted or stopped: it will be connected afresh.
            return Ok(Outcome::Done);
        }
        let message = mode_only(ModeType::Suspend, &record.connection.id);
        // Told, whether it takes the suspension or answers that it has no such connection.
        if let Told::Unreachable = self.0.anchor.tell_connection(&me.process, message).await? {
            return Ok(Outcome::Done);
        }
        let id = record.connection.id.clone();
        self.0
            .store
            .modify::<ConnectionRecord>(&id, |r| {
                r.told_suspended[side] = true;
                Ok(())
            })
            .await?;
        self.refresh(&id).await?;
        Ok(Outcome::Done)
    }

    pub(in crate::managers) async fn run_terminate(&self, record: ConnectionRecord, side: usize) -> Result<Outcome> {
        let id = record.connection.id.clone();
        let ep = record.endpoint(side).clone();
        let me = self.0.processes.load(&ep.process_id).await?;
        // A process that is gone, or has no container, has no connection to end.
        let reachable = me.as_ref().filter(|r| {
            matches!(r.process.state, ProcessState::Running | ProcessState::Initializing | ProcessState::Terminated)
        });
        if let Some(r) = reachable {
            match self.0.anchor.tell_connection(&r.process, mode_only(ModeType::Terminate, &id)).await {
                // Taken, refused for a connection it does not know, or no container: either way
                // it has no such connection now.
                Ok(_) => {}
                Err(e) => {
                    let still_running = self
                        .0
                        .processes
                        .load(&ep.process_id)
                        .await?
                        .is_some_and(|r| r.process.state == ProcessState::Running);
                    if still_running {
                        return Ok(Outcome::Retry(e.to_string()));
                    }
                }
            }
        }
        let now = Utc::now();
        let updated = self
            .0
            .store
            .modify::<ConnectionRecord>(&id, |r| {
                r.terminated[side] = true;
                if r.terminated[0] && r.terminated[1] {
                    r.connection.state = ConnectionState::Terminated;
                    r.connection.state_reason = r.ending.clone();
                }
                r.connection.updated = now;
                Ok(())
            })
            .await;
        match updated {
            Ok(_) | Err(Error::NotFound(_)) => Ok(Outcome::Done),
            Err(e) => Err(e),
        }
    }

    async fn note(&self, id: &str, reason: &str) -> Result<()> {
        let now = Utc::now();
        match self
            .0
            .store
            .modify::<ConnectionRecord>(id, |r| {
                r.connection.state_reason = Some(reason.to_string());
                r.connection.updated = now;
                Ok(())
            })
            .await
        {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
