//! The hooks of spec.hooks in the walk: preMigration before the migration, postPromotion once
//! the new version takes all traffic. Each runs once per revision: its Job is named after the
//! revision, and status.hooks records how it ended, so neither a restart nor a deleted Job runs
//! it again.

use crate::api::{HookName, HookStatus, MigrationState, Phase, Reason, RollbackTrigger};
use crate::controller::observe::JobState;

use super::{
    Change, Planner,
    step::{Failure, Step},
};

impl Planner<'_> {
    /// preMigration: a failure stops the revision before anything running changes.
    pub(super) fn pre_migration_step(&mut self) -> Step {
        self.hook_step(HookName::PreMigration)
    }

    /// postPromotion: the new version serves all traffic and passed its checks. A failure rolls
    /// back only with rollbackOnFailure; otherwise the version is Ready (it serves, verified)
    /// and the failure degrades it, so nothing serving is taken away for a cleanup step.
    pub(super) fn post_promotion_step(&mut self) -> Step {
        let step = self.hook_step(HookName::PostPromotion);
        let rolls_back = self
            .spec
            .hooks
            .as_ref()
            .and_then(|h| h.post_promotion.as_ref())
            .is_some_and(|h| h.rollback_on_failure);
        if matches!(step, Step::Failed(_)) && !rolls_back && !self.current_succeeded() {
            self.become_ready();
        }
        step
    }

    /// One hook's Job: created once, waited for, its end recorded.
    fn hook_step(&mut self, hook: HookName) -> Step {
        let revision = self.observed.revision.hash.clone();
        let job = crate::resources::hook_job_name(self.name, hook, &revision);
        match self.hook_state(hook) {
            JobState::NotNeeded => Step::Done,
            state @ (JobState::Absent | JobState::Running) => {
                if state == JobState::Absent {
                    self.changes.push(Change::CreateHookJob {
                        hook,
                        revision: revision.clone(),
                    });
                }
                self.hook_status(hook, &job, MigrationState::Running, None);
                self.progress(
                    Phase::RunningHook,
                    Reason::RunningHook,
                    &format!("running the {} hook Job {job}", hook.as_str()),
                );
                Step::Wait
            }
            JobState::Succeeded => {
                self.hook_status(hook, &job, MigrationState::Succeeded, None);
                Step::Done
            }
            JobState::Failed(reason) => {
                self.hook_status(hook, &job, MigrationState::Failed, Some(reason.clone()));
                // A backup before and a contract step after are parts of the migration: its
                // trigger, under a reason of their own.
                Step::Failed(Failure {
                    reason: Some(Reason::HookFailed),
                    ..Failure::new(
                        RollbackTrigger::MigrationFailed,
                        &format!("the {} hook Job {job} failed", hook.as_str()),
                        &reason,
                    )
                })
            }
        }
    }

    /// The hook's Job as observed, unless status says it already ended for this revision and
    /// the Job is gone: then how it ended, so it is not run twice.
    fn hook_state(&self, hook: HookName) -> JobState {
        let observed = self.observed.hooks.of(hook).clone();
        if observed != JobState::Absent {
            return observed;
        }
        let recorded = self
            .status
            .hooks
            .iter()
            .find(|h| h.name == hook && h.revision == self.observed.revision.hash);
        match recorded {
            Some(h) => {
                super::status::recorded_end(h.state, h.message.as_ref()).unwrap_or(JobState::Absent)
            }
            // A hook added to a checklist whose revision already succeeded is for the next
            // release: hooks are not part of the revision, so adding one is no release, and a
            // contract step must not run against a version that serves without it.
            None if self.current_succeeded() => JobState::NotNeeded,
            None => JobState::Absent,
        }
    }

    /// status.hooks for `hook` of the current revision, keeping when it started and finished;
    /// entries of other revisions go.
    fn hook_status(
        &mut self,
        hook: HookName,
        job: &str,
        state: MigrationState,
        message: Option<String>,
    ) {
        let revision = self.observed.revision.hash.clone();
        self.status.hooks.retain(|h| h.revision == revision);
        let previous = self
            .status
            .hooks
            .iter()
            .position(|h| h.name == hook)
            .map(|i| self.status.hooks.remove(i));
        let (started_at, finished_at) = self.job_times(
            previous.as_ref().map(|h| (&h.started_at, &h.finished_at)),
            state,
        );
        self.status.hooks.push(HookStatus {
            name: hook,
            revision,
            job: job.to_string(),
            state,
            started_at,
            finished_at,
            message,
        });
        self.status
            .hooks
            .sort_by_key(|h| h.name != HookName::PreMigration);
    }
}
