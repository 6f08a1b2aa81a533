//! The character patterns refuse what a person's terminal, browser or chat client would act on,
//! keep what people write, and cover every free string of the spec.

use regex::Regex;
use serde_json::Value;

use super::*;
use crate::{api::crd::crd, text::is_clean};

/// Every character the issue names: C0 controls, DEL, C1 controls (CSI U+009B among them), and
/// the bidi controls, with the zero-width ones and the line separators beside them.
fn refused_characters() -> Vec<char> {
    let mut chars: Vec<char> = ('\u{0}'..='\u{1f}').chain('\u{7f}'..='\u{9f}').collect();
    chars.extend('\u{202a}'..='\u{202e}');
    chars.extend('\u{2066}'..='\u{2069}');
    chars.extend(['\u{200e}', '\u{200f}', '\u{61c}', '\u{200b}', '\u{feff}']);
    chars.extend(['\u{2028}', '\u{2029}']);
    chars
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
}

#[test]
fn the_character_patterns_refuse_controls_bidi_and_separators() {
    // (pattern, a string it accepts, where a refused character is put, characters it allows)
    let table = [
        (ONE_LINE_PATTERN, "Connexion refusée: ключ 鍵 🙂 ok", "", ""),
        (
            TEXT_PATTERN,
            "sum(rate(x[5m]))\n  / 2\r\n\tok",
            "",
            "\t\n\r",
        ),
        (NO_BLANK_PATTERN, "ghcr.io/acme/app:1.4.2", "", ""),
        (CHECK_PATH_PATTERN, "/health/deep?x=é", "/health", ""),
        (PROBE_PATH_PATTERN, "/health", "/health", ""),
    ];
    for (pattern, good, prefix, allowed) in table {
        let re = regex(pattern);
        assert!(re.is_match(good), "{pattern} refuses {good:?}");
        for c in refused_characters() {
            let text = format!("{prefix}{c}ok");
            assert_eq!(
                re.is_match(&text),
                allowed.contains(c),
                "{pattern} on U+{:04X}",
                u32::from(c)
            );
        }
    }
    assert_eq!(
        ONE_LINE_PATTERN,
        format!("^[^{}]*$", &ONE_LINE_REFUSED[1..ONE_LINE_REFUSED.len() - 1])
    );
}

/// What the CRD admits on one line, the sanitizer shows as it is: every character of the Basic
/// Multilingual Plane and of the tag block, bar unassigned ones (RE2 knows no `\p{Cn}`), which
/// the sanitizer replaces to be safe.
#[test]
fn what_the_one_line_pattern_admits_is_shown_unchanged() {
    let re = regex(ONE_LINE_PATTERN);
    let unassigned =
        |c: char| c == '\u{2065}' || c == '\u{e0000}' || ('\u{e0002}'..='\u{e001f}').contains(&c);
    let admitted_but_replaced: Vec<String> = ('\u{0}'..='\u{ffff}')
        .chain('\u{e0000}'..='\u{e007f}')
        .filter(|c| re.is_match(&c.to_string()) && !is_clean(&c.to_string()) && !unassigned(*c))
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    assert!(
        admitted_but_replaced.is_empty(),
        "{admitted_but_replaced:?}"
    );
}

/// Strings a person reads, or that reach a Pod, that may hold control characters on purpose:
/// core types kept as they are, commands and request bodies.
const FREE_TEXT: [&str; 8] = [
    ".env[]",
    ".resources",
    "ecurityContext.",
    "spec.app.command[]",
    ".args[]",
    ".command[]",
    ".http.body",
    ".rateLimit.body",
];

fn walk(path: &str, schema: &Value, visit: &mut dyn FnMut(&str, &Value)) {
    visit(path, schema);
    for (name, child) in schema["properties"].as_object().into_iter().flatten() {
        walk(&format!("{path}.{name}"), child, visit);
    }
    if schema["items"].is_object() {
        walk(&format!("{path}[]"), &schema["items"], visit);
    }
    if schema["additionalProperties"].is_object() {
        walk(
            &format!("{path}{{}}"),
            &schema["additionalProperties"],
            visit,
        );
    }
}

/// A new string field must say which characters it takes: a pattern, an enum or a format, or a
/// place in [`FREE_TEXT`]; a map of strings must also hold its keys to one line.
#[test]
fn every_string_of_the_spec_says_which_characters_it_takes() {
    let crd = serde_json::to_value(crd()).unwrap_or_default();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let mut open = Vec::new();
    let mut strings = 0;
    walk("spec", spec, &mut |path, schema| {
        strings += usize::from(schema["type"] == "string");
        if FREE_TEXT.iter().any(|free| path.contains(free))
            || super::EMBEDDED_CORE_TYPES
                .iter()
                .any(|core| path.contains(core))
            || path.contains(".ports[]")
        {
            return;
        }
        let string = schema["type"] == "string";
        let constrained = ["pattern", "enum", "format"]
            .iter()
            .any(|k| !schema[k].is_null());
        if string && !constrained {
            open.push(path.to_string());
        }
        if schema["additionalProperties"]["type"] == "string" {
            let rules = schema["x-kubernetes-validations"].to_string();
            if !rules.contains(ONE_LINE_REFUSED.replace('\\', "\\\\").as_str()) {
                open.push(format!("{path} (keys)"));
            }
        }
    });
    assert!(
        strings > 40,
        "only {strings} strings found: the walk missed the schema"
    );
    assert!(
        open.is_empty(),
        "strings without a character rule: {open:?}"
    );
}
