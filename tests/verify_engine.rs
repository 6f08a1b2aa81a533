//! The verification engine against a real HTTP server on loopback (the test app), in every mode
//! the seed checklists care about, and the egress guard against the addresses attackers use.

// Tests may unwrap: a panic is how a test says what failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use checklist_operator::{
    api::{CheckResult, CheckSpec, VerificationSpec},
    verify::{
        engine::{CheckOutcome, Engine, SecretValues},
        guard::EgressPolicy,
    },
};
use checklist_testapp::{Config, Mode, RunningApp};
use checklist_testkit::fixtures::seed_checks;

async fn app(mode: Mode) -> RunningApp {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        http_listen: Some("127.0.0.1:0".parse().unwrap()),
        mode,
        delay: Duration::from_millis(1500),
        ..Config::default()
    };
    checklist_testapp::spawn(config).await.unwrap()
}

fn checks(yaml: &str) -> Vec<CheckSpec> {
    serde_norway::from_str(yaml).unwrap()
}

fn spec(timeout_seconds: i32) -> VerificationSpec {
    VerificationSpec {
        timeout_seconds,
        ..VerificationSpec::default()
    }
}

async fn round(
    app: &RunningApp,
    checks: Vec<CheckSpec>,
    policy: EgressPolicy,
) -> Vec<CheckOutcome> {
    let engine = Engine::new(&spec(1), &app.url(), policy, SecretValues::default()).unwrap();
    engine.run_round(&checks).await
}

async fn seed_round(app: &RunningApp, policy: EgressPolicy) -> Vec<CheckOutcome> {
    round(app, seed_checks(&app.http_url().unwrap()), policy).await
}

fn outcome<'a>(outcomes: &'a [CheckOutcome], name: &str) -> &'a CheckOutcome {
    outcomes.iter().find(|o| o.name == name).unwrap()
}

#[tokio::test]
async fn a_healthy_app_passes_the_six_seed_checks() {
    let app = app(Mode::Healthy).await;
    let outcomes = seed_round(&app, EgressPolicy::cli()).await;
    for o in &outcomes {
        assert_eq!(o.result, CheckResult::Pass, "{}: {}", o.name, o.message);
    }
    let names: Vec<&str> = outcomes.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "health",
            "deep-health",
            "https-redirect",
            "security-headers",
            "login-rate-limit",
            "page-load"
        ],
        "outcomes come back in the spec's order"
    );
    let deep = outcome(&outcomes, "deep-health");
    let deps: Vec<(&str, bool)> = deep
        .dependencies
        .iter()
        .map(|d| (d.name.as_str(), d.healthy))
        .collect();
    assert_eq!(deps, [("database", true), ("oban", true)]);
    let limit = outcome(&outcomes, "login-rate-limit");
    assert_eq!(limit.message, "429 at attempt 6 (within 6)");
    assert_eq!(limit.attempts, 6, "stops at the first 429");
    assert_eq!(
        app.state().snapshot().requests.get("/users/log_in"),
        Some(&6)
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_unhealthy_app_fails_health_with_the_status_and_each_dependency() {
    let app = app(Mode::Unhealthy).await;
    let outcomes = seed_round(&app, EgressPolicy::cli()).await;
    let health = outcome(&outcomes, "health");
    assert_eq!(health.result, CheckResult::Fail);
    assert!(
        health
            .message
            .starts_with("expected status 200, got 503: \"{"),
        "{}",
        health.message
    );
    assert!(
        health
            .message
            .contains(r#"status is "unhealthy", expected "ok""#),
        "{}",
        health.message
    );
    let deep = outcome(&outcomes, "deep-health");
    assert!(
        deep.message
            .contains("dependencies database: \"fail\", oban: \"fail\""),
        "{}",
        deep.message
    );
    assert!(deep.dependencies.iter().all(|d| !d.healthy));
    app.shutdown().await;
}

#[tokio::test]
async fn a_failing_dependency_is_named() {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        failing_dependencies: vec!["oban".into()],
        ..Config::default()
    };
    let app = checklist_testapp::spawn(config).await.unwrap();
    let outcomes = round(
        &app,
        checks("[{name: deep-health, http: {path: /health/deep, dependencies: checks, expectStatus: [200, 503]}}]"),
        EgressPolicy::cli(),
    )
    .await;
    assert_eq!(outcomes[0].message, r#"dependency oban: "fail""#);
    app.shutdown().await;
}

#[tokio::test]
async fn missing_security_headers_are_named() {
    let app = app(Mode::MissingHeaders).await;
    let outcomes = seed_round(&app, EgressPolicy::cli()).await;
    assert_eq!(
        outcome(&outcomes, "security-headers").message,
        "missing headers strict-transport-security, content-security-policy, x-frame-options, x-content-type-options, x-xss-protection"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn header_patterns_absence_and_request_headers_check_csp_nonces_and_cors() {
    let app = app(Mode::Healthy).await;
    let checks = checks(
        r#"
- name: csp-nonce
  securityHeaders:
    require: []
    patterns: {content-security-policy: "script-src [^;]*'nonce-[0-9a-f]{16,}'"}
- name: cors-allowed
  securityHeaders:
    method: OPTIONS
    require: []
    headers:
      - {name: Origin, value: "https://app.example.com"}
      - {name: Access-Control-Request-Method, value: POST}
    patterns: {access-control-allow-origin: '^https://app\.example\.com$'}
- name: cors-refused
  securityHeaders:
    require: []
    headers: [{name: Origin, value: "https://evil.example"}]
    absent: [access-control-allow-origin]
- name: cors-wildcard-expected
  securityHeaders:
    require: []
    headers: [{name: Origin, value: "https://app.example.com"}]
    patterns: {access-control-allow-origin: '^\*$'}
"#,
    );
    let outcomes = round(&app, checks, EgressPolicy::cli()).await;
    for name in ["csp-nonce", "cors-allowed", "cors-refused"] {
        let o = outcome(&outcomes, name);
        assert_eq!(o.result, CheckResult::Pass, "{name}: {}", o.message);
    }
    assert_eq!(outcome(&outcomes, "cors-allowed").status, Some(204));
    let wrong = outcome(&outcomes, "cors-wildcard-expected");
    assert_eq!(wrong.result, CheckResult::Fail);
    assert_eq!(
        wrong.message,
        r#"access-control-allow-origin is "https://app.example.com", which does not match "^\\*$""#
    );
}

#[tokio::test]
async fn no_redirect_fails_the_https_redirect_check() {
    let app = app(Mode::NoRedirect).await;
    let outcomes = seed_round(&app, EgressPolicy::cli()).await;
    let redirect = outcome(&outcomes, "https-redirect");
    assert_eq!(
        redirect.message,
        format!(
            "expected a 301 redirect from {}/, got 200",
            app.http_url().unwrap()
        )
    );
    app.shutdown().await;
}

#[tokio::test]
async fn no_rate_limit_fails_after_every_attempt() {
    let app = app(Mode::NoRateLimit).await;
    let outcomes = seed_round(&app, EgressPolicy::cli()).await;
    let limit = outcome(&outcomes, "login-rate-limit");
    assert_eq!(limit.message, "no 429 within 6 attempts (10 sent)");
    assert_eq!(limit.attempts, 10);
    app.shutdown().await;
}

#[tokio::test]
async fn garbage_json_fails_with_a_quote_of_the_body() {
    let app = app(Mode::GarbageJson).await;
    let outcomes = seed_round(&app, EgressPolicy::cli()).await;
    assert_eq!(
        outcome(&outcomes, "health").message,
        r#"body is not JSON: "<html><body>oops</body></html>""#
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_huge_body_is_read_only_up_to_the_cap() {
    let app = app(Mode::HugeBody).await;
    let outcomes = seed_round(&app, EgressPolicy::cli()).await;
    assert_eq!(
        outcome(&outcomes, "health").message,
        "body is over 64 KiB, too large to check as JSON"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_slow_app_fails_its_latency_budget() {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        mode: Mode::Slow,
        delay: Duration::from_millis(300),
        ..Config::default()
    };
    let app = checklist_testapp::spawn(config).await.unwrap();
    let outcomes = round(
        &app,
        checks("[{name: health, http: {path: /health, maxLatencyMs: 100}}]"),
        EgressPolicy::cli(),
    )
    .await;
    let message = &outcomes[0].message;
    assert!(message.starts_with("took 3"), "{message}");
    assert!(
        message.ends_with(" ms, over the 100 ms budget"),
        "{message}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_hanging_app_times_out_and_the_round_still_ends() {
    let app = app(Mode::Hang).await;
    let started = std::time::Instant::now();
    let outcomes = seed_round(&app, EgressPolicy::cli()).await;
    assert_eq!(outcome(&outcomes, "health").message, "no answer within 1s");
    assert_eq!(
        outcome(&outcomes, "login-rate-limit").message,
        "attempt 1: no answer within 1s"
    );
    // Four concurrent checks and then the rate limit, each bounded by the 1 s timeout.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_operator_policy_refuses_loopback_without_connecting() {
    let app = app(Mode::Healthy).await;
    let outcomes = seed_round(&app, EgressPolicy::operator()).await;
    for o in &outcomes {
        assert_eq!(o.result, CheckResult::Fail, "{}", o.name);
        assert!(
            o.message
                .contains("refused by the egress guard: 127.0.0.1 is a loopback address"),
            "{}",
            o.message
        );
    }
    assert_eq!(
        app.state().snapshot().total_requests,
        0,
        "nothing reached the app"
    );
    app.shutdown().await;
}

async fn refused(url: &str) -> String {
    let engine = Engine::new(
        &spec(1),
        url,
        EgressPolicy::operator(),
        SecretValues::default(),
    )
    .unwrap();
    let checks: Vec<CheckSpec> =
        serde_norway::from_str("[{name: probe, http: {path: /}}]").unwrap();
    let outcome = engine.run_round(&checks).await.remove(0);
    assert_eq!(outcome.result, CheckResult::Fail);
    outcome.message
}

#[tokio::test]
async fn metadata_addresses_are_refused_in_every_spelling() {
    for url in [
        "http://169.254.169.254",
        "http://2852039166",
        "http://0251.0376.0251.0376",
        "http://0xa9fea9fe",
        "http://[::ffff:169.254.169.254]",
        "http://[fd00:ec2::254]",
    ] {
        let message = refused(url).await;
        assert!(
            message.starts_with("refused by the egress guard: "),
            "{url}: {message}"
        );
        assert!(
            message.contains("metadata") || message.contains("link-local"),
            "{url}: {message}"
        );
    }
}

#[tokio::test]
async fn a_name_that_resolves_to_a_blocked_address_is_refused() {
    let message = refused("http://localhost:9").await;
    assert!(
        message.contains("localhost resolves only to refused addresses"),
        "{message}"
    );
}

#[tokio::test]
async fn a_redirect_is_never_followed() {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        http_listen: Some("127.0.0.1:0".parse().unwrap()),
        redirect_host: Some("169.254.169.254".into()),
        ..Config::default()
    };
    let app = checklist_testapp::spawn(config).await.unwrap();
    let engine = Engine::new(
        &spec(1),
        &app.http_url().unwrap(),
        EgressPolicy::cli(),
        SecretValues::default(),
    )
    .unwrap();
    let checks: Vec<CheckSpec> = serde_norway::from_str(&format!(
        "[{{name: follow, http: {{path: /health}}}}, {{name: redirect, httpsRedirect: {{httpURL: '{}/'}}}}]",
        app.http_url().unwrap()
    ))
    .unwrap();
    let outcomes = engine.run_round(&checks).await;
    // The http check sees the 301 itself: the redirect to the metadata address was not followed.
    assert!(
        outcomes[0]
            .message
            .starts_with("expected status 200, got 301"),
        "{}",
        outcomes[0].message
    );
    assert_eq!(
        outcomes[1].message,
        "301 redirect leaves the host: 169.254.169.254 instead of 127.0.0.1"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_header_from_a_secret_is_sent_but_never_shown() {
    let app = app(Mode::Unhealthy).await;
    let yaml = "[{name: auth, http: {path: /health, headers: [{name: Authorization, valueFrom: {secretKeyRef: {name: probe-token, key: header}}}]}}]";
    let checks: Vec<CheckSpec> = serde_norway::from_str(yaml).unwrap();

    let without = Engine::new(
        &spec(1),
        &app.url(),
        EgressPolicy::cli(),
        SecretValues::default(),
    )
    .unwrap();
    let skipped = without.run_round(&checks).await.remove(0);
    assert_eq!(skipped.result, CheckResult::Skipped);
    assert_eq!(
        skipped.message,
        "header Authorization needs key header of Secret probe-token, which is not available"
    );

    let mut secrets = SecretValues::default();
    secrets
        .insert("probe-token", "header", b"Bearer planted-s3cret-value")
        .unwrap();
    let with = Engine::new(&spec(1), &app.url(), EgressPolicy::cli(), secrets).unwrap();
    let failed = with.run_round(&checks).await.remove(0);
    assert_eq!(failed.result, CheckResult::Fail);
    let shown = format!("{failed:?} {with:?}");
    assert!(!shown.contains("planted-s3cret-value"), "{shown}");
    app.shutdown().await;
}

#[tokio::test]
async fn an_app_that_echoes_the_token_gets_it_masked_in_every_message() {
    let app = app(Mode::Echo).await;
    let checks = checks(
        r#"
- name: health
  http:
    path: /health
    headers: [{name: Authorization, valueFrom: {secretKeyRef: {name: probe-token, key: header}}}]
    expectStatus: [200]
    expectJSON: {status: ok, "$.checks.auth.status": pass}
    bodyContains: welcome
- name: deep
  http:
    path: /health/deep
    headers: [{name: Authorization, valueFrom: {secretKeyRef: {name: probe-token, key: header}}}]
    dependencies: checks
"#,
    );
    let mut secrets = SecretValues::default();
    secrets
        .insert("probe-token", "header", b"Bearer echoed-s3cret-value")
        .unwrap();
    // An injected value the app might print too (a debug page), never sent by a check.
    secrets.mask(b"ecto://app:db-pa55word@db/web");
    let engine = Engine::new(&spec(1), &app.url(), EgressPolicy::cli(), secrets).unwrap();
    let outcomes = engine.run_round(&checks).await;
    let shown = format!("{outcomes:?}");
    assert!(!shown.contains("echoed-s3cret"), "{shown}");
    // The app did echo it, and the messages say where it was.
    let health = outcome(&outcomes, "health");
    assert_eq!(health.result, CheckResult::Fail);
    assert!(
        health
            .message
            .contains(r#"got 401: "{\"checks\":{\"auth\":{\"status\":\"[redacted]\"}}"#),
        "{}",
        health.message
    );
    assert!(
        health
            .message
            .contains(r#"status is "[redacted]", expected "ok""#),
        "{}",
        health.message
    );
    let deep = outcome(&outcomes, "deep");
    assert_eq!(deep.dependencies[0].state, "[redacted]");
    app.shutdown().await;
}
