//! The run both controllers go through, the same steps in the same order: create in bulk and
//! wait for all healthy; settle; idle; a new image for some; a bad image for a few.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use checklist_testkit::{
    exposition::Scrape,
    process::{Reading, Sampler},
};
use kube::{Api, Client, Resource};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{
    Plan,
    report::{Figures, Shard},
    track::{Tracker, apiserver_requests},
    workload::{create_all, names, patch_all},
};

/// How long after all are healthy the steady memory is read: the allocator and the caches
/// settle, the last Events go out.
const SETTLE: Duration = Duration::from_secs(60);

/// The verbs that write.
const WRITES: [&str; 4] = ["create", "patch", "update", "delete"];

/// One controller under test, and how its apps are written and judged.
pub trait Side {
    /// The app's resource (a DeploymentChecklist, a Rollout).
    type App: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + 'static;
    /// The controller's processes (one per shard).
    fn pids(&self) -> Vec<u32>;
    /// Its own metrics, when it counts its API requests, status writes and reconciles.
    async fn own_metrics(&self) -> Option<Scrape>;
    /// The API of its apps in the run's namespace.
    fn api(&self) -> Api<Self::App>;
    /// App `name` running `replicas` of `image`.
    fn app(&self, name: &str, image: &str, replicas: u32) -> Value;
    /// The merge patch that gives an app `image`.
    fn image_patch(&self, image: &str) -> Value;
    /// Whether an app is healthy at its own generation.
    fn healthy(app: &Self::App) -> bool;
    /// Whether an app has rolled back the image it was last given.
    fn rolled_back(app: &Self::App) -> bool;
}

/// The image every app starts on, the one a tenth moves to, and the one that fails.
const IMAGE: &str = "example.com/web:1.0.0";
const NEW_IMAGE: &str = "example.com/web:1.1.0";
/// Its containers restart for ever (dev/stages/chaos-crash-loop.yaml), as a bad release's do.
const BAD_IMAGE: &str = "example.com/web:2.0.0-chaos-crash-loop";

/// Samples every process of a side: their sum, and each one's.
struct Samplers(Vec<Sampler>);

impl Samplers {
    fn start(pids: &[u32]) -> Self {
        let every = Duration::from_millis(250);
        Self(pids.iter().map(|pid| Sampler::start(*pid, every)).collect())
    }

    /// Every process's latest reading.
    fn each(&self) -> Vec<Reading> {
        self.0.iter().map(Sampler::now).collect()
    }

    /// The processes together (the peak is the sum of each one's peak: an upper bound).
    fn now(&self) -> Reading {
        self.each()
            .iter()
            .fold(Reading::default(), |sum, one| Reading {
                rss_kib: sum.rss_kib + one.rss_kib,
                peak_kib: sum.peak_kib + one.peak_kib,
                cpu_seconds: sum.cpu_seconds + one.cpu_seconds,
            })
    }
}

/// Each shard's figures from its readings at the run's marks.
fn shards(
    before: &[Reading],
    healthy: &[Reading],
    steady: &[Reading],
    idle: (&[Reading], &[Reading]),
    idle_seconds: f64,
) -> Vec<Shard> {
    (0..before.len())
        .map(|i| Shard {
            baseline_mib: mib(before[i].rss_kib),
            steady_mib: mib(steady[i].rss_kib),
            cpu_seconds: healthy[i].cpu_seconds - before[i].cpu_seconds,
            idle_cpu_percent: (idle.1[i].cpu_seconds - idle.0[i].cpu_seconds)
                / idle_seconds.max(f64::EPSILON)
                * 100.0,
            idle_mib: mib(idle.1[i].rss_kib),
        })
        .collect()
}

/// Runs `plan` against `side`.
pub async fn drive<S: Side>(client: &Client, side: &S, plan: &Plan) -> Figures {
    let sampler = Samplers::start(&side.pids());
    let api = side.api();
    let tracker = Tracker::start(api.clone(), S::healthy);
    let (own_before, server_before) = (side.own_metrics().await, apiserver_requests(client).await);
    let before = sampler.now();
    let each_before = sampler.each();
    let cluster_before = cluster_cpu();

    let started = Instant::now();
    let create_seconds = create_all(&api, plan.apps, |i| {
        side.app(&crate::workload::app_name(i), IMAGE, plan.replicas)
    })
    .await;
    let all_healthy = tracker
        .wait_count(plan.apps, started, plan.ready_timeout)
        .await;
    let at_healthy = sampler.now();
    let each_healthy = sampler.each();
    let cluster = checklist_testkit::exposition::delta(&cluster_cpu(), &cluster_before);
    let (own_after, server_after) = (side.own_metrics().await, apiserver_requests(client).await);
    let own = |name: &str| {
        own_before
            .as_ref()
            .zip(own_after.as_ref())
            .map(|(b, a)| a.sum(name, &[]) - b.sum(name, &[]))
    };
    let requests = |by: fn(&Scrape) -> BTreeMap<String, f64>| match (&own_before, &own_after) {
        (Some(b), Some(a)) => checklist_testkit::exposition::delta(&by(a), &by(b)),
        _ => BTreeMap::new(),
    };
    let own_requests = requests(|s| s.by("checklist_api_requests_total", "verb", &[]));
    let own_requests_by_resource =
        requests(|s| s.by_labels("checklist_api_requests_total", &["verb", "resource"]));
    let mut figures = Figures {
        apps: plan.apps,
        create_seconds,
        all_healthy,
        baseline_mib: mib(before.rss_kib),
        cpu_seconds: at_healthy.cpu_seconds - before.cpu_seconds,
        cluster_cpu: cluster,
        own_requests,
        own_requests_by_resource,
        apiserver_requests: checklist_testkit::exposition::delta(&server_after, &server_before),
        status_writes: own("checklist_status_writes_total"),
        reconciles: own("checklist_reconciles_total"),
        changed: plan.changed,
        ..Figures::default()
    };

    tokio::time::sleep(SETTLE).await;
    figures.steady_mib = mib(sampler.now().rss_kib);
    let each_steady = sampler.each();

    let each_idle_start = sampler.each();
    let idle_start = (
        sampler.now(),
        side.own_metrics().await,
        apiserver_requests(client).await,
    );
    let idle_started = Instant::now();
    figures.idle_reconciles_per_second = idle_reconciles(side, plan.idle).await;
    let idle_end = (
        sampler.now(),
        side.own_metrics().await,
        apiserver_requests(client).await,
    );
    figures.idle = idle_started.elapsed();
    if each_before.len() > 1 {
        figures.shards = shards(
            &each_before,
            &each_healthy,
            &each_steady,
            (&each_idle_start, &sampler.each()),
            figures.idle.as_secs_f64(),
        );
    }
    let minutes = figures.idle.as_secs_f64() / 60.0;
    figures.idle_mib = mib(idle_end.0.rss_kib);
    figures.idle_cpu_percent =
        (idle_end.0.cpu_seconds - idle_start.0.cpu_seconds) / figures.idle.as_secs_f64() * 100.0;
    figures.idle_writes_per_minute =
        idle_start
            .1
            .as_ref()
            .zip(idle_end.1.as_ref())
            .map(|(b, a)| {
                WRITES
                    .iter()
                    .map(|verb| {
                        a.sum("checklist_api_requests_total", &[("verb", verb)])
                            - b.sum("checklist_api_requests_total", &[("verb", verb)])
                    })
                    .sum::<f64>()
                    / minutes
            });
    figures.idle_reconciles = idle_start
        .1
        .as_ref()
        .zip(idle_end.1.as_ref())
        .map(|(b, a)| {
            a.sum("checklist_reconciles_total", &[]) - b.sum("checklist_reconciles_total", &[])
        });
    let server_idle = checklist_testkit::exposition::delta(&idle_end.2, &idle_start.2);
    figures.idle_apiserver_writes_per_minute = ["POST", "PATCH", "PUT", "APPLY", "DELETE"]
        .iter()
        .map(|verb| server_idle.get(*verb).copied().unwrap_or(0.0))
        .sum::<f64>()
        / minutes;

    let changed = names(0..plan.changed);
    let patched_at = Instant::now();
    let generations = patch_all(&api, &changed, &side.image_patch(NEW_IMAGE)).await;
    figures.changed_healthy = tracker
        .wait_for(&generations, patched_at, plan.ready_timeout)
        .await;

    if plan.rollbacks > 0 {
        figures.rollbacks = rollbacks(side, &tracker, plan).await;
    }
    figures.peak_mib = mib(sampler.now().peak_kib);
    figures
}

/// A few apps of one replica, healthy on the good image, then given the bad one: how long
/// each took to roll back.
async fn rollbacks<S: Side>(side: &S, tracker: &Tracker, plan: &Plan) -> Vec<Duration> {
    let api = side.api();
    let bad: Vec<String> = (0..plan.rollbacks).map(|i| format!("bad-{i:03}")).collect();
    for name in &bad {
        let object: S::App = serde_json::from_value(side.app(name, IMAGE, 1)).unwrap();
        api.create(&Default::default(), &object).await.unwrap();
    }
    let created: BTreeMap<String, i64> = bad.iter().map(|n| (n.clone(), 1)).collect();
    if tracker
        .wait_for(&created, Instant::now(), Duration::from_secs(300))
        .await
        .is_none()
    {
        return Vec::new();
    }
    let rolled_back = Tracker::start(api.clone(), S::rolled_back);
    let patched_at = Instant::now();
    let generations = patch_all(&api, &bad, &side.image_patch(BAD_IMAGE)).await;
    rolled_back
        .wait_each(&generations, patched_at, Duration::from_secs(600))
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Sleeps through the idle window, counting the controller's reconciles in each second (the
/// 5-minute safety net falls inside a window of 6 minutes); empty when it counts none.
async fn idle_reconciles<S: Side>(side: &S, idle: Duration) -> Vec<f64> {
    let started = Instant::now();
    let mut counts = Vec::new();
    let mut last = side
        .own_metrics()
        .await
        .map(|m| m.sum("checklist_reconciles_total", &[]));
    while started.elapsed() < idle {
        tokio::time::sleep(Duration::from_secs(1).min(idle.saturating_sub(started.elapsed())))
            .await;
        let Some(before) = last else {
            continue;
        };
        let now = side
            .own_metrics()
            .await
            .map_or(before, |m| m.sum("checklist_reconciles_total", &[]));
        counts.push(now - before);
        last = Some(now);
    }
    counts
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// CPU seconds used so far by each process of the run's cluster (`CHECKLIST_CLUSTER`, found by
/// its state directory), summed by program; empty when the cluster is not named.
fn cluster_cpu() -> BTreeMap<String, f64> {
    let Ok(cluster) = std::env::var("CHECKLIST_CLUSTER") else {
        return BTreeMap::new();
    };
    let mut cpu = BTreeMap::new();
    for (program, pid) in checklist_testkit::process::find(&format!("/clusters/{cluster}/")) {
        if let Some(reading) = checklist_testkit::process::read(pid) {
            *cpu.entry(program).or_insert(0.0) += reading.cpu_seconds;
        }
    }
    cpu
}
