//! `checklist-operator run` as a child process scoped to one namespace, its JSON log kept with
//! the local time each line arrived. When it is dropped outside a panic, every line it logged
//! must be JSON with no key twice: what a log pipeline needs, checked on every run that uses it.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use serde_json::Value;

use crate::{fixtures::repository, json::parse_strict};

/// One line of the operator's stderr, with the local clock at receipt.
#[derive(Clone, Debug)]
pub struct LogLine {
    /// When this process read it.
    pub received: SystemTime,
    /// The line as JSON, when it is JSON.
    pub json: Option<Value>,
    /// The line as written.
    pub raw: String,
}

impl LogLine {
    /// The event's message.
    pub fn message(&self) -> Option<&str> {
        self.field("message")
    }

    /// A top-level string field of the event.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.json.as_ref()?.get(name)?.as_str()
    }
}

/// The operator's log filter in a benchmark: `BENCH_OPERATOR_LOG` (e.g.
/// `info,kube_client=debug` to see every request), else info without kube's own lines.
pub fn bench_log_filter() -> String {
    std::env::var("BENCH_OPERATOR_LOG").unwrap_or_else(|_| "info,kube=warn".into())
}

/// The operator process; killed on drop.
pub struct Operator {
    binary: PathBuf,
    namespace: String,
    extra_args: Vec<String>,
    log_filter: String,
    env: Vec<(String, String)>,
    child: Option<Child>,
    lines: Arc<Mutex<Vec<LogLine>>>,
}

/// The `checklist-operator` binary Cargo built beside the running test or benchmark
/// (`CHECKLIST_OPERATOR_BIN` overrides it), or a panic saying how to build one.
pub fn operator_binary() -> PathBuf {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os("CHECKLIST_OPERATOR_BIN") {
        candidates.push(path.into());
    }
    // Tests and benchmarks run as <target>/<profile>/deps/<name>-<hash>; Cargo builds the
    // package's binaries into <target>/<profile> for them.
    if let Some(profile_dir) = std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(Path::parent)
        .and_then(Path::parent)
    {
        candidates.push(profile_dir.join("checklist-operator"));
    }
    let target = repository().join("target");
    candidates.push(target.join("release/checklist-operator"));
    candidates.push(target.join("debug/checklist-operator"));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no checklist-operator binary found (looked at {candidates:?}); \
                 build it with `cargo build --bin checklist-operator`"
            )
        })
}

impl Operator {
    /// Starts the operator for `namespace`, allowed to verify apps on loopback, serving its
    /// metrics on a free loopback port, logging at info.
    pub fn start(namespace: &str) -> Self {
        Self::start_with(namespace, &[])
    }

    /// [`start`](Self::start) with more flags.
    pub fn start_with(namespace: &str, extra_args: &[&str]) -> Self {
        Self::launch(namespace, extra_args, "info")
    }

    /// Starts the operator for `namespace` with `extra_args` and the log filter `log_filter`
    /// (its RUST_LOG).
    pub fn launch(namespace: &str, extra_args: &[&str], log_filter: &str) -> Self {
        Self::launch_with_env(namespace, extra_args, log_filter, &[])
    }

    /// Starts the operator for every namespace, reconciling only the checklists `selector`
    /// matches: for tests whose checklists span namespaces.
    pub fn start_cluster_wide(selector: &str) -> Self {
        Self::launch("", &["--selector", selector], "info")
    }

    /// [`launch`](Self::launch) with more environment variables (a KUBECONFIG of its own, say).
    pub fn launch_with_env(
        namespace: &str,
        extra_args: &[&str],
        log_filter: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let mut operator = Self {
            binary: operator_binary(),
            namespace: namespace.to_owned(),
            extra_args: extra_args.iter().map(|a| (*a).to_owned()).collect(),
            log_filter: log_filter.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            child: None,
            lines: Arc::default(),
        };
        operator.restart();
        operator
    }

    /// [`start`](Self::start) with another build of the operator (an older release).
    pub fn start_binary(binary: PathBuf, namespace: &str) -> Self {
        let mut operator = Self {
            binary,
            namespace: namespace.to_owned(),
            extra_args: Vec::new(),
            log_filter: "info".to_owned(),
            env: Vec::new(),
            child: None,
            lines: Arc::default(),
        };
        operator.restart();
        operator
    }

    /// Stops the process and starts `binary` in its place with the same flags, as a rolling
    /// update of the operator's Deployment does; the log accumulates.
    pub fn upgrade_to(&mut self, binary: PathBuf) {
        self.terminate();
        self.binary = binary;
        self.restart();
    }

    /// SIGTERM, then waits for the process to exit (it finishes what it is doing). One still
    /// running 30 s later is killed and the test fails: an operator must stop when asked.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status().ok();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while std::time::Instant::now() < deadline {
                if !matches!(child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            child.kill().ok();
            child.wait().ok();
            if !std::thread::panicking() {
                panic!("the operator did not stop within 30 s of SIGTERM");
            }
        }
    }

    /// Starts the process again (after [`kill`](Self::kill)); the log accumulates.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the operator is already running");
        let binary = self.binary.clone();
        let mut child = Command::new(&binary)
            .args([
                "run",
                "--log-format",
                "json",
                "--egress-allow-loopback",
                "--metrics-addr",
                "127.0.0.1:0",
            ])
            // Cluster-wide when no namespace is given (with a --selector in extra_args, so it
            // leaves other tests' checklists alone).
            .args(
                Some(["--namespace", self.namespace.as_str()])
                    .filter(|_| !self.namespace.is_empty())
                    .into_iter()
                    .flatten(),
            )
            .args(&self.extra_args)
            .env("RUST_LOG", &self.log_filter)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::clone(&self.lines);
        std::thread::spawn(move || {
            for raw in BufReader::new(stderr).lines().map_while(Result::ok) {
                let received = SystemTime::now();
                let json = serde_json::from_str(&raw).ok();
                lines.lock().unwrap().push(LogLine {
                    received,
                    json,
                    raw,
                });
            }
        });
        self.child = Some(child);
    }

    /// SIGKILL: the process gets no chance to clean up, as when its node dies.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Waits up to `timeout` for the process to exit on its own; its exit code, or None if it
    /// still runs.
    pub async fn exited(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = self.child.as_mut()?.try_wait().unwrap() {
                self.child = None;
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// The running process's id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the operator runs").id()
    }

    /// The peak resident memory of the running process so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let pid = self.child.as_ref().expect("the operator runs").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    /// How many lines it logged so far: a mark for [`lines_since`](Self::lines_since).
    pub fn len(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Whether it logged nothing yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lines from index `from` on.
    pub fn lines_since(&self, from: usize) -> Vec<LogLine> {
        self.lines.lock().unwrap()[from..].to_vec()
    }

    /// Every line so far, as written.
    pub fn logs(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| l.raw.clone())
            .collect()
    }

    /// Whether a line has `message` as its message.
    pub fn logged(&self, message: &str) -> bool {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.message() == Some(message))
    }

    /// Waits until a line has `message`, or panics after `timeout` with the log.
    pub async fn wait_for_log(&self, message: &str, timeout: Duration) {
        self.wait_for_line(&format!("{message:?}"), timeout, 0, |l| {
            l.message() == Some(message)
        })
        .await;
    }

    /// The first "verification round" line with verdict Failed for checklist `checklist` from
    /// index `from` on, and its index; `what` names the wait in a panic.
    pub async fn failed_verdict(
        &self,
        checklist: &str,
        what: &str,
        from: usize,
    ) -> (usize, LogLine) {
        self.wait_for_line(what, Duration::from_secs(10), from, |l| {
            l.message() == Some("verification round")
                && l.field("verdict") == Some("Failed")
                && l.field("checklist") == Some(checklist)
        })
        .await
    }

    /// The first line from index `from` on that `wanted` accepts, and its index, waiting for it;
    /// panics naming `what`, with the last lines, after `timeout`.
    pub async fn wait_for_line(
        &self,
        what: &str,
        timeout: Duration,
        from: usize,
        wanted: impl Fn(&LogLine) -> bool,
    ) -> (usize, LogLine) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some((offset, line)) = self
                .lines_since(from)
                .into_iter()
                .enumerate()
                .find(|(_, l)| wanted(l))
            {
                return (from + offset, line);
            }
            if tokio::time::Instant::now() > deadline {
                let tail: Vec<String> = self
                    .lines_since(from)
                    .into_iter()
                    .rev()
                    .take(30)
                    .map(|l| l.raw)
                    .collect();
                panic!(
                    "no {what} within {timeout:?}; last operator lines (newest first):\n{}",
                    tail.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The base URL of the metrics and health endpoints of the running process, from its log.
    pub async fn endpoints(&self) -> String {
        let (_, line) = self
            .wait_for_line(
                "line saying where the endpoints are",
                Duration::from_secs(10),
                0,
                |l| l.message() == Some("serving /metrics, /healthz and /readyz"),
            )
            .await;
        format!("http://{}", line.field("addr").unwrap())
    }

    /// What the running process's `/metrics` answers now.
    pub async fn metrics_text(&self) -> String {
        reqwest::get(format!("{}/metrics", self.endpoints().await))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The process's API requests and reconciles so far, from its own metrics, as a line for a
    /// benchmark: "N API requests over M reconciles (R per reconcile): by verb and resource".
    pub async fn requests_per_reconcile(&self) -> String {
        let scrape = crate::exposition::Scrape::parse(&self.metrics_text().await);
        let requests = scrape.sum("checklist_api_requests_total", &[]);
        let reconciles = scrape.sum("checklist_reconciles_total", &[]);
        let by = scrape.by_labels("checklist_api_requests_total", &["verb", "resource"]);
        let mut by: Vec<(String, f64)> = by.into_iter().collect();
        by.sort_by(|a, b| b.1.total_cmp(&a.1));
        let each: Vec<String> = by.iter().map(|(k, v)| format!("{k} {v:.0}")).collect();
        format!(
            "{requests:.0} API requests over {reconciles:.0} reconciles ({:.2} per reconcile): {}",
            requests / reconciles.max(1.0),
            each.join(", ")
        )
    }

    /// Panics unless every line logged so far is a JSON object with no key twice.
    pub fn assert_json_logs(&self) {
        let lines = self.lines.lock().unwrap();
        for (index, line) in lines.iter().enumerate() {
            match parse_strict(&line.raw) {
                Ok(Value::Object(_)) => {}
                Ok(_) => panic!(
                    "operator log line {index} is not a JSON object: {}",
                    line.raw
                ),
                Err(error) => {
                    panic!(
                        "operator log line {index} is not JSON a pipeline can read ({error}): {}",
                        line.raw
                    )
                }
            }
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            self.assert_json_logs();
        }
    }
}

impl LogLine {
    /// The line's `timestamp` (RFC 3339, UTC) in nanoseconds since the epoch.
    pub fn timestamp_nanos(&self) -> i128 {
        let text = self
            .field("timestamp")
            .unwrap_or_else(|| panic!("log line without a timestamp: {}", self.raw));
        text.parse::<k8s_openapi::jiff::Timestamp>()
            .unwrap_or_else(|e| panic!("timestamp {text:?} is not RFC 3339: {e}"))
            .as_nanosecond()
    }
}

/// `time` in nanoseconds since the epoch, to compare with [`LogLine::timestamp_nanos`].
pub fn epoch_nanos(time: SystemTime) -> i128 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
        .unwrap_or_default()
}

/// Prints operator log lines as milliseconds after `start` (epoch nanoseconds), those `keep`
/// accepts (given the request's method and path, for the client's HTTP lines); a request shows
/// when it ended, with its duration. The operator must log `kube_client` at debug level for the
/// requests to appear.
pub fn print_timeline(
    title: &str,
    start: i128,
    lines: &[LogLine],
    keep: impl Fn(&LogLine, Option<&str>) -> bool,
) {
    println!("  {title}");
    let mut requests: std::collections::BTreeMap<String, i128> = Default::default();
    for line in lines {
        let at = (line.timestamp_nanos() - start) as f64 / 1e6;
        let text = line.message().unwrap_or_default();
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
                requests.insert(request, line.timestamp_nanos());
            }
            ("stream closed", Some(request)) => {
                let took = requests
                    .remove(&request)
                    .map(|begun| {
                        format!(" ({:.1}ms)", (line.timestamp_nanos() - begun) as f64 / 1e6)
                    })
                    .unwrap_or_default();
                println!("    +{at:>7.1}ms  {request}{took}");
            }
            (_, None) if !text.is_empty() => println!("    +{at:>7.1}ms  {text}"),
            _ => {}
        }
    }
}
