//! What Switchyard needs from the machine and the swarm, checked one by one with a fix for each:
//! `switchyard doctor` prints them (exit code 1 when one fails) and `/readyz` answers with them.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use serde::Serialize;
use switchyard_core::{
    connectors::{docker::DockerConnector, registry::RegistryConnector},
    managers::Presence,
    store::Store,
};
use utoipa::ToSchema;

use crate::site::{Site, SITE_FIX};

/// One check: what was looked at, what was found, and what to do when it failed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Check {
    /// `docker`, `swarm`, `networks`, `registry`, `anchor`, `site`, `store`, `clock`, `disk`.
    pub name: &'static str,
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to do about it (failed checks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn new(name: &'static str, result: Result<String, String>, fix: impl Into<String>) -> Self {
        match result {
            Ok(detail) => Check { name, ok: true, detail, fix: None },
            Err(detail) => Check { name, ok: false, detail, fix: Some(fix.into()) },
        }
    }
}

/// How the store is reached: the server's open store, or its location (the command line opens
/// it, unless the running server holds it).
#[derive(Clone)]
pub enum StoreAccess {
    Open(Store),
    Location(String),
}

/// Everything the checks look at.
#[derive(Clone)]
pub struct Doctor {
    /// The Docker connector, or why there is none (a socket that is not there).
    pub docker: Result<DockerConnector, String>,
    pub docker_endpoint: String,
    pub registry: RegistryConnector,
    pub store: StoreAccess,
    pub site: Site,
    /// Which container joins users' networks (the anchor's image, or Switchyard's own container).
    pub presence: Presence,
    pub data_dir: PathBuf,
    pub min_free_disk_mib: u64,
    /// The last report and when it was made: `/readyz` makes a new one at most every few
    /// seconds (one check makes and removes a network).
    cached: Arc<tokio::sync::Mutex<Option<Report>>>,
}

/// A report and when it was made.
type Report = (std::time::Instant, Vec<Check>);

/// The most the daemon's clock may differ from this machine's.
const MAX_SKEW: Duration = Duration::from_secs(30);
/// How long `/readyz` reuses a report.
const REUSE: Duration = Duration::from_secs(5);

impl Doctor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        docker: Result<DockerConnector, String>,
        docker_endpoint: String,
        registry: RegistryConnector,
        store: StoreAccess,
        site: Site,
        presence: Presence,
        data_dir: PathBuf,
        min_free_disk_mib: u64,
    ) -> Self {
        Doctor {
            docker,
            docker_endpoint,
            registry,
            store,
            site,
            presence,
            data_dir,
            min_free_disk_mib,
            cached: Default::default(),
        }
    }

    /// The report, made anew at most every few seconds.
    pub async fn report(&self) -> Vec<Check> {
        let mut cached = self.cached.lock().await;
        if let Some((at, checks)) = cached.as_ref() {
            if at.elapsed() < REUSE {
                return checks.clone();
            }
        }
        let checks = self.run().await;
        *cached = Some((std::time::Instant::now(), checks.clone()));
        checks
    }

    /// Every check, in order.
    pub async fn run(&self) -> Vec<Check> {
        let endpoint = self.docker_endpoint.clone();
        let info = match &self.docker {
            Ok(docker) => docker.daemon_info().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        let mut checks = vec![Check::new(
            "docker",
            info.as_ref().map(|i| format!("Docker {} answers at {endpoint}", i.version)).map_err(String::clone),
            "start dockerd (`systemctl start docker`), or point SWITCHYARD_DOCKER_HOST (or DOCKER_HOST) at a swarm \
             manager's Engine API",
        )];
        let manager = matches!(&info, Ok(i) if i.manager);
        checks.push(Check::new(
            "swarm",
            match &info {
                Ok(i) if i.manager => Ok("a swarm manager".into()),
                Ok(i) => Err(format!("Docker at {endpoint} is not a swarm manager (swarm: {})", i.swarm_state)),
                Err(_) => Err("not checked: Docker does not answer".into()),
            },
            "`docker swarm init` on this machine, or point SWITCHYARD_DOCKER_HOST at a manager of the swarm",
        ));
        checks.push(Check::new(
            "networks",
            if let (true, Ok(docker)) = (manager, &self.docker) {
                docker
                    .probe_network()
                    .await
                    .map(|subnet| format!("an attachable overlay network can be made ({subnet})"))
                    .map_err(|e| e.to_string())
            } else {
                Err("not checked: no swarm manager".into())
            },
            "users' networks are attachable overlays with a subnet from SWITCHYARD_NETWORK_POOL: remove networks \
             nobody uses (`docker network prune`), or give a wider pool or a smaller SWITCHYARD_NETWORK_PREFIX",
        ));
        let catalogue = self.registry.service_ids().await;
        checks.push(Check::new(
            "registry",
            catalogue
                .as_ref()
                .map(|ids| format!("{} services in the catalogue of {}", ids.len(), self.registry.image_host()))
                .map_err(|e| e.to_string()),
            "start the registry (scripts/start does), or set SWITCHYARD_REGISTRY_URL and, if it asks for them, \
             its credentials",
        ));
        checks.push(Check::new(
            "anchor",
            self.anchor().await,
            match self.presence.own_container {
                None => {
                    "build and push it with scripts/images, or set SWITCHYARD_ANCHOR_IMAGE to an image every manager \
                     can pull"
                }
                Some(_) => {
                    "set SWITCHYARD_CONTAINER to this container's name (deploy/switchyard.yml sets {{.Task.Name}}), \
                     or unset it when Switchyard runs on the host; the anchor image (SWITCHYARD_ANCHOR_IMAGE) holds \
                     users' networks on this manager: push it with scripts/images"
                }
            },
        ));
        checks.push(Check::new("site", self.site.check(), SITE_FIX));
        checks.push(Check::new(
            "store",
            self.store().await,
            "give Switchyard a data directory it can write (SWITCHYARD_DATA_DIR), or a reachable MongoDB \
             (SWITCHYARD_DATABASE_URL); restore a backup with `switchyard restore` if the file is damaged",
        ));
        checks.push(Check::new(
            "clock",
            match &info {
                Ok(i) => clock(chrono::Utc::now(), i.system_time),
                Err(_) => Err("not checked: Docker does not answer".into()),
            },
            "synchronise the clocks (systemd-timesyncd or chrony): sessions, API tokens and the pending changes' \
             retry times depend on them",
        ));
        let mut dirs = vec![self.data_dir.clone()];
        if endpoint.starts_with("unix://") {
            dirs.extend(info.as_ref().ok().and_then(|i| i.root_dir.clone()).map(PathBuf::from));
        }
        checks.push(Check::new(
            "disk",
            disk(&dirs, self.min_free_disk_mib),
            "free space there (old images: `docker image prune`; old logs), or lower SWITCHYARD_MIN_FREE_DISK_MIB",
        ));
        checks
    }

    async fn anchor(&self) -> Result<String, String> {
        let Ok(docker) = &self.docker else { return Err("not checked: Docker does not answer".into()) };
        let image = &self.presence.anchor_image;
        let own = match &self.presence.own_container {
            Some(name) => match docker.container_networks(name).await {
                Ok(_) => format!("Switchyard's own container {name} joins users' networks; "),
                Err(e) => return Err(format!("Switchyard's own container (SWITCHYARD_CONTAINER={name}): {e}")),
            },
            None => String::new(),
        };
        let image_ok = |place: &str| Ok(format!("{own}{image} is {place}"));
        match docker.image_present(image).await {
            Ok(true) => return image_ok("on this manager"),
            Ok(false) => {}
            Err(e) => return Err(e.to_string()),
        }
        match self.registry.has_image(image).await {
            Some(Ok(true)) => image_ok("in the registry"),
            Some(Ok(false)) => Err(format!("{image} is neither on this manager nor in the registry")),
            Some(Err(e)) => Err(format!("{image} is not on this manager, and the registry: {e}")),
            None => Err(format!("{image} is not on this manager (it names another registry, which is not checked)")),
        }
    }

    async fn store(&self) -> Result<String, String> {
        match &self.store {
            StoreAccess::Open(store) => {
                store.ping().await.map(|_| format!("the {} store answers", store.kind())).map_err(|e| e.to_string())
            }
            StoreAccess::Location(location) if !location.contains("://") && !store_file(location).exists() => {
                // Not made yet: made on the first start, where the directory can be written.
                let dir = nearest_existing(Path::new(location));
                let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
                // SAFETY: a valid NUL-terminated path.
                if dir.is_dir() && unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0 {
                    Ok(format!("no store at {location} yet: the first start makes it"))
                } else {
                    Err(format!("no store at {location}, and {} cannot be written to make one", dir.display()))
                }
            }
            StoreAccess::Location(location) => match Store::open(location).await {
                Ok(store) => store
                    .ping()
                    .await
                    .map(|_| format!("the {} store at {location} opens and answers", store.kind()))
                    .map_err(|e| e.to_string()),
                Err(e) if crate::ops::store_in_use(&e) => {
                    Ok(format!("the store at {location} is held by a running Switchyard (its /readyz checks it)"))
                }
                Err(e) => Err(format!("cannot open the store at {location}: {e}")),
            },
        }
    }
}

/// The embedded store's file in data directory `location`.
fn store_file(location: &str) -> PathBuf {
    PathBuf::from(location).join(switchyard_core::store::embedded::STORE_FILE)
}

/// The daemon's clock against this machine's.
fn clock(now: chrono::DateTime<chrono::Utc>, daemon: Option<chrono::DateTime<chrono::Utc>>) -> Result<String, String> {
    if now.timestamp() < 1_704_067_200 {
        return Err(format!("this machine's clock says {now}, before 2024"));
    }
    let Some(daemon) = daemon else { return Ok(format!("{now} (the daemon does not say its time)")) };
    let skew = (now - daemon).abs();
    let skew_s = skew.num_milliseconds() as f64 / 1000.0;
    if skew.to_std().unwrap_or(Duration::MAX) > MAX_SKEW {
        Err(format!("this machine says {now}, Docker says {daemon}: {skew_s:.0} s apart"))
    } else {
        Ok(format!("{now}, within {skew_s:.1} s of Docker's"))
    }
}

/// Free space where the data and Docker's images live.
fn disk(dirs: &[PathBuf], min_mib: u64) -> Result<String, String> {
    let mut seen = Vec::new();
    for dir in dirs {
        // The nearest directory that exists (the data directory is made at first start).
        let at = nearest_existing(dir);
        let at = at.as_path();
        let free = free_mib(at).map_err(|e| format!("cannot read the free space of {}: {e}", at.display()))?;
        if free < min_mib {
            return Err(format!("{} has {free} MiB free (less than {min_mib} MiB)", dir.display()));
        }
        seen.push(format!("{} {} MiB free", dir.display(), free));
    }
    Ok(seen.join(", "))
}

/// `path`, or its nearest ancestor that exists (`.` when none does).
fn nearest_existing(path: &Path) -> PathBuf {
    path.ancestors().find(|p| !p.as_os_str().is_empty() && p.exists()).unwrap_or(Path::new(".")).to_path_buf()
}

fn free_mib(path: &std::path::Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: `c` is a valid NUL-terminated path and `stat` a zeroed statvfs the call fills.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut stat) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64) / (1024 * 1024))
}

/// The report as `switchyard doctor` prints it.
pub fn print(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!("{:<4}  {:<9} {}\n", if c.ok { "ok" } else { "FAIL" }, c.name, c.detail));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("{:15} fix: {fix}\n", ""));
        }
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    if failed == 0 {
        out.push_str("all checks passed\n");
    } else {
        out.push_str(&format!("{failed} of {} checks failed\n", checks.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_clock_fails_when_it_is_off_or_far_from_dockers() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap();
        assert!(clock(now, Some(now + chrono::Duration::seconds(3))).is_ok());
        let e = clock(now, Some(now - chrono::Duration::seconds(300))).unwrap_err();
        assert!(e.contains("300 s apart"), "{e}");
        let e = clock(chrono::Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap(), None).unwrap_err();
        assert!(e.contains("before 2024"), "{e}");
        assert!(clock(now, None).is_ok());
    }

    #[test]
    fn the_disk_fails_below_the_minimum_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_mib(dir.path()).unwrap();
        assert!(disk(&[dir.path().to_path_buf()], 1).is_ok());
        let e = disk(&[dir.path().join("not/made/yet")], free + 1_000_000).unwrap_err();
        assert!(e.contains("not/made/yet") && e.contains("MiB free"), "{e}");
    }

    #[test]
    fn the_printed_report_names_each_failure_with_its_fix() {
        let checks = vec![
            Check::new("docker", Ok("Docker 20.10 answers".into()), "x"),
            Check::new("registry", Err("the registry at h cannot be reached".into()), "start it"),
        ];
        let text = print(&checks);
        assert!(text.contains("ok    docker"), "{text}");
        assert!(text.contains("FAIL  registry") && text.contains("fix: start it"), "{text}");
        assert!(text.ends_with("1 of 2 checks failed\n"), "{text}");
    }
}
