//! The result of one check in one round, as the engine hands it on to the rounds, the report,
//! the redactor and the status.

use super::json::Dependency;
use crate::api::{CheckKind, CheckResult};

/// The result of one check in one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// The check's name.
    pub name: String,
    /// Its kind, or None when the spec set no kind or several.
    pub kind: Option<CheckKind>,
    /// Pass, Fail or Skipped.
    pub result: CheckResult,
    /// What was seen, short and actionable.
    pub message: String,
    /// How long the check's requests took, in milliseconds.
    pub latency_ms: Option<u64>,
    /// How many requests were sent.
    pub attempts: u32,
    /// The HTTP status of the last response, None when no response came.
    pub status: Option<u16>,
    /// Dependencies read from a deep health body.
    pub dependencies: Vec<Dependency>,
    /// Whether the message is the operator's own measurement (a percentile, a query's value),
    /// which says more of a failure than the HTTP status does.
    pub measured: bool,
}

impl CheckOutcome {
    /// Whether the check passed.
    pub fn passed(&self) -> bool {
        self.result == CheckResult::Pass
    }

    /// The outcome as people may see it: the check's name, the message and every dependency
    /// (at most [`DEPENDENCIES_SHOWN`]) through the tenant-text sanitizer, so status, Events,
    /// logs and `verify`'s output all get the same clean, bounded text.
    pub(super) fn shown(mut self) -> Self {
        self.name = crate::text::line(&self.name, 253);
        self.message = crate::text::line(&self.message, OUTCOME_MESSAGE_MAX_CHARS);
        self.dependencies.truncate(DEPENDENCIES_SHOWN);
        for dependency in &mut self.dependencies {
            dependency.name = crate::text::line(&dependency.name, 253);
            dependency.state = crate::text::line(&dependency.state, 256);
        }
        self
    }
}

/// The longest an outcome's message is, in characters (the status's limit for a check).
pub const OUTCOME_MESSAGE_MAX_CHARS: usize = 1024;

/// The most dependencies one outcome keeps from a deep health body (the status's limit).
pub const DEPENDENCIES_SHOWN: usize = 128;
