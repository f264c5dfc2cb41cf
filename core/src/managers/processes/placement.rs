//! Where a process runs: the node chosen for a placement (a private node, a node pool or any node
//! its owner may use), the image for that node's architecture, and which processes a node no
//! longer takes.

use super::*;

impl ProcessManager {
    /// The image of `service` for `node`'s architecture, pinned by digest.
    pub(super) fn image_for(&self, service: &Service, node: &Node) -> String {
        let digest = service.digests.get(&node.architecture).cloned().unwrap_or_default();
        format!(
            "{}/{}@{}",
            self.0.services.registry().image_host(),
            self.0.services.registry().repository(&service.id),
            digest
        )
    }

    /// Choose a node for a process of `owner` running `service` under `placement` with
    /// `limits`, with the reason for the choice. `avoid` (the node a process is moved away from)
    /// is chosen only when the placement names it alone.
    pub async fn place(
        &self,
        owner: &User,
        placement: &Placement,
        service: &Service,
        limits: &crate::model::ResourceLimits,
        avoid: Option<&str>,
    ) -> Result<(Node, String)> {
        let (nodes, _) = self.0.store.list::<Node>(&Query::all()).await?;
        let (candidates, what): (Vec<Node>, String) = match placement {
            Placement::PrivateNode { node_id } => {
                validate::id("node", node_id).map_err(|e| Error::invalid("placement.node_id", e.to_string()))?;
                let node = nodes
                    .iter()
                    .find(|n| &n.id == node_id)
                    .filter(|n| n.kind == NodeKind::Private && n.user_id.as_deref() == Some(owner.id.as_str()))
                    .ok_or_else(|| {
                        Error::invalid(
                            "placement.node_id",
                            format!("node '{node_id}' is not one of your private nodes"),
                        )
                    })?;
                (vec![node.clone()], format!("private node {}", node.name))
            }
            Placement::NodePool { pool_id } => {
                validate::id("node pool", pool_id).map_err(|e| Error::invalid("placement.pool_id", e.to_string()))?;
                let pool =
                    self.0.store.get::<NodePool>(pool_id).await?.ok_or_else(|| {
                        Error::invalid("placement.pool_id", format!("no node pool with id '{pool_id}'"))
                    })?;
                let in_pool: Vec<Node> = nodes
                    .iter()
                    .filter(|n| n.kind == NodeKind::Public && n.node_pool_id.as_deref() == Some(pool_id.as_str()))
                    .cloned()
                    .collect();
                if in_pool.is_empty() {
                    return Err(Error::invalid(
                        "placement.pool_id",
                        format!("node pool '{}' has no nodes; an administrator must add one first", pool.name),
                    ));
                }
                (in_pool, format!("node pool {}", pool.name))
            }
            Placement::Automatic => {
                let usable: Vec<Node> = nodes
                    .iter()
                    .filter(|n| {
                        n.kind == NodeKind::Public
                            || (n.kind == NodeKind::Private && n.user_id.as_deref() == Some(owner.id.as_str()))
                    })
                    .cloned()
                    .collect();
                if usable.is_empty() {
                    return Err(Error::invalid(
                        "placement",
                        "no node is available to you: an administrator must make a node public or yours first",
                    ));
                }
                (usable, "the nodes you may use".to_string())
            }
        };
        // A node that has left the swarm runs nothing; its record only waits to be forgotten.
        let candidates: Vec<Node> = candidates.into_iter().filter(|n| n.status != NodeStatus::Missing).collect();
        if candidates.is_empty() {
            let why = match placement {
                Placement::PrivateNode { .. } => format!("{what} has left the swarm"),
                Placement::NodePool { .. } => format!("every node of {what} has left the swarm"),
                Placement::Automatic => "every node you may use has left the swarm".to_string(),
            };
            return Err(Error::invalid("placement", why));
        }
        let fitting: Vec<&Node> = candidates.iter().filter(|n| service.digests.contains_key(&n.architecture)).collect();
        if fitting.is_empty() {
            let have: Vec<String> = service.digests.keys().map(|a| format!("{a:?}")).collect();
            let need: Vec<String> = candidates.iter().map(|n| format!("{} ({:?})", n.name, n.architecture)).collect();
            return Err(Error::invalid(
                "service_version",
                format!(
                    "version {} of {} has images for {} only, none of which runs on {what}: {}",
                    service.version,
                    service.id,
                    have.join(", "),
                    need.join(", ")
                ),
            ));
        }
        // A limit above what a node has is refused by the node (its tasks fail for ever).
        let roomy = |n: &Node| {
            (n.nano_cpus == 0 || limits.nano_cpus <= n.nano_cpus)
                && (n.memory_bytes == 0 || limits.memory_bytes <= n.memory_bytes)
        };
        if !fitting.iter().any(|n| roomy(n)) {
            let cpus = fitting.iter().any(|n| n.nano_cpus != 0 && limits.nano_cpus > n.nano_cpus);
            let have: Vec<String> = fitting
                .iter()
                .map(|n| format!("{} has {} CPUs and {} MiB", n.name, n.nano_cpus as f64 / 1e9, n.memory_bytes >> 20))
                .collect();
            let (field, what_limit) =
                if cpus { ("limits.nano_cpus", "CPU limit") } else { ("limits.memory_bytes", "memory limit") };
            return Err(Error::invalid(
                field,
                format!("the {what_limit} is more than any fitting node of {what} has: {}", have.join("; ")),
            ));
        }
        let fitting: Vec<&Node> = fitting.into_iter().filter(|n| roomy(n)).collect();
        let others: Vec<&Node> = fitting.iter().copied().filter(|n| Some(n.id.as_str()) != avoid).collect();
        let fitting = if others.is_empty() { fitting } else { others };
        let ready: Vec<&&Node> = fitting.iter().filter(|n| n.status == NodeStatus::Ready).collect();
        let pool: Vec<&Node> = if ready.is_empty() { fitting.clone() } else { ready.into_iter().copied().collect() };
        // Load: the processes placed on each node (counted on the store's index, not read).
        let mut loads = HashMap::new();
        for n in &pool {
            let placed = self.0.store.count::<ProcessRecord>(Query::all().eq("running_node_id", n.id.as_str())).await?;
            loads.insert(n.id.clone(), placed as usize);
        }
        let load = |n: &Node| loads.get(&n.id).copied().unwrap_or(0);
        let best = pool.iter().min_by_key(|n| (load(n), n.name.clone())).copied().expect("not empty");
        let reason = if pool.len() == 1 {
            format!("{} is the only fitting node of {what}", best.name)
        } else {
            format!(
                "{} runs the fewest processes ({}) of {} fitting nodes of {what}",
                best.name,
                load(best),
                pool.len()
            )
        } + if best.status != NodeStatus::Ready { " (it is not ready now)" } else { "" };
        Ok((best.clone(), reason))
    }

    /// Where to move a process off `node` (which failed or no longer permits it): another node
    /// its placement allows, or, when that names only this node or no other is ready, any
    /// node its owner may use.
    pub(crate) async fn choose_away(&self, record: &ProcessRecord, node: &Node) -> Result<MoveTarget> {
        let p = &record.process;
        let owner: User = self.0.store.fetch::<UserRecord>(&p.user_id).await?.user;
        let service = self.service_of(p).await?;
        for placement in [p.placement.clone(), Placement::Automatic] {
            match self.place(&owner, &placement, &service, &p.limits, Some(&node.id)).await {
                Ok((to, reason)) if to.id != node.id && to.status == NodeStatus::Ready => {
                    return Ok(MoveTarget {
                        image: self.image_for(&service, &to),
                        reason: format!("{reason} (moved off {}, which {})", node.name, why_off(node)),
                        node_id: to.id,
                        node_name: to.name,
                        placement,
                    });
                }
                Ok(_) | Err(Error::Invalid { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!("no other ready node is available to {}", owner.username)))
    }

    /// The processes placed on `node` (as it is about to become) that it would no longer
    /// take: a process may stay only where its placement and its owner permit it.
    pub(crate) async fn stranded_by(&self, node: &Node) -> Result<Vec<ProcessRecord>> {
        let (on_node, _) =
            self.0.store.list::<ProcessRecord>(&Query::all().eq("running_node_id", node.id.as_str())).await?;
        Ok(on_node
            .into_iter()
            .filter(|r| r.process.state != ProcessState::Terminated && r.moving_to.is_none())
            .filter(|r| !permits(node, &r.process))
            .collect())
    }
}

/// Whether `node` takes process `p` where it is: as one of the nodes its placement allows,
/// usable by its owner.
pub(super) fn permits(node: &Node, p: &Process) -> bool {
    match (node.kind, &p.placement) {
        (NodeKind::Unidentified, _) => false,
        (NodeKind::Public, Placement::Automatic) => true,
        (NodeKind::Public, Placement::NodePool { pool_id }) => node.node_pool_id.as_deref() == Some(pool_id.as_str()),
        (NodeKind::Public, Placement::PrivateNode { .. }) => false,
        (NodeKind::Private, Placement::NodePool { .. }) => false,
        (NodeKind::Private, _) => node.user_id.as_deref() == Some(p.user_id.as_str()),
    }
}

/// Why a process leaves `node`, for its placement reason.
pub(super) fn why_off(node: &Node) -> &'static str {
    match (node.status, node.kind) {
        (NodeStatus::Down | NodeStatus::Disconnected, _) => "went down",
        (NodeStatus::Missing, _) => "left the swarm",
        (_, NodeKind::Unidentified) => "was made unidentified",
        _ => "no longer takes it",
    }
}
