//! The anchor container: one per installation, on every user network that has processes. The
//! config-trigger listener and the management connections live in its network namespace, so
//! processes reach Switchyard as `orchestrator:8080` and Switchyard reaches them on their user
//! network.

use super::*;

impl ProcessManager {
    /// Make sure the anchor container runs and is attached to `networks` (and every user network
    /// that has processes); returns its network namespace, which the connector then uses.
    pub async fn ensure_anchor(&self, networks: &[String]) -> Result<NetNamespace> {
        let _guard = self.0.anchor_lock.lock().await;
        let name = self.0.settings.anchor_container();
        let labels: HashMap<String, String> =
            [(LABEL_INSTANCE.to_string(), self.0.settings.instance_id.clone())].into_iter().collect();
        let pid = self.0.docker.ensure_container(&name, &self.0.settings.anchor_image, labels).await.map_err(|e| {
            Error::Unavailable(format!("the anchor container ({}) cannot run: {e}", self.0.settings.anchor_image))
        })?;
        let attached = self.0.docker.container_networks(&name).await?;
        for net in networks.iter().filter(|n| !attached.contains(n)) {
            self.0.docker.connect_container(net, &name, ORCHESTRATOR_ALIAS).await?;
        }
        let ns = match self.0.connector.namespace() {
            Some(ns) if ns.pid() == pid => ns,
            _ => {
                let ns = NetNamespace::of_pid(pid)?;
                self.0.connector.set_namespace(ns.clone());
                ns
            }
        };
        Ok(ns)
    }

    /// The user networks of every user that has a process.
    pub(super) async fn user_networks(&self) -> Result<Vec<String>> {
        // Users are few and processes many: count each user's processes on the index.
        let (users, _) = self.0.store.list::<UserRecord>(&Query::all()).await?;
        let mut nets = Vec::new();
        for u in users {
            if self.0.store.count::<ProcessRecord>(Query::all().eq("user_id", u.user.id.as_str())).await? > 0 {
                nets.push(network_name(&u.user.id));
            }
        }
        Ok(nets)
    }

    /// Anchor upkeep, run every few seconds: the anchor runs and is on every user network with
    /// processes. Returns its namespace; `None` while no process exists and no anchor is needed.
    pub async fn keep_anchor(&self) -> Result<Option<NetNamespace>> {
        let nets = self.user_networks().await?;
        if nets.is_empty() && self.0.connector.namespace().is_none() {
            return Ok(None);
        }
        for net in &nets {
            self.0.docker.ensure_network(net, self.labels_for(None, net.trim_start_matches("usernet-"))).await?;
        }
        self.ensure_anchor(&nets).await.map(Some)
    }

    pub(super) fn labels_for(&self, process_id: Option<&str>, user_id: &str) -> HashMap<String, String> {
        let mut labels: HashMap<String, String> = HashMap::new();
        labels.insert(LABEL_INSTANCE.into(), self.0.settings.instance_id.clone());
        labels.insert(LABEL_USER.into(), user_id.to_string());
        if let Some(p) = process_id {
            labels.insert(LABEL_PROCESS.into(), p.to_string());
        }
        labels
    }
}
