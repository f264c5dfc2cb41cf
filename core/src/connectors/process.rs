//! The process connector: Switchyard's side of dEF-Pi's management channel.
//!
//! Processes live on their owner's overlay network (`usernet-<userId>`). Switchyard must be on
//! that network to reach them, and they reach it there as `orchestrator`. Two ways:
//!
//! * **On the host** (a root process, or the systemd unit): the host cannot route into an overlay
//!   network, so Switchyard keeps a tiny **anchor container** attached to every user network with
//!   the alias `orchestrator`, and opens its sockets *inside the anchor's network namespace*
//!   (`setns` on a short-lived thread; a socket keeps the namespace it was created in);
//! * **In a container** (the swarm service of `deploy/switchyard.yml`): its own container joins
//!   every user network with the alias `orchestrator`, as the original did, and its sockets are
//!   plain ones ([`NetNamespace::own`]); see [`crate::managers::Anchor`] for why a plain container
//!   still holds each network on the manager.
//!
//! Either way:
//!
//! * Switchyard → process: a TCP connection to the process's address on its user network, port
//!   4999;
//! * process → Switchyard: the config trigger `PUT http://orchestrator:8080/process/trigger/{id}`.
//!
//! The exchange is the original's: one request, one reply within 10 s, one connection per process,
//! serialised. Unlike the original (docs/original-orchestrator.md#39-a-request-on-a-cached-connection-that-turns-out-dead), a request on a cached connection that turns out to
//! be stale (the process recycles an idle connection after 5 minutes) is retried once at once on a
//! fresh connection.

use std::{
    collections::HashMap,
    fs::File,
    net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream},
    os::fd::AsRawFd,
    sync::{Arc, Mutex},
    time::Duration,
};

use switchyard_protocol::{
    connection::ConnectionMessage,
    envelope::Management,
    frame,
    process::{GoToProcessStateMessage, ProcessState as WireState, ResumeProcessMessage, SetConfigMessage},
};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// How long a request waits for its reply, and a connection for its peer (the original's
/// `IO_TIMEOUT`).
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A network namespace, by an open handle on `/proc/<pid>/ns/net`, or Switchyard's own.
#[derive(Clone)]
pub struct NetNamespace {
    /// `None`: the namespace Switchyard runs in (no `setns`).
    file: Option<Arc<File>>,
    pid: i64,
}

impl NetNamespace {
    pub fn of_pid(pid: i64) -> Result<Self> {
        let path = format!("/proc/{pid}/ns/net");
        let file = File::open(&path).map_err(|e| {
            Error::Unavailable(format!(
                "cannot open {path} ({e}); Switchyard must run as root on the swarm manager that runs its anchor container"
            ))
        })?;
        Ok(Self { file: Some(Arc::new(file)), pid })
    }

    /// The namespace Switchyard itself runs in (when its own container is on users' networks).
    pub fn own() -> Self {
        Self { file: None, pid: i64::from(std::process::id()) }
    }

    pub fn pid(&self) -> i64 {
        self.pid
    }

    /// Run `f` on a fresh thread that has entered this namespace (on this thread, for our own).
    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> std::io::Result<T> {
        let Some(file) = self.file.clone() else { return f() };
        std::thread::Builder::new()
            .name("switchyard-netns".into())
            .spawn(move || {
                // SAFETY: setns on this thread only, with a valid namespace fd we hold open.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                if rc != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                f()
            })?
            .join()
            .map_err(|_| std::io::Error::other("network-namespace thread panicked"))?
    }

    /// A TCP connection to `addr` made from inside this namespace.
    pub async fn connect(&self, addr: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
        let ns = self.clone();
        let stream = tokio::task::spawn_blocking(move || {
            ns.run(move || {
                let s = StdStream::connect_timeout(&addr, timeout)?;
                s.set_nodelay(true)?;
                s.set_nonblocking(true)?;
                Ok(s)
            })
        })
        .await
        .map_err(std::io::Error::other)??;
        TcpStream::from_std(stream)
    }

    /// A listening socket bound to `addr` inside this namespace.
    pub fn listen(&self, addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
        let listener = self.run(move || {
            let l = StdListener::bind(addr)?;
            l.set_nonblocking(true)?;
            Ok(l)
        })?;
        tokio::net::TcpListener::from_std(listener)
    }
}

/// A process as the connector needs to reach it.
#[derive(Clone, Debug)]
pub struct Target {
    pub process_id: String,
    pub address: SocketAddr,
    /// The swarm task (container) at that address.
    pub task_id: String,
}

type Slot = Arc<tokio::sync::Mutex<Option<TcpStream>>>;

#[derive(Clone, Default)]
pub struct ProcessConnector {
    namespace: Arc<Mutex<Option<NetNamespace>>>,
    connections: Arc<Mutex<HashMap<String, Slot>>>,
}

impl ProcessConnector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Use the anchor's namespace from now on; cached connections of an older one are dropped.
    pub fn set_namespace(&self, ns: NetNamespace) {
        let mut current = self.namespace.lock().expect("not poisoned");
        if current.as_ref().map(|n| n.pid) != Some(ns.pid) {
            *current = Some(ns);
            self.connections.lock().expect("not poisoned").clear();
        }
    }

    pub fn namespace(&self) -> Option<NetNamespace> {
        self.namespace.lock().expect("not poisoned").clone()
    }

    /// Close the cached connection to a process (it is going away, or moved).
    pub fn disconnect(&self, process_id: &str) {
        self.connections.lock().expect("not poisoned").remove(process_id);
    }

    /// Send one request and read its one reply.
    pub async fn request(&self, target: &Target, message: &Management) -> Result<Management> {
        let slot = {
            let mut map = self.connections.lock().expect("not poisoned");
            map.entry(target.process_id.clone()).or_default().clone()
        };
        let mut guard = slot.lock().await;
        let payload = message.encode();
        // A cached connection may have gone stale; then try once more on a fresh one.
        for attempt in 0..2 {
            let reused = guard.is_some();
            if guard.is_none() {
                let ns = self.namespace().ok_or_else(|| {
                    Error::Unavailable("Switchyard is not on users' networks yet (the anchor container, or its own), so no process can be reached".into())
                })?;
                let stream = ns.connect(target.address, IO_TIMEOUT).await.map_err(|e| {
                    Error::Unavailable(format!(
                        "process {} is unreachable at {}: {e}",
                        target.process_id, target.address
                    ))
                })?;
                *guard = Some(stream);
            }
            let stream = guard.as_mut().expect("just set");
            let exchange = async {
                frame::write_frame(stream, &payload).await?;
                frame::read_frame(stream).await
            };
            match tokio::time::timeout(IO_TIMEOUT, exchange).await {
                Ok(Ok(Some(reply))) => {
                    return Management::decode(&reply).map_err(|e| {
                        *guard = None;
                        Error::Unavailable(format!("process {} sent an unreadable reply: {e}", target.process_id))
                    });
                }
                Ok(Ok(None)) | Ok(Err(_)) if reused && attempt == 0 => {
                    *guard = None;
                    continue;
                }
                Ok(Ok(None)) => {
                    *guard = None;
                    return Err(Error::Unavailable(format!("process {} closed the connection", target.process_id)));
                }
                Ok(Err(e)) => {
                    *guard = None;
                    return Err(Error::Unavailable(format!("talking to process {}: {e}", target.process_id)));
                }
                Err(_) => {
                    *guard = None;
                    return Err(Error::Unavailable(format!(
                        "process {} did not answer within {} s",
                        target.process_id,
                        IO_TIMEOUT.as_secs()
                    )));
                }
            }
        }
        Err(Error::Unavailable(format!("process {} is unreachable", target.process_id)))
    }

    /// Send the configuration (`is_update` false on start-up, true for a change); returns the
    /// state the process reports.
    pub async fn set_config(
        &self,
        target: &Target,
        config: HashMap<String, String>,
        is_update: bool,
    ) -> Result<WireState> {
        let message =
            Management::SetConfig(SetConfigMessage { process_id: target.process_id.clone(), is_update, config });
        let (state, _) = self.expect_state(target, &message).await?;
        Ok(state)
    }

    /// Ask the process to go to `state` (SUSPENDED or TERMINATED); returns the reported state and
    /// the state data it handed over.
    pub async fn go_to(&self, target: &Target, state: WireState) -> Result<(WireState, Vec<u8>)> {
        let message = Management::GoToProcessState(GoToProcessStateMessage {
            process_id: target.process_id.clone(),
            target_state: state as i32,
        });
        let result = self.expect_state(target, &message).await;
        if result.is_ok() {
            // The process ends its management loop after this reply.
            self.disconnect(&target.process_id);
        }
        result
    }

    /// Resume a process with the state it handed over when it was suspended.
    pub async fn resume(&self, target: &Target, state_data: Vec<u8>) -> Result<WireState> {
        let message =
            Management::ResumeProcess(ResumeProcessMessage { process_id: target.process_id.clone(), state_data });
        Ok(self.expect_state(target, &message).await?.0)
    }

    /// Send a `ConnectionMessage`; `Ok(Ok(state))` is the state of the `ConnectionHandshake`
    /// the process answered with, `Ok(Err(text))` the text of an `ErrorMessage` it answered
    /// with instead (e.g. an interface version it does not handle).
    pub async fn connection(
        &self,
        target: &Target,
        message: ConnectionMessage,
    ) -> Result<std::result::Result<i32, String>> {
        match self.request(target, &Management::Connection(message)).await? {
            Management::ConnectionHandshake(h) => Ok(Ok(h.connection_state)),
            Management::Error(e) => Ok(Err(error_text(&e.debug_information))),
            other => Err(Error::Unavailable(format!(
                "process {} answered a connection message with an unexpected {}",
                target.process_id,
                type_name(&other)
            ))),
        }
    }

    async fn expect_state(&self, target: &Target, message: &Management) -> Result<(WireState, Vec<u8>)> {
        match self.request(target, message).await? {
            Management::ProcessStateUpdate(update) => {
                let state = WireState::try_from(update.state).map_err(|_| {
                    Error::Unavailable(format!(
                        "process {} reported an unknown state {}",
                        target.process_id, update.state
                    ))
                })?;
                Ok((state, update.state_data.unwrap_or_default()))
            }
            Management::Error(e) => Err(Error::Unavailable(format!(
                "process {} answered with an error: {}",
                target.process_id,
                error_text(&e.debug_information)
            ))),
            other => Err(Error::Unavailable(format!(
                "process {} answered with an unexpected {}",
                target.process_id,
                type_name(&other)
            ))),
        }
    }
}

fn type_name(m: &Management) -> &'static str {
    match m {
        Management::GoToProcessState(_) => "GoToProcessStateMessage",
        Management::SetConfig(_) => "SetConfigMessage",
        Management::ProcessStateUpdate(_) => "ProcessStateUpdateMessage",
        Management::ResumeProcess(_) => "ResumeProcessMessage",
        Management::Connection(_) => "ConnectionMessage",
        Management::ConnectionHandshake(_) => "ConnectionHandshake",
        Management::Error(_) => "ErrorMessage",
    }
}

/// The text of a process's error reply, whole (a traceback says what failed only in its later
/// lines), up to 16 KiB.
fn error_text(text: &str) -> String {
    const MAX: usize = 16 * 1024;
    let text = text.trim_end();
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &text[..end], text.len() - end)
}

#[cfg(test)]
mod error_text_tests {
    use super::error_text;

    #[test]
    fn a_process_error_keeps_its_whole_text() {
        let trace = "java.lang.IllegalStateException: no config\n\tat org.flexiblepower.Service.init(Service.java:42)\n\tat Main.run(Main.java:7)\n";
        assert_eq!(error_text(trace), trace.trim_end(), "every line, not just the first");
        let long = "é".repeat(20_000);
        let cut = error_text(&long);
        assert!(cut.len() < 16 * 1024 + 40 && cut.ends_with("more bytes)"), "{}", &cut[cut.len() - 30..]);
    }
}
