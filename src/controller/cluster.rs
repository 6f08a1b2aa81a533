//! Connecting to the cluster: the usual kubeconfig / in-cluster inference, with a deadline.

use std::time::Duration;

use crate::{Error, Result};

/// What the API server says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// The server URL the client talks to.
    pub url: String,
    /// The server's version, e.g. `v1.37.2`.
    pub git_version: String,
    /// The server's platform, e.g. `linux/amd64`.
    pub platform: String,
}

/// Builds a client from KUBECONFIG / ~/.kube/config / the in-cluster service account and checks
/// that the API server answers within `timeout`.
pub async fn connect(timeout: Duration) -> Result<(kube::Client, ServerInfo)> {
    let config = kube::Config::infer().await.map_err(Error::Config)?;
    let url = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(Error::Client)?;
    let info = tokio::time::timeout(timeout, client.apiserver_version())
        .await
        .map_err(|_| Error::Timeout {
            url: url.clone(),
            timeout,
        })?
        .map_err(|source| Error::Unreachable {
            url: url.clone(),
            source,
        })?;
    Ok((
        client,
        ServerInfo {
            url,
            git_version: info.git_version,
            platform: info.platform,
        },
    ))
}
