//! Check templates as a platform team uses them: one ClusterChecklistTemplate shared by two
//! checklists, a change to it re-verifying both as they run (no pod rolled), and a template
//! that does not resolve stopping a checklist without changing anything.

use std::time::{Duration, Instant};

use checklist_operator::api::Phase;
use serde_json::{Value, json};

use checklist_testkit::{
    Scene, apply, checklist, kubectl, kubectl_checklist, kubectl_in, valid_secret,
};

use crate::web::{describe_named, kubectl_wait_for};

/// The platform team's template: health on a path each team passes, a latency budget that
/// defaults to 2000 ms, and the frame header the platform requires.
fn baseline(name: &str, frame: &str) -> Value {
    json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "ClusterChecklistTemplate",
        "metadata": {"name": name},
        "spec": {
            "description": "what every web app of the platform answers",
            "parameters": [
                {"name": "healthPath", "description": "the app's health endpoint"},
                {"name": "maxLatencyMs", "default": 2000},
            ],
            "checks": [
                {"name": "health", "http": {"path": "{{params.healthPath}}", "expectStatus": [200],
                    "maxLatencyMs": "{{params.maxLatencyMs}}"}},
                {"name": "frame", "category": "security",
                    "securityHeaders": {"require": [], "values": {"x-frame-options": frame}}},
            ],
        },
    })
}

/// A checklist named `name` with one check of its own and the template's.
fn using(
    name: &str,
    template: &str,
    prefix: Option<&str>,
    app: &checklist_testapp::RunningApp,
) -> Value {
    let mut value = checklist("example.com/web:1.0.0", app);
    value["metadata"]["name"] = json!(name);
    let verification = &mut value["spec"]["verification"];
    verification["checks"] = json!([
        {"name": "deep-health", "http": {"path": "/health/deep", "expectStatus": [200]}},
    ]);
    let mut reference = json!({
        "name": template, "kind": "ClusterChecklistTemplate",
        "parameters": {"healthPath": "/health"},
    });
    if let Some(prefix) = prefix {
        reference["prefix"] = json!(prefix);
    }
    verification["templates"] = json!([reference]);
    value
}

/// Removes the cluster-scoped template when the test ends, also when it panics.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = kubectl()
            .args([
                "delete",
                "--ignore-not-found",
                "--wait=false",
                "clusterchecklisttemplate",
                &self.0,
            ])
            .output();
    }
}

fn field(namespace: &str, name: &str, template: &str) -> String {
    let (ok, out) = kubectl_in(
        namespace,
        &["get", "dcl", name, "-o", &format!("jsonpath={template}")],
    );
    assert!(ok, "{out}");
    out
}

/// The pod template's generation of the app Deployment `name`: it moves only when pods roll.
fn deployment_generation(namespace: &str, name: &str) -> String {
    let (ok, out) = kubectl_in(
        namespace,
        &[
            "get",
            "deployment",
            name,
            "-o",
            "jsonpath={.metadata.generation}",
        ],
    );
    assert!(ok, "{out}");
    out
}

fn apply_cluster(object: &Value) {
    let out = checklist_testkit::kubectl_stdin(&["apply", "-f", "-"], &object.to_string());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn two_checklists_share_a_cluster_template_and_its_change_re_verifies_both() {
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("templates").await;
    let template = format!("baseline-{}", ns.name());
    let _cleanup = Cleanup(template.clone());
    apply_cluster(&baseline(&template, "SAMEORIGIN"));
    apply(
        ns.name(),
        &[
            &valid_secret(),
            &using("web", &template, None, &app),
            &using("api", &template, Some("base-"), &app),
        ],
    );
    for name in ["web", "api"] {
        let waited = kubectl_wait_for(ns.name(), name, "condition=Ready", Duration::from_secs(90));
        assert!(waited.contains("condition met"), "{waited}");
    }
    let checks = field(
        ns.name(),
        "api",
        "{range .status.checks[*]}{.name} {.result}{\"\\n\"}{end}",
    );
    for line in ["deep-health Pass", "base-health Pass", "base-frame Pass"] {
        assert!(checks.contains(line), "{line:?} missing:\n{checks}");
    }
    let described = describe_named(ns.name(), "web");
    println!("{described}");
    for shown in [
        "Templates:",
        "ClusterChecklistTemplate",
        &template,
        "health",
        "frame",
    ] {
        assert!(
            described.contains(shown),
            "{shown:?} missing from:\n{described}"
        );
    }
    let status = kubectl_checklist(&["status", "api", "-n", ns.name()]);
    println!("{}", status.stdout);
    assert!(
        status.stdout.lines().any(|l| l.contains("base-frame")
            && l.contains(&format!("(ClusterChecklistTemplate {template})"))),
        "{}",
        status.stdout
    );
    let generations: Vec<String> = ["web", "api"]
        .iter()
        .map(|name| deployment_generation(ns.name(), name))
        .collect();
    let history = field(ns.name(), "web", "{.status.history[*].revision}");

    // The platform now requires DENY, which the app does not send: both checklists are verified
    // again with the new check at their next round, and both report it, without a rollback.
    let changed = Instant::now();
    apply_cluster(&baseline(&template, "DENY"));
    for name in ["web", "api"] {
        let degraded = checklist_testkit::wait_phase(
            &client,
            ns.name(),
            name,
            Phase::Degraded,
            Duration::from_secs(60),
        )
        .await;
        let status = degraded.status.unwrap();
        let verified = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Verified")
            .unwrap();
        assert_eq!(verified.status, "False", "{verified:?}");
        assert!(verified.message.contains("frame"), "{}", verified.message);
    }
    println!(
        "template change → both checklists Degraded: {:.1} s",
        changed.elapsed().as_secs_f64()
    );
    for (name, before) in ["web", "api"].iter().zip(&generations) {
        assert_eq!(
            &deployment_generation(ns.name(), name),
            before,
            "{name}: a template change must not roll pods"
        );
    }
    assert_eq!(
        field(ns.name(), "web", "{.status.history[*].revision}"),
        history
    );

    // Put back, the checks pass again and both are Ready.
    apply_cluster(&baseline(&template, "SAMEORIGIN"));
    for name in ["web", "api"] {
        let waited = kubectl_wait_for(ns.name(), name, "condition=Ready", Duration::from_secs(60));
        assert!(waited.contains("condition met"), "{waited}");
    }

    // A checklist that does not pass what the template needs is stopped with the reason, and
    // nothing of it changes; the other is left alone.
    let mut forgetful = using("api", &template, Some("base-"), &app);
    forgetful["spec"]["verification"]["templates"][0]["parameters"] =
        json!({"healthPth": "/health"});
    apply(ns.name(), &[&forgetful]);
    let stalled = kubectl_wait_for(
        ns.name(),
        "api",
        "condition=Stalled",
        Duration::from_secs(30),
    );
    assert!(stalled.contains("condition met"), "{stalled}");
    let message = field(ns.name(), "api", "{.status.message}");
    assert_eq!(
        message,
        format!(
            "ClusterChecklistTemplate {template} has no parameter healthPth (spec.verification.templates[0].parameters); it has healthPath, maxLatencyMs; nothing was changed"
        )
    );
    let described = describe_named(ns.name(), "api");
    assert!(described.contains("InvalidTemplate"), "{described}");
    assert_eq!(deployment_generation(ns.name(), "api"), generations[1]);
    assert_eq!(field(ns.name(), "web", "{.status.phase}"), "Ready");

    // Deleting the template stops its users the same way.
    let out = kubectl()
        .args(["delete", "clusterchecklisttemplate", &template])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stalled = kubectl_wait_for(
        ns.name(),
        "web",
        "condition=Stalled",
        Duration::from_secs(30),
    );
    assert!(stalled.contains("condition met"), "{stalled}");
    assert_eq!(
        field(ns.name(), "web", "{.status.message}"),
        format!("ClusterChecklistTemplate {template} not found; nothing was changed")
    );
    assert_eq!(deployment_generation(ns.name(), "web"), generations[0]);
    ns.finish(&client).await;
}
