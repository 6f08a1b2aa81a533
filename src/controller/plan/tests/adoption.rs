//! spec.app.adopt: the adopted Deployment is handed over once, only after a revision is Ready,
//! and what would lose requests is refused before anything is applied.

use std::collections::BTreeMap;

use super::*;
use crate::api::{AdoptSpec, AdoptionStatus, AfterReady, RolloutStrategy};
use crate::controller::observe::{Adoptee, Found};

fn adopting(after_ready: AfterReady) -> DeploymentChecklistSpec {
    let mut spec = spec();
    spec.app.adopt = Some(AdoptSpec {
        deployment: "legacy".into(),
        after_ready,
    });
    spec.app.pod_labels = BTreeMap::from([("app".into(), "legacy".into())]);
    spec
}

fn selector(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `legacy` with 3 replicas, reached by the Service `legacy` on app=legacy.
fn legacy() -> Adoptee {
    Adoptee {
        name: "legacy".into(),
        found: Some(Found {
            uid: "uid-1".into(),
            resource_version: "41".into(),
            replicas: 3,
            controller: None,
            services: vec![("legacy".into(), selector(&[("app", "legacy")]))],
        }),
        service_name_taken: false,
    }
}

fn with(observation: Observation, adoptee: Adoptee) -> Observation {
    Observation {
        adoption: Some(adoptee),
        ..observation
    }
}

fn hand_overs(plan: &Plan) -> Vec<&Change> {
    plan.changes
        .iter()
        .filter(|c| matches!(c, Change::HandOver { .. }))
        .collect()
}

#[test]
fn the_adopted_deployment_serves_untouched_until_a_revision_is_ready() {
    let plan = run(
        &adopting(AfterReady::ScaleDown),
        &DeploymentChecklistStatus::default(),
        &with(observed(), legacy()),
    );
    assert_ne!(plan.status.phase, Some(Phase::Ready));
    assert!(hand_overs(&plan).is_empty(), "{:?}", plan.changes);
    let adoption = plan.status.adoption.unwrap();
    assert!(!adoption.handed_over);
    assert_eq!(
        adoption.message,
        "Deployment legacy keeps serving (3 replicas) until a revision of this checklist is Ready"
    );
}

#[test]
fn once_ready_it_is_scaled_to_zero_once_naming_the_object_read() {
    let plan = run(
        &adopting(AfterReady::ScaleDown),
        &DeploymentChecklistStatus::default(),
        &with(steady_on_old(), legacy()),
    );
    assert_eq!(plan.status.phase, Some(Phase::Ready));
    assert_eq!(
        hand_overs(&plan),
        [&Change::HandOver {
            deployment: "legacy".into(),
            uid: "uid-1".into(),
            resource_version: "41".into(),
            replicas: 3,
            delete: false,
        }]
    );
    let adoption = plan.status.adoption.clone().unwrap();
    assert!(adoption.handed_over);
    assert_eq!(adoption.at, Some(now(60)));
    assert_eq!(
        adoption.message,
        format!("Deployment legacy scaled from 3 to 0: revision {OLD} is Ready and serves")
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.reason == Reason::HandedOver && n.message == adoption.message)
    );

    // Recorded: the next reconcile neither reads (observation None) nor writes it again.
    let again = run(
        &adopting(AfterReady::ScaleDown),
        &plan.status,
        &steady_on_old(),
    );
    assert!(hand_overs(&again).is_empty());
    assert_eq!(again.status.adoption, plan.status.adoption);
    assert!(again.notes.iter().all(|n| n.reason != Reason::HandedOver));
}

#[test]
fn delete_removes_it_once_ready() {
    let plan = run(
        &adopting(AfterReady::Delete),
        &DeploymentChecklistStatus::default(),
        &with(steady_on_old(), legacy()),
    );
    assert!(matches!(
        hand_overs(&plan)[..],
        [Change::HandOver { delete: true, .. }]
    ));
    assert!(
        plan.status
            .adoption
            .unwrap()
            .message
            .starts_with("Deployment legacy (3 replicas) deleted")
    );
}

#[test]
fn a_failed_first_revision_leaves_the_adopted_pods_serving() {
    let failing = with(
        deployed_new(RolloutProgress::CrashLoop(
            "pod web-1 restarted 4 times".into(),
        )),
        legacy(),
    );
    let plan = run(
        &adopting(AfterReady::ScaleDown),
        &DeploymentChecklistStatus::default(),
        &failing,
    );
    assert_ne!(plan.status.phase, Some(Phase::Ready));
    assert!(hand_overs(&plan).is_empty(), "{:?}", plan.changes);
    assert!(!plan.status.adoption.unwrap().handed_over);
}

#[test]
fn a_missing_deployment_is_said_and_blocks_nothing() {
    let missing = Adoptee {
        found: None,
        ..legacy()
    };
    let plan = run(
        &adopting(AfterReady::ScaleDown),
        &DeploymentChecklistStatus::default(),
        &with(steady_on_old(), missing),
    );
    assert_eq!(plan.status.phase, Some(Phase::Ready));
    assert!(hand_overs(&plan).is_empty());
    assert_eq!(
        plan.status.adoption.unwrap().message,
        "Deployment legacy was not found in this namespace: there is nothing to hand over"
    );
}

#[test]
fn what_would_lose_requests_is_refused_before_anything_is_applied() {
    let blue_green = {
        let mut spec = adopting(AfterReady::ScaleDown);
        spec.rollout.strategy = RolloutStrategy::BlueGreen;
        spec
    };
    let named_like_it = {
        let mut spec = adopting(AfterReady::ScaleDown);
        spec.app.adopt.as_mut().unwrap().deployment = NAME.into();
        spec
    };
    let unlabelled = {
        let mut spec = adopting(AfterReady::ScaleDown);
        spec.app.pod_labels.clear();
        spec
    };
    let taken = Adoptee {
        service_name_taken: true,
        ..legacy()
    };
    let controlled = {
        let mut adoptee = legacy();
        adoptee.found.as_mut().unwrap().controller = Some("Rollout/legacy".into());
        adoptee
    };
    let named = Adoptee {
        name: NAME.into(),
        ..legacy()
    };
    let cases: [(&DeploymentChecklistSpec, Adoptee, &str); 5] = [
        (&blue_green, legacy(), "needs the RollingUpdate strategy"),
        (
            &named_like_it,
            named,
            "the name of the Deployment this checklist runs itself",
        ),
        (
            &adopting(AfterReady::ScaleDown),
            taken,
            "Service dialectic exists and is not this checklist's",
        ),
        (
            &adopting(AfterReady::ScaleDown),
            controlled,
            "Deployment legacy is controlled by Rollout/legacy",
        ),
        (
            &unlabelled,
            legacy(),
            "spec.app.podLabels lacks app=legacy, which Service legacy selects",
        ),
    ];
    for (spec, adoptee, expected) in cases {
        let plan = run(
            spec,
            &DeploymentChecklistStatus::default(),
            &with(steady_on_old(), adoptee),
        );
        let message = refused_as_invalid(&plan);
        assert!(message.contains(expected), "{expected}: {message}");
        assert!(message.ends_with("keeps serving"), "{message}");
    }
}

#[test]
fn a_checklist_that_stops_adopting_drops_the_status() {
    let previous = DeploymentChecklistStatus {
        adoption: Some(AdoptionStatus {
            deployment: "legacy".into(),
            handed_over: true,
            at: Some(now(0)),
            message: "scaled".into(),
        }),
        ..ready_on_old()
    };
    let plan = run(&spec(), &previous, &steady_on_old());
    assert_eq!(plan.status.adoption, None);
}

#[test]
fn a_failed_first_revision_removes_its_pods_so_the_adopted_ones_serve_alone() {
    let failing = with(
        deployed_new(RolloutProgress::CrashLoop(
            "pod web-1 restarted 4 times".into(),
        )),
        legacy(),
    );
    let spec = adopting(AfterReady::ScaleDown);
    let plan = run(&spec, &DeploymentChecklistStatus::default(), &failing);
    assert_eq!(plan.status.phase, Some(Phase::Failed));
    assert!(
        plan.changes.contains(&Change::RemoveCurrent),
        "{:?}",
        plan.changes
    );
    let message = plan.status.message.clone().unwrap();
    assert!(
        message.ends_with(
            "Deployment legacy, being adopted, serves alone: this checklist's pods were removed"
        ),
        "{message}"
    );

    // Once removed, the next reconcile neither deletes again nor changes what it says.
    let removed = Observation {
        rollout: RolloutObservation {
            deployed: None,
            progress: RolloutProgress::Progressing,
        },
        ..failing.clone()
    };
    let again = run(&spec, &plan.status, &removed);
    assert!(!again.changes.contains(&Change::RemoveCurrent));
    assert_eq!(again.status.message, plan.status.message);

    // Without automatic rollback, nothing is removed.
    let mut manual = spec.clone();
    manual.rollback.automatic = false;
    let kept = run(&manual, &DeploymentChecklistStatus::default(), &failing);
    assert!(!kept.changes.contains(&Change::RemoveCurrent));
    // Nor once the adopted Deployment runs no pod.
    let mut idle = legacy();
    idle.found.as_mut().unwrap().replicas = 0;
    let idle = run(
        &spec,
        &DeploymentChecklistStatus::default(),
        &with(failing.clone(), idle),
    );
    assert!(!idle.changes.contains(&Change::RemoveCurrent));
}
