//! Connecting to the cluster: the usual kubeconfig / in-cluster inference, with a deadline.

use std::{sync::Arc, time::Duration};

use kube::client::{Body, ClientBuilder};
use tower::util::MapRequestLayer;

use crate::{
    error::{ApiError, StartupError},
    telemetry::{Metrics, api_requests},
};

/// What the API server says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerInfo {
    /// The server URL the client talks to.
    pub url: String,
    /// The server's version, e.g. `v1.37.2`.
    pub git_version: String,
    /// The server's platform, e.g. `linux/amd64`.
    pub platform: String,
}

/// Builds a client from KUBECONFIG / ~/.kube/config / the in-cluster service account, every
/// request of which is counted in `metrics`, and checks that the API server answers within
/// `timeout`.
pub(crate) async fn connect(
    timeout: Duration,
    metrics: Arc<Metrics>,
) -> Result<(kube::Client, ServerInfo), StartupError> {
    let config = kube::Config::infer().await.map_err(StartupError::Config)?;
    let url = config.cluster_url.to_string();
    let count = MapRequestLayer::new(move |request: http::Request<Body>| {
        metrics.api_request(api_requests::classify(request.method(), request.uri()));
        request
    });
    let client = ClientBuilder::try_from(config)
        .map_err(|e| StartupError::Client(ApiError(e)))?
        .with_layer(&count)
        .build();
    let info = tokio::time::timeout(timeout, client.apiserver_version())
        .await
        .map_err(|_| StartupError::Timeout {
            url: url.clone(),
            timeout,
        })?
        .map_err(|source| StartupError::Unreachable {
            url: url.clone(),
            source: ApiError(source),
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

/// Every address the API server is reached at: its URL's host resolved, and in a cluster the
/// `kubernetes` Service's ClusterIP from the environment. Verification must never reach these.
pub(crate) async fn api_server_addresses(url: &str) -> Vec<std::net::IpAddr> {
    let mut found = Vec::new();
    if let Ok(url) = url::Url::parse(url)
        && let Some(host) = url.host_str()
    {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = url.port_or_known_default().unwrap_or(443);
        if let Ok(addrs) = tokio::net::lookup_host((host, port)).await {
            found.extend(addrs.map(|a| a.ip()));
        }
    }
    if let Some(ip) = std::env::var("KUBERNETES_SERVICE_HOST")
        .ok()
        .and_then(|h| h.parse().ok())
    {
        found.push(ip);
    }
    found.sort();
    found.dedup();
    found
}
