//! The process manager's reconciler, driven through its public API with a swarm written here
//! (the `Swarm` trait) instead of Docker: what it does when a process's swarm service vanished,
//! when its container failed, and with a service of this installation whose process is gone.
//! The same behaviour on a real swarm is proven by `server/tests/faults.rs`.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use switchyard_core::{
    changes::EngineConfig,
    connectors::{
        docker::{DockerConnector, Owner, ServiceRequest, SwarmNode, TaskInfo, TaskState},
        registry::{RegistryAuth, RegistryConnector},
        swarm::Swarm,
    },
    managers::{ProcessSettings, Switchyard},
    model::{ChangeKind, Process, ProcessState},
    store::{ProcessRecord, RemovedProcess, Store},
    Result,
};

/// A swarm of services and their tasks, as a test sets it.
#[derive(Default)]
struct Written {
    services: Mutex<HashSet<String>>,
    tasks: Mutex<HashMap<String, Vec<TaskInfo>>>,
    removed: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Swarm for Written {
    async fn nodes(&self) -> Result<Vec<SwarmNode>> {
        Ok(Vec::new())
    }
    async fn service_exists(&self, name: &str) -> Result<bool> {
        Ok(self.services.lock().unwrap().contains(name))
    }
    async fn services_of_instance(&self, _instance_id: &str) -> Result<Vec<String>> {
        Ok(self.services.lock().unwrap().iter().cloned().collect())
    }
    async fn create_service(&self, request: &ServiceRequest) -> Result<()> {
        self.services.lock().unwrap().insert(request.name.clone());
        Ok(())
    }
    async fn remove_service(&self, name: &str) -> Result<()> {
        self.services.lock().unwrap().remove(name);
        self.removed.lock().unwrap().push(name.to_string());
        Ok(())
    }
    async fn tasks(&self, name: &str) -> Result<Vec<TaskInfo>> {
        Ok(self.tasks.lock().unwrap().get(name).cloned().unwrap_or_default())
    }
    async fn service_logs(
        &self,
        _name: &str,
        _tail: u32,
        _since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    async fn ensure_network(&self, name: &str, _owner: &Owner) -> Result<String> {
        Ok(name.to_string())
    }
    async fn ensure_container(&self, _name: &str, _image: &str, _owner: &Owner) -> Result<i64> {
        Ok(1)
    }
    async fn container_networks(&self, _name: &str) -> Result<Vec<(String, Option<std::net::IpAddr>)>> {
        Ok(Vec::new())
    }
    async fn connect_container(&self, _network: &str, _container: &str, _alias: Option<&str>) -> Result<()> {
        Ok(())
    }
}

async fn switchyard(swarm: Arc<Written>) -> (Switchyard, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).await.unwrap();
    // Never reached: the managers speak to the swarm above. Connections are made per request.
    let docker = DockerConnector::connect("tcp://127.0.0.1:9").unwrap();
    let registry = RegistryConnector::new("http://127.0.0.1:9", "services", RegistryAuth::None).unwrap();
    let settings = ProcessSettings {
        instance_id: "test".into(),
        presence: switchyard_core::managers::Presence { anchor_image: "anchor".into(), own_container: None },
        max_memory_bytes: 0,
        max_nano_cpus: 0,
        alert_interrupted_grace: Duration::from_secs(30),
        trigger_grace: Duration::from_secs(10),
    };
    let sy = Switchyard::with_swarm(store, docker, swarm, registry, None, EngineConfig::default(), settings);
    (sy, dir)
}

/// A process that ran in container `t1`.
fn running(id: &str) -> ProcessRecord {
    let now = Utc::now();
    ProcessRecord {
        process: Process {
            state: ProcessState::Running,
            created: now,
            updated: now,
            ..Process::blank(id, &format!("name-{id}"), "u1", "counter", "1.0.0")
        },
        token: "token".into(),
        saved_state: None,
        task_id: Some("t1".into()),
        has_run: true,
        moving_to: None,
        refused: None,
        suspending_task: None,
    }
}

fn task(id: &str, state: TaskState, exit_code: Option<i64>) -> TaskInfo {
    TaskInfo {
        id: id.into(),
        state,
        desired_state: TaskState::Running,
        message: String::new(),
        error: None,
        node_id: None,
        container_id: None,
        exit_code,
        timestamp: Some(Utc::now()),
        addresses: Vec::new(),
    }
}

async fn process(sy: &Switchyard, id: &str) -> Process {
    sy.store.get::<ProcessRecord>(id).await.unwrap().unwrap().process
}

#[tokio::test]
async fn a_service_removed_outside_switchyard_fails_the_process_and_is_recreated_by_a_pending_change() {
    let swarm = Arc::new(Written::default());
    let (sy, _dir) = switchyard(swarm.clone()).await;
    sy.store.insert(&running("p1")).await.unwrap();

    sy.processes.reconcile().await.unwrap();

    let p = process(&sy, "p1").await;
    assert_eq!(p.state, ProcessState::Failed);
    assert_eq!(p.state_reason.as_deref(), Some("its swarm service was removed outside Switchyard; recreating it"));
    let open = sy.engine.open_changes().await.unwrap();
    assert!(
        open.iter().any(|c| c.kind == ChangeKind::CreateProcess && c.resources.iter().any(|r| r == "p1")),
        "no change recreates it: {open:?}"
    );
}

#[tokio::test]
async fn a_failed_container_fails_the_process_with_its_exit_code_and_nothing_is_recreated() {
    let swarm = Arc::new(Written::default());
    swarm.services.lock().unwrap().insert("p1".into());
    swarm.tasks.lock().unwrap().insert("p1".into(), vec![task("t1", TaskState::Failed, Some(3))]);
    let (sy, _dir) = switchyard(swarm.clone()).await;
    sy.store.insert(&running("p1")).await.unwrap();

    sy.processes.reconcile().await.unwrap();

    let p = process(&sy, "p1").await;
    assert_eq!(p.state, ProcessState::Failed);
    assert_eq!(p.state_reason.as_deref(), Some("its container failed: exit code 3"));
    assert!(sy.engine.open_changes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_deleted_process_service_is_removed_but_never_in_the_first_round_and_a_stray_is_left_alone() {
    let swarm = Arc::new(Written::default());
    swarm.services.lock().unwrap().extend(["gone".to_string(), "stray".to_string()]);
    let (sy, _dir) = switchyard(swarm.clone()).await;
    let removed = RemovedProcess { id: "gone".into(), user_id: "u1".into(), removed: Utc::now(), revision: 0 };
    sy.store.insert(&removed).await.unwrap();

    // The first round after a start may run on a store that is not the one these services were
    // made from: it removes nothing.
    sy.processes.reconcile().await.unwrap();
    assert!(swarm.removed.lock().unwrap().is_empty());

    sy.processes.reconcile().await.unwrap();
    assert_eq!(*swarm.removed.lock().unwrap(), ["gone"]);
    assert!(swarm.services.lock().unwrap().contains("stray"), "a service with no record of its deletion is kept");
}
