//! The decisions of a reconcile: `(spec, previous status, observation, now) → Plan`.
//!
//! Pure: no client, no clock, no I/O, so every transition and trigger is a table-driven test.
//! Level-triggered: nothing is remembered between calls but what the status holds, so the same
//! world gives the same plan after a restart. A revision that failed is recorded in the history
//! and not tried again until the spec changes or the retry annotation gets a new value.
//!
//! The walk through a release is the same for every rollout strategy (`lifecycle`: secrets,
//! migration, rollout, verification, ready); what differs per strategy — what it applies, how it
//! reads progress, how it restores the stable revision — is behind `strategy::Strategy`. The
//! other modules each carry one concern of the walk: `step` (what a step returns: wait, done or
//! failed), `revision` (starting one, the history, the stable revision), `verification` (the gate
//! and its results), `rollback` (the policy after a failure), `status` (conditions, phase,
//! Events, score, when to look again) and `policy` (what the operator's settings refuse).

mod adoption;
mod hooks;
mod lifecycle;
mod policy;
pub(crate) mod promotion;
mod revision;
mod rollback;
mod scaling;
mod status;
mod step;
mod strategy;
mod verification;

#[cfg(test)]
mod tests;

pub use policy::{Policy, SecurityOverrides};
pub(crate) use status::AT_REST;
pub use status::blocked;

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{DeploymentChecklistSpec, DeploymentChecklistStatus, Phase};

pub use crate::events::Note;

use super::observe::Observation;

/// A change to make in the cluster (or to the verification tasks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Create the migration Job of this revision.
    CreateMigrationJob {
        /// The revision hash.
        revision: String,
    },
    /// Create the Job of a hook of spec.hooks for this revision.
    CreateHookJob {
        /// Which hook.
        hook: crate::api::HookName,
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
        /// BlueGreen and Canary: the stage verified (`preview`, `step2`, `promoted`), so each
        /// stage gets rounds and a verdict of its own; None for the revision as a whole.
        stage: Option<String>,
        /// Where the checks are sent.
        endpoint: Endpoint,
        /// The revision already passed: these are continuous rounds after Ready (rateLimit
        /// checks are left out, and a failure degrades instead of rolling back).
        verified: bool,
        /// Failed rounds in a row already counted (from status, after a restart).
        failed_rounds: u32,
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
    /// BlueGreen and Canary: apply the Deployment of `revision` (`<name>-<hash>`) with
    /// `replicas` pods; the current spec's, or the stable revision's rebuilt from its stored spec.
    ApplyRevision {
        /// The revision hash.
        revision: String,
        /// Its pods.
        replicas: i32,
    },
    /// Send users' requests as `routing` says, through the checklist's router.
    Route {
        /// Which revision takes what share.
        routing: crate::traffic::Routing,
    },
    /// Put the app's Service back as it was applied (it drifted), selecting the pods of
    /// `revision` only, or of every revision when None.
    PutBackAppService {
        /// The revision selected, if one only.
        revision: Option<String>,
    },
    /// Put the preview (BlueGreen) or canary Service back as it was applied, selecting the pods
    /// of `revision`.
    PutBackSideService {
        /// The revision selected.
        revision: String,
    },
    /// Apply the PodDisruptionBudget and HorizontalPodAutoscaler the spec asks for, over the
    /// pods of `serving` (every revision's when None).
    ApplyScaling {
        /// The revision that serves, under BlueGreen and Canary.
        serving: Option<String>,
    },
    /// Delete the PodDisruptionBudget, the HorizontalPodAutoscaler, or both, which the spec no
    /// longer asks for.
    RemoveScaling {
        /// Delete the PodDisruptionBudget.
        budget: bool,
        /// Delete the HorizontalPodAutoscaler.
        autoscaler: bool,
    },
    /// Delete the app Deployments that run none of these revisions.
    RemoveDeployments {
        /// The revisions whose Deployments stay.
        keep: Vec<String>,
    },
    /// spec.app.adopt: delete the checklist's own RollingUpdate Deployment, whose first revision
    /// failed, so the adopted pods serve alone.
    RemoveCurrent,
    /// spec.app.adopt: scale the adopted Deployment to 0 (or delete it), now that a revision
    /// of the checklist is Ready.
    HandOver {
        /// Its name.
        deployment: String,
        /// The uid observed: only that object is written.
        uid: String,
        /// The resourceVersion observed: a Deployment changed since is not written.
        resource_version: String,
        /// Its replicas before, recorded on it so it can be scaled back.
        replicas: i32,
        /// Delete it rather than scale it down.
        delete: bool,
    },
    /// Delete the finished migration and down-migration Jobs of this revision, so a retry runs
    /// them afresh.
    DeleteJobs {
        /// The revision hash.
        revision: String,
    },
}

/// Where verification rounds send their checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// spec.verification.url, or the app's Service.
    App,
    /// BlueGreen's preview or Canary's canary Service, or previewURL / canaryURL.
    Side,
}

/// The plan of one reconcile.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// What to change, in order.
    pub changes: Vec<Change>,
    /// The status to write (written only when it differs from the previous one).
    pub status: DeploymentChecklistStatus,
    /// Events to record.
    pub notes: Vec<Note>,
    /// When to look again if nothing else asks first: watches and the verification tasks
    /// trigger every transition, so this is only the safety net of a level-triggered controller.
    pub requeue_after: Duration,
}

impl Plan {
    /// Whether the status is written before the changes are made: when it holds a verdict (the
    /// release failed, is rolling back or rolled back, or the stable revision degraded). The
    /// verdict comes from the rounds' report, which lives only in memory and which the act step
    /// stops; were the status write after a rollback to fail, the rollback would be done and
    /// never recorded or announced. A plan that moves a release forward makes its changes
    /// first, so its status says only what was done.
    pub fn records_first(&self) -> bool {
        matches!(
            self.status.phase,
            Some(Phase::RollingBack | Phase::RolledBack | Phase::Failed | Phase::Degraded)
        )
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

/// Decides what to do, within what the operator's `policy` allows.
pub fn plan(
    subject: Subject<'_>,
    policy: &Policy,
    previous: &DeploymentChecklistStatus,
    observed: &Observation,
    now: &Time,
) -> Plan {
    let mut planner = Planner {
        name: subject.name,
        spec: subject.spec,
        generation: subject.generation,
        policy,
        observed,
        now,
        status: previous.clone(),
        changes: Vec::new(),
        notes: Vec::new(),
        fresh_start: false,
        promote_requested: false,
        fresh_stage: false,
        wake_after: None,
    };
    planner.decide(previous);
    planner.finish()
}

/// The state of one plan while it is being made; each module of the plan adds its methods.
struct Planner<'a> {
    name: &'a str,
    spec: &'a DeploymentChecklistSpec,
    generation: i64,
    policy: &'a Policy,
    observed: &'a Observation,
    now: &'a Time,
    status: DeploymentChecklistStatus,
    changes: Vec<Change>,
    notes: Vec<Note>,
    /// This reconcile retries a failed attempt: what was observed of its verification is stale.
    fresh_start: bool,
    /// A new checklist.dev/promote value arrived and has not been used by a step yet.
    promote_requested: bool,
    /// This plan moved the release to a stage with rounds of its own: the verdict observed is
    /// the stage before's.
    fresh_stage: bool,
    /// When a pause or a scale-down delay ends, if sooner than the usual look again.
    wake_after: Option<Duration>,
}
