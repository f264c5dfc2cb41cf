//! The process side of dEF-Pi's management channel, wire-compatible with the Java service
//! library: link this, implement [`Service`], and call [`run`] from `main`, and the binary
//! runs as a process under Switchyard (or the original dEF-Pi orchestrator).
//!
//! ```no_run
//! use switchyard_service::{CallbackError, Config, Service};
//!
//! struct Hello;
//!
//! impl Service for Hello {
//!     fn init(&mut self, config: &Config) -> Result<(), CallbackError> {
//!         tracing::info!("hello, {}", config.get_str_or("name", "world"));
//!         Ok(())
//!     }
//!     fn modify(&mut self, config: &Config) -> Result<(), CallbackError> {
//!         self.init(config)
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     switchyard_service::run(Hello)
//! }
//! ```
//!
//! What [`run`] does (docs/protocol.md#the-management-channel):
//! 1. reads the [`Environment`] (`PROCESS_ID`, `ORCHESTRATOR_*`, `USER_*`) and listens on
//!    TCP 4999 ([`switchyard_protocol::MANAGEMENT_PORT`]) for the orchestrator;
//! 2. asks the orchestrator for its configuration (the config trigger, retried for a minute);
//! 3. answers every management request with exactly one reply, calling the [`Service`]'s
//!    callbacks on their own thread;
//! 4. exits 0 after a SUSPENDED or TERMINATED request or on SIGTERM/SIGINT, and non-zero if
//!    the orchestrator never accepted the config trigger.
//!
//! [`ServiceManager`] does the same inside an existing tokio runtime with adjustable
//! [`Options`] (another port, shorter timeouts), which is how the tests drive it.

mod config;
mod connection;
mod environment;
mod listener;
mod management;
mod service;
mod trigger;
mod user;

use std::{future::Future, net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

use tracing::{error, info};

pub use config::{Config, ConfigError};
pub use connection::{
    BuildHandler, Connection, ConnectionControl, ConnectionHandler, ConnectionInfo, Endpoint, InterfaceVersion,
    Message, SendError, State as ConnectionState, PING, PONG,
};
pub use environment::Environment;
/// Re-exported so services derive their message types with the same prost.
pub use prost;
pub use service::{CallbackError, Service};

use listener::Listener;
use management::{End, Handler};

/// Why the process ends, when it ends well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The orchestrator suspended the process (to move it) and has its state.
    Suspended,
    /// The orchestrator terminated the process.
    Terminated,
    /// SIGTERM or SIGINT (e.g. `docker stop`, or the swarm service being removed).
    Stopped,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen for the orchestrator on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("cannot start the service thread: {0}")]
    Thread(std::io::Error),
    #[error("cannot set up the HTTP client: {0}")]
    Http(String),
    #[error(
        "the orchestrator did not accept the configuration request ({url}) in {attempts} attempts \
         over {elapsed:.1?}; last failure: {last}"
    )]
    Trigger { url: String, attempts: u32, elapsed: Duration, last: String },
}

/// How to run: the environment, the management port and the timeouts. The defaults are the
/// real ones; the setters exist for tests and tools.
#[derive(Clone, Debug)]
pub struct Options {
    environment: Environment,
    management_addr: SocketAddr,
    trigger: trigger::Retry,
    callback_timeout: Duration,
    idle_timeout: Duration,
}

impl Options {
    /// The real thing: the process's environment variables, port 4999 on all interfaces,
    /// a 5 s limit on callbacks and 5 minutes of silence before a connection is dropped.
    pub fn from_env() -> Self {
        Options {
            environment: Environment::from_env(),
            management_addr: SocketAddr::from(([0, 0, 0, 0], switchyard_protocol::MANAGEMENT_PORT)),
            trigger: trigger::Retry::default(),
            callback_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5 * 60),
        }
    }

    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// Listen on another port (0: any free one; see [`ServiceManager::management_addr`]).
    pub fn management_port(mut self, port: u16) -> Self {
        self.management_addr.set_port(port);
        self
    }

    /// How long to keep retrying the config trigger before giving up (default 60 s).
    pub fn trigger_deadline(mut self, deadline: Duration) -> Self {
        self.trigger.deadline = deadline;
        self
    }

    /// How long a request waits for the service's callback (default 5 s).
    pub fn callback_timeout(mut self, timeout: Duration) -> Self {
        self.callback_timeout = timeout;
        self
    }

    /// How long a silent orchestrator connection is kept (default 5 minutes).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }
}

/// A process's management side: bound to its port, ready to serve a [`Service`].
pub struct ServiceManager {
    options: Options,
    listener: Listener,
}

impl ServiceManager {
    /// Listen on the management port at once, before the service is even started, as the
    /// original does: the orchestrator may connect as soon as it has the config trigger.
    pub async fn bind(options: Options) -> Result<Self, Error> {
        let addr = options.management_addr;
        let listener = Listener::bind(addr).map_err(|source| Error::Listen { addr, source })?;
        Ok(ServiceManager { options, listener })
    }

    /// The address the management port is bound to.
    pub fn management_addr(&self) -> SocketAddr {
        self.listener.local_addr()
    }

    /// Run `service` until the orchestrator suspends or terminates the process, or until
    /// `shutdown` completes (which terminates the service). Fails only if the config trigger
    /// is never accepted.
    pub async fn serve<S: Service>(self, service: S, shutdown: impl Future<Output = ()>) -> Result<Outcome, Error> {
        let ServiceManager { options, mut listener } = self;
        let env = Arc::new(options.environment);
        info!(
            process_id = env.reply_process_id(),
            user = env.user_name.as_deref().unwrap_or("-"),
            management = %listener.local_addr(),
            "service starting"
        );
        let interfaces = service.interfaces();
        let user = user::UserThread::spawn(service, tokio::runtime::Handle::current()).map_err(Error::Thread)?;
        let mut handler = Handler::new(env.clone(), user, options.callback_timeout, interfaces);
        let idle_timeout = options.idle_timeout;

        // The management loop runs while the trigger is still being retried: the orchestrator
        // may send the configuration before its 204 even arrives here.
        let stopped = {
            let management = async {
                loop {
                    let (stream, peer) = listener.accept().await;
                    info!(%peer, "orchestrator connected");
                    match handler.connection(stream, idle_timeout).await {
                        End::Closed(why) => info!(%peer, "management connection ended: {why}; listening again"),
                        End::Stop(outcome) => return outcome,
                    }
                }
            };
            let trigger = trigger::request_configuration(&env, options.trigger);
            tokio::pin!(management, trigger, shutdown);
            let mut triggered = false;
            loop {
                tokio::select! {
                    outcome = &mut management => return Ok(outcome),
                    result = &mut trigger, if !triggered => {
                        result?;
                        triggered = true;
                    }
                    () = &mut shutdown => break Outcome::Stopped,
                }
            }
        };
        // The management loop is dropped (a request in progress is abandoned, its callback
        // finishes on the user thread); the service is told to terminate behind it.
        info!("stop signal: terminating the service");
        handler.shutdown().await;
        Ok(stopped)
    }
}

/// Run `service` as a process: log to stdout, serve the management channel on port 4999, and
/// return the exit code for `main` (success after SUSPENDED, TERMINATED or SIGTERM/SIGINT).
pub fn run<S: Service>(service: S) -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        let manager = match ServiceManager::bind(Options::from_env()).await {
            Ok(manager) => manager,
            Err(e) => {
                error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        match manager.serve(service, stop_signal()).await {
            Ok(outcome) => {
                info!(?outcome, "process exits");
                ExitCode::SUCCESS
            }
            Err(e) => {
                error!("{e}");
                ExitCode::FAILURE
            }
        }
    });
    // Do not wait for a callback that is stuck, nor for a DNS lookup still in flight.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

/// SIGTERM (`docker stop`, removal of the swarm service) or SIGINT.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                error!("cannot listen for SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Plain lines on stdout (what `docker logs` shows), filtered by `RUST_LOG` (`info` when
/// unset; the `target=level,…` syntax). Does nothing if the service set up logging itself.
fn init_logging() {
    use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(std::io::stdout))
        .with(filter)
        .try_init();
}
