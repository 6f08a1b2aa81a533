//! An operator upgrade with checklists at rest: the previous release (PREVIOUS_OPERATOR in
//! dev/versions.env, built by dev/previous-operator) brings 20 checklists to Ready, then this
//! build takes its place. Nothing running may notice: no pod restarted, no Deployment, Service,
//! Job or stored revision written; only status may be.

use std::{collections::BTreeMap, path::PathBuf, process::Command, time::Duration};

use checklist_testkit::{
    Operator, TestNamespace, apply, checklist, client, ensure_crd, fixtures::repository,
    kubectl_in, operator::operator_binary, start_app, valid_secret,
};
use serde_json::{Value, json};

const CHECKLISTS: usize = 20;

/// The previous release's binary, built once (minutes the first time, cached after).
fn previous_operator() -> PathBuf {
    let out = Command::new(repository().join("dev/previous-operator"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dev/previous-operator failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Every object of `kinds` in the namespace, `kind/name` → (uid, resourceVersion).
fn objects(namespace: &str, kinds: &str) -> BTreeMap<String, (String, String)> {
    let (ok, out) = kubectl_in(namespace, &["get", kinds, "-o", "json"]);
    assert!(ok, "{out}");
    let list: Value = serde_json::from_str(&out).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let meta = &item["metadata"];
            (
                format!(
                    "{}/{}",
                    item["kind"].as_str().unwrap(),
                    meta["name"].as_str().unwrap()
                ),
                (
                    meta["uid"].as_str().unwrap().to_owned(),
                    meta["resourceVersion"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn an_upgrade_restarts_no_pod_and_writes_nothing_but_status() {
    let previous = previous_operator();
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "upgrade").await;
    let app = start_app().await;
    let mut operator = Operator::start_binary(previous, ns.name());

    let mut objects_to_apply = vec![valid_secret()];
    for i in 0..CHECKLISTS {
        let mut one = checklist("example.com/web:1.0.0", &app);
        one["metadata"]["name"] = json!(format!("web-{i}"));
        one["spec"]["app"]["replicas"] = json!(1);
        // The login burst of 20 checklists at once would be the app's rate limit's business.
        let checks = one["spec"]["verification"]["checks"]
            .as_array_mut()
            .unwrap();
        checks.retain(|c| c["rateLimit"].is_null());
        objects_to_apply.push(one);
    }
    let refs: Vec<&Value> = objects_to_apply.iter().collect();
    apply(ns.name(), &refs);
    let (ready, out) = kubectl_in(
        ns.name(),
        &[
            "wait",
            "dcl",
            "--all",
            "--for=condition=Ready",
            "--timeout=180s",
        ],
    );
    assert!(ready, "{out}");

    const CHILDREN: &str = "pods,deployments,services,jobs,controllerrevisions";
    let before = objects(ns.name(), CHILDREN);
    assert!(before.len() >= CHECKLISTS * 5, "{before:#?}");

    let mark = operator.len();
    operator.upgrade_to(operator_binary());
    operator
        .wait_for_log("controller started", Duration::from_secs(30))
        .await;
    // Every checklist is reconciled at start; give them time to do anything they would do.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let after = objects(ns.name(), CHILDREN);
    let changed: Vec<&String> = before
        .iter()
        .filter(|(name, identity)| after.get(*name) != Some(identity))
        .map(|(name, _)| name)
        .collect();
    assert!(changed.is_empty(), "changed by the upgrade: {changed:?}");
    assert_eq!(before.len(), after.len(), "objects appeared: {after:#?}");
    let (ready, out) = kubectl_in(
        ns.name(),
        &[
            "wait",
            "dcl",
            "--all",
            "--for=condition=Ready",
            "--timeout=5s",
        ],
    );
    assert!(ready, "{out}");
    let writes = operator
        .lines_since(mark)
        .iter()
        .filter(|l| l.message() == Some("status written"))
        .count();
    println!("status writes after the upgrade: {writes} for {CHECKLISTS} checklists");
    ns.finish(&client).await;
}
