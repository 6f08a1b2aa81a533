//! The secret contract check: whether a Secret holds every key of `spec.secrets` with a value that
//! meets its rule, decided by pure functions so the verdict can be tested without a cluster.
//!
//! A verdict says which key failed and why (missing, empty, too short, no match) using lengths and
//! the user's own pattern only. No message ever carries a value, a part of one or a hash of one:
//! status, conditions and Events are readable by far more people than the Secret is.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;

use crate::api::secrets::{SecretContract, SecretKeyRule};
use crate::api::status::{CheckResult, SecretKeyStatus};
use crate::text::{line, truncated};

pub use crate::text::pattern::PATTERN_SIZE_LIMIT;

/// The longest value, in bytes, a pattern is matched against: 4 KiB, which holds a PEM
/// certificate. Matching costs time in proportion to it when the DFA meets a new state at every
/// byte: within [`PATTERN_SIZE_LIMIT`] the worst pattern takes about 5 ms on 4 KiB in a release
/// build, two to three times that on 8 KiB, and a second or more on the 1 MiB a Secret may hold
/// (`tests/hostile_secrets.rs` prints the figures). A longer value fails its key, naming its
/// length, not its content.
pub const PATTERN_VALUE_MAX_BYTES: usize = 4 << 10;

/// The most characters of a pattern, a key or a Secret name a message shows.
const SHOWN_MAX_CHARS: usize = 256;

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
/// A `pattern` is searched anywhere in the value unless anchored, compiled once per key and call
/// within [`PATTERN_SIZE_LIMIT`], and matched only against a value of at most
/// [`PATTERN_VALUE_MAX_BYTES`]; a pattern that does not compile fails its key whatever the Secret
/// holds, because the spec can never pass as written.
pub fn check_contract(contract: &SecretContract, secret: Option<&Secret>) -> Vec<SecretKeyStatus> {
    let name = contract.secret_name.as_str();
    if contract.keys.is_empty() {
        let shown = shown(name);
        return vec![match secret {
            Some(_) => status(
                name,
                "",
                CheckResult::Pass,
                format!("Secret {shown} exists"),
            ),
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
    let key = shown(&rule.name);
    let pattern = match rule
        .pattern
        .as_deref()
        .map(|p| (shown(p), crate::text::pattern::compile(p)))
    {
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
                format!(
                    "optional key {key} is not set (Secret {} not found)",
                    shown(secret_name)
                ),
            )
        } else {
            (CheckResult::Fail, not_found(secret_name))
        };
    };

    let bytes = match lookup(secret, &rule.name) {
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
        if text.len() > PATTERN_VALUE_MAX_BYTES {
            // Measured before matching: matching is what the limit saves.
            failures.push(format!(
                "is {} bytes long, over the {PATTERN_VALUE_MAX_BYTES} bytes a pattern is matched against",
                text.len()
            ));
        } else if re.is_match(text) {
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

/// How one failing status reads inside the summary: "<secret>/<key> <reason>".
fn failure_phrase(s: &SecretKeyStatus) -> String {
    let message = s.message.as_deref().unwrap_or("failed");
    if s.key.is_empty() || message == not_found(&s.secret) {
        return message.to_owned();
    }
    let (secret, key) = (shown(&s.secret), shown(&s.key));
    let prefix = format!("key {key} ");
    let keyed = format!("key {key}: ");
    if let Some(rest) = message.strip_prefix(&keyed) {
        format!("{secret}/{key}: {rest}")
    } else if let Some(rest) = message.strip_prefix(&prefix) {
        format!("{secret}/{key} {rest}")
    } else {
        format!("{secret}/{key}: {message}")
    }
}

fn not_found(secret_name: &str) -> String {
    format!("Secret {} not found", shown(secret_name))
}

/// A name or a pattern from the spec as a message shows it. The CRD keeps control and bidi
/// characters out of all three, but a message is read by people the spec's author is not.
fn shown(text: &str) -> String {
    line(text, SHOWN_MAX_CHARS)
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
mod limit_tests;
#[cfg(test)]
mod tests;
