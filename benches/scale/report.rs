//! The figures of one controller's run, and the two side by side.

use std::{collections::BTreeMap, time::Duration};

use crate::track::by_count;

/// What one controller's run measured.
#[derive(Debug, Default)]
pub struct Figures {
    /// How many apps.
    pub apps: usize,
    /// Seconds the creates took (the client's side, 32 in flight).
    pub create_seconds: f64,
    /// From the first create until all healthy; None when they were not in time.
    pub all_healthy: Option<Duration>,
    /// Resident memory before the first create, MiB.
    pub baseline_mib: f64,
    /// The largest resident memory seen (VmHWM), MiB; with shards, the sum of each one's.
    pub peak_mib: f64,
    /// Resident memory once all are healthy and a settling minute has passed, MiB.
    pub steady_mib: f64,
    /// Resident memory at the end of the idle window, MiB.
    pub idle_mib: f64,
    /// CPU seconds from start until all healthy.
    pub cpu_seconds: f64,
    /// The CPU seconds of the cluster's processes over the same time, by program (kube-apiserver,
    /// etcd, kube-controller-manager, kwok, a controller run against it): whose limit the time to
    /// all healthy is.
    pub cluster_cpu: BTreeMap<String, f64>,
    /// The controller's own API requests by verb until all healthy, when it counts them.
    pub own_requests: BTreeMap<String, f64>,
    /// The same by `verb resource`.
    pub own_requests_by_resource: BTreeMap<String, f64>,
    /// The API server's requests by verb (every client) until all healthy.
    pub apiserver_requests: BTreeMap<String, f64>,
    /// Status writes until all healthy, when the controller counts them.
    pub status_writes: Option<f64>,
    /// Reconciles until all healthy, when the controller counts them.
    pub reconciles: Option<f64>,
    /// The idle window.
    pub idle: Duration,
    /// Reconciles in the idle window, when the controller counts them.
    pub idle_reconciles: Option<f64>,
    /// Reconciles in each second of the idle window, when the controller counts them.
    pub idle_reconciles_per_second: Vec<f64>,
    /// Share of one core used while idle, percent.
    pub idle_cpu_percent: f64,
    /// The controller's API writes per minute while idle (creates, patches, updates, deletes),
    /// when it counts them.
    pub idle_writes_per_minute: Option<f64>,
    /// The API server's writes per minute while idle (every client).
    pub idle_apiserver_writes_per_minute: f64,
    /// How many got a new image.
    pub changed: usize,
    /// From the first patch until all of them are healthy again.
    pub changed_healthy: Option<Duration>,
    /// Bad image → rolled back, per app.
    pub rollbacks: Vec<Duration>,
    /// Each shard's own figures, when more than one process shares the apps.
    pub shards: Vec<Shard>,
}

/// One shard's (one process's) figures.
#[derive(Debug, Default)]
pub struct Shard {
    /// Resident memory before the first create, MiB.
    pub baseline_mib: f64,
    /// Resident memory a minute after all healthy, MiB.
    pub steady_mib: f64,
    /// Resident memory at the end of the idle window, MiB.
    pub idle_mib: f64,
    /// CPU seconds from start until all healthy.
    pub cpu_seconds: f64,
    /// Share of one core used while idle, percent.
    pub idle_cpu_percent: f64,
}

fn seconds(d: Option<Duration>) -> String {
    d.map_or_else(
        || "not reached".to_owned(),
        |d| format!("{:.1} s", d.as_secs_f64()),
    )
}

/// Prints `figures` of `who`.
pub fn print(who: &str, f: &Figures) {
    println!("\n{who}: {} apps", f.apps);
    println!(
        "  created in             {:.1} s (client side, 32 requests in flight)",
        f.create_seconds
    );
    println!(
        "  all healthy after      {} from the first create",
        seconds(f.all_healthy)
    );
    println!(
        "  memory                 peak {:.1} MiB, steady {:.1} MiB (a minute after all healthy), {:.1} MiB after idling; {:.1} MiB before the first create, so {:.1} KiB per app steady",
        f.peak_mib,
        f.steady_mib,
        f.idle_mib,
        f.baseline_mib,
        (f.steady_mib - f.baseline_mib) * 1024.0 / f.apps.max(1) as f64
    );
    println!("  CPU until all healthy  {:.1} s", f.cpu_seconds);
    if let Some(healthy) = f.all_healthy.filter(|_| !f.cluster_cpu.is_empty()) {
        let wall = healthy.as_secs_f64().max(f64::EPSILON);
        let each: Vec<String> = f
            .cluster_cpu
            .iter()
            .map(|(program, cpu)| {
                format!(
                    "{program} {cpu:.1} s ({:.0}% of a core)",
                    cpu / wall * 100.0
                )
            })
            .collect();
        println!("  cluster CPU            {} (same time)", each.join(", "));
    }
    if !f.own_requests.is_empty() {
        let total: f64 = f.own_requests.values().sum();
        println!(
            "  its API requests       {total:.0} ({:.2} per app): {}",
            total / f.apps.max(1) as f64,
            by_count(&f.own_requests)
        );
        println!(
            "    by resource          {}",
            by_count(&f.own_requests_by_resource)
        );
    }
    println!(
        "  API server requests    {} (every client, until all healthy)",
        by_count(&f.apiserver_requests)
    );
    if let (Some(writes), Some(reconciles)) = (f.status_writes, f.reconciles) {
        println!(
            "  status writes          {writes:.0} ({:.2} per app); reconciles {reconciles:.0} ({:.2} per app)",
            writes / f.apps.max(1) as f64,
            reconciles / f.apps.max(1) as f64
        );
    }
    let writes = f
        .idle_writes_per_minute
        .map_or_else(|| "not counted".to_owned(), |w| format!("{w:.1}"));
    println!(
        "  idle {:>4.0} s            CPU {:.3}% of a core; its writes/minute {writes}; API server writes/minute {:.1} (every client)",
        f.idle.as_secs_f64(),
        f.idle_cpu_percent,
        f.idle_apiserver_writes_per_minute
    );
    if let Some(reconciles) = f.idle_reconciles {
        let busy: Vec<usize> = f
            .idle_reconciles_per_second
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0.0)
            .map(|(i, _)| i)
            .collect();
        let peak = f
            .idle_reconciles_per_second
            .iter()
            .copied()
            .fold(0.0, f64::max);
        println!(
            "  idle reconciles       {reconciles:.0} (the safety net); in {} of {} one-second samples, from second {} to {}, at most {peak:.0} in one",
            busy.len(),
            f.idle_reconciles_per_second.len(),
            busy.first().copied().unwrap_or_default(),
            busy.last().copied().unwrap_or_default()
        );
    }
    for (i, shard) in f.shards.iter().enumerate() {
        println!(
            "  shard {i:<2}               memory {:.1} MiB before, {:.1} MiB steady, {:.1} MiB after idling; CPU until all healthy {:.1} s; idle CPU {:.3}% of a core",
            shard.baseline_mib,
            shard.steady_mib,
            shard.idle_mib,
            shard.cpu_seconds,
            shard.idle_cpu_percent
        );
    }
    println!(
        "  new image for {:<8} healthy again after {}",
        f.changed,
        seconds(f.changed_healthy)
    );
    if !f.rollbacks.is_empty() {
        let stats = checklist_testkit::stats::Stats::of(&f.rollbacks);
        println!(
            "  bad image → rolled back  {} apps: p50 {:.1} s, max {:.1} s",
            stats.n,
            stats.p50.as_secs_f64(),
            stats.max.as_secs_f64()
        );
    }
}

/// "met" or "NOT met".
fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

/// Prints the operator's figures beside the goals set for them: requests per checklist until
/// all are healthy, idle CPU and writes (the window must pass the 30-minute safety net of a
/// settled checklist to count it: `--idle 2000`), and memory at start and per app.
pub fn goals(f: &Figures) {
    println!(
        "
checklist-operator beside its goals"
    );
    if !f.own_requests.is_empty() {
        let per_app = f.own_requests.values().sum::<f64>() / f.apps.max(1) as f64;
        println!(
            "  API requests per app   {per_app:.2} (goal ≤ 10: {})",
            verdict(per_app <= 10.0)
        );
    }
    let writes = f.idle_writes_per_minute.unwrap_or(f64::NAN);
    let net = if f.idle.as_secs() >= 2000 {
        "past the 30-minute safety net"
    } else {
        "shorter than the 30-minute safety net: give --idle 2000 to count it"
    };
    println!(
        "  idle                   {:.3}% of a core, {writes:.1} writes/minute (goal ≤ 1% and 0: {}; {net})",
        f.idle_cpu_percent,
        verdict(f.idle_cpu_percent <= 1.0 && writes == 0.0)
    );
    let per_app = (f.steady_mib - f.baseline_mib) * 1024.0 / f.apps.max(1) as f64;
    if cfg!(debug_assertions) {
        // The operator is the test build (dev/scale --dev-build): its memory says nothing of a
        // release's, so it is not set beside the goal.
        println!(
            "  memory                 {:.1} MiB at start, {per_app:.1} KiB per app steady (the test build: not judged)",
            f.baseline_mib
        );
        return;
    }
    println!(
        "  memory                 {:.1} MiB at start (goal ≤ 8: {}), {per_app:.1} KiB per app steady (goal ≤ 7: {})",
        f.baseline_mib,
        verdict(f.baseline_mib <= 8.0),
        verdict(per_app <= 7.0)
    );
}

/// Prints theirs ÷ ours for each figure both have.
pub fn ratios(ours: &Figures, theirs: &Figures) {
    println!("\nArgo Rollouts ÷ checklist-operator (above 1: we use less or are faster)");
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.1}×", a / b)
        } else {
            "n/a".into()
        }
    };
    println!(
        "  peak memory            {}",
        ratio(theirs.peak_mib, ours.peak_mib)
    );
    let judged = if cfg!(debug_assertions) {
        "our test build: not judged".to_string()
    } else {
        format!(
            "goal ≥ 10×: {}",
            verdict(ours.steady_mib > 0.0 && theirs.steady_mib / ours.steady_mib >= 10.0)
        )
    };
    println!(
        "  steady memory          {} ({judged})",
        ratio(theirs.steady_mib, ours.steady_mib)
    );
    println!(
        "  CPU until all healthy  {}",
        ratio(theirs.cpu_seconds, ours.cpu_seconds)
    );
    if let (Some(a), Some(b)) = (theirs.all_healthy, ours.all_healthy) {
        println!(
            "  time to all healthy    {}",
            ratio(a.as_secs_f64(), b.as_secs_f64())
        );
    }
    if let (Some(a), Some(b)) = (theirs.changed_healthy, ours.changed_healthy) {
        println!(
            "  new image, healthy     {}",
            ratio(a.as_secs_f64(), b.as_secs_f64())
        );
    }
    if !ours.rollbacks.is_empty() && !theirs.rollbacks.is_empty() {
        let p50 = |r: &[Duration]| checklist_testkit::stats::Stats::of(r).p50.as_secs_f64();
        println!(
            "  bad image → rollback   {} (p50)",
            ratio(p50(&theirs.rollbacks), p50(&ours.rollbacks))
        );
    }
}
