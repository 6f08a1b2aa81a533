//! What `checklist-operator verify` prints: a table for people, JSON for pipelines.

use serde::Serialize;

use crate::api::{CheckResult, CheckSpec, Severity};

use super::{gate::RoundJudgement, outcome::CheckOutcome};

/// The JSON document of `verify --output json`.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// Checks that passed, dryRun ones left out.
    pub passed: u32,
    /// Checks that count: all but the dryRun ones.
    pub total: u32,
    /// Whether the round passed: no critical check failed and the score met minScore.
    pub ok: bool,
    /// Why it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<&'a str>,
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
    /// Critical or Warning.
    pub severity: Severity,
    /// The score category it counts in.
    pub category: &'a str,
    /// Whether it only reports.
    pub dry_run: bool,
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

/// One round to print: the checks as written, what each got, and the round's judgement.
#[derive(Debug, Clone, Copy)]
pub struct Round<'a> {
    /// The checks of the round, as written.
    pub checks: &'a [CheckSpec],
    /// What each got, in the same order.
    pub outcomes: &'a [CheckOutcome],
    /// What the round amounts to.
    pub judged: &'a RoundJudgement,
}

impl<'a> Round<'a> {
    fn spec(&self, outcome: &CheckOutcome) -> Option<&'a CheckSpec> {
        self.checks.iter().find(|c| c.name == outcome.name)
    }

    /// The JSON report of the round.
    pub fn json(&self) -> JsonReport<'a> {
        JsonReport {
            passed: self.judged.score,
            total: self.judged.counted,
            ok: self.judged.passed,
            failure: self.judged.failure.as_deref(),
            checks: self
                .outcomes
                .iter()
                .map(|o| {
                    let spec = self.spec(o);
                    JsonCheck {
                        name: &o.name,
                        kind: o.kind.map(|k| k.as_str()),
                        result: o.result,
                        severity: spec.map(|c| c.severity).unwrap_or_default(),
                        category: spec.map_or("health", CheckSpec::category),
                        dry_run: spec.is_some_and(|c| c.dry_run),
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
                    }
                })
                .collect(),
        }
    }

    /// The table of the round: a line per check (✓ passed, ✗ failed, ! a failed warning, -
    /// skipped or a failed dry run; name, latency, message), a line per dependency under its
    /// check, then the score and, when the round failed, why.
    pub fn text(&self) -> String {
        let width = self
            .outcomes
            .iter()
            .map(|o| o.name.len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for outcome in self.outcomes {
            let spec = self.spec(outcome);
            let dry_run = spec.is_some_and(|c| c.dry_run);
            let warning = spec.is_some_and(|c| c.severity == Severity::Warning);
            let mark = match outcome.result {
                CheckResult::Pass => '✓',
                _ if dry_run => '-',
                CheckResult::Fail | CheckResult::Skipped if warning => '!',
                CheckResult::Fail => '✗',
                CheckResult::Pending | CheckResult::Skipped => '-',
            };
            let label = match (dry_run, warning) {
                (true, _) => "[dry run] ",
                (false, true) => "[warning] ",
                (false, false) => "",
            };
            let latency = outcome
                .latency_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_else(|| "-".into());
            out.push_str(&format!(
                "{mark} {:<width$}  {latency:>8}  {label}{}\n",
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
        out.push_str(&format!(
            "Score: {}/{}\n",
            self.judged.score, self.judged.counted
        ));
        if let Some(failure) = &self.judged.failure {
            out.push_str(&format!("Failed: {failure}\n"));
        }
        out
    }
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

    fn checks() -> Vec<CheckSpec> {
        serde_json::from_value(serde_json::json!([
            {"name": "health", "http": {"path": "/health"}},
            {"name": "deep-health", "http": {"path": "/health/deep"}},
        ]))
        .unwrap()
    }

    fn printed(checks: &[CheckSpec], outcomes: &[CheckOutcome]) -> (String, serde_json::Value) {
        let judged = crate::verify::gate::judge_round(checks, outcomes, None);
        let round = Round {
            checks,
            outcomes,
            judged: &judged,
        };
        (round.text(), serde_json::to_value(round.json()).unwrap())
    }

    #[test]
    fn the_table_marks_each_check_and_ends_with_the_score() {
        assert_eq!(
            printed(&checks(), &outcomes()).0,
            "✓ health           3 ms  200 in 3 ms\n\
             ✗ deep-health     12 ms  dependency oban: \"fail\"\n    \
             ✓ database (pass)\n    \
             ✗ oban (fail)\n\
             Score: 1/2\n\
             Failed: deep-health (no answer)\n"
        );
    }

    #[test]
    fn a_failed_warning_is_marked_and_a_dry_run_is_not_counted() {
        let mut checks = checks();
        checks[1].severity = Severity::Warning;
        let (text, json) = printed(&checks, &outcomes());
        assert!(
            text.contains("! deep-health     12 ms  [warning] dependency"),
            "{text}"
        );
        assert!(text.ends_with("Score: 1/2\n"), "{text}");
        assert_eq!(json["ok"], true);
        assert_eq!(json["checks"][1]["severity"], "Warning");
        checks[1].dry_run = true;
        let (text, json) = printed(&checks, &outcomes());
        assert!(
            text.contains("- deep-health     12 ms  [dry run] dependency"),
            "{text}"
        );
        assert!(text.ends_with("Score: 1/1\n"), "{text}");
        assert_eq!(
            (json["passed"].clone(), json["total"].clone()),
            (1.into(), 1.into())
        );
        assert_eq!(json["checks"][1]["dryRun"], true);
    }

    #[test]
    fn the_json_report_has_the_documented_shape() {
        let value = printed(&checks(), &outcomes()).1;
        assert_eq!(value["passed"], 1);
        assert_eq!(value["total"], 2);
        assert_eq!(value["ok"], false);
        assert_eq!(value["failure"], "deep-health (no answer)");
        assert_eq!(value["checks"][0]["name"], "health");
        assert_eq!(value["checks"][0]["kind"], "http");
        assert_eq!(value["checks"][0]["result"], "Pass");
        assert_eq!(value["checks"][0]["severity"], "Critical");
        assert_eq!(value["checks"][0]["category"], "health");
        assert_eq!(value["checks"][0]["message"], "200 in 3 ms");
        assert_eq!(value["checks"][0]["latencyMs"], 3);
        assert_eq!(value["checks"][1]["dependencies"][1]["result"], "Fail");
    }
}
