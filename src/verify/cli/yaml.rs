//! YAML documents into JSON values within a node budget.
//!
//! serde_norway bounds nesting (128 levels) and alias jumps, but the jumps it allows grow with
//! the file's length, and each alias copies its anchor: a file of a few kilobytes can expand into
//! gigabytes ("billion laughs"). Counting the nodes as they are built stops that at the first
//! node past the budget, before the memory is spent.

use std::{cell::Cell, fmt};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The most nodes (scalars, lists, maps and keys) a file may decode into, all documents
/// together. A checklist has a few hundred; a file with Secrets and a few checklists stays far
/// below. 100,000 small values are about 10 MB.
pub const MAX_NODES: usize = 100_000;

/// The most `[` and `{` a file may hold. Each may open a YAML flow collection, and the YAML
/// parser spends time and memory on every level of nesting before serde_norway's depth limit
/// (128) is consulted: a megabyte of `[` took it 6 s and 180 MB. Counting the characters, inside
/// quotes or not, bounds the depth with no way around it; a checklist holds a few dozen.
pub const MAX_FLOW_OPENERS: usize = 10_000;

/// Every document of `text`, in order, or a message naming the first document that failed.
pub fn documents(text: &str) -> Result<Vec<Value>, String> {
    let openers = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    if openers > MAX_FLOW_OPENERS {
        return Err(format!(
            "it holds {openers} '[' and '{{' characters, over the limit of {MAX_FLOW_OPENERS} (each may open a nested YAML collection)"
        ));
    }
    let budget = Cell::new(MAX_NODES);
    let mut out = Vec::new();
    for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let value = Node { budget: &budget }
            .deserialize(document)
            .map_err(|e| format!("document {} is not valid YAML: {e}", index + 1))?;
        out.push(value);
    }
    Ok(out)
}

/// Builds one node and its children, charging each to the shared budget.
#[derive(Clone, Copy)]
struct Node<'b> {
    budget: &'b Cell<usize>,
}

impl Node<'_> {
    fn charge<E: de::Error>(self) -> Result<(), E> {
        match self.budget.get().checked_sub(1) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => Err(E::custom(format_args!(
                "it holds more than {MAX_NODES} values (aliases count once per copy), the limit"
            ))),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.charge()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.charge()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.charge()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.charge()?;
        // As serde_json does: a NaN or an infinity has no JSON number.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.charge()?;
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.charge()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.charge()?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.charge()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.charge()?;
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.charge()?;
            let value = map.next_value_seed(self)?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
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
