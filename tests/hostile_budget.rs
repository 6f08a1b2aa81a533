//! The hostile corpus, budgets: checks that would keep sending, or keep waiting on a slow app,
//! stop at their round's budget with a message naming it. Each case is printed with its time.

// Tests may unwrap: a panic is how a test says what failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::{
    Router,
    routing::{get, post},
};
use checklist_operator::{
    api::{CheckResult, CheckSpec, VerificationSpec},
    verify::{
        budget::Limits,
        engine::{Engine, SecretValues},
        guard::EgressPolicy,
    },
};

/// A login that answers in 300 ms and never limits, and a page that answers at once.
async fn serve() -> String {
    let app = Router::new()
        .route(
            "/users/log_in",
            post(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "wrong password"
            }),
        )
        .route("/", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn engine(url: &str, limits: Limits) -> Engine {
    let spec: VerificationSpec = serde_json::from_value(serde_json::json!({"checks": []})).unwrap();
    Engine::new(&spec, url, EgressPolicy::cli(), SecretValues::default())
        .unwrap()
        .with_limits(limits)
}

fn check(value: serde_json::Value) -> CheckSpec {
    serde_json::from_value(value).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_against_a_slow_login_stops_at_its_time_budget() {
    let url = serve().await;
    let limits = Limits {
        check_time: Duration::from_secs(1),
        ..Limits::default()
    };
    // 100 attempts × 300 ms would hold the round for 30 s.
    let login = check(serde_json::json!({"name": "login", "rateLimit": {
        "path": "/users/log_in", "method": "POST", "attempts": 100, "expectStatus": 429,
    }}));
    let started = Instant::now();
    let outcome = engine(&url, limits).run_round(&[login]).await.remove(0);
    let took = started.elapsed();
    println!(
        "rate limit, 100 attempts at 300 ms, 1 s budget: {took:?}: {}",
        outcome.message
    );
    assert_eq!(outcome.result, CheckResult::Fail);
    assert_eq!(outcome.message, "stopped: its time budget of 1 s is spent");
    // A burst's figure is its attempts, not a measurement: the verdict names its HTTP status.
    assert!(!outcome.measured);
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_sends_no_more_requests_than_its_budget() {
    let url = serve().await;
    let limits = Limits {
        round_requests: 150,
        ..Limits::default()
    };
    // Four checks of 100 requests each: 400 asked, 150 allowed.
    let checks: Vec<CheckSpec> = (0..4)
        .map(|i| {
            check(serde_json::json!({"name": format!("page-{i}"),
                "latency": {"path": "/", "requests": 100, "p95Ms": 60000}}))
        })
        .collect();
    let started = Instant::now();
    let outcomes = engine(&url, limits).run_round(&checks).await;
    let took = started.elapsed();
    let sent: u32 = outcomes.iter().map(|o| o.attempts).sum();
    let over: Vec<&str> = outcomes
        .iter()
        .filter(|o| {
            o.message
                .contains("the round's budget of 150 requests is spent")
        })
        .map(|o| o.name.as_str())
        .collect();
    println!(
        "4 × 100 latency requests, 150 allowed: {sent} sent in {took:?}; over budget: {over:?}"
    );
    assert!(sent <= 150 + 4, "{sent} requests sent");
    assert!(!over.is_empty(), "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .filter(|o| over.contains(&o.name.as_str()))
            .all(|o| o.result == CheckResult::Fail)
    );
}
