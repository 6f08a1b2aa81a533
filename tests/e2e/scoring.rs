//! Severity and the least score, as a user sees them: a failing warning check reported while
//! the release goes Ready with its score below full, and the same failure rolling a release
//! back once `minScore` asks for more.

use std::time::Duration;

use checklist_operator::api::Phase;
use checklist_testapp::Mode;
use serde_json::{Value, json};

use checklist_testkit::{Scene, apply, checklist, kubectl_checklist, kubectl_in, valid_secret};

use crate::web::{describe_shows, event_list, get_dcl, kubectl_wait, wait_phase};

/// The fixture checklist on `image` with https-redirect and security-headers as warnings and a
/// dry-run check of a path the app does not serve.
fn graded(image: &str, app: &checklist_testapp::RunningApp) -> Value {
    let mut value = checklist(image, app);
    let checks = value["spec"]["verification"]["checks"]
        .as_array_mut()
        .unwrap();
    for check in checks.iter_mut() {
        if matches!(
            check["name"].as_str(),
            Some("https-redirect" | "security-headers")
        ) {
            check["severity"] = json!("Warning");
        }
    }
    // CORS for specific domains only (seed 002:572): the app's origin is allowed by name, any
    // other gets no CORS header.
    checks.push(json!({
        "name": "cors", "securityHeaders": {
            "method": "OPTIONS", "require": [],
            "headers": [{"name": "Origin", "value": "https://app.example.com"},
                        {"name": "Access-Control-Request-Method", "value": "POST"}],
            "patterns": {"access-control-allow-origin": "^https://app\\.example\\.com$"}
        }
    }));
    checks.push(json!({
        "name": "cors-refuses-others", "securityHeaders": {
            "require": [], "headers": [{"name": "Origin", "value": "https://evil.example"}],
            "absent": ["access-control-allow-origin"]
        }
    }));
    checks.push(json!({
        "name": "new-landing-page", "dryRun": true, "category": "functional",
        "http": {"path": "/landing", "expectStatus": [200]}
    }));
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_failing_warning_goes_ready_below_full_score_and_min_score_rolls_back() {
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("scoring").await;
    // The app forgets its security headers: a warning here, not a reason to roll back.
    app.set_mode(Mode::MissingHeaders);
    apply(
        ns.name(),
        &[&valid_secret(), &graded("example.com/web:1.0.0", &app)],
    );
    let waited = kubectl_wait(ns.name(), "condition=Ready", 90);
    assert!(waited.contains("condition met"), "{waited}");

    let table = get_dcl(ns.name());
    println!("{table}");
    // 2 keys + migration + rollout + 7 counted checks (the dry run is not counted).
    assert!(table.lines().nth(1).unwrap().contains(" 10/11 "), "{table}");
    describe_shows(
        ns.name(),
        &[
            "Phase:                Ready",
            "verification passed: 6/7, 1 warning failed",
            "Warning  VerificationWarning",
            "every critical check passed; 1 warning failed: security-headers",
        ],
    );
    let verified = jsonpath(
        ns.name(),
        "{.status.conditions[?(@.type==\"Verified\")].message}",
    );
    assert_eq!(
        verified,
        "every critical check passed; 1 warning failed: security-headers"
    );
    let checks = jsonpath(
        ns.name(),
        "{range .status.checks[*]}{.name} {.result} {.severity} {.dryRun}{\"\\n\"}{end}",
    );
    for line in [
        "security-headers Fail Warning",
        "https-redirect Pass Warning",
        "new-landing-page Fail  true",
    ] {
        assert!(checks.contains(line), "{line:?} missing:\n{checks}");
    }
    let status = kubectl_checklist(&["status", "web", "-n", ns.name()]);
    println!("{}", status.stdout);
    // Each row of the table: (what the line starts with after its mark, what it shows).
    for (row, shows) in [
        ("security-headers", "warning"),
        ("new-landing-page", "dry run"),
        ("security", "4/5  1 warning"),
    ] {
        assert!(
            status.stdout.lines().any(|l| {
                let l = l.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
                l.starts_with(row) && l.contains(shows)
            }),
            "no row {row} showing {shows:?}:\n{}",
            status.stdout
        );
    }
    assert!(
        status.stdout.contains("\nScore  10/11\n"),
        "{}",
        status.stdout
    );

    // The next release asks for 90% of the counted checks: 6 of 7 is not enough.
    let mut strict = graded("example.com/web:1.1.0", &app);
    strict["spec"]["verification"]["minScore"] = json!("90%");
    apply(ns.name(), &[&strict]);
    let rolled_back = wait_phase(
        &client,
        ns.name(),
        Phase::RolledBack,
        Duration::from_secs(90),
    )
    .await;
    let status = rolled_back.status.unwrap();
    let message = status.message.unwrap_or_default();
    assert!(
        message.contains("score 6/7 is below minScore 90% (7 needed): security-headers (HTTP 200)"),
        "{message}"
    );
    describe_shows(ns.name(), &["RolledBack", "example.com/web:1.0.0"]);
    let events = event_list(ns.name());
    assert!(
        events
            .iter()
            .any(|e| e.reason == "VerificationFailed" && e.message.contains("below minScore 90%")),
        "{events:?}"
    );
    println!("{}", get_dcl(ns.name()));
}

/// `kubectl get dcl web -o jsonpath=TEMPLATE`.
fn jsonpath(namespace: &str, template: &str) -> String {
    let (ok, out) = kubectl_in(
        namespace,
        &["get", "dcl", "web", "-o", &format!("jsonpath={template}")],
    );
    assert!(ok, "{out}");
    out
}
