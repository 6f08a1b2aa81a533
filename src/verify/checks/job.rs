//! `job` checks: a script run as a Job against the version under test, judged by its exit code,
//! the last lines of its output in the message.

use futures::future::BoxFuture;

use crate::api::{HeaderSource, JobCheck};
use crate::verify::{budget::Round, jobs::JobEnd};

use super::Evaluation;
use super::kind::{Judged, Kind, Problem, Reach};

impl Kind for JobCheck {
    fn judge<'a>(
        &'a self,
        name: &'a str,
        reach: &'a dyn Reach,
        round: &'a Round,
    ) -> BoxFuture<'a, Judged> {
        Box::pin(async move {
            let end = reach.run_job(name, self, round).await?;
            Ok((evaluate(&end), 0, None))
        })
    }

    fn lint(&self, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for (index, var) in self.env.iter().enumerate() {
            if var.value.is_some() == var.value_from.is_some() {
                out.push(format!(
                    "{path}.job.env[{index}]: an env var of a job check must set exactly one of value or valueFrom"
                ));
            }
            if var.name.starts_with("CHECKLIST_") {
                out.push(format!(
                    "{path}.job.env[{index}].name: env names starting with CHECKLIST_ are set by the operator"
                ));
            }
            if !names.insert(var.name.as_str()) {
                out.push(format!(
                    "{path}.job.env[{index}].name: {} is listed twice",
                    var.name
                ));
            }
        }
        out
    }

    fn secret_sources(&self) -> Vec<&HeaderSource> {
        self.env
            .iter()
            .filter_map(|v| v.value_from.as_ref())
            .collect()
    }

    // A Job per round is a pod per round: it runs until the stage's first pass, not in the
    // rounds that watch a pause or a Ready revision.
    fn runs_after_ready(&self) -> bool {
        false
    }

    // Its message (the exit code and the script's last lines) says more of a failure than an
    // HTTP status would: a failed round's summary quotes it.
    fn measures(&self) -> bool {
        true
    }
}

/// Judges how the Job ended: exit 0 passes; otherwise the exit code (or why it never exited)
/// and the last lines of its output.
pub fn evaluate(end: &JobEnd) -> Evaluation {
    let output = last_lines(&end.output);
    let how = match (end.exit_code, &end.reason) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(reason)) => reason.clone(),
        (None, None) if end.succeeded => "completed".to_string(),
        (None, None) => "failed".to_string(),
    };
    let message = match output.is_empty() {
        true => how,
        false => format!("{how}: {output}"),
    };
    if end.succeeded {
        Evaluation::pass(message)
    } else {
        Evaluation::fail(message)
    }
}

/// The most output lines a message quotes, newest last, joined with " | " on one line.
pub const OUTPUT_LINES: usize = 10;

/// The last [`OUTPUT_LINES`] non-blank lines of `output`, on one line.
fn last_lines(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(OUTPUT_LINES)..].join(" | ")
}

/// Why a job check was not run: no cluster to run it in.
pub fn not_run() -> Problem {
    Problem::Unavailable("job checks run in the cluster, by the operator; not run here".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(succeeded: bool, exit_code: Option<i32>, output: &str) -> JobEnd {
        JobEnd {
            succeeded,
            exit_code,
            output: output.into(),
            reason: None,
        }
    }

    #[test]
    fn the_exit_code_decides_and_the_last_lines_say_why() {
        let passed = evaluate(&end(
            true,
            Some(0),
            "registered\nlogged in\ncreated graph 42\n",
        ));
        assert!(passed.passed);
        assert_eq!(
            passed.message,
            "exit code 0: registered | logged in | created graph 42"
        );
        let failed = evaluate(&end(
            false,
            Some(1),
            "registered\nlogin: expected 200, got 500\n",
        ));
        assert!(!failed.passed);
        assert_eq!(
            failed.message,
            "exit code 1: registered | login: expected 200, got 500"
        );
        let many: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let failed = evaluate(&end(false, Some(2), &many));
        assert!(
            failed.message.starts_with("exit code 2: line 20 | "),
            "{}",
            failed.message
        );
        assert!(failed.message.ends_with("line 29"), "{}", failed.message);
    }

    #[test]
    fn a_job_that_never_exited_says_how_it_ended() {
        let timed_out = JobEnd {
            reason: Some("stopped after 30 s (DeadlineExceeded)".into()),
            ..end(false, None, "")
        };
        assert_eq!(
            evaluate(&timed_out).message,
            "stopped after 30 s (DeadlineExceeded)"
        );
    }

    #[test]
    fn lint_names_env_vars_the_api_server_refuses() {
        let check: JobCheck = serde_json::from_value(serde_json::json!({
            "command": ["t"],
            "env": [{"name": "CHECKLIST_URL", "value": "x"}, {"name": "A"}, {"name": "A", "value": "1"}]
        }))
        .unwrap();
        let problems = check.lint("spec.verification.checks[0]");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("CHECKLIST_"), "{problems:?}");
    }
}
