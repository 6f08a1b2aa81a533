//! Benchmark on the local control plane (`dev/cluster up`): what Ready checklists cost when
//! nothing changes. Prints figures; asserts nothing about them.
//!
//! N checklists (no migration, no checks) are created and become Ready; after a settling pause,
//! every ADDED/MODIFIED/DELETED of DeploymentChecklists, Deployments, Services, Jobs,
//! ControllerRevisions and events.k8s.io Events in the namespace during a window is counted, with
//! who wrote it, and the checklists' resourceVersions are compared before and after. The window
//! should run past the operator's 5-minute safety-net requeue to show it writes nothing then
//! either.
//!
//! Run: `eval "$(dev/cluster env)" && cargo bench --bench idle_writes`. Environment:
//! - `BENCH_SAMPLES=N` checklists (default 100).
//! - `BENCH_IDLE_SECONDS` the window (default 60).
//! - `BENCH_SETTLE_SECONDS` the pause between all Ready and the window (default 10), while
//!   kube-controller-manager finishes writing its own Events for the new Deployments.

// A benchmark may unwrap: a panic is how it says its set-up failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use checklist_operator::api::{DeploymentChecklist, Phase};
use checklist_testkit::{
    LogLine, Operator, TestNamespace, ready_cluster,
    stats::env_number,
    watch::{Seen, Watch, deployment_image, event_detail, no_detail},
};
use k8s_openapi::api::{
    apps::v1::{ControllerRevision, Deployment},
    batch::v1::Job,
    core::v1::Service,
    events::v1::Event,
};
use kube::{
    Api, ResourceExt,
    api::{ListParams, PostParams},
};
use serde_json::json;

/// What the window saw.
struct IdleWrites {
    checklists: usize,
    window: Duration,
    writes: Vec<Seen>,
    changed_resource_versions: usize,
    ready_after: Duration,
    ready_at: Instant,
    operator_lines: Vec<LogLine>,
}

fn main() {
    checklist_testkit::block_on(run());
}

async fn run() {
    let checklists = env_number("BENCH_SAMPLES").unwrap_or(100).max(1) as usize;
    let window = Duration::from_secs(env_number("BENCH_IDLE_SECONDS").unwrap_or(60));
    let settle = Duration::from_secs(env_number("BENCH_SETTLE_SECONDS").unwrap_or(10));
    let (client, version) = ready_cluster().await;
    println!("API writes while {checklists} Ready checklists sit idle");
    println!(
        "  API server {version}; checklists without migration or checks; every \
         ADDED/MODIFIED/DELETED of DeploymentChecklists, Deployments, Services, Jobs, \
         ControllerRevisions and events.k8s.io Events past the resourceVersion of the list that \
         showed all Ready, for {}s after a {}s pause",
        window.as_secs(),
        settle.as_secs()
    );
    let idle = measure(&client, checklists, window, settle).await;
    print(&idle);
}

async fn measure(
    client: &kube::Client,
    count: usize,
    window: Duration,
    settle: Duration,
) -> IdleWrites {
    let ns = TestNamespace::create(client, "bench-idle").await;
    let operator = Operator::launch(ns.name(), &[], "info,kube=warn");
    let namespace = ns.name().to_owned();
    let checklists: Api<DeploymentChecklist> = Api::namespaced(client.clone(), &namespace);
    // Started before the checklists exist; only events past the Ready moment are counted.
    let mut watches = vec![
        Watch::start(checklists.clone(), "DeploymentChecklist", no_detail).await,
        Watch::start(
            Api::<Deployment>::namespaced(client.clone(), &namespace),
            "Deployment",
            deployment_image,
        )
        .await,
        Watch::start(
            Api::<Service>::namespaced(client.clone(), &namespace),
            "Service",
            no_detail,
        )
        .await,
        Watch::start(
            Api::<Job>::namespaced(client.clone(), &namespace),
            "Job",
            no_detail,
        )
        .await,
        Watch::start(
            Api::<ControllerRevision>::namespaced(client.clone(), &namespace),
            "ControllerRevision",
            no_detail,
        )
        .await,
        Watch::start(
            Api::<Event>::namespaced(client.clone(), &namespace),
            "Event",
            event_detail,
        )
        .await,
    ];

    let started = Instant::now();
    for i in 0..count {
        let name = format!("idle-{i:03}");
        let checklist: DeploymentChecklist = serde_json::from_value(json!({
            "apiVersion": "checklist.dev/v1alpha1",
            "kind": "DeploymentChecklist",
            "metadata": {"name": name},
            "spec": {"app": {"image": "example.com/web:1.0.0", "replicas": 1, "port": 8080}},
        }))
        .unwrap();
        checklists
            .create(&PostParams::default(), &checklist)
            .await
            .unwrap_or_else(|e| panic!("cannot create checklist {name}: {e}"));
    }
    // Ready for the current generation, all of them.
    let ready_timeout = Duration::from_secs(240);
    let deadline = Instant::now() + ready_timeout;
    loop {
        let list = checklists.list(&ListParams::default()).await.unwrap();
        let ready = list
            .items
            .iter()
            .filter(|c| {
                let status = c.status.as_ref();
                status.and_then(|s| s.phase) == Some(Phase::Ready)
                    && status.and_then(|s| s.observed_generation) == c.metadata.generation
            })
            .count();
        if ready == count {
            break;
        }
        if Instant::now() > deadline {
            let mut phases: BTreeMap<String, usize> = BTreeMap::new();
            for c in &list.items {
                let phase = format!("{:?}", c.status.as_ref().and_then(|s| s.phase));
                *phases.entry(phase).or_default() += 1;
            }
            panic!(
                "only {ready}/{count} checklists Ready within {ready_timeout:?}; phases: {phases:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let ready_after = started.elapsed();
    // kube-controller-manager is still writing its own Events for the new Deployments (its
    // client is rate limited); the window starts once that has died down.
    tokio::time::sleep(settle).await;
    let ready_list = checklists.list(&ListParams::default()).await.unwrap();
    let ready_at = Instant::now();
    let ready_version: u64 = ready_list
        .metadata
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .expect("a numeric list resourceVersion");
    let log_mark = operator.len();
    let before: BTreeMap<String, Option<String>> = ready_list
        .items
        .iter()
        .map(|c| (c.name_any(), c.metadata.resource_version.clone()))
        .collect();

    tokio::time::sleep(window).await;
    let window_end = Instant::now();

    let after = checklists.list(&ListParams::default()).await.unwrap();
    let changed_resource_versions = after
        .items
        .iter()
        .filter(|c| before.get(&c.name_any()) != Some(&c.metadata.resource_version))
        .count();
    // Give events written just before the window's end a moment to arrive, then keep only the
    // writes past the Ready list's resourceVersion and received within the window.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let writes: Vec<Seen> = watches
        .iter_mut()
        .flat_map(Watch::drain)
        .filter(|s| match s.resource_version {
            Some(v) => v > ready_version,
            None => s.at > ready_at,
        })
        .filter(|s| s.at <= window_end)
        .collect();
    let operator_lines = operator.lines_since(log_mark);
    drop(watches);
    drop(operator);
    ns.finish(client).await;
    IdleWrites {
        checklists: count,
        window: window_end - ready_at,
        writes,
        changed_resource_versions,
        ready_after,
        ready_at,
        operator_lines,
    }
}

/// Whether the operator made this write: its field manager wrote last, or it reported the Event.
fn by_operator(seen: &Seen) -> bool {
    seen.writer.starts_with("checklist-operator ")
        || seen
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("reporter=checklist-operator "))
}

fn print(idle: &IdleWrites) {
    let minutes = idle.window.as_secs_f64() / 60.0;
    println!(
        "  {} checklists Ready {:.1}s after the first create; idle window {:.1}s",
        idle.checklists,
        idle.ready_after.as_secs_f64(),
        idle.window.as_secs_f64()
    );
    let mut by_kind: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut by_writer: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for s in &idle.writes {
        *by_kind.entry((s.kind, s.event)).or_default() += 1;
        *by_writer.entry((s.kind, s.writer.clone())).or_default() += 1;
    }
    let operator_writes = idle.writes.iter().filter(|s| by_operator(s)).count();
    println!(
        "  writes seen: {} ({:.1}/minute); made by the operator (its field manager or Event reporter): {} ({:.1}/minute)",
        idle.writes.len(),
        idle.writes.len() as f64 / minutes,
        operator_writes,
        operator_writes as f64 / minutes
    );
    for ((kind, event), count) in &by_kind {
        println!("    {kind:<20} {event:<9} {count:>5}");
    }
    if !idle.writes.is_empty() {
        let mut buckets = vec![0usize; (idle.window.as_secs() / 10 + 1) as usize];
        for s in &idle.writes {
            let bucket = (s.at.saturating_duration_since(idle.ready_at).as_secs() / 10) as usize;
            let last = buckets.len() - 1;
            buckets[bucket.min(last)] += 1;
        }
        let shown: Vec<String> = buckets
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{}-{}s:{n}", i * 10, i * 10 + 10))
            .collect();
        println!("  over time after Ready: {}", shown.join("  "));
    }
    if !by_writer.is_empty() {
        println!("  by newest managedFields entry (who wrote last; second-granularity heuristic):");
        for ((kind, writer), count) in &by_writer {
            println!("    {kind:<20} {writer:<48} {count:>5}");
        }
        println!("  first writes (up to 15):");
        for s in idle.writes.iter().take(15) {
            println!(
                "    +{:>6.2}s {:<19} {:<8} {:<12} rv={:<8} {}{}",
                s.at.saturating_duration_since(idle.ready_at).as_secs_f64(),
                s.kind,
                s.event,
                s.name,
                s.resource_version
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                s.writer,
                s.detail
                    .as_deref()
                    .map(|d| format!(" [{d}]"))
                    .unwrap_or_default()
            );
        }
    }
    println!(
        "  checklists whose resourceVersion changed during the window: {}/{}",
        idle.changed_resource_versions, idle.checklists
    );
    let mut messages: BTreeMap<String, usize> = BTreeMap::new();
    for line in &idle.operator_lines {
        let text = line.message().unwrap_or("(not JSON)").to_owned();
        *messages.entry(text).or_default() += 1;
    }
    println!(
        "  operator log lines during the window: {}{}",
        idle.operator_lines.len(),
        if messages.is_empty() {
            ""
        } else {
            ", by message:"
        }
    );
    for (text, count) in &messages {
        println!("    {count:>5}  {text}");
    }
    let goal = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "  operator API writes/minute: {:.1} (goal 0: {}); checklists rewritten: {} (goal 0: {})",
        operator_writes as f64 / minutes,
        goal(operator_writes == 0),
        idle.changed_resource_versions,
        goal(idle.changed_resource_versions == 0)
    );
}
