//! `GET /metrics` and the injected faults: the series and labels a Prometheus scrape sees and
//! how they count, the exact error share, and the extra latency. The routers are driven
//! in-process, the last test serves on loopback.

// Test code: a failed unwrap is a failed test (clippy.toml allows it only inside #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use checklist_testapp::app::router;
use checklist_testapp::{AppState, Config, Mode};

/// One sample of the exposition text: its metric name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the exposition text loosely: `name{k="v",...} value` lines, comments skipped. Label
/// values here hold no commas, quotes or braces, so splitting is enough.
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("no value in {line:?}"));
            let (name, labels) = series.split_once('{').map_or((series, ""), |(name, rest)| {
                (name, rest.strip_suffix('}').unwrap())
            });
            let labels = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap();
                    let value = value.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
                    (key.to_owned(), value.to_owned())
                })
                .collect();
            Sample {
                name: name.to_owned(),
                labels,
                value: value
                    .parse()
                    .unwrap_or_else(|err| panic!("value of {line:?}: {err}")),
            }
        })
        .collect()
}

/// The value of the one series named `name` whose labels include `wanted`; None when there is
/// none, a panic when several match.
fn value(text: &str, name: &str, wanted: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<Sample> = samples(text)
        .into_iter()
        .filter(|sample| {
            sample.name == name
                && wanted
                    .iter()
                    .all(|(k, v)| sample.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(
        matching.len() <= 1,
        "several {name} series match {wanted:?}: {matching:?}"
    );
    matching.first().map(|sample| sample.value)
}

struct TestApp {
    state: Arc<AppState>,
    app: Router,
    _shutdown: CancellationToken,
}

impl TestApp {
    fn new(config: Config) -> TestApp {
        let shutdown = CancellationToken::new();
        let state = Arc::new(AppState::new(config, shutdown.clone()));
        TestApp {
            app: router(state.clone()),
            state,
            _shutdown: shutdown,
        }
    }

    async fn send(&self, method: Method, path: &str, body: &str) -> (StatusCode, Bytes) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        (
            status,
            to_bytes(response.into_body(), 64 << 20).await.unwrap(),
        )
    }

    async fn status(&self, path: &str) -> StatusCode {
        self.send(Method::GET, path, "").await.0
    }

    async fn metrics(&self) -> String {
        let request = Request::get("/metrics").body(Body::empty()).unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }
}

#[tokio::test]
async fn requests_are_counted_by_route_method_and_status_with_the_constant_labels() {
    let app = TestApp::new(Config {
        metric_labels: vec![
            ("revision".into(), "abc123".into()),
            ("app".into(), "web".into()),
        ],
        ..Config::default()
    });
    // A family is written once it has a series.
    assert_eq!(app.metrics().await, "# EOF\n");

    app.status("/health").await;
    app.status("/health?probe=1").await;
    app.status("/health/deep").await;
    app.send(Method::POST, "/health", "").await; // 405
    app.send(
        Method::POST,
        "/users/log_in",
        r#"{"user":{"email":"a@b.c","password":"wrong"}}"#,
    )
    .await;
    app.status("/no/such/page").await;
    app.status("/another/random/path").await;
    app.send(Method::from_bytes(b"PROPFIND").unwrap(), "/", "")
        .await;
    // Neither /metrics nor the admin API is counted.
    app.metrics().await;
    app.status("/admin/state").await;
    app.send(Method::PUT, "/admin/mode", "healthy").await;

    let text = app.metrics().await;
    assert!(text.contains("# TYPE http_requests counter"), "{text}");
    assert!(
        text.contains("# TYPE http_request_duration_seconds histogram"),
        "{text}"
    );
    let requests = |labels: &[(&str, &str)]| value(&text, "http_requests_total", labels);
    let every = [("revision", "abc123"), ("app", "web")];
    let with = |more: &[(&'static str, &'static str)]| [every.as_slice(), more].concat();
    assert_eq!(
        requests(&with(&[
            ("path", "/health"),
            ("method", "GET"),
            ("status", "200")
        ])),
        Some(2.0),
        "the query string is not part of the path: {text}"
    );
    assert_eq!(
        requests(&with(&[
            ("path", "/health/deep"),
            ("method", "GET"),
            ("status", "200")
        ])),
        Some(1.0)
    );
    assert_eq!(
        requests(&with(&[
            ("path", "/health"),
            ("method", "POST"),
            ("status", "405")
        ])),
        Some(1.0)
    );
    assert_eq!(
        requests(&with(&[
            ("path", "/users/log_in"),
            ("method", "POST"),
            ("status", "401")
        ])),
        Some(1.0)
    );
    assert_eq!(
        requests(&with(&[
            ("path", "other"),
            ("method", "GET"),
            ("status", "404")
        ])),
        Some(2.0),
        "unknown paths share one series: {text}"
    );
    assert_eq!(
        requests(&with(&[("path", "/"), ("method", "other")])),
        Some(1.0)
    );
    let all = samples(&text);
    let counted: f64 = all
        .iter()
        .filter(|s| s.name == "http_requests_total")
        .map(|s| s.value)
        .sum();
    assert_eq!(counted, 8.0, "only the app's routes are counted: {text}");
    for sample in &all {
        assert_eq!(sample.labels["revision"], "abc123", "{sample:?}");
        assert_eq!(sample.labels["app"], "web", "{sample:?}");
        assert!(
            sample
                .labels
                .get("path")
                .is_none_or(|p| !p.starts_with("/admin")
                    && p != "/metrics"
                    && p != "/no/such/page"),
            "{sample:?}"
        );
    }

    // The histogram: one count per request, per route, in the 5 ms … 10 s buckets.
    let duration = |suffix: &str, labels: &[(&str, &str)]| {
        value(
            &text,
            &format!("http_request_duration_seconds_{suffix}"),
            labels,
        )
    };
    assert_eq!(duration("count", &[("path", "/health")]), Some(3.0));
    assert_eq!(duration("count", &[("path", "other")]), Some(2.0));
    assert_eq!(
        duration("bucket", &[("path", "/health"), ("le", "+Inf")]),
        Some(3.0)
    );
    let bounds: Vec<String> = all
        .iter()
        .filter(|s| {
            s.name == "http_request_duration_seconds_bucket" && s.labels["path"] == "/health/deep"
        })
        .map(|s| s.labels["le"].clone())
        .collect();
    assert_eq!(
        bounds,
        [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0",
            "+Inf"
        ]
    );
    assert!(duration("sum", &[("path", "/health")]).unwrap() < 1.0);

    // Counts only go up, and /admin/reset does not reset them.
    app.send(Method::POST, "/admin/reset", "").await;
    app.status("/health").await;
    let after = app.metrics().await;
    assert_eq!(
        value(
            &after,
            "http_requests_total",
            &[("path", "/health"), ("status", "200")]
        ),
        Some(3.0)
    );
}

#[tokio::test]
async fn five_percent_is_exactly_five_of_every_hundred_requests() {
    let app = TestApp::new(Config {
        error_percent: 5,
        metric_labels: vec![("revision".into(), "new".into())],
        ..Config::default()
    });
    let mut failed = Vec::new();
    for n in 1..=100 {
        // Neither /metrics, the admin API nor a health endpoint is failed, or moves the
        // sequence on.
        if n % 10 == 0 {
            app.metrics().await;
            assert_eq!(app.status("/admin/state").await, StatusCode::OK);
            for health in ["/health", "/health/deep", "/api/health"] {
                assert_eq!(app.status(health).await, StatusCode::OK, "{health}");
            }
        }
        let (status, body) = app.send(Method::GET, "/", "").await;
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            assert!(String::from_utf8_lossy(&body).contains("injected"));
            failed.push(n);
        } else {
            assert_eq!(status, StatusCode::OK);
        }
    }
    assert_eq!(failed, [20, 40, 60, 80, 100], "every 20th request fails");
    let text = app.metrics().await;
    let home = |status: &'static str| [("path", "/"), ("status", status)];
    assert_eq!(value(&text, "http_requests_total", &home("500")), Some(5.0));
    assert_eq!(
        value(&text, "http_requests_total", &home("200")),
        Some(95.0)
    );
    assert_eq!(
        value(
            &text,
            "http_requests_total",
            &[("path", "/health"), ("status", "200")]
        ),
        Some(10.0)
    );

    // Set at run time: the sequence starts afresh, any route but the health endpoints counts.
    let (status, body) = app.send(Method::PUT, "/admin/error-percent", "50").await;
    assert_eq!(status, StatusCode::OK);
    let state: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(state["errorPercent"], 50);
    let mut statuses = Vec::new();
    for path in ["/", "/users/log_in", "/health", "/no/such/page", "/"] {
        statuses.push(app.status(path).await);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::OK,
            StatusCode::NOT_FOUND,
            StatusCode::INTERNAL_SERVER_ERROR
        ]
    );
    let (_, body) = app.send(Method::GET, "/admin/error-percent", "").await;
    assert_eq!(body, "50\n");

    assert_eq!(app.state.set_error_percent(100), Ok(50));
    assert_eq!(app.status("/").await, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(app.status("/health").await, StatusCode::OK);
    for bad in ["101", "-1", "five", "2.5", ""] {
        let (status, body) = app.send(Method::PUT, "/admin/error-percent", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert!(
            String::from_utf8_lossy(&body).contains("0 to 100"),
            "{bad:?}"
        );
    }
    app.send(Method::PUT, "/admin/error-percent", "0\n").await;
    assert_eq!(app.status("/").await, StatusCode::OK);
}

#[tokio::test]
async fn errors_are_injected_behind_the_mode_and_carry_the_security_headers() {
    let app = TestApp::new(Config {
        error_percent: 100,
        mode: Mode::Unhealthy,
        ..Config::default()
    });
    let request = Request::get("/").body(Body::empty()).unwrap();
    let response = app.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().contains_key("x-frame-options"));
    // The mode's own answers come first only where the mode answers by itself (echo).
    app.state.set_mode(Mode::Echo);
    assert_eq!(app.status("/health").await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn latency_delays_the_app_but_not_metrics_or_admin() {
    let app = TestApp::new(Config {
        latency: Duration::from_millis(150),
        ..Config::default()
    });
    let timed = async |path: &str| {
        let started = Instant::now();
        let status = app.status(path).await;
        (status, started.elapsed())
    };
    let (status, took) = timed("/health").await;
    assert_eq!(status, StatusCode::OK);
    assert!(took >= Duration::from_millis(150), "{took:?}");
    let (_, took) = timed("/admin/state").await;
    assert!(took < Duration::from_millis(150), "admin delayed: {took:?}");
    let started = Instant::now();
    app.metrics().await;
    assert!(started.elapsed() < Duration::from_millis(150));

    // The histogram sees the delay: the request is above the 0.1 s bucket.
    let text = app.metrics().await;
    assert_eq!(
        value(
            &text,
            "http_request_duration_seconds_bucket",
            &[("path", "/health"), ("le", "0.1")]
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "http_request_duration_seconds_bucket",
            &[("path", "/health"), ("le", "0.25")]
        ),
        Some(1.0),
        "{text}"
    );

    let (status, body) = app.send(Method::PUT, "/admin/latency-ms", "0").await;
    assert_eq!(status, StatusCode::OK);
    let state: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(state["latencyMs"], 0);
    let (_, took) = timed("/health").await;
    assert!(took < Duration::from_millis(150), "{took:?}");
    let (_, body) = app.send(Method::GET, "/admin/latency-ms", "").await;
    assert_eq!(body, "0\n");
    for bad in ["fast", "-5", "3600001"] {
        let (status, _) = app.send(Method::PUT, "/admin/latency-ms", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}");
    }
}

#[tokio::test]
async fn a_served_app_exports_what_a_scrape_reads() {
    let app = checklist_testapp::spawn(Config {
        metric_labels: vec![("revision".into(), "new".into())],
        ..Config::default()
    })
    .await
    .unwrap();
    assert_eq!(app.set_error_percent(10), Ok(0));
    assert_eq!(app.set_latency_ms(20), 0);
    let mut failed = 0;
    for _ in 0..20 {
        let answer = common::get(&format!("{}/", app.url())).await;
        if answer.status == StatusCode::INTERNAL_SERVER_ERROR {
            failed += 1;
        }
    }
    assert_eq!(failed, 2);
    let scrape = common::get(&format!("{}/metrics", app.url())).await;
    assert_eq!(scrape.status, StatusCode::OK);
    let text = String::from_utf8(scrape.body.to_vec()).unwrap();
    assert_eq!(text, app.metrics_text());
    let errors = [("revision", "new"), ("path", "/"), ("status", "500")];
    assert_eq!(value(&text, "http_requests_total", &errors), Some(2.0));
    assert_eq!(
        value(
            &text,
            "http_request_duration_seconds_bucket",
            &[("path", "/"), ("le", "0.01")]
        ),
        Some(0.0),
        "20 ms of latency: {text}"
    );
    assert_eq!(app.state().snapshot().latency_ms, 20);
    app.shutdown().await;
}
