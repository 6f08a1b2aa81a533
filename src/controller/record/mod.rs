//! The record step: the status, written by server-side apply on `/status` only when it says
//! something new (transition times alone are not news), and one Event per transition (published
//! by [`crate::events`]).

use kube::{
    Api, Client, ResourceExt,
    api::{Patch, PatchParams},
};
use serde_json::{Value, json};

pub use crate::events::publish;
use crate::{
    ReconcileError, Result,
    api::{DeploymentChecklist, DeploymentChecklistStatus},
    error::ApiError,
};

use super::{conditions, observe};

pub mod budget;

/// The field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "checklist-operator";

/// Whether `planned` differs from `previous` in anything but condition transition times.
pub fn status_changed(
    previous: &DeploymentChecklistStatus,
    planned: &DeploymentChecklistStatus,
) -> bool {
    if !conditions::same(&previous.conditions, &planned.conditions) {
        return true;
    }
    let without_conditions = |status: &DeploymentChecklistStatus| DeploymentChecklistStatus {
        conditions: Vec::new(),
        ..status.clone()
    };
    without_conditions(previous) != without_conditions(planned)
}

/// The server-side apply body for `/status`: the whole status, owned by [`FIELD_MANAGER`].
pub fn status_apply_patch(status: &DeploymentChecklistStatus) -> Result<Value, serde_json::Error> {
    Ok(json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "status": serde_json::to_value(status)?,
    }))
}

/// Writes the status by server-side apply on /status; the checklist's resourceVersion after it.
pub async fn write_status(
    client: &Client,
    checklist: &DeploymentChecklist,
    status: &DeploymentChecklistStatus,
) -> Result<Option<String>> {
    let namespace = observe::namespace(checklist)?;
    let name = checklist.name_any();
    let patch = status_apply_patch(status).map_err(|source| ReconcileError::Serialize {
        what: format!("the status of {namespace}/{name}"),
        source,
    })?;
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), &namespace);
    let written = api
        .patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|e| ReconcileError::WriteStatus {
            checklist: format!("{namespace}/{name}"),
            source: ApiError(e),
        })?;
    tracing::info!(
        phase = %status.phase.map(|p| p.to_string()).unwrap_or_default(),
        status_message = status.message.as_deref().unwrap_or_default(),
        "status written"
    );
    Ok(written.resource_version())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

    use super::*;
    use crate::api::{ConditionStatus, ConditionType, Phase, Reason};

    fn status(at: i64, ready: ConditionStatus) -> DeploymentChecklistStatus {
        let mut status = DeploymentChecklistStatus {
            phase: Some(Phase::Ready),
            observed_generation: Some(3),
            ..DeploymentChecklistStatus::default()
        };
        let now = Time(Timestamp::from_second(at).unwrap());
        conditions::set(
            &mut status.conditions,
            ConditionType::Ready,
            ready,
            Reason::Ready,
            "ok",
            3,
            &now,
        );
        status
    }

    #[test]
    fn only_real_changes_are_written() {
        let before = status(10, ConditionStatus::True);
        assert!(!status_changed(&before, &status(99, ConditionStatus::True)));
        assert!(status_changed(&before, &status(10, ConditionStatus::False)));
        let moved_on = DeploymentChecklistStatus {
            phase: Some(Phase::Degraded),
            ..before.clone()
        };
        assert!(status_changed(&before, &moved_on));
    }

    #[test]
    fn the_patch_is_a_typed_apply_of_the_status() {
        let patch = status_apply_patch(&status(10, ConditionStatus::True)).unwrap();
        assert_eq!(patch["apiVersion"], "checklist.dev/v1alpha1");
        assert_eq!(patch["kind"], "DeploymentChecklist");
        assert_eq!(patch["status"]["phase"], "Ready");
        assert_eq!(patch["status"]["observedGeneration"], 3);
        assert_eq!(patch["status"]["conditions"][0]["type"], "Ready");
    }
}
