//! The owned objects of the current revision a person changed by hand, found by comparing each
//! with what the operator would apply now (pure, like the rest of the reduction).

use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;

use crate::{
    api::DeploymentChecklist,
    resources::{self, deployed_revision, drift, selected_revision, stamp},
};

use super::{
    observation::{Drifted, Owned},
    read::World,
};

/// The current revision's objects a person changed: each rebuilt as the operator would apply it
/// now and, when the object carries the stamp of exactly that build (see `resources::stamp`),
/// compared on the fields it sets. A Deployment's replicas count only for RollingUpdate with
/// spec.app.replicas set (BlueGreen and Canary change them per stage and compare them
/// themselves). Nothing is compared for another revision, whose spec is not at hand.
// Long (about 70 lines) on purpose: one short block per kind of owned object, in the order
// they are applied.
pub(super) fn drift(
    checklist: &DeploymentChecklist,
    world: &World,
    revision: &str,
) -> Vec<Drifted> {
    let spec = &checklist.spec;
    let name = checklist.name_any();
    let mut drifted = Vec::new();
    let mut report = |object: Owned, name: String, fields: Vec<String>| {
        if !fields.is_empty() {
            drifted.push(Drifted {
                object,
                name,
                fields,
            });
        }
    };
    let current = |d: &&Deployment| deployed_revision(d).as_deref() == Some(revision);
    let deployment = world.deployment.as_ref().filter(current);
    if let Some(live) = deployment {
        let desired = resources::deployment(checklist, spec, revision);
        if stamp::applied_as(&desired, live) {
            report(
                Owned::Deployment {
                    revision: revision.to_string(),
                },
                name.clone(),
                drift::deployment_drift(&desired, live, spec.app.replicas.is_some()),
            );
        }
    }
    for live in world.revision_deployments.iter().filter(current) {
        let replicas = live.spec.replicas.unwrap_or(1);
        let desired = resources::revision_deployment(checklist, spec, revision, replicas);
        if desired.metadata.name != live.metadata.name || !stamp::applied_as(&desired, live) {
            continue;
        }
        report(
            Owned::RevisionDeployment {
                revision: revision.to_string(),
                replicas,
            },
            live.name_any(),
            drift::deployment_drift(&desired, live, false),
        );
    }
    if let Some(live) = &world.service {
        let selects = selected_revision(live);
        let desired = resources::service_selecting(checklist, &name, selects.as_deref());
        if stamp::applied_as(&desired, live) {
            let fields = drift::service_drift(&desired, live);
            report(
                Owned::AppService { revision: selects },
                name.clone(),
                fields,
            );
        }
    }
    if let Some(live) = &world.side_service
        && let Some(selects) = selected_revision(live)
    {
        let desired = resources::side_service(checklist, &live.name_any(), &selects);
        if stamp::applied_as(&desired, live) {
            let fields = drift::service_drift(&desired, live);
            report(
                Owned::SideService { revision: selects },
                live.name_any(),
                fields,
            );
        }
    }
    drifted
}
