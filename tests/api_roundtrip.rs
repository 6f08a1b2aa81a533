//! The DeploymentChecklist API against its examples: every example survives YAML → types → YAML,
//! the Rust defaults are the ones the API server writes, and the example Secrets meet their
//! checklists. Needs no cluster; the end-to-end suite checks the same files against a real one.

// Tests may unwrap: a panic is how a test says what failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, fs, path::PathBuf};

use checklist_operator::api::{
    CheckKind, DeploymentChecklist, DeploymentChecklistSpec, HttpMethod, HttpsRedirectCheck,
    RollbackMigration, RollbackSpec, RollbackTrigger, RolloutSpec, RolloutStrategy,
    SecurityHeadersCheck, ServiceSpec, ServiceType, VerificationSpec, crd::crd,
};
use k8s_openapi::{
    api::core::v1::Secret,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::{
        JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
    },
    apimachinery::pkg::util::intstr::IntOrString,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const EXAMPLES: [&str; 5] = [
    "dialectic",
    "rachel-web",
    "vel-tutor",
    "cgraph",
    "templated-shop",
];

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read_yaml<T: DeserializeOwned>(relative: &str) -> T {
    let text = fs::read_to_string(repo_path(relative)).expect(relative);
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn read_yaml_documents<T: DeserializeOwned>(relative: &str) -> Vec<T> {
    let text = fs::read_to_string(repo_path(relative)).expect(relative);
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| T::deserialize(doc).unwrap_or_else(|e| panic!("{relative}: {e}")))
        .collect()
}

/// The root schema of the generated CRD.
fn root_schema() -> JSONSchemaProps {
    crd().spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.clone())
        .expect("the CRD has a schema")
}

/// Applies schema defaults the way the API server's structural defaulting does: a missing
/// property with a default gets it, then defaulting goes on inside every value.
fn apply_defaults(value: &mut Value, schema: &JSONSchemaProps) {
    match value {
        Value::Object(map) => {
            for (name, property) in schema.properties.iter().flatten() {
                if !map.contains_key(name)
                    && let Some(default) = &property.default
                {
                    map.insert(name.clone(), default.0.clone());
                }
                if let Some(child) = map.get_mut(name) {
                    apply_defaults(child, property);
                }
            }
            if let Some(JSONSchemaPropsOrBool::Schema(values)) = &schema.additional_properties {
                for child in map.values_mut() {
                    apply_defaults(child, values);
                }
            }
        }
        Value::Array(items) => {
            if let Some(JSONSchemaPropsOrArray::Schema(item)) = &schema.items {
                for child in items {
                    apply_defaults(child, item);
                }
            }
        }
        _ => {}
    }
}

/// The manifest as the API server would store it: the YAML with the CRD's defaults applied.
fn as_stored(manifest: &Value) -> Value {
    let mut stored = manifest.clone();
    apply_defaults(&mut stored, &root_schema());
    // The status a new checklist reads with ({observedGeneration: 0, phase: Pending}) is the API
    // server's, for GitOps readers (api::crd tests it); the Rust types hold the spec's defaults.
    if manifest.get("status").is_none()
        && let Some(object) = stored.as_object_mut()
    {
        object.remove("status");
    }
    stored
}

fn round_trip(manifest: &Value) -> Value {
    let typed: DeploymentChecklist =
        serde_json::from_value(manifest.clone()).expect("the manifest deserializes");
    serde_json::to_value(&typed).expect("the checklist serializes")
}

#[test]
fn every_example_round_trips_to_what_the_api_server_stores() {
    for app in EXAMPLES {
        let manifest: Value = read_yaml(&format!("examples/{app}.yaml"));
        let stored = as_stored(&manifest);
        let typed = round_trip(&manifest);
        assert_eq!(
            typed, stored,
            "examples/{app}.yaml: types and CRD defaults disagree"
        );
        // Serializing again changes nothing: the YAML the operator would write is stable.
        assert_eq!(
            round_trip(&typed),
            typed,
            "{app}: second round trip differs"
        );
        assert!(
            typed.get("status").is_none(),
            "{app}: no status is invented"
        );
    }
}

#[test]
fn every_example_yaml_survives_yaml_to_types_to_yaml() {
    for app in EXAMPLES {
        let path = format!("examples/{app}.yaml");
        let typed: DeploymentChecklist = read_yaml(&path);
        let yaml = serde_norway::to_string(&typed).expect("serializes to YAML");
        let again: DeploymentChecklist = serde_norway::from_str(&yaml).expect("reads its own YAML");
        assert_eq!(again, typed, "{path}");
    }
}

#[test]
fn a_minimal_checklist_gets_the_documented_defaults() {
    let manifest = json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {"name": "minimal"},
        "spec": {"app": {"image": "ghcr.io/acme/app:1.0.0"}}
    });
    let typed = round_trip(&manifest);
    assert_eq!(typed, as_stored(&manifest), "Rust and CRD defaults agree");

    let checklist: DeploymentChecklist = serde_json::from_value(manifest).expect("deserializes");
    let spec: DeploymentChecklistSpec = checklist.spec;
    assert_eq!(
        spec.app.replicas, None,
        "left to the Deployment's default, or an autoscaler"
    );
    assert_eq!(spec.app.port, 8080);
    assert_eq!(spec.app.service.port, 80);
    assert_eq!(spec.app.service.type_, ServiceType::ClusterIp);
    assert!(spec.app.env.is_empty() && spec.app.command.is_empty() && spec.app.args.is_empty());
    assert!(spec.secrets.is_empty());
    assert!(spec.probes.is_none() && spec.migration.is_none());
    assert_eq!(spec.rollout.strategy, RolloutStrategy::RollingUpdate);
    assert_eq!(spec.rollout.max_surge, IntOrString::String("25%".into()));
    assert_eq!(spec.rollout.max_unavailable, IntOrString::Int(0));
    assert_eq!(spec.rollout.progress_deadline_seconds, 600);
    assert_eq!(spec.rollout.max_restarts, 3);
    assert_eq!(spec.verification.url, None);
    assert_eq!(spec.verification.initial_delay_seconds, 5);
    assert_eq!(spec.verification.interval_seconds, 10);
    assert_eq!(spec.verification.failure_threshold, 3);
    assert_eq!(spec.verification.timeout_seconds, 5);
    assert!(!spec.verification.continuous && !spec.verification.insecure_skip_tls_verify);
    assert!(spec.verification.checks.is_empty());
    assert!(spec.rollback.automatic);
    assert_eq!(spec.rollback.triggers, RollbackTrigger::ALL.to_vec());
    assert_eq!(spec.rollback.migration, RollbackMigration::Skip);
    assert_eq!(spec.rollback.revision_history_limit, 10);
    assert!(!spec.suspend);
}

#[test]
fn nested_blocks_get_their_documented_defaults() {
    let manifest = json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {"name": "nested"},
        "spec": {
            "app": {"image": "ghcr.io/acme/app:1.0.0"},
            "secrets": [{"secretName": "app-env", "keys": [{"name": "SECRET_KEY_BASE"}]}],
            "probes": {"liveness": {"path": "/health"}},
            "migration": {"command": ["/app/bin/migrate"]},
            "rollout": {"strategy": "Canary", "canary": {"steps": [{"weight": 10}]}},
            "verification": {"checks": [
                {"name": "health", "http": {"path": "/health"}},
                {"name": "redirect", "httpsRedirect": {}},
                {"name": "headers", "securityHeaders": {}},
                {"name": "login", "rateLimit": {"path": "/users/log_in"}}
            ]}
        }
    });
    assert_eq!(
        round_trip(&manifest),
        as_stored(&manifest),
        "Rust and CRD defaults agree"
    );

    let spec = serde_json::from_value::<DeploymentChecklist>(manifest)
        .expect("deserializes")
        .spec;
    let secret = &spec.secrets[0];
    assert!(secret.inject);
    assert_eq!(secret.keys[0].min_length, None);
    assert!(!secret.keys[0].optional);

    let liveness = spec.probes.and_then(|p| p.liveness).expect("liveness");
    assert_eq!(
        (
            liveness.port,
            liveness.initial_delay_seconds,
            liveness.period_seconds,
            liveness.timeout_seconds,
            liveness.failure_threshold,
            liveness.success_threshold
        ),
        (None, 0, 10, 1, 3, 1)
    );

    let migration = spec.migration.expect("migration");
    assert_eq!(
        (migration.timeout_seconds, migration.backoff_limit),
        (600, 0)
    );
    assert_eq!(migration.image, None);

    let canary = spec.rollout.canary.expect("canary");
    assert_eq!(
        canary.steps[0].pause_seconds, None,
        "a step without a pause waits for a person"
    );

    let checks = &spec.verification.checks;
    let http = checks[0].http.as_ref().expect("http");
    assert_eq!(http.method, HttpMethod::Get);
    assert_eq!(http.expect_status, vec![200]);
    let redirect = checks[1].https_redirect.as_ref().expect("httpsRedirect");
    assert_eq!(redirect.expect_status, vec![301, 308]);
    let headers = checks[2]
        .security_headers
        .as_ref()
        .expect("securityHeaders");
    assert_eq!(headers.path, "/");
    assert_eq!(
        headers.require,
        [
            "strict-transport-security",
            "content-security-policy",
            "x-frame-options",
            "x-content-type-options",
            "x-xss-protection"
        ]
    );
    let rate_limit = checks[3].rate_limit.as_ref().expect("rateLimit");
    assert_eq!(rate_limit.method, HttpMethod::Post);
    assert_eq!((rate_limit.attempts, rate_limit.expect_status), (10, 429));
    assert_eq!(rate_limit.within_attempts, None);

    let kinds: Vec<_> = checks.iter().map(|c| c.check().map(|k| k.kind())).collect();
    assert_eq!(
        kinds,
        [
            Some(CheckKind::Http),
            Some(CheckKind::HttpsRedirect),
            Some(CheckKind::SecurityHeaders),
            Some(CheckKind::RateLimit)
        ]
    );
}

#[test]
fn blue_green_defaults_match_the_documentation() {
    let block = json!({"strategy": "BlueGreen", "blueGreen": {}});
    let rollout: RolloutSpec = serde_json::from_value(block).expect("deserializes");
    let blue_green = rollout.blue_green.expect("blueGreen");
    assert_eq!(blue_green.preview_service, None);
    assert!(blue_green.auto_promotion);
    assert_eq!(blue_green.scale_down_delay_seconds, 30);
}

/// The hand-written Default impls are what serde builds from an empty block, so a block left out
/// and a block written as {} mean the same.
#[test]
fn default_impls_equal_an_empty_block() {
    fn from_empty<T: DeserializeOwned>() -> T {
        serde_json::from_value(json!({})).expect("an empty block deserializes")
    }
    assert_eq!(ServiceSpec::default(), from_empty());
    assert_eq!(RolloutSpec::default(), from_empty());
    assert_eq!(VerificationSpec::default(), from_empty());
    assert_eq!(RollbackSpec::default(), from_empty());
    assert_eq!(HttpsRedirectCheck::default(), from_empty());
    assert_eq!(SecurityHeadersCheck::default(), from_empty());
}

/// What a Secret would give the operator: its keys and values, from data or stringData.
fn secret_values(secret: &Secret) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = secret.string_data.clone().unwrap_or_default();
    for (key, bytes) in secret.data.iter().flatten() {
        values.insert(key.clone(), String::from_utf8_lossy(&bytes.0).into_owned());
    }
    values
}

#[test]
fn example_secrets_meet_their_checklists_with_fake_values() {
    for app in EXAMPLES {
        let checklist: DeploymentChecklist = read_yaml(&format!("examples/{app}.yaml"));
        let secrets: Vec<Secret> = read_yaml_documents(&format!("examples/{app}-secret.yaml"));
        for contract in &checklist.spec.secrets {
            let secret = secrets
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(contract.secret_name.as_str()))
                .unwrap_or_else(|| panic!("{app}: no Secret {}", contract.secret_name));
            let values = secret_values(secret);
            for rule in &contract.keys {
                let Some(value) = values.get(&rule.name) else {
                    assert!(rule.optional, "{app}: {} is required", rule.name);
                    continue;
                };
                let min = rule.min_length.unwrap_or(1);
                assert!(
                    value.len() >= usize::try_from(min).expect("positive"),
                    "{app}: {} is shorter than {min}",
                    rule.name
                );
                // A literal prefix after '^' is the usual pattern; the operator checks the rest.
                if let Some(prefix) = rule.pattern.as_deref().and_then(|p| p.strip_prefix('^'))
                    && prefix
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_:/-".contains(c))
                {
                    assert!(
                        value.starts_with(prefix),
                        "{app}: {} must start with {prefix}",
                        rule.name
                    );
                }
                assert!(
                    value.to_ascii_lowercase().contains("fake"),
                    "{app}: {} must be obviously fake",
                    rule.name
                );
            }
        }
    }
}

#[test]
fn invalid_corpus_names_the_expected_error_of_each_manifest() {
    let dir = repo_path("tests/invalid");
    let mut count = 0;
    for entry in fs::read_dir(&dir).expect("tests/invalid exists") {
        let path = entry.expect("readable entry").path();
        let text = fs::read_to_string(&path).expect("readable file");
        let expect = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: first line must be '# expect: ...'", path.display()));
        assert!(!expect.trim().is_empty(), "{}", path.display());
        let manifest: Value = serde_norway::from_str(&text).expect("valid YAML");
        assert_eq!(
            manifest["apiVersion"],
            "checklist.dev/v1alpha1",
            "{}",
            path.display()
        );
        assert_eq!(
            manifest["kind"],
            "DeploymentChecklist",
            "{}",
            path.display()
        );
        count += 1;
    }
    assert!(count >= 20, "at least 20 invalid manifests, found {count}");
}

#[test]
fn status_serializes_with_camel_case_names_and_a_printable_score() {
    use checklist_operator::api::{
        CheckResult, CheckStatus, DeploymentChecklistStatus, Phase, Score,
    };
    let status = DeploymentChecklistStatus {
        observed_generation: Some(3),
        phase: Some(Phase::Ready),
        checks: vec![CheckStatus {
            name: "health".into(),
            kind: CheckKind::Http,
            severity: Default::default(),
            category: None,
            dry_run: false,
            result: CheckResult::Pass,
            message: Some("status 200".into()),
            latency_ms: Some(12),
            attempts: Some(1),
            last_run: None,
        }],
        score: Some(Score::new(11, 12)),
        message: Some("verification passed: 11/12".into()),
        ..DeploymentChecklistStatus::default()
    };
    let value = serde_json::to_value(&status).expect("serializes");
    assert_eq!(
        value,
        json!({
            "observedGeneration": 3,
            "phase": "Ready",
            "checks": [{"name": "health", "kind": "http", "result": "Pass",
                        "message": "status 200", "latencyMs": 12, "attempts": 1}],
            "score": {"passed": 11, "total": 12, "summary": "11/12"},
            "message": "verification passed: 11/12"
        })
    );
    let back: DeploymentChecklistStatus = serde_json::from_value(value).expect("deserializes");
    assert_eq!(back, status);
}
