//! Keeps the egress guard's set of control-plane addresses current from the `default/kubernetes`
//! EndpointSlice, where the API server publishes the addresses it is really reached at.

use futures::StreamExt;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::{
    Api, Client,
    runtime::{WatchStreamExt, watcher},
};

use crate::controller::WatchBackoff;
use crate::verify::guard::ControlPlane;

/// The namespace and name of the slice the API server keeps for itself.
pub(crate) const NAMESPACE: &str = "default";
/// See [`NAMESPACE`].
pub(crate) const NAME: &str = "kubernetes";

/// The addresses of the slice's endpoints.
fn addresses(slice: &EndpointSlice) -> Vec<std::net::IpAddr> {
    slice
        .endpoints
        .iter()
        .flatten()
        .flat_map(|endpoint| &endpoint.addresses)
        .filter_map(|address| address.parse().ok())
        .collect()
}

/// Watches the slice (by name, so a Role limited to that one object is enough) and replaces
/// `control_plane` on every change. Runs until dropped. A deleted slice keeps the last addresses:
/// the guard fails closed.
pub(crate) async fn keep_current(client: Client, control_plane: ControlPlane) {
    let api: Api<EndpointSlice> = Api::namespaced(client, NAMESPACE);
    let config = watcher::Config::default().fields(&format!("metadata.name={NAME}"));
    let mut slices = watcher(api, config)
        .backoff(WatchBackoff::default())
        .applied_objects()
        .boxed();
    while let Some(slice) = slices.next().await {
        match slice {
            Ok(slice) => {
                let found = addresses(&slice);
                if !found.is_empty() {
                    control_plane.set(found);
                    tracing::info!(addresses = ?control_plane, "control-plane addresses refused by the egress guard");
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the control-plane EndpointSlice default/kubernetes; the egress guard keeps the addresses it knows");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_address_is_read() {
        let slice: EndpointSlice = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["192.0.2.2", "192.0.2.3"]},
                {"addresses": ["not-an-ip"]}
            ]
        }))
        .unwrap();
        let found: Vec<String> = addresses(&slice).iter().map(ToString::to_string).collect();
        assert_eq!(found, ["192.0.2.2", "192.0.2.3"]);
    }
}
