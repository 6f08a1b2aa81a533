//! The status budget: whatever a tenant's spec says and its app answers, the status written is
//! clean text within fixed sizes, so the API server never refuses it for its size and nobody
//! reading it gets a terminal escape.
//!
//! Every string is taken through [`text::line`] with a cap of its own; the lists have the caps
//! the CRD declares; and when the whole is still over [`STATUS_MAX_BYTES`] (a thousand secret
//! keys, a hundred history entries with long messages), the messages of list entries are cut
//! shorter, then the longest lists lose their last entries (failures kept first), until it fits.
//! Pure, and idempotent: a fitted status fits again unchanged, so it compares equal to what is
//! stored and costs no write.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::{
    api::{CheckResult, DeploymentChecklistStatus},
    text,
};

/// The most a status may take as JSON: well under etcd's 1.5 MiB per object and the API
/// server's 3 MiB request limit, leaving the rest of the object to the spec and metadata.
pub const STATUS_MAX_BYTES: usize = 256 * 1024;

/// The longest a message may be: status.message, a condition's, a history entry's, a check's.
pub const MESSAGE_MAX_CHARS: usize = 1024;

/// The longest a name may be: a Secret, a key, a check, a dependency, a Job.
pub const NAME_MAX_CHARS: usize = 253;

/// The longest an image reference may be.
pub const IMAGE_MAX_CHARS: usize = 512;

/// The longest a secret key's or a dependency's message may be.
pub const ENTRY_MESSAGE_MAX_CHARS: usize = 256;

/// The most dependencies kept (the CRD's maxItems).
pub const DEPENDENCIES_MAX: usize = 128;

/// The most checks kept (the CRD's maxItems).
pub const CHECKS_MAX: usize = 32;

/// The most secret key verdicts kept (the CRD's maxItems).
pub const SECRETS_MAX: usize = 1024;

/// The shortest the messages of list entries are cut to before entries are dropped.
const SHORTEST_ENTRY_MESSAGE: usize = 32;

/// `status` within the budget: every string clean and capped, the lists within their caps, and
/// the whole within [`STATUS_MAX_BYTES`].
pub fn fit(mut status: DeploymentChecklistStatus) -> DeploymentChecklistStatus {
    clean(&mut status);
    let mut cap = MESSAGE_MAX_CHARS;
    while size(&status) > STATUS_MAX_BYTES && cap > SHORTEST_ENTRY_MESSAGE {
        cap /= 2;
        shorten_entries(&mut status, cap);
    }
    // Sized once, then less each dropped entry: one encoding per entry would make a thousand
    // secret keys cost a second.
    let mut total = size(&status);
    while total > STATUS_MAX_BYTES {
        match drop_one_entry(&mut status) {
            Some(dropped) => total = total.saturating_sub(dropped),
            None => break,
        }
    }
    status
}

/// What is written when the API server refused `status` anyway (a limit lower than ours, an
/// admission webhook): the transition without the per-check detail, so a rollback is still
/// recorded. `why` is said in status.message.
pub fn reduced(status: &DeploymentChecklistStatus, why: &str) -> DeploymentChecklistStatus {
    fit(DeploymentChecklistStatus {
        checks: Vec::new(),
        dependencies: Vec::new(),
        secrets: Vec::new(),
        history: status
            .history
            .iter()
            .rev()
            .take(10)
            .rev()
            .cloned()
            .collect(),
        message: Some(format!(
            "the full status was refused by the API server ({why}); checks, dependencies and \
             secret verdicts are left out: {}",
            status.message.as_deref().unwrap_or_default()
        )),
        ..status.clone()
    })
}

/// The status as JSON, in bytes; a status that cannot be encoded counts as over any budget.
pub fn size(status: &DeploymentChecklistStatus) -> usize {
    serde_json::to_vec(status).map_or(usize::MAX, |json| json.len())
}

fn clean(status: &mut DeploymentChecklistStatus) {
    line_opt(&mut status.message, MESSAGE_MAX_CHARS);
    status.conditions.iter_mut().for_each(condition);
    if let Some(revision) = &mut status.revision {
        if let Some(current) = &mut revision.current {
            line(&mut current.image, IMAGE_MAX_CHARS);
            line(&mut current.hash, NAME_MAX_CHARS);
        }
        if let Some(stable) = &mut revision.stable {
            line(&mut stable.image, IMAGE_MAX_CHARS);
            line(&mut stable.hash, NAME_MAX_CHARS);
        }
    }
    if let Some(rollout) = &mut status.rollout {
        line(&mut rollout.summary, 128);
        // Names a route, which a spec may make 253 characters long: the CRD's cap is 200.
        line_opt(&mut rollout.traffic, 200);
        line_opt(&mut rollout.route, 200);
    }
    for entry in &mut status.history {
        line(&mut entry.image, IMAGE_MAX_CHARS);
        line_opt(&mut entry.reason, NAME_MAX_CHARS);
        line_opt(&mut entry.message, MESSAGE_MAX_CHARS);
    }
    status.secrets.truncate(SECRETS_MAX);
    for secret in &mut status.secrets {
        line(&mut secret.secret, NAME_MAX_CHARS);
        line(&mut secret.key, NAME_MAX_CHARS);
        line_opt(&mut secret.message, ENTRY_MESSAGE_MAX_CHARS);
    }
    if let Some(migration) = &mut status.migration {
        line(&mut migration.job, NAME_MAX_CHARS);
        line(&mut migration.image, IMAGE_MAX_CHARS);
        line_opt(&mut migration.message, MESSAGE_MAX_CHARS);
    }
    status.checks.truncate(CHECKS_MAX);
    for check in &mut status.checks {
        line(&mut check.name, NAME_MAX_CHARS);
        line_opt(&mut check.message, MESSAGE_MAX_CHARS);
    }
    status.dependencies.truncate(DEPENDENCIES_MAX);
    for dependency in &mut status.dependencies {
        line(&mut dependency.name, NAME_MAX_CHARS);
        line(&mut dependency.check, NAME_MAX_CHARS);
        line_opt(&mut dependency.message, ENTRY_MESSAGE_MAX_CHARS);
    }
    if let Some(score) = &mut status.score {
        line(&mut score.summary, MESSAGE_MAX_CHARS);
    }
}

fn condition(condition: &mut Condition) {
    line(&mut condition.message, MESSAGE_MAX_CHARS);
    line(&mut condition.reason, NAME_MAX_CHARS);
}

/// Cuts the messages of every list entry to `cap` characters.
fn shorten_entries(status: &mut DeploymentChecklistStatus, cap: usize) {
    let entries = status
        .history
        .iter_mut()
        .map(|e| &mut e.message)
        .chain(status.secrets.iter_mut().map(|s| &mut s.message))
        .chain(status.checks.iter_mut().map(|c| &mut c.message))
        .chain(status.dependencies.iter_mut().map(|d| &mut d.message));
    for message in entries {
        line_opt(message, cap);
    }
}

/// Drops the last entry of the longest list: passing secret keys and dependencies go before
/// failing ones, which say what to fix. The dropped entry's size as JSON (with its comma), or
/// None when there is nothing left to drop.
fn drop_one_entry(status: &mut DeploymentChecklistStatus) -> Option<usize> {
    let longest = [
        status.secrets.len(),
        status.dependencies.len(),
        status.history.len(),
    ];
    match longest.iter().enumerate().max_by_key(|(_, n)| **n) {
        Some((_, 0)) | None => None,
        Some((0, _)) => drop_passing_first(&mut status.secrets, |s| s.result),
        Some((1, _)) => drop_passing_first(&mut status.dependencies, |d| d.result),
        // The oldest history entry goes first: the current attempt is the last one.
        Some(_) => Some(entry_size(&status.history.remove(0))),
    }
}

fn drop_passing_first<T: serde::Serialize>(
    list: &mut Vec<T>,
    result: impl Fn(&T) -> CheckResult,
) -> Option<usize> {
    let at = list
        .iter()
        .rposition(|entry| result(entry) != CheckResult::Fail)
        .or_else(|| list.len().checked_sub(1))?;
    Some(entry_size(&list.remove(at)))
}

fn entry_size(entry: &impl serde::Serialize) -> usize {
    serde_json::to_vec(entry).map_or(0, |json| json.len() + 1)
}

fn line(value: &mut String, max: usize) {
    if !text::is_clean(value) || value.chars().count() > max {
        *value = text::line(value, max);
    }
}

fn line_opt(value: &mut Option<String>, max: usize) {
    if let Some(value) = value {
        line(value, max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CheckKind, CheckStatus, DependencyStatus, SecretKeyStatus};

    fn dependency(i: usize, name: &str, message: &str) -> DependencyStatus {
        DependencyStatus {
            name: format!("{name}{i}"),
            check: "deep".into(),
            result: if i.is_multiple_of(2) {
                CheckResult::Pass
            } else {
                CheckResult::Fail
            },
            message: Some(message.into()),
        }
    }

    fn hostile() -> DeploymentChecklistStatus {
        let huge = "\u{1b}]52;c;AAAA\u{7}".to_string() + &"L".repeat(400_000);
        DeploymentChecklistStatus {
            message: Some(huge.clone()),
            checks: (0..40)
                .map(|i| CheckStatus {
                    name: format!("redirect-{i}"),
                    kind: CheckKind::HttpsRedirect,
                    severity: Default::default(),
                    category: None,
                    dry_run: false,
                    result: CheckResult::Fail,
                    message: Some(format!("Location: {huge}")),
                    latency_ms: None,
                    attempts: None,
                    last_run: None,
                })
                .collect(),
            dependencies: (0..10_000)
                .map(|i| dependency(i, &"\u{202e}db".repeat(200), &huge))
                .collect(),
            secrets: (0..1024)
                .map(|i| SecretKeyStatus {
                    secret: "s".repeat(253),
                    key: format!("{i}{}", "k".repeat(250)),
                    result: CheckResult::Pass,
                    message: Some("present".repeat(100)),
                })
                .collect(),
            ..DeploymentChecklistStatus::default()
        }
    }

    #[test]
    fn a_hostile_status_fits_the_budget_with_clean_text() {
        let fitted = fit(hostile());
        let json = serde_json::to_string(&fitted).unwrap();
        assert!(json.len() <= STATUS_MAX_BYTES, "{} bytes", json.len());
        assert!(!json.contains('\u{1b}') && !json.contains('\u{202e}'));
        assert_eq!(fitted.checks.len(), CHECKS_MAX);
        assert!(fitted.dependencies.len() <= DEPENDENCIES_MAX);
        assert!(fitted.message.unwrap().chars().count() <= MESSAGE_MAX_CHARS);
    }

    #[test]
    fn fitting_twice_changes_nothing() {
        let once = fit(hostile());
        assert_eq!(fit(once.clone()), once);
    }

    #[test]
    fn an_ordinary_status_is_kept_as_it_is() {
        let status = DeploymentChecklistStatus {
            message: Some("verification passed: 12/12".into()),
            dependencies: (0..3).map(|i| dependency(i, "db", "connected")).collect(),
            ..DeploymentChecklistStatus::default()
        };
        assert_eq!(fit(status.clone()), status);
    }

    #[test]
    fn failing_entries_outlast_passing_ones() {
        let mut list: Vec<CheckResult> = vec![
            CheckResult::Fail,
            CheckResult::Pass,
            CheckResult::Fail,
            CheckResult::Skipped,
        ];
        assert_eq!(drop_passing_first(&mut list, |r| *r), Some(10));
        assert_eq!(drop_passing_first(&mut list, |r| *r), Some(7));
        assert_eq!(list, vec![CheckResult::Fail, CheckResult::Fail]);
        assert!(drop_passing_first(&mut list, |r| *r).is_some());
        assert!(drop_passing_first(&mut list, |r| *r).is_some());
        assert_eq!(drop_passing_first(&mut list, |r| *r), None);
    }
}
