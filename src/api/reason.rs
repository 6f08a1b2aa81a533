//! The reasons the operator gives: the `reason` of every condition and Event it writes and the
//! `reason` label of its transition metric.
//!
//! They are API: Argo CD health scripts, alert rules and people's `kubectl get events
//! --field-selector reason=…` match on them, so each is spelled once, here, and listed in the
//! README's status section (a test holds the two together).

use std::fmt;

use super::rollback::RollbackTrigger;

/// Why a checklist is where it is.
// The word is the variant's name (strum), so a new reason cannot be misspelled or left out of
// `all()`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, strum::EnumIter, strum::IntoStaticStr,
)]
pub enum Reason {
    /// A new revision of the spec (or a retry of a failed one) started from the top.
    RevisionStarted,
    /// A retry was asked for: the Jobs of the failed attempt are being removed first.
    Retrying,
    /// Every required key of spec.secrets exists and meets its rule.
    SecretsValid,
    /// A required Secret or key is missing, empty, too short or does not match its pattern.
    SecretInvalid,
    /// A hook Job of spec.hooks is running.
    RunningHook,
    /// A hook Job of spec.hooks failed or timed out; the message names the hook and why.
    HookFailed,
    /// The migration Job of the new revision is running.
    Migrating,
    /// The migration Job completed.
    MigrationSucceeded,
    /// The migration Job failed or ran past its deadline.
    MigrationFailed,
    /// The new pods are coming up.
    RollingOut,
    /// Every replica runs the new revision and is available.
    RolloutComplete,
    /// The new pods did not become available within spec.rollout.progressDeadlineSeconds.
    ProgressDeadlineExceeded,
    /// A new container restarted more than spec.rollout.maxRestarts times or sits in
    /// CrashLoopBackOff.
    CrashLoop,
    /// The HTTP checks are running against the new version.
    Verifying,
    /// The last verification round passed.
    VerificationPassed,
    /// spec.verification.failureThreshold rounds in a row failed.
    VerificationFailed,
    /// A round passed with warning checks failing; the message names them.
    VerificationWarning,
    /// BlueGreen or Canary: the new pods of the next stage are coming up (a canary step, the
    /// preview pods, all replicas at the end of a canary).
    StepStarted,
    /// A canary step passed its checks and holds for its pause before the next one.
    Paused,
    /// A step passed its checks and waits for a person to promote (checklist.dev/promote).
    WaitingForPromotion,
    /// BlueGreen: the app's Service switched to the new pods; Canary: a pause ended early at a
    /// person's request.
    Promoted,
    /// A person aborted the release (checklist.dev/abort); the stable version serves.
    Aborted,
    /// A field of an object the operator owns was changed by hand and was put back.
    Drift,
    /// The HTTPRoute of spec.rollout.trafficRouting is missing or cannot carry a release (no
    /// rule sends to the app's Service, the preview or canary Service is not one of its
    /// backends, no room for the revision header's rule); the message says which. Nothing
    /// moves users until it is fixed.
    RouteUnusable,
    /// Another field manager changed the HTTPRoute weights the operator set while a release was
    /// under way; the operator does not write over them and the release waits until they are
    /// handed back (the message says how) or it is aborted.
    RouteContested,
    /// The revision passed its checklist and serves traffic.
    Ready,
    /// spec.app.adopt: a revision of the checklist is Ready, so the adopted Deployment was
    /// scaled to 0 or deleted, as spec.app.adopt.afterReady says; the message names it.
    HandedOver,
    /// The stable revision stopped working (continuous checks fail, its pods crash-loop); there
    /// is nothing older to restore, so nothing was rolled back.
    Degraded,
    /// The stable revision is being restored after a failure.
    RollingBack,
    /// The stable revision was restored after a failure and serves traffic.
    RolledBack,
    /// A person asked for an earlier revision (checklist.dev/rollback): it is being restored
    /// the way a failed revision is rolled back.
    ManualRollback,
    /// A rollback request (checklist.dev/rollback) names a revision that cannot be restored;
    /// the Event says why, and nothing was changed.
    RollbackRefused,
    /// A notification could not be delivered (after its retries), was refused by the egress
    /// guard, or its target's URL could not be read; the Event names the target, never its URL.
    NotificationFailed,
    /// The API server refused the status the operator wrote; a shorter one (phase, conditions,
    /// revision, history) was written instead, and the Event says what was refused.
    StatusRefused,
    /// The revision failed and nothing was changed back: automatic rollback is off for the
    /// failure, or there is no stable revision to restore.
    Failed,
    /// spec.suspend is true: the operator observes and reports but changes nothing.
    Suspended,
    /// spec.rollout.strategy names a strategy this operator version cannot run.
    UnsupportedStrategy,
    /// The object does not parse as a DeploymentChecklist of this operator version.
    InvalidSpec,
    /// A template of spec.verification.templates is missing, lacks a parameter or resolves to
    /// a check the checklist's rules refuse; the message names which, and nothing was changed.
    InvalidTemplate,
    /// The spec asks for what the operator's settings do not allow (a ServiceAccount, its token,
    /// a security override outside the restricted Pod Security Standard, dependencies read
    /// without a list of names); the message names the field and the flag, and nothing was
    /// applied.
    PolicyRefused,
    /// The API server refused the operator a request: its RBAC lacks a rule. Retried after a
    /// change to the checklist, and every 5 minutes.
    Forbidden,
    /// The API server refused an object the operator built from the spec. Retried after a
    /// change to the checklist, and every 5 minutes.
    Rejected,
    /// The operator failed in a way that is its own bug; the message says where.
    InternalError,
}

impl Reason {
    /// Every reason, in the order a release meets them.
    pub fn all() -> impl Iterator<Item = Reason> {
        <Reason as strum::IntoEnumIterator>::iter()
    }

    /// The CamelCase word written to conditions, Events and metric labels.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether an Event with this reason is a Warning: something went wrong or needs a person.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            Reason::SecretInvalid
                | Reason::HookFailed
                | Reason::MigrationFailed
                | Reason::ProgressDeadlineExceeded
                | Reason::CrashLoop
                | Reason::VerificationFailed
                | Reason::VerificationWarning
                | Reason::Degraded
                | Reason::RollingBack
                | Reason::RolledBack
                | Reason::Failed
                | Reason::UnsupportedStrategy
                | Reason::WaitingForPromotion
                | Reason::Aborted
                | Reason::ManualRollback
                | Reason::RollbackRefused
                | Reason::NotificationFailed
                | Reason::StatusRefused
                | Reason::Drift
                | Reason::RouteUnusable
                | Reason::RouteContested
                | Reason::InvalidSpec
                | Reason::InvalidTemplate
                | Reason::PolicyRefused
                | Reason::Forbidden
                | Reason::Rejected
                | Reason::InternalError
        )
    }
}

impl From<RollbackTrigger> for Reason {
    fn from(trigger: RollbackTrigger) -> Self {
        match trigger {
            RollbackTrigger::MigrationFailed => Reason::MigrationFailed,
            RollbackTrigger::ProgressDeadlineExceeded => Reason::ProgressDeadlineExceeded,
            RollbackTrigger::CrashLoop => Reason::CrashLoop,
            RollbackTrigger::VerificationFailed => Reason::VerificationFailed,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_spelled_as_its_name() {
        assert_eq!(Reason::all().count(), 43);
        for reason in Reason::all() {
            assert_eq!(reason.as_str(), format!("{reason:?}"));
        }
    }

    #[test]
    fn a_trigger_is_reported_under_its_own_name() {
        for trigger in RollbackTrigger::ALL {
            assert_eq!(Reason::from(trigger).as_str(), format!("{trigger:?}"));
            assert!(Reason::from(trigger).is_warning());
        }
    }

    /// The README's status section is where users look them up: each reason has its row.
    #[test]
    fn the_readme_documents_every_reason() {
        let readme = include_str!("../../README.md");
        for reason in Reason::all() {
            let row = format!("| `{reason}` |");
            assert!(readme.contains(&row), "README.md has no row {row}");
        }
    }
}
