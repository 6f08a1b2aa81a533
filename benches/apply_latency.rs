//! Benchmark on the local control plane (`dev/cluster up`): how fast the operator answers a new
//! checklist, beside how fast kube-controller-manager answers a new Deployment, measured the same
//! way. Prints figures; asserts nothing about them.
//!
//! From the return of the create call of a DeploymentChecklist with a migration to the receipt
//! of its migration Job's ADDED event on a watch started before; beside it, Deployment create →
//! ReplicaSet ADDED. The two kinds of samples alternate so both see the same load.
//!
//! Run: `eval "$(dev/cluster env)" && cargo bench --bench apply_latency`. Environment:
//! - `BENCH_SAMPLES=N` samples of each kind (default 60, plus 3 warm-up samples not counted).
//! - `BENCH_APPLY_PAUSE_MS` the pause after each pair of samples (default 1000). Without it the
//!   samples' follow-on work (Job and app pods, ReplicaSets, Events) saturates
//!   kube-controller-manager within a few samples (its client-side rate limit is 20 QPS, burst
//!   30, by default), and its latency becomes a queueing delay: a baseline that flatters the
//!   operator.
//! - `BENCH_VERBOSE=1` prints every sample with the operator's requests for it;
//!   `BENCH_OPERATOR_LOG=info,kube_client=debug` (the operator's RUST_LOG) adds each request.
//! - `BENCH_TRACES=1` sends every trace to a real Jaeger (`dev/jaeger`): what tracing costs.

// A benchmark may unwrap: a panic is how it says its set-up failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant, SystemTime};

use checklist_operator::api::DeploymentChecklist;
use checklist_testkit::{
    Operator, TestNamespace,
    jaeger::{bench_traces, otlp_args},
    operator::{bench_log_filter, epoch_nanos, print_timeline},
    ready_cluster,
    stats::{Stats, env_number, header, ms, ratio},
    watch::{Watch, no_detail},
};
use k8s_openapi::api::{
    apps::v1::{Deployment, ReplicaSet},
    batch::v1::Job,
};
use kube::{Api, api::PostParams};
use serde_json::json;

/// The label naming a checklist on the objects it owns.
const CHECKLIST_LABEL: &str = "checklist.dev/checklist";
/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(60);
/// Samples of each kind taken but not counted (cold caches, first requests).
const WARM_UP: usize = 3;

fn main() {
    checklist_testkit::block_on(run());
}

async fn run() {
    let samples = env_number("BENCH_SAMPLES").unwrap_or(60).max(1) as usize;
    let pause = Duration::from_millis(env_number("BENCH_APPLY_PAUSE_MS").unwrap_or(1000));
    let verbose = std::env::var_os("BENCH_VERBOSE").is_some();
    let log_filter = bench_log_filter();
    let (client, version) = ready_cluster().await;
    println!("apply → migration Job, beside kube-controller-manager's Deployment → ReplicaSet");
    println!(
        "  API server {version}; {samples} samples of each kind (+{WARM_UP} warm-up), one \
         checklist create and one Deployment create per step in alternating order, {}ms pause \
         between steps; from the create call's return to the watch receipt of ADDED",
        pause.as_millis()
    );
    println!("  percentiles are nearest-rank: p99 of fewer than 100 samples is the largest one");

    let jaeger = bench_traces();
    if let Some(jaeger) = &jaeger {
        println!(
            "  tracing on: every trace sent to Jaeger at {}",
            jaeger.otlp_endpoint()
        );
    }
    let ns = TestNamespace::create(&client, "bench-apply").await;
    let operator = Operator::launch(ns.name(), &otlp_args(jaeger.as_ref()), &log_filter);
    operator
        .wait_for_line("'controller started' log line", WAIT, 0, |l| {
            l.message() == Some("controller started")
        })
        .await;
    let checklists: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let mut jobs = Watch::start(
        Api::<Job>::namespaced(client.clone(), ns.name()),
        "Job",
        no_detail,
    )
    .await;
    let mut replica_sets = Watch::start(
        Api::<ReplicaSet>::namespaced(client.clone(), ns.name()),
        "ReplicaSet",
        no_detail,
    )
    .await;

    let mut operator_samples = Vec::new();
    let mut kcm_samples = Vec::new();
    for i in 0..WARM_UP + samples {
        // Alternate which goes first, so neither kind always follows the other's load.
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for checklist_first in order {
            if checklist_first {
                let name = format!("op-{i:03}");
                let checklist: DeploymentChecklist = serde_json::from_value(json!({
                    "apiVersion": "checklist.dev/v1alpha1",
                    "kind": "DeploymentChecklist",
                    "metadata": {"name": name},
                    "spec": {
                        "app": {"image": "example.com/web:1.0.0", "replicas": 1, "port": 8080},
                        "migration": {"command": ["/app/bin/migrate"], "timeoutSeconds": 120},
                    },
                }))
                .unwrap();
                let mark = operator.len();
                checklists
                    .create(&PostParams::default(), &checklist)
                    .await
                    .unwrap_or_else(|e| panic!("cannot create checklist {name}: {e}"));
                let created = Instant::now();
                let created_wall = SystemTime::now();
                let seen = jobs
                    .next_matching(&format!("the migration Job of {name}"), WAIT, |s| {
                        s.event == "ADDED"
                            && s.labels.get(CHECKLIST_LABEL).map(String::as_str)
                                == Some(name.as_str())
                    })
                    .await;
                let took = seen.at.saturating_duration_since(created);
                if verbose {
                    let job_prefix = format!("{name}-migrate-");
                    let (created_index, _) = operator
                        .wait_for_line(
                            "the 'created Job' log line",
                            Duration::from_secs(5),
                            mark,
                            |l| {
                                l.message() == Some("created Job")
                                    && l.field("job").is_some_and(|j| j.starts_with(&job_prefix))
                            },
                        )
                        .await;
                    let own = format!("/{name}");
                    print_timeline(
                        &format!(
                            "{i:>3} operator {}: its requests after the create returned",
                            ms(took)
                        ),
                        epoch_nanos(created_wall),
                        &operator.lines_since(mark)[..=created_index - mark],
                        |line, request| match request {
                            Some(request) => request.contains(&own),
                            None => line.message() == Some("created Job"),
                        },
                    );
                }
                if i >= WARM_UP {
                    operator_samples.push(took);
                }
            } else {
                let name = format!("kcm-{i:03}");
                let deployment: Deployment = serde_json::from_value(json!({
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": name, "labels": {"app": name}},
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": {"app": name}},
                        "template": {
                            "metadata": {"labels": {"app": name}},
                            "spec": {"containers": [{"name": "app", "image": "example.com/web:1.0.0"}]},
                        },
                    },
                }))
                .unwrap();
                deployments
                    .create(&PostParams::default(), &deployment)
                    .await
                    .unwrap_or_else(|e| panic!("cannot create Deployment {name}: {e}"));
                let created = Instant::now();
                let seen = replica_sets
                    .next_matching(&format!("the ReplicaSet of Deployment {name}"), WAIT, |s| {
                        s.event == "ADDED" && s.owner.as_deref() == Some(name.as_str())
                    })
                    .await;
                let took = seen.at.saturating_duration_since(created);
                if verbose {
                    println!("    {i:>3} kcm      {}", ms(took));
                }
                if i >= WARM_UP {
                    kcm_samples.push(took);
                }
            }
        }
        tokio::time::sleep(pause).await;
    }
    let warnings = operator
        .lines_since(0)
        .iter()
        .filter(|l| {
            l.field("level")
                .is_some_and(|v| v == "WARN" || v == "ERROR")
        })
        .count();
    if warnings > 0 {
        println!("  note: the operator logged {warnings} WARN/ERROR lines");
    }
    drop(jobs);
    drop(replica_sets);
    let requests = operator.requests_per_reconcile().await;
    drop(operator);
    ns.finish(&client).await;

    let operator = Stats::of(&operator_samples);
    let kcm = Stats::of(&kcm_samples);
    println!("  operator: {requests}");
    println!("{}", header());
    println!(
        "{}",
        operator.row("operator: checklist create → migration Job ADDED")
    );
    println!("{}", kcm.row("kcm: Deployment create → ReplicaSet ADDED"));
    let (r50, r99) = (ratio(operator.p50, kcm.p50), ratio(operator.p99, kcm.p99));
    println!(
        "  ratio operator/kcm: p50 {r50:.2}×, p99 {r99:.2}× (goal ≤ 1.0×: {})",
        if r50 <= 1.0 && r99 <= 1.0 {
            "met"
        } else {
            "NOT met"
        }
    );
}
