//! A production workload end to end: an app with volumes, a native sidecar and an init
//! container, scheduling rules, a PodDisruptionBudget and a HorizontalPodAutoscaler, released
//! BlueGreen and Canary. The budget and the autoscaler follow the serving revision; the
//! autoscaler is the cluster's own (kube-controller-manager), which raises a Deployment below
//! its minimum without any metrics, so scaling is shown without a metrics server.

use checklist_testapp::RunningApp;
use checklist_testkit::{Scene, apply, checklist, kubectl_in, start_app, valid_secret};
use serde_json::{Value, json};

use crate::progressive::eventually;
use crate::web::{describe_shows, kubectl_wait};

const WITHIN: u64 = 120;

/// `web` at `image` with the pod spec of a production app, `rollout`, and the checks of the
/// new version sent to `new`.
fn production(image: &str, stable: &RunningApp, new: &RunningApp, rollout: Value) -> Value {
    let mut checklist = checklist(image, stable);
    let spec = &mut checklist["spec"];
    let app = spec["app"].as_object_mut().unwrap();
    app.remove("replicas");
    let more = json!({
        "autoscaling": {"minReplicas": 3, "maxReplicas": 5},
        "disruptionBudget": {"minAvailable": 2},
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            {"name": "config", "configMap": {"name": "web-config", "optional": true}},
        ],
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "config", "mountPath": "/etc/web", "readOnly": true},
        ],
        "sidecars": [{
            "name": "db-proxy",
            "image": "example.com/db-proxy:2.1",
            "args": ["--port=5432"],
            "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }],
        "initContainers": [{"name": "warm-cache", "image": "example.com/web-tools:1.0"}],
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}],
        "topologySpreadConstraints": [{
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
        }],
        "terminationGracePeriodSeconds": 45,
        "preStop": {"sleep": {"seconds": 5}},
    });
    for (key, value) in more.as_object().unwrap() {
        app.insert(key.clone(), value.clone());
    }
    let field = if rollout["strategy"] == "Canary" {
        "canaryURL"
    } else {
        "previewURL"
    };
    spec["rollout"] = rollout;
    spec["verification"]["checks"] = json!([
        {"name": "health", "http": {"path": "/health", "expectStatus": [200], "expectJSON": {"status": "ok"}}},
    ]);
    spec["verification"][field] = json!(new.url());
    checklist
}

/// One field of an object, by kubectl's jsonpath.
fn field(namespace: &str, object: &str, path: &str) -> String {
    let (ok, out) = kubectl_in(
        namespace,
        &["get", object, "-o", &format!("jsonpath={{{path}}}")],
    );
    assert!(ok, "{out}");
    out
}

fn revision(namespace: &str) -> String {
    field(namespace, "dcl/web", ".status.revision.current.hash")
}

/// Waits until the PodDisruptionBudget selects and the autoscaler scales `revision`, and the
/// autoscaler has raised that revision's Deployment to its minimum of 3.
async fn scaling_follows(namespace: &str, revision: &str) {
    let deployment = format!("web-{revision}");
    eventually(
        60,
        "the budget and the autoscaler on the serving revision",
        || async {
            field(
                namespace,
                "pdb/web",
                ".spec.selector.matchLabels.checklist\\.dev/revision",
            ) == revision
                && field(namespace, "hpa/web", ".spec.scaleTargetRef.name") == deployment
        },
    )
    .await;
    eventually(
        60,
        "the autoscaler raises the serving Deployment to minReplicas",
        || async {
            field(
                namespace,
                &format!("deployment/{deployment}"),
                ".spec.replicas",
            ) == "3"
        },
    )
    .await;
}

/// The pod template the operator wrote: every production field where Kubernetes reads it.
fn pod_template_carries_the_production_spec(namespace: &str, deployment: &str) {
    let object = format!("deployment/{deployment}");
    let pod = |path: &str| field(namespace, &object, &format!(".spec.template.spec{path}"));
    // The sidecar is native (an init container that keeps running) and starts first.
    assert_eq!(
        pod(".initContainers[*].name"),
        "db-proxy warm-cache",
        "sidecar first, then the init container"
    );
    assert_eq!(pod(".initContainers[0].restartPolicy"), "Always");
    assert_eq!(pod(".initContainers[1].restartPolicy"), "");
    assert_eq!(
        pod(".initContainers[0].securityContext.allowPrivilegeEscalation"),
        "false",
        "restricted by default"
    );
    assert_eq!(pod(".volumes[*].name"), "tmp config");
    assert_eq!(
        pod(".containers[0].volumeMounts[*].mountPath"),
        "/tmp /etc/web"
    );
    assert_eq!(pod(".containers[0].lifecycle.preStop.sleep.seconds"), "5");
    assert_eq!(pod(".terminationGracePeriodSeconds"), "45");
    assert_eq!(pod(".tolerations[0].value"), "web");
    assert_eq!(
        pod(
            ".topologySpreadConstraints[0].labelSelector.matchLabels.app\\.kubernetes\\.io/instance"
        ),
        "web",
        "a constraint without a selector counts the app's pods"
    );
}

/// A scene named by `prefix` whose `web` went Ready on 1.0.0 with `rollout`, and the test app
/// playing the new version.
async fn first_release(prefix: &str, rollout: &Value) -> (Scene, RunningApp) {
    let scene = Scene::start(prefix).await;
    let new = start_app().await;
    let first = production("example.com/web:1.0.0", &scene.app, &new, rollout.clone());
    apply(scene.ns.name(), &[&valid_secret(), &first]);
    kubectl_wait(scene.ns.name(), "condition=Ready", WITHIN);
    (scene, new)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_production_pod_spec_with_budget_and_autoscaler_follows_a_blue_green_switch() {
    let rollout = json!({"strategy": "BlueGreen", "blueGreen": {"previewService": "web-preview", "scaleDownDelaySeconds": 2}});
    let (scene, new) = first_release("workload-bg", &rollout).await;
    let ns = scene.ns.name();
    let blue = revision(ns);
    pod_template_carries_the_production_spec(ns, &format!("web-{blue}"));
    scaling_follows(ns, &blue).await;
    let (_, listed) = kubectl_in(ns, &["get", "pdb,hpa"]);
    println!("{listed}");

    // A new version: green comes up as large as blue is now, and takes the budget and the
    // autoscaler with the traffic.
    apply(
        ns,
        &[&production(
            "example.com/web:2.0.0",
            &scene.app,
            &new,
            rollout.clone(),
        )],
    );
    eventually(WITHIN, "green released", || async { revision(ns) != blue }).await;
    kubectl_wait(ns, "condition=Ready", WITHIN);
    let green = revision(ns);
    scaling_follows(ns, &green).await;
    eventually(30, "blue's Deployment removed", || async {
        let (ok, _) = kubectl_in(ns, &["get", &format!("deployment/web-{blue}")]);
        !ok
    })
    .await;
    let (_, listed) = kubectl_in(ns, &["get", "pdb,hpa,deployments"]);
    println!("{listed}");

    // The budget and the autoscaler are not part of the revision: removing them deletes both
    // and replaces no pod.
    let mut plain = production("example.com/web:2.0.0", &scene.app, &new, rollout);
    let app = plain["spec"]["app"].as_object_mut().unwrap();
    app.remove("autoscaling");
    app.remove("disruptionBudget");
    app.insert("replicas".into(), json!(3));
    apply(ns, &[&plain]);
    eventually(30, "the budget and the autoscaler deleted", || async {
        let (_, out) = kubectl_in(ns, &["get", "pdb,hpa", "-o", "name"]);
        out.trim().is_empty()
    })
    .await;
    assert_eq!(revision(ns), green, "no new revision");
    describe_shows(ns, &["Phase:                Ready"]);

    // A budget of that name someone else made is neither taken over nor deleted: the checklist
    // says so and waits.
    let (ok, out) = kubectl_in(
        ns,
        &[
            "create",
            "pdb",
            "web",
            "--selector=team=other",
            "--min-available=1",
        ],
    );
    assert!(ok, "{out}");
    plain["spec"]["app"]["disruptionBudget"] = json!({"maxUnavailable": 1});
    apply(ns, &[&plain]);
    kubectl_wait(ns, "condition=Stalled", 60);
    describe_shows(
        ns,
        &[
            "PodDisruptionBudget web exists and is not owned by this checklist: it is left alone; delete it, or leave spec.app.disruptionBudget out",
        ],
    );
    assert_eq!(field(ns, "pdb/web", ".spec.minAvailable"), "1");
    assert_eq!(
        field(ns, "pdb/web", ".spec.selector.matchLabels.team"),
        "other"
    );
    scene.ns.finish(&scene.client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_canary_takes_its_share_of_what_the_autoscaler_chose_then_the_autoscaler() {
    let rollout = json!({"strategy": "Canary", "canary": {"steps": [{"weight": 34, "pauseSeconds": 8}, {"weight": 100}]}});
    let (scene, new) = first_release("workload-canary", &rollout).await;
    let ns = scene.ns.name();
    let stable = revision(ns);
    scaling_follows(ns, &stable).await;

    apply(
        ns,
        &[&production(
            "example.com/web:2.0.0",
            &scene.app,
            &new,
            rollout,
        )],
    );
    kubectl_wait(ns, "jsonpath={.status.rollout.stage}=Paused", WITHIN);
    let canary = revision(ns);
    pod_template_carries_the_production_spec(ns, &format!("web-{canary}"));
    // 34% of the 3 pods the autoscaler keeps: 2 (rounded up); the stable pods are untouched,
    // and so are the budget and the autoscaler.
    assert_eq!(
        field(ns, &format!("deployment/web-{canary}"), ".spec.replicas"),
        "2"
    );
    assert_eq!(
        field(ns, "hpa/web", ".spec.scaleTargetRef.name"),
        format!("web-{stable}")
    );
    assert_eq!(
        field(
            ns,
            "pdb/web",
            ".spec.selector.matchLabels.checklist\\.dev/revision"
        ),
        stable
    );
    kubectl_wait(ns, "condition=Ready", WITHIN);
    scaling_follows(ns, &canary).await;
    let (_, listed) = kubectl_in(ns, &["get", "pdb,hpa,deployments"]);
    println!("{listed}");
    scene.ns.finish(&scene.client).await;
}
