//! Delivery: a bounded queue the reconciler drops notifications into without waiting, and tasks
//! that POST each one through the egress guard, retry what may heal, and report what does not as
//! a Warning Event on the checklist. A reconcile never waits for a target.
//!
//! Namespaces share the deliveries in flight fairly ([`FairShare`], keyed by the checklist's
//! namespace): one namespace holds at most [`PER_NAMESPACE_IN_FLIGHT`] of the
//! [`IN_FLIGHT`], and a freed place goes to the next namespace in turn. A place is held for one
//! attempt only, never across the wait before a retry, so a namespace whose targets fail or
//! hang slows its own deliveries and nobody else's.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::{Client, runtime::events::Reporter};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use tokio::sync::mpsc;
use url::Url;

use crate::{
    api::{Reason, notifications::TargetKind},
    events::Note,
    fair::FairShare,
    telemetry::Metrics,
    text::{Shown, line},
    verify::{
        client::{ClientSettings, FetchError, Header, HttpClient, Request},
        guard::EgressPolicy,
    },
};

use super::{
    REASON_MAX, TARGET_NAME_MAX,
    attempt::{self, ATTEMPTS, RETRY_BASE, TIMEOUT, Verdict},
    backlog::{self, Backlog, QUEUE_CAPACITY, QUEUE_PER_NAMESPACE, Refusal, Slot},
    payload::Notification,
};

/// Deliveries in flight at once, all namespaces together.
pub const IN_FLIGHT: usize = 16;

/// Deliveries in flight at once for one namespace: a quarter of [`IN_FLIGHT`], so three
/// quarters stay for the others whatever one namespace's targets do.
pub const PER_NAMESPACE_IN_FLIGHT: usize = IN_FLIGHT / 4;

/// One notification for one target.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// What makes it unique: the checklist, the attempt, the transition and the target. A second
    /// delivery with the same key is dropped.
    pub key: String,
    /// The target's name in spec.notifications.targets (or `default-<kind>`).
    pub target: String,
    /// Its format.
    pub kind: TargetKind,
    /// Where to POST. It holds credentials: never logged, counted or shown.
    pub url: Url,
    /// What to say.
    pub notification: Notification,
    /// The checklist, for the Event when the delivery fails.
    pub regarding: ObjectReference,
}

/// The handle the reconciler enqueues through. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    /// Unbounded as a channel, bounded by admission: a delivery keeps its [`Slot`] until it
    /// ends, so the channel never holds more than the backlog admitted.
    queue: mpsc::UnboundedSender<Queued>,
    backlog: backlog::Shared,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier")
    }
}

/// An admitted delivery and its place in the backlog.
struct Queued {
    delivery: Delivery,
    _slot: Slot,
}

/// Where failed deliveries are reported as Events.
struct Events {
    client: Client,
    reporter: Reporter,
}

/// What the delivery tasks need to send and to report.
struct Worker {
    http: HttpClient,
    /// None only in tests, which run without an API server: failures are then only logged.
    events: Option<Events>,
    metrics: Arc<Metrics>,
    share: FairShare,
    retry_base: Duration,
}

impl Notifier {
    /// Starts the worker on the current runtime; notifications go out within `egress`.
    pub fn start(
        client: Client,
        reporter: Reporter,
        egress: EgressPolicy,
        metrics: Arc<Metrics>,
    ) -> Result<Self, FetchError> {
        let worker = Worker::new(egress, Some(Events { client, reporter }), metrics)?;
        Ok(Self::spawn(worker))
    }

    fn spawn(worker: Worker) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let metrics = Arc::clone(&worker.metrics);
        tokio::spawn(worker.run(receiver));
        Self {
            queue,
            backlog: Arc::new(std::sync::Mutex::new(Backlog::new(
                QUEUE_CAPACITY,
                QUEUE_PER_NAMESPACE,
            ))),
            metrics,
        }
    }

    /// Queues a delivery without waiting. A duplicate is dropped, and so is a delivery when its
    /// namespace's share of the queue or the whole queue is full: counted and logged.
    pub fn enqueue(&self, delivery: Delivery) {
        let kind = kind_label(delivery.kind);
        let namespace = delivery.notification.namespace.clone();
        let (delivery, refusal) = match backlog::admit(&self.backlog, &namespace, &delivery.key) {
            Ok(slot) => match self.queue.send(Queued {
                delivery,
                _slot: slot,
            }) {
                Ok(()) => return,
                // Only once the worker stopped, at shutdown.
                Err(mpsc::error::SendError(queued)) => (queued.delivery, Refusal::Full),
            },
            Err(refusal) => (delivery, refusal),
        };
        self.metrics.notification(kind, refusal.label());
        if refusal != Refusal::Duplicate {
            tracing::warn!(
                namespace = %Shown(&namespace),
                checklist = %Shown(&delivery.notification.checklist),
                notification_target = %Shown(&delivery.target),
                result = refusal.label(),
                "notification dropped: the queue, or its namespace's share of it, is full"
            );
        }
    }
}

impl Worker {
    fn new(
        egress: EgressPolicy,
        events: Option<Events>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, FetchError> {
        let http = HttpClient::new(
            Arc::new(egress),
            &ClientSettings {
                timeout: TIMEOUT,
                insecure_skip_tls_verify: false,
            },
        )?;
        Ok(Self {
            http,
            events,
            metrics,
            share: FairShare::new(IN_FLIGHT, PER_NAMESPACE_IN_FLIGHT),
            retry_base: RETRY_BASE,
        })
    }

    async fn run(self, mut receiver: mpsc::UnboundedReceiver<Queued>) {
        let worker = Arc::new(self);
        while let Some(queued) = receiver.recv().await {
            let worker = Arc::clone(&worker);
            // One task per admitted delivery (at most QUEUE_CAPACITY): waiting for a turn
            // happens in the fair share, which picks namespaces in turn.
            tokio::spawn(async move {
                worker.deliver(&queued.delivery).await;
                drop(queued);
            });
        }
    }

    async fn deliver(&self, delivery: &Delivery) {
        let kind = kind_label(delivery.kind);
        let body = match serde_json::to_vec(&delivery.notification.body(delivery.kind)) {
            Ok(body) => Bytes::from(body),
            Err(error) => {
                tracing::error!(error = %error, "cannot encode a notification");
                return;
            }
        };
        let request = Request {
            method: reqwest::Method::POST,
            url: delivery.url.clone(),
            headers: vec![Header {
                name: CONTENT_TYPE,
                value: HeaderValue::from_static("application/json"),
            }],
            body: Some(body),
        };
        let mut last = String::new();
        // Time sending and backing off, not waiting for a turn: the budget is what this
        // delivery's target can cost, whatever it does.
        let mut spent = Duration::ZERO;
        for attempt in 1..=ATTEMPTS {
            let sent = {
                // Held for this attempt only: a delivery backing off leaves its place to others.
                let _turn = self.share.acquire(&delivery.notification.namespace).await;
                let started = Instant::now();
                let sent = self.http.send(request.clone()).await;
                spent += started.elapsed();
                sent
            };
            match attempt::judge(sent.as_ref().map(|r| r.status), &delivery.url) {
                Verdict::Delivered => {
                    self.metrics.notification(kind, "delivered");
                    tracing::info!(
                        namespace = %Shown(&delivery.notification.namespace),
                        checklist = %Shown(&delivery.notification.checklist),
                        notification_target = %Shown(&delivery.target),
                        transition = ?delivery.notification.transition,
                        attempt,
                        "notification delivered"
                    );
                    return;
                }
                Verdict::Refused(why) => {
                    self.metrics.notification(kind, "refused");
                    self.report(delivery, &why).await;
                    return;
                }
                Verdict::GiveUp(why) => {
                    last = why;
                    break;
                }
                Verdict::Retry(why) => last = why,
            }
            let wait = attempt::backoff(self.retry_base, attempt);
            if attempt == ATTEMPTS || !attempt::within_budget(spent, wait) {
                break;
            }
            tokio::time::sleep(wait).await;
            spent += wait;
        }
        self.metrics.notification(kind, "failed");
        self.report(delivery, &last).await;
    }

    /// A Warning Event on the checklist naming the target and why, never its URL. Both may
    /// carry tenant or app text (the target's name, what its host answered), so both go
    /// through the sanitizer.
    async fn report(&self, delivery: &Delivery, why: &str) {
        let target = line(&delivery.target, TARGET_NAME_MAX);
        let why = line(why, REASON_MAX);
        tracing::warn!(
            namespace = %Shown(&delivery.notification.namespace),
            checklist = %Shown(&delivery.notification.checklist),
            notification_target = %target,
            why = %why,
            "notification not delivered"
        );
        let Some(events) = &self.events else {
            return;
        };
        let note = Note {
            reason: Reason::NotificationFailed,
            message: format!(
                "{:?} notification to {target} ({:?}) not delivered: {why}",
                delivery.notification.transition, delivery.kind
            ),
        };
        crate::events::publish(
            &events.client,
            &events.reporter,
            &self.metrics,
            delivery.regarding.clone(),
            &note,
        )
        .await;
    }
}

fn kind_label(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Webhook => "webhook",
        TargetKind::Slack => "slack",
        TargetKind::Teams => "teams",
    }
}

#[cfg(test)]
mod tests;
