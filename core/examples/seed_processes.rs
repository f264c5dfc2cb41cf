//! Benchmark helper: store N process records owned by the user `admin` in an embedded store
//! (Switchyard must not be running on it). Used by `scripts/bench` for the process-list figures.
//!
//! Usage: seed_processes <data dir> <count> [graph]
//!
//! With `graph`, the processes are what the example services declare (half sensors, half
//! counters, each with its interface) and each pair is connected, as `scripts/bench-scale`
//! deploys them on a cluster: the connection editor's data at that size, without a cluster
//! (`end2end/tools/bench-scale-ui.mjs` against a server on this store).

use chrono::Utc;
use switchyard_core::{
    managers::ConnectionRecord,
    model::{
        ConfigEntry, Connection, ConnectionState, Endpoint, Interface, InterfaceVersion, Placement, Process,
        ProcessState, ResourceLimits,
    },
    store::{new_id, ProcessRecord, Store, UserRecord},
};

const TEMPERATURE: &str = "63c386b2dfbd481c19444a63d3b7b7300a50651665ee4f57457fc7a5fdbed746";
const NOTHING: &str = "ee54eafdd182302c62dc1273c6901357a24d0315c767a5099ccac9c68d750803";

/// The interface the example service declares (`services/examples`): the sensor sends
/// temperatures; the counter receives them (version 1) or also sends them on (version 2).
fn temperature(service: &str) -> Interface {
    let version = |name: &str, sends: &str, receives: &str, s: &[&str], r: &[&str]| InterfaceVersion {
        version_name: name.into(),
        sends_hash: sends.into(),
        receives_hash: receives.into(),
        sends: Some(s.iter().map(|m| m.to_string()).collect()),
        receives: Some(r.iter().map(|m| m.to_string()).collect()),
    };
    let sensor = service == "sensor";
    Interface {
        id: format!("{service}/temperature"),
        name: "Temperature".into(),
        service_id: service.into(),
        interface_versions: if sensor {
            vec![version("1", TEMPERATURE, NOTHING, &["TemperatureReading"], &[])]
        } else {
            vec![
                version("1", NOTHING, TEMPERATURE, &[], &["TemperatureReading"]),
                version("2", TEMPERATURE, TEMPERATURE, &["TemperatureReading"], &["TemperatureReading"]),
            ]
        },
        allow_multiple: sensor,
        auto_connect: sensor,
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(count)) = (args.get(1), args.get(2).and_then(|c| c.parse::<usize>().ok())) else {
        eprintln!("usage: seed_processes <data dir> <count> [graph]");
        std::process::exit(2);
    };
    let store = Store::open(dir).await.expect("open the store");
    let admin: UserRecord = store.find_one("username", "admin").await.expect("read").expect("an admin user");
    let graph = args.get(3).is_some_and(|a| a == "graph");
    let started = std::time::Instant::now();
    let mut sensor: Option<Process> = None;
    for i in 0..count {
        let now = Utc::now();
        let mut process = Process {
            id: new_id(),
            name: match (graph, i % 2) {
                (true, 0) => format!("sensor-{:04}", i / 2),
                (true, _) => format!("counter-{:04}", i / 2),
                _ => format!("sensor {i:05}"),
            },
            user_id: admin.user.id.clone(),
            service_id: if i % 2 == 0 { "sensor".into() } else { "counter".into() },
            service_version: "1.0.0".into(),
            image: Some(format!("127.0.0.1:5000/services/sensor@sha256:{:064x}", i)),
            placement: Placement::Automatic,
            parameters: vec![
                ConfigEntry { key: "interval_ms".into(), value: "1000".into() },
                ConfigEntry { key: "unit".into(), value: "celsius".into() },
            ],
            environment: vec![ConfigEntry { key: "GREETING".into(), value: "hello".into() }],
            limits: ResourceLimits::default(),
            mounts: vec![],
            ports: vec![],
            interfaces: if graph { vec![temperature(if i % 2 == 0 { "sensor" } else { "counter" })] } else { vec![] },
            state: ProcessState::Starting,
            state_reason: None,
            running_node_id: Some(new_id()),
            placement_reason: Some("seeded for a benchmark".into()),
            has_saved_state: false,
            state_saved_at: None,
            state_restored_at: None,
            move_on_failure: false,
            moving_to_node_id: None,
            config_revision: 0,
            history: vec![],
            created: now,
            updated: now,
            revision: 0,
        };
        process.set_state(ProcessState::Running, None, now);
        // Seeded processes have no swarm service: mark them suspended so the reconciler leaves
        // them alone while the list is measured.
        process.set_state(ProcessState::Suspended, Some("seeded for a benchmark".into()), now);
        let record = ProcessRecord {
            process,
            token: new_id(),
            saved_state: None,
            task_id: None,
            has_run: true,
            moving_to: None,
            refused: None,
            suspending_task: None,
        };
        store.insert(&record).await.expect("insert");
        let process = record.process;
        match sensor.take() {
            Some(s) if graph => {
                let end = |p: &Process| Endpoint {
                    process_id: p.id.clone(),
                    interface_id: p.interfaces[0].id.clone(),
                    interface_version_name: Some("1".into()),
                    process_name: p.name.clone(),
                };
                let connection = Connection {
                    id: new_id(),
                    user_id: admin.user.id.clone(),
                    endpoint1: end(&s),
                    endpoint2: end(&process),
                    port: 5000,
                    state: ConnectionState::Suspended,
                    state_reason: Some("seeded for a benchmark".into()),
                    terminating: false,
                    created: now,
                    updated: now,
                    revision: 0,
                };
                let record = ConnectionRecord {
                    process_ids: vec![s.id.clone(), process.id.clone()],
                    connection,
                    accepted: [None, None],
                    told_suspended: [true, true],
                    terminated: [false, false],
                    ending: None,
                    renegotiate: [false, false],
                };
                store.insert(&record).await.expect("insert");
            }
            _ if graph && i % 2 == 0 => sensor = Some(process),
            _ => {}
        }
    }
    println!("stored {count} processes in {:.1} s", started.elapsed().as_secs_f64());
}
