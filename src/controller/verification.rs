//! Verification rounds in their own tasks, so a reconcile never waits on the network.
//!
//! One task per checklist runs the rounds of the current revision and keeps the latest results
//! and the verdict in a shared report; after every round it asks for a reconcile, which reads the
//! report (observe) and writes it to status (record). Reports live in memory only: after a
//! restart the rounds of a revision still being verified start again, and a verdict already in
//! the status (a failure in the history, a Verified condition) is read from there.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};
use tracing::Instrument;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio::sync::mpsc;

use crate::{
    api::{CheckKind, CheckResult, CheckSpec, CheckStatus, DependencyStatus, VerificationSpec},
    fair::FairShare,
    resources,
    telemetry::Metrics,
    verify::{
        budget::{Limits, Pacer},
        checks,
        client::shown_url_text,
        engine::{CheckOutcome, Engine, NamespaceLabel, QueryPlaceholders, SecretValues},
        gate::{self, MinScore, RoundJudgement},
        guard::EgressPolicy,
        rounds::{RoundTracker, Verdict},
    },
};

use super::{
    clock,
    observe::{Key, Report, VerificationObservation, VerificationResults},
};

/// What a task needs to verify one revision.
#[derive(Debug, Clone)]
pub(crate) struct Assignment {
    /// The revision being verified.
    pub(crate) revision: String,
    /// The revision already passed: continuous rounds after Ready.
    pub(crate) verified: bool,
    /// A stage of a release (a canary step, a preview, the time after a switch): its rounds go
    /// on after the first pass for as long as the stage lasts, so a pause or a wait for a
    /// person is watched by the checks, and a failure then rolls back before the wait ends.
    pub(crate) watch: bool,
    /// Failed rounds in a row before this task (counted by a previous process).
    pub(crate) failed_rounds: u32,
    /// spec.verification of that revision.
    pub(crate) spec: VerificationSpec,
    /// The URL the checks' paths are joined to.
    pub(crate) base_url: String,
    /// Header values read from Secrets.
    pub(crate) secrets: SecretValues,
    /// A header (name, value) every request carries: a gateway's revision header, so checks
    /// through the users' front door reach the version under test.
    pub(crate) pin: Option<(String, String)>,
    /// Where job checks' Jobs run, when the checks have any.
    pub(crate) jobs: Option<resources::CheckJobs>,
}

struct Task {
    revision: String,
    /// The digest of the checks it runs (`resources::checks_digest`).
    checks: String,
    report: Arc<Mutex<Report>>,
    handle: tokio::task::AbortHandle,
}

/// How the verification rounds share the operator (`run --verification-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// How many checklists' rounds run at once; the rest wait their namespace's turn, so
    /// thousands of checklists released together neither open thousands of connections at once
    /// nor starve one another.
    pub rounds_in_flight: usize,
    /// The most of those one namespace may hold: the rest are always left to the others.
    pub namespace_share: usize,
    /// Requests per second one namespace's checks may send, all its checklists together.
    pub namespace_rps: u32,
    /// The time and request budget of each round.
    pub limits: Limits,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            rounds_in_flight: 64,
            namespace_share: 16,
            namespace_rps: 50,
            limits: Limits::default(),
        }
    }
}

/// The running verification tasks, one per checklist at most.
#[derive(Clone)]
pub(crate) struct Verifier {
    tasks: Arc<Mutex<HashMap<Key, Task>>>,
    /// A permit per round in flight, granted to namespaces in turn, none above its share.
    in_flight: FairShare,
    pacer: Pacer,
    limits: Limits,
    egress: Arc<EgressPolicy>,
    reconcile: mpsc::UnboundedSender<Key>,
    metrics: Arc<Metrics>,
    prometheus: Option<url::Url>,
    prometheus_namespace_label: Option<NamespaceLabel>,
    /// Runs job checks' Jobs; None leaves job checks unrun (skipped).
    client: Option<kube::Client>,
}

impl Verifier {
    /// A verifier whose tasks send the key of their checklist to `reconcile` after each round.
    pub fn new(egress: EgressPolicy, reconcile: mpsc::UnboundedSender<Key>) -> Self {
        let capacity = Capacity::default();
        Self {
            tasks: Arc::default(),
            in_flight: FairShare::new(capacity.rounds_in_flight, capacity.namespace_share),
            pacer: Pacer::new(capacity.namespace_rps),
            limits: capacity.limits,
            egress: Arc::new(egress),
            reconcile,
            metrics: Arc::default(),
            prometheus: None,
            prometheus_namespace_label: None,
            client: None,
        }
    }

    /// Asks the controller to reconcile the checklist `key` now, through the channel the
    /// rounds report on: a checklist following one whose status moved.
    pub(crate) fn wake(&self, key: Key) {
        // The receiver goes only when the controller stops, and then nothing is to be woken.
        let _ = self.reconcile.send(key);
    }

    /// Runs job checks' Jobs through `client`.
    pub(crate) fn with_client(mut self, client: kube::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Sends prometheus checks that name no address to `url` (the operator's --prometheus-url).
    pub(crate) fn with_prometheus(mut self, url: Option<url::Url>) -> Self {
        self.prometheus = url;
        self
    }

    /// Confines every prometheus query to its checklist's namespace through `label` (the
    /// operator's --prometheus-namespace-label); None sends queries as written.
    pub(crate) fn with_prometheus_namespace_label(mut self, label: Option<NamespaceLabel>) -> Self {
        self.prometheus_namespace_label = label;
        self
    }

    /// Shares the rounds out as `capacity` says.
    pub(crate) fn with_capacity(mut self, capacity: Capacity) -> Self {
        self.in_flight = FairShare::new(capacity.rounds_in_flight, capacity.namespace_share);
        self.pacer = Pacer::new(capacity.namespace_rps);
        self.limits = capacity.limits;
        self
    }

    /// Counts the rounds in `metrics`.
    pub(crate) fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The report of `key`'s task, if one runs or ran for `revision` with the checks whose
    /// digest is `checks`: the verdict of other checks (before a template changed) is not theirs.
    pub(crate) fn report(&self, key: &Key, revision: &str, checks: &str) -> Option<Report> {
        let tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        let task = tasks
            .get(key)
            .filter(|t| t.revision == revision && t.checks == checks)?;
        let report = task.report.lock().unwrap_or_else(PoisonError::into_inner);
        Some(report.clone())
    }

    /// Starts rounds for the assignment's revision unless a task already runs them with the same
    /// checks; a task for another revision, or with other checks, is stopped first.
    pub(crate) fn start(&self, key: Key, assignment: Assignment) {
        let checks = resources::checks_digest(&assignment.spec);
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        if tasks
            .get(&key)
            .is_some_and(|t| t.revision == assignment.revision && t.checks == checks)
        {
            return;
        }
        if let Some(old) = tasks.remove(&key) {
            old.handle.abort();
        }
        let report = Arc::new(Mutex::new(Report {
            revision: assignment.revision.clone(),
            state: VerificationObservation::Running,
            results: None,
        }));
        tracing::info!(
            namespace = %key.0, checklist = %key.1, revision = %assignment.revision,
            url = %shown_url_text(&assignment.base_url), "verification started"
        );
        let revision = assignment.revision.clone();
        let handle = tokio::spawn(rounds(
            key.clone(),
            assignment,
            Shared {
                egress: Arc::clone(&self.egress),
                prometheus: self.prometheus.clone(),
                prometheus_namespace_label: self.prometheus_namespace_label.clone(),
                client: self.client.clone(),
                in_flight: self.in_flight.clone(),
                pacer: self.pacer.clone(),
                limits: self.limits,
            },
            Arc::clone(&report),
            self.reconcile.clone(),
            Arc::clone(&self.metrics),
        ))
        .abort_handle();
        tasks.insert(
            key,
            Task {
                revision,
                checks,
                report,
                handle,
            },
        );
    }

    /// Stops `key`'s rounds and forgets their report.
    pub(crate) fn stop(&self, key: &Key) {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(task) = tasks.remove(key) {
            task.handle.abort();
            tracing::debug!(namespace = %key.0, checklist = %key.1, "verification stopped");
        }
    }

    /// Stops the tasks of checklists for which `keep` is false (deleted ones).
    pub(crate) fn retain(&self, keep: impl Fn(&Key) -> bool) {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        tasks.retain(|key, task| {
            let kept = keep(key);
            if !kept {
                task.handle.abort();
                tracing::info!(namespace = %key.0, checklist = %key.1, "verification stopped: the checklist is gone");
            }
            kept
        });
    }

    /// Stops every task (at shutdown).
    pub(crate) fn stop_all(&self) {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        for (_, task) in tasks.drain() {
            task.handle.abort();
        }
    }
}

/// What a task shares with the verifier and every other task.
struct Shared {
    egress: Arc<EgressPolicy>,
    prometheus: Option<url::Url>,
    prometheus_namespace_label: Option<NamespaceLabel>,
    client: Option<kube::Client>,
    in_flight: FairShare,
    pacer: Pacer,
    limits: Limits,
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
async fn rounds(
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
enum Next {
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
fn next(verdict: Verdict, continuous: bool, watched: bool) -> Next {
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
pub(crate) fn judge(verdict: Verdict, judged: &RoundJudgement) -> VerificationObservation {
    match verdict {
        Verdict::Pending => VerificationObservation::Running,
        Verdict::Passed => VerificationObservation::Passed,
        Verdict::Failed => {
            VerificationObservation::Failed(judged.failure.clone().unwrap_or_default())
        }
    }
}

/// A round's outcomes of `specs` as status entries, each with its severity and category.
pub(crate) fn results(
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

mod jobs;
#[cfg(test)]
mod tests;
