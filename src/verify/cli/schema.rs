//! The CRD's own openAPIV3Schema applied to a checklist file, so `verify` refuses what the API
//! server refuses: ranges, lengths, patterns, enums, required fields, list and map sizes.
//!
//! The schema is the one `checklist-operator crd` prints, so the two cannot drift apart. It is
//! evaluated by the `jsonschema` crate, which ignores the `x-kubernetes-*` keywords: list types
//! (the uniqueness of list-map keys) are not checked here, and the CEL rules of
//! `x-kubernetes-validations` are re-stated in Rust in `rules`. Patterns run on the `regex`
//! crate (linear time, like the API server's RE2), not on a backtracking engine.

use std::fmt::Write as _;

use jsonschema::{
    PatternOptions, ValidationError,
    error::{TypeKind, ValidationErrorKind},
    paths::LocationSegment,
};
use serde_json::Value;

use crate::{api::crd::crd, text::line};

/// Every way `document` breaks the CRD's schema, each as `field.path: what is wrong`, in the
/// order of the document; empty when it conforms.
pub fn problems(document: &Value) -> Vec<String> {
    let validator = match validator() {
        Ok(validator) => validator,
        Err(problem) => return vec![problem.clone()],
    };
    // JSON quoting escapes C0 controls only: a C1 control or a bidi override the schema refused,
    // in a value or a map key of the path, must not reach the terminal of the person reading why.
    validator
        .iter_errors(document)
        .map(|e| line(&describe(&e), usize::MAX))
        .collect()
}

/// The CRD's schema compiled once per process: the operator validates every checklist that
/// uses templates on every reconcile, and compiling the whole schema costs more than using it.
fn validator() -> &'static Result<jsonschema::Validator, String> {
    static VALIDATOR: std::sync::OnceLock<Result<jsonschema::Validator, String>> =
        std::sync::OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema = openapi_schema()?;
        jsonschema::options()
            .with_pattern_options(PatternOptions::regex())
            .build(&schema)
            .map_err(|e| format!("the CRD's schema does not compile: {e}"))
    })
}

fn openapi_schema() -> Result<Value, String> {
    let crd = crd();
    let schema = crd
        .spec
        .versions
        .first()
        .and_then(|v| v.schema.as_ref())
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .ok_or("the CRD has no schema")?;
    serde_json::to_value(schema).map_err(|e| format!("the CRD's schema does not serialize: {e}"))
}

/// `spec.verification.intervalSeconds: 2147483647 is above the maximum 3600`.
fn describe(error: &ValidationError<'_>) -> String {
    let path = field_path(error);
    let value = shown(error.instance());
    let what = match error.kind() {
        ValidationErrorKind::Maximum { limit } => format!("{value} is above the maximum {limit}"),
        ValidationErrorKind::Minimum { limit } => format!("{value} is below the minimum {limit}"),
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("{value} must be below {limit}")
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("{value} must be above {limit}")
        }
        ValidationErrorKind::MaxLength { limit } => format!(
            "{value} is {} characters long, over the maximum {limit}",
            chars(error.instance())
        ),
        ValidationErrorKind::MinLength { limit } => {
            format!("{value} is shorter than the minimum {limit} characters")
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("{value} does not match the pattern {pattern}")
        }
        ValidationErrorKind::Enum { options } => format!("{value} is not one of {options}"),
        ValidationErrorKind::MaxItems { limit } => format!(
            "has {} items, more than the maximum {limit}",
            count(error.instance())
        ),
        ValidationErrorKind::MinItems { limit } => format!(
            "has {} items, fewer than the minimum {limit}",
            count(error.instance())
        ),
        ValidationErrorKind::MaxProperties { limit } => format!(
            "has {} entries, more than the maximum {limit}",
            count(error.instance())
        ),
        ValidationErrorKind::Type {
            kind: TypeKind::Single(kind),
        } => format!("invalid type: {value}, expected {kind}"),
        ValidationErrorKind::Required { property } => {
            let property = property.as_str().unwrap_or_default();
            return format!("{}: is required", join(&path, property));
        }
        _ => error.to_string(),
    };
    if path.is_empty() {
        what
    } else {
        format!("{path}: {what}")
    }
}

/// The instance path as people write it: `spec.verification.checks[0].http.path`, with
/// `["checks.database.status"]` for a key that is not a plain name.
fn field_path(error: &ValidationError<'_>) -> String {
    let mut out = String::new();
    for segment in error.instance_path().iter() {
        match segment {
            LocationSegment::Index(index) => {
                let _ = write!(out, "[{index}]");
            }
            LocationSegment::Property(name) => out = join(&out, &name),
        }
    }
    out
}

fn join(path: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => name.to_string(),
        (false, true) => format!("{path}.{name}"),
        (_, false) => format!("{path}[{}]", Value::String(name.to_string())),
    }
}

/// A value for a message: numbers as they are, strings quoted and cut at 80 characters.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() > 80 => {
            let cut: String = s.chars().take(80).collect();
            format!("{}…", Value::String(cut))
        }
        Value::Array(_) | Value::Object(_) => "the value".to_string(),
        other => other.to_string(),
    }
}

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

fn count(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.len(),
        Value::Object(members) => members.len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn checklist(verification: Value) -> Value {
        json!({
            "apiVersion": "checklist.dev/v1alpha1",
            "kind": "DeploymentChecklist",
            "metadata": {"name": "demo"},
            "spec": {"app": {"image": "registry.example/demo:1.0.0"}, "verification": verification},
        })
    }

    #[test]
    fn a_valid_checklist_has_no_problems() {
        let valid = checklist(json!({
            "url": "http://127.0.0.1:8080",
            "checks": [{"name": "health", "http": {"path": "/health", "expectJSON": {"status": "ok"}}}],
        }));
        assert_eq!(problems(&valid), Vec::<String>::new());
    }

    #[test]
    fn ranges_lengths_patterns_and_enums_name_the_field() {
        let table = [
            (
                json!({"intervalSeconds": 2147483647}),
                "spec.verification.intervalSeconds: 2147483647 is above the maximum 3600",
            ),
            (
                json!({"checks": [{"name": "x", "rateLimit": {"path": "/", "attempts": 100000}}]}),
                "spec.verification.checks[0].rateLimit.attempts: 100000 is above the maximum 100",
            ),
            (
                json!({"checks": [{"name": "x", "http": {"path": "/", "expectStatus": [999]}}]}),
                "spec.verification.checks[0].http.expectStatus[0]: 999 is above the maximum 599",
            ),
            (
                json!({"checks": [{"name": "x", "http": {"path": ":18081/ok"}}]}),
                "spec.verification.checks[0].http.path: \":18081/ok\" does not match the pattern",
            ),
            (
                json!({"checks": [{"name": "x", "http": {"path": "//evil.example/x"}}]}),
                "spec.verification.checks[0].http.path: \"//evil.example/x\" does not match",
            ),
            (
                json!({"checks": [{"name": "x", "http": {"path": "/", "method": "TRACE"}}]}),
                "spec.verification.checks[0].http.method: \"TRACE\" is not one of",
            ),
            (
                json!({"checks": [{"name": "x", "http": {"path": "/", "expectJSON": {"status": "x".repeat(2000)}}}]}),
                "spec.verification.checks[0].http.expectJSON.status: \"xxxx",
            ),
            (
                json!({"checks": [{"name": "x", "http": {"path": "/", "headers": [
                    {"name": "X", "valueFrom": {"secretKeyRef": {"name": "../etc", "key": "hostname"}}}
                ]}}]}),
                "spec.verification.checks[0].http.headers[0].valueFrom.secretKeyRef.name: \"../etc\" does not match",
            ),
            (
                json!({"checks": [{"name": "x", "http": {"path": "/", "headers": [
                    {"name": "X", "valueFrom": {"secretKeyRef": {"name": "token", "key": "../../hostname"}}}
                ]}}]}),
                "secretKeyRef.key: \"../../hostname\" does not match",
            ),
            (
                json!({"checks": [{"name": "x", "http": {}}]}),
                "spec.verification.checks[0].http.path: is required",
            ),
        ];
        for (verification, expected) in table {
            let found = problems(&checklist(verification.clone()));
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "{verification}: expected {expected:?} in {found:?}"
            );
        }
    }

    /// The schema refuses control and bidi characters where people read the text, and the
    /// message names the field without writing the character back.
    #[test]
    fn control_and_bidi_characters_are_refused_and_not_echoed() {
        let mut document = checklist(json!({"checks": [{"name": "x", "http": {
            "path": "/health\u{9b}",
            "headers": [{"name": "X-Probe", "value": "a\u{1b}]52;c;cm0gLXJm\u{7}"}],
            "expectJSON": {"status": "ok\u{202e}"},
        }}]}));
        document["spec"]["app"]["image"] = json!("ghcr.io/acme/app:1.0\u{2066}");
        let found = problems(&document);
        let mut fields: Vec<&str> = found.iter().filter_map(|p| p.split(": ").next()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "spec.app.image",
                "spec.verification.checks[0].http.expectJSON.status",
                "spec.verification.checks[0].http.headers[0].value",
                "spec.verification.checks[0].http.path",
            ],
            "{found:?}"
        );
        assert!(found.iter().all(|p| crate::text::is_clean(p)), "{found:?}");
    }

    #[test]
    fn keys_that_are_not_plain_names_are_quoted_in_the_path() {
        let long = "x".repeat(2000);
        let found = problems(&checklist(json!({"checks": [{"name": "x", "http": {
            "path": "/", "expectJSON": {"checks.database.status": long}
        }}]})));
        assert!(
            found[0].starts_with(
                "spec.verification.checks[0].http.expectJSON[\"checks.database.status\"]: "
            ),
            "{found:?}"
        );
        assert!(
            found[0].ends_with("is 2000 characters long, over the maximum 1024"),
            "{found:?}"
        );
    }
}
