//! `kubectl checklist dashboard`: every release on one page, live. A web server on loopback,
//! started by the user with their own kubeconfig: it watches the checklists they may list (one
//! watch, whatever the fleet's size), streams each change to the open pages, reads one release
//! on demand and sends the plugin's own requests with the user's credentials. Nothing runs in the
//! cluster and no credential is added.
//!
//! `fleet` keeps the rows from the watch, `view` and `timeline` decide what the page shows,
//! `guard` decides who may ask, `routes` is the HTTP side; the page is `assets/`, embedded.

mod fleet;
mod guard;
mod routes;
mod timeline;
mod view;

use std::{net::SocketAddr, sync::Arc};

use kube::api::ListParams;

use super::cluster::{Cluster, PluginError};

/// Where the dashboard listens unless told otherwise.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:3100";

/// Serves the dashboard on `address` (a loopback address) for the namespace of `cluster`, or
/// every namespace, until Ctrl-C.
pub async fn run(
    cluster: Cluster,
    address: SocketAddr,
    all_namespaces: bool,
) -> Result<(), PluginError> {
    if !address.ip().is_loopback() {
        return Err(PluginError::Usage(format!(
            "--address {address}: only a loopback address (127.0.0.1, [::1]); the page acts with your credentials"
        )));
    }
    // The user's RBAC first, so a refusal is one clear line and not a page of retries.
    cluster
        .checklists(all_namespaces)
        .list_metadata(&ListParams::default().limit(1))
        .await
        .map_err(|e| cluster.explain(e, None))?;
    let token = guard::Token::generate().map_err(PluginError::NoCluster)?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| PluginError::Usage(format!("--address {address}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| PluginError::Usage(format!("--address {address}: {e}")))?;
    let shared = fleet::Shared::new();
    let watched = tokio::spawn(fleet::watch(
        cluster.checklists(all_namespaces),
        shared.clone(),
    ));
    let scope = if all_namespaces {
        "every namespace".to_string()
    } else {
        format!("namespace {:?}", cluster.namespace)
    };
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let app = Arc::new(routes::App {
        cluster,
        all_namespaces,
        shared,
        hosts: guard::hosts_for(bound),
        token,
        stopping,
    });
    let address_line = format!(
        "dashboard of {scope}: http://{bound}/?token={}\n(Ctrl-C stops it; the token in the address is what lets a browser in)\n",
        app.token.as_str()
    );
    let _ = std::io::Write::write_all(&mut std::io::stdout(), address_line.as_bytes());
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let served = axum::serve(listener, routes::router(app))
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            // The pages' event streams never end on their own; graceful shutdown waits for them.
            let _ = stop.send(true);
        })
        .await;
    watched.abort();
    served.map_err(|e| PluginError::NoCluster(format!("the dashboard stopped: {e}")))
}
