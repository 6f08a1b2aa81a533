//! YAML documents into JSON values within a node and a byte budget.
//!
//! serde_norway bounds nesting (128 levels) and alias jumps, but the jumps it allows grow with
//! the file's length, and each alias copies its anchor: a file of a few kilobytes can expand into
//! gigabytes ("billion laughs"), and one 900 KB scalar aliased 30,000 times into 27 GB. Counting
//! the nodes and the bytes of text as they are built ([`crate::verify::bounded`]) stops both at
//! the first node past the budget, before the memory is spent.

use std::sync::atomic::AtomicBool;

use serde_json::Value;

use crate::verify::bounded::{Budget, Limits};

/// The most nodes (scalars, lists, maps and keys) a file may decode into, all documents
/// together. A checklist has a few hundred; a file with Secrets and a few checklists stays far
/// below. 100,000 small values are about 10 MB.
pub const MAX_NODES: usize = 100_000;

/// The most bytes of text (strings and keys) a file may decode into, all documents together,
/// aliases counted once per copy: four times the largest file, so aliases may repeat a few
/// values but not multiply one.
pub const MAX_TEXT_BYTES: usize = 4 << 20;

/// The most `[` and `{` a file may hold. Each may open a YAML flow collection, and the YAML
/// parser spends time and memory on every level of nesting before serde_norway's depth limit
/// (128) is consulted: a megabyte of `[` took it 6 s and 180 MB. Counting the characters, inside
/// quotes or not, bounds the depth with no way around it; a checklist holds a few dozen.
pub const MAX_FLOW_OPENERS: usize = 10_000;

/// The budget of one file; a key written twice in one mapping is refused, not overwritten.
const LIMITS: Limits = Limits {
    nodes: MAX_NODES,
    bytes: MAX_TEXT_BYTES,
    refuse_duplicates: true,
    note: " (aliases count once per copy)",
};

/// Every document of `text`, in order, or a message naming the first document that failed.
pub fn documents(text: &str) -> Result<Vec<Value>, String> {
    let openers = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    if openers > MAX_FLOW_OPENERS {
        return Err(format!(
            "it holds {openers} '[' and '{{' characters, over the limit of {MAX_FLOW_OPENERS} (each may open a nested YAML collection)"
        ));
    }
    // Nobody cancels a file's reading: its budget bounds it.
    let never = AtomicBool::new(false);
    let budget = Budget::new(LIMITS, &never);
    let mut out = Vec::new();
    for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let value = budget
            .value(document)
            .map_err(|e| format!("document {} is not valid YAML: {e}", index + 1))?;
        out.push(value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_decode_as_serde_json_would() {
        let found = documents("a: 1\nb: [true, null, x, 1.5]\n---\n- {c: d}\n").unwrap();
        assert_eq!(
            found,
            vec![
                serde_json::json!({"a": 1, "b": [true, null, "x", 1.5]}),
                serde_json::json!([{"c": "d"}]),
            ]
        );
    }

    #[test]
    fn aliases_that_expand_past_the_budget_are_refused_early() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (name, previous) in ["b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            let refs = vec![format!("*{previous}"); 10].join(", ");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let started = std::time::Instant::now();
        let error = documents(&text).unwrap_err();
        assert!(
            error.contains("more than 100000 values") || error.contains("repetition limit"),
            "{error}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn one_large_scalar_aliased_many_times_is_refused_by_its_bytes() {
        // Few nodes (2,000 copies) but 1.8 GB of text once expanded.
        let refs = vec!["*a"; 2_000].join(", ");
        let text = format!("a: &a {}\nb: [{refs}]\n", "x".repeat(900_000));
        let started = std::time::Instant::now();
        let error = documents(&text).unwrap_err();
        assert!(
            error.contains("more than 4194304 bytes (aliases count once per copy)"),
            "{error}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let within = format!("a: &a {}\nb: [*a, *a]\n", "x".repeat(1_000));
        assert_eq!(
            documents(&within).unwrap()[0]["b"][1]
                .as_str()
                .unwrap()
                .len(),
            1_000
        );
    }

    #[test]
    fn a_duplicate_key_is_refused_naming_the_key_and_where() {
        let text = "spec:\n  checks:\n    - name: a\n      http: {path: /}\n      name: b\n";
        let error = documents(text).unwrap_err();
        assert!(error.contains(r#"the key "name" appears twice"#), "{error}");
        assert!(error.contains("line 3"), "{error}");
        assert!(error.contains("spec.checks"), "{error}");
        // The same key in two mappings is no duplicate.
        assert!(documents("a: {x: 1}\nb: {x: 2}\n---\na: 3\n").is_ok());
    }

    #[test]
    fn too_many_flow_openers_are_refused_before_parsing() {
        let text = "[".repeat(MAX_FLOW_OPENERS + 1);
        let started = std::time::Instant::now();
        let error = documents(&text).unwrap_err();
        assert!(error.contains("over the limit of 10000"), "{error}");
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn nesting_past_serde_norways_limit_is_an_error_not_a_stack_overflow() {
        let text = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
        let error = documents(&text).unwrap_err();
        assert!(error.contains("recursion limit"), "{error}");
        let block = "- ".repeat(5_000);
        let error = documents(&block).unwrap_err();
        assert!(error.contains("recursion limit"), "{error}");
    }
}
