//! `checklist-testapp`: parse the flags, start the app, print where it listens, serve until
//! SIGTERM, Ctrl-C or `--exit-after-secs`, then shut down gracefully.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use checklist_testapp::cli::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    init_tracing();
    let config = match args.to_config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("checklist-testapp: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("checklist-testapp: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config, args.exit_after_secs.map(Duration::from_secs)))
}

async fn run(config: checklist_testapp::Config, exit_after: Option<Duration>) -> ExitCode {
    let app = match checklist_testapp::spawn(config).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("checklist-testapp: {err}");
            return ExitCode::FAILURE;
        }
    };
    announce(&app);
    tokio::select! {
        () = shutdown_signal() => {}
        () = sleep_or_forever(exit_after) => tracing::info!("--exit-after-secs reached"),
    }
    app.shutdown().await;
    ExitCode::SUCCESS
}

/// Prints the machine-readable address lines that tests parse, and flushes them.
fn announce(app: &checklist_testapp::RunningApp) {
    let mut stdout = std::io::stdout().lock();
    let mut lines = format!("listening on {}\n", app.url());
    if let Some(url) = app.http_url() {
        lines.push_str(&format!("redirect listening on {url}\n"));
    }
    if let Err(err) = stdout
        .write_all(lines.as_bytes())
        .and_then(|()| stdout.flush())
    {
        tracing::warn!(%err, "cannot write the listening address to stdout");
    }
}

async fn sleep_or_forever(limit: Option<Duration>) {
    match limit {
        Some(limit) => tokio::time::sleep(limit).await,
        None => std::future::pending().await,
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}

fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
