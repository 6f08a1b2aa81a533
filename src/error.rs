//! The library's errors, apart by when they happen: [`StartupError`] stops `checklist-operator
//! run` before or beside reconciling; [`ReconcileError`] fails one reconcile, names the step that
//! failed, and says how it is retried ([`Retry`]).
//!
//! Each keeps its cause as a `source`, never as text, and never prints it in its own message:
//! [`chain`] renders the whole chain once, for logs, conditions and Events.

use std::{error::Error as StdError, fmt, time::Duration};

use crate::{api::Reason, resources::RecordError};

/// Why `checklist-operator run` could not start, or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// No usable kubeconfig or in-cluster configuration was found.
    #[error("no Kubernetes configuration found (set KUBECONFIG or run in a cluster)")]
    Config(#[source] kube::config::InferConfigError),

    /// A client could not be built from the configuration (bad certificates, bad URL).
    #[error("cannot build a Kubernetes client from the configuration")]
    Client(#[source] ApiError),

    /// The API server answered with an error or could not be reached.
    #[error("cannot reach the Kubernetes API server at {url}")]
    Unreachable {
        /// The server URL from the configuration.
        url: String,
        /// What the client saw.
        #[source]
        source: ApiError,
    },

    /// The API server did not answer within the allowed time.
    #[error("the Kubernetes API server at {url} did not answer within {timeout:?}")]
    Timeout {
        /// The server URL from the configuration.
        url: String,
        /// How long we waited.
        timeout: Duration,
    },

    /// The metrics and health endpoints could not listen on their address.
    #[error("cannot serve the metrics and health endpoints on {addr}")]
    Listen {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// Waiting for the DeploymentChecklist CRD failed.
    #[error("cannot watch the DeploymentChecklist CRD")]
    CrdWait(#[source] kube::runtime::wait::Error),

    /// The campaign for the leader Lease could not start or failed.
    #[error("cannot campaign for the leader Lease")]
    Campaign(#[source] kube_lease_manager::LeaseManagerError),

    /// The lease manager stopped before this replica became the leader.
    #[error("the lease manager stopped before this replica became the leader")]
    CampaignEnded,

    /// This replica lost the Lease while it led.
    #[error("lost the leader Lease; exiting so a restart campaigns again")]
    LostLease,

    /// The API server refused the --selector as a label selector.
    #[error("--selector {selector:?} is not a label selector the API server accepts: {message}")]
    Selector {
        /// The selector given.
        selector: String,
        /// The API server's reason.
        message: String,
    },

    /// Checking the --selector against the API server failed for another reason.
    #[error("cannot list DeploymentChecklists with --selector {selector:?}")]
    SelectorCheck {
        /// The selector given.
        selector: String,
        /// What the client saw.
        #[source]
        source: ApiError,
    },

    /// The notifications' HTTP client could not be built.
    #[error("cannot start the notification sender")]
    Notifier(#[source] crate::verify::client::FetchError),
}

/// How a failed reconcile is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A failure that heals by itself (a timeout, a conflict, an overloaded or restarting API
    /// server): try again after a growing, jittered delay.
    Backoff,
    /// A failure only a person can fix (a missing RBAC rule, an object the API server refuses):
    /// say so in status and an Event, and wait for a change (with a slow safety net, since an
    /// RBAC fix changes no watched object).
    WaitForChange,
}

/// What failed one reconcile, by step.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// observe: a read from the API server failed.
    #[error("cannot read {what}")]
    Read {
        /// What was read. Example: "Deployment prod/web".
        what: String,
        /// What the API server or the client said.
        #[source]
        source: ApiError,
    },

    /// act: a change to the cluster could not be made.
    #[error("cannot {change}")]
    Change {
        /// What was being changed. Example: "apply Deployment prod/web".
        change: String,
        /// What the API server or the client said.
        #[source]
        source: ApiError,
    },

    /// act: the stable revision's stored spec, which a rollback rebuilds, cannot be read back.
    #[error("cannot restore the stable revision {revision}")]
    StoredSpec {
        /// The stable revision's hash.
        revision: String,
        /// What is wrong with its record.
        #[source]
        source: RecordError,
    },

    /// record: the status could not be written.
    #[error("cannot write the status of {checklist}")]
    WriteStatus {
        /// namespace/name of the checklist.
        checklist: String,
        /// What the API server or the client said.
        #[source]
        source: ApiError,
    },

    /// An object could not be turned into the JSON the API server expects.
    #[error("cannot serialize {what}")]
    Serialize {
        /// The object.
        what: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },

    /// act: a Service the checklist would write exists and belongs to someone else.
    #[error(
        "{kind} {name} exists and is not owned by this checklist: it is left alone; name another \
         in {field}"
    )]
    NotOwned {
        /// The kind of the object.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The spec field that names it.
        field: &'static str,
    },

    /// act: an object the checklist names after itself (its disruption budget, its autoscaler)
    /// exists and belongs to someone else.
    #[error(
        "{kind} {name} exists and is not owned by this checklist: it is left alone; delete it, \
         or leave {field} out"
    )]
    NameTaken {
        /// The kind of the object.
        kind: &'static str,
        /// Its name, the checklist's.
        name: String,
        /// The spec field that asks for it.
        field: &'static str,
    },

    /// The object lacks something the API server always sets (a namespace).
    #[error("DeploymentChecklist {name} has no {field}")]
    MissingField {
        /// The object's name, as far as known.
        name: String,
        /// The field missing.
        field: &'static str,
    },
}

impl ReconcileError {
    /// A failed read of `what`.
    pub fn read(what: impl Into<String>, source: kube::Error) -> Self {
        Self::Read {
            what: what.into(),
            source: ApiError(source),
        }
    }

    /// A failed change, `change` saying what it was.
    pub fn change(change: impl Into<String>, source: kube::Error) -> Self {
        Self::Change {
            change: change.into(),
            source: ApiError(source),
        }
    }

    /// The API server's failure under this error, if it is one.
    fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Read { source, .. }
            | Self::Change { source, .. }
            | Self::WriteStatus { source, .. } => Some(source),
            Self::StoredSpec { .. }
            | Self::Serialize { .. }
            | Self::NotOwned { .. }
            | Self::NameTaken { .. }
            | Self::MissingField { .. } => None,
        }
    }

    /// How this failure is tried again.
    pub fn retry(&self) -> Retry {
        match self {
            Self::Read { source, .. }
            | Self::Change { source, .. }
            | Self::WriteStatus { source, .. } => source.retry(),
            // A record deleted between the read and the restore: the next plan sees it gone.
            Self::StoredSpec { .. } => Retry::Backoff,
            Self::Serialize { .. }
            | Self::NotOwned { .. }
            | Self::NameTaken { .. }
            | Self::MissingField { .. } => Retry::WaitForChange,
        }
    }

    /// The reason a checklist stalled by this failure shows.
    pub fn reason(&self) -> Reason {
        if let Self::NotOwned { .. } | Self::NameTaken { .. } = self {
            return Reason::InvalidSpec;
        }
        match self.api().and_then(ApiError::code) {
            Some(401 | 403) => Reason::Forbidden,
            Some(_) => Reason::Rejected,
            None => Reason::InternalError,
        }
    }

    /// The kind of failure: the metric label and log field.
    pub fn category(&self) -> Category {
        match self {
            Self::StoredSpec { .. } => Category::StoredSpec,
            Self::Serialize { .. } => Category::Serialize,
            Self::MissingField { .. } => Category::MissingField,
            Self::NotOwned { .. } | Self::NameTaken { .. } => Category::NotOwned,
            _ => match self.api().and_then(ApiError::code) {
                Some(401) => Category::Unauthorized,
                Some(403) => Category::Forbidden,
                Some(404) => Category::NotFound,
                Some(409) => Category::Conflict,
                Some(400 | 422) => Category::Invalid,
                Some(429) => Category::Throttled,
                Some(500..=599) => Category::ServerError,
                Some(_) => Category::Api,
                None => Category::Unreachable,
            },
        }
    }
}

/// The kind of a reconcile failure, a fixed set: the `category` label of
/// `checklist_reconcile_failures_total` and the log field. Its names are derived (kebab-case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "kebab-case")]
pub enum Category {
    /// A stable revision's stored spec cannot be read.
    StoredSpec,
    /// An object could not be serialized.
    Serialize,
    /// An object lacks a field the operator needs.
    MissingField,
    /// An object in the way is not the operator's.
    NotOwned,
    /// The API server did not accept the operator's credentials (401).
    Unauthorized,
    /// RBAC refused the request (403).
    Forbidden,
    /// The object is not there (404).
    NotFound,
    /// Another writer got there first (409).
    Conflict,
    /// The API server refused the request's content (400, 422).
    Invalid,
    /// The API server asked the operator to slow down (429).
    Throttled,
    /// The API server failed (5xx).
    ServerError,
    /// Any other answer of the API server.
    Api,
    /// No answer from the API server.
    Unreachable,
}

impl Category {
    /// The label value, e.g. `server-error`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request to the API server, in one line: the code, reason and message of the API
/// server's answer, or what kept the request from one.
#[derive(Debug)]
pub struct ApiError(pub kube::Error);

impl ApiError {
    /// The HTTP status of the API server's answer, when it answered.
    pub fn code(&self) -> Option<u16> {
        match &self.0 {
            kube::Error::Api(status) => Some(status.code),
            _ => None,
        }
    }

    /// Whether the request may succeed later without anyone changing anything.
    pub fn retry(&self) -> Retry {
        match self.code() {
            // Refused for what the request is or who sent it: the same request fails again.
            Some(400 | 401 | 403 | 404 | 405 | 406 | 413 | 415 | 422) => Retry::WaitForChange,
            // Conflicts, throttling, timeouts, server errors, and no answer at all.
            _ => Retry::Backoff,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            kube::Error::Api(status) => {
                write!(f, "{} {}: {}", status.code, status.reason, status.message)
            }
            other => write!(f, "{other}"),
        }
    }
}

impl StdError for ApiError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.0 {
            // The answer's message is the whole story.
            kube::Error::Api(_) => None,
            // kube's own message already prints its inner error; go on below it.
            other => other.source().and_then(StdError::source),
        }
    }
}

/// An error and its causes in one line, "what: why: why", each cause once even when a library's
/// message already quotes its own cause.
pub fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(source) = cause {
        let part = source.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = source.source();
    }
    // API servers and apps quote what a tenant wrote in their errors; this text goes to logs,
    // status and Events, so it goes through the one sanitizer.
    crate::text::line(&text, CHAIN_MAX_CHARS)
}

/// The longest an error chain is told, in characters.
const CHAIN_MAX_CHARS: usize = 4096;

/// The library's result type.
pub type Result<T, E = ReconcileError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn answered(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(Status {
            code,
            reason: reason.into(),
            message: message.into(),
            ..Status::default()
        }))
    }

    #[test]
    fn the_api_servers_answer_is_shown_once_with_its_code() {
        let error = ReconcileError::change(
            "apply Deployment prod/web",
            answered(
                403,
                "Forbidden",
                "deployments.apps \"web\" is forbidden: User \"op\" cannot patch",
            ),
        );
        assert_eq!(
            chain(&error),
            "cannot apply Deployment prod/web: 403 Forbidden: deployments.apps \"web\" is \
             forbidden: User \"op\" cannot patch"
        );
    }

    #[test]
    fn a_cause_a_library_already_quotes_is_not_repeated() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer: {0}")]
        struct Quoting(#[source] std::io::Error);
        let error = Quoting(std::io::Error::other("disk full"));
        assert_eq!(chain(&error), "outer: disk full");
        let timeout = StartupError::Timeout {
            url: "https://127.0.0.1:6443".into(),
            timeout: Duration::from_secs(3),
        };
        assert_eq!(
            chain(&timeout),
            "the Kubernetes API server at https://127.0.0.1:6443 did not answer within 3s"
        );
    }

    #[test]
    fn refusals_wait_for_a_change_and_the_rest_back_off() {
        let by_code = |code| ReconcileError::change("x", answered(code, "R", "m"));
        for code in [400, 401, 403, 404, 422] {
            assert_eq!(by_code(code).retry(), Retry::WaitForChange, "{code}");
        }
        for code in [408, 409, 429, 500, 503, 504] {
            assert_eq!(by_code(code).retry(), Retry::Backoff, "{code}");
        }
        let no_answer = ReconcileError::read(
            "Deployment prod/web",
            kube::Error::Service("connection reset".into()),
        );
        assert_eq!(no_answer.retry(), Retry::Backoff);
        assert_eq!(no_answer.category().as_str(), "unreachable");
    }

    #[test]
    fn a_stalled_checklist_is_told_why_in_a_reason() {
        let by_code = |code| ReconcileError::change("x", answered(code, "R", "m"));
        assert_eq!(by_code(403).reason(), Reason::Forbidden);
        assert_eq!(by_code(403).category().as_str(), "forbidden");
        assert_eq!(by_code(422).reason(), Reason::Rejected);
        assert_eq!(by_code(409).category().as_str(), "conflict");
        let missing = ReconcileError::MissingField {
            name: "web".into(),
            field: "metadata.namespace",
        };
        assert_eq!(missing.reason(), Reason::InternalError);
        assert_eq!(missing.retry(), Retry::WaitForChange);
    }
}
