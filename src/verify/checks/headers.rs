//! `securityHeaders` checks: required headers present, exact values where asked.

use crate::api::SecurityHeadersCheck;
use crate::verify::{client::Response, quote::quote};

use super::Evaluation;
use super::kind::{Judged, Kind, Reach};
use super::lint::key_problems;
use crate::api::HttpMethod;
use crate::verify::budget::Round;
use futures::future::BoxFuture;

impl Kind for SecurityHeadersCheck {
    fn judge<'a>(&'a self, reach: &'a dyn Reach, round: &'a Round) -> BoxFuture<'a, Judged> {
        Box::pin(async move {
            let request = reach.request(HttpMethod::Get, &self.path, &[], None, None)?;
            let response = reach.fetch(request, round).await?;
            Ok((evaluate(self, &response), 1, Some(response.status)))
        })
    }

    fn lint(&self, path: &str) -> Vec<String> {
        key_problems(
            &format!("{path}.securityHeaders"),
            "values",
            self.values.keys(),
        )
    }
}

/// Judges one response's headers. Names are matched without regard to case (HTTP header names
/// are case-insensitive); values named in `values` are compared without regard to case too.
pub fn evaluate(check: &SecurityHeadersCheck, response: &Response) -> Evaluation {
    let present = |name: &str| {
        response
            .headers
            .contains_key(name.to_ascii_lowercase().as_str())
    };
    let mut required: Vec<&str> = check.require.iter().map(String::as_str).collect();
    for name in check.values.keys() {
        if !required.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            required.push(name);
        }
    }
    let missing: Vec<&str> = required.iter().copied().filter(|n| !present(n)).collect();

    let mut problems = Vec::new();
    match missing.as_slice() {
        [] => {}
        [one] => problems.push(format!("missing header {one}")),
        many => problems.push(format!("missing headers {}", many.join(", "))),
    }
    for (name, expected) in &check.values {
        let Some(actual) = response.headers.get(name.to_ascii_lowercase().as_str()) else {
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
    Evaluation::from_problems(problems, format!("{} headers present", required.len()))
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
}
