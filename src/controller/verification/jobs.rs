//! Job checks' Jobs, run by the verification tasks with the operator's client: created (or, for
//! a round a restarted operator had started, found), waited for within the round's time, read
//! back from the pod's termination state, and deleted.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use k8s_openapi::api::{batch::v1::Job, core::v1::Pod};
use kube::{
    Api, Client,
    api::{DeleteParams, ListParams, PostParams, PropagationPolicy},
};

use crate::{
    resources::CheckJobs,
    verify::jobs::{JobEnd, JobRequest, JobRunner},
};

/// How often a running Job is looked at: a check's Job lasts seconds to a minute, so a few
/// dozen GETs at most.
const POLL: Duration = Duration::from_secs(1);

/// Runs one checklist stage's job checks in its namespace.
#[derive(Clone)]
pub(crate) struct KubeJobs {
    client: Client,
    jobs: CheckJobs,
}

impl std::fmt::Debug for KubeJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeJobs")
            .field("jobs", &self.jobs)
            .finish()
    }
}

impl KubeJobs {
    /// Runs the Jobs of `jobs` through `client`.
    pub(crate) fn new(client: Client, jobs: CheckJobs) -> Self {
        Self { client, jobs }
    }

    async fn run_job(&self, request: JobRequest<'_>) -> Result<JobEnd, String> {
        let api: Api<Job> = Api::namespaced(self.client.clone(), self.jobs.namespace());
        // The check must end (and clean up) before the engine's own limit for it cuts it off.
        let time = request
            .time
            .saturating_sub(Duration::from_secs(2))
            .max(Duration::from_secs(1));
        let job = self.jobs.job(&JobRequest { time, ..request });
        let name = job.metadata.name.clone().unwrap_or_default();
        match api.create(&PostParams::default(), &job).await {
            Ok(_) => {}
            // A Job of this round already: started by this operator before it restarted.
            Err(kube::Error::Api(status)) if status.code == 409 => {
                tracing::info!(job = %name, "job check: found the Job of this round, waiting for it");
            }
            Err(error) => return Err(format!("the Job {name} was not created: {error}")),
        }
        let deadline = Instant::now() + time;
        let finished = loop {
            match api.get_opt(&name).await {
                Ok(Some(job)) if ended(&job).is_some() => break ended(&job),
                Ok(None) => return Err(format!("the Job {name} was deleted before it ended")),
                Ok(Some(_)) | Err(_) if Instant::now() >= deadline => break None,
                Ok(Some(_)) | Err(_) => tokio::time::sleep(POLL).await,
            }
        };
        let end = match finished {
            Some((succeeded, reason)) => {
                let (exit_code, output) = self.termination(&name).await;
                JobEnd {
                    succeeded,
                    exit_code,
                    output,
                    reason: (!succeeded && exit_code.is_none()).then_some(reason),
                }
            }
            None => JobEnd {
                succeeded: false,
                exit_code: None,
                output: String::new(),
                reason: Some(format!(
                    "the Job did not finish within {} s",
                    time.as_secs()
                )),
            },
        };
        // Cleaned up either way; the Job's TTL removes it should this delete not happen.
        let delete = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        if let Err(error) = api.delete(&name, &delete).await {
            tracing::warn!(job = %name, %error, "job check: the finished Job was not deleted");
        }
        Ok(end)
    }

    /// The check container's exit code and termination message (its last lines of output).
    async fn termination(&self, job: &str) -> (Option<i32>, String) {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), self.jobs.namespace());
        let listed = pods
            .list(&ListParams::default().labels(&format!("job-name={job}")))
            .await;
        let terminated = listed.ok().and_then(|list| {
            list.items.into_iter().find_map(|pod| {
                pod.status?
                    .container_statuses?
                    .into_iter()
                    .find(|c| c.name == crate::resources::CHECK_CONTAINER)?
                    .state?
                    .terminated
            })
        });
        match terminated {
            Some(t) => (Some(t.exit_code), t.message.unwrap_or_default()),
            None => (None, String::new()),
        }
    }
}

/// Whether `job` ended, and how: (succeeded, the reason of its Failed condition).
fn ended(job: &Job) -> Option<(bool, String)> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .filter(|c| c.status == "True")
        .find_map(|c| match c.type_.as_str() {
            "Complete" => Some((true, String::new())),
            "Failed" => Some((
                false,
                match (&c.reason, &c.message) {
                    (Some(reason), Some(message)) => format!("{reason}: {message}"),
                    (Some(reason), None) => reason.clone(),
                    (None, _) => "failed".into(),
                },
            )),
            _ => None,
        })
}

impl JobRunner for KubeJobs {
    fn run<'a>(&'a self, request: JobRequest<'a>) -> BoxFuture<'a, Result<JobEnd, String>> {
        Box::pin(self.run_job(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(conditions: serde_json::Value) -> Job {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-check-0123456789"},
            "status": {"conditions": conditions}
        }))
        .unwrap()
    }

    #[test]
    fn a_job_has_ended_when_complete_or_failed() {
        assert_eq!(ended(&job(serde_json::json!([]))), None);
        assert_eq!(
            ended(&job(
                serde_json::json!([{"type": "Complete", "status": "True"}])
            )),
            Some((true, String::new()))
        );
        assert_eq!(
            ended(&job(serde_json::json!([
                {"type": "FailureTarget", "status": "True"},
                {"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}
            ]))),
            Some((
                false,
                "DeadlineExceeded: Job was active longer than specified deadline".into()
            ))
        );
        assert_eq!(
            ended(&job(
                serde_json::json!([{"type": "Failed", "status": "False"}])
            )),
            None
        );
    }
}
