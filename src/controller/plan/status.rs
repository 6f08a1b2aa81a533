//! What the plan writes besides changes: conditions (the kstatus trio always together), the
//! phase and its Event, the migration's status, the score, and when to look again.

use std::{collections::BTreeMap, time::Duration};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{
    CategoryScore, CheckResult, ConditionStatus as Status, ConditionType as Cond,
    DeploymentChecklistSpec, DeploymentChecklistStatus, MigrationState, MigrationStatus, Phase,
    Reason, Score, Severity,
};
use crate::controller::{conditions, observe::JobState};
use crate::text::truncate;

use super::{Note, Plan, Planner};

/// The longest status.message, in characters (the CRD's maxLength).
const MESSAGE_MAX_CHARS: usize = 1024;

/// How long a checklist at rest or waiting for a person (Ready, Stalled, Suspended) goes
/// unlooked-at when nothing triggers it.
pub(crate) const AT_REST: Duration = Duration::from_secs(300);

/// How long a Ready or Suspended checklist goes unlooked-at when every object it owns is
/// watched: any change that matters to it triggers a reconcile, so this net only catches a watch
/// event the operator missed. Idle at 10,000 checklists it is 5.6 reconciles a second, not 33.
pub(crate) const SETTLED: Duration = Duration::from_secs(30 * 60);

/// How long a checklist in progress goes unlooked-at when nothing triggers it.
const IN_PROGRESS: Duration = Duration::from_secs(15);

/// Where a checklist stands in kstatus terms.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kstatus {
    /// Working towards the spec: Reconciling.
    Progressing,
    /// The spec is achieved: Ready.
    Ready,
    /// Cannot go on without a change from someone: Stalled.
    Stalled,
}

impl Planner<'_> {
    /// A step in progress: Reconciling=True, Ready=False, Stalled=False.
    pub(super) fn progress(&mut self, phase: Phase, reason: Reason, message: &str) {
        self.kstatus(Kstatus::Progressing, reason, message);
        self.enter(phase, reason, message);
    }

    /// Moves to `phase` with `message`; entering a new phase is worth an Event, later changes
    /// inside the same phase only update the status.
    pub(super) fn enter(&mut self, phase: Phase, reason: Reason, message: &str) {
        if self.status.phase != Some(phase) {
            self.notes.push(Note {
                reason,
                message: message.into(),
            });
        }
        self.status.phase = Some(phase);
        self.status.message = Some(message.into());
    }

    /// Refuses the spec before anything is applied, so nothing running is touched: Failed and
    /// Stalled until the spec or the operator's settings change. Announced by an Event whenever
    /// the refusal is new, even from Failed, where entering the phase again would say nothing.
    pub(super) fn refuse(&mut self, reason: Reason, message: &str) {
        let message = crate::text::line(message, MESSAGE_MAX_CHARS);
        if !stalled_with(&self.status, reason, &message) {
            self.notes.push(Note {
                reason,
                message: message.clone(),
            });
        }
        self.kstatus(Kstatus::Stalled, reason, &message);
        self.status.phase = Some(Phase::Failed);
        self.status.message = Some(message);
    }

    /// Sets the kstatus trio (Ready, Reconciling, Stalled) that Flux, Argo CD and `kubectl wait`
    /// read, always together so they never contradict each other.
    pub(super) fn kstatus(&mut self, state: Kstatus, reason: Reason, message: &str) {
        set_kstatus(
            &mut self.status,
            state,
            reason,
            message,
            self.generation,
            self.now,
        );
    }

    /// Sets one condition, stamped with the spec's generation.
    pub(super) fn set(&mut self, kind: Cond, status: Status, reason: Reason, message: &str) {
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

    /// When a Job started and finished: as recorded before (`previous`), else now when it starts
    /// and when it ends in `state`.
    pub(super) fn job_times(
        &self,
        previous: Option<(&Option<Time>, &Option<Time>)>,
        state: MigrationState,
    ) -> (Option<Time>, Option<Time>) {
        let (started, finished) = previous.unwrap_or((&None, &None));
        let ended = matches!(state, MigrationState::Succeeded | MigrationState::Failed);
        (
            started.clone().or_else(|| Some(self.now.clone())),
            finished.clone().or_else(|| ended.then(|| self.now.clone())),
        )
    }

    /// status.migration for the current revision's Job, keeping when it started and finished.
    pub(super) fn migration_status(&mut self, state: MigrationState, message: Option<String>) {
        let previous = self.status.migration.take();
        let (started_at, finished_at) = self.job_times(
            previous.as_ref().map(|m| (&m.started_at, &m.finished_at)),
            state,
        );
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

    /// The plan as decided: each change once, the score, a bounded message.
    pub(super) fn finish(mut self) -> Plan {
        // Steps may ask for the same change twice (a new revision and its failure both stop
        // verification); doing it once is enough.
        let mut seen = Vec::with_capacity(self.changes.len());
        self.changes.retain(|change| {
            let first = !seen.contains(change);
            if first {
                seen.push(change.clone());
            }
            first
        });
        self.status.score = Some(score(&self.status, self.spec));
        if let Some(message) = self.status.message.as_mut() {
            truncate(message, MESSAGE_MAX_CHARS);
        }
        let requeue = requeue_after(&self.status, all_watched(self.spec, &self.status));
        Plan {
            requeue_after: self.wake_after.map_or(requeue, |wake| wake.min(requeue)),
            changes: self.changes,
            status: self.status,
            notes: self.notes,
        }
    }
}

/// The kstatus trio for `state`, all three conditions with one reason and message.
fn set_kstatus(
    status: &mut DeploymentChecklistStatus,
    state: Kstatus,
    reason: Reason,
    message: &str,
    generation: i64,
    now: &Time,
) {
    let (ready, reconciling, stalled) = match state {
        Kstatus::Progressing => (Status::False, Status::True, Status::False),
        Kstatus::Ready => (Status::True, Status::False, Status::False),
        Kstatus::Stalled => (Status::False, Status::False, Status::True),
    };
    for (kind, value) in [
        (Cond::Ready, ready),
        (Cond::Reconciling, reconciling),
        (Cond::Stalled, stalled),
    ] {
        conditions::set(
            &mut status.conditions,
            kind,
            value,
            reason,
            message,
            generation,
            now,
        );
    }
}

/// The plan when a reconcile failed in a way only a person can fix (a missing RBAC rule, an
/// object the API server refuses): Stalled with `reason` and `message`, announced once; the phase
/// and everything else stay as they were, and nothing is changed in the cluster.
pub fn blocked(
    generation: i64,
    previous: &DeploymentChecklistStatus,
    reason: Reason,
    message: &str,
    now: &Time,
) -> Plan {
    let mut message = message.to_string();
    truncate(&mut message, MESSAGE_MAX_CHARS);
    let said = stalled_with(previous, reason, &message);
    let mut status = previous.clone();
    status.observed_generation = Some(generation);
    // Refused before anything was recorded: the operator has not started on the spec.
    status.phase.get_or_insert(Phase::Pending);
    set_kstatus(
        &mut status,
        Kstatus::Stalled,
        reason,
        &message,
        generation,
        now,
    );
    let notes = if said {
        Vec::new()
    } else {
        vec![Note {
            reason,
            message: message.clone(),
        }]
    };
    status.message = Some(message);
    Plan {
        changes: Vec::new(),
        // Stalled: the shorter net whatever it owns.
        requeue_after: requeue_after(&status, false),
        status,
        notes,
    }
}

/// Whether `status` already says it is stalled for `reason` with `message`: said once is enough.
fn stalled_with(status: &DeploymentChecklistStatus, reason: Reason, message: &str) -> bool {
    status.condition(Cond::Stalled).is_some_and(|c| {
        c.status == Status::True.as_str() && c.reason == reason.as_str() && c.message == message
    })
}

/// How a Job that status recorded for this revision ended, as its observed state would say;
/// None while it had not ended. What keeps a Job deleted after it ran from running twice.
pub(super) fn recorded_end(state: MigrationState, message: Option<&String>) -> Option<JobState> {
    match state {
        MigrationState::Succeeded => Some(JobState::Succeeded),
        MigrationState::Failed => Some(JobState::Failed(
            message.cloned().unwrap_or_else(|| "failed".into()),
        )),
        MigrationState::Pending | MigrationState::Running => None,
    }
}

/// When to look again without being asked: a checklist at rest or waiting for a person less
/// often than one in progress, and a settled one whose every object is `watched` least often.
/// Stalled keeps the shorter net: what stalls it (RBAC, a refused object) is not watched.
pub(super) fn requeue_after(status: &DeploymentChecklistStatus, watched: bool) -> Duration {
    let stalled = status
        .condition(Cond::Stalled)
        .is_some_and(|c| c.status == Status::True.as_str());
    match status.phase {
        _ if stalled => AT_REST,
        Some(Phase::Ready | Phase::Suspended) if watched => SETTLED,
        Some(Phase::Ready | Phase::Suspended) => AT_REST,
        _ => IN_PROGRESS,
    }
}

/// Whether a change to anything the checklist owns or reads triggers a reconcile. Its
/// Deployments, Services, Jobs, pods, Secrets, ConfigMaps and templates are watched; its
/// PodDisruptionBudget, HorizontalPodAutoscaler, HTTPRoute and a Deployment being adopted are
/// not (a watch of each kind across the cluster would cost every checklist memory for the few
/// that have one), so only the safety net sees those drift, and they keep the shorter one.
pub(super) fn all_watched(
    spec: &DeploymentChecklistSpec,
    status: &DeploymentChecklistStatus,
) -> bool {
    let adopting =
        spec.app.adopt.is_some() && !status.adoption.as_ref().is_some_and(|a| a.handed_over);
    spec.app.disruption_budget.is_none()
        && spec.app.autoscaling.is_none()
        && spec.rollout.traffic_routing.is_none()
        && !adopting
}

/// The production readiness score: secret keys, the migration, the rollout and every check
/// that is not dryRun, overall and per category (secrets, migration, rollout and the checks'
/// own).
pub(super) fn score(status: &DeploymentChecklistStatus, spec: &DeploymentChecklistSpec) -> Score {
    let mut categories: BTreeMap<String, CategoryScore> = BTreeMap::new();
    let mut count = |category: &str, passed: bool, warning: bool| {
        let entry = categories
            .entry(category.to_string())
            .or_insert_with(|| CategoryScore {
                name: category.to_string(),
                passed: 0,
                total: 0,
                warnings: None,
            });
        entry.total += 1;
        entry.passed += i32::from(passed);
        if warning && !passed {
            entry.warnings = Some(entry.warnings.unwrap_or(0) + 1);
        }
    };
    for key in status
        .secrets
        .iter()
        .filter(|s| s.result != CheckResult::Skipped)
    {
        count("secrets", key.result == CheckResult::Pass, false);
    }
    if spec.migration.is_some() {
        let migrated = status
            .migration
            .as_ref()
            .is_some_and(|m| m.state == MigrationState::Succeeded);
        count("migration", migrated, false);
    }
    let rolled_out = status
        .condition(Cond::RolloutComplete)
        .is_some_and(|c| c.status == Status::True.as_str());
    count("rollout", rolled_out, false);
    for check in spec.verification.checks.iter().filter(|c| !c.dry_run) {
        let passed = status
            .checks
            .iter()
            .any(|c| c.name == check.name && c.result == CheckResult::Pass);
        count(
            check.category(),
            passed,
            check.severity == Severity::Warning,
        );
    }
    let passed = categories.values().map(|c| c.passed).sum();
    let total = categories.values().map(|c| c.total).sum();
    Score {
        categories: categories.into_values().collect(),
        ..Score::new(passed, total)
    }
}
