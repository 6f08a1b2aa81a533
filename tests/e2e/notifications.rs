//! Notifications as a team receives them: a local receiver gets a Slack-shaped and a webhook
//! notification for a rollback, naming the failed check; a receiver that fails once gets exactly
//! one delivery after a retry; a URL the egress guard refuses is reported, never reached.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use checklist_testapp::Mode;
use checklist_testkit::{Scene, apply, checklist, secret, valid_secret};
use serde_json::{Value, json};

use crate::progressive::eventually;
use crate::web::{event_list, kubectl_wait};

/// What the receiver was sent: (path, body), and how many times each path was hit.
#[derive(Default)]
struct Received {
    delivered: Vec<(String, Value)>,
    hits: std::collections::BTreeMap<String, u32>,
}

type Shared = Arc<Mutex<Received>>;

/// A receiver on loopback: /slack and /hook accept; /flaky answers 500 the first time, then 200.
async fn receiver() -> (SocketAddr, Shared) {
    let shared = Shared::default();
    let record = |path: &'static str| {
        move |State(shared): State<Shared>, Json(body): Json<Value>| async move {
            let mut received = shared.lock().unwrap();
            let hits = received.hits.entry(path.to_string()).or_default();
            *hits += 1;
            if path == "/flaky" && *hits == 1 {
                return StatusCode::INTERNAL_SERVER_ERROR;
            }
            received.delivered.push((path.to_string(), body));
            StatusCode::OK
        }
    };
    let app = Router::new()
        .route("/slack", post(record("/slack")))
        .route("/hook", post(record("/hook")))
        .route("/flaky", post(record("/flaky")))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, shared)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_rollback_is_notified_once_to_each_target_and_a_blocked_url_is_reported() {
    let Scene {
        client,
        ns,
        app,
        operator,
    } = Scene::start("notify").await;
    let (addr, received) = receiver().await;

    let mut urls = secret(json!({
        "slack": format!("http://{addr}/slack"),
        "hook": format!("http://{addr}/hook"),
        "flaky": format!("http://{addr}/flaky"),
        // Link-local: the cloud metadata range the egress guard always refuses.
        "blocked": "http://169.254.169.254/latest/meta-data",
    }));
    urls["metadata"]["name"] = json!("notify");
    let target = |name: &str, kind: &str| json!({"name": name, "kind": kind, "urlFrom": {"secretKeyRef": {"name": "notify", "key": name}}});
    let mut web = checklist("example.com/web:1.0.0", &app);
    web["spec"]["notifications"] = json!({
        "transitions": ["RolledBack"],
        "targets": [target("slack", "Slack"), target("hook", "Webhook"), target("flaky", "Webhook"), target("blocked", "Webhook")],
        "link": "https://argo.example.com/{{namespace}}/{{name}}",
    });
    apply(ns.name(), &[&valid_secret(), &urls, &web]);
    kubectl_wait(ns.name(), "condition=Ready", 90);
    assert!(
        received.lock().unwrap().delivered.is_empty(),
        "Ready is not among the chosen transitions"
    );

    app.set_mode(Mode::Unhealthy);
    let mut failing = web.clone();
    failing["spec"]["app"]["image"] = json!("example.com/web:2.0.0");
    apply(ns.name(), &[&failing]);
    kubectl_wait(ns.name(), "condition=RolledBack", 90);
    eventually(30, "the three deliveries", || async {
        received.lock().unwrap().delivered.len() >= 3
    })
    .await;
    // Room for a duplicate to show up, if there were one.
    tokio::time::sleep(Duration::from_secs(3)).await;

    {
        let received = received.lock().unwrap();
        let paths: Vec<&str> = received.delivered.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths.len(), 3, "one delivery per target: {paths:?}");
        for path in ["/slack", "/hook", "/flaky"] {
            assert_eq!(
                paths.iter().filter(|p| **p == path).count(),
                1,
                "{path}: {paths:?}"
            );
        }
        assert_eq!(
            received.hits["/flaky"], 2,
            "delivered on the retry after a 500"
        );
        let body = |path: &str| {
            &received
                .delivered
                .iter()
                .find(|(p, _)| p == path)
                .unwrap()
                .1
        };
        let slack = body("/slack");
        println!("Slack body: {slack:#}");
        assert!(
            slack["text"].as_str().unwrap().starts_with(&format!(
                "web ({}) RolledBack: rolled back to example.com/web:1.0.0",
                ns.name()
            )),
            "{slack}"
        );
        let section = slack["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(section.contains("✗ health:"), "{section}");
        let hook = body("/hook");
        println!("webhook body: {hook:#}");
        assert_eq!(hook["checklist"], "web");
        assert_eq!(hook["namespace"], ns.name());
        assert_eq!(hook["transition"], "RolledBack");
        assert_eq!(hook["image"], "example.com/web:2.0.0");
        assert_eq!(
            hook["link"],
            format!("https://argo.example.com/{}/web", ns.name())
        );
        let failed: Vec<&str> = hook["failedChecks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(failed.contains(&"health"), "{hook}");
    }

    let refused: Vec<_> = event_list(ns.name())
        .into_iter()
        .filter(|e| e.reason == "NotificationFailed")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0]
            .message
            .contains("to blocked (Webhook) not delivered: refused by the egress guard"),
        "{refused:?}"
    );
    assert!(
        !refused[0].message.contains("meta-data"),
        "the URL is never shown"
    );

    let metrics = operator.metrics_text().await;
    for line in [
        r#"checklist_notifications_total{kind="slack",result="delivered"} 1"#,
        r#"checklist_notifications_total{kind="webhook",result="delivered"} 2"#,
        r#"checklist_notifications_total{kind="webhook",result="refused"} 1"#,
    ] {
        assert!(
            metrics.contains(line),
            "{line} missing from /metrics:\n{metrics}"
        );
    }
    assert!(!metrics.contains("127.0.0.1"), "no URL in /metrics");
    ns.finish(&client).await;
}
