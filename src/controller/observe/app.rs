//! The app's reads: the RollingUpdate Deployment and the pods of the revision it runs, or
//! BlueGreen's and Canary's Deployments (one per revision), pods and Services, from the watch
//! caches where they can answer.

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{Pod, Service},
};
use kube::{
    Api, Client, ResourceExt,
    api::{DynamicObject, ListParams, ObjectList},
};

use crate::{
    ReconcileError, Result,
    api::DeploymentChecklist,
    resources::{self, labels},
    traffic,
};

use super::{
    CachedReads, Caches,
    get::get_opt,
    read::{Key, get_cached},
};

/// What the app runs on: the RollingUpdate Deployment, or each revision's Deployment and the
/// Services of BlueGreen and Canary; and the pods of the revision being rolled out.
#[derive(Default)]
pub(super) struct Sides {
    pub(super) deployment: Option<Deployment>,
    pub(super) pods: Vec<Pod>,
    pub(super) deployments: Vec<Deployment>,
    pub(super) service: Option<Service>,
    pub(super) side_service: Option<Service>,
    pub(super) route: Option<Option<serde_json::Value>>,
}

/// BlueGreen and Canary: every app Deployment of the checklist, the current revision's pods and
/// the two Services, read together; the Deployments and Services from `caches` where they can
/// answer.
pub(super) async fn read_sides(
    client: &Client,
    owner: &Key,
    checklist: &DeploymentChecklist,
    revision: &str,
    caches: Option<&Caches>,
) -> Result<Sides> {
    let (namespace, name) = (owner.0.as_str(), owner.1.as_str());
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let owned = labels::selector_query(name);
    let revision_pods = format!("{owned},{}={revision}", labels::REVISION);
    let side_name = resources::side_service_name(checklist);
    let router = traffic::router(name, &checklist.spec);
    let routes: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &traffic::http_route_resource());
    let service_cache = caches.map(|c| &c.services);
    // The revision's pods only while they are worth listing (see `pods_worth_listing`): a
    // canary step waiting on its checks reads none.
    let deployments_and_pods = async {
        let list = revision_deployments(client, owner, caches.map(|c| &c.deployments)).await?;
        let worth = list.iter().any(|d| {
            resources::deployed_revision(d).as_deref() == Some(revision) && pods_worth_listing(d)
        });
        let pods = match worth {
            false => Vec::new(),
            true => {
                pods.list(&ListParams::default().labels(&revision_pods).match_any())
                    .await
                    .map_err(|e| {
                        ReconcileError::read(format!("Pods {namespace}/{revision_pods}"), e)
                    })?
                    .items
            }
        };
        Ok::<_, ReconcileError>((list, pods))
    };
    let ((deployment_list, pod_list), service, side_service, route) = tokio::try_join!(
        deployments_and_pods,
        get_cached(&services, service_cache, owner, name, "Service"),
        async {
            match &side_name {
                Some(side) => get_cached(&services, service_cache, owner, side, "Service").await,
                None => Ok(None),
            }
        },
        async {
            let Some(route) = router.route_name() else {
                return Ok(None);
            };
            let found = get_opt(&routes, route, "HTTPRoute").await?;
            Ok(Some(found.and_then(|r| serde_json::to_value(r).ok())))
        },
    )?;
    Ok(Sides {
        deployment: None,
        pods: pod_list,
        deployments: deployment_list,
        service,
        side_service,
        route,
    })
}

/// Every app Deployment of checklist `owner` (one per revision it runs): from the cache where it
/// can answer, else listed from the API server. Only the operator's own (by its managed-by
/// label): a Deployment someone else labelled like the app's is neither counted nor removed.
async fn revision_deployments(
    client: &Client,
    owner: &Key,
    cache: Option<&CachedReads<Deployment>>,
) -> Result<Vec<Deployment>> {
    let (namespace, name) = (owner.0.as_str(), owner.1.as_str());
    if let Some(found) = cache.and_then(|c| c.list(owner)) {
        // The cache indexes by the checklist label; the app's selector labels say which of
        // those run the app (not its Jobs).
        let selector = labels::selector_labels(name);
        return Ok(found
            .into_iter()
            .filter(|d| {
                let own = d.labels();
                selector.iter().all(|(k, v)| own.get(k) == Some(v))
            })
            .collect());
    }
    // The same objects the cache would give: the operator's own, of this checklist.
    let selector = format!(
        "{},{}={},{}={name}",
        labels::selector_query(name),
        labels::MANAGED_BY,
        labels::MANAGER,
        labels::CHECKLIST
    );
    // Consistent, unlike the pods: a Deployment just written or deleted must be seen as it is
    // now, or the plan would apply, delete or report it a second time.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let list = deployments
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| ReconcileError::read(format!("Deployments {namespace}/{selector}"), e))?;
    if let Some(cache) = cache {
        cache.listed(owner, &list.items);
    }
    Ok(list.items)
}

/// The app's Deployment (from the cache where it can answer) and, while some of them are not
/// ready or not updated, the pods of the revision it runs.
pub(super) async fn read_app(
    client: &Client,
    owner: &Key,
    cache: Option<&CachedReads<Deployment>>,
) -> Result<(Option<Deployment>, Vec<Pod>)> {
    let (namespace, name) = (owner.0.as_str(), owner.1.as_str());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let deployment = get_cached(&deployments, cache, owner, name, "Deployment").await?;
    let Some(deployed) = deployment.as_ref().and_then(resources::deployed_revision) else {
        return Ok((deployment, Vec::new()));
    };
    if !deployment.as_ref().is_some_and(pods_worth_listing) {
        return Ok((deployment, Vec::new()));
    }
    let selector = format!(
        "{},{}={deployed}",
        labels::selector_query(name),
        labels::REVISION
    );
    // From the API server's watch cache as it is (resourceVersion 0): a consistent list waits
    // for the cache to catch up with etcd, up to 100 ms, on every reconcile. A pod a moment
    // stale is fine: its next change triggers another reconcile.
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list: ObjectList<Pod> = pods
        .list(&ListParams::default().labels(&selector).match_any())
        .await
        .map_err(|e| ReconcileError::read(format!("Pods {namespace}/{selector}"), e))?;
    Ok((deployment, list.items))
}

/// Whether the pods of the revision a Deployment runs are worth listing for crash loops: not
/// when none is asked for, not before its controller has seen its spec (its status write on
/// seeing it triggers the next reconcile, which lists them), and not when it reports every pod
/// updated, ready and available (one restarting is not ready, which the Deployment reports, and
/// that change triggers a reconcile).
fn pods_worth_listing(deployment: &Deployment) -> bool {
    let wanted = deployment.spec.replicas.unwrap_or(1);
    let Some(status) = deployment.status.as_ref() else {
        return false;
    };
    let observed = status.observed_generation.is_some()
        && status.observed_generation == deployment.metadata.generation;
    if wanted == 0 || !observed {
        return false;
    }
    let settled = status.replicas.unwrap_or(0) == wanted
        && status.updated_replicas.unwrap_or(0) == wanted
        && status.ready_replicas.unwrap_or(0) == wanted
        && status.available_replicas.unwrap_or(0) == wanted
        && status.unavailable_replicas.unwrap_or(0) == 0;
    !settled
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment(replicas: i32, status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": replicas, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn pods_are_listed_only_while_some_of_an_observed_spec_are_not_settled() {
        let settled = json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
            "readyReplicas": 2, "availableReplicas": 2});
        assert!(!pods_worth_listing(&deployment(2, settled.clone())));
        // None asked for: the API server omits the zero counts.
        assert!(!pods_worth_listing(&deployment(
            0,
            json!({"observedGeneration": 2})
        )));
        // Not seen by its controller yet: its status write triggers the reconcile that lists.
        assert!(!pods_worth_listing(&deployment(
            2,
            json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 0, "readyReplicas": 0})
        )));
        let mut no_status = deployment(2, json!(null));
        no_status.status = None;
        assert!(!pods_worth_listing(&no_status));
        let unsettled = [
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}),
            json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2}),
            json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1, "unavailableReplicas": 1}),
        ];
        for status in unsettled {
            assert!(
                pods_worth_listing(&deployment(2, status.clone())),
                "{status}"
            );
        }
    }
}
