//! Whole objects made safe to show: every string of a JSON value (keys too) through [`line`],
//! and JSON text whose remaining unsafe characters are written as `\u` escapes.

use serde_json::Value;

use super::sanitize::{is_clean, line};

/// Every string in `value`, keys included, through [`line`] within `max` characters: for an
/// object a person will read (the plugin's tables and sections), so no field can be forgotten.
pub fn clean_value(value: &mut Value, max: usize) {
    match value {
        Value::String(text) if !is_clean(text) || text.chars().count() > max => {
            *text = line(text, max);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| clean_value(v, max)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                clean_value(&mut item, max);
                let key = if is_clean(&key) { key } else { line(&key, max) };
                map.insert(key, item);
            }
        }
        _ => {}
    }
}

/// JSON text with every character [`line`] would replace written as a `\uXXXX` escape instead:
/// the same data for a program, inert on a terminal. serde_json escapes C0 controls already;
/// this adds DEL, C1 and the bidi and invisible characters, which it writes as they are.
/// Newlines outside strings (pretty printing) are kept.
pub fn escape_json_text(json: &str) -> String {
    if json
        .chars()
        .all(|c| c == '\n' || is_clean(c.encode_utf8(&mut [0; 4])))
    {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c == '\n' || is_clean(c.encode_utf8(&mut [0; 4])) {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_string_and_key_is_cleaned() {
        let mut value = json!({
            "image": "app:1\u{1b}]52;c;x\u{7}",
            "list": ["ok", "\u{202e}evil"],
            "a\u{9b}b": 3,
        });
        clean_value(&mut value, 100);
        assert_eq!(
            value,
            json!({
                "image": "app:1\u{FFFD}]52;c;x\u{FFFD}",
                "list": ["ok", "\u{FFFD}evil"],
                "a\u{FFFD}b": 3,
            })
        );
    }

    #[test]
    fn json_text_keeps_its_data_with_unsafe_characters_escaped() {
        let data = json!({"name": "a\u{9b}b\u{202e}c\u{E0041}", "ok": "é"});
        let text = serde_json::to_string_pretty(&data).unwrap();
        let escaped = escape_json_text(&text);
        assert!(
            escaped.contains("a\\u009bb\\u202ec\\udb40\\udc41"),
            "{escaped}"
        );
        assert!(escaped.contains('é') && escaped.contains('\n'));
        let back: Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, data);
    }
}
