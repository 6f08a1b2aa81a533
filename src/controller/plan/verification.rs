//! The verification gate: rounds of HTTP checks against the new version before it becomes the
//! stable one, continuous rounds after, and their results copied into status.

use crate::api::{
    CheckResult, CheckStatus, ConditionStatus as Status, ConditionType as Cond, Phase, Reason,
    RollbackTrigger, Severity,
};
use crate::controller::observe::{VerificationObservation, VerificationResults};
use crate::resources;

use super::{
    Change, Endpoint, Note, Planner,
    step::{Failure, Step},
};

/// What a verification gate verifies: a stage of a release (or the revision as a whole) and
/// where its checks go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Gate {
    /// The stage (`preview`, `step1`, `promoted`), or None for the revision as a whole.
    pub(super) stage: Option<String>,
    /// Where the checks are sent.
    pub(super) endpoint: Endpoint,
}

impl Gate {
    /// The revision as a whole, checked through the app's own URL.
    pub(super) fn app() -> Self {
        Self {
            stage: None,
            endpoint: Endpoint::App,
        }
    }
}

impl Planner<'_> {
    /// Verifying: the checks must pass before the revision is Ready; a revision that already
    /// passed stays Ready while continuous rounds (when asked for) do not fail.
    pub(super) fn verification_step(&mut self) -> Step {
        self.verify(&Gate::app(), "verifying the new version over HTTP")
    }

    /// The verification of `gate`: rounds started once, the verdict read back; `doing` is the
    /// status message while the rounds run.
    pub(super) fn verify(&mut self, gate: &Gate, doing: &str) -> Step {
        if self.spec.verification.checks.is_empty() {
            return Step::Done;
        }
        // Results observed before this attempt (or stage) started belong to the one before.
        let verification = if self.fresh_start || self.fresh_stage {
            VerificationObservation::NotStarted
        } else {
            self.observed.verification.clone()
        };
        if self.current_succeeded() {
            return self.keep_verified(&verification);
        }
        match verification {
            VerificationObservation::NotStarted | VerificationObservation::Running => {
                if verification == VerificationObservation::NotStarted {
                    self.changes.push(Change::StartVerification {
                        revision: self.observed.revision.hash.clone(),
                        stage: gate.stage.clone(),
                        endpoint: gate.endpoint,
                        verified: false,
                        failed_rounds: self.failed_rounds_so_far(),
                    });
                }
                self.set(
                    Cond::Verified,
                    Status::Unknown,
                    Reason::Verifying,
                    "verification rounds running",
                );
                self.progress(Phase::Verifying, Reason::Verifying, doing);
                Step::Wait
            }
            VerificationObservation::Failed(message) => {
                Step::Failed(self.verification_failed("verification failed", &message))
            }
            VerificationObservation::Passed => {
                self.status.verified_checks =
                    Some(resources::checks_digest(&self.spec.verification));
                self.verification_passed();
                Step::Done
            }
        }
    }

    /// A revision that already passed: a failed verdict degrades it (see
    /// [`Planner::degrade`]), never rolls it back. When its checks changed since it passed (a
    /// template's, or the checklist's own), it is verified again with the new ones, as it runs.
    fn keep_verified(&mut self, verification: &VerificationObservation) -> Step {
        if let VerificationObservation::Failed(message) = verification {
            return Step::Failed(
                self.verification_failed("continuous verification failed", message),
            );
        }
        let digest = resources::checks_digest(&self.spec.verification);
        if *verification == VerificationObservation::Passed {
            self.status.verified_checks = Some(digest);
            self.verification_passed();
            return Step::Done;
        }
        let changed = self
            .status
            .verified_checks
            .as_ref()
            .is_some_and(|passed| *passed != digest);
        if *verification == VerificationObservation::NotStarted
            && (changed || self.spec.verification.continuous)
        {
            self.changes.push(Change::StartVerification {
                revision: self.observed.revision.hash.clone(),
                stage: None,
                endpoint: Endpoint::App,
                verified: true,
                failed_rounds: self.failed_rounds_so_far(),
            });
        }
        if changed {
            self.set(
                Cond::Verified,
                Status::Unknown,
                Reason::Verifying,
                "the checks changed since this version passed: verifying it again with the new ones",
            );
            return Step::Done;
        }
        // A status written before the digest was kept: what runs now is what passed.
        self.status.verified_checks = Some(digest);
        self.verification_passed();
        Step::Done
    }

    /// Verified=True; failed warning checks are named in its message, and announced by a
    /// Warning Event whenever that list changes.
    fn verification_passed(&mut self) {
        let message = match failed_warnings(&self.status.checks).as_slice() {
            [] => "every check passed".to_string(),
            failed => format!(
                "every critical check passed; {} warning{} failed: {}",
                failed.len(),
                if failed.len() == 1 { "" } else { "s" },
                failed.join(", ")
            ),
        };
        let said_before = self
            .status
            .condition(Cond::Verified)
            .is_some_and(|c| c.message == message);
        if message != "every check passed" && !said_before {
            self.notes.push(Note {
                reason: Reason::VerificationWarning,
                message: message.clone(),
            });
        }
        self.set(
            Cond::Verified,
            Status::True,
            Reason::VerificationPassed,
            &message,
        );
    }

    fn verification_failed(&mut self, what: &str, message: &str) -> Failure {
        self.set(
            Cond::Verified,
            Status::False,
            Reason::VerificationFailed,
            message,
        );
        Failure::new(RollbackTrigger::VerificationFailed, what, message)
    }

    /// The failed rounds in a row that status holds for this attempt: where a restarted
    /// operator's rounds resume counting. A fresh attempt counts from zero.
    fn failed_rounds_so_far(&self) -> u32 {
        if self.fresh_start || self.fresh_stage {
            return 0;
        }
        self.status
            .failed_rounds
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    }

    /// Copies the latest round's results into status. While verifying every round is news; while
    /// Ready only a changed result is, and what continuous rounds left out keeps its last result.
    pub(super) fn take_verification_results(&mut self) {
        self.take_results();
        // Checks no longer in the spec (a template dropped one) leave the status with it.
        let names: Vec<&str> = self
            .spec
            .verification
            .checks
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        self.status
            .checks
            .retain(|c| names.contains(&c.name.as_str()));
        self.status
            .dependencies
            .retain(|d| names.contains(&d.check.as_str()));
    }

    fn take_results(&mut self) {
        if self.fresh_start {
            return;
        }
        let Some(results) = &self.observed.verification_results else {
            return;
        };
        self.status.failed_rounds = match results.failed_rounds {
            0 => None,
            n => i32::try_from(n).ok(),
        };
        let previous = VerificationResults {
            checks: self.status.checks.clone(),
            dependencies: self.status.dependencies.clone(),
            failed_rounds: 0,
        };
        if !self.current_succeeded() {
            self.status.checks = results.checks.clone();
            self.status.dependencies = results.dependencies.clone();
            return;
        }
        let results = results.clone().over(&previous);
        if !results.same_as(&previous) {
            self.status.checks = results.checks;
            self.status.dependencies = results.dependencies;
        }
    }
}

/// The warning checks (not dryRun) whose latest result is not a pass, by name.
pub(super) fn failed_warnings(checks: &[CheckStatus]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| c.severity == Severity::Warning && !c.dry_run)
        .filter(|c| c.result != CheckResult::Pass)
        .map(|c| c.name.as_str())
        .collect()
}
