//! How Argo CD, Flux and helm read live checklists: every phase captured from the local cluster
//! as the API server returns it, then judged by the health Lua in gopher-lua (Argo CD's
//! interpreter) and by kstatus (sigs.k8s.io/cli-utils, and fluxcd/cli-utils which Flux and helm 4
//! use) through `dev/gitops-health`; and `helm --wait=watcher` run against a checklist.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use checklist_operator::api::{DeploymentChecklist, Phase};
use checklist_testapp::Mode;
use checklist_testkit::{
    Operator, TestNamespace, apply, checklist, client, ensure_crd, fixtures::repository, start_app,
    valid_secret, wait_phase,
};
use futures::StreamExt;
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, Patch, PatchParams},
    runtime::{WatchStreamExt, watcher},
};
use serde_json::{Value, json};

use crate::chart::helm;

const WITHIN: Duration = Duration::from_secs(90);

/// What makes a captured object a case of its own: name, phase, rollout stage, whether the
/// generation is observed, and whether Ready is True.
fn case(object: &Value) -> String {
    let status = &object["status"];
    let observed = status["observedGeneration"] == object["metadata"]["generation"];
    let ready = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    format!(
        "{}/{}/{}/{}/{}",
        object["metadata"]["name"].as_str().unwrap_or_default(),
        status["phase"].as_str().unwrap_or("-"),
        status["rollout"]["stage"].as_str().unwrap_or("-"),
        if observed { "observed" } else { "lagging" },
        if ready { "ready" } else { "not-ready" },
    )
}

/// Records the first object of each case the watch sees in `namespace`.
fn capture(
    client: &Client,
    namespace: &str,
) -> (
    Arc<Mutex<BTreeMap<String, Value>>>,
    tokio::task::JoinHandle<()>,
) {
    let resource = ApiResource::erase::<DeploymentChecklist>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let into = seen.clone();
    let task = tokio::spawn(async move {
        let stream = watcher(api, watcher::Config::default()).applied_objects();
        let mut stream = std::pin::pin!(stream);
        while let Some(Ok(object)) = stream.next().await {
            let mut value = serde_json::to_value(&object).unwrap();
            value["metadata"]
                .as_object_mut()
                .map(|m| m.remove("managedFields"));
            into.lock().unwrap().entry(case(&value)).or_insert(value);
        }
    });
    (seen, task)
}

/// `dev/gitops-health check FILE`: exit status and output.
fn gitops_health(file: &std::path::Path) -> (bool, String) {
    let script: PathBuf = repository().join("dev/gitops-health");
    let output = Command::new(script)
        .arg("check")
        .arg(file)
        .output()
        .expect("dev/gitops-health runs (it needs Go, like the control plane)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn named(name: &str, mut object: Value) -> Value {
    object["metadata"]["name"] = json!(name);
    object
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn argo_cd_flux_and_kstatus_read_live_checklists_in_every_phase_right() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "gitops").await;
    let (good, bad, flaky) = (start_app().await, start_app().await, start_app().await);
    bad.set_mode(Mode::Unhealthy);
    let (seen, watch) = capture(&client, ns.name());

    // Created before any operator runs: the status the CRD defaults (Pending, generation 0).
    let mut web = checklist("example.com/web:1.0.0", &good);
    web["spec"]["verification"]["continuous"] = json!(false);
    apply(ns.name(), &[&valid_secret(), &web]);
    let mut operator = Operator::start(ns.name());
    wait_phase(&client, ns.name(), "web", Phase::Ready, WITHIN).await;

    // Ready, then a spec change the operator has not seen yet (it is stopped).
    operator.terminate();
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"app": {"replicas": 3}}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    operator.restart();
    wait_phase(&client, ns.name(), "web", Phase::Ready, WITHIN).await;

    // The other phases, each on a checklist of its own, all at once.
    let mut failing = checklist("example.com/web:2.0.0", &good);
    failing["spec"]["verification"]["url"] = json!(bad.url());
    let mut degrading = named("deg", checklist("example.com/web:1.0.0", &flaky));
    degrading["spec"]["verification"]["continuous"] = json!(true);
    let first_fails = named("fail", checklist("example.com/web:1.0.0", &bad));
    let mut no_secret = named("sec", checklist("example.com/web:1.0.0", &good));
    no_secret["spec"]["secrets"][0]["secretName"] = json!("sec-env");
    let suspended = named("sus", checklist("example.com/web:1.0.0", &good));
    let mut canary = named("can", checklist("example.com/web:1.0.0", &good));
    canary["spec"]["rollout"] = json!({"strategy": "Canary", "canary": {"steps": [
        {"weight": 25, "pauseSeconds": 600}, {"weight": 50}, {"weight": 100}
    ]}});
    canary["spec"]["verification"]["canaryURL"] = json!(good.url());
    apply(
        ns.name(),
        &[
            &failing,
            &degrading,
            &first_fails,
            &no_secret,
            &suspended,
            &canary,
        ],
    );
    wait_phase(&client, ns.name(), "web", Phase::RolledBack, WITHIN).await;
    wait_phase(&client, ns.name(), "deg", Phase::Ready, WITHIN).await;
    flaky.set_mode(Mode::Unhealthy);
    wait_phase(&client, ns.name(), "deg", Phase::Degraded, WITHIN).await;
    wait_phase(&client, ns.name(), "fail", Phase::Failed, WITHIN).await;
    wait_phase(&client, ns.name(), "sec", Phase::CheckingSecrets, WITHIN).await;
    wait_phase(&client, ns.name(), "sus", Phase::Ready, WITHIN).await;
    api.patch(
        "sus",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .unwrap();
    wait_phase(&client, ns.name(), "sus", Phase::Suspended, WITHIN).await;
    wait_phase(&client, ns.name(), "can", Phase::Ready, WITHIN).await;
    api.patch(
        "can",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"app": {"image": "example.com/web:2.0.0"}}})),
    )
    .await
    .unwrap();
    wait_phase(&client, ns.name(), "can", Phase::Paused, WITHIN).await;
    api.patch(
        "can",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"checklist.dev/promote": "1"}}})),
    )
    .await
    .unwrap();
    checklist_testkit::wait_for(&api, "can", WITHIN, |c: Option<&DeploymentChecklist>| {
        c.and_then(|c| c.status.as_ref())
            .and_then(|s| s.rollout.as_ref())
            .is_some_and(|r| r.stage.to_string() == "WaitingForPromotion")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    watch.abort();

    let captured: BTreeMap<String, Value> = seen.lock().unwrap().clone();
    let cases: Vec<&String> = captured.keys().collect();
    println!("captured {} cases: {cases:#?}", cases.len());
    for wanted in [
        "web/Pending/-/lagging/not-ready",
        "web/Migrating/",
        "web/Verifying/",
        "web/Ready/-/observed/ready",
        "web/Ready/-/lagging/ready",
        "web/RollingBack/",
        "web/RolledBack/",
        "deg/Degraded/",
        "fail/Failed/",
        "sec/CheckingSecrets/",
        "sus/Suspended/-/observed/ready",
        "can/Paused/Paused/",
        "can/Paused/WaitingForPromotion/",
    ] {
        assert!(
            cases.iter().any(|c| c.starts_with(wanted)),
            "no live checklist captured as {wanted}: {cases:#?}"
        );
    }
    let file = std::env::temp_dir().join(format!("gitops-{}.json", ns.name()));
    let list =
        json!({"apiVersion": "v1", "kind": "List", "items": captured.values().collect::<Vec<_>>()});
    std::fs::write(&file, serde_json::to_vec_pretty(&list).unwrap()).unwrap();
    let (ok, report) = gitops_health(&file);
    println!("{report}");
    assert!(
        ok,
        "a live checklist reads wrongly in Argo CD or kstatus:\n{report}"
    );
    let _ = std::fs::remove_file(&file);
    drop(operator);
    ns.finish(&client).await;
}

/// A chart of the given objects, as a team ships a checklist with its app.
fn chart(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("templates/objects.yaml"),
        "{{- range .Values.objects }}\n---\n{{ toJson . }}\n{{- end }}\n",
    )
    .unwrap();
}

fn values(dir: &std::path::Path, name: &str, objects: &[&Value]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, json!({"objects": objects}).to_string()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn helm_wait_watcher_waits_for_ready_and_fails_fast_on_a_rollback() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "helmwait").await;
    let (good, bad) = (start_app().await, start_app().await);
    bad.set_mode(Mode::Unhealthy);
    let _operator = Operator::start(ns.name());
    let dir = std::env::temp_dir().join(format!("helm-wait-{}", ns.name()));
    chart(&dir);
    let chart_dir = dir.to_string_lossy().into_owned();

    // install: returns only once the checklist is Ready (its first checks wait 3 s).
    let mut first = checklist("example.com/web:1.0.0", &good);
    first["spec"]["verification"]["initialDelaySeconds"] = json!(3);
    let v1 = values(&dir, "v1.json", &[&valid_secret(), &first]);
    let started = Instant::now();
    let install = helm(&[
        "install",
        "web",
        &chart_dir,
        "-n",
        ns.name(),
        "--values",
        &v1.to_string_lossy(),
        "--wait=watcher",
        "--timeout",
        "120s",
    ]);
    let took = started.elapsed();
    println!(
        "helm install --wait=watcher took {took:?}: {}",
        crate::chart::stderr(&install)
    );
    assert!(
        install.status.success(),
        "{}",
        crate::chart::stderr(&install)
    );
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let installed = api.get("web").await.unwrap();
    let status = installed.status.clone().unwrap_or_default();
    assert_eq!(
        status.phase,
        Some(Phase::Ready),
        "helm returned before Ready: {status:?}"
    );
    assert_eq!(status.observed_generation, installed.metadata.generation);
    assert!(
        took >= Duration::from_secs(3),
        "returned in {took:?}, before the first checks ran"
    );

    // upgrade to a version that fails its checks: helm fails as soon as it is RolledBack.
    let mut broken = checklist("example.com/web:2.0.0", &good);
    broken["spec"]["verification"]["url"] = json!(bad.url());
    let v2 = values(&dir, "v2.json", &[&valid_secret(), &broken]);
    let started = Instant::now();
    let upgrade = helm(&[
        "upgrade",
        "web",
        &chart_dir,
        "-n",
        ns.name(),
        "--values",
        &v2.to_string_lossy(),
        "--wait=watcher",
        "--timeout",
        "120s",
    ]);
    let took = started.elapsed();
    let exited_at = k8s_openapi::jiff::Timestamp::now().as_second();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&upgrade.stdout),
        crate::chart::stderr(&upgrade)
    );
    println!("helm upgrade --wait=watcher to a failing version: {took:?}\n{said}");
    assert!(
        !upgrade.status.success(),
        "helm upgrade passed a rolled-back release: {said}"
    );
    assert!(
        said.contains("rolled back to example.com/web:1.0.0: verification failed"),
        "helm does not say why: {said}"
    );
    let rolled_back = wait_phase(&client, ns.name(), "web", Phase::RolledBack, WITHIN).await;
    let at = rolled_back
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "RolledBack"))
        .map(|c| c.last_transition_time.0.as_second())
        .unwrap();
    let ended = exited_at;
    println!(
        "helm exited {} s after the checklist was RolledBack",
        ended - at
    );
    assert!(
        took < Duration::from_secs(100),
        "helm waited to its timeout: {said}"
    );
    assert!(
        ended - at <= 10,
        "helm took {} s to see the rollback",
        ended - at
    );
    let _ = std::fs::remove_dir_all(&dir);
    ns.finish(&client).await;
}
