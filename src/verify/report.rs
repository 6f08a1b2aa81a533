//! What `checklist-operator verify` prints: a table for people, JSON for pipelines.

use serde::Serialize;

use crate::api::CheckResult;

use super::outcome::CheckOutcome;

/// The JSON document of `verify --output json`.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// Checks that passed.
    pub passed: usize,
    /// All checks.
    pub total: usize,
    /// One entry per check.
    pub checks: Vec<JsonCheck<'a>>,
}

/// One check in the JSON report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonCheck<'a> {
    /// The check's name.
    pub name: &'a str,
    /// Its kind (`http`, `httpsRedirect`, `securityHeaders`, `rateLimit`), if valid.
    pub kind: Option<&'static str>,
    /// Pass, Fail or Skipped.
    pub result: CheckResult,
    /// What was seen.
    pub message: &'a str,
    /// How long it took.
    pub latency_ms: Option<u64>,
    /// Requests sent.
    pub attempts: u32,
    /// Dependencies read from a deep health body, each `{name, result, state}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<JsonDependency<'a>>,
}

/// One dependency in the JSON report.
#[derive(Debug, Serialize)]
pub struct JsonDependency<'a> {
    /// The dependency's name.
    pub name: &'a str,
    /// Pass or Fail.
    pub result: CheckResult,
    /// The state the app reported.
    pub state: &'a str,
}

/// The JSON report of one round.
pub fn json(outcomes: &[CheckOutcome]) -> JsonReport<'_> {
    JsonReport {
        passed: outcomes.iter().filter(|o| o.passed()).count(),
        total: outcomes.len(),
        checks: outcomes
            .iter()
            .map(|o| JsonCheck {
                name: &o.name,
                kind: o.kind.map(|k| k.as_str()),
                result: o.result,
                message: &o.message,
                latency_ms: o.latency_ms,
                attempts: o.attempts,
                dependencies: o
                    .dependencies
                    .iter()
                    .map(|d| JsonDependency {
                        name: &d.name,
                        result: if d.healthy {
                            CheckResult::Pass
                        } else {
                            CheckResult::Fail
                        },
                        state: &d.state,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The table of one round: a line per check (✓/✗/-, name, latency, message), a line per
/// dependency under its check, and the score.
pub fn text(outcomes: &[CheckOutcome]) -> String {
    let width = outcomes.iter().map(|o| o.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for outcome in outcomes {
        let mark = match outcome.result {
            CheckResult::Pass => '✓',
            CheckResult::Fail => '✗',
            CheckResult::Pending | CheckResult::Skipped => '-',
        };
        let latency = outcome
            .latency_ms
            .map(|ms| format!("{ms} ms"))
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{mark} {:<width$}  {latency:>8}  {}\n",
            outcome.name, outcome.message
        ));
        for dependency in &outcome.dependencies {
            let mark = if dependency.healthy { '✓' } else { '✗' };
            out.push_str(&format!(
                "    {mark} {} ({})\n",
                dependency.name, dependency.state
            ));
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    out.push_str(&format!("Score: {passed}/{}\n", outcomes.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{api::CheckKind, verify::json::Dependency};

    fn outcomes() -> Vec<CheckOutcome> {
        vec![
            CheckOutcome {
                name: "health".into(),
                kind: Some(CheckKind::Http),
                result: CheckResult::Pass,
                message: "200 in 3 ms".into(),
                latency_ms: Some(3),
                attempts: 1,
                status: None,
                dependencies: Vec::new(),
                measured: false,
            },
            CheckOutcome {
                name: "deep-health".into(),
                kind: Some(CheckKind::Http),
                result: CheckResult::Fail,
                message: "dependency oban: \"fail\"".into(),
                latency_ms: Some(12),
                attempts: 1,
                status: None,
                dependencies: vec![
                    Dependency {
                        name: "database".into(),
                        healthy: true,
                        state: "pass".into(),
                    },
                    Dependency {
                        name: "oban".into(),
                        healthy: false,
                        state: "fail".into(),
                    },
                ],
                measured: false,
            },
        ]
    }

    #[test]
    fn the_table_marks_each_check_and_ends_with_the_score() {
        assert_eq!(
            text(&outcomes()),
            "✓ health           3 ms  200 in 3 ms\n\
             ✗ deep-health     12 ms  dependency oban: \"fail\"\n    \
             ✓ database (pass)\n    \
             ✗ oban (fail)\n\
             Score: 1/2\n"
        );
    }

    #[test]
    fn the_json_report_has_the_documented_shape() {
        let value = serde_json::to_value(json(&outcomes())).unwrap();
        assert_eq!(value["passed"], 1);
        assert_eq!(value["total"], 2);
        assert_eq!(value["checks"][0]["name"], "health");
        assert_eq!(value["checks"][0]["kind"], "http");
        assert_eq!(value["checks"][0]["result"], "Pass");
        assert_eq!(value["checks"][0]["message"], "200 in 3 ms");
        assert_eq!(value["checks"][0]["latencyMs"], 3);
        assert_eq!(value["checks"][1]["dependencies"][1]["result"], "Fail");
    }
}
