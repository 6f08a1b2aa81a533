//! Benchmark on the local control plane (`dev/cluster up`): from a failed verification verdict
//! to the rollback's Deployment write. Prints figures; asserts nothing about them.
//!
//! The checklist `web` is Ready on 1.0.0; the test app turns Unhealthy and 2.0.0 is applied with
//! failureThreshold 1. Measured from the timestamp of the operator's JSON log line
//! "verification round" with verdict Failed to the receipt of the Deployment modification that
//! puts 1.0.0 back (a watch on Deployments), same machine, same clock; then the app is healthy
//! again, 1.0.0 applied, Ready, and the next round starts.
//!
//! Then the same at a canary step: `web` runs Canary (50% paused, then 100%) and the canary's
//! checks fail; measured to the receipt of the app's Service back on the stable revision only,
//! the restore's first write.
//!
//! Run: `eval "$(dev/cluster env)" && cargo bench --bench rollback_latency`. Environment:
//! - `BENCH_SAMPLES=N` rollbacks (default 20).
//! - `BENCH_VERBOSE=1` prints each round's operator log lines from the verdict to the rollback
//!   apply; `BENCH_OPERATOR_LOG=info,kube_client=debug` (the operator's RUST_LOG) adds each API
//!   request and its duration.
//! - `BENCH_TRACES=1` sends every trace to a real Jaeger (`dev/jaeger`): what tracing costs.

// A benchmark may unwrap: a panic is how it says its set-up failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use checklist_operator::api::{DeploymentChecklist, Phase};
use checklist_testapp::{Mode, RunningApp};
use checklist_testkit::{
    Operator, TestNamespace, apply_checklist,
    jaeger::{bench_traces, otlp_args},
    operator::{bench_log_filter, epoch_nanos, print_timeline},
    ready_cluster, start_app,
    stats::{Stats, env_number, header},
    wait_phase,
    watch::{Watch, deployment_image, selected_revision},
};
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Service};
use kube::Api;
use serde_json::{Value, json};

/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(60);
const STABLE: &str = "example.com/web:1.0.0";
const BROKEN: &str = "example.com/web:2.0.0";

/// The checklist `web`: one replica, no migration, one health check against the test app, one
/// failed round is a failed verdict.
fn checklist(image: &str, app: &RunningApp) -> Value {
    json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {"name": "web"},
        "spec": {
            "app": {"image": image, "replicas": 1, "port": 8080},
            "verification": {
                "url": app.url(),
                "initialDelaySeconds": 0,
                "intervalSeconds": 1,
                "failureThreshold": 1,
                "timeoutSeconds": 3,
                "checks": [
                    {"name": "health", "http": {"path": "/health", "expectStatus": [200]}},
                ],
            },
            "rollback": {"automatic": true},
        }
    })
}

fn main() {
    checklist_testkit::block_on(run());
}

async fn run() {
    let samples = env_number("BENCH_SAMPLES").unwrap_or(20).max(1) as usize;
    let verbose = std::env::var_os("BENCH_VERBOSE").is_some();
    let log_filter = bench_log_filter();
    let (client, version) = ready_cluster().await;
    println!("failed verification verdict → rollback Deployment write");
    println!(
        "  API server {version}; {samples} rollbacks: Ready on {STABLE}, test app Unhealthy, \
         apply {BROKEN} (failureThreshold 1); from the operator's 'verification round' \
         verdict=Failed log timestamp to the watch receipt of the Deployment back on {STABLE}"
    );
    println!("  percentiles are nearest-rank: p99 of fewer than 100 samples is the largest one");

    let jaeger = bench_traces();
    if let Some(jaeger) = &jaeger {
        println!(
            "  tracing on: every trace sent to Jaeger at {}",
            jaeger.otlp_endpoint()
        );
    }
    let ns = TestNamespace::create(&client, "bench-rollback").await;
    let app = start_app().await;
    let operator = Operator::launch(ns.name(), &otlp_args(jaeger.as_ref()), &log_filter);
    let checklists: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let mut deployments = Watch::start(
        Api::<Deployment>::namespaced(client.clone(), ns.name()),
        "Deployment",
        deployment_image,
    )
    .await;

    app.set_mode(Mode::Healthy);
    apply_checklist(&checklists, &checklist(STABLE, &app)).await;
    wait_phase(&client, ns.name(), "web", Phase::Ready, WAIT).await;

    let mut totals = Vec::new();
    let mut via_receipt = Vec::new();
    let (mut to_plan, mut to_applied, mut to_watch) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..samples {
        app.set_mode(Mode::Unhealthy);
        deployments.drain();
        let mark = operator.len();
        apply_checklist(&checklists, &checklist(BROKEN, &app)).await;
        let mut rolled_out = false;
        let restored = deployments
            .next_matching(
                &format!("round {i}: the Deployment back on {STABLE} after {BROKEN}"),
                WAIT,
                |s| {
                    if s.name != "web" || s.event != "MODIFIED" {
                        return false;
                    }
                    match s.detail.as_deref() {
                        Some(BROKEN) => {
                            rolled_out = true;
                            false
                        }
                        Some(STABLE) => rolled_out,
                        _ => false,
                    }
                },
            )
            .await;
        let (verdict_index, verdict) = operator
            .failed_verdict(
                "web",
                &format!("round {i}: 'verification round' log line with verdict Failed"),
                mark,
            )
            .await;
        let nanos = epoch_nanos(restored.wall) - verdict.timestamp_nanos();
        if nanos < 0 {
            println!(
                "  note: round {i}: the rollback write was received {:.1}ms BEFORE the verdict's timestamp",
                -nanos as f64 / 1e6
            );
        }
        totals.push(Duration::from_nanos(nanos.max(0) as u64));
        via_receipt.push(
            restored
                .wall
                .duration_since(verdict.received)
                .unwrap_or_default(),
        );
        // The reconcile that planned the restore, and its apply of the Deployment.
        let (plan_index, plan) = operator
            .wait_for_line(
                &format!("round {i}: 'plan' log line with RestoreStable"),
                Duration::from_secs(5),
                verdict_index,
                |l| {
                    l.message() == Some("plan")
                        && l.field("changes")
                            .is_some_and(|a| a.contains("RestoreStable"))
                },
            )
            .await;
        let (applied_index, applied) = operator
            .wait_for_line(
                &format!("round {i}: 'applied' log line of the Deployment"),
                Duration::from_secs(5),
                plan_index,
                |l| l.message() == Some("applied") && l.field("kind") == Some("Deployment"),
            )
            .await;
        if verbose {
            print_timeline(
                &format!("round {i}: operator log from the verdict to the rollback apply"),
                verdict.timestamp_nanos(),
                &operator.lines_since(verdict_index)[..=applied_index - verdict_index],
                |_, _| true,
            );
        }
        let span = |from: i128, to: i128| Duration::from_nanos((to - from).max(0) as u64);
        to_plan.push(span(verdict.timestamp_nanos(), plan.timestamp_nanos()));
        to_applied.push(span(plan.timestamp_nanos(), applied.timestamp_nanos()));
        to_watch.push(span(applied.timestamp_nanos(), epoch_nanos(restored.wall)));
        wait_phase(&client, ns.name(), "web", Phase::RolledBack, WAIT).await;

        app.set_mode(Mode::Healthy);
        apply_checklist(&checklists, &checklist(STABLE, &app)).await;
        wait_phase(&client, ns.name(), "web", Phase::Ready, WAIT).await;
    }
    // Second verdicts, warnings: anything the reader should know.
    let lines = operator.lines_since(0);
    let failed_verdicts = lines
        .iter()
        .filter(|l| {
            l.message() == Some("verification round") && l.field("verdict") == Some("Failed")
        })
        .count();
    let warnings = lines
        .iter()
        .filter(|l| {
            l.field("level")
                .is_some_and(|v| v == "WARN" || v == "ERROR")
        })
        .count();
    println!(
        "  operator log: {} lines, {failed_verdicts} Failed verdicts for {samples} rollbacks, {warnings} WARN/ERROR",
        lines.len(),
    );
    drop(deployments);
    let requests = operator.requests_per_reconcile().await;
    drop(operator);
    app.shutdown().await;
    ns.finish(&client).await;

    let total = Stats::of(&totals);
    println!("  operator: {requests}");
    println!("{}", header());
    println!(
        "{}",
        total.row("verdict log timestamp → Deployment back on 1.0.0")
    );
    println!(
        "{}",
        Stats::of(&to_plan).row("  of which verdict → 'plan' log line (RestoreStable)")
    );
    println!(
        "{}",
        Stats::of(&to_applied).row("  of which 'plan' → 'applied' Deployment log line")
    );
    println!(
        "{}",
        Stats::of(&to_watch).row("  of which 'applied' → watch receipt")
    );
    println!(
        "{}",
        Stats::of(&via_receipt).row("verdict log line received → Deployment back")
    );
    println!("  p99 {}", goal(total.p99));

    canary(&client, samples, &log_filter).await;
}

/// "{p99}ms (goal ≤ 25ms: met|NOT met)": the goal of the issue on rollback latency, to be
/// judged over at least 200 samples.
fn goal(p99: Duration) -> String {
    format!(
        "{:.1}ms (goal ≤ 25ms: {})",
        p99.as_secs_f64() * 1e3,
        if p99 <= Duration::from_millis(25) {
            "met"
        } else {
            "NOT met"
        }
    )
}

/// The same at a canary step: `web` Canary (50% paused, then 100%), the canary's checks against
/// a second test app that turns Unhealthy. From the verdict to the watch receipt of the restore's
/// first write, the app's Service back on the stable revision only (the canary pods stop taking
/// users' requests there); the canary Deployment's deletion follows it.
async fn canary(client: &kube::Client, samples: usize, log_filter: &str) {
    println!();
    println!("failed verification verdict at a canary step → restore written");
    println!(
        "  {samples} rollbacks: Ready on {STABLE}, Canary 50% then 100%, the canary's test app \
         Unhealthy, apply {BROKEN}; from the 'verification round' verdict=Failed log timestamp to \
         the watch receipt of the app's Service back on the stable revision"
    );
    let ns = TestNamespace::create(client, "bench-canary").await;
    let (stable_app, canary_app) = (start_app().await, start_app().await);
    let jaeger = bench_traces();
    let operator = Operator::launch(ns.name(), &otlp_args(jaeger.as_ref()), log_filter);
    let checklists: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let mut services = Watch::start(
        Api::<Service>::namespaced(client.clone(), ns.name()),
        "Service",
        selected_revision,
    )
    .await;
    let spec = |image: &str| {
        let mut value = checklist(image, &stable_app);
        value["spec"]["rollout"] = json!({"strategy": "Canary", "canary": {"steps": [
            {"weight": 50, "pauseSeconds": 600}, {"weight": 100},
        ]}});
        value["spec"]["verification"]["canaryURL"] = json!(canary_app.url());
        value
    };
    apply_checklist(&checklists, &spec(STABLE)).await;
    let ready = wait_phase(client, ns.name(), "web", Phase::Ready, WAIT).await;
    let stable_hash = ready
        .status
        .and_then(|s| s.revision)
        .and_then(|r| r.current)
        .map(|c| c.hash)
        .unwrap();
    canary_app.set_mode(Mode::Unhealthy);
    let mut totals = Vec::new();
    for i in 0..samples {
        services.drain();
        let mark = operator.len();
        apply_checklist(&checklists, &spec(BROKEN)).await;
        let mut opened = false;
        let restored = services
            .next_matching(
                &format!("round {i}: the app's Service back on the stable revision"),
                WAIT,
                |s| {
                    if s.name != "web" || s.event != "MODIFIED" {
                        return false;
                    }
                    match s.detail.as_deref() {
                        Some("*") => {
                            opened = true;
                            false
                        }
                        Some(revision) => opened && revision == stable_hash,
                        None => false,
                    }
                },
            )
            .await;
        let (_, verdict) = operator
            .failed_verdict(
                "web",
                &format!("round {i}: 'verification round' log line with verdict Failed"),
                mark,
            )
            .await;
        let nanos = epoch_nanos(restored.wall) - verdict.timestamp_nanos();
        totals.push(Duration::from_nanos(nanos.max(0) as u64));
        wait_phase(client, ns.name(), "web", Phase::RolledBack, WAIT).await;
        apply_checklist(&checklists, &spec(STABLE)).await;
        wait_phase(client, ns.name(), "web", Phase::Ready, WAIT).await;
    }
    drop(services);
    let requests = operator.requests_per_reconcile().await;
    drop(operator);
    stable_app.shutdown().await;
    canary_app.shutdown().await;
    ns.finish(client).await;
    let total = Stats::of(&totals);
    println!("  operator: {requests}");
    println!("{}", header());
    println!(
        "{}",
        total.row("verdict log timestamp → app Service on stable only")
    );
    println!("  p99 {}", goal(total.p99));
}
