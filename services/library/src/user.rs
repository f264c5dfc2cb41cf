//! The user thread: one OS thread owns the service and runs its callbacks in order, so a
//! slow or stuck callback never blocks the management channel, which waits for each result
//! only up to a deadline (`SERVICE_IMPL_TIMEOUT_MILLIS` in the Java library).

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::mpsc,
    time::Duration,
};

use tokio::sync::oneshot;

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    #[error("the service did not return within {0:?} (it is still running)")]
    Timeout(Duration),
    #[error("the service panicked: {0}")]
    Panicked(String),
    #[error("the service thread has stopped")]
    Gone,
}

/// A callback's result, once the user thread has run it.
pub(crate) type Pending<R> = oneshot::Receiver<Result<R, CallError>>;

pub(crate) struct UserThread<S> {
    jobs: mpsc::Sender<Job<S>>,
}

impl<S> Clone for UserThread<S> {
    fn clone(&self) -> Self {
        UserThread { jobs: self.jobs.clone() }
    }
}

impl<S: Send + 'static> UserThread<S> {
    /// Start the thread; it enters `runtime` so callbacks can spawn tasks. It ends, dropping
    /// the service, once this handle is dropped and the queued callbacks have run.
    pub fn spawn(service: S, runtime: tokio::runtime::Handle) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job<S>>();
        std::thread::Builder::new().name("service".into()).spawn(move || {
            let _runtime = runtime.enter();
            let mut service = service;
            while let Ok(job) = queue.recv() {
                job(&mut service);
            }
        })?;
        Ok(UserThread { jobs })
    }

    /// Queue `f` behind the callbacks already queued, without waiting for it.
    pub fn queue<R: Send + 'static>(&self, f: impl FnOnce(&mut S) -> R + Send + 'static) -> Pending<R> {
        let (done, pending) = oneshot::channel();
        let job: Job<S> = Box::new(move |service: &mut S| {
            let result = catch_unwind(AssertUnwindSafe(|| f(service))).map_err(|panic| {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into());
                CallError::Panicked(text)
            });
            let _ = done.send(result);
        });
        // If the thread is gone, `done` is dropped with the job and `pending` reports Gone.
        let _ = self.jobs.send(job);
        pending
    }

    /// Queue `f` and wait for its result for at most `timeout`.
    pub async fn call<R: Send + 'static>(
        &self,
        timeout: Duration,
        f: impl FnOnce(&mut S) -> R + Send + 'static,
    ) -> Result<R, CallError> {
        wait(self.queue(f), timeout).await
    }
}

/// Wait for a queued callback for at most `timeout`.
pub(crate) async fn wait<R>(pending: Pending<R>, timeout: Duration) -> Result<R, CallError> {
    match tokio::time::timeout(timeout, pending).await {
        Err(_) => Err(CallError::Timeout(timeout)),
        Ok(Err(_)) => Err(CallError::Gone),
        Ok(Ok(result)) => result,
    }
}
