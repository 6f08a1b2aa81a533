//! Binding the listeners and serving until shutdown, for the binary and for tests that run the
//! app in-process.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::app;
use crate::config::Config;
use crate::mode::Mode;
use crate::state::AppState;

/// Why the app could not start.
#[derive(Debug)]
pub enum StartError {
    /// The configuration is inconsistent (see [`Config::validate`]).
    Config(String),
    /// A listener could not be bound.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(message) => write!(f, "invalid configuration: {message}"),
            StartError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Config(_) => None,
            StartError::Bind { source, .. } => Some(source),
        }
    }
}

/// A running app. Dropping it starts a graceful shutdown in the background;
/// [`RunningApp::shutdown`] does the same and waits for it.
#[derive(Debug)]
pub struct RunningApp {
    addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    state: Arc<AppState>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<io::Result<()>>>,
}

/// Binds the listeners of `config` and serves them on the current Tokio runtime.
pub async fn spawn(config: Config) -> Result<RunningApp, StartError> {
    config.validate().map_err(StartError::Config)?;
    let main = bind(config.listen).await?;
    let addr = local_addr(&main, config.listen)?;
    let redirect = match config.http_listen {
        Some(wanted) => {
            let listener = bind(wanted).await?;
            let bound = local_addr(&listener, wanted)?;
            Some((listener, bound))
        }
        None => None,
    };
    let http_addr = redirect.as_ref().map(|(_, bound)| *bound);

    let shutdown = CancellationToken::new();
    let state = Arc::new(AppState::new(config, shutdown.clone()));
    let mut tasks = vec![tokio::spawn(serve(
        main,
        app::router(state.clone()),
        shutdown.clone(),
    ))];
    if let Some((listener, _)) = redirect {
        tasks.push(tokio::spawn(serve(
            listener,
            app::redirect_router(state.clone()),
            shutdown.clone(),
        )));
    }
    tracing::info!(%addr, ?http_addr, mode = %state.mode(), "test app started");
    Ok(RunningApp {
        addr,
        http_addr,
        state,
        shutdown,
        tasks,
    })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

fn local_addr(listener: &TcpListener, wanted: SocketAddr) -> Result<SocketAddr, StartError> {
    listener.local_addr().map_err(|source| StartError::Bind {
        addr: wanted,
        source,
    })
}

async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: CancellationToken,
) -> io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

impl RunningApp {
    /// The main listener's bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The main listener's base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The redirect listener's bound address, when there is one.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The redirect listener's base URL, when there is one.
    pub fn http_url(&self) -> Option<String> {
        self.http_addr.map(|addr| format!("http://{addr}"))
    }

    /// The shared state: mode, counters, failing dependencies.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Switches the mode (as `PUT /admin/mode` does); returns the previous one.
    pub fn set_mode(&self, mode: Mode) -> Mode {
        self.state.set_mode(mode)
    }

    /// Sets the share of requests to the app's routes answered 500, in percent (as
    /// `PUT /admin/error-percent` does): from now on exactly `percent` of every 100, evenly
    /// spread. Returns the previous share; an error for a share over 100.
    pub fn set_error_percent(&self, percent: u8) -> Result<u8, String> {
        self.state.set_error_percent(percent)
    }

    /// Sets the extra delay of every request to the app's routes, in milliseconds (as
    /// `PUT /admin/latency-ms` does); returns the previous one.
    pub fn set_latency_ms(&self, ms: u64) -> u64 {
        let previous = self.state.set_latency(Duration::from_millis(ms));
        u64::try_from(previous.as_millis()).unwrap_or(u64::MAX)
    }

    /// The text `GET /metrics` answers now.
    pub fn metrics_text(&self) -> String {
        self.state.metrics().encode()
    }

    /// Stops accepting, ends hanging and delayed requests, and waits for in-flight requests
    /// for at most the configured grace period before abandoning them.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        let grace = self.state.config().shutdown_grace;
        let tasks = std::mem::take(&mut self.tasks);
        let aborts: Vec<_> = tasks.iter().map(JoinHandle::abort_handle).collect();
        let all = futures_util::future::join_all(tasks);
        match tokio::time::timeout(grace, all).await {
            Ok(results) => {
                for result in results {
                    match result {
                        Ok(Ok(())) => {}
                        Ok(Err(err)) => tracing::warn!(%err, "listener stopped with an error"),
                        Err(err) => tracing::warn!(%err, "listener task failed"),
                    }
                }
                tracing::info!("test app stopped");
            }
            Err(_) => {
                tracing::warn!(
                    ?grace,
                    "requests still in flight after the grace period; abandoned"
                );
                for abort in aborts {
                    abort.abort();
                }
            }
        }
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
