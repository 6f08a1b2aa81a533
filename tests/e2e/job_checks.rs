//! Job checks as a user sees them: seed 004's functional flow (register, log in, create a graph,
//! read it back) run as a Job against the test app, passing on a good release and rolling back
//! the one that broke sign-in, with the script's last lines in the status and the password it
//! printed masked. Kwok runs no containers: the job check's image is tagged `*-local-run`, so
//! the kwok stage `dev/stages/local-run.yaml` holds its pod for `testkit::local_run`, which runs
//! `checklist-flow` here as a kubelet would.

use std::time::Duration;

use checklist_operator::api::{CheckResult, DeploymentChecklist, Phase};
use checklist_testapp::Mode;
use checklist_testkit::{
    Scene, apply, checklist, kubectl_checklist, local_run::LocalRunner, valid_secret,
};
use kube::Api;
use serde_json::{Value, json};

use crate::web::{deployed_image, event_list, job_names, kubectl_wait, wait_phase};

const PASSWORD: &str = "hunter2-flow-password";

/// The fixture checklist on `image` with health and the functional flow as a job check (the
/// login rate-limit check left out: the flow logs in every round).
fn with_flow(image: &str, app: &checklist_testapp::RunningApp) -> Value {
    let mut value = checklist(image, app);
    value["spec"]["verification"]["checks"] = json!([
        {"name": "health", "http": {"path": "/health", "expectJSON": {"status": "ok"}}},
        {"name": "signup-flow", "category": "functional", "job": {
            "image": "example.com/web-functional-tests:1.0.0-local-run",
            "command": ["checklist-flow"],
            "env": [{"name": "FLOW_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "flow-test", "key": "password"}}}],
            "timeoutSeconds": 30
        }}
    ]);
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_functional_flow_job_passes_a_good_release_and_rolls_back_a_broken_login() {
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("jobcheck").await;
    let _runner = LocalRunner::start(client.clone(), ns.name());
    let flow_secret = json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "flow-test"},
        "stringData": {"password": PASSWORD}
    });
    apply(
        ns.name(),
        &[
            &valid_secret(),
            &flow_secret,
            &with_flow("example.com/web:1.0.0", &app),
        ],
    );
    kubectl_wait(ns.name(), "condition=Ready", 120);
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let status = api.get("web").await.unwrap().status.unwrap();
    let flow = status
        .checks
        .iter()
        .find(|c| c.name == "signup-flow")
        .unwrap();
    assert_eq!(flow.result, CheckResult::Pass, "{flow:?}");
    assert_eq!(flow.message.as_deref(), Some("exit code 0"));
    // The round's Job is cleaned up once read.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let jobs = job_names(ns.name());
    assert!(
        !jobs.iter().any(|j| j.starts_with("web-check-")),
        "{jobs:?}"
    );

    // The next release breaks sign-in; its health endpoints still pass.
    app.set_mode(Mode::BrokenLogin);
    apply(ns.name(), &[&with_flow("example.com/web:1.1.0", &app)]);
    let rolled_back = wait_phase(
        &client,
        ns.name(),
        Phase::RolledBack,
        Duration::from_secs(120),
    )
    .await;
    let status = rolled_back.status.unwrap();
    let flow = status
        .checks
        .iter()
        .find(|c| c.name == "signup-flow")
        .unwrap();
    let seen = flow.message.clone().unwrap_or_default();
    println!("{seen}");
    assert_eq!(flow.result, CheckResult::Fail);
    assert!(seen.starts_with("exit code 1: registered flow-"), "{seen}");
    assert!(
        seen.contains("with password [redacted]: expected 200, got 500"),
        "{seen}"
    );
    assert!(!seen.contains(PASSWORD), "{seen}");
    assert_eq!(
        status
            .checks
            .iter()
            .find(|c| c.name == "health")
            .unwrap()
            .result,
        CheckResult::Pass
    );
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");
    let events = event_list(ns.name());
    assert!(
        events
            .iter()
            .any(|e| e.reason == "VerificationFailed" && e.message.contains("signup-flow")),
        "{events:?}"
    );
    assert!(events.iter().all(|e| !e.message.contains(PASSWORD)));
    let shown = kubectl_checklist(&["status", "web", "-n", ns.name()]).stdout;
    println!("{shown}");
    assert!(
        shown.contains("[redacted]") && !shown.contains(PASSWORD),
        "{shown}"
    );
}
