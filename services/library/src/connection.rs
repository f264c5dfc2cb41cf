//! The data channel between two processes (docs/protocol.md#the-data-channel), wire-compatible
//! with the Java and Python libraries: one TCP connection per Switchyard connection, framed as
//! on the management channel; a handshake carrying the connection id and the local state; PING
//! (0x0A) and PONG (0x0B) heartbeats every 10 s after 1 s, the socket closed on the third
//! missed PONG; reconnection by both sides after any interruption (the listening side listens
//! again on the same port, the connecting side retries with back-off); SUSPEND keeps the
//! socket but stops the heartbeat; RESUME may bring a new port and peer; TERMINATE ends it.
//!
//! Each connection is one task. It reads frames, answers heartbeats and handshakes, and hands
//! user messages to the service's [`ConnectionHandler`] in arrival order, on that task (keep
//! handlers quick). A second task writes: control frames first, then the service's messages,
//! batched into as few system calls as the socket allows.

use std::{
    collections::VecDeque,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use bytes::{Buf, BytesMut};
use switchyard_protocol::{
    connection::{ConnectionHandshake, ConnectionState as WireState},
    envelope,
    frame::END_OF_MESSAGE,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::{mpsc, Notify},
};
use tracing::{debug, info, warn};

use crate::listener::Listener;

/// A heartbeat request: a frame whose payload is this one byte.
pub const PING: u8 = 0x0A;
/// A heartbeat answer.
pub const PONG: u8 = 0x0B;
const HEARTBEAT_FIRST: Duration = Duration::from_secs(1);
const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);
/// How many bytes of the service's messages may wait to be written before `send` says the
/// connection is busy (and `send_async` waits).
const MAX_QUEUED: usize = 4 * 1024 * 1024;

/// An interface version this service implements, as its image's labels describe it. The
/// orchestrator names the one to use by its hashes (`receivesHash/sendsHash`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceVersion {
    pub version_name: String,
    pub receives_hash: String,
    pub sends_hash: String,
}

impl InterfaceVersion {
    pub fn new(version_name: &str, receives_hash: &str, sends_hash: &str) -> Self {
        Self { version_name: version_name.into(), receives_hash: receives_hash.into(), sends_hash: sends_hash.into() }
    }

    /// The key the original registers handlers under.
    pub fn key(&self) -> String {
        format!("{}/{}", self.receives_hash, self.sends_hash)
    }
}

/// What the orchestrator said about a connection and its peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub connection_id: String,
    /// The interface version of this side.
    pub version_name: String,
    pub remote_process_id: String,
    pub remote_service_id: String,
    pub remote_interface_id: String,
    pub remote_process_name: String,
}

/// The state of a connection on this side (docs/protocol.md#connection-states).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Starting,
    Connected,
    Suspended,
    Interrupted,
    Terminated,
}

impl State {
    fn wire(self) -> WireState {
        match self {
            State::Starting => WireState::Starting,
            State::Connected => WireState::Connected,
            State::Suspended => WireState::Suspended,
            State::Interrupted => WireState::Interrupted,
            State::Terminated => WireState::Terminated,
        }
    }
    fn from_u8(v: u8) -> State {
        match v {
            0 => State::Starting,
            1 => State::Connected,
            2 => State::Suspended,
            3 => State::Interrupted,
            _ => State::Terminated,
        }
    }
}

/// One received message. For interfaces described by a `.proto` file it is a type-tagged
/// protobuf message (docs/protocol.md#messages): use [`Message::decode`]; otherwise [`Message::payload`] is all.
pub struct Message<'a> {
    payload: &'a [u8],
}

impl<'a> Message<'a> {
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The protobuf type name, if the payload is a type-tagged protobuf message.
    pub fn type_name(&self) -> Option<&'a str> {
        envelope::split(self.payload).ok().map(|(name, _)| name)
    }

    /// The message as `M` if it is one (its type name is `M`'s unqualified protobuf name);
    /// `Ok(None)` if it is another type.
    pub fn decode<M: prost::Message + prost::Name + Default>(&self) -> Result<Option<M>, prost::DecodeError> {
        match envelope::split(self.payload) {
            Ok((name, body)) if name == M::NAME => M::decode(body).map(Some),
            _ => Ok(None),
        }
    }
}

/// What a service does with one connection. All methods run on the connection's task, in
/// order; keep them quick (hand heavy work to another task).
pub trait ConnectionHandler: Send + 'static {
    /// A message from the peer.
    fn on_message(&mut self, message: Message<'_>);
    /// The orchestrator suspended the connection (its peer is being suspended or moved).
    fn on_suspend(&mut self) {}
    fn resume_after_suspend(&mut self) {}
    /// The connection broke; both sides are reconnecting.
    fn on_interrupt(&mut self) {}
    fn resume_after_interrupt(&mut self) {}
    /// The connection has ended for good.
    fn terminated(&mut self) {}
}

/// Why a message was not sent.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the connection is {0:?}, not connected")]
    NotConnected(State),
    #[error("the connection's send queue is full; send_async waits instead")]
    Full,
    #[error("the message is empty or exactly one heartbeat byte, which the peer would not see as a message")]
    Unsendable,
}

struct Shared {
    info: ConnectionInfo,
    state: AtomicU8,
    /// Frames waiting for the current socket's writer.
    out: Outbox,
}

/// Frames on their way out, appended in place (one copy, no allocation per message) and
/// written in one go by the socket's writer task.
#[derive(Default)]
struct Outbox {
    /// The encoded frames, and whether a socket takes them (messages for a socket that broke
    /// are dropped, as in the original).
    buf: Mutex<(Vec<u8>, bool)>,
    /// The writer has something to write.
    ready: Notify,
    /// The writer took what was queued.
    drained: Notify,
}

impl Outbox {
    /// Append one frame of `payload`; `Err(true)` when full, `Err(false)` when closed.
    fn push(&self, payload: &[u8], control: bool) -> Result<(), bool> {
        let mut guard = self.buf.lock().expect("not poisoned");
        let (buf, open) = &mut *guard;
        if !*open {
            return Err(false);
        }
        if !control && buf.len() >= MAX_QUEUED {
            return Err(true);
        }
        let was_empty = buf.is_empty();
        buf.reserve(payload.len() + 5);
        buf.extend_from_slice(&(payload.len() as i32).to_be_bytes());
        buf.extend_from_slice(payload);
        buf.push(END_OF_MESSAGE);
        drop(guard);
        if was_empty {
            self.ready.notify_one();
        }
        Ok(())
    }

    fn open(&self, open: bool) {
        let mut guard = self.buf.lock().expect("not poisoned");
        guard.0.clear();
        guard.1 = open;
    }
}

/// A handle on one connection, to send messages on it; cheap to clone.
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
}

impl Connection {
    pub fn info(&self) -> &ConnectionInfo {
        &self.shared.info
    }

    pub fn state(&self) -> State {
        State::from_u8(self.shared.state.load(Ordering::Acquire))
    }

    fn check(&self, payload: &[u8]) -> Result<(), SendError> {
        if payload.is_empty() || (payload.len() == 1 && (payload[0] == PING || payload[0] == PONG)) {
            return Err(SendError::Unsendable);
        }
        let state = self.state();
        if state != State::Connected {
            return Err(SendError::NotConnected(state));
        }
        Ok(())
    }

    /// Queue raw bytes as one message, without waiting.
    pub fn send_raw(&self, payload: &[u8]) -> Result<(), SendError> {
        self.check(payload)?;
        self.shared.out.push(payload, false).map_err(|full| {
            if full {
                SendError::Full
            } else {
                SendError::NotConnected(self.state())
            }
        })
    }

    /// Queue raw bytes as one message, waiting while the queue is full.
    pub async fn send_raw_async(&self, payload: &[u8]) -> Result<(), SendError> {
        self.check(payload)?;
        match self.shared.out.push(payload, false) {
            Ok(()) => return Ok(()),
            Err(false) => return Err(SendError::NotConnected(self.state())),
            Err(true) => {}
        }
        loop {
            self.check(payload)?;
            let drained = self.shared.out.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            match self.shared.out.push(payload, false) {
                Ok(()) => return Ok(()),
                Err(false) => return Err(SendError::NotConnected(self.state())),
                Err(true) => drained.await,
            }
        }
    }

    /// Queue a protobuf message, type-tagged as the Java library does.
    pub fn send<M: prost::Message + prost::Name>(&self, message: &M) -> Result<(), SendError> {
        self.send_raw(&envelope::encode(M::NAME, message))
    }

    /// Queue a protobuf message, waiting while the queue is full.
    pub async fn send_async<M: prost::Message + prost::Name>(&self, message: &M) -> Result<(), SendError> {
        self.send_raw_async(&envelope::encode(M::NAME, message)).await
    }
}

/// Where to find the peer: listen on `port`, or connect to `host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Empty: this side listens (on all interfaces).
    pub target_address: String,
    pub port: u16,
}

/// Builds the handler of a connection once it is first connected.
pub type BuildHandler =
    Arc<dyn Fn(Connection) -> Pin<Box<dyn Future<Output = Option<Box<dyn ConnectionHandler>>> + Send>> + Send + Sync>;

enum Command {
    Suspend,
    Resume(Endpoint),
    Terminate,
}

/// Controls one running connection.
pub struct ConnectionControl {
    handle: Connection,
    commands: mpsc::UnboundedSender<Command>,
    task: tokio::task::JoinHandle<()>,
}

impl ConnectionControl {
    /// Start a connection: it connects (and reconnects) by itself until it is terminated.
    pub fn spawn(info: ConnectionInfo, endpoint: Endpoint, build: BuildHandler) -> Self {
        let shared = Arc::new(Shared { info, state: AtomicU8::new(State::Starting as u8), out: Outbox::default() });
        let handle = Connection { shared };
        let (commands, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(handle.clone(), endpoint, build, rx));
        ConnectionControl { handle, commands, task }
    }

    pub fn connection(&self) -> &Connection {
        &self.handle
    }

    pub fn state(&self) -> State {
        self.handle.state()
    }

    /// SUSPEND: the heartbeat stops, the socket stays; only a CONNECTED connection is suspended.
    pub fn suspend(&self) {
        let _ = self.commands.send(Command::Suspend);
    }

    /// RESUME a suspended connection, possibly with another port or peer.
    pub fn resume(&self, endpoint: Endpoint) {
        let _ = self.commands.send(Command::Resume(endpoint));
    }

    /// TERMINATE: close it for good (nothing is sent; the peer sees the socket close) and wait
    /// briefly for its task.
    pub async fn terminate(self) {
        let _ = self.commands.send(Command::Terminate);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(3), &mut task).await.is_err() {
            task.abort();
        }
    }
}

fn set_state(c: &Connection, s: State) {
    c.shared.state.store(s as u8, Ordering::Release);
}

/// What ended one socket.
enum SocketEnd {
    /// Broken: reconnect.
    Broken(String),
    /// Suspended and then resumed elsewhere: reconnect to the new endpoint.
    Resumed(Endpoint),
    Terminated,
}

struct Runner {
    conn: Connection,
    build: BuildHandler,
    handler: Option<Box<dyn ConnectionHandler>>,
    /// The handler was built (or the service declined to handle the connection).
    built: bool,
    commands: mpsc::UnboundedReceiver<Command>,
}

async fn run(
    conn: Connection,
    mut endpoint: Endpoint,
    build: BuildHandler,
    commands: mpsc::UnboundedReceiver<Command>,
) {
    let id = conn.info().connection_id.clone();
    let mut r = Runner { conn, build, handler: None, built: false, commands };
    let mut listener: Option<Listener> = None;
    loop {
        // Connect (or accept), while still obeying commands.
        let stream = loop {
            let outcome = tokio::select! {
                stream = open(&endpoint, &mut listener) => Ok(stream),
                cmd = r.commands.recv() => Err(cmd),
            };
            match outcome {
                Ok(stream) => break Some(stream),
                Err(None | Some(Command::Terminate)) => break None,
                Err(Some(Command::Resume(e))) if r.conn.state() == State::Suspended => {
                    endpoint = e;
                    listener = None;
                }
                Err(Some(_)) => {}
            }
        };
        let Some(stream) = stream else {
            r.terminate();
            return;
        };
        match r.socket(stream).await {
            SocketEnd::Terminated => {
                r.terminate();
                info!(connection = %id, "connection terminated");
                return;
            }
            SocketEnd::Resumed(e) => {
                debug!(connection = %id, "resuming on port {} ({})", e.port, if e.target_address.is_empty() { "listening" } else { "connecting" });
                endpoint = e;
            }
            SocketEnd::Broken(why) => {
                r.conn.shared.out.open(false);
                if r.conn.state() == State::Connected {
                    set_state(&r.conn, State::Interrupted);
                    warn!(connection = %id, "connection interrupted: {why}");
                    if let Some(h) = r.handler.as_mut() {
                        h.on_interrupt();
                    }
                } else {
                    debug!(connection = %id, "socket closed: {why}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A socket to the peer, trying until it works: accept one peer, or connect with the original's
/// back-off (50 ms × 1.25 per attempt, at most 60 s).
async fn open(endpoint: &Endpoint, listener: &mut Option<Listener>) -> TcpStream {
    let mut delay = Duration::from_millis(50);
    loop {
        let result = if endpoint.target_address.is_empty() {
            if listener.is_none() {
                match Listener::bind(SocketAddr::from(([0, 0, 0, 0], endpoint.port))) {
                    Ok(l) => *listener = Some(l),
                    Err(e) => debug!(port = endpoint.port, "cannot listen yet: {e}"),
                }
            }
            match listener.as_mut() {
                Some(l) => Ok(l.accept().await.0),
                None => Err(std::io::Error::other("not listening")),
            }
        } else {
            TcpStream::connect((endpoint.target_address.as_str(), endpoint.port)).await
        };
        match result {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                let _ = socket2::SockRef::from(&stream).set_keepalive(true);
                return stream;
            }
            Err(e) => {
                delay = (delay.mul_f64(1.25)).min(Duration::from_secs(60));
                debug!(target = %endpoint.target_address, port = endpoint.port, retry_in = ?delay, "cannot connect yet: {e}");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// The next complete frame in `buf` from `*pos`: `Ok(Some(range))` of its payload, with
/// `*pos` moved past it; `Ok(None)` when more bytes are needed (`*pos` stays at the incomplete
/// frame); `Err` when the peer said end of stream (a negative length). Frames are not copied.
fn next_frame(buf: &[u8], pos: &mut usize) -> Result<Option<std::ops::Range<usize>>, String> {
    loop {
        let rest = &buf[*pos..];
        if rest.len() < 4 {
            return Ok(None);
        }
        let len = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        if len < 0 {
            return Err("the peer ended the stream".into());
        }
        let len = len as usize;
        if len > switchyard_protocol::frame::MAX_FRAME {
            return Err(format!("a frame of {len} bytes is too large"));
        }
        if rest.len() < 4 + len + 1 {
            return Ok(None);
        }
        let start = *pos + 4;
        if rest[4 + len] == END_OF_MESSAGE {
            *pos = start + len + 1;
            return Ok(Some(start..start + len));
        }
        // Out of step: skip to the next end-of-message byte, as the original does (the
        // frame is dropped).
        warn!("a frame did not end with 0xFF; skipping to the next end of message");
        match rest[4 + len..].iter().position(|b| *b == END_OF_MESSAGE) {
            Some(at) => *pos = start + len + at + 1,
            None => {
                *pos = buf.len();
                return Ok(None);
            }
        }
    }
}

fn handshake_payload(id: &str, state: WireState) -> Vec<u8> {
    let h = ConnectionHandshake {
        connection_state: state as i32,
        connection_id: id.to_string(),
        receive_hash: None,
        send_hash: None,
    };
    envelope::encode("ConnectionHandshake", &h)
}

/// A handshake, if the payload is one.
fn as_handshake(payload: &[u8]) -> Option<ConnectionHandshake> {
    match envelope::split(payload) {
        Ok(("ConnectionHandshake", body)) => prost::Message::decode(body).ok(),
        _ => None,
    }
}

impl Runner {
    fn terminate(&mut self) {
        self.conn.shared.out.open(false);
        if self.conn.state() != State::Terminated {
            set_state(&self.conn, State::Terminated);
            if let Some(h) = self.handler.as_mut() {
                h.terminated();
            }
        }
    }

    /// Serve one socket until it breaks, is resumed elsewhere, or the connection terminates.
    async fn socket(&mut self, stream: TcpStream) -> SocketEnd {
        let id = self.conn.info().connection_id.clone();
        let (mut read, write) = stream.into_split();
        let shared = self.conn.shared.clone();
        let out = &shared.out;
        out.open(true);
        let writer = tokio::spawn(write_loop(write, shared.clone()));
        let _stop_writer = AbortOnDrop(writer);
        let control = |payload: &[u8]| out.push(payload, true).is_ok();

        let _ = control(&handshake_payload(&id, self.conn.state().wire()));
        let mut ready = false;
        let mut early: VecDeque<Vec<u8>> = VecDeque::new();
        let mut heartbeat: Option<tokio::time::Interval> = None;
        let mut pong_seen = true;
        let mut missed = 0u32;
        let mut buf = BytesMut::with_capacity(256 * 1024);

        loop {
            tokio::select! {
                read_result = read.read_buf(&mut buf) => {
                    match read_result {
                        Ok(0) => return SocketEnd::Broken("the peer closed the connection".into()),
                        Ok(_) => {}
                        Err(e) => return SocketEnd::Broken(format!("read failed: {e}")),
                    }
                    let mut pos = 0;
                    loop {
                        let range = match next_frame(&buf, &mut pos) {
                            Ok(Some(r)) => r,
                            Ok(None) => break,
                            Err(why) => return SocketEnd::Broken(why),
                        };
                        let payload = &buf[range];
                        if payload.is_empty() {
                            continue;
                        }
                        if payload.len() == 1 && payload[0] == PING {
                            if !control(&[PONG]) {
                                return SocketEnd::Broken("the writer stopped".into());
                            }
                            continue;
                        }
                        if payload.len() == 1 && payload[0] == PONG {
                            pong_seen = true;
                            missed = 0;
                            continue;
                        }
                        if ready && self.built {
                            // The common case first: a message, or a late handshake.
                            if let Some(h) = as_handshake(payload) {
                                if h.connection_id == id && h.connection_state != WireState::Connected as i32 {
                                    let _ = control(&handshake_payload(&id, WireState::Connected));
                                }
                                continue;
                            }
                            self.deliver(payload);
                            continue;
                        }
                        if let Some(h) = as_handshake(payload) {
                            if h.connection_id != id {
                                warn!(connection = %id, received = %h.connection_id, "handshake with an invalid connection id; ignored");
                                continue;
                            }
                            let connected = h.connection_state == WireState::Connected as i32;
                            if !ready || !connected {
                                let _ = control(&handshake_payload(&id, WireState::Connected));
                            }
                            if connected && !ready {
                                ready = true;
                                // Heartbeats from now on, and the service's messages may flow.
                                heartbeat = Some(tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT_FIRST, HEARTBEAT_EVERY));
                                pong_seen = true;
                                missed = 0;
                                self.connected().await;
                                while let Some(m) = early.pop_front() {
                                    self.deliver(&m);
                                }
                            }
                            continue;
                        }
                        early.push_back(payload.to_vec());
                    }
                    buf.advance(pos);
                    // Room for the rest of a large frame, or for the next read.
                    if buf.len() >= 4 {
                        let want = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]).max(0) as usize + 5;
                        buf.reserve(want.saturating_sub(buf.len()).min(switchyard_protocol::frame::MAX_FRAME));
                    }
                    if buf.capacity() - buf.len() < 64 * 1024 {
                        buf.reserve(256 * 1024);
                    }
                }
                () = async {
                    match heartbeat.as_mut() {
                        Some(h) => {
                            h.tick().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                } => {
                    if !pong_seen {
                        missed += 1;
                        if missed > 2 {
                            return SocketEnd::Broken(format!("no heartbeat answer {missed} times in a row"));
                        }
                    }
                    pong_seen = false;
                    if !control(&[PING]) {
                        return SocketEnd::Broken("the writer stopped".into());
                    }
                }
                cmd = self.commands.recv() => match cmd {
                    None | Some(Command::Terminate) => return SocketEnd::Terminated,
                    Some(Command::Suspend) => {
                        if self.conn.state() == State::Connected && ready {
                            set_state(&self.conn, State::Suspended);
                            heartbeat = None;
                            info!(connection = %id, "connection suspended");
                            if let Some(h) = self.handler.as_mut() {
                                h.on_suspend();
                            }
                        } else {
                            warn!(connection = %id, state = ?self.conn.state(), "SUSPEND for a connection that is not connected; ignored");
                        }
                    }
                    Some(Command::Resume(e)) => {
                        if self.conn.state() == State::Suspended {
                            return SocketEnd::Resumed(e);
                        }
                        warn!(connection = %id, state = ?self.conn.state(), "RESUME for a connection that is not suspended; ignored");
                    }
                },
            }
        }
    }

    /// The handshake is done: CONNECTED, with the callback that fits where it came from.
    async fn connected(&mut self) {
        let before = self.conn.state();
        if before == State::Connected {
            return;
        }
        set_state(&self.conn, State::Connected);
        let id = &self.conn.info().connection_id;
        if !self.built {
            self.handler = (self.build)(self.conn.clone()).await;
            self.built = true;
            if self.handler.is_none() {
                warn!(connection = %id, "the service does not handle this connection; its messages are dropped");
            }
            info!(connection = %id, peer = %self.conn.info().remote_process_name, "connected");
            return;
        }
        info!(connection = %id, from = ?before, "connected again");
        if let Some(h) = self.handler.as_mut() {
            match before {
                State::Suspended => h.resume_after_suspend(),
                _ => h.resume_after_interrupt(),
            }
        }
    }

    fn deliver(&mut self, payload: &[u8]) {
        if let Some(h) = self.handler.as_mut() {
            h.on_message(Message { payload });
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Write whatever is queued, in one go, until the socket fails (then the reader notices).
async fn write_loop(mut write: tokio::net::tcp::OwnedWriteHalf, shared: Arc<Shared>) {
    let mut chunk = Vec::with_capacity(64 * 1024);
    loop {
        {
            let mut guard = shared.out.buf.lock().expect("not poisoned");
            std::mem::swap(&mut guard.0, &mut chunk);
        }
        if chunk.is_empty() {
            shared.out.ready.notified().await;
            continue;
        }
        shared.out.drained.notify_waiters();
        if write.write_all(&chunk).await.is_err() {
            let _ = write.shutdown().await;
            return;
        }
        chunk.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        switchyard_protocol::frame::encode(payload)
    }

    #[test]
    fn frames_split_and_resynchronise() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&frame(b"Hello dEF-Pi!"));
        buf.extend_from_slice(&[0, 0, 0, 1, 0x0A]); // incomplete: no end byte yet
        let mut pos = 0;
        let r = next_frame(&buf, &mut pos).unwrap().unwrap();
        assert_eq!(&buf[r], b"Hello dEF-Pi!");
        assert!(next_frame(&buf, &mut pos).unwrap().is_none());
        assert_eq!(pos, 18, "stays at the incomplete frame");
        buf.extend_from_slice(&[0x00, 0x99, 0xFF]); // wrong end byte, then junk up to 0xFF
        buf.extend_from_slice(&frame(b"next"));
        let r = next_frame(&buf, &mut pos).unwrap().unwrap();
        assert_eq!(&buf[r], b"next");
        buf.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(next_frame(&buf, &mut pos).is_err());
    }

    #[test]
    fn heartbeat_and_handshake_bytes_match_the_java_library() {
        assert_eq!(frame(&[PING]), [0, 0, 0, 1, 0x0a, 0xff]);
        assert_eq!(frame(&[PONG]), [0, 0, 0, 1, 0x0b, 0xff]);
        let mut expected = vec![0, 0, 0, 0x19, 0x13];
        expected.extend_from_slice(b"ConnectionHandshake");
        expected.extend_from_slice(&[0x08, 0x01, 0x12, 0x01, b'1', 0xff]);
        assert_eq!(frame(&handshake_payload("1", WireState::Connected)), expected);
    }
}
