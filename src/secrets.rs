//! The secret contract check: whether a Secret holds every key of `spec.secrets` with a value that
//! meets its rule, decided by pure functions so the verdict can be tested without a cluster.
//!
//! A verdict says which key failed and why (missing, empty, too short, no match) using lengths and
//! the user's own pattern only. No message ever carries a value, a part of one or a hash of one:
//! status, conditions and Events are readable by far more people than the Secret is.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;
use regex::{Regex, RegexBuilder};

use crate::api::secrets::{SecretContract, SecretKeyRule};
use crate::api::status::{CheckResult, SecretKeyStatus};
use crate::text::truncated;

/// The most memory one key's pattern may compile to, a tenth of the regex crate's default. The
/// pattern comes from whoever may write a checklist, not from the operator's admin, and every
/// reconcile of every checklist compiles it again, so a pathological one (`\w{1000}{1000}`) must
/// fail its key cheaply instead of costing the operator megabytes each time.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// The longest message [`summary`] returns, in characters, ellipsis included: a condition message
/// is read on one line of `kubectl describe`, and 64 failing keys must not make it a page.
pub const SUMMARY_MAX_CHARS: usize = 512;

/// Checks every key rule of `contract` against `secret` (`None` when the Secret does not exist)
/// and returns one status per rule, in the order of `contract.keys`.
///
/// A contract without keys only requires the Secret to exist; it yields a single status with an
/// empty `key`, so a missing Secret still fails [`contract_holds`] and counts in the score.
///
/// The value of a key is read from `stringData` first, then `data`: the API server merges
/// `stringData` over `data` on write, so an object that still carries it (a manifest checked
/// before it is applied) means what the server would store. An optional key that is absent or
/// empty is `Skipped`; when it has a value, its rules apply as for a required key.
///
/// `minLength` counts the Unicode characters (scalar values) of the UTF-8 value, not its bytes,
/// so a rule written as "64 characters" means what its author reads. A value that is not UTF-8
/// fails any key with `minLength` or `pattern`, since neither can be judged on raw bytes; with no
/// rule it only has to be present and non-empty.
///
/// A `pattern` is searched anywhere in the value unless anchored, compiled once per call with a
/// size limit; a pattern that does not compile fails its key whatever the Secret holds, because
/// the spec can never pass as written.
pub fn check_contract(contract: &SecretContract, secret: Option<&Secret>) -> Vec<SecretKeyStatus> {
    let name = contract.secret_name.as_str();
    if contract.keys.is_empty() {
        return vec![match secret {
            Some(_) => status(name, "", CheckResult::Pass, format!("Secret {name} exists")),
            None => status(name, "", CheckResult::Fail, not_found(name)),
        }];
    }
    contract
        .keys
        .iter()
        .map(|rule| {
            let (result, message) = check_key(name, rule, secret);
            status(name, &rule.name, result, message)
        })
        .collect()
}

/// Whether the statuses let the rollout go on: true when none of them is `Fail`. `Skipped`
/// (an optional key not set) and `Pending` do not block.
pub fn contract_holds(statuses: &[SecretKeyStatus]) -> bool {
    !statuses.iter().any(|s| s.result == CheckResult::Fail)
}

/// A one-line message for the SecretsValid condition, at most [`SUMMARY_MAX_CHARS`] characters
/// (cut with "…").
///
/// Examples: "all 4 keys valid", "all 3 keys valid, 1 optional key not set",
/// "2 keys invalid: dialectic-env/SECRET_KEY_BASE has 12 characters, needs at least 64;
/// dialectic-env/DATABASE_URL is missing". Failures sharing a cause (every key of a Secret that
/// does not exist) are named once: "3 keys invalid: Secret dialectic-env not found".
pub fn summary(statuses: &[SecretKeyStatus]) -> String {
    let failed: Vec<&SecretKeyStatus> = statuses
        .iter()
        .filter(|s| s.result == CheckResult::Fail)
        .collect();
    let line = if failed.is_empty() {
        let skipped = statuses
            .iter()
            .filter(|s| s.result == CheckResult::Skipped)
            .count();
        let checked = statuses.len() - skipped;
        let head = match checked {
            0 => "no keys to check".to_owned(),
            1 => "1 key valid".to_owned(),
            n => format!("all {n} keys valid"),
        };
        match skipped {
            0 => head,
            n => format!("{head}, {n} optional {} not set", plural(n, "key", "keys")),
        }
    } else {
        let mut phrases: Vec<String> = Vec::new();
        // A set beside the list keeps the order of the spec while naming a shared cause once.
        let mut seen = BTreeSet::new();
        for s in &failed {
            let phrase = failure_phrase(s);
            if seen.insert(phrase.clone()) {
                phrases.push(phrase);
            }
        }
        format!(
            "{} {} invalid: {}",
            failed.len(),
            plural(failed.len(), "key", "keys"),
            phrases.join("; ")
        )
    };
    truncated(line, SUMMARY_MAX_CHARS)
}

/// The verdict on one key. The value is borrowed only long enough to measure and match it; it
/// never reaches a `format!`.
fn check_key(
    secret_name: &str,
    rule: &SecretKeyRule,
    secret: Option<&Secret>,
) -> (CheckResult, String) {
    let key = rule.name.as_str();
    let pattern = match rule.pattern.as_deref().map(|p| (p, compile(p))) {
        None => None,
        Some((p, Ok(re))) => Some((p, re)),
        Some((p, Err(reason))) => {
            return (
                CheckResult::Fail,
                format!("key {key}: pattern '{p}' is not a valid regular expression: {reason}"),
            );
        }
    };

    let Some(secret) = secret else {
        return if rule.optional {
            (
                CheckResult::Skipped,
                format!("optional key {key} is not set (Secret {secret_name} not found)"),
            )
        } else {
            (CheckResult::Fail, not_found(secret_name))
        };
    };

    let bytes = match lookup(secret, key) {
        None if rule.optional => {
            return (
                CheckResult::Skipped,
                format!("optional key {key} is not set"),
            );
        }
        None => return (CheckResult::Fail, format!("key {key} is missing")),
        // An optional key set to "" is how a team leaves a feature off; it is not a mistake.
        Some([]) if rule.optional => {
            return (CheckResult::Skipped, format!("optional key {key} is empty"));
        }
        Some([]) => return (CheckResult::Fail, format!("key {key} is empty")),
        Some(bytes) => bytes,
    };

    let min_length = rule.min_length.filter(|n| *n > 0);
    if min_length.is_none() && pattern.is_none() {
        return (CheckResult::Pass, "present".to_owned());
    }
    // The reason from_utf8 gives names a byte offset into the value; it is dropped, not shown.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return (CheckResult::Fail, format!("key {key} is not UTF-8 text"));
    };

    let mut failures = Vec::new();
    let mut passes = Vec::new();
    if let Some(min) = min_length {
        let chars = text.chars().count();
        // A negative or zero minimum was filtered out above, so the conversion cannot fail.
        let min_chars = usize::try_from(min).unwrap_or(usize::MAX);
        if chars < min_chars {
            failures.push(format!(
                "has {chars} {}, needs at least {min}",
                plural(chars, "character", "characters")
            ));
        } else {
            passes.push(format!("{min}+ characters"));
        }
    }
    if let Some((p, re)) = &pattern {
        if re.is_match(text) {
            passes.push(format!("matches {p}"));
        } else {
            failures.push(format!("does not match {p}"));
        }
    }

    if failures.is_empty() {
        (CheckResult::Pass, passes.join(", "))
    } else {
        (
            CheckResult::Fail,
            format!("key {key} {}", failures.join(", and ")),
        )
    }
}

/// The value of `key`, borrowed, `stringData` winning over `data` as on the API server.
fn lookup<'a>(secret: &'a Secret, key: &str) -> Option<&'a [u8]> {
    if let Some(v) = secret.string_data.as_ref().and_then(|m| m.get(key)) {
        return Some(v.as_bytes());
    }
    secret
        .data
        .as_ref()
        .and_then(|m| m.get(key))
        .map(|v| v.0.as_slice())
}

/// Compiles a user's pattern within [`PATTERN_SIZE_LIMIT`], or says in a few words why not.
fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| short_reason(&e))
}

/// The one line of a regex error a person needs. A syntax error's Display spans several lines
/// (the pattern again, a caret, then "error: ..."); a status message must stay on one line.
fn short_reason(err: &regex::Error) -> String {
    match err {
        regex::Error::CompiledTooBig(limit) => {
            format!("it compiles to more than the limit of {limit} bytes")
        }
        other => {
            let text = other.to_string();
            text.lines()
                .find_map(|l| l.trim().strip_prefix("error:"))
                .map(str::trim)
                .or_else(|| text.lines().map(str::trim).find(|l| !l.is_empty()))
                .unwrap_or("unknown error")
                .to_owned()
        }
    }
}

/// How one failing status reads inside the summary: "<secret>/<key> <reason>".
fn failure_phrase(s: &SecretKeyStatus) -> String {
    let message = s.message.as_deref().unwrap_or("failed");
    if s.key.is_empty() || message == not_found(&s.secret) {
        return message.to_owned();
    }
    let prefix = format!("key {} ", s.key);
    let keyed = format!("key {}: ", s.key);
    if let Some(rest) = message.strip_prefix(&keyed) {
        format!("{}/{}: {rest}", s.secret, s.key)
    } else if let Some(rest) = message.strip_prefix(&prefix) {
        format!("{}/{} {rest}", s.secret, s.key)
    } else {
        format!("{}/{}: {message}", s.secret, s.key)
    }
}

fn not_found(secret_name: &str) -> String {
    format!("Secret {secret_name} not found")
}

fn status(secret: &str, key: &str, result: CheckResult, message: String) -> SecretKeyStatus {
    SecretKeyStatus {
        secret: secret.to_owned(),
        key: key.to_owned(),
        result,
        message: Some(message),
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;

    use super::*;

    fn rule(
        name: &str,
        min_length: Option<i32>,
        pattern: Option<&str>,
        optional: bool,
    ) -> SecretKeyRule {
        SecretKeyRule {
            name: name.to_owned(),
            min_length,
            pattern: pattern.map(str::to_owned),
            optional,
        }
    }

    fn contract(keys: Vec<SecretKeyRule>) -> SecretContract {
        SecretContract {
            secret_name: "dialectic-env".to_owned(),
            inject: true,
            keys,
        }
    }

    fn secret_with(data: &[(&str, &[u8])]) -> Secret {
        Secret {
            data: Some(
                data.iter()
                    .map(|(k, v)| ((*k).to_owned(), ByteString(v.to_vec())))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Secret::default()
        }
    }

    /// The contract of the design's example, against the Secret a team would apply.
    fn dialectic() -> SecretContract {
        contract(vec![
            rule("SECRET_KEY_BASE", Some(64), None, false),
            rule("DATABASE_URL", None, Some("^ecto://"), false),
            rule("OPENAI_API_KEY", None, None, true),
        ])
    }

    #[test]
    fn one_key_table() {
        let v = |s: &str| Some(s.as_bytes().to_vec());
        let non_utf8 = Some(vec![0x66, 0xff, 0xfe, 0x67]);
        // (rule, value in data or None when absent, expected result, expected message)
        let cases: Vec<(SecretKeyRule, Option<Vec<u8>>, CheckResult, &str)> = vec![
            (
                rule("K", None, None, false),
                v("v"),
                CheckResult::Pass,
                "present",
            ),
            (
                rule("K", None, None, false),
                None,
                CheckResult::Fail,
                "key K is missing",
            ),
            (
                rule("K", None, None, false),
                v(""),
                CheckResult::Fail,
                "key K is empty",
            ),
            (
                rule("K", Some(64), None, false),
                v(""),
                CheckResult::Fail,
                "key K is empty",
            ),
            (
                rule("K", None, None, true),
                None,
                CheckResult::Skipped,
                "optional key K is not set",
            ),
            (
                rule("K", None, None, true),
                v(""),
                CheckResult::Skipped,
                "optional key K is empty",
            ),
            (
                rule("K", None, None, true),
                v("v"),
                CheckResult::Pass,
                "present",
            ),
            (
                rule("SECRET_KEY_BASE", Some(64), None, false),
                v("abcdefghijkl"),
                CheckResult::Fail,
                "key SECRET_KEY_BASE has 12 characters, needs at least 64",
            ),
            (
                rule("K", Some(2), None, false),
                v("a"),
                CheckResult::Fail,
                "key K has 1 character, needs at least 2",
            ),
            (
                rule("K", Some(64), None, false),
                v(&"x".repeat(64)),
                CheckResult::Pass,
                "64+ characters",
            ),
            // 64 characters of two bytes each: characters count, not bytes.
            (
                rule("K", Some(64), None, false),
                v(&"é".repeat(64)),
                CheckResult::Pass,
                "64+ characters",
            ),
            (
                rule("K", Some(64), None, false),
                v(&"é".repeat(32)),
                CheckResult::Fail,
                "key K has 32 characters, needs at least 64",
            ),
            // An optional key that is set must still meet its rule.
            (
                rule("K", Some(8), None, true),
                v("short"),
                CheckResult::Fail,
                "key K has 5 characters, needs at least 8",
            ),
            (
                rule("DATABASE_URL", None, Some("^ecto://"), false),
                v("postgres://db/app"),
                CheckResult::Fail,
                "key DATABASE_URL does not match ^ecto://",
            ),
            (
                rule("DATABASE_URL", None, Some("^ecto://"), false),
                v("ecto://db/app"),
                CheckResult::Pass,
                "matches ^ecto://",
            ),
            // Unanchored patterns search anywhere in the value.
            (
                rule("K", None, Some("db"), false),
                v("ecto://db/app"),
                CheckResult::Pass,
                "matches db",
            ),
            (
                rule("K", Some(4), Some("^ecto://"), false),
                v("ecto://db/app"),
                CheckResult::Pass,
                "4+ characters, matches ^ecto://",
            ),
            (
                rule("K", Some(64), Some("^ecto://"), false),
                v("postgres://x"),
                CheckResult::Fail,
                "key K has 12 characters, needs at least 64, and does not match ^ecto://",
            ),
            (
                rule("K", None, Some("("), false),
                v("anything"),
                CheckResult::Fail,
                "key K: pattern '(' is not a valid regular expression: unclosed group",
            ),
            // An invalid pattern fails even when there is nothing to match: the spec cannot pass.
            (
                rule("K", None, Some("["), true),
                None,
                CheckResult::Fail,
                "key K: pattern '[' is not a valid regular expression: unclosed character class",
            ),
            (
                rule("K", None, None, false),
                non_utf8.clone(),
                CheckResult::Pass,
                "present",
            ),
            (
                rule("K", Some(1), None, false),
                non_utf8.clone(),
                CheckResult::Fail,
                "key K is not UTF-8 text",
            ),
            (
                rule("K", None, Some("f"), false),
                non_utf8.clone(),
                CheckResult::Fail,
                "key K is not UTF-8 text",
            ),
        ];
        for (i, (rule, value, result, message)) in cases.into_iter().enumerate() {
            let key = rule.name.clone();
            let secret = match value {
                Some(value) => secret_with(&[(key.as_str(), &value)]),
                None => secret_with(&[("OTHER", b"v")]),
            };
            let got = check_contract(&contract(vec![rule]), Some(&secret));
            assert_eq!(got.len(), 1, "case {i}");
            assert_eq!(got[0].secret, "dialectic-env", "case {i}");
            assert_eq!(got[0].key, key, "case {i}");
            assert_eq!(got[0].result, result, "case {i}: {:?}", got[0].message);
            assert_eq!(got[0].message.as_deref(), Some(message), "case {i}");
        }
    }

    #[test]
    fn missing_secret_fails_required_and_skips_optional() {
        let got = check_contract(&dialectic(), None);
        let seen: Vec<(&str, CheckResult, Option<&str>)> = got
            .iter()
            .map(|s| (s.key.as_str(), s.result, s.message.as_deref()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "SECRET_KEY_BASE",
                    CheckResult::Fail,
                    Some("Secret dialectic-env not found")
                ),
                (
                    "DATABASE_URL",
                    CheckResult::Fail,
                    Some("Secret dialectic-env not found")
                ),
                (
                    "OPENAI_API_KEY",
                    CheckResult::Skipped,
                    Some("optional key OPENAI_API_KEY is not set (Secret dialectic-env not found)")
                ),
            ]
        );
        assert!(got.iter().all(|s| s.secret == "dialectic-env"));
        assert!(!contract_holds(&got));
        assert_eq!(
            summary(&got),
            "2 keys invalid: Secret dialectic-env not found"
        );
    }

    #[test]
    fn contract_without_keys_only_needs_the_secret() {
        let c = contract(vec![]);
        let missing = check_contract(&c, None);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].key, "");
        assert_eq!(missing[0].result, CheckResult::Fail);
        assert!(!contract_holds(&missing));
        assert_eq!(
            summary(&missing),
            "1 key invalid: Secret dialectic-env not found"
        );

        let present = check_contract(&c, Some(&Secret::default()));
        assert_eq!(present[0].result, CheckResult::Pass);
        assert_eq!(
            present[0].message.as_deref(),
            Some("Secret dialectic-env exists")
        );
        assert!(contract_holds(&present));
    }

    #[test]
    fn statuses_follow_spec_order() {
        let secret = secret_with(&[
            ("DATABASE_URL", b"ecto://db"),
            ("SECRET_KEY_BASE", "k".repeat(64).as_bytes()),
        ]);
        let got = check_contract(&dialectic(), Some(&secret));
        let keys: Vec<&str> = got.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["SECRET_KEY_BASE", "DATABASE_URL", "OPENAI_API_KEY"]);
        assert!(contract_holds(&got));
        assert_eq!(summary(&got), "all 2 keys valid, 1 optional key not set");
    }

    #[test]
    fn string_data_is_read_and_wins_over_data() {
        let mut secret = secret_with(&[("DATABASE_URL", b"postgres://db")]);
        secret.string_data = Some(BTreeMap::from([
            ("DATABASE_URL".to_owned(), "ecto://db".to_owned()),
            ("SECRET_KEY_BASE".to_owned(), "s".repeat(64)),
        ]));
        let got = check_contract(&dialectic(), Some(&secret));
        assert_eq!(got[0].result, CheckResult::Pass, "{:?}", got[0]);
        assert_eq!(got[1].result, CheckResult::Pass, "{:?}", got[1]);

        // stringData alone, no data at all.
        let only = Secret {
            string_data: Some(BTreeMap::from([("K".to_owned(), String::new())])),
            ..Secret::default()
        };
        let got = check_contract(&contract(vec![rule("K", None, None, false)]), Some(&only));
        assert_eq!(got[0].message.as_deref(), Some("key K is empty"));
    }

    #[test]
    fn oversized_pattern_is_refused_not_compiled() {
        let got = check_contract(
            &contract(vec![rule("K", None, Some(r"\w{1000}{1000}"), false)]),
            Some(&secret_with(&[("K", b"v")])),
        );
        assert_eq!(got[0].result, CheckResult::Fail);
        let message = got[0].message.as_deref().unwrap_or_default();
        assert!(
            message.starts_with(
                r"key K: pattern '\w{1000}{1000}' is not a valid regular expression: "
            ),
            "{message}"
        );
        assert!(
            message.ends_with("it compiles to more than the limit of 1048576 bytes"),
            "{message}"
        );
    }

    #[test]
    fn contract_holds_table() {
        let s = |result| SecretKeyStatus {
            secret: "s".to_owned(),
            key: "k".to_owned(),
            result,
            message: None,
        };
        let cases = [
            (vec![], true),
            (vec![s(CheckResult::Pass)], true),
            (vec![s(CheckResult::Pass), s(CheckResult::Skipped)], true),
            (vec![s(CheckResult::Pending)], true),
            (vec![s(CheckResult::Pass), s(CheckResult::Fail)], false),
            (vec![s(CheckResult::Skipped), s(CheckResult::Fail)], false),
        ];
        for (statuses, holds) in cases {
            assert_eq!(contract_holds(&statuses), holds, "{statuses:?}");
        }
    }

    #[test]
    fn summary_table() {
        let four = contract(vec![
            rule("SECRET_KEY_BASE", Some(64), None, false),
            rule("DATABASE_URL", None, Some("^ecto://"), false),
            rule("PHX_HOST", None, None, false),
            rule("POOL_SIZE", None, None, false),
        ]);
        let long = "k".repeat(64);
        let good = secret_with(&[
            ("SECRET_KEY_BASE", long.as_bytes()),
            ("DATABASE_URL", b"ecto://db"),
            ("PHX_HOST", b"example.com"),
            ("POOL_SIZE", b"10"),
        ]);
        let bad = secret_with(&[
            ("SECRET_KEY_BASE", b"abcdefghijkl"),
            ("PHX_HOST", b"example.com"),
            ("POOL_SIZE", b"10"),
        ]);
        let one = contract(vec![rule("K", None, None, false)]);
        let cases = [
            (check_contract(&four, Some(&good)), "all 4 keys valid"),
            (
                check_contract(&four, Some(&bad)),
                "2 keys invalid: dialectic-env/SECRET_KEY_BASE has 12 characters, needs at least 64; \
                 dialectic-env/DATABASE_URL is missing",
            ),
            (
                check_contract(&one, Some(&secret_with(&[("K", b"v")]))),
                "1 key valid",
            ),
            (
                check_contract(&one, Some(&secret_with(&[("K", b"")]))),
                "1 key invalid: dialectic-env/K is empty",
            ),
            (
                check_contract(
                    &contract(vec![rule("K", None, Some("("), false)]),
                    Some(&secret_with(&[("K", b"v")])),
                ),
                "1 key invalid: dialectic-env/K: pattern '(' is not a valid regular expression: unclosed group",
            ),
            (vec![], "no keys to check"),
        ];
        for (statuses, want) in cases {
            assert_eq!(summary(&statuses), want);
        }
    }

    #[test]
    fn summary_is_bounded() {
        let keys: Vec<SecretKeyRule> = (0..64)
            .map(|i| {
                rule(
                    &format!("A_RATHER_LONG_KEY_NAME_{i:02}"),
                    Some(64),
                    None,
                    false,
                )
            })
            .collect();
        let names: Vec<String> = keys.iter().map(|k| k.name.clone()).collect();
        let data: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"short"[..])).collect();
        let got = check_contract(&contract(keys), Some(&secret_with(&data)));
        let line = summary(&got);
        assert_eq!(line.chars().count(), SUMMARY_MAX_CHARS);
        assert!(line.starts_with("64 keys invalid: dialectic-env/A_RATHER_LONG_KEY_NAME_00 has 5"));
        assert!(line.ends_with('…'));
        assert!(!line.contains('\n'));
    }

    /// Done-when (h) at the unit level: a distinctive value, failing every rule in turn, shows up
    /// in no message, no summary and no Debug output, not even in part.
    #[test]
    fn planted_value_never_appears() {
        const PLANTED: &str = "planted-SECRET-value-0123456789-zyxwvutsrq";
        let mut non_utf8 = PLANTED.as_bytes().to_vec();
        non_utf8.push(0xff);

        let rules = vec![
            rule("TOO_SHORT", Some(1000), None, false),
            rule("NO_MATCH", None, Some("^ecto://"), false),
            rule("BOTH", Some(1000), Some("^ecto://"), false),
            rule("BAD_PATTERN", None, Some("(unclosed"), false),
            rule("NOT_UTF8", Some(4), Some("^p"), false),
            rule("OPTIONAL_SHORT", Some(1000), None, true),
            rule("PASSES", Some(8), Some("SECRET"), false),
            rule("PRESENT", None, None, false),
        ];
        let mut secret = secret_with(&[
            ("TOO_SHORT", PLANTED.as_bytes()),
            ("NO_MATCH", PLANTED.as_bytes()),
            ("BOTH", PLANTED.as_bytes()),
            ("BAD_PATTERN", PLANTED.as_bytes()),
            ("NOT_UTF8", &non_utf8),
            ("OPTIONAL_SHORT", PLANTED.as_bytes()),
            ("PASSES", PLANTED.as_bytes()),
        ]);
        secret.string_data = Some(BTreeMap::from([("PRESENT".to_owned(), PLANTED.to_owned())]));

        let statuses = check_contract(&contract(rules), Some(&secret));
        assert_eq!(
            statuses
                .iter()
                .filter(|s| s.result == CheckResult::Fail)
                .count(),
            6,
            "{statuses:?}"
        );
        let mut texts: Vec<String> = statuses.iter().filter_map(|s| s.message.clone()).collect();
        texts.push(summary(&statuses));
        texts.push(format!("{statuses:?}"));
        texts.push(format!("{statuses:#?}"));
        let chars: Vec<char> = PLANTED.chars().collect();
        for window in chars.windows(8) {
            let part: String = window.iter().collect();
            for text in &texts {
                assert!(!text.contains(&part), "{part:?} leaked into {text:?}");
            }
        }
    }
}
