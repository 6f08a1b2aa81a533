//! Shared helpers of the end-to-end tests: a client, throwaway namespaces, waiting.

use std::{
    fmt::Debug,
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use k8s_openapi::{
    api::core::v1::Namespace,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client, Resource,
    api::{DeleteParams, PostParams},
    runtime::wait::{Condition, await_condition},
};
use serde::de::DeserializeOwned;

/// Label on every namespace a test creates, so leftovers of a killed run can be swept.
pub const E2E_LABEL: &str = "checklist.dev/e2e";

/// A client for the cluster in KUBECONFIG; fails the test with a hint when there is none.
pub async fn client() -> Client {
    match Client::try_default().await {
        Ok(client) => client,
        Err(error) => panic!(
            "end-to-end tests need the local control plane: run `dev/cluster up` and \
             `eval \"$(dev/cluster env)\"` first ({error})"
        ),
    }
}

/// A namespace that lives as long as the test: deleted on drop, also when the test panics.
pub struct TestNamespace {
    name: String,
}

impl TestNamespace {
    /// Creates `<prefix>-<unique suffix>`.
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
        Self { name }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
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

/// `kubectl` as the user runs it: the one on PATH (`eval "$(dev/cluster env)"` puts the version
/// matching the cluster first) with KUBECONFIG from the environment.
pub fn kubectl() -> std::process::Command {
    std::process::Command::new("kubectl")
}

/// `kubectl ARGS` with `input` on its stdin (`kubectl apply -f -`); its whole output.
pub fn kubectl_stdin(args: &[&str], input: &str) -> std::process::Output {
    use std::{io::Write, process::Stdio};
    let mut child = kubectl()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Installs the committed CRD the way a user does and returns it once it is Established.
pub async fn ensure_crd(client: &Client) -> CustomResourceDefinition {
    let crd_file = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/deploymentchecklist.yaml");
    let out = kubectl()
        .args([
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=checklist-install",
            "-f",
            crd_file,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the CRD was refused:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    wait_for(
        &api,
        CRD_NAME,
        Duration::from_secs(30),
        kube::runtime::conditions::is_crd_established(),
    )
    .await
}

/// The DeploymentChecklist CRD's name.
pub const CRD_NAME: &str = "deploymentchecklists.checklist.dev";
