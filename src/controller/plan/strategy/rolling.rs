//! RollingUpdate: one Deployment whose pod template is replaced; Kubernetes moves the pods a few
//! at a time (maxSurge, maxUnavailable). Progress is the Deployment's, read like
//! `kubectl rollout status`, and faster than the progress deadline by the new pods' restarts.

use crate::controller::observe::{Observation, RolloutProgress};

use super::{Change, Planner, Progress, Step, Strategy, progress_step};

/// The RollingUpdate strategy.
pub(in crate::controller::plan) struct Rolling;

impl Strategy for Rolling {
    fn release(&self, planner: &mut Planner<'_>) -> Step {
        match planner.rollout_step(roll_out(planner.observed)) {
            Step::Done => planner.verification_step(),
            stopped => stopped,
        }
    }

    fn restore(&self, planner: &Planner<'_>, stable: &str) -> Progress {
        restore(planner.observed, stable)
    }
}

/// Brings the current revision towards serving every replica: what to apply, and whether it is
/// done, still coming up, or failed (progress deadline, crash loop).
fn roll_out(observed: &Observation) -> Progress {
    let revision = &observed.revision.hash;
    let rollout = &observed.rollout;
    if rollout.deployed.as_deref() != Some(revision.as_str()) {
        // The spec is recorded before it runs, so a later rollback can always rebuild it.
        return Progress {
            changes: vec![
                Change::SaveRevision {
                    revision: revision.clone(),
                },
                Change::ApplyCurrent {
                    revision: revision.clone(),
                },
            ],
            step: Step::Wait,
        };
    }
    Progress {
        changes: Vec::new(),
        step: progress_step(&rollout.progress),
    }
}

/// Brings the `stable` revision's template back; Done once its pods all serve again.
fn restore(observed: &Observation, stable: &str) -> Progress {
    let rollout = &observed.rollout;
    if rollout.deployed.as_deref() != Some(stable) {
        return Progress {
            changes: vec![Change::RestoreStable {
                revision: stable.to_string(),
            }],
            step: Step::Wait,
        };
    }
    // The stable template is back; it serves again once its pods are all available. A
    // restored revision that does not come up is waited for, not rolled back again.
    let step = match rollout.progress {
        RolloutProgress::Complete => Step::Done,
        _ => Step::Wait,
    };
    Progress {
        changes: Vec::new(),
        step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RollbackTrigger;
    use crate::controller::observe::{
        HookJobs, JobState, Revision, RolloutObservation, TrafficObservation,
        VerificationObservation,
    };

    fn observed(deployed: Option<&str>, progress: RolloutProgress) -> Observation {
        Observation {
            revision: Revision {
                hash: "new".into(),
                image: "app:2".into(),
                references: Vec::new(),
            },
            secrets: Vec::new(),
            migration: JobState::NotNeeded,
            hooks: HookJobs::default(),
            rollout: RolloutObservation {
                deployed: deployed.map(str::to_string),
                progress,
            },
            verification: VerificationObservation::NotStarted,
            verification_results: None,
            rollback_migration: JobState::NotNeeded,
            stable_spec_available: true,
            retry_token: None,
            traffic: TrafficObservation::default(),
            promote_token: None,
            abort_token: None,
            drift: Vec::new(),
            rollback_request: None,
            templates: Vec::new(),
            template_problem: None,
            scaling: Default::default(),
            adoption: None,
            promotion: None,
        }
    }

    #[test]
    fn a_revision_not_deployed_yet_is_saved_then_applied() {
        let progress = roll_out(&observed(Some("old"), RolloutProgress::Complete));
        assert_eq!(
            progress.changes,
            [
                Change::SaveRevision {
                    revision: "new".into()
                },
                Change::ApplyCurrent {
                    revision: "new".into()
                }
            ]
        );
        assert_eq!(progress.step, Step::Wait);
    }

    #[test]
    fn the_deployed_revision_waits_completes_or_fails_with_its_trigger() {
        let step = |progress| roll_out(&observed(Some("new"), progress)).step;
        assert_eq!(step(RolloutProgress::Progressing), Step::Wait);
        assert_eq!(step(RolloutProgress::Complete), Step::Done);
        let Step::Failed(deadline) = step(RolloutProgress::DeadlineExceeded("timed out".into()))
        else {
            panic!("a passed deadline fails the revision");
        };
        assert_eq!(
            deadline.trigger,
            Some(RollbackTrigger::ProgressDeadlineExceeded)
        );
        assert_eq!(deadline.message, "rollout did not progress: timed out");
        assert_eq!(deadline.detail, "timed out");
        let Step::Failed(crash) = step(RolloutProgress::CrashLoop("pod web-1".into())) else {
            panic!("a crash loop fails the revision");
        };
        assert_eq!(crash.trigger, Some(RollbackTrigger::CrashLoop));
    }

    #[test]
    fn restoring_applies_the_stable_template_then_waits_for_its_pods() {
        let apply = restore(&observed(Some("new"), RolloutProgress::Complete), "old");
        assert_eq!(
            apply.changes,
            [Change::RestoreStable {
                revision: "old".into()
            }]
        );
        assert_eq!(apply.step, Step::Wait);
        let coming = restore(&observed(Some("old"), RolloutProgress::Progressing), "old");
        assert!(coming.changes.is_empty());
        assert_eq!(coming.step, Step::Wait);
        let back = restore(
            &observed(Some("old"), RolloutProgress::CrashLoop("x".into())),
            "old",
        );
        assert_eq!(
            back.step,
            Step::Wait,
            "a restored revision is not failed again"
        );
        let done = restore(&observed(Some("old"), RolloutProgress::Complete), "old");
        assert_eq!(done.step, Step::Done);
    }
}
