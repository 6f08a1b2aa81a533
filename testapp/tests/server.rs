//! The app served on real loopback listeners, in-process: both listeners, the admin switch
//! over HTTP, huge bodies read partly, and shutdown ending hanging requests.

// Test code: a failed unwrap is a failed test (clippy.toml allows it only inside #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::{Method, StatusCode, header};

use checklist_testapp::{Config, Listener, Mode, SECURITY_HEADERS};
use common::{get, send, send_head};

fn both_listeners() -> Config {
    Config {
        http_listen: Some("127.0.0.1:0".parse().unwrap()),
        shutdown_grace: Duration::from_secs(3),
        ..Config::default()
    }
}

#[tokio::test]
async fn both_listeners_serve_on_loopback_ephemeral_ports() {
    let app = checklist_testapp::spawn(both_listeners()).await.unwrap();
    assert!(app.addr().ip().is_loopback());
    assert_ne!(app.addr().port(), 0);
    let http_addr = app.http_addr().unwrap();
    assert_ne!(http_addr.port(), app.addr().port());
    assert_eq!(app.url(), format!("http://{}", app.addr()));

    let health = get(&format!("{}/health", app.url())).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    for (name, value) in SECURITY_HEADERS {
        // The CSP carries a fresh nonce after its value.
        let sent = health.headers[name].to_str().unwrap();
        assert!(sent.starts_with(value), "{name}: {sent}");
    }

    let redirect = get(&format!("{}/some/path?x=1", app.http_url().unwrap())).await;
    assert_eq!(redirect.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        redirect.headers[header::LOCATION],
        "https://127.0.0.1/some/path?x=1"
    );
    assert_eq!(
        app.state().request_count(Listener::Redirect, "/some/path"),
        1
    );
    assert_eq!(app.state().request_count(Listener::Main, "/health"), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_flips_a_running_server_between_requests() {
    let app = checklist_testapp::spawn(both_listeners()).await.unwrap();
    let url = app.url();
    let switched = send(
        Method::PUT,
        &format!("{url}/admin/mode"),
        &[],
        "no-redirect",
    )
    .await;
    assert_eq!(switched.status, StatusCode::OK);
    let redirect = get(&format!("{}/", app.http_url().unwrap())).await;
    assert_eq!(redirect.status, StatusCode::OK);

    send(Method::PUT, &format!("{url}/admin/mode"), &[], "unhealthy").await;
    assert_eq!(
        get(&format!("{url}/health/deep")).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let state = get(&format!("{url}/admin/state")).await.json();
    assert_eq!(state["mode"], "unhealthy");
    assert_eq!(state["requests"]["/health/deep"], 1);
    assert_eq!(state["redirectRequests"]["/"], 1);
    app.shutdown().await;
}

#[tokio::test]
async fn slow_mode_delays_over_the_network() {
    let app = checklist_testapp::spawn(Config {
        mode: Mode::Slow,
        delay: Duration::from_millis(300),
        ..Config::default()
    })
    .await
    .unwrap();
    let started = Instant::now();
    assert_eq!(
        get(&format!("{}/health", app.url())).await.status,
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    app.shutdown().await;
}

#[tokio::test]
async fn a_client_may_stop_reading_a_huge_body() {
    let app = checklist_testapp::spawn(Config {
        mode: Mode::HugeBody,
        ..Config::default()
    })
    .await
    .unwrap();
    let url = format!("{}/health", app.url());

    // Read only the first 64 KiB, then drop the connection, as a capped client does.
    let mut body = send_head(Method::GET, &url, &[], "").await.into_body();
    let mut read = 0usize;
    while read < 64 * 1024 {
        let frame = body.frame().await.unwrap().unwrap();
        read += frame.data_ref().map_or(0, |data| data.len());
    }
    drop(body);

    // Read a whole one: exactly 8 MiB of valid JSON, chunked.
    let whole = get(&url).await;
    assert_eq!(whole.body.len(), 8 << 20);
    assert!(!whole.headers.contains_key(header::CONTENT_LENGTH));
    assert_eq!(whole.json()["status"], "ok");

    app.set_mode(Mode::Healthy);
    assert_eq!(get(&url).await.status, StatusCode::OK);
    app.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_hanging_requests_promptly() {
    let app = checklist_testapp::spawn(Config {
        mode: Mode::Hang,
        hang_max: Duration::from_secs(3600),
        ..both_listeners()
    })
    .await
    .unwrap();
    let main_url = format!("{}/health", app.url());
    let main = tokio::spawn(async move { send_head(Method::GET, &main_url, &[], "").await });
    let redirect_url = format!("{}/", app.http_url().unwrap());
    let redirect =
        tokio::spawn(async move { send_head(Method::GET, &redirect_url, &[], "").await });
    // Both requests are in, and stay unanswered.
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state().snapshot().total_requests < 2 {
        assert!(Instant::now() < deadline, "requests never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!main.is_finished() && !redirect.is_finished());

    let started = Instant::now();
    app.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    for request in [main, redirect] {
        let response = tokio::time::timeout(Duration::from_secs(2), request)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}

#[tokio::test]
async fn a_taken_port_is_a_clear_start_error() {
    let first = checklist_testapp::spawn(Config::default()).await.unwrap();
    let err = checklist_testapp::spawn(Config {
        listen: first.addr(),
        ..Config::default()
    })
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot listen on {}", first.addr())),
        "{err}"
    );

    let err = checklist_testapp::spawn(Config {
        failing_dependencies: vec!["redis".into()],
        ..Config::default()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("invalid configuration"), "{err}");
    first.shutdown().await;
}
