//! What a service implements: the callbacks of the management channel.

use crate::{Config, Connection, ConnectionHandler, InterfaceVersion};

/// The error a callback may return; it reaches the orchestrator as an `ErrorMessage`.
pub type CallbackError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A service's side of the process life cycle (docs/protocol.md#the-process-life-cycle).
///
/// The callbacks are synchronous and all run, one at a time and in arrival order, on one
/// dedicated thread (the Java library's "user thread"), so an implementation needs no locks
/// for its own fields. That thread has entered the process's tokio runtime, so a callback may
/// `tokio::spawn` background work (a periodic task, a server) and keep its `JoinHandle` in
/// `self` to stop it later.
///
/// Each callback should return quickly: the management channel waits for it at most 5 s and
/// then answers the orchestrator with an `ErrorMessage` while the callback goes on running
/// (the next callback waits behind it). An error returned, or a panic, is also answered with
/// an `ErrorMessage`; the orchestrator then retries the change later.
pub trait Service: Send + 'static {
    /// The first configuration, or an empty one when the orchestrator forces the process to
    /// RUNNING without configuring it. It is called again (not [`modify`](Self::modify)) if it
    /// failed, and after [`resume_from`](Self::resume_from): a moved process is resumed and
    /// then configured anew.
    fn init(&mut self, config: &Config) -> Result<(), CallbackError>;

    /// A changed configuration for a process that [`init`](Self::init) configured.
    fn modify(&mut self, config: &Config) -> Result<(), CallbackError>;

    /// The process is about to be moved: stop working and return the state to hand to
    /// [`resume_from`](Self::resume_from) in the new container. The process exits after this;
    /// unlike in the Java library, [`terminate`](Self::terminate) is not called afterwards.
    fn suspend(&mut self) -> Vec<u8> {
        Vec::new()
    }

    /// Continue from the state a suspended predecessor returned (`None` when it left none).
    /// The order relative to [`init`](Self::init) is not fixed: both may come in either order.
    fn resume_from(&mut self, state: Option<&[u8]>) -> Result<(), CallbackError> {
        let _ = state;
        Ok(())
    }

    /// The interface versions this service handles, as its image's labels list them; asked
    /// once, at start. A connection the orchestrator asks for with other hashes is refused.
    fn interfaces(&self) -> Vec<InterfaceVersion> {
        Vec::new()
    }

    /// A connection on `version` is up for the first time: return what handles its messages
    /// (`None`: its messages are dropped). Keep `connection` to send on it; it stays valid
    /// across interruptions and suspensions. Called on the user thread like the others.
    fn connected(&mut self, version: &InterfaceVersion, connection: Connection) -> Option<Box<dyn ConnectionHandler>> {
        let _ = (version, connection);
        None
    }

    /// The process is being removed, or was sent SIGTERM. Called only if [`init`](Self::init)
    /// or [`resume_from`](Self::resume_from) ran; the process exits right after it.
    fn terminate(&mut self) {}
}
