//! Benchmark helper: store N process records owned by the user `admin` in an embedded store
//! (Switchyard must not be running on it). Used by `scripts/bench` for the process-list figures.
//!
//! Usage: seed_processes <data dir> <count>

use chrono::Utc;
use switchyard_core::{
    model::{ConfigEntry, Placement, Process, ProcessState, ResourceLimits},
    store::{new_id, ProcessRecord, Store, UserRecord},
};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(count)) = (args.get(1), args.get(2).and_then(|c| c.parse::<usize>().ok())) else {
        eprintln!("usage: seed_processes <data dir> <count>");
        std::process::exit(2);
    };
    let store = Store::open(dir).await.expect("open the store");
    let admin: UserRecord = store.find_one("username", "admin").await.expect("read").expect("an admin user");
    let started = std::time::Instant::now();
    for i in 0..count {
        let now = Utc::now();
        let mut process = Process {
            id: new_id(),
            name: format!("sensor {i:05}"),
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
            interfaces: vec![],
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
    }
    println!("stored {count} processes in {:.1} s", started.elapsed().as_secs_f64());
}
