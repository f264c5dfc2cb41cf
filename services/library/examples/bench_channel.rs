//! Data-channel benchmark: throughput and round-trip latency between two connection endpoints
//! of the service library on loopback, against a plain TCP socket pair in the same run.
//!
//! ```text
//! cargo run --release -p switchyard-service --example bench_channel [-- --quick]
//! ```
//!
//! Throughput: one side sends N messages of 64 B (then 4 KiB) as fast as it may; the time runs
//! until the other side's handler has seen the last one. The baseline writes the same bytes as
//! length-prefixed records through a buffered plain TCP socket and reads them back with a
//! buffered reader, splitting records (no heartbeats, no handshake, no handler dispatch).
//! Latency: ping-pong of one message, the handler on the far side echoing it; the baseline is
//! the same ping-pong on a plain socket with TCP_NODELAY. Each figure is the median of 5 runs.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use switchyard_service::{
    BuildHandler, Connection, ConnectionControl, ConnectionHandler, ConnectionInfo, ConnectionState, Endpoint, Message,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter},
    net::{TcpListener, TcpStream},
    sync::{mpsc, Notify},
};

fn info() -> ConnectionInfo {
    ConnectionInfo { connection_id: "bench".into(), version_name: "1".into(), ..Default::default() }
}

async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port()
}

struct Count {
    seen: Arc<AtomicU64>,
    want: u64,
    done: Arc<Notify>,
}

impl ConnectionHandler for Count {
    fn on_message(&mut self, _m: Message<'_>) {
        if self.seen.fetch_add(1, Ordering::Relaxed) + 1 == self.want {
            self.done.notify_one();
        }
    }
}

async fn pair(build_a: BuildHandler, build_b: BuildHandler) -> (ConnectionControl, ConnectionControl) {
    let port = free_port().await;
    let a = ConnectionControl::spawn(info(), Endpoint { target_address: String::new(), port }, build_a);
    let b = ConnectionControl::spawn(info(), Endpoint { target_address: "127.0.0.1".into(), port }, build_b);
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.state() != ConnectionState::Connected || b.state() != ConnectionState::Connected {
        assert!(Instant::now() < deadline, "the pair did not connect");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    (a, b)
}

fn none() -> BuildHandler {
    Arc::new(|_| Box::pin(async { None }))
}

/// Messages per second through the data channel.
async fn channel_throughput(size: usize, n: u64) -> f64 {
    let seen = Arc::new(AtomicU64::new(0));
    let done = Arc::new(Notify::new());
    let (s, d) = (seen.clone(), done.clone());
    let build: BuildHandler = Arc::new(move |_| {
        let (s, d) = (s.clone(), d.clone());
        Box::pin(async move { Some(Box::new(Count { seen: s, want: n, done: d }) as Box<dyn ConnectionHandler>) })
    });
    let (a, b) = pair(build, none()).await;
    let payload = vec![0x55u8; size];
    let start = Instant::now();
    let sender = b.connection().clone();
    let send = tokio::spawn(async move {
        for _ in 0..n {
            sender.send_raw_async(&payload).await.unwrap();
        }
    });
    done.notified().await;
    let elapsed = start.elapsed();
    send.await.unwrap();
    assert_eq!(seen.load(Ordering::Relaxed), n);
    a.terminate().await;
    b.terminate().await;
    n as f64 / elapsed.as_secs_f64()
}

/// Messages per second through a plain socket pair: 4-byte length + payload, buffered.
async fn tcp_throughput(size: usize, n: u64) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut r = BufReader::with_capacity(64 * 1024, s);
        let mut buf = vec![0u8; 64 * 1024];
        for _ in 0..n {
            let len = r.read_u32().await.unwrap() as usize;
            r.read_exact(&mut buf[..len]).await.unwrap();
        }
    });
    let s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut w = BufWriter::with_capacity(64 * 1024, s);
    let payload = vec![0x55u8; size];
    let start = Instant::now();
    for _ in 0..n {
        w.write_u32(size as u32).await.unwrap();
        w.write_all(&payload).await.unwrap();
    }
    w.flush().await.unwrap();
    reader.await.unwrap();
    n as f64 / start.elapsed().as_secs_f64()
}

struct Echo(Connection);

impl ConnectionHandler for Echo {
    fn on_message(&mut self, m: Message<'_>) {
        let _ = self.0.send_raw(m.payload());
    }
}

struct Back(mpsc::UnboundedSender<()>);

impl ConnectionHandler for Back {
    fn on_message(&mut self, _m: Message<'_>) {
        let _ = self.0.send(());
    }
}

/// Round-trip times through the data channel, in microseconds.
async fn channel_rtt(size: usize, n: usize) -> Vec<f64> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let echo: BuildHandler =
        Arc::new(|c| Box::pin(async move { Some(Box::new(Echo(c)) as Box<dyn ConnectionHandler>) }));
    let back: BuildHandler = Arc::new(move |_| {
        let tx = tx.clone();
        Box::pin(async move { Some(Box::new(Back(tx)) as Box<dyn ConnectionHandler>) })
    });
    let (a, b) = pair(echo, back).await;
    let payload = vec![0x55u8; size];
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        b.connection().send_raw(&payload).unwrap();
        rx.recv().await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    a.terminate().await;
    b.terminate().await;
    times
}

/// Round-trip times through a plain socket pair with TCP_NODELAY, in microseconds.
async fn tcp_rtt(size: usize, n: usize) -> Vec<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let echo = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = vec![0u8; size + 4];
        for _ in 0..n {
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        }
    });
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut msg = (size as u32).to_be_bytes().to_vec();
    msg.extend_from_slice(&vec![0x55u8; size]);
    let mut buf = vec![0u8; size + 4];
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        s.write_all(&msg).await.unwrap();
        s.read_exact(&mut buf).await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    echo.await.unwrap();
    times
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = if quick { 1 } else { 5 };
    println!("data channel vs plain TCP on loopback ({runs} run(s) each, median)");
    for (size, n) in [(64usize, if quick { 50_000 } else { 500_000u64 }), (4096, if quick { 10_000 } else { 100_000 })]
    {
        let mut ch = Vec::new();
        let mut tcp = Vec::new();
        for _ in 0..runs {
            ch.push(channel_throughput(size, n).await);
            tcp.push(tcp_throughput(size, n).await);
        }
        let (ch, tcp) = (median(ch), median(tcp));
        println!(
            "throughput {size:>5} B: channel {:>10.0} msg/s ({:>7.1} MB/s)   plain TCP {:>10.0} msg/s ({:>7.1} MB/s)   ratio {:.2}",
            ch,
            ch * size as f64 / 1e6,
            tcp,
            tcp * size as f64 / 1e6,
            ch / tcp
        );
    }
    let n = if quick { 2_000 } else { 20_000 };
    for size in [64usize, 4096] {
        let mut ch = channel_rtt(size, n).await;
        let mut tcp = tcp_rtt(size, n).await;
        ch.sort_by(|a, b| a.partial_cmp(b).unwrap());
        tcp.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "round trip {size:>5} B: channel p50 {:>6.1} µs p99 {:>6.1} µs   plain TCP p50 {:>6.1} µs p99 {:>6.1} µs   (n={n})",
            percentile(&ch, 0.5),
            percentile(&ch, 0.99),
            percentile(&tcp, 0.5),
            percentile(&tcp, 0.99)
        );
    }
}
