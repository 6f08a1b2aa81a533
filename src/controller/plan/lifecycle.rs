//! The walk through a release, the same for every rollout strategy: suspend and unsupported
//! strategies first, a new revision or a retry, then the steps in order — the secret contract,
//! the migration, the strategy's rollout, verification — and Ready when all are done.

use crate::{
    api::{
        ConditionStatus as Status, ConditionType as Cond, DeploymentChecklistStatus,
        MigrationState, Phase, Reason, RollbackTrigger,
    },
    controller::observe::{JobState, Owned},
    secrets,
};

use super::{
    Change, Note, Planner,
    status::Kstatus,
    step::{Failure, Step},
    strategy::{self, Progress, Strategy},
};

impl Planner<'_> {
    /// Decides the whole plan: where the checklist stands and what to change.
    pub(super) fn decide(&mut self, previous: &DeploymentChecklistStatus) {
        self.status.observed_generation = Some(self.generation);
        self.status.secrets = self.observed.secrets.clone();
        // Without spec.promotion, none: a checklist that stops following says so.
        self.status.promotion = self.observed.promotion.as_ref().map(|p| p.status.clone());
        if let Some(recheck) = self
            .observed
            .promotion
            .as_ref()
            .and_then(|p| p.recheck_after)
        {
            self.wake_within(recheck);
        }

        if self.spec.suspend {
            self.suspend();
            return;
        }
        if let Some(problem) = &self.observed.template_problem {
            let message = format!("{problem}; nothing was changed");
            self.refuse(Reason::InvalidTemplate, &message);
            return;
        }
        self.status.templates = self.observed.templates.clone();
        if let Some(message) = self.unworkable() {
            self.refuse(Reason::InvalidSpec, &message);
            return;
        }
        if let Some(message) = self.policy.refusal(self.spec) {
            self.refuse(Reason::PolicyRefused, &message);
            return;
        }
        if let Some(message) = self.adoption_problem() {
            self.refuse(Reason::InvalidSpec, &message);
            return;
        }
        self.advance(previous);
        self.adopt();
        // Last, after whatever the release does: a budget or an autoscaler that cannot be applied
        // (someone else's object of that name) must never hold back a rollback.
        self.keep_scaling();
    }

    /// The release itself: a new revision or a retry, requests, the verdict, the next step.
    // Long (about 50 lines) on purpose: the lifecycle walk itself, one line or guard per
    // phase; each step is a method of its own.
    fn advance(&mut self, previous: &DeploymentChecklistStatus) {
        let strategy = strategy::of(self.spec.rollout.strategy);

        let retry = self
            .observed
            .retry_token
            .as_ref()
            .is_some_and(|token| previous.retry_token.as_ref() != Some(token));
        if self.current_changed() || retry {
            self.start_revision(retry);
            // A retry observes the verdict of the attempt it replaces; a new revision cannot,
            // since starting one stopped (and forgot) the rounds of the one before.
            self.fresh_start = retry;
        }
        if retry && self.stale_jobs() {
            self.changes.push(Change::DeleteJobs {
                revision: self.observed.revision.hash.clone(),
            });
            let message = "retry requested: removing the Jobs of the failed attempt";
            self.kstatus(Kstatus::Progressing, Reason::Retrying, message);
            self.enter(Phase::Migrating, Reason::Retrying, message);
            return;
        }
        self.take_verification_results();
        self.begin_release();
        if let Some(requested) = self.take_rollback_request() {
            self.roll_back(strategy, requested);
            return;
        }
        if let Some(aborted) = self.take_requests() {
            self.record_failure(&aborted);
            self.roll_back(strategy, aborted);
            return;
        }

        if let Some(failed) = self.failed_attempt() {
            self.roll_back(strategy, failed);
            return;
        }
        self.put_back_drift();
        match self.walk(strategy) {
            Step::Wait => {}
            Step::Done => self.become_ready(),
            // A revision that already passed and now fails (its pods crash-loop a day later)
            // is the stable one: there is nothing older to restore, so it is reported, once.
            Step::Failed(failure) if self.current_succeeded() => self.degrade(&failure),
            Step::Failed(failure) => {
                self.record_failure(&failure);
                self.roll_back(strategy, failure);
            }
        }
    }

    /// Objects of the current revision a person changed by hand are applied again as the
    /// checklist says, each reported in one Warning Event naming the fields: an image set by hand
    /// would otherwise reach users without the checklist's migration or verification.
    fn put_back_drift(&mut self) {
        for drifted in &self.observed.drift {
            self.changes.push(match &drifted.object {
                Owned::Deployment { revision } => Change::ApplyCurrent {
                    revision: revision.clone(),
                },
                Owned::RevisionDeployment { revision, replicas } => Change::ApplyRevision {
                    revision: revision.clone(),
                    replicas: *replicas,
                },
                Owned::AppService { revision } => Change::PutBackAppService {
                    revision: revision.clone(),
                },
                Owned::SideService { revision } => Change::PutBackSideService {
                    revision: revision.clone(),
                },
            });
            self.notes.push(Note {
                reason: Reason::Drift,
                message: format!(
                    "{} {}: {} changed by hand; put back as the checklist says",
                    drifted.object.kind(),
                    drifted.name,
                    drifted.fields.join(", ")
                ),
            });
        }
    }

    /// Why the spec cannot work as written, naming the field, if it cannot.
    fn unworkable(&self) -> Option<String> {
        strategy::unworkable(self.name, self.spec)
            .or_else(|| {
                let undeclared = crate::resources::undeclared_mounts(&self.spec.app);
                (!undeclared.is_empty()).then(|| {
                    format!(
                        "{}, not declared in spec.app.volumes; nothing was changed",
                        undeclared.join(", ")
                    )
                })
            })
            .or_else(|| {
                let unread = crate::resources::rotation::unread_rotations(self.spec);
                (!unread.is_empty()).then(|| format!("{}; nothing was changed", unread.join("; ")))
            })
            .or_else(|| {
                let verification = &self.spec.verification;
                crate::verify::gate::unreachable_min_score(
                    &verification.checks,
                    verification.min_score.as_ref(),
                )
                .map(|problem| format!("{problem}; nothing was changed"))
            })
    }

    /// Nothing applied, verification stopped; the kstatus trio says it is not progressing and not
    /// stalled either.
    fn suspend(&mut self) {
        self.changes.push(Change::StopVerification);
        self.enter(
            Phase::Suspended,
            Reason::Suspended,
            "suspended: observing and reporting, changing nothing",
        );
        self.set(
            Cond::Reconciling,
            Status::False,
            Reason::Suspended,
            "suspended",
        );
        self.set(Cond::Stalled, Status::False, Reason::Suspended, "suspended");
    }

    /// The steps of a release in order; the first that is not done is where the walk stops.
    fn walk(&mut self, strategy: &dyn Strategy) -> Step {
        let steps: [fn(&mut Self, &dyn Strategy) -> Step; 5] = [
            |planner, _| planner.secrets_step(),
            |planner, _| planner.pre_migration_step(),
            |planner, _| planner.migration_step(),
            |planner, strategy| strategy.release(planner),
            |planner, _| planner.post_promotion_step(),
        ];
        for step in steps {
            match step(self, strategy) {
                Step::Done => {}
                stopped => return stopped,
            }
        }
        Step::Done
    }

    /// CheckingSecrets: nothing is applied while the contract does not hold. The message names
    /// each failing key and why (never a value), bounded however many keys fail.
    fn secrets_step(&mut self) -> Step {
        let keys = &self.observed.secrets;
        let summary = secrets::summary(keys);
        if secrets::contract_holds(keys) {
            self.set(
                Cond::SecretsValid,
                Status::True,
                Reason::SecretsValid,
                &summary,
            );
            return Step::Done;
        }
        let message = format!("secret contract not met: {summary}");
        self.set(
            Cond::SecretsValid,
            Status::False,
            Reason::SecretInvalid,
            &message,
        );
        self.kstatus(Kstatus::Stalled, Reason::SecretInvalid, &message);
        self.enter(Phase::CheckingSecrets, Reason::SecretInvalid, &message);
        Step::Wait
    }

    /// Migrating: with the new image, before any running pod changes.
    fn migration_step(&mut self) -> Step {
        let revision = &self.observed.revision.hash;
        match &self.migration_state() {
            JobState::NotNeeded => Step::Done,
            JobState::Absent | JobState::Running => {
                if self.observed.migration == JobState::Absent {
                    self.changes.push(Change::CreateMigrationJob {
                        revision: revision.clone(),
                    });
                }
                self.migration_status(MigrationState::Running, None);
                self.progress(
                    Phase::Migrating,
                    Reason::Migrating,
                    "running the migration Job",
                );
                Step::Wait
            }
            JobState::Failed(reason) => {
                self.migration_status(MigrationState::Failed, Some(reason.clone()));
                self.set(
                    Cond::MigrationComplete,
                    Status::False,
                    Reason::MigrationFailed,
                    reason,
                );
                Step::Failed(Failure::new(
                    RollbackTrigger::MigrationFailed,
                    "migration failed",
                    reason,
                ))
            }
            JobState::Succeeded => {
                self.migration_status(MigrationState::Succeeded, None);
                self.set(
                    Cond::MigrationComplete,
                    Status::True,
                    Reason::MigrationSucceeded,
                    "the migration Job completed",
                );
                Step::Done
            }
        }
    }

    /// The migration Job as observed, unless status says it already ended for this revision and
    /// the Job is gone (deleted by a person or a TTL, or not yet in a restarted operator's
    /// cache): then how it ended, so a migration never runs twice.
    fn migration_state(&self) -> JobState {
        let observed = self.observed.migration.clone();
        if observed != JobState::Absent {
            return observed;
        }
        let job = crate::resources::migration_job_name(self.name, &self.observed.revision.hash);
        self.status
            .migration
            .as_ref()
            .filter(|m| m.job == job)
            .and_then(|m| super::status::recorded_end(m.state, m.message.as_ref()))
            .unwrap_or(JobState::Absent)
    }

    /// RollingOut: the strategy brings the new revision up; its verdict becomes RolloutComplete.
    pub(super) fn rollout_step(&mut self, rollout: Progress) -> Step {
        self.changes.extend(rollout.changes);
        match &rollout.step {
            Step::Wait => {
                self.set(
                    Cond::RolloutComplete,
                    Status::False,
                    Reason::RollingOut,
                    "new pods are coming up",
                );
                self.progress(
                    Phase::RollingOut,
                    Reason::RollingOut,
                    "rolling out the new version",
                );
            }
            Step::Done => self.set(
                Cond::RolloutComplete,
                Status::True,
                Reason::RolloutComplete,
                "every replica runs the new version",
            ),
            Step::Failed(failure) => self.set(
                Cond::RolloutComplete,
                Status::False,
                failure.reason(),
                &failure.detail,
            ),
        }
        rollout.step
    }
}
