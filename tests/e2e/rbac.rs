//! The operator under the chart's RBAC and nothing more: run as the chart's ServiceAccount (the
//! test's admin credentials impersonate it), it takes a release to Ready and a failed one back,
//! with leader election. And with one rule taken away it stalls, says why, and does not hammer
//! the API server until someone fixes it.

use std::{path::PathBuf, time::Duration};

use checklist_testapp::Mode;
use checklist_testkit::{
    Operator, TestNamespace, apply as kubectl_apply, checklist, client, ensure_crd, kubectl,
    kubectl_in, start_app, valid_secret,
};
use serde_json::Value;

use crate::{
    chart::{
        DeleteOnDrop, RBAC_KINDS, apply, await_grant, can_i, kind, name, only, render, stderr,
    },
    web::{deployed_image, describe_shows, job_names, kubectl_wait},
};

/// The chart's RBAC objects, rendered for a release in `namespace`, with `edit` applied to the
/// ClusterRole, installed; the ServiceAccount's user name and what removes the cluster-wide
/// objects again.
fn install_rbac(namespace: &str, edit: impl Fn(&mut Value)) -> (String, DeleteOnDrop) {
    install_rbac_with(namespace, &[], edit)
}

/// [`install_rbac`] with more `helm template` flags.
fn install_rbac_with(
    namespace: &str,
    values: &[&str],
    edit: impl Fn(&mut Value),
) -> (String, DeleteOnDrop) {
    let rbac = apply_rbac_with(namespace, values, edit);
    let cleanup = DeleteOnDrop::outside(namespace, &rbac);
    let account = name(only(&rbac, "ServiceAccount"));
    let user = format!("system:serviceaccount:{namespace}:{account}");
    await_grant(
        &user,
        namespace,
        "patch",
        "deploymentchecklists.checklist.dev",
        Some("status"),
    );
    (user, cleanup)
}

/// Renders the chart's RBAC objects for a release in `namespace`, applies `edit` to the
/// ClusterRole and applies them all; the objects applied.
fn apply_rbac(namespace: &str, edit: impl Fn(&mut Value)) -> Vec<Value> {
    apply_rbac_with(namespace, &[], edit)
}

fn apply_rbac_with(namespace: &str, values: &[&str], edit: impl Fn(&mut Value)) -> Vec<Value> {
    let mut rbac: Vec<Value> = render(namespace, namespace, values)
        .into_iter()
        .filter(|d| RBAC_KINDS.contains(&kind(d)))
        .collect();
    for doc in rbac.iter_mut().filter(|d| kind(d) == "ClusterRole") {
        edit(doc);
    }
    let refs: Vec<&Value> = rbac.iter().collect();
    let out = apply(&refs, &["--field-manager=e2e"]);
    assert!(out.status.success(), "RBAC apply failed:\n{}", stderr(&out));
    rbac
}

/// A kubeconfig that is the test's own with every request made as `user`; removed on drop.
pub(crate) struct Impersonating(PathBuf);

impl Impersonating {
    pub(crate) fn new(user: &str, tag: &str) -> Self {
        let out = kubectl()
            .args(["config", "view", "--raw", "--minify", "-o", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let mut config: Value = serde_json::from_slice(&out.stdout).unwrap();
        for entry in config["users"].as_array_mut().unwrap() {
            entry["user"]["as"] = Value::from(user);
        }
        let path = std::env::temp_dir().join(format!("kubeconfig-{tag}.json"));
        std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
        Self(path)
    }

    pub(crate) fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Impersonating {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

/// Asserts the operator logged no refusal by the API server.
fn assert_nothing_refused(operator: &Operator) {
    let refused: Vec<String> = operator
        .logs()
        .into_iter()
        .filter(|l| l.contains("forbidden") || l.contains("Forbidden"))
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
}

/// How many times the operator logged a failed reconcile.
fn failed_reconciles(operator: &Operator) -> usize {
    operator
        .lines_since(0)
        .iter()
        .filter(|l| l.message() == Some("reconcile failed"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn the_operator_runs_a_release_and_a_rollback_with_only_the_charts_rbac() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "rbac").await;
    let (user, _cleanup) = install_rbac(ns.name(), |_| {});
    let kubeconfig = Impersonating::new(&user, ns.name());
    let app = start_app().await;
    let operator = Operator::launch_with_env(
        ns.name(),
        &["--leader-elect", "--leader-election-namespace", ns.name()],
        "info",
        &[("KUBECONFIG", kubeconfig.path())],
    );

    kubectl_apply(
        ns.name(),
        &[&valid_secret(), &checklist("example.com/web:1.0.0", &app)],
    );
    kubectl_wait(ns.name(), "condition=Ready", 90);

    app.set_mode(Mode::Unhealthy);
    kubectl_apply(ns.name(), &[&checklist("example.com/web:2.0.0", &app)]);
    kubectl_wait(ns.name(), "condition=RolledBack", 90);
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");
    assert!(
        job_names(ns.name())
            .iter()
            .any(|j| j.contains("-rollback-")),
        "the down-migration ran"
    );
    let (ok, lease) = kubectl_in(ns.name(), &["get", "lease", "checklist-operator"]);
    assert!(ok, "the operator holds its Lease: {lease}");

    // Nothing it did was refused.
    assert_eq!(
        failed_reconciles(&operator),
        0,
        "{}",
        operator.logs().join("\n")
    );
    assert_nothing_refused(&operator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_namespaced_install_releases_with_no_access_to_other_namespaces_secrets() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "rbac-ns").await;
    let watch = format!("watchNamespace={}", ns.name());
    let (user, _cleanup) = install_rbac_with(ns.name(), &["--set", &watch], |_| {});
    await_grant(&user, ns.name(), "get", "secrets", None);
    for verb in ["get", "list", "watch"] {
        assert!(
            !can_i(&user, "default", verb, "secrets", None),
            "{user} may {verb} Secrets outside its namespace"
        );
    }
    let kubeconfig = Impersonating::new(&user, ns.name());
    let app = start_app().await;
    let operator =
        Operator::launch_with_env(ns.name(), &[], "info", &[("KUBECONFIG", kubeconfig.path())]);
    kubectl_apply(
        ns.name(),
        &[&valid_secret(), &checklist("example.com/web:1.0.0", &app)],
    );
    kubectl_wait(ns.name(), "condition=Ready", 90);
    assert_eq!(failed_reconciles(&operator), 0);
    assert_nothing_refused(&operator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_missing_rbac_rule_stalls_the_checklist_once_and_waits_for_a_change() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "rbac-missing").await;
    // The chart's rules, less the one that creates Jobs.
    let (user, _cleanup) = install_rbac(ns.name(), |role| {
        for rule in role["rules"].as_array_mut().unwrap() {
            if rule["resources"][0] == "jobs" {
                rule["verbs"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|verb| verb != "create");
            }
        }
    });
    let kubeconfig = Impersonating::new(&user, ns.name());
    let app = start_app().await;
    let operator =
        Operator::launch_with_env(ns.name(), &[], "info", &[("KUBECONFIG", kubeconfig.path())]);

    kubectl_apply(
        ns.name(),
        &[&valid_secret(), &checklist("example.com/web:1.0.0", &app)],
    );
    kubectl_wait(ns.name(), "condition=Stalled", 30);
    let (ok, table) = kubectl_in(
        ns.name(),
        &[
            "get",
            "dcl",
            "web",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Stalled\")].reason}: {.status.message}",
        ],
    );
    assert!(ok, "{table}");
    println!("{table}");
    assert!(
        table.starts_with("Forbidden: cannot create Job web-migrate-"),
        "{table}"
    );
    assert!(table.contains("403 Forbidden"), "{table}");
    describe_shows(
        ns.name(),
        &["Warning  Forbidden", "cannot create Job web-migrate-"],
    );

    // Not retried every few seconds: a window of 20 s sees at most the reconcile that its own
    // status write triggered.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = failed_reconciles(&operator);
    tokio::time::sleep(Duration::from_secs(20)).await;
    let during = failed_reconciles(&operator) - before;
    println!("failed reconciles: {before} before the window, {during} in 20 s");
    assert!(during <= 1, "{during} failed reconciles in 20 s");
    let (ok, events) = kubectl_in(
        ns.name(),
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=web,reason=Forbidden",
            "-o",
            "name",
        ],
    );
    assert!(ok, "{events}");
    assert_eq!(events.lines().count(), 1, "one Forbidden Event: {events}");

    // Someone restores the rule, then touches the checklist: the release goes on.
    apply_rbac(ns.name(), |_| {});
    await_grant(&user, ns.name(), "create", "jobs.batch", None);
    let (ok, out) = kubectl_in(
        ns.name(),
        &["annotate", "dcl", "web", "checklist.dev/nudge=rbac-fixed"],
    );
    assert!(ok, "{out}");
    kubectl_wait(ns.name(), "condition=Ready", 90);
}
