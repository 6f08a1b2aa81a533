//! A real Jaeger on loopback for the tracing tests: the binary `dev/jaeger` builds from its
//! published Go module (JAEGER_VERSION in dev/versions.env; Jaeger v2, on the OpenTelemetry
//! collector), started with an in-memory store, OTLP/HTTP in and the query API out on free
//! ports of 127.0.0.1, and killed, its directory removed, when dropped.
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use checklist_testkit::Jaeger;
//!
//! let jaeger = Jaeger::start();
//! // ... run the operator with --otlp-endpoint jaeger.otlp_endpoint() ...
//! let traces = jaeger
//!     .wait_for_traces("checklist-operator", "reconcile", &[], Duration::from_secs(30), |t| !t.is_empty())
//!     .await;
//! # }
//! ```

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::toolchain::{cached_binary, pinned, spawn_logged, temp_dir};

/// How long [`Jaeger::start`] waits for the query API to answer.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A Jaeger process on 127.0.0.1; killed, and its directory removed, on drop.
pub struct Jaeger {
    child: Child,
    dir: PathBuf,
    otlp: String,
    query: String,
    log: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

/// The Jaeger version dev/versions.env pins.
pub fn jaeger_version() -> String {
    pinned("JAEGER_VERSION")
}

/// The Jaeger binary: `CHECKLIST_JAEGER_BIN`, else the one `dev/jaeger --path` builds into the
/// toolchain cache; a panic saying how to build it when there is none.
pub fn jaeger_binary() -> PathBuf {
    cached_binary(
        "jaeger",
        "Jaeger",
        &jaeger_version(),
        "CHECKLIST_JAEGER_BIN",
    )
}

/// Two distinct ports of 127.0.0.1 free a moment ago. Jaeger does not report the port it
/// picked for port 0, so the test picks; another process taking one in between fails the start
/// loudly.
fn free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1");
    let (a, b) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("a bound address").port();
    (port(&a), port(&b))
}

/// The collector's configuration: OTLP/HTTP on `otlp`, the query API on `query` (its gRPC
/// twin on a port of the kernel's choice), traces kept in memory; nothing on other addresses.
fn config(otlp: u16, query: u16) -> String {
    format!(
        "service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:{query}
    grpc:
      endpoint: 127.0.0.1:0
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"
    )
}

impl Jaeger {
    /// Starts Jaeger on free ports of 127.0.0.1 and waits until its query API answers (at
    /// most [`START_TIMEOUT`]); panics with its log otherwise.
    pub fn start() -> Self {
        let binary = jaeger_binary();
        let (otlp, query) = free_ports();
        let dir = temp_dir("jaeger");
        std::fs::write(dir.join("jaeger.yaml"), config(otlp, query)).unwrap();
        let mut command = Command::new(&binary);
        command
            .arg(format!("--config={}", dir.join("jaeger.yaml").display()))
            .current_dir(&dir);
        let (child, log) = spawn_logged(command, &binary, |_| {});
        // Idempotent; needed before the first reqwest client of a process that made none yet.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let mut jaeger = Jaeger {
            child,
            dir,
            otlp: format!("http://127.0.0.1:{otlp}"),
            query: format!("http://127.0.0.1:{query}"),
            log,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
        };
        jaeger.wait_ready(otlp, query);
        jaeger
    }

    /// Waits until both ports accept connections and the query API answers.
    fn wait_ready(&mut self, otlp: u16, query: u16) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "Jaeger exited ({status}) before it was ready:\n{}",
                    self.log_text()
                );
            }
            let listening = |port| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            if listening(otlp) && listening(query) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Jaeger did not listen within {START_TIMEOUT:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The OTLP/HTTP base URL to give the operator's `--otlp-endpoint`.
    pub fn otlp_endpoint(&self) -> &str {
        &self.otlp
    }

    /// The query API's base URL (`/api/traces`, `/api/services`).
    pub fn query_url(&self) -> &str {
        &self.query
    }

    /// Jaeger's log so far.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The traces of `service` whose root or any span is `operation` and carries every tag of
    /// `tags`, from the last hour, as the query API returns them (`data[]`).
    pub async fn traces(
        &self,
        service: &str,
        operation: &str,
        tags: &[(&str, &str)],
    ) -> Vec<Value> {
        let tags: serde_json::Map<String, Value> = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        let url = format!("{}/api/traces", self.query);
        let answer = self
            .http
            .get(&url)
            .query(&[
                ("service", service),
                ("operation", operation),
                ("tags", &Value::Object(tags).to_string()),
                ("lookback", "1h"),
                ("limit", "1000"),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let bytes = answer
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let body: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("GET {url}: {e}: {}", String::from_utf8_lossy(&bytes)));
        body["data"].as_array().cloned().unwrap_or_default()
    }

    /// Asks [`traces`](Self::traces) every half second until `done` holds, for at most
    /// `timeout`; panics with what was found then.
    pub async fn wait_for_traces(
        &self,
        service: &str,
        operation: &str,
        tags: &[(&str, &str)],
        timeout: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let traces = self.traces(service, operation, tags).await;
            if done(&traces) {
                return traces;
            }
            assert!(
                Instant::now() < deadline,
                "no traces of {service} {operation} {tags:?} as wanted within {timeout:?}; found \
                 {} traces: {}",
                traces.len(),
                span_summary(&traces)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// For a benchmark: with `BENCH_TRACES=1`, a Jaeger the operator sends every trace to (what
/// tracing costs), else none.
pub fn bench_traces() -> Option<Jaeger> {
    std::env::var("BENCH_TRACES")
        .is_ok_and(|v| v == "1")
        .then(Jaeger::start)
}

/// The operator's flags that send its traces to `jaeger`, if there is one.
pub fn otlp_args(jaeger: Option<&Jaeger>) -> Vec<&str> {
    jaeger
        .map(|j| vec!["--otlp-endpoint", j.otlp_endpoint()])
        .unwrap_or_default()
}

impl Drop for Jaeger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One line per trace naming its spans' operations, for an assertion's message.
pub fn span_summary(traces: &[Value]) -> String {
    traces
        .iter()
        .map(|trace| {
            let names: Vec<&str> = spans(trace)
                .iter()
                .filter_map(|span| span["operationName"].as_str())
                .collect();
            names.join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A trace's spans.
pub fn spans(trace: &Value) -> Vec<&Value> {
    trace["spans"]
        .as_array()
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

/// A span's tag `key` as text (strings as they are, other values as JSON).
pub fn tag<'a>(span: &'a Value, key: &str) -> Option<std::borrow::Cow<'a, str>> {
    let found = span["tags"].as_array()?.iter().find(|t| t["key"] == key)?;
    Some(match &found["value"] {
        Value::String(text) => std::borrow::Cow::Borrowed(text.as_str()),
        other => std::borrow::Cow::Owned(other.to_string()),
    })
}

/// The span ID of `span`'s parent in its trace, if it has one.
pub fn parent_of(span: &Value) -> Option<&str> {
    span["references"]
        .as_array()?
        .iter()
        .find(|r| r["refType"] == "CHILD_OF")?["spanID"]
        .as_str()
}
