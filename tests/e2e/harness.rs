//! What the lifecycle tests run: the operator as a process scoped to the test's namespace, the
//! local test app playing the app's HTTP side, and kubectl as the user types it.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Output, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use checklist_operator::api::{DeploymentChecklist, Phase};
use checklist_testapp::{Config, RunningApp};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::support::{kubectl, kubectl_stdin};

/// `checklist-operator run` watching one namespace, its JSON log lines kept for inspection.
pub struct Operator {
    namespace: String,
    extra_args: Vec<String>,
    child: Option<Child>,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Operator {
    /// Starts the operator for `namespace`, allowed to verify apps on loopback.
    pub fn start(namespace: &str) -> Self {
        Self::start_with(namespace, &[])
    }

    /// [`start`](Self::start) with more flags.
    pub fn start_with(namespace: &str, extra_args: &[&str]) -> Self {
        let mut operator = Self {
            namespace: namespace.to_owned(),
            extra_args: extra_args.iter().map(|a| (*a).to_owned()).collect(),
            child: None,
            logs: Arc::default(),
        };
        operator.restart();
        operator
    }

    /// Waits until a log line has `message`, or panics after `timeout` with the log.
    pub async fn wait_for_log(&self, message: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.logged(message) {
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "no {message:?} within {timeout:?}:\n{}",
                    self.logs().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether a log line has `message` as its message.
    pub fn logged(&self, message: &str) -> bool {
        self.logs().iter().any(|line| {
            serde_json::from_str::<Value>(line).is_ok_and(|event| event["message"] == message)
        })
    }

    /// Starts the process again (after [`kill`](Self::kill)); the logs accumulate.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the operator is already running");
        let mut child = Command::new(env!("CARGO_BIN_EXE_checklist-operator"))
            .args([
                "run",
                "--log-format",
                "json",
                "--egress-allow-loopback",
                "--namespace",
                &self.namespace,
                "--metrics-addr",
                "127.0.0.1:0",
            ])
            .args(&self.extra_args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start checklist-operator run");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::clone(&self.logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                logs.lock().unwrap().push(line);
            }
        });
        self.child = Some(child);
    }

    /// SIGKILL: the process gets no chance to clean up, as when its node dies.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Waits up to `timeout` for the process to exit on its own; its exit code, or None if it
    /// still runs.
    pub async fn exited(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = self.child.as_mut()?.try_wait().unwrap() {
                self.child = None;
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// The base URL of the metrics and health endpoints of the running process, from its log.
    pub async fn endpoints(&self) -> String {
        for _ in 0..100 {
            let addr = self.logs().iter().rev().find_map(|line| {
                let event: Value = serde_json::from_str(line).ok()?;
                (event["message"] == "serving /metrics, /healthz and /readyz")
                    .then(|| event["addr"].as_str().map(str::to_owned))?
            });
            if let Some(addr) = addr {
                return format!("http://{addr}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the operator never said where its endpoints are:\n{}",
            self.logs().join("\n")
        );
    }

    /// Every log line so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The test app on loopback: its main URL plays the app, its second listener the plain-HTTP
/// side that redirects to HTTPS.
pub async fn start_app() -> RunningApp {
    checklist_testapp::spawn(Config {
        http_listen: Some(([127, 0, 0, 1], 0).into()),
        ..Config::default()
    })
    .await
    .expect("start the test app")
}

/// A Secret for the checklists below: a 64-character SECRET_KEY_BASE and an ecto DATABASE_URL.
pub fn valid_secret() -> Value {
    secret(json!({
        "SECRET_KEY_BASE": "k".repeat(64),
        "DATABASE_URL": "ecto://app:pw@db.internal/web",
    }))
}

/// A Secret `web-env` holding `string_data`.
pub fn secret(string_data: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "web-env"},
        "stringData": string_data,
    })
}

/// A checklist `web` as a seed team writes it: a secret contract, a migration with a
/// down-migration, a rolling update, and the seed checks against the test app.
pub fn checklist(image: &str, app: &RunningApp) -> Value {
    json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {"name": "web"},
        "spec": {
            "app": {"image": image, "replicas": 2, "port": 8080},
            "secrets": [{
                "secretName": "web-env",
                "inject": true,
                "keys": [
                    {"name": "SECRET_KEY_BASE", "minLength": 64},
                    {"name": "DATABASE_URL", "pattern": "^ecto://"},
                ],
            }],
            "migration": {
                "command": ["/app/bin/migrate"],
                "timeoutSeconds": 120,
                "rollback": {"command": ["/app/bin/rollback"]},
            },
            "rollout": {"strategy": "RollingUpdate", "progressDeadlineSeconds": 600, "maxRestarts": 3},
            "verification": {
                "url": app.url(),
                "initialDelaySeconds": 0,
                "intervalSeconds": 1,
                "failureThreshold": 2,
                "timeoutSeconds": 3,
                "checks": [
                    {"name": "health", "http": {"path": "/health", "expectStatus": [200], "expectJSON": {"status": "ok"}}},
                    {"name": "deep-health", "http": {"path": "/health/deep", "expectStatus": [200], "expectJSON": {"status": "ok"}, "dependencies": "checks"}},
                    {"name": "https-redirect", "httpsRedirect": {"httpURL": app.http_url().unwrap()}},
                    {"name": "security-headers", "securityHeaders": {}},
                    {"name": "login-rate-limit", "rateLimit": {
                        "path": "/users/log_in", "method": "POST", "contentType": "application/json",
                        "body": "{\"user\":{\"email\":\"test@test.com\",\"password\":\"wrong\"}}",
                        "attempts": 10, "expectStatus": 429, "withinAttempts": 6,
                    }},
                ],
            },
            "rollback": {"automatic": true, "migration": "Run"},
        }
    })
}

/// `kubectl apply -n NS -f -` with the objects as YAML (JSON is YAML).
pub fn apply(namespace: &str, objects: &[&Value]) -> String {
    let mut input = String::new();
    for object in objects {
        input.push_str("---\n");
        input.push_str(&object.to_string());
        input.push('\n');
    }
    let output = kubectl_stdin(&["apply", "-n", namespace, "-f", "-"], &input);
    assert!(
        output.status.success(),
        "kubectl apply failed: {}",
        text(&output)
    );
    text(&output)
}

/// Runs kubectl with `args` in `namespace`; returns stdout and stderr, and whether it succeeded.
pub fn kubectl_in(namespace: &str, args: &[&str]) -> (bool, String) {
    let output = kubectl()
        .arg("-n")
        .arg(namespace)
        .args(args)
        .output()
        .unwrap();
    (output.status.success(), text(&output))
}

/// `kubectl wait dcl/web --for=FOR`, asserting it succeeds within `seconds`.
pub fn kubectl_wait(namespace: &str, condition: &str, seconds: u64) -> String {
    let (ok, out) = kubectl_in(
        namespace,
        &[
            "wait",
            "dcl/web",
            &format!("--for={condition}"),
            &format!("--timeout={seconds}s"),
        ],
    );
    if !ok {
        let (_, describe) = kubectl_in(namespace, &["describe", "dcl/web"]);
        panic!("kubectl wait --for={condition} failed: {out}\n{describe}");
    }
    out
}

/// `kubectl get dcl web`: the columns a user sees.
pub fn get_dcl(namespace: &str) -> String {
    let (ok, out) = kubectl_in(namespace, &["get", "dcl", "web"]);
    assert!(ok, "{out}");
    out
}

/// `kubectl describe dcl web`.
pub fn describe(namespace: &str) -> String {
    let (ok, out) = kubectl_in(namespace, &["describe", "dcl", "web"]);
    assert!(ok, "{out}");
    out
}

/// `kubectl describe dcl web`, printed, asserting it shows each of `lines`.
pub fn describe_shows(namespace: &str, lines: &[&str]) -> String {
    let described = describe(namespace);
    println!("{described}");
    for line in lines {
        assert!(
            described.contains(line),
            "{line:?} missing from:\n{described}"
        );
    }
    described
}

/// Polls the checklist until its phase is `phase`, or panics after `timeout` with describe.
pub async fn wait_phase(
    client: &Client,
    namespace: &str,
    phase: Phase,
    timeout: Duration,
) -> DeploymentChecklist {
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), namespace);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let checklist = api.get("web").await.unwrap();
        if checklist.status.as_ref().and_then(|s| s.phase) == Some(phase) {
            return checklist;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "phase {phase:?} not reached within {timeout:?}:\n{}",
                describe(namespace)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The image of the app container in the Deployment `web`.
pub fn deployed_image(namespace: &str) -> String {
    let (ok, out) = kubectl_in(
        namespace,
        &[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert!(ok, "{out}");
    out
}

/// The names of the Jobs in the namespace.
pub fn job_names(namespace: &str) -> Vec<String> {
    let (ok, out) = kubectl_in(namespace, &["get", "jobs", "-o", "name"]);
    assert!(ok, "{out}");
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_start_matches("job.batch/").to_owned())
        .collect()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
