//! The process's stop request: SIGTERM (what the kubelet sends) or Ctrl-C, latched.
//!
//! The handlers are installed once, when the process starts, and the request is remembered: a
//! signal that arrives while no one is waiting for it (between two phases of start-up) still stops
//! the process, instead of being dropped and leaving it running until SIGKILL.

use tokio::sync::watch;

/// A handle on the stop request; clones share it.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Installs the signal handlers now; must be called inside the runtime.
    pub fn listen() -> Self {
        let (requested, rx) = watch::channel(false);
        let signals = Signals::install();
        tokio::spawn(async move {
            signals.recv().await;
            requested.send_replace(true);
        });
        Self(rx)
    }

    /// Completes once a stop was requested, now or at any time before.
    pub async fn requested(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|stop| *stop).await.is_err() {
            // The listener ended without a signal (it never does): nothing can ask to stop.
            std::future::pending::<()>().await;
        }
    }
}

/// The installed handlers; None where one could not be installed (then it never fires).
struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(signal) => Some(signal),
            Err(error) => {
                tracing::error!(%error, signal = name, "cannot listen for the signal");
                None
            }
        };
        Self {
            terminate: install(SignalKind::terminate(), "SIGTERM"),
            interrupt: install(SignalKind::interrupt(), "SIGINT"),
        }
    }

    #[cfg(not(unix))]
    fn install() -> Self {
        Self {}
    }

    #[cfg(unix)]
    async fn recv(self) {
        async fn one(signal: Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = one(self.terminate) => {}
            () = one(self.interrupt) => {}
        }
    }

    #[cfg(not(unix))]
    async fn recv(self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signal_sent_before_anyone_waits_is_not_lost() {
        let shutdown = Shutdown::listen();
        // SIGINT to ourselves: tokio's handler is installed, so the test process is not killed.
        let status = std::process::Command::new("kill")
            .args(["-INT", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(std::time::Duration::from_secs(5), shutdown.requested())
            .await
            .expect("the stop request was lost");
        // A wait that starts after the signal still completes.
        tokio::time::timeout(
            std::time::Duration::from_secs(1),
            shutdown.clone().requested(),
        )
        .await
        .expect("a late wait did not see the stop request");
    }
}
