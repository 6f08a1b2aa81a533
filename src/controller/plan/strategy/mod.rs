//! What differs between rollout strategies, behind one small trait: what a strategy applies to
//! bring the new revision up, how it reads that revision's progress, and how it brings the
//! stable revision back. Everything else about a release — secrets, the migration, the
//! verification gate, the rollback policy, history, conditions — is the same for all of them and
//! lives in the rest of the plan.
//!
//! One module per strategy: `rolling` (RollingUpdate) now; BlueGreen and Canary will sit beside
//! it.

mod rolling;

use crate::api::RolloutStrategy;
use crate::controller::observe::Observation;

use super::{Change, step::Step};

/// The changes a strategy asks for and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Progress {
    /// What to apply, in order.
    pub(super) changes: Vec<Change>,
    /// Wait (not there yet), Done, or Failed with the trigger that failed the revision.
    pub(super) step: Step,
}

/// A rollout strategy: pure functions of what was observed.
pub(super) trait Strategy {
    /// Brings the current revision towards serving every replica: what to apply, and whether it
    /// is done, still coming up, or failed (progress deadline, crash loop).
    fn roll_out(&self, observed: &Observation) -> Progress;

    /// Brings the `stable` revision back after a failure: what to apply, and whether it serves
    /// again (Done) or is still coming up (Wait).
    fn restore(&self, observed: &Observation, stable: &str) -> Progress;
}

/// The strategy that runs `kind`, or None when this version cannot run it.
pub(super) fn of(kind: RolloutStrategy) -> Option<&'static dyn Strategy> {
    match kind {
        RolloutStrategy::RollingUpdate => Some(&rolling::Rolling),
        RolloutStrategy::BlueGreen | RolloutStrategy::Canary => None,
    }
}
