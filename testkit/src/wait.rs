//! Waiting, always bounded: for any condition on an object, and for a checklist's phase.

use std::{fmt::Debug, time::Duration};

use checklist_operator::api::{DeploymentChecklist, Phase};
use kube::{
    Api, Client, Resource,
    runtime::wait::{Condition, await_condition},
};
use serde::de::DeserializeOwned;

use crate::kubectl::kubectl_in;

/// Waits until `condition` holds for the named object, or panics after `timeout` showing the
/// object's last state.
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    condition: impl Condition<K>,
) -> K
where
    K: Resource + Clone + Debug + DeserializeOwned + Send + 'static,
{
    match tokio::time::timeout(timeout, await_condition(api.clone(), name, condition)).await {
        Ok(Ok(Some(object))) => object,
        Ok(Ok(None)) => panic!("{name} was deleted while waiting for it"),
        Ok(Err(error)) => panic!("watching {name} failed: {error}"),
        Err(_) => {
            let last = api.get_opt(name).await.ok().flatten();
            panic!("timed out after {timeout:?} waiting for {name}; last seen: {last:#?}")
        }
    }
}

/// Polls the checklist `name` until it reached `phase` for its current generation, or panics
/// after `timeout` with `kubectl describe`.
pub async fn wait_phase(
    client: &Client,
    namespace: &str,
    name: &str,
    phase: Phase,
    timeout: Duration,
) -> DeploymentChecklist {
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), namespace);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let checklist = api.get(name).await.unwrap();
        let status = checklist.status.as_ref();
        if status.and_then(|s| s.phase) == Some(phase)
            && status.and_then(|s| s.observed_generation) == checklist.metadata.generation
        {
            return checklist;
        }
        if tokio::time::Instant::now() > deadline {
            let (_, described) = kubectl_in(namespace, &["describe", "dcl", name]);
            panic!("{name} did not reach {phase:?} within {timeout:?}:\n{described}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
