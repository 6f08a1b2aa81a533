//! The requests a person makes by annotating the checklist (retry, promote, abort, rollback),
//! read from the checklist alone: both the reads (which stored spec to fetch) and the reduction
//! (what to plan on) need them, so they sit below both.

use kube::ResourceExt;

use crate::api::{
    DeploymentChecklist,
    requests::{self, ROLLBACK_ANNOTATION, RollbackRefusal, RollbackTarget},
};

/// The value of a request annotation as the status keeps it ([`requests::token`]).
pub(super) fn request_token(checklist: &DeploymentChecklist, annotation: &str) -> Option<String> {
    checklist
        .annotations()
        .get(annotation)
        .map(|value| requests::token(value))
}

/// The `checklist.dev/rollback` request not acted on yet, if any.
pub(super) fn rollback_request(
    checklist: &DeploymentChecklist,
    current: &str,
) -> Option<(String, Result<RollbackTarget, RollbackRefusal>)> {
    requests::pending_rollback(
        checklist.annotations().get(ROLLBACK_ANNOTATION),
        checklist.status.as_ref(),
        current,
    )
}

/// The revision a rollback would restore, whose stored spec is read: the one a pending rollback
/// request names, else the stable revision (None when the current spec is the stable one).
pub fn restore_hash(checklist: &DeploymentChecklist, current: &str) -> Option<String> {
    if let Some((_, Ok(target))) = rollback_request(checklist, current) {
        return Some(target.hash);
    }
    checklist
        .status
        .as_ref()
        .and_then(|s| s.revision.as_ref())
        .and_then(|r| r.stable.as_ref())
        .map(|s| s.hash.clone())
        .filter(|hash| hash != current)
}
