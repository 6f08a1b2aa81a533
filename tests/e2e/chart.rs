//! The Helm chart in `charts/checklist-operator`, checked with the helm that `dev/cluster build`
//! makes from Go modules (`eval "$(dev/cluster env)"` puts it on PATH): it lints, validates its
//! values, renders the committed CRD through the `crds/` symlink and the operator with the flags
//! its values ask for, every rendered object passes a server-side dry-run apply under the
//! restricted Pod Security Standard, the RBAC it grants lets the operator do its job and no more,
//! and a real `helm install --wait` brings the operator's Deployment up and `helm uninstall`
//! takes it away again.

use std::{
    process::{Command, Output},
    time::{Duration, Instant},
};

use serde::Deserialize;
use serde_json::Value;

use checklist_testkit::{CRD_NAME, TestNamespace, client, kubectl, kubectl_stdin};

fn chart() -> &'static str {
    static CHART: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        checklist_testkit::fixtures::repository()
            .join("charts/checklist-operator")
            .display()
            .to_string()
    });
    &CHART
}

fn crd_file() -> std::path::PathBuf {
    checklist_testkit::fixtures::repository().join("crds/deploymentchecklist.yaml")
}

/// The objects the chart grants permissions with.
pub(crate) const RBAC_KINDS: [&str; 5] = [
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
];

pub(crate) fn helm(args: &[&str]) -> Output {
    Command::new("helm")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run helm ({e}): `dev/cluster build` builds it and \
             `eval \"$(dev/cluster env)\"` puts it on PATH"
            )
        })
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command's stdout; fails the test with its stderr when it did not succeed.
fn succeeded(what: &str, out: Output) -> String {
    assert!(out.status.success(), "{what} failed:\n{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Every YAML document of a multi-document stream, empty ones left out.
fn documents(yaml: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|doc| !doc.is_null())
        .collect()
}

pub(crate) fn template_args<'a>(
    release: &'a str,
    namespace: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "template",
        release,
        chart(),
        "--namespace",
        namespace,
        "--include-crds",
    ];
    args.extend_from_slice(extra);
    args
}

/// `helm template RELEASE CHART --namespace NAMESPACE --include-crds EXTRA...`, parsed.
pub(crate) fn render(release: &str, namespace: &str, extra: &[&str]) -> Vec<Value> {
    let args = template_args(release, namespace, extra);
    documents(&succeeded(&format!("helm {}", args.join(" ")), helm(&args)))
}

pub(crate) fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

pub(crate) fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

/// The one rendered object of this kind.
pub(crate) fn only<'a>(docs: &'a [Value], wanted: &str) -> &'a Value {
    let found: Vec<&Value> = docs.iter().filter(|d| kind(d) == wanted).collect();
    assert_eq!(found.len(), 1, "expected one {wanted}, rendered {found:#?}");
    found[0]
}

/// The operator container of the rendered Deployment.
fn operator_container(docs: &[Value]) -> &Value {
    let containers = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1, "{containers:#?}");
    &containers[0]
}

pub(crate) fn container_args(docs: &[Value]) -> Vec<&str> {
    operator_container(docs)["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

fn container_env<'a>(docs: &'a [Value], wanted: &str) -> Option<&'a str> {
    operator_container(docs)["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == wanted)
        .and_then(|e| e["value"].as_str())
}

/// `kubectl apply --server-side ARGS -f -` with the objects on stdin.
pub(crate) fn apply(docs: &[&Value], args: &[&str]) -> Output {
    let yaml: String = docs
        .iter()
        .map(|doc| format!("---\n{}", serde_norway::to_string(doc).unwrap()))
        .collect();
    let args: Vec<&str> = ["apply", "--server-side"]
        .into_iter()
        .chain(args.iter().copied())
        .chain(["-f", "-"])
        .collect();
    kubectl_stdin(&args, &yaml)
}

/// The CRD as `dev/demo` and support::ensure_crd install it (same field manager, conflicts
/// forced, so a CRD other tests installed is no obstacle), but only as a server-side dry run.
fn dry_run_apply_crds(crds: &[&Value]) -> Output {
    apply(
        crds,
        &[
            "--dry-run=server",
            "--force-conflicts",
            "--field-manager=checklist-install",
        ],
    )
}

/// Each namespaced object goes to the namespace the chart rendered it in (the release's, or
/// `default` for the control-plane Role).
fn dry_run_apply(docs: &[&Value]) -> Output {
    apply(docs, &["--dry-run=server", "--field-manager=e2e"])
}

/// Makes the namespace enforce (and warn about) the restricted Pod Security Standard, so a pod
/// template that breaks it is reported by the API server's own PodSecurity admission.
fn enforce_restricted_pod_security(namespace: &str) {
    succeeded(
        "kubectl label namespace",
        kubectl()
            .args(["label", "namespace", namespace])
            .args([
                "pod-security.kubernetes.io/enforce=restricted",
                "pod-security.kubernetes.io/warn=restricted",
            ])
            .output()
            .unwrap(),
    );
}

const POD_SECURITY_WARNING: &str = "would violate PodSecurity";

#[test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
fn chart_lints_and_renders_the_operator_and_the_committed_crd() {
    let lint = succeeded("helm lint --strict", helm(&["lint", "--strict", chart()]));
    assert!(lint.contains("0 chart(s) failed"), "{lint}");

    let docs = render("checklist", "ops", &[]);
    // Defaults: `run` with no egress flags, JSON logs, the appVersion image, no probes (the
    // operator serves no HTTP port yet).
    assert_eq!(
        container_args(&docs),
        [
            "run",
            "--connect-timeout-seconds=10",
            "--concurrency=8",
            "--verification-concurrency=64",
            "--verification-namespace-share=16",
            "--verification-namespace-rps=50",
            "--verification-check-seconds=60",
            "--verification-round-seconds=120",
            "--verification-round-requests=400",
            "--metrics-addr=0.0.0.0:8080",
            "--leader-elect",
            "--lease-duration-seconds=15"
        ]
    );
    let container = operator_container(&docs);
    assert_eq!(
        container["image"],
        "ghcr.io/checklist-dev/checklist-operator:0.1.0"
    );
    assert_eq!(container["ports"][0]["name"], "metrics");
    assert_eq!(container["ports"][0]["containerPort"], 8080);
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["readinessProbe"]["httpGet"]["port"], "metrics");
    assert_eq!(container_env(&docs, "LOG_FORMAT"), Some("json"));
    assert_eq!(container_env(&docs, "RUST_LOG"), Some("info,kube=warn"));
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    let deployment = only(&docs, "Deployment");
    assert_eq!(deployment["metadata"]["namespace"], "ops");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        name(only(&docs, "ServiceAccount"))
    );

    // crds/ holds a symlink to the committed CRDs: helm must follow it and render the same
    // objects, the checklist's and the two template kinds'.
    let committed = documents(&std::fs::read_to_string(crd_file()).unwrap());
    let rendered: Vec<&Value> = docs
        .iter()
        .filter(|d| kind(d) == "CustomResourceDefinition")
        .collect();
    assert_eq!(name(rendered[0]), CRD_NAME);
    assert!(
        committed.len() == 3 && rendered.iter().copied().eq(committed.iter()),
        "the chart's CRDs differ from crds/deploymentchecklist.yaml"
    );

    // values.schema.json refuses a bad CIDR, and a value the chart does not have, before rendering.
    let bad_cidr = helm(&template_args(
        "checklist",
        "ops",
        &["--set", "egress.deny={10.0.0.0/33}"],
    ));
    assert!(!bad_cidr.status.success());
    assert!(
        stderr(&bad_cidr).contains("/egress/deny/0"),
        "{}",
        stderr(&bad_cidr)
    );
    let unknown = helm(&template_args(
        "checklist",
        "ops",
        &["--set", "installCRDs=false"],
    ));
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("installCRDs"),
        "{}",
        stderr(&unknown)
    );

    // The metric checks' default Prometheus and the label confining their queries are flags;
    // the notification URLs come from a Secret's keys through the environment, never as a value
    // in the Deployment.
    let docs = render(
        "checklist",
        "ops",
        &[
            "--set",
            "prometheusURL=http://prometheus.monitoring.svc:9090",
            "--set",
            "prometheusNamespaceLabel=namespace",
            "--set",
            "traces.otlpEndpoint=http://jaeger-collector.tracing:4318",
            "--set",
            "traces.sampleRatio=0.25",
            "--set",
            "notifications.secretName=notify",
            "--set",
            "notifications.slackKey=slack-url",
        ],
    );
    for flag in [
        "--prometheus-url=http://prometheus.monitoring.svc:9090",
        "--prometheus-namespace-label=namespace",
        "--otlp-endpoint=http://jaeger-collector.tracing:4318",
        "--otlp-sample-ratio=0.25",
    ] {
        assert!(
            container_args(&docs).contains(&flag),
            "{flag}: {:?}",
            container_args(&docs)
        );
    }
    let env = operator_container(&docs)["env"].as_array().unwrap().clone();
    let slack = env
        .iter()
        .find(|e| e["name"] == "NOTIFY_SLACK_URL")
        .unwrap();
    assert_eq!(slack["valueFrom"]["secretKeyRef"]["name"], "notify");
    assert_eq!(slack["valueFrom"]["secretKeyRef"]["key"], "slack-url");
    assert!(slack.get("value").is_none(), "{slack}");
    assert!(
        !env.iter().any(|e| e["name"] == "NOTIFY_WEBHOOK_URL"),
        "only the keys given: {env:?}"
    );
    let bad_url = helm(&template_args(
        "checklist",
        "ops",
        &["--set", "prometheusURL=prometheus:9090"],
    ));
    assert!(!bad_url.status.success());
    assert!(
        stderr(&bad_url).contains("/prometheusURL"),
        "{}",
        stderr(&bad_url)
    );
    let bad_ratio = helm(&template_args(
        "checklist",
        "ops",
        &["--set", "traces.sampleRatio=2"],
    ));
    assert!(!bad_ratio.status.success());
    assert!(
        stderr(&bad_ratio).contains("/traces/sampleRatio"),
        "{}",
        stderr(&bad_ratio)
    );
}

/// The resources a rendered Role or ClusterRole grants anything on.
fn granted(role: &Value) -> Vec<&str> {
    role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rule| rule["resources"].as_array().unwrap())
        .map(|r| r.as_str().unwrap())
        .collect()
}

#[test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
fn a_namespaced_install_grants_nothing_cluster_wide_but_its_crd() {
    let cluster_wide = render("checklist", "ops", &[]);
    let roles: Vec<&Value> = cluster_wide
        .iter()
        .filter(|d| kind(d) == "ClusterRole")
        .collect();
    assert!(granted(roles[0]).contains(&"secrets"));

    let docs = render("checklist", "ops", &["--set", "watchNamespace=team-a"]);
    assert!(container_args(&docs).contains(&"--namespace=team-a"));
    assert_eq!(
        granted(only(&docs, "ClusterRole")),
        ["clusterchecklisttemplates", "customresourcedefinitions"]
    );
    let team_role = docs
        .iter()
        .find(|d| kind(d) == "Role" && d["metadata"]["namespace"] == "team-a")
        .expect("a Role in the watched namespace");
    for resource in [
        "secrets",
        "deployments",
        "jobs",
        "deploymentchecklists/status",
    ] {
        assert!(granted(team_role).contains(&resource), "{resource}");
    }
    let control_plane = docs
        .iter()
        .find(|d| kind(d) == "Role" && d["metadata"]["namespace"] == "default")
        .expect("the control-plane Role");
    assert_eq!(granted(control_plane), ["endpointslices"]);
    assert_eq!(control_plane["rules"][0]["resourceNames"][0], "kubernetes");

    // The NetworkPolicy, off by default, lets only the named peers reach /metrics.
    assert!(!docs.iter().any(|d| kind(d) == "NetworkPolicy"));
    let fenced = render(
        "checklist",
        "ops",
        &[
            "--set",
            "networkPolicy.enabled=true",
            "--set",
            "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring",
        ],
    );
    let policy = only(&fenced, "NetworkPolicy");
    assert_eq!(
        policy["spec"]["policyTypes"],
        serde_json::json!(["Ingress"])
    );
    assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["port"], "metrics");
    assert_eq!(
        policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["team"],
        "monitoring"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn rendered_chart_passes_a_server_side_dry_run_apply() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "chart-render").await;
    enforce_restricted_pod_security(ns.name());

    let docs = render(
        "checklist",
        ns.name(),
        &[
            "--set",
            "egress.deny={10.0.0.0/8}",
            "--set",
            "egress.allow={192.168.0.0/16,fd00::/8}",
            "--set",
            "egress.allowLoopback=true",
        ],
    );
    assert_eq!(
        container_args(&docs),
        [
            "run",
            "--connect-timeout-seconds=10",
            "--concurrency=8",
            "--verification-concurrency=64",
            "--verification-namespace-share=16",
            "--verification-namespace-rps=50",
            "--verification-check-seconds=60",
            "--verification-round-seconds=120",
            "--verification-round-requests=400",
            "--metrics-addr=0.0.0.0:8080",
            "--leader-elect",
            "--lease-duration-seconds=15",
            "--egress-allow=192.168.0.0/16",
            "--egress-allow=fd00::/8",
            "--egress-deny=10.0.0.0/8",
            "--egress-allow-loopback",
        ]
    );

    let (crds, objects): (Vec<&Value>, Vec<&Value>) = docs
        .iter()
        .partition(|d| kind(d) == "CustomResourceDefinition");
    assert_eq!(
        crds.len(),
        3,
        "the checklist's CRD and the two template kinds"
    );
    let mut kinds: Vec<&str> = objects.iter().map(|d| kind(d)).collect();
    kinds.sort_unstable();
    // Roles and bindings twice: leader election in the release namespace, and the control-plane
    // EndpointSlice in `default`.
    let mut expected = [
        RBAC_KINDS.as_slice(),
        &["Role", "RoleBinding", "Deployment"],
    ]
    .concat();
    expected.sort_unstable();
    assert_eq!(kinds, expected);

    let out = dry_run_apply_crds(&crds);
    assert!(
        out.status.success(),
        "the CRD was refused:\n{}",
        stderr(&out)
    );

    let out = dry_run_apply(&objects);
    assert!(
        out.status.success(),
        "the chart's objects were refused:\n{}",
        stderr(&out)
    );
    let applied = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        applied.matches("(server dry run)").count(),
        objects.len(),
        "{applied}"
    );
    assert!(
        !stderr(&out).contains(POD_SECURITY_WARNING),
        "the operator's pod breaks the restricted Pod Security Standard:\n{}",
        stderr(&out)
    );

    // The same check catches a pod that does break it, so the silence above means something.
    let loosened = render(
        "checklist",
        ns.name(),
        &["--set", "securityContext.allowPrivilegeEscalation=true"],
    );
    let out = dry_run_apply(&[only(&loosened, "Deployment")]);
    assert!(
        stderr(&out).contains(POD_SECURITY_WARNING),
        "PodSecurity admission did not object to allowPrivilegeEscalation=true:\n{}",
        stderr(&out)
    );
}

/// Deletes the objects a test namespace does not take with it (cluster-scoped ones, and those
/// the chart puts in `default`) when the test ends, also when it panics.
pub(crate) struct DeleteOnDrop(Vec<(Option<String>, String)>);

impl DeleteOnDrop {
    /// Every object of `docs` that is not in `namespace`, as `kind/name` with its namespace;
    /// never the CRD, which every other test running meanwhile needs.
    pub(crate) fn outside(namespace: &str, docs: &[Value]) -> Self {
        Self(
            docs.iter()
                .filter(|d| kind(d) != "CustomResourceDefinition")
                .filter(|d| d["metadata"]["namespace"].as_str() != Some(namespace))
                .map(|d| {
                    let in_namespace = d["metadata"]["namespace"].as_str().map(str::to_owned);
                    (
                        in_namespace,
                        format!("{}/{}", kind(d).to_lowercase(), name(d)),
                    )
                })
                .collect(),
        )
    }
}

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        for (namespace, object) in &self.0 {
            let mut command = kubectl();
            command.args(["delete", "--ignore-not-found", "--wait=false", object]);
            if let Some(namespace) = namespace {
                command.args(["-n", namespace]);
            }
            if !command.output().is_ok_and(|out| out.status.success()) {
                eprintln!("warning: could not delete {object}");
            }
        }
    }
}

/// Waits up to 20 s until [`can_i`] says yes: the authorizer sees new bindings through its
/// informers, a moment after they are applied.
pub(crate) fn await_grant(
    user: &str,
    namespace: &str,
    verb: &str,
    resource: &str,
    sub: Option<&str>,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !can_i(user, namespace, verb, resource, sub) {
        assert!(
            Instant::now() < deadline,
            "{user} still may not {verb} {resource}{}",
            sub.map(|s| format!("/{s}")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `kubectl auth can-i VERB RESOURCE -n NAMESPACE --as=USER [--subresource=SUB]`.
pub(crate) fn can_i(
    user: &str,
    namespace: &str,
    verb: &str,
    resource: &str,
    sub: Option<&str>,
) -> bool {
    let mut command = kubectl();
    command.args([
        "auth", "can-i", verb, resource, "-n", namespace, "--as", user,
    ]);
    if let Some(sub) = sub {
        command.arg(format!("--subresource={sub}"));
    }
    let out = command.output().unwrap();
    let answer = String::from_utf8_lossy(&out.stdout);
    match answer.split_whitespace().next() {
        Some("yes") => true,
        Some("no") => false,
        _ => panic!(
            "kubectl auth can-i {verb} {resource} gave no answer: {answer}\n{}",
            stderr(&out)
        ),
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn operator_account_may_write_status_and_may_not_update_secrets() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "chart-rbac").await;
    let release = ns.name();
    let docs = render(release, ns.name(), &[]);
    let rbac: Vec<&Value> = docs
        .iter()
        .filter(|d| RBAC_KINDS.contains(&kind(d)))
        .collect();
    // The leader-election and control-plane Roles and their bindings, the rest once each.
    assert_eq!(rbac.len(), RBAC_KINDS.len() + 2, "{rbac:#?}");

    // Registered before the apply, so a half-applied set is cleaned up too.
    let owned: Vec<Value> = rbac.iter().map(|d| (*d).clone()).collect();
    let _cleanup = DeleteOnDrop::outside(ns.name(), &owned);
    let out = apply(&rbac, &["--field-manager=e2e"]);
    assert!(out.status.success(), "RBAC apply failed:\n{}", stderr(&out));

    let account = name(only(&docs, "ServiceAccount"));
    let user = format!("system:serviceaccount:{}:{account}", ns.name());
    const DCL: &str = "deploymentchecklists.checklist.dev";
    const CRD: &str = "customresourcedefinitions.apiextensions.k8s.io";
    let ours = format!("{CRD}/{CRD_NAME}");

    await_grant(&user, ns.name(), "patch", DCL, Some("status"));

    // (namespace, verb, resource, subresource, allowed)
    let here = ns.name();
    let cases: &[(&str, &str, &str, Option<&str>, bool)] = &[
        // Status is the operator's to write, in every namespace (a ClusterRole).
        (here, "patch", DCL, Some("status"), true),
        ("default", "patch", DCL, Some("status"), true),
        (here, "update", DCL, Some("status"), false),
        (here, "watch", DCL, None, true),
        (here, "get", DCL, None, true),
        // The spec is the user's: never patched, updated or deleted.
        (here, "patch", DCL, None, false),
        (here, "update", DCL, None, false),
        (here, "delete", DCL, None, false),
        // Templates are read, never written; the cluster-wide ones from anywhere.
        (
            here,
            "watch",
            "checklisttemplates.checklist.dev",
            None,
            true,
        ),
        (here, "get", "checklisttemplates.checklist.dev", None, true),
        (
            here,
            "update",
            "checklisttemplates.checklist.dev",
            None,
            false,
        ),
        (
            here,
            "watch",
            "clusterchecklisttemplates.checklist.dev",
            None,
            true,
        ),
        (
            here,
            "patch",
            "clusterchecklisttemplates.checklist.dev",
            None,
            false,
        ),
        (
            here,
            "delete",
            "clusterchecklisttemplates.checklist.dev",
            None,
            false,
        ),
        // Secrets are read, never written.
        (here, "get", "secrets", None, true),
        (here, "watch", "secrets", None, true),
        (here, "update", "secrets", None, false),
        ("default", "update", "secrets", None, false),
        (here, "patch", "secrets", None, false),
        (here, "create", "secrets", None, false),
        (here, "delete", "secrets", None, false),
        // ConfigMaps: their versions are read for spec.app.rollOnChange, never written.
        (here, "watch", "configmaps", None, true),
        (here, "get", "configmaps", None, true),
        (here, "patch", "configmaps", None, false),
        (here, "update", "configmaps", None, false),
        // Children: applied, never updated; deleted only where a strategy needs it (Jobs,
        // BlueGreen's and Canary's per-revision Deployments), never Services.
        (here, "patch", "deployments.apps", None, true),
        (here, "create", "deployments.apps", None, true),
        (here, "update", "deployments.apps", None, false),
        (here, "delete", "deployments.apps", None, true),
        (here, "create", "services", None, true),
        (here, "get", "services", None, true),
        (here, "delete", "services", None, false),
        (here, "create", "jobs.batch", None, true),
        (here, "delete", "jobs.batch", None, true),
        (here, "create", "controllerrevisions.apps", None, true),
        // The disruption budget and the autoscaler: read by name, never listed or watched.
        (here, "patch", "poddisruptionbudgets.policy", None, true),
        (here, "delete", "poddisruptionbudgets.policy", None, true),
        (here, "list", "poddisruptionbudgets.policy", None, false),
        (
            here,
            "get",
            "horizontalpodautoscalers.autoscaling",
            None,
            true,
        ),
        (
            here,
            "patch",
            "horizontalpodautoscalers.autoscaling",
            None,
            true,
        ),
        (
            here,
            "watch",
            "horizontalpodautoscalers.autoscaling",
            None,
            false,
        ),
        (here, "list", "pods", None, true),
        (here, "create", "pods", None, false),
        (here, "list", "replicasets.apps", None, false),
        (here, "update", "replicasets.apps", None, false),
        (here, "create", "events.events.k8s.io", None, true),
        (here, "patch", "events.events.k8s.io", None, false),
        (here, "create", "events", None, false),
        // Leader election: a Lease in the release namespace only.
        (here, "get", "leases.coordination.k8s.io", None, true),
        (here, "create", "leases.coordination.k8s.io", None, true),
        (here, "patch", "leases.coordination.k8s.io", None, true),
        (here, "update", "leases.coordination.k8s.io", None, false),
        (
            "kube-node-lease",
            "update",
            "leases.coordination.k8s.io",
            None,
            false,
        ),
        // The control plane's own EndpointSlice, watched by name; no other.
        (
            "default",
            "watch",
            "endpointslices.discovery.k8s.io/kubernetes",
            None,
            true,
        ),
        (
            "default",
            "watch",
            "endpointslices.discovery.k8s.io",
            None,
            false,
        ),
        (here, "list", "endpointslices.discovery.k8s.io", None, false),
        // Its own CRD, watched; no other.
        (here, "watch", &ours, None, true),
        (here, "list", &ours, None, true),
        (here, "update", &ours, None, false),
        (
            here,
            "watch",
            &format!("{CRD}/other.example.com"),
            None,
            false,
        ),
        (
            here,
            "create",
            "clusterrolebindings.rbac.authorization.k8s.io",
            None,
            false,
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(namespace, verb, resource, sub, allowed)| {
            can_i(&user, namespace, verb, resource, *sub) != *allowed
        })
        .map(|(namespace, verb, resource, sub, allowed)| {
            let sub = sub.map(|s| format!("/{s}")).unwrap_or_default();
            let may = if *allowed { "may" } else { "may not" };
            format!("expected: {may} {verb} {resource}{sub} in {namespace}")
        })
        .collect();
    assert!(wrong.is_empty(), "{user}:\n{}", wrong.join("\n"));
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn helm_install_brings_the_operator_up_under_restricted_pod_security() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "chart-install").await;
    enforce_restricted_pod_security(ns.name());
    let release = ns.name();
    let docs = render(release, ns.name(), &[]);
    let fullname = name(only(&docs, "Deployment")).to_owned();
    // A safety net for a failed install or uninstall; the namespace takes Helm's release record.
    let _cleanup = DeleteOnDrop::outside(ns.name(), &docs);

    // --wait: the Deployment must become Available, so its pod was admitted (the namespace
    // enforces the restricted standard), scheduled and made Ready by kwok.
    succeeded(
        "helm install",
        helm(&[
            "install",
            release,
            chart(),
            "--namespace",
            ns.name(),
            "--set",
            "egress.deny={10.0.0.0/8}",
            "--wait",
            "--timeout",
            "90s",
        ]),
    );
    let pods = succeeded(
        "kubectl get pods",
        kubectl()
            .args(["get", "pods", "-n", ns.name(), "-o", "json"])
            .args(["-l", &format!("app.kubernetes.io/instance={release}")])
            .output()
            .unwrap(),
    );
    let pods: Value = serde_json::from_str(&pods).unwrap();
    let pods = pods["items"].as_array().unwrap();
    assert_eq!(pods.len(), 1, "{pods:#?}");
    assert_eq!(
        pods[0]["spec"]["containers"][0]["args"],
        serde_json::json!([
            "run",
            "--connect-timeout-seconds=10",
            "--concurrency=8",
            "--verification-concurrency=64",
            "--verification-namespace-share=16",
            "--verification-namespace-rps=50",
            "--verification-check-seconds=60",
            "--verification-round-seconds=120",
            "--verification-round-requests=400",
            "--metrics-addr=0.0.0.0:8080",
            "--leader-elect",
            "--lease-duration-seconds=15",
            "--egress-deny=10.0.0.0/8"
        ])
    );
    // The CRD came with the chart, or was there already; either way it serves.
    let crd = succeeded(
        "kubectl get crd",
        kubectl()
            .args(["get", "crd", CRD_NAME, "-o"])
            .arg("jsonpath={.status.conditions[?(@.type==\"Established\")].status}")
            .output()
            .unwrap(),
    );
    assert_eq!(crd, "True");

    succeeded(
        "helm uninstall",
        helm(&["uninstall", release, "--namespace", ns.name(), "--wait"]),
    );
    let left = kubectl()
        .args([
            "get",
            "clusterrole",
            &fullname,
            "--ignore-not-found",
            "-o",
            "name",
        ])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "helm uninstall left the ClusterRole behind"
    );
}
