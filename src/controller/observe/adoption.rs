//! spec.app.adopt as it is: the Deployment being taken over, and the Services that reach its
//! pods. Read only until the hand-over is recorded in status.adoption; a checklist that adopts
//! nothing, or has finished adopting, makes no request for it.

use std::collections::BTreeMap;

use k8s_openapi::api::{apps::v1::Deployment, core::v1::Service};
use kube::{Api, Client, ResourceExt, api::ListParams};

use crate::{ReconcileError, Result, api::DeploymentChecklist, resources::controlled_by};

use super::get::get_opt;

/// What the plan decides the hand-over on: None when there is nothing to read (no
/// spec.app.adopt, or it was handed over already).
pub type AdoptionObservation = Option<Adoptee>;

/// The Deployment named in spec.app.adopt, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adoptee {
    /// Its name.
    pub name: String,
    /// What was found of it; None when it does not exist.
    pub found: Option<Found>,
    /// A Service named like the checklist exists and is not the checklist's: applying the
    /// checklist's own would take it over.
    pub service_name_taken: bool,
}

/// The adopted Deployment, reduced to what the plan needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// Its uid: the hand-over writes this object and no other of the same name.
    pub uid: String,
    /// The resourceVersion read: the hand-over is refused if it changed since.
    pub resource_version: String,
    /// spec.replicas (Kubernetes' default 1 when unset).
    pub replicas: i32,
    /// `Kind/name` of the object that controls it (an owner reference with controller: true).
    pub controller: Option<String>,
    /// The Services (other than the checklist's) whose selector selects its pods: name and
    /// selector.
    pub services: Vec<(String, BTreeMap<String, String>)>,
}

/// Whether the reconcile of `checklist` reads the adopted Deployment.
fn wanted(checklist: &DeploymentChecklist) -> Option<&str> {
    let adopt = checklist.spec.app.adopt.as_ref()?;
    let done = checklist
        .status
        .as_ref()
        .and_then(|s| s.adoption.as_ref())
        .is_some_and(|a| a.handed_over && a.deployment == adopt.deployment);
    (!done).then_some(adopt.deployment.as_str())
}

/// Reads the adopted Deployment and the namespace's Services, when [`wanted`].
pub(super) async fn read(
    client: &Client,
    namespace: &str,
    checklist: &DeploymentChecklist,
) -> Result<AdoptionObservation> {
    let Some(name) = wanted(checklist) else {
        return Ok(None);
    };
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let (deployment, services) =
        tokio::try_join!(get_opt(&deployments, name, "Deployment"), async {
            // From the watch cache: a Service a moment stale only delays the hand-over check.
            services
                .list(&ListParams::default().match_any())
                .await
                .map(|list| list.items)
                .map_err(|e| ReconcileError::read(format!("Services {namespace}"), e))
        },)?;
    Ok(Some(adoptee(
        checklist,
        name,
        deployment.as_ref(),
        &services,
    )))
}

/// Reduces what was read: pure.
pub fn adoptee(
    checklist: &DeploymentChecklist,
    name: &str,
    deployment: Option<&Deployment>,
    services: &[Service],
) -> Adoptee {
    let uid = checklist.uid();
    let checklist_name = checklist.name_any();
    let service_name_taken = services
        .iter()
        .any(|s| s.name_any() == checklist_name && !controlled_by(s, uid.as_deref()));
    let found = deployment.map(|deployment| {
        let template_labels = deployment
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|meta| meta.labels.clone())
            .unwrap_or_default();
        let selecting = services
            .iter()
            .filter(|s| !controlled_by(*s, uid.as_deref()))
            .filter_map(|s| {
                let selector = s.spec.as_ref()?.selector.clone()?;
                let selects = !selector.is_empty()
                    && selector
                        .iter()
                        .all(|(k, v)| template_labels.get(k) == Some(v));
                selects.then(|| (s.name_any(), selector))
            })
            .collect();
        Found {
            uid: deployment.uid().unwrap_or_default(),
            resource_version: deployment.resource_version().unwrap_or_default(),
            replicas: deployment.spec.replicas.unwrap_or(1),
            controller: deployment
                .owner_references()
                .iter()
                .find(|o| o.controller == Some(true))
                .map(|o| format!("{}/{}", o.kind, o.name)),
            services: selecting,
        }
    });
    Adoptee {
        name: name.to_owned(),
        found,
        service_name_taken,
    }
}
