//! Delivery: a bounded queue the reconciler drops notifications into without waiting, and a
//! worker that POSTs each one through the egress guard, retries what may heal, and reports what
//! does not as a Warning Event on the checklist. A reconcile never waits for a target.

use std::{
    collections::{HashSet, VecDeque},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::{Client, runtime::events::Reporter};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use tokio::sync::{Semaphore, mpsc};
use url::Url;

use crate::{
    api::{Reason, notifications::TargetKind},
    controller::plan::Note,
    telemetry::Metrics,
    verify::{
        client::{ClientSettings, FetchError, Header, HttpClient, Request},
        guard::EgressPolicy,
    },
};

use super::payload::Notification;

/// Notifications waiting to be sent at most; past it new ones are dropped (and counted), so a
/// dead target cannot grow the operator's memory.
pub const QUEUE_CAPACITY: usize = 1024;

/// Attempts per delivery: the first and four retries, 1, 2, 4 and 8 seconds apart (jittered).
pub const ATTEMPTS: u32 = 5;

/// Deliveries in flight at once, so one slow target does not hold up the others.
const IN_FLIGHT: usize = 8;

/// How many delivered keys are remembered to drop a duplicate.
const REMEMBERED: usize = 4096;

/// How long one POST may take.
const TIMEOUT: Duration = Duration::from_secs(10);

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
    queue: mpsc::Sender<Delivery>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier")
    }
}

/// What the worker needs to send and to report.
struct Worker {
    http: HttpClient,
    client: Client,
    reporter: Reporter,
    metrics: Arc<Metrics>,
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
        let http = HttpClient::new(
            Arc::new(egress),
            &ClientSettings {
                timeout: TIMEOUT,
                insecure_skip_tls_verify: false,
            },
        )?;
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let worker = Worker {
            http,
            client,
            reporter,
            metrics: Arc::clone(&metrics),
            retry_base: Duration::from_secs(1),
        };
        tokio::spawn(worker.run(receiver));
        Ok(Self { queue, metrics })
    }

    /// Queues a delivery without waiting; a full queue drops it, counted and logged.
    pub fn enqueue(&self, delivery: Delivery) {
        let kind = kind_label(delivery.kind);
        if let Err(error) = self.queue.try_send(delivery) {
            self.metrics.notification(kind, "dropped");
            let delivery = match error {
                mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d) => d,
            };
            tracing::warn!(
                namespace = %delivery.notification.namespace,
                checklist = %delivery.notification.checklist,
                notification_target = %delivery.target,
                "notification dropped: the queue is full"
            );
        }
    }
}

impl Worker {
    async fn run(self, mut receiver: mpsc::Receiver<Delivery>) {
        let worker = Arc::new(self);
        let permits = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut recent = Recent::default();
        while let Some(delivery) = receiver.recv().await {
            if !recent.insert(&delivery.key) {
                worker
                    .metrics
                    .notification(kind_label(delivery.kind), "duplicate");
                continue;
            }
            // The semaphore is never closed, so a permit always comes.
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let worker = Arc::clone(&worker);
            tokio::spawn(async move {
                worker.deliver(delivery).await;
                drop(permit);
            });
        }
    }

    async fn deliver(&self, delivery: Delivery) {
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
        for attempt in 1..=ATTEMPTS {
            match self.http.send(request.clone()).await {
                Ok(response) if (200..300).contains(&response.status) => {
                    self.metrics.notification(kind, "delivered");
                    tracing::info!(
                        namespace = %delivery.notification.namespace,
                        checklist = %delivery.notification.checklist,
                        notification_target = %delivery.target,
                        transition = ?delivery.notification.transition,
                        attempt,
                        "notification delivered"
                    );
                    return;
                }
                Ok(response) => {
                    last = format!("answered {}", response.status);
                    let may_heal = response.status == 429 || response.status >= 500;
                    if !may_heal {
                        break;
                    }
                }
                Err(FetchError::Blocked(blocked)) => {
                    self.metrics.notification(kind, "refused");
                    let message = format!("refused by the egress guard: {blocked}");
                    self.report(&delivery, &message).await;
                    return;
                }
                Err(error) => last = without_path(&error.to_string(), &delivery.url),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(backoff(self.retry_base, attempt)).await;
            }
        }
        self.metrics.notification(kind, "failed");
        self.report(&delivery, &last).await;
    }

    /// A Warning Event on the checklist naming the target and why, never its URL.
    async fn report(&self, delivery: &Delivery, why: &str) {
        tracing::warn!(
            namespace = %delivery.notification.namespace,
            checklist = %delivery.notification.checklist,
            notification_target = %delivery.target,
            why,
            "notification not delivered"
        );
        let note = Note {
            reason: Reason::NotificationFailed,
            message: format!(
                "{:?} notification to {} ({:?}) not delivered: {why}",
                delivery.notification.transition, delivery.target, delivery.kind
            ),
        };
        crate::controller::record::publish(
            &self.client,
            &self.reporter,
            &self.metrics,
            delivery.regarding.clone(),
            &note,
        )
        .await;
    }
}

/// The wait before attempt `attempt + 1`: base × 2^(attempt−1), ±20 %.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exact = base.saturating_mul(1 << (attempt - 1).min(10));
    exact.mul_f64(0.8 + 0.4 * fastrand::f64())
}

/// A transport error's text without the URL's path, which for Slack and Teams webhooks is the
/// credential.
fn without_path(text: &str, url: &Url) -> String {
    let path = url.path();
    if path.len() > 1 {
        text.replace(path, "/…")
    } else {
        text.to_string()
    }
}

fn kind_label(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Webhook => "webhook",
        TargetKind::Slack => "slack",
        TargetKind::Teams => "teams",
    }
}

/// The keys delivered lately, oldest forgotten first.
#[derive(Default)]
struct Recent {
    order: VecDeque<String>,
    keys: HashSet<String>,
}

impl Recent {
    /// Remembers `key`; false when it was already there.
    fn insert(&mut self, key: &str) -> bool {
        if self.keys.contains(key) {
            return false;
        }
        if self.order.len() == REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.keys.remove(&oldest);
        }
        self.order.push_back(key.to_string());
        self.keys.insert(key.to_string());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_delivered_once_and_old_keys_are_forgotten() {
        let mut recent = Recent::default();
        assert!(recent.insert("a"));
        assert!(!recent.insert("a"));
        for i in 0..REMEMBERED {
            recent.insert(&i.to_string());
        }
        assert!(recent.insert("a"), "forgotten after {REMEMBERED} others");
        assert!(recent.order.len() <= REMEMBERED);
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter() {
        let base = Duration::from_secs(1);
        for attempt in 1..ATTEMPTS {
            let wait = backoff(base, attempt);
            let exact = 2f64.powi(i32::try_from(attempt).unwrap() - 1);
            assert!(wait.as_secs_f64() >= exact * 0.8 && wait.as_secs_f64() <= exact * 1.2);
        }
    }

    #[test]
    fn errors_never_show_the_webhook_path() {
        let url = Url::parse("https://hooks.slack.com/services/T0/B0/SECRETxyz").unwrap();
        let text = "cannot connect to https://hooks.slack.com/services/T0/B0/SECRETxyz: refused";
        let shown = without_path(text, &url);
        assert!(!shown.contains("SECRET"), "{shown}");
        assert_eq!(
            shown,
            "cannot connect to https://hooks.slack.com/…: refused"
        );
    }
}
