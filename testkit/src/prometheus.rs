//! A real Prometheus on loopback for the `prometheus` check's tests: the binary `dev/prometheus`
//! builds from its published Go module (PROMETHEUS_VERSION in dev/versions.env), started with a
//! configuration of its own in a temporary directory, scraping the given targets every second,
//! and killed, its directory removed, when dropped.
//!
//! ```no_run
//! # async fn demo() {
//! # let app = checklist_testkit::start_app().await;
//! use std::time::Duration;
//! use checklist_testkit::Prometheus;
//!
//! let target = app.addr().to_string();
//! let prometheus = Prometheus::start(&[&target]);
//! let series = prometheus
//!     .wait_for_series("http_requests_total", Duration::from_secs(30))
//!     .await;
//! # }
//! ```

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::toolchain::{cached_binary, pinned, spawn_logged, temp_dir};

/// How long [`Prometheus::start`] waits for the process to listen and then to be ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The scrape and rule-evaluation interval of a started Prometheus.
pub const INTERVAL: &str = "1s";

/// A Prometheus process on 127.0.0.1; killed, and its directory removed, on drop.
pub struct Prometheus {
    child: Child,
    url: String,
    dir: PathBuf,
    targets: Vec<String>,
    log: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

/// The Prometheus version dev/versions.env pins (`v0.316.0`: Prometheus 3.16.0).
pub fn prometheus_version() -> String {
    pinned("PROMETHEUS_VERSION")
}

/// The Prometheus binary: `CHECKLIST_PROMETHEUS_BIN`, else the one `dev/prometheus --path`
/// builds into the toolchain cache; a panic saying how to build it when there is none.
pub fn prometheus_binary() -> PathBuf {
    cached_binary(
        "prometheus",
        "Prometheus",
        &prometheus_version(),
        "CHECKLIST_PROMETHEUS_BIN",
    )
}

/// The configuration: one job, `app`, scraping `targets` every [`INTERVAL`].
fn config(targets: &[String]) -> String {
    let mut yaml = format!(
        "global:\n  scrape_interval: {INTERVAL}\n  scrape_timeout: {INTERVAL}\n  \
         evaluation_interval: {INTERVAL}\nscrape_configs:\n  - job_name: app\n    \
         static_configs:\n      - targets: []\n"
    );
    if !targets.is_empty() {
        yaml.truncate(yaml.len() - " []\n".len());
        yaml.push('\n');
        for target in targets {
            yaml.push_str(&format!("          - '{target}'\n"));
        }
    }
    yaml
}

/// HOST:PORT from `HOST:PORT` or `http://HOST:PORT[/]`.
fn target_of(target: &str) -> String {
    let target = target.strip_prefix("http://").unwrap_or(target);
    let target = target.strip_suffix('/').unwrap_or(target);
    assert!(
        target.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok()
        }),
        "scrape target {target:?} is not HOST:PORT"
    );
    target.to_owned()
}

/// The status code of `GET path` on `addr`, or None when it cannot be asked (a plain HTTP/1.0
/// request, so a synchronous start needs no runtime).
fn status_of(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

impl Prometheus {
    /// Starts Prometheus on a free port of 127.0.0.1, scraping `targets` (`HOST:PORT`, or the
    /// test app's `http://HOST:PORT`) every second as job `app`, and waits until it is ready
    /// (at most [`START_TIMEOUT`]); panics with its log otherwise.
    pub fn start(targets: &[&str]) -> Self {
        let binary = prometheus_binary();
        let targets: Vec<String> = targets.iter().map(|t| target_of(t)).collect();
        let dir = temp_dir("prometheus");
        std::fs::write(dir.join("prometheus.yml"), config(&targets)).unwrap();
        let mut command = Command::new(&binary);
        command
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            // Port 0: the kernel picks a free port, the log says which.
            .arg("--web.listen-address=127.0.0.1:0")
            .arg("--web.enable-lifecycle");
        let (address_tx, address_rx) = mpsc::channel();
        let (child, log) = spawn_logged(command, &binary, move |line| {
            if line.contains("msg=\"Listening on\"")
                && let Some(address) = line
                    .split_whitespace()
                    .find_map(|field| field.strip_prefix("address="))
            {
                address_tx.send(address.to_owned()).ok();
            }
        });
        // Idempotent; needed before the first reqwest client of a process that made none yet.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let mut prometheus = Prometheus {
            child,
            url: String::new(),
            dir,
            targets,
            log,
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let address = loop {
            if let Ok(address) = address_rx.recv_timeout(Duration::from_millis(100)) {
                break address;
            }
            prometheus.fail_if_gone_or(deadline, "to listen");
        };
        while status_of(&address, "/-/ready") != Some(200) {
            prometheus.fail_if_gone_or(deadline, "to be ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        prometheus.url = format!("http://{address}");
        prometheus
    }

    /// Panics, with the log, when the process has exited or `deadline` has passed.
    fn fail_if_gone_or(&mut self, deadline: Instant, waiting: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "Prometheus exited ({status}) before it was ready; its log:\n{}",
                self.log_text()
            );
        }
        if Instant::now() > deadline {
            panic!(
                "Prometheus did not start within {START_TIMEOUT:?} (waiting for it {waiting}); \
                 its log:\n{}",
                self.log_text()
            );
        }
    }

    /// Its base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The targets it scrapes, as `HOST:PORT`.
    pub fn targets(&self) -> &[String] {
        &self.targets
    }

    /// Its log so far (stderr, logfmt), one line a line.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Adds a scrape target and reloads the configuration (`POST /-/reload`); the new target
    /// is scraped from the next interval on.
    pub async fn add_target(&mut self, target: &str) {
        self.targets.push(target_of(target));
        std::fs::write(self.dir.join("prometheus.yml"), config(&self.targets)).unwrap();
        let response = self
            .http
            .post(format!("{}/-/reload", self.url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /-/reload: {e}"));
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "Prometheus refused the new configuration ({status}): {body}"
        );
    }

    /// `GET /api/v1/query?query=promql`: Prometheus's answer as JSON, whatever its status
    /// (`{"status":"success","data":{...}}`, or `{"status":"error","errorType":...}` for a
    /// query it refuses).
    pub async fn query(&self, promql: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", promql)])
            .send()
            .await
            .unwrap_or_else(|e| panic!("querying {promql:?}: {e}"));
        let status = response.status();
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("reading the answer to {promql:?}: {e}"));
        serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "the answer to {promql:?} ({status}) is not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            )
        })
    }

    /// The value of the first sample of an instant vector or scalar query, None when the
    /// result is empty; panics on an error answer.
    pub async fn query_value(&self, promql: &str) -> Option<f64> {
        let answer = self.query(promql).await;
        assert_eq!(
            answer["status"], "success",
            "query {promql:?} failed: {answer}"
        );
        let data = &answer["data"];
        let value = match data["resultType"].as_str() {
            Some("vector") => data["result"].get(0)?.get("value")?.get(1)?.clone(),
            Some("scalar") => data["result"].get(1)?.clone(),
            other => panic!("query {promql:?} gave a {other:?}, not a vector or scalar: {answer}"),
        };
        let text = value
            .as_str()
            .unwrap_or_else(|| panic!("{value} in {answer}"));
        Some(
            text.parse()
                .unwrap_or_else(|e| panic!("sample value {text:?}: {e}")),
        )
    }

    /// Polls `query` every 250 ms until it succeeds with a non-empty result, which it returns
    /// (`data.result`); panics after `timeout` with the last answer and the scrape targets'
    /// health.
    pub async fn wait_for_series(&self, query: &str, timeout: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let answer = self.query(query).await;
            if answer["status"] == "success"
                && let Some(result) = answer["data"]["result"].as_array()
                && !result.is_empty()
            {
                return result.clone();
            }
            if tokio::time::Instant::now() > deadline {
                let targets = self
                    .http
                    .get(format!("{}/api/v1/targets", self.url))
                    .send()
                    .await
                    .ok();
                let targets = match targets {
                    Some(response) => response.text().await.unwrap_or_default(),
                    None => "(unavailable)".to_owned(),
                };
                panic!(
                    "no series for {query:?} within {timeout:?}; last answer: {answer}; \
                     targets: {targets}"
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_scrapes_every_target_every_second() {
        let yaml = config(&["127.0.0.1:8080".to_owned(), "[::1]:9090".to_owned()]);
        assert_eq!(
            yaml,
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets:\n\
             \x20         - '127.0.0.1:8080'\n          - '[::1]:9090'\n"
        );
        assert!(config(&[]).ends_with("      - targets: []\n"));
    }

    #[test]
    fn targets_are_host_and_port() {
        assert_eq!(target_of("http://127.0.0.1:41235"), "127.0.0.1:41235");
        assert_eq!(target_of("127.0.0.1:41235/"), "127.0.0.1:41235");
        assert_eq!(target_of("[::1]:80"), "[::1]:80");
        for bad in ["127.0.0.1", "http://a/b:1", ":80", "host:port"] {
            assert!(
                std::panic::catch_unwind(|| target_of(bad)).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_pinned_version_is_read_from_versions_env() {
        let version = prometheus_version();
        assert!(version.starts_with("v0.3"), "{version}");
    }
}
