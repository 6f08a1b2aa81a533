//! What was read, reduced to an [`Observation`]: pure functions of the objects the API returned
//! and of the verification task's report (the reads themselves are in [`read`](super::read)).

use k8s_openapi::api::{apps::v1::Deployment, batch::v1::Job, core::v1::Pod};
use kube::ResourceExt;

use crate::{
    api::{
        DeploymentChecklist, HookName, ReferenceVersion,
        requests::{ABORT_ANNOTATION, PROMOTE_ANNOTATION, RETRY_ANNOTATION},
    },
    resources::{self, deployed_revision, labels},
    secrets,
    traffic::Live,
};

use super::{
    observation::{
        HookJobs, JobState, Observation, Report, Revision, RevisionPods, RolloutObservation,
        RolloutProgress, TrafficObservation, VerificationObservation, VerificationResults,
    },
    read::World,
    requests::{request_token, rollback_request},
};

/// The revision of the checklist's current spec, its rollOnChange objects found at
/// `references` (see [`references`](super::references)).
pub fn revision(checklist: &DeploymentChecklist, references: Vec<ReferenceVersion>) -> Revision {
    Revision {
        hash: resources::revision_of(&checklist.spec, &references),
        image: checklist.spec.app.image.clone(),
        references,
    }
}

/// Everything the plan decides on, reduced from what was read and what the verification task
/// reported.
pub fn observation(
    checklist: &DeploymentChecklist,
    world: &World,
    revision: Revision,
    report: Option<Report>,
) -> Observation {
    let spec = &checklist.spec;
    let secrets = spec
        .secrets
        .iter()
        .flat_map(|contract| {
            secrets::check_contract(contract, world.secrets.get(&contract.secret_name))
        })
        .collect();
    let migration = match &spec.migration {
        None => JobState::NotNeeded,
        Some(_) => job_state(world.migration_job.as_ref()),
    };
    let rollback_migration = match spec.migration.as_ref().and_then(|m| m.rollback.as_ref()) {
        None => JobState::NotNeeded,
        Some(_) => job_state(world.rollback_job.as_ref()),
    };
    let hook = |hook: HookName, job: &Option<Box<Job>>| match spec
        .hooks
        .as_ref()
        .and_then(|h| h.job(hook))
    {
        None => JobState::NotNeeded,
        Some(_) => job_state(job.as_deref()),
    };
    let hooks = HookJobs {
        pre_migration: hook(HookName::PreMigration, &world.hook_jobs[0]),
        post_promotion: hook(HookName::PostPromotion, &world.hook_jobs[1]),
    };
    let (verification, verification_results) =
        verification(report, &verification_target(checklist, &revision.hash));
    Observation {
        secrets,
        migration,
        hooks,
        rollout: rollout(
            world.deployment.as_ref(),
            &world.pods,
            spec.rollout.max_restarts,
        ),
        verification,
        verification_results,
        rollback_migration,
        stable_spec_available: world
            .stable_record
            .as_ref()
            .is_some_and(|record| resources::recorded_spec(record).is_ok()),
        retry_token: request_token(checklist, RETRY_ANNOTATION),
        traffic: traffic(world, &revision.hash, spec.rollout.max_restarts),
        promote_token: request_token(checklist, PROMOTE_ANNOTATION),
        abort_token: request_token(checklist, ABORT_ANNOTATION),
        drift: super::drift::drift(checklist, world, &revision.hash),
        rollback_request: rollback_request(checklist, &revision.hash),
        templates: Vec::new(),
        template_problem: None,
        promotion: None,
        scaling: world.scaling.clone(),
        adoption: world.adoption.clone(),
        revision,
    }
}

/// BlueGreen and Canary: each revision's Deployment and how it does, and which revision each
/// Service selects. The pods read are the current revision's, so only its crash loops count.
pub fn traffic(world: &World, current: &str, max_restarts: i32) -> TrafficObservation {
    let deployments = world
        .revision_deployments
        .iter()
        .filter(|d| d.metadata.deletion_timestamp.is_none())
        .filter_map(|deployment| {
            let revision = deployed_revision(deployment)?;
            let progress = (revision == current)
                .then(|| crash_loop(&world.pods, &revision, max_restarts))
                .flatten()
                .map_or_else(
                    || deployment_progress(deployment),
                    RolloutProgress::CrashLoop,
                );
            Some(RevisionPods {
                name: deployment.name_any(),
                replicas: deployment.spec.replicas.unwrap_or(1),
                revision,
                progress,
            })
        })
        .collect();
    TrafficObservation {
        deployments,
        routes: Live {
            route: world.route.clone(),
            ..Live::read(world.service.as_ref(), world.side_service.as_ref())
        },
    }
}

/// The name the current stage's verification rounds run under: the revision hash, and for a
/// stage of a BlueGreen or Canary release the stage after an `@` (`<hash>@step2`).
pub fn verification_target(checklist: &DeploymentChecklist, revision: &str) -> String {
    let stage = checklist
        .status
        .as_ref()
        .and_then(|s| s.rollout.as_ref())
        .filter(|r| r.revision == revision)
        .and_then(|r| r.verification_stage());
    target(revision, stage.as_deref())
}

/// `revision`, or `revision@stage`.
pub fn target(revision: &str, stage: Option<&str>) -> String {
    match stage {
        Some(stage) => format!("{revision}@{stage}"),
        None => revision.to_string(),
    }
}

/// Where verification of `revision` stands: the running task's report, or NotStarted when no
/// task runs for it (after a restart; the plan knows from the status whether it already passed).
pub fn verification(
    report: Option<Report>,
    revision: &str,
) -> (VerificationObservation, Option<VerificationResults>) {
    report
        .filter(|r| r.revision == revision)
        .map_or((VerificationObservation::NotStarted, None), |r| {
            (r.state, r.results)
        })
}

/// The state of a Job, or `Absent` when there is none.
pub fn job_state(job: Option<&Job>) -> JobState {
    let Some(job) = job else {
        return JobState::Absent;
    };
    // A Job being deleted (a retry removing the failed attempt's) is waited for, not reused.
    if job.metadata.deletion_timestamp.is_some() {
        return JobState::Running;
    }
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let holds = |kind: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == kind && c.status == "True")
    };
    if holds("Complete").is_some() {
        return JobState::Succeeded;
    }
    if let Some(failed) = holds("Failed") {
        let reason = failed.reason.clone().unwrap_or_else(|| "Failed".into());
        return JobState::Failed(match &failed.message {
            Some(message) if !message.is_empty() => format!("{reason}: {message}"),
            _ => reason,
        });
    }
    JobState::Running
}

/// How the app's Deployment is doing, judged like `kubectl rollout status` and, faster than the
/// progress deadline, by the restarts of the deployed revision's pods.
pub fn rollout(
    deployment: Option<&Deployment>,
    pods: &[Pod],
    max_restarts: i32,
) -> RolloutObservation {
    let Some(deployment) = deployment else {
        return RolloutObservation {
            deployed: None,
            progress: RolloutProgress::Progressing,
        };
    };
    let deployed = deployed_revision(deployment);
    let progress = match deployed
        .as_deref()
        .and_then(|r| crash_loop(pods, r, max_restarts))
    {
        Some(message) => RolloutProgress::CrashLoop(message),
        None => deployment_progress(deployment),
    };
    RolloutObservation { deployed, progress }
}

fn deployment_progress(deployment: &Deployment) -> RolloutProgress {
    let Some(status) = deployment.status.as_ref() else {
        return RolloutProgress::Progressing;
    };
    let stalled = status.conditions.iter().flatten().find(|c| {
        c.type_.as_deref() == Some("Progressing")
            && c.status.as_deref() == Some("False")
            && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if let Some(condition) = stalled {
        return RolloutProgress::DeadlineExceeded(
            condition
                .message
                .clone()
                .unwrap_or_else(|| "ProgressDeadlineExceeded".into()),
        );
    }
    let generation = deployment.metadata.generation.unwrap_or_default();
    let wanted = deployment.spec.replicas.unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or_default();
    let complete = status.observed_generation.unwrap_or_default() >= generation
        && updated == wanted
        && status.replicas.unwrap_or_default() == updated
        && status.available_replicas.unwrap_or_default() == updated;
    if complete {
        RolloutProgress::Complete
    } else {
        RolloutProgress::Progressing
    }
}

/// The first container of `revision`'s pods that restarted more than `max_restarts` times or
/// waits in CrashLoopBackOff, described for the status.
fn crash_loop(pods: &[Pod], revision: &str, max_restarts: i32) -> Option<String> {
    pods.iter()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(labels::REVISION))
                .map(String::as_str)
                == Some(revision)
        })
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .find_map(|pod| {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let statuses = pod.status.as_ref()?.container_statuses.as_deref()?;
            statuses.iter().find_map(|c| {
                let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
                let backing_off =
                    waiting.and_then(|w| w.reason.as_deref()) == Some("CrashLoopBackOff");
                if c.restart_count > max_restarts {
                    Some(format!(
                        "pod {name} container {} restarted {} times (more than {max_restarts})",
                        c.name, c.restart_count
                    ))
                } else if backing_off {
                    Some(format!(
                        "pod {name} container {} is in CrashLoopBackOff",
                        c.name
                    ))
                } else {
                    None
                }
            })
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job(conditions: serde_json::Value) -> Job {
        serde_json::from_value(
            json!({"metadata": {"name": "j"}, "status": {"conditions": conditions}}),
        )
        .unwrap()
    }

    #[test]
    fn job_states_come_from_their_conditions() {
        assert_eq!(job_state(None), JobState::Absent);
        assert_eq!(job_state(Some(&job(json!([])))), JobState::Running);
        assert_eq!(
            job_state(Some(&job(json!([{"type": "Complete", "status": "True"}])))),
            JobState::Succeeded
        );
        assert_eq!(
            job_state(Some(&job(
                json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}])
            ))),
            JobState::Failed(
                "BackoffLimitExceeded: Job has reached the specified backoff limit".into()
            )
        );
        assert_eq!(
            job_state(Some(&job(
                json!([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}])
            ))),
            JobState::Failed("DeadlineExceeded".into())
        );
    }

    fn deployment(revision: &str, status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"annotations": {"checklist.dev/revision": revision}}, "spec": {"containers": []}}
            },
            "status": status
        }))
        .unwrap()
    }

    fn pod(revision: &str, restarts: i32, waiting: Option<&str>) -> Pod {
        let state = match waiting {
            Some(reason) => json!({"waiting": {"reason": reason}}),
            None => json!({"running": {}}),
        };
        serde_json::from_value(json!({
            "metadata": {"name": "web-1", "labels": {"checklist.dev/revision": revision}},
            "status": {"containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": restarts, "state": state}]}
        }))
        .unwrap()
    }

    #[test]
    fn a_deployment_is_complete_when_every_replica_is_updated_and_available() {
        let complete = json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2});
        let observed = rollout(Some(&deployment("new", complete)), &[], 3);
        assert_eq!(observed.deployed.as_deref(), Some("new"));
        assert_eq!(observed.progress, RolloutProgress::Complete);

        for status in [
            json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}),
            json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}),
        ] {
            let observed = rollout(Some(&deployment("new", status.clone())), &[], 3);
            assert_eq!(observed.progress, RolloutProgress::Progressing, "{status}");
        }
        assert_eq!(rollout(None, &[], 3).deployed, None);
    }

    #[test]
    fn the_progress_deadline_is_read_from_the_progressing_condition() {
        let status = json!({"observedGeneration": 2, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"web-1\" has timed out progressing."}]});
        assert_eq!(
            rollout(Some(&deployment("new", status)), &[], 3).progress,
            RolloutProgress::DeadlineExceeded(
                "ReplicaSet \"web-1\" has timed out progressing.".into()
            )
        );
    }

    #[test]
    fn crash_loops_of_the_deployed_revision_fail_at_once() {
        let status = json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1});
        let restarts = rollout(
            Some(&deployment("new", status.clone())),
            &[pod("new", 4, None)],
            3,
        );
        assert_eq!(
            restarts.progress,
            RolloutProgress::CrashLoop(
                "pod web-1 container app restarted 4 times (more than 3)".into()
            )
        );
        let backoff = rollout(
            Some(&deployment("new", status.clone())),
            &[pod("new", 1, Some("CrashLoopBackOff"))],
            3,
        );
        assert_eq!(
            backoff.progress,
            RolloutProgress::CrashLoop("pod web-1 container app is in CrashLoopBackOff".into())
        );
        // At the limit is not over it, and the old revision's pods do not count.
        let at_limit = rollout(
            Some(&deployment("new", status.clone())),
            &[pod("new", 3, None)],
            3,
        );
        assert_eq!(at_limit.progress, RolloutProgress::Progressing);
        let old = rollout(
            Some(&deployment("new", status)),
            &[pod("old", 9, Some("CrashLoopBackOff"))],
            3,
        );
        assert_eq!(old.progress, RolloutProgress::Progressing);
    }
}
