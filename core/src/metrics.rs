//! Prometheus metrics (the `prometheus` crate: its registry and text encoder, nothing formatted
//! by hand). Counters and histograms are updated where things happen (the HTTP layer, the
//! pending-change engine, the upkeep loop); the gauges of how many things are in which state are
//! counted from the store when `/metrics` is scraped, so they can never drift from it.

use std::sync::Arc;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::{
    error::{Error, Result},
    managers::ConnectionRecord,
    model::{ConnectionState, Node, PendingChange, ProcessState},
    store::{ProcessRecord, Store, Tally},
};

struct Inner {
    registry: Registry,
    processes: IntGaugeVec,
    connections: IntGaugeVec,
    nodes: IntGaugeVec,
    changes: IntGaugeVec,
    change_seconds: HistogramVec,
    change_attempts: HistogramVec,
    reconcile_seconds: HistogramVec,
    swarm_look_seconds: Histogram,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    subscribers: IntGauge,
    /// What the allocator has handed out and not had back, where it can say (glibc).
    heap: Option<IntGauge>,
}

/// Switchyard's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry.register(Box::new(g.clone())).expect("registered once");
    g
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str], buckets: Vec<f64>) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels).expect("valid metric");
    registry.register(Box::new(h.clone())).expect("registered once");
    h
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("switchyard".into()), None).expect("a valid prefix");
        let seconds = vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];
        // An upkeep round's parts, and the look at the swarm within one.
        let round = vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered, by method, route and status"),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        registry.register(Box::new(http_requests.clone())).expect("registered once");
        let subscribers =
            IntGauge::new("event_stream_subscribers", "Open event streams (/api/v1/events)").expect("valid metric");
        registry.register(Box::new(subscribers.clone())).expect("registered once");
        // Resident memory moves with what the allocator keeps for later; this is what is in use
        // (a benchmark's difference between two moments means something in it).
        let heap = cfg!(all(target_os = "linux", target_env = "gnu")).then(|| {
            let g = IntGauge::new("heap_in_use_bytes", "Memory allocated and not freed (glibc's mallinfo2)")
                .expect("valid metric");
            registry.register(Box::new(g.clone())).expect("registered once");
            g
        });
        Metrics(Arc::new(Inner {
            processes: gauge(&registry, "processes", "Processes by state", &["state"]),
            connections: gauge(&registry, "connections", "Connections by state", &["state"]),
            nodes: gauge(&registry, "nodes", "Swarm nodes by status and kind", &["status", "kind"]),
            changes: gauge(&registry, "pending_changes", "Pending changes by kind and state", &["kind", "state"]),
            change_seconds: histogram(
                &registry,
                "change_duration_seconds",
                "From a pending change's creation until it was done or failed for good",
                &["kind", "outcome"],
                seconds.clone(),
            ),
            change_attempts: histogram(
                &registry,
                "change_attempts",
                "Attempts a pending change took until it was done or failed for good",
                &["kind", "outcome"],
                vec![1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0],
            ),
            reconcile_seconds: histogram(
                &registry,
                "reconcile_round_seconds",
                "One round of the upkeep loop, by part (nodes, processes, connections)",
                &["part"],
                round.clone(),
            ),
            swarm_look_seconds: {
                let opts = HistogramOpts::new(
                    "reconcile_swarm_look_seconds",
                    "The processes part's one look at the swarm (Docker's listing of the installation's \
                     services and their tasks, received and decoded); the rest of the part is Switchyard's own",
                )
                .buckets(round);
                let h = Histogram::with_opts(opts).expect("valid metric");
                registry.register(Box::new(h.clone())).expect("registered once");
                h
            },
            http_seconds: histogram(
                &registry,
                "http_request_duration_seconds",
                "Time to answer an HTTP request (until its headers, for streams), by method and route",
                &["method", "route"],
                seconds,
            ),
            http_requests,
            subscribers,
            heap,
            registry,
        }))
    }

    /// A request was answered.
    pub fn http_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.0.http_requests.with_label_values(&[method, route, &status.to_string()]).inc();
        self.0.http_seconds.with_label_values(&[method, route]).observe(seconds);
    }

    /// A pending change reached an end (`done` or `failed`).
    pub fn change_finished(&self, change: &PendingChange) {
        let outcome = if change.state == crate::model::PendingChangeState::Done { "done" } else { "failed" };
        let labels = [change.kind.as_str(), outcome];
        let took = change.finished.map_or(0.0, |f| (f - change.created).num_milliseconds().max(0) as f64 / 1000.0);
        self.0.change_seconds.with_label_values(&labels).observe(took);
        self.0.change_attempts.with_label_values(&labels).observe(f64::from(change.attempts));
    }

    /// One part of an upkeep round took `seconds`.
    pub fn reconcile_part(&self, part: &str, seconds: f64) {
        self.0.reconcile_seconds.with_label_values(&[part]).observe(seconds);
    }

    /// The reconciler's look at the swarm took `seconds`.
    pub fn swarm_look(&self, seconds: f64) {
        self.0.swarm_look_seconds.observe(seconds);
    }

    /// Count what the store holds, and render everything in the text exposition format.
    pub async fn render(&self, store: &Store, subscribers: usize) -> Result<String> {
        let m = &self.0;
        // Counted from the store's in-memory projection: reading every record (thousands of
        // finished pending changes at 500 processes) made each scrape a 20 MiB peak.
        let processes = store.tally::<ProcessRecord>(&["state"]).await?;
        let connections = store.tally::<ConnectionRecord>(&["state"]).await?;
        let nodes = store.tally::<Node>(&["status", "kind"]).await?;
        let changes = store.tally::<PendingChange>(&["kind", "state"]).await?;
        // States with nothing in them are there, at 0, so a query or an alert on one finds a
        // value rather than nothing.
        let set = |gauge: &IntGaugeVec, mut counts: Tally, known: &[&str]| {
            gauge.reset();
            for state in known {
                counts.entry(vec![state.to_string()]).or_default();
            }
            for (labels, n) in counts {
                let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
                gauge.with_label_values(&labels).set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        };
        let process_states = ProcessState::ALL.map(ProcessState::as_str);
        let connection_states = ConnectionState::ALL.map(ConnectionState::as_str);
        set(&m.processes, processes, &process_states);
        set(&m.connections, connections, &connection_states);
        set(&m.nodes, nodes, &[]);
        set(&m.changes, changes, &[]);
        m.subscribers.set(subscribers as i64);
        if let Some(heap) = &m.heap {
            heap.set(heap_in_use() as i64);
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&m.registry.gather(), &mut out)
            .map_err(|e| Error::Internal(format!("encoding the metrics: {e}")))?;
        String::from_utf8(out).map_err(|e| Error::Internal(e.to_string()))
    }
}

/// Bytes allocated and not freed: small ones from the arenas and large ones mapped on their own.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_in_use() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's statistics, under its own locks.
    let info = unsafe { libc::mallinfo2() };
    info.uordblks + info.hblkhd
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_in_use() -> usize {
    0
}
