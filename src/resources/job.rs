//! The Jobs a revision runs: the up-migration before its rollout, the down-migration a rollback
//! runs to undo it, and the hooks of spec.hooks around the release.
//!
//! A Job is named after its revision, so a reconcile that finds the Job already there (running or
//! finished) reuses it as the answer instead of running the migration twice. No
//! ttlSecondsAfterFinished: the finished Job is the record that the revision's migration ran,
//! which a later rollback needs to decide whether a down-migration is due. Old Jobs go with the
//! checklist through their owner reference.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use super::env::{env, env_from, non_empty};
use super::labels::{self, Component};
use super::meta;
use super::pod;
use super::security;
use crate::api::{DeploymentChecklist, DeploymentChecklistSpec, HookName};

/// The value of the `checklist.dev/job` label on the up-migration Job.
pub const MIGRATE_JOB: &str = "migrate";
/// The value of the `checklist.dev/job` label on the down-migration Job.
pub const ROLLBACK_JOB: &str = "rollback";
/// The name of the container in both Jobs.
pub const MIGRATION_CONTAINER: &str = "migrate";

/// `<name>-migrate-<revision>`: at most 40 + 9 + 10 = 59 characters, within a label value, which
/// the Job controller copies the name into.
pub fn migration_job_name(checklist_name: &str, revision: &str) -> String {
    format!("{checklist_name}-{MIGRATE_JOB}-{revision}")
}

/// `<name>-rollback-<failed revision>`: at most 40 + 10 + 10 = 60 characters.
pub fn rollback_migration_job_name(checklist_name: &str, failed_revision: &str) -> String {
    format!("{checklist_name}-{ROLLBACK_JOB}-{failed_revision}")
}

/// `<name>-pre-<revision>` or `<name>-post-<revision>`: at most 40 + 6 + 10 = 56 characters.
pub fn hook_job_name(checklist_name: &str, hook: HookName, revision: &str) -> String {
    format!("{checklist_name}-{}-{revision}", hook.job_word())
}

/// The Job of hook `hook` for `revision`, or None when the spec does not set that hook. It runs
/// the hook's image (default: the app image) with the app's env and injected secrets, under the
/// app's security context, and gives up after the hook's timeoutSeconds.
pub fn hook_job(
    checklist: &DeploymentChecklist,
    spec: &DeploymentChecklistSpec,
    hook: HookName,
    revision: &str,
) -> Option<Job> {
    let job_spec = spec.hooks.as_ref()?.job(hook)?;
    Some(job(
        checklist,
        spec,
        JobRun {
            name: hook_job_name(&checklist.name_any(), hook, revision),
            revision,
            kind: hook.job_word(),
            command: &job_spec.command,
            image: job_spec.image.as_ref().unwrap_or(&spec.app.image),
            timeout_seconds: job_spec.timeout_seconds,
            backoff_limit: job_spec.backoff_limit,
        },
    ))
}

/// The Job that runs spec.migration for `revision` before its rollout, or None when the spec
/// has no migration.
///
/// It runs spec.migration.image (default: the app image, so a release migrates its own schema)
/// with the app's env, PORT and injected secrets, gives up after timeoutSeconds and retries
/// backoffLimit times.
pub fn migration_job(
    checklist: &DeploymentChecklist,
    spec: &DeploymentChecklistSpec,
    revision: &str,
) -> Option<Job> {
    let migration = spec.migration.as_ref()?;
    let name = migration_job_name(&checklist.name_any(), revision);
    Some(job(
        checklist,
        spec,
        JobRun {
            name,
            revision,
            kind: MIGRATE_JOB,
            command: &migration.command,
            image: migration.image.as_ref().unwrap_or(&spec.app.image),
            timeout_seconds: migration.timeout_seconds,
            backoff_limit: migration.backoff_limit,
        },
    ))
}

/// The Job that undoes the failed revision's migration with migration.rollback.command, or None
/// when that spec has no down-migration. Whether to run it (rollback.migration: Run, and only if
/// the failed revision's migration ran) is the plan's decision, not this builder's.
///
/// It runs the FAILED revision's image, not the stable one: a down-migration is code shipped with
/// the migration it reverses (Ecto, Rails and Django all look the migration up by version in the
/// release), so only the new image knows how to undo what the new image did. The stable image
/// has never heard of that migration.
pub fn rollback_migration_job(
    checklist: &DeploymentChecklist,
    failed_spec: &DeploymentChecklistSpec,
    failed_revision: &str,
) -> Option<Job> {
    let migration = failed_spec.migration.as_ref()?;
    let rollback = migration.rollback.as_ref()?;
    let name = rollback_migration_job_name(&checklist.name_any(), failed_revision);
    Some(job(
        checklist,
        failed_spec,
        JobRun {
            name,
            revision: failed_revision,
            kind: ROLLBACK_JOB,
            command: &rollback.command,
            image: migration.image.as_ref().unwrap_or(&failed_spec.app.image),
            timeout_seconds: migration.timeout_seconds,
            backoff_limit: migration.backoff_limit,
        },
    ))
}

/// What differs between the Jobs.
struct JobRun<'a> {
    name: String,
    revision: &'a str,
    kind: &'a str,
    command: &'a [String],
    image: &'a String,
    timeout_seconds: i32,
    backoff_limit: i32,
}

/// A run-once Job of `run.command` in `run.image`, with the app's environment.
fn job(checklist: &DeploymentChecklist, spec: &DeploymentChecklistSpec, run: JobRun<'_>) -> Job {
    let labels = job_labels(&checklist.name_any(), spec, run.revision, run.kind);
    let container = Container {
        name: MIGRATION_CONTAINER.into(),
        image: Some(run.image.clone()),
        command: Some(run.command.to_vec()),
        env: Some(env(spec)),
        env_from: env_from(spec),
        // The same code as the app boots here, with the same memory needs; namespaces with a
        // ResourceQuota also refuse a pod without requests.
        resources: spec.app.resources.clone(),
        volume_mounts: non_empty(&spec.app.volume_mounts),
        security_context: Some(security::container_security_context(&spec.app)),
        ..Container::default()
    };
    Job {
        metadata: meta::owned(checklist, run.name, labels.clone(), None),
        spec: Some(run_once(
            labels,
            container,
            pod::job_pod(&spec.app),
            run.backoff_limit,
            i64::from(run.timeout_seconds),
        )),
        status: None,
    }
}

/// A Job spec running `container` once (restartPolicy Never) in `pod`, its pods labelled
/// `labels`, retried `backoff_limit` times and stopped after `deadline` seconds.
pub(super) fn run_once(
    labels: BTreeMap<String, String>,
    container: Container,
    pod: PodSpec,
    backoff_limit: i32,
    deadline: i64,
) -> JobSpec {
    JobSpec {
        backoff_limit: Some(backoff_limit),
        active_deadline_seconds: Some(deadline),
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                containers: vec![container],
                restart_policy: Some("Never".into()),
                ..pod
            }),
        },
        ..JobSpec::default()
    }
}

/// The migration labels with the revision and which Job it is. Component `migration` keeps the
/// Job's pods out of the app's selector.
fn job_labels(
    checklist_name: &str,
    spec: &DeploymentChecklistSpec,
    revision: &str,
    kind: &str,
) -> BTreeMap<String, String> {
    let mut labels = labels::labels(checklist_name, &spec.app.image, Component::Migration);
    labels.insert(labels::REVISION.to_owned(), revision.to_owned());
    labels.insert(labels::JOB.to_owned(), kind.to_owned());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::crd::MAX_NAME_LENGTH;
    use crate::resources::fixtures::{NAMESPACE, UID, dialectic, example};

    const REVISION: &str = "0123456789";

    fn pod(job: &Job) -> &PodSpec {
        job.spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .expect("a pod spec")
    }

    fn label<'a>(job: &'a Job, key: &str) -> Option<&'a str> {
        job.metadata.labels.as_ref()?.get(key).map(String::as_str)
    }

    #[test]
    fn migration_job_runs_the_migration_with_the_app_image_env_and_secrets() {
        let checklist = dialectic();
        let job = migration_job(&checklist, &checklist.spec, REVISION).expect("a migration");
        assert_eq!(
            job.metadata.name.as_deref(),
            Some("dialectic-migrate-0123456789")
        );
        assert_eq!(job.metadata.namespace.as_deref(), Some(NAMESPACE));
        let pod = pod(&job);
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        let c = &pod.containers[0];
        assert_eq!(c.image.as_deref(), Some("ghcr.io/acme/dialectic:1.4.2"));
        assert_eq!(c.command, Some(vec!["/app/bin/migrate".to_owned()]));
        let env = c.env.as_ref().expect("env");
        assert_eq!(env[0].name, "PHX_HOST");
        assert!(
            env.iter()
                .any(|e| e.name == "PORT" && e.value.as_deref() == Some("8080"))
        );
        let secret = c.env_from.as_ref().and_then(|e| e[0].secret_ref.as_ref());
        assert_eq!(secret.map(|s| s.name.as_str()), Some("dialectic-env"));
    }

    #[test]
    fn migration_job_stops_at_the_timeout_and_is_kept_when_finished() {
        let checklist = dialectic();
        let job = migration_job(&checklist, &checklist.spec, REVISION).expect("a migration");
        let spec = job.spec.as_ref().expect("a job spec");
        assert_eq!(spec.backoff_limit, Some(0));
        assert_eq!(spec.active_deadline_seconds, Some(600));
        assert_eq!(spec.ttl_seconds_after_finished, None);
    }

    #[test]
    fn migration_job_is_labelled_with_its_revision_and_kept_out_of_the_app_selector() {
        let checklist = dialectic();
        let job = migration_job(&checklist, &checklist.spec, REVISION).expect("a migration");
        assert_eq!(label(&job, labels::REVISION), Some(REVISION));
        assert_eq!(label(&job, labels::JOB), Some("migrate"));
        assert_eq!(label(&job, labels::COMPONENT), Some("migration"));
        assert_eq!(label(&job, labels::CHECKLIST), Some("dialectic"));
        assert_eq!(label(&job, labels::VERSION), Some("1.4.2"));
        let pod_labels = job
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .expect("pod labels");
        assert_eq!(Some(&pod_labels), job.metadata.labels.as_ref());
        let selector = labels::selector_labels("dialectic");
        assert!(!selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
    }

    #[test]
    fn migration_job_is_controlled_by_the_checklist() {
        let checklist = dialectic();
        let job = migration_job(&checklist, &checklist.spec, REVISION).expect("a migration");
        let owner = &job.metadata.owner_references.expect("owner references")[0];
        assert_eq!(
            (owner.name.as_str(), owner.uid.as_str()),
            ("dialectic", UID)
        );
        assert_eq!(owner.controller, Some(true));
        assert_eq!(owner.block_owner_deletion, Some(true));
    }

    #[test]
    fn migration_job_uses_the_migration_image_when_one_is_set() {
        let checklist = dialectic();
        let mut spec = checklist.spec.clone();
        if let Some(m) = spec.migration.as_mut() {
            m.image = Some("ghcr.io/acme/dialectic-migrations:7".into());
        }
        let job = migration_job(&checklist, &spec, REVISION).expect("a migration");
        assert_eq!(
            pod(&job).containers[0].image.as_deref(),
            Some("ghcr.io/acme/dialectic-migrations:7")
        );
    }

    #[test]
    fn no_migration_no_job() {
        let vel = example("vel-tutor.yaml");
        assert!(migration_job(&vel, &vel.spec, REVISION).is_none());
        assert!(rollback_migration_job(&vel, &vel.spec, REVISION).is_none());
    }

    #[test]
    fn rollback_job_runs_the_down_migration_with_the_failed_revision_image() {
        let checklist = dialectic();
        let mut failed = checklist.spec.clone();
        failed.app.image = "ghcr.io/acme/dialectic:1.5.0".into();
        let job = rollback_migration_job(&checklist, &failed, "fa11edfa11").expect("a rollback");
        assert_eq!(
            job.metadata.name.as_deref(),
            Some("dialectic-rollback-fa11edfa11")
        );
        let c = &pod(&job).containers[0];
        assert_eq!(c.image.as_deref(), Some("ghcr.io/acme/dialectic:1.5.0"));
        assert_eq!(
            c.command
                .as_deref()
                .and_then(<[String]>::last)
                .map(String::as_str),
            Some("Dialectic.Release.rollback(Dialectic.Repo, 20260106112233)")
        );
        assert_eq!(label(&job, labels::JOB), Some("rollback"));
        assert_eq!(label(&job, labels::REVISION), Some("fa11edfa11"));
        assert_eq!(pod(&job).restart_policy.as_deref(), Some("Never"));
    }

    #[test]
    fn no_down_migration_no_rollback_job() {
        let checklist = dialectic();
        let mut spec = checklist.spec.clone();
        if let Some(m) = spec.migration.as_mut() {
            m.rollback = None;
        }
        assert!(rollback_migration_job(&checklist, &spec, REVISION).is_none());
    }

    #[test]
    fn job_names_of_the_longest_checklist_name_fit_a_label_value() {
        let name = "a".repeat(MAX_NAME_LENGTH);
        let revision = crate::resources::revision_hash(&dialectic().spec);
        assert!(migration_job_name(&name, &revision).len() <= 63);
        assert!(rollback_migration_job_name(&name, &revision).len() <= 63);
        let mut checklist = dialectic();
        checklist.metadata.name = Some(name);
        let job = migration_job(&checklist, &checklist.spec, &revision).expect("a migration");
        let labels = job.metadata.labels.expect("labels");
        assert!(labels.values().all(|v| v.len() <= 63), "{labels:?}");
    }
}
