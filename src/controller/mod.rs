//! The operator process: connects to the cluster and runs until told to stop.
//!
//! The reconciler (observe → plan → act → record) is wired in here as it is built; today the
//! process proves it can reach the API server and shuts down cleanly on SIGTERM.

mod cluster;
pub mod conditions;
pub mod observation;
pub mod observe;
pub mod plan;
pub mod record;
mod shutdown;

use std::time::Duration;

pub use cluster::{ServerInfo, api_server_addresses, connect};
pub use shutdown::shutdown_signal;

use crate::{Result, verify::guard::EgressPolicy};

/// Settings of `checklist-operator run`.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// How long to wait for the API server's first answer before giving up.
    pub connect_timeout: Duration,
    /// Where verification requests may go; the API server's own addresses are added at start.
    pub egress: EgressPolicy,
}

/// Runs the operator until SIGTERM or Ctrl-C.
pub async fn run(config: RunConfig) -> Result<()> {
    let (_client, server) = connect(config.connect_timeout).await?;
    tracing::info!(
        server_version = %server.git_version,
        platform = %server.platform,
        url = %server.url,
        "connected to the Kubernetes API server"
    );
    let egress = config
        .egress
        .with_api_server_addresses(cluster::api_server_addresses(&server.url).await);
    tracing::info!(egress = ?egress, "verification egress policy");
    tracing::info!("no controllers are registered in this build yet; waiting for SIGTERM");
    shutdown_signal().await;
    tracing::info!("shutting down");
    Ok(())
}
