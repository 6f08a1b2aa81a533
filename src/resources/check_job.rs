//! The Job of a job check: one per check and round of a revision's stage, named from both so a
//! restarted operator finds the Job of a round it had started instead of running it again.

use std::{collections::BTreeMap, time::Duration};

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, EnvVar, EnvVarSource, PodSpec, SecretKeySelector};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::{Resource, ResourceExt};
use sha2::{Digest, Sha256};

use super::labels::{self, Component};
use super::security;
use crate::api::{AppSpec, DeploymentChecklist, JobCheck};

/// The value of `checklist.dev/job` on a job check's Job.
pub const CHECK_JOB: &str = "check";
/// The name of the container in a job check's Job.
pub const CHECK_CONTAINER: &str = "check";
/// `checklist.dev/check`: the check a job check's Job runs.
pub const CHECK_LABEL: &str = "checklist.dev/check";
/// How long a finished Job is kept should the operator not delete it (it stopped mid-round).
const KEEP_FINISHED_SECONDS: i32 = 600;

/// One run of a job check: what its Job is built from.
#[derive(Debug, Clone, Copy)]
pub struct CheckRun<'a> {
    /// The check's name.
    pub check: &'a str,
    /// What to run.
    pub spec: &'a JobCheck,
    /// The URL the checks are sent to (CHECKLIST_URL).
    pub url: &'a str,
    /// The header that pins requests to the version under test, as "name: value"
    /// (CHECKLIST_HEADER), when a router has one.
    pub header: Option<&'a str>,
    /// Which round of the revision's stage this is: with the check's name, what makes the Job's
    /// name, so a restarted operator finds the Job of a round it had started instead of running
    /// it twice.
    pub round: u64,
    /// How long the Job may take, the round's budget included.
    pub time: Duration,
}

/// What every job check's Job of one checklist and revision stage shares.
#[derive(Debug, Clone)]
pub struct CheckJobs {
    checklist: String,
    namespace: String,
    owner: Option<OwnerReference>,
    /// `<hash>` or `<hash>@<stage>`.
    target: String,
    app: AppSpec,
}

impl CheckJobs {
    /// The Jobs of `checklist`'s checks for `target` (the revision and stage verified).
    pub fn of(checklist: &DeploymentChecklist, target: &str) -> Self {
        Self {
            checklist: checklist.name_any(),
            namespace: checklist.namespace().unwrap_or_default(),
            owner: checklist.controller_owner_ref(&()),
            target: target.to_string(),
            app: checklist.spec.app.clone(),
        }
    }

    /// The namespace the Jobs run in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `<name>-check-<10 hex of SHA-256 over the check, the stage and the round>`: at most
    /// 40 + 7 + 10 = 57 characters.
    pub fn name(&self, check: &str, round: u64) -> String {
        let digest = Sha256::digest(format!("{check}\n{}\n{round}", self.target));
        let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
        format!("{}-check-{hex}", self.checklist)
    }

    /// The Job of `request`: its command in its image (default the app's), CHECKLIST_URL and
    /// CHECKLIST_HEADER set, Secret values given by reference, the app's security context
    /// without a ServiceAccount token, stopped after the request's time, output kept as the
    /// termination message.
    pub fn job(&self, request: &CheckRun<'_>) -> Job {
        let revision = self.target.split('@').next().unwrap_or_default();
        let mut labels = labels::labels(&self.checklist, &self.app.image, Component::Check);
        labels.insert(labels::REVISION.into(), revision.into());
        labels.insert(labels::JOB.into(), CHECK_JOB.into());
        labels.insert(CHECK_LABEL.into(), request.check.into());
        let mut env = vec![
            plain("CHECKLIST_URL", request.url),
            plain("CHECKLIST_REVISION", revision),
        ];
        env.extend(request.header.map(|h| plain("CHECKLIST_HEADER", h)));
        env.extend(request.spec.env.iter().map(|var| EnvVar {
            name: var.name.clone(),
            value: var.value.clone(),
            value_from: var.value_from.as_ref().map(|source| EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    optional: Some(false),
                    ..source.secret_key_ref.clone()
                }),
                ..EnvVarSource::default()
            }),
        }));
        let container = Container {
            name: CHECK_CONTAINER.into(),
            image: Some(
                request
                    .spec
                    .image
                    .clone()
                    .unwrap_or_else(|| self.app.image.clone()),
            ),
            command: Some(request.spec.command.clone()),
            env: Some(env),
            resources: self.app.resources.clone(),
            security_context: Some(security::container_security_context(&self.app)),
            // The kubelet keeps the output's last 80 lines (2 KiB) as the termination message
            // when the script fails: no pods/log access needed to say why.
            termination_message_policy: Some("FallbackToLogsOnError".into()),
            ..Container::default()
        };
        let deadline = i64::try_from(request.time.as_secs())
            .unwrap_or(i64::MAX)
            .max(1);
        Job {
            metadata: ObjectMeta {
                name: Some(self.name(request.check, request.round)),
                namespace: Some(self.namespace.clone()),
                labels: Some(labels.clone()),
                annotations: Some(BTreeMap::from([(
                    "checklist.dev/verifies".to_string(),
                    self.target.clone(),
                )])),
                owner_references: self.owner.clone().map(|o| vec![o]),
                ..ObjectMeta::default()
            },
            spec: Some(JobSpec {
                ttl_seconds_after_finished: Some(KEEP_FINISHED_SECONDS),
                ..super::job::run_once(
                    labels,
                    container,
                    PodSpec {
                        // A script that calls the app over HTTP has no use for the API.
                        automount_service_account_token: Some(false),
                        ..super::pod::placed_pod(&self.app)
                    },
                    0,
                    deadline,
                )
            }),
            status: None,
        }
    }
}

fn plain(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::fixtures::dialectic;

    fn request<'a>(spec: &'a JobCheck, round: u64) -> CheckRun<'a> {
        CheckRun {
            check: "signup-flow",
            spec,
            url: "http://dialectic-canary.prod.svc:4000/",
            header: Some("x-checklist-revision: bbbbbbbbbb"),
            round,
            time: Duration::from_secs(55),
        }
    }

    #[test]
    fn a_job_check_runs_restricted_with_the_url_and_secrets_by_reference() {
        let spec: JobCheck = serde_json::from_value(serde_json::json!({
            "command": ["/app/bin/functional-test"],
            "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "ft", "key": "password"}}}]
        }))
        .unwrap();
        let jobs = CheckJobs::of(&dialectic(), "bbbbbbbbbb@step1");
        let job = jobs.job(&request(&spec, 3));
        let name = job.metadata.name.clone().unwrap();
        assert!(
            name.starts_with("dialectic-check-") && name.len() == 26,
            "{name}"
        );
        assert_eq!(name, jobs.name("signup-flow", 3));
        assert_ne!(name, jobs.name("signup-flow", 4), "each round its own Job");
        let job_spec = job.spec.unwrap();
        assert_eq!(job_spec.active_deadline_seconds, Some(55));
        assert_eq!(job_spec.backoff_limit, Some(0));
        let pod = job_spec.template.spec.unwrap();
        assert_eq!(pod.automount_service_account_token, Some(false));
        assert_eq!(pod.security_context.unwrap().run_as_non_root, Some(true));
        let container = &pod.containers[0];
        assert_eq!(
            container.image.as_deref(),
            Some(dialectic().spec.app.image.as_str())
        );
        assert_eq!(
            container.termination_message_policy.as_deref(),
            Some("FallbackToLogsOnError")
        );
        let env: Vec<(&str, Option<&str>)> = container
            .env
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_deref()))
            .collect();
        assert_eq!(
            env,
            [
                (
                    "CHECKLIST_URL",
                    Some("http://dialectic-canary.prod.svc:4000/")
                ),
                ("CHECKLIST_REVISION", Some("bbbbbbbbbb")),
                ("CHECKLIST_HEADER", Some("x-checklist-revision: bbbbbbbbbb")),
                ("PASSWORD", None),
            ]
        );
        let labels = job.metadata.labels.unwrap();
        assert_eq!(labels[labels::JOB], "check");
        assert_eq!(labels[labels::REVISION], "bbbbbbbbbb");
        assert_eq!(labels[labels::COMPONENT], "check");
    }
}
