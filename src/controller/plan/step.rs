//! What a step of the walk returns: wait, done, or the failure that stops the revision. Shared
//! by the walk, the strategies and the rollback policy, and depending on none of them.

use crate::api::{Reason, RollbackTrigger};

/// How far one step of the walk got: the explicit result each step returns, instead of a
/// `Result` used for control flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// Not there yet: the status says what is awaited, and a watch or the safety net brings the
    /// next look.
    Wait,
    /// Done: the walk goes on to the next step.
    Done,
    /// The revision failed; the rollback policy decides what follows.
    Failed(Failure),
}

/// Why a revision failed: the rollback trigger and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    /// None only for a failure recorded by an operator version that kept the trigger in the
    /// history entry's text: the decision it made then stands (see `Planner::roll_back`).
    pub(super) trigger: Option<RollbackTrigger>,
    /// What failed and how, for the status message, the Event and the history entry.
    pub(super) message: String,
    /// What was seen, for the condition of the step that failed.
    pub(super) detail: String,
    /// A person ended the revision (an abort, a rollback request): the stable revision is
    /// restored whatever the rollback policy says.
    pub(super) requested: Option<Request>,
    /// The reason of its Events when not the trigger's (a hook's failure is HookFailed under
    /// the MigrationFailed trigger).
    pub(super) reason: Option<Reason>,
}

/// What a person asked that ends the current revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Request {
    /// checklist.dev/abort: stop the release in progress.
    Abort,
    /// checklist.dev/rollback: restore an earlier revision that passed.
    Rollback,
}

impl Request {
    /// The request a history entry's reason records, if it records one.
    pub(super) fn recorded(reason: Option<&str>) -> Option<Self> {
        match reason? {
            r if r == Reason::Aborted.as_str() => Some(Self::Abort),
            r if r == Reason::ManualRollback.as_str() => Some(Self::Rollback),
            _ => None,
        }
    }
}

impl Failure {
    /// A failure of `what` (e.g. "migration failed") that saw `detail`.
    pub(super) fn new(trigger: RollbackTrigger, what: &str, detail: &str) -> Self {
        Self {
            trigger: Some(trigger),
            message: format!("{what}: {detail}"),
            detail: detail.to_string(),
            requested: None,
            reason: None,
        }
    }

    /// The release was aborted by a person.
    pub(super) fn aborted() -> Self {
        let message = "aborted by a person (checklist.dev/abort)".to_string();
        Self {
            trigger: None,
            detail: message.clone(),
            message,
            requested: Some(Request::Abort),
            reason: None,
        }
    }

    /// A person asked for an earlier revision: `revision` of the history, running `image`.
    pub(super) fn rollback_requested(revision: i64, image: &str) -> Self {
        let message =
            format!("a person asked for revision {revision} ({image}) with checklist.dev/rollback");
        Self {
            trigger: None,
            detail: message.clone(),
            message,
            requested: Some(Request::Rollback),
            reason: None,
        }
    }

    /// The reason its Events and history entry carry: the trigger's name, Aborted or
    /// ManualRollback.
    pub(super) fn reason(&self) -> Reason {
        match (self.requested, self.reason) {
            (Some(Request::Abort), _) => Reason::Aborted,
            (Some(Request::Rollback), _) => Reason::ManualRollback,
            (None, Some(reason)) => reason,
            (None, None) => self.trigger.map_or(Reason::Failed, Reason::from),
        }
    }
}
