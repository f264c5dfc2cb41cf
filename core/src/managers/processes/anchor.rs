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
        let owner = Owner { instance_id: self.0.settings.instance_id.clone(), ..Default::default() };
        let pid = self.0.docker.ensure_container(&name, &self.0.settings.anchor_image, &owner).await.map_err(|e| {
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
            self.0.docker.ensure_network(net, &self.owner(None, net.trim_start_matches("usernet-"))).await?;
        }
        self.ensure_anchor(&nets).await.map(Some)
    }

    /// Whose a Docker object of `user_id` (and of process `process_id`) is.
    pub(super) fn owner(&self, process_id: Option<&str>, user_id: &str) -> Owner {
        Owner {
            instance_id: self.0.settings.instance_id.clone(),
            user_id: Some(user_id.to_string()),
            process_id: process_id.map(str::to_string),
        }
    }
}
