//! Small pieces shared by the API modules: serde default functions and schemas used by more than
//! one field.

use schemars::{Schema, SchemaGenerator};
use serde_json::json;

/// A string a person reads on one line: no control character (C0, DEL, C1: `\p{Cc}`), no format
/// character (`\p{Cf}`: the bidi embeddings, overrides, isolates and marks, zero-width characters,
/// the byte order mark) and no line or paragraph separator. A terminal acts on the first kind (ESC
/// starts an escape sequence, OSC 52 writes the clipboard); the others reorder, hide or break the
/// text around them, so a name could read as another. Unicode categories mean the same to the API
/// server (Go's RE2) and to `verify` (the regex crate); `\s` would not, and an escape such as
/// `\u202E` is not RE2 syntax.
pub(crate) const ONE_LINE_PATTERN: &str = r"^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$";

/// Text that may span lines (a PromQL query, text a body must contain): [`ONE_LINE_PATTERN`] with
/// tab, line feed and carriage return allowed, each of which a person's screen shows as a blank.
pub(crate) const TEXT_PATTERN: &str =
    r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\p{Cf}\p{Zl}\p{Zp}]*$";

/// A string without blanks (`\p{Z}`: spaces of every kind and line separators), control or format
/// characters: an image reference, a URL.
pub(crate) const NO_BLANK_PATTERN: &str = r"^[^\p{Z}\p{Cc}\p{Cf}]+$";

/// A map key holding a character [`ONE_LINE_PATTERN`] refuses, for the CEL rule on the keys of a
/// map (structural schemas cannot give keys a pattern). A CEL raw string, so RE2 reads it as is.
pub(crate) const ONE_LINE_REFUSED: &str = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]";

/// The pattern of a check's path: `/` then anything but a second `/`, and never a backslash, a
/// blank, a control or a format character, so that appended to the verification URL it cannot
/// name a host (`//evil.example/x`, `/\evil.example/x`) or a port (`:18081/ok` does not start
/// with `/`), and reads in a message as what is requested.
pub(crate) const CHECK_PATH_PATTERN: &str = r"^/([^/\\\p{Z}\p{Cc}\p{Cf}][^\\\p{Z}\p{Cc}\p{Cf}]*)?$";

/// The pattern of a probe's path: `/` then no blank, control or format character.
pub(crate) const PROBE_PATH_PATTERN: &str = r"^/[^\p{Z}\p{Cc}\p{Cf}]*$";

/// A Kubernetes object name that is a DNS subdomain (RFC 1123), as Secret names are.
pub(crate) const DNS_SUBDOMAIN_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// A key of a Secret's data as the API server allows it: letters, digits, `-`, `_` and `.`, but
/// not `.`, `..` or anything starting with `..`, so it can never step out of a mounted folder.
pub(crate) const SECRET_KEY_PATTERN: &str = r"^\.?[-_a-zA-Z0-9][-._a-zA-Z0-9]*$";

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

/// The schema of a `secretKeyRef` read by the operator: core's SecretKeySelector with the
/// bounds the API server applies to real Secret names and keys, which core's schema leaves out.
pub(crate) fn secret_key_selector(_: &mut SchemaGenerator) -> Schema {
    let schema = json!({
        "description": "The Secret and key holding the value. Example: {name: probe-token, key: header}.",
        "type": "object",
        "required": ["name", "key"],
        "properties": {
            "name": {
                "description": "The name of the Secret in the checklist's namespace: a DNS subdomain of at most 253 characters. Required.",
                "type": "string",
                "minLength": 1,
                "maxLength": 253,
                "pattern": DNS_SUBDOMAIN_PATTERN,
            },
            "key": {
                "description": "The key in the Secret's data: letters, digits, -, _ and ., at most 253 characters, not starting with '..'. Required.",
                "type": "string",
                "minLength": 1,
                "maxLength": 253,
                "pattern": SECRET_KEY_PATTERN,
            },
            "optional": {
                "description": "Accepted for compatibility with core's SecretKeySelector; a missing Secret or key skips the check either way.",
                "type": "boolean",
            },
        },
    });
    Schema::try_from(schema).unwrap_or_default()
}

/// What the CEL rule on a map's keys says of a key [`ONE_LINE_PATTERN`] would refuse.
pub(crate) const KEY_CHARACTERS_MESSAGE: &str =
    "no key may hold a control, format (bidi, zero-width) or line-separator character";

/// The schema of a map of strings whose keys and values are both bounded: `maxProperties`
/// entries, values of at most `value_max` bytes on one line, keys of at most `key_max`
/// characters on one line (CEL rules: structural schemas cannot bound keys otherwise).
pub(crate) fn bounded_string_map(
    max_properties: u64,
    key_max: u64,
    value_max: u64,
    field: &str,
) -> Schema {
    let schema = json!({
        "type": "object",
        "maxProperties": max_properties,
        "additionalProperties": {"type": "string", "maxLength": value_max, "pattern": ONE_LINE_PATTERN},
        "x-kubernetes-validations": [
            {
                "rule": format!("self.all(k, size(k) <= {key_max})"),
                "message": format!("{field}: every key must be at most {key_max} characters"),
            },
            {
                "rule": format!("!self.exists(k, k.matches(r'{ONE_LINE_REFUSED}'))"),
                "message": format!("{field}: {KEY_CHARACTERS_MESSAGE}"),
            },
        ],
    });
    Schema::try_from(schema).unwrap_or_default()
}

/// `spec.verification.checks[].http.expectJSON`: 32 keys of at most 256 characters (the
/// longest path the JSON reader accepts), values of at most 1024 bytes.
pub(crate) fn expect_json_map(_: &mut SchemaGenerator) -> Schema {
    bounded_string_map(32, 256, 1024, "expectJSON")
}

/// `spec.verification.checks[].securityHeaders.values`: 32 header names of at most 256
/// characters, values of at most 8192 bytes (as request header values).
pub(crate) fn header_values_map(_: &mut SchemaGenerator) -> Schema {
    bounded_string_map(32, 256, 8192, "securityHeaders.values")
}

/// The schema of `securityHeaders.patterns`: at most 32 header names, patterns of at most 1024
/// characters.
pub(crate) fn header_patterns_map(_: &mut SchemaGenerator) -> Schema {
    bounded_string_map(32, 256, 1024, "securityHeaders.patterns")
}

/// The schema of a base URL the checks are sent to (`spec.verification.url`, `previewURL`,
/// `canaryURL`): an absolute http:// or https:// URL without query or fragment.
pub(crate) fn base_url(_: &mut SchemaGenerator) -> Schema {
    let schema = json!({
        "type": "string",
        "minLength": 1,
        "maxLength": 2048,
        "pattern": NO_BLANK_PATTERN,
        "x-kubernetes-validations": [{
            "rule": "isURL(self) && self.matches(r'^https?://[^/?#\\s]+(/[^?#\\s]*)?$')",
            "message": "must be an absolute http:// or https:// URL without query or fragment, e.g. https://dialectic.example.com"
        }],
    });
    Schema::try_from(schema).unwrap_or_default()
}

#[cfg(test)]
mod tests;

/// Where the spec embeds a core/v1 (or autoscaling/v2) type as it is, with its upstream schema:
/// the API server validates those values when the operator writes the pods, the budget or the
/// autoscaler, and the operator never shows them to a person, so the spec-wide rules on our own
/// strings and lists do not apply to them.
#[cfg(test)]
pub(crate) const EMBEDDED_CORE_TYPES: [&str; 16] = [
    ".env[]",
    ".resources",
    "secretKeyRef",
    "ecurityContext.",
    ".affinity",
    ".tolerations",
    ".topologySpreadConstraints",
    "olumeMounts",
    ".volumes[].secret.",
    ".volumes[].configMap.",
    ".volumes[].emptyDir.",
    ".volumes[].persistentVolumeClaim.",
    ".preStop",
    ".autoscaling.metrics",
    ".imagePullSecrets",
    ".nodeSelector",
];
