//! From a document to a plan. First every problem with the document itself, each at its path
//! (all of them at once); then, against the network as it is, the steps that would make it what
//! the document says, each checked as the real operation would check it.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;

use super::*;
use crate::model::{
    choose_versions, process_changes, Interface, PlanStep, PlanSummary, Problem, ProcessUpgrade, ResourceLimits,
    Service, StepAction,
};

/// A process of the document, resolved: its service version and its settings as stored.
struct Wanted {
    index: usize,
    service: Service,
    /// As `spec`, with the version resolved and the parameters, environment and limits as
    /// Switchyard would store them (defaults filled in, caps applied).
    normal: ProcessSpec,
    placement: Option<Placement>,
}

impl NetworkManager {
    /// Plan a document: what Switchyard would do to make the network what it says. Nothing
    /// changes. A document with problems is refused with all of them; a step the network does
    /// not allow now (a placement, an upgrade that would lose a connection) is in the plan with
    /// its refusal, and the plan cannot be applied.
    pub async fn plan(&self, caller: &Caller, doc: NetworkDocument) -> Result<Plan> {
        self.plan_restoring(caller, doc, None).await
    }

    pub(super) async fn plan_restoring(
        &self,
        caller: &Caller,
        doc: NetworkDocument,
        restores: Option<String>,
    ) -> Result<Plan> {
        let owner = self.owner(caller, doc.user.as_deref()).await?;
        let current = self.current(&owner).await?;
        let mut problems = Vec::new();
        let mut problem = |path: String, message: String| problems.push(Problem { path, message });

        if doc.version != crate::model::DOCUMENT_VERSION {
            problem("version".into(), format!("version {} is not known; this Switchyard reads version 1", doc.version));
        }

        // The processes as they are, by name.
        let mut by_name: HashMap<&str, Vec<&Process>> = HashMap::new();
        for p in &current.processes {
            by_name.entry(p.name.as_str()).or_default().push(p);
        }
        let catalogue = self.catalogue_ids().await?;

        // Each process of the document.
        let mut wanted: Vec<Wanted> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, spec) in doc.processes.iter().enumerate() {
            let at = |field: &str| format!("processes[{i}].{field}");
            let name = spec.name.trim();
            if let Err(e) = validate::process_name(&spec.name) {
                problem(at("name"), e.to_string());
                continue;
            }
            if let Some(first) = seen.insert(name, i) {
                problem(at("name"), format!("'{name}' is the name of processes[{first}] already; names are unique"));
                continue;
            }
            let existing = match by_name.get(name).map(Vec::as_slice) {
                Some([one]) => Some(*one),
                Some(many) if many.len() > 1 => {
                    problem(
                        at("name"),
                        format!(
                            "{} of your processes are named '{name}', so the document cannot tell which it means: \
                             rename all but one first",
                            many.len()
                        ),
                    );
                    continue;
                }
                _ => None,
            };
            if spec.service.trim().is_empty() {
                problem(at("service"), "choose a service".into());
                continue;
            }
            if let Some(p) = existing {
                if p.service_id != spec.service {
                    problem(
                        at("service"),
                        format!(
                            "process '{name}' runs service '{}'; a process cannot change its service (give the new one \
                             another name)",
                            p.service_id
                        ),
                    );
                    continue;
                }
            }
            if !catalogue.iter().any(|s| s == &spec.service) {
                let hint = super::did_you_mean(&spec.service, catalogue.iter().map(String::as_str));
                problem(at("service"), format!("unknown service '{}'{hint}", spec.service));
                continue;
            }
            // Absent: what an existing process runs, the newest for a new one.
            let version = spec.version.clone().or_else(|| existing.map(|p| p.service_version.clone()));
            let service = match self.0.services.get(&spec.service, version.as_deref()).await {
                Ok(s) => s,
                Err(Error::NotFound(_)) => {
                    let versions: Vec<String> = self
                        .0
                        .services
                        .versions(&spec.service)
                        .await
                        .map(|v| v.into_iter().map(|s| s.version).collect())
                        .unwrap_or_default();
                    let v = version.unwrap_or_default();
                    problem(
                        at("version"),
                        format!(
                            "service '{}' has no version '{v}'{}; it has {}",
                            spec.service,
                            super::did_you_mean(&v, versions.iter().map(String::as_str)),
                            versions.join(", ")
                        ),
                    );
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut ok = true;
            let parameters = match validate::parameters(&service.parameters, &spec.parameters) {
                Ok(p) => p,
                Err(e) => {
                    problem(at(e.field().unwrap_or("parameters")), e.to_string());
                    ok = false;
                    Vec::new()
                }
            };
            let environment = match validate::environment(&spec.environment) {
                Ok(e) => e,
                Err(e) => {
                    problem(at(e.field().unwrap_or("environment")), e.to_string());
                    ok = false;
                    Vec::new()
                }
            };
            let limits = match self.0.processes.check_limits(spec.limits.clone()) {
                Ok(l) => l,
                Err(e) => {
                    problem(at(e.field().unwrap_or("limits")), e.to_string());
                    ok = false;
                    ResourceLimits::default()
                }
            };
            let placement = match self.resolve_placement(&owner, &current.nodes, &current.pools, &spec.placement) {
                Ok(p) => Some(p),
                Err(message) => {
                    problem(at("placement"), message);
                    ok = false;
                    None
                }
            };
            if !ok {
                continue;
            }
            let normal = ProcessSpec {
                name: name.to_string(),
                service: service.id.clone(),
                version: Some(service.version.clone()),
                parameters: parameters.into_iter().map(|e| (e.key, e.value)).collect(),
                environment: environment.into_iter().map(|e| (e.key, e.value)).collect(),
                placement: spec.placement.clone(),
                limits,
                move_on_failure: spec.move_on_failure,
            };
            wanted.push(Wanted { index: i, service, normal, placement });
        }
        let wanted_by_name: HashMap<&str, &Wanted> = wanted.iter().map(|w| (w.normal.name.as_str(), w)).collect();
        let doc_names: BTreeSet<&str> = doc.processes.iter().map(|p| p.name.trim()).collect();

        // Each connection of the document.
        let mut wanted_connections: Vec<(usize, ConnectionSpec)> = Vec::new();
        let mut keys = HashMap::new();
        let mut uses: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (j, c) in doc.connections.iter().enumerate() {
            let at = |field: &str| format!("connections[{j}].{field}");
            if c.endpoints.len() != 2 {
                problem(at("endpoints"), format!("a connection has two endpoints, not {}", c.endpoints.len()));
                continue;
            }
            let mut ifaces: Vec<Interface> = Vec::new();
            for (k, e) in c.endpoints.iter().enumerate() {
                let at = |field: &str| format!("connections[{j}].endpoints[{k}].{field}");
                let Some(w) = wanted_by_name.get(e.process.trim()) else {
                    if !doc_names.contains(e.process.trim()) {
                        let hint = super::did_you_mean(&e.process, doc_names.iter().copied());
                        problem(at("process"), format!("no process named '{}' in the document{hint}", e.process));
                    }
                    // (A process of the document with problems of its own: those are reported.)
                    continue;
                };
                match w.service.interfaces.iter().find(|i| i.id == e.interface) {
                    Some(i) => ifaces.push(i.clone()),
                    None => {
                        let known: Vec<&str> = w.service.interfaces.iter().map(|i| i.id.as_str()).collect();
                        let message = if known.is_empty() {
                            format!(
                                "service {} {} has no interfaces, so none named '{}'",
                                w.service.id, w.service.version, e.interface
                            )
                        } else {
                            format!(
                                "service {} {} has no interface '{}'{}; it has {}",
                                w.service.id,
                                w.service.version,
                                e.interface,
                                super::did_you_mean(&e.interface, known.iter().copied()),
                                known.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ")
                            )
                        };
                        problem(at("interface"), message);
                    }
                }
            }
            if ifaces.len() != 2 {
                continue;
            }
            let (a, b) = (&c.endpoints[0], &c.endpoints[1]);
            if a.process.trim() == b.process.trim() {
                problem(at("endpoints"), format!("process '{}' cannot be connected to itself", a.process));
                continue;
            }
            if choose_versions(&ifaces[0], &ifaces[1]).is_none() {
                problem(
                    at("endpoints"),
                    format!(
                        "interface '{}' of '{}' and interface '{}' of '{}' do not fit: no version of one sends what a \
                         version of the other receives and receives what it sends",
                        ifaces[0].name, a.process, ifaces[1].name, b.process
                    ),
                );
                continue;
            }
            let mut c = c.clone();
            for e in &mut c.endpoints {
                e.process = e.process.trim().to_string();
            }
            if let Some(first) = keys.insert(c.key(), j) {
                problem(at("endpoints"), format!("connections[{first}] connects these two interfaces already"));
                continue;
            }
            for (e, iface) in c.endpoints.iter().zip(&ifaces) {
                let list = uses.entry((e.process.clone(), e.interface.clone())).or_default();
                list.push(j);
                if !iface.allow_multiple && list.len() == 2 {
                    problem(
                        at("endpoints"),
                        format!(
                            "interface '{}' of '{}' allows only one connection; connections[{}] uses it already",
                            iface.name, e.process, list[0]
                        ),
                    );
                }
            }
            wanted_connections.push((j, c));
        }
        if !problems.is_empty() {
            return Err(Error::InvalidDocument(problems));
        }

        // The network as it is, in the document's scope.
        let in_scope: Vec<&Process> = current
            .processes
            .iter()
            .filter(|p| doc.scope == Scope::Network || doc_names.contains(p.name.as_str()))
            .collect();
        let base = current.document(&in_scope, doc.scope);
        let existing = |name: &str| -> Option<&Process> { in_scope.iter().copied().find(|p| p.name == name) };

        let mut steps: Vec<PlanStep> = Vec::new();
        let push = |steps: &mut Vec<PlanStep>, mut step: PlanStep| -> usize {
            step.index = steps.len();
            steps.push(step);
            steps.len() - 1
        };
        let step = |action: StepAction, subject: &str, description: String| PlanStep {
            index: 0,
            action,
            subject: subject.to_string(),
            connection: None,
            resource_id: None,
            description,
            changes: vec![],
            depends_on: vec![],
            refusal: None,
        };

        // Connections that go: first.
        let wanted_keys: BTreeSet<(EndpointSpec, EndpointSpec)> =
            wanted_connections.iter().map(|(_, c)| c.key()).collect();
        let names: HashMap<&str, &str> = in_scope.iter().map(|p| (p.id.as_str(), p.name.as_str())).collect();
        let mut removals: HashMap<String, Vec<usize>> = HashMap::new(); // process id → steps
        let mut kept_connections: Vec<&crate::model::Connection> = Vec::new();
        for c in &current.connections {
            let (Some(a), Some(b)) =
                (names.get(c.endpoint1.process_id.as_str()), names.get(c.endpoint2.process_id.as_str()))
            else {
                // A connection to a process outside a listed document's scope is not the
                // document's (it ends with its process, if that goes).
                continue;
            };
            let spec = ConnectionSpec {
                endpoints: vec![
                    EndpointSpec { process: a.to_string(), interface: c.endpoint1.interface_id.clone() },
                    EndpointSpec { process: b.to_string(), interface: c.endpoint2.interface_id.clone() },
                ],
            };
            if wanted_keys.contains(&spec.key()) {
                kept_connections.push(c);
                continue;
            }
            let label = spec.label();
            let mut s = step(StepAction::RemoveConnection, &label, format!("Disconnect {label}"));
            s.connection = Some(spec);
            s.resource_id = Some(c.id.clone());
            let index = push(&mut steps, s);
            removals.entry(c.endpoint1.process_id.clone()).or_default().push(index);
            removals.entry(c.endpoint2.process_id.clone()).or_default().push(index);
        }

        // Processes that go.
        for p in &in_scope {
            if wanted_by_name.contains_key(p.name.as_str()) {
                continue;
            }
            let mut s = step(
                StepAction::TerminateProcess,
                &p.name,
                format!("Terminate process '{}' ({} {})", p.name, p.service_id, p.service_version),
            );
            s.resource_id = Some(p.id.clone());
            s.depends_on = removals.get(&p.id).cloned().unwrap_or_default();
            push(&mut steps, s);
        }

        // Processes that stay or come, in the document's order.
        let mut process_step: HashMap<&str, usize> = HashMap::new();
        let mut upgraded: HashMap<&str, &Service> = HashMap::new();
        for w in &wanted {
            let name = w.normal.name.as_str();
            let Some(p) = existing(name) else {
                let mut s = step(
                    StepAction::CreateProcess,
                    name,
                    format!("Deploy '{name}' ({} {}) on {}", w.service.id, w.service.version, w.normal.placement),
                );
                s.changes = process_changes(&ProcessSpec::default(), &w.normal)
                    .into_iter()
                    .filter(|c| c.after.as_deref().is_some_and(|a| a != "0" && a != "false"))
                    .collect();
                if let Some(placement) = &w.placement {
                    if let Err(e) = self.0.processes.place(&owner, placement, &w.service, &w.normal.limits, None).await
                    {
                        s.refusal = Some(e.to_string());
                    }
                }
                process_step.insert(name, push(&mut steps, s));
                continue;
            };
            let now = current.spec_of(p);
            let changes = process_changes(&now, &w.normal);
            let changed =
                |field: &str| changes.iter().any(|c| c.field == field || c.field.starts_with(&format!("{field}.")));
            let (action, description) = if changed("version") || changed("limits") {
                let what = if changed("version") {
                    format!(
                        "Upgrade '{name}' from version {} to {}, keeping its state",
                        p.service_version, w.service.version
                    )
                } else {
                    format!("Restart '{name}' with its new limits, keeping its state")
                };
                (StepAction::UpgradeProcess, what)
            } else if changed("placement") {
                (StepAction::MoveProcess, format!("Move '{name}' to {}, keeping its state", w.normal.placement))
            } else if !changes.is_empty() {
                (StepAction::UpdateProcess, format!("Reconfigure '{name}'"))
            } else {
                (StepAction::KeepProcess, format!("'{name}' stays as it is"))
            };
            let mut s = step(action, name, description);
            s.resource_id = Some(p.id.clone());
            s.changes = changes.clone();
            s.depends_on = removals.get(&p.id).cloned().unwrap_or_default();
            match action {
                StepAction::UpgradeProcess => {
                    let request = ProcessUpgrade {
                        service_version: w.service.version.clone(),
                        parameters: Some(w.normal.parameters.clone()),
                        environment: Some(w.normal.environment.clone()),
                        limits: Some(w.normal.limits.clone()),
                        placement: if changed("placement") { w.placement.clone() } else { None },
                        drop_connections: false,
                        revision: None,
                    };
                    if let Err(e) = self.0.processes.prepare_upgrade(p, &request).await {
                        s.refusal = Some(e.to_string());
                    }
                    upgraded.insert(name, &w.service);
                }
                StepAction::MoveProcess => {
                    if let Some(placement) = &w.placement {
                        let service = self.0.processes.service_of(p).await;
                        match service {
                            Ok(service) => {
                                if let Err(e) = self
                                    .0
                                    .processes
                                    .place(&owner, placement, &service, &p.limits, p.running_node_id.as_deref())
                                    .await
                                {
                                    s.refusal = Some(e.to_string());
                                }
                            }
                            Err(e) => s.refusal = Some(e.to_string()),
                        }
                    }
                }
                _ => {}
            }
            if action != StepAction::KeepProcess && matches!(p.state, ProcessState::Terminated) {
                s.refusal = Some(format!("process '{name}' is being deleted"));
            }
            if action != StepAction::KeepProcess && p.moving_to_node_id.is_some() {
                s.refusal = Some(format!("process '{name}' is being moved; plan again once it is done"));
            }
            process_step.insert(name, push(&mut steps, s));
        }

        // Connections that stay or come.
        let interfaces_of = |name: &str| -> Vec<Interface> {
            match (upgraded.get(name), existing(name), wanted_by_name.get(name)) {
                (Some(service), _, _) => service.interfaces.clone(),
                (None, Some(p), _) => p.interfaces.clone(),
                (None, None, Some(w)) => w.service.interfaces.clone(),
                _ => Vec::new(),
            }
        };
        for (j, c) in &wanted_connections {
            let label = c.label();
            let key = c.key();
            let (a, b) = (&c.endpoints[0], &c.endpoints[1]);
            let is_kept = kept_connections.iter().find(|k| {
                let names = (
                    names.get(k.endpoint1.process_id.as_str()).copied().unwrap_or_default(),
                    names.get(k.endpoint2.process_id.as_str()).copied().unwrap_or_default(),
                );
                let spec = ConnectionSpec {
                    endpoints: vec![
                        EndpointSpec { process: names.0.to_string(), interface: k.endpoint1.interface_id.clone() },
                        EndpointSpec { process: names.1.to_string(), interface: k.endpoint2.interface_id.clone() },
                    ],
                };
                spec.key() == key
            });
            let depends_on: Vec<usize> = [a, b]
                .iter()
                .filter_map(|e| process_step.get(e.process.as_str()).copied())
                .filter(|i| steps[*i].action != StepAction::KeepProcess)
                .collect();
            let mut s = match is_kept {
                Some(k) => {
                    let renegotiated =
                        upgraded.contains_key(a.process.as_str()) || upgraded.contains_key(b.process.as_str());
                    let mut s = step(
                        StepAction::KeepConnection,
                        &label,
                        if renegotiated {
                            format!("{label} stays, on the best version pair the two sides then share")
                        } else {
                            format!("{label} stays")
                        },
                    );
                    s.resource_id = Some(k.id.clone());
                    if renegotiated {
                        let (ia, ib) = (interfaces_of(&a.process), interfaces_of(&b.process));
                        let fit = ia
                            .iter()
                            .find(|i| i.id == a.interface)
                            .zip(ib.iter().find(|i| i.id == b.interface))
                            .and_then(|(x, y)| choose_versions(x, y));
                        if fit.is_none() {
                            s.refusal = Some(format!(
                                "after the upgrade, {label} would have no interface version the two sides share (\
                                 connections[{j}]); remove the connection from the document to drop it"
                            ));
                        }
                    }
                    s
                }
                None => step(StepAction::AddConnection, &label, format!("Connect {label}")),
            };
            s.connection = Some(c.clone());
            if s.action == StepAction::AddConnection {
                s.depends_on = depends_on;
                // Cardinality against what stays outside the document's scope.
                for e in &c.endpoints {
                    let Some(p) = existing(&e.process) else { continue };
                    let single = interfaces_of(&e.process).iter().any(|i| i.id == e.interface && !i.allow_multiple);
                    let outside = current.connections.iter().find(|k| {
                        k.uses(&p.id, &e.interface) && {
                            let other = if k.endpoint1.process_id == p.id { &k.endpoint2 } else { &k.endpoint1 };
                            !names.contains_key(other.process_id.as_str())
                        }
                    });
                    if let (true, Some(k)) = (single, outside) {
                        let other = if k.endpoint1.process_id == p.id { &k.endpoint2 } else { &k.endpoint1 };
                        s.refusal = Some(format!(
                            "interface '{}' of '{}' allows only one connection and has one already, to '{}' (outside \
                             this document)",
                            e.interface, e.process, other.process_name
                        ));
                    }
                }
            }
            push(&mut steps, s);
        }

        let mut summary = PlanSummary::default();
        for s in &steps {
            match s.action {
                StepAction::CreateProcess => summary.create += 1,
                StepAction::UpdateProcess => summary.update += 1,
                StepAction::MoveProcess => summary.move_ += 1,
                StepAction::UpgradeProcess => summary.upgrade += 1,
                StepAction::TerminateProcess => summary.terminate += 1,
                StepAction::AddConnection => summary.connect += 1,
                StepAction::RemoveConnection => summary.disconnect += 1,
                StepAction::KeepProcess | StepAction::KeepConnection => summary.unchanged += 1,
            }
        }
        // The revision keeps the document as Switchyard reads it (versions resolved, defaults
        // filled in, limits capped), so that two revisions differ only where the networks do.
        let mut document = doc.clone();
        for w in &wanted {
            document.processes[w.index] = w.normal.clone();
        }
        document.connections = wanted_connections.iter().map(|(_, c)| c.clone()).collect();
        if owner.id != caller.user.id {
            document.user = Some(owner.username.clone());
        }
        let plan = Plan {
            id: crate::store::new_id(),
            user_id: owner.id.clone(),
            username: owner.username.clone(),
            document,
            base,
            applicable: steps.iter().all(|s| s.refusal.is_none()),
            steps,
            problems: Vec::new(),
            summary,
            restores,
            created: Utc::now(),
            revision: 0,
        };
        self.forget_old_plans().await;
        self.0.store.insert(&plan).await
    }

    /// The ids of the services in the catalogue.
    async fn catalogue_ids(&self) -> Result<Vec<String>> {
        let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("id".into()) };
        let (page, _) = self.0.services.list(&params, None).await?;
        Ok(page.items.into_iter().map(|s| s.id).collect())
    }

    /// A document's placement by names, as the placement of a process.
    pub(super) fn resolve_placement(
        &self,
        owner: &User,
        nodes: &[Node],
        pools: &[NodePool],
        spec: &PlacementSpec,
    ) -> std::result::Result<Placement, String> {
        match spec {
            PlacementSpec::Automatic => Ok(Placement::Automatic),
            PlacementSpec::Node(name) => {
                let mine: Vec<&Node> = nodes
                    .iter()
                    .filter(|n| {
                        n.kind == crate::model::NodeKind::Private && n.user_id.as_deref() == Some(owner.id.as_str())
                    })
                    .collect();
                match mine.iter().find(|n| &n.name == name || &n.id == name) {
                    Some(n) => Ok(Placement::PrivateNode { node_id: n.id.clone() }),
                    None if mine.is_empty() => Err(format!(
                        "no private node named '{name}': {} has no private nodes (use a pool, or automatic)",
                        owner.username
                    )),
                    None => Err(format!(
                        "no private node of {} named '{name}'{}; there are {}",
                        owner.username,
                        super::did_you_mean(name, mine.iter().map(|n| n.name.as_str())),
                        mine.iter().map(|n| format!("'{}'", n.name)).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            PlacementSpec::Pool(name) => match pools.iter().find(|p| &p.name == name || &p.id == name) {
                Some(p) => Ok(Placement::NodePool { pool_id: p.id.clone() }),
                None => Err(format!(
                    "no node pool named '{name}'{}; there are {}",
                    super::did_you_mean(name, pools.iter().map(|p| p.name.as_str())),
                    if pools.is_empty() {
                        "none".to_string()
                    } else {
                        pools.iter().map(|p| format!("'{}'", p.name)).collect::<Vec<_>>().join(", ")
                    }
                )),
            },
        }
    }

    /// Plans are kept a day unless applied.
    async fn forget_old_plans(&self) {
        // Stored as chrono writes it (RFC 3339), which orders as text to well within a day.
        let cutoff = serde_json::to_value(Utc::now() - KEEP_PLANS).unwrap_or_default();
        if let Ok((old, _)) = self.0.store.list::<Plan>(&Query::all().lt("created", cutoff).page(0, 1000)).await {
            for p in old {
                let _ = self.0.store.delete::<Plan>(&p.id, None).await;
            }
        }
    }
}
