//! Sharding: `run --selector` splits the checklists of a cluster between operator deployments,
//! each electing its own leader; a checklist relabelled to another shard is carried on there.

use std::time::Duration;

use checklist_testkit::{
    Operator, TestNamespace, apply, client, ensure_crd, kubectl_in, start_app,
};
use serde_json::{Value, json};

use crate::web::kubectl_wait_for;

const READY_WITHIN: Duration = Duration::from_secs(90);

/// A checklist `name` in shard `shard` (none: unlabelled), one replica, no checks.
fn sharded(name: &str, shard: Option<&str>, image: &str) -> Value {
    let labels = match shard {
        Some(shard) => json!({"checklist.dev/shard": shard}),
        None => json!({}),
    };
    json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {"name": name, "labels": labels},
        "spec": {"app": {"image": image, "replicas": 1, "port": 8080}},
    })
}

/// Whether `operator` logged a plan for the checklist `name`.
fn planned(operator: &Operator, name: &str) -> bool {
    operator.lines_since(0).iter().any(|line| {
        line.message() == Some("plan")
            && line
                .json
                .as_ref()
                .and_then(|j| j["span"]["checklist"].as_str())
                == Some(name)
    })
}

/// A replica of the shard that `selector` picks, campaigning in `namespace`.
fn shard(namespace: &str, selector: &str, identity: &str) -> Operator {
    Operator::start_with(
        namespace,
        &[
            "--selector",
            selector,
            "--leader-elect",
            "--leader-election-namespace",
            namespace,
            "--leader-election-identity",
            identity,
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn two_shards_split_the_checklists_each_under_a_lease_of_its_own() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "shards").await;
    let _app = start_app().await;
    let a = shard(ns.name(), "checklist.dev/shard=a", "shard-a");
    // The catch-all: every checklist not in shard a, unlabelled ones included.
    let rest = shard(ns.name(), "checklist.dev/shard notin (a)", "shard-rest");
    for operator in [&a, &rest] {
        operator
            .wait_for_log("became the leader", Duration::from_secs(30))
            .await;
    }
    let (ok, leases) = kubectl_in(
        ns.name(),
        &[
            "get",
            "leases",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.spec.holderIdentity}{\"\\n\"}{end}",
        ],
    );
    assert!(ok, "{leases}");
    let mut leases: Vec<&str> = leases.lines().collect();
    leases.sort_by_key(|l| l.rsplit('=').next().map(str::to_owned));
    assert_eq!(leases.len(), 2, "one Lease per shard: {leases:?}");
    assert!(leases[0].starts_with("checklist-operator-") && leases[0].ends_with("=shard-a"));
    assert!(leases[1].starts_with("checklist-operator-") && leases[1].ends_with("=shard-rest"));

    apply(
        ns.name(),
        &[
            &sharded("web-a", Some("a"), "example.com/web:1.0.0"),
            &sharded("web-b", Some("b"), "example.com/web:1.0.0"),
            &sharded("web-none", None, "example.com/web:1.0.0"),
        ],
    );
    for name in ["web-a", "web-b", "web-none"] {
        kubectl_wait_for(ns.name(), name, "condition=Ready", READY_WITHIN);
    }
    assert!(planned(&a, "web-a"));
    assert!(!planned(&a, "web-b") && !planned(&a, "web-none"));
    assert!(planned(&rest, "web-b") && planned(&rest, "web-none"));
    assert!(
        !planned(&rest, "web-a"),
        "the catch-all acted on shard a's checklist"
    );

    // Moved to shard a, then released: shard a carries it on from its status, the other lets go.
    let mark = rest.len();
    apply(
        ns.name(),
        &[&sharded("web-b", Some("a"), "example.com/web:1.1.0")],
    );
    kubectl_wait_for(
        ns.name(),
        "web-b",
        "jsonpath={.status.revision.stable.image}=example.com/web:1.1.0",
        READY_WITHIN,
    );
    assert!(planned(&a, "web-b"));
    let after_move: Vec<_> = rest
        .lines_since(mark)
        .into_iter()
        .filter(|l| l.message() == Some("plan"))
        .collect();
    assert!(
        after_move.is_empty(),
        "the shard it left still planned: {:?}",
        after_move.iter().map(|l| &l.raw).collect::<Vec<_>>()
    );
    let (ok, history) = kubectl_in(
        ns.name(),
        &[
            "get",
            "dcl",
            "web-b",
            "-o",
            "jsonpath={.status.history[*].image}",
        ],
    );
    assert!(ok, "{history}");
    assert_eq!(history, "example.com/web:1.0.0 example.com/web:1.1.0");
    for operator in [&a, &rest] {
        operator.assert_json_logs();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_selector_the_api_server_refuses_stops_the_operator_naming_it() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "bad-selector").await;
    let mut operator =
        Operator::start_with(ns.name(), &["--selector", "checklist.dev/shard in (a"]);
    let code = operator.exited(Duration::from_secs(30)).await;
    assert_eq!(code, Some(1), "{:?}", operator.logs());
    let logs = operator.logs().join("\n");
    assert!(
        logs.contains(
            "--selector \\\"checklist.dev/shard in (a\\\" is not a label selector the API server accepts"
        ),
        "{logs}"
    );
}
