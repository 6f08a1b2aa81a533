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
};

use tokio::sync::mpsc;

use crate::{
    api::VerificationSpec,
    fair::FairShare,
    resources,
    telemetry::Metrics,
    verify::{
        budget::{Limits, Pacer},
        client::shown_url_text,
        engine::{NamespaceLabel, SecretValues},
        guard::EgressPolicy,
    },
};

use super::observe::{Key, Report, VerificationObservation};

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

mod jobs;
mod task;

#[cfg(test)]
use task::{Next, judge, next, results};
use task::{Shared, rounds};
#[cfg(test)]
mod tests;
