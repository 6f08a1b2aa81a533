//! A local runner for pods kwok cannot run: a pod whose image is tagged `*-local-run` is held
//! Running by the kwok stage `dev/stages/local-run.yaml`; this runner runs its container's
//! command on this machine (the program looked up beside the operator's binary, then on PATH),
//! with the container's env (Secret references read from the API), and writes how it exited
//! into the pod's status as a kubelet would: exit code, and on failure the output's last 80
//! lines (at most 2 KiB) as the termination message (FallbackToLogsOnError). That is how a job
//! check's script really runs against the test app in the end-to-end tests.

use std::{collections::BTreeSet, path::PathBuf, process::Stdio, time::Duration};

use k8s_openapi::api::core::v1::{Container, Pod, Secret};
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, Patch, PatchParams},
};
use serde_json::json;

/// How long a local run may take before it is stopped (exit 137, as a kill would).
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Runs the namespace's `*-local-run` pods until dropped.
pub struct LocalRunner {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalRunner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LocalRunner {
    /// Starts running `namespace`'s local-run pods.
    pub fn start(client: Client, namespace: &str) -> Self {
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let secrets: Api<Secret> = Api::namespaced(client, namespace);
        let task = tokio::spawn(async move {
            let mut taken = BTreeSet::new();
            // Bounded by the test: the runner lives as long as its test holds it.
            loop {
                if let Ok(list) = pods.list(&ListParams::default()).await {
                    for pod in list.items {
                        if local_run(&pod) && taken.insert(pod.name_any()) {
                            let (pods, secrets) = (pods.clone(), secrets.clone());
                            tokio::spawn(async move { run(&pods, &secrets, pod).await });
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
        Self { task }
    }
}

/// Whether `pod` is a Running pod of a `*-local-run` image.
fn local_run(pod: &Pod) -> bool {
    let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
    let image = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.as_deref())
        .is_some_and(|i| i.ends_with("-local-run"));
    running && image && pod.metadata.deletion_timestamp.is_none()
}

/// Runs the pod's first container and writes its end into the pod's status.
async fn run(pods: &Api<Pod>, secrets: &Api<Secret>, pod: Pod) {
    let Some(container) = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .cloned()
    else {
        return;
    };
    let started = k8s_openapi::jiff::Timestamp::now().to_string();
    let (code, output) = execute(&container, secrets).await;
    let message = if code == 0 {
        String::new()
    } else {
        tail(&output)
    };
    let status = json!({"status": {
        "phase": if code == 0 { "Succeeded" } else { "Failed" },
        "containerStatuses": [{
            "name": container.name,
            "image": container.image,
            "imageID": "",
            "ready": false,
            "started": false,
            "restartCount": 0,
            "state": {"terminated": {
                "exitCode": code,
                "reason": if code == 0 { "Completed" } else { "Error" },
                "message": message,
                "startedAt": started,
                "finishedAt": k8s_openapi::jiff::Timestamp::now().to_string(),
            }},
        }],
    }});
    if let Err(error) = pods
        .patch_status(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&status),
        )
        .await
    {
        eprintln!(
            "local-run: cannot write the status of pod {}: {error}",
            pod.name_any()
        );
    }
}

/// Runs `container`'s command here: its exit code (137 when stopped) and output.
async fn execute(container: &Container, secrets: &Api<Secret>) -> (i32, String) {
    let Some((program, args)) = container.command.as_deref().and_then(|c| c.split_first()) else {
        return (1, "local-run: the container has no command".into());
    };
    let mut command = tokio::process::Command::new(program_path(program));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(value), _) => Some(value.clone()),
            (None, Some(from)) => match &from.secret_key_ref {
                Some(key) => secret_value(secrets, &key.name, &key.key).await,
                None => None,
            },
            (None, None) => None,
        };
        if let Some(value) = value {
            command.env(&var.name, value);
        }
    }
    match tokio::time::timeout(RUN_LIMIT, command.output()).await {
        Ok(Ok(out)) => {
            let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
            output.push_str(&String::from_utf8_lossy(&out.stderr));
            (out.status.code().unwrap_or(1), output)
        }
        Ok(Err(error)) => (127, format!("local-run: cannot run {program}: {error}")),
        Err(_) => (137, "local-run: stopped after 60 s".into()),
    }
}

/// `program` beside the operator's binary (the workspace's own, such as checklist-flow), else
/// as given (found on PATH).
fn program_path(program: &str) -> PathBuf {
    let beside = crate::operator::operator_binary()
        .parent()
        .map(|dir| dir.join(program));
    match beside {
        Some(path) if !program.contains('/') && path.is_file() => path,
        _ => PathBuf::from(program),
    }
}

async fn secret_value(secrets: &Api<Secret>, name: &str, key: &str) -> Option<String> {
    let secret = secrets.get_opt(name).await.ok()??;
    let bytes = secret.data?.get(key)?.0.clone();
    String::from_utf8(bytes).ok()
}

/// The kubelet's termination message from logs: the last 80 lines, at most 2048 bytes.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let kept = lines[lines.len().saturating_sub(80)..].join("\n");
    let mut start = kept.len().saturating_sub(2048);
    while !kept.is_char_boundary(start) {
        start += 1;
    }
    kept[start..].to_string()
}
