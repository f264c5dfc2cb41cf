//! The management channel end to end, in-process: a service on an ephemeral port, a tiny
//! HTTP server standing in for the orchestrator's trigger endpoint, and a client speaking
//! switchyard-protocol. Replies are compared byte for byte where the protocol reference gives
//! bytes (docs/protocol.md#messages). Nothing waits by sleeping: every wait is for a
//! condition, with a deadline.

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use switchyard_protocol::{
    connection::{connection_message::ModeType, ConnectionHandshake, ConnectionMessage, ConnectionState},
    envelope::Management,
    frame::{encode, read_frame, write_frame},
    process::{
        GoToProcessStateMessage, ProcessState, ProcessStateUpdateMessage, ResumeProcessMessage, SetConfigMessage,
    },
};
use switchyard_service::{CallbackError, Config, Environment, Error, Options, Outcome, Service, ServiceManager};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{mpsc, oneshot},
    task::JoinHandle,
};

const DEADLINE: Duration = Duration::from_secs(10);
const PROCESS_ID: &str = "5f1e0b7c9d3a2b1c0d4e5f60";

/// Bytes from hex pairs and "quoted ASCII", as the reference writes frames.
fn bytes(spec: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in spec.split('"').enumerate() {
        if i % 2 == 1 {
            out.extend_from_slice(part.as_bytes());
        } else {
            out.extend(part.split_whitespace().filter(|t| *t != "|").map(|h| u8::from_str_radix(h, 16).unwrap()));
        }
    }
    out
}

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, f).await.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

// --- the service under test ----------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Event {
    Init(HashMap<String, String>),
    Modify(HashMap<String, String>),
    Suspend,
    Resume(Option<Vec<u8>>),
    Terminate,
}

/// Records every callback; its state is whatever it was last resumed from.
struct Recorder {
    events: mpsc::UnboundedSender<Event>,
    state: Vec<u8>,
    /// When set, init blocks until a value arrives (or the sender is dropped).
    init_gate: Option<std::sync::mpsc::Receiver<()>>,
    fail_modify: bool,
    panic_on_init: bool,
}

fn map(config: &Config) -> HashMap<String, String> {
    config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

impl Service for Recorder {
    fn init(&mut self, config: &Config) -> Result<(), CallbackError> {
        if let Some(gate) = self.init_gate.take() {
            let _ = gate.recv();
        }
        if self.panic_on_init {
            panic!("init exploded");
        }
        let _ = self.events.send(Event::Init(map(config)));
        Ok(())
    }

    fn modify(&mut self, config: &Config) -> Result<(), CallbackError> {
        let _ = self.events.send(Event::Modify(map(config)));
        if self.fail_modify {
            return Err(config.get_i64("interval_ms").err().map(Into::into).unwrap_or_else(|| "no".into()));
        }
        Ok(())
    }

    fn suspend(&mut self) -> Vec<u8> {
        let _ = self.events.send(Event::Suspend);
        self.state.clone()
    }

    fn resume_from(&mut self, state: Option<&[u8]>) -> Result<(), CallbackError> {
        self.state = state.map(<[u8]>::to_vec).unwrap_or_default();
        let _ = self.events.send(Event::Resume(state.map(<[u8]>::to_vec)));
        Ok(())
    }

    fn terminate(&mut self) {
        let _ = self.events.send(Event::Terminate);
    }
}

// --- a stand-in for the orchestrator's trigger endpoint ----------------------------------------

#[derive(Debug)]
struct TriggerRequest {
    request_line: String,
    headers: HashMap<String, String>,
}

/// Answers each request with the next status of `statuses`, then 204 for ever.
async fn fake_orchestrator(statuses: Vec<u16>) -> (SocketAddr, mpsc::UnboundedReceiver<TriggerRequest>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen, requests) = mpsc::unbounded_channel();
    let statuses = Arc::new(Mutex::new(VecDeque::from(statuses)));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            let statuses = statuses.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let mut lines = head.split("\r\n");
                let request_line = lines.next().unwrap_or_default().to_string();
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let _ = seen.send(TriggerRequest { request_line, headers });
                let status = statuses.lock().unwrap().pop_front().unwrap_or(204);
                let response = format!("HTTP/1.1 {status} Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    (addr, requests)
}

// --- harness -------------------------------------------------------------------------------

struct Harness {
    addr: SocketAddr,
    events: mpsc::UnboundedReceiver<Event>,
    triggers: mpsc::UnboundedReceiver<TriggerRequest>,
    stop: Option<oneshot::Sender<()>>,
    served: JoinHandle<Result<Outcome, Error>>,
}

struct Setup {
    process_id: Option<&'static str>,
    statuses: Vec<u16>,
    options: fn(Options) -> Options,
    service: fn(mpsc::UnboundedSender<Event>) -> Recorder,
}

impl Default for Setup {
    fn default() -> Self {
        Setup { process_id: Some(PROCESS_ID), statuses: Vec::new(), options: |o| o, service: recorder }
    }
}

fn recorder(events: mpsc::UnboundedSender<Event>) -> Recorder {
    Recorder { events, state: Vec::new(), init_gate: None, fail_modify: false, panic_on_init: false }
}

async fn start(setup: Setup) -> Harness {
    let (orchestrator, triggers) = fake_orchestrator(setup.statuses).await;
    let environment = Environment {
        process_id: setup.process_id.map(String::from),
        orchestrator_host: Some("127.0.0.1".into()),
        orchestrator_port: Some(orchestrator.port()),
        orchestrator_token: Some("t0ken-of-the-process".into()),
        user_id: Some("5f1e0b7c9d3a2b1c0d4e5f00".into()),
        user_name: Some("alice".into()),
        user_email: None,
    };
    let options = (setup.options)(Options::from_env().environment(environment).management_port(0));
    let manager = ServiceManager::bind(options).await.expect("bind the management port");
    let addr = SocketAddr::from(([127, 0, 0, 1], manager.management_addr().port()));
    let (sender, events) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let service = (setup.service)(sender);
    let served = tokio::spawn(manager.serve(service, async move {
        let _ = stopped.await;
    }));
    Harness { addr, events, triggers, stop: Some(stop), served }
}

impl Harness {
    async fn connect(&self) -> TcpStream {
        within("the management port to accept", async {
            loop {
                match TcpStream::connect(self.addr).await {
                    Ok(stream) => return stream,
                    Err(_) => tokio::task::yield_now().await,
                }
            }
        })
        .await
    }

    async fn event(&mut self) -> Event {
        within("a service callback", self.events.recv()).await.expect("the service is gone")
    }

    async fn trigger(&mut self) -> TriggerRequest {
        within("the config trigger", self.triggers.recv()).await.expect("the fake orchestrator is gone")
    }

    async fn outcome(self) -> Result<Outcome, Error> {
        within("serve to return", self.served).await.expect("serve panicked")
    }
}

async fn request(stream: &mut TcpStream, message: Management) -> Management {
    write_frame(stream, &message.encode()).await.unwrap();
    reply(stream).await
}

async fn reply(stream: &mut TcpStream) -> Management {
    let payload = within("a reply", read_frame(stream)).await.expect("read").expect("connection closed");
    Management::decode(&payload).expect("the reply decodes")
}

/// Send raw bytes and read exactly as many bytes as `expected` holds.
async fn raw_exchange(stream: &mut TcpStream, request: &[u8], expected: &[u8]) {
    stream.write_all(request).await.unwrap();
    let mut got = vec![0u8; expected.len()];
    within("the raw reply", stream.read_exact(&mut got)).await.unwrap();
    assert_eq!(got, expected, "\n got: {got:02x?}\nwant: {expected:02x?}");
}

fn set_config(process_id: &str, is_update: bool, pairs: &[(&str, &str)]) -> Management {
    Management::SetConfig(SetConfigMessage {
        process_id: process_id.into(),
        is_update,
        config: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    })
}

fn go_to(process_id: &str, state: ProcessState) -> Management {
    Management::GoToProcessState(GoToProcessStateMessage { process_id: process_id.into(), target_state: state as i32 })
}

fn state_update(process_id: &str, state: ProcessState, data: &[u8]) -> Management {
    Management::ProcessStateUpdate(ProcessStateUpdateMessage {
        process_id: process_id.into(),
        state: state as i32,
        state_data: Some(data.to_vec()),
    })
}

fn error_text(reply: Management) -> String {
    match reply {
        Management::Error(e) => {
            assert_eq!(e.process_id, PROCESS_ID);
            e.debug_information
        }
        other => panic!("expected an ErrorMessage, got {other:?}"),
    }
}

fn connection(mode: ModeType, id: &str) -> Management {
    Management::Connection(ConnectionMessage {
        mode: mode as i32,
        connection_id: id.into(),
        receive_hash: Some("abc".into()),
        send_hash: Some("def".into()),
        ..Default::default()
    })
}

// --- tests ---------------------------------------------------------------------------------

#[tokio::test]
async fn set_config_without_process_id_is_answered_byte_exactly() {
    let mut h = start(Setup { process_id: None, ..Default::default() }).await;

    let trigger = h.trigger().await;
    assert_eq!(trigger.request_line, "PUT /process/trigger/null HTTP/1.1");
    assert_eq!(trigger.headers.get("x-auth-token").map(String::as_str), Some("t0ken-of-the-process"));

    let mut stream = h.connect().await;
    let request = bytes(
        r#"00 00 00 27 | 10 "SetConfigMessage" | 0a 04 6e 75 6c 6c 10 00 1a 0c 0a 03 6b 65 79 12 05 76 61 6c 75 65 | ff"#,
    );
    let expected = bytes(r#"00 00 00 24 | 19 "ProcessStateUpdateMessage" | 0a 04 6e 75 6c 6c 10 02 1a 00 | ff"#);
    raw_exchange(&mut stream, &request, &expected).await;
    assert_eq!(h.event().await, Event::Init(HashMap::from([("key".into(), "value".into())])));

    // The flag decides, not isUpdate: the same message again is a modification.
    raw_exchange(&mut stream, &request, &expected).await;
    assert_eq!(h.event().await, Event::Modify(HashMap::from([("key".into(), "value".into())])));
}

#[tokio::test]
async fn the_trigger_names_the_process_and_the_life_cycle_follows_the_requests() {
    let mut h = start(Setup::default()).await;
    let trigger = h.trigger().await;
    assert_eq!(trigger.request_line, format!("PUT /process/trigger/{PROCESS_ID} HTTP/1.1"));
    assert_eq!(trigger.headers.get("x-auth-token").map(String::as_str), Some("t0ken-of-the-process"));
    assert_eq!(trigger.headers.get("content-length").map(String::as_str), Some("0"), "no body");

    let mut s = h.connect().await;
    let running = state_update(PROCESS_ID, ProcessState::Running, &[]);
    assert_eq!(request(&mut s, set_config(PROCESS_ID, false, &[("Interval_MS", "250")])).await, running);
    assert_eq!(h.event().await, Event::Init(HashMap::from([("interval_ms".into(), "250".into())])));
    assert_eq!(request(&mut s, set_config(PROCESS_ID, true, &[("interval_ms", "500")])).await, running);
    assert_eq!(h.event().await, Event::Modify(HashMap::from([("interval_ms".into(), "500".into())])));
    // Force start: init again, with an empty configuration.
    assert_eq!(request(&mut s, go_to(PROCESS_ID, ProcessState::Running)).await, running);
    assert_eq!(h.event().await, Event::Init(HashMap::new()));

    // Suspend ends the process with the state; terminate() is not called after it.
    let reply = request(&mut s, go_to(PROCESS_ID, ProcessState::Suspended)).await;
    assert_eq!(reply, state_update(PROCESS_ID, ProcessState::Suspended, &[]));
    assert_eq!(h.event().await, Event::Suspend);
    assert_eq!(within("EOF", read_frame(&mut s)).await.unwrap(), None, "the connection closes");
    let mut events = std::mem::replace(&mut h.events, mpsc::unbounded_channel().1);
    assert_eq!(h.outcome().await.unwrap(), Outcome::Suspended);
    assert_eq!(events.recv().await, None, "no callback after suspend");
}

#[tokio::test]
async fn refusals_are_error_messages_and_the_connection_keeps_answering() {
    let mut h = start(Setup::default()).await;
    let mut s = h.connect().await;

    let text = error_text(request(&mut s, set_config("0123456789abcdef01234567", false, &[])).await);
    assert_eq!(text, "Received message for unexpected process id 0123456789abcdef01234567");
    let text = error_text(request(&mut s, go_to("someone-else", ProcessState::Terminated)).await);
    assert_eq!(text, "Received message for unexpected process id someone-else");

    for (state, name) in [(ProcessState::Starting, "STARTING"), (ProcessState::Initializing, "INITIALIZING")] {
        assert_eq!(
            error_text(request(&mut s, go_to(PROCESS_ID, state)).await),
            format!("Invalid target state: {name}")
        );
    }
    let unknown =
        Management::GoToProcessState(GoToProcessStateMessage { process_id: PROCESS_ID.into(), target_state: 9 });
    assert_eq!(error_text(request(&mut s, unknown).await), "Invalid target state: 9");

    // Garbage: not an envelope, an unknown type, a body that is not protobuf.
    for garbage in [&b"\x00\x01"[..], b"\x07Unknown\x08", b"\x10SetConfigMessage\xff\xff\xff"] {
        write_frame(&mut s, garbage).await.unwrap();
        let text = error_text(reply(&mut s).await);
        assert!(text.starts_with("org.flexiblepower.exceptions.SerializationException: "), "{text}");
    }
    // A message a process never receives.
    let handshake = Management::ConnectionHandshake(ConnectionHandshake {
        connection_state: ConnectionState::Connected as i32,
        connection_id: "1".into(),
        receive_hash: None,
        send_hash: None,
    });
    let text = error_text(request(&mut s, handshake).await);
    assert!(text.contains("'ConnectionHandshake', message type was not registered"), "{text}");

    // Still answering, and nothing reached the service.
    let running = state_update(PROCESS_ID, ProcessState::Running, &[]);
    assert_eq!(request(&mut s, set_config(PROCESS_ID, false, &[])).await, running);
    assert_eq!(h.event().await, Event::Init(HashMap::new()));
}

#[tokio::test]
async fn connection_messages_get_minimal_answers() {
    let h = start(Setup::default()).await;
    let mut s = h.connect().await;
    let handshake = |state: ConnectionState, id: &str| {
        Management::ConnectionHandshake(ConnectionHandshake {
            connection_state: state as i32,
            connection_id: id.into(),
            receive_hash: None,
            send_hash: None,
        })
    };
    for mode in [ModeType::Create, ModeType::Resume] {
        assert_eq!(
            error_text(request(&mut s, connection(mode, "c1")).await),
            "Unknown connection handling hash: abc/def"
        );
    }
    assert_eq!(request(&mut s, connection(ModeType::Suspend, "c2")).await, handshake(ConnectionState::Suspended, "c2"));
    assert_eq!(
        request(&mut s, connection(ModeType::Terminate, "c3")).await,
        handshake(ConnectionState::Terminated, "c3")
    );
    let no_hashes = Management::Connection(ConnectionMessage {
        mode: ModeType::Create as i32,
        connection_id: "c4".into(),
        ..Default::default()
    });
    assert_eq!(error_text(request(&mut s, no_hashes).await), "Unknown connection handling hash: null/null");
}

#[tokio::test]
async fn suspended_state_round_trips_through_resume() {
    let mut h = start(Setup::default()).await;
    let mut s = h.connect().await;
    let running = state_update(PROCESS_ID, ProcessState::Running, &[]);

    let empty =
        Management::ResumeProcess(ResumeProcessMessage { process_id: PROCESS_ID.into(), state_data: Vec::new() });
    assert_eq!(request(&mut s, empty).await, running);
    assert_eq!(h.event().await, Event::Resume(None), "empty state data is no state");

    let state = 42u64.to_be_bytes().to_vec();
    let resume =
        Management::ResumeProcess(ResumeProcessMessage { process_id: PROCESS_ID.into(), state_data: state.clone() });
    assert_eq!(request(&mut s, resume).await, running);
    assert_eq!(h.event().await, Event::Resume(Some(state.clone())));
    // Resuming does not configure: the configuration that follows still goes to init.
    assert_eq!(request(&mut s, set_config(PROCESS_ID, false, &[])).await, running);
    assert_eq!(h.event().await, Event::Init(HashMap::new()));

    let reply = request(&mut s, go_to(PROCESS_ID, ProcessState::Suspended)).await;
    assert_eq!(reply, state_update(PROCESS_ID, ProcessState::Suspended, &state));
    assert_eq!(h.event().await, Event::Suspend);
    assert_eq!(h.outcome().await.unwrap(), Outcome::Suspended);
}

#[tokio::test]
async fn terminate_replies_then_calls_terminate_and_ends() {
    let mut h = start(Setup::default()).await;
    let mut s = h.connect().await;
    assert_eq!(
        request(&mut s, set_config(PROCESS_ID, false, &[])).await,
        state_update(PROCESS_ID, ProcessState::Running, &[])
    );
    assert_eq!(h.event().await, Event::Init(HashMap::new()));

    let expected = encode(&state_update(PROCESS_ID, ProcessState::Terminated, &[]).encode());
    raw_exchange(&mut s, &encode(&go_to(PROCESS_ID, ProcessState::Terminated).encode()), &expected).await;
    assert_eq!(expected[expected.len() - 3..], [0x1a, 0x00, 0xff], "empty stateData is present");
    assert_eq!(h.event().await, Event::Terminate);
    assert_eq!(h.outcome().await.unwrap(), Outcome::Terminated);
}

#[tokio::test]
async fn terminating_an_unstarted_service_skips_terminate() {
    let h = start(Setup::default()).await;
    let mut s = h.connect().await;
    assert_eq!(
        request(&mut s, go_to(PROCESS_ID, ProcessState::Terminated)).await,
        state_update(PROCESS_ID, ProcessState::Terminated, &[])
    );
    let Harness { mut events, served, .. } = h;
    assert_eq!(within("serve", served).await.unwrap().unwrap(), Outcome::Terminated);
    assert_eq!(events.recv().await, None, "terminate() only for a started service");
}

#[tokio::test]
async fn a_failing_callback_is_an_error_message_with_its_text() {
    let mut h =
        start(Setup { service: |events| Recorder { fail_modify: true, ..recorder(events) }, ..Default::default() })
            .await;
    let mut s = h.connect().await;
    assert_eq!(
        request(&mut s, set_config(PROCESS_ID, false, &[])).await,
        state_update(PROCESS_ID, ProcessState::Running, &[])
    );
    assert_eq!(h.event().await, Event::Init(HashMap::new()));
    let text = error_text(request(&mut s, set_config(PROCESS_ID, true, &[("interval_ms", "soon")])).await);
    assert_eq!(text, r#"modify failed: configuration value 'interval_ms' = "soon" is not an integer"#);
    assert!(matches!(h.event().await, Event::Modify(_)));
}

#[tokio::test]
async fn a_callback_that_outlives_the_timeout_is_an_error_and_runs_on() {
    static GATE: Mutex<Option<std::sync::mpsc::Receiver<()>>> = Mutex::new(None);
    let (open, gate) = std::sync::mpsc::channel();
    *GATE.lock().unwrap() = Some(gate);
    let mut h = start(Setup {
        options: |o| o.callback_timeout(Duration::from_millis(200)),
        service: |events| Recorder { init_gate: GATE.lock().unwrap().take(), ..recorder(events) },
        ..Default::default()
    })
    .await;
    let mut s = h.connect().await;

    let text = error_text(request(&mut s, set_config(PROCESS_ID, false, &[("a", "1")])).await);
    assert!(text.starts_with("init: the service did not return within"), "{text}");
    open.send(()).unwrap();
    assert_eq!(h.event().await, Event::Init(HashMap::from([("a".into(), "1".into())])), "init went on");
    // Not configured (init did not answer in time), so the retry is an init again.
    assert_eq!(
        request(&mut s, set_config(PROCESS_ID, false, &[("a", "2")])).await,
        state_update(PROCESS_ID, ProcessState::Running, &[])
    );
    assert_eq!(h.event().await, Event::Init(HashMap::from([("a".into(), "2".into())])));
}

#[tokio::test]
async fn a_panicking_callback_is_an_error_message() {
    let h =
        start(Setup { service: |events| Recorder { panic_on_init: true, ..recorder(events) }, ..Default::default() })
            .await;
    let mut s = h.connect().await;
    let text = error_text(request(&mut s, set_config(PROCESS_ID, false, &[])).await);
    assert_eq!(text, "init: the service panicked: init exploded");
    // The user thread survives the panic.
    let text = error_text(request(&mut s, go_to(PROCESS_ID, ProcessState::Running)).await);
    assert_eq!(text, "init: the service panicked: init exploded");
}

#[tokio::test]
async fn one_orchestrator_connection_at_a_time() {
    let mut h = start(Setup::default()).await;
    let mut first = h.connect().await;
    let running = state_update(PROCESS_ID, ProcessState::Running, &[]);
    assert_eq!(request(&mut first, set_config(PROCESS_ID, false, &[])).await, running);
    assert_eq!(h.event().await, Event::Init(HashMap::new()));

    // While the first is up, the port does not listen: a second attempt is refused.
    let refused = TcpStream::connect(h.addr).await;
    assert!(refused.is_err(), "a second connection was accepted while the first is open");

    // Once the first is gone, the port listens again.
    drop(first);
    let mut second = h.connect().await;
    assert_eq!(request(&mut second, set_config(PROCESS_ID, true, &[])).await, running);
    assert_eq!(h.event().await, Event::Modify(HashMap::new()));
}

#[tokio::test]
async fn an_idle_connection_is_dropped_and_the_next_accepted() {
    let mut h = start(Setup { options: |o| o.idle_timeout(Duration::from_millis(200)), ..Default::default() }).await;
    let mut idle = h.connect().await;
    assert_eq!(within("the idle connection to close", read_frame(&mut idle)).await.unwrap(), None);

    let mut next = h.connect().await;
    assert_eq!(
        request(&mut next, set_config(PROCESS_ID, false, &[])).await,
        state_update(PROCESS_ID, ProcessState::Running, &[])
    );
    assert_eq!(h.event().await, Event::Init(HashMap::new()));
}

#[tokio::test]
async fn the_trigger_is_retried_until_it_is_accepted() {
    let mut h = start(Setup { statuses: vec![500, 503], ..Default::default() }).await;
    for _ in 0..3 {
        assert_eq!(h.trigger().await.request_line, format!("PUT /process/trigger/{PROCESS_ID} HTTP/1.1"));
    }
    // Accepted: the process keeps serving and asks no more.
    let mut s = h.connect().await;
    assert_eq!(
        request(&mut s, set_config(PROCESS_ID, false, &[])).await,
        state_update(PROCESS_ID, ProcessState::Running, &[])
    );
    assert!(h.triggers.try_recv().is_err());
}

#[tokio::test]
async fn a_trigger_never_accepted_ends_serve_with_an_error() {
    let h = start(Setup {
        statuses: vec![500; 1000],
        options: |o| o.trigger_deadline(Duration::from_millis(300)),
        ..Default::default()
    })
    .await;
    match h.outcome().await {
        Err(Error::Trigger { attempts, last, .. }) => {
            assert!(attempts >= 2, "retried ({attempts} attempts)");
            assert!(last.starts_with("HTTP 500"), "{last}");
        }
        other => panic!("expected a trigger error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stop_signal_terminates_a_started_service() {
    let mut h = start(Setup::default()).await;
    let mut s = h.connect().await;
    assert_eq!(
        request(&mut s, set_config(PROCESS_ID, false, &[])).await,
        state_update(PROCESS_ID, ProcessState::Running, &[])
    );
    assert_eq!(h.event().await, Event::Init(HashMap::new()));
    h.stop.take().unwrap().send(()).unwrap();
    assert_eq!(h.event().await, Event::Terminate);
    assert_eq!(h.outcome().await.unwrap(), Outcome::Stopped);
}
