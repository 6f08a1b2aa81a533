//! The limits users rely on, end to end with short limits: a progress deadline passing rolls
//! the release back, and a migration Job outliving its timeout stops the release before any
//! running pod changes. Each shows its reason in `kubectl describe`.
//!
//! Images tagged `*-chaos-slow-start` become Ready only after 8 s (kwok stage
//! `dev/stages/chaos-slow-start.yaml`): longer than the limits set here.

use std::time::Duration;

use checklist_operator::api::Phase;
use checklist_testkit::{Scene, apply, checklist};

use crate::lifecycle::{pod_uids, ready_on_v1};
use crate::web::{deployed_image, describe_shows, get_dcl, job_names, wait_phase};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_passed_progress_deadline_rolls_the_release_back() {
    // The operator runs while its binding lives.
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("deadline").await;
    ready_on_v1(ns.name(), &app).await;

    // The new pods take 8 s to become ready; the rollout may take 2.
    let mut slow = checklist("example.com/web:1.1.0-chaos-slow-start", &app);
    slow["spec"]["rollout"]["progressDeadlineSeconds"] = 2.into();
    slow["spec"]["migration"]["image"] = "example.com/web:1.1.0".into();
    apply(ns.name(), &[&slow]);
    let rolled_back = wait_phase(
        &client,
        ns.name(),
        Phase::RolledBack,
        Duration::from_secs(90),
    )
    .await;
    let message = rolled_back.status.unwrap().message.unwrap_or_default();
    println!("{}", get_dcl(ns.name()));
    assert!(
        message.contains("rollout did not progress") && message.contains("timed out progressing"),
        "{message}"
    );
    describe_shows(
        ns.name(),
        &[
            "Warning  ProgressDeadlineExceeded",
            "Warning  RolledBack",
            "the stable version example.com/web:1.0.0 serves traffic",
        ],
    );
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn a_migration_past_its_timeout_fails_and_changes_nothing_running() {
    let Scene {
        client,
        ns,
        app,
        operator: _operator,
    } = Scene::start("migtimeout").await;
    let pods_before = ready_on_v1(ns.name(), &app).await;

    // The migration's pod takes 8 s to start; the Job may run for 2.
    let mut slow = checklist("example.com/web:1.1.0", &app);
    slow["spec"]["migration"]["timeoutSeconds"] = 2.into();
    slow["spec"]["migration"]["image"] = "example.com/web:1.1.0-chaos-slow-start".into();
    apply(ns.name(), &[&slow]);
    let stopped = wait_phase(
        &client,
        ns.name(),
        Phase::RolledBack,
        Duration::from_secs(90),
    )
    .await;
    let status = stopped.status.unwrap();
    println!("{}", get_dcl(ns.name()));
    let migration = status.migration.unwrap();
    assert!(
        migration
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("DeadlineExceeded"),
        "{migration:?}"
    );
    describe_shows(
        ns.name(),
        &[
            "Warning  MigrationFailed",
            "DeadlineExceeded",
            "the stable version example.com/web:1.0.0 serves traffic",
        ],
    );
    assert_eq!(deployed_image(ns.name()), "example.com/web:1.0.0");
    assert_eq!(pod_uids(ns.name()).await, pods_before);
    assert!(
        !job_names(ns.name())
            .iter()
            .any(|j| j.contains("-rollback-")),
        "a migration that never ran is not undone"
    );
}
