//! The revision hash: a short name for "what runs", so a changed check never redeploys the app.
//!
//! The hash covers exactly the inputs of the app's pod template and of the migration Job:
//!
//! - `spec.app` except `replicas`, `service`, `disruptionBudget`, `autoscaling` and `adopt`: image,
//!   port, env, command, args, resources, volumes, containers, scheduling, pod labels,
//!   restartedAt;
//! - the names of the injected Secrets (`inject: true`), in order, since they become `envFrom`;
//! - `spec.probes`;
//! - `spec.migration.command` and `spec.migration.image`.
//!
//! Everything else is left out on purpose: replicas (scaling, and the emergency stop at 0, must
//! not roll pods or rerun a migration), the Service, the secret key rules and Secrets that are
//! only checked, the migration's timeout, retries and down-migration, and the rollout,
//! verification, rollback and suspend settings. Changing those re-evaluates the checklist but
//! keeps the revision, its pods and its finished migration Job. So one revision always means one
//! pod template, which is what lets a rollback restore a revision by its hash.
//!
//! The Secrets' values are not in the hash. The resourceVersions of the Secrets and ConfigMaps
//! listed in `spec.app.rollOnChange` are ([`revision_of`]): rotating one of those starts a new
//! revision; rotating any other starts nothing. Without rollOnChange the hash is the spec's
//! alone, so checklists that do not use it keep the hashes they had.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use serde::Serialize;
use sha2::{Digest, Sha256};

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::api::{
    AppSpec, DeploymentChecklistSpec, Probes, PromotedRevision, ReferenceVersion, VerificationSpec,
};

/// The annotation holding the revision hash, on the Deployment and on its pod template (so a new
/// revision rolls the pods even when nothing else in the template changed).
pub const REVISION_ANNOTATION: &str = "checklist.dev/revision";

/// The revision a Deployment's pod template carries, read back from [`REVISION_ANNOTATION`].
pub fn deployed_revision(deployment: &Deployment) -> Option<String> {
    deployment
        .spec
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(REVISION_ANNOTATION)
        .cloned()
}

/// How many hex characters of the SHA-256 name a revision: 40 bits, plenty for one app's history.
const HASH_LENGTH: usize = 10;

/// The revision of a spec: 10 lowercase hex characters of SHA-256 over the canonical JSON of the
/// parts that define what runs (see the module documentation for exactly which).
///
/// The JSON is canonical because the input is first turned into a `serde_json::Value`, whose
/// objects keep their keys sorted (a pinned test fails should a dependency ever switch on
/// serde_json's `preserve_order`), and because the API types leave unset optional fields out:
/// a new optional field in a later version of the API keeps existing hashes, so upgrading the
/// operator does not redeploy every app. A new field that always serializes would not, so any
/// such field in the hashed parts must skip serializing its default.
pub fn revision_hash(spec: &DeploymentChecklistSpec) -> String {
    revision_of(spec, &[])
}

/// The revision of a spec whose rollOnChange objects were found at `references` (see
/// [`revision_hash`]); with none, the spec's own hash.
pub fn revision_of(spec: &DeploymentChecklistSpec, references: &[ReferenceVersion]) -> String {
    Sha256::digest(canonical_json(spec, references).as_bytes())
        .iter()
        .take(HASH_LENGTH / 2)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `spec` running a version promoted from the stage it follows (spec.promotion): its image, and
/// its migration image (none: the promoted app image runs the migration, as in that stage).
pub fn promoted_spec(
    spec: &DeploymentChecklistSpec,
    promoted: &PromotedRevision,
) -> DeploymentChecklistSpec {
    let mut running = spec.clone();
    running.app.image = promoted.image.clone();
    if let Some(migration) = running.migration.as_mut() {
        migration.image = promoted.migration_image.clone();
    }
    running
}

/// The digest of what decides whether a version passes its checks: the checks (a template's
/// included, once resolved), minScore and url. A Ready version whose checks' digest is not the
/// one it passed with is verified again; changing the interval or the threshold does not.
pub fn checks_digest(verification: &VerificationSpec) -> String {
    #[derive(Serialize, Debug)]
    #[serde(rename_all = "camelCase")]
    struct Judged<'a> {
        checks: &'a [crate::api::CheckSpec],
        min_score: Option<&'a IntOrString>,
        url: Option<&'a str>,
    }
    let input = Judged {
        checks: &verification.checks,
        min_score: verification.min_score.as_ref(),
        url: verification.url.as_deref(),
    };
    // As for the revision: a Value's keys are sorted, and the Debug form is a faithful fallback.
    let text = serde_json::to_value(&input)
        .map(|value| value.to_string())
        .unwrap_or_else(|_| format!("{input:?}"));
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The hashed parts of `spec` as compact JSON with sorted keys.
fn canonical_json(spec: &DeploymentChecklistSpec, references: &[ReferenceVersion]) -> String {
    let input = RevisionInput {
        references: references
            .iter()
            .map(|r| (r.object(), r.resource_version.as_deref().unwrap_or("")))
            .collect(),
        ..RevisionInput::of(spec)
    };
    // Serializing plain data to a Value cannot fail (no maps with non-string keys); should it
    // ever, the Debug form still holds every field, so the fallback stays a faithful hash.
    serde_json::to_value(&input)
        .map(|value| value.to_string())
        .unwrap_or_else(|_| format!("{input:?}"))
}

/// The hashed parts of a spec, serialized with the API's own field names.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct RevisionInput<'a> {
    app: AppSpec,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    injected_secrets: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    probes: Option<&'a Probes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    migration: Option<MigrationInput<'a>>,
    /// `Kind/name` → resourceVersion ("" when absent) of the rollOnChange objects.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    references: BTreeMap<String, &'a str>,
}

/// What the migration Job runs.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct MigrationInput<'a> {
    command: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
}

impl<'a> RevisionInput<'a> {
    fn of(spec: &'a DeploymentChecklistSpec) -> Self {
        // Replicas, the Service, the disruption budget, the autoscaler and rollOnChange are pinned to fixed
        // values so they drop out of the hash while every other field of spec.app, present and
        // future, stays in: none of them is in the pod template.
        let app = AppSpec {
            replicas: Some(0),
            service: Default::default(),
            disruption_budget: None,
            autoscaling: None,
            // The list itself is not what runs; the versions of what it names are.
            roll_on_change: None,
            // Whom the checklist took over from is not what runs: removing it after the
            // hand-over must not roll the pods.
            adopt: None,
            ..spec.app.clone()
        };
        Self {
            app,
            injected_secrets: spec
                .secrets
                .iter()
                .filter(|secret| secret.inject)
                .map(|secret| secret.secret_name.as_str())
                .collect(),
            probes: spec.probes.as_ref(),
            migration: spec.migration.as_ref().map(|migration| MigrationInput {
                command: &migration.command,
                image: migration.image.as_deref(),
            }),
            references: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::EnvVar;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    use super::*;
    use crate::api::{SecretContract, SecretKeyRule, ServiceType};
    use crate::resources::fixtures::dialectic_spec;

    fn changed(edit: impl FnOnce(&mut DeploymentChecklistSpec)) -> bool {
        let spec = dialectic_spec();
        let mut edited = spec.clone();
        edit(&mut edited);
        revision_hash(&spec) != revision_hash(&edited)
    }

    #[test]
    fn hash_is_ten_lowercase_hex_characters_and_stable() {
        let hash = revision_hash(&dialectic_spec());
        assert_eq!(hash.len(), 10);
        assert!(
            hash.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
        assert_eq!(hash, revision_hash(&dialectic_spec()));
    }

    /// A change here redeploys every app when the operator is upgraded: only accept a new value
    /// when the hashed inputs were meant to change. The expected hash was computed apart from
    /// this code, as SHA-256 of the JSON below (Python's json.dumps with sorted keys).
    #[test]
    fn hash_is_sha256_of_the_canonical_json_and_pinned() {
        let spec: DeploymentChecklistSpec = serde_norway::from_str(
            r#"
            app:
              image: ghcr.io/acme/app:1.0.0
              replicas: 3
              env: [{name: A, value: "1"}]
              service: {port: 8000, type: NodePort}
            secrets:
              - {secretName: app-env, keys: [{name: K, minLength: 8}]}
              - {secretName: app-tls, inject: false}
            probes:
              readiness: {path: /health}
            migration:
              command: [/app/bin/migrate]
              timeoutSeconds: 60
            verification:
              checks: [{name: health, http: {path: /health}}]
            "#,
        )
        .expect("a valid spec");
        assert_eq!(
            canonical_json(&spec, &[]),
            concat!(
                r#"{"app":{"env":[{"name":"A","value":"1"}],"image":"ghcr.io/acme/app:1.0.0","#,
                r#""port":8080,"replicas":0,"service":{"port":80,"type":"ClusterIP"}},"#,
                r#""injectedSecrets":["app-env"],"migration":{"command":["/app/bin/migrate"]},"#,
                r#""probes":{"readiness":{"failureThreshold":3,"initialDelaySeconds":0,"#,
                r#""path":"/health","periodSeconds":10,"successThreshold":1,"timeoutSeconds":1}}}"#
            )
        );
        assert_eq!(revision_hash(&spec), "715b077e51");
    }

    #[test]
    fn hash_changes_with_what_runs() {
        assert!(changed(
            |s| s.app.image = "ghcr.io/acme/dialectic:1.4.3".into()
        ));
        assert!(changed(|s| s.app.port = 4000));
        assert!(changed(|s| s.app.args = vec!["start".into()]));
        assert!(changed(|s| s.app.env.push(EnvVar {
            name: "NEW".into(),
            value: Some("1".into()),
            ..EnvVar::default()
        })));
        assert!(changed(
            |s| s.app.env[0].value = Some("other.example.com".into())
        ));
        assert!(changed(|s| s.app.resources = None));
        assert!(changed(|s| {
            if let Some(probe) = s.probes.as_mut().and_then(|p| p.liveness.as_mut()) {
                probe.timeout_seconds = 10;
            }
        }));
        assert!(changed(|s| s.probes = None));
        assert!(changed(|s| s.secrets[0].inject = false));
        assert!(changed(
            |s| s.secrets[0].secret_name = "dialectic-env-v2".into()
        ));
        assert!(changed(|s| {
            if let Some(m) = s.migration.as_mut() {
                m.command = vec!["/app/bin/migrate-v2".into()];
            }
        }));
        assert!(changed(|s| {
            if let Some(m) = s.migration.as_mut() {
                m.image = Some("ghcr.io/acme/dialectic-migrations:1".into());
            }
        }));
        assert!(changed(|s| s.migration = None));
        assert!(changed(|s| {
            s.app.pod_labels.insert("app".into(), "web".into());
        }));
    }

    #[test]
    fn hash_ignores_checks_rollout_rollback_scaling_and_suspend() {
        assert!(!changed(|s| s.verification.checks.clear()));
        assert!(!changed(|s| s.verification.failure_threshold = 9));
        assert!(!changed(|s| s.rollout.progress_deadline_seconds = 60));
        assert!(!changed(|s| s.rollout.max_surge = IntOrString::Int(1)));
        assert!(!changed(|s| s.rollout.max_restarts = 0));
        assert!(!changed(|s| s.rollback.revision_history_limit = 3));
        assert!(!changed(|s| s.rollback.automatic = false));
        assert!(!changed(|s| s.suspend = true));
        assert!(!changed(|s| s.app.replicas = Some(0)));
        assert!(!changed(|s| s.app.replicas = None));
        assert!(!changed(|s| s.app.service.port = 8000));
        assert!(!changed(|s| s.app.service.type_ = ServiceType::LoadBalancer));
        assert!(!changed(|s| {
            s.app.adopt = Some(crate::api::AdoptSpec {
                deployment: "legacy".into(),
                after_ready: crate::api::AfterReady::Delete,
            })
        }));
    }

    #[test]
    fn hash_ignores_secret_key_rules_and_checked_only_secrets() {
        assert!(!changed(|s| s.secrets[0].keys[0].min_length = Some(128)));
        assert!(!changed(|s| s.secrets[0].keys.push(SecretKeyRule {
            name: "SENTRY_DSN".into(),
            min_length: None,
            pattern: None,
            optional: true,
        })));
        assert!(!changed(|s| s.secrets.push(SecretContract {
            secret_name: "mounted-tls".into(),
            inject: false,
            keys: Vec::new(),
        })));
    }

    #[test]
    fn hash_ignores_the_migration_timeout_retries_and_down_migration() {
        assert!(!changed(|s| {
            if let Some(m) = s.migration.as_mut() {
                m.timeout_seconds = 60;
                m.backoff_limit = 2;
                m.rollback = None;
            }
        }));
    }

    fn version(kind: &str, name: &str, version: Option<&str>) -> ReferenceVersion {
        ReferenceVersion {
            kind: kind.into(),
            name: name.into(),
            resource_version: version.map(String::from),
        }
    }

    #[test]
    fn the_rolled_on_objects_versions_are_in_the_hash_and_their_list_alone_is_not() {
        let spec = dialectic_spec();
        let mut listed = spec.clone();
        listed.app.roll_on_change = Some(crate::api::RollOnChange {
            secrets: vec!["api-token".into()],
            config_maps: Vec::new(),
        });
        assert_eq!(revision_hash(&listed), revision_hash(&spec));
        let at = |v: Option<&str>| revision_of(&listed, &[version("Secret", "api-token", v)]);
        assert_ne!(at(Some("812")), revision_hash(&spec), "the version is in");
        assert_ne!(
            at(Some("812")),
            at(Some("907")),
            "a rotation is another revision"
        );
        assert_ne!(
            at(Some("812")),
            at(None),
            "a missing object is another revision too"
        );
        assert_eq!(at(Some("812")), at(Some("812")));
        let as_config_map = revision_of(&listed, &[version("ConfigMap", "api-token", Some("812"))]);
        assert_ne!(
            as_config_map,
            at(Some("812")),
            "the kind is part of the name"
        );
    }
}
