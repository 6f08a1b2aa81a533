//! A container image reference (`spec.app.image`, `spec.migration.image`): its schema in the CRD
//! and the same rules in Rust, so `kubectl checklist set image` refuses what the API server would
//! before it sends anything.

use regex::Regex;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::json;

use super::schema::NO_BLANK_PATTERN;

/// The longest reference, in characters. It bounds the cost of the CEL rules; real references
/// stay far below it.
const MAX_LENGTH: usize = 512;

const NEEDS_TAG: &str = "must name a tag or a digest, e.g. ghcr.io/acme/app:1.4.2 or ghcr.io/acme/app@sha256:<64 hex digits>";
const MALFORMED_DIGEST: &str =
    "has a malformed digest: expected @sha256: followed by 64 lower-case hex digits";
const LATEST: &str =
    "must not use the tag 'latest' without a digest: rollback needs an image that cannot change";
const CHARACTERS: &str =
    "must not hold a blank, a control or a format (bidi, zero-width) character";

/// The schema of a container image reference: a tag or a digest is required, because a checklist
/// records the exact image it verified and rolls back to it.
///
/// The CEL rules work on the part after the last `/`, so a registry port (`localhost:5000/app`) is
/// not mistaken for a tag.
pub(crate) fn image_reference(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = String::json_schema(generator);
    schema.insert("minLength".into(), 1.into());
    schema.insert("maxLength".into(), MAX_LENGTH.into());
    schema.insert("pattern".into(), NO_BLANK_PATTERN.into());
    schema.insert(
        "x-kubernetes-validations".into(),
        json!([
            {
                "rule": "self.contains('@') || self.substring(self.lastIndexOf('/') + 1).contains(':')",
                "message": NEEDS_TAG
            },
            {
                "rule": "!self.contains('@') || self.matches('^[^@]+@sha256:[a-f0-9]{64}$')",
                "message": MALFORMED_DIGEST
            },
            {
                "rule": "self.contains('@') || !self.endsWith(':latest')",
                "message": LATEST
            }
        ]),
    );
    schema
}

/// Everything the CRD would refuse in `image`, each as the API server's message says it (to
/// follow "the image ..."); empty when the reference is accepted.
pub fn image_problems(image: &str) -> Vec<String> {
    let length = image.chars().count();
    if length == 0 {
        return vec!["must not be empty".into()];
    }
    let mut problems = Vec::new();
    if length > MAX_LENGTH {
        problems.push(format!(
            "is {length} characters long, over the maximum {MAX_LENGTH}"
        ));
    }
    // The same pattern the schema gives the API server and `verify`, on the same engine as
    // `verify`; it compiles, and were it not to, the API server would still refuse.
    if Regex::new(NO_BLANK_PATTERN).is_ok_and(|pattern| !pattern.is_match(image)) {
        problems.push(CHARACTERS.into());
    }
    let last_part = &image[image.rfind('/').map_or(0, |slash| slash + 1)..];
    let digest = image.split_once('@');
    if digest.is_none() && !last_part.contains(':') {
        problems.push(NEEDS_TAG.into());
    }
    if let Some((name, digest)) = digest {
        let hex = digest.strip_prefix("sha256:").unwrap_or_default();
        let well_formed = !name.is_empty()
            && hex.len() == 64
            && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !well_formed {
            problems.push(MALFORMED_DIGEST.into());
        }
    } else if image.ends_with(":latest") {
        problems.push(LATEST.into());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_rules_match_the_crds() {
        let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
        let table: Vec<(String, Vec<&str>)> = vec![
            ("ghcr.io/acme/dialectic:1.4.2".into(), vec![]),
            (format!("ghcr.io/acme/dialectic@{digest}"), vec![]),
            (format!("ghcr.io/acme/dialectic:latest@{digest}"), vec![]),
            ("localhost:5000/app:1".into(), vec![]),
            ("localhost:5000/app".into(), vec![NEEDS_TAG]),
            ("app".into(), vec![NEEDS_TAG]),
            ("app:latest".into(), vec![LATEST]),
            ("app@sha256:ABC".into(), vec![MALFORMED_DIGEST]),
            (format!("@{digest}"), vec![MALFORMED_DIGEST]),
            (format!("app@{digest}@{digest}"), vec![MALFORMED_DIGEST]),
            ("app:1\u{1b}]52;c;cm0=\u{7}".into(), vec![CHARACTERS]),
            ("app:1\u{9b}31m".into(), vec![CHARACTERS]),
            ("app:1\u{202e}gnp".into(), vec![CHARACTERS]),
            ("app:1\u{200b}".into(), vec![CHARACTERS]),
            ("app:1 2".into(), vec![CHARACTERS]),
            ("app:1\u{a0}".into(), vec![CHARACTERS]),
            ("app\u{1b}".into(), vec![CHARACTERS, NEEDS_TAG]),
            ("".into(), vec!["must not be empty"]),
            (
                format!("app:{}", "1".repeat(509)),
                vec!["is 513 characters long, over the maximum 512"],
            ),
        ];
        for (image, expected) in table {
            assert_eq!(image_problems(&image), expected, "{image:?}");
        }
    }
}
