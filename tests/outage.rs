//! The control plane stopped for 30 s in the middle of a release (`dev/cluster stop`, then
//! `start`): the operator loses its watches and every request fails, and once the API server is
//! back the release completes as if nothing happened. No spurious rollback.
//!
//! Its own test binary, run alone after the end-to-end suite (`dev/test`): an outage would fail
//! every other test running at the same time.

// Tests may unwrap: a panic is how a test says what failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "e2e/web.rs"]
#[allow(dead_code)]
mod web;

use std::{process::Command, time::Duration};

use checklist_operator::api::{DeploymentChecklist, Phase, RevisionOutcome};
use checklist_testkit::{
    Operator, TestNamespace, apply, checklist, client, ensure_crd, fixtures::repository, start_app,
    valid_secret,
};
use kube::Api;
use serde_json::json;

use web::{deployed_image, event_list, job_names, kubectl_wait, wait_phase};

const OUTAGE: Duration = Duration::from_secs(30);

/// Stops the whole control plane for [`OUTAGE`], then starts it and waits until it answers.
async fn outage() {
    let cluster = |verb: &str| {
        let status = Command::new(repository().join("dev/cluster"))
            .arg(verb)
            .status()
            .unwrap();
        assert!(status.success(), "dev/cluster {verb} failed");
    };
    cluster("stop");
    println!("control plane stopped");
    tokio::time::sleep(OUTAGE).await;
    cluster("start");
    println!("control plane started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault: stops the local control plane; run alone (dev/test does)"]
async fn a_control_plane_outage_while_rolling_out_or_verifying_rolls_nothing_back() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "outage").await;
    let app = start_app().await;
    let operator = Operator::start(ns.name());
    apply(
        ns.name(),
        &[&valid_secret(), &checklist("example.com/web:1.0.0", &app)],
    );
    kubectl_wait(ns.name(), "condition=Ready", 90);

    // RollingOut: new pods that take 8 s to boot, and the API server gone meanwhile.
    let slow = "example.com/web:2.0.0-chaos-slow-start";
    apply(ns.name(), &[&checklist(slow, &app)]);
    wait_phase(
        &client,
        ns.name(),
        Phase::RollingOut,
        Duration::from_secs(60),
    )
    .await;
    outage().await;
    kubectl_wait(ns.name(), "condition=Ready", 180);
    assert_eq!(deployed_image(ns.name()), slow);

    // Verifying: rounds go on against the app while the API server is away; their verdict is
    // written once it is back.
    let mut verified = checklist("example.com/web:3.0.0", &app);
    verified["spec"]["verification"]["initialDelaySeconds"] = json!(5);
    verified["spec"]["verification"]["intervalSeconds"] = json!(2);
    apply(ns.name(), &[&verified]);
    wait_phase(
        &client,
        ns.name(),
        Phase::Verifying,
        Duration::from_secs(60),
    )
    .await;
    outage().await;
    kubectl_wait(ns.name(), "condition=Ready", 180);
    assert_eq!(deployed_image(ns.name()), "example.com/web:3.0.0");

    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let status = api.get("web").await.unwrap().status.unwrap();
    let outcomes: Vec<RevisionOutcome> = status.history.iter().map(|h| h.outcome).collect();
    assert_eq!(
        outcomes,
        [RevisionOutcome::Succeeded; 3],
        "{:#?}",
        status.history
    );
    let rollbacks: Vec<String> = job_names(ns.name())
        .into_iter()
        .filter(|j| j.contains("-rollback-"))
        .collect();
    assert!(rollbacks.is_empty(), "{rollbacks:?}");
    let events = event_list(ns.name());
    assert!(
        !events
            .iter()
            .any(|e| e.reason == "RollingBack" || e.reason == "RolledBack"),
        "{events:#?}"
    );
    let failed = operator
        .lines_since(0)
        .iter()
        .filter(|l| l.message() == Some("reconcile failed"))
        .count();
    println!("failed reconciles during the two outages: {failed}");
    ns.finish(&client).await;
}
