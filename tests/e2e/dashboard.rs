//! `kubectl checklist dashboard` as a person sees it: in Debian's Chromium, driven by Playwright
//! (tests/browser/dashboard.py; dev/browser installs both). The fleet lists the checklists, a
//! canary's step and weight move without a reload, promote and abort work from the page and are
//! refused, with the API server's message, for a user whose RBAC only reads; an app's markup and
//! terminal escapes render as text. A screenshot of each view is kept as a test artifact.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use checklist_operator::api::{DeploymentChecklist, Phase};
use checklist_testkit::{
    apply, checklist, client,
    fixtures::{self, repository},
    kubectl_stdin,
    operator::operator_binary,
    wait_phase,
};
use kube::Api;
use serde_json::{Value, json};

use crate::{
    progressive::{Bench, canary},
    rbac::Impersonating,
};

const WITHIN: Duration = Duration::from_secs(90);

/// What the app answers in its deep health: markup that would run if parsed, and escapes that
/// would act on a terminal.
const HOSTILE: &str = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">\u{1b}[31mred\u{1b}]52;c;cm0gLXJm\u{7}";

/// A `kubectl checklist dashboard` process on a free loopback port; killed on drop.
struct Dashboard {
    child: Child,
    url: String,
}

impl Dashboard {
    fn start(namespace: &str, kubeconfig: Option<&str>) -> Self {
        let plugin = checklist_testkit::kubectl::plugin_binary();
        let mut command = Command::new(&plugin);
        command.args(["dashboard", "-n", namespace, "--address", "127.0.0.1:0"]);
        if let Some(path) = kubeconfig {
            command.arg("--kubeconfig").arg(path);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", plugin.display()));
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .split_whitespace()
            .find(|word| word.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no address in the dashboard's first line: {first:?}"))
            .to_string();
        Self { child, url }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The Python that has Playwright: `CHECKLIST_BROWSER_PYTHON`, else what `dev/browser --python`
/// installs and prints.
fn browser_python() -> String {
    if let Some(python) = std::env::var_os("CHECKLIST_BROWSER_PYTHON") {
        return python.to_string_lossy().into_owned();
    }
    let out = Command::new(repository().join("dev/browser"))
        .arg("--python")
        .output()
        .expect("run dev/browser");
    assert!(
        out.status.success(),
        "dev/browser could not install the browser:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Where the screenshots go: `CHECKLIST_ARTIFACTS`, else `test-artifacts` in the target directory.
fn artifacts() -> PathBuf {
    std::env::var_os("CHECKLIST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            operator_binary()
                .parent()
                .and_then(|p| p.parent())
                .map(|target| target.join("test-artifacts"))
                .unwrap_or_else(std::env::temp_dir)
        })
        .join("dashboard")
}

/// A user who may read checklists and Events in `namespace` and nothing else, and a kubeconfig
/// that is the test's own acting as that user.
fn reader(namespace: &str) -> Impersonating {
    let user = format!("dashboard-reader-{namespace}");
    let rbac = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "dashboard-reader", "namespace": namespace},
         "rules": [
            {"apiGroups": ["checklist.dev"], "resources": ["deploymentchecklists"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "dashboard-reader", "namespace": namespace},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "dashboard-reader"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]},
    ]});
    let out = kubectl_stdin(&["apply", "-f", "-"], &rbac.to_string());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Impersonating::new(&user, &user)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up) and dev/browser"]
async fn the_dashboard_shows_steers_and_refuses_in_a_real_browser() {
    let python = browser_python();
    let bench = Bench::start("dashboard").await;
    let ns = bench.name().to_string();
    let steps = canary(json!([{"weight": 30}, {"weight": 100}]));
    bench.first_release(&steps).await;

    let hostile_app = checklist_testapp::spawn(checklist_testapp::Config {
        http_listen: Some(([127, 0, 0, 1], 0).into()),
        dependencies: vec![HOSTILE.into()],
        failing_dependencies: vec![HOSTILE.into()],
        ..checklist_testapp::Config::default()
    })
    .await
    .expect("start the hostile app");
    let mut hostile = checklist("example.com/hostile:1.0.0", &hostile_app);
    hostile["metadata"]["name"] = json!("hostile");
    hostile["spec"]["verification"]["failureThreshold"] = json!(1);
    apply(&ns, &[&hostile]);

    // The demo's checklist, as dev/demo applies it: checked against a test app of its own.
    let demo_app = checklist_testkit::start_app().await;
    let example = |file: &str| std::fs::read_to_string(fixtures::example(file)).unwrap();
    let dialectic = example("dialectic.yaml").replace(
        "url: https://dialectic.example.com",
        &format!("url: {}", demo_app.url()),
    );
    for manifest in [
        example("dialectic-secret.yaml"),
        example("dialectic-functional-test-secret.yaml"),
        dialectic,
    ] {
        let out = kubectl_stdin(&["apply", "-n", &ns, "-f", "-"], &manifest);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    bench.release("example.com/web:2.0.0", &steps);
    let client = client().await;
    wait_phase(&client, &ns, "web", Phase::Paused, WITHIN).await;
    wait_phase(&client, &ns, "hostile", Phase::Failed, WITHIN).await;

    let reader_config = reader(&ns);
    let admin = Dashboard::start(&ns, None);
    let viewer = Dashboard::start(&ns, Some(reader_config.path()));
    let out = artifacts();
    let run = Command::new(&python)
        .arg(repository().join("tests/browser/dashboard.py"))
        .args([
            "--url",
            &admin.url,
            "--viewer-url",
            &viewer.url,
            "--namespace",
            &ns,
        ])
        .args(["--next-image", "example.com/web:3.0.0"])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run the browser test");
    println!("{}", String::from_utf8_lossy(&run.stdout));
    assert!(
        run.status.success(),
        "the browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    for view in ["fleet", "release", "refused", "hostile"] {
        let shot = out.join(format!("{view}.png"));
        assert!(
            std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
            "no screenshot {}",
            shot.display()
        );
    }

    // What the page did, as the cluster saw it: 2.0.0 promoted and serving, 3.0.0 aborted.
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), &ns);
    let status = api.get("web").await.unwrap().status.unwrap();
    assert_eq!(status.phase, Some(Phase::RolledBack));
    assert_eq!(
        status.revision.unwrap().stable.unwrap().image,
        "example.com/web:2.0.0"
    );
    drop((admin, viewer, reader_config));
    bench.finish().await;
}

/// The fleet view with a thousand checklists: every row shown, then a hundred changed, all
/// without a reload. The figures are printed (and kept beside the screenshots), not judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up) and dev/browser"]
async fn the_dashboard_keeps_up_with_a_thousand_checklists() {
    const COUNT: usize = 1000;
    const UPDATED: usize = 100;
    let python = browser_python();
    let client = client().await;
    checklist_testkit::ensure_crd(&client).await;
    let ns = checklist_testkit::TestNamespace::create(&client, "dashboard-fleet").await;
    let app = checklist_testkit::start_app().await;
    // Suspended, and no operator runs here: the rows are the API server's objects alone.
    let fleet = |image_of: &dyn Fn(usize) -> &'static str| {
        let items: Vec<Value> = (0..COUNT)
            .map(|i| {
                let mut one = checklist(image_of(i), &app);
                one["metadata"]["name"] = json!(format!("app-{i:04}"));
                one["metadata"]["namespace"] = json!(ns.name());
                one["spec"]["suspend"] = json!(true);
                one
            })
            .collect();
        json!({"apiVersion": "v1", "kind": "List", "items": items})
    };
    let created = kubectl_stdin(
        &["create", "-f", "-", "-o", "name"],
        &fleet(&|_| "example.com/fleet:1.0.0").to_string(),
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let update = std::env::temp_dir().join(format!("{}-update.json", ns.name()));
    let changed = fleet(&|i| {
        if i % (COUNT / UPDATED) == 0 {
            "example.com/fleet:2.0.0"
        } else {
            "example.com/fleet:1.0.0"
        }
    });
    std::fs::write(&update, changed.to_string()).unwrap();

    let dashboard = Dashboard::start(ns.name(), None);
    let run = Command::new(&python)
        .arg(repository().join("tests/browser/fleet_scale.py"))
        .args(["--url", &dashboard.url, "--count", &COUNT.to_string()])
        .arg("--update")
        .arg(&update)
        .args(["--updated", &UPDATED.to_string()])
        .args(["--new-image", "example.com/fleet:2.0.0"])
        .output()
        .expect("run the browser test");
    let figures = String::from_utf8_lossy(&run.stdout).into_owned();
    println!("{figures}");
    assert!(
        run.status.success(),
        "the fleet test failed:\n{figures}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = artifacts();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("fleet-1000.txt"), &figures).unwrap();
    drop(dashboard);
    std::fs::remove_file(&update).ok();
    ns.finish(&client).await;
}
