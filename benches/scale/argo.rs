//! Argo Rollouts' side: its controller (`dev/argo-rollouts run`: its own network namespace, so
//! its ports stay off the machine's interfaces) scoped to the run's namespace, with its stock
//! settings, and Rollouts doing what the checklists do: the same image
//! and replicas, a canary whose one step is an analysis with a web metric against the same test
//! app's /health (`status` must be `ok`), the same progress deadline, aborting when it passes.
//!
//! What differs, by Argo Rollouts' design: a new Rollout's first version is not analysed (only
//! an update is), and a crash-looping release is caught by the progress deadline alone.

use std::{
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    time::Duration,
};

use checklist_testkit::{TestNamespace, exposition::Scrape, kubectl_stdin, start_app};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind},
};
use serde_json::{Value, json};

use crate::{
    Plan,
    phases::{Side, drive},
    report::Figures,
    workload::PROGRESS_DEADLINE_SECONDS,
};

/// The analysis every Rollout's step runs.
const TEMPLATE: &str = "health";

struct Theirs {
    controller: Child,
    api: Api<DynamicObject>,
}

impl Side for Theirs {
    type App = DynamicObject;

    fn pids(&self) -> Vec<u32> {
        vec![self.controller.id()]
    }

    /// Argo Rollouts counts no API requests or status writes of its own that the figures could
    /// set beside ours; the API server's counts cover it.
    async fn own_metrics(&self) -> Option<Scrape> {
        None
    }

    fn api(&self) -> Api<DynamicObject> {
        self.api.clone()
    }

    fn app(&self, name: &str, image: &str, replicas: u32) -> Value {
        json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "progressDeadlineSeconds": PROGRESS_DEADLINE_SECONDS,
                "progressDeadlineAbort": true,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{
                        "name": "app",
                        "image": image,
                        "ports": [{"containerPort": 8080}],
                    }]},
                },
                "strategy": {"canary": {"steps": [
                    {"analysis": {"templates": [{"templateName": TEMPLATE}]}},
                ]}},
            },
        })
    }

    fn image_patch(&self, image: &str) -> Value {
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}})
    }

    fn healthy(app: &DynamicObject) -> bool {
        let status = &app.data["status"];
        status["phase"] == "Healthy" && observed_current(app)
    }

    fn rolled_back(app: &DynamicObject) -> bool {
        let status = &app.data["status"];
        status["abort"] == true && status["phase"] == "Degraded" && observed_current(app)
    }
}

/// Whether the controller has seen the Rollout's current spec: its observedGeneration is a
/// string, the generation's decimal.
fn observed_current(app: &DynamicObject) -> bool {
    let generation = app.metadata.generation.unwrap_or_default().to_string();
    app.data["status"]["observedGeneration"].as_str() == Some(generation.as_str())
}

impl Drop for Theirs {
    /// Stops the controller and the relays `dev/argo-rollouts run` started: its process group.
    fn drop(&mut self) {
        Command::new("kill")
            .args(["--", &format!("-{}", self.controller.id())])
            .status()
            .ok();
        self.controller.wait().ok();
    }
}

/// Runs the plan against Argo Rollouts in a namespace of its own.
pub async fn measure(client: &Client, plan: &Plan) -> Figures {
    let script = checklist_testkit::fixtures::repository().join("dev/argo-rollouts");
    let crds = Command::new(&script)
        .arg("crds")
        .output()
        .expect("run dev/argo-rollouts crds");
    assert!(crds.status.success(), "dev/argo-rollouts crds failed");
    applied(kubectl_stdin(
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        &String::from_utf8_lossy(&crds.stdout),
    ));
    // kubectl keeps the server's discovery for minutes, and `dev/cluster up` has just filled it
    // (it installs the Gateway API CRDs): wait for Argo's CRDs, then read discovery afresh, or
    // the AnalysisTemplate below is "no matches for kind".
    established(&[
        "crd/analysistemplates.argoproj.io",
        "crd/rollouts.argoproj.io",
    ]);
    applied(
        checklist_testkit::kubectl::kubectl()
            .args(["api-resources", "--api-group=argoproj.io"])
            .output()
            .expect("run kubectl api-resources"),
    );
    let ns = TestNamespace::create(client, "scale-rollouts").await;
    let app = start_app().await;
    applied(kubectl_stdin(
        &["apply", "-n", ns.name(), "-f", "-"],
        &json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisTemplate",
            "metadata": {"name": TEMPLATE},
            "spec": {"metrics": [{
                "name": "health",
                "count": 1,
                "successCondition": "result == 'ok'",
                "provider": {"web": {
                    "url": format!("{}/health", app.url()),
                    "jsonPath": "{$.status}",
                    "timeoutSeconds": 5,
                }},
            }]},
        })
        .to_string(),
    ));
    let app_port = url::Url::parse(&app.url())
        .ok()
        .and_then(|u| u.port())
        .expect("the test app's port")
        .to_string();
    let controller = Command::new(&script)
        .args([
            "run",
            "--namespace",
            ns.name(),
            "--forward",
            &app_port,
            "--",
        ])
        .args(["--loglevel", "warn"])
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start dev/argo-rollouts run: {e}"));
    // Its informers' first lists, before the clock starts.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let resource =
        ApiResource::from_gvk(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"));
    let theirs = Theirs {
        controller,
        api: Api::namespaced_with(client.clone(), ns.name(), &resource),
    };
    let figures = drive(client, &theirs, plan).await;
    drop(theirs);
    ns.finish(client).await;
    figures
}

/// Waits until the CRDs are Established. `kubectl wait` fails at once, rather than waiting, when
/// it reads a CRD the API server has not yet given any condition ("status.conditions accessor
/// error: <nil>"), as happens right after the apply; that read is tried again, for a minute.
fn established(crds: &[&str]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let output = checklist_testkit::kubectl::kubectl()
            .args(["wait", "--for=condition=Established", "--timeout=60s"])
            .args(crds)
            .output()
            .expect("run kubectl wait");
        let too_early = String::from_utf8_lossy(&output.stderr).contains("accessor error");
        if output.status.success() || !too_early || std::time::Instant::now() > deadline {
            return applied(output);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Panics with kubectl's words unless it succeeded.
fn applied(output: std::process::Output) {
    assert!(
        output.status.success(),
        "kubectl apply failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
