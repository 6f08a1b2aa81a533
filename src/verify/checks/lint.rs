//! The rules of the CRD (its CEL rules) that several kinds of check share, re-stated for
//! `verify`: a body needs a method that sends one, headers set one value and are not reserved,
//! map keys are bounded and on one line, URLs are absolute.

use std::collections::BTreeSet;

use crate::api::{HttpHeader, HttpMethod, KEY_CHARACTERS_MESSAGE, ONE_LINE_REFUSED};

/// The longest key of `expectJSON` and `securityHeaders.values` (the CRD's CEL rule).
pub const MAX_MAP_KEY: usize = 256;

/// What is wrong with a request a check sends (`kind` is `http` or `rateLimit`): a body on a
/// method that sends none, and its headers' problems.
pub fn request_problems(
    path: &str,
    kind: &str,
    method: HttpMethod,
    has_body: bool,
    headers: &[HttpHeader],
) -> Vec<String> {
    let mut out: Vec<String> = body_problem(path, kind, method, has_body)
        .into_iter()
        .collect();
    out.extend(header_problems(path, headers));
    out
}

/// A body on a method that sends none.
fn body_problem(path: &str, kind: &str, method: HttpMethod, has_body: bool) -> Option<String> {
    (has_body && matches!(method, HttpMethod::Get | HttpMethod::Head)).then(|| {
        format!(
            "{path}.body: {kind}.body needs a method that sends a body (POST, PUT, PATCH, DELETE or OPTIONS), not GET or HEAD"
        )
    })
}

/// Headers that set both or neither value, are reserved, or are listed twice.
fn header_problems(path: &str, headers: &[HttpHeader]) -> Vec<String> {
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    for (index, header) in headers.iter().enumerate() {
        if header.value.is_some() == header.value_from.is_some() {
            out.push(format!(
                "{path}.headers[{index}]: a header must set exactly one of value or valueFrom"
            ));
        }
        if crate::verify::reserved::reserved_header_name(&header.name) {
            out.push(format!(
                "{path}.headers[{index}].name: {}",
                crate::verify::reserved::RESERVED_HEADER_MESSAGE
            ));
        }
        if !names.insert(header.name.as_str()) {
            out.push(format!(
                "{path}.headers[{index}].name: the header {} is listed twice",
                header.name
            ));
        }
    }
    out
}

/// The CRD's two rules on the keys of a map: at most [`MAX_MAP_KEY`] characters, none of them
/// a control, format or line-separator character.
pub fn key_problems<'k>(
    path: &str,
    field: &str,
    keys: impl Iterator<Item = &'k String>,
) -> Vec<String> {
    let refused = regex::Regex::new(ONE_LINE_REFUSED).ok();
    let mut out = Vec::new();
    for key in keys {
        let start: String = key.chars().take(40).collect();
        let length = key.chars().count();
        if length > MAX_MAP_KEY {
            out.push(format!(
                "{path}.{field}: the key {start:?}… is {length} characters long: {field}: every key must be at most {MAX_MAP_KEY} characters"
            ));
        }
        if refused.as_ref().is_some_and(|r| r.is_match(key)) {
            out.push(format!(
                "{path}.{field}: the key {start:?}: {field}: {KEY_CHARACTERS_MESSAGE}"
            ));
        }
    }
    out
}

/// The CRD's URL rules: `isURL(self) && self.matches(r'^SCHEME://[^/?#\s]+(/[^?#\s]*)?$')` for
/// the verification URL (no query) and `…(/[^#\s]*)?$` with http only for httpURL. `\s` is
/// spelled out as RE2 (the API server's engine) reads it: ASCII blanks only.
pub fn matches_url(url: &str, scheme: &str) -> bool {
    let rest = if scheme == "http" {
        "[^#\\t\\n\\f\\r ]"
    } else {
        "[^?#\\t\\n\\f\\r ]"
    };
    let pattern = format!("^{scheme}://[^/?#\\t\\n\\f\\r ]+(/{rest}*)?$");
    let matches = regex::Regex::new(&pattern).is_ok_and(|r| r.is_match(url));
    matches && url::Url::parse(url).is_ok()
}
