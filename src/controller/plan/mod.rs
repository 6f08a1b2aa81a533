//! The decisions of a reconcile: `(spec, previous status, observation, now) → (actions, status)`.
//!
//! Pure: no client, no clock, no I/O, so every transition and trigger is a table-driven test.
//! Level-triggered: nothing is remembered between calls but what the status holds, so the same
//! world gives the same plan after a restart. A revision that failed is recorded in the history
//! and not tried again until the spec changes or the retry annotation gets a new value.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{
    CheckResult, CheckStatus, ConditionStatus as Status, ConditionType as Cond, DependencyStatus,
    DeploymentChecklistSpec, DeploymentChecklistStatus, HistoryEntry, MigrationState,
    MigrationStatus, Phase, RevisionOutcome, RevisionRef, RevisionStatus, RollbackMigration,
    RollbackTrigger, RolloutStrategy, Score, StableRevision,
};

use super::{
    conditions,
    observation::{
        JobState, Observation, RolloutProgress, VerificationObservation, VerificationResults,
    },
};

/// A change to make in the cluster (or to the verification tasks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create the migration Job of this revision.
    CreateMigrationJob {
        /// The revision hash.
        revision: String,
    },
    /// Store this revision's spec (a ControllerRevision) so it can be restored later.
    SaveRevision {
        /// The revision hash.
        revision: String,
    },
    /// Apply the Deployment and Service of the current spec.
    ApplyCurrent {
        /// The revision hash.
        revision: String,
    },
    /// Start verification rounds for this revision.
    StartVerification {
        /// The revision hash.
        revision: String,
        /// The revision already passed: these are continuous rounds after Ready (rateLimit
        /// checks are left out, and a failure degrades instead of rolling back).
        verified: bool,
    },
    /// Stop any verification rounds.
    StopVerification,
    /// Apply the stable revision's Deployment, rebuilt from its stored spec.
    RestoreStable {
        /// The stable revision hash.
        revision: String,
    },
    /// Create the down-migration Job of the failed revision.
    CreateRollbackMigrationJob {
        /// The failed revision hash.
        revision: String,
    },
    /// Delete the finished migration and down-migration Jobs of this revision, so a retry runs
    /// them afresh.
    DeleteJobs {
        /// The revision hash.
        revision: String,
    },
}

/// A transition worth an Event in `kubectl describe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Normal or Warning.
    pub warning: bool,
    /// A CamelCase reason, e.g. `RolledBack`.
    pub reason: String,
    /// What happened, for a human.
    pub message: String,
}

/// The plan of one reconcile.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// What to change, in order.
    pub actions: Vec<Action>,
    /// The status to write (written only when it differs from the previous one).
    pub status: DeploymentChecklistStatus,
    /// Events to record.
    pub notes: Vec<Note>,
}

/// Why a revision failed: the rollback trigger and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    trigger: RollbackTrigger,
    message: String,
}

impl Failure {
    /// How the failure is kept in the history entry's reason: `<Trigger>: <message>`, so a
    /// restarted operator reads back which trigger fired.
    fn record(&self) -> String {
        format!("{}: {}", trigger_name(self.trigger), self.message)
    }

    fn from_record(record: &str) -> Self {
        let (name, message) = record.split_once(": ").unwrap_or(("", record));
        let trigger = [
            RollbackTrigger::MigrationFailed,
            RollbackTrigger::ProgressDeadlineExceeded,
            RollbackTrigger::CrashLoop,
            RollbackTrigger::VerificationFailed,
        ]
        .into_iter()
        .find(|t| trigger_name(*t) == name);
        match trigger {
            Some(trigger) => Self {
                trigger,
                message: message.to_string(),
            },
            // An entry written by hand or by another version: treat it as a verification failure
            // and keep its text whole.
            None => Self {
                trigger: RollbackTrigger::VerificationFailed,
                message: record.to_string(),
            },
        }
    }
}

/// The checklist being planned for: its name, generation and spec.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// metadata.name.
    pub name: &'a str,
    /// metadata.generation.
    pub generation: i64,
    /// The spec.
    pub spec: &'a DeploymentChecklistSpec,
}

/// Decides what to do.
pub fn plan(
    subject: Subject<'_>,
    previous: &DeploymentChecklistStatus,
    observed: &Observation,
    now: &Time,
) -> Plan {
    let mut planner = Planner {
        name: subject.name,
        spec: subject.spec,
        generation: subject.generation,
        observed,
        now,
        status: previous.clone(),
        actions: Vec::new(),
        notes: Vec::new(),
        fresh_start: false,
    };
    planner.decide(previous);
    planner.finish()
}

/// Where a checklist stands in kstatus terms.
#[derive(Debug, Clone, Copy)]
enum Kstatus {
    /// Working towards the spec: Reconciling.
    Progressing,
    /// The spec is achieved: Ready.
    Ready,
    /// Cannot go on without a change from someone: Stalled.
    Stalled,
}

struct Planner<'a> {
    name: &'a str,
    spec: &'a DeploymentChecklistSpec,
    generation: i64,
    observed: &'a Observation,
    now: &'a Time,
    status: DeploymentChecklistStatus,
    actions: Vec<Action>,
    notes: Vec<Note>,
    /// This reconcile retries a failed attempt: what was observed of its verification is stale.
    fresh_start: bool,
}

impl Planner<'_> {
    fn decide(&mut self, previous: &DeploymentChecklistStatus) {
        let revision = self.observed.revision.clone();
        self.status.observed_generation = Some(self.generation);
        self.status.secrets = self.observed.secrets.clone();

        if self.spec.suspend {
            self.actions.push(Action::StopVerification);
            self.enter(
                Phase::Suspended,
                "Suspended",
                "suspended: observing and reporting, changing nothing",
                false,
            );
            self.set(Cond::Reconciling, Status::False, "Suspended", "suspended");
            self.set(Cond::Stalled, Status::False, "Suspended", "suspended");
            return;
        }

        if self.spec.rollout.strategy != RolloutStrategy::RollingUpdate {
            // Said plainly rather than rolled out as something the user did not ask for.
            let message = format!(
                "rollout strategy {:?} is not supported by this operator version yet (only \
                 RollingUpdate); nothing was changed",
                self.spec.rollout.strategy
            );
            self.kstatus(Kstatus::Stalled, "UnsupportedStrategy", &message);
            self.enter(Phase::Failed, "UnsupportedStrategy", &message, true);
            return;
        }

        let current_changed = self
            .status
            .revision
            .as_ref()
            .and_then(|r| r.current.as_ref())
            .is_none_or(|c| c.hash != revision.hash);
        let retry = self
            .observed
            .retry_token
            .as_ref()
            .is_some_and(|token| previous.retry_token.as_ref() != Some(token));
        if current_changed || retry {
            self.start_revision(retry);
            // A retry observes the verdict of the attempt it replaces; a new revision cannot,
            // since starting one stopped (and forgot) the rounds of the one before.
            self.fresh_start = retry;
        }
        if retry && self.stale_jobs() {
            self.actions.push(Action::DeleteJobs {
                revision: revision.hash.clone(),
            });
            let message = "retry requested: removing the Jobs of the failed attempt";
            self.kstatus(Kstatus::Progressing, "Retrying", message);
            self.enter(Phase::Migrating, "Retrying", message, false);
            return;
        }
        if !self.fresh_start
            && let Some(results) = &self.observed.verification_results
        {
            let succeeded = self.current_succeeded();
            let results = if succeeded {
                // Continuous rounds after Ready: what they did not run keeps its last result.
                let previous = VerificationResults {
                    checks: self.status.checks.clone(),
                    dependencies: self.status.dependencies.clone(),
                };
                results.clone().over(&previous)
            } else {
                results.clone()
            };
            // While Ready only a changed result is news; while verifying every round is.
            if !succeeded || !same_results(&self.status, &results) {
                self.status.checks = results.checks;
                self.status.dependencies = results.dependencies;
            }
        }

        if let Some(failed) = self.failed_attempt() {
            self.roll_back(failed);
            return;
        }
        match self.next_step() {
            Ok(()) => {}
            // A revision that already passed and now fails (its pods crash-loop a day later)
            // is the stable one: there is nothing older to restore, so it is reported, once.
            Err(failure) if self.current_succeeded() => self.degrade(&failure),
            Err(failure) => {
                self.record_failure(&failure);
                self.roll_back(failure);
            }
        }
    }

    /// A new revision (or a retry of a failed one) starts from the top.
    fn start_revision(&mut self, retry: bool) {
        let revision = &self.observed.revision;
        let status = self
            .status
            .revision
            .get_or_insert_with(RevisionStatus::default);
        status.current = Some(RevisionRef {
            image: revision.image.clone(),
            hash: revision.hash.clone(),
        });
        if retry {
            self.status.retry_token = self.observed.retry_token.clone();
        }
        // The attempt before this one, if it never finished, was replaced.
        if let Some(last) = self.status.history.last_mut()
            && last.outcome == RevisionOutcome::Progressing
        {
            last.outcome = RevisionOutcome::Superseded;
            last.finished_at = Some(self.now.clone());
        }
        let number = self.status.history.last().map_or(1, |h| h.revision + 1);
        self.status.history.push(HistoryEntry {
            revision: number,
            image: revision.image.clone(),
            hash: Some(revision.hash.clone()),
            outcome: RevisionOutcome::Progressing,
            reason: retry.then(|| "retry requested".to_string()),
            started_at: Some(self.now.clone()),
            finished_at: None,
        });
        let limit = usize::try_from(self.spec.rollback.revision_history_limit.max(1)).unwrap_or(10);
        let excess = self.status.history.len().saturating_sub(limit);
        self.status.history.drain(..excess);
        self.status.checks.clear();
        self.status.dependencies.clear();
        self.status.migration = None;
        self.actions.push(Action::StopVerification);
        self.notes.push(Note {
            warning: false,
            reason: "RevisionStarted".into(),
            message: format!(
                "rolling out {} (revision {})",
                revision.image, revision.hash
            ),
        });
    }

    /// Whether the last attempt left Jobs a retry must not reuse: a failed migration, or a
    /// migration that a down-migration has since undone.
    fn stale_jobs(&self) -> bool {
        matches!(self.observed.migration, JobState::Failed(_))
            || !matches!(
                self.observed.rollback_migration,
                JobState::NotNeeded | JobState::Absent
            )
    }

    /// The failure recorded for the current attempt, if it failed.
    fn failed_attempt(&self) -> Option<Failure> {
        let last = self.status.history.last()?;
        if last.hash.as_deref() != Some(self.observed.revision.hash.as_str()) {
            return None;
        }
        match last.outcome {
            RevisionOutcome::Failed | RevisionOutcome::RolledBack => Some(Failure::from_record(
                last.reason.as_deref().unwrap_or_default(),
            )),
            _ => None,
        }
    }

    /// Walks the steps of the lifecycle; returns the failure that stops it, if any.
    fn next_step(&mut self) -> Result<(), Failure> {
        let revision = self.observed.revision.hash.clone();

        // CheckingSecrets: nothing is applied while the contract does not hold.
        let invalid: Vec<String> = self
            .observed
            .secrets
            .iter()
            .filter(|s| s.result == CheckResult::Fail)
            .map(|s| {
                format!(
                    "{}/{}: {}",
                    s.secret,
                    s.key,
                    s.message.clone().unwrap_or_default()
                )
            })
            .collect();
        if !invalid.is_empty() {
            let message = format!("secret contract not met: {}", invalid.join("; "));
            self.set(Cond::SecretsValid, Status::False, "SecretInvalid", &message);
            self.kstatus(Kstatus::Stalled, "SecretInvalid", &message);
            self.enter(Phase::CheckingSecrets, "SecretInvalid", &message, true);
            return Ok(());
        }
        self.set(
            Cond::SecretsValid,
            Status::True,
            "SecretsValid",
            "every required key is valid",
        );

        // Migrating: with the new image, before any running pod changes.
        match &self.observed.migration {
            JobState::NotNeeded => {}
            JobState::Absent => {
                self.actions.push(Action::CreateMigrationJob {
                    revision: revision.clone(),
                });
                self.migration_status(MigrationState::Running, None);
                return self.progress(Phase::Migrating, "Migrating", "running the migration Job");
            }
            JobState::Running => {
                self.migration_status(MigrationState::Running, None);
                return self.progress(Phase::Migrating, "Migrating", "running the migration Job");
            }
            JobState::Failed(reason) => {
                self.migration_status(MigrationState::Failed, Some(reason.clone()));
                self.set(
                    Cond::MigrationComplete,
                    Status::False,
                    "MigrationFailed",
                    reason,
                );
                return Err(Failure {
                    trigger: RollbackTrigger::MigrationFailed,
                    message: format!("migration failed: {reason}"),
                });
            }
            JobState::Succeeded => {
                self.migration_status(MigrationState::Succeeded, None);
                self.set(
                    Cond::MigrationComplete,
                    Status::True,
                    "MigrationSucceeded",
                    "the migration Job completed",
                );
            }
        }

        // RollingOut.
        let rollout = &self.observed.rollout;
        if rollout.deployed.as_deref() != Some(revision.as_str()) {
            self.actions.push(Action::SaveRevision {
                revision: revision.clone(),
            });
            self.actions.push(Action::ApplyCurrent {
                revision: revision.clone(),
            });
            return self.rolling_out();
        }
        match &rollout.progress {
            RolloutProgress::Progressing => return self.rolling_out(),
            RolloutProgress::DeadlineExceeded(message) => {
                self.set(
                    Cond::RolloutComplete,
                    Status::False,
                    "ProgressDeadlineExceeded",
                    message,
                );
                return Err(Failure {
                    trigger: RollbackTrigger::ProgressDeadlineExceeded,
                    message: format!("rollout did not progress: {message}"),
                });
            }
            RolloutProgress::CrashLoop(message) => {
                self.set(Cond::RolloutComplete, Status::False, "CrashLoop", message);
                return Err(Failure {
                    trigger: RollbackTrigger::CrashLoop,
                    message: format!("new pods crash-loop: {message}"),
                });
            }
            RolloutProgress::Complete => {
                self.set(
                    Cond::RolloutComplete,
                    Status::True,
                    "RolloutComplete",
                    "every replica runs the new version",
                );
            }
        }

        // Verifying.
        if !self.spec.verification.checks.is_empty() {
            // Results observed before this attempt started belong to the attempt before.
            let verification = if self.fresh_start {
                &VerificationObservation::NotStarted
            } else {
                &self.observed.verification
            };
            if self.current_succeeded() {
                return self.keep_verified(verification);
            }
            match verification {
                VerificationObservation::NotStarted | VerificationObservation::Running => {
                    if *verification == VerificationObservation::NotStarted {
                        self.actions.push(Action::StartVerification {
                            revision: revision.clone(),
                            verified: false,
                        });
                    }
                    self.set(
                        Cond::Verified,
                        Status::Unknown,
                        "Verifying",
                        "verification rounds running",
                    );
                    return self.progress(
                        Phase::Verifying,
                        "Verifying",
                        "verifying the new version over HTTP",
                    );
                }
                VerificationObservation::Failed(message) => {
                    return Err(self.verification_failed("verification failed", message));
                }
                VerificationObservation::Passed => self.verification_passed(),
            }
        }

        self.become_ready();
        Ok(())
    }

    /// A revision that already passed: it stays Ready while continuous rounds (when asked for)
    /// do not fail; a failed verdict degrades it (see [`Self::degrade`]), never rolls it back.
    fn keep_verified(&mut self, verification: &VerificationObservation) -> Result<(), Failure> {
        if let VerificationObservation::Failed(message) = verification {
            return Err(self.verification_failed("continuous verification failed", message));
        }
        if *verification == VerificationObservation::NotStarted && self.spec.verification.continuous
        {
            self.actions.push(Action::StartVerification {
                revision: self.observed.revision.hash.clone(),
                verified: true,
            });
        }
        self.verification_passed();
        self.become_ready();
        Ok(())
    }

    fn verification_passed(&mut self) {
        self.set(
            Cond::Verified,
            Status::True,
            "VerificationPassed",
            "every check passed",
        );
    }

    fn verification_failed(&mut self, what: &str, message: &str) -> Failure {
        self.set(Cond::Verified, Status::False, "VerificationFailed", message);
        Failure {
            trigger: RollbackTrigger::VerificationFailed,
            message: format!("{what}: {message}"),
        }
    }

    fn become_ready(&mut self) {
        let revision = self.observed.revision.clone();
        let status = self
            .status
            .revision
            .get_or_insert_with(RevisionStatus::default);
        let newly_stable = status
            .stable
            .as_ref()
            .is_none_or(|s| s.hash != revision.hash);
        if newly_stable {
            status.stable = Some(StableRevision {
                image: revision.image.clone(),
                hash: revision.hash.clone(),
                since: Some(self.now.clone()),
            });
        }
        if let Some(last) = self.status.history.last_mut()
            && last.outcome == RevisionOutcome::Progressing
        {
            last.outcome = RevisionOutcome::Succeeded;
            last.finished_at = Some(self.now.clone());
        }
        let message = match self.spec.verification.checks.len() {
            0 => format!("{} is ready", revision.image),
            n => format!("verification passed: {n}/{n}"),
        };
        self.kstatus(Kstatus::Ready, "Ready", &message);
        self.set(Cond::RolledBack, Status::False, "Ready", &message);
        if self.status.phase != Some(Phase::Ready) {
            self.notes.push(Note {
                warning: false,
                reason: "Ready".into(),
                message: message.clone(),
            });
        }
        self.status.phase = Some(Phase::Ready);
        self.status.message = Some(message);
    }

    /// Whether the current revision's attempt already ended Succeeded.
    fn current_succeeded(&self) -> bool {
        self.status.history.last().is_some_and(|last| {
            last.hash.as_deref() == Some(self.observed.revision.hash.as_str())
                && last.outcome == RevisionOutcome::Succeeded
        })
    }

    /// The stable revision stopped working: Degraded, Ready=False, and nothing rolled back.
    fn degrade(&mut self, failure: &Failure) {
        let message = format!(
            "{}; it is the stable revision, so nothing was rolled back",
            failure.message
        );
        self.kstatus(Kstatus::Stalled, "Degraded", &message);
        self.enter(
            Phase::Degraded,
            trigger_name(failure.trigger),
            &message,
            true,
        );
    }

    fn record_failure(&mut self, failure: &Failure) {
        if let Some(last) = self.status.history.last_mut()
            && last.outcome == RevisionOutcome::Progressing
        {
            last.outcome = RevisionOutcome::Failed;
            last.reason = Some(failure.record());
            last.finished_at = Some(self.now.clone());
        }
        self.actions.push(Action::StopVerification);
        self.notes.push(Note {
            warning: true,
            reason: trigger_name(failure.trigger).into(),
            message: failure.message.clone(),
        });
    }

    /// After a failure: restore the stable revision when the policy allows and one exists,
    /// else stop in Failed with nothing deleted.
    fn roll_back(&mut self, failure: Failure) {
        let stable = self
            .status
            .revision
            .as_ref()
            .and_then(|r| r.stable.clone())
            .filter(|s| s.hash != self.observed.revision.hash);
        let policy = &self.spec.rollback;
        let allowed = policy.automatic && policy.triggers.contains(&failure.trigger);
        let why_not = match &stable {
            _ if !allowed => Some("automatic rollback is off for this failure".to_string()),
            None => Some("there is no stable revision to roll back to".to_string()),
            Some(stable) if !self.observed.stable_spec_available => Some(format!(
                "the stored spec of the stable revision {} is missing",
                stable.hash
            )),
            Some(_) => None,
        };
        let (Some(stable), None) = (stable, &why_not) else {
            let why = why_not.unwrap_or_default();
            let message = format!("{}; {why}: nothing was changed back", failure.message);
            self.fail(&message);
            return;
        };

        let mut restoring = false;
        if self.observed.rollout.deployed.as_deref() != Some(stable.hash.as_str()) {
            self.actions.push(Action::RestoreStable {
                revision: stable.hash.clone(),
            });
            restoring = true;
        } else if self.observed.rollout.progress != RolloutProgress::Complete {
            restoring = true;
        }
        let down_migration = policy.migration == RollbackMigration::Run
            && self.observed.migration == JobState::Succeeded;
        let mut migrating_back = false;
        if down_migration {
            match &self.observed.rollback_migration {
                JobState::Absent => {
                    self.actions.push(Action::CreateRollbackMigrationJob {
                        revision: self.observed.revision.hash.clone(),
                    });
                    migrating_back = true;
                }
                JobState::Running => migrating_back = true,
                JobState::NotNeeded | JobState::Succeeded | JobState::Failed(_) => {}
            }
        }

        let serving = format!("the stable version {} serves traffic", stable.image);
        if restoring || migrating_back {
            let message = format!("rolling back to {}: {}", stable.image, failure.message);
            self.kstatus(Kstatus::Progressing, "RollingBack", &message);
            self.set(Cond::RolledBack, Status::False, "RollingBack", &message);
            self.enter(Phase::RollingBack, "RollingBack", &message, true);
            return;
        }
        let mut message = format!(
            "rolled back to {}: {}; {serving}",
            stable.image, failure.message
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
        self.kstatus(Kstatus::Stalled, "RolledBack", &message);
        self.set(Cond::RolledBack, Status::True, "RolledBack", &message);
        self.enter(Phase::RolledBack, "RolledBack", &message, true);
    }

    fn fail(&mut self, message: &str) {
        self.kstatus(Kstatus::Stalled, "Failed", message);
        self.enter(Phase::Failed, "Failed", message, true);
    }

    /// New pods of the current revision are coming up.
    fn rolling_out(&mut self) -> Result<(), Failure> {
        self.set(
            Cond::RolloutComplete,
            Status::False,
            "RollingOut",
            "new pods are coming up",
        );
        self.progress(
            Phase::RollingOut,
            "RollingOut",
            "rolling out the new version",
        )
    }

    /// A step in progress: Reconciling=True, Ready=False, Stalled=False.
    fn progress(&mut self, phase: Phase, reason: &str, message: &str) -> Result<(), Failure> {
        self.kstatus(Kstatus::Progressing, reason, message);
        self.enter(phase, reason, message, false);
        Ok(())
    }

    /// Moves to `phase` with `message`; entering a new phase is worth an Event (a Warning when
    /// something went wrong).
    fn enter(&mut self, phase: Phase, reason: &str, message: &str, warning: bool) {
        if self.status.phase != Some(phase) {
            self.notes.push(Note {
                warning,
                reason: reason.into(),
                message: message.into(),
            });
        }
        self.status.phase = Some(phase);
        self.status.message = Some(message.into());
    }

    /// Sets the kstatus trio (Ready, Reconciling, Stalled) that Flux, Argo CD and `kubectl wait`
    /// read, always together so they never contradict each other.
    fn kstatus(&mut self, state: Kstatus, reason: &str, message: &str) {
        let (ready, reconciling, stalled) = match state {
            Kstatus::Progressing => (Status::False, Status::True, Status::False),
            Kstatus::Ready => (Status::True, Status::False, Status::False),
            Kstatus::Stalled => (Status::False, Status::False, Status::True),
        };
        self.set(Cond::Ready, ready, reason, message);
        self.set(Cond::Reconciling, reconciling, reason, message);
        self.set(Cond::Stalled, stalled, reason, message);
    }

    fn set(&mut self, kind: Cond, status: Status, reason: &str, message: &str) {
        conditions::set(
            &mut self.status.conditions,
            kind,
            status,
            reason,
            message,
            self.generation,
            self.now,
        );
    }

    fn migration_status(&mut self, state: MigrationState, message: Option<String>) {
        let previous = self.status.migration.take();
        let started_at = previous
            .as_ref()
            .and_then(|m| m.started_at.clone())
            .or_else(|| Some(self.now.clone()));
        let finished = matches!(state, MigrationState::Succeeded | MigrationState::Failed);
        let finished_at = previous
            .as_ref()
            .and_then(|m| m.finished_at.clone())
            .or_else(|| finished.then(|| self.now.clone()));
        let image = self
            .spec
            .migration
            .as_ref()
            .and_then(|m| m.image.clone())
            .unwrap_or_else(|| self.observed.revision.image.clone());
        self.status.migration = Some(MigrationStatus {
            job: crate::resources::migration_job_name(self.name, &self.observed.revision.hash),
            image,
            state,
            started_at,
            finished_at,
            message,
        });
    }

    fn finish(mut self) -> Plan {
        // Steps may ask for the same action twice (a new revision and its failure both stop
        // verification); doing it once is enough.
        let mut seen = Vec::with_capacity(self.actions.len());
        self.actions.retain(|a| {
            let first = !seen.contains(a);
            if first {
                seen.push(a.clone());
            }
            first
        });
        self.status.score = Some(score(&self.status, self.spec));
        if let Some(message) = self.status.message.as_mut() {
            truncate(message, 1024);
        }
        Plan {
            actions: self.actions,
            status: self.status,
            notes: self.notes,
        }
    }
}

/// Whether `results` say what `status` already says, check by check and dependency by
/// dependency, in any order, latencies and run times aside: continuous rounds of a Ready revision write status
/// only when a result changes, not once per round.
fn same_results(status: &DeploymentChecklistStatus, results: &VerificationResults) -> bool {
    let checks = |checks: &[CheckStatus]| -> Vec<(String, CheckResult)> {
        let mut seen: Vec<_> = checks.iter().map(|c| (c.name.clone(), c.result)).collect();
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        seen
    };
    let dependencies = |deps: &[DependencyStatus]| -> Vec<(String, String, CheckResult)> {
        let mut seen: Vec<_> = deps
            .iter()
            .map(|d| (d.check.clone(), d.name.clone(), d.result))
            .collect();
        seen.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        seen
    };
    checks(&status.checks) == checks(&results.checks)
        && dependencies(&status.dependencies) == dependencies(&results.dependencies)
}

/// The production readiness score: secret keys, the migration, the rollout and every check.
fn score(status: &DeploymentChecklistStatus, spec: &DeploymentChecklistSpec) -> Score {
    let mut passed = 0;
    let mut total = 0;
    for key in status
        .secrets
        .iter()
        .filter(|s| s.result != CheckResult::Skipped)
    {
        total += 1;
        passed += i32::from(key.result == CheckResult::Pass);
    }
    if spec.migration.is_some() {
        total += 1;
        passed += i32::from(
            status
                .migration
                .as_ref()
                .is_some_and(|m| m.state == MigrationState::Succeeded),
        );
    }
    total += 1;
    passed += i32::from(
        status
            .condition(Cond::RolloutComplete)
            .is_some_and(|c| c.status == Status::True.as_str()),
    );
    let checks = i32::try_from(spec.verification.checks.len()).unwrap_or(i32::MAX);
    total += checks;
    passed += i32::try_from(
        status
            .checks
            .iter()
            .filter(|c| c.result == CheckResult::Pass)
            .count(),
    )
    .unwrap_or(0);
    Score::new(passed, total)
}

fn trigger_name(trigger: RollbackTrigger) -> &'static str {
    match trigger {
        RollbackTrigger::MigrationFailed => "MigrationFailed",
        RollbackTrigger::ProgressDeadlineExceeded => "ProgressDeadlineExceeded",
        RollbackTrigger::CrashLoop => "CrashLoop",
        RollbackTrigger::VerificationFailed => "VerificationFailed",
    }
}

fn truncate(text: &mut String, limit: usize) {
    if text.len() > limit {
        let mut cut = limit - 3;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
}

#[cfg(test)]
mod tests;
