//! The `checklist-testapp` binary as the operator's tests and the demo run it: the stdout
//! address lines, flags, SIGTERM, exit codes, and no CPU held while requests hang.

// Test code: a failed unwrap is a failed test (clippy.toml allows it only inside #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use hyper::{Method, StatusCode, header};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use common::{get, send, send_head};

const BIN: &str = env!("CARGO_BIN_EXE_checklist-testapp");

struct Running {
    child: Child,
    url: String,
    http_url: Option<String>,
    _rest: Lines<BufReader<ChildStdout>>,
}

async fn start(args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("no stdout line within 20 s")
            .unwrap()
            .expect("stdout closed")
    };
    let first = next().await;
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let http_url = if args.contains(&"--http-listen") {
        let second = next().await;
        let url = second
            .strip_prefix("redirect listening on ")
            .unwrap_or_else(|| panic!("unexpected second line {second:?}"))
            .to_owned();
        Some(url)
    } else {
        None
    };
    Running {
        child,
        url,
        http_url,
        _rest: lines,
    }
}

fn terminate(child: &Child) {
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn wait(child: &mut Child) -> ExitStatus {
    tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("did not exit within 10 s")
        .unwrap()
}

#[tokio::test]
async fn prints_its_addresses_serves_and_stops_on_sigterm() {
    let mut app = start(&["--http-listen", "127.0.0.1:0", "--mode", "unhealthy"]).await;
    assert!(app.url.starts_with("http://127.0.0.1:"), "{}", app.url);
    let port: u16 = app.url.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);

    let health = get(&format!("{}/health", app.url)).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json()["status"], "unhealthy");

    let http_url = app.http_url.clone().unwrap();
    let redirect = get(&format!("{http_url}/")).await;
    assert_eq!(redirect.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(redirect.headers[header::LOCATION], "https://127.0.0.1/");

    let switched = send(
        Method::PUT,
        &format!("{}/admin/mode", app.url),
        &[],
        "healthy",
    )
    .await;
    assert_eq!(switched.status, StatusCode::OK);
    assert_eq!(
        get(&format!("{}/health", app.url)).await.status,
        StatusCode::OK
    );

    terminate(&app.child);
    assert!(wait(&mut app.child).await.success());
}

#[tokio::test]
async fn flags_shape_the_app() {
    let mut app = start(&[
        "--dependency",
        "database,openai,groq,task_master",
        "--failing-dependency",
        "groq",
        "--rate-limit-after",
        "1",
        "--app-version",
        "1.4.2",
    ])
    .await;
    let api = get(&format!("{}/api/health", app.url)).await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = api.json();
    assert_eq!(body["version"], "1.4.2");
    assert_eq!(body["dependencies"]["task_master"], "connected");
    assert_eq!(body["dependencies"]["groq"], "disconnected");

    let login = format!("{}/users/log_in", app.url);
    let attempt = async || send(Method::POST, &login, &[], "{}").await.status;
    assert_eq!(attempt().await, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt().await, StatusCode::TOO_MANY_REQUESTS);
    terminate(&app.child);
    assert!(wait(&mut app.child).await.success());
}

#[tokio::test]
async fn metric_labels_error_percent_and_latency_flags() {
    let mut app = start(&[
        "--metric-label",
        "revision=new",
        "--metric-label",
        "app=web",
        "--error-percent",
        "5",
        "--latency-ms",
        "30",
    ])
    .await;
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(get(&format!("{}/", app.url)).await.status);
    }
    assert!(started.elapsed() >= Duration::from_millis(20 * 30));
    assert_eq!(statuses.last(), Some(&StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::INTERNAL_SERVER_ERROR)
            .count(),
        1
    );
    let metrics = get(&format!("{}/metrics", app.url)).await;
    let text = String::from_utf8_lossy(&metrics.body);
    let line = text
        .lines()
        .find(|l| l.starts_with("http_requests_total{") && l.contains(r#"status="500""#))
        .unwrap_or_else(|| panic!("no 500s counted: {text}"));
    assert!(line.contains(r#"revision="new""#), "{line}");
    assert!(line.contains(r#"app="web""#), "{line}");
    assert!(line.ends_with(" 1"), "{line}");
    terminate(&app.child);
    assert!(wait(&mut app.child).await.success());

    for bad in [
        &["--error-percent", "101"][..],
        &["--metric-label", "revision"],
        &["--metric-label", "le=1"],
    ] {
        let output = Command::new(BIN).args(bad).output().await.unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
    }
}

#[tokio::test]
async fn a_bad_flag_exits_2_naming_it() {
    let output = Command::new(BIN)
        .args(["--failing-dependency", "redis"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\"redis\""), "{stderr}");
    assert!(output.stdout.is_empty());

    let output = Command::new(BIN)
        .args(["--mode", "sleepy"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test]
async fn exit_after_secs_stops_it_by_itself() {
    let mut app = start(&["--exit-after-secs", "1"]).await;
    assert!(wait(&mut app.child).await.success());
}

/// A hanging request costs a parked task, not a CPU; SIGTERM still stops the app promptly.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn hang_mode_holds_no_cpu_and_stops_on_sigterm() {
    let mut app = start(&["--mode", "hang", "--hang-max-secs", "3600"]).await;
    let url = format!("{}/health", app.url);
    let hung: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { send_head(Method::GET, &url, &[], "").await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = app.child.id().unwrap();
    let before = cpu_ticks(pid).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = cpu_ticks(pid).await;
    // Clock ticks are usually 1/100 s: a busy loop would burn ~100 per second.
    assert!(
        after - before <= 10,
        "used {} ticks while hanging",
        after - before
    );
    assert!(hung.iter().all(|request| !request.is_finished()));

    terminate(&app.child);
    assert!(wait(&mut app.child).await.success());
    for request in hung {
        let response = tokio::time::timeout(Duration::from_secs(5), request)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}

/// utime + stime of a process, in clock ticks, from /proc/PID/stat.
#[cfg(target_os = "linux")]
async fn cpu_ticks(pid: u32) -> u64 {
    let mut stat = String::new();
    tokio::fs::File::open(format!("/proc/{pid}/stat"))
        .await
        .unwrap()
        .read_to_string(&mut stat)
        .await
        .unwrap();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}
