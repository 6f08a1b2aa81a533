//! Owned objects stay as the checklist says: `kubectl set image` on a Deployment the operator
//! owns is put back, for every strategy, and reported in a Warning Event naming the field.

use serde_json::{Value, json};

use checklist_testkit::kubectl_in;

use crate::progressive::{Bench, blue_green, canary, eventually};
use crate::web::event_list;

/// The image of the app container of Deployment `name`.
fn image(namespace: &str, name: &str) -> String {
    let (ok, out) = kubectl_in(
        namespace,
        &[
            "get",
            "deployment",
            name,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert!(ok, "{out}");
    out.trim().to_owned()
}

/// Sets the image of the one app Deployment by hand, waits for the operator to put it back, and
/// checks the Warning Event.
async fn set_image_is_put_back(prefix: &str, rollout: Value) {
    let bench = Bench::start(prefix).await;
    bench.first_release(&rollout).await;
    let deployments = bench.deployments().await;
    let name = deployments.keys().next().unwrap().clone();
    assert_eq!(image(bench.name(), &name), "example.com/web:1.0.0");

    let (ok, out) = kubectl_in(
        bench.name(),
        &[
            "set",
            "image",
            &format!("deployment/{name}"),
            "app=example.com/web:6.6.6-by-hand",
        ],
    );
    assert!(ok, "{out}");
    eventually(30, "the image put back", || async {
        image(bench.name(), &name) == "example.com/web:1.0.0"
    })
    .await;
    // The Event follows the write that put the image back, so it may land a moment later.
    let drift_events = || {
        event_list(bench.name())
            .into_iter()
            .filter(|e| e.reason == "Drift")
            .collect::<Vec<_>>()
    };
    eventually(30, "the Drift Event", || async {
        !drift_events().is_empty()
    })
    .await;
    let drift = drift_events();
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(
        drift[0].message,
        format!(
            "Deployment {name}: spec.template.spec.containers[app].image changed by hand; put \
             back as the checklist says"
        )
    );
    bench.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_image_set_by_hand_is_put_back_for_a_rolling_update() {
    set_image_is_put_back(
        "drift-rolling",
        json!({"strategy": "RollingUpdate", "maxSurge": 1}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_image_set_by_hand_is_put_back_for_blue_green() {
    set_image_is_put_back("drift-bluegreen", blue_green(json!({}))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_image_set_by_hand_is_put_back_for_a_canary() {
    set_image_is_put_back(
        "drift-canary",
        canary(json!([{"weight": 50}, {"weight": 100}])),
    )
    .await;
}

/// What the API server leaves out of what it returns (a probe's `initialDelaySeconds: 0`, Go's
/// omitempty) is not drift: a checklist at rest with the seed probes is never "put back".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn defaults_the_api_server_leaves_out_are_not_drift() {
    use checklist_testkit::{Scene, apply, checklist, valid_secret};
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("drift-probes").await;
    let mut web = checklist("example.com/web:1.0.0", &app);
    // Dialectic's probes: readiness and startup start at once (initialDelaySeconds 0).
    web["spec"]["probes"] = json!({
        "liveness": {"path": "/health", "periodSeconds": 30, "initialDelaySeconds": 30, "timeoutSeconds": 3},
        "readiness": {"path": "/health", "periodSeconds": 10},
        "startup": {"path": "/health", "periodSeconds": 2, "failureThreshold": 30},
    });
    apply(ns.name(), &[&valid_secret(), &web]);
    crate::web::kubectl_wait(ns.name(), "condition=Ready", 90);
    let generation = || {
        kubectl_in(
            ns.name(),
            &[
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.metadata.generation}",
            ],
        )
        .1
    };
    let before = generation();
    // Each annotation is a change the operator reconciles, and each reconcile judges drift.
    for i in 0..3 {
        let (ok, out) = kubectl_in(
            ns.name(),
            &[
                "annotate",
                "dcl",
                "web",
                &format!("touch={i}"),
                "--overwrite",
            ],
        );
        assert!(ok, "{out}");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let drift: Vec<_> = event_list(ns.name())
        .into_iter()
        .filter(|e| e.reason == "Drift")
        .collect();
    assert!(drift.is_empty(), "{drift:?}");
    assert_eq!(generation(), before, "the Deployment was written again");
    ns.finish(&client).await;
}
