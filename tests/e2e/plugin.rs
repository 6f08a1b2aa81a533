//! `kubectl checklist` against the local control plane, found by kubectl on PATH as a user's
//! shell finds it: each command's output and what the operator then does.

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
    sync::mpsc,
    time::Duration,
};

use checklist_operator::api::{DeploymentChecklist, Phase};
use checklist_testapp::Mode;
use checklist_testkit::{
    Operator, PluginRun, Scene, TestNamespace, apply, checklist, client, ensure_crd,
    kubectl_checklist, kubectl_with_plugin, start_app, valid_secret,
};
use kube::Api;
use serde_json::Value;

use crate::progressive::{Bench, canary};
use crate::web::{deployed_image, get_dcl, kubectl_wait, wait_phase};

const WITHIN: Duration = Duration::from_secs(90);

fn run(namespace: &str, args: &[&str]) -> PluginRun {
    let mut all = vec!["-n", namespace];
    all.extend_from_slice(args);
    let run = kubectl_checklist(&all);
    println!(
        "$ kubectl checklist {}\n{}{}(exit {:?})",
        all.join(" "),
        run.stdout,
        run.stderr,
        run.code
    );
    run
}

fn succeeds(namespace: &str, args: &[&str]) -> String {
    let run = run(namespace, args);
    assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
    run.stdout
}

/// Fails with exit 1 and one line on stderr naming `what`, never a backtrace.
fn refuses(namespace: &str, args: &[&str], what: &str) {
    let run = run(namespace, args);
    assert_eq!(run.code, Some(1), "{args:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains(what), "{what:?} not in {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn the_plugin_shows_a_checklist_and_steers_set_image_rollback_and_retry() {
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("plugin").await;
    apply(
        ns.name(),
        &[&valid_secret(), &checklist("example.com/web:1.0.0", &app)],
    );
    kubectl_wait(ns.name(), "condition=Ready", 90);

    // status: every section of the seed checklist, with its verdicts.
    let status = succeeds(ns.name(), &["status", "web"]);
    for section in [
        "\nSecrets\n",
        "\nMigration\n",
        "\nRollout\n",
        "\nVerification\n",
        "\nDependencies\n",
        "\nScore  9/9\n",
        "\nEvents\n",
    ] {
        assert!(
            status.contains(section),
            "{section:?} missing from:\n{status}"
        );
    }
    for row in [
        &["DeploymentChecklist", "web"][..],
        &["Phase", "Ready"],
        &["Serving", "example.com/web:1.0.0"],
        &["✓", "web-env/SECRET_KEY_BASE", "64+", "characters"],
        &["✓", "web-migrate-"],
        &["Strategy", "RollingUpdate"],
        &["✓", "health"],
        &["✓", "login-rate-limit"],
        &["✓", "database"],
    ] {
        assert_row(&status, row);
    }
    assert!(!status.contains('\u{1b}'), "piped output has no colour");
    let coloured = succeeds(ns.name(), &["status", "web", "--color", "always"]);
    assert!(coloured.contains("\u{1b}[32m✓"), "{coloured}");

    let json: Value = serde_json::from_str(&succeeds(ns.name(), &["status", "web", "-o", "json"]))
        .expect("status -o json parses");
    assert_eq!(json["status"]["phase"], "Ready");
    assert!(json["metadata"].get("managedFields").is_none());
    let yaml = succeeds(ns.name(), &["status", "web", "-o", "yaml"]);
    assert!(yaml.contains("phase: Ready"), "{yaml}");

    let list = succeeds(ns.name(), &["list"]);
    assert!(list.starts_with("NAME "), "{list}");
    assert!(list.contains("web") && list.contains("Ready"), "{list}");
    let everywhere = succeeds(ns.name(), &["list", "-A"]);
    assert_row(&everywhere, &[ns.name(), "web"]);

    // set image: a new revision through the whole checklist.
    let said = succeeds(ns.name(), &["set", "image", "web", "example.com/web:1.1.0"]);
    assert!(
        said.contains("example.com/web:1.0.0 → example.com/web:1.1.0"),
        "{said}"
    );
    wait_phase(&client, ns.name(), Phase::Ready, WITHIN).await;
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.1.0");

    // rollback: to the revision before, recorded as a manual rollback.
    let said = succeeds(ns.name(), &["rollback", "web"]);
    assert!(
        said.contains("rollback of web to revision 1 (example.com/web:1.0.0) requested"),
        "{said}"
    );
    wait_phase(&client, ns.name(), Phase::RolledBack, WITHIN).await;
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");
    let table = get_dcl(ns.name());
    println!("{table}");
    let row = table.lines().nth(1).unwrap_or_default();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[..4],
        [
            "web",
            "example.com/web:1.1.0",
            "example.com/web:1.0.0",
            "RolledBack"
        ],
        "IMAGE is the spec's, SERVING what serves:\n{table}"
    );
    let history = succeeds(ns.name(), &["history", "web"]);
    let last = history.lines().last().unwrap_or_default();
    assert!(
        last.contains("example.com/web:1.1.0")
            && last.contains("RolledBack")
            && last.contains("ManualRollback"),
        "{history}"
    );
    assert!(history.contains("1 (stable)"), "{history}");
    let entries: Value =
        serde_json::from_str(&succeeds(ns.name(), &["history", "web", "-o", "json"])).unwrap();
    assert_eq!(entries.as_array().map(Vec::len), Some(2), "{entries}");

    // Refusals: one line, exit 1, nothing written.
    refuses(
        ns.name(),
        &["rollback", "web", "--to-revision", "9"],
        "revision 9 is not in the history",
    );
    refuses(ns.name(), &["promote", "web"], "RollingUpdate");
    refuses(
        ns.name(),
        &["status", "nope"],
        "\"nope\" not found in namespace",
    );
    refuses(
        "default",
        &["status", "web"],
        "not found in namespace \"default\"",
    );
    let usage = run(ns.name(), &["rollback", "web", "--to-revision", "zero"]);
    assert_eq!(usage.code, Some(2), "a bad flag is a usage error");

    // retry: the rejected revision once more, Ready again.
    succeeds(ns.name(), &["retry", "web"]);
    wait_phase(&client, ns.name(), Phase::Ready, WITHIN).await;
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.1.0");

    // restart: new pods of the same image, as a new revision through the whole checklist.
    let said = succeeds(ns.name(), &["restart", "web"]);
    assert!(
        said.contains("restart requested for web: revision "),
        "{said}"
    );
    wait_phase(&client, ns.name(), Phase::Ready, WITHIN).await;
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.1.0");
    let entries: Value =
        serde_json::from_str(&succeeds(ns.name(), &["history", "web", "-o", "json"])).unwrap();
    let entries = entries.as_array().unwrap();
    let [.., retried, restarted] = entries.as_slice() else {
        panic!("a new history entry for the restart: {entries:?}");
    };
    assert_eq!(restarted["image"], "example.com/web:1.1.0");
    assert_eq!(restarted["outcome"], "Succeeded");
    assert_ne!(restarted["hash"], retried["hash"], "a revision of its own");
    assert!(
        said.contains(restarted["hash"].as_str().unwrap()),
        "the plugin named the revision: {said}"
    );

    // status -w: a new frame when the phase changes.
    let mut watch = kubectl_with_plugin()
        .args(["checklist", "-n", ns.name(), "status", "web", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, received) = mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let next_phase = |received: &mpsc::Receiver<String>, not: &str| -> Option<String> {
        let deadline = std::time::Instant::now() + WITHIN;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            let line = received.recv_timeout(left).ok()?;
            if let Some(phase) = line.trim().strip_prefix("Phase") {
                let phase = phase.trim().to_string();
                if phase != not {
                    return Some(phase);
                }
            }
        }
        None
    };
    assert_eq!(next_phase(&received, "").as_deref(), Some("Ready"));
    app.set_mode(Mode::Unhealthy);
    apply(ns.name(), &[&checklist("example.com/web:1.2.0", &app)]);
    let changed = next_phase(&received, "Ready");
    let _ = watch.kill();
    let _ = watch.wait();
    let changed = changed.expect("status -w printed a new frame when the phase changed");
    println!("status -w drew phase {changed} after Ready");
    wait_phase(&client, ns.name(), Phase::RolledBack, WITHIN).await;

    ns.finish(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn the_plugin_promotes_and_aborts_a_canary() {
    let bench = Bench::start("plugin-canary").await;
    let steps = canary(serde_json::json!([{"weight": 50}, {"weight": 100}]));
    bench.first_release(&steps).await;

    bench.release("example.com/web:2.0.0", &steps);
    let client = client().await;
    let paused = wait_phase(&client, bench.name(), Phase::Paused, WITHIN).await;
    assert_stage(&paused, "WaitingForPromotion");
    let status = succeeds(bench.name(), &["status", "web"]);
    assert!(
        status.contains("WaitingForPromotion: kubectl checklist promote web"),
        "{status}"
    );
    assert_row(&status, &["Step", "1/2,", "weight", "50%"]);
    succeeds(bench.name(), &["promote", "web"]);
    wait_phase(&client, bench.name(), Phase::Ready, WITHIN).await;

    bench.release("example.com/web:3.0.0", &steps);
    wait_phase(&client, bench.name(), Phase::Paused, WITHIN).await;
    let said = succeeds(bench.name(), &["abort", "web"]);
    assert!(said.contains("abort requested for web"), "{said}");
    let aborted = wait_phase(&client, bench.name(), Phase::RolledBack, WITHIN).await;
    assert_stage(&aborted, "Aborted");
    refuses(bench.name(), &["abort", "web"], "no release in progress");
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), bench.name());
    let serving = api
        .get("web")
        .await
        .unwrap()
        .status
        .unwrap()
        .revision
        .unwrap()
        .stable
        .unwrap();
    assert_eq!(serving.image, "example.com/web:2.0.0");
    bench.finish().await;
}

/// A line of `text` whose first words are `words` (a word may be a prefix of the last one).
fn assert_row(text: &str, words: &[&str]) {
    let found = text.lines().any(|line| {
        let cells: Vec<&str> = line.split_whitespace().collect();
        cells.len() >= words.len()
            && words
                .iter()
                .zip(&cells)
                .enumerate()
                .all(|(i, (want, got))| {
                    got == want || (i + 1 == words.len() && got.starts_with(want))
                })
    });
    assert!(found, "no line starting {words:?} in:\n{text}");
}

fn assert_stage(checklist: &DeploymentChecklist, stage: &str) {
    let rollout = checklist.status.as_ref().and_then(|s| s.rollout.as_ref());
    assert_eq!(
        rollout.map(|r| r.stage.to_string()).as_deref(),
        Some(stage),
        "{:?}",
        checklist.status
    );
}

#[test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
fn without_a_reachable_cluster_the_plugin_says_so_in_one_line() {
    let dir = std::env::temp_dir().join(format!("plugin-kubeconfig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("config");
    // A cluster on a loopback port nothing listens on.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {server: 'https://127.0.0.1:9'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: gone\n  context: {cluster: gone, user: u}\ncurrent-context: gone\n",
    )
    .unwrap();
    let path = kubeconfig.to_string_lossy().into_owned();
    let run = kubectl_checklist(&["--kubeconfig", &path, "list"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot reach the cluster"),
        "{}",
        run.stderr
    );
    let run = kubectl_checklist(&["--kubeconfig", &path, "--context", "elsewhere", "list"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("elsewhere"), "{}", run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn the_plugin_lints_files_offline_and_by_dry_run_and_verifies_an_app() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "plugin-lint").await;
    let app = start_app().await;
    let dir = std::env::temp_dir().join(format!("plugin-lint-{}", ns.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, checklist: &Value| {
        let path = dir.join(name);
        std::fs::write(&path, checklist.to_string()).unwrap();
        path.to_string_lossy().into_owned()
    };
    let good = write("good.yaml", &checklist("example.com/web:1.0.0", &app));

    let said = succeeds(ns.name(), &["lint", "-f", &good]);
    assert!(
        said.contains("✓ web: valid (schema and rules offline, and a server-side dry run)"),
        "{said}"
    );
    // The revision the operator will give it, for dashboards and {{revision}} in queries.
    let spec: checklist_operator::api::DeploymentChecklistSpec =
        serde_json::from_value(checklist("example.com/web:1.0.0", &app)["spec"].clone()).unwrap();
    let revision = checklist_operator::resources::revision_hash(&spec);
    assert!(
        said.contains(&format!(
            "    revision {revision}: the pods' checklist.dev/revision label"
        )),
        "{said}"
    );
    // Nothing was created by the dry run.
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    assert!(api.get_opt("web").await.unwrap().is_none());

    // Schema problems are named offline, every one of them.
    let mut schema = checklist("example.com/web:1.0.0", &app);
    schema["spec"]["app"]["replicas"] = serde_json::json!(-1);
    schema["spec"]["verification"]["failureThreshold"] = serde_json::json!(0);
    let schema = write("schema.yaml", &schema);
    let linted = run(ns.name(), &["lint", "-f", &schema, "--offline"]);
    assert_eq!(linted.code, Some(1));
    for named in [
        "2 problem(s)",
        "spec.app.replicas",
        "spec.verification.failureThreshold",
    ] {
        assert!(linted.stdout.contains(named), "{named}: {}", linted.stdout);
    }

    // A CRD rule only the API server evaluates: caught by the dry run, not offline.
    let mut cel = checklist("example.com/web:1.0.0", &app);
    cel["spec"]["rollout"]["strategy"] = serde_json::json!("Canary");
    let cel = write("cel.yaml", &cel);
    let offline = run(ns.name(), &["lint", "-f", &cel, "--offline"]);
    assert_eq!(
        offline.code,
        Some(0),
        "offline cannot see the rollout rules"
    );
    assert!(
        offline.stdout.contains("not checked by an API server"),
        "{}",
        offline.stdout
    );
    let online = run(ns.name(), &["lint", "-f", &cel]);
    assert_eq!(online.code, Some(1));
    assert!(
        online
            .stdout
            .contains("spec.rollout.canary with its steps is required"),
        "{}",
        online.stdout
    );
    assert_eq!(
        run(ns.name(), &["lint", "-f", "/nonexistent.yaml"]).code,
        Some(2)
    );

    // verify: the same engine as `checklist-operator verify`.
    let verified = succeeds(ns.name(), &["verify", "-f", &good, "--rounds", "1"]);
    assert!(verified.contains("Score: 5/5"), "{verified}");
    app.set_mode(Mode::Unhealthy);
    let failed = run(ns.name(), &["verify", "-f", &good, "--rounds", "1"]);
    assert_eq!(failed.code, Some(1), "{}", failed.stdout);
    let _ = std::fs::remove_dir_all(&dir);
    ns.finish(&client).await;
}

/// An app that answers with terminal escapes (an OSC 52 clipboard write, a screen clear) and a
/// bidi override in its dependency names reaches whoever reads the checklist only cleaned: the
/// status, `kubectl checklist list -A` and `status`, `kubectl describe` and the Events all show
/// U+FFFD where the app wrote ESC, BEL or U+202E.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_apps_terminal_escapes_reach_no_terminal() {
    const CLIPBOARD: &str = "db\u{1b}]52;c;cm0gLXJmIH4K\u{7}\u{1b}[2J";
    const REVERSED: &str = "\u{202e}ehcac";
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "escapes").await;
    let app = checklist_testapp::spawn(checklist_testapp::Config {
        http_listen: Some(([127, 0, 0, 1], 0).into()),
        dependencies: vec![CLIPBOARD.into(), REVERSED.into()],
        failing_dependencies: vec![CLIPBOARD.into()],
        ..checklist_testapp::Config::default()
    })
    .await
    .expect("start the test app");
    let _operator = Operator::start(ns.name());
    let mut web = checklist("example.com/web:1.0.0", &app);
    web["spec"]["verification"]["failureThreshold"] = serde_json::json!(1);
    apply(ns.name(), &[&valid_secret(), &web]);
    wait_phase(&client, ns.name(), Phase::Failed, WITHIN).await;

    let (ok, stored) =
        checklist_testkit::kubectl_in(ns.name(), &["get", "dcl", "web", "-o", "json"]);
    assert!(ok, "{stored}");
    let stored: Value = serde_json::from_str(&stored).unwrap();
    // Every string in the status, as the API server stores it (not as JSON escapes it).
    let status = strings(&stored["status"]).join("\n");
    assert!(
        status.contains("\u{fffd}"),
        "the failing dependency is named, cleaned: {status}"
    );
    let (ok, described) = checklist_testkit::kubectl_in(ns.name(), &["describe", "dcl", "web"]);
    assert!(ok, "{described}");
    let (ok, events) = checklist_testkit::kubectl_in(ns.name(), &["get", "events"]);
    assert!(ok, "{events}");
    let outputs = [
        ("status", status),
        ("list -A", succeeds(ns.name(), &["list", "-A"])),
        ("status", succeeds(ns.name(), &["status", "web"])),
        ("describe", described),
        ("events", events),
    ];
    for (what, text) in &outputs {
        for bad in ['\u{1b}', '\u{7}', '\u{202e}'] {
            assert!(!text.contains(bad), "{what} holds {bad:?}: {text:?}");
        }
    }
    assert!(
        outputs[2].1.contains('\u{fffd}'),
        "the plugin shows the cleaned name: {}",
        outputs[2].1
    );
    ns.finish(&client).await;
}

/// Every string in `value`, depth first.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}
