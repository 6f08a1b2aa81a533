//! What differs between rollout strategies, behind one small trait: how a strategy releases the
//! new revision (brings it up and verifies it, in one go or step by step) and how it brings the
//! stable revision back after a failure. Everything else about a release — secrets, the
//! migration, the rollback policy, history, conditions — is the same for all of them and lives
//! in the rest of the plan.
//!
//! One module per strategy: `rolling` (RollingUpdate: one Deployment whose template changes),
//! `blue_green` and `canary`, which hold each revision in a Deployment of its own (`sides`
//! has what the two share: the layout at rest, the restore, the stage bookkeeping and the
//! promote and abort requests).

mod blue_green;
mod canary;
mod rolling;
mod sides;

use crate::api::{DeploymentChecklistSpec, RollbackTrigger, RolloutStrategy};
use crate::controller::observe::RolloutProgress;

use super::{
    Change, Planner,
    step::{Failure, Step},
};

/// The changes a restore asks for and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Progress {
    /// What to apply, in order.
    pub(super) changes: Vec<Change>,
    /// Wait (not there yet), Done, or Failed with the trigger that failed the revision.
    pub(super) step: Step,
}

/// A rollout strategy: pure decisions on the planner's observation and status.
pub(super) trait Strategy {
    /// Brings the current revision towards serving every replica, verified: what to apply is
    /// pushed to the plan, and the step says whether it is done, still going, or failed.
    fn release(&self, planner: &mut Planner<'_>) -> Step;

    /// Brings the `stable` revision back after a failure: what to apply, and whether it serves
    /// again (Done) or is still coming up (Wait).
    fn restore(&self, planner: &Planner<'_>, stable: &str) -> Progress;
}

/// The strategy that runs `kind`.
pub(super) fn of(kind: RolloutStrategy) -> &'static dyn Strategy {
    match kind {
        RolloutStrategy::RollingUpdate => &rolling::Rolling,
        RolloutStrategy::BlueGreen => &blue_green::BlueGreen,
        RolloutStrategy::Canary => &canary::Canary,
    }
}

/// How a Deployment of the new revision is doing, as a step: coming up, done, or failed with
/// its trigger (progress deadline, crash loop).
fn progress_step(progress: &RolloutProgress) -> Step {
    match progress {
        RolloutProgress::Progressing => Step::Wait,
        RolloutProgress::Complete => Step::Done,
        RolloutProgress::DeadlineExceeded(message) => Step::Failed(Failure::new(
            RollbackTrigger::ProgressDeadlineExceeded,
            "rollout did not progress",
            message,
        )),
        RolloutProgress::CrashLoop(message) => Step::Failed(Failure::new(
            RollbackTrigger::CrashLoop,
            "new pods crash-loop",
            message,
        )),
    }
}

/// Why `spec` cannot be released as written by the checklist `name`, naming the field: a preview
/// or canary Service that would be the app's own Service, a canary without replicas.
pub(super) fn unworkable(name: &str, spec: &DeploymentChecklistSpec) -> Option<String> {
    let field = crate::resources::side_service_field(spec.rollout.strategy)?;
    if spec.rollout.strategy == RolloutStrategy::Canary && spec.app.replicas == Some(0) {
        return Some(
            "spec.app.replicas is 0: a canary needs at least one replica to run the new version \
             beside the stable one; nothing was changed"
                .into(),
        );
    }
    let side = crate::resources::side_service_name_of(name, &spec.rollout)?;
    (side == name).then(|| {
        format!(
            "{field} is {side}, the name of the app's own Service: the two must differ; nothing \
             was changed"
        )
    })
}
