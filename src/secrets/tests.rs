//! The secret contract, key by key: every rule, every failure, and no value in any message. One
//! file of table-driven cases (a little over 450 lines, most of them table rows), so that every
//! rule's cases sit side by side.

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
        message.starts_with(r"key K: pattern '\w{1000}{1000}' is not a valid regular expression: "),
        "{message}"
    );
    assert!(
        message.contains("it compiles to more than the limit of 16384 bytes"),
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
