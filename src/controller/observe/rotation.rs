//! The versions of the Secrets and ConfigMaps a checklist rolls on (`spec.app.rollOnChange`),
//! read by metadata only: the revision follows their resourceVersion, and their values are
//! never fetched for it. A checklist without rollOnChange costs no request.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client, ResourceExt};

use crate::{
    ReconcileError, Result,
    api::{DeploymentChecklist, ReferenceVersion},
    resources::rotation::{self, SECRET},
};

/// The version of each rollOnChange object of `checklist`, in the order the hash takes them;
/// a missing object has none (its creation is a change too).
pub async fn references(
    client: &Client,
    checklist: &DeploymentChecklist,
) -> Result<Vec<ReferenceVersion>> {
    let listed = rotation::roll_on_change(&checklist.spec);
    if listed.is_empty() {
        return Ok(Vec::new());
    }
    let namespace = super::namespace(checklist)?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    let reads = listed.into_iter().map(|(kind, name)| {
        let (secrets, config_maps) = (&secrets, &config_maps);
        async move {
            let found = if kind == SECRET {
                version_of(secrets, &name).await
            } else {
                version_of(config_maps, &name).await
            };
            let resource_version =
                found.map_err(|e| ReconcileError::read(format!("{kind} {name}"), e))?;
            Ok::<_, ReconcileError>(ReferenceVersion {
                kind: kind.to_string(),
                name,
                resource_version,
            })
        }
    });
    futures::future::try_join_all(reads).await
}

/// The resourceVersion of the object `name`, read by metadata only; none when it is absent.
async fn version_of<K>(api: &Api<K>, name: &str) -> kube::Result<Option<String>>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    Ok(api
        .get_metadata_opt(name)
        .await?
        .and_then(|m| m.resource_version()))
}
