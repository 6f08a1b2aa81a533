//! Check templates: checks a platform team writes once and many checklists use by name, with
//! parameters. `ChecklistTemplate` serves its own namespace, `ClusterChecklistTemplate` every
//! namespace (as Argo Rollouts' ClusterAnalysisTemplate and Flagger's MetricTemplate do).
//!
//! A template's checks are stored as written, placeholders and all, and only become checks when
//! a checklist names the template: `{{params.host}}` may stand for a number (a latency budget) as
//! well as for text, which a typed schema could not hold. They are validated then, with the
//! checklist's own rules, and a template that does not resolve changes nothing.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResource;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::schema::ONE_LINE_PATTERN;

/// The most templates one checklist names.
pub const MAX_TEMPLATE_REFS: usize = 8;

/// The most parameters a template declares (and a reference passes).
pub const MAX_PARAMETERS: usize = 16;

/// The longest value a parameter takes, in characters.
pub const MAX_PARAMETER_CHARS: usize = 1024;

/// Checks a team writes once, used by the checklists of its namespace by name
/// (spec.verification.templates with kind ChecklistTemplate).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "checklist.dev",
    version = "v1alpha1",
    kind = "ChecklistTemplate",
    plural = "checklisttemplates",
    shortname = "clt",
    namespaced,
    derive = "PartialEq",
    printcolumn(
        name = "Description",
        type_ = "string",
        json_path = ".spec.description"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "Checks written once for the checklists of this namespace: a checklist names the template in spec.verification.templates and passes its parameters. A change here re-verifies the checklists using it at their next round; it never rolls their pods."
)]
pub struct ChecklistTemplateSpec {
    /// The template's checks and parameters.
    #[serde(flatten)]
    pub template: TemplateSpec,
}

/// Checks a platform team writes once for every namespace (spec.verification.templates with kind
/// ClusterChecklistTemplate).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "checklist.dev",
    version = "v1alpha1",
    kind = "ClusterChecklistTemplate",
    plural = "clusterchecklisttemplates",
    shortname = "cclt",
    derive = "PartialEq",
    printcolumn(
        name = "Description",
        type_ = "string",
        json_path = ".spec.description"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "Checks written once for every namespace: a checklist names the template in spec.verification.templates (kind ClusterChecklistTemplate) and passes its parameters. A change here re-verifies the checklists using it at their next round; it never rolls their pods."
)]
pub struct ClusterChecklistTemplateSpec {
    /// The template's checks and parameters.
    #[serde(flatten)]
    pub template: TemplateSpec,
}

/// What both kinds of template hold.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSpec {
    /// What the template checks, for the people choosing it. At most 512 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    #[schemars(regex(pattern = r"^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$"))]
    pub description: Option<String>,

    /// The parameters the checks use as {{params.<name>}}, each with an optional default. A
    /// checklist must pass every parameter without a default, and no other. At most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub parameters: Vec<TemplateParameter>,

    /// The checks, written as in spec.verification.checks of a checklist (name, severity,
    /// category, dryRun and one kind). Any string may hold {{params.<name>}}: within text it is
    /// replaced by the value; a string that is only the placeholder takes the value with its type,
    /// so a number parameter can set a budget (maxLatencyMs: "{{params.maxLatencyMs}}"). Checked
    /// against the checklist's rules when a checklist uses the template. At least 1, at most 32.
    #[schemars(schema_with = "template_checks")]
    pub checks: Vec<serde_json::Value>,
}

/// One parameter of a template.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateParameter {
    /// The parameter's name, as the checks write it in {{params.<name>}}: a letter, then letters,
    /// digits or underscores, at most 63 characters. Required. Example: host.
    #[schemars(length(min = 1, max = 63))]
    #[schemars(regex(pattern = r"^[A-Za-z][A-Za-z0-9_]*$"))]
    pub name: String,

    /// What the parameter is for. At most 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    #[schemars(regex(pattern = r"^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$"))]
    pub description: Option<String>,

    /// The value used when a checklist passes none: a string of at most 1024 characters or an
    /// integer. Default: none, so every checklist must pass one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "parameter_value")]
    pub default: Option<IntOrString>,
}

/// Which kind of template a checklist names.
#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    JsonSchema,
)]
pub enum TemplateKind {
    /// A ChecklistTemplate in the checklist's own namespace.
    #[default]
    ChecklistTemplate,
    /// A ClusterChecklistTemplate, shared by every namespace.
    ClusterChecklistTemplate,
}

impl std::fmt::Display for TemplateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ChecklistTemplate => "ChecklistTemplate",
            Self::ClusterChecklistTemplate => "ClusterChecklistTemplate",
        })
    }
}

/// A template a checklist uses: its checks join spec.verification.checks.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRef {
    /// The template's name. Required. Example: web-baseline.
    #[schemars(length(min = 1, max = 253))]
    #[schemars(regex(
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub name: String,

    /// ChecklistTemplate (the default: one in this namespace) or ClusterChecklistTemplate.
    #[serde(default)]
    pub kind: TemplateKind,

    /// Put before each of the template's check names (api- makes health api-health), so one
    /// template can be used twice with other parameters. A lower-case DNS label start of at most
    /// 20 characters. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 20))]
    #[schemars(regex(pattern = r"^[a-z0-9][-a-z0-9]*$"))]
    pub prefix: Option<String>,

    /// The values of the template's parameters, by name: strings of at most 1024 characters or
    /// integers. Example: {host: shop.example.com, maxLatencyMs: 300}.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "parameter_values")]
    pub parameters: BTreeMap<String, IntOrString>,
}

impl TemplateRef {
    /// `ClusterChecklistTemplate web-baseline`, as messages name it.
    pub fn shown(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }
}

/// A template a checklist uses, as last resolved.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateStatus {
    /// ChecklistTemplate or ClusterChecklistTemplate.
    pub kind: TemplateKind,
    /// The template's name.
    #[schemars(length(max = 253))]
    pub name: String,
    /// The template's metadata.generation that was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// The names of the checks it gave, as they appear in status.checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub checks: Vec<String>,
}

fn parameter_value(_: &mut SchemaGenerator) -> Schema {
    value_schema(
        "The value used when a checklist passes none: a string of at most 1024 characters or an integer. Default: none, so every checklist must pass one.",
    )
}

fn value_schema(description: &str) -> Schema {
    let schema = json!({
        "description": description,
        "x-kubernetes-int-or-string": true,
        "maxLength": MAX_PARAMETER_CHARS,
        "pattern": ONE_LINE_PATTERN,
    });
    schema_of(schema)
}

fn parameter_values(_: &mut SchemaGenerator) -> Schema {
    let values = value_schema("A parameter's value.");
    let schema = json!({
        "description": "The values of the template's parameters, by name: strings of at most 1024 characters or integers. Example: {host: shop.example.com, maxLatencyMs: 300}.",
        "type": "object",
        "maxProperties": MAX_PARAMETERS,
        "additionalProperties": values,
    });
    schema_of(schema)
}

fn template_checks(_: &mut SchemaGenerator) -> Schema {
    let schema = json!({
        "description": "The checks, written as in spec.verification.checks of a checklist (name, severity, category, dryRun and one kind). Any string may hold {{params.<name>}}: within text it is replaced by the value; a string that is only the placeholder takes the value with its type, so a number parameter can set a budget (maxLatencyMs: \"{{params.maxLatencyMs}}\"). Checked against the checklist's rules when a checklist uses the template. At least 1, at most 32.",
        "type": "array",
        "minItems": 1,
        "maxItems": 32,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": {
            "type": "object",
            "required": ["name"],
            "x-kubernetes-preserve-unknown-fields": true,
            "properties": {
                "name": {
                    "description": "The check's name, unique in the template: a lower-case DNS label of at most 63 characters (placeholders are not replaced in it).",
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 63,
                    "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                },
            },
        },
    });
    schema_of(schema)
}

fn schema_of(value: serde_json::Value) -> Schema {
    // Invariant: every literal above is a JSON object, which is what a Schema wraps.
    Schema::try_from(value).unwrap_or_default()
}
