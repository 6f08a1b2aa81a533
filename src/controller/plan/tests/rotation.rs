//! spec.app.rollOnChange: a new version of a listed object is a new revision that names it; an
//! unread object is refused before anything changes.

use super::*;
use crate::api::ReferenceVersion;

fn version(kind: &str, name: &str, version: &str) -> ReferenceVersion {
    ReferenceVersion {
        kind: kind.into(),
        name: name.into(),
        resource_version: Some(version.into()),
    }
}

fn rolling_on_change() -> DeploymentChecklistSpec {
    let mut spec = spec();
    spec.app.roll_on_change = Some(crate::api::RollOnChange {
        secrets: vec!["dialectic-env".into()],
        config_maps: Vec::new(),
    });
    spec
}

/// Ready on OLD, which was rolled with dialectic-env at version `at`.
fn ready_with(at: &str) -> DeploymentChecklistStatus {
    let mut steady = steady_on_old();
    steady.revision.references = vec![version("Secret", "dialectic-env", at)];
    let plan = run(
        &rolling_on_change(),
        &DeploymentChecklistStatus::default(),
        &steady,
    );
    assert_eq!(plan.status.phase, Some(Phase::Ready));
    plan.status
}

#[test]
fn a_new_version_of_a_listed_secret_starts_a_revision_that_names_it() {
    let previous = ready_with("812");
    let mut rotated = observed();
    rotated.revision.references = vec![version("Secret", "dialectic-env", "907")];
    let plan = run(&rolling_on_change(), &previous, &rotated);
    let entry = plan.status.history.last().unwrap();
    assert_eq!(entry.hash.as_deref(), Some(NEW));
    assert_eq!(entry.rotated, ["Secret/dialectic-env"]);
    let current = plan
        .status
        .revision
        .as_ref()
        .unwrap()
        .current
        .as_ref()
        .unwrap();
    assert_eq!(current.references, rotated.revision.references);
    let started = plan
        .notes
        .iter()
        .find(|n| n.reason == Reason::RevisionStarted)
        .unwrap();
    assert!(
        started.message.ends_with(": Secret/dialectic-env changed"),
        "{}",
        started.message
    );
}

#[test]
fn a_new_spec_with_the_same_versions_rotated_nothing() {
    let previous = ready_with("812");
    let mut new_image = observed();
    new_image.revision.references = vec![version("Secret", "dialectic-env", "812")];
    let plan = run(&rolling_on_change(), &previous, &new_image);
    assert!(plan.status.history.last().unwrap().rotated.is_empty());
}

#[test]
fn rolling_on_an_object_the_pods_do_not_read_changes_nothing() {
    let mut spec = rolling_on_change();
    if let Some(listed) = spec.app.roll_on_change.as_mut() {
        listed.config_maps = vec!["nowhere".into()];
    }
    let plan = run(&spec, &ready_on_old(), &observed());
    let message = refused_as_invalid(&plan);
    assert!(
        message.starts_with(
            "spec.app.rollOnChange.configMaps names ConfigMap \"nowhere\", which the app's pods do not read"
        ) && message.ends_with("; nothing was changed"),
        "{message}"
    );
}
