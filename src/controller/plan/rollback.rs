//! When a revision fails: what is recorded, and the rollback policy — restore the stable
//! revision (with the strategy) and run the down-migration, or stop in Failed with nothing
//! deleted, or, for the stable revision itself, report it Degraded.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{
    ConditionStatus as Status, ConditionType as Cond, HistoryEntry, Phase, Reason, RevisionOutcome,
    RevisionStatus, RollbackMigration, RolloutStage, StableRevision,
};
use crate::controller::observe::JobState;
use crate::resources;

use super::{
    Change, Note, Planner,
    status::Kstatus,
    step::{Failure, Request, Step},
    strategy::Strategy,
};

impl Planner<'_> {
    /// The failure recorded for the current attempt, if it failed.
    pub(super) fn failed_attempt(&self) -> Option<Failure> {
        let last = self.status.history.last()?;
        if last.hash.as_deref() != Some(self.observed.revision.hash.as_str()) {
            return None;
        }
        if !matches!(
            last.outcome,
            RevisionOutcome::Failed | RevisionOutcome::RolledBack
        ) {
            return None;
        }
        let message = last
            .message
            .clone()
            .or_else(|| last.reason.clone())
            .unwrap_or_default();
        Some(Failure {
            trigger: last.trigger,
            detail: message.clone(),
            message,
            requested: Request::recorded(last.reason.as_deref()),
            reason: (last.reason.as_deref() == Some(Reason::HookFailed.as_str()))
                .then_some(Reason::HookFailed),
        })
    }

    /// Closes the current attempt's history entry as Failed and announces the failure.
    pub(super) fn record_failure(&mut self, failure: &Failure) {
        if let Some(last) = self.status.history.last_mut()
            && last.outcome == RevisionOutcome::Progressing
        {
            close(last, failure, self.now);
        }
        self.announce_failure(failure);
    }

    /// Stops the rounds and says why in an Event.
    fn announce_failure(&mut self, failure: &Failure) {
        self.changes.push(Change::StopVerification);
        self.notes.push(Note {
            reason: failure.reason(),
            message: failure.message.clone(),
        });
    }

    /// The stable revision stopped working: Degraded, Ready=False, and nothing rolled back.
    pub(super) fn degrade(&mut self, failure: &Failure) {
        let message = format!(
            "{}; it is the stable revision, so nothing was rolled back",
            failure.message
        );
        self.kstatus(Kstatus::Stalled, Reason::Degraded, &message);
        self.enter(Phase::Degraded, failure.reason(), &message);
    }

    /// After a failure: restore the stable revision when the policy allows and one exists,
    /// else stop in Failed with nothing deleted.
    // Long (about 80 lines) on purpose: the rollback policy in the order a person reads it
    // (no stable revision, automatic off or trigger not listed, stored spec gone, restore,
    // down-migration), each case ending the walk.
    pub(super) fn roll_back(&mut self, strategy: &dyn Strategy, failure: Failure) {
        let stable = self
            .status
            .revision
            .as_ref()
            .and_then(|r| r.stable.clone())
            .filter(|s| s.hash != self.observed.revision.hash);
        let policy = &self.spec.rollback;
        let allowed = failure.requested.is_some()
            || policy.automatic
                && match failure.trigger {
                    Some(trigger) => policy.triggers.contains(&trigger),
                    // Recorded by an earlier version without the trigger: what it decided then, the
                    // phase still shows, and it is not decided differently now.
                    None => matches!(
                        self.status.phase,
                        Some(Phase::RollingBack | Phase::RolledBack)
                    ),
                };
        let why_not = match &stable {
            _ if !allowed => Some("automatic rollback is off for this failure".to_string()),
            None => Some("there is no stable revision to roll back to".to_string()),
            Some(stable) if !self.observed.stable_spec_available => Some(format!(
                "the stored spec of the stable revision {} is missing",
                stable.hash
            )),
            Some(_) => None,
        };
        let nothing_older = stable.is_none();
        let (Some(stable), None) = (stable, &why_not) else {
            // Being adopted, the old Deployment is the version before this one.
            if allowed
                && nothing_older
                && let Some(adopted) = self.adopted_serving()
            {
                self.stand_back(&failure, &adopted);
                return;
            }
            let why = why_not.unwrap_or_default();
            let message = format!("{}; {why}: nothing was changed back", failure.message);
            self.fail(&message);
            return;
        };

        let hash = &self.observed.revision.hash;
        if let Some(rollout) = self.status.rollout.as_mut()
            && &rollout.revision == hash
            && rollout.stage != RolloutStage::Aborted
        {
            rollout.stage = RolloutStage::RolledBack;
            rollout.paused_until = None;
            rollout.summary = "rolled back".into();
        }
        let restore = strategy.restore(self, &stable.hash);
        // The route as read back, so the status shows the weights going back, then back.
        let reading =
            crate::traffic::router(self.name, self.spec).reading(&self.observed.traffic.routes);
        if let Some(rollout) = self.status.rollout.as_mut() {
            rollout.route = reading;
        }
        self.changes.extend(restore.changes);
        let restoring = restore.step != Step::Done;
        let down_migration = policy.migration == RollbackMigration::Run
            && self.observed.migration == JobState::Succeeded;
        let migrating_back = down_migration && self.migrate_back();

        if restoring || migrating_back {
            let message = format!("rolling back to {}: {}", stable.image, failure.message);
            self.kstatus(Kstatus::Progressing, Reason::RollingBack, &message);
            self.set(
                Cond::RolledBack,
                Status::False,
                Reason::RollingBack,
                &message,
            );
            self.enter(Phase::RollingBack, Reason::RollingBack, &message);
            return;
        }
        let mut message = format!(
            "rolled back to {}: {}; the stable version {} serves traffic",
            stable.image, failure.message, stable.image
        );
        if let JobState::Failed(reason) = &self.observed.rollback_migration
            && down_migration
        {
            message.push_str(&format!("; the down-migration failed: {reason}"));
        }
        if let Some(last) = self.status.history.last_mut()
            && last.hash.as_deref() == Some(self.observed.revision.hash.as_str())
        {
            last.outcome = RevisionOutcome::RolledBack;
        }
        self.kstatus(Kstatus::Stalled, Reason::RolledBack, &message);
        self.set(Cond::RolledBack, Status::True, Reason::RolledBack, &message);
        self.enter(Phase::RolledBack, Reason::RolledBack, &message);
    }

    /// A person's request for an earlier revision (checklist.dev/rollback), acted on once per
    /// value: that revision becomes the stable one and the current attempt ends as rolled back by
    /// a person, so the rollback below restores it the way it restores any stable revision. A
    /// request that cannot be done is refused in a Warning Event and changes nothing.
    pub(super) fn take_rollback_request(&mut self) -> Option<Failure> {
        let (token, target) = self.observed.rollback_request.clone()?;
        self.status.rollback_token = Some(token);
        let target = match target {
            Ok(target) if self.observed.stable_spec_available => Ok(target),
            Ok(target) => Err(format!(
                "revision {} ({}): its stored spec, ControllerRevision {}, is gone",
                target.revision,
                target.image,
                resources::revision_record_name(self.name, &target.hash)
            )),
            Err(refusal) => Err(refusal.to_string()),
        };
        let target = match target {
            Ok(target) => target,
            Err(why) => {
                self.notes.push(Note {
                    reason: Reason::RollbackRefused,
                    message: format!("rollback refused, nothing changed: {why}"),
                });
                return None;
            }
        };
        let failure = Failure::rollback_requested(target.revision, &target.image);
        self.status
            .revision
            .get_or_insert_with(RevisionStatus::default)
            .stable = Some(StableRevision {
            image: target.image,
            hash: target.hash,
            since: Some(self.now.clone()),
        });
        // The attempt ends here whatever it had reached, Ready included: a person judged it.
        if let Some(last) = self.status.history.last_mut()
            && last.hash.as_deref() == Some(self.observed.revision.hash.as_str())
        {
            close(last, &failure, self.now);
        }
        self.announce_failure(&failure);
        Some(failure)
    }

    /// Starts the failed revision's down-migration unless it ran; whether it is still running.
    fn migrate_back(&mut self) -> bool {
        match &self.observed.rollback_migration {
            JobState::Absent => {
                self.changes.push(Change::CreateRollbackMigrationJob {
                    revision: self.observed.revision.hash.clone(),
                });
                true
            }
            JobState::Running => true,
            JobState::NotNeeded | JobState::Succeeded | JobState::Failed(_) => false,
        }
    }

    /// Stops with nothing changed back.
    pub(super) fn fail(&mut self, message: &str) {
        self.kstatus(Kstatus::Stalled, Reason::Failed, message);
        self.enter(Phase::Failed, Reason::Failed, message);
    }
}

/// Ends a history entry as Failed by `failure` at `now`.
fn close(entry: &mut HistoryEntry, failure: &Failure, now: &Time) {
    entry.outcome = RevisionOutcome::Failed;
    entry.trigger = failure.trigger;
    entry.reason = Some(failure.reason().as_str().to_string());
    entry.message = Some(failure.message.clone());
    entry.finished_at = Some(now.clone());
}
