//! Safety in a shared cluster, as a platform team checks it before installing: the pods the
//! operator creates are admitted where the restricted Pod Security Standard is enforced.

use checklist_testkit::{
    Operator, Scene, TestNamespace, apply, checklist, client, ensure_crd, kubectl_in, start_app,
    valid_secret,
};
use k8s_openapi::api::{batch::v1::Job, core::v1::Pod};
use kube::{Api, api::ListParams};
use serde_json::json;

use crate::web::{describe_shows, kubectl_wait};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_release_goes_ready_where_the_restricted_standard_is_enforced() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "restricted").await;
    let (labelled, out) = kubectl_in(
        ns.name(),
        &[
            "label",
            "namespace",
            ns.name(),
            "pod-security.kubernetes.io/enforce=restricted",
        ],
    );
    assert!(labelled, "{out}");
    // The standard is really enforced here: a pod with no security settings is refused.
    let (created, refused) = kubectl_in(
        ns.name(),
        &[
            "run",
            "bare",
            "--image=registry.invalid/bare:1",
            "--restart=Never",
        ],
    );
    assert!(!created, "a bare pod was admitted: {refused}");
    assert!(
        refused.contains("violates PodSecurity \"restricted"),
        "{refused}"
    );

    let app = start_app().await;
    let _operator = Operator::start(ns.name());
    apply(
        ns.name(),
        &[&valid_secret(), &checklist("example.com/web:1.0.0", &app)],
    );
    let waited = kubectl_wait(ns.name(), "condition=Ready", 90);
    assert!(waited.contains("condition met"), "{waited}");
    describe_shows(ns.name(), &["Phase:                Ready"]);

    // The migration ran and the app runs, both without the API token.
    let jobs: Api<Job> = Api::namespaced(client.clone(), ns.name());
    assert_eq!(
        jobs.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
    let pods = pods.list(&ListParams::default()).await.unwrap().items;
    assert!(
        pods.len() >= 3,
        "expected 2 app pods and a migration pod: {}",
        pods.len()
    );
    for pod in &pods {
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.automount_service_account_token, Some(false));
        let container = spec.containers[0].security_context.as_ref().unwrap();
        assert_eq!(container.allow_privilege_escalation, Some(false));
    }
    ns.finish(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn checks_cannot_reach_the_control_plane_or_choose_their_host() {
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("egress").await;

    // Where the API server really is: the address it publishes for itself, not the Service.
    let (ok, endpoint) = kubectl_in(
        "default",
        &[
            "get",
            "endpointslice",
            "kubernetes",
            "-o",
            "jsonpath={.endpoints[0].addresses[0]}:{.ports[0].port}",
        ],
    );
    assert!(ok, "{endpoint}");
    let mut aimed = checklist("example.com/web:1.0.0", &app);
    aimed["spec"]["verification"]["url"] = json!(format!("https://{endpoint}"));
    aimed["spec"]["verification"]["checks"] =
        json!([{"name": "health", "http": {"path": "/version"}}]);
    apply(ns.name(), &[&valid_secret(), &aimed]);
    kubectl_wait(ns.name(), "jsonpath={.status.phase}=Failed", 90);
    let (_, message) = kubectl_in(
        ns.name(),
        &[
            "get",
            "dcl",
            "web",
            "-o",
            "jsonpath={.status.checks[0].message}",
        ],
    );
    println!("{message}");
    assert!(
        message.contains("refused by the egress guard")
            && message.contains("is an address of the Kubernetes API server"),
        "{message}"
    );

    // A Host header would send the request to another virtual host than the URL names.
    let mut host = checklist("example.com/web:1.0.0", &app);
    host["metadata"]["name"] = json!("host");
    host["spec"]["verification"]["checks"][0]["http"]["headers"] =
        json!([{"name": "Host", "value": "kubernetes.default.svc"}]);
    let (applied, refused) = kubectl_stdin_in(ns.name(), &host);
    assert!(!applied, "a Host header was accepted");
    assert!(
        refused.contains("set by the client and cannot be set by a check"),
        "{refused}"
    );
    ns.finish(&client).await;
}

/// `kubectl apply -f -` of one object; whether it was accepted and what kubectl said.
fn kubectl_stdin_in(namespace: &str, object: &serde_json::Value) -> (bool, String) {
    let out = checklist_testkit::kubectl_stdin(
        &["apply", "-n", namespace, "-f", "-"],
        &object.to_string(),
    );
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_hostile_checklist_fails_alone_and_the_operator_stays_small_and_responsive() {
    let Scene {
        client,
        ns,
        app,
        operator,
    } = Scene::start("hostile").await;

    // A key that took 49 s and 2 GB before evaluation was bounded, a filter that would walk the
    // body quadratically, and an endless body, all against the same app.
    let mut hostile = checklist("example.com/web:1.0.0", &app);
    hostile["metadata"]["name"] = json!("evil");
    hostile["spec"]["verification"]["failureThreshold"] = json!(1);
    hostile["spec"]["verification"]["checks"] = json!([
        {"name": "chain", "http": {"path": "/health/deep", "expectJSON": {"$..*..*..*..*..*": "x"}}},
        {"name": "filter", "http": {"path": "/health/deep", "expectJSON": {"$.checks[?@.status == $..status]": "x"}}},
    ]);
    apply(ns.name(), &[&valid_secret(), &hostile]);
    let honest = checklist("example.com/web:1.0.0", &app);
    apply(ns.name(), &[&honest]);

    let (_, failed) = kubectl_in(
        ns.name(),
        &[
            "wait",
            "dcl/evil",
            "--for=jsonpath={.status.phase}=Failed",
            "--timeout=90s",
        ],
    );
    assert!(failed.contains("condition met"), "{failed}");
    crate::web::kubectl_wait(ns.name(), "condition=Ready", 90);
    let (_, messages) = kubectl_in(
        ns.name(),
        &[
            "get",
            "dcl",
            "evil",
            "-o",
            "jsonpath={.status.checks[*].message}",
        ],
    );
    println!("{messages}");
    assert!(messages.contains("over the limit of 2"), "{messages}");

    let (status, body) = {
        let response = reqwest::get(format!("{}/healthz", operator.endpoints().await))
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(status, 200, "{body}");
    let peak = operator.peak_rss_kib();
    println!("operator peak RSS: {} MiB", peak / 1024);
    assert!(peak < 200 * 1024, "peak RSS {peak} KiB");
    ns.finish(&client).await;
}

/// A request annotation far longer than the status can hold (`checklist.dev/rollback` of 4 KiB)
/// is refused once, kept as its digest, and the checklist goes on answering: the status write is
/// not rejected for the length of a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_request_annotation_of_any_length_cannot_wedge_the_status() {
    use checklist_operator::api::{DeploymentChecklist, Phase};
    use checklist_testkit::wait_phase;
    use std::time::Duration;

    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("longtoken").await;
    apply(
        ns.name(),
        &[&valid_secret(), &checklist("example.com/web:1.0.0", &app)],
    );
    kubectl_wait(ns.name(), "condition=Ready", 90);

    let long = format!("checklist.dev/rollback=1@{}", "x".repeat(4096));
    let (ok, out) = kubectl_in(ns.name(), &["annotate", "dcl", "web", &long, "--overwrite"]);
    assert!(ok, "{out}");
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let kept = loop {
        let status = api.get("web").await.unwrap().status.unwrap_or_default();
        if let Some(token) = status.rollback_token {
            break token;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the request was never acted on"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(kept.starts_with("sha256:") && kept.len() <= 256, "{kept}");
    describe_shows(
        ns.name(),
        &[
            "RollbackRefused",
            "checklist.dev/rollback must be a revision number",
        ],
    );

    // Still answering: a new image goes through the whole checklist.
    let (ok, out) = kubectl_in(
        ns.name(),
        &[
            "patch",
            "dcl",
            "web",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"app":{"image":"example.com/web:1.1.0"}}}"#,
        ],
    );
    assert!(ok, "{out}");
    let ready = wait_phase(
        &client,
        ns.name(),
        "web",
        Phase::Ready,
        Duration::from_secs(90),
    )
    .await;
    assert_eq!(ready.spec.app.image, "example.com/web:1.1.0");
    ns.finish(&client).await;
}
