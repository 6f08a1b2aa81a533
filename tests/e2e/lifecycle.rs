//! The reconciler end to end: secrets → migration → rollout → verification → Ready, and the
//! rollbacks, each as `kubectl get`, `describe` and `wait` show them.
//!
//! Every test runs its own operator scoped to its own namespace, and its own test app on
//! loopback. Pods are kwok's: an image tagged `*-chaos-fail` fails (a migration that breaks),
//! `*-chaos-crash-loop` crash-loops (a release that dies on start).

use std::time::Duration;

use checklist_operator::api::{
    CheckResult, DeploymentChecklist, Phase, RevisionOutcome, RollbackTrigger,
};
use checklist_testapp::Mode;
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod};
use kube::{Api, api::ListParams};
use serde_json::json;

use checklist_testkit::{
    Operator, Scene, TestNamespace, apply, checklist, client, ensure_crd, kubectl_in, secret,
    start_app, valid_secret,
};

use crate::web::{
    deployed_image, describe, describe_shows, event_list, get_dcl, job_names, kubectl_wait,
    wait_phase,
};

const READY_WITHIN: u64 = 90;

/// Brings `web` to Ready on 1.0.0 and returns its app pods' UIDs.
pub(crate) async fn ready_on_v1(
    namespace: &str,
    app: &checklist_testapp::RunningApp,
) -> Vec<String> {
    apply(
        namespace,
        &[&valid_secret(), &checklist("example.com/web:1.0.0", app)],
    );
    kubectl_wait(namespace, "condition=Ready", READY_WITHIN);
    pod_uids(namespace).await
}

pub(crate) async fn pod_uids(namespace: &str) -> Vec<String> {
    let pods: Api<Pod> = Api::namespaced(client().await, namespace);
    let mut uids: Vec<String> = pods
        .list(&ListParams::default().labels("app.kubernetes.io/component=app"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|p| p.metadata.uid)
        .collect();
    uids.sort();
    uids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_happy_path_ends_ready_with_a_full_score() {
    let Scene {
        client,
        ns,
        app,
        operator,
    } = Scene::start("happy").await;

    apply(
        ns.name(),
        &[&valid_secret(), &checklist("example.com/web:1.0.0", &app)],
    );
    let waited = kubectl_wait(ns.name(), "condition=Ready", READY_WITHIN);
    assert!(waited.contains("condition met"), "{waited}");

    let table = get_dcl(ns.name());
    println!("{table}");
    let row = table.lines().nth(1).unwrap();
    // 2 secret keys + migration + rollout + 5 checks; the image serving is the spec's.
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[..3],
        ["web", "example.com/web:1.0.0", "example.com/web:1.0.0"],
        "{row}"
    );
    for column in ["Ready", "9/9"] {
        assert!(row.contains(column), "{column} missing from: {row}");
    }
    describe_shows(
        ns.name(),
        &[
            "Phase:                Ready",
            "verification passed: 5/5",
            "Normal  Migrating",
            "Normal  RollingOut",
            "Normal  Verifying",
            "Normal  Ready",
        ],
    );

    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let status = api.get("web").await.unwrap().status.unwrap();
    assert!(
        status.checks.iter().all(|c| c.result == CheckResult::Pass),
        "{:?}",
        status.checks
    );
    assert_eq!(status.checks.len(), 5);
    assert!(
        !status.dependencies.is_empty(),
        "deep health reported no dependencies"
    );
    let migration = status.migration.unwrap();
    assert_eq!(migration.job, job_names(ns.name())[0]);
    // The app got the probes, the port and the injected secrets.
    let deployment: Deployment = Api::namespaced(client.clone(), ns.name())
        .get("web")
        .await
        .unwrap();
    let container = &deployment.spec.template.spec.unwrap().containers[0];
    assert_eq!(container.image.as_deref(), Some("example.com/web:1.0.0"));
    assert!(container.env_from.as_ref().unwrap()[0].secret_ref.is_some());
    // Nothing changes: the next reconciles write nothing (the resourceVersion stays).
    let before = api.get("web").await.unwrap().metadata.resource_version;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        api.get("web").await.unwrap().metadata.resource_version,
        before
    );

    // What a platform team's Prometheus and probes see.
    let endpoints = operator.endpoints().await;
    let get = |path: &str| {
        let url = format!("{endpoints}{path}");
        async move {
            let response = reqwest::get(&url).await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(get("/healthz").await.0, 200);
    assert_eq!(get("/readyz").await, (200, "ready\n".to_owned()));
    let (status, metrics) = get("/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "checklist_transitions_total{reason=\"Ready\",event_type=\"Normal\"} 1",
        "checklist_verification_rounds_total{verdict=\"Passed\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    let writes = metrics
        .lines()
        .find_map(|l| l.strip_prefix("checklist_status_writes_total "))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no status writes counted:\n{metrics}"));
    assert!(
        (4..=12).contains(&writes),
        "{writes} status writes for one release"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_failed_migration_leaves_the_running_pods_untouched_and_rolls_back() {
    let Scene {
        client: _,
        ns,
        app,
        operator: _operator,
    } = Scene::start("migfail").await;
    let pods_before = ready_on_v1(ns.name(), &app).await;

    apply(
        ns.name(),
        &[&checklist("example.com/web:2.0.0-chaos-fail", &app)],
    );
    kubectl_wait(ns.name(), "condition=Stalled", 60);
    let table = get_dcl(ns.name());
    println!("{table}");
    assert!(table.contains("RolledBack"), "{table}");
    describe_shows(
        ns.name(),
        &[
            "Warning  MigrationFailed",
            "the stable version example.com/web:1.0.0 serves traffic",
        ],
    );
    // Nothing running changed: same image, same pods; the failed migration is not undone.
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");
    assert_eq!(pod_uids(ns.name()).await, pods_before);
    let jobs = job_names(ns.name());
    assert!(!jobs.iter().any(|j| j.contains("-rollback-")), "{jobs:?}");
    assert_eq!(jobs.len(), 2, "{jobs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_failed_first_migration_without_a_stable_revision_is_failed_and_deletes_nothing() {
    let Scene {
        client: _,
        ns,
        app,
        operator: _operator,
    } = Scene::start("firstfail").await;

    apply(
        ns.name(),
        &[
            &valid_secret(),
            &checklist("example.com/web:1.0.0-chaos-fail", &app),
        ],
    );
    kubectl_wait(ns.name(), "condition=Stalled", 60);
    let table = get_dcl(ns.name());
    println!("{table}");
    assert!(table.contains("Failed"), "{table}");
    describe_shows(ns.name(), &["there is no stable revision to roll back to"]);
    let (_, deployments) = kubectl_in(ns.name(), &["get", "deployments", "-o", "name"]);
    assert!(deployments.trim().is_empty(), "{deployments}");
    assert_eq!(job_names(ns.name()).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_crash_looping_release_is_rolled_back_before_the_progress_deadline() {
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("crash").await;
    ready_on_v1(ns.name(), &app).await;

    // The release's migration runs fine (its own image); the app dies on start.
    let mut release = checklist("example.com/web:2.0.0-chaos-crash-loop", &app);
    release["spec"]["migration"]["image"] = json!("example.com/web-migrate:2.0.0");
    let started = std::time::Instant::now();
    apply(ns.name(), &[&release]);
    wait_phase(
        &client,
        ns.name(),
        Phase::RolledBack,
        Duration::from_secs(90),
    )
    .await;
    let took = started.elapsed();
    println!("rolled back {took:?} after the apply (progressDeadlineSeconds: 600)");
    assert!(took < Duration::from_secs(600));
    describe_shows(ns.name(), &["Warning  CrashLoop", "new pods crash-loop"]);
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");
    kubectl_wait(ns.name(), "condition=RolledBack", 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn failed_verification_rolls_back_and_runs_the_down_migration() {
    let Scene {
        client,
        ns,
        app,
        operator,
    } = Scene::start("verifail").await;
    ready_on_v1(ns.name(), &app).await;

    app.set_mode(Mode::Unhealthy);
    apply(ns.name(), &[&checklist("example.com/web:2.0.0", &app)]);
    kubectl_wait(ns.name(), "condition=RolledBack", 90);
    let table = get_dcl(ns.name());
    println!("{table}");
    assert!(table.contains("RolledBack"), "{table}");
    describe_shows(
        ns.name(),
        &["Warning  VerificationFailed", "Warning  RolledBack"],
    );
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");

    let jobs = job_names(ns.name());
    let rollback: Vec<&String> = jobs.iter().filter(|j| j.contains("-rollback-")).collect();
    assert_eq!(rollback.len(), 1, "{jobs:?}");
    let (ok, out) = kubectl_in(
        ns.name(),
        &[
            "wait",
            &format!("job/{}", rollback[0]),
            "--for=condition=Complete",
            "--timeout=30s",
        ],
    );
    assert!(ok, "{out}");

    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let status = api.get("web").await.unwrap().status.unwrap();
    let health = status.checks.iter().find(|c| c.name == "health").unwrap();
    assert_eq!(health.result, CheckResult::Fail);
    let last = status.history.last().unwrap();
    assert_eq!(last.outcome, RevisionOutcome::RolledBack);
    assert!(
        last.reason
            .as_deref()
            .unwrap()
            .starts_with("VerificationFailed"),
        "{last:?}"
    );
    assert_eq!(last.trigger, Some(RollbackTrigger::VerificationFailed));
    // No loop: the failed revision is not tried again while nothing changes.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let again = api.get("web").await.unwrap().status.unwrap();
    assert_eq!(again.history.len(), status.history.len());
    assert_eq!(job_names(ns.name()).len(), jobs.len());

    // Each transition of the rollback announced once, and written once: the down-migration Job
    // finishing after the Deployment settled changes neither.
    let events = event_list(ns.name());
    let once_per_release = [
        ("RevisionStarted", 2),
        ("Migrating", 2),
        ("RollingOut", 2),
        ("Verifying", 2),
        ("Ready", 1),
        ("VerificationFailed", 1),
        ("RollingBack", 1),
        ("RolledBack", 1),
    ];
    for (reason, count) in once_per_release {
        let seen = events.iter().filter(|e| e.reason == reason).count();
        assert_eq!(seen, count, "{reason} Events: {events:#?}");
    }
    // Verifying is written when it is entered and once per round with its results (1.0.0
    // passed its first round, 2.0.0 failed its second): never again for nothing, as when a
    // time written with a fraction of a second came back without it.
    let verifying = operator
        .lines_since(0)
        .iter()
        .filter(|l| l.message() == Some("status written") && l.field("phase") == Some("Verifying"))
        .count();
    assert!(
        verifying <= 3,
        "{verifying} status writes in Verifying:\n{}",
        operator.logs().join("\n")
    );
    for phase in ["RollingBack", "RolledBack"] {
        let writes = operator
            .lines_since(0)
            .iter()
            .filter(|l| l.message() == Some("status written") && l.field("phase") == Some(phase))
            .count();
        assert_eq!(
            writes,
            1,
            "status writes in {phase}:\n{}",
            operator.logs().join("\n")
        );
    }
    // The app answered failing checks with JSON bodies; the Events name the checks and what
    // they got, and stay short. The bodies are in status.checks.
    for event in &events {
        assert!(
            event.message.chars().count() < 300,
            "{} Event of {} characters: {}",
            event.reason,
            event.message.chars().count(),
            event.message
        );
    }
    let failed = events
        .iter()
        .find(|e| e.reason == "VerificationFailed")
        .unwrap();
    assert_eq!(
        failed.message,
        "verification failed: health (HTTP 503), deep-health (HTTP 503)"
    );
    assert!(
        health.message.as_deref().unwrap().contains("unhealthy"),
        "status.checks keeps the detail: {health:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_invalid_secret_names_the_key_and_applies_nothing_until_fixed() {
    let Scene {
        client: _,
        ns,
        app,
        operator: _operator,
    } = Scene::start("secrets").await;

    apply(
        ns.name(),
        &[
            &secret(json!({"SECRET_KEY_BASE": "too-short"})),
            &checklist("example.com/web:1.0.0", &app),
        ],
    );
    kubectl_wait(ns.name(), "condition=SecretsValid=false", 30);
    let described = describe_shows(
        ns.name(),
        &[
            "SECRET_KEY_BASE",
            "needs at least 64",
            "DATABASE_URL",
            "Warning  SecretInvalid",
        ],
    );
    assert!(
        !described.contains("too-short"),
        "a secret value is shown: {described}"
    );
    let (_, objects) = kubectl_in(
        ns.name(),
        &["get", "deployments,jobs,services", "-o", "name"],
    );
    assert!(
        objects.trim().is_empty(),
        "something was applied: {objects}"
    );

    // Fixing the Secret is enough: its watch brings the checklist on to Ready.
    apply(ns.name(), &[&valid_secret()]);
    kubectl_wait(ns.name(), "condition=Ready", READY_WITHIN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_suspended_checklist_changes_nothing() {
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("suspend").await;
    let pods_before = ready_on_v1(ns.name(), &app).await;
    let jobs_before = job_names(ns.name());

    let mut release = checklist("example.com/web:2.0.0", &app);
    release["spec"]["suspend"] = json!(true);
    apply(ns.name(), &[&release]);
    wait_phase(
        &client,
        ns.name(),
        Phase::Suspended,
        Duration::from_secs(30),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let table = get_dcl(ns.name());
    println!("{table}");
    assert!(table.contains("Suspended"), "{table}");
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");
    assert_eq!(job_names(ns.name()), jobs_before);
    assert_eq!(pod_uids(ns.name()).await, pods_before);

    // Resuming rolls the pending change out.
    release["spec"]["suspend"] = json!(false);
    apply(ns.name(), &[&release]);
    kubectl_wait(ns.name(), "condition=Ready", READY_WITHIN);
    assert_eq!(deployed_image(ns.name()), "example.com/web:2.0.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_planted_secret_value_appears_in_no_log_event_or_status() {
    const PLANTED: &str = "planted-4f1c2b9e-value";
    let Scene {
        client: _,
        ns,
        app,
        operator,
    } = Scene::start("leak").await;

    // The planted value fails its pattern (so messages are written about it), and is also sent
    // as a header by a check.
    let mut planted = checklist("example.com/web:1.0.0", &app);
    planted["spec"]["secrets"][0]["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "API_TOKEN", "pattern": "^sk-", "minLength": 40}));
    planted["spec"]["verification"]["checks"][0]["http"]["headers"] = json!([
        {"name": "Authorization", "valueFrom": {"secretKeyRef": {"name": "web-env", "key": "API_TOKEN"}}}
    ]);
    let secret_with_plant = secret(json!({
        "SECRET_KEY_BASE": PLANTED.repeat(3),
        "DATABASE_URL": format!("ecto://app:{PLANTED}@db/web"),
        "API_TOKEN": PLANTED,
    }));
    apply(ns.name(), &[&secret_with_plant, &planted]);
    kubectl_wait(ns.name(), "condition=SecretsValid=false", 30);

    // Fix only the pattern: the value now passes and is sent as a header during verification.
    let passing = secret(json!({
        "SECRET_KEY_BASE": PLANTED.repeat(3),
        "DATABASE_URL": format!("ecto://app:{PLANTED}@db/web"),
        "API_TOKEN": format!("sk-{PLANTED}-{PLANTED}"),
    }));
    apply(ns.name(), &[&passing]);
    kubectl_wait(ns.name(), "condition=Ready", READY_WITHIN);

    // The next release meets an app that echoes the token it rejects, in its body, its JSON
    // values and its dependencies: every message about the failure quotes what came back.
    app.set_mode(Mode::Echo);
    let mut release = planted.clone();
    release["spec"]["app"]["image"] = json!("example.com/web:2.0.0");
    apply(ns.name(), &[&release]);
    kubectl_wait(
        ns.name(),
        "jsonpath={.status.phase}=RolledBack",
        READY_WITHIN,
    );
    let echoed = app.state().snapshot().requests;
    assert!(
        echoed.get("/health").copied().unwrap_or_default() > 0,
        "the failing release was never verified: {echoed:?}"
    );
    describe_shows(ns.name(), &["[redacted]"]);

    let logs = operator.logs().join("\n");
    assert!(
        logs.contains("status written"),
        "the operator logged nothing useful"
    );
    let (_, status) = kubectl_in(ns.name(), &["get", "dcl", "web", "-o", "yaml"]);
    let (_, all_events) = kubectl_in(ns.name(), &["get", "events", "-o", "yaml"]);
    let described = describe(ns.name());
    let metrics = operator.metrics_text().await;
    for (what, text) in [
        ("operator log", &logs),
        ("status", &status),
        ("events", &all_events),
        ("describe", &described),
        ("metrics", &metrics),
    ] {
        assert!(
            !text.contains(PLANTED),
            "the planted secret value appears in the {what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn continuous_verification_degrades_a_ready_app_without_rolling_it_back() {
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("continuous").await;

    let mut continuous = checklist("example.com/web:1.0.0", &app);
    continuous["spec"]["verification"]["continuous"] = json!(true);
    apply(ns.name(), &[&valid_secret(), &continuous]);
    kubectl_wait(ns.name(), "condition=Ready", READY_WITHIN);
    let logins = app.state().snapshot().login_attempts;
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let ready_version = api.get("web").await.unwrap().metadata.resource_version;

    // Healthy rounds go on and write nothing; the login form is not hammered after Ready.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        api.get("web").await.unwrap().metadata.resource_version,
        ready_version
    );
    let requests = app.state().snapshot().requests;
    assert!(
        requests.get("/health").copied().unwrap_or_default() >= 3,
        "rounds did not continue: {requests:?}"
    );
    assert_eq!(app.state().snapshot().login_attempts, logins);

    app.set_mode(Mode::Unhealthy);
    kubectl_wait(ns.name(), "jsonpath={.status.phase}=Degraded", 30);
    describe_shows(
        ns.name(),
        &[
            "continuous verification failed",
            "Warning  VerificationFailed",
        ],
    );
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");
    assert!(
        !job_names(ns.name())
            .iter()
            .any(|j| j.contains("-rollback-"))
    );

    app.set_mode(Mode::Healthy);
    kubectl_wait(ns.name(), "condition=Ready", 30);
    let table = get_dcl(ns.name());
    assert!(table.contains("Ready"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn revision_history_is_bounded_in_status_records_and_jobs() {
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("history").await;

    apply(ns.name(), &[&valid_secret()]);
    for minor in 0..4 {
        let mut release = checklist(&format!("example.com/web:1.{minor}.0"), &app);
        release["spec"]["rollback"]["revisionHistoryLimit"] = json!(2);
        apply(ns.name(), &[&release]);
        let (ok, out) = kubectl_in(
            ns.name(),
            &[
                "wait",
                "dcl/web",
                &format!(
                    "--for=jsonpath={{.status.revision.stable.image}}=example.com/web:1.{minor}.0"
                ),
                "--timeout=60s",
            ],
        );
        assert!(
            ok,
            "1.{minor}.0 never became stable: {out}\n{}",
            describe(ns.name())
        );
    }
    let (ok, records) = kubectl_in(
        ns.name(),
        &[
            "get",
            "controllerrevisions",
            "-l",
            "checklist.dev/checklist=web",
            "-o",
            "name",
        ],
    );
    assert!(ok, "{records}");
    assert_eq!(records.lines().count(), 2, "{records}");
    let jobs = job_names(ns.name());
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let history = api.get("web").await.unwrap().status.unwrap().history;
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].image, "example.com/web:1.3.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn of_two_replicas_only_the_leader_acts_and_the_other_takes_over() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "leader").await;
    let app = start_app().await;
    let replica = |identity: &str| {
        Operator::start_with(
            ns.name(),
            &[
                "--leader-elect",
                "--leader-election-namespace",
                ns.name(),
                "--leader-election-identity",
                identity,
                "--lease-duration-seconds",
                "4",
            ],
        )
    };
    let mut first = replica("replica-1");
    first
        .wait_for_log("became the leader", Duration::from_secs(30))
        .await;
    let second = replica("replica-2");
    second
        .wait_for_log("waiting to become the leader", Duration::from_secs(30))
        .await;

    apply(
        ns.name(),
        &[&valid_secret(), &checklist("example.com/web:1.0.0", &app)],
    );
    kubectl_wait(ns.name(), "condition=Ready", READY_WITHIN);
    let (ok, holder) = kubectl_in(
        ns.name(),
        &[
            "get",
            "lease",
            "checklist-operator",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
    );
    assert!(ok, "{holder}");
    assert_eq!(holder, "replica-1");
    assert!(first.logged("plan"));
    assert!(!second.logged("became the leader"));
    assert!(!second.logged("plan"), "the standby replica acted");

    // The leader dies without releasing the Lease: the standby takes over once it expires.
    first.kill();
    second
        .wait_for_log("became the leader", Duration::from_secs(30))
        .await;
    apply(ns.name(), &[&checklist("example.com/web:1.1.0", &app)]);
    kubectl_wait(
        ns.name(),
        "jsonpath={.status.revision.stable.image}=example.com/web:1.1.0",
        READY_WITHIN,
    );
    assert!(second.logged("plan"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_leader_that_loses_its_lease_stops_and_exits() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "lease").await;
    let mut leader = Operator::start_with(
        ns.name(),
        &[
            "--leader-elect",
            "--leader-election-namespace",
            ns.name(),
            "--leader-election-identity",
            "replica-1",
            "--lease-duration-seconds",
            "6",
        ],
    );
    leader
        .wait_for_log("became the leader", Duration::from_secs(30))
        .await;
    // Someone else now holds it (as after a network partition in which the Lease expired).
    let now = k8s_openapi::jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ");
    let (ok, out) = kubectl_in(
        ns.name(),
        &[
            "patch",
            "lease",
            "checklist-operator",
            "--type",
            "merge",
            "-p",
            &format!(
                r#"{{"spec":{{"holderIdentity":"intruder","renewTime":"{now}","acquireTime":"{now}","leaseDurationSeconds":300}}}}"#
            ),
        ],
    );
    assert!(ok, "{out}");
    let code = leader.exited(Duration::from_secs(30)).await;
    assert_eq!(code, Some(1), "{}", leader.logs().join("\n"));
    assert!(leader.logged("lost the leader Lease: stopping so another replica takes over"));
}
