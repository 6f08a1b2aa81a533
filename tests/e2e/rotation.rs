//! Secret and ConfigMap rotation end to end: a Secret or ConfigMap listed in
//! spec.app.rollOnChange changes, and the operator rolls a new revision through the strategy with
//! its checks, saying which object changed. A rotation that breaks the secret contract rolls
//! nothing, and a write to an object not listed starts no revision.

use checklist_testkit::{Scene, apply, checklist, kubectl_in, secret, valid_secret};
use serde_json::{Value, json};

use crate::progressive::eventually;
use crate::web::{describe_shows, event_list, kubectl_wait};

const WITHIN: u64 = 120;

/// `web` reading its injected Secret `web-env` and one key of the ConfigMap `web-flags`, rolling
/// on both.
fn rolling_on_change(scene: &Scene) -> Value {
    let mut checklist = checklist("example.com/web:1.0.0", &scene.app);
    let app = &mut checklist["spec"]["app"];
    app["env"] = json!([{
        "name": "FEATURES",
        "valueFrom": {"configMapKeyRef": {"name": "web-flags", "key": "features"}},
    }]);
    app["rollOnChange"] = json!({"secrets": ["web-env"], "configMaps": ["web-flags"]});
    checklist
}

fn flags(features: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web-flags"},
        "data": {"features": features},
    })
}

fn status(namespace: &str) -> Value {
    let (ok, out) = kubectl_in(namespace, &["get", "dcl/web", "-o", "json"]);
    assert!(ok, "{out}");
    serde_json::from_str::<Value>(&out).unwrap()["status"].clone()
}

fn current(namespace: &str) -> String {
    status(namespace)["revision"]["current"]["hash"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The revision the app's pod template carries.
fn deployed(namespace: &str) -> String {
    let (ok, out) = kubectl_in(
        namespace,
        &[
            "get",
            "deployment/web",
            "-o",
            "jsonpath={.spec.template.metadata.annotations.checklist\\.dev/revision}",
        ],
    );
    assert!(ok, "{out}");
    out
}

/// Waits until a revision other than `before` has succeeded, and returns its history entry.
async fn rolled_past(namespace: &str, before: &str) -> Value {
    eventually(WITHIN, "a new revision succeeded", || async {
        let last = status(namespace)["history"]
            .as_array()
            .and_then(|h| h.last().cloned())
            .unwrap_or_default();
        last["hash"] != before && last["outcome"] == "Succeeded"
    })
    .await;
    kubectl_wait(namespace, "condition=Ready", WITHIN);
    status(namespace)["history"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_rotated_secret_or_config_map_rolls_a_verified_revision_naming_what_changed() {
    let scene = Scene::start("rotation").await;
    let ns = scene.ns.name();
    apply(
        ns,
        &[
            &valid_secret(),
            &flags("search"),
            &rolling_on_change(&scene),
        ],
    );
    kubectl_wait(ns, "condition=Ready", WITHIN);
    let first = current(ns);
    let references = status(ns)["revision"]["current"]["references"].clone();
    assert_eq!(
        references
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!(
                "{}/{}",
                r["kind"].as_str().unwrap(),
                r["name"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        ["Secret/web-env", "ConfigMap/web-flags"],
        "{references}"
    );
    assert!(
        references
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["resourceVersion"].is_string()),
        "each version recorded: {references}"
    );

    // The credential is rotated: a new revision with its migration and checks, naming the Secret.
    let mut rotated = valid_secret();
    rotated["stringData"]["SECRET_KEY_BASE"] = json!("r".repeat(64));
    apply(ns, &[&rotated]);
    let entry = rolled_past(ns, &first).await;
    assert_eq!(entry["rotated"], json!(["Secret/web-env"]), "{entry}");
    assert_eq!(entry["image"], "example.com/web:1.0.0", "the same image");
    let second = current(ns);
    assert_eq!(deployed(ns), second, "the pods roll to the new revision");
    let (ok, jobs) = kubectl_in(ns, &["get", "jobs", "-o", "name"]);
    assert!(
        ok && jobs.contains(&second),
        "its own migration Job: {jobs}"
    );
    assert!(
        event_list(ns).iter().any(|e| e.reason == "RevisionStarted"
            && e.message.contains(&second)
            && e.message.ends_with("Secret/web-env changed")),
        "an Event says what changed"
    );
    let described = describe_shows(ns, &["Rotated:", "Secret/web-env"]);
    assert!(
        !described.contains(&"r".repeat(64)),
        "no value of the Secret reaches describe"
    );

    // A flag flips: the ConfigMap's change rolls a revision too.
    apply(ns, &[&flags("search,export")]);
    let entry = rolled_past(ns, &second).await;
    assert_eq!(entry["rotated"], json!(["ConfigMap/web-flags"]), "{entry}");
    let third = current(ns);

    // A rotation that breaks the contract is a revision that stops at its secrets: the pods of
    // the last good one keep running.
    apply(
        ns,
        &[&secret(
            json!({"SECRET_KEY_BASE": "short", "DATABASE_URL": "ecto://app:pw@db/web"}),
        )],
    );
    eventually(
        WITHIN,
        "the broken rotation held at its secrets",
        || async { current(ns) != third && status(ns)["phase"] == "CheckingSecrets" },
    )
    .await;
    assert_eq!(deployed(ns), third, "no pod of the broken rotation");
    let held = describe_shows(ns, &["SECRET_KEY_BASE"]);
    assert!(!held.contains("ecto://app:pw@db/web"), "no value is shown");

    // Mended, it rolls; an object the checklist does not list starts nothing.
    apply(ns, &[&rotated]);
    let mended = rolled_past(ns, &third).await;
    let fourth = mended["hash"].as_str().unwrap().to_owned();
    let unlisted = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "unrelated"}, "data": {"a": "1"},
    });
    apply(ns, &[&unlisted]);
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(
        current(ns),
        fourth,
        "an unlisted ConfigMap starts no revision"
    );
    assert_eq!(deployed(ns), fourth);
}
