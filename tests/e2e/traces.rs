//! Traces in a real Jaeger (built by `dev/jaeger`): the operator started with `--otlp-endpoint`
//! sends one trace per reconcile (observe, plan, act, record, and each API request under them)
//! and one per verification round (a span per check), and the app receives each check's span
//! as its W3C `traceparent`, so its own traces would join the release's.

use std::{collections::BTreeSet, time::Duration};

use checklist_testkit::{
    Jaeger, Operator, TestNamespace, apply, checklist, client, ensure_crd,
    jaeger::{parent_of, span_summary, spans, tag},
    start_app, valid_secret,
};
use serde_json::Value;

use crate::web::kubectl_wait;

const SERVICE: &str = "checklist-operator";

/// The operation names of a trace's spans.
fn names(trace: &Value) -> BTreeSet<String> {
    spans(trace)
        .iter()
        .filter_map(|s| s["operationName"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_rollout_is_traced_in_jaeger_and_the_app_receives_each_checks_traceparent() {
    let jaeger = Jaeger::start();
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "traces").await;
    let app = start_app().await;
    let operator = Operator::start_with(ns.name(), &["--otlp-endpoint", jaeger.otlp_endpoint()]);

    apply(
        ns.name(),
        &[&valid_secret(), &checklist("example.com/web:1.0.0", &app)],
    );
    kubectl_wait(ns.name(), "condition=Ready", 120);

    // A reconcile that acted: its trace has the four phases, and the API requests it sent
    // hang under them (kube's client spans, named by verb).
    let within = Duration::from_secs(30);
    let tags = [("namespace", ns.name()), ("checklist", "web")];
    let reconciles = jaeger
        .wait_for_traces(SERVICE, "reconcile", &tags, within, |traces| {
            traces.iter().any(|t| {
                let names = names(t);
                ["observe", "plan", "act", "record"]
                    .iter()
                    .all(|phase| names.contains(*phase))
            })
        })
        .await;
    let acted = reconciles
        .iter()
        .find(|t| names(t).contains("act"))
        .unwrap();
    let by_id = |id: &str| {
        spans(acted)
            .into_iter()
            .find(|s| s["spanID"] == id)
            .map(|s| s["operationName"].as_str().unwrap_or_default().to_owned())
    };
    let requests: Vec<&Value> = spans(acted)
        .into_iter()
        .filter(|s| tag(s, "http.method").is_some())
        .collect();
    assert!(
        !requests.is_empty(),
        "no API request spans in the reconcile's trace: {}",
        span_summary(std::slice::from_ref(acted))
    );
    for request in &requests {
        let parent = parent_of(request).and_then(by_id).unwrap_or_default();
        assert!(
            ["observe", "act", "record", "announce"].contains(&parent.as_str()),
            "an API request outside a phase (under {parent:?}): {request}"
        );
    }
    let root = spans(acted)
        .into_iter()
        .find(|s| s["operationName"] == "reconcile")
        .unwrap();
    assert!(parent_of(root).is_none(), "a reconcile is a trace's root");

    // A verification round: a span per check, under the round.
    let rounds = jaeger
        .wait_for_traces(SERVICE, "verification round", &tags, within, |traces| {
            traces.iter().any(|t| names(t).contains("check"))
        })
        .await;
    let mut sent = BTreeSet::new();
    for round in &rounds {
        let checks: Vec<&Value> = spans(round)
            .into_iter()
            .filter(|s| s["operationName"] == "check")
            .collect();
        for check in checks {
            assert!(
                tag(check, "check").is_some(),
                "a check span names its check: {check}"
            );
            sent.insert(format!(
                "00-{}-{}-01",
                check["traceID"].as_str().unwrap(),
                check["spanID"].as_str().unwrap()
            ));
        }
    }
    let health = rounds
        .iter()
        .flat_map(|r| spans(r))
        .find(|s| tag(s, "check").as_deref() == Some("health"))
        .expect("a span of the check `health`");
    assert_eq!(tag(health, "result").as_deref(), Some("Pass"), "{health}");

    // The app got the checks' spans as traceparent: Jaeger's trace and span IDs are the hex
    // the header carries.
    let received: BTreeSet<String> = app.state().snapshot().trace_parents.into_iter().collect();
    let joined: Vec<&String> = received.intersection(&sent).collect();
    assert!(
        !joined.is_empty(),
        "the app received none of the checks' spans as traceparent;\nreceived: {received:?}\n\
         check spans in Jaeger: {sent:?}"
    );

    drop(operator);
    ns.finish(&client).await;
}
