//! kubectl on the checklist `web` that the lifecycle tests apply (the test kit's
//! `checklist()`), as a user types it.

use std::time::Duration;

use checklist_operator::api::{DeploymentChecklist, Phase};
use checklist_testkit::kubectl_in;
use kube::Client;

/// `kubectl wait dcl/web --for=FOR`, asserting it succeeds within `seconds`.
pub fn kubectl_wait(namespace: &str, condition: &str, seconds: u64) -> String {
    kubectl_wait_for(namespace, "web", condition, Duration::from_secs(seconds))
}

/// `kubectl wait dcl/NAME --for=CONDITION`, panicking with `kubectl describe` when it times out.
pub fn kubectl_wait_for(namespace: &str, name: &str, condition: &str, within: Duration) -> String {
    let (ok, out) = kubectl_in(
        namespace,
        &[
            "wait",
            &format!("dcl/{name}"),
            &format!("--for={condition}"),
            &format!("--timeout={}s", within.as_secs()),
        ],
    );
    if !ok {
        panic!(
            "kubectl wait dcl/{name} --for={condition} failed: {out}\n{}",
            describe_named(namespace, name)
        );
    }
    out
}

/// `kubectl get dcl web`: the columns a user sees.
pub fn get_dcl(namespace: &str) -> String {
    let (ok, out) = kubectl_in(namespace, &["get", "dcl", "web"]);
    assert!(ok, "{out}");
    out
}

/// `kubectl describe dcl web`.
pub fn describe(namespace: &str) -> String {
    describe_named(namespace, "web")
}

/// `kubectl describe dcl NAME`.
pub fn describe_named(namespace: &str, name: &str) -> String {
    let (ok, out) = kubectl_in(namespace, &["describe", "dcl", name]);
    assert!(ok, "{out}");
    out
}

/// `kubectl describe dcl web`, printed, asserting it shows each of `lines`.
pub fn describe_shows(namespace: &str, lines: &[&str]) -> String {
    let described = describe(namespace);
    println!("{described}");
    for line in lines {
        assert!(
            described.contains(line),
            "{line:?} missing from:\n{described}"
        );
    }
    described
}

/// Waits until `web` reached `phase` for its current generation.
pub async fn wait_phase(
    client: &Client,
    namespace: &str,
    phase: Phase,
    timeout: Duration,
) -> DeploymentChecklist {
    checklist_testkit::wait_phase(client, namespace, "web", phase, timeout).await
}

/// The image of the app container in the Deployment `web`.
pub fn deployed_image(namespace: &str) -> String {
    let (ok, out) = kubectl_in(
        namespace,
        &[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert!(ok, "{out}");
    out
}

/// The names of the Jobs in the namespace.
pub fn job_names(namespace: &str) -> Vec<String> {
    let (ok, out) = kubectl_in(namespace, &["get", "jobs", "-o", "name"]);
    assert!(ok, "{out}");
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_start_matches("job.batch/").to_owned())
        .collect()
}

/// An Event about `web`, as `kubectl get events` lists it.
#[derive(Debug)]
pub struct Listed {
    /// The Event's reason.
    pub reason: String,
    /// Its message.
    pub message: String,
}

/// The Events about `web`, oldest first.
pub fn event_list(namespace: &str) -> Vec<Listed> {
    let (ok, out) = kubectl_in(
        namespace,
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=web",
            "-o",
            "json",
        ],
    );
    assert!(ok, "{out}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Listed {
            reason: e["reason"].as_str().unwrap_or_default().to_owned(),
            message: e["message"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}
