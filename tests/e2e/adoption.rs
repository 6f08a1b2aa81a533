//! Adopting a running Deployment end to end: `kubectl checklist adopt` writes the checklist from
//! it, the Deployment's own pods (the same UIDs) keep serving through the user's Service beside
//! the checklist's until its revision is Ready, and only then is the Deployment scaled to 0,
//! left in place with the replicas it had (or deleted). A first revision that fails leaves the
//! old pods serving alone.

use std::collections::BTreeSet;

use checklist_testkit::{Scene, apply, checklist, kubectl_checklist, kubectl_in};
use serde_json::{Value, json};

use crate::progressive::eventually;
use crate::web::{describe_shows, event_list, kubectl_wait};

const WITHIN: u64 = 120;

/// The team's own Deployment `legacy` (2 pods labelled app=legacy) and its Service.
fn legacy() -> [Value; 2] {
    [
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "legacy"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "legacy"}},
                "template": {
                    "metadata": {"labels": {"app": "legacy", "tier": "web"}},
                    "spec": {
                        "containers": [{
                            "name": "web",
                            "image": "example.com/web:1.0.0",
                            "ports": [{"containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/health", "port": 8080}},
                            "securityContext": {"allowPrivilegeEscalation": false},
                        }],
                        "securityContext": {"runAsNonRoot": true},
                    },
                },
            },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "legacy"},
            "spec": {"selector": {"app": "legacy"}, "ports": [{"port": 80, "targetPort": 8080}]},
        }),
    ]
}

fn json_of(namespace: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let (ok, out) = kubectl_in(namespace, &all);
    assert!(ok, "{out}");
    serde_json::from_str(&out).unwrap()
}

/// The UIDs of the ready pods selected by `selector`.
fn ready_pods(namespace: &str, selector: &str) -> BTreeSet<String> {
    json_of(namespace, &["get", "pods", "-l", selector])["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pod| {
            pod["metadata"]["deletionTimestamp"].is_null()
                && pod["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        .map(|pod| pod["metadata"]["uid"].as_str().unwrap().to_owned())
        .collect()
}

/// The UIDs of the pods the Service `legacy` sends requests to (its ready endpoints).
fn serving(namespace: &str) -> BTreeSet<String> {
    json_of(
        namespace,
        &[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=legacy",
        ],
    )["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|slice| slice["endpoints"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["conditions"]["ready"] == true)
        .filter_map(|e| e["targetRef"]["uid"].as_str().map(str::to_owned))
        .collect()
}

fn status(namespace: &str) -> Value {
    json_of(namespace, &["get", "dcl/web"])["status"].clone()
}

/// Waits until the Service `legacy` reaches the checklist's pods only; their UIDs.
async fn served_by_checklist(ns: &str) -> BTreeSet<String> {
    let new = ready_pods(ns, "app.kubernetes.io/instance=web");
    eventually(
        WITHIN,
        "Service legacy serves the checklist's pods only",
        || async { serving(ns) == new },
    )
    .await;
    new
}

/// A scene with `legacy` serving through its Service; the UIDs of its pods.
async fn legacy_serving(prefix: &str) -> (Scene, BTreeSet<String>) {
    let scene = Scene::start(prefix).await;
    let ns = scene.ns.name();
    let [deployment, service] = legacy();
    apply(ns, &[&deployment, &service]);
    eventually(
        WITHIN,
        "legacy's 2 pods serve through its Service",
        || async {
            let old = ready_pods(ns, "app=legacy");
            old.len() == 2 && serving(ns) == old
        },
    )
    .await;
    let old = ready_pods(ns, "app=legacy");
    (scene, old)
}

/// The checklist `web` that `kubectl checklist adopt legacy --name web ARGS` writes, with notes
/// for the person, its checks pointed at the test app as every e2e checklist's are.
fn adopted(scene: &Scene, args: &[&str]) -> Value {
    let mut all = vec!["-n", scene.ns.name(), "adopt", "legacy", "--name", "web"];
    all.extend_from_slice(args);
    let run = kubectl_checklist(&all);
    println!(
        "$ kubectl checklist {}\n{}{}",
        all.join(" "),
        run.stdout,
        run.stderr
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("# note: "), "notes: {}", run.stdout);
    let mut written: Value = serde_norway::from_str(&run.stdout).unwrap();
    written["spec"]["verification"] =
        checklist("example.com/web:1.0.0", &scene.app)["spec"]["verification"].clone();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_running_deployment_is_adopted_with_its_pods_serving_until_the_checklist_is_ready() {
    let (scene, old) = legacy_serving("adoption").await;
    let ns = scene.ns.name();

    // The plugin writes the checklist from the Deployment.
    let mut written = adopted(&scene, &[]);
    let app = &written["spec"]["app"];
    assert_eq!(app["podLabels"], json!({"app": "legacy", "tier": "web"}));
    assert_eq!(
        app["adopt"],
        json!({"deployment": "legacy", "afterReady": "ScaleDown"})
    );
    assert_eq!(app["image"], "example.com/web:1.0.0");
    // A window in which old and new pods both serve, before the checklist can be Ready.
    written["spec"]["verification"]["initialDelaySeconds"] = json!(6);
    apply(ns, &[&written]);

    // Until Ready: the old pods, the very same, serve beside the checklist's through the
    // team's Service, and the Deployment is untouched.
    eventually(
        WITHIN,
        "the checklist's pods join the old ones behind Service legacy",
        || async {
            let new = ready_pods(ns, "app.kubernetes.io/instance=web");
            let behind = serving(ns);
            new.len() == 2 && behind.is_superset(&new) && behind.is_superset(&old)
        },
    )
    .await;
    let mid = status(ns);
    assert_ne!(mid["phase"], "Ready", "the window closed too early: {mid}");
    assert_eq!(
        ready_pods(ns, "app=legacy,!app.kubernetes.io/instance"),
        old,
        "no old pod restarted"
    );
    assert_eq!(
        json_of(ns, &["get", "deployment/legacy"])["spec"]["replicas"],
        2,
        "untouched before Ready"
    );
    assert_eq!(mid["adoption"]["handedOver"], Value::Null, "{mid}");
    assert!(
        mid["adoption"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Deployment legacy keeps serving (2 replicas)"),
        "{mid}"
    );

    // Ready: the Deployment is scaled to 0, left in place with the replicas it had, and the
    // team's Service now reaches the checklist's pods only.
    kubectl_wait(ns, "condition=Ready", WITHIN);
    let new = served_by_checklist(ns).await;
    let adopted = json_of(ns, &["get", "deployment/legacy"]);
    assert_eq!(adopted["spec"]["replicas"], 0);
    let annotations = &adopted["metadata"]["annotations"];
    assert_eq!(annotations["checklist.dev/adopted-by"], "web");
    assert_eq!(annotations["checklist.dev/replicas-before-adoption"], "2");
    let done = status(ns);
    assert_eq!(done["adoption"]["handedOver"], true, "{done}");
    assert_eq!(
        done["history"][0]["outcome"], "Succeeded",
        "the first revision is the stable one: {done}"
    );
    assert_eq!(done["revision"]["stable"]["image"], "example.com/web:1.0.0");
    assert!(
        event_list(ns).iter().any(|e| e.reason == "HandedOver"
            && e.message
                .starts_with("Deployment legacy scaled from 2 to 0")),
        "an Event says so"
    );
    describe_shows(ns, &["Adoption:", "Handed Over:  true"]);

    // Removing spec.app.adopt afterwards rolls nothing.
    let revision = done["revision"]["current"]["hash"].clone();
    let (ok, out) = kubectl_in(
        ns,
        &[
            "patch",
            "dcl/web",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/spec/app/adopt"}]"#,
        ],
    );
    assert!(ok, "{out}");
    eventually(WITHIN, "status.adoption is dropped", || async {
        let now = status(ns);
        now["adoption"].is_null() && now["observedGeneration"] == 2
    })
    .await;
    assert_eq!(status(ns)["revision"]["current"]["hash"], revision);
    assert_eq!(
        ready_pods(ns, "app.kubernetes.io/instance=web"),
        new,
        "no pod rolled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_failing_first_revision_leaves_the_adopted_pods_serving_and_delete_waits_for_ready() {
    let (scene, old) = legacy_serving("adoption-fails").await;
    let ns = scene.ns.name();
    let mut written = adopted(&scene, &["--after-ready", "delete"]);
    assert_eq!(written["spec"]["app"]["adopt"]["afterReady"], "Delete");
    written["spec"]["verification"]["failureThreshold"] = json!(1);

    // The app answers unhealthy: the first revision fails, with nothing older to restore.
    scene.app.set_mode(checklist_testapp::Mode::Unhealthy);
    apply(ns, &[&written]);
    eventually(WITHIN, "the first revision failed", || async {
        status(ns)["phase"] == "Failed"
    })
    .await;
    // As a rollback restores a stable revision: the checklist's pods go, the old ones (the
    // very same) serve alone.
    eventually(
        WITHIN,
        "Service legacy serves the old pods alone",
        || async {
            ready_pods(ns, "app.kubernetes.io/instance=web").is_empty() && serving(ns) == old
        },
    )
    .await;
    assert_eq!(
        ready_pods(ns, "app=legacy,!app.kubernetes.io/instance"),
        old,
        "no old pod restarted"
    );
    let failed = status(ns);
    assert!(
        failed["message"].as_str().unwrap().ends_with(
            "Deployment legacy, being adopted, serves alone: this checklist's pods were removed"
        ),
        "{failed}"
    );
    assert_eq!(failed["adoption"]["handedOver"], Value::Null, "{failed}");
    assert_eq!(
        json_of(ns, &["get", "deployment/legacy"])["spec"]["replicas"],
        2
    );

    // Mended and retried: Ready, and only then is the Deployment deleted.
    scene.app.set_mode(checklist_testapp::Mode::Healthy);
    let retried = kubectl_checklist(&["-n", ns, "retry", "web"]);
    assert_eq!(retried.code, Some(0), "{}", retried.stderr);
    kubectl_wait(ns, "condition=Ready", WITHIN);
    eventually(WITHIN, "Deployment legacy is deleted", || async {
        let (found, _) = kubectl_in(ns, &["get", "deployment/legacy"]);
        !found
    })
    .await;
    let done = status(ns);
    assert_eq!(done["adoption"]["handedOver"], true, "{done}");
    assert!(
        done["adoption"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Deployment legacy (2 replicas) deleted"),
        "{done}"
    );
    served_by_checklist(ns).await;
}
