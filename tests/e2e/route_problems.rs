//! A route the operator cannot or may not use, as a user sees it: a missing HTTPRoute, and one
//! whose weights another field manager took during a release. No gateway is needed: each ends
//! before users' requests would move.

use std::time::Duration;

use checklist_testkit::{Scene, apply, kubectl_in, valid_secret};

use crate::gateway::{canary_checklist, http_route, route, route_until, weights};
use crate::web::kubectl_wait;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane (dev/cluster up)"]
async fn a_missing_route_is_reported_and_nothing_is_verified_through_it() {
    let scene = Scene::start("gateway-missing").await;
    let ns = scene.ns.name().to_string();
    release_a_canary_of_30(&scene);
    kubectl_wait(
        &ns,
        "jsonpath={.status.conditions[?(@.type==\"Reconciling\")].reason}=RouteUnusable",
        60,
    );
    let (ok, events) = kubectl_in(
        &ns,
        &[
            "get",
            "events",
            "--field-selector",
            "reason=RouteUnusable",
            "-o",
            "jsonpath={.items[*].message}",
        ],
    );
    assert!(ok, "{events}");
    assert!(
        events.contains("HTTPRoute web") && events.contains("does not exist"),
        "{events}"
    );
    let (_, stage) = kubectl_in(
        &ns,
        &[
            "get",
            "dcl",
            "web",
            "-o",
            "jsonpath={.status.rollout.stage}",
        ],
    );
    assert_ne!(
        stage, "WaitingForPromotion",
        "nothing passed without the route"
    );
    scene.ns.finish(&scene.client).await;
}

/// `web` 1.0.0 Ready, then 2.0.0 released as a canary of 30% through HTTPRoute `web`.
fn release_a_canary_of_30(scene: &Scene) {
    let ns = scene.ns.name();
    let url = scene.app.url();
    let release = |image: &str| canary_checklist(image, &scene.app, &url, 30);
    apply(ns, &[&valid_secret(), &release("example.com/web:1.0.0")]);
    kubectl_wait(ns, "condition=Ready", 120);
    apply(ns, &[&release("example.com/web:2.0.0")]);
}

/// Each Deployment's name and replicas, sorted.
fn deployments(namespace: &str) -> String {
    let (ok, out) = kubectl_in(
        namespace,
        &[
            "get",
            "deployments",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.spec.replicas} {end}",
        ],
    );
    assert!(ok, "{out}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane (dev/cluster up)"]
async fn weights_another_manager_takes_mid_release_are_not_written_over() {
    let scene = Scene::start("gateway-contest").await;
    let ns = scene.ns.name().to_string();
    apply(&ns, &[&http_route()]);
    release_a_canary_of_30(&scene);
    route_until(&ns, "the canary's 30% and its pin rule", |r| {
        weights(r) == [70, 30] && r["spec"]["rules"].as_array().is_some_and(|a| a.len() == 2)
    })
    .await;
    let pods = deployments(&ns);

    // A GitOps sync puts the route back as it is in Git, taking spec.rules.
    let manifest = http_route().to_string();
    let output = checklist_testkit::kubectl_stdin(
        &[
            "apply",
            "-n",
            &ns,
            "--server-side",
            "--force-conflicts",
            "--field-manager=argocd-controller",
            "-f",
            "-",
        ],
        &manifest,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    kubectl_wait(
        &ns,
        "jsonpath={.status.conditions[?(@.type==\"Reconciling\")].reason}=RouteContested",
        60,
    );
    let (_, message) = kubectl_in(
        &ns,
        &["get", "dcl", "web", "-o", "jsonpath={.status.message}"],
    );
    println!("status.message: {message}");
    assert!(
        message.contains("argocd-controller")
            && message.contains("web 70, web-canary 30")
            && message.contains("kubectl annotate httproute web checklist.dev/checklist-web-"),
        "{message}"
    );
    // Nothing else changes while it is contested: not the route, not a pod.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let held = route(&ns);
    assert_eq!(weights(&held), [100, 0], "not written over: {held:#}");
    assert_eq!(held["spec"]["rules"].as_array().unwrap().len(), 1);
    assert_eq!(deployments(&ns), pods, "no Deployment scaled or removed");
    let (ok, events) = kubectl_in(
        &ns,
        &[
            "get",
            "events",
            "--field-selector",
            "reason=RouteContested",
            "-o",
            "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
        ],
    );
    assert!(
        ok && events.trim().lines().count() == 1 && events.contains("argocd-controller"),
        "one Warning Event, not one per reconcile: {events}"
    );
    let (_, described) = kubectl_in(&ns, &["describe", "dcl", "web"]);
    assert!(described.contains("RouteContested"), "{described}");
    let (_, read_back) = kubectl_in(
        &ns,
        &[
            "get",
            "dcl",
            "web",
            "-o",
            "jsonpath={.status.rollout.route}",
        ],
    );
    assert_eq!(
        read_back, "web 100, web-canary 0",
        "the weights as the route holds them"
    );

    // Handed back, the release goes on from the same step.
    let (ok, out) = kubectl_in(
        &ns,
        &[
            "annotate",
            "httproute",
            "web",
            "checklist.dev/checklist-web-",
        ],
    );
    assert!(ok, "{out}");
    route_until(&ns, "the canary's 30% again", |r| weights(r) == [70, 30]).await;
    scene.ns.finish(&scene.client).await;
}
