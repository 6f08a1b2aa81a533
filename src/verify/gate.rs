//! A round's outcomes into pass or fail, as seed 004's checklist decides a release: critical
//! checks must pass, warnings only report, dry-run checks never count, and `minScore` holds the
//! counted checks to a least score. Pure.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::api::{CheckResult, CheckSpec, Severity};

use super::outcome::CheckOutcome;

/// `spec.verification.minScore`, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinScore {
    /// At least this many counted checks pass.
    Checks(u32),
    /// At least this share of the counted checks pass, rounded up.
    Percent(u32),
}

impl MinScore {
    /// Reads `minScore` (a number 0-32 or a share "0%"-"100%"); the error says what is wrong.
    pub fn read(value: &IntOrString) -> Result<Self, String> {
        let bad = || {
            format!(
                "spec.verification.minScore {}: expected a number of checks (0-32) or a share \
                 such as 80%",
                crate::text::line(&shown(value), 16)
            )
        };
        match value {
            IntOrString::Int(n) => u32::try_from(*n)
                .ok()
                .filter(|n| *n <= 32)
                .map(MinScore::Checks)
                .ok_or_else(bad),
            IntOrString::String(text) => text
                .strip_suffix('%')
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| *n <= 100)
                .map(MinScore::Percent)
                .ok_or_else(bad),
        }
    }

    /// The passing checks needed out of `counted`.
    pub fn needed(self, counted: u32) -> u32 {
        match self {
            MinScore::Checks(n) => n,
            MinScore::Percent(p) => (counted * p).div_ceil(100),
        }
    }
}

impl std::fmt::Display for MinScore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MinScore::Checks(n) => write!(f, "{n}"),
            MinScore::Percent(p) => write!(f, "{p}%"),
        }
    }
}

fn shown(value: &IntOrString) -> String {
    match value {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => format!("{s:?}"),
    }
}

/// Why a checklist's `minScore` cannot be met whatever the app answers: not a valid value, or
/// more checks than count. None when it can.
pub fn unreachable_min_score(
    checks: &[CheckSpec],
    min_score: Option<&IntOrString>,
) -> Option<String> {
    let min = match MinScore::read(min_score?) {
        Ok(min) => min,
        Err(message) => return Some(message),
    };
    let counted = counted(checks);
    (min.needed(counted) > counted).then(|| {
        format!(
            "spec.verification.minScore {min} is more than the {counted} checks that count \
             (dryRun checks do not): no round could pass"
        )
    })
}

fn counted(checks: &[CheckSpec]) -> u32 {
    u32::try_from(checks.iter().filter(|c| !c.dry_run).count()).unwrap_or(u32::MAX)
}

/// What one round amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundJudgement {
    /// Whether the round passed.
    pub passed: bool,
    /// The counted checks that passed.
    pub score: u32,
    /// The checks that count (every check not marked dryRun).
    pub counted: u32,
    /// Why the round failed: its failing critical checks, or its score below minScore with
    /// every counted check that failed. Each check is named with what it got.
    pub failure: Option<String>,
    /// The warning checks that failed, each with what it got, whatever the round's result.
    pub warnings: Vec<String>,
}

/// Judges one round: `outcomes` of `checks`, held to `min_score` when set. A check missing
/// from `checks` (none should be) is taken as critical.
pub fn judge_round(
    checks: &[CheckSpec],
    outcomes: &[CheckOutcome],
    min_score: Option<MinScore>,
) -> RoundJudgement {
    let specs: HashMap<&str, &CheckSpec> = checks.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut critical = Vec::new();
    let mut counted_failures = Vec::new();
    let mut warnings = Vec::new();
    let (mut score, mut counted) = (0, 0);
    for outcome in outcomes {
        let spec = specs.get(outcome.name.as_str());
        if spec.is_some_and(|s| s.dry_run) {
            continue;
        }
        counted += 1;
        if outcome.passed() {
            score += 1;
            continue;
        }
        let seen = summary(outcome);
        counted_failures.push(seen.clone());
        match spec.map(|s| s.severity) {
            Some(Severity::Warning) => warnings.push(seen),
            Some(Severity::Critical) | None => critical.push(seen),
        }
    }
    let needed = min_score.map(|m| (m, m.needed(counted)));
    let failure = match needed {
        _ if !critical.is_empty() => Some(critical.join(", ")),
        Some((min, needed)) if score < needed => Some(format!(
            "score {score}/{counted} is below minScore {min} ({needed} needed): {}",
            counted_failures.join(", ")
        )),
        _ => None,
    };
    RoundJudgement {
        passed: failure.is_none(),
        score,
        counted,
        failure,
        warnings,
    }
}

/// A check that did not pass, named with what it got: "health (HTTP 503)", "error-rate (0.05,
/// expected below 0.01)". Short enough for an Event and a condition; what each saw, the app's
/// answer included, is in status.checks.
pub fn summary(outcome: &CheckOutcome) -> String {
    let got = match (outcome.result, outcome.status) {
        (CheckResult::Skipped, _) => "skipped".to_string(),
        // A metric check's message is the operator's own measurement ("0.05, expected below
        // 0.01"), already redacted: the figure says more than an HTTP status.
        (_, _) if outcome.measured => shortened(&outcome.message),
        (_, Some(status)) => format!("HTTP {status}"),
        (_, None) if outcome.attempts > 0 => "no answer".to_string(),
        (_, None) => "not sent".to_string(),
    };
    format!("{} ({got})", outcome.name)
}

/// At most [`SUMMARY_CHARS`] characters of `message`, with an ellipsis when cut.
fn shortened(message: &str) -> String {
    if message.chars().count() <= SUMMARY_CHARS {
        return message.to_string();
    }
    let kept: String = message.chars().take(SUMMARY_CHARS - 1).collect();
    format!("{kept}…")
}

/// The most of a metric check's message a failure summary quotes.
pub(crate) const SUMMARY_CHARS: usize = 120;

#[cfg(test)]
mod tests;
