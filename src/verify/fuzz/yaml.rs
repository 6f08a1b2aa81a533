//! The `verify` file reader: any bytes, YAML-shaped text or mutated checklist answers with
//! documents or an error, never a panic, within its node and byte budget and a second; a value
//! written as YAML reads back as itself; a key written twice is refused by name and line.

use proptest::{prelude::*, test_runner::TestCaseError};
use serde_json::Value;

use super::{PER_INPUT, config, replay, timed};
use crate::verify::{
    cli::{self, YAML_MAX_NODES, YAML_MAX_TEXT_BYTES},
    jsonpath::small_json,
    proptests,
};

/// The nodes (keys included) and bytes of text of a value, as the reader's budget counts them.
fn size(value: &Value) -> (usize, usize) {
    match value {
        Value::String(s) => (1, s.len()),
        Value::Array(items) => items.iter().map(size).fold((1, 0), add),
        Value::Object(members) => members
            .iter()
            .map(|(key, value)| add((1, key.len()), size(value)))
            .fold((1, 0), add),
        _ => (1, 0),
    }
}

fn add(a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
    (a.0 + b.0, a.1 + b.1)
}

/// Every property of reading `text`, or the first that does not hold.
fn check(text: &str) -> Result<(), String> {
    let (read, took) = timed(|| cli::documents(text));
    if let Ok(documents) = &read {
        let (nodes, bytes) = documents.iter().map(size).fold((0, 0), add);
        if nodes > YAML_MAX_NODES || bytes > YAML_MAX_TEXT_BYTES {
            return Err(format!("read {nodes} nodes and {bytes} bytes"));
        }
    }
    // The whole reader (schema and rules after the YAML): an answer either way.
    let (_, validated) = timed(|| cli::parse(text, None));
    match took + validated {
        total if total < PER_INPUT => Ok(()),
        total => Err(format!("took {total:?}")),
    }
}

fn check_seed(bytes: &[u8]) -> Result<(), String> {
    check(&String::from_utf8_lossy(bytes))
}

/// A mapping of distinct plain keys with one of them written again, maybe one level down.
fn duplicated() -> impl Strategy<Value = (String, String)> {
    (
        prop::collection::btree_set("[a-z]{1,8}", 1..10),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(keys, pick, nested)| {
            let keys: Vec<String> = keys.into_iter().collect();
            let twice = keys[pick.index(keys.len())].clone();
            let indent = if nested { "  " } else { "" };
            let mut text = if nested {
                "spec:\n".to_string()
            } else {
                String::new()
            };
            for (n, key) in keys.iter().chain([&twice]).enumerate() {
                text.push_str(&format!("{indent}{key}: {n}\n"));
            }
            (text, twice)
        })
}

#[test]
fn yaml_replays_its_corpus() {
    replay("yaml", check_seed);
}

proptest! {
    #![proptest_config(config(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz/regressions/yaml.txt")))]

    #[test]
    fn yaml_reads_any_bytes_within_its_budget(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&String::from_utf8_lossy(&bytes)).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn yaml_reads_any_yaml_shaped_text_within_its_budget(
        text in prop_oneof![proptests::yamlish(), proptests::mutated()],
    ) {
        check(&text).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn yaml_reads_back_what_was_written(value in prop_oneof![
        small_json(),
        proptests::body().prop_map(|b| serde_json::from_slice(&b).unwrap_or(Value::Null)),
    ]) {
        let text = serde_norway::to_string(&value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check(&text).map_err(TestCaseError::fail)?;
        prop_assert_eq!(cli::documents(&text), Ok(vec![value]), "{}", text);
    }

    #[test]
    fn yaml_refuses_a_key_written_twice_naming_it((text, key) in duplicated()) {
        let error = cli::documents(&text).expect_err(&text);
        prop_assert!(error.contains(&format!("the key {key:?} appears twice")), "{}", error);
        // Where: the line of a nested mapping, or the top level.
        prop_assert!(
            error.contains(" at line ") || error.contains("in the top-level mapping"),
            "{}",
            error
        );
    }
}
