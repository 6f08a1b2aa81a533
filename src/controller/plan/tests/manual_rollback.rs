//! A person asks for an earlier revision (checklist.dev/rollback): restored through the same
//! rollback as a failure, recorded as a manual rollback, refused with nothing changed when it
//! cannot be done.

use super::*;
use crate::api::requests::{RollbackRefusal, RollbackTarget};

/// NEW passed after OLD: both Succeeded in the history, NEW stable and serving.
fn ready_on_new() -> (DeploymentChecklistStatus, Observation) {
    let serving =
        deployed_new(RolloutProgress::Complete).verifying(VerificationObservation::Passed);
    let mut status = ready_on_old();
    for _ in 0..4 {
        status = run(&spec(), &status, &serving).status;
    }
    assert_eq!(status.phase, Some(Phase::Ready), "{:?}", status.message);
    (status, serving)
}

fn back_to_old(revision: i64) -> Option<(String, Result<RollbackTarget, RollbackRefusal>)> {
    Some((
        format!("{revision}@1"),
        Ok(RollbackTarget {
            revision,
            image: "ghcr.io/acme/dialectic:1.4.2".into(),
            hash: OLD.into(),
        }),
    ))
}

#[test]
fn a_ready_revision_is_rolled_back_to_an_earlier_one_on_request() {
    let (status, serving) = ready_on_new();
    let old_number = status.history[0].revision;
    let asked = Observation {
        rollback_request: back_to_old(old_number),
        ..serving.clone()
    };
    let plan = run(&spec(), &status, &asked);
    assert!(plan.changes.contains(&restore_old()), "{:?}", plan.changes);
    assert!(plan.changes.contains(&Change::StopVerification));
    assert_eq!(plan.status.phase, Some(Phase::RollingBack));
    assert_eq!(plan.status.rollback_token.as_deref(), Some("1@1"));
    let stable = plan.status.revision.as_ref().unwrap().stable.as_ref();
    assert_eq!(stable.map(|s| s.hash.as_str()), Some(OLD));
    let last = plan.status.history.last().unwrap();
    assert_eq!(last.reason.as_deref(), Some("ManualRollback"));
    assert_eq!(last.outcome, RevisionOutcome::Failed);
    assert!(
        plan.notes.iter().any(|n| n.reason == Reason::ManualRollback
            && n.message
                .contains("revision 1 (ghcr.io/acme/dialectic:1.4.2)")),
        "{:?}",
        plan.notes
    );

    // OLD's pods are back and NEW's down-migration ran (the example's policy): RolledBack,
    // recorded as a manual rollback, and it stays so.
    let restored = serving
        .down_migrated(JobState::Succeeded)
        .deployed(OLD, RolloutProgress::Complete)
        .verifying(VerificationObservation::NotStarted);
    let done = run(&spec(), &plan.status, &restored);
    assert_eq!(done.status.phase, Some(Phase::RolledBack));
    assert_eq!(
        done.status.history.last().unwrap().outcome,
        RevisionOutcome::RolledBack
    );
    let message = done.status.message.clone().unwrap();
    assert!(
        message.contains("a person asked for revision 1"),
        "{message}"
    );
    let again = run(&spec(), &done.status, &restored);
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert_eq!(again.status, done.status);
}

#[test]
fn a_release_in_progress_can_be_rolled_back_to_the_stable_revision() {
    let verifying = Observation {
        verification: VerificationObservation::Running,
        rollback_request: back_to_old(1),
        ..deployed_new(RolloutProgress::Complete)
    };
    let plan = run(&spec(), &ready_on_old(), &verifying);
    assert!(plan.changes.contains(&restore_old()), "{:?}", plan.changes);
    assert_eq!(plan.status.phase, Some(Phase::RollingBack));
}

#[test]
fn the_policy_does_not_stop_a_rollback_a_person_asked_for() {
    let (status, serving) = ready_on_new();
    let mut off = spec();
    off.rollback.automatic = false;
    let asked = Observation {
        rollback_request: back_to_old(1),
        ..serving
    };
    let plan = run(&off, &status, &asked);
    assert!(plan.changes.contains(&restore_old()), "{:?}", plan.changes);
}

#[test]
fn a_request_that_cannot_be_done_is_refused_and_changes_nothing() {
    let (status, serving) = ready_on_new();
    let refusals = [
        (
            Err(RollbackRefusal::NotInHistory {
                revision: 9,
                kept: "revisions 1 to 2".into(),
            }),
            true,
            "revision 9 is not in the history",
        ),
        (
            back_to_old(1).unwrap().1,
            false,
            "its stored spec, ControllerRevision dialectic-aaaaaaaaaa, is gone",
        ),
    ];
    for (target, record, expected) in refusals {
        let asked = Observation {
            rollback_request: Some(("9".into(), target)),
            stable_spec_available: record,
            ..serving.clone()
        };
        let plan = run(&spec(), &status, &asked);
        assert_eq!(plan.status.phase, Some(Phase::Ready));
        assert!(
            !plan
                .changes
                .iter()
                .any(|c| matches!(c, Change::RestoreStable { .. })),
            "{:?}",
            plan.changes
        );
        assert_eq!(plan.status.rollback_token.as_deref(), Some("9"));
        assert_eq!(
            plan.status.revision.as_ref().unwrap().stable,
            status.revision.as_ref().unwrap().stable
        );
        let refused = plan
            .notes
            .iter()
            .find(|n| n.reason == Reason::RollbackRefused)
            .unwrap_or_else(|| panic!("no RollbackRefused note: {:?}", plan.notes));
        assert!(refused.message.contains(expected), "{}", refused.message);
    }
}
