//! Benchmark through a real gateway on the local control plane (`dev/cluster up`, Traefik built
//! by `dev/traefik --path`): a canary at 10% whose new version fails its checks, with users'
//! requests flowing through Traefik the whole time. Prints figures; asserts nothing about them.
//!
//! With the HTTPRoute router, per rollback:
//! - failed verdict → route written: from the operator's "verification round" verdict=Failed log
//!   timestamp to the watch receipt of the HTTPRoute back at 100/0;
//! - route written → the gateway stops sending users to the bad version: from that receipt to
//!   the send time of the last user request the bad version answered (0 when none came after);
//! - the share of users' requests that met the bad version while the canary was open (from the
//!   route's 90/10 to 3 s after it went back), beside the goal: no more than the weight (10%).
//!
//! Beside it, the same failing canary without a router (the pod-ratio canary: 1 canary pod beside
//! 4 stable ones): failed verdict → the app's Service back on the stable revision only. Its share
//! of users is the canary's share of the pods, 1 of 5; it is computed, not measured: the local
//! cluster's pods serve nothing, so requests cannot be spread over them.
//!
//! Run: `eval "$(dev/cluster env)" && cargo bench --bench route_rollback`. `BENCH_SAMPLES=N`
//! rollbacks each (default 10).

// A benchmark may unwrap: a panic is how it says its set-up failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime},
};

use checklist_operator::api::{DeploymentChecklist, Phase};
use checklist_testapp::Mode;
use checklist_testkit::{
    Operator, TestNamespace, Traefik, app_behind, apply_checklist,
    operator::{bench_log_filter, epoch_nanos},
    ready_cluster,
    stats::{Stats, env_number, header},
    wait_phase,
    watch::{Watch, selected_revision},
};
use k8s_openapi::api::core::v1::Service;
use kube::{Api, Client, api::DynamicObject};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);
const PORT: u16 = 8080;
const STABLE: &str = "example.com/web:1.0.0";
const BROKEN: &str = "example.com/web:2.0.0";
/// The most user requests the load sends in the whole run.
const MAX_REQUESTS: usize = 400_000;

/// The checklist `web`: 4 replicas, Canary 10% (paused) then 100%, one canary pod, one failed
/// round is a failed verdict; through HTTPRoute `web` when `routed`.
fn checklist(image: &str, url: &str, routed: bool) -> Value {
    let mut rollout = json!({
        "strategy": "Canary",
        "canary": {"steps": [{"weight": 10, "pauseSeconds": 600}, {"weight": 100}]},
    });
    if routed {
        rollout["canary"]["canaryReplicas"] = json!(1);
        rollout["trafficRouting"] = json!({"gatewayAPI": {"httpRoute": "web", "settleSeconds": 2}});
    }
    json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {"name": "web"},
        "spec": {
            "app": {"image": image, "replicas": 4, "port": PORT, "service": {"port": PORT}},
            "rollout": rollout,
            "verification": {
                "url": url,
                // The first release's checks wait for the test apps, which start once the
                // operator made the Services; not part of any figure (each starts at a verdict).
                "initialDelaySeconds": 5,
                "intervalSeconds": 1,
                "failureThreshold": 1,
                "timeoutSeconds": 3,
                "checks": [
                    {"name": "health", "http": {"path": "/health/deep", "expectStatus": [200]}},
                ],
            },
            "rollback": {"automatic": true},
        }
    })
}

/// The user's HTTPRoute `web` through the Gateway `front`, the canary Service at weight 0.
fn http_route() -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "web"},
        "spec": {
            "parentRefs": [{"name": "front"}],
            "rules": [{"name": "app", "backendRefs": [
                {"name": "web", "port": PORT, "weight": 100},
                {"name": "web-canary", "port": PORT, "weight": 0},
            ]}],
        },
    })
}

/// The weights of the route's first rule, "100/0".
fn weights(route: &DynamicObject) -> Option<String> {
    let refs = route.data["spec"]["rules"][0]["backendRefs"].as_array()?;
    let weights: Vec<String> = refs
        .iter()
        .map(|b| b["weight"].as_i64().unwrap_or(1).to_string())
        .collect();
    Some(weights.join("/"))
}

/// One user request: when it was sent, and whether the bad version answered it.
#[derive(Clone, Copy)]
struct Sent {
    at: SystemTime,
    bad: bool,
}

/// Users' requests (no revision header) through `url`, one every 2 ms, until `stop` is set or
/// MAX_REQUESTS were sent.
fn users(
    url: String,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Sent>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        for _ in 0..MAX_REQUESTS {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let at = SystemTime::now();
            let bad = match http.get(format!("{url}/health/deep")).send().await {
                Ok(answer) => answer
                    .text()
                    .await
                    .map_or(true, |t| !t.contains("\"1.0.0\"")),
                Err(_) => true,
            };
            log.lock().unwrap().push(Sent { at, bad });
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
}

fn nanos_between(from: i128, to: i128) -> Duration {
    Duration::from_nanos((to - from).max(0) as u64)
}

fn main() {
    checklist_testkit::block_on(run());
}

async fn run() {
    let samples = env_number("BENCH_SAMPLES").unwrap_or(10).max(1) as usize;
    let log_filter = bench_log_filter();
    let (client, version) = ready_cluster().await;
    println!("a failing canary at 10% through Traefik, with and without the HTTPRoute router");
    println!("  API server {version}; {samples} rollbacks each; users send one request every 2 ms");
    println!("  percentiles are nearest-rank: p99 of fewer than 100 samples is the largest one");
    routed(&client, samples, &log_filter).await;
    unrouted(&client, samples, &log_filter).await;
}

async fn routed(client: &Client, samples: usize, log_filter: &str) {
    let ns = TestNamespace::create(client, "bench-route").await;
    let traefik = Traefik::start(ns.name()).await;
    checklist_testkit::apply(ns.name(), &[&http_route()]);
    let operator = Operator::launch(ns.name(), &[], log_filter);
    let checklists: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let routes: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        ns.name(),
        &checklist_operator::traffic::http_route_resource(),
    );
    let mut watch = Watch::start(routes, "HTTPRoute", weights).await;
    let url = traefik.url();
    apply_checklist(&checklists, &checklist(STABLE, &url, true)).await;
    let stable = app_behind(client, ns.name(), "web", PORT, "1.0.0").await;
    let bad = app_behind(client, ns.name(), "web-canary", PORT, "2.0.0").await;
    wait_phase(client, ns.name(), "web", Phase::Ready, WAIT).await;
    bad.set_mode(Mode::Unhealthy);

    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let load = users(url.clone(), stop.clone(), log.clone());
    let (mut to_route, mut to_last_bad) = (Vec::new(), Vec::new());
    let (mut met, mut during) = (0usize, 0usize);
    for i in 0..samples {
        watch.drain();
        let mark = operator.len();
        apply_checklist(&checklists, &checklist(BROKEN, &url, true)).await;
        let opened = watch
            .next_matching(&format!("round {i}: the route at 90/10"), WAIT, |s| {
                s.detail.as_deref() == Some("90/10")
            })
            .await;
        let back = watch
            .next_matching(&format!("round {i}: the route back at 100/0"), WAIT, |s| {
                s.detail.as_deref() == Some("100/0")
            })
            .await;
        let verdict = operator
            .failed_verdict("web", &format!("round {i}: the failed verdict"), mark)
            .await
            .1;
        to_route.push(nanos_between(
            verdict.timestamp_nanos(),
            epoch_nanos(back.wall),
        ));
        wait_phase(client, ns.name(), "web", Phase::RolledBack, WAIT).await;
        // Traefik applies a change up to 2 s after it reads it: wait past that, then count.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let until = back.wall + Duration::from_secs(3);
        let window: Vec<Sent> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.at >= opened.wall && s.at <= until)
            .copied()
            .collect();
        during += window.len();
        met += window.iter().filter(|s| s.bad).count();
        let last_bad = window.iter().filter(|s| s.bad).map(|s| s.at).max();
        to_last_bad.push(
            last_bad
                .and_then(|t| t.duration_since(back.wall).ok())
                .unwrap_or_default(),
        );
        apply_checklist(&checklists, &checklist(STABLE, &url, true)).await;
        wait_phase(client, ns.name(), "web", Phase::Ready, WAIT).await;
    }
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let sent = log.lock().unwrap().len();
    drop(watch);
    let requests = operator.requests_per_reconcile().await;
    drop(operator);
    stable.shutdown().await;
    bad.shutdown().await;
    drop(traefik);
    ns.finish(client).await;

    println!();
    println!("with the HTTPRoute router (weights 90/10, settleSeconds 2)");
    println!("  operator: {requests}; users sent {sent} requests in all");
    println!("{}", header());
    println!(
        "{}",
        Stats::of(&to_route).row("failed verdict → route written (100/0)")
    );
    println!(
        "{}",
        Stats::of(&to_last_bad).row("route written → last user request the bad version answered")
    );
    let share = 100.0 * met as f64 / during.max(1) as f64;
    println!(
        "  users' requests while the canary was open: {met} of {during} met the bad version \
         ({share:.1}%; goal ≤ the weight, 10%)"
    );
}

async fn unrouted(client: &Client, samples: usize, log_filter: &str) {
    let ns = TestNamespace::create(client, "bench-unrouted").await;
    let app = checklist_testkit::start_app().await;
    let operator = Operator::launch(ns.name(), &[], log_filter);
    let checklists: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let mut services = Watch::start(
        Api::<Service>::namespaced(client.clone(), ns.name()),
        "Service",
        selected_revision,
    )
    .await;
    let spec = |image: &str| {
        let mut value = checklist(image, &app.url(), false);
        value["spec"]["verification"]["canaryURL"] = json!(app.url());
        value
    };
    apply_checklist(&checklists, &spec(STABLE)).await;
    let ready = wait_phase(client, ns.name(), "web", Phase::Ready, WAIT).await;
    let stable_hash = ready
        .status
        .and_then(|s| s.revision)
        .and_then(|r| r.current)
        .map(|c| c.hash)
        .unwrap();
    let mut to_service = Vec::new();
    let mut open = Vec::new();
    for i in 0..samples {
        services.drain();
        let mark = operator.len();
        app.set_mode(Mode::Unhealthy);
        apply_checklist(&checklists, &spec(BROKEN)).await;
        let opened = services
            .next_matching(
                &format!("round {i}: the app's Service on every pod"),
                WAIT,
                |s| s.name == "web" && s.detail.as_deref() == Some("*"),
            )
            .await;
        let back = services
            .next_matching(
                &format!("round {i}: the app's Service on stable"),
                WAIT,
                |s| s.name == "web" && s.detail.as_deref() == Some(stable_hash.as_str()),
            )
            .await;
        let verdict = operator
            .failed_verdict("web", &format!("round {i}: the failed verdict"), mark)
            .await
            .1;
        to_service.push(nanos_between(
            verdict.timestamp_nanos(),
            epoch_nanos(back.wall),
        ));
        open.push(back.at.duration_since(opened.at));
        wait_phase(client, ns.name(), "web", Phase::RolledBack, WAIT).await;
        app.set_mode(Mode::Healthy);
        apply_checklist(&checklists, &spec(STABLE)).await;
        wait_phase(client, ns.name(), "web", Phase::Ready, WAIT).await;
    }
    drop(services);
    let requests = operator.requests_per_reconcile().await;
    drop(operator);
    app.shutdown().await;
    ns.finish(client).await;

    println!();
    println!("without a router (pod ratio: 1 canary pod beside 4 stable ones)");
    println!("  operator: {requests}");
    println!("{}", header());
    println!(
        "{}",
        Stats::of(&to_service).row("failed verdict → app Service on stable only")
    );
    println!(
        "{}",
        Stats::of(&open).row("app Service on every pod → back on stable")
    );
    println!(
        "  users' share of the bad version while open: 1 of 5 pods, about 20% (computed: the \
         local pods serve nothing; the step asked for 10%)"
    );
}
