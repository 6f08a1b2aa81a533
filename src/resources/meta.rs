//! The metadata every owned object shares: its place next to the checklist and who owns it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::{Resource, ResourceExt};

use crate::api::DeploymentChecklist;

/// Metadata for an object named `name` in the checklist's namespace, controlled by it.
pub(crate) fn owned(
    checklist: &DeploymentChecklist,
    name: String,
    labels: BTreeMap<String, String>,
    annotations: Option<BTreeMap<String, String>>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: checklist.namespace(),
        labels: Some(labels),
        annotations,
        owner_references: owner_reference(checklist).map(|owner| vec![owner]),
        ..ObjectMeta::default()
    }
}

/// Whether `object` is controlled by the checklist whose uid is `uid` (an owner reference with
/// controller: true naming it): the operator's own object, not someone else's of that name.
pub(crate) fn controlled_by(object: &impl ResourceExt, uid: Option<&str>) -> bool {
    object
        .owner_references()
        .iter()
        .any(|o| o.controller == Some(true) && Some(o.uid.as_str()) == uid)
}

/// The controller reference to the checklist. Foreground deletion of the checklist waits for
/// the object (blockOwnerDeletion), so `kubectl delete --cascade=foreground` returns only once
/// the app is gone. None only for a checklist the API server has not stored (no uid).
fn owner_reference(checklist: &DeploymentChecklist) -> Option<OwnerReference> {
    checklist
        .controller_owner_ref(&())
        .map(|owner| OwnerReference {
            block_owner_deletion: Some(true),
            ..owner
        })
}
