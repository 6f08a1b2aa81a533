//! Property tests over arbitrary input: the `verify` file reader and the `http` check's JSON
//! judgement never panic, always answer, and stay within their caps, whatever the text.

use std::{collections::BTreeMap, sync::atomic::AtomicBool, time::Duration};

use bytes::Bytes;
use proptest::prelude::*;
use reqwest::header::HeaderMap;

use crate::api::HttpCheck;

use super::{checks, cli, client::Response, json, jsonpath};

const VALID: &str = "apiVersion: checklist.dev/v1alpha1
kind: DeploymentChecklist
metadata: {name: demo}
spec:
  app: {image: 'registry.example/demo:1.0.0'}
  verification:
    url: http://127.0.0.1:9
    intervalSeconds: 10
    checks:
      - name: health
        http: {path: /health, expectStatus: [200], expectJSON: {status: ok, '$.checks[*].status': pass}}
      - name: burst
        rateLimit: {path: /login, attempts: 10, withinAttempts: 6}
";

/// Text shaped like YAML and JSON: the punctuation both use, a few words, any characters.
pub(super) fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_string()),
        Just(": ".to_string()),
        Just("- ".to_string()),
        Just("  ".to_string()),
        prop_oneof![
            Just("{"),
            Just("}"),
            Just("["),
            Just("]"),
            Just(","),
            Just("&a "),
            Just("*a"),
            Just("---\n"),
            Just("'"),
            Just("\"")
        ]
        .prop_map(str::to_string),
        prop_oneof![
            Just("kind"),
            Just("DeploymentChecklist"),
            Just("spec"),
            Just("verification"),
            Just("checks"),
            Just("http"),
            Just("path"),
            Just("expectJSON")
        ]
        .prop_map(str::to_string),
        any::<i64>().prop_map(|n| n.to_string()),
        "\\PC{0,8}",
    ];
    prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
}

/// A valid checklist with a slice replaced by arbitrary text (VALID is ASCII, so every byte
/// offset is a character boundary).
pub(super) fn mutated() -> impl Strategy<Value = String> {
    (0..VALID.len(), 0usize..40, "\\PC{0,20}").prop_map(|(start, len, insert)| {
        let end = (start + len).min(VALID.len());
        format!("{}{insert}{}", &VALID[..start], &VALID[end..])
    })
}

fn response(body: Vec<u8>) -> Response {
    Response {
        status: 200,
        headers: HeaderMap::new(),
        body: Bytes::from(body),
        truncated: false,
        latency: Duration::from_millis(1),
    }
}

fn check(keys: BTreeMap<String, String>, dependencies: Option<String>) -> HttpCheck {
    HttpCheck {
        expect_json: keys,
        dependencies,
        ..checks::http::health_check()
    }
}

/// JSON text, mostly valid, with arbitrary bytes sometimes.
pub(super) fn body() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "\\PC{0,6}".prop_map(serde_json::Value::String),
        Just(serde_json::json!("ok")),
    ];
    let json = leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-c]|status|checks", inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        4 => json.prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

pub(super) fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-c]{1,3}(\\.[a-c0-9]{1,3}){0,3}",
        "\\$[-$@?.*,:()\\[\\]'\"!=<>&| a-c0-9]{0,30}",
        "\\$(\\.\\.\\*|\\[\\*\\]|\\.[a-c]|\\[-?[0-9]\\]|\\[\\?@\\.[a-c]\\]){0,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_file_reader_answers_any_text(text in prop_oneof![yamlish(), mutated()]) {
        // An answer either way; the property is that there is one, without a panic.
        let _ = cli::parse(&text, None);
    }

    #[test]
    fn the_json_checks_answer_any_body_and_keys(
        body in body(),
        keys in prop::collection::btree_map(key(), "ok|pass|[0-9]", 0..6),
        dependencies in prop::option::of(key()),
    ) {
        let parsed = serde_json::from_slice::<serde_json::Value>(&body).ok();
        for path in keys.keys() {
            if let Some(value) = &parsed
                && let Ok(found) = json::values_at(value, path, &AtomicBool::new(false))
            {
                prop_assert!(found.len() <= jsonpath::MAX_NODES);
            }
        }
        let evaluation = checks::http::evaluate(&check(keys, dependencies), &response(body));
        // Each problem quotes at most a short piece of the body or a value.
        prop_assert!(evaluation.message.len() < 64 * 1024, "{}", evaluation.message.len());
    }
}
