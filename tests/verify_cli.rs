//! `checklist-operator verify` as a CI pipeline runs it: the Dialectic example against the test
//! app, healthy and in each broken mode, in text and JSON, and every bad input refused with 2.

// Tests may unwrap: a panic is how a test says what failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

use checklist_testapp::{Config, Mode, RunningApp};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

async fn app(mode: Mode) -> RunningApp {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        http_listen: Some("127.0.0.1:0".parse().unwrap()),
        mode,
        ..Config::default()
    };
    checklist_testapp::spawn(config).await.unwrap()
}

/// Runs `verify` on the Dialectic example against `app`, one round.
async fn verify(app: &RunningApp, extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_checklist-operator"));
    command
        .arg("verify")
        .arg("--file")
        .arg(example("dialectic.yaml"))
        .args([
            "--url",
            &app.url(),
            "--http-url",
            &app.http_url().unwrap(),
            "--rounds",
            "1",
        ])
        .args(extra);
    // The app runs on this test's runtime; wait for the process off it.
    tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_app_passes_with_exit_0_and_a_full_score() {
    let app = app(Mode::Healthy).await;
    let out = verify(&app, &[]).await;
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "health",
        "deep-health",
        "https-redirect",
        "security-headers",
        "login-rate-limit",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("✓ {name} "))),
            "no passing line for {name}:\n{text}"
        );
    }
    assert!(text.contains("    ✓ database (pass)"), "{text}");
    assert!(text.ends_with("Score: 5/5\n"), "{text}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_broken_mode_fails_with_exit_1_and_says_why() {
    let table = [
        (Mode::Unhealthy, "✗ health", "expected status 200, got 503"),
        (
            Mode::Unhealthy,
            "✗ deep-health",
            "dependencies database: \"fail\", oban: \"fail\"",
        ),
        (
            Mode::MissingHeaders,
            "✗ security-headers",
            "missing headers strict-transport-security",
        ),
        (
            Mode::NoRedirect,
            "✗ https-redirect",
            "expected a 301 redirect from",
        ),
        (
            Mode::NoRateLimit,
            "✗ login-rate-limit",
            "no 429 within 6 attempts (10 sent)",
        ),
        (Mode::GarbageJson, "✗ health", "body is not JSON: \"<html>"),
        (
            Mode::HugeBody,
            "✗ deep-health",
            "body is over 64 KiB, too large to check as JSON",
        ),
        (Mode::Slow, "✗ health", "over the 50 ms budget"),
    ];
    for (mode, line_start, message) in table {
        let app = app(mode).await;
        let out = verify(&app, &[]).await;
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{mode:?}:\n{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with(line_start) && l.contains(message)),
            "{mode:?}: no line `{line_start} … {message}`:\n{text}"
        );
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_app_fails_on_the_timeout() {
    let app = app(Mode::Hang).await;
    let out = verify(&app, &["--output", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], 0);
    assert_eq!(report["checks"][0]["message"], "no answer within 5s");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_has_the_documented_shape() {
    let app = app(Mode::MissingHeaders).await;
    let out = verify(&app, &["--output", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], 4);
    assert_eq!(report["total"], 5);
    let headers = &report["checks"][3];
    assert_eq!(headers["name"], "security-headers");
    assert_eq!(headers["kind"], "securityHeaders");
    assert_eq!(headers["result"], "Fail");
    assert!(
        headers["message"]
            .as_str()
            .unwrap()
            .starts_with("missing headers")
    );
    assert!(headers["latencyMs"].is_u64());
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_rounds_are_retried_up_to_the_threshold() {
    let app = app(Mode::Unhealthy).await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_checklist-operator"));
    command
        .arg("verify")
        .arg("-f")
        .arg(example("dialectic.yaml"))
        .args([
            "--url",
            &app.url(),
            "--rounds",
            "3",
            "--interval-seconds",
            "0",
        ]);
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("round 1/3: "), "{stderr}");
    assert!(stderr.contains("round 2/3: "), "{stderr}");
    assert_eq!(app.state().snapshot().requests.get("/health"), Some(&3));
    app.shutdown().await;
}

fn run(args: &[&str], file_text: Option<&str>) -> Output {
    let dir =
        std::env::temp_dir().join(format!("verify-cli-{}-{}", std::process::id(), args.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("checklist-{}.yaml", rand_suffix()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_checklist-operator"));
    command.arg("verify").args(args);
    if let Some(text) = file_text {
        std::fs::write(&file, text).unwrap();
        command.arg("--file").arg(&file);
    }
    let out = command.output().unwrap();
    std::fs::remove_file(&file).ok();
    out
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos()
}

const MINIMAL: &str = r#"
apiVersion: checklist.dev/v1alpha1
kind: DeploymentChecklist
metadata: {name: demo}
spec:
  app: {image: "registry.example/demo:1.0.0"}
  verification:
    url: http://127.0.0.1:9
    checks:
      - name: health
        http: {path: /health}
"#;

#[test]
fn bad_files_and_flags_exit_2_naming_what_is_wrong() {
    let secret_file = example("dialectic-secret.yaml");
    let table: Vec<(Vec<&str>, Option<String>, &str)> = vec![
        (
            vec!["--file", "/nonexistent/checklist.yaml"],
            None,
            "cannot read /nonexistent/checklist.yaml",
        ),
        (
            vec!["--file", secret_file.to_str().unwrap()],
            None,
            "holds no DeploymentChecklist",
        ),
        (
            vec![],
            Some(MINIMAL.replace("path: /health", "path: /health, expectStatuss: [200]")),
            "unknown field spec.verification.checks[0].http.expectStatuss",
        ),
        (
            vec![],
            Some(MINIMAL.replace("path: /health", "path: /health, expectStatus: [ok]")),
            "spec.verification.checks[0].http.expectStatus[0]: invalid type",
        ),
        (
            vec![],
            Some(MINIMAL.replace("    url: http://127.0.0.1:9\n", "")),
            "demo: no URL to verify: pass --url or set spec.verification.url",
        ),
        (
            vec![],
            Some(MINIMAL.replace("        http: {path: /health}\n", "")),
            "check health must set exactly one of",
        ),
        (
            vec![],
            Some(format!(
                "{MINIMAL}---\n{}",
                MINIMAL.replace("name: demo", "name: other")
            )),
            "holds several DeploymentChecklists (demo, other); choose one with --name",
        ),
        (
            vec!["--url", "ftp://example.com"],
            Some(MINIMAL.to_string()),
            "verification url ftp://example.com/: must be an absolute http:// or https:// URL",
        ),
        (
            vec!["--output", "xml"],
            Some(MINIMAL.to_string()),
            "invalid value 'xml' for '--output <OUTPUT>'",
        ),
    ];
    for (args, text, expected) in table {
        let out = run(&args, text.as_deref());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn an_unreachable_app_fails_with_exit_1_not_2() {
    let out = run(&["--rounds", "1"], Some(MINIMAL));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("✗ health"), "{text}");
    assert!(
        text.contains("cannot connect to http://127.0.0.1:9/health"),
        "{text}"
    );
}
