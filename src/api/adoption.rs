//! `spec.app.adopt` and `spec.app.podLabels`: handing a running Deployment over to the checklist
//! without restarting its pods or losing a request.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::schema;

/// A running Deployment of the checklist's namespace that this checklist replaces (see
/// spec.app.adopt).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdoptSpec {
    /// The name of the Deployment whose pods serve until a revision of this checklist is
    /// Ready. Its pods are never restarted or changed: the checklist starts pods of its own
    /// beside them, carrying spec.app.podLabels, so every Service that selects the old pods
    /// selects the new ones too. Required.
    #[schemars(length(min = 1, max = 253), regex(pattern = schema::DNS_SUBDOMAIN_PATTERN))]
    pub deployment: String,

    /// What happens to that Deployment once a revision of the checklist is Ready: ScaleDown
    /// (default) sets its replicas to 0 and leaves it in place, annotated with the replicas it
    /// had, so `kubectl scale` brings it back; Delete removes it and its pods. Nothing happens
    /// to it before: a first revision that fails has its own pods removed (with automatic
    /// rollback on for that failure), so the old pods serve alone.
    #[serde(default)]
    pub after_ready: AfterReady,
}

/// What happens to an adopted Deployment once the checklist is Ready.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum AfterReady {
    /// Scale it to 0 replicas and leave it in place.
    #[default]
    ScaleDown,
    /// Delete it; its pods go with it.
    Delete,
}

/// status.adoption: how the hand-over of spec.app.adopt's Deployment stands.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdoptionStatus {
    /// The adopted Deployment.
    pub deployment: String,
    /// Whether its pods have been handed over: it was scaled to 0 or deleted after a revision
    /// of the checklist was Ready. Once true, the operator never touches it again.
    #[serde(default, skip_serializing_if = "schema::is_false")]
    pub handed_over: bool,
    /// When it was handed over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
    /// What happened or what the hand-over waits for, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Label keys the operator sets on the app's pods itself, which spec.app.podLabels may not set.
pub const RESERVED_POD_LABELS: [&str; 6] = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    "pod-template-hash",
];

/// The schema of spec.app.podLabels: at most 16 labels, keys and values as Kubernetes accepts
/// them, none of the keys the operator sets itself.
pub(crate) fn pod_labels_schema(_: &mut SchemaGenerator) -> Schema {
    let reserved = RESERVED_POD_LABELS
        .iter()
        .map(|key| format!("'{key}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let schema = json!({
        "type": "object",
        "maxProperties": 16,
        "additionalProperties": {
            "type": "string",
            "maxLength": 63,
            "pattern": "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$",
        },
        "x-kubernetes-validations": [
            {
                "rule": format!("!self.exists(k, k.matches(r'{}'))", schema::ONE_LINE_REFUSED),
                "message": format!("spec.app.podLabels: {}", schema::KEY_CHARACTERS_MESSAGE),
            },
            {
                "rule": "self.all(k, size(k) <= 317 && k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))",
                "message": "spec.app.podLabels: every key must be a label key: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            },
            {
                "rule": format!("!self.exists(k, k in [{reserved}] || k.startsWith('checklist.dev/'))"),
                "message": "spec.app.podLabels may not set a label the operator sets itself: app.kubernetes.io/name, instance, component, managed-by, version, checklist.dev/* or pod-template-hash",
            },
        ],
    });
    Schema::try_from(schema).unwrap_or_default()
}
