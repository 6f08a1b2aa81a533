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

    /// A request to the API server failed while reconciling.
    #[error("{action}: {source}")]
    Api {
        /// What the operator was doing. Example: "apply Deployment prod/dialectic".
        action: String,
        /// What the API server or the client said.
        #[source]
        source: kube::Error,
    },

    /// An object could not be turned into the JSON the API server expects.
    #[error("cannot serialize {what}: {source}")]
    Serialize {
        /// The object.
        what: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },

    /// A DeploymentChecklist in the cluster does not match this operator's schema.
    #[error("DeploymentChecklist {name} cannot be read: {reason}")]
    InvalidObject {
        /// namespace/name of the object.
        name: String,
        /// What failed to parse.
        reason: String,
    },

    /// The metrics and health endpoints could not listen on their address.
    #[error("cannot serve the metrics and health endpoints on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// Leader election failed, or this replica lost the Lease.
    #[error("leader election: {0}")]
    Leadership(String),

    /// Waiting for the DeploymentChecklist CRD failed.
    #[error("cannot watch the DeploymentChecklist CRD: {0}")]
    CrdWait(String),

    /// The object lacks something the API server always sets (a namespace, a uid).
    #[error("DeploymentChecklist {name} has no {field}")]
    MissingField {
        /// namespace/name of the object, as far as known.
        name: String,
        /// The field missing.
        field: &'static str,
    },
}

impl Error {
    /// An API request failure, saying what the operator was doing.
    pub fn api(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Api {
            action: action.into(),
            source,
        }
    }
}

impl Error {
    /// A short, stable name for the kind of failure: a metric label and an Event reason.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Client(_) => "client",
            Error::Unreachable { .. } => "unreachable",
            Error::Timeout { .. } => "timeout",
            Error::Api { source, .. } => match source {
                kube::Error::Api(status) if status.code == 409 => "conflict",
                kube::Error::Api(status) if status.code == 403 => "forbidden",
                _ => "api",
            },
            Error::Serialize { .. } => "serialize",
            Error::InvalidObject { .. } => "invalid-object",
            Error::MissingField { .. } => "missing-field",
            Error::CrdWait(_) => "crd-wait",
            Error::Listen { .. } => "listen",
            Error::Leadership(_) => "leadership",
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
