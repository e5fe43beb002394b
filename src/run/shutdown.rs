//! Stopping a run cleanly: a cloneable handle the runner watches.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Inner {
    triggered: AtomicBool,
    notify: Notify,
    /// Held while a journal line is being written, so that an immediate exit
    /// (second Ctrl-C) never cuts a line in half.
    write_lock: Mutex<()>,
}

/// A request to stop a run, shared by clones.
///
/// When triggered, the runner stops starting requests, lets those in flight
/// finish (or time out in the client, or be dropped after
/// [`crate::run::RunConfig::shutdown_grace`]), writes their records and returns
/// a summary whose [`crate::run::StopCause`] is `Interrupted`.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

impl Shutdown {
    /// A handle that only [`Shutdown::trigger`] sets (for tests, or for an
    /// application with its own signal handling).
    pub fn manual() -> Self {
        Shutdown::default()
    }

    /// A handle driven by Ctrl-C (SIGINT).
    ///
    /// The first Ctrl-C triggers it: the run stops taking new work, lets
    /// in-flight requests finish, and returns. A second Ctrl-C exits the
    /// process at once with status 130, after waiting for any journal line
    /// being written to be complete, so the journal stays valid.
    ///
    /// Must be called inside a Tokio runtime.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// let shutdown = refusal_bias::run::Shutdown::ctrl_c();
    /// # let _ = shutdown;
    /// # }
    /// ```
    pub fn ctrl_c() -> Self {
        let handle = Shutdown::default();
        let watcher = handle.clone();
        let mut interrupts = Interrupts::install();
        tokio::spawn(async move {
            if !interrupts.next().await {
                return;
            }
            tracing::warn!(
                "ctrl-c: finishing requests in flight, then stopping; press ctrl-c again to exit at once"
            );
            watcher.trigger();
            if interrupts.next().await {
                // Wait until no journal line is half written, then leave.
                let _guard = watcher
                    .inner
                    .write_lock
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                tracing::warn!(
                    "second ctrl-c: exiting now; the journal holds every finished record"
                );
                std::process::exit(130);
            }
        });
        handle
    }

    /// Asks the run to stop. Idempotent.
    pub fn trigger(&self) {
        if !self.inner.triggered.swap(true, Ordering::SeqCst) {
            self.inner.notify.notify_waiters();
        }
    }

    /// Whether a stop was asked for.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// Completes once a stop is asked for.
    pub async fn triggered(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }

    /// Runs `f` while holding the write lock that an immediate exit waits for.
    pub(crate) fn while_writing<T>(&self, f: impl FnOnce() -> T) -> T {
        let _guard = self
            .inner
            .write_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        f()
    }
}

/// A stream of Ctrl-C presses. On Unix the SIGINT handler is registered
/// before [`Shutdown::ctrl_c`] returns, so no press between two waits is
/// missed; elsewhere Tokio's `ctrl_c` registers on first poll.
enum Interrupts {
    #[cfg(unix)]
    Unix(tokio::signal::unix::Signal),
    #[cfg(not(unix))]
    Portable,
    #[cfg(unix)]
    Broken,
}

impl Interrupts {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::interrupt()) {
                Ok(s) => Interrupts::Unix(s),
                Err(e) => {
                    tracing::warn!(error = %e, "could not install the ctrl-c handler; ctrl-c will kill the run");
                    Interrupts::Broken
                }
            }
        }
        #[cfg(not(unix))]
        {
            Interrupts::Portable
        }
    }

    /// Waits for the next press; false if none can be received.
    async fn next(&mut self) -> bool {
        match self {
            #[cfg(unix)]
            Interrupts::Unix(s) => s.recv().await.is_some(),
            #[cfg(not(unix))]
            Interrupts::Portable => match tokio::signal::ctrl_c().await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "could not install the ctrl-c handler; ctrl-c will kill the run");
                    false
                }
            },
            #[cfg(unix)]
            Interrupts::Broken => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn trigger_wakes_waiters_and_clones_share_state() {
        let a = Shutdown::manual();
        let b = a.clone();
        let waiter = tokio::spawn(async move { b.triggered().await });
        tokio::task::yield_now().await;
        assert!(!a.is_triggered());
        a.trigger();
        waiter.await.unwrap();
        assert!(a.is_triggered());
        // Already triggered: returns at once.
        a.triggered().await;
    }
}
