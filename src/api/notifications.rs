//! `spec.notifications`: who hears about a release, on which transitions: the seed guides'
//! "alert channels set up: email, Slack" and "error notifications enabled".

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{checks::HeaderSource, schema};

/// Where and when the operator tells people what happened to a release.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsSpec {
    /// The transitions that notify: Ready, RolledBack, Failed, Degraded, WaitingForPromotion
    /// and Aborted. Default: all six.
    #[serde(default = "all_transitions")]
    #[schemars(length(max = 6))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub transitions: Vec<Transition>,

    /// Where to send them, at most 8 targets with unique names. Default: none, unless the
    /// operator was started with default targets (--notify-*-url), which are then used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub targets: Vec<NotificationTarget>,

    /// A link put in every notification (at most 1024 characters), with {{namespace}},
    /// {{name}} and {{revision}} replaced. Example:
    /// https://argocd.example.com/applications/{{name}}. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    #[schemars(regex(pattern = schema::ONE_LINE_PATTERN))]
    pub link: Option<String>,
}

impl Default for NotificationsSpec {
    fn default() -> Self {
        Self {
            transitions: all_transitions(),
            targets: Vec::new(),
            link: None,
        }
    }
}

fn all_transitions() -> Vec<Transition> {
    Transition::ALL.to_vec()
}

/// A transition that can notify.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema,
)]
pub enum Transition {
    /// The release passed its checklist.
    Ready,
    /// The release failed and the stable version was restored.
    RolledBack,
    /// The release failed and nothing was changed back.
    Failed,
    /// The stable revision stopped working.
    Degraded,
    /// A step passed and waits for a person to promote it.
    WaitingForPromotion,
    /// A person aborted the release.
    Aborted,
}

impl Transition {
    /// Every transition, in the order a release meets them.
    pub const ALL: [Transition; 6] = [
        Transition::Ready,
        Transition::RolledBack,
        Transition::Failed,
        Transition::Degraded,
        Transition::WaitingForPromotion,
        Transition::Aborted,
    ];
}

/// One place notifications go.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationTarget {
    /// The target's name, unique in the list: a lower-case DNS label. Required. It names the
    /// target in Events. Example: team-slack.
    #[schemars(length(min = 1, max = 63))]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,

    /// The message format: Webhook (the operator's JSON), Slack (a Slack incoming webhook or a
    /// compatible one: Mattermost, Rocket.Chat) or Teams (a Microsoft Teams incoming webhook).
    pub kind: TargetKind,

    /// The Secret key holding the URL to POST to: webhook URLs carry their credentials, so they
    /// are never written in the checklist, logged or shown. Required.
    /// Example: {secretKeyRef: {name: notify, key: slack-url}}.
    pub url_from: HeaderSource,
}

/// The format a target receives.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum TargetKind {
    /// The operator's JSON: checklist, namespace, revision, image, phase, reason, message,
    /// failedChecks, link, time.
    Webhook,
    /// Slack's incoming-webhook format: text and blocks.
    Slack,
    /// Microsoft Teams' incoming-webhook format: a MessageCard.
    Teams,
}
