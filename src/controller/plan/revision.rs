//! Revisions: starting one (a new spec or a retry), the history that records each attempt, and
//! the stable revision a passed attempt becomes.

use crate::api::{
    CheckStatus, ConditionStatus as Status, ConditionType as Cond, DeploymentChecklistSpec,
    HistoryEntry, Phase, Reason, ReferenceVersion, RevisionOutcome, RevisionRef, RevisionStatus,
    StableRevision,
};
use crate::controller::observe::JobState;

use super::{Change, Note, Planner, status::Kstatus};

impl Planner<'_> {
    /// Whether the observed spec is another revision than the one the status is about.
    pub(super) fn current_changed(&self) -> bool {
        self.status
            .revision
            .as_ref()
            .and_then(|r| r.current.as_ref())
            .is_none_or(|c| c.hash != self.observed.revision.hash)
    }

    /// A new revision (or a retry of a failed one) starts from the top.
    pub(super) fn start_revision(&mut self, retry: bool) {
        let revision = &self.observed.revision;
        let status = self
            .status
            .revision
            .get_or_insert_with(RevisionStatus::default);
        let rotated = rotated(status.current.as_ref(), &revision.references);
        status.current = Some(RevisionRef {
            image: revision.image.clone(),
            hash: revision.hash.clone(),
            references: revision.references.clone(),
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
            trigger: None,
            reason: retry.then(|| Reason::Retrying.as_str().to_string()),
            message: retry.then(|| "retry requested".to_string()),
            rotated: rotated.clone(),
            started_at: Some(self.now.clone()),
            finished_at: None,
        });
        let limit = usize::try_from(self.spec.rollback.revision_history_limit.max(1)).unwrap_or(10);
        let excess = self.status.history.len().saturating_sub(limit);
        self.status.history.drain(..excess);
        self.status.checks.clear();
        self.status.dependencies.clear();
        self.status.failed_rounds = None;
        self.status.migration = None;
        self.status.hooks.clear();
        self.changes.push(Change::StopVerification);
        self.notes.push(Note {
            reason: Reason::RevisionStarted,
            message: if rotated.is_empty() {
                format!(
                    "rolling out {} (revision {})",
                    revision.image, revision.hash
                )
            } else {
                format!(
                    "rolling out {} (revision {}): {} changed",
                    revision.image,
                    revision.hash,
                    rotated.join(", ")
                )
            },
        });
    }

    /// Whether the last attempt left Jobs a retry must not reuse: a failed migration, or a
    /// migration that a down-migration has since undone.
    pub(super) fn stale_jobs(&self) -> bool {
        matches!(self.observed.migration, JobState::Failed(_))
            || matches!(self.observed.hooks.pre_migration, JobState::Failed(_))
            || matches!(self.observed.hooks.post_promotion, JobState::Failed(_))
            || !matches!(
                self.observed.rollback_migration,
                JobState::NotNeeded | JobState::Absent
            )
    }

    /// Whether the current revision's attempt already ended Succeeded.
    pub(super) fn current_succeeded(&self) -> bool {
        self.status.history.last().is_some_and(|last| {
            last.hash.as_deref() == Some(self.observed.revision.hash.as_str())
                && last.outcome == RevisionOutcome::Succeeded
        })
    }

    /// Every step is done: the revision becomes the stable one and the checklist Ready.
    pub(super) fn become_ready(&mut self) {
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
        let message = ready_message(&revision.image, self.spec, &self.status.checks);
        self.kstatus(Kstatus::Ready, Reason::Ready, &message);
        self.set(Cond::RolledBack, Status::False, Reason::Ready, &message);
        self.enter(Phase::Ready, Reason::Ready, &message);
    }
}

/// What a Ready status says: the image, or how many counted checks (not dryRun) passed. Ready
/// means the last round passed, so what failed in it are warnings, counted as condition
/// Verified names them.
fn ready_message(image: &str, spec: &DeploymentChecklistSpec, results: &[CheckStatus]) -> String {
    let total = spec
        .verification
        .checks
        .iter()
        .filter(|c| !c.dry_run)
        .count();
    if total == 0 {
        return format!("{image} is ready");
    }
    match super::verification::failed_warnings(results).len() {
        0 => format!("verification passed: {total}/{total}"),
        1 => format!(
            "verification passed: {}/{total}, 1 warning failed",
            total - 1
        ),
        n => format!(
            "verification passed: {}/{total}, {n} warnings failed",
            total - n
        ),
    }
}

/// The rollOnChange objects (`Kind/name`) whose version differs between the revision the status
/// was about and the one starting: what a rotation changed. An object newly listed, or listed
/// no more, is a change of the spec, not a rotation.
fn rotated(previous: Option<&RevisionRef>, now: &[ReferenceVersion]) -> Vec<String> {
    let Some(previous) = previous else {
        return Vec::new();
    };
    now.iter()
        .filter(|r| {
            previous.references.iter().any(|p| {
                p.kind == r.kind && p.name == r.name && p.resource_version != r.resource_version
            })
        })
        .map(ReferenceVersion::object)
        .collect()
}
