//! The bounds on patterns (compiled size, value length) keep the patterns people write working,
//! and what they refuse is named in the message without the value.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;

use super::*;

fn verdict(pattern: &str, value: &str) -> (CheckResult, String) {
    let contract = SecretContract {
        secret_name: "app-env".to_owned(),
        inject: false,
        keys: vec![SecretKeyRule {
            name: "K".to_owned(),
            min_length: None,
            pattern: Some(pattern.to_owned()),
            optional: false,
        }],
    };
    let secret = Secret {
        data: Some(BTreeMap::from([(
            "K".to_owned(),
            ByteString(value.as_bytes().to_vec()),
        )])),
        ..Secret::default()
    };
    let mut statuses = check_contract(&contract, Some(&secret));
    let status = statuses.remove(0);
    (status.result, status.message.unwrap_or_default())
}

/// A fake PEM chain of `certificates` certificates of 1.9 KiB each, as a 4096-bit RSA one is.
fn pem_chain(certificates: usize) -> String {
    let body = format!("{}\n", "QUJDRGFrZUZBS0VmYWtl".repeat(3)).repeat(30);
    (0..certificates)
        .map(|_| format!("-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"))
        .collect()
}

#[test]
fn the_patterns_people_write_still_pass() {
    let chain = pem_chain(2);
    assert!(chain.len() > 3500 && chain.len() <= PATTERN_VALUE_MAX_BYTES);
    let cases = [
        (r"^ecto://", "ecto://user:pass@db/app".to_owned()),
        (r"^postgres(ql)?://", "postgresql://db/app".to_owned()),
        (r"^sk-[A-Za-z0-9]{20,}$", format!("sk-{}", "Ab1".repeat(16))),
        (r"^[0-9a-f]{64}$", "0123456789abcdef".repeat(4)),
        (r"^[A-Za-z0-9_]{64}$", "A_z9".repeat(16)),
        (r"^-----BEGIN CERTIFICATE-----", chain.clone()),
        (
            r"(?s)^-----BEGIN [A-Z ]+-----.*-----END CERTIFICATE-----\n$",
            chain,
        ),
        (
            r"^https://hooks\.slack\.com/services/",
            "https://hooks.slack.com/services/T0/B0/x".to_owned(),
        ),
        (
            r"(?i)^[a-z0-9.-]+\.example\.com$",
            "API.Example.com".to_owned(),
        ),
    ];
    for (pattern, value) in cases {
        let (result, message) = verdict(pattern, &value);
        assert_eq!(result, CheckResult::Pass, "{pattern}: {message}");
        assert_eq!(message, format!("matches {pattern}"));
    }
}

#[test]
fn a_value_longer_than_the_limit_fails_naming_its_length_not_its_content() {
    let at_limit = "x".repeat(PATTERN_VALUE_MAX_BYTES);
    assert_eq!(verdict("^x+$", &at_limit).0, CheckResult::Pass);

    let over = format!("{at_limit}SECRET-TAIL");
    let (result, message) = verdict("^x+$", &over);
    assert_eq!(result, CheckResult::Fail);
    assert_eq!(
        message,
        format!(
            "key K is {} bytes long, over the 4096 bytes a pattern is matched against",
            over.len()
        )
    );
    assert!(!message.contains("xxxx") && !message.contains("SECRET"));

    // minLength still reads any length; only the pattern is bounded.
    let contract = SecretContract {
        secret_name: "app-env".to_owned(),
        inject: false,
        keys: vec![SecretKeyRule {
            name: "K".to_owned(),
            min_length: Some(64),
            pattern: None,
            optional: false,
        }],
    };
    let secret = Secret {
        string_data: Some(BTreeMap::from([("K".to_owned(), "y".repeat(1 << 20))])),
        ..Secret::default()
    };
    assert_eq!(
        check_contract(&contract, Some(&secret))[0].result,
        CheckResult::Pass
    );
}

#[test]
fn a_unicode_class_too_large_to_compile_says_what_fits() {
    let (result, message) = verdict(r"^\w+$", "word");
    assert_eq!(result, CheckResult::Fail);
    assert!(
        message.ends_with(
            "it compiles to more than the limit of 16384 bytes (Unicode classes such as \\w are large; ASCII ones such as [A-Za-z0-9_] are not)"
        ),
        "{message}"
    );
    assert_eq!(verdict(r"^[A-Za-z0-9_]+$", "word").0, CheckResult::Pass);
    assert_eq!(verdict(r"^(?-u:\w)+$", "word").0, CheckResult::Pass);
}

/// A spec that bypassed the CRD's validation still cannot put a terminal escape or a bidi
/// override into a status message through its pattern or its names.
#[test]
fn messages_show_patterns_and_names_through_the_sanitizer() {
    let contract = SecretContract {
        secret_name: "env\u{1b}[2J".to_owned(),
        inject: false,
        keys: vec![SecretKeyRule {
            name: "K\u{202e}".to_owned(),
            min_length: None,
            pattern: Some("^a\u{7}\u{9b}".to_owned()),
            optional: false,
        }],
    };
    let secret = Secret {
        string_data: Some(BTreeMap::from([("K\u{202e}".to_owned(), "b".to_owned())])),
        ..Secret::default()
    };
    let statuses = check_contract(&contract, Some(&secret));
    let message = statuses[0].message.clone().unwrap_or_default();
    assert_eq!(message, "key K\u{FFFD} does not match ^a\u{FFFD}\u{FFFD}");
    let line = summary(&statuses);
    assert_eq!(
        line,
        "1 key invalid: env\u{FFFD}[2J/K\u{FFFD} does not match ^a\u{FFFD}\u{FFFD}"
    );
    assert!(crate::text::is_clean(&line));
    assert_eq!(
        check_contract(&contract, None)[0].message.as_deref(),
        Some("Secret env\u{FFFD}[2J not found")
    );
}

/// `kubectl explain` tells the limits as they are.
#[test]
fn the_crd_states_the_limits() {
    let yaml = crate::api::crd::crd_yaml().unwrap_or_default();
    for said in [
        format!("may compile to at most {} KiB", PATTERN_SIZE_LIMIT >> 10),
        format!(
            "longer than {} KiB fails the key",
            PATTERN_VALUE_MAX_BYTES >> 10
        ),
    ] {
        assert!(yaml.contains(&said), "{said}");
    }
}
