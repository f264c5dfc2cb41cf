//! The Switchyard server: reads its configuration, opens the store, connects to Docker, and
//! serves the REST API (`http`) and the web UI (`web`) from one axum router.

mod cli;
mod config;
mod doctor;
mod guard;
mod http;
mod ops;
mod serve;
mod site;
mod state;
mod web;

use std::{sync::Arc, time::Duration};

use axum::extract::DefaultBodyLimit;
use axum::{middleware, Router};
use clap::Parser;
use leptos::config::LeptosOptions;
use switchyard_core::{
    changes::EngineConfig,
    connectors::{
        docker::{DockerConnector, SubnetPool},
        registry::{RegistryAuth, RegistryConnector},
    },
    managers::{Presence, ProcessSettings, Switchyard, TRIGGER_PORT},
    store::SessionStore,
};
use tower_http::{compression::CompressionLayer, trace::TraceLayer};
use tower_sessions::{cookie::SameSite, ExpiredDeletion, Expiry, SessionManagerLayer};
use tracing_subscriber::EnvFilter;

use crate::{
    config::{Cli, Command, Config},
    guard::GuardConfig,
    state::AppState,
};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "switchyard_session";

fn main() {
    return_big_allocations_to_the_os();
    let cli = Cli::parse();
    // Blocking threads (the store's work, the heap trim) that have been idle 2 s end, rather
    // than the default 10 s: after a burst of requests each would keep its stack and buffers
    // (the 30-odd threads of the benchmark's load held about 4 MiB at idle).
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().thread_keep_alive(Duration::from_secs(2)).build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("switchyard: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => runtime.block_on(serve(cli.config)),
        Command::Backup(args) => ops::exit_with(runtime.block_on(ops::backup(&cli.config, &args))),
        Command::Restore(args) => ops::exit_with(runtime.block_on(ops::restore(&cli.config, &args))),
        Command::Export(args) => cli_exit(runtime.block_on(cli::export(&args))),
        Command::Plan(args) => cli_exit(runtime.block_on(cli::plan(&args))),
        Command::Apply(args) => cli_exit(runtime.block_on(cli::apply(&args))),
        Command::Doctor => {
            let checks = runtime.block_on(doctor_of(&cli.config));
            print!("{}", doctor::print(&checks));
            std::process::exit(if checks.iter().all(|c| c.ok) { 0 } else { 1 })
        }
        Command::Health => std::process::exit(runtime.block_on(health(&cli.config))),
        Command::ServerFunctions => {
            let mut all: Vec<String> =
                leptos::server_fn::axum::server_fn_paths().map(|(path, method)| format!("{method} {path}")).collect();
            all.sort();
            println!("{}", all.join("\n"));
        }
    }
}

/// The Docker connector of the configuration: its endpoint, users' networks from its pool.
/// A wrong setting is a `BadRequest`; a socket that is not there `Unavailable`.
async fn docker_of(config: &Config) -> Result<DockerConnector, switchyard_core::Error> {
    let pool = match config.network_pool.trim() {
        "" => None,
        pool => Some(SubnetPool::new(pool, config.network_prefix)?),
    };
    let docker = DockerConnector::connect(&config.docker_endpoint())?.negotiate().await;
    Ok(match pool {
        Some(pool) => docker.with_subnets(pool),
        None => docker,
    })
}

/// The registry connector of the configuration, with its credentials.
fn registry_of(config: &Config) -> Result<RegistryConnector, String> {
    let auth = match (&config.registry_token, &config.registry_username) {
        (Some(token), _) => RegistryAuth::Bearer(token.clone()),
        (None, Some(user)) => RegistryAuth::Basic {
            username: user.clone(),
            password: config.registry_password.clone().unwrap_or_default(),
        },
        (None, None) => RegistryAuth::None,
    };
    RegistryConnector::new(&config.registry_url, &config.registry_prefix, auth).map_err(|e| e.to_string())
}

/// How Switchyard is on users' networks: its own container, or an anchor's.
fn presence_of(config: &Config, registry: &RegistryConnector) -> Presence {
    Presence {
        anchor_image: config
            .anchor_image
            .clone()
            .unwrap_or_else(|| format!("{}/switchyard/anchor:latest", registry.image_host())),
        own_container: config.container.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_string),
    }
}

/// `switchyard doctor`: the checks from this machine, with the configuration's settings. A
/// setting that cannot even be read is the first failed check.
async fn doctor_of(config: &Config) -> Vec<doctor::Check> {
    // A Docker socket that is not there is the docker check failing, not a wrong setting.
    let docker = docker_of(config).await;
    let registry = match (&docker, registry_of(config)) {
        (Err(e @ switchyard_core::Error::BadRequest(_)), _) => Err(e.to_string()),
        (_, registry) => registry,
    };
    let docker = docker.map_err(|e| e.to_string());
    let registry = match registry {
        Ok(registry) => registry,
        Err(e) => {
            return vec![doctor::Check {
                name: "settings",
                ok: false,
                detail: e,
                fix: Some("correct the setting named (`switchyard --help` lists them)".into()),
            }]
        }
    };
    let presence = presence_of(config, &registry);
    let site = site::inspect(std::path::Path::new(&config.site_root), "switchyard");
    let store = doctor::StoreAccess::Location(config.store_location());
    doctor::Doctor::new(
        docker,
        config.docker_endpoint(),
        registry,
        store,
        site,
        presence,
        config.data_dir.clone(),
        config.min_free_disk_mib,
    )
    .run()
    .await
}

/// `switchyard health`: 0 when this configuration's listener answers `/healthz`, else 1.
async fn health(config: &Config) -> i32 {
    let mut addr = config.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let url = format!("http://{addr}/healthz");
    // Straight to this machine's listener, whatever HTTP_PROXY says.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).no_proxy().build();
    match client.map(|c| c.get(&url)) {
        Ok(request) => match request.send().await {
            Ok(r) if r.status().is_success() => 0,
            Ok(r) => {
                eprintln!("switchyard: {url} answered {}", r.status());
                1
            }
            Err(e) => {
                eprintln!("switchyard: {url}: {e}");
                1
            }
        },
        Err(e) => {
            eprintln!("switchyard: {e}");
            1
        }
    }
}

/// End a command-line run with its message and exit code.
fn cli_exit(result: Result<String, cli::Failure>) -> ! {
    match result {
        Ok(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            std::process::exit(0)
        }
        Err(cli::Failure(code, message)) => {
            if !message.is_empty() {
                eprintln!("switchyard: {message}");
            }
            std::process::exit(code)
        }
    }
}

async fn serve(config: Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_sessions=warn"));
    if config.log_json {
        tracing_subscriber::fmt().with_env_filter(filter).json().init();
    } else {
        // Colours only for a person at a terminal: not in a log file, the journal or `docker logs`.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
        tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).init();
    }
    if let Err(message) = run(config).await {
        tracing::error!("{message}");
        eprintln!("switchyard: {message}");
        std::process::exit(1);
    }
}

async fn run(config: Config) -> Result<(), String> {
    let (store, origin) = ops::open_store(&config).await?;
    tracing::info!(backend = store.kind(), location = %config.store_location(), "store open");

    let docker = docker_of(&config).await.map_err(|e| e.to_string())?;
    if let Err(e) = docker.ready().await {
        tracing::warn!("{e}; /readyz reports not ready until it is");
    }
    let instance_id = ops::instance_id(&config, &store, origin, &docker).await?;

    let registry = registry_of(&config)?;

    let password_file = config.database_url.is_none().then(|| config.data_dir.join("initial-admin-password"));
    let settings = ProcessSettings {
        instance_id,
        presence: presence_of(&config, &registry),
        max_memory_bytes: config.max_process_memory,
        max_nano_cpus: config.max_process_nano_cpus,
        trigger_grace: Duration::from_secs(config.trigger_grace_secs.max(1)),
        alert_interrupted_grace: Duration::from_secs(config.alert_interrupted_secs.max(1)),
    };
    let engine_config =
        EngineConfig { lease: Duration::from_secs(config.change_lease_secs.max(1)), ..Default::default() };
    let (doctor_docker, doctor_registry, presence) = (docker.clone(), registry.clone(), settings.presence.clone());
    let sy = Switchyard::new(store.clone(), docker, registry, password_file.clone(), engine_config, settings);
    sy.start();
    // Read the catalogue now, so the first visitor does not wait for it.
    let services = sy.services.clone();
    tokio::spawn(async move { services.refresh().await });
    match sy.users.ensure_first_admin(config.admin_password.clone()).await {
        Ok(Some(password)) => {
            let where_ = password_file.map(|f| format!(" (also in {})", f.display())).unwrap_or_default();
            println!("Created the administrator 'admin' with password {password}{where_}; change it after logging in.");
        }
        Ok(None) => {}
        Err(e) => return Err(format!("cannot create the first administrator: {e}")),
    }

    let sessions = SessionStore::new(store);
    let sweeper = sessions.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        loop {
            every.tick().await;
            if let Err(e) = sweeper.delete_expired().await {
                tracing::warn!("removing expired sessions: {e}");
            }
        }
    });
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_always_save(true)
        .with_expiry(Expiry::OnInactivity(tower_sessions::cookie::time::Duration::seconds(
            config.session_idle_secs as i64,
        )));

    // The site files of this build, kept apart from the build directory (see `site`).
    let site = site::prepare(std::path::Path::new(&config.site_root), &config.data_dir, "switchyard");
    if let Some(problem) = &site.problem {
        tracing::warn!("{problem}; /readyz reports not ready; {}", site::SITE_FIX);
    }
    let mut leptos = LeptosOptions::builder()
        .output_name("switchyard")
        .site_root(site.root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .build();
    if let Some(hash_file) = &site.hash_file {
        leptos.hash_file = hash_file.to_string_lossy().into_owned().into();
    }
    // The release build (hash-files) puts the hashes in the site's file names and lists them in
    // a file next to the binary, where leptos looks; a binary built without it serves plain names.
    leptos.hash_files = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&*leptos.hash_file)))
        .is_some_and(|file| file.is_file());
    let state_events = sy.events.clone();
    let event_recheck = Duration::from_secs(config.event_recheck_secs.max(1));
    let metrics_token = config.metrics_token.clone().filter(|t| !t.is_empty()).map(std::sync::Arc::from);
    let doctor = doctor::Doctor::new(
        Ok(doctor_docker),
        config.docker_endpoint(),
        doctor_registry,
        doctor::StoreAccess::Open(sy.store.clone()),
        site,
        presence,
        config.data_dir.clone(),
        config.min_free_disk_mib,
    );
    let state = AppState { sy, leptos, event_recheck, metrics_token, doctor: Arc::new(doctor) };
    let audit_days = config.audit_retention_days.max(1);
    // In its own container on users' networks, a listener on every address at the trigger's port
    // is already where processes call; otherwise the trigger gets a listener of its own.
    let trigger_on_main = state.sy.anchor.presence().own_container.is_some()
        && config.listen.port() == TRIGGER_PORT
        && config.listen.ip().is_unspecified();
    let every = Duration::from_secs(config.reconcile_secs.max(1));
    tokio::spawn(upkeep(state.clone(), every, audit_days, trigger_on_main));
    tokio::spawn(trim_heap_now_and_then());

    let guards = Arc::new(GuardConfig {
        trusted_proxies: config.trusted_proxies.clone(),
        public_origin: config.public_origin(),
        max_body_bytes: config.max_body_bytes,
    });
    let anchor = state.sy.anchor.clone();
    let process_side = guard::ProcessSide(Arc::new(move |ip| anchor.on_process_side(ip)));
    let app: Router = http::api_router()
        .merge(web::router(&state))
        .merge(http::metrics::router())
        .route_layer(middleware::from_fn_with_state(state.clone(), http::record_audit))
        .route_layer(middleware::from_fn_with_state(state.clone(), http::metrics::track))
        .layer(session_layer)
        // Inside it: the handler, the audit record and the session's saving all run to the end.
        .layer(middleware::from_fn(guard::run_to_end))
        .layer(middleware::from_fn_with_state(guards.clone(), guard::server_fn_bodies))
        .layer(middleware::from_fn_with_state(guards.clone(), guard::same_origin_only))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(guards.clone(), guard::client_addr))
        .layer(middleware::from_fn_with_state(process_side, guard::processes_reach_only_the_trigger))
        .layer(middleware::from_fn(guard::security_headers))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state);

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    tracing::info!("Switchyard listens on http://{}", config.listen);
    let limits = serve::Limits {
        header_read_timeout: Duration::from_secs(config.header_timeout_secs.max(1)),
        max_connections: config.max_connections,
    };
    // Open event streams end at shutdown, so they do not hold it up.
    let events = state_events;
    let stopping = async move {
        shutdown().await;
        events.close();
    };
    serve::serve(listener, app, limits, stopping).await.map_err(|e| e.to_string())
}

/// Background upkeep, every few seconds: the anchor container (or Switchyard's own) runs and is on
/// every user network, the config-trigger listener inside its network namespace is up (unless the
/// main listener is that), the node records follow the swarm, and the reconciler repairs what
/// changed outside Switchyard.
async fn upkeep(state: AppState, every: Duration, audit_days: u64, trigger_on_main: bool) {
    let mut trigger: Option<(i64, tokio::task::JoinHandle<()>)> = None;
    let mut last_error = String::new();
    let mut last_prune: Option<std::time::Instant> = None;
    let mut note = |what: &str, e: &dyn std::fmt::Display| {
        let message = format!("{what}: {e}");
        if message != last_error {
            tracing::warn!("{message}");
            last_error = message;
        }
    };
    loop {
        match state.sy.anchor.keep().await {
            Ok(Some(ns)) if !trigger_on_main && trigger.as_ref().map(|(pid, _)| *pid) != Some(ns.pid()) => {
                if let Some((_, task)) = trigger.take() {
                    task.abort();
                }
                match ns.listen(std::net::SocketAddr::from(([0, 0, 0, 0], TRIGGER_PORT))) {
                    Ok(listener) => {
                        let app = http::processes::trigger_router()
                            .layer(middleware::from_fn(guard::run_to_end))
                            .with_state(state.clone());
                        tracing::info!(
                            anchor_pid = ns.pid(),
                            "config trigger listens on orchestrator:{TRIGGER_PORT} on users' networks"
                        );
                        trigger = Some((
                            ns.pid(),
                            tokio::spawn(async move {
                                if let Err(e) = axum::serve(listener, app).await {
                                    tracing::warn!("config-trigger listener: {e}");
                                }
                            }),
                        ));
                    }
                    Err(e) => note("cannot listen for the config trigger on users' networks", &e),
                }
            }
            Ok(_) => {}
            Err(e) => note("anchor container", &e),
        }
        let metrics = &state.sy.metrics;
        let timed = std::time::Instant::now();
        if let Err(e) = state.sy.nodes.sync().await {
            note("syncing nodes", &e);
        }
        metrics.reconcile_part("nodes", timed.elapsed().as_secs_f64());
        let timed = std::time::Instant::now();
        if let Err(e) = state.sy.processes.reconcile().await {
            note("reconciling processes", &e);
        }
        metrics.reconcile_part("processes", timed.elapsed().as_secs_f64());
        let timed = std::time::Instant::now();
        if let Err(e) = state.sy.connections.reconcile().await {
            note("reconciling connections", &e);
        }
        metrics.reconcile_part("connections", timed.elapsed().as_secs_f64());
        if last_prune.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
            last_prune = Some(std::time::Instant::now());
            let week = Duration::from_secs(7 * 24 * 3600);
            match state.sy.engine.prune(week).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("forgot {n} pending changes that finished over a week ago"),
                Err(e) => note("pruning pending changes", &e),
            }
            if let Err(e) = state.sy.processes.prune_removed(week).await {
                note("pruning the records of deleted processes", &e);
            }
            match state.sy.audit.prune(Duration::from_secs(audit_days * 24 * 3600)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("forgot {n} audit entries older than {audit_days} days"),
                Err(e) => note("pruning the audit trail", &e),
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// musl's malloc serialises threads and returns little to the OS; the static build (the container
/// image) uses mimalloc instead.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Every password hash takes a 19 MiB argon2 buffer. glibc's malloc raises its mmap threshold
/// after the first such buffer is freed and then keeps later ones on its heaps for good, so a
/// burst of logins would leave the server at hundreds of MiB. A fixed threshold makes large
/// buffers always mmap'd and returned on free; two arenas keep per-thread heaps few.
fn return_big_allocations_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it runs before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// glibc keeps the memory freed after a burst of requests on its heaps instead of handing it
/// back, so the server would idle at its high-water mark (66 MiB after the benchmark's load;
/// 33 MiB once trimmed). Every few seconds, hand free pages back to the OS, on a blocking
/// thread so a slow trim never holds up a request.
async fn trim_heap_now_and_then() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            // SAFETY: malloc_trim only releases free memory; it takes the allocator's own locks.
            let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
