//! The hand-over of spec.app.adopt's Deployment: scaled to 0 (its former replicas noted on it)
//! or deleted, and only the very object observed, unchanged since.

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions, PropagationPolicy};
use serde_json::json;

use kube::ResourceExt;

use crate::{ReconcileError, Result};

use super::Actor;

/// The annotation naming the checklist that took an adopted Deployment's place.
pub const ADOPTED_BY_ANNOTATION: &str = "checklist.dev/adopted-by";
/// The annotation holding the replicas an adopted Deployment had before it was scaled to 0.
pub const REPLICAS_BEFORE_ANNOTATION: &str = "checklist.dev/replicas-before-adoption";

impl Actor<'_> {
    /// Scales `deployment` to 0 or deletes it. The resourceVersion and uid observed are
    /// preconditions: a Deployment someone changed or replaced meanwhile is left alone, and the
    /// next reconcile decides again from what it is now.
    pub(super) async fn hand_over(
        &self,
        deployment: &str,
        uid: &str,
        resource_version: &str,
        replicas: i32,
        delete: bool,
    ) -> Result<()> {
        let api = self.api::<Deployment>()?;
        if delete {
            let params = DeleteParams {
                propagation_policy: Some(PropagationPolicy::Background),
                preconditions: Some(Preconditions {
                    uid: Some(uid.to_owned()),
                    resource_version: Some(resource_version.to_owned()),
                }),
                ..DeleteParams::default()
            };
            return match api.delete(deployment, &params).await {
                Ok(_) => {
                    tracing::info!(name = %deployment, "adopted Deployment deleted");
                    Ok(())
                }
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                Err(e) => Err(ReconcileError::change(
                    format!("delete adopted Deployment {deployment}"),
                    e,
                )),
            };
        }
        // A merge patch, not an apply: the Deployment stays its owner's (a person's, a GitOps
        // tool's). The resourceVersion in it makes the API server refuse a stale write, and a
        // different uid is refused as a change of an immutable field.
        let patch = json!({
            "metadata": {
                "uid": uid,
                "resourceVersion": resource_version,
                "annotations": {
                    ADOPTED_BY_ANNOTATION: self.checklist.name_any(),
                    REPLICAS_BEFORE_ANNOTATION: replicas.to_string(),
                },
            },
            "spec": {"replicas": 0},
        });
        let params = PatchParams {
            field_manager: Some(super::FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        api.patch(deployment, &params, &Patch::Merge(&patch))
            .await
            .map_err(|e| {
                ReconcileError::change(format!("scale adopted Deployment {deployment} to 0"), e)
            })?;
        tracing::info!(name = %deployment, replicas, "adopted Deployment scaled to 0");
        Ok(())
    }

    /// Deletes the checklist's own RollingUpdate Deployment (the one observed, by uid), so the
    /// adopted pods serve alone after a failed first revision.
    pub(super) async fn remove_current(&self) -> Result<()> {
        let uid = self.checklist.uid();
        let Some(deployment) = (self.world.deployment.as_ref())
            .filter(|d| crate::resources::controlled_by(*d, uid.as_deref()))
        else {
            return Ok(());
        };
        let name = deployment.name_any();
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            preconditions: Some(Preconditions {
                uid: deployment.uid(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        self.delete::<Deployment>(&name, &params).await?;
        // Gone, though the watch cache may show it a moment longer: read live until it agrees.
        self.deleted(&name);
        Ok(())
    }
}
