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
    verify_file(&example("dialectic.yaml"), app, extra).await
}

/// Runs `verify` on `file` against `app`, one round.
async fn verify_file(file: &Path, app: &RunningApp, extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_checklist-operator"));
    command
        .arg("verify")
        .arg("--file")
        .arg(file)
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
        "page-load",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("✓ {name} "))),
            "no passing line for {name}:\n{text}"
        );
    }
    assert!(text.contains("    ✓ database (pass)"), "{text}");
    assert!(
        text.contains("over 20 requests (budgets p95 ≤ 500 ms)"),
        "{text}"
    );
    assert!(text.ends_with("Score: 6/6\n"), "{text}");
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
    assert_eq!(report["passed"], 5);
    assert_eq!(report["total"], 6);
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

/// A child's exit, wall time and peak resident memory. The peak is VmHWM read from /proc while
/// the child runs, every millisecond: the last reading before it exits, so a lower bound of the
/// true peak, good as the generous sanity bound these tests need.
struct Measured {
    out: Output,
    wall: Duration,
    peak_kib: u64,
}

fn measure(mut command: Command) -> Measured {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let hwm = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .unwrap_or(0);
        peak_kib = peak_kib.max(hwm);
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().ok();
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let wall = started.elapsed();
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    Measured {
        out: Output {
            status,
            stdout,
            stderr,
        },
        wall,
        peak_kib,
    }
}

fn verify_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_checklist-operator"));
    command.arg("verify").args(args);
    command
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verify-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Asserts the sanity bounds and prints the figures.
fn within_bounds(case: &str, measured: &Measured) {
    println!(
        "{case:<44} exit {:?}  {:>6.1} ms  peak RSS {:>6.1} MiB",
        measured.out.status.code(),
        measured.wall.as_secs_f64() * 1000.0,
        measured.peak_kib as f64 / 1024.0
    );
    assert!(
        measured.wall < Duration::from_secs(1),
        "{case}: {:?}",
        measured.wall
    );
    assert!(
        measured.peak_kib < 50 * 1024,
        "{case}: {} KiB",
        measured.peak_kib
    );
}

#[test]
fn dev_zero_is_refused_at_once() {
    let measured = measure(verify_command(&["-f", "/dev/zero"]));
    within_bounds("-f /dev/zero", &measured);
    let stderr = String::from_utf8_lossy(&measured.out.stderr);
    assert_eq!(measured.out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("/dev/zero is not a regular file"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let fifo = scratch_dir("fifo").join("checklist.yaml");
    std::fs::remove_file(&fifo).ok();
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("no mkfifo here; skipped");
        return;
    }
    let measured = measure(verify_command(&["-f", fifo.to_str().unwrap()]));
    within_bounds("-f FIFO", &measured);
    let stderr = String::from_utf8_lossy(&measured.out.stderr);
    assert_eq!(measured.out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not a regular file"), "{stderr}");
}

#[test]
fn a_huge_interval_is_refused_naming_the_field_before_any_request() {
    let file = scratch_dir("interval").join("checklist.yaml");
    std::fs::write(
        &file,
        MINIMAL.replace(
            "    url: http://127.0.0.1:9\n",
            "    url: http://127.0.0.1:9\n    intervalSeconds: 2147483647\n",
        ),
    )
    .unwrap();
    let measured = measure(verify_command(&["-f", file.to_str().unwrap()]));
    within_bounds("intervalSeconds: 2147483647", &measured);
    let stderr = String::from_utf8_lossy(&measured.out.stderr);
    assert_eq!(measured.out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("spec.verification.intervalSeconds: 2147483647 is above the maximum 3600"),
        "{stderr}"
    );
}

#[test]
fn the_crds_bounds_are_applied_to_the_file() {
    let table = [
        (
            "path: /health, expectStatus: [999]",
            "spec.verification.checks[0].http.expectStatus[0]: 999 is above the maximum 599",
        ),
        (
            "path: ':18081/ok'",
            "spec.verification.checks[0].http.path: \":18081/ok\" does not match the pattern",
        ),
        (
            "path: '//evil.example/x'",
            "spec.verification.checks[0].http.path: \"//evil.example/x\" does not match",
        ),
        (
            "path: /health, method: TRACE",
            "spec.verification.checks[0].http.method: \"TRACE\" is not one of",
        ),
    ];
    for (http, expected) in table {
        let out = run(&[], Some(&MINIMAL.replace("path: /health", http)));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{http}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{http}: expected {expected:?} in {stderr}"
        );
    }
    let burst = MINIMAL.replace(
        "http: {path: /health}",
        "rateLimit: {path: /login, attempts: 1000000}",
    );
    let out = run(&[], Some(&burst));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "spec.verification.checks[0].rateLimit.attempts: 1000000 is above the maximum 100"
        ),
        "{stderr}"
    );
}

fn with_secret_header(secret: &str, key: &str) -> String {
    MINIMAL.replace(
        "http: {path: /health}",
        &format!(
            "http: {{path: /health, headers: [{{name: X-Token, valueFrom: {{secretKeyRef: {{name: '{secret}', key: '{key}'}}}}}}]}}"
        ),
    )
}

#[test]
fn a_secret_name_or_key_that_climbs_out_of_the_secret_dir_is_refused() {
    let dir = scratch_dir("secrets");
    let file = dir.join("checklist.yaml");
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    let table = [
        ("..", "hostname", "secretKeyRef.name: \"..\" does not match"),
        (
            "../../etc",
            "hostname",
            "secretKeyRef.name: \"../../etc\" does not match",
        ),
        (
            "probe-token",
            "../../../etc/hostname",
            "secretKeyRef.key: \"../../../etc/hostname\" does not match",
        ),
        (
            "probe-token",
            "..data",
            "secretKeyRef.key: \"..data\" does not match",
        ),
    ];
    for (secret, key, expected) in table {
        std::fs::write(&file, with_secret_header(secret, key)).unwrap();
        let measured = measure(verify_command(&[
            "-f",
            file.to_str().unwrap(),
            "--secret-dir",
            secrets.to_str().unwrap(),
        ]));
        within_bounds(&format!("Secret {secret:?} key {key:?}"), &measured);
        let stderr = String::from_utf8_lossy(&measured.out.stderr);
        assert_eq!(
            measured.out.status.code(),
            Some(2),
            "{secret}/{key}: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{secret}/{key}: expected {expected:?} in {stderr}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_secret_file_linking_out_of_the_secret_dir_is_refused() {
    let dir = scratch_dir("secret-link");
    let file = dir.join("checklist.yaml");
    let secret = dir.join("secrets").join("probe-token");
    std::fs::create_dir_all(&secret).unwrap();
    let link = secret.join("header");
    std::fs::remove_file(&link).ok();
    std::os::unix::fs::symlink(&file, &link).unwrap();
    std::fs::write(&file, with_secret_header("probe-token", "header")).unwrap();
    let out = verify_command(&[
        "-f",
        file.to_str().unwrap(),
        "--secret-dir",
        dir.join("secrets").to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("outside --secret-dir"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_descendant_chain_against_a_live_app_fails_its_check_fast() {
    let app = app(Mode::Healthy).await;
    let file = scratch_dir("chain").join("checklist.yaml");
    std::fs::write(
        &file,
        MINIMAL.replace(
            "http: {path: /health}",
            "http: {path: /health/deep, expectJSON: {'$..*..*..*..*..*': ok}}",
        ),
    )
    .unwrap();
    let command = verify_command(&[
        "-f",
        file.to_str().unwrap(),
        "--url",
        &app.url(),
        "--rounds",
        "1",
    ]);
    // The app runs on this test's runtime; measure the process off it.
    let measured = tokio::task::spawn_blocking(move || measure(command))
        .await
        .unwrap();
    within_bounds("$..*..*..*..*..* against the test app", &measured);
    let text = stdout(&measured.out);
    assert_eq!(measured.out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("$..*..*..*..*..* has 5 descendant (..) segments, over the limit of 2"),
        "{text}"
    );
    app.shutdown().await;
}

/// The manifests the API server must refuse (tests/invalid, checked against a real one by the
/// end-to-end tests) are refused by `verify` too, naming the same field, except those about
/// fields `verify` does not read (the rollout's CEL rules and list keys outside the checks).
#[test]
fn the_invalid_corpus_is_refused_as_the_api_server_refuses_it() {
    let not_checked = [
        "must name a tag or a digest",
        "must not use the tag 'latest'",
        "has a malformed digest",
        "spec.app.env must not set PORT",
        ".spec.app.env: duplicate entries",
        ".spec.secrets",
        "spec.secrets[0].keys\n",
        "spec.migration.image",
        "weights must be strictly increasing",
        "is only allowed when",
        "with its steps is required",
        "must not both be 0",
        "successThreshold must be 1",
        ".spec.rollback.triggers: duplicate entries",
        "spec.rollback.migration Run needs",
        "spec.app.image: Invalid value",
        "spec.secrets may set a pattern",
        "spec.app.podLabels",
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut refused = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .next()
            .unwrap()
            .strip_prefix("# expect: ")
            .unwrap();
        let result = checklist_operator::verify::cli::parse(&text, None);
        if not_checked
            .iter()
            .any(|n| format!("{expect}\n").contains(n))
        {
            continue;
        }
        let message = match result {
            Err(message) => message,
            Ok(_) => panic!(
                "{}: accepted; the API server says {expect:?}",
                path.display()
            ),
        };
        // The field path: the API server's text before ": Required value" and the like.
        let field = expect
            .trim_start_matches('.')
            .split(": ")
            .next()
            .unwrap()
            .split(" duplicate")
            .next()
            .unwrap();
        assert!(
            message.contains(field) || message.contains(expect),
            "{}: expected {field:?} in {message:?}",
            path.display()
        );
        refused += 1;
    }
    assert!(refused >= 45, "only {refused} manifests were checked");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checklist_takes_its_templates_checks_from_a_file() {
    let app = app(Mode::Healthy).await;
    let shop = example("templated-shop.yaml");
    let templates = example("platform-templates.yaml");
    let out = verify_file(&shop, &app, &["--templates", templates.to_str().unwrap()]).await;
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "deep-health",
        "health",
        "https-redirect",
        "security-headers",
        "health-latency",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("✓ {name} "))),
            "no passing line for {name}:\n{text}"
        );
    }
    let out = verify_file(&shop, &app, &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(
        error.contains("templated-shop.yaml: ClusterChecklistTemplate web-baseline not found"),
        "{error}"
    );
}
