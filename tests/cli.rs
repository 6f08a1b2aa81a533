//! The command line as a user meets it, without a cluster.

// Tests may unwrap: a panic is how a test says what failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn operator() -> Command {
    Command::new(env!("CARGO_BIN_EXE_checklist-operator"))
}

#[test]
fn version_prints_the_crate_version() {
    let out = operator().arg("version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("checklist-operator {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn run_exits_with_a_clear_message_when_the_cluster_is_unreachable() {
    let dir = std::env::temp_dir().join(format!("checklist-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    std::fs::write(
        &kubeconfig,
        r#"apiVersion: v1
kind: Config
clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: nobody, user: {token: not-a-real-token}}]
contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody}}]
current-context: nowhere
"#,
    )
    .unwrap();
    let out = operator()
        .args(["run", "--connect-timeout-seconds", "5"])
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("cannot reach the Kubernetes API server at https://127.0.0.1:1"),
        "stderr: {stderr}"
    );
    assert!(
        !stderr.contains("not-a-real-token"),
        "a credential leaked: {stderr}"
    );
}

/// `checklist-operator ARGS` with no cluster configured anywhere: it must get as far as
/// looking for one, and say that it found none.
fn runs_until_it_finds_no_cluster(args: &[&str]) {
    let out = operator()
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env("HOME", "/nonexistent")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("no Kubernetes configuration found"),
        "stderr: {stderr}"
    );
}

#[test]
fn run_exits_with_a_clear_message_without_any_kubeconfig() {
    runs_until_it_finds_no_cluster(&["run"]);
}

#[test]
fn policy_flags_refuse_what_they_cannot_mean_before_connecting() {
    for (args, wanted) in [
        (
            ["run", "--allowed-service-accounts", "web,Admin"],
            "Admin: not a ServiceAccount name",
        ),
        (
            ["run", "--security-overrides", "baseline"],
            "[possible values: any, restricted]",
        ),
        (
            ["run", "--allow-service-account-token", "no"],
            "--allow-service-account-token",
        ),
    ] {
        let out = operator().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
    }
}

#[test]
fn policy_flags_are_accepted_and_the_operator_goes_on_to_connect() {
    runs_until_it_finds_no_cluster(&[
        "run",
        "--allowed-service-accounts=web,worker",
        "--allowed-service-accounts=default",
        "--allow-service-account-token=false",
        "--security-overrides=restricted",
        "--require-dependency-names",
    ]);
}

#[test]
fn lint_resolves_templates_from_files_and_names_what_is_missing() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let lint = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kubectl-checklist"))
            .args(["lint", "--offline", "-f"])
            .arg(root.join("examples/templated-shop.yaml"))
            .args(extra)
            .output()
            .unwrap()
    };
    let templates = root.join("examples/platform-templates.yaml");
    let out = lint(&["--templates", templates.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("✓ shop: valid offline"), "{text}");
    let out = lint(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("ClusterChecklistTemplate web-baseline not found"),
        "{text}"
    );
    // A template that fills a check in with what the rules refuse is named with its check.
    let dir = std::env::temp_dir().join(format!("lint-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    let text = std::fs::read_to_string(&templates)
        .unwrap()
        .replace("default: /health", "default: //evil.example/health");
    std::fs::write(&bad, text).unwrap();
    let out = lint(&["--templates", bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("ClusterChecklistTemplate web-baseline check health.http.path"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
