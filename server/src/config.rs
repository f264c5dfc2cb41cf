//! Configuration: every setting is a flag and an environment variable (`switchyard --help`).

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

#[derive(Clone, Debug, Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Switchyard: an orchestrator for networks of small interconnected services"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI and the REST API (what `switchyard` alone does).
    Serve,
    /// Write a consistent copy of the whole store to FILE (`-`: standard output). By default it
    /// asks the running server (an administrator's API token in SWITCHYARD_TOKEN), so the copy is
    /// taken while Switchyard runs; with --offline it reads the store itself, which needs the
    /// server stopped.
    Backup(BackupArgs),
    /// Load a backup into a new store: the data directory (or database) of the flags, which must
    /// hold no installation yet. Then start Switchyard on it: it finds its processes running.
    Restore(RestoreArgs),
    /// Write a network as a document (YAML or JSON), from a running server (SWITCHYARD_URL,
    /// SWITCHYARD_TOKEN).
    Export(crate::cli::ExportArgs),
    /// Show what applying a network document would do. Exit code 0: nothing to change; 2:
    /// changes; 1: problems, refusals or errors.
    Plan(crate::cli::PlanArgs),
    /// Plan a network document, ask, and apply it, following the deployment to its end. Exit
    /// code 0: applied or nothing to change; 3: the deployment failed; 1: anything else.
    Apply(crate::cli::ApplyArgs),
    /// Check what Switchyard needs (Docker and the swarm, networks, the registry, the anchor
    /// image, the site files, the store, the clock, free disk) and print each with a fix. Exit
    /// code 1 when a check fails. `/readyz` answers with the same checks.
    Doctor,
    /// Exit 0 when the server of these settings (SWITCHYARD_LISTEN) answers `/healthz`: the
    /// container's health check (its image has no shell and no curl).
    Health,
    /// Print the UI's server functions (method and path), one per line: the authorization tests
    /// check that each has an entry.
    #[command(hide = true)]
    ServerFunctions,
}

#[derive(Clone, Debug, Args)]
pub struct BackupArgs {
    /// Where to write the backup (`-` for standard output).
    pub file: PathBuf,
    /// The running server to ask.
    #[arg(long, env = "SWITCHYARD_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An administrator's API token.
    #[arg(long, env = "SWITCHYARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the store of --data-dir / --database-url directly (Switchyard must be stopped).
    #[arg(long)]
    pub offline: bool,
}

#[derive(Clone, Debug, Args)]
pub struct RestoreArgs {
    /// The backup to load (`-` for standard input).
    pub file: PathBuf,
}

#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Address and port to serve the web UI and the REST API on.
    #[arg(long, env = "SWITCHYARD_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// Directory of the embedded store (used unless --database-url is given).
    #[arg(long, env = "SWITCHYARD_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// A mongodb:// URL to keep the data in MongoDB instead of the embedded store.
    #[arg(long, env = "SWITCHYARD_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Password of the first administrator, `admin`, created on the first start. When unset, one
    /// is generated, printed once and written to <data dir>/initial-admin-password.
    #[arg(long, env = "SWITCHYARD_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// The Docker registry that holds the services.
    #[arg(long, env = "SWITCHYARD_REGISTRY_URL", default_value = "http://127.0.0.1:5000")]
    pub registry_url: String,

    /// Repository prefix under which the registry holds services.
    #[arg(long, env = "SWITCHYARD_REGISTRY_PREFIX", default_value = "services/")]
    pub registry_prefix: String,

    /// User name for the registry (basic auth), with SWITCHYARD_REGISTRY_PASSWORD.
    #[arg(long, env = "SWITCHYARD_REGISTRY_USERNAME")]
    pub registry_username: Option<String>,

    #[arg(long, env = "SWITCHYARD_REGISTRY_PASSWORD", hide_env_values = true)]
    pub registry_password: Option<String>,

    /// A bearer token for the registry, instead of a user name and password.
    #[arg(long, env = "SWITCHYARD_REGISTRY_TOKEN", hide_env_values = true)]
    pub registry_token: Option<String>,

    /// The Docker Engine API of a swarm manager (unix://, tcp:// or http://). Defaults to
    /// DOCKER_HOST, else the local socket.
    #[arg(long, env = "SWITCHYARD_DOCKER_HOST")]
    pub docker_host: Option<String>,

    /// The address range users' overlay networks are cut from (empty: Docker's default pool,
    /// whose /24 networks hold at most about 250 processes).
    #[arg(long, env = "SWITCHYARD_NETWORK_POOL", default_value = "10.240.0.0/12")]
    pub network_pool: String,

    /// The size of each user's network, as a prefix length: /20 holds about 4 000 processes.
    #[arg(long, env = "SWITCHYARD_NETWORK_PREFIX", default_value_t = 20)]
    pub network_prefix: u8,

    /// Log out a session after this many seconds without a request.
    #[arg(long, env = "SWITCHYARD_SESSION_IDLE_SECS", default_value_t = 8 * 3600)]
    pub session_idle_secs: u64,

    /// A connection that stays INTERRUPTED this long raises an alert.
    #[arg(long, env = "SWITCHYARD_ALERT_INTERRUPTED_SECS", default_value_t = 60)]
    pub alert_interrupted_secs: u64,

    /// How many days the audit trail keeps an entry.
    #[arg(long, env = "SWITCHYARD_AUDIT_RETENTION_DAYS", default_value_t = 90)]
    pub audit_retention_days: u64,

    /// A bearer token that may read `/metrics` (for Prometheus); administrators may read it with
    /// their session or API token either way.
    #[arg(long, env = "SWITCHYARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// How often an open event stream (`/api/v1/events`) checks that its session or token is
    /// still valid, and sends a keep-alive.
    #[arg(long, env = "SWITCHYARD_EVENT_RECHECK_SECS", default_value_t = 15)]
    pub event_recheck_secs: u64,

    /// The URL people open Switchyard at. When it is https://, cookies are marked Secure.
    #[arg(long, env = "SWITCHYARD_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Where the built site (WASM, JS, CSS) is; the release build (`cargo xtask build`) puts it in target/site.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,

    /// Less free disk than this, in MiB, where the data or Docker's images are fails the `disk`
    /// check of `switchyard doctor` and `/readyz`.
    #[arg(long, env = "SWITCHYARD_MIN_FREE_DISK_MIB", default_value_t = 1024)]
    pub min_free_disk_mib: u64,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "SWITCHYARD_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// The image of the anchor container that joins every user network as `orchestrator`
    /// (Switchyard opens its management connections inside it). Default:
    /// <registry host>/switchyard/anchor:latest, pushed there by scripts/images.
    #[arg(long, env = "SWITCHYARD_ANCHOR_IMAGE")]
    pub anchor_image: Option<String>,

    /// Switchyard runs in this container (its name or id; deploy/switchyard.yml sets
    /// `{{.Task.Name}}`): the container itself joins every user network as `orchestrator`, so no
    /// anchor is run and no root on the host is needed. Unset: Switchyard runs on the host and
    /// keeps an anchor container.
    #[arg(long, env = "SWITCHYARD_CONTAINER")]
    pub container: Option<String>,

    /// A name for this installation, put on every Docker object it makes so it only ever touches
    /// its own (default: a random id made on the first start and kept in the store).
    #[arg(long, env = "SWITCHYARD_INSTANCE_ID")]
    pub instance_id: Option<String>,

    /// The most memory any one process may have, in bytes (0: no cap). A process that asks for
    /// no limit gets this one.
    #[arg(long, env = "SWITCHYARD_MAX_PROCESS_MEMORY", default_value_t = 0)]
    pub max_process_memory: u64,

    /// The most CPU any one process may have, in billionths of a core (0: no cap).
    #[arg(long, env = "SWITCHYARD_MAX_PROCESS_NANO_CPUS", default_value_t = 0)]
    pub max_process_nano_cpus: u64,

    /// How long a worker's claim on a pending change lasts without renewal; a change whose worker
    /// died is taken up again after this.
    #[arg(long, env = "SWITCHYARD_CHANGE_LEASE_SECS", default_value_t = 30)]
    pub change_lease_secs: u64,

    /// A process whose container has run this many seconds without asking for its configuration
    /// (the config trigger) is sent it unasked over the management channel.
    #[arg(long, env = "SWITCHYARD_TRIGGER_GRACE_SECS", default_value_t = 10)]
    pub trigger_grace_secs: u64,

    /// Seconds between two rounds of the reconciler (which keeps the swarm in line with the store).
    #[arg(long, env = "SWITCHYARD_RECONCILE_SECS", default_value_t = 5)]
    pub reconcile_secs: u64,

    /// Proxies in front of Switchyard (comma-separated addresses) whose X-Forwarded-For names
    /// the client; the login brake then counts that client's address, not the proxy's.
    #[arg(long, env = "SWITCHYARD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// A connection whose request headers have not all arrived after this many seconds (also
    /// between the requests of a kept-alive connection) is closed.
    #[arg(long, env = "SWITCHYARD_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// At most this many client connections are open at once; more wait to be accepted.
    #[arg(long, env = "SWITCHYARD_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Start on a new, empty store even though Docker holds objects of this installation's id
    /// (they are left alone). Without it, Switchyard refuses to start in that case: the data
    /// directory is most likely wrong.
    #[arg(long, env = "SWITCHYARD_NEW_STORE", default_value_t = false)]
    pub new_store: bool,

    /// Log as JSON lines instead of text.
    #[arg(long, env = "SWITCHYARD_LOG_JSON", default_value_t = false)]
    pub log_json: bool,
}

impl Config {
    pub fn store_location(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => self.data_dir.to_string_lossy().into_owned(),
        }
    }

    pub fn docker_endpoint(&self) -> String {
        self.docker_host
            .clone()
            .or_else(|| std::env::var("DOCKER_HOST").ok())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".into())
    }

    /// `scheme://host[:port]` of the public URL, when one is configured.
    pub fn public_origin(&self) -> Option<String> {
        let url = self.public_url.as_deref()?;
        let (scheme, rest) = url.split_once("://")?;
        let authority = rest.split('/').next().unwrap_or(rest);
        Some(format!("{scheme}://{authority}"))
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}
