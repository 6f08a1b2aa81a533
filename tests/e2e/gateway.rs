//! Canary traffic through a real gateway: Traefik (built from its Go module) serves the Gateway
//! API on loopback, the user's HTTPRoute splits requests between the app's Service and the
//! canary Service by the step's weight, and the canary's checks go through the same front door
//! with the revision header.
//!
//! kwok's pods serve nothing; the local cluster keeps Service ClusterIPs on loopback, so a test
//! app bound to a Service's ClusterIP plays the pods that Service selects: the stable version
//! (1.0.0) behind the app's Service, the new one (2.0.0) behind the canary Service.

use std::time::Duration;

use checklist_testapp::{Listener, RunningApp};
use checklist_testkit::{Scene, Traefik, apply, checklist, kubectl_in, valid_secret};
use kube::Client;
use serde_json::{Value, json};

use crate::web::kubectl_wait;

pub(crate) const PORT: u16 = 8080;

/// The user's HTTPRoute `web`: one rule, all requests to the app's Service, the canary Service
/// named at weight 0 for the operator to raise.
pub(crate) fn http_route() -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "web"},
        "spec": {
            "parentRefs": [{"name": "front"}],
            "rules": [{
                "name": "app",
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [
                    {"name": "web", "port": PORT, "weight": 100},
                    {"name": "web-canary", "port": PORT, "weight": 0},
                ],
            }],
        },
    })
}

/// `web` at `image`: Canary with one step of `weight` that waits for a person, routed through
/// the HTTPRoute, its checks through the gateway.
pub(crate) fn canary_checklist(
    image: &str,
    stable: &RunningApp,
    front_door: &str,
    weight: i32,
) -> Value {
    let mut spec = checklist(image, stable);
    spec["spec"]["app"]["replicas"] = json!(4);
    spec["spec"]["app"]["service"] = json!({"port": PORT});
    spec["spec"]["rollout"] = json!({
        "strategy": "Canary",
        "canary": {"steps": [{"weight": weight}, {"weight": 100}], "canaryReplicas": 1},
        "trafficRouting": {"gatewayAPI": {"httpRoute": "web"}},
    });
    let verification = &mut spec["spec"]["verification"];
    verification["url"] = json!(front_door);
    verification["failureThreshold"] = json!(10);
    verification["checks"] = json!([
        {"name": "health", "http": {"path": "/health/deep", "expectStatus": [200], "expectJSON": {"status": "ok"}}},
    ]);
    spec
}

/// A test app reporting `version`, listening on the ClusterIP of Service `service`.
async fn app_behind(client: &Client, namespace: &str, service: &str, version: &str) -> RunningApp {
    checklist_testkit::app_behind(client, namespace, service, PORT, version).await
}

/// How many of `n` requests to `/health/deep` through `url` (with `header`, if any) the version
/// 2.0.0 answered.
async fn new_version_answers(url: &str, header: Option<(&str, &str)>, n: usize) -> usize {
    let http = reqwest::Client::new();
    let mut new = 0;
    for _ in 0..n {
        let mut request = http.get(format!("{url}/health/deep"));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let text = request.send().await.unwrap().text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        if body["version"] == "2.0.0" {
            new += 1;
        }
    }
    new
}

pub(crate) fn route(namespace: &str) -> Value {
    let (ok, out) = kubectl_in(namespace, &["get", "httproute", "web", "-o", "json"]);
    assert!(ok, "{out}");
    serde_json::from_str(&out).unwrap()
}

pub(crate) fn weights(route: &Value) -> Vec<i64> {
    route["spec"]["rules"][0]["backendRefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["weight"].as_i64().unwrap())
        .collect()
}

/// Waits until `what` holds of the route.
pub(crate) async fn route_until(
    namespace: &str,
    what: &str,
    holds: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..240 {
        let route = route(namespace);
        if holds(&route) {
            return route;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!(
        "HTTPRoute web: {what} within 60 s: {:#}",
        route(namespace)["spec"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane (dev/cluster up) and Traefik (dev/traefik --path)"]
async fn a_canary_step_sends_its_weight_of_requests_and_is_verified_through_the_front_door() {
    let scene = Scene::start("gateway").await;
    let ns = scene.ns.name().to_string();
    let traefik = Traefik::start(&ns).await;
    apply(&ns, &[&http_route()]);

    // First release: both Services on 1.0.0; a test app plays each Service's pods.
    apply(
        &ns,
        &[
            &valid_secret(),
            &canary_checklist("example.com/web:1.0.0", &scene.app, &traefik.url(), 10),
        ],
    );
    let stable = app_behind(&scene.client, &ns, "web", "1.0.0").await;
    let new = app_behind(&scene.client, &ns, "web-canary", "2.0.0").await;
    kubectl_wait(&ns, "condition=Ready", 120);
    assert_eq!(weights(&route(&ns)), [100, 0]);

    // The new version: one canary pod out of four, 10% of the requests.
    apply(
        &ns,
        &[&canary_checklist(
            "example.com/web:2.0.0",
            &scene.app,
            &traefik.url(),
            10,
        )],
    );
    kubectl_wait(
        &ns,
        "jsonpath={.status.rollout.stage}=WaitingForPromotion",
        120,
    );
    let routed = route_until(&ns, "weights 90/10 and the pin rule", |r| {
        weights(r) == [90, 10] && r["spec"]["rules"].as_array().unwrap().len() == 2
    })
    .await;
    let (ok, hash) = kubectl_in(
        &ns,
        &[
            "get",
            "dcl",
            "web",
            "-o",
            "jsonpath={.status.rollout.revision}",
        ],
    );
    assert!(ok, "{hash}");
    let pin = &routed["spec"]["rules"][1];
    assert_eq!(pin["name"], "checklist-web");
    assert_eq!(pin["matches"][0]["headers"][0]["value"], hash.as_str());
    assert_eq!(
        pin["backendRefs"],
        json!([{"group": "", "kind": "Service", "name": "web-canary", "port": PORT, "weight": 1}])
    );
    // The user's rule is as they wrote it, but for the weights.
    assert_eq!(routed["spec"]["rules"][0]["name"], "app");
    assert_eq!(
        routed["spec"]["rules"][0]["matches"],
        http_route()["spec"]["rules"][0]["matches"]
    );

    // What a person sees: the step, its exact share, the route.
    let table = crate::web::get_dcl(&ns);
    assert!(
        table.contains("step 1/2 10% waiting for promotion"),
        "{table}"
    );
    crate::web::describe_shows(&ns, &["10% of requests through HTTPRoute web; 1 of 4 pods"]);

    // The step's checks went through the front door with the header: 2.0.0 answered them.
    let checked = new.state().request_count(Listener::Main, "/health/deep");
    assert!(
        checked > 0,
        "the new version's app was never asked by the checks"
    );

    // Through the gateway: 10% of users' requests reach 2.0.0 (one pod of four would be 25%);
    // with the header, every request does; with another revision's, none. The bound is a
    // binomial one (6-14%): Traefik's weighted round robin happens to be exact.
    let share = new_version_answers(&traefik.url(), None, 1000).await;
    println!("through Traefik at 90/10: {share} of 1000 requests reached the new version");
    assert!(
        (60..=140).contains(&share),
        "{share} of 1000 reached 2.0.0 at weight 10"
    );
    let pinned =
        new_version_answers(&traefik.url(), Some(("x-checklist-revision", &hash)), 20).await;
    assert_eq!(pinned, 20, "the revision header reaches the new version");
    let other = new_version_answers(
        &traefik.url(),
        Some(("x-checklist-revision", "0000000000")),
        100,
    )
    .await;
    assert!(
        other < 30,
        "another revision's header is a user's request like any other: {other}"
    );

    // Promote: the last step takes every request, then the route is the user's again.
    let (ok, out) = kubectl_in(
        &ns,
        &[
            "annotate",
            "dcl",
            "web",
            "checklist.dev/promote=1",
            "--overwrite",
        ],
    );
    assert!(ok, "{out}");
    kubectl_wait(&ns, "condition=Ready", 120);
    let done = route_until(&ns, "weights 100/0 and no pin rule", |r| {
        weights(r) == [100, 0] && r["spec"]["rules"].as_array().unwrap().len() == 1
    })
    .await;
    assert_eq!(done["spec"]["rules"][0]["name"], "app");
    let (ok, selects) = kubectl_in(
        &ns,
        &[
            "get",
            "service",
            "web",
            "-o",
            "jsonpath={.spec.selector.checklist\\.dev/revision}",
        ],
    );
    assert!(
        ok && selects == hash,
        "the app's Service selects the new revision: {selects}"
    );

    drop((stable, new, traefik));
    scene.ns.finish(&scene.client).await;
}

/// What the users' requests met while a bad canary was tried and taken off the route.
#[derive(Default)]
struct Seen {
    /// Answers by version 2.0.0 (or errors), with the time each arrived.
    bad: Vec<std::time::Instant>,
    total: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane (dev/cluster up) and Traefik (dev/traefik --path)"]
async fn a_failing_canary_is_taken_off_the_route_before_its_pods_go() {
    let scene = Scene::start("gateway-fail").await;
    let ns = scene.ns.name().to_string();
    let traefik = Traefik::start(&ns).await;
    let mut user_route = http_route();
    // A filter and another rule of the user's, which a release must leave as they are.
    user_route["spec"]["rules"][0]["filters"] = json!([{"type": "RequestHeaderModifier",
        "requestHeaderModifier": {"set": [{"name": "x-served-by", "value": "gateway"}]}}]);
    user_route["spec"]["rules"].as_array_mut().unwrap().push(
        json!({"name": "docs", "matches": [{"path": {"type": "PathPrefix", "value": "/docs"}}],
            "backendRefs": [{"name": "web", "port": PORT}]}),
    );
    apply(&ns, &[&user_route]);
    let mut first = canary_checklist("example.com/web:1.0.0", &scene.app, &traefik.url(), 10);
    first["spec"]["verification"]["failureThreshold"] = json!(10);
    // Two rules send to the app's Service: the checklist names the one it weighs.
    first["spec"]["rollout"]["trafficRouting"]["gatewayAPI"]["rule"] = json!("app");
    apply(&ns, &[&valid_secret(), &first]);
    let stable = app_behind(&scene.client, &ns, "web", "1.0.0").await;
    let new = app_behind(&scene.client, &ns, "web-canary", "2.0.0").await;
    kubectl_wait(&ns, "condition=Ready", 120);
    let before = route(&ns)["spec"].clone();

    // Users' requests through the gateway the whole time, bounded: at most 4,000.
    new.set_mode(checklist_testapp::Mode::Unhealthy);
    let url = traefik.url();
    let load = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut seen = Seen::default();
        while seen.total < 4000 {
            let answer = http.get(format!("{url}/health/deep")).send().await;
            let bad = match answer {
                Ok(a) => a.text().await.map_or(true, |t| !t.contains("\"1.0.0\"")),
                Err(_) => true,
            };
            if bad {
                seen.bad.push(std::time::Instant::now());
            }
            seen.total += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        seen
    });
    let mut failing = canary_checklist("example.com/web:2.0.0", &scene.app, &traefik.url(), 10);
    failing["spec"]["verification"]["failureThreshold"] = json!(2);
    failing["spec"]["rollout"]["trafficRouting"]["gatewayAPI"]["rule"] = json!("app");
    apply(&ns, &[&failing]);
    route_until(&ns, "the canary's 10%", |r| weights(r) == [90, 10]).await;
    let back = route_until(&ns, "weights back to 100/0 and no pin rule", |r| {
        weights(r) == [100, 0] && r["spec"]["rules"].as_array().unwrap().len() == 2
    })
    .await;
    let taken_off = std::time::Instant::now();
    kubectl_wait(&ns, "jsonpath={.status.phase}=RolledBack", 120);
    assert_eq!(
        back["spec"], before,
        "the user's route is as it was: its rules, matches and filters"
    );
    // Let Traefik apply the change (it throttles changes by 2 s), then count.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let seen = load.await.unwrap();
    let late: Vec<_> = seen
        .bad
        .iter()
        .filter(|t| **t > taken_off + Duration::from_secs(3))
        .collect();
    let last = seen
        .bad
        .iter()
        .max()
        .map(|t| t.saturating_duration_since(taken_off));
    println!(
        "failing canary at 10%: {} of {} user requests met the new version; the last at {:?} \
         from the moment the route was seen back at 100/0 (0: before it)",
        seen.bad.len(),
        seen.total,
        last
    );
    assert!(
        late.is_empty(),
        "{} requests met the new version over 3 s after the route went back",
        late.len()
    );
    let (_, pods) = kubectl_in(
        &ns,
        &[
            "get",
            "deployments",
            "-o",
            "jsonpath={.items[*].spec.template.spec.containers[0].image}",
        ],
    );
    assert!(!pods.contains("2.0.0"), "the canary's pods went: {pods}");
    drop((stable, new, traefik));
    scene.ns.finish(&scene.client).await;
}

/// What users' requests through the gateway met: answers by version, and errors.
#[derive(Default, Debug)]
struct Tally {
    by_version: std::collections::BTreeMap<String, usize>,
    errors: Vec<String>,
}

/// Sends users' requests (no revision header) through `url` until `stop` is set, at most 6,000.
fn users(
    url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Tally> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut tally = Tally::default();
        let mut sent = 0;
        while sent < 6000 && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            sent += 1;
            let answer = http.get(format!("{url}/health/deep")).send().await;
            match answer {
                Ok(a) if a.status().is_success() => {
                    let body: Value = serde_json::from_str(&a.text().await.unwrap_or_default())
                        .unwrap_or_default();
                    let version = body["version"].as_str().unwrap_or("?").to_string();
                    *tally.by_version.entry(version).or_default() += 1;
                }
                Ok(a) => tally.errors.push(format!("HTTP {}", a.status())),
                Err(e) => tally.errors.push(e.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tally
    })
}

/// `web` at `image` as BlueGreen through the HTTPRoute, switching as soon as the preview passes.
fn blue_green_checklist(image: &str, stable: &RunningApp, front_door: &str) -> Value {
    let mut spec = canary_checklist(image, stable, front_door, 10);
    spec["spec"]["rollout"] = json!({
        "strategy": "BlueGreen",
        "blueGreen": {"autoPromotion": true, "scaleDownDelaySeconds": 3},
        "trafficRouting": {"gatewayAPI": {"httpRoute": "web"}},
    });
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane (dev/cluster up) and Traefik (dev/traefik --path)"]
async fn blue_green_switches_through_the_route_without_losing_a_request() {
    let scene = Scene::start("gateway-bg").await;
    let ns = scene.ns.name().to_string();
    let traefik = Traefik::start(&ns).await;
    let mut route_spec = http_route();
    route_spec["spec"]["rules"][0]["backendRefs"][1]["name"] = json!("web-preview");
    apply(&ns, &[&route_spec]);
    apply(
        &ns,
        &[
            &valid_secret(),
            &blue_green_checklist("example.com/web:1.0.0", &scene.app, &traefik.url()),
        ],
    );
    let stable = app_behind(&scene.client, &ns, "web", "1.0.0").await;
    let preview = app_behind(&scene.client, &ns, "web-preview", "2.0.0").await;
    kubectl_wait(&ns, "condition=Ready", 120);

    // The switch, under users' requests: none lost, each answered by one version or the other.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = users(traefik.url(), stop.clone());
    apply(
        &ns,
        &[&blue_green_checklist(
            "example.com/web:2.0.0",
            &scene.app,
            &traefik.url(),
        )],
    );
    route_until(&ns, "the switch (0/100)", |r| weights(r) == [0, 100]).await;
    kubectl_wait(&ns, "condition=Ready", 120);
    route_until(&ns, "back at rest (100/0, no pin rule)", |r| {
        weights(r) == [100, 0] && r["spec"]["rules"].as_array().unwrap().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let switch = load.await.unwrap();
    println!("blue-green switch through Traefik: {switch:?}");
    assert!(
        switch.errors.is_empty(),
        "requests lost at the switch: {:?}",
        switch.errors
    );
    assert!(
        switch.by_version.get("2.0.0").copied().unwrap_or(0) > 0,
        "the switch sent users to the new version: {switch:?}"
    );

    // A bad version under users' requests: its preview fails its checks through the front door
    // (with the header), and not one user request meets it.
    preview.set_mode(checklist_testapp::Mode::Unhealthy);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = users(traefik.url(), stop.clone());
    let mut bad = blue_green_checklist("example.com/web:3.0.0", &scene.app, &traefik.url());
    bad["spec"]["verification"]["failureThreshold"] = json!(2);
    apply(&ns, &[&bad]);
    kubectl_wait(&ns, "jsonpath={.status.phase}=RolledBack", 120);
    route_until(&ns, "no pin rule after the rollback", |r| {
        weights(r) == [100, 0] && r["spec"]["rules"].as_array().unwrap().len() == 1
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rollback = load.await.unwrap();
    println!("blue-green rollback through Traefik: {rollback:?}");
    assert!(
        rollback.errors.is_empty(),
        "users met errors: {:?}",
        rollback.errors
    );
    assert_eq!(
        rollback.by_version.get("2.0.0"),
        None,
        "a user request reached the previewed version: {rollback:?}"
    );
    assert!(
        preview
            .state()
            .request_count(Listener::Main, "/health/deep")
            > 0
    );
    drop((stable, preview, traefik));
    scene.ns.finish(&scene.client).await;
}
