//! Masking secret values in what an app sends back. A check may send a header taken from a
//! Secret, and an app may echo it ("invalid token: Bearer …"); every message, quote and
//! dependency the operator writes is derived from a response, so the response is masked as it
//! arrives and the outcome once more before it leaves the engine.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};

use super::{client::Response, engine::CheckOutcome};

/// What a secret value is replaced with.
pub const MASK: &str = "[redacted]";

/// The secret values to mask, in the forms an app may echo them: as sent, and escaped inside a
/// JSON string.
#[derive(Clone, Default)]
pub struct Redactor {
    /// None when there is nothing to mask.
    matcher: Option<AhoCorasick>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let patterns = self.matcher.as_ref().map_or(0, AhoCorasick::patterns_len);
        write!(f, "Redactor({patterns} patterns)")
    }
}

impl Redactor {
    /// A redactor of `values`; empty values are ignored (they would mask everything).
    pub fn new<'v>(values: impl IntoIterator<Item = &'v [u8]>) -> Self {
        let mut needles: Vec<Vec<u8>> = Vec::new();
        for value in values.into_iter().filter(|v| !v.is_empty()) {
            needles.push(value.to_vec());
            if let Ok(text) = std::str::from_utf8(value)
                && let Ok(json) = serde_json::to_string(text)
            {
                // Without the surrounding quotes: `a"b` appears in a JSON body as `a\"b`.
                let inner = json.as_bytes()[1..json.len() - 1].to_vec();
                if inner != value {
                    needles.push(inner);
                }
            }
        }
        needles.sort();
        needles.dedup();
        if needles.is_empty() {
            return Self::default();
        }
        // Leftmost-longest: a whole header value ("Bearer t0k3n") is masked as one, not around
        // a shorter value it contains.
        let matcher = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&needles)
            .ok();
        Self { matcher }
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// `bytes` with every secret value masked.
    pub fn bytes(&self, bytes: &[u8]) -> Vec<u8> {
        match &self.matcher {
            Some(matcher) if matcher.is_match(bytes) => {
                let masks = vec![MASK.as_bytes(); matcher.patterns_len()];
                matcher.replace_all_bytes(bytes, &masks)
            }
            _ => bytes.to_vec(),
        }
    }

    /// `text` with every secret value masked.
    pub fn text(&self, text: &str) -> String {
        match &self.matcher {
            Some(matcher) if matcher.is_match(text) => {
                let masks = vec![MASK; matcher.patterns_len()];
                matcher.replace_all(text, &masks)
            }
            _ => text.to_string(),
        }
    }

    /// The response with its body and header values masked: what the checks judge and quote.
    pub fn response(&self, response: Response) -> Response {
        if self.is_empty() {
            return response;
        }
        let mut headers = HeaderMap::with_capacity(response.headers.len());
        for (name, value) in &response.headers {
            let masked = HeaderValue::from_bytes(&self.bytes(value.as_bytes()))
                .unwrap_or_else(|_| HeaderValue::from_static(MASK));
            headers.append(name.clone(), masked);
        }
        Response {
            body: Bytes::from(self.bytes(&response.body)),
            headers,
            ..response
        }
    }

    /// The outcome with its message and dependencies masked: the last filter before status.
    pub fn outcome(&self, mut outcome: CheckOutcome) -> CheckOutcome {
        if self.is_empty() {
            return outcome;
        }
        outcome.message = self.text(&outcome.message);
        for dependency in &mut outcome.dependencies {
            dependency.name = self.text(&dependency.name);
            dependency.state = self.text(&dependency.state);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const TOKEN: &[u8] = b"Bearer s3cr3t-t0k3n";

    fn response(body: &str) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            "www-authenticate",
            HeaderValue::from_static("Bearer s3cr3t-t0k3n is invalid"),
        );
        Response {
            status: 401,
            headers,
            body: Bytes::from(body.to_string()),
            truncated: false,
            latency: Duration::from_millis(1),
        }
    }

    #[test]
    fn an_echoed_value_is_masked_in_the_body_and_the_headers() {
        let redactor = Redactor::new([TOKEN, b"s3cr3t-t0k3n".as_slice()]);
        let masked =
            redactor.response(response("invalid token: Bearer s3cr3t-t0k3n; s3cr3t-t0k3n"));
        assert_eq!(
            masked.body.as_ref(),
            b"invalid token: [redacted]; [redacted]"
        );
        assert_eq!(
            masked.headers["www-authenticate"].as_bytes(),
            b"[redacted] is invalid"
        );
    }

    #[test]
    fn a_value_escaped_inside_json_is_masked_too() {
        let redactor = Redactor::new([br#"pa"ss\word"#.as_slice()]);
        let body = serde_json::json!({"error": "bad password pa\"ss\\word"}).to_string();
        let masked = redactor.response(response(&body));
        let text = String::from_utf8(masked.body.to_vec()).unwrap();
        assert_eq!(text, r#"{"error":"bad password [redacted]"}"#);
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
    }

    #[test]
    fn outcomes_are_masked_in_messages_and_dependencies() {
        let redactor = Redactor::new([TOKEN]);
        let outcome = CheckOutcome {
            name: "auth".into(),
            kind: None,
            result: crate::api::CheckResult::Fail,
            message: "got Bearer s3cr3t-t0k3n".into(),
            latency_ms: None,
            attempts: 1,
            status: Some(401),
            dependencies: vec![crate::verify::json::Dependency {
                name: "Bearer s3cr3t-t0k3n".into(),
                healthy: false,
                state: "Bearer s3cr3t-t0k3n".into(),
            }],
        };
        let masked = redactor.outcome(outcome);
        assert_eq!(masked.message, "got [redacted]");
        assert_eq!(masked.dependencies[0].name, MASK);
        assert_eq!(masked.dependencies[0].state, MASK);
    }

    #[test]
    fn nothing_to_mask_changes_nothing() {
        let redactor = Redactor::new([b"".as_slice()]);
        assert!(redactor.is_empty());
        assert_eq!(redactor.text("Bearer s3cr3t-t0k3n"), "Bearer s3cr3t-t0k3n");
    }
}
