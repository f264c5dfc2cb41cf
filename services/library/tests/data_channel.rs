//! The data channel (docs/protocol.md#the-data-channel) in-process on loopback: against a peer
//! that speaks raw bytes the way the Java library does (handshake and heartbeat bytes checked
//! exactly), and between two of our own endpoints (messages, interruption and reconnection,
//! suspend and resume on a new port, termination). Every wait is for a condition, with a
//! deadline.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use switchyard_protocol::{
    connection::{ConnectionHandshake, ConnectionState as Wire},
    envelope,
    frame::{read_frame, write_frame},
};
use switchyard_service::{
    BuildHandler, ConnectionControl, ConnectionHandler, ConnectionInfo, ConnectionState, Endpoint, Message, PING, PONG,
};
use tokio::net::{TcpListener, TcpStream};

const DEADLINE: Duration = Duration::from_secs(10);

/// What a handler saw, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, s: String) {
        self.0.lock().unwrap().push(s);
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    async fn wait_for(&self, what: &str) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !self.all().iter().any(|s| s == what) {
            assert!(tokio::time::Instant::now() < deadline, "no '{what}' within {DEADLINE:?}; saw {:?}", self.all());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

struct Recorder(Log);

impl ConnectionHandler for Recorder {
    fn on_message(&mut self, m: Message<'_>) {
        self.0.push(format!("message {}", String::from_utf8_lossy(m.payload())));
    }
    fn on_suspend(&mut self) {
        self.0.push("suspend".into());
    }
    fn resume_after_suspend(&mut self) {
        self.0.push("resume after suspend".into());
    }
    fn on_interrupt(&mut self) {
        self.0.push("interrupt".into());
    }
    fn resume_after_interrupt(&mut self) {
        self.0.push("resume after interrupt".into());
    }
    fn terminated(&mut self) {
        self.0.push("terminated".into());
    }
}

fn recorder(log: &Log) -> BuildHandler {
    let log = log.clone();
    Arc::new(move |_conn| {
        let log = log.clone();
        Box::pin(async move {
            log.push("built".into());
            Some(Box::new(Recorder(log)) as Box<dyn ConnectionHandler>)
        })
    })
}

fn info(id: &str) -> ConnectionInfo {
    ConnectionInfo { connection_id: id.into(), version_name: "1".into(), ..Default::default() }
}

async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port()
}

fn listen(port: u16) -> Endpoint {
    Endpoint { target_address: String::new(), port }
}

fn connect(port: u16) -> Endpoint {
    Endpoint { target_address: "127.0.0.1".into(), port }
}

async fn wait_state(c: &ConnectionControl, s: ConnectionState) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while c.state() != s {
        assert!(tokio::time::Instant::now() < deadline, "state {:?}, not {s:?}, after {DEADLINE:?}", c.state());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Send until the peer's log has it (a message sent just as a socket breaks may be lost, as
/// in the original; the test does not count on either).
async fn send_until_seen(from: &ConnectionControl, to: &Log, text: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let want = format!("message {text}");
    loop {
        let _ = from.connection().send_raw(text.as_bytes());
        for _ in 0..20 {
            if to.all().contains(&want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(tokio::time::Instant::now() < deadline, "'{text}' never arrived; saw {:?}", to.all());
    }
}

fn handshake_payload(id: &str, state: Wire) -> Vec<u8> {
    envelope::encode(
        "ConnectionHandshake",
        &ConnectionHandshake {
            connection_state: state as i32,
            connection_id: id.into(),
            receive_hash: None,
            send_hash: None,
        },
    )
}

async fn read(s: &mut TcpStream) -> Vec<u8> {
    tokio::time::timeout(DEADLINE, read_frame(s)).await.expect("a frame in time").unwrap().expect("not closed")
}

#[tokio::test]
async fn handshake_and_heartbeat_bytes_as_the_java_library_sends_them() {
    // Our side connects to a "Java" peer that listens.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Log::default();
    let ours = ConnectionControl::spawn(info("42"), connect(port), recorder(&log));
    let (mut peer, _) = tokio::time::timeout(DEADLINE, listener.accept()).await.unwrap().unwrap();

    // It opens with its local state, STARTING: 00 00 00 19 | 13 "ConnectionHandshake" | 08 00 12 02 "42".
    assert_eq!(read(&mut peer).await, handshake_payload("42", Wire::Starting));
    // The Java peer sends its own STARTING; ours answers CONNECTED.
    write_frame(&mut peer, &handshake_payload("42", Wire::Starting)).await.unwrap();
    assert_eq!(read(&mut peer).await, handshake_payload("42", Wire::Connected));
    // A handshake for another connection id is ignored, without an answer.
    write_frame(&mut peer, &handshake_payload("43", Wire::Connected)).await.unwrap();
    // The peer's CONNECTED: ours is ready (it answers once more, not being ready before).
    write_frame(&mut peer, &handshake_payload("42", Wire::Connected)).await.unwrap();
    assert_eq!(read(&mut peer).await, handshake_payload("42", Wire::Connected));
    wait_state(&ours, ConnectionState::Connected).await;
    log.wait_for("built").await;

    // Messages both ways: raw frames.
    write_frame(&mut peer, b"Hello dEF-Pi!").await.unwrap();
    log.wait_for("message Hello dEF-Pi!").await;
    ours.connection().send_raw(b"hi back").unwrap();
    // A PING is answered with PONG: 00 00 00 01 0b ff.
    write_frame(&mut peer, &[PING]).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let f = read(&mut peer).await;
        if f != [PING] {
            seen.push(f); // our own first PING (1 s after the handshake) may come in between
        }
    }
    assert!(seen.contains(&b"hi back".to_vec()), "{seen:?}");
    assert!(seen.contains(&vec![PONG]), "{seen:?}");
    // Our own heartbeat: a PING within about a second of the handshake.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no PING from our side");
        if read(&mut peer).await == [PING] {
            break;
        }
    }
    // Heartbeat bytes and empty payloads are refused as messages (the peer would take them for
    // heartbeats or drop them).
    assert!(ours.connection().send_raw(&[PING]).is_err());
    assert!(ours.connection().send_raw(&[]).is_err());
    ours.terminate().await;
    log.wait_for("terminated").await;
}

#[tokio::test]
async fn two_endpoints_exchange_messages_reconnect_suspend_resume_and_terminate() {
    let port = free_port().await;
    let (log_a, log_b) = (Log::default(), Log::default());
    let a = ConnectionControl::spawn(info("c1"), listen(port), recorder(&log_a));
    let b = ConnectionControl::spawn(info("c1"), connect(port), recorder(&log_b));
    wait_state(&a, ConnectionState::Connected).await;
    wait_state(&b, ConnectionState::Connected).await;
    send_until_seen(&a, &log_b, "from a").await;
    send_until_seen(&b, &log_a, "from b").await;

    // The connecting side's process dies and a new one takes over the connection: the
    // listener is interrupted, listens again, and resumes; the new side builds a new handler.
    b.terminate().await;
    log_a.wait_for("interrupt").await;
    let log_b2 = Log::default();
    let b2 = ConnectionControl::spawn(info("c1"), connect(port), recorder(&log_b2));
    wait_state(&b2, ConnectionState::Connected).await;
    log_a.wait_for("resume after interrupt").await;
    log_b2.wait_for("built").await;
    send_until_seen(&a, &log_b2, "after the restart").await;

    // Suspend both, then resume with the roles swapped on a new port.
    a.suspend();
    b2.suspend();
    wait_state(&a, ConnectionState::Suspended).await;
    wait_state(&b2, ConnectionState::Suspended).await;
    log_a.wait_for("suspend").await;
    assert!(a.connection().send_raw(b"while suspended").is_err(), "a suspended connection does not send");
    let port2 = free_port().await;
    a.resume(connect(port2));
    b2.resume(listen(port2));
    wait_state(&a, ConnectionState::Connected).await;
    wait_state(&b2, ConnectionState::Connected).await;
    log_a.wait_for("resume after suspend").await;
    send_until_seen(&b2, &log_a, "after resume").await;

    a.terminate().await;
    b2.terminate().await;
    log_a.wait_for("terminated").await;
    log_b2.wait_for("terminated").await;
    assert_eq!(
        log_a.all().iter().filter(|s| *s == "built").count(),
        1,
        "one handler for the whole life: {:?}",
        log_a.all()
    );
}

#[tokio::test]
async fn messages_arrive_in_order_and_complete() {
    let port = free_port().await;
    let received = Arc::new(Mutex::new(Vec::<u32>::new()));
    let r = received.clone();
    struct Collect(Arc<Mutex<Vec<u32>>>);
    impl ConnectionHandler for Collect {
        fn on_message(&mut self, m: Message<'_>) {
            self.0.lock().unwrap().push(u32::from_be_bytes(m.payload()[..4].try_into().unwrap()));
        }
    }
    let build: BuildHandler = Arc::new(move |_| {
        let r = r.clone();
        Box::pin(async move { Some(Box::new(Collect(r)) as Box<dyn ConnectionHandler>) })
    });
    let none: BuildHandler = Arc::new(|_| Box::pin(async { None }));
    let a = ConnectionControl::spawn(info("order"), listen(port), build);
    let b = ConnectionControl::spawn(info("order"), connect(port), none);
    wait_state(&a, ConnectionState::Connected).await;
    wait_state(&b, ConnectionState::Connected).await;
    const N: u32 = 20_000;
    for i in 0..N {
        let mut payload = i.to_be_bytes().to_vec();
        payload.extend_from_slice(&[0x55; 60]);
        b.connection().send_raw_async(&payload).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while received.lock().unwrap().len() < N as usize {
        assert!(tokio::time::Instant::now() < deadline, "only {} of {N} arrived", received.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got = received.lock().unwrap().clone();
    assert!(got.iter().copied().eq(0..N), "out of order or duplicated");
    a.terminate().await;
    b.terminate().await;
}
