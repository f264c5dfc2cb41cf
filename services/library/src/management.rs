//! The management channel (docs/protocol.md#the-management-channel): the orchestrator connects to the
//! process, sends one request frame at a time, and the process answers each with exactly one
//! frame, never anything unsolicited.
//!
//! [`Handler::connection`] serves one connection until it breaks, idles for too long, or a
//! request ends the process (SUSPENDED, TERMINATED); [`Handler::handle`] turns one request
//! into its reply, running the service's callback on the user thread.

use std::{collections::HashMap, sync::Arc, time::Duration};

use switchyard_protocol::{
    connection::{connection_message::ModeType, ConnectionHandshake, ConnectionMessage, ConnectionState},
    envelope::{EnvelopeError, Management},
    frame::{read_frame, write_frame},
    process::{
        ErrorMessage, GoToProcessStateMessage, ProcessState, ProcessStateUpdateMessage, ResumeProcessMessage,
        SetConfigMessage,
    },
};
use tokio::net::TcpStream;
use tracing::{debug, info, warn};

use crate::{
    connection::{BuildHandler, ConnectionControl, ConnectionInfo, Endpoint, InterfaceVersion},
    user::{self, CallError, Pending, UserThread},
    CallbackError, Config, Environment, Outcome, Service,
};

/// The exception class the Java library names first in the `ErrorMessage` for an
/// undecodable request; its tests (and tools written against it) look for this prefix.
const SERIALIZATION_EXCEPTION: &str = "org.flexiblepower.exceptions.SerializationException";

/// How the handling of a request leaves the management loop.
pub(crate) enum Flow {
    Continue,
    /// Reply, then end the management loop; a TERMINATED request also waits (briefly) for the
    /// service's `terminate()` after replying.
    Stop(Outcome, Option<Pending<()>>),
}

/// How a connection ended.
pub(crate) enum End {
    /// The connection is gone; listen for the next one.
    Closed(String),
    /// The process is done.
    Stop(Outcome),
}

pub(crate) struct Handler<S> {
    env: Arc<Environment>,
    user: UserThread<S>,
    callback_timeout: Duration,
    /// `init` succeeded: later configurations go to `modify`.
    configured: bool,
    /// `init` or `resume_from` ran: the service is working and must be told to terminate.
    started: bool,
    /// The interface versions the service handles.
    interfaces: Vec<InterfaceVersion>,
    /// The data connections, by id.
    connections: HashMap<String, ConnectionControl>,
}

impl<S: Service> Handler<S> {
    pub fn new(
        env: Arc<Environment>,
        user: UserThread<S>,
        callback_timeout: Duration,
        interfaces: Vec<InterfaceVersion>,
    ) -> Self {
        Handler {
            env,
            user,
            callback_timeout,
            configured: false,
            started: false,
            interfaces,
            connections: HashMap::new(),
        }
    }

    /// Serve one orchestrator connection, one request and one reply at a time.
    pub async fn connection(&mut self, mut stream: TcpStream, idle_timeout: Duration) -> End {
        // As the original: keep-alive finds an orchestrator that vanished without closing.
        if let Err(e) = socket2::SockRef::from(&stream).set_keepalive(true) {
            debug!("cannot switch on TCP keep-alive: {e}");
        }
        loop {
            let request = match tokio::time::timeout(idle_timeout, read_frame(&mut stream)).await {
                Err(_) => return End::Closed(format!("no request for {idle_timeout:?}")),
                Ok(Err(e)) => return End::Closed(format!("read failed: {e}")),
                Ok(Ok(None)) => return End::Closed("closed by the orchestrator".into()),
                Ok(Ok(Some(request))) => request,
            };
            let (reply, flow) = self.handle(&request).await;
            let written = write_frame(&mut stream, &reply.encode()).await;
            match flow {
                Flow::Continue => {
                    if let Err(e) = written {
                        return End::Closed(format!("sending the reply failed: {e}"));
                    }
                }
                // The service has stopped working either way, so the process ends even if the
                // reply was lost; the orchestrator sees the connection drop.
                Flow::Stop(outcome, terminating) => {
                    self.close_connections().await;
                    if let Err(e) = written {
                        warn!("sending the {outcome:?} reply failed: {e}");
                    }
                    if let Some(pending) = terminating {
                        self.finish_terminate(pending).await;
                    }
                    return End::Stop(outcome);
                }
            }
        }
    }

    /// The reply to one request frame.
    pub async fn handle(&mut self, request: &[u8]) -> (Management, Flow) {
        let request = match Management::decode(request) {
            Ok(request) => request,
            Err(e) => {
                warn!("undecodable management request: {e}");
                return (self.error(format!("{SERIALIZATION_EXCEPTION}: {e}")), Flow::Continue);
            }
        };
        match request {
            Management::SetConfig(m) => self.set_config(m).await,
            Management::GoToProcessState(m) => self.go_to_state(m).await,
            Management::ResumeProcess(m) => self.resume(m).await,
            Management::Connection(m) => (self.connection_message(m).await, Flow::Continue),
            Management::ProcessStateUpdate(_) => {
                (self.error("Unexpected message type ProcessStateUpdateMessage".into()), Flow::Continue)
            }
            // Types a Java process does not even register: it cannot decode them.
            Management::ConnectionHandshake(_) => (self.unregistered("ConnectionHandshake"), Flow::Continue),
            Management::Error(_) => (self.unregistered("ErrorMessage"), Flow::Continue),
        }
    }

    fn unregistered(&self, type_name: &str) -> Management {
        let e = EnvelopeError::UnknownType(type_name.into());
        self.error(format!("{SERIALIZATION_EXCEPTION}: {e}"))
    }

    async fn set_config(&mut self, m: SetConfigMessage) -> (Management, Flow) {
        if let Some(reply) = self.refuse_other_process(&m.process_id) {
            return (reply, Flow::Continue);
        }
        if m.is_update != self.configured {
            warn!(
                is_update = m.is_update,
                configured = self.configured,
                "configuration update flag does not match the process state"
            );
        }
        let config = Config::new(m.config, self.env.clone());
        let reply = if self.configured {
            info!(values = config.len(), "modify: new configuration");
            self.callback("modify", move |s: &mut S| s.modify(&config)).await
        } else {
            info!(values = config.len(), "init: first configuration");
            self.init(config).await
        };
        (reply.unwrap_or_else(|e| e), Flow::Continue)
    }

    async fn init(&mut self, config: Config) -> Result<Management, Management> {
        let reply = self.callback("init", move |s: &mut S| s.init(&config)).await?;
        self.configured = true;
        self.started = true;
        Ok(reply)
    }

    async fn go_to_state(&mut self, m: GoToProcessStateMessage) -> (Management, Flow) {
        if let Some(reply) = self.refuse_other_process(&m.process_id) {
            return (reply, Flow::Continue);
        }
        let target = ProcessState::try_from(m.target_state);
        info!(target = target.map(|t| t.as_str_name()).unwrap_or("?"), "go to process state");
        match target {
            Ok(ProcessState::Running) => {
                // "Force start": initialise without a configuration.
                let config = Config::new(Vec::<(String, String)>::new(), self.env.clone());
                (self.init(config).await.unwrap_or_else(|e| e), Flow::Continue)
            }
            Ok(ProcessState::Suspended) => match self.user.call(self.callback_timeout, |s: &mut S| s.suspend()).await {
                Ok(state) => {
                    info!(bytes = state.len(), "suspended");
                    (self.state(ProcessState::Suspended, state), Flow::Stop(Outcome::Suspended, None))
                }
                Err(e) => (self.error(format!("suspend: {e}")), Flow::Continue),
            },
            Ok(ProcessState::Terminated) => {
                // As the original, reply without waiting for terminate(); it gets a moment to
                // finish after the reply is sent.
                let terminating = self.started.then(|| self.user.queue(|s: &mut S| s.terminate()));
                (self.state(ProcessState::Terminated, Vec::new()), Flow::Stop(Outcome::Terminated, terminating))
            }
            Ok(other @ (ProcessState::Starting | ProcessState::Initializing)) => {
                (self.error(format!("Invalid target state: {}", other.as_str_name())), Flow::Continue)
            }
            Err(_) => (self.error(format!("Invalid target state: {}", m.target_state)), Flow::Continue),
        }
    }

    async fn resume(&mut self, m: ResumeProcessMessage) -> (Management, Flow) {
        if let Some(reply) = self.refuse_other_process(&m.process_id) {
            return (reply, Flow::Continue);
        }
        info!(bytes = m.state_data.len(), "resume from a suspended state");
        let state = m.state_data;
        // Not "configured": the configuration that follows still goes to init().
        let reply =
            self.callback("resume", move |s: &mut S| s.resume_from((!state.is_empty()).then_some(&state[..]))).await;
        if reply.is_ok() {
            self.started = true;
        }
        (reply.unwrap_or_else(|e| e), Flow::Continue)
    }

    /// A `ConnectionMessage` (docs/protocol.md#handling-a-connectionmessage). Two deliberate differences from the Java library: SUSPEND
    /// and TERMINATE of a connection this process does not know are acknowledged (Java answers
    /// with a NullPointerException), so an orchestrator ending a connection to a restarted
    /// process is not told an error; and RESUME's reply says CONNECTED as Java's does.
    async fn connection_message(&mut self, m: ConnectionMessage) -> Management {
        let mode = ModeType::try_from(m.mode);
        info!(connection = %m.connection_id, mode = mode.map(|t| t.as_str_name()).unwrap_or("?"), "connection message");
        let id = m.connection_id.clone();
        let handshake = |state: ConnectionState| {
            Management::ConnectionHandshake(ConnectionHandshake {
                connection_state: state as i32,
                connection_id: id.clone(),
                receive_hash: None,
                send_hash: None,
            })
        };
        let endpoint = || Endpoint {
            target_address: m.target_address.clone().unwrap_or_default(),
            port: m.listen_port.and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        };
        match mode {
            Ok(mode @ (ModeType::Create | ModeType::Resume)) => {
                if let Some(existing) = self.connections.get(&id) {
                    if mode == ModeType::Resume {
                        existing.resume(endpoint());
                    }
                    return handshake(ConnectionState::Connected);
                }
                let key = format!(
                    "{}/{}",
                    m.receive_hash.as_deref().unwrap_or("null"),
                    m.send_hash.as_deref().unwrap_or("null")
                );
                let Some(version) = self.interfaces.iter().find(|v| v.key() == key).cloned() else {
                    warn!(connection = %id, "no interface version with hashes {key}");
                    return self.error(format!("Unknown connection handling hash: {key}"));
                };
                let e = endpoint();
                if e.port == 0 {
                    return self.error(format!("Connection {id} has no valid listenPort"));
                }
                let info = ConnectionInfo {
                    connection_id: id.clone(),
                    version_name: version.version_name.clone(),
                    remote_process_id: m.remote_process_id.clone().unwrap_or_default(),
                    remote_service_id: m.remote_service_id.clone().unwrap_or_default(),
                    remote_interface_id: m.remote_interface_id.clone().unwrap_or_default(),
                    remote_process_name: m.remote_process_name.clone().unwrap_or_default(),
                };
                let user = self.user.clone();
                let build: BuildHandler = Arc::new(move |connection| {
                    let version = version.clone();
                    let pending = user.queue(move |s: &mut S| s.connected(&version, connection));
                    Box::pin(async move {
                        match pending.await {
                            Ok(Ok(handler)) => handler,
                            Ok(Err(e)) => {
                                warn!("building the connection handler: {e}");
                                None
                            }
                            Err(_) => None,
                        }
                    })
                });
                self.connections.insert(id.clone(), ConnectionControl::spawn(info, e, build));
                handshake(if mode == ModeType::Create { ConnectionState::Starting } else { ConnectionState::Connected })
            }
            Ok(ModeType::Suspend) => {
                if let Some(c) = self.connections.get(&id) {
                    c.suspend();
                }
                handshake(ConnectionState::Suspended)
            }
            Ok(ModeType::Terminate) => {
                if let Some(c) = self.connections.remove(&id) {
                    c.terminate().await;
                }
                handshake(ConnectionState::Terminated)
            }
            Err(_) => self.error(format!("Unknown connection mode: {}", m.mode)),
        }
    }

    /// End every connection (the process is ending).
    pub async fn close_connections(&mut self) {
        for (_, c) in self.connections.drain() {
            c.terminate().await;
        }
    }

    /// Run a configuring callback; a RUNNING reply on success, an `ErrorMessage` otherwise.
    async fn callback(
        &self,
        name: &str,
        f: impl FnOnce(&mut S) -> Result<(), CallbackError> + Send + 'static,
    ) -> Result<Management, Management> {
        match self.user.call(self.callback_timeout, f).await {
            Ok(Ok(())) => Ok(self.state(ProcessState::Running, Vec::new())),
            Ok(Err(e)) => {
                warn!("{name} failed: {e}");
                Err(self.error(format!("{name} failed: {e}")))
            }
            Err(e) => {
                warn!("{name}: {e}");
                Err(self.error(format!("{name}: {e}")))
            }
        }
    }

    async fn finish_terminate(&self, pending: Pending<()>) {
        match user::wait(pending, self.callback_timeout).await {
            Ok(()) => info!("terminated"),
            Err(CallError::Timeout(t)) => warn!("terminate() did not return within {t:?}; exiting anyway"),
            Err(e) => warn!("terminate: {e}"),
        }
    }

    /// On a signal: tell a working service to terminate, and wait for it briefly.
    pub async fn shutdown(&mut self) {
        self.close_connections().await;
        if self.started {
            self.finish_terminate(self.user.queue(|s: &mut S| s.terminate())).await;
        }
    }

    /// The refusal of a request addressed to another process, when `PROCESS_ID` is set.
    fn refuse_other_process(&self, id: &str) -> Option<Management> {
        match &self.env.process_id {
            Some(own) if own != id => {
                warn!(received = id, own = %own, "request for another process");
                Some(self.error(format!("Received message for unexpected process id {id}")))
            }
            _ => None,
        }
    }

    /// `stateData` is always present, even empty, as the Java process writes it.
    fn state(&self, state: ProcessState, data: Vec<u8>) -> Management {
        Management::ProcessStateUpdate(ProcessStateUpdateMessage {
            process_id: self.env.reply_process_id().to_string(),
            state: state as i32,
            state_data: Some(data),
        })
    }

    fn error(&self, debug_information: String) -> Management {
        Management::Error(ErrorMessage { process_id: self.env.reply_process_id().to_string(), debug_information })
    }
}
