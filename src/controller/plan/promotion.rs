//! Promotion between stages, decided: whether the stable revision of the followed checklist
//! qualifies (Ready now, for long enough, scoring enough, approved when approval is Manual), and
//! which promoted version this checklist runs. Pure: the followed checklist is read by observe,
//! and the time is given.
//!
//! What it writes to status is stable from one reconcile to the next while nothing changes (no
//! running clock in a message, the time a revision qualifies instead), so waiting writes nothing.

use std::time::Duration;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

use crate::{
    api::{
        Approval, DeploymentChecklist, Phase, PromotedRevision, PromotionSpec, PromotionStatus,
        image_problems,
    },
    text::line,
};

/// What observe found of the followed checklist.
#[derive(Debug)]
pub enum Source<'a> {
    /// It exists.
    Found(&'a DeploymentChecklist),
    /// No checklist of that name.
    Missing,
    /// It could not be read, for a reason a person must fix (say, an operator scoped to one
    /// namespace).
    Unreadable(String),
}

/// The promotion state of a following checklist after one look at the stage it follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// status.promotion.
    pub status: PromotionStatus,
    /// When to look again: when a revision waiting for its time will qualify.
    pub recheck_after: Option<Duration>,
}

impl Decision {
    /// The version promoted so far, which this checklist runs instead of spec.app.image.
    pub fn running(&self) -> Option<&PromotedRevision> {
        self.status.promoted.as_ref()
    }
}

/// Decides the promotion of a checklist in `namespace` following `spec.from`, given what was
/// found of it, the status.promotion it wrote last, the revision a person approved (the
/// checklist.dev/approve annotation) and `now`.
pub fn decide(
    spec: &PromotionSpec,
    namespace: &str,
    source: &Source<'_>,
    previous: Option<&PromotionStatus>,
    approved: Option<&str>,
    now: &Time,
) -> Decision {
    let source_namespace = spec.from.namespace.as_deref().unwrap_or(namespace);
    let from = format!("{source_namespace}/{}", spec.from.name);
    // Another stage followed: what was promoted from the one before is not this one's.
    let previous = previous.filter(|p| p.from == from);
    let promoted = previous.and_then(|p| p.promoted.clone());
    let decision = |awaiting: Option<PromotedRevision>, message: Option<String>| Decision {
        status: PromotionStatus {
            from: from.clone(),
            promoted: promoted.clone(),
            awaiting_approval: awaiting,
            message: message.map(|m| line(&m, 1024)),
        },
        recheck_after: None,
    };
    let wait = |message: String| decision(None, Some(message));
    // In another namespace, a missing checklist and one that does not invite this namespace
    // read the same: a tenant learns nothing of another's checklists by naming them.
    let across = source_namespace != namespace;
    let uninvited = || {
        wait(format!(
            "DeploymentChecklist {from} does not exist or does not list namespace {namespace} \
             in spec.followers.namespaces: nothing is promoted from it"
        ))
    };
    let followed = match source {
        Source::Found(followed) => *followed,
        Source::Missing if across => return uninvited(),
        Source::Missing => return wait(format!("DeploymentChecklist {from} not found")),
        Source::Unreadable(reason) => return wait(reason.clone()),
    };
    if across && !invited(followed, namespace) {
        return uninvited();
    }
    let status = followed.status.clone().unwrap_or_default();
    let revisions = status.revision.unwrap_or_default();
    let Some(stable) = revisions.stable else {
        return wait(format!("{from} has no stable revision yet"));
    };
    let shown = line(&stable.hash, 64);
    if promoted.as_ref().is_some_and(|p| p.revision == stable.hash) {
        return decision(None, None);
    }
    let at_rest = status.phase == Some(Phase::Ready)
        && revisions.current.as_ref().map(|c| &c.hash) == Some(&stable.hash);
    if !at_rest {
        return wait(format!(
            "{from} is not Ready on its stable revision {shown}: it is promoted once it is"
        ));
    }
    // What a status says is only as good as who could write it: both images must be images.
    let migration_image = migration_image(followed);
    let problems: Vec<String> = std::iter::once(&stable.image)
        .chain(migration_image.as_ref())
        .flat_map(|image| image_problems(image))
        .collect();
    if !problems.is_empty() {
        return wait(format!(
            "{from} revision {shown} has an image that cannot run here: it {}",
            problems.join("; it ")
        ));
    }
    if let Some(message) = short_score(&from, &status.score, spec.min_score_percent) {
        return wait(message);
    }
    let since = stable.since.as_ref().map_or(now.0, |t| t.0);
    let ready_for = i64::from(spec.ready_for_seconds);
    let left = ready_for - (now.0.as_second() - since.as_second());
    if left > 0 {
        let at = Timestamp::from_second(since.as_second() + ready_for).unwrap_or(now.0);
        return Decision {
            recheck_after: Some(Duration::from_secs(left.unsigned_abs())),
            ..wait(format!(
                "{from} revision {shown} is promoted at {at} once Ready for {ready_for} s"
            ))
        };
    }
    let candidate = PromotedRevision {
        revision: stable.hash.clone(),
        image: stable.image.clone(),
        migration_image,
        at: Some(now.clone()),
    };
    if spec.approval == Approval::Manual && approved != Some(stable.hash.as_str()) {
        // The time it was first found waiting is kept, so waiting writes no new status.
        let at = previous
            .and_then(|p| p.awaiting_approval.as_ref())
            .filter(|a| a.revision == candidate.revision)
            .and_then(|a| a.at.clone())
            .or(candidate.at.clone());
        let message = format!(
            "{from} revision {shown} ({}) is ready: approve it with kubectl checklist approve",
            line(&candidate.image, 256)
        );
        return decision(Some(PromotedRevision { at, ..candidate }), Some(message));
    }
    Decision {
        status: PromotionStatus {
            from,
            promoted: Some(candidate),
            awaiting_approval: None,
            message: None,
        },
        recheck_after: None,
    }
}

/// Whether the followed checklist invites checklists of `namespace`.
fn invited(followed: &DeploymentChecklist, namespace: &str) -> bool {
    followed
        .spec
        .followers
        .as_ref()
        .is_some_and(|f| f.namespaces.iter().any(|n| n == namespace))
}

/// Why the followed checklist's score is below `percent`, if it is.
fn short_score(from: &str, score: &Option<crate::api::Score>, percent: i32) -> Option<String> {
    let (passed, total) = score.as_ref().map_or((0, 0), |s| (s.passed, s.total));
    let percent = percent.clamp(0, 100);
    // Rounded up: 90% of 12 items needs 11.
    let needed = (i64::from(total.max(0)) * i64::from(percent) + 99) / 100;
    (i64::from(passed) < needed).then(|| {
        format!("{from} scores {passed}/{total}, below the {percent}% spec.promotion asks for")
    })
}

/// The migration image the followed checklist runs with its stable revision: its own
/// spec.migration.image, or, when it follows a stage itself, the one promoted to it.
fn migration_image(followed: &DeploymentChecklist) -> Option<String> {
    if followed.spec.promotion.is_some() {
        return followed
            .status
            .as_ref()
            .and_then(|s| s.promotion.as_ref())
            .and_then(|p| p.promoted.as_ref())
            .and_then(|p| p.migration_image.clone());
    }
    followed
        .spec
        .migration
        .as_ref()
        .and_then(|m| m.image.clone())
}

#[cfg(test)]
mod tests;
