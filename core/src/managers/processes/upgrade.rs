//! Upgrading a process: another version of its service (or other limits), keeping its state and
//! its connections. It is a move whose relocation step also changes what the process runs:
//! suspend (state handed over), relocate (its record now names the new version, image and
//! interfaces), resume with the state; then each of its connections is renegotiated.

use super::*;

impl ProcessManager {
    /// Upgrade a process (see [`ProcessUpgrade`]). Everything is checked before anything
    /// happens: the version and its image for the node, the parameters against the new version,
    /// the limits, the placement, and that every connection keeps a fitting version pair.
    pub async fn upgrade(&self, caller: &Caller, id: &str, request: ProcessUpgrade) -> Result<Process> {
        let record = self.record_for(caller, id).await?;
        check_revision(&record.process, request.revision)?;
        let p = record.process.clone();
        if p.state == ProcessState::Terminated {
            return Err(Error::Conflict("this process is being deleted".into()));
        }
        if record.moving_to.is_some() || self.0.engine.has_open(id, ChangeKind::MoveProcess).await? {
            return Err(Error::Conflict(format!("process '{}' is being moved or upgraded already", p.name)));
        }
        let prepared = self.prepare_upgrade(&p, &request).await?;
        let interfaces = prepared.upgrade.as_ref().map(|u| u.interfaces.clone()).unwrap_or_default();
        let unfit = match self.0.hooks.get() {
            Some(h) => h.unfit_after_upgrade(&p, &interfaces).await?,
            None => Vec::new(),
        };
        if !unfit.is_empty() {
            if !request.drop_connections {
                let why: Vec<&str> = unfit.iter().map(|(_, why)| why.as_str()).collect();
                return Err(Error::Conflict(format!(
                    "process '{}' cannot be upgraded to version {} without losing connections: {} (ask to drop them to \
                     go ahead)",
                    p.name,
                    request.service_version,
                    why.join("; ")
                )));
            }
            if let Some(h) = self.0.hooks.get() {
                let ids: Vec<String> = unfit.into_iter().map(|(id, _)| id).collect();
                h.drop_connections(&ids, &format!("dropped to upgrade '{}' to {}", p.name, request.service_version))
                    .await?;
            }
        }
        self.start_move(record, prepared).await
    }

    /// Check an upgrade of `p` and work out where it goes and what it runs there.
    pub(crate) async fn prepare_upgrade(&self, p: &Process, request: &ProcessUpgrade) -> Result<MoveTarget> {
        let version = request.service_version.trim();
        if version.is_empty() {
            return Err(Error::invalid("service_version", "choose a version"));
        }
        let service = match self.0.services.get(&p.service_id, Some(version)).await {
            Ok(s) => s,
            Err(Error::NotFound(m)) => return Err(Error::invalid("service_version", m)),
            Err(e) => return Err(e),
        };
        if service.digests.is_empty() {
            return Err(Error::invalid(
                "service_version",
                format!("version {} of {} has no image Switchyard can run", service.version, service.id),
            ));
        }
        let given_params: std::collections::BTreeMap<String, String> = match &request.parameters {
            Some(given) => given.clone(),
            None => p.parameters.iter().map(|e| (e.key.clone(), e.value.clone())).collect(),
        };
        let parameters = validate::parameters(&service.parameters, &given_params)?;
        let environment = match &request.environment {
            Some(e) => validate::environment(e)?,
            None => p.environment.clone(),
        };
        let limits = match &request.limits {
            Some(l) => self.check_limits(l.clone())?,
            None => p.limits.clone(),
        };
        let same = service.version == p.service_version
            && limits == p.limits
            && parameters == p.parameters
            && environment == p.environment
            && request.placement.as_ref().is_none_or(|pl| pl == &p.placement);
        if same {
            return Err(Error::Conflict(format!(
                "process '{}' runs version {} with these settings already",
                p.name, p.service_version
            )));
        }
        let owner: User = self.0.store.fetch::<UserRecord>(&p.user_id).await?.user;
        let placement = request.placement.clone().unwrap_or_else(|| p.placement.clone());
        // Where it runs now, if that node still fits (its architecture has an image, its
        // limits fit); elsewhere in its placement otherwise.
        let (node, reason) = match self.place(&owner, &placement, &service, &limits, None).await {
            Ok(found) => {
                let here = match p.running_node_id.as_deref() {
                    Some(n) if request.placement.is_none() => {
                        self.0.store.get::<Node>(n).await?.filter(|n| service.digests.contains_key(&n.architecture))
                    }
                    _ => None,
                };
                match here {
                    Some(node) => {
                        let reason = p.placement_reason.clone().unwrap_or_else(|| found.1.clone());
                        (node, reason)
                    }
                    None => found,
                }
            }
            Err(e) => return Err(e),
        };
        let image = self.image_for(&service, &node);
        Ok(MoveTarget {
            node_id: node.id.clone(),
            node_name: node.name.clone(),
            placement,
            image,
            reason,
            upgrade: Some(UpgradeTarget {
                from_version: p.service_version.clone(),
                service_version: service.version.clone(),
                interfaces: service.interfaces.clone(),
                parameters,
                environment,
                limits,
            }),
        })
    }
}
