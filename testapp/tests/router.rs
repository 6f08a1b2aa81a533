//! The routers, driven in-process with `tower::ServiceExt::oneshot`: every mode, the
//! dependency knobs, the rate limit and the admin API.

// Test code: a failed unwrap is a failed test (clippy.toml allows it only inside #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use checklist_testapp::app::{redirect_router, router};
use checklist_testapp::{AppState, Config, Listener, Mode, SECURITY_HEADERS, StateSnapshot};

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.body))
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Every security header with its value; the CSP carries a nonce after its value.
    fn has_all_security_headers(&self) -> bool {
        SECURITY_HEADERS.iter().all(|(name, value)| {
            self.headers.get(*name).is_some_and(|v| {
                v == value
                    || (*name == "content-security-policy"
                        && v.to_str().is_ok_and(|v| {
                            v.starts_with(&format!("{value}; script-src 'self' 'nonce-"))
                        }))
            })
        })
    }

    fn has_no_security_headers(&self) -> bool {
        SECURITY_HEADERS
            .iter()
            .all(|(name, _)| !self.headers.contains_key(*name))
    }
}

struct TestApp {
    state: Arc<AppState>,
    shutdown: CancellationToken,
    app: Router,
    redirect: Router,
}

impl TestApp {
    fn new(config: Config) -> TestApp {
        let shutdown = CancellationToken::new();
        let state = Arc::new(AppState::new(config, shutdown.clone()));
        TestApp {
            app: router(state.clone()),
            redirect: redirect_router(state.clone()),
            state,
            shutdown,
        }
    }

    fn healthy() -> TestApp {
        TestApp::new(Config::default())
    }

    fn in_mode(mode: Mode) -> TestApp {
        TestApp::new(Config {
            mode,
            ..Config::default()
        })
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        answer(self.app.clone().oneshot(request).await.unwrap()).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(request(Method::GET, path, "")).await
    }

    async fn admin(&self, method: Method, path: &str, body: &str) -> Answer {
        self.send(request(method, path, body)).await
    }

    async fn login(&self, password: &str) -> Answer {
        let body = format!(r#"{{"user":{{"email":"test@test.com","password":"{password}"}}}}"#);
        self.send(request(Method::POST, "/users/log_in", &body))
            .await
    }

    async fn redirect(&self, path: &str, host: &str) -> Answer {
        let request = Request::builder()
            .uri(path)
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        answer(self.redirect.clone().oneshot(request).await.unwrap()).await
    }
}

fn request(method: Method, path: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn answer(response: axum::response::Response) -> Answer {
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: to_bytes(body, 64 << 20).await.unwrap(),
    }
}

#[tokio::test]
async fn healthy_answers_every_seed_endpoint_with_the_security_headers() {
    let app = TestApp::healthy();

    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::OK);
    let body = health.json();
    assert_eq!(body["status"], "ok");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        health.headers[header::CONTENT_TYPE],
        "application/json",
        "health is JSON"
    );
    assert!(health.has_all_security_headers());

    let deep = app.get("/health/deep").await;
    assert_eq!(deep.status, StatusCode::OK);
    let body = deep.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["checks"]["database"]["status"], "pass");
    assert_eq!(body["checks"]["oban"]["status"], "pass");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["timestamp"].is_string());

    let api = app.get("/api/health").await;
    assert_eq!(api.status, StatusCode::OK);
    let body = api.json();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["dependencies"]["database"], "connected");
    assert_eq!(body["uptime"], "0h 0m");

    for path in ["/", "/users/log_in", "/no/such/page"] {
        let page = app.get(path).await;
        assert!(page.has_all_security_headers(), "{path}");
    }
    assert_eq!(app.get("/").await.status, StatusCode::OK);
    assert_eq!(app.get("/no/such/page").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dependencies_are_configurable_and_one_can_fail() {
    let app = TestApp::new(Config {
        dependencies: vec!["database".into(), "openai".into(), "groq".into()],
        failing_dependencies: vec!["groq".into()],
        ..Config::default()
    });
    let deep = app.get("/health/deep").await;
    assert_eq!(deep.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = deep.json();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["database"]["status"], "pass");
    assert_eq!(body["checks"]["openai"]["status"], "pass");
    assert_eq!(body["checks"]["groq"]["status"], "fail");
    assert_eq!(body["checks"].as_object().unwrap().len(), 3);

    let api = app.get("/api/health").await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.json()["status"], "degraded");
    assert_eq!(api.json()["dependencies"]["groq"], "disconnected");
    assert_eq!(api.json()["dependencies"]["openai"], "connected");

    // The shallow check stays up: only deep health looks at dependencies.
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
}

#[tokio::test]
async fn unhealthy_fails_every_health_endpoint_with_503() {
    let app = TestApp::in_mode(Mode::Unhealthy);
    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json()["status"], "unhealthy");
    assert!(health.has_all_security_headers());

    let deep = app.get("/health/deep").await;
    assert_eq!(deep.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = deep.json();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["checks"]["database"]["status"], "fail");
    assert_eq!(body["checks"]["oban"]["status"], "fail");

    let api = app.get("/api/health").await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.json()["status"], "unhealthy");

    // The rest of the app still answers.
    assert_eq!(app.get("/").await.status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn slow_delays_every_response_but_not_admin() {
    let app = TestApp::new(Config {
        mode: Mode::Slow,
        delay: Duration::from_millis(1500),
        ..Config::default()
    });
    let started = tokio::time::Instant::now();
    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(1500));

    let started = tokio::time::Instant::now();
    app.redirect("/", "app.example.com").await;
    assert!(started.elapsed() >= Duration::from_millis(1500));

    let started = tokio::time::Instant::now();
    assert_eq!(
        app.admin(Method::GET, "/admin/state", "").await.status,
        StatusCode::OK
    );
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test]
async fn slow_is_cut_short_by_shutdown() {
    let app = TestApp::new(Config {
        mode: Mode::Slow,
        delay: Duration::from_secs(3600),
        ..Config::default()
    });
    app.shutdown.cancel();
    let health = tokio::time::timeout(Duration::from_secs(5), app.get("/health"))
        .await
        .unwrap();
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn missing_headers_drops_all_five_and_omit_header_drops_one() {
    let app = TestApp::in_mode(Mode::MissingHeaders);
    for path in ["/", "/health", "/health/deep", "/users/log_in"] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.has_no_security_headers(), "{path}");
    }

    let app = TestApp::new(Config {
        omit_headers: vec!["Content-Security-Policy".into()],
        ..Config::default()
    });
    let page = app.get("/").await;
    assert!(!page.headers.contains_key("content-security-policy"));
    assert_eq!(page.headers["x-frame-options"], "SAMEORIGIN");
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["x-xss-protection"], "1; mode=block");
    assert!(page.headers.contains_key("strict-transport-security"));
}

#[tokio::test]
async fn the_redirect_side_sends_301_to_https_on_the_same_host() {
    let app = TestApp::healthy();
    let answer = app
        .redirect("/users/settings?tab=2", "app.example.com:8080")
        .await;
    assert_eq!(answer.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        answer.headers[header::LOCATION],
        "https://app.example.com/users/settings?tab=2"
    );
    let answer = app.redirect("/", "127.0.0.1:40000").await;
    assert_eq!(answer.headers[header::LOCATION], "https://127.0.0.1/");
    let answer = app.redirect("/", "[::1]:40000").await;
    assert_eq!(answer.headers[header::LOCATION], "https://[::1]/");
    assert_eq!(app.state.request_count(Listener::Redirect, "/"), 2);
    assert_eq!(app.state.request_count(Listener::Main, "/"), 0);
}

#[tokio::test]
async fn the_redirect_can_be_made_wrong_in_each_way() {
    let app = TestApp::in_mode(Mode::NoRedirect);
    let answer = app.redirect("/", "app.example.com").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(!answer.headers.contains_key(header::LOCATION));

    let app = TestApp::new(Config {
        redirect_status: StatusCode::FOUND,
        redirect_scheme: "http".into(),
        redirect_host: Some("elsewhere.example.net".into()),
        ..Config::default()
    });
    let answer = app.redirect("/x", "app.example.com").await;
    assert_eq!(answer.status, StatusCode::FOUND);
    assert_eq!(
        answer.headers[header::LOCATION],
        "http://elsewhere.example.net/x"
    );

    let app = TestApp::new(Config {
        redirect_status: StatusCode::PERMANENT_REDIRECT,
        ..Config::default()
    });
    assert_eq!(
        app.redirect("/", "a.example").await.status,
        StatusCode::PERMANENT_REDIRECT
    );
}

#[tokio::test]
async fn login_answers_401_then_429_after_five_attempts() {
    let app = TestApp::healthy();
    for attempt in 1..=5 {
        let answer = app.login("wrong").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        assert!(answer.has_all_security_headers());
    }
    let limited = app.login("wrong").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.json()["attempt"], 6);
    let retry_after: u64 = limited.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(limited.has_all_security_headers());
    // Even the right password is refused while limited.
    assert_eq!(
        app.login("correct-password").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let reset = app.admin(Method::POST, "/admin/reset", "").await;
    assert_eq!(reset.status, StatusCode::OK);
    assert_eq!(reset.json()["loginAttempts"], 0);
    assert_eq!(app.login("correct-password").await.status, StatusCode::OK);
    assert_eq!(
        app.send(request(Method::POST, "/users/log_in", "not json"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn rate_limit_after_is_configurable_and_no_rate_limit_never_429s() {
    let app = TestApp::new(Config {
        rate_limit_after: 2,
        ..Config::default()
    });
    assert_eq!(app.login("x").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("x").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("x").await.status, StatusCode::TOO_MANY_REQUESTS);

    let app = TestApp::in_mode(Mode::NoRateLimit);
    for _ in 0..10 {
        assert_eq!(app.login("x").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.state.snapshot().login_attempts, 10);
    assert_eq!(app.state.request_count(Listener::Main, "/users/log_in"), 10);
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_window_expires() {
    let app = TestApp::new(Config {
        rate_limit_after: 1,
        rate_limit_window: Duration::from_secs(60),
        ..Config::default()
    });
    assert_eq!(app.login("x").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("x").await.status, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(app.login("x").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn garbage_json_answers_200_with_html_claiming_to_be_json() {
    let app = TestApp::in_mode(Mode::GarbageJson);
    for path in ["/health", "/health/deep", "/api/health"] {
        let answer = app.get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
        assert!(
            serde_json::from_slice::<Value>(&answer.body).is_err(),
            "{path}"
        );
        assert!(answer.text().starts_with("<html>"), "{path}");
    }
}

#[tokio::test]
async fn huge_body_streams_megabytes_of_valid_json() {
    let app = TestApp::in_mode(Mode::HugeBody);
    for path in ["/health", "/health/deep", "/api/health"] {
        let answer = app.get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert!(!answer.headers.contains_key(header::CONTENT_LENGTH));
        assert_eq!(answer.body.len(), 8 << 20, "{path}");
        assert_eq!(answer.json()["status"], "ok");
    }

    let app = TestApp::new(Config {
        mode: Mode::HugeBody,
        huge_body_bytes: 100_001,
        ..Config::default()
    });
    assert_eq!(app.get("/health").await.body.len(), 100_001);
}

#[tokio::test(start_paused = true)]
async fn hang_never_answers_until_hang_max_but_admin_does() {
    let app = TestApp::new(Config {
        mode: Mode::Hang,
        hang_max: Duration::from_secs(300),
        ..Config::default()
    });
    let hung = tokio::time::timeout(Duration::from_secs(299), app.get("/health")).await;
    assert!(hung.is_err(), "a hanging request answered");
    assert_eq!(app.state.request_count(Listener::Main, "/health"), 1);

    let state = app.admin(Method::GET, "/admin/state", "").await;
    assert_eq!(state.status, StatusCode::OK);
    assert_eq!(state.json()["mode"], "hang");

    let started = tokio::time::Instant::now();
    let gave_up = app.get("/health").await;
    assert_eq!(gave_up.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(started.elapsed(), Duration::from_secs(300));
}

#[tokio::test]
async fn hang_ends_at_shutdown() {
    let app = TestApp::new(Config {
        mode: Mode::Hang,
        hang_max: Duration::from_secs(3600),
        ..Config::default()
    });
    let request = {
        let router = app.app.clone();
        tokio::spawn(async move {
            router
                .oneshot(Request::get("/health").body(Body::empty()).unwrap())
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!request.is_finished());
    app.shutdown.cancel();
    let response = tokio::time::timeout(Duration::from_secs(5), request)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn admin_switches_the_mode_at_run_time() {
    let app = TestApp::healthy();
    assert_eq!(app.get("/health").await.status, StatusCode::OK);

    let switched = app.admin(Method::PUT, "/admin/mode", "unhealthy").await;
    assert_eq!(switched.status, StatusCode::OK);
    assert_eq!(switched.json()["mode"], "unhealthy");
    assert!(switched.has_no_security_headers(), "admin answers are bare");
    assert_eq!(
        app.get("/health").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let mode = app.admin(Method::GET, "/admin/mode", "").await;
    assert_eq!(mode.text(), "unhealthy\n");

    // A JSON string body works too.
    let back = app.admin(Method::PUT, "/admin/mode", "\"healthy\"").await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(app.get("/health").await.status, StatusCode::OK);

    let bad = app.admin(Method::PUT, "/admin/mode", "sleepy").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text().contains("expected one of: healthy, unhealthy"),
        "{}",
        bad.text()
    );
    assert_eq!(app.state.mode(), Mode::Healthy);

    for mode in Mode::ALL {
        let switched = app.admin(Method::PUT, "/admin/mode", mode.as_str()).await;
        assert_eq!(switched.status, StatusCode::OK, "{mode}");
        assert_eq!(app.state.mode(), mode);
    }
}

#[tokio::test]
async fn admin_fails_and_restores_dependencies() {
    let app = TestApp::healthy();
    let failed = app
        .admin(Method::PUT, "/admin/failing-dependencies", "oban")
        .await;
    assert_eq!(failed.status, StatusCode::OK);
    assert_eq!(
        failed.json()["failingDependencies"],
        serde_json::json!(["oban"])
    );
    let deep = app.get("/health/deep").await;
    assert_eq!(deep.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(deep.json()["status"], "degraded");
    assert_eq!(deep.json()["checks"]["oban"]["status"], "fail");
    assert_eq!(deep.json()["checks"]["database"]["status"], "pass");

    let both = app
        .admin(
            Method::PUT,
            "/admin/failing-dependencies",
            "database, oban\n",
        )
        .await;
    assert_eq!(both.status, StatusCode::OK);
    assert_eq!(app.state.failing_dependencies().len(), 2);

    let unknown = app
        .admin(Method::PUT, "/admin/failing-dependencies", "redis")
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.text().contains("\"redis\""));

    let none = app
        .admin(Method::PUT, "/admin/failing-dependencies", "")
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(app.get("/health/deep").await.status, StatusCode::OK);
}

#[tokio::test]
async fn admin_state_counts_requests_per_path_without_admin_requests() {
    let app = TestApp::healthy();
    app.get("/health").await;
    app.get("/health").await;
    app.get("/health?probe=1").await;
    app.get("/health/deep").await;
    app.login("x").await;
    app.redirect("/", "a.example").await;

    let state = app.admin(Method::GET, "/admin/state", "").await;
    assert_eq!(state.status, StatusCode::OK);
    let snapshot: StateSnapshot = serde_json::from_slice(&state.body).unwrap();
    assert_eq!(snapshot.mode, Mode::Healthy);
    assert_eq!(snapshot.requests["/health"], 3);
    assert_eq!(snapshot.requests["/health/deep"], 1);
    assert_eq!(snapshot.requests["/users/log_in"], 1);
    assert_eq!(snapshot.redirect_requests["/"], 1);
    assert_eq!(snapshot.total_requests, 6);
    assert_eq!(snapshot.login_attempts, 1);
    assert_eq!(snapshot.rate_limit_after, 5);
    assert_eq!(snapshot.dependencies, ["database", "oban"]);
    assert!(
        !snapshot
            .requests
            .keys()
            .any(|path| path.starts_with("/admin"))
    );

    let json = state.json();
    for key in [
        "mode",
        "dependencies",
        "failingDependencies",
        "rateLimitAfter",
        "loginAttempts",
        "requests",
        "redirectRequests",
        "totalRequests",
    ] {
        assert!(json.get(key).is_some(), "missing {key} in {json}");
    }

    let reset = app.admin(Method::POST, "/admin/reset", "").await;
    assert_eq!(reset.json()["totalRequests"], 0);
    assert_eq!(reset.json()["mode"], "healthy");
}

#[tokio::test]
async fn request_bodies_are_capped() {
    let app = TestApp::healthy();
    let big = "x".repeat(128 * 1024);
    let answer = app.send(request(Method::POST, "/users/log_in", &big)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    let answer = app.admin(Method::PUT, "/admin/mode", &big).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn cors_allows_only_its_origin_and_every_csp_has_a_new_nonce() {
    let app = TestApp::healthy();
    let from = |origin: &str, method: Method| {
        let mut request = request(method, "/", "");
        request
            .headers_mut()
            .insert(header::ORIGIN, origin.parse().unwrap());
        request
    };
    let allowed = app
        .send(from(checklist_testapp::ALLOWED_ORIGIN, Method::OPTIONS))
        .await;
    assert_eq!(allowed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        allowed.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        checklist_testapp::ALLOWED_ORIGIN
    );
    assert_eq!(
        allowed.headers[header::ACCESS_CONTROL_ALLOW_METHODS],
        "GET, POST"
    );
    let evil = app.send(from("https://evil.example", Method::GET)).await;
    assert_eq!(evil.status, StatusCode::OK);
    assert!(
        !evil
            .headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
    let csp = |answer: &Answer| answer.headers["content-security-policy"].clone();
    assert_ne!(csp(&allowed), csp(&evil), "a nonce is used once");
    assert!(evil.has_all_security_headers());
}
