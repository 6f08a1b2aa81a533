//! The generated CustomResourceDefinition: what `checklist-operator crd` prints and
//! `crds/deploymentchecklist.yaml` holds.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSON, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
    ValidationRule,
};
use kube::CustomResourceExt;

use super::spec::DeploymentChecklist;
use super::template::{ChecklistTemplate, ClusterChecklistTemplate};

/// The longest checklist name: the Service takes the name as is, and the migration Job
/// `<name>-migrate-<hash>` must stay within the 63 characters of a label value.
pub const MAX_NAME_LENGTH: usize = 40;

/// The CRD's name: `<plural>.<group>`.
pub const CRD_NAME: &str = "deploymentchecklists.checklist.dev";

/// The names of the template kinds' CRDs.
pub const TEMPLATE_CRD_NAMES: [&str; 2] = [
    "checklisttemplates.checklist.dev",
    "clusterchecklisttemplates.checklist.dev",
];

/// The DeploymentChecklist CRD, with the rule on metadata.name that only fits at the root.
pub fn crd() -> CustomResourceDefinition {
    let mut crd = DeploymentChecklist::crd();
    for root in roots(&mut crd) {
        tidy(root);
        default_status(root);
        root.x_kubernetes_validations
            .get_or_insert_with(Vec::new)
            .push(name_rule());
    }
    crd
}

/// The root schema of each version of `crd`.
fn roots(crd: &mut CustomResourceDefinition) -> impl Iterator<Item = &mut JSONSchemaProps> {
    crd.spec.versions.iter_mut().filter_map(|version| {
        version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
    })
}

/// The CRDs of the two kinds of check template (see `template`).
pub fn template_crds() -> [CustomResourceDefinition; 2] {
    let mut crds = [ChecklistTemplate::crd(), ClusterChecklistTemplate::crd()];
    for crd in &mut crds {
        roots(crd).for_each(tidy);
    }
    crds
}

/// Every CRD of the operator, as the YAML documents `checklist-operator crd` prints: the
/// DeploymentChecklist first, then the two template kinds.
pub fn crd_yaml() -> Result<String, serde_norway::Error> {
    let mut out = serde_norway::to_string(&crd())?;
    for template in template_crds() {
        out.push_str("---\n");
        out.push_str(&serde_norway::to_string(&template)?);
    }
    Ok(out)
}

/// The status a checklist reads with before the operator first writes one: phase Pending and
/// `observedGeneration: 0`, which no generation equals. kstatus (Flux, `helm --wait=watcher`)
/// reads an object with no status at all as Current, so a just-created checklist would pass every
/// GitOps health gate before the operator had looked at it; the API server applies this default
/// whenever it returns the object, so from its first second the checklist reads InProgress.
fn default_status(root: &mut JSONSchemaProps) {
    if let Some(status) = root
        .properties
        .as_mut()
        .and_then(|properties| properties.get_mut("status"))
    {
        status.default = Some(JSON(
            serde_json::json!({ "observedGeneration": 0, "phase": "Pending" }),
        ));
    }
}

fn name_rule() -> ValidationRule {
    ValidationRule {
        rule: format!(
            "size(self.metadata.name) <= {MAX_NAME_LENGTH} && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')"
        ),
        message: Some(format!(
            "metadata.name must be a DNS label of at most {MAX_NAME_LENGTH} characters starting with a letter: it names the app's Service and migration Job"
        )),
        ..ValidationRule::default()
    }
}

/// Rewrites what schemars emits into what reads and behaves best in a cluster, at every level.
///
/// `nullable: true` goes, as in CRDs made by kubebuilder: the operator leaves optional fields out
/// rather than writing null, and a null a user writes is replaced by the field's default or
/// refused with a message naming the field, never stored, so CEL rules and the operator never
/// meet a null where they expect an object, a list or a number.
/// Descriptions lose the line breaks of the Rust source, so `kubectl explain` can wrap them.
fn tidy(schema: &mut JSONSchemaProps) {
    schema.nullable = None;
    if let Some(description) = schema.description.as_mut() {
        *description = unwrap_lines(description);
    }
    for child in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        tidy(child);
    }
    match schema.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(item)) => tidy(item),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => items.iter_mut().for_each(tidy),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(values)) = schema.additional_properties.as_mut() {
        tidy(values);
    }
    for branch in [&mut schema.all_of, &mut schema.any_of, &mut schema.one_of] {
        branch.iter_mut().flatten().for_each(tidy);
    }
}

/// Joins hard-wrapped lines into one, keeping blank-line paragraphs and lines that start a list.
fn unwrap_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut previous = None;
    while let Some(c) = chars.next() {
        let joins = c == '\n'
            && previous != Some('\n')
            && !matches!(chars.peek(), None | Some('\n' | ' ' | '-' | '*'));
        out.push(if joins { ' ' } else { c });
        previous = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema at a dotted path below the root; `[]` steps into list items.
    fn schema_at<'a>(root: &'a JSONSchemaProps, path: &str) -> &'a JSONSchemaProps {
        path.split('.').fold(root, |schema, step| {
            if step == "[]" {
                match schema.items.as_ref() {
                    Some(JSONSchemaPropsOrArray::Schema(item)) => item,
                    _ => panic!("{path}: no items at {step}"),
                }
            } else {
                schema
                    .properties
                    .as_ref()
                    .and_then(|p| p.get(step))
                    .unwrap_or_else(|| panic!("{path}: no property {step}"))
            }
        })
    }

    fn root() -> JSONSchemaProps {
        crd().spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.clone())
            .expect("the CRD has a schema")
    }

    /// Calls `visit` with the path and schema of every node below `schema`.
    fn walk(path: &str, schema: &JSONSchemaProps, visit: &mut dyn FnMut(&str, &JSONSchemaProps)) {
        visit(path, schema);
        for (name, child) in schema.properties.iter().flatten() {
            walk(&format!("{path}.{name}"), child, visit);
        }
        if let Some(JSONSchemaPropsOrArray::Schema(item)) = schema.items.as_ref() {
            walk(&format!("{path}[]"), item, visit);
        }
        if let Some(JSONSchemaPropsOrBool::Schema(values)) = schema.additional_properties.as_ref() {
            walk(&format!("{path}{{}}"), values, visit);
        }
    }

    #[test]
    fn committed_crd_is_the_generated_one() {
        let committed = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/crds/deploymentchecklist.yaml"
        ))
        .expect("crds/deploymentchecklist.yaml exists");
        let generated = crd_yaml().expect("the CRD serializes");
        assert!(
            committed == generated,
            "crds/deploymentchecklist.yaml is stale: run `cargo run -q -- crd > crds/deploymentchecklist.yaml`"
        );
    }

    #[test]
    fn names_scope_columns_and_status_subresource_are_as_designed() {
        let crd = crd();
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some("deploymentchecklists.checklist.dev")
        );
        assert_eq!(crd.spec.scope, "Namespaced");
        let names = &crd.spec.names;
        assert_eq!(names.plural.as_str(), "deploymentchecklists");
        assert_eq!(
            names.short_names.clone().unwrap_or_default(),
            ["dcl", "checklist"]
        );
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some()
        );
        let columns: Vec<(&str, &str)> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| (c.name.as_str(), c.json_path.as_str()))
            .collect();
        assert_eq!(
            columns,
            [
                ("Image", ".spec.app.image"),
                ("Serving", ".status.revision.stable.image"),
                ("Phase", ".status.phase"),
                ("Rollout", ".status.rollout.summary"),
                ("Score", ".status.score.summary"),
                ("Ready", r#".status.conditions[?(@.type=="Ready")].status"#),
                ("Age", ".metadata.creationTimestamp"),
                ("Message", ".status.message"),
            ]
        );
    }

    #[test]
    fn a_new_checklist_reads_as_not_yet_observed() {
        let root = root();
        let status = schema_at(&root, "status");
        let default = status.default.as_ref().map(|d| d.0.clone());
        assert_eq!(
            default,
            Some(serde_json::json!({"observedGeneration": 0, "phase": "Pending"}))
        );
        // The default must read back as a status the operator understands.
        let read: crate::api::DeploymentChecklistStatus =
            serde_json::from_value(default.unwrap_or_default()).unwrap();
        assert_eq!(read.observed_generation, Some(0));
        assert_eq!(read.phase, Some(crate::api::Phase::Pending));
    }

    #[test]
    fn cel_rules_sit_where_their_fields_are() {
        let root = root();
        let expected = [
            ("", "metadata.name must be a DNS label"),
            (
                "spec",
                "spec.rollback.migration Run needs spec.migration.rollback.command",
            ),
            ("spec.app", "spec.app.env must not set PORT"),
            ("spec.app.image", "must name a tag or a digest"),
            ("spec.app.image", "malformed digest"),
            ("spec.app.image", "must not use the tag 'latest'"),
            ("spec.migration.image", "must name a tag or a digest"),
            ("spec.secrets.[]", "valid environment variable names"),
            (
                "spec.probes",
                "spec.probes.liveness.successThreshold must be 1",
            ),
            (
                "spec.probes",
                "spec.probes.startup.successThreshold must be 1",
            ),
            ("spec.rollout", "spec.rollout.blueGreen is only allowed"),
            ("spec.rollout", "spec.rollout.canary is only allowed"),
            (
                "spec.rollout",
                "spec.rollout.canary with its steps is required",
            ),
            ("spec.rollout", "must not both be 0"),
            ("spec.rollout.canary", "strictly increasing"),
            ("spec.verification.url", "absolute http:// or https:// URL"),
            (
                "spec.verification.checks.[]",
                "exactly one of http, httpsRedirect, securityHeaders, rateLimit, latency, prometheus or job",
            ),
            (
                "spec.verification.checks.[].http",
                "http.body needs a method",
            ),
            (
                "spec.verification.checks.[].http.headers.[]",
                "exactly one of value or valueFrom",
            ),
            (
                "spec.verification.checks.[].rateLimit.headers.[]",
                "exactly one of value or valueFrom",
            ),
            (
                "spec.verification.checks.[].httpsRedirect.httpURL",
                "absolute http:// URL",
            ),
            (
                "spec.verification.checks.[].rateLimit",
                "withinAttempts must not be greater than rateLimit.attempts",
            ),
            (
                "spec.verification.checks.[].rateLimit",
                "rateLimit.body needs a method",
            ),
        ];
        for (path, message) in expected {
            let schema = if path.is_empty() {
                &root
            } else {
                schema_at(&root, path)
            };
            let rules = schema.x_kubernetes_validations.iter().flatten();
            assert!(
                rules
                    .clone()
                    .any(|r| r.message.as_deref().is_some_and(|m| m.contains(message))),
                "{path}: no rule with message {message:?}; rules: {:?}",
                rules.map(|r| &r.rule).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn keyed_lists_are_list_maps_or_sets() {
        let root = root();
        let expected = [
            ("spec.app.env", "map", Some("name")),
            ("spec.secrets", "map", Some("secretName")),
            ("spec.secrets.[].keys", "map", Some("name")),
            ("spec.verification.checks", "map", Some("name")),
            ("spec.rollback.triggers", "set", None),
            ("status.conditions", "map", Some("type")),
            ("status.checks", "map", Some("name")),
        ];
        for (path, list_type, key) in expected {
            let schema = schema_at(&root, path);
            assert_eq!(
                schema.x_kubernetes_list_type.as_deref(),
                Some(list_type),
                "{path}"
            );
            let keys = schema
                .x_kubernetes_list_map_keys
                .clone()
                .unwrap_or_default();
            assert_eq!(keys.first().map(String::as_str), key, "{path}");
        }
    }

    #[test]
    fn every_list_of_the_spec_is_bounded_and_every_field_described() {
        let root = root();
        let mut unbounded = Vec::new();
        let mut undescribed = Vec::new();
        let mut visited = 0;
        walk("spec", schema_at(&root, "spec"), &mut |path, schema| {
            visited += 1;
            // Core types embedded as they are (EnvVar, ResourceRequirements, SecretKeySelector,
            // the security contexts) keep their upstream schema; our own fields are the ones we
            // answer for.
            let ours = !crate::api::schema::EMBEDDED_CORE_TYPES
                .iter()
                .any(|core| path.contains(core))
                && !path.contains(".ports[]");
            if ours && schema.type_.as_deref() == Some("array") && schema.max_items.is_none() {
                unbounded.push(path.to_string());
            }
            if ours
                && schema.description.as_deref().is_none_or(str::is_empty)
                && !path.ends_with("[]")
                && !path.ends_with("}")
            {
                undescribed.push(path.to_string());
            }
        });
        walk("status", schema_at(&root, "status"), &mut |path, schema| {
            let ours = !path.contains("conditions[]");
            if ours
                && schema.description.as_deref().is_none_or(str::is_empty)
                && !path.ends_with("[]")
            {
                undescribed.push(path.to_string());
            }
        });
        assert!(
            unbounded.is_empty(),
            "lists without maxItems: {unbounded:?}"
        );
        assert!(
            undescribed.is_empty(),
            "fields without a description: {undescribed:?}"
        );
    }

    #[test]
    fn strings_used_in_cel_have_a_max_length() {
        let root = root();
        for path in [
            "spec.app.image",
            "spec.migration.image",
            "spec.secrets.[].keys.[].name",
            "spec.verification.url",
            "spec.verification.checks.[].name",
            "spec.verification.checks.[].httpsRedirect.httpURL",
        ] {
            assert!(schema_at(&root, path).max_length.is_some(), "{path}");
        }
    }

    /// YAML 1.1 readers (kubectl, Helm, PyYAML) turn these unquoted words into booleans, and the
    /// YAML writer does not quote them, so none may appear as a key or a string in the CRD.
    #[test]
    fn crd_yaml_has_no_word_a_yaml_1_1_reader_turns_into_a_boolean() {
        fn check(value: &serde_json::Value, path: &str, found: &mut Vec<String>) {
            const WORDS: [&str; 8] = ["y", "n", "yes", "no", "on", "off", "true", "false"];
            let is_word = |s: &str| WORDS.contains(&s.to_ascii_lowercase().as_str());
            match value {
                serde_json::Value::Object(map) => {
                    for (key, child) in map {
                        if is_word(key) {
                            found.push(format!("{path}.{key}"));
                        }
                        check(child, &format!("{path}.{key}"), found);
                    }
                }
                serde_json::Value::Array(items) => {
                    items
                        .iter()
                        .for_each(|item| check(item, &format!("{path}[]"), found));
                }
                serde_json::Value::String(s) if is_word(s) => found.push(format!("{path} = {s}")),
                _ => {}
            }
        }
        let mut found = Vec::new();
        check(
            &serde_json::to_value(crd()).expect("serializes"),
            "",
            &mut found,
        );
        assert!(found.is_empty(), "YAML 1.1 booleans in the CRD: {found:?}");
    }

    #[test]
    fn unwrap_lines_joins_wrapped_lines_but_keeps_paragraphs_and_lists() {
        assert_eq!(unwrap_lines("one\ntwo"), "one two");
        assert_eq!(unwrap_lines("one\n\ntwo"), "one\n\ntwo");
        assert_eq!(unwrap_lines("values:\n - a\n - b"), "values:\n - a\n - b");
    }
}
