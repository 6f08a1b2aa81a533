//! What the process makes sure of before it reconciles anything: its endpoints are served, the
//! CRD is established, and the API server takes the shard's label selector.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client,
    runtime::wait::{await_condition, conditions::is_crd_established},
};

use super::{Shutdown, watches::scoped};
use crate::{
    api::crd::CRD_NAME,
    error::StartupError,
    telemetry::{self, Health},
};

/// Serves /metrics, /healthz and /readyz on `addr` in the background until shutdown.
pub(super) async fn serve_endpoints(
    addr: std::net::SocketAddr,
    health: Health,
    shutdown: Shutdown,
) -> Result<(), StartupError> {
    let listener = telemetry::server::bind(addr)
        .await
        .map_err(|source| StartupError::Listen { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %local, "serving /metrics, /healthz and /readyz");
    tokio::spawn(async move {
        if let Err(error) =
            telemetry::server::serve(listener, health, async move { shutdown.requested().await })
                .await
        {
            tracing::error!(%error, "the metrics and health endpoints stopped");
        }
    });
    Ok(())
}

/// Waits until the DeploymentChecklist CRD is established, saying so while it is not.
pub(super) async fn crd_established(client: &Client) -> Result<(), StartupError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let wait = await_condition(crds, CRD_NAME, is_crd_established());
    tokio::pin!(wait);
    loop {
        tokio::select! {
            result = &mut wait => {
                return result
                    .map(|_| tracing::info!(crd = CRD_NAME, "CRD established"))
                    .map_err(StartupError::CrdWait);
            }
            () = tokio::time::sleep(Duration::from_secs(10)) => {
                tracing::warn!(crd = CRD_NAME, "waiting for the CRD to be installed and established (kubectl apply -f crds/)");
            }
        }
    }
}

/// Asks the API server whether it takes `selector`, once at start: a selector it refuses would
/// otherwise fail every watch, quietly, for ever.
pub(super) async fn selector_accepted(
    client: &Client,
    namespace: Option<&str>,
    selector: &str,
) -> Result<(), StartupError> {
    let checklists = scoped::<crate::api::DeploymentChecklist>(client, namespace);
    let params = kube::api::ListParams::default().labels(selector).limit(1);
    match checklists.list_metadata(&params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 400 => Err(StartupError::Selector {
            selector: selector.to_owned(),
            message: status.message,
        }),
        Err(source) => Err(StartupError::SelectorCheck {
            selector: selector.to_owned(),
            source: crate::error::ApiError(source),
        }),
    }
}
