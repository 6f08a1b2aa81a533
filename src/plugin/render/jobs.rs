//! The Migration section of `kubectl checklist status`: the migration Job between the hooks of
//! spec.hooks, preMigration before it and postPromotion after, in the order they run.

use std::fmt::Write as _;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

use super::{Paint, push_indented, took};
use crate::api::{
    CheckResult, DeploymentChecklist, DeploymentChecklistStatus, HookName, MigrationState,
};

/// Writes the Migration section.
pub(super) fn section(
    out: &mut String,
    checklist: &DeploymentChecklist,
    status: &DeploymentChecklistStatus,
    paint: Paint,
    now: &Timestamp,
) {
    let _ = writeln!(out, "\n{}", paint.heading("Migration"));
    let hook_row = |name: HookName| {
        let set = checklist
            .spec
            .hooks
            .as_ref()
            .and_then(|h| h.job(name))
            .is_some();
        let hook = status.hooks.iter().find(|h| h.name == name);
        set.then(|| match hook {
            Some(hook) => job_rows(
                paint,
                now,
                JobShown {
                    what: &format!("{} hook", name.as_str()),
                    which: &hook.job,
                    state: hook.state,
                    started_at: hook.started_at.as_ref(),
                    finished_at: hook.finished_at.as_ref(),
                    message: hook.message.as_deref(),
                },
            ),
            None => vec![vec![
                paint.mark(CheckResult::Pending),
                format!("{} hook", name.as_str()),
                paint.waiting("not started"),
            ]],
        })
    };
    let mut rows: Vec<Vec<String>> = hook_row(HookName::PreMigration).unwrap_or_default();
    match (&checklist.spec.migration, &status.migration) {
        (None, _) if rows.is_empty() => rows.push(vec![paint.dim("none")]),
        (None, _) => {}
        (Some(_), None) if rows.is_empty() => rows.push(vec![paint.waiting("not started")]),
        (Some(_), None) => rows.push(vec![
            paint.mark(CheckResult::Pending),
            "migration".into(),
            paint.waiting("not started"),
        ]),
        (Some(_), Some(job)) => rows.extend(job_rows(
            paint,
            now,
            JobShown {
                what: &job.job,
                which: &job.image,
                state: job.state,
                started_at: job.started_at.as_ref(),
                finished_at: job.finished_at.as_ref(),
                message: job.message.as_deref(),
            },
        )),
    }
    rows.extend(hook_row(HookName::PostPromotion).unwrap_or_default());
    push_indented(out, &rows);
}

/// A Job as the Migration section shows it: what it is (the migration Job's name, or which
/// hook), then which (the migration's image, or the hook's Job).
struct JobShown<'a> {
    what: &'a str,
    which: &'a str,
    state: MigrationState,
    started_at: Option<&'a Time>,
    finished_at: Option<&'a Time>,
    message: Option<&'a str>,
}

/// The row of a Job (mark, what, state, how long, which) and its message's row.
fn job_rows(paint: Paint, now: &Timestamp, job: JobShown<'_>) -> Vec<Vec<String>> {
    let result = match job.state {
        MigrationState::Succeeded => CheckResult::Pass,
        MigrationState::Failed => CheckResult::Fail,
        MigrationState::Pending | MigrationState::Running => CheckResult::Pending,
    };
    let mut rows = vec![vec![
        paint.mark(result),
        job.what.to_string(),
        format!("{:?}", job.state),
        took(job.started_at, job.finished_at, now),
        job.which.to_string(),
    ]];
    if let Some(message) = job.message {
        rows.push(vec![String::new(), message.to_string()]);
    }
    rows
}
