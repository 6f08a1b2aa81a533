//! One verification task: the rounds of one revision, from the wait for a turn to the verdict,
//! and the pure decisions in them (what comes after a verdict, what is news, what a round's
//! outcomes say in status).

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::{
    api::{CheckKind, CheckResult, CheckSpec, CheckStatus, DependencyStatus},
    fair::FairShare,
    telemetry::Metrics,
    verify::{
        budget::{Limits, Pacer},
        checks,
        engine::{CheckOutcome, Engine, NamespaceLabel, QueryPlaceholders},
        gate::{self, MinScore, RoundJudgement},
        guard::EgressPolicy,
        rounds::{RoundTracker, Verdict},
    },
};

use super::{
    super::{
        clock,
        observe::{Key, Report, VerificationObservation, VerificationResults},
    },
    Assignment, jobs,
};

/// What a task shares with the verifier and every other task.
pub(super) struct Shared {
    pub(super) egress: Arc<EgressPolicy>,
    pub(super) prometheus: Option<url::Url>,
    pub(super) prometheus_namespace_label: Option<NamespaceLabel>,
    pub(super) client: Option<kube::Client>,
    pub(super) in_flight: FairShare,
    pub(super) pacer: Pacer,
    pub(super) limits: Limits,
}

/// The rounds of one revision. Until the revision passes, every round is reported and asks for a
/// reconcile, and `failureThreshold` failed rounds in a row fail it. With `continuous`, rounds go
/// on after it passed, without the rateLimit checks (they would lock real users out of a login
/// form every few seconds); then only a changed verdict or result asks for a reconcile, so a
/// healthy app costs no status writes. Each round waits for its namespace's turn at a permit of
/// `in_flight` first, and the engine (its HTTP client) is built once the first is granted, so a
/// waiting task holds little more than its assignment.
// Long (about 80 lines) on purpose: the task's whole life as one loop (wait, run, judge,
// report, stop or sleep); the decisions in it are the pure functions below.
pub(super) async fn rounds(
    key: Key,
    assignment: Assignment,
    shared: Shared,
    report: Arc<Mutex<Report>>,
    reconcile: mpsc::UnboundedSender<Key>,
    metrics: Arc<Metrics>,
) {
    let spec = &assignment.spec;
    let publish = |state: VerificationObservation, results: Option<VerificationResults>| {
        let mut report = report.lock().unwrap_or_else(PoisonError::into_inner);
        report.state = state;
        if results.is_some() {
            report.results = results;
        }
        drop(report);
        // The receiver is gone only while the operator shuts down.
        let _ = reconcile.send(key.clone());
    };
    let mut engine: Option<Engine> = None;
    let mut verified = assignment.verified;
    let continuous_checks = after_ready(&spec.checks);
    if !verified {
        tokio::time::sleep(seconds(spec.initial_delay_seconds)).await;
    }
    // The plan refuses a minScore no round can meet before rounds start; one that bypassed
    // validation is left out rather than failing every round.
    let min_score = spec.min_score.as_ref().and_then(|m| MinScore::read(m).ok());
    let threshold = u32::try_from(spec.failure_threshold).unwrap_or(1);
    let mut tracker = RoundTracker::resume(threshold, assignment.failed_rounds);
    let mut last: Option<(VerificationObservation, VerificationResults)> = None;
    // Rounds are numbered from the failed ones before this task, so a restarted operator gives
    // an interrupted round its number again and finds that round's Jobs.
    let mut number = u64::from(assignment.failed_rounds);
    loop {
        let checks = if verified {
            &continuous_checks
        } else {
            &spec.checks
        };
        // Each round is a trace of its own: the wait for the namespace's turn, then a span per
        // check (debug spans, kept out of the log lines).
        let round = tracing::debug_span!(
            parent: None,
            "verification round",
            namespace = %key.0,
            checklist = %key.1,
            revision = %assignment.revision,
            round = number,
            continuous = verified,
            score = tracing::field::Empty,
            verdict = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let permit = shared
            .in_flight
            .acquire(&key.0)
            .instrument(tracing::debug_span!(parent: &round, "wait for a turn"))
            .await;
        let built = match engine.take() {
            Some(built) => built,
            None => match engine_for(&key, &assignment, &shared) {
                Ok(built) => built,
                Err(error) => {
                    publish(VerificationObservation::Failed(error.to_string()), None);
                    return;
                }
            },
        };
        let outcomes = built
            .run_numbered_round(checks, number)
            .instrument(round.clone())
            .await;
        number += 1;
        engine = Some(built);
        drop(permit);
        let judged = gate::judge_round(checks, &outcomes, min_score);
        let verdict = tracker.record(judged.passed);
        round.record("score", judged.score);
        round.record("verdict", tracing::field::debug(verdict));
        if !judged.passed {
            round.record("otel.status_code", "ERROR");
        }
        drop(round);
        metrics.round(verdict.into());
        let state = judge(verdict, &judged);
        tracing::info!(
            namespace = %key.0, checklist = %key.1, revision = %assignment.revision,
            score = judged.score, counted = judged.counted, total = outcomes.len(),
            warnings = judged.warnings.len(), verdict = ?verdict, continuous = verified,
            "verification round"
        );
        let mut current = VerificationResults {
            failed_rounds: tracker.failures(),
            ..results(checks, &outcomes, &clock::now())
        };
        if let Some((_, previous)) = &last {
            current = current.over(previous);
        }
        if is_news(last.as_ref(), verified, &state, &current) {
            publish(state.clone(), Some(current.clone()));
        } else {
            let mut report = report.lock().unwrap_or_else(PoisonError::into_inner);
            report.results = Some(current.clone());
        }
        last = Some((state, current));
        match next(verdict, spec.continuous, assignment.watch) {
            Next::Again => {}
            Next::Watch => verified = true,
            Next::Stop => return,
        }
        tokio::time::sleep(seconds(spec.interval_seconds)).await;
    }
}

/// What the rounds do after a round's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Another round of the same checks.
    Again,
    /// Passed: go on with the checks that run after a pass, reporting only what changes.
    Watch,
    /// Done: the verdict stands.
    Stop,
}

/// After `verdict`: a pending round goes on; a pass goes on being watched while the checklist
/// asks for `continuous` rounds or the stage is `watched`; a failure goes on only in continuous
/// rounds (their verdict is reported, the stable version is not rolled back); else the rounds
/// stop.
pub(super) fn next(verdict: Verdict, continuous: bool, watched: bool) -> Next {
    match verdict {
        Verdict::Pending => Next::Again,
        Verdict::Passed if continuous || watched => Next::Watch,
        Verdict::Failed if continuous => Next::Again,
        Verdict::Passed | Verdict::Failed => Next::Stop,
    }
}

/// The engine of one revision's rounds: its checks' budgets, its namespace's pace, the
/// operator's Prometheus and the query placeholders of this checklist and revision.
fn engine_for(
    key: &Key,
    assignment: &Assignment,
    shared: &Shared,
) -> Result<Engine, crate::verify::engine::EngineError> {
    let mut engine = Engine::new(
        &assignment.spec,
        &assignment.base_url,
        (*shared.egress).clone(),
        assignment.secrets.clone(),
    )?;
    if let Some((name, value)) = &assignment.pin {
        engine = engine.with_pin(name, value)?;
    }
    if let (Some(client), Some(jobs)) = (&shared.client, &assignment.jobs) {
        engine = engine.with_jobs(Arc::new(jobs::KubeJobs::new(client.clone(), jobs.clone())));
    }
    Ok(engine
        .with_limits(shared.limits)
        .with_pace(shared.pacer.clone(), key.0.clone())
        .with_prometheus(shared.prometheus.clone())
        .with_prometheus_namespace_label(shared.prometheus_namespace_label.clone())
        .with_placeholders(QueryPlaceholders {
            // The target is `<hash>` or `<hash>@<stage>`: the query names the revision.
            revision: assignment
                .revision
                .split('@')
                .next()
                .unwrap_or_default()
                .to_string(),
            namespace: key.0.clone(),
            name: key.1.clone(),
        }))
}

/// The checks that run again in the rounds after Ready (each kind says whether it does; a
/// check of no kind stays, to fail there as it did before).
fn after_ready(checks: &[CheckSpec]) -> Vec<CheckSpec> {
    checks
        .iter()
        .filter(|c| c.check().is_none_or(|k| checks::of(k).runs_after_ready()))
        .cloned()
        .collect()
}

/// Whether a round's state and results are worth a reconcile: always until the revision
/// passed; after it, only a changed verdict or result, so a healthy app costs no writes.
fn is_news(
    last: Option<&(VerificationObservation, VerificationResults)>,
    verified: bool,
    state: &VerificationObservation,
    current: &VerificationResults,
) -> bool {
    match last {
        None => true,
        Some(_) if !verified => true,
        Some((state_before, before)) => state_before != state || !before.same_as(current),
    }
}

fn seconds(value: i32) -> Duration {
    Duration::from_secs(u64::try_from(value).unwrap_or(0))
}

/// The observation a round's verdict amounts to; a failure says why (see `gate::judge_round`).
pub(super) fn judge(verdict: Verdict, judged: &RoundJudgement) -> VerificationObservation {
    match verdict {
        Verdict::Pending => VerificationObservation::Running,
        Verdict::Passed => VerificationObservation::Passed,
        Verdict::Failed => {
            VerificationObservation::Failed(judged.failure.clone().unwrap_or_default())
        }
    }
}

/// A round's outcomes of `specs` as status entries, each with its severity and category.
pub(super) fn results(
    specs: &[CheckSpec],
    outcomes: &[CheckOutcome],
    now: &Time,
) -> VerificationResults {
    let checks = outcomes
        .iter()
        .map(|o| {
            let spec = specs.iter().find(|c| c.name == o.name);
            (o, spec)
        })
        .map(|(o, spec)| CheckStatus {
            name: o.name.clone(),
            kind: o.kind.unwrap_or(CheckKind::Http),
            severity: spec.map(|c| c.severity).unwrap_or_default(),
            category: spec.map(|c| c.category().to_string()),
            dry_run: spec.is_some_and(|c| c.dry_run),
            result: o.result,
            message: Some(o.message.clone()),
            latency_ms: o.latency_ms.and_then(|ms| i64::try_from(ms).ok()),
            attempts: i32::try_from(o.attempts).ok(),
            last_run: Some(now.clone()),
        })
        .collect();
    let dependencies = outcomes
        .iter()
        .flat_map(|o| {
            o.dependencies.iter().map(|d| DependencyStatus {
                name: d.name.clone(),
                check: o.name.clone(),
                result: if d.healthy {
                    CheckResult::Pass
                } else {
                    CheckResult::Fail
                },
                message: Some(d.state.clone()),
            })
        })
        .collect();
    VerificationResults {
        checks,
        dependencies,
        failed_rounds: 0,
    }
}
