//! Notifications: telling people what happened to a release, on the transitions they chose.
//!
//! `deliveries` decides, as a pure function of the checklist, the plan's Events and the target
//! URLs read from Secrets, what to send to whom; `payload` says it in each target's format
//! (`chat` and `escape` for Slack and Teams); `sender` queues and delivers without ever holding
//! up a reconcile, `backlog` bounding the queue and `attempt` each delivery, fairly between
//! namespaces. Only the leader reconciles, so only the leader notifies.

mod attempt;
mod backlog;
mod chat;
mod escape;
pub mod payload;
pub mod sender;

use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::ResourceExt;
use url::Url;

use crate::{
    api::{
        CheckResult, DeploymentChecklist, DeploymentChecklistStatus, Reason, Severity,
        notifications::{NotificationsSpec, TargetKind, Transition},
    },
    text::line,
};

pub use payload::{FailedCheck, Notification};
pub use sender::{Delivery, Notifier};

/// The most characters of a target's name quoted in an Event (names are DNS labels).
const TARGET_NAME_MAX: usize = 63;

/// The most characters of why a notification was not sent, quoted in an Event.
const REASON_MAX: usize = 200;

/// A target whose URL was read: where to send, or why it cannot be sent to.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedTarget {
    /// The target's name.
    pub name: String,
    /// Its format.
    pub kind: TargetKind,
    /// The URL, or what is wrong with its Secret (never the value).
    pub url: Result<Url, String>,
}

/// The operator-wide targets (--notify-webhook-url, --notify-slack-url, --notify-teams-url),
/// used by checklists that name none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Defaults {
    /// The targets, named `default-webhook`, `default-slack`, `default-teams`.
    pub targets: Vec<(TargetKind, Url)>,
}

/// The transition a reason announces, if it is one that notifies.
pub fn transition(reason: Reason) -> Option<Transition> {
    Some(match reason {
        Reason::Ready => Transition::Ready,
        Reason::RolledBack => Transition::RolledBack,
        Reason::Failed => Transition::Failed,
        Reason::Degraded => Transition::Degraded,
        Reason::WaitingForPromotion => Transition::WaitingForPromotion,
        Reason::Aborted => Transition::Aborted,
        _ => return None,
    })
}

/// The URL of each target of `spec`, read from the Secrets the reconcile read.
pub fn resolve(
    spec: &NotificationsSpec,
    secrets: &std::collections::BTreeMap<String, Secret>,
) -> Vec<ResolvedTarget> {
    spec.targets
        .iter()
        .map(|target| {
            let (secret, key) = (
                &target.url_from.secret_key_ref.name,
                &target.url_from.secret_key_ref.key,
            );
            let url = secrets
                .get(secret)
                .ok_or_else(|| format!("Secret {secret} not found"))
                .and_then(|s| {
                    s.data
                        .as_ref()
                        .and_then(|d| d.get(key))
                        .ok_or_else(|| format!("Secret {secret} has no key {key}"))
                })
                .and_then(|value| {
                    std::str::from_utf8(&value.0)
                        .ok()
                        .and_then(|text| Url::parse(text.trim()).ok())
                        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                        .ok_or_else(|| {
                            format!("key {key} of Secret {secret} is not an http(s) URL")
                        })
                });
            ResolvedTarget {
                name: target.name.clone(),
                kind: target.kind,
                url,
            }
        })
        .collect()
}

/// What a reconcile's Events announce to the checklist's targets: one delivery per notifying
/// transition and target, and the targets that cannot be sent to (to report).
pub fn deliveries(
    checklist: &DeploymentChecklist,
    status: &DeploymentChecklistStatus,
    reasons: &[Reason],
    targets: &[ResolvedTarget],
    defaults: &Defaults,
    now: &str,
) -> (Vec<Delivery>, Vec<String>) {
    let spec = checklist.spec.notifications.clone().unwrap_or_default();
    let transitions: Vec<Transition> = reasons
        .iter()
        .filter_map(|r| transition(*r))
        .filter(|t| spec.transitions.contains(t))
        .collect();
    if transitions.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let targets: Vec<ResolvedTarget> = if checklist.spec.notifications.is_some() {
        targets.to_vec()
    } else {
        defaults
            .targets
            .iter()
            .map(|(kind, url)| ResolvedTarget {
                name: format!("default-{}", format!("{kind:?}").to_lowercase()),
                kind: *kind,
                url: Ok(url.clone()),
            })
            .collect()
    };
    let namespace = checklist.namespace().unwrap_or_default();
    let name = checklist.name_any();
    let current = status.revision.as_ref().and_then(|r| r.current.as_ref());
    let revision = current.map(|c| c.hash.clone()).unwrap_or_default();
    let image = current
        .map(|c| c.image.clone())
        .unwrap_or_else(|| checklist.spec.app.image.clone());
    let attempt = status.history.last().map_or(0, |h| h.revision);
    let step = status.rollout.as_ref().and_then(|r| r.step).unwrap_or(0);
    let failed_checks: Vec<FailedCheck> = status
        .checks
        .iter()
        // A dry-run check never counts, so it is not news to anyone paged.
        .filter(|c| c.result == CheckResult::Fail && !c.dry_run)
        .map(|c| FailedCheck {
            name: c.name.clone(),
            message: c.message.clone().unwrap_or_default(),
            warning: c.severity == Severity::Warning,
        })
        .collect();
    let regarding = ObjectReference {
        api_version: Some("checklist.dev/v1alpha1".into()),
        kind: Some("DeploymentChecklist".into()),
        name: Some(name.clone()),
        namespace: Some(namespace.clone()),
        uid: checklist.metadata.uid.clone(),
        resource_version: checklist.metadata.resource_version.clone(),
        field_path: None,
    };
    let uid = checklist.metadata.uid.clone().unwrap_or_default();
    let mut out = Vec::new();
    let mut unsendable = Vec::new();
    for transition in transitions {
        let notification = Notification {
            checklist: name.clone(),
            namespace: namespace.clone(),
            revision: revision.clone(),
            image: image.clone(),
            transition,
            phase: status.phase.map(|p| p.to_string()).unwrap_or_default(),
            reason: format!("{transition:?}"),
            message: status.message.clone().unwrap_or_default(),
            failed_checks: failed_checks.clone(),
            link: spec
                .link
                .as_deref()
                .and_then(|template| payload::link(template, &namespace, &name, &revision)),
            time: now.to_string(),
        };
        for target in &targets {
            match &target.url {
                Ok(url) => out.push(Delivery {
                    key: format!("{uid}/{attempt}/{step}/{transition:?}/{}", target.name),
                    target: target.name.clone(),
                    kind: target.kind,
                    url: url.clone(),
                    notification: notification.clone(),
                    regarding: regarding.clone(),
                }),
                // Names and keys from the spec: shown through the sanitizer like any tenant text.
                Err(why) => unsendable.push(format!(
                    "{transition:?} notification to {} ({:?}) not sent: {}",
                    line(&target.name, TARGET_NAME_MAX),
                    target.kind,
                    line(why, REASON_MAX),
                )),
            }
        }
    }
    (out, unsendable)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;
    use serde_json::json;

    use super::*;

    fn checklist(notifications: serde_json::Value) -> DeploymentChecklist {
        serde_json::from_value(json!({
            "apiVersion": "checklist.dev/v1alpha1",
            "kind": "DeploymentChecklist",
            "metadata": {"name": "web", "namespace": "prod", "uid": "u-1"},
            "spec": {"app": {"image": "example.com/web:2.0.0"}, "notifications": notifications},
        }))
        .unwrap()
    }

    fn status() -> DeploymentChecklistStatus {
        serde_json::from_value(json!({
            "phase": "RolledBack",
            "message": "rolled back to example.com/web:1.0.0: verification failed",
            "revision": {"current": {"image": "example.com/web:2.0.0", "hash": "h2"}},
            "history": [{"revision": 7, "image": "example.com/web:2.0.0", "outcome": "RolledBack"}],
            "checks": [
                {"name": "health", "kind": "http", "result": "Fail", "message": "expected status 200, got 503"},
                {"name": "headers", "kind": "securityHeaders", "result": "Pass"}
            ]
        }))
        .unwrap()
    }

    fn secrets() -> BTreeMap<String, Secret> {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "notify"},
            "data": {}
        }))
        .unwrap();
        let mut secret = secret;
        secret.data = Some(BTreeMap::from([
            (
                "slack".to_string(),
                ByteString(b"https://hooks.example.com/T/B/x".to_vec()),
            ),
            ("bad".to_string(), ByteString(b"not a url".to_vec())),
        ]));
        BTreeMap::from([("notify".to_string(), secret)])
    }

    #[test]
    fn a_chosen_transition_goes_to_every_target_with_the_failed_checks() {
        let checklist = checklist(json!({
            "transitions": ["RolledBack"],
            "targets": [
                {"name": "team", "kind": "Slack", "urlFrom": {"secretKeyRef": {"name": "notify", "key": "slack"}}},
                {"name": "broken", "kind": "Webhook", "urlFrom": {"secretKeyRef": {"name": "notify", "key": "bad"}}},
                {"name": "gone", "kind": "Teams", "urlFrom": {"secretKeyRef": {"name": "missing", "key": "x"}}}
            ],
            "link": "https://argo.example.com/{{namespace}}/{{name}}"
        }));
        let spec = checklist.spec.notifications.clone().unwrap();
        let targets = resolve(&spec, &secrets());
        let (out, unsendable) = deliveries(
            &checklist,
            &status(),
            &[Reason::RollingBack, Reason::RolledBack],
            &targets,
            &Defaults::default(),
            "2026-12-02T00:00:00Z",
        );
        assert_eq!(out.len(), 1);
        let delivery = &out[0];
        assert_eq!(delivery.key, "u-1/7/0/RolledBack/team");
        assert_eq!(delivery.notification.failed_checks.len(), 1);
        assert_eq!(delivery.notification.failed_checks[0].name, "health");
        assert_eq!(
            delivery.notification.link.as_deref(),
            Some("https://argo.example.com/prod/web")
        );
        assert_eq!(
            unsendable,
            [
                "RolledBack notification to broken (Webhook) not sent: key bad of Secret notify is not an http(s) URL",
                "RolledBack notification to gone (Teams) not sent: Secret missing not found",
            ]
        );
        assert!(!unsendable.iter().any(|u| u.contains("hooks.example.com")));
    }

    #[test]
    fn transitions_not_chosen_and_other_reasons_notify_no_one() {
        let checklist = checklist(json!({"transitions": ["Ready"], "targets": []}));
        let (out, _) = deliveries(
            &checklist,
            &status(),
            &[Reason::RolledBack, Reason::Verifying],
            &[],
            &Defaults::default(),
            "t",
        );
        assert!(out.is_empty());
    }

    #[test]
    fn without_notifications_the_operator_defaults_are_used() {
        let mut checklist = checklist(json!(null));
        checklist.spec.notifications = None;
        let defaults = Defaults {
            targets: vec![(
                TargetKind::Webhook,
                Url::parse("https://hooks.example.com/w").unwrap(),
            )],
        };
        let (out, _) = deliveries(
            &checklist,
            &status(),
            &[Reason::RolledBack],
            &[],
            &defaults,
            "t",
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].target, "default-webhook");
    }
}
