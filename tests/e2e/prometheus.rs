//! The `prometheus` check against a real Prometheus (built by `dev/prometheus`) scraping test
//! apps that play each revision's pods: a canary that answers its health checks but fails 5% of
//! its users' requests is rolled back on its error rate, and a query that finds no data, one
//! Prometheus refuses, and a Prometheus that is not there each fail the check, never pass it.
//!
//! The pods are kwok's and serve nothing, so, as in `progressive`, the stable version is a test
//! app at `verification.url` and the canary another at `canaryURL`; each exports its request
//! metrics labelled `revision=<its revision hash>`, as a real cluster's relabelling of the
//! pods' `checklist.dev/revision` label would, and the check's query selects `{{revision}}`.

use std::time::Duration;

use checklist_operator::{
    api::{CheckResult, CheckStatus, DeploymentChecklist, DeploymentChecklistSpec, Phase},
    resources::revision_hash,
};
use checklist_testapp::{Config, RunningApp};
use checklist_testkit::{
    Operator, Prometheus, TestNamespace, apply, checklist, client, ensure_crd, start_app,
    valid_secret,
};
use kube::Api;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::progressive::{canary, eventually};
use crate::web::{describe_shows, event_list, get_dcl, kubectl_wait};

const WITHIN: u64 = 120;

/// The seed checklist's "alert on > 1% 5xx responses" as a gate on the revision being verified;
/// `or vector(0)` makes a revision without a single 5xx read 0, not "no data".
const ERROR_RATE: &str = r#"(sum(rate(http_requests_total{revision="{{revision}}",status=~"5.."}[20s])) or vector(0)) / sum(rate(http_requests_total{revision="{{revision}}"}[20s]))"#;

/// `web` at `image` as a canary (25%, then 100%) with the health check and the error-rate gate,
/// against the operator's default Prometheus; the stable version answers at `stable`, the
/// canary at `new`.
fn web(image: &str, stable: &RunningApp, new: &RunningApp) -> Value {
    let mut web = checklist(image, stable);
    let spec = &mut web["spec"];
    spec["app"]["replicas"] = json!(4);
    spec["rollout"] = canary(json!([{"weight": 25, "pauseSeconds": 600}, {"weight": 100}]));
    let verification = &mut spec["verification"];
    verification["canaryURL"] = json!(new.url());
    verification["checks"] = json!([
        {"name": "health", "http": {"path": "/health", "expectStatus": [200], "expectJSON": {"status": "ok"}}},
        {"name": "error-rate", "prometheus": {"query": ERROR_RATE, "below": "0.01"}},
    ]);
    web
}

/// The revision the operator will name `checklist`'s spec.
fn revision_of(checklist: &Value) -> String {
    let spec: DeploymentChecklistSpec = serde_json::from_value(checklist["spec"].clone()).unwrap();
    revision_hash(&spec)
}

/// A test app whose metrics carry `revision=<revision>`, failing `error_percent` of the
/// requests to its pages (never its health endpoints).
async fn app_of(revision: &str, error_percent: u8) -> RunningApp {
    checklist_testapp::spawn(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        http_listen: Some("127.0.0.1:0".parse().unwrap()),
        metric_labels: vec![("revision".into(), revision.into())],
        error_percent,
        ..Config::default()
    })
    .await
    .unwrap()
}

/// Users: a GET of the home page of each app every 20 ms, for at most 5 minutes (a bounded
/// loop; aborted when the test drops it).
struct Traffic(JoinHandle<()>);

impl Traffic {
    fn start(apps: &[&RunningApp]) -> Self {
        let urls: Vec<String> = apps.iter().map(|app| format!("{}/", app.url())).collect();
        Traffic(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for _ in 0..15_000 {
                for url in &urls {
                    // A refused or failed request is just traffic that was not counted.
                    let _ = http.get(url).send().await;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }))
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn checks(namespace: &str) -> Vec<CheckStatus> {
    let api: Api<DeploymentChecklist> = Api::namespaced(client().await, namespace);
    api.get("web")
        .await
        .unwrap()
        .status
        .unwrap_or_default()
        .checks
}

fn named<'a>(checks: &'a [CheckStatus], name: &str) -> &'a CheckStatus {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {checks:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up) and dev/prometheus"]
async fn a_canary_serving_five_percent_errors_passes_its_health_checks_and_is_rolled_back_on_its_error_rate()
 {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "prom-canary").await;
    // Two apps to learn the specs' revisions, which the real apps' metrics must carry.
    let placeholder = start_app().await;
    let (v1, v2) = (
        revision_of(&web("example.com/web:1.0.0", &placeholder, &placeholder)),
        revision_of(&web("example.com/web:2.0.0", &placeholder, &placeholder)),
    );
    placeholder.shutdown().await;
    let stable = app_of(&v1, 0).await;
    let new = app_of(&v2, 5).await;
    let prometheus = Prometheus::start(&[&stable.addr().to_string(), &new.addr().to_string()]);
    let _users = Traffic::start(&[&stable, &new]);
    // rate() needs two scrapes of each revision, and the canary's first 5xx.
    for revision in [&v1, &v2] {
        prometheus
            .wait_for_series(
                &format!(r#"sum(rate(http_requests_total{{revision="{revision}"}}[20s])) > 0"#),
                Duration::from_secs(30),
            )
            .await;
    }
    prometheus
        .wait_for_series(
            &format!(r#"http_requests_total{{revision="{v2}",status="500"}}"#),
            Duration::from_secs(30),
        )
        .await;
    let operator = Operator::start_with(ns.name(), &["--prometheus-url", prometheus.url()]);

    // 1.0.0 makes no errors: its gate passes with the value in the message.
    apply(
        ns.name(),
        &[
            &valid_secret(),
            &web("example.com/web:1.0.0", &stable, &new),
        ],
    );
    kubectl_wait(ns.name(), "condition=Ready", WITHIN);
    let ready = checks(ns.name()).await;
    let gate = named(&ready, "error-rate");
    assert_eq!(gate.result, CheckResult::Pass, "{gate:?}");
    let message = gate.message.clone().unwrap_or_default();
    assert!(message.contains("below 0.01"), "{message}");

    // 2.0.0 answers /health but fails every 20th page view: rolled back on the error rate alone.
    apply(
        ns.name(),
        &[
            &valid_secret(),
            &web("example.com/web:2.0.0", &stable, &new),
        ],
    );
    kubectl_wait(ns.name(), "condition=RolledBack", WITHIN);
    let rolled_back = checks(ns.name()).await;
    let health = named(&rolled_back, "health");
    assert_eq!(health.result, CheckResult::Pass, "{health:?}");
    let gate = named(&rolled_back, "error-rate");
    assert_eq!(gate.result, CheckResult::Fail, "{gate:?}");
    let message = gate.message.clone().unwrap_or_default();
    let value: f64 = message
        .split(',')
        .next()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no value first in {message:?}"));
    // Only the canary's revision makes errors: a value near 5% also shows the query named it.
    assert!(
        (0.01..0.1).contains(&value),
        "about 5% of the canary's requests fail: {message}"
    );
    assert!(message.contains("expected below 0.01"), "{message}");

    let table = get_dcl(ns.name());
    println!("{table}");
    assert!(table.contains("RolledBack"), "{table}");
    let described = describe_shows(ns.name(), &["error-rate", "expected below 0.01"]);
    println!("{described}");
    let events = event_list(ns.name());
    let rolled_back = events
        .iter()
        .find(|e| e.reason == "RolledBack")
        .unwrap_or_else(|| panic!("no RolledBack Event"));
    assert!(
        rolled_back.message.contains("error-rate (0.0")
            && rolled_back.message.contains("expected below 0.01)"),
        "the Event names the gate with its figure: {}",
        rolled_back.message
    );
    drop(operator);
    ns.finish(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up) and dev/prometheus"]
async fn no_data_a_refused_query_and_an_unreachable_prometheus_each_fail_the_check() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "prom-errors").await;
    let app = start_app().await;
    let prometheus = Prometheus::start(&[&app.addr().to_string()]);
    let operator = Operator::start(ns.name());
    // A port nothing listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let mut web = checklist("example.com/web:1.0.0", &app);
    let address = prometheus.url();
    web["spec"]["verification"]["checks"] = json!([
        {"name": "health", "http": {"path": "/health", "expectStatus": [200]}},
        {"name": "no-data", "prometheus": {"address": address, "query": r#"http_requests_total{revision="no-such-revision"}"#, "below": "1"}},
        {"name": "bad-query", "prometheus": {"address": address, "query": "sum(rate(http_requests_total[5m])", "below": "1"}},
        {"name": "unreachable", "prometheus": {"address": format!("http://{closed}"), "query": "up", "above": "0"}},
    ]);
    apply(ns.name(), &[&valid_secret(), &web]);

    eventually(WITHIN, "the three gates failed", || async {
        let checks = checks(ns.name()).await;
        ["no-data", "bad-query", "unreachable"].iter().all(|name| {
            checks
                .iter()
                .any(|c| c.name == *name && c.result == CheckResult::Fail)
        })
    })
    .await;
    let checks = checks(ns.name()).await;
    let message = |name: &str| named(&checks, name).message.clone().unwrap_or_default();
    assert_eq!(named(&checks, "health").result, CheckResult::Pass);
    let no_data = message("no-data");
    assert!(
        no_data.contains("no series (no data), expected a value below 1"),
        "{no_data}"
    );
    let refused = message("bad-query");
    assert!(
        refused.contains("Prometheus refused the query (bad_data)")
            && refused.contains("parse error"),
        "Prometheus's own error: {refused}"
    );
    let unreachable = message("unreachable");
    assert!(
        unreachable.contains(&closed.to_string()) || unreachable.contains("connect"),
        "{unreachable}"
    );
    let described = describe_shows(ns.name(), &["no-data", "bad-query", "unreachable"]);
    println!("{described}");
    let table = get_dcl(ns.name());
    println!("{table}");
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let phase = api
        .get("web")
        .await
        .unwrap()
        .status
        .unwrap_or_default()
        .phase;
    assert_ne!(
        phase,
        Some(Phase::Ready),
        "never Ready with failing gates: {table}"
    );
    drop(operator);
    ns.finish(&client).await;
}
