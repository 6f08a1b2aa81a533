//! spec.hooks as a user sees them: a backup Job before the migration and a contract Job once
//! the new version takes all traffic, each run once per revision (not again after its Job is
//! deleted and the operator restarted); a failed backup changing nothing running, and a failed
//! contract step leaving the new version serving, Degraded.

use std::time::Duration;

use checklist_operator::api::{DeploymentChecklist, HookName, MigrationState, Phase};
use checklist_testkit::{Scene, apply, checklist, kubectl_in, valid_secret, watch::Watch};
use kube::Api;
use serde_json::{Value, json};

use crate::lifecycle::pod_uids;
use crate::web::{deployed_image, describe_shows, job_names, kubectl_wait, wait_phase};

/// The fixture checklist on `image` with a backup before and a contract step after, each in
/// `hook_image` (the app's image when None).
fn hooked(
    image: &str,
    app: &checklist_testapp::RunningApp,
    hook_image: [Option<&str>; 2],
) -> Value {
    let mut value = checklist(image, app);
    let hook = |command: &str, image: Option<&str>| {
        let mut hook = json!({"command": [command], "timeoutSeconds": 60});
        if let Some(image) = image {
            hook["image"] = image.into();
        }
        hook
    };
    value["spec"]["hooks"] = json!({
        "preMigration": hook("/app/bin/backup", hook_image[0]),
        "postPromotion": hook("/app/bin/contract", hook_image[1]),
    });
    value
}

fn message(checklist: &DeploymentChecklist) -> Option<String> {
    checklist.status.as_ref().and_then(|s| s.message.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_backup_before_and_a_contract_step_after_run_once_each() {
    let Scene {
        client,
        ns,
        app,
        mut operator,
    } = Scene::start("hooks").await;
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), ns.name());
    let mut messages = Watch::start(api.clone(), "DeploymentChecklist", message).await;

    apply(
        ns.name(),
        &[
            &valid_secret(),
            &hooked("example.com/web:1.0.0", &app, [None, None]),
        ],
    );
    kubectl_wait(ns.name(), "condition=Ready", 90);

    // The order the status went through: backup, migration, rollout, checks, contract, Ready.
    // Read up to the Ready status's own event, which reaches this watch a moment after `kubectl
    // wait` saw it through its own.
    let mut said: Vec<String> = Vec::new();
    while !said.iter().any(|m| m.starts_with("verification passed")) {
        let seen = messages
            .next_matching("the Ready status", Duration::from_secs(30), |_| true)
            .await;
        said.extend(seen.detail);
    }
    let at = |start: &str| {
        said.iter()
            .position(|m| m.starts_with(start))
            .unwrap_or_else(|| panic!("no status message {start:?} in {said:#?}"))
    };
    let order = [
        at("running the preMigration hook Job web-pre-"),
        at("running the migration Job"),
        at("rolling out the new version"),
        at("running the postPromotion hook Job web-post-"),
        at("verification passed"),
    ];
    assert!(order.is_sorted(), "{order:?} in {said:#?}");

    let status = api.get("web").await.unwrap().status.unwrap();
    let hooks: Vec<(HookName, MigrationState)> =
        status.hooks.iter().map(|h| (h.name, h.state)).collect();
    assert_eq!(
        hooks,
        [
            (HookName::PreMigration, MigrationState::Succeeded),
            (HookName::PostPromotion, MigrationState::Succeeded)
        ]
    );
    let jobs = job_names(ns.name());
    println!("{jobs:?}");
    let hook_jobs: Vec<&String> = jobs
        .iter()
        .filter(|j| j.contains("-pre-") || j.contains("-post-"))
        .collect();
    assert_eq!(hook_jobs.len(), 2, "{jobs:?}");

    // The Jobs deleted and the operator restarted: neither hook runs again for this revision.
    let (ok, out) = kubectl_in(ns.name(), &["delete", "jobs", "--all", "--wait=true"]);
    assert!(ok, "{out}");
    operator.kill();
    operator.restart();
    kubectl_in(ns.name(), &["annotate", "dcl", "web", "touched=1"]);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        job_names(ns.name()).is_empty(),
        "{:?}",
        job_names(ns.name())
    );
    assert_eq!(
        wait_phase(&client, ns.name(), Phase::Ready, Duration::from_secs(10))
            .await
            .status
            .unwrap()
            .hooks
            .len(),
        2
    );
    let pods_before = pod_uids(ns.name()).await;

    // A backup that fails: nothing running changes, no migration runs.
    apply(
        ns.name(),
        &[&hooked(
            "example.com/web:1.1.0",
            &app,
            [Some("example.com/web:1.1.0-chaos-fail"), None],
        )],
    );
    wait_phase(
        &client,
        ns.name(),
        Phase::RolledBack,
        Duration::from_secs(90),
    )
    .await;
    describe_shows(
        ns.name(),
        &[
            "Warning  HookFailed",
            "the preMigration hook Job web-pre-",
            "the stable version example.com/web:1.0.0 serves traffic",
        ],
    );
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");
    assert_eq!(pod_uids(ns.name()).await, pods_before);
    let jobs = job_names(ns.name());
    assert!(!jobs.iter().any(|j| j.contains("-migrate-")), "{jobs:?}");

    // A contract step that fails: the new version took all traffic and passed; it keeps serving.
    apply(
        ns.name(),
        &[&hooked(
            "example.com/web:1.2.0",
            &app,
            [None, Some("example.com/web:1.2.0-chaos-fail")],
        )],
    );
    let degraded = wait_phase(&client, ns.name(), Phase::Degraded, Duration::from_secs(90)).await;
    let message = degraded.status.unwrap().message.unwrap_or_default();
    assert!(
        message.contains("the postPromotion hook Job web-post-")
            && message.contains("nothing was rolled back"),
        "{message}"
    );
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.2.0");
    describe_shows(
        ns.name(),
        &["Phase:                Degraded", "Warning  HookFailed"],
    );
}
