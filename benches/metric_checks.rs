//! Benchmark of the two metric check kinds on loopback, printing figures (no assertions):
//!
//! - a `prometheus` check round (the seed's error-rate gate, a ratio of two `rate()` sums)
//!   against a real Prometheus (`dev/prometheus --path` builds it) scraping a test app under
//!   bounded traffic, beside the same query sent raw with the same HTTP client library;
//! - a `latency` check of N requests beside N raw requests to the same path, so the difference
//!   is what the check adds (sampling, percentiles, the verdict).
//!
//! Run: `cargo bench --bench metric_checks` (optionally `-- ROUNDS`, default 300).

// A benchmark may unwrap: a panic is how it says its set-up failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use checklist_operator::{
    api::{CheckResult, CheckSpec, VerificationSpec},
    verify::{
        engine::{CheckOutcome, Engine, QueryPlaceholders, SecretValues},
        guard::EgressPolicy,
    },
};
use checklist_testapp::Config;
use checklist_testkit::{
    Prometheus,
    fixtures::{fetch_whole, raw_client},
    stats::Stats,
};
use serde_json::json;

/// The error-rate gate of the seed checklist ("alert on > 1% 5xx responses"), on the page views
/// (the latency check's and the raw requests' /health traffic would dilute the ratio).
const ERROR_RATE: &str = r#"(sum(rate(http_requests_total{revision="{{revision}}",path="/",status=~"5.."}[20s])) or vector(0)) / sum(rate(http_requests_total{revision="{{revision}}",path="/"}[20s]))"#;

/// Requests of the latency check (the CRD's default).
const LATENCY_REQUESTS: usize = 20;

fn row(label: &str, samples: &[Duration]) -> Stats {
    let stats = Stats::of(samples);
    println!("{}", stats.micros_row(label));
    stats
}

fn check(value: serde_json::Value) -> CheckSpec {
    serde_json::from_value(value).unwrap()
}

/// `GET url?query=query` with the raw client, its answer read whole.
async fn raw_query(raw: &reqwest::Client, url: &str, query: &str) {
    fetch_whole(raw.get(url).query(&[("query", query)])).await;
}

fn passed(outcome: &CheckOutcome) -> bool {
    outcome.result == CheckResult::Pass
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let app = checklist_testapp::spawn(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        metric_labels: vec![("revision".into(), "bench".into())],
        error_percent: 5,
        ..Config::default()
    })
    .await
    .unwrap();
    let prometheus = Prometheus::start(&[&app.addr().to_string()]);

    // The same HTTP client library, configured the same way, with nothing around it.
    let raw = raw_client();

    // Users for Prometheus to see: a page view every 20 ms (at most 30,000: 10 minutes), running
    // through the measurement so the rates stay live; rate() needs two scrapes with a change.
    let home = format!("{}/", app.url());
    let users = {
        let raw = raw.clone();
        tokio::spawn(async move {
            for _ in 0..30_000 {
                let _ = raw.get(&home).send().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    prometheus
        .wait_for_series(
            r#"sum(rate(http_requests_total{revision="bench",status="500"}[20s])) > 0"#,
            Duration::from_secs(30),
        )
        .await;

    let engine = Engine::new(
        &VerificationSpec::default(),
        &app.url(),
        EgressPolicy::cli(),
        SecretValues::default(),
    )
    .unwrap()
    .with_prometheus(Some(prometheus.url().parse().unwrap()))
    .with_placeholders(QueryPlaceholders {
        revision: "bench".into(),
        namespace: "default".into(),
        name: "web".into(),
    });
    let gate =
        check(json!({"name": "error-rate", "prometheus": {"query": ERROR_RATE, "below": "0.01"}}));
    let latency = check(
        json!({"name": "page-load", "latency": {"path": "/health", "requests": LATENCY_REQUESTS, "p95Ms": 500}}),
    );
    let query = ERROR_RATE.replace("{{revision}}", "bench");
    let query_url = format!("{}/api/v1/query", prometheus.url());
    let health = format!("{}/health", app.url());

    // Warm both connection pools, and show what the checks say.
    for _ in 0..20 {
        engine.run_check(&gate).await;
        engine.run_check(&latency).await;
        raw_query(&raw, &query_url, &query).await;
    }
    let shown = engine.run_check(&gate).await;
    println!("error-rate gate: {:?}: {}", shown.result, shown.message);
    let shown = engine.run_check(&latency).await;
    println!("page-load: {:?}: {}", shown.result, shown.message);
    println!();

    // Interleaved, so drift in the machine's load affects both alike.
    let (mut gate_samples, mut query_samples) = (Vec::new(), Vec::new());
    let (mut latency_samples, mut requests_samples) = (Vec::new(), Vec::new());
    let mut passed_gates = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let outcome = engine.run_check(&gate).await;
        gate_samples.push(started.elapsed());
        if passed(&outcome) {
            // 5% of the app's requests fail: the gate should never pass.
            passed_gates += 1;
        }

        let started = Instant::now();
        raw_query(&raw, &query_url, &query).await;
        query_samples.push(started.elapsed());

        let started = Instant::now();
        engine.run_check(&latency).await;
        latency_samples.push(started.elapsed());

        let started = Instant::now();
        for _ in 0..LATENCY_REQUESTS {
            fetch_whole(raw.get(&health)).await;
        }
        requests_samples.push(started.elapsed());
    }

    println!("prometheus check round vs the raw query ({rounds} rounds, Prometheus on loopback)");
    let gate_stats = row("  prometheus check (query + judge)", &gate_samples);
    let query_stats = row("  raw GET /api/v1/query", &query_samples);
    println!(
        "  overhead of the check: p50 {:+.1} µs, p99 {:+.1} µs; {passed_gates} of {rounds} rounds passed (expected 0)",
        (gate_stats.p50.as_secs_f64() - query_stats.p50.as_secs_f64()) * 1e6,
        (gate_stats.p99.as_secs_f64() - query_stats.p99.as_secs_f64()) * 1e6,
    );
    println!();
    println!("latency check of {LATENCY_REQUESTS} requests vs {LATENCY_REQUESTS} raw requests");
    let latency_stats = row("  latency check", &latency_samples);
    let requests_stats = row("  raw requests", &requests_samples);
    let per_request = |total: f64| total / LATENCY_REQUESTS as f64 * 1e6;
    println!(
        "  overhead per request: p50 {:+.1} µs, p99 {:+.1} µs",
        per_request(latency_stats.p50.as_secs_f64() - requests_stats.p50.as_secs_f64()),
        per_request(latency_stats.p99.as_secs_f64() - requests_stats.p99.as_secs_f64()),
    );
    users.abort();
    drop(prometheus);
    app.shutdown().await;
}
