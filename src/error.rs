//! The library's error type: every variant carries a short, stable category for metrics and Events.

use std::time::Duration;

/// Everything that can go wrong inside the operator library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No usable kubeconfig or in-cluster configuration was found.
    #[error("no Kubernetes configuration found (set KUBECONFIG or run in a cluster): {0}")]
    Config(#[source] kube::config::InferConfigError),

    /// A client could not be built from the configuration (bad certificates, bad URL).
    #[error("cannot build a Kubernetes client from the configuration: {0}")]
    Client(#[source] kube::Error),

    /// The API server answered with an error or could not be reached.
    #[error("cannot reach the Kubernetes API server at {url}: {source}")]
    Unreachable {
        /// The server URL from the configuration.
        url: String,
        /// What the client saw.
        #[source]
        source: kube::Error,
    },

    /// The API server did not answer within the allowed time.
    #[error("the Kubernetes API server at {url} did not answer within {timeout:?}")]
    Timeout {
        /// The server URL from the configuration.
        url: String,
        /// How long we waited.
        timeout: Duration,
    },
}

impl Error {
    /// A short, stable name for the kind of failure: a metric label and an Event reason.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Client(_) => "client",
            Error::Unreachable { .. } => "unreachable",
            Error::Timeout { .. } => "timeout",
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_short_and_distinct() {
        let timeout = Error::Timeout {
            url: "https://127.0.0.1:6443".into(),
            timeout: Duration::from_secs(3),
        };
        assert_eq!(timeout.category(), "timeout");
        assert_eq!(
            timeout.to_string(),
            "the Kubernetes API server at https://127.0.0.1:6443 did not answer within 3s"
        );
    }
}
