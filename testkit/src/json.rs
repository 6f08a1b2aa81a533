//! JSON read strictly: a log pipeline (Loki, Elastic, `jq`) keeps one of two equal keys and
//! loses the other, so a log line with a key twice is a defect that serde_json alone would hide
//! (it keeps the last).

use std::{collections::BTreeSet, fmt};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `text` as JSON, refusing an object that has a key twice, at any depth; the error names
/// the key.
pub fn parse_strict(text: &str) -> Result<Value, String> {
    serde_json::from_str::<Strict>(text)
        .map(|strict| strict.0)
        .map_err(|e| e.to_string())
}

/// A JSON value whose objects have no key twice.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut seen = BTreeSet::new();
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("key {key:?} appears twice")));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_twice_is_refused_at_any_depth() {
        assert!(parse_strict(r#"{"message":"a","level":"INFO"}"#).is_ok());
        let top = parse_strict(r#"{"message":"a","message":"b"}"#).unwrap_err();
        assert!(top.contains(r#"key "message" appears twice"#), "{top}");
        let nested = parse_strict(r#"{"span":{"name":"reconcile","name":"web"}}"#).unwrap_err();
        assert!(nested.contains(r#"key "name" appears twice"#), "{nested}");
        let listed = parse_strict(r#"{"spans":[{"a":1},{"a":1,"a":2}]}"#).unwrap_err();
        assert!(listed.contains(r#"key "a" appears twice"#), "{listed}");
    }

    #[test]
    fn values_come_through_whole() {
        let value = parse_strict(r#"{"n":-1,"f":1.5,"t":true,"z":null,"s":["x"]}"#).unwrap();
        assert_eq!(value["n"], -1);
        assert_eq!(value["f"], 1.5);
        assert_eq!(value["t"], true);
        assert!(value["z"].is_null());
        assert_eq!(value["s"][0], "x");
    }
}
