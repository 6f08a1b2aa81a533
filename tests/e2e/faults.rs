//! The operator killed in every phase of a release, and restarted: each step happens once (one
//! migration Job, one rollback), and verification resumes its count of failed rounds from the
//! status instead of starting again. Images tagged `*-chaos-slow-start` boot in 8 s (kwok stage
//! `dev/stages/chaos-slow-start.yaml`), so a rollout and a rollback last long enough to be cut.

use std::time::{Duration, Instant};

use checklist_operator::api::{DeploymentChecklist, Phase, RevisionOutcome};
use checklist_testapp::{Mode, RunningApp};
use kube::Api;
use serde_json::{Value, json};

use checklist_testkit::{Operator, Scene, apply, checklist, secret, valid_secret};

use crate::web::{deployed_image, event_list, job_names, kubectl_wait, wait_phase};

const WITHIN: u64 = 90;

/// Kills the operator, waits a moment, starts it again.
async fn kill_and_restart(operator: &mut Operator) {
    operator.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    operator.restart();
}

fn jobs_named(namespace: &str, part: &str) -> usize {
    job_names(namespace)
        .iter()
        .filter(|j| j.contains(part))
        .count()
}

fn events_with_reason(namespace: &str, reason: &str) -> usize {
    let events = event_list(namespace);
    let count = events.iter().filter(|e| e.reason == reason).count();
    println!("{reason} Events: {count} of {events:#?}");
    count
}

async fn outcomes(client: &kube::Client, namespace: &str) -> Vec<RevisionOutcome> {
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), namespace);
    let status = api.get("web").await.unwrap().status.unwrap();
    status.history.iter().map(|h| h.outcome).collect()
}

/// A [`Scene`] with `web` Ready on `image`.
async fn ready_scene(prefix: &str, image: &str) -> Scene {
    let scene = Scene::start(prefix).await;
    apply(
        scene.ns.name(),
        &[&valid_secret(), &checklist(image, &scene.app)],
    );
    kubectl_wait(scene.ns.name(), "condition=Ready", WITHIN);
    scene
}

/// `web` on `image`, verified every `interval` seconds, failing after `threshold` rounds.
fn release(image: &str, app: &RunningApp, interval: i64, threshold: i64) -> Value {
    let mut release = checklist(image, app);
    release["spec"]["verification"]["intervalSeconds"] = json!(interval);
    release["spec"]["verification"]["failureThreshold"] = json!(threshold);
    release
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_operator_killed_while_checking_secrets_applies_nothing_until_they_are_fixed() {
    let Scene {
        client,
        ns,
        app,
        mut operator,
    } = Scene::start("killsec").await;

    let short = secret(json!({"SECRET_KEY_BASE": "short", "DATABASE_URL": "ecto://db/web"}));
    apply(
        ns.name(),
        &[&short, &checklist("example.com/web:1.0.0", &app)],
    );
    wait_phase(
        &client,
        ns.name(),
        Phase::CheckingSecrets,
        Duration::from_secs(30),
    )
    .await;
    kill_and_restart(&mut operator).await;
    kubectl_wait(ns.name(), "condition=SecretsValid=false", 30);
    assert!(
        job_names(ns.name()).is_empty(),
        "a Job ran with bad secrets"
    );

    apply(ns.name(), &[&valid_secret()]);
    kubectl_wait(ns.name(), "condition=Ready", WITHIN);
    assert_eq!(jobs_named(ns.name(), "-migrate-"), 1);
    assert_eq!(
        outcomes(&client, ns.name()).await,
        [RevisionOutcome::Succeeded]
    );
    ns.finish(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_operator_killed_while_migrating_creates_one_job_after_restart() {
    let Scene {
        client,
        ns,
        app,
        mut operator,
    } = Scene::start("killmig").await;

    apply(
        ns.name(),
        &[&valid_secret(), &checklist("example.com/web:1.0.0", &app)],
    );
    wait_phase(
        &client,
        ns.name(),
        Phase::Migrating,
        Duration::from_secs(30),
    )
    .await;
    kill_and_restart(&mut operator).await;
    kubectl_wait(ns.name(), "condition=Ready", WITHIN);
    let jobs = job_names(ns.name());
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        outcomes(&client, ns.name()).await,
        [RevisionOutcome::Succeeded]
    );
    ns.finish(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_operator_killed_while_rolling_out_finishes_the_same_rollout() {
    let Scene {
        client,
        ns,
        app,
        mut operator,
    } = Scene::start("killroll").await;

    let image = "example.com/web:1.0.0-chaos-slow-start";
    apply(ns.name(), &[&valid_secret(), &checklist(image, &app)]);
    wait_phase(
        &client,
        ns.name(),
        Phase::RollingOut,
        Duration::from_secs(60),
    )
    .await;
    kill_and_restart(&mut operator).await;
    kubectl_wait(ns.name(), "condition=Ready", WITHIN);
    assert_eq!(deployed_image(ns.name()), image);
    assert_eq!(jobs_named(ns.name(), "-migrate-"), 1);
    // Announced at most once: an Event follows the status write it reports, so a kill between
    // the two loses it (the status still says it), and a restart never repeats it.
    assert!(events_with_reason(ns.name(), "RollingOut") <= 1);
    assert_eq!(
        outcomes(&client, ns.name()).await,
        [RevisionOutcome::Succeeded]
    );
    ns.finish(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_operator_killed_while_verifying_resumes_its_count_and_rolls_back_once() {
    let Scene {
        client,
        ns,
        app,
        mut operator,
    } = ready_scene("killver", "example.com/web:1.0.0").await;

    // Rounds 3 s apart, failing after 4: killed after two failed rounds, the operator must fail
    // the release after two more, not four.
    app.set_mode(Mode::Unhealthy);
    apply(ns.name(), &[&release("example.com/web:2.0.0", &app, 3, 4)]);
    kubectl_wait(ns.name(), "jsonpath={.status.failedRounds}=2", 60);
    operator.kill();
    let before = app
        .state()
        .snapshot()
        .requests
        .get("/health")
        .copied()
        .unwrap_or_default();
    tokio::time::sleep(Duration::from_secs(2)).await;
    operator.restart();
    kubectl_wait(ns.name(), "condition=RolledBack", WITHIN);
    let after = app
        .state()
        .snapshot()
        .requests
        .get("/health")
        .copied()
        .unwrap_or_default();
    println!("rounds after the restart: {}", after - before);
    assert_eq!(
        after - before,
        2,
        "the failed rounds before the kill were not counted"
    );

    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(jobs_named(ns.name(), "-rollback-"), 1);
    assert_eq!(jobs_named(ns.name(), "-migrate-"), 2);
    assert_eq!(events_with_reason(ns.name(), "RolledBack"), 1);
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");
    assert_eq!(
        outcomes(&client, ns.name()).await,
        [RevisionOutcome::Succeeded, RevisionOutcome::RolledBack]
    );
    ns.finish(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_operator_killed_while_rolling_back_rolls_back_once() {
    let Scene {
        client,
        ns,
        app,
        mut operator,
    } = Scene::start("killback").await;
    // A stable version that boots slowly, so restoring it takes a while.
    let stable = "example.com/web:1.0.0-chaos-slow-start";
    apply(ns.name(), &[&valid_secret(), &checklist(stable, &app)]);
    kubectl_wait(ns.name(), "condition=Ready", WITHIN);

    app.set_mode(Mode::Unhealthy);
    apply(ns.name(), &[&release("example.com/web:2.0.0", &app, 1, 2)]);
    wait_phase(
        &client,
        ns.name(),
        Phase::RollingBack,
        Duration::from_secs(60),
    )
    .await;
    kill_and_restart(&mut operator).await;
    kubectl_wait(ns.name(), "condition=RolledBack", WITHIN);
    tokio::time::sleep(Duration::from_secs(3)).await;

    assert_eq!(deployed_image(ns.name()), stable);
    assert_eq!(jobs_named(ns.name(), "-rollback-"), 1);
    assert!(events_with_reason(ns.name(), "RollingBack") <= 1);
    assert_eq!(events_with_reason(ns.name(), "RolledBack"), 1);
    assert_eq!(
        outcomes(&client, ns.name()).await,
        [RevisionOutcome::Succeeded, RevisionOutcome::RolledBack]
    );
    ns.finish(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_failing_release_is_rolled_back_within_interval_times_threshold_plus_slack() {
    // Slack: the rollback write, the Deployment's template change and the down-migration Job
    // becoming visible, plus one round's requests (each check times out in timeoutSeconds at
    // most, here the app answers at once).
    const SLACK: Duration = Duration::from_secs(5);
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = ready_scene("rbbound", "example.com/web:1.0.0").await;

    app.set_mode(Mode::Unhealthy);
    let (interval, threshold) = (2, 3);
    apply(
        ns.name(),
        &[&release("example.com/web:2.0.0", &app, interval, threshold)],
    );
    wait_phase(
        &client,
        ns.name(),
        Phase::Verifying,
        Duration::from_secs(60),
    )
    .await;
    let verifying = Instant::now();
    wait_phase(
        &client,
        ns.name(),
        Phase::RollingBack,
        Duration::from_secs(60),
    )
    .await;
    let took = verifying.elapsed();
    // Rounds run at 0, interval, 2 × interval: the threshold-th failed round ends the release.
    let bound = Duration::from_secs(u64::try_from(interval * (threshold - 1)).unwrap()) + SLACK;
    println!("verification to rollback: {took:?} (bound {bound:?})");
    assert!(took <= bound, "rolled back after {took:?}, over {bound:?}");
    kubectl_wait(ns.name(), "condition=RolledBack", WITHIN);
    ns.finish(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_competing_writer_on_status_and_children_does_not_keep_a_release_from_completing() {
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = ready_scene("compete", "example.com/web:1.0.0").await;

    // Another controller writes the fields the operator owns, with its own field manager, as
    // fast as it can: the checklist's status message and phase, the Deployment's replicas.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (namespace, stop) = (ns.name().to_owned(), std::sync::Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut writes = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let status = json!({"status": {"message": "meddled", "phase": "Pending"}});
                let (a, _) = checklist_testkit::kubectl_in(
                    &namespace,
                    &[
                        "patch",
                        "dcl",
                        "web",
                        "--subresource=status",
                        "--type=merge",
                        "--field-manager=meddler",
                        "-p",
                        &status.to_string(),
                    ],
                );
                let (b, _) = checklist_testkit::kubectl_in(
                    &namespace,
                    &["scale", "deployment", "web", "--replicas=5"],
                );
                writes += usize::from(a) + usize::from(b);
            }
            writes
        })
    };
    apply(ns.name(), &[&release("example.com/web:2.0.0", &app, 1, 2)]);
    tokio::time::sleep(Duration::from_secs(20)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.join().unwrap();
    println!("competing writes: {writes}");
    assert!(writes > 10, "the competing writer did not write: {writes}");

    // Once the competitor stops, the operator's next pass puts its own fields back.
    kubectl_wait(ns.name(), "condition=Ready", WITHIN);
    kubectl_wait(ns.name(), "jsonpath={.status.phase}=Ready", WITHIN);
    assert_eq!(deployed_image(ns.name()), "example.com/web:2.0.0");
    assert_eq!(jobs_named(ns.name(), "-rollback-"), 0);
    assert_eq!(
        outcomes(&client, ns.name()).await,
        [RevisionOutcome::Succeeded, RevisionOutcome::Succeeded]
    );
    ns.finish(&client).await;
}
