//! The cluster side: a client, throwaway namespaces, and the committed CRD installed.

use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use k8s_openapi::{
    api::core::v1::Namespace,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client,
    api::{DeleteParams, PostParams},
};

use crate::{kubectl::kubectl, wait::wait_for};

/// Label on every namespace a test or benchmark creates, so leftovers of a killed run can be
/// swept (`kubectl delete ns -l checklist.dev/e2e`).
pub const E2E_LABEL: &str = "checklist.dev/e2e";

/// The DeploymentChecklist CRD's name.
pub const CRD_NAME: &str = "deploymentchecklists.checklist.dev";

/// The CRDs of the check templates, in the same file.
pub const TEMPLATE_CRD_NAMES: [&str; 2] = [
    "checklisttemplates.checklist.dev",
    "clusterchecklisttemplates.checklist.dev",
];

/// A client for the cluster in KUBECONFIG; panics with a hint when there is none.
pub async fn client() -> Client {
    match Client::try_default().await {
        Ok(client) => client,
        Err(error) => panic!(
            "this needs the local control plane: run `dev/cluster up` and \
             `eval \"$(dev/cluster env)\"` first ({error})"
        ),
    }
}

/// A namespace that lives as long as its test: deleted on drop, also when the test panics, or
/// by [`finish`](Self::finish), which waits until it is gone.
pub struct TestNamespace {
    name: String,
    deleted: bool,
}

impl TestNamespace {
    /// Creates `<prefix>-<unique suffix>`, labelled [`E2E_LABEL`].
    pub async fn create(client: &Client, prefix: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() % 1_000_000)
            .unwrap_or_default();
        let name = format!(
            "{prefix}-{millis}-{}-{}",
            std::process::id() % 10_000,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let namespace: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {E2E_LABEL: "true"}}
        }))
        .unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("cannot create namespace {name}: {e}"));
        Self {
            name,
            deleted: false,
        }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Deletes the namespace and waits (up to 2 minutes) until it is gone, so what comes next
    /// starts on a quiet cluster.
    pub async fn finish(mut self, client: &Client) {
        let api = Api::<Namespace>::all(client.clone());
        self.deleted = true;
        if let Err(error) = api.delete(&self.name, &DeleteParams::background()).await {
            eprintln!("warning: could not delete namespace {}: {error}", self.name);
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if api.get_opt(&self.name).await.ok().flatten().is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!(
            "warning: namespace {} still terminating after 120s; going on",
            self.name
        );
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if self.deleted {
            return;
        }
        // Drop cannot await, and the test's runtime may be unwinding: delete from a fresh thread
        // with its own runtime and client.
        let name = self.name.clone();
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let client = Client::try_default().await.ok()?;
                Api::<Namespace>::all(client)
                    .delete(&name, &DeleteParams::background())
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(deleted, Ok(Some(_))) {
            eprintln!("warning: could not delete test namespace {}", self.name);
        }
    }
}

/// The committed CRD file.
pub fn crd_file() -> std::path::PathBuf {
    crate::fixtures::repository().join("crds/deploymentchecklist.yaml")
}

/// Installs the committed CRD the way a user does and returns it once it is Established.
pub async fn ensure_crd(client: &Client) -> CustomResourceDefinition {
    let out = kubectl()
        .args([
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=checklist-install",
            "-f",
        ])
        .arg(crd_file())
        .output()
        .unwrap_or_else(|e| panic!("cannot run kubectl (eval \"$(dev/cluster env)\"): {e}"));
    assert!(
        out.status.success(),
        "the CRD was refused:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for template in TEMPLATE_CRD_NAMES {
        wait_for(
            &api,
            template,
            Duration::from_secs(30),
            kube::runtime::conditions::is_crd_established(),
        )
        .await;
    }
    wait_for(
        &api,
        CRD_NAME,
        Duration::from_secs(30),
        kube::runtime::conditions::is_crd_established(),
    )
    .await
}

/// A client, the API server's version, and the committed CRD installed: where every benchmark
/// starts.
pub async fn ready_cluster() -> (Client, String) {
    let client = client().await;
    let version = client
        .apiserver_version()
        .await
        .unwrap_or_else(|e| panic!("the API server does not answer (dev/cluster status): {e}"));
    ensure_crd(&client).await;
    (client, version.git_version)
}
