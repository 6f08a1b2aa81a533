//! Events about a checklist: the note a transition makes (its reason and message) and its
//! publication. Low in the tree, so the reconcile pipeline and the notifier (which reports a
//! target that refused a delivery) publish the same way, through the tenant-text sanitizer.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{
    Client,
    runtime::events::{Event, EventType, Recorder, Reporter},
};

use crate::{
    api::Reason,
    error::{ApiError, chain},
    telemetry::Metrics,
};

/// The longest Event message, in characters: what `kubectl describe` shows on a line or two. The
/// detail stays in the status (status.checks, the conditions).
pub const EVENT_NOTE_MAX_CHARS: usize = 280;

/// A transition worth an Event in `kubectl describe`; its reason says whether it is a Warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Why, e.g. `RolledBack`.
    pub reason: Reason,
    /// What happened, for a human.
    pub message: String,
}

/// Publishes a transition as an Event; a failure to publish is logged, not fatal: the status
/// already says what happened.
///
/// Each Event gets a fresh Recorder: a Recorder folds Events of the same reason into one series
/// and keeps the first message, so "rolling out 2.0.0" would show as "rolling out 1.0.0 (x2)".
/// Notes are only made on transitions, so there is no flood to fold.
pub async fn publish(
    client: &Client,
    reporter: &Reporter,
    metrics: &Metrics,
    regarding: ObjectReference,
    note: &Note,
) {
    let warning = note.reason.is_warning();
    let message = crate::text::line(&note.message, EVENT_NOTE_MAX_CHARS);
    metrics.transition(note.reason.as_str(), warning);
    let recorder = Recorder::new(client.clone(), reporter.clone());
    let event = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: note.reason.as_str().into(),
        note: Some(message),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, &regarding).await {
        let error = ApiError(error);
        tracing::warn!(error = %chain(&error), reason = %note.reason, "cannot publish Event");
    }
}
