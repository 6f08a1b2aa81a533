//! What the suites apply and run against: the test app on loopback, the seed example's checks,
//! and the checklist `web` and its Secret as a seed team writes them.

use std::path::{Path, PathBuf};

use checklist_operator::{api::CheckSpec, verify::cli};
use checklist_testapp::{Config, RunningApp};
use serde_json::{Value, json};

/// The repository's root, where `examples/` and `crds/` are.
///
/// Cargo names the root package's folder when it runs a test or a bench, and that is asked
/// first: a path baked in at build time goes stale when a clone elsewhere shares the target
/// directory, because cargo does not rebuild a workspace member that only moved.
pub fn repository() -> PathBuf {
    if let Some(root) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from)
        && root.join("crds").is_dir()
    {
        return root;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the test kit lives one folder below the repository's root")
        .to_path_buf()
}

/// A file of `examples/`.
pub fn example(file: &str) -> PathBuf {
    repository().join("examples").join(file)
}

/// The HTTP checks of the Dialectic example (examples/dialectic.yaml), with its redirect check
/// pointed at the app's plain-HTTP listener `http_url`. Its job check is left out: the engine
/// alone (with no cluster to run a Job in) skips it; tests/e2e/job_checks.rs runs one.
pub fn seed_checks(http_url: &str) -> Vec<CheckSpec> {
    let mut checks = cli::load(&example("dialectic.yaml"), None, &[])
        .unwrap()
        .spec
        .verification
        .checks;
    checks.retain(|c| c.job.is_none());
    cli::point_redirect_checks_at(&mut checks, &format!("{http_url}/"));
    checks
}

/// A plain reqwest client configured as the verification engine configures its own (no
/// redirects followed, no proxy), with nothing around it: the baseline the benchmarks set the
/// engine's figures beside.
pub fn raw_client() -> reqwest::Client {
    // reqwest is built without a crypto provider; installing ring is idempotent.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// Sends `request` and reads its answer whole: the baseline round trip the benchmarks set the
/// engine's figures beside.
pub async fn fetch_whole(request: reqwest::RequestBuilder) -> bytes::Bytes {
    request.send().await.unwrap().bytes().await.unwrap()
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

/// The Secret `web-env` the checklist `web` reads: a 64-character SECRET_KEY_BASE and an ecto
/// DATABASE_URL.
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

/// Server-side apply of the checklist `value` (named in its metadata) as the benchmarks' field
/// manager, forcing conflicts.
pub async fn apply_checklist(
    api: &kube::Api<checklist_operator::api::DeploymentChecklist>,
    value: &serde_json::Value,
) {
    let name = value["metadata"]["name"].as_str().expect("metadata.name");
    api.patch(
        name,
        &kube::api::PatchParams::apply("checklist-bench").force(),
        &kube::api::Patch::Apply(value),
    )
    .await
    .unwrap_or_else(|e| panic!("cannot apply checklist {name}: {e}"));
}
