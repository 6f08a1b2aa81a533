//! Fair shares end to end: one namespace with a hundred hostile checklists (rate-limit checks of
//! a hundred attempts against a login that answers in 1.5 s and never limits, latency bursts)
//! beside one honest checklist in another namespace. The honest one goes Ready and rolls back
//! in about the time it takes alone, because the hostile namespace holds at most its share of
//! the verification rounds in flight, its rounds stop at their time budget, and its requests
//! are paced.
//!
//! One operator watches both namespaces (`--namespace ""`), limited by a label selector to this
//! test's checklists so the other tests' are not its business.

use std::time::{Duration, Instant};

use checklist_operator::api::DeploymentChecklist;
use checklist_testapp::{Config, Mode};
use kube::{Api, api::ListParams};
use serde_json::{Value, json};

use checklist_testkit::{
    Operator, TestNamespace, apply, checklist, client, ensure_crd, start_app, valid_secret,
};

use crate::web::kubectl_wait;

/// Hostile checklists in the hostile namespace.
const HOSTILE: usize = 100;

/// Hostile checklists verifying before the honest one releases: more than the 64 rounds the
/// operator runs at once, so a first-come queue would have none left for the honest one.
const SATURATING: usize = 70;

/// The label that puts a checklist in this test's shard.
const SHARD_LABEL: &str = "checklist.dev/fairness";

/// The honest checklist `web`, labelled into the shard, releasing `image`.
fn honest(image: &str, app: &checklist_testapp::RunningApp, shard: &str) -> Value {
    let mut web = checklist(image, app);
    web["metadata"]["labels"] = json!({ SHARD_LABEL: shard });
    web
}

/// A checklist whose every round costs as much as the CRD allows against a slow app.
fn hostile(i: usize, slow_url: &str, shard: &str) -> Value {
    let latency = |n: usize| json!({"name": format!("page-{n}"), "latency": {"path": "/", "requests": 100, "p95Ms": 10}});
    let mut checks: Vec<Value> = (0..4).map(latency).collect();
    checks.push(json!({"name": "login", "rateLimit": {
        "path": "/users/log_in", "method": "POST", "contentType": "application/json",
        "body": "{\"user\":{\"email\":\"x@x\",\"password\":\"wrong\"}}",
        "attempts": 100, "expectStatus": 429,
    }}));
    json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {"name": format!("greedy-{i}"), "labels": {SHARD_LABEL: shard}},
        "spec": {
            "app": {"image": "example.com/greedy:1.0.0", "replicas": 1, "port": 8080},
            "verification": {
                "url": slow_url,
                "initialDelaySeconds": 0,
                "intervalSeconds": 1,
                "failureThreshold": 100,
                "timeoutSeconds": 30,
                "checks": checks,
            },
            "rollback": {"automatic": false},
        }
    })
}

/// How long `web` takes to meet `condition` after `change` is applied.
fn timed(namespace: &str, objects: &[&Value], condition: &str) -> Duration {
    let started = Instant::now();
    apply(namespace, objects);
    let waited = kubectl_wait(namespace, condition, 240);
    assert!(waited.contains("condition met"), "{waited}");
    started.elapsed()
}

async fn verifying(namespace: &str) -> usize {
    let api: Api<DeploymentChecklist> = Api::namespaced(client().await, namespace);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|c| {
            c.status
                .as_ref()
                .and_then(|s| s.phase)
                .is_some_and(|p| p.to_string() == "Verifying")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_honest_namespace_keeps_its_pace_beside_a_hundred_hostile_checklists() {
    let client = client().await;
    ensure_crd(&client).await;
    let honest_ns = TestNamespace::create(&client, "fair-honest").await;
    let hostile_ns = TestNamespace::create(&client, "fair-hostile").await;
    let app = start_app().await;
    let slow = checklist_testapp::spawn(Config {
        mode: Mode::Slow,
        rate_limit_after: 1_000_000,
        ..Config::default()
    })
    .await
    .unwrap();
    let shard = honest_ns.name().to_string();
    let selector = format!("{SHARD_LABEL}={shard}");
    let mut args = vec!["--selector".to_string(), selector];
    // FAIRNESS_EXTRA_ARGS="--verification-namespace-share=64" shows the same scene without a
    // share per namespace (the first-come queue this test guards against).
    args.extend(
        std::env::var("FAIRNESS_EXTRA_ARGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let operator = Operator::start_with("", &args);
    let ns = honest_ns.name();

    // Alone: the honest release's normal times.
    let ready_alone = timed(
        ns,
        &[
            &valid_secret(),
            &honest("example.com/web:1.0.0", &app, &shard),
        ],
        "condition=Ready",
    );
    app.set_mode(Mode::Unhealthy);
    let rollback_alone = timed(
        ns,
        &[&honest("example.com/web:2.0.0", &app, &shard)],
        "condition=RolledBack",
    );
    app.set_mode(Mode::Healthy);

    // The hostile namespace fills up: wait until its rounds hold their share.
    let greedy: Vec<Value> = (0..HOSTILE)
        .map(|i| hostile(i, &slow.url(), &shard))
        .collect();
    apply(hostile_ns.name(), &greedy.iter().collect::<Vec<_>>());
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut busy = 0;
    while Instant::now() < deadline {
        busy = verifying(hostile_ns.name()).await;
        if busy >= SATURATING {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert!(
        busy >= SATURATING,
        "only {busy} hostile checklists verifying"
    );
    // Long enough for every permit a first-come queue would have handed out to be taken.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let ready_beside = timed(
        ns,
        &[&honest("example.com/web:3.0.0", &app, &shard)],
        "condition=Ready",
    );
    app.set_mode(Mode::Unhealthy);
    let rollback_beside = timed(
        ns,
        &[&honest("example.com/web:4.0.0", &app, &shard)],
        "condition=RolledBack",
    );
    let metrics = operator.metrics_text().await;
    let rounds: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("checklist_verification_rounds_total"))
        .collect();
    println!(
        "honest checklist, alone: Ready in {:.1} s, rolled back in {:.1} s",
        ready_alone.as_secs_f64(),
        rollback_alone.as_secs_f64()
    );
    println!(
        "honest checklist, beside {HOSTILE} hostile checklists ({busy} verifying): Ready in \
         {:.1} s, rolled back in {:.1} s",
        ready_beside.as_secs_f64(),
        rollback_beside.as_secs_f64()
    );
    println!("rounds so far: {rounds:?}");
    // A first-come queue makes the honest round wait for a hostile one to end: 60 s at least
    // (the check budget), 150 s without it. Its share keeps it within its own pace.
    let normal = |alone: Duration| alone * 2 + Duration::from_secs(20);
    assert!(
        ready_beside <= normal(ready_alone),
        "Ready took {ready_beside:?} beside the hostile namespace, {ready_alone:?} alone"
    );
    assert!(
        rollback_beside <= normal(rollback_alone),
        "rollback took {rollback_beside:?} beside the hostile namespace, {rollback_alone:?} alone"
    );
    drop(operator);
    slow.shutdown().await;
    hostile_ns.finish(&client).await;
    honest_ns.finish(&client).await;
}
