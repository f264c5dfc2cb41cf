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
        // Load: the processes placed on each node (counted on the store's index, not read).
        let mut loads = HashMap::new();
        for n in &candidates {
            let placed = self.0.store.count::<ProcessRecord>(Query::all().eq("running_node_id", n.id.as_str())).await?;
            loads.insert(n.id.clone(), placed as usize);
        }
        choose_node(&Choice { candidates, what: &what, placement, service, limits, avoid, loads: &loads })
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
                        upgrade: None,
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

/// What a node is chosen from: the nodes a placement allows (`what` names them for messages)
/// and how many processes each runs now.
pub(super) struct Choice<'a> {
    pub candidates: Vec<Node>,
    pub what: &'a str,
    pub placement: &'a Placement,
    pub service: &'a Service,
    pub limits: &'a crate::model::ResourceLimits,
    /// The node a process is moved away from: chosen only when it is the only one left.
    pub avoid: Option<&'a str>,
    pub loads: &'a HashMap<String, usize>,
}

/// The decision of a placement, with its reason, a pure function: among the candidates that are
/// in the swarm, have an image for their architecture and room for the limits (and are not the
/// one avoided, when there are others), a ready node running the fewest processes (by name on a
/// tie); a node not ready only when none is.
pub(super) fn choose_node(choice: &Choice) -> Result<(Node, String)> {
    let Choice { candidates, what, placement, service, limits, avoid, loads } = choice;
    let (avoid, what) = (*avoid, *what);
    // A node that has left the swarm runs nothing; its record only waits to be forgotten.
    let candidates: Vec<&Node> = candidates.iter().filter(|n| n.status != NodeStatus::Missing).collect();
    if candidates.is_empty() {
        let why = match placement {
            Placement::PrivateNode { .. } => format!("{what} has left the swarm"),
            Placement::NodePool { .. } => format!("every node of {what} has left the swarm"),
            Placement::Automatic => "every node you may use has left the swarm".to_string(),
        };
        return Err(Error::invalid("placement", why));
    }
    let fitting: Vec<&Node> =
        candidates.iter().copied().filter(|n| service.digests.contains_key(&n.architecture)).collect();
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
    let load = |n: &Node| loads.get(&n.id).copied().unwrap_or(0);
    let best = pool.iter().min_by_key(|n| (load(n), n.name.clone())).copied().expect("not empty");
    let reason = if pool.len() == 1 {
        format!("{} is the only fitting node of {what}", best.name)
    } else {
        format!("{} runs the fewest processes ({}) of {} fitting nodes of {what}", best.name, load(best), pool.len())
    } + if best.status != NodeStatus::Ready { " (it is not ready now)" } else { "" };
    Ok((best.clone(), reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Architecture, ResourceLimits};

    fn node(name: &str, arch: Architecture, status: NodeStatus, cpus: u64) -> Node {
        Node {
            id: format!("id-{name}"),
            name: name.into(),
            kind: NodeKind::Public,
            node_pool_id: None,
            user_id: None,
            docker_id: format!("docker-{name}"),
            hostname: name.into(),
            architecture: arch,
            status,
            manager: false,
            last_seen: None,
            nano_cpus: cpus * 1_000_000_000,
            memory_bytes: 1 << 30,
            processes: 0,
            assigned_revision: 0,
            revision: 1,
        }
    }

    fn service(archs: &[Architecture]) -> Service {
        Service {
            id: "sensor".into(),
            name: "Sensor".into(),
            version: "1.0.0".into(),
            created: None,
            interfaces: Vec::new(),
            parameters: Vec::new(),
            tags: archs.iter().map(|a| (*a, "1.0.0".to_string())).collect(),
            digests: archs.iter().map(|a| (*a, "sha256:00".to_string())).collect(),
            problems: Vec::new(),
        }
    }

    fn choose(
        nodes: &[Node],
        archs: &[Architecture],
        limits: ResourceLimits,
        avoid: Option<&str>,
        loads: &[(&str, usize)],
    ) -> Result<(Node, String)> {
        let loads: HashMap<String, usize> = loads.iter().map(|(n, l)| (format!("id-{n}"), *l)).collect();
        choose_node(&Choice {
            candidates: nodes.to_vec(),
            what: "the nodes you may use",
            placement: &Placement::Automatic,
            service: &service(archs),
            limits: &limits,
            avoid,
            loads: &loads,
        })
    }

    use Architecture::{Arm, X86_64};
    use NodeStatus::{Down, Missing, Ready};

    #[test]
    fn the_ready_node_with_the_fewest_processes_is_chosen_by_name_on_a_tie() {
        let nodes = [node("c", X86_64, Ready, 2), node("a", X86_64, Ready, 2), node("b", X86_64, Ready, 2)];
        let (n, why) =
            choose(&nodes, &[X86_64], ResourceLimits::default(), None, &[("a", 3), ("b", 1), ("c", 1)]).unwrap();
        assert_eq!(n.name, "b");
        assert_eq!(why, "b runs the fewest processes (1) of 3 fitting nodes of the nodes you may use");
    }

    #[test]
    fn nodes_that_cannot_run_it_are_never_chosen() {
        let nodes = [node("arm", Arm, Ready, 4), node("gone", X86_64, Missing, 4), node("x", X86_64, Ready, 4)];
        let (n, why) = choose(&nodes, &[X86_64], ResourceLimits::default(), None, &[("x", 9)]).unwrap();
        assert_eq!((n.name.as_str(), why.as_str()), ("x", "x is the only fitting node of the nodes you may use"));
        // No image for any architecture there is.
        let err = choose(&nodes[..1], &[X86_64], ResourceLimits::default(), None, &[]).unwrap_err();
        assert_eq!(err.field(), Some("service_version"));
        // More CPUs than any node has.
        let big = ResourceLimits { nano_cpus: 8_000_000_000, ..Default::default() };
        let err = choose(&nodes, &[X86_64], big, None, &[]).unwrap_err();
        assert_eq!(err.field(), Some("limits.nano_cpus"));
        assert!(err.to_string().contains("x has 4 CPUs"), "{err}");
        // Only nodes that left the swarm.
        assert_eq!(
            choose(&nodes[1..2], &[X86_64], ResourceLimits::default(), None, &[]).unwrap_err().field(),
            Some("placement")
        );
    }

    #[test]
    fn a_node_moved_away_from_is_chosen_only_when_no_other_fits_and_a_down_one_only_when_none_is_ready() {
        let nodes = [node("a", X86_64, Ready, 2), node("b", X86_64, Ready, 2)];
        let (n, _) = choose(&nodes, &[X86_64], ResourceLimits::default(), Some("id-a"), &[("b", 5)]).unwrap();
        assert_eq!(n.name, "b");
        let (n, _) = choose(&nodes[..1], &[X86_64], ResourceLimits::default(), Some("id-a"), &[]).unwrap();
        assert_eq!(n.name, "a");
        let down = [node("d", X86_64, Down, 2), node("r", X86_64, Ready, 2)];
        let (n, _) = choose(&down, &[X86_64], ResourceLimits::default(), None, &[("r", 7)]).unwrap();
        assert_eq!(n.name, "r");
        let (n, why) = choose(&down[..1], &[X86_64], ResourceLimits::default(), None, &[]).unwrap();
        assert_eq!(n.name, "d");
        assert!(why.ends_with("(it is not ready now)"), "{why}");
    }

    #[test]
    fn a_node_keeps_only_the_processes_its_kind_and_owner_permit() {
        let mut pool_node = node("p", X86_64, Ready, 2);
        pool_node.node_pool_id = Some("pool1".into());
        let now = chrono::Utc::now();
        let mut p = Process {
            state: ProcessState::Running,
            running_node_id: Some("id-p".into()),
            config_revision: 1,
            created: now,
            updated: now,
            revision: 1,
            ..Process::blank("p1", "sensor", "", "sensor", "1.0.0")
        };
        p.user_id = "alice".into();
        p.placement = Placement::Automatic;
        assert!(permits(&pool_node, &p));
        p.placement = Placement::NodePool { pool_id: "pool2".into() };
        assert!(!permits(&pool_node, &p));
        let mut private = pool_node.clone();
        private.kind = NodeKind::Private;
        private.user_id = Some("bob".into());
        p.placement = Placement::Automatic;
        assert!(!permits(&private, &p), "bob's node does not take alice's process");
        private.user_id = Some("alice".into());
        assert!(permits(&private, &p));
        private.kind = NodeKind::Unidentified;
        assert!(!permits(&private, &p));
    }
}
