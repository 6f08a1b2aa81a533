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
    let drift: Vec<_> = event_list(bench.name())
        .into_iter()
        .filter(|e| e.reason == "Drift")
        .collect();
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
