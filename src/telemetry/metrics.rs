//! The operator's Prometheus metrics: reconciles, their failures by category, transitions
//! (the Events), status writes, verification rounds and the requests sent to the API server.

use std::time::Duration;

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

// Label values are `&'static str`: names from fixed sets (a category, a reason, a verdict, a
// target kind, an outcome), never text a tenant or an app wrote, and never unbounded.

/// A failure's category (`ReconcileError::category`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CategoryLabels {
    category: &'static str,
}

/// A transition: the Event's reason and type.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransitionLabels {
    reason: &'static str,
    event_type: &'static str,
}

/// A verification round's verdict.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    verdict: &'static str,
}

/// An API request the operator sent: its verb and resource.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiRequestLabels {
    verb: String,
    resource: String,
}

/// A notification's outcome: the target's kind and how the delivery ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotificationLabels {
    kind: &'static str,
    result: &'static str,
}

/// Every metric the operator exports, registered once at start.
pub struct Metrics {
    registry: Registry,
    reconciles: Counter,
    failures: Family<CategoryLabels, Counter>,
    duration: Histogram,
    transitions: Family<TransitionLabels, Counter>,
    status_writes: Counter,
    status_refused: Counter,
    reconciles_deferred: Counter,
    rounds: Family<VerdictLabels, Counter>,
    notifications: Family<NotificationLabels, Counter>,
    api_requests: Family<ApiRequestLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A registry with the operator's metrics, all prefixed `checklist_`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("checklist");
        let reconciles = Counter::default();
        registry.register(
            "reconciles",
            "Reconciles run, whatever their outcome",
            reconciles.clone(),
        );
        let failures = Family::<CategoryLabels, Counter>::default();
        registry.register(
            "reconcile_failures",
            "Reconciles that failed, by the error's category",
            failures.clone(),
        );
        // 1 ms to about 4 s: a reconcile is a handful of API round trips.
        let duration = Histogram::new(exponential_buckets(0.001, 2.0, 13));
        registry.register(
            "reconcile_duration_seconds",
            "How long a reconcile took",
            duration.clone(),
        );
        let transitions = Family::<TransitionLabels, Counter>::default();
        registry.register(
            "transitions",
            "Lifecycle transitions (the Events published), by reason and type",
            transitions.clone(),
        );
        let status_writes = Counter::default();
        registry.register(
            "status_writes",
            "Status writes (server-side apply on /status)",
            status_writes.clone(),
        );
        let status_refused = Counter::default();
        registry.register(
            "status_writes_refused",
            "Status writes the API server refused for what they held (a shorter status followed)",
            status_refused.clone(),
        );
        let reconciles_deferred = Counter::default();
        registry.register(
            "reconciles_deferred",
            "Reconciles put off for a moment because their namespace had its share running",
            reconciles_deferred.clone(),
        );
        let rounds = Family::<VerdictLabels, Counter>::default();
        registry.register(
            "verification_rounds",
            "Verification rounds run, by the verdict after the round",
            rounds.clone(),
        );
        let notifications = Family::<NotificationLabels, Counter>::default();
        registry.register(
            "notifications",
            "Notifications, by target kind and result: delivered, failed (after retries), refused (the egress guard), dropped (queue full), dropped_namespace_full (the namespace's share of the queue full) or duplicate",
            notifications.clone(),
        );
        let api_requests = Family::<ApiRequestLabels, Counter>::default();
        registry.register(
            "api_requests",
            "Requests the operator sent to the Kubernetes API server, by verb and resource (as apiserver_request_total names them)",
            api_requests.clone(),
        );
        Self {
            registry,
            reconciles,
            failures,
            duration,
            transitions,
            status_writes,
            status_refused,
            reconciles_deferred,
            rounds,
            notifications,
            api_requests,
        }
    }

    /// A reconcile finished after `took`; `failure` is the error's category if it failed.
    pub(crate) fn reconciled(&self, took: Duration, failure: Option<&'static str>) {
        self.reconciles.inc();
        self.duration.observe(took.as_secs_f64());
        if let Some(category) = failure {
            self.failures
                .get_or_create(&CategoryLabels { category })
                .inc();
        }
    }

    /// A transition was recorded as an Event.
    pub(crate) fn transition(&self, reason: &'static str, warning: bool) {
        let event_type = if warning { "Warning" } else { "Normal" };
        self.transitions
            .get_or_create(&TransitionLabels { reason, event_type })
            .inc();
    }

    /// A notification to a target of `kind` ended with `result`.
    pub(crate) fn notification(&self, kind: &'static str, result: &'static str) {
        self.notifications
            .get_or_create(&NotificationLabels { kind, result })
            .inc();
    }

    /// The status was written.
    pub(crate) fn status_written(&self) {
        self.status_writes.inc();
    }

    /// A reconcile was put off: its namespace had its share of the reconciles running.
    pub(crate) fn reconcile_deferred(&self) {
        self.reconciles_deferred.inc();
    }

    /// The API server refused a status write for what it held (not an outage or a conflict).
    pub(crate) fn status_refused(&self) {
        self.status_refused.inc();
    }

    /// A verification round ended with `verdict` (Pending, Passed or Failed).
    pub(crate) fn round(&self, verdict: &'static str) {
        self.rounds.get_or_create(&VerdictLabels { verdict }).inc();
    }

    /// A request was sent to the API server.
    pub(crate) fn api_request(&self, request: super::api_requests::ApiRequest) {
        self.api_requests
            .get_or_create(&ApiRequestLabels {
                verb: request.verb.to_owned(),
                resource: request.resource,
            })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_metric_with_its_labels() {
        let metrics = Metrics::new();
        metrics.reconciled(Duration::from_millis(3), None);
        metrics.reconciled(Duration::from_millis(5), Some("conflict"));
        metrics.transition("RolledBack", true);
        metrics.status_written();
        metrics.round("Failed");
        metrics.api_request(crate::telemetry::api_requests::classify(
            &http::Method::GET,
            &"/api/v1/namespaces/a/pods".parse().unwrap(),
        ));
        let text = metrics.encode().unwrap();
        for line in [
            "checklist_reconciles_total 2",
            "checklist_reconcile_failures_total{category=\"conflict\"} 1",
            "checklist_reconcile_duration_seconds_count 2",
            "checklist_transitions_total{reason=\"RolledBack\",event_type=\"Warning\"} 1",
            "checklist_status_writes_total 1",
            "checklist_verification_rounds_total{verdict=\"Failed\"} 1",
            "checklist_api_requests_total{verb=\"list\",resource=\"pods\"} 1",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
