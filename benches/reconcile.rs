//! Benchmark of the reconciler on the local control plane (`dev/cluster up`), printing figures
//! (no assertions on them):
//!
//! 1. apply → migration Job: from the return of the create call of a DeploymentChecklist with a
//!    migration to the receipt of the Job's ADDED event on a watch started before the apply;
//!    beside it kube-controller-manager's own Deployment → ReplicaSet latency measured the same
//!    way, the two kinds of samples alternating so both see the same load.
//! 2. failed verdict → rollback write: from the timestamp of the operator's JSON log line
//!    "verification round" with verdict Failed to the receipt of the Deployment modification
//!    that puts the stable image back (a watch on Deployments), same machine, same clock.
//! 3. idle writes: every ADDED/MODIFIED/DELETED of DeploymentChecklists, Deployments, Services,
//!    Jobs, ControllerRevisions and events.k8s.io Events in the namespace during a window after
//!    100 checklists (no migration, no checks) are Ready, and their resourceVersions before and
//!    after.
//!
//! Run: `eval "$(dev/cluster env)" && cargo bench --bench reconcile`. `cargo bench` builds the
//! operator binary too (Cargo builds a package's binaries for its benches); it is started as a
//! child process `checklist-operator run --namespace NS`, one per part, each part in its own
//! namespace labelled `checklist.dev/e2e=true` and deleted at the end, also on a panic.
//!
//! Environment:
//! - `BENCH_SAMPLES=N` shrinks every count for a quick try: N applies of each kind (part 1), N
//!   rollbacks (part 2), N idle checklists (part 3). Defaults: 60, 20, 100.
//! - `BENCH_IDLE_SECONDS` the idle window of part 3 (default 60).
//! - `BENCH_SETTLE_SECONDS` the pause between all 100 Ready and the idle window (default 10),
//!   while kube-controller-manager finishes writing its own Events for the new Deployments.
//! - `BENCH_APPLY_PAUSE_MS` the pause after each pair of part-1 samples (default 1000). Without
//!   it the samples' follow-on work (Job and app pods, ReplicaSets, Events) saturates
//!   kube-controller-manager within a few samples (its client-side rate limit is 20 QPS, burst
//!   30, by default), and its Deployment → ReplicaSet latency becomes a queueing delay of hundreds
//!   of milliseconds: a baseline that flatters the operator.
//! - `BENCH_PARTS` which parts to run, e.g. `1,3` (default all).
//! - `BENCH_VERBOSE=1` prints every sample of part 1 with the operator's requests for it, and
//!   each round of part 2 with the operator's log lines from the verdict to the rollback apply;
//!   `BENCH_OPERATOR_LOG=info,kube_client=debug` (the operator's RUST_LOG, default
//!   `info,kube=warn`) adds each API request and its duration.

// A benchmark may unwrap: a panic is how it says its set-up failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    fmt::Debug,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use checklist_operator::api::{DeploymentChecklist, Phase};
use checklist_testapp::{Config, Mode, RunningApp};
use futures::StreamExt;
use k8s_openapi::{
    api::{
        apps::v1::{ControllerRevision, Deployment, ReplicaSet},
        batch::v1::Job,
        core::v1::{Namespace, Service},
        events::v1::Event,
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    jiff::Timestamp,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams},
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Label on every namespace the benchmark creates, as on the end-to-end tests' namespaces, so
/// leftovers of a killed run can be swept.
const E2E_LABEL: &str = "checklist.dev/e2e";
/// The DeploymentChecklist CRD's name.
const CRD_NAME: &str = "deploymentchecklists.checklist.dev";
/// The label naming a checklist on the objects it owns.
const CHECKLIST_LABEL: &str = "checklist.dev/checklist";
/// The field manager of the benchmark's own applies.
const BENCH_MANAGER: &str = "checklist-bench";
/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(60);
/// Samples of each kind in part 1 that are taken but not counted (cold caches, first requests).
const WARM_UP: usize = 3;

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    apply_samples: usize,
    rollback_samples: usize,
    idle_checklists: usize,
    idle_window: Duration,
    /// The pause between all Ready and the idle window.
    settle: Duration,
    /// Pause after each pair of part-1 samples.
    apply_pause: Duration,
    parts: Vec<u8>,
    verbose: bool,
}

impl Settings {
    fn from_env() -> Self {
        let number = |name: &str| -> Option<usize> {
            let value = std::env::var(name).ok()?;
            Some(
                value
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
            )
        };
        let samples = number("BENCH_SAMPLES").map(|n| n.max(1));
        let parts = std::env::var("BENCH_PARTS")
            .map(|v| {
                v.split(',')
                    .map(|p| {
                        p.trim()
                            .parse()
                            .unwrap_or_else(|_| panic!("BENCH_PARTS={v:?}: expected e.g. 1,3"))
                    })
                    .collect()
            })
            .unwrap_or_else(|_| vec![1, 2, 3]);
        Self {
            apply_samples: samples.unwrap_or(60),
            rollback_samples: samples.unwrap_or(20),
            idle_checklists: samples.unwrap_or(100),
            idle_window: Duration::from_secs(number("BENCH_IDLE_SECONDS").unwrap_or(60) as u64),
            settle: Duration::from_secs(number("BENCH_SETTLE_SECONDS").unwrap_or(10) as u64),
            apply_pause: Duration::from_millis(
                number("BENCH_APPLY_PAUSE_MS").unwrap_or(1000) as u64
            ),
            parts,
            verbose: std::env::var_os("BENCH_VERBOSE").is_some(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// Nearest-rank percentile of sorted samples: the smallest sample with at least p of them at or
/// below it (so p99 of fewer than 100 samples is the largest).
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[derive(Clone, Copy)]
struct Stats {
    n: usize,
    min: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    mean: Duration,
}

impl Stats {
    fn of(samples: &[Duration]) -> Self {
        assert!(!samples.is_empty(), "no samples");
        let mut sorted = samples.to_vec();
        sorted.sort();
        Self {
            n: sorted.len(),
            min: sorted[0],
            p50: percentile(&sorted, 0.50),
            p99: percentile(&sorted, 0.99),
            max: sorted[sorted.len() - 1],
            mean: sorted.iter().sum::<Duration>() / sorted.len() as u32,
        }
    }

    fn row(&self, label: &str) -> String {
        format!(
            "  {label:<52} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9}",
            self.n,
            ms(self.min),
            ms(self.p50),
            ms(self.mean),
            ms(self.p99),
            ms(self.max),
        )
    }
}

fn header() -> String {
    format!(
        "  {:<52} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "", "n", "min", "p50", "mean", "p99", "max"
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1}ms", d.as_secs_f64() * 1e3)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

// ---------------------------------------------------------------------------------------------
// Cluster helpers

/// `kubectl` from PATH (`eval "$(dev/cluster env)"` puts the cluster's version first).
fn kubectl() -> Command {
    Command::new("kubectl")
}

/// Installs the committed CRD when the cluster does not have it, and waits until it is
/// Established.
async fn ensure_crd(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    if crds.get_opt(CRD_NAME).await.unwrap().is_none() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds/deploymentchecklist.yaml");
        let out = kubectl()
            .args([
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager=checklist-install",
                "-f",
            ])
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("cannot run kubectl (eval \"$(dev/cluster env)\"): {e}"));
        assert!(
            out.status.success(),
            "the CRD was refused:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!("installed the CRD from {}", file.display());
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let crd = crds.get(CRD_NAME).await.unwrap();
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the CRD {CRD_NAME} was not Established within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A namespace that lives as long as one part: deleted by [`finish`](Self::finish), or on drop
/// (also when the part panics).
struct TestNamespace {
    name: String,
    client: Client,
    deleted: bool,
}

impl TestNamespace {
    async fn create(client: &Client, prefix: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() % 1_000_000)
            .unwrap_or_default();
        let name = format!(
            "{prefix}-{millis}-{}",
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let namespace: Namespace = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {E2E_LABEL: "true"}}
        }))
        .unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("cannot create namespace {name}: {e}"));
        Self {
            name,
            client: client.clone(),
            deleted: false,
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    /// Deletes the namespace and waits (bounded) until it is gone, so the next part starts on a
    /// quiet cluster.
    async fn finish(mut self) {
        let api = Api::<Namespace>::all(self.client.clone());
        self.deleted = true;
        if let Err(error) = api.delete(&self.name, &DeleteParams::background()).await {
            eprintln!("warning: could not delete namespace {}: {error}", self.name);
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if api.get_opt(&self.name).await.ok().flatten().is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!(
            "warning: namespace {} still terminating after 120s; going on",
            self.name
        );
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if self.deleted {
            return;
        }
        // Drop cannot await and the runtime may be unwinding: delete from a fresh thread with
        // its own runtime and client.
        let name = self.name.clone();
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let client = Client::try_default().await.ok()?;
                Api::<Namespace>::all(client)
                    .delete(&name, &DeleteParams::background())
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(deleted, Ok(Some(_))) {
            eprintln!("warning: could not delete namespace {}", self.name);
        } else {
            eprintln!("deleted namespace {}", self.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Watches

/// One watch event as received, with the local clock at receipt.
#[derive(Clone, Debug)]
struct Seen {
    kind: &'static str,
    event: &'static str,
    name: String,
    resource_version: Option<u64>,
    labels: BTreeMap<String, String>,
    /// The first owner reference's name.
    owner: Option<String>,
    /// The newest managedFields entry: manager, operation and subresource. managedFields times
    /// have a one-second granularity, so on a tie the last entry is taken: a heuristic.
    writer: String,
    /// Kind-specific: a Deployment's first container image, an Event's reason and reporter.
    detail: Option<String>,
    at: Instant,
    wall: SystemTime,
}

/// A watch running in a task, delivering [`Seen`]s; stopped on drop.
struct Watch {
    rx: mpsc::UnboundedReceiver<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watch {
    /// Watches `api` from the current resourceVersion: only changes made after this call are
    /// delivered (no initial list). Bookmarks move the resume point and are not delivered.
    async fn start<K>(api: Api<K>, kind: &'static str, detail: fn(&K) -> Option<String>) -> Self
    where
        K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    {
        let list = api.list(&ListParams::default().limit(1)).await.unwrap();
        let mut version = list.metadata.resource_version.unwrap_or_default();
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let params = WatchParams::default().timeout(280);
                let stream = match api.watch(&params, &version).await {
                    Ok(stream) => stream,
                    Err(error) => {
                        eprintln!("warning: watch of {kind} failed, retrying: {error}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                futures::pin_mut!(stream);
                while let Some(item) = stream.next().await {
                    let (event, object) = match item {
                        Ok(WatchEvent::Added(o)) => ("ADDED", o),
                        Ok(WatchEvent::Modified(o)) => ("MODIFIED", o),
                        Ok(WatchEvent::Deleted(o)) => ("DELETED", o),
                        Ok(WatchEvent::Bookmark(b)) => {
                            version = b.metadata.resource_version;
                            continue;
                        }
                        Ok(WatchEvent::Error(status)) => {
                            eprintln!("warning: watch of {kind} ended: {status:?}");
                            break;
                        }
                        Err(error) => {
                            eprintln!("warning: watch of {kind} broke: {error}");
                            break;
                        }
                    };
                    let at = Instant::now();
                    let wall = SystemTime::now();
                    let meta = object.meta();
                    if let Some(v) = &meta.resource_version {
                        version.clone_from(v);
                    }
                    let writer = meta
                        .managed_fields
                        .iter()
                        .flatten()
                        .max_by_key(|m| m.time.as_ref().map(|t| t.0))
                        .map(|m| {
                            format!(
                                "{} {}{}",
                                m.manager.as_deref().unwrap_or("?"),
                                m.operation.as_deref().unwrap_or("?"),
                                m.subresource
                                    .as_deref()
                                    .filter(|s| !s.is_empty())
                                    .map(|s| format!(" /{s}"))
                                    .unwrap_or_default()
                            )
                        })
                        .unwrap_or_else(|| "(no managedFields)".into());
                    let seen = Seen {
                        kind,
                        event,
                        name: object.name_any(),
                        resource_version: meta
                            .resource_version
                            .as_ref()
                            .and_then(|v| v.parse().ok()),
                        labels: meta.labels.clone().unwrap_or_default(),
                        owner: meta
                            .owner_references
                            .as_ref()
                            .and_then(|o| o.first())
                            .map(|o| o.name.clone()),
                        writer,
                        detail: detail(&object),
                        at,
                        wall,
                    };
                    if tx.send(seen).is_err() {
                        return;
                    }
                }
            }
        });
        Self { rx, task }
    }

    /// The next event that `wanted` accepts (others are dropped), or a panic naming `what`
    /// after `timeout`.
    async fn next_matching(
        &mut self,
        what: &str,
        timeout: Duration,
        mut wanted: impl FnMut(&Seen) -> bool,
    ) -> Seen {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(seen)) if wanted(&seen) => return seen,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the watch ended while waiting for {what}"),
                Err(_) => panic!("timed out after {timeout:?} waiting for {what}"),
            }
        }
    }

    /// Everything received so far.
    fn drain(&mut self) -> Vec<Seen> {
        let mut all = Vec::new();
        while let Ok(seen) = self.rx.try_recv() {
            all.push(seen);
        }
        all
    }
}

fn no_detail<K>(_: &K) -> Option<String> {
    None
}

fn deployment_image(deployment: &Deployment) -> Option<String> {
    deployment
        .spec
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .image
        .clone()
}

fn event_detail(event: &Event) -> Option<String> {
    Some(format!(
        "reason={} reporter={} regarding={}",
        event.reason.as_deref().unwrap_or("-"),
        event.reporting_controller.as_deref().unwrap_or("-"),
        event
            .regarding
            .as_ref()
            .map(|r| format!(
                "{}/{}",
                r.kind.as_deref().unwrap_or("?"),
                r.name.as_deref().unwrap_or("?")
            ))
            .unwrap_or_else(|| "-".into()),
    ))
}

// ---------------------------------------------------------------------------------------------
// The operator process

/// One line of the operator's stderr, with the local clock at receipt.
#[derive(Clone)]
struct LogLine {
    received: SystemTime,
    json: Option<Value>,
    raw: String,
}

/// `checklist-operator run` scoped to one namespace, its stderr kept; killed on drop.
struct Operator {
    child: Child,
    lines: Arc<Mutex<Vec<LogLine>>>,
}

/// The operator binary `cargo bench` built beside this benchmark, or a clear panic.
fn operator_binary() -> PathBuf {
    let mut candidates: Vec<PathBuf> = Vec::new();
    // Cargo sets this for benchmarks of a package with a binary target (and builds the binary).
    if let Some(path) = option_env!("CARGO_BIN_EXE_checklist-operator") {
        candidates.push(path.into());
    }
    // This benchmark runs as <target>/<profile>/deps/reconcile-<hash>.
    if let Some(profile_dir) = std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(Path::parent)
        .and_then(Path::parent)
    {
        candidates.push(profile_dir.join("checklist-operator"));
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    candidates.push(target.join("release/checklist-operator"));
    candidates.push(target.join("debug/checklist-operator"));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no checklist-operator binary found (looked at {candidates:?}); \
                 build it with `cargo build --release --bin checklist-operator`"
            )
        })
}

impl Operator {
    async fn start(binary: &Path, namespace: &str) -> Self {
        let mut child = Command::new(binary)
            .args([
                "run",
                "--namespace",
                namespace,
                "--egress-allow-loopback",
                "--log-format",
                "json",
            ])
            .env(
                "RUST_LOG",
                std::env::var("BENCH_OPERATOR_LOG").unwrap_or_else(|_| "info,kube=warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stderr = child.stderr.take().unwrap();
        let lines: Arc<Mutex<Vec<LogLine>>> = Arc::default();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for raw in BufReader::new(stderr).lines().map_while(Result::ok) {
                let received = SystemTime::now();
                let json = serde_json::from_str(&raw).ok();
                sink.lock().unwrap().push(LogLine {
                    received,
                    json,
                    raw,
                });
            }
        });
        let operator = Self { child, lines };
        operator
            .wait_for_line(
                "the operator's 'controller started' log line",
                WAIT,
                0,
                |l| message(l) == Some("controller started"),
            )
            .await;
        operator
    }

    fn len(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    fn lines_since(&self, from: usize) -> Vec<LogLine> {
        self.lines.lock().unwrap()[from..].to_vec()
    }

    /// The first line from index `from` on that `wanted` accepts, waiting for it (bounded).
    async fn wait_for_line(
        &self,
        what: &str,
        timeout: Duration,
        from: usize,
        wanted: impl Fn(&LogLine) -> bool,
    ) -> (usize, LogLine) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((offset, line)) = self
                .lines_since(from)
                .into_iter()
                .enumerate()
                .find(|(_, l)| wanted(l))
            {
                return (from + offset, line);
            }
            if Instant::now() > deadline {
                let tail: Vec<String> = self
                    .lines_since(from)
                    .into_iter()
                    .rev()
                    .take(20)
                    .map(|l| l.raw)
                    .collect();
                panic!(
                    "no {what} within {timeout:?}; last operator lines (newest first):\n{tail:#?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn message(line: &LogLine) -> Option<&str> {
    line.json.as_ref()?.get("message")?.as_str()
}

fn field<'a>(line: &'a LogLine, name: &str) -> Option<&'a str> {
    line.json.as_ref()?.get(name)?.as_str()
}

/// The `timestamp` of a JSON log line (RFC 3339, UTC), in nanoseconds since the epoch.
fn log_time(line: &LogLine) -> i128 {
    let text = field(line, "timestamp")
        .unwrap_or_else(|| panic!("log line without a timestamp: {}", line.raw));
    text.parse::<Timestamp>()
        .unwrap_or_else(|e| panic!("timestamp {text:?} is not RFC 3339: {e}"))
        .as_nanosecond()
}

fn epoch_nanos(time: SystemTime) -> i128 {
    time.duration_since(UNIX_EPOCH).unwrap().as_nanos() as i128
}

// ---------------------------------------------------------------------------------------------
// Objects

fn checklist_api(client: &Client, namespace: &str) -> Api<DeploymentChecklist> {
    Api::namespaced(client.clone(), namespace)
}

fn parse_checklist(value: Value) -> DeploymentChecklist {
    serde_json::from_value(value).unwrap()
}

/// Server-side apply of a checklist as the benchmark's field manager.
async fn apply_checklist(api: &Api<DeploymentChecklist>, value: &Value) {
    let name = value["metadata"]["name"].as_str().unwrap();
    api.patch(
        name,
        &PatchParams::apply(BENCH_MANAGER).force(),
        &Patch::Apply(value),
    )
    .await
    .unwrap_or_else(|e| panic!("cannot apply checklist {name}: {e}"));
}

/// Polls the checklist until it reached `phase` for its current generation (bounded).
async fn wait_phase(api: &Api<DeploymentChecklist>, name: &str, phase: Phase, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let checklist = api.get(name).await.unwrap();
        let status = checklist.status.as_ref();
        if status.and_then(|s| s.phase) == Some(phase)
            && status.and_then(|s| s.observed_generation) == checklist.metadata.generation
        {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{name} did not reach {phase:?} within {timeout:?}; status: {:#?}",
                checklist.status
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Part 1: apply → migration Job beside Deployment → ReplicaSet

struct ApplyLatency {
    operator: Stats,
    kcm: Stats,
}

async fn apply_to_job(client: &Client, binary: &Path, settings: &Settings) -> ApplyLatency {
    let ns = TestNamespace::create(client, "bench-apply").await;
    let operator = Operator::start(binary, ns.name()).await;
    let checklists = checklist_api(client, ns.name());
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

    let total = WARM_UP + settings.apply_samples;
    let mut operator_samples = Vec::new();
    let mut kcm_samples = Vec::new();
    for i in 0..total {
        // Alternate which goes first, so neither kind always follows the other's load.
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for checklist_first in order {
            if checklist_first {
                let name = format!("op-{i:03}");
                let checklist = parse_checklist(json!({
                    "apiVersion": "checklist.dev/v1alpha1",
                    "kind": "DeploymentChecklist",
                    "metadata": {"name": name},
                    "spec": {
                        "app": {"image": "example.com/web:1.0.0", "replicas": 1, "port": 8080},
                        "migration": {"command": ["/app/bin/migrate"], "timeoutSeconds": 120},
                    },
                }));
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
                if settings.verbose {
                    let job_prefix = format!("{name}-migrate-");
                    let (created_index, _) = operator
                        .wait_for_line(
                            "the 'created Job' log line",
                            Duration::from_secs(5),
                            mark,
                            |l| {
                                message(l) == Some("created Job")
                                    && field(l, "job").is_some_and(|j| j.starts_with(&job_prefix))
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
                            None => message(line) == Some("created Job"),
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
                if settings.verbose {
                    println!("    {i:>3} kcm      {}", ms(took));
                }
                if i >= WARM_UP {
                    kcm_samples.push(took);
                }
            }
        }
        tokio::time::sleep(settings.apply_pause).await;
    }
    let errors = operator
        .lines_since(0)
        .iter()
        .filter(|l| field(l, "level").is_some_and(|v| v == "WARN" || v == "ERROR"))
        .count();
    if errors > 0 {
        println!("  note: the operator logged {errors} WARN/ERROR lines during part 1");
    }
    drop(jobs);
    drop(replica_sets);
    drop(operator);
    ns.finish().await;
    ApplyLatency {
        operator: Stats::of(&operator_samples),
        kcm: Stats::of(&kcm_samples),
    }
}

// ---------------------------------------------------------------------------------------------
// Part 2: failed verdict → rollback write

/// The checklist `web` of part 2: one replica, no migration, one health check against the test
/// app, one failed round is a failed verdict.
fn rollback_checklist(image: &str, app: &RunningApp) -> Value {
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

struct RollbackLatency {
    stats: Stats,
    /// Where the time goes, from the operator's own log lines, and the same total measured from
    /// the local receipt of the verdict's log line (a cross-check of its timestamp field).
    steps: Vec<(&'static str, Stats)>,
}

async fn verdict_to_rollback(
    client: &Client,
    binary: &Path,
    settings: &Settings,
) -> RollbackLatency {
    const STABLE: &str = "example.com/web:1.0.0";
    const BROKEN: &str = "example.com/web:2.0.0";
    let ns = TestNamespace::create(client, "bench-rollback").await;
    let app = checklist_testapp::spawn(Config {
        http_listen: Some(([127, 0, 0, 1], 0).into()),
        ..Config::default()
    })
    .await
    .expect("start the test app");
    let operator = Operator::start(binary, ns.name()).await;
    let checklists = checklist_api(client, ns.name());
    let mut deployments = Watch::start(
        Api::<Deployment>::namespaced(client.clone(), ns.name()),
        "Deployment",
        deployment_image,
    )
    .await;

    app.set_mode(Mode::Healthy);
    apply_checklist(&checklists, &rollback_checklist(STABLE, &app)).await;
    wait_phase(&checklists, "web", Phase::Ready, WAIT).await;

    let mut samples = Vec::new();
    let mut via_receipt = Vec::new();
    let (mut to_plan, mut to_applied, mut to_watch) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..settings.rollback_samples {
        app.set_mode(Mode::Unhealthy);
        deployments.drain();
        let mark = operator.len();
        apply_checklist(&checklists, &rollback_checklist(BROKEN, &app)).await;
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
            .wait_for_line(
                &format!("round {i}: 'verification round' log line with verdict Failed"),
                Duration::from_secs(5),
                mark,
                |l| {
                    message(l) == Some("verification round")
                        && field(l, "verdict") == Some("Failed")
                        && field(l, "name") == Some("web")
                },
            )
            .await;
        let nanos = epoch_nanos(restored.wall) - log_time(&verdict);
        if nanos < 0 {
            println!(
                "  note: round {i}: the rollback write was received {:.1}ms BEFORE the verdict's timestamp",
                -nanos as f64 / 1e6
            );
        }
        samples.push(Duration::from_nanos(nanos.max(0) as u64));
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
                    message(l) == Some("plan")
                        && field(l, "actions").is_some_and(|a| a.contains("RestoreStable"))
                },
            )
            .await;
        let (applied_index, applied) = operator
            .wait_for_line(
                &format!("round {i}: 'applied' log line of the Deployment"),
                Duration::from_secs(5),
                plan_index,
                |l| message(l) == Some("applied") && field(l, "kind") == Some("Deployment"),
            )
            .await;
        if settings.verbose {
            print_timeline(
                &format!("round {i}: operator log from the verdict to the rollback apply"),
                log_time(&verdict),
                &operator.lines_since(verdict_index)[..=applied_index - verdict_index],
                |_, _| true,
            );
        }
        let span = |from: i128, to: i128| Duration::from_nanos((to - from).max(0) as u64);
        to_plan.push(span(log_time(&verdict), log_time(&plan)));
        to_applied.push(span(log_time(&plan), log_time(&applied)));
        to_watch.push(span(log_time(&applied), epoch_nanos(restored.wall)));
        wait_phase(&checklists, "web", Phase::RolledBack, WAIT).await;

        app.set_mode(Mode::Healthy);
        apply_checklist(&checklists, &rollback_checklist(STABLE, &app)).await;
        wait_phase(&checklists, "web", Phase::Ready, WAIT).await;
    }
    // Rollback Jobs, second verdicts, warnings: anything the reader should know.
    let lines = operator.lines_since(0);
    let failed_verdicts = lines
        .iter()
        .filter(|l| {
            message(l) == Some("verification round") && field(l, "verdict") == Some("Failed")
        })
        .count();
    let warnings = lines
        .iter()
        .filter(|l| field(l, "level").is_some_and(|v| v == "WARN" || v == "ERROR"))
        .count();
    println!(
        "  operator log of part 2: {} lines, {failed_verdicts} Failed verdicts for {} rollbacks, {warnings} WARN/ERROR",
        lines.len(),
        settings.rollback_samples
    );
    drop(deployments);
    drop(operator);
    app.shutdown().await;
    ns.finish().await;
    RollbackLatency {
        stats: Stats::of(&samples),
        steps: vec![
            (
                "  of which verdict → 'plan' log line (RestoreStable)",
                Stats::of(&to_plan),
            ),
            (
                "  of which 'plan' → 'applied' Deployment log line",
                Stats::of(&to_applied),
            ),
            ("  of which 'applied' → watch receipt", Stats::of(&to_watch)),
            (
                "verdict log line received → Deployment back",
                Stats::of(&via_receipt),
            ),
        ],
    }
}

/// With BENCH_VERBOSE: operator log lines as milliseconds after `start` (epoch nanoseconds),
/// those `keep` accepts (given the request's method and path, for HTTP lines); an HTTP request
/// shows when it ended, with its duration (the operator must run with kube_client at debug
/// level for these, see BENCH_OPERATOR_LOG).
fn print_timeline(
    title: &str,
    start: i128,
    lines: &[LogLine],
    keep: impl Fn(&LogLine, Option<&str>) -> bool,
) {
    println!("  {title}");
    let mut requests: BTreeMap<String, i128> = BTreeMap::new();
    for line in lines {
        let at = (log_time(line) - start) as f64 / 1e6;
        let text = message(line).unwrap_or_default();
        let request = line.json.as_ref().and_then(|j| {
            let span = j.get("span")?;
            let method = span.get("http.method")?.as_str()?;
            let url = span.get("http.url")?.as_str()?;
            let path = url.split_once("/namespaces/").map_or(url, |(_, p)| p);
            Some(format!(
                "{method} {}",
                path.split('?').next().unwrap_or(path)
            ))
        });
        if !keep(line, request.as_deref()) {
            continue;
        }
        match (text, request) {
            ("requesting", Some(request)) => {
                requests.insert(request, log_time(line));
            }
            ("stream closed", Some(request)) => {
                let took = requests
                    .remove(&request)
                    .map(|begun| format!(" ({:.1}ms)", (log_time(line) - begun) as f64 / 1e6))
                    .unwrap_or_default();
                println!("    +{at:>7.1}ms  {request}{took}");
            }
            (_, None) if !text.is_empty() => println!("    +{at:>7.1}ms  {text}"),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Part 3: API writes of idle Ready checklists

struct IdleWrites {
    checklists: usize,
    window: Duration,
    writes: Vec<Seen>,
    changed_resource_versions: usize,
    ready_after: Duration,
    ready_at: Instant,
    operator_lines: Vec<LogLine>,
}

async fn idle_writes(client: &Client, binary: &Path, settings: &Settings) -> IdleWrites {
    let ns = TestNamespace::create(client, "bench-idle").await;
    let operator = Operator::start(binary, ns.name()).await;
    let namespace = ns.name().to_owned();
    let checklists = checklist_api(client, &namespace);
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
    for i in 0..settings.idle_checklists {
        let name = format!("idle-{i:03}");
        let checklist = parse_checklist(json!({
            "apiVersion": "checklist.dev/v1alpha1",
            "kind": "DeploymentChecklist",
            "metadata": {"name": name},
            "spec": {"app": {"image": "example.com/web:1.0.0", "replicas": 1, "port": 8080}},
        }));
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
        if ready == settings.idle_checklists {
            break;
        }
        if Instant::now() > deadline {
            let mut phases: BTreeMap<String, usize> = BTreeMap::new();
            for c in &list.items {
                let phase = format!("{:?}", c.status.as_ref().and_then(|s| s.phase));
                *phases.entry(phase).or_default() += 1;
            }
            panic!(
                "only {ready}/{} checklists Ready within {ready_timeout:?}; phases: {phases:?}",
                settings.idle_checklists
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let ready_after = started.elapsed();
    // kube-controller-manager is still writing its own Events for the 100 Deployments (its
    // client is rate limited); the idle window starts once that has died down.
    tokio::time::sleep(settings.settle).await;
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

    tokio::time::sleep(settings.idle_window).await;
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
    ns.finish().await;
    IdleWrites {
        checklists: settings.idle_checklists,
        window: window_end - ready_at,
        writes,
        changed_resource_versions,
        ready_after,
        ready_at,
        operator_lines,
    }
}

// ---------------------------------------------------------------------------------------------
// Report

/// Whether the operator made this write: its field manager wrote last, or it reported the Event.
fn by_operator(seen: &Seen) -> bool {
    seen.writer.starts_with("checklist-operator ")
        || seen
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("reporter=checklist-operator "))
}

fn print_idle(idle: &IdleWrites) {
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
        let text = message(line).unwrap_or("(not JSON)").to_owned();
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
}

fn main() {
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(settings));
}

async fn run(settings: Settings) {
    let client = match Client::try_default().await {
        Ok(client) => client,
        Err(error) => panic!(
            "the benchmark needs the local control plane: run `dev/cluster up` and \
             `eval \"$(dev/cluster env)\"` first ({error})"
        ),
    };
    let version = client
        .apiserver_version()
        .await
        .unwrap_or_else(|e| panic!("the API server does not answer (dev/cluster status): {e}"));
    let binary = operator_binary();
    ensure_crd(&client).await;
    println!("checklist-operator reconcile benchmark");
    println!(
        "  API server {} ; operator {}",
        version.git_version,
        binary.display()
    );
    println!(
        "  settings: {} applies of each kind (+{WARM_UP} warm-up), {} rollbacks, {} idle checklists for {}s, parts {:?}",
        settings.apply_samples,
        settings.rollback_samples,
        settings.idle_checklists,
        settings.idle_window.as_secs(),
        settings.parts
    );
    println!("  percentiles are nearest-rank: p99 of fewer than 100 samples is the largest one");
    let begun = Instant::now();

    let mut apply = None;
    if settings.parts.contains(&1) {
        println!();
        println!(
            "[1] apply → migration Job, beside kube-controller-manager's Deployment → ReplicaSet"
        );
        println!(
            "  one checklist create and one Deployment create per step, in alternating order, {}ms pause between steps; from the create call's return to the watch receipt of ADDED",
            settings.apply_pause.as_millis()
        );
        let part = apply_to_job(&client, &binary, &settings).await;
        println!("{}", header());
        println!(
            "{}",
            part.operator
                .row("operator: checklist create → migration Job ADDED")
        );
        println!(
            "{}",
            part.kcm.row("kcm: Deployment create → ReplicaSet ADDED")
        );
        println!(
            "  ratio operator/kcm: p50 {:.2}×, p99 {:.2}× (goal ≤ 1.5×)",
            ratio(part.operator.p50, part.kcm.p50),
            ratio(part.operator.p99, part.kcm.p99)
        );
        apply = Some(part);
    }

    let mut rollback = None;
    if settings.parts.contains(&2) {
        println!();
        println!("[2] failed verification verdict → rollback Deployment write");
        println!(
            "  Ready on 1.0.0, test app Unhealthy, apply 2.0.0 (failureThreshold 1): from the operator's 'verification round' verdict=Failed log timestamp to the watch receipt of the Deployment's image back on 1.0.0; then healthy, 1.0.0, Ready again"
        );
        let part = verdict_to_rollback(&client, &binary, &settings).await;
        println!("{}", header());
        println!(
            "{}",
            part.stats
                .row("verdict log timestamp → Deployment back on 1.0.0")
        );
        for (label, stats) in &part.steps {
            println!("{}", stats.row(label));
        }
        rollback = Some(part);
    }

    let mut idle = None;
    if settings.parts.contains(&3) {
        println!();
        println!(
            "[3] API writes while {} Ready checklists sit idle",
            settings.idle_checklists
        );
        println!(
            "  checklists without migration or checks; every ADDED/MODIFIED/DELETED of DeploymentChecklists, Deployments, Services, Jobs, ControllerRevisions and events.k8s.io Events past the resourceVersion of the list that showed all Ready"
        );
        let part = idle_writes(&client, &binary, &settings).await;
        print_idle(&part);
        idle = Some(part);
    }

    println!();
    println!("Summary ({:.0}s in all)", begun.elapsed().as_secs_f64());
    println!(
        "  {:<58} {:>5} {:>10} {:>10}  goal",
        "figure", "n", "p50", "p99"
    );
    let line = |figure: &str, n: String, p50: String, p99: String, goal: &str| {
        println!("  {figure:<58} {n:>5} {p50:>10} {p99:>10}  {goal}");
    };
    if let Some(part) = &apply {
        line(
            "1. checklist create → migration Job ADDED (operator)",
            part.operator.n.to_string(),
            ms(part.operator.p50),
            ms(part.operator.p99),
            "",
        );
        line(
            "   Deployment create → ReplicaSet ADDED (kcm)",
            part.kcm.n.to_string(),
            ms(part.kcm.p50),
            ms(part.kcm.p99),
            "",
        );
        let (r50, r99) = (
            ratio(part.operator.p50, part.kcm.p50),
            ratio(part.operator.p99, part.kcm.p99),
        );
        line(
            "   ratio operator / kcm",
            String::new(),
            format!("{r50:.2}×"),
            format!("{r99:.2}×"),
            &format!(
                "≤ 1.5×: {}",
                if r50 <= 1.5 && r99 <= 1.5 {
                    "met"
                } else {
                    "NOT met"
                }
            ),
        );
    }
    if let Some(part) = &rollback {
        line(
            "2. failed verdict (log timestamp) → rollback write received",
            part.stats.n.to_string(),
            ms(part.stats.p50),
            ms(part.stats.p99),
            &format!(
                "p99 ≤ 100ms: {}",
                if part.stats.p99 <= Duration::from_millis(100) {
                    "met"
                } else {
                    "NOT met"
                }
            ),
        );
    }
    if let Some(part) = &idle {
        let minutes = part.window.as_secs_f64() / 60.0;
        let per_minute = part.writes.len() as f64 / minutes;
        let operator_writes = part.writes.iter().filter(|s| by_operator(s)).count();
        let goal = |ok: bool| format!("0: {}", if ok { "met" } else { "NOT met" });
        line(
            &format!(
                "3. operator API writes/minute, {} idle Ready checklists",
                part.checklists
            ),
            operator_writes.to_string(),
            format!("{:.1}/min", operator_writes as f64 / minutes),
            String::new(),
            &goal(operator_writes == 0),
        );
        line(
            "   all writes seen in the namespace (kcm's included)",
            part.writes.len().to_string(),
            format!("{per_minute:.1}/min"),
            String::new(),
            "",
        );
        line(
            "   checklists whose resourceVersion changed in the window",
            part.changed_resource_versions.to_string(),
            String::new(),
            String::new(),
            &goal(part.changed_resource_versions == 0),
        );
    }
}
