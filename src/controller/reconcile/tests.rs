#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One real reconcile against a mocked API server (tower-test): the tier between the pure plan
//! tests and the end-to-end suite. Each test serves the requests the reconcile should make, in
//! order, checks method, path, query and body, answers the way the API server would, and fails
//! on any request it did not expect.
//!
//! Secret values never appear in an assertion message: bodies are checked field by field, and the
//! leak check names the key, never the value.

use std::{collections::BTreeMap, future::Future, sync::Arc, time::Duration};

use super::{Context, Guarded, error_policy, reconcile};
use crate::{
    ReconcileError,
    api::DeploymentChecklist,
    controller::verification::Verifier,
    error::Retry,
    resources::{migration_job_name, revision_hash, rollback_migration_job_name},
    verify::guard::EgressPolicy,
};
use http::{Method, Request, Response, StatusCode, header::CONTENT_TYPE};
use k8s_openapi::{
    ByteString, api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{
    client::Body,
    runtime::{controller::Action, events::Reporter},
};
use serde_json::{Value, json};
use tokio::time::timeout;
use tower_test::mock::{self, Handle, SendResponse};

const NAMESPACE: &str = "prod";
const NAME: &str = "dialectic";
const UID: &str = "0b6f9a7e-3c1d-4f2a-8e5b-9d7c6a1f2e30";
const SECRET: &str = "dialectic-env";
const IMAGE: &str = "ghcr.io/acme/dialectic:1.4.2";
const FIELD_MANAGER: &str = "checklist-operator";
const CHECKLISTS: &str = "/apis/checklist.dev/v1alpha1/namespaces/prod/deploymentchecklists";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/prod/events";
const JOBS: &str = "/apis/batch/v1/namespaces/prod/jobs";

/// How long one expected request may take to arrive.
const STEP: Duration = Duration::from_secs(5);
/// How long the whole reconcile may take.
const RECONCILE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Fixtures

/// examples/dialectic.yaml as the API server returns a checklist just created: uid, namespace,
/// generation 1, no status. Both as JSON (what the watch delivers) and typed (for the hash).
/// Without its backup hook and its job check: the reads these tests serve are the migration's
/// (a hook's Job and a job check's Secret are one GET each, shown end to end in hooks.rs and
/// job_checks.rs).
fn new_checklist() -> (Value, DeploymentChecklist) {
    let path = format!("{}/examples/dialectic.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("examples/dialectic.yaml");
    let mut value: Value = serde_norway::from_str(&text).expect("a YAML checklist");
    if let Some(spec) = value["spec"].as_object_mut() {
        spec.remove("hooks");
    }
    if let Some(checks) = value["spec"]["verification"]["checks"].as_array_mut() {
        checks.retain(|c| c.get("job").is_none());
    }
    let metadata = value["metadata"].as_object_mut().expect("metadata");
    metadata.insert("namespace".into(), json!(NAMESPACE));
    metadata.insert("uid".into(), json!(UID));
    metadata.insert("generation".into(), json!(1));
    metadata.insert("resourceVersion".into(), json!("4711"));
    metadata.insert("creationTimestamp".into(), json!("2026-01-06T11:22:33Z"));
    let typed: DeploymentChecklist = serde_json::from_value(value.clone()).expect("a checklist");
    assert!(typed.status.is_none());
    (value, typed)
}

/// The watched object the controller hands to reconcile: parsed behind the DeserializeGuard.
fn guarded(value: &Value) -> Guarded {
    serde_json::from_value(value.clone()).expect("a DeserializeGuard always deserializes")
}

/// examples/dialectic-secret.yaml as the API server stores it (stringData folded into base64
/// data), and its values, for the leak check.
fn stored_secret() -> (Value, BTreeMap<String, String>) {
    let path = format!(
        "{}/examples/dialectic-secret.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("examples/dialectic-secret.yaml");
    let manifest: Secret = serde_norway::from_str(&text).expect("a YAML Secret");
    let values = manifest.string_data.clone().expect("stringData");
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(SECRET.into()),
            namespace: Some(NAMESPACE.into()),
            uid: Some("5c1e2d3f-4a5b-4c6d-8e7f-901a2b3c4d5e".into()),
            resource_version: Some("4702".into()),
            ..ObjectMeta::default()
        },
        data: Some(
            values
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
                .collect(),
        ),
        type_: Some("Opaque".into()),
        ..Secret::default()
    };
    let mut value = serde_json::to_value(&secret).expect("a Secret serializes");
    value["apiVersion"] = json!("v1");
    value["kind"] = json!("Secret");
    (value, values)
}

/// The NotFound Status the API server answers a GET of an absent object with.
fn not_found(group: &str, resource: &str, name: &str) -> Value {
    let qualified = if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    };
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("{qualified} \"{name}\" not found"),
        "reason": "NotFound",
        "details": {"name": name, "group": group, "kind": resource},
        "code": 404
    })
}

/// The Status the API server answers a refused request with.
fn refused(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": {"group": "batch", "kind": "jobs"},
        "code": code
    })
}

/// What the API server returns for a created object: the object with the fields it sets.
fn created(mut body: Value, uid: &str, resource_version: &str) -> Value {
    let metadata = body["metadata"].as_object_mut().expect("metadata");
    metadata.insert("uid".into(), json!(uid));
    metadata.insert("resourceVersion".into(), json!(resource_version));
    metadata.insert("creationTimestamp".into(), json!("2026-01-06T11:22:34Z"));
    body
}

// ---------------------------------------------------------------------------------------------
// The mocked API server

/// One request the reconcile made, with the means to answer it.
struct Exchange {
    /// Its position in the sequence, from 1.
    number: usize,
    /// `METHOD path`, for messages.
    line: String,
    query: BTreeMap<String, String>,
    content_type: Option<String>,
    /// The Accept header: what representation the client asked for.
    accept: Option<String>,
    /// The JSON body, or Null when there is none.
    body: Value,
    respond: SendResponse<Response<Body>>,
}

impl Exchange {
    fn reply(self, status: StatusCode, body: &Value) {
        let response = Response::builder()
            .status(status)
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(body).expect("JSON")))
            .expect("a response");
        self.respond.send_response(response);
    }

    /// Asserts the query is exactly `expected` (order aside).
    fn assert_query(&self, expected: &[(&str, &str)]) {
        let expected: BTreeMap<String, String> = expected
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        assert_eq!(
            self.query, expected,
            "request #{} ({}): query parameters",
            self.number, self.line
        );
    }

    fn assert_content_type(&self, expected: &str) {
        assert_eq!(
            self.content_type.as_deref(),
            Some(expected),
            "request #{} ({}): content-type",
            self.number,
            self.line
        );
    }

    fn assert_no_body(&self) {
        assert_eq!(
            self.body,
            Value::Null,
            "request #{} ({}) should have no body",
            self.number,
            self.line
        );
    }

    /// The body field at a JSON pointer, which must be there.
    fn field(&self, pointer: &str) -> &Value {
        self.body.pointer(pointer).unwrap_or_else(|| {
            panic!(
                "request #{} ({}): the body has no {pointer}",
                self.number, self.line
            )
        })
    }

    fn assert_field(&self, pointer: &str, expected: Value) {
        assert_eq!(
            self.field(pointer),
            &expected,
            "request #{} ({}): {pointer}",
            self.number,
            self.line
        );
    }
}

/// The server side of the mock: hands out the requests in the order they come.
struct ApiServer {
    handle: Handle<Request<Body>, Response<Body>>,
    /// Every request so far, as `METHOD path?query`.
    seen: Vec<String>,
    /// Every request body so far, by request line, for the leak check.
    bodies: Vec<(String, String)>,
}

impl ApiServer {
    fn new(handle: Handle<Request<Body>, Response<Body>>) -> Self {
        Self {
            handle,
            seen: Vec::new(),
            bodies: Vec::new(),
        }
    }

    /// The next request, which must be `method path`.
    async fn expect(&mut self, method: Method, path: &str) -> Exchange {
        let number = self.seen.len() + 1;
        let next = timeout(STEP, self.handle.next_request())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "request #{number}: expected {method} {path}, but none came within {STEP:?}; \
                     requests so far: {:#?}",
                    self.seen
                )
            });
        let Some((request, respond)) = next else {
            panic!(
                "request #{number}: expected {method} {path}, but the client was dropped \
                 (the reconcile ended); requests so far: {:#?}",
                self.seen
            );
        };
        let exchange = self.exchange(number, (request, respond)).await;
        assert_eq!(
            exchange.line,
            format!("{method} {path}"),
            "request #{number} is not the one expected; requests so far: {:#?}",
            self.seen
        );
        exchange
    }

    /// Reads a request the client made into an [`Exchange`], recording it.
    async fn exchange(
        &mut self,
        number: usize,
        (request, respond): (Request<Body>, SendResponse<Response<Body>>),
    ) -> Exchange {
        let (parts, body) = request.into_parts();
        self.seen.push(format!("{} {}", parts.method, parts.uri));
        let line = format!("{} {}", parts.method, parts.uri.path());
        let query = url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().expect("an ASCII content-type").to_string());
        let accept = parts
            .headers
            .get(http::header::ACCEPT)
            .map(|v| v.to_str().expect("an ASCII accept").to_string());
        let bytes = body.collect_bytes().await.expect("a request body");
        let text = String::from_utf8(bytes.to_vec()).expect("a UTF-8 body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("request #{number} ({line}): the body is not JSON: {e}"))
        };
        self.bodies.push((line.clone(), text));
        Exchange {
            number,
            line,
            query,
            content_type,
            accept,
            body,
            respond,
        }
    }

    /// The next `expected.len()` requests, which must be exactly `expected` (`METHOD path`) in
    /// any order: reads that go out together arrive in whatever order the client sends them.
    /// Returned in the order of `expected`.
    async fn expect_set(&mut self, expected: &[(Method, String)]) -> Vec<Exchange> {
        let mut arrived: Vec<Option<Exchange>> = Vec::new();
        arrived.resize_with(expected.len(), || None);
        for _ in expected {
            let number = self.seen.len() + 1;
            let next = timeout(STEP, self.handle.next_request())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "request #{number}: expected one of {expected:?}, but none came within \
                         {STEP:?}; requests so far: {:#?}",
                        self.seen
                    )
                })
                .unwrap_or_else(|| {
                    panic!(
                        "request #{number}: expected one of {expected:?}, but the client was \
                         dropped; requests so far: {:#?}",
                        self.seen
                    )
                });
            let exchange = self.exchange(number, next).await;
            let slot = expected
                .iter()
                .position(|(method, path)| exchange.line == format!("{method} {path}"))
                .filter(|&i| arrived[i].is_none())
                .unwrap_or_else(|| {
                    panic!(
                        "request #{number} ({}) is not one of {expected:?} still expected; \
                         requests so far: {:#?}",
                        exchange.line, self.seen
                    )
                });
            arrived[slot] = Some(exchange);
        }
        arrived.into_iter().flatten().collect()
    }

    /// Asserts no request follows: the client is dropped (the reconcile ended) with nothing more
    /// asked. Returns the requests seen.
    async fn finish(mut self) -> Self {
        match timeout(STEP, self.handle.next_request()).await {
            Ok(None) => self,
            Ok(Some((request, _))) => panic!(
                "unexpected request #{}: {} {}; expected ones: {:#?}",
                self.seen.len() + 1,
                request.method(),
                request.uri(),
                self.seen
            ),
            Err(_) => panic!("the client was not dropped within {STEP:?} of the last request"),
        }
    }

    /// The requests served, as `METHOD path` (their queries are checked one by one).
    fn requests(&self) -> Vec<&str> {
        self.bodies.iter().map(|(line, _)| line.as_str()).collect()
    }

    /// Asserts no request body carries a value of the Secret.
    fn assert_no_secret_values(&self, values: &BTreeMap<String, String>) {
        for (line, body) in &self.bodies {
            for (key, value) in values {
                assert!(
                    !body.contains(value.as_str()),
                    "{line}: the body carries the value of {SECRET}/{key}"
                );
            }
        }
    }
}

/// Runs one reconcile of `object` against `serve`, which answers the requests in order; returns
/// what reconcile returned and the server once it saw the client go with no further request.
async fn run<S, F>(object: Guarded, serve: S) -> (crate::Result<Action>, ApiServer)
where
    S: FnOnce(ApiServer) -> F,
    F: Future<Output = ApiServer> + Send + 'static,
{
    let (mut results, server) = run_all(vec![object], serve).await;
    (results.remove(0), server)
}

/// A context whose client is never used: for the error policy, which only counts.
fn offline_context() -> Arc<Context> {
    Arc::new(offline_context_with(fixed_jitter))
}

/// [`offline_context`] with the backoff's jitter from `jitter`.
fn offline_context_with(jitter: fn() -> f64) -> Context {
    let (service, _handle) = mock::pair::<Request<Body>, Response<Body>>();
    let (reconcile_tx, _reconcile_rx) = tokio::sync::mpsc::unbounded_channel();
    Context::new(
        kube::Client::new(service, "default"),
        Reporter {
            controller: FIELD_MANAGER.into(),
            instance: None,
        },
        Verifier::new(EgressPolicy::operator(), reconcile_tx),
        Arc::default(),
    )
    .with_jitter(jitter)
}

/// A jitter in 0..1 that does not change between runs.
fn fixed_jitter() -> f64 {
    0.37
}

/// The 5-minute safety net as [`fixed_jitter`] moves it (within ±10%, so thousands of
/// checklists do not come back in the same second).
fn safety_net() -> Duration {
    Duration::from_secs(300).mul_f64(0.9 + 0.2 * fixed_jitter())
}

/// Runs one reconcile of each of `objects` in turn with one context, as the controller would
/// over time, against `serve`.
async fn run_all<S, F>(objects: Vec<Guarded>, serve: S) -> (Vec<crate::Result<Action>>, ApiServer)
where
    S: FnOnce(ApiServer) -> F,
    F: Future<Output = ApiServer> + Send + 'static,
{
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let (reconcile_tx, _reconcile_rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = Arc::new(
        Context::new(
            client,
            Reporter {
                controller: FIELD_MANAGER.into(),
                instance: Some("checklist-operator-7d9f8-abcde".into()),
            },
            Verifier::new(EgressPolicy::operator(), reconcile_tx),
            Arc::default(),
        )
        .with_jitter(fixed_jitter),
    );
    let serving = serve(ApiServer::new(handle));
    let server = tokio::spawn(async move { serving.await.finish().await });
    // The context holds the only client: when the reconciles return (or are cut off), it goes,
    // and the server sees the end of the requests.
    let reconciles = async move {
        let mut results = Vec::new();
        for object in objects {
            // Boxed, as the controller holds it: on the heap, not on the test thread's stack.
            let running = Box::pin(reconcile(Arc::new(object), Arc::clone(&ctx)));
            results.push(running.await);
        }
        results
    };
    let results = timeout(RECONCILE, reconciles).await;
    let server = match server.await {
        Ok(server) => server,
        // The server's assertion is the message that explains a failure; reconcile's error is
        // only its echo (the mock closed under it).
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => panic!("the mocked API server task failed: {error}"),
    };
    let results =
        results.unwrap_or_else(|_| panic!("the reconciles did not return within {RECONCILE:?}"));
    (results, server)
}

// ---------------------------------------------------------------------------------------------
// Shared steps

/// The observe reads of a brand-new dialectic checklist, which go out together and so arrive in
/// any order: the contract's Secret (answered with `secret`, or 404), the Deployment (404), the
/// migration and the down-migration Jobs of the current revision (404). No pods (no Deployment)
/// and no ControllerRevision (no stable revision).
async fn observe_new(api: &mut ApiServer, hash: &str, secret: Option<&Value>) {
    observe_reads(api, hash, secret, None).await;
}

/// [`observe_new`], with the revision's migration Job answered with `job` when there is one.
async fn observe_reads(
    api: &mut ApiServer,
    hash: &str,
    secret: Option<&Value>,
    job: Option<&Value>,
) {
    let reads = observe_new_reads(hash);
    let expected: Vec<(Method, String)> = reads.iter().map(|p| (Method::GET, p.clone())).collect();
    let [get_secret, get_deployment, get_job, get_rollback_job]: [Exchange; 4] = api
        .expect_set(&expected)
        .await
        .try_into()
        .unwrap_or_else(|_| panic!("four reads"));
    for get in [&get_secret, &get_deployment, &get_job, &get_rollback_job] {
        get.assert_no_body();
        get.assert_query(&[]);
    }
    match secret {
        Some(secret) => get_secret.reply(StatusCode::OK, secret),
        None => get_secret.reply(StatusCode::NOT_FOUND, &not_found("", "secrets", SECRET)),
    }
    get_deployment.reply(
        StatusCode::NOT_FOUND,
        &not_found("apps", "deployments", NAME),
    );
    match job {
        Some(job) => get_job.reply(StatusCode::OK, job),
        None => get_job.reply(
            StatusCode::NOT_FOUND,
            &not_found("batch", "jobs", &migration_job_name(NAME, hash)),
        ),
    }
    get_rollback_job.reply(
        StatusCode::NOT_FOUND,
        &not_found("batch", "jobs", &rollback_migration_job_name(NAME, hash)),
    );
}

/// The paths [`observe_new`] serves.
fn observe_new_reads(hash: &str) -> Vec<String> {
    vec![
        format!("/api/v1/namespaces/prod/secrets/{SECRET}"),
        format!("/apis/apps/v1/namespaces/prod/deployments/{NAME}"),
        format!("{JOBS}/{}", migration_job_name(NAME, hash)),
        format!("{JOBS}/{}", rollback_migration_job_name(NAME, hash)),
    ]
}

/// Asserts the requests served were the reads of [`observe_new`] in any order, then `then` in
/// this order.
fn assert_requests(api: &ApiServer, hash: &str, then: &[String]) {
    let served = api.requests();
    let mut reads: Vec<&str> = served.iter().take(4).copied().collect();
    reads.sort_unstable();
    let expected = observe_new_reads(hash);
    let mut expected_reads: Vec<String> = expected.iter().map(|p| format!("GET {p}")).collect();
    expected_reads.sort_unstable();
    assert_eq!(reads, expected_reads, "the reads, in any order");
    assert_eq!(
        &served[4.min(served.len())..],
        then,
        "the requests after the reads"
    );
}

/// Asserts the status apply is a forced server-side apply of the whole status by the operator,
/// answers it, and returns the status written.
async fn status_apply(api: &mut ApiServer, checklist: &Value) -> Value {
    let patch = api
        .expect(Method::PATCH, &format!("{CHECKLISTS}/{NAME}/status"))
        .await;
    patch.assert_query(&[("fieldManager", FIELD_MANAGER), ("force", "true")]);
    patch.assert_content_type("application/apply-patch+yaml");
    patch.assert_field("/apiVersion", json!("checklist.dev/v1alpha1"));
    patch.assert_field("/kind", json!("DeploymentChecklist"));
    let status = patch.field("/status").clone();
    let mut stored = checklist.clone();
    stored["status"] = status.clone();
    stored["metadata"]["resourceVersion"] = json!("4713");
    patch.reply(StatusCode::OK, &stored);
    status
}

/// Asserts the next request publishes an Event about the checklist with `reason`, `type_` and
/// `note`, and answers it.
async fn event(api: &mut ApiServer, reason: &str, type_: &str, note: &str) {
    let post = api.expect(Method::POST, EVENTS).await;
    post.assert_query(&[]);
    post.assert_content_type("application/json");
    post.assert_field("/apiVersion", json!("events.k8s.io/v1"));
    post.assert_field("/kind", json!("Event"));
    post.assert_field("/metadata/namespace", json!(NAMESPACE));
    post.assert_field("/reason", json!(reason));
    post.assert_field("/type", json!(type_));
    post.assert_field("/note", json!(note));
    post.assert_field("/action", json!("Reconcile"));
    post.assert_field("/reportingController", json!(FIELD_MANAGER));
    post.assert_field("/regarding/apiVersion", json!("checklist.dev/v1alpha1"));
    post.assert_field("/regarding/kind", json!("DeploymentChecklist"));
    post.assert_field("/regarding/namespace", json!(NAMESPACE));
    post.assert_field("/regarding/name", json!(NAME));
    post.assert_field("/regarding/uid", json!(UID));
    let body = created(
        post.body.clone(),
        "e0e0e0e0-0000-4000-8000-000000000001",
        "4714",
    );
    post.reply(StatusCode::CREATED, &body);
}

/// The Events of a revision that starts with its migration: RevisionStarted naming `image` and
/// `hash`, then Migrating.
async fn migration_started_events(api: &mut ApiServer, image: &str, hash: &str) {
    let started = format!("rolling out {image} (revision {hash})");
    event(api, "RevisionStarted", "Normal", &started).await;
    event(api, "Migrating", "Normal", "running the migration Job").await;
}

/// The condition of `type_` in a status, which must be there.
fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .expect("status.conditions")
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("status.conditions has no {type_}"))
}

/// Asserts a condition's status and reason, and that it is stamped with generation 1.
fn assert_condition(status: &Value, type_: &str, expected: &str, reason: &str) {
    let condition = condition(status, type_);
    assert_eq!(
        (&condition["status"], &condition["reason"]),
        (&json!(expected), &json!(reason)),
        "condition {type_}: (status, reason)"
    );
    assert_eq!(
        condition["observedGeneration"],
        json!(1),
        "condition {type_}: observedGeneration"
    );
}

/// Asserts the parts of the status every first reconcile of the dialectic spec writes: the
/// generation, the current revision, and one Progressing history entry.
fn assert_new_revision(status: &Value, hash: &str) {
    assert_eq!(status["observedGeneration"], json!(1), "observedGeneration");
    assert_eq!(
        status["revision"]["current"],
        json!({"image": IMAGE, "hash": hash}),
        "revision.current"
    );
    assert!(
        status["revision"]["stable"].is_null(),
        "a new checklist has no stable revision"
    );
    let history = status["history"].as_array().expect("status.history");
    assert_eq!(history.len(), 1, "one history entry");
    assert_eq!(history[0]["revision"], json!(1), "history[0].revision");
    assert_eq!(history[0]["image"], json!(IMAGE), "history[0].image");
    assert_eq!(history[0]["hash"], json!(hash), "history[0].hash");
    assert_eq!(
        history[0]["outcome"],
        json!("Progressing"),
        "history[0].outcome"
    );
}

/// The key results status.secrets reports, as (key, result) pairs.
fn secret_results(status: &Value) -> Vec<(String, String)> {
    status["secrets"]
        .as_array()
        .expect("status.secrets")
        .iter()
        .map(|s| {
            assert_eq!(s["secret"], json!(SECRET), "status.secrets[].secret");
            (
                s["key"].as_str().expect("key").to_string(),
                s["result"].as_str().expect("result").to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// A brand-new checklist whose Secret meets the contract and whose spec has a migration: the
/// first reconcile reads, creates the revision's migration Job, writes the Migrating status and
/// publishes the two transitions, and nothing else (no Deployment, Service or revision record
/// before the migration has run).
#[tokio::test]
async fn a_new_checklist_with_a_valid_secret_starts_its_migration() {
    let (checklist, typed) = new_checklist();
    let hash = revision_hash(&typed.spec);
    let job_name = migration_job_name(NAME, &hash);
    let (secret, secret_values) = stored_secret();

    let serve = {
        let (checklist, hash, job_name) = (checklist.clone(), hash.clone(), job_name.clone());
        move |mut api: ApiServer| async move {
            observe_new(&mut api, &hash, Some(&secret)).await;

            // act: the migration Job, created once by name.
            let post = api.expect(Method::POST, JOBS).await;
            post.assert_query(&[("fieldManager", FIELD_MANAGER)]);
            post.assert_content_type("application/json");
            post.assert_field("/apiVersion", json!("batch/v1"));
            post.assert_field("/kind", json!("Job"));
            post.assert_field("/metadata/name", json!(job_name));
            post.assert_field("/metadata/namespace", json!(NAMESPACE));
            post.assert_field(
                "/metadata/ownerReferences",
                json!([{
                    "apiVersion": "checklist.dev/v1alpha1",
                    "kind": "DeploymentChecklist",
                    "name": NAME,
                    "uid": UID,
                    "controller": true,
                    "blockOwnerDeletion": true
                }]),
            );
            post.assert_field("/metadata/labels/checklist.dev~1revision", json!(hash));
            post.assert_field("/metadata/labels/checklist.dev~1job", json!("migrate"));
            post.assert_field(
                "/metadata/labels/app.kubernetes.io~1component",
                json!("migration"),
            );
            post.assert_field("/spec/backoffLimit", json!(0));
            post.assert_field("/spec/activeDeadlineSeconds", json!(600));
            post.assert_field("/spec/template/spec/restartPolicy", json!("Never"));
            post.assert_field("/spec/template/spec/containers/0/image", json!(IMAGE));
            post.assert_field(
                "/spec/template/spec/containers/0/command",
                json!(["/app/bin/migrate"]),
            );
            // The Secret reaches the Job by reference, never by value.
            post.assert_field(
                "/spec/template/spec/containers/0/envFrom",
                json!([{"secretRef": {"name": SECRET}}]),
            );
            let job = created(
                post.body.clone(),
                "a1b2c3d4-0000-4000-8000-000000000001",
                "4712",
            );
            post.reply(StatusCode::CREATED, &job);

            // record: the status, then one Event per transition.
            let status = status_apply(&mut api, &checklist).await;
            assert_eq!(status["phase"], json!("Migrating"), "status.phase");
            assert_eq!(
                status["message"],
                json!("running the migration Job"),
                "status.message"
            );
            assert_condition(&status, "Reconciling", "True", "Migrating");
            assert_condition(&status, "Ready", "False", "Migrating");
            assert_condition(&status, "Stalled", "False", "Migrating");
            assert_condition(&status, "SecretsValid", "True", "SecretsValid");
            assert_new_revision(&status, &hash);
            assert_eq!(status["migration"]["job"], json!(job_name), "migration.job");
            assert_eq!(
                status["migration"]["state"],
                json!("Running"),
                "migration.state"
            );
            assert_eq!(
                status["migration"]["image"],
                json!(IMAGE),
                "migration.image"
            );
            assert!(
                status["migration"]["startedAt"].is_string(),
                "migration.startedAt is set"
            );
            assert_eq!(
                secret_results(&status),
                [
                    "SECRET_KEY_BASE",
                    "DATABASE_URL",
                    "OPENAI_API_KEY",
                    "RESEND_API_KEY"
                ]
                .map(|key| (key.to_string(), "Pass".to_string()))
                .to_vec(),
                "status.secrets"
            );
            // 4 keys pass; the migration, the rollout and 6 checks are still to come.
            assert_eq!(status["score"]["passed"], json!(4), "score.passed");
            assert_eq!(status["score"]["total"], json!(12), "score.total");

            migration_started_events(&mut api, IMAGE, &hash).await;
            api
        }
    };

    let (result, api) = run(guarded(&checklist), serve).await;
    api.assert_no_secret_values(&secret_values);
    let action = result.unwrap_or_else(|e| panic!("reconcile failed: {e}"));
    assert_eq!(action, Action::requeue(Duration::from_secs(15)));
    assert_requests(
        &api,
        &hash,
        &[
            format!("POST {JOBS}"),
            format!("PATCH {CHECKLISTS}/{NAME}/status"),
            format!("POST {EVENTS}"),
            format!("POST {EVENTS}"),
        ],
    );
}

/// A brand-new checklist whose Secret does not exist: the reads are the same, nothing is
/// created (no migration Job while the contract does not hold), the status says CheckingSecrets
/// and Stalled, and the failure is a Warning Event.
#[tokio::test]
async fn a_new_checklist_without_its_secret_creates_nothing_and_stalls() {
    let (checklist, typed) = new_checklist();
    let hash = revision_hash(&typed.spec);

    let serve = {
        let (checklist, hash) = (checklist.clone(), hash.clone());
        move |mut api: ApiServer| async move {
            observe_new(&mut api, &hash, None).await;

            let status = status_apply(&mut api, &checklist).await;
            assert_eq!(status["phase"], json!("CheckingSecrets"), "status.phase");
            assert_condition(&status, "SecretsValid", "False", "SecretInvalid");
            assert_condition(&status, "Stalled", "True", "SecretInvalid");
            assert_condition(&status, "Reconciling", "False", "SecretInvalid");
            assert_condition(&status, "Ready", "False", "SecretInvalid");
            assert_new_revision(&status, &hash);
            assert!(
                status["migration"].is_null(),
                "no migration status before the contract holds"
            );
            let results = secret_results(&status);
            assert!(
                results
                    .iter()
                    .filter(|(key, _)| key != "RESEND_API_KEY")
                    .all(|(_, result)| result == "Fail"),
                "every required key fails: {results:?}"
            );
            let message = status["message"].as_str().expect("status.message");
            // Every key fails for one cause, named once; each key's verdict is in status.secrets.
            assert_eq!(
                message,
                format!("secret contract not met: 3 keys invalid: Secret {SECRET} not found"),
                "status.message names what fails"
            );

            event(
                &mut api,
                "RevisionStarted",
                "Normal",
                &format!("rolling out {IMAGE} (revision {hash})"),
            )
            .await;
            event(&mut api, "SecretInvalid", "Warning", message).await;
            api
        }
    };

    let (result, api) = run(guarded(&checklist), serve).await;
    let action = result.unwrap_or_else(|e| panic!("reconcile failed: {e}"));
    // Stalled waits for a person (the Secret's watch brings the fix): the safety net is slow.
    assert_eq!(action, Action::requeue(safety_net()));
    // No Job is created.
    assert_requests(
        &api,
        &hash,
        &[
            format!("PATCH {CHECKLISTS}/{NAME}/status"),
            format!("POST {EVENTS}"),
            format!("POST {EVENTS}"),
        ],
    );
}

/// A checklist naming a ClusterChecklistTemplate that does not exist: the template is read (one
/// GET, before the observe reads), then the status says why and nothing is created.
#[tokio::test]
async fn a_missing_template_is_read_once_named_in_status_and_changes_nothing() {
    let (mut checklist, typed) = new_checklist();
    checklist["spec"]["verification"]["templates"] = json!([
        {"name": "web-baseline", "kind": "ClusterChecklistTemplate", "parameters": {"p95Ms": 800}}
    ]);
    let hash = revision_hash(&typed.spec);
    let template = "/apis/checklist.dev/v1alpha1/clusterchecklisttemplates/web-baseline";
    let (secret, _) = stored_secret();

    let serve = {
        let checklist = checklist.clone();
        let hash = hash.clone();
        move |mut api: ApiServer| async move {
            let get = api.expect(Method::GET, template).await;
            get.assert_no_body();
            get.reply(
                StatusCode::NOT_FOUND,
                &not_found("checklist.dev", "clusterchecklisttemplates", "web-baseline"),
            );
            observe_new(&mut api, &hash, Some(&secret)).await;
            let status = status_apply(&mut api, &checklist).await;
            let message = "ClusterChecklistTemplate web-baseline not found; nothing was changed";
            assert_eq!(status["phase"], json!("Failed"), "status.phase");
            assert_eq!(status["message"], json!(message), "status.message");
            assert_condition(&status, "Stalled", "True", "InvalidTemplate");
            assert_condition(&status, "Ready", "False", "InvalidTemplate");
            assert!(status["history"].is_null(), "no revision is started");
            event(&mut api, "InvalidTemplate", "Warning", message).await;
            api
        }
    };

    let (result, api) = run(guarded(&checklist), serve).await;
    let action = result.unwrap_or_else(|e| panic!("reconcile failed: {e}"));
    assert_eq!(action, Action::requeue(safety_net()));
    let served = api.requests();
    assert_eq!(served[0], format!("GET {template}"));
    assert_eq!(
        &served[5..],
        [
            format!("PATCH {CHECKLISTS}/{NAME}/status"),
            format!("POST {EVENTS}"),
        ],
        "a status write and an Event: no Job, no Deployment"
    );
}

/// A checklist this version cannot read (a field of the wrong type) is reported by one Warning
/// Event and otherwise left alone: no read, no status write, and no requeue until it changes.
#[tokio::test]
async fn an_unreadable_checklist_gets_one_warning_event_and_nothing_else() {
    let (mut checklist, _) = new_checklist();
    checklist["spec"]["app"]["replicas"] = json!("two");
    let object = guarded(&checklist);
    assert!(object.0.is_err(), "the fixture must fail to parse");

    let serve = |mut api: ApiServer| async move {
        let post = api.expect(Method::POST, EVENTS).await;
        post.assert_field("/reason", json!("InvalidSpec"));
        post.assert_field("/type", json!("Warning"));
        post.assert_field("/regarding/kind", json!("DeploymentChecklist"));
        post.assert_field("/regarding/name", json!(NAME));
        post.assert_field("/regarding/uid", json!(UID));
        let note = post.field("/note").as_str().expect("a note");
        assert!(
            note.starts_with("this operator cannot read the object: "),
            "the note says why: {note}"
        );
        let body = created(
            post.body.clone(),
            "e0e0e0e0-0000-4000-8000-000000000002",
            "4720",
        );
        post.reply(StatusCode::CREATED, &body);
        api
    };

    let (result, api) = run(object, serve).await;
    let action = result.unwrap_or_else(|e| panic!("reconcile failed: {e}"));
    assert_eq!(action, Action::await_change());
    assert_eq!(
        api.requests(),
        [format!("POST {EVENTS}")],
        "the request sequence"
    );
}

/// The watch cache can hand the next reconcile the object from before the operator's own status
/// write (a Job's event arrived before the checklist's). That reconcile reads the checklist again
/// and, seeing the status it wrote, changes nothing and announces nothing a second time.
#[tokio::test]
async fn a_stale_object_after_our_own_status_write_is_read_again_and_nothing_repeats() {
    let (checklist, typed) = new_checklist();
    let hash = revision_hash(&typed.spec);
    let (secret, _) = stored_secret();

    let serve = {
        let (checklist, hash) = (checklist.clone(), hash.clone());
        move |mut api: ApiServer| async move {
            // The first reconcile: the migration Job, the status, two Events.
            observe_new(&mut api, &hash, Some(&secret)).await;
            let post = api.expect(Method::POST, JOBS).await;
            let job = created(
                post.body.clone(),
                "a1b2c3d4-0000-4000-8000-000000000001",
                "4712",
            );
            post.reply(StatusCode::CREATED, &job);
            let status = status_apply(&mut api, &checklist).await;
            let mut written = checklist.clone();
            written["status"] = status;
            written["metadata"]["resourceVersion"] = json!("4713");
            migration_started_events(&mut api, IMAGE, &hash).await;

            // The second, handed the object at 4711, ends without a request: the watch event
            // of the write triggers the next. The third, handed it still, reads it again first.
            let get = api
                .expect(Method::GET, &format!("{CHECKLISTS}/{NAME}"))
                .await;
            get.assert_no_body();
            get.reply(StatusCode::OK, &written);
            let reads = observe_new_reads(&hash);
            let expected: Vec<(Method, String)> =
                reads.iter().map(|p| (Method::GET, p.clone())).collect();
            let [get_secret, get_deployment, get_job, get_rollback_job]: [Exchange; 4] = api
                .expect_set(&expected)
                .await
                .try_into()
                .unwrap_or_else(|_| panic!("four reads"));
            get_secret.reply(StatusCode::OK, &secret);
            get_deployment.reply(
                StatusCode::NOT_FOUND,
                &not_found("apps", "deployments", NAME),
            );
            get_job.reply(StatusCode::OK, &job);
            let rollback_job = rollback_migration_job_name(NAME, &hash);
            get_rollback_job.reply(
                StatusCode::NOT_FOUND,
                &not_found("batch", "jobs", &rollback_job),
            );
            // Then nothing: no second Job, no status write, no Event.
            api
        }
    };

    let stale = guarded(&checklist);
    let (results, _api) = run_all(vec![guarded(&checklist), stale.clone(), stale], serve).await;
    let actions: Vec<Action> = results
        .into_iter()
        .map(|result| result.unwrap_or_else(|e| panic!("reconcile failed: {e}")))
        .collect();
    let settled = Action::requeue(Duration::from_secs(15));
    assert_eq!(
        actions,
        [
            settled.clone(),
            Action::requeue(Duration::from_secs(2)),
            settled
        ]
    );
}

/// The message of a 403 on creating the migration Job.
const JOBS_FORBIDDEN: &str = "jobs.batch is forbidden: User \"system:serviceaccount:ops:checklist-operator\" \
                              cannot create resource \"jobs\" in API group \"batch\" in the namespace \"prod\"";

/// A missing RBAC rule is not retried every few seconds: the status says Stalled with reason
/// Forbidden and the refused request, one Warning Event says it once, and the checklist waits for
/// a change or the 5-minute safety net. The same refusal again writes and announces nothing new.
#[tokio::test]
async fn a_forbidden_request_stalls_the_checklist_names_it_once_and_waits() {
    let (checklist, typed) = new_checklist();
    let hash = revision_hash(&typed.spec);
    let job_name = migration_job_name(NAME, &hash);
    let (secret, _) = stored_secret();

    let serve = {
        let (checklist, hash, job_name) = (checklist.clone(), hash.clone(), job_name.clone());
        move |mut api: ApiServer| async move {
            observe_new(&mut api, &hash, Some(&secret)).await;
            let post = api.expect(Method::POST, JOBS).await;
            post.reply(
                StatusCode::FORBIDDEN,
                &refused(403, "Forbidden", JOBS_FORBIDDEN),
            );

            // No plan's status is written (its change failed); the refusal's is.
            let status = status_apply(&mut api, &checklist).await;
            let message = status["message"]
                .as_str()
                .expect("status.message")
                .to_owned();
            assert_eq!(
                message,
                format!(
                    "cannot create Job {job_name}: 403 Forbidden: {JOBS_FORBIDDEN}; tried again \
                     after a change to the checklist, and every 5 minutes"
                )
            );
            assert_condition(&status, "Stalled", "True", "Forbidden");
            assert_condition(&status, "Ready", "False", "Forbidden");
            assert_condition(&status, "Reconciling", "False", "Forbidden");
            assert_eq!(condition(&status, "Stalled")["message"], json!(message));
            let post = api.expect(Method::POST, EVENTS).await;
            post.assert_field("/reason", json!("Forbidden"));
            post.assert_field("/type", json!("Warning"));
            let note = post.field("/note").as_str().expect("a note").to_owned();
            assert!(note.starts_with("cannot create Job"), "{note}");
            assert!(note.chars().count() <= 280, "{note}");
            let body = created(
                post.body.clone(),
                "e0e0e0e0-0000-4000-8000-00000000000f",
                "4714",
            );
            post.reply(StatusCode::CREATED, &body);
            let mut written = checklist.clone();
            written["status"] = status;
            written["metadata"]["resourceVersion"] = json!("4713");

            // The same refusal on a later try: the pass after the write ends waiting for its
            // watch event; the next, handed the object still behind, reads it again, is refused
            // again, and has nothing new to say.
            let get = api
                .expect(Method::GET, &format!("{CHECKLISTS}/{NAME}"))
                .await;
            get.reply(StatusCode::OK, &written);
            observe_new(&mut api, &hash, Some(&secret)).await;
            let post = api.expect(Method::POST, JOBS).await;
            post.reply(
                StatusCode::FORBIDDEN,
                &refused(403, "Forbidden", JOBS_FORBIDDEN),
            );
            api
        }
    };

    let (mut results, _api) = run_all(
        vec![
            guarded(&checklist),
            guarded(&checklist),
            guarded(&checklist),
        ],
        serve,
    )
    .await;
    let waited = results.remove(1);
    assert_eq!(
        waited.ok(),
        Some(Action::requeue(Duration::from_secs(2))),
        "the pass behind the write waits"
    );
    let ctx = offline_context();
    for result in results {
        let error = result.expect_err("the Job create is refused");
        assert_eq!(error.category().as_str(), "forbidden");
        let object = Arc::new(guarded(&checklist));
        for _ in 0..3 {
            // However often it fails, the next look is the safety net's, not a few seconds.
            assert_eq!(
                error_policy(Arc::clone(&object), &error, Arc::clone(&ctx)),
                Action::requeue(safety_net())
            );
        }
    }
}

/// A failure that heals by itself (the API server answers 500) leaves the status alone and is
/// retried after a delay that doubles with each failure in a row, jittered, up to 5 minutes, and
/// starts over after a reconcile that succeeds.
#[tokio::test]
async fn a_transient_failure_is_retried_with_growing_jittered_backoff() {
    let (checklist, typed) = new_checklist();
    let hash = revision_hash(&typed.spec);
    let (secret, _) = stored_secret();

    let serve = {
        let hash = hash.clone();
        move |mut api: ApiServer| async move {
            observe_new(&mut api, &hash, Some(&secret)).await;
            let post = api.expect(Method::POST, JOBS).await;
            post.reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                &refused(500, "InternalError", "etcdserver: request timed out"),
            );
            // Then nothing: no status write, no Event.
            api
        }
    };
    let (result, _api) = run(guarded(&checklist), serve).await;
    let error: ReconcileError = result.expect_err("the Job create fails");
    assert_eq!(error.category().as_str(), "server-error");

    // With the jitter at its top the delays are the schedule itself: 1 s, doubling, 5 minutes
    // at most; a success starts it over.
    let ctx = Arc::new(offline_context_with(|| 1.0));
    let object = Arc::new(guarded(&checklist));
    for seconds in [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300] {
        assert_eq!(
            error_policy(Arc::clone(&object), &error, Arc::clone(&ctx)),
            Action::requeue(Duration::from_secs(seconds))
        );
    }
    // At the bottom of the jitter, half of each.
    let ctx = Arc::new(offline_context_with(|| 0.0));
    for millis in [500, 1000, 2000] {
        assert_eq!(
            error_policy(Arc::clone(&object), &error, Arc::clone(&ctx)),
            Action::requeue(Duration::from_millis(millis))
        );
    }
}

/// A 409 Conflict (another writer got there first) on the status write is retried with backoff,
/// not reported as Stalled; the next reconcile writes the same status and the release goes on.
#[tokio::test]
async fn a_conflict_on_the_status_write_is_retried_and_the_next_reconcile_writes_it() {
    let (checklist, typed) = new_checklist();
    let hash = revision_hash(&typed.spec);
    let job_name = migration_job_name(NAME, &hash);
    let (secret, _) = stored_secret();

    let serve = {
        let (checklist, hash, job_name) = (checklist.clone(), hash.clone(), job_name.clone());
        move |mut api: ApiServer| async move {
            observe_new(&mut api, &hash, Some(&secret)).await;
            let post = api.expect(Method::POST, JOBS).await;
            post.assert_field("/metadata/name", json!(job_name));
            let job = created(
                post.body.clone(),
                "a1b2c3d4-0000-4000-8000-000000000009",
                "4712",
            );
            post.reply(StatusCode::CREATED, &job);
            let patch = api
                .expect(Method::PATCH, &format!("{CHECKLISTS}/{NAME}/status"))
                .await;
            patch.reply(
                StatusCode::CONFLICT,
                &refused(
                    409,
                    "Conflict",
                    "Operation cannot be fulfilled on deploymentchecklists.checklist.dev \"dialectic\": the object has been modified; please apply your changes to the latest version and try again",
                ),
            );

            // The retry: the Job is there now (read, not created again), the status is written.
            observe_reads(&mut api, &hash, Some(&secret), Some(&job)).await;
            let status = status_apply(&mut api, &checklist).await;
            assert_eq!(status["phase"], json!("Migrating"), "status.phase");
            migration_started_events(&mut api, IMAGE, &hash).await;
            api
        }
    };

    let (results, _api) = run_all(vec![guarded(&checklist), guarded(&checklist)], serve).await;
    let mut results = results.into_iter();
    let error = results
        .next()
        .unwrap()
        .expect_err("the first status write is refused");
    assert_eq!(error.category().as_str(), "conflict");
    assert_eq!(error.retry(), Retry::Backoff);
    let ctx = Arc::new(offline_context_with(|| 1.0));
    assert_eq!(
        error_policy(Arc::new(guarded(&checklist)), &error, ctx),
        Action::requeue(Duration::from_secs(1))
    );
    let action = results
        .next()
        .unwrap()
        .unwrap_or_else(|e| panic!("the retry failed: {e}"));
    assert_eq!(action, Action::requeue(Duration::from_secs(15)));
}

mod promotion;
mod rotation;
