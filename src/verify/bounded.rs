//! Building a `serde_json::Value` out of YAML or JSON text within a budget, one node at a time.
//!
//! A YAML alias copies its anchor each time it is used, so a 1 MiB file can expand into
//! gigabytes; a JSON body is small but its parse is work done for an app. Charging every node and
//! every byte of text before it is copied stops a document at the first node past its budget,
//! before the memory is spent, and checking a cancel flag at each node stops a parse its caller
//! gave up on.

use std::{
    cell::Cell,
    fmt,
    sync::atomic::{AtomicBool, Ordering},
};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// How long a duplicate key's excerpt in a message may be, in characters.
const KEY_SHOWN: usize = 80;

/// What a document may cost and how a repeated key is treated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The most nodes (scalars, lists, maps and keys), all documents of a budget together.
    pub(crate) nodes: usize,
    /// The most bytes of text (strings and keys), all documents together.
    pub(crate) bytes: usize,
    /// Whether a key repeated in one mapping is an error, or the last one wins as in serde_json.
    pub(crate) refuse_duplicates: bool,
    /// Said after a cap in its message, e.g. how aliases are counted.
    pub(crate) note: &'static str,
}

/// One budget's spending: what is left of its limits, and the flag that cancels it.
pub(crate) struct Budget<'c> {
    limits: Limits,
    nodes_left: Cell<usize>,
    bytes_left: Cell<usize>,
    cancel: &'c AtomicBool,
}

impl<'c> Budget<'c> {
    /// A full budget of `limits`, given up as soon as `cancel` is set.
    pub(crate) fn new(limits: Limits, cancel: &'c AtomicBool) -> Self {
        Self {
            limits,
            nodes_left: Cell::new(limits.nodes),
            bytes_left: Cell::new(limits.bytes),
            cancel,
        }
    }

    /// The value `deserializer` holds, each of its nodes charged to this budget.
    pub(crate) fn value<'de, D: Deserializer<'de>>(
        &self,
        deserializer: D,
    ) -> Result<Value, D::Error> {
        Node {
            budget: self,
            depth: 0,
            key: false,
        }
        .deserialize(deserializer)
    }

    /// Charges one node and `bytes` bytes of its text, or says which cap it ran into.
    fn charge<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(E::custom("stopped: its deadline passed"));
        }
        let Limits { nodes, note, .. } = self.limits;
        let left = self.nodes_left.get().checked_sub(1).ok_or_else(|| {
            E::custom(format_args!(
                "it holds more than {nodes} values{note}, the limit"
            ))
        })?;
        self.nodes_left.set(left);
        let max = self.limits.bytes;
        let left = self.bytes_left.get().checked_sub(bytes).ok_or_else(|| {
            E::custom(format_args!(
                "its strings and keys add up to more than {max} bytes{note}, the limit"
            ))
        })?;
        self.bytes_left.set(left);
        Ok(())
    }
}

/// Builds one node and its children.
#[derive(Clone, Copy)]
struct Node<'b, 'c> {
    budget: &'b Budget<'c>,
    /// 0 for a document's root.
    depth: usize,
    /// Whether this is a mapping's key, read as a string whatever it looks like (`1: x` has
    /// the key "1").
    key: bool,
}

impl Node<'_, '_> {
    /// The node for a child of this one.
    fn child(self) -> Self {
        Self {
            depth: self.depth + 1,
            key: false,
            ..self
        }
    }

    /// The node for a key of this mapping.
    fn key(self) -> Self {
        Self { key: true, ..self }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.key {
            deserializer.deserialize_string(self)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML or JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.budget.charge(0)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.budget.charge(0)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.budget.charge(0)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.budget.charge(0)?;
        // As serde_json does: a NaN or an infinity has no JSON number.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.budget.charge(v.len())?;
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.budget.charge(v.len())?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.budget.charge(0)?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.budget.charge(0)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.budget.charge(0)?;
        let mut members = Map::new();
        while let Some(key) = map.next_key_seed(self.key())? {
            // Both readers hand a key asked for as a string over as one; anything else is not
            // a key a JSON object can hold.
            let Value::String(key) = key else {
                return Err(de::Error::custom("a mapping key must be a string"));
            };
            if self.budget.limits.refuse_duplicates && members.contains_key(&key) {
                // A reader that kept the first or the last would silently drop the other, and
                // two tools reading the same file could disagree on what it says. The
                // deserializer adds where a nested mapping is (its path and line); the root has
                // neither, so the message says it.
                let which = if self.depth == 0 {
                    "the top-level mapping"
                } else {
                    "one mapping"
                };
                return Err(de::Error::custom(format_args!(
                    "the key {:?} appears twice in {which}",
                    crate::text::line(&key, KEY_SHOWN)
                )));
            }
            let value = map.next_value_seed(self.child())?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENEROUS: Limits = Limits {
        nodes: 1000,
        bytes: 1000,
        refuse_duplicates: true,
        note: "",
    };

    fn json(text: &str, limits: Limits) -> Result<Value, String> {
        let go = AtomicBool::new(false);
        let budget = Budget::new(limits, &go);
        budget
            .value(&mut serde_json::Deserializer::from_str(text))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn values_are_built_as_serde_json_builds_them() {
        let text = r#"{"a": [1, -2, 1.5, true, null, "x"], "b": {"c": 18446744073709551615}}"#;
        let expected: Value = serde_json::from_str(text).unwrap();
        assert_eq!(json(text, GENEROUS).unwrap(), expected);
    }

    #[test]
    fn the_node_and_byte_caps_are_named_when_reached() {
        let nodes = Limits {
            nodes: 3,
            ..GENEROUS
        };
        assert!(json("[1, 2]", nodes).is_ok());
        let error = json("[1, 2, 3]", nodes).unwrap_err();
        assert!(error.contains("more than 3 values, the limit"), "{error}");
        let bytes = Limits {
            bytes: 5,
            ..GENEROUS
        };
        assert!(json(r#"{"ab": "cde"}"#, bytes).is_ok());
        let error = json(r#"{"ab": "cdef"}"#, bytes).unwrap_err();
        assert!(error.contains("more than 5 bytes, the limit"), "{error}");
    }

    #[test]
    fn a_duplicate_key_is_refused_or_the_last_wins_as_asked() {
        let text = r#"{"status": "fail", "status": "ok"}"#;
        let error = json(text, GENEROUS).unwrap_err();
        assert!(
            error.contains(r#"the key "status" appears twice in the top-level mapping"#),
            "{error}"
        );
        let lenient = Limits {
            refuse_duplicates: false,
            ..GENEROUS
        };
        assert_eq!(
            json(text, lenient).unwrap(),
            serde_json::json!({"status": "ok"})
        );
    }

    #[test]
    fn a_cancelled_budget_stops_at_the_next_node() {
        let stop = AtomicBool::new(true);
        let budget = Budget::new(GENEROUS, &stop);
        let error = budget
            .value(&mut serde_json::Deserializer::from_str("[1]"))
            .unwrap_err();
        assert!(error.to_string().contains("deadline passed"), "{error}");
    }
}
