//! Benchmark of the verification engine on loopback, printing figures (no assertions):
//! the engine's per-check overhead over a raw request made with the same HTTP client, and the
//! wall time of one round of the Dialectic example's checks.
//!
//! Run: `cargo bench --bench verify` (optionally `-- ITERATIONS`, default 2000).

// A benchmark may unwrap: a panic is how it says its set-up failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use checklist_operator::{
    api::VerificationSpec,
    verify::{
        engine::{Engine, SecretValues},
        guard::EgressPolicy,
    },
};
use checklist_testapp::{Config, Mode};
use checklist_testkit::{
    fixtures::{fetch_whole, raw_client, seed_checks},
    stats::Stats,
};

fn summary(label: &str, samples: &[Duration]) -> Duration {
    let stats = Stats::of(samples);
    println!("{}", stats.micros_row(label));
    stats.p50
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let iterations: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let app = checklist_testapp::spawn(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        http_listen: Some("127.0.0.1:0".parse().unwrap()),
        mode: Mode::Healthy,
        ..Config::default()
    })
    .await
    .unwrap();
    let checks = seed_checks(&app.http_url().unwrap());
    let engine = Engine::new(
        &VerificationSpec::default(),
        &app.url(),
        EgressPolicy::cli(),
        SecretValues::default(),
    )
    .unwrap();

    // The same HTTP client library, configured the same way, with nothing around it.
    let raw = raw_client();
    let health_url = format!("{}/health", app.url());

    // Warm both connection pools.
    for _ in 0..200 {
        fetch_whole(raw.get(&health_url)).await;
        engine.run_check(&checks[0]).await;
    }

    // Interleave the two so drift in the machine's load affects both alike.
    let mut raw_samples = Vec::with_capacity(iterations);
    let mut engine_samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let body = fetch_whole(raw.get(&health_url)).await;
        raw_samples.push(started.elapsed());
        std::hint::black_box(body);

        let started = Instant::now();
        let outcome = engine.run_check(&checks[0]).await;
        engine_samples.push(started.elapsed());
        assert!(outcome.passed(), "{}", outcome.message);
    }
    println!("verification engine on loopback, {} iterations", iterations);
    let raw_p50 = summary("raw reqwest GET /health", &raw_samples);
    let engine_p50 = summary("engine http check (status+JSON+latency)", &engine_samples);
    let overhead = (engine_p50.as_secs_f64() / raw_p50.as_secs_f64() - 1.0) * 100.0;
    println!("per-check overhead at p50: {overhead:+.1}% (goal <= 3%)");

    let rounds = (iterations / 10).max(20);
    let mut round_samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        app.state().reset();
        let started = Instant::now();
        let outcomes = engine.run_round(&checks).await;
        round_samples.push(started.elapsed());
        assert!(outcomes.iter().all(|o| o.passed()));
    }
    let round_p50 = summary("one round of the Dialectic checks", &round_samples);
    println!(
        "round wall time at p50: {:.2} ms (goal <= 20 ms)",
        round_p50.as_secs_f64() * 1e3
    );
    app.shutdown().await;
}
