//! `securityHeaders` checks: required headers present, exact values and patterns where asked,
//! unwanted headers absent, for a request with headers of its own (an Origin for CORS).

use futures::future::BoxFuture;

use crate::api::SecurityHeadersCheck;
use crate::verify::budget::Round;
use crate::verify::{client::Response, quote::quote};

use super::Evaluation;
use super::kind::{Judged, Kind, Reach};
use super::lint::{key_problems, request_problems};

/// The longest header value a pattern is matched against, in bytes: a CSP with its nonces fits
/// many times over, and a value's length bounds what a pattern costs to run on it.
pub const PATTERN_VALUE_MAX_BYTES: usize = 8 << 10;

impl Kind for SecurityHeadersCheck {
    fn judge<'a>(
        &'a self,
        _name: &'a str,
        reach: &'a dyn Reach,
        round: &'a Round,
    ) -> BoxFuture<'a, Judged> {
        Box::pin(async move {
            let request = reach.request(self.method, &self.path, &self.headers, None, None)?;
            let response = reach.fetch(request, round).await?;
            Ok((evaluate(self, &response), 1, Some(response.status)))
        })
    }

    fn lint(&self, path: &str) -> Vec<String> {
        let path = format!("{path}.securityHeaders");
        let mut out = key_problems(&path, "values", self.values.keys());
        out.extend(key_problems(&path, "patterns", self.patterns.keys()));
        out.extend(request_problems(
            &path,
            "securityHeaders",
            self.method,
            false,
            &self.headers,
        ));
        for (name, pattern) in &self.patterns {
            if let Err(reason) = crate::text::pattern::compile(pattern) {
                out.push(format!(
                    "{path}.patterns.{name}: not a usable pattern: {reason}"
                ));
            }
        }
        out
    }
}

/// Judges one response's headers. Names are matched without regard to case (HTTP header names
/// are case-insensitive); values named in `values` are compared without regard to case too,
/// patterns as written.
pub fn evaluate(check: &SecurityHeadersCheck, response: &Response) -> Evaluation {
    let value = |name: &str| response.headers.get(name.to_ascii_lowercase().as_str());
    let mut required: Vec<&str> = check.require.iter().map(String::as_str).collect();
    for name in check.values.keys().chain(check.patterns.keys()) {
        if !required.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            required.push(name);
        }
    }
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|n| value(n).is_none())
        .collect();

    let mut problems = Vec::new();
    match missing.as_slice() {
        [] => {}
        [one] => problems.push(format!("missing header {one}")),
        many => problems.push(format!("missing headers {}", many.join(", "))),
    }
    for (name, expected) in &check.values {
        let Some(actual) = value(name) else {
            continue;
        };
        let actual = String::from_utf8_lossy(actual.as_bytes());
        if !actual.trim().eq_ignore_ascii_case(expected.trim()) {
            problems.push(format!(
                "{name} is {}, expected {}",
                quote(actual.as_bytes()),
                quote(expected.as_bytes())
            ));
        }
    }
    for (name, pattern) in &check.patterns {
        if let Some(actual) = value(name) {
            problems.extend(pattern_problem(name, pattern, actual.as_bytes()));
        }
    }
    for name in &check.absent {
        if let Some(actual) = value(name) {
            problems.push(format!(
                "{name} is present ({}), expected absent",
                quote(actual.as_bytes())
            ));
        }
    }
    let mut passed = vec![format!("{} headers present", required.len())];
    if !check.patterns.is_empty() {
        passed.push(format!("{} matched", check.patterns.len()));
    }
    if !check.absent.is_empty() {
        passed.push(format!("{} absent", check.absent.len()));
    }
    Evaluation::from_problems(problems, passed.join(", "))
}

/// Why header `name`'s `value` does not meet `pattern`, if it does not: the pattern is unusable,
/// the value too long to match, or no match.
fn pattern_problem(name: &str, pattern: &str, value: &[u8]) -> Option<String> {
    let regex = match crate::text::pattern::compile(pattern) {
        Ok(regex) => regex,
        Err(reason) => return Some(format!("patterns.{name}: not a usable pattern: {reason}")),
    };
    if value.len() > PATTERN_VALUE_MAX_BYTES {
        return Some(format!(
            "{name} is {} bytes, more than the {} KiB a pattern is matched against",
            value.len(),
            PATTERN_VALUE_MAX_BYTES >> 10
        ));
    }
    let text = String::from_utf8_lossy(value);
    (!regex.is_match(&text)).then(|| {
        format!(
            "{name} is {}, which does not match {}",
            quote(value),
            quote(pattern.as_bytes())
        )
    })
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, time::Duration};

    use bytes::Bytes;
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

    use super::*;

    fn response(headers: &[(&str, &str)]) -> Response {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        Response {
            status: 200,
            headers: map,
            body: Bytes::new(),
            truncated: false,
            latency: Duration::ZERO,
        }
    }

    const ALL_FIVE: [(&str, &str); 5] = [
        ("Strict-Transport-Security", "max-age=31536000"),
        ("Content-Security-Policy", "default-src 'self'"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-XSS-Protection", "1; mode=block"),
    ];

    #[test]
    fn the_five_seed_headers_pass_whatever_their_case() {
        let eval = evaluate(&SecurityHeadersCheck::default(), &response(&ALL_FIVE));
        assert!(eval.passed, "{}", eval.message);
        assert_eq!(eval.message, "5 headers present");
    }

    #[test]
    fn a_missing_header_is_named() {
        let eval = evaluate(&SecurityHeadersCheck::default(), &response(&ALL_FIVE[..1]));
        assert_eq!(
            eval.message,
            "missing headers content-security-policy, x-frame-options, x-content-type-options, x-xss-protection"
        );
        let eval = evaluate(
            &SecurityHeadersCheck::default(),
            &response(&[ALL_FIVE[0], ALL_FIVE[2], ALL_FIVE[3], ALL_FIVE[4]]),
        );
        assert_eq!(eval.message, "missing header content-security-policy");
    }

    #[test]
    fn exact_values_are_compared() {
        let check = SecurityHeadersCheck {
            values: BTreeMap::from([("x-frame-options".to_string(), "DENY".to_string())]),
            ..SecurityHeadersCheck::default()
        };
        let eval = evaluate(&check, &response(&ALL_FIVE));
        assert_eq!(
            eval.message,
            r#"x-frame-options is "SAMEORIGIN", expected "DENY""#
        );
        let check = SecurityHeadersCheck {
            values: BTreeMap::from([("x-frame-options".to_string(), "sameorigin".to_string())]),
            ..SecurityHeadersCheck::default()
        };
        assert!(evaluate(&check, &response(&ALL_FIVE)).passed);
    }

    #[test]
    fn a_header_named_only_in_values_must_be_present() {
        let check = SecurityHeadersCheck {
            require: Vec::new(),
            values: BTreeMap::from([("referrer-policy".to_string(), "no-referrer".to_string())]),
            ..SecurityHeadersCheck::default()
        };
        let eval = evaluate(&check, &response(&ALL_FIVE));
        assert_eq!(eval.message, "missing header referrer-policy");
    }

    fn cors(patterns: &[(&str, &str)], absent: &[&str]) -> SecurityHeadersCheck {
        SecurityHeadersCheck {
            require: Vec::new(),
            patterns: patterns
                .iter()
                .map(|(n, p)| (n.to_string(), p.to_string()))
                .collect(),
            absent: absent.iter().map(|n| n.to_string()).collect(),
            ..SecurityHeadersCheck::default()
        }
    }

    #[test]
    fn a_csp_with_a_nonce_matches_its_pattern_and_one_without_does_not() {
        let check = cors(
            &[(
                "content-security-policy",
                "script-src [^;]*'nonce-[A-Za-z0-9+/=]{16,}'",
            )],
            &[],
        );
        let with_nonce = response(&[(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self' 'nonce-r4nd0mN0nceValue12=='",
        )]);
        let eval = evaluate(&check, &with_nonce);
        assert!(eval.passed, "{}", eval.message);
        assert_eq!(eval.message, "1 headers present, 1 matched");
        let eval = evaluate(
            &check,
            &response(&[("Content-Security-Policy", "script-src 'unsafe-inline'")]),
        );
        assert_eq!(
            eval.message,
            r#"content-security-policy is "script-src \'unsafe-inline\'", which does not match "script-src [^;]*\'nonce-[A-Za-z0-9+/=]{16,}\'""#
        );
        let eval = evaluate(&check, &response(&[]));
        assert_eq!(eval.message, "missing header content-security-policy");
    }

    #[test]
    fn cors_allows_one_origin_and_advertises_no_stack() {
        let check = cors(
            &[(
                "access-control-allow-origin",
                r"^https://app\.example\.com$",
            )],
            &["x-powered-by"],
        );
        let good = response(&[("Access-Control-Allow-Origin", "https://app.example.com")]);
        assert!(evaluate(&check, &good).passed);
        let wildcard = response(&[
            ("Access-Control-Allow-Origin", "*"),
            ("X-Powered-By", "Phoenix"),
        ]);
        let eval = evaluate(&check, &wildcard);
        assert!(!eval.passed);
        assert!(
            eval.message
                .contains(r#"access-control-allow-origin is "*", which does not match"#),
            "{}",
            eval.message
        );
        assert!(
            eval.message
                .contains(r#"x-powered-by is present ("Phoenix"), expected absent"#),
            "{}",
            eval.message
        );
    }

    #[test]
    fn an_unusable_or_costly_pattern_fails_the_check_naming_why() {
        let eval = evaluate(
            &cors(&[("x-a", "(unclosed")], &[]),
            &response(&[("x-a", "v")]),
        );
        assert!(
            eval.message
                .starts_with("patterns.x-a: not a usable pattern: "),
            "{}",
            eval.message
        );
        assert!(!eval.message.contains('\n'));
        let eval = evaluate(
            &cors(&[("x-a", r"\w{1000}")], &[]),
            &response(&[("x-a", "v")]),
        );
        assert!(
            eval.message.contains("compiles to more than the limit"),
            "{}",
            eval.message
        );
        let long = "a".repeat(PATTERN_VALUE_MAX_BYTES + 1);
        let eval = evaluate(&cors(&[("x-a", "a")], &[]), &response(&[("x-a", &long)]));
        assert_eq!(
            eval.message,
            "x-a is 8193 bytes, more than the 8 KiB a pattern is matched against"
        );
    }

    #[test]
    fn lint_names_an_unusable_pattern_and_a_reserved_request_header() {
        let mut check = cors(&[("x-a", "(")], &[]);
        check.headers =
            serde_json::from_value(serde_json::json!([{"name": "Host", "value": "x"}])).unwrap();
        let problems = check.lint("spec.verification.checks[0]");
        assert!(
            problems.iter().any(|p| p.starts_with(
                "spec.verification.checks[0].securityHeaders.patterns.x-a: not a usable pattern"
            )),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("securityHeaders.headers[0].name")),
            "{problems:?}"
        );
    }
}
