//! Small pieces shared by the API modules: serde default functions and schemas used by more than
//! one field.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::json;

/// The pattern of a check's path: `/` then anything but a second `/`, and never a backslash, a
/// blank or a control character, so that appended to the verification URL it cannot name a host
/// (`//evil.example/x`, `/\evil.example/x`) or a port (`:18081/ok` does not start with `/`).
/// Written with `\x00-\x20` rather than `\s`, which means ASCII blanks to the API server (RE2)
/// but every Unicode blank to other engines.
pub(crate) const CHECK_PATH_PATTERN: &str = r"^/([^/\\\x00-\x20\x7f][^\\\x00-\x20\x7f]*)?$";

/// A serde default for integer fields; `int::<600>` keeps the value next to the field it defaults.
pub(crate) fn int<const N: i32>() -> i32 {
    N
}

/// A serde default for boolean fields that default to true.
pub(crate) fn yes() -> bool {
    true
}

/// Whether a boolean is false; lets optional flags stay out of serialized YAML when unset.
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}

/// The schema of a container image reference: a tag or a digest is required, because a checklist
/// records the exact image it verified and rolls back to it.
///
/// Shared by `spec.app.image` and `spec.migration.image`. The CEL rules work on the part after the
/// last `/`, so a registry port (`localhost:5000/app`) is not mistaken for a tag.
pub(crate) fn image_reference(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = String::json_schema(generator);
    schema.insert("minLength".into(), 1.into());
    // Bounds the cost of the CEL rules below; real references stay far below it.
    schema.insert("maxLength".into(), 512.into());
    schema.insert("pattern".into(), r"^\S+$".into());
    schema.insert(
        "x-kubernetes-validations".into(),
        json!([
            {
                "rule": "self.contains('@') || self.substring(self.lastIndexOf('/') + 1).contains(':')",
                "message": "must name a tag or a digest, e.g. ghcr.io/acme/app:1.4.2 or ghcr.io/acme/app@sha256:<64 hex digits>"
            },
            {
                "rule": "!self.contains('@') || self.matches('^[^@]+@sha256:[a-f0-9]{64}$')",
                "message": "has a malformed digest: expected @sha256: followed by 64 lower-case hex digits"
            },
            {
                "rule": "self.contains('@') || !self.endsWith(':latest')",
                "message": "must not use the tag 'latest' without a digest: rollback needs an image that cannot change"
            }
        ]),
    );
    schema
}
