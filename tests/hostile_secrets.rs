//! Hostile secret contracts: a pattern and a value chosen together to make the check slow.
//! Whoever may create a checklist chooses the pattern, and often the Secret too, and every
//! reconcile of the checklist matches them again. Every case must end within a second with a
//! verdict; run with `--nocapture` to see each case's time.

// Tests may unwrap: a panic is how a test says what failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use checklist_operator::{
    api::{CheckResult, SecretContract, SecretKeyRule, SecretKeyStatus},
    secrets::{PATTERN_VALUE_MAX_BYTES, check_contract},
};
use k8s_openapi::{ByteString, api::core::v1::Secret};

/// The most a Secret holds (the API server's limit), so the longest value a key can have.
const MIB: usize = 1 << 20;

/// The most keys with a pattern one checklist may have (the CRD's rule on spec.secrets).
const MAX_PATTERNS: usize = 16;

/// The most keys one contract may list (the CRD's maxItems).
const MAX_KEYS: usize = 64;

/// `len` bytes of characters from `alphabet`, drawn by a fixed xorshift sequence: irregular
/// enough that a lazy DFA for `[ab]*a[ab]{N}` meets a new state at almost every byte.
fn value(len: usize, alphabet: &[char]) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = String::with_capacity(len);
    loop {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let c = alphabet[(x % alphabet.len() as u64) as usize];
        if out.len() + c.len_utf8() > len {
            return out;
        }
        out.push(c);
    }
}

fn rule(name: &str, min_length: Option<i32>, pattern: Option<&str>) -> SecretKeyRule {
    SecretKeyRule {
        name: name.into(),
        min_length,
        pattern: pattern.map(str::to_string),
        optional: false,
    }
}

fn secret(data: &[(String, &str)]) -> Secret {
    Secret {
        data: Some(
            data.iter()
                .map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec())))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Secret::default()
    }
}

fn check_one(pattern: &str, value: &str) -> (SecretKeyStatus, Duration) {
    let contract = SecretContract {
        secret_name: "env".into(),
        inject: false,
        keys: vec![rule("KEY", None, Some(pattern))],
    };
    let secret = secret(&[("KEY".into(), value)]);
    let started = Instant::now();
    let mut statuses = check_contract(&contract, Some(&secret));
    (statuses.remove(0), started.elapsed())
}

/// `template` with `N` replaced by the largest count the operator still compiles: the costliest
/// pattern of that shape a tenant can write.
fn largest_that_compiles(template: &str) -> String {
    let compiles = |n: usize| {
        let (status, _) = check_one(&template.replace('N', &n.to_string()), "x");
        !status
            .message
            .unwrap_or_default()
            .contains("compiles to more than")
    };
    let (mut fits, mut too_big) = (1, 100_000);
    assert!(compiles(fits), "{template} never compiles");
    while fits + 1 < too_big {
        let middle = (fits + too_big) / 2;
        if compiles(middle) {
            fits = middle;
        } else {
            too_big = middle;
        }
    }
    template.replace('N', &fits.to_string())
}

#[test]
fn every_hostile_pattern_ends_within_a_second() {
    let ab = value(MIB, &['a', 'b']);
    let at_limit = &ab[..PATTERN_VALUE_MAX_BYTES];
    let words = value(MIB, &['a', 'é', 'ж', 'b']);
    let words_at_limit = value(PATTERN_VALUE_MAX_BYTES, &['a', 'é', 'ж', 'b']);
    let blow_up = largest_that_compiles(r"[ab]*a[ab]{N}c");
    let folded = largest_that_compiles(r"(?i)[ab]*a[ab]{N}c");
    let alternation = largest_that_compiles(r"(?:a|b|ab|ba|aa|bb)*a(?:a|b){N}c");
    let boundary = largest_that_compiles(r"[abé]*a[abé]{N}\b");
    let cases: Vec<(&str, &str, &str)> = vec![
        ("DFA blow-up, Unicode tail", r"[ab]*a[ab]{3000}\p{Lu}", &ab),
        (
            "DFA blow-up, Unicode tail",
            r"[ab]*a[ab]{3000}\p{Lu}",
            at_limit,
        ),
        ("DFA blow-up, 200 deep", r"[ab]*a[ab]{200}c", &ab),
        ("DFA blow-up, largest", &blow_up, at_limit),
        ("DFA blow-up, case-insensitive", &folded, at_limit),
        ("DFA blow-up, alternation", &alternation, at_limit),
        ("Unicode classes", r"\w*a\w{15}z", &words),
        ("Unicode word boundary", &boundary, &words_at_limit),
    ];
    let mut slow = Vec::new();
    for (label, pattern, value) in cases {
        let (status, took) = check_one(pattern, value);
        let message = status.message.unwrap_or_default();
        println!(
            "{label:30} {:>8} bytes {took:>10.2?} {:?}: {}",
            value.len(),
            status.result,
            message.chars().take(110).collect::<String>()
        );
        assert_ne!(status.result, CheckResult::Pass, "{label}");
        if took > Duration::from_secs(1) {
            slow.push(format!("{label} on {} bytes took {took:?}", value.len()));
        }
    }
    assert!(slow.is_empty(), "{slow:#?}");
}

/// The worst checklist the CRD admits: 16 Secrets of 64 keys (1 MiB each), 16 of the keys with
/// the costliest pattern on a value at the length limit, the others with minLength, which reads
/// every character.
#[test]
fn a_checklist_of_the_worst_patterns_ends_within_a_second() {
    let pattern = largest_that_compiles(r"[ab]*a[ab]{N}c");
    let ab = value(PATTERN_VALUE_MAX_BYTES, &['a', 'b']);
    let filler = "f".repeat(MIB / MAX_KEYS - 64);
    let names: Vec<String> = (0..MAX_KEYS).map(|i| format!("KEY_{i:02}")).collect();
    let keys: Vec<SecretKeyRule> = names
        .iter()
        .enumerate()
        .map(|(i, name)| match i {
            0 => rule(name, None, Some(&pattern)),
            _ => rule(name, Some(65536), None),
        })
        .collect();
    let data: Vec<(String, &str)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.clone(), if i == 0 { ab.as_str() } else { &filler }))
        .collect();
    let secret = secret(&data);
    let contracts: Vec<SecretContract> = (0..MAX_PATTERNS)
        .map(|i| SecretContract {
            secret_name: format!("env-{i}"),
            inject: false,
            keys: keys.clone(),
        })
        .collect();

    let started = Instant::now();
    let statuses: Vec<SecretKeyStatus> = contracts
        .iter()
        .flat_map(|contract| check_contract(contract, Some(&secret)))
        .collect();
    let took = started.elapsed();
    println!(
        "{} keys, {MAX_PATTERNS} of them {pattern:.24}… on {} bytes: {took:.2?}",
        statuses.len(),
        ab.len()
    );
    assert_eq!(statuses.len(), MAX_PATTERNS * MAX_KEYS);
    assert!(took < Duration::from_secs(1), "{took:?}");
}
