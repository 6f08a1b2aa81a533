//! The Score section of `kubectl checklist status`: overall and per category, as seed 004's
//! readiness table, with the least score a round needs and the warnings that failed.

use std::fmt::Write as _;

use super::{Paint, columns};
use crate::api::{DeploymentChecklist, Score};

/// Writes the Score section of `checklist` when its status has a score.
pub(super) fn section(
    out: &mut String,
    checklist: &DeploymentChecklist,
    score: &Score,
    paint: Paint,
) {
    let summary = if score.passed == score.total {
        paint.good(&score.summary)
    } else {
        paint.bad(&score.summary)
    };
    let needs = checklist
        .spec
        .verification
        .min_score
        .as_ref()
        .map(|min| {
            let min = match min {
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => {
                    format!("{n} checks")
                }
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => {
                    format!("{} of the checks", crate::text::line(s, 8))
                }
            };
            paint.dim(&format!("  (a round needs {min})"))
        })
        .unwrap_or_default();
    let _ = writeln!(out, "\n{}  {summary}{needs}", paint.heading("Score"));
    let rows: Vec<Vec<String>> = score
        .categories
        .iter()
        .map(|category| {
            let figure = format!("{}/{}", category.passed, category.total);
            let figure = if category.passed == category.total {
                paint.good(&figure)
            } else {
                paint.bad(&figure)
            };
            let warnings = match category.warnings {
                Some(1) => paint.waiting("1 warning"),
                Some(n) if n > 1 => paint.waiting(&format!("{n} warnings")),
                _ => String::new(),
            };
            vec![crate::text::line(&category.name, 32), figure, warnings]
        })
        .collect();
    for line in columns(&rows).lines() {
        let _ = writeln!(out, "  {}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_score_is_shown_per_category_with_the_least_a_round_needs() {
        let mut checklist: DeploymentChecklist = serde_json::from_value(json!({
            "apiVersion": "checklist.dev/v1alpha1", "kind": "DeploymentChecklist",
            "metadata": {"name": "web"},
            "spec": {"app": {"image": "web:1"}, "verification": {"minScore": "80%"}}
        }))
        .unwrap();
        let score: Score = serde_json::from_value(json!({
            "passed": 5, "total": 6, "summary": "5/6",
            "categories": [
                {"name": "rollout", "passed": 1, "total": 1},
                {"name": "security", "passed": 2, "total": 3, "warnings": 1},
                {"name": "secrets\u{202e}x", "passed": 2, "total": 2}
            ]
        }))
        .unwrap();
        let mut out = String::new();
        section(&mut out, &checklist, &score, Paint { colour: false });
        assert_eq!(
            out,
            "\nScore  5/6  (a round needs 80% of the checks)\n  \
             rollout    1/1\n  \
             security   2/3  1 warning\n  \
             secrets\u{fffd}x  2/2\n"
        );
        checklist.spec.verification.min_score = None;
        let mut out = String::new();
        section(&mut out, &checklist, &score, Paint { colour: false });
        assert!(out.starts_with("\nScore  5/6\n"), "{out}");
    }
}
