//! The check kinds, one file each: the kind's judgement (pure: the answers it is given) and its
//! [`Kind`](kind::Kind), which sends its requests through what the engine lends it and lints
//! its spec. `kind` says what a kind is, and [`of`] registers each; `lint` holds the CRD rules several
//! kinds share; `judge` runs a judgement off the runtime's workers under a deadline.

pub mod headers;
pub mod http;
pub mod job;
pub mod judge;
pub mod kind;
pub mod latency;
pub mod lint;
pub mod prometheus;
pub mod prometheus_scope;
pub mod rate_limit;
pub mod redirect;

use super::json::Dependency;
use crate::api::verification::CheckRef;

/// The behaviour of the kind `check` is: with the `mod` line above, the registration of a kind.
pub fn of(check: CheckRef<'_>) -> &dyn kind::Kind {
    match check {
        CheckRef::Http(check) => check,
        CheckRef::HttpsRedirect(check) => check,
        CheckRef::SecurityHeaders(check) => check,
        CheckRef::RateLimit(check) => check,
        CheckRef::Latency(check) => check,
        CheckRef::Prometheus(check) => check,
        CheckRef::Job(check) => check,
    }
}

/// A check's judgement of what it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Whether the check passed.
    pub passed: bool,
    /// A short, actionable message: what was expected and what came back.
    pub message: String,
    /// The dependencies read from a deep health body, if the check reads them.
    pub dependencies: Vec<Dependency>,
}

impl Evaluation {
    /// A pass with a message.
    pub fn pass(message: impl Into<String>) -> Self {
        Self {
            passed: true,
            message: message.into(),
            dependencies: Vec::new(),
        }
    }

    /// A failure with a message.
    pub fn fail(message: impl Into<String>) -> Self {
        Self {
            passed: false,
            message: message.into(),
            dependencies: Vec::new(),
        }
    }

    /// Passes when no problem was found, else fails with the problems joined.
    fn from_problems(problems: Vec<String>, pass_message: String) -> Self {
        if problems.is_empty() {
            Self::pass(pass_message)
        } else {
            Self::fail(problems.join("; "))
        }
    }
}

/// "200", "200 or 204", "301, 302 or 308": a list of statuses as a sentence.
pub fn either(statuses: &[i32]) -> String {
    match statuses {
        [] => String::new(),
        [only] => only.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(i32::to_string).collect();
            format!("{} or {last}", init.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_read_as_sentences() {
        assert_eq!(either(&[200]), "200");
        assert_eq!(either(&[301, 308]), "301 or 308");
        assert_eq!(either(&[200, 201, 204]), "200, 201 or 204");
    }
}
