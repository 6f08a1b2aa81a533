//! Which checks the Verification section lists: the checklist's own, then each template's, as
//! the operator last resolved them (status.templates), each with what it counts for.

use crate::api::{DeploymentChecklist, DeploymentChecklistStatus, Severity};

/// A check the section lists.
pub(super) struct Listed {
    /// Its name, as status.checks holds it.
    pub(super) name: String,
    /// The template it comes from, if not the checklist's own (`ClusterChecklistTemplate web`).
    pub(super) template: Option<String>,
    /// Critical or Warning.
    pub(super) severity: Severity,
    /// Whether it only reports.
    pub(super) dry_run: bool,
}

/// The checklist's checks, then its templates' checks; a template check's severity is the one
/// its last result was judged with.
pub(super) fn listed(
    checklist: &DeploymentChecklist,
    status: &DeploymentChecklistStatus,
) -> Vec<Listed> {
    let own = checklist.spec.verification.checks.iter().map(|c| Listed {
        name: c.name.clone(),
        template: None,
        severity: c.severity,
        dry_run: c.dry_run,
    });
    let templated = status.templates.iter().flat_map(|template| {
        template.checks.iter().map(|name| {
            let result = status.checks.iter().find(|c| &c.name == name);
            Listed {
                name: name.clone(),
                template: Some(format!("{} {}", template.kind, template.name)),
                severity: result.map(|r| r.severity).unwrap_or_default(),
                dry_run: result.is_some_and(|r| r.dry_run),
            }
        })
    });
    own.chain(templated).collect()
}
