//! What a notification says, as data: the operator's JSON for a webhook is this, serialized;
//! `chat` turns it into text and blocks for Slack, a MessageCard for Teams. Pure: no client, no
//! clock.
//!
//! Everything here comes from the status, which never holds a secret value (the verification
//! engine masks them before they reach a message), and never from the target's URL. Most of it
//! was written by a checklist's author or by the app, neither of whom the reader trusts: every
//! body is built from [`Notification::shown`].

use serde::Serialize;
use url::Url;

use crate::{api::notifications::Transition, text::line};

/// The most failed checks a chat message names.
pub(super) const MAX_FAILED_CHECKS: usize = 8;

// Bounds, in characters, of what a notification quotes. Names are Kubernetes names (at most 253
// and 63) and the rest is cut: a status message is a sentence or two, a check's message one
// observation. With every character escaped to five (`&` as `&amp;`), a Slack section still
// stays within its 3000 characters and a Teams card within its 28 KB (see the chat tests).

/// A checklist's name.
const NAME_MAX: usize = 253;
/// A namespace's name.
const NAMESPACE_MAX: usize = 63;
/// The revision (a hash).
const REVISION_MAX: usize = 64;
/// An image reference.
const IMAGE_MAX: usize = 256;
/// A phase, a reason, a time: one word the operator wrote.
const WORD_MAX: usize = 64;
/// The status message.
pub(super) const MESSAGE_MAX: usize = 500;
/// A failed check's name.
const CHECK_NAME_MAX: usize = 63;
/// What a failed check saw.
pub(super) const CHECK_MESSAGE_MAX: usize = 200;
/// The link (left out when longer).
pub(super) const LINK_MAX: usize = 2048;

/// One notification: a checklist's transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// The checklist's name.
    pub checklist: String,
    /// Its namespace.
    pub namespace: String,
    /// The revision the transition is about.
    pub revision: String,
    /// That revision's image.
    pub image: String,
    /// The transition.
    pub transition: Transition,
    /// The phase after it.
    pub phase: String,
    /// The reason of the transition, as in the Event.
    pub reason: String,
    /// What happened, as in the status message.
    pub message: String,
    /// The checks that failed in the last round, each with what it saw.
    pub failed_checks: Vec<FailedCheck>,
    /// The link of spec.notifications.link, its placeholders filled in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// When it happened (RFC 3339).
    pub time: String,
}

/// A check that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedCheck {
    /// The check's name.
    pub name: String,
    /// What it saw.
    pub message: String,
    /// True for a check of severity Warning: reported, never rolled back for.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
}

impl Notification {
    /// One line for people: `web (prod) RolledBack: rolled back to …`.
    pub fn headline(&self) -> String {
        self.headline_escaped(str::to_string)
    }

    /// [`Notification::headline`] with each quoted string escaped by `escape`, and only those:
    /// the operator's own punctuation stays markup-free as it is.
    pub(super) fn headline_escaped(&self, escape: fn(&str) -> String) -> String {
        format!(
            "{} ({}) {:?}: {}",
            escape(&self.checklist),
            escape(&self.namespace),
            self.transition,
            escape(&self.message)
        )
    }

    /// The same notification as people may see it: every string a checklist's author or the
    /// app chose through [`line`] (one line, no control, bidi or invisible characters) within
    /// its bound, and a link that is not an http(s) URL left out. The bounds keep a chat
    /// message within what Slack and Teams accept even once escaping has lengthened it.
    pub fn shown(&self) -> Notification {
        Notification {
            checklist: line(&self.checklist, NAME_MAX),
            namespace: line(&self.namespace, NAMESPACE_MAX),
            revision: line(&self.revision, REVISION_MAX),
            image: line(&self.image, IMAGE_MAX),
            transition: self.transition,
            phase: line(&self.phase, WORD_MAX),
            reason: line(&self.reason, WORD_MAX),
            message: line(&self.message, MESSAGE_MAX),
            failed_checks: self
                .failed_checks
                .iter()
                .map(|c| FailedCheck {
                    name: line(&c.name, CHECK_NAME_MAX),
                    message: line(&c.message, CHECK_MESSAGE_MAX),
                    warning: c.warning,
                })
                .collect(),
            link: self.link.as_deref().and_then(web_url),
            time: line(&self.time, WORD_MAX),
        }
    }

    /// The failed checks as chat lines, `✗ name: message` (`! name (warning): message` for a
    /// warning), each escaped by `escape`: at most
    /// [`MAX_FAILED_CHECKS`], then how many more.
    pub(super) fn failed_lines(&self, escape: fn(&str) -> String) -> Vec<String> {
        let mut lines: Vec<String> = self
            .failed_checks
            .iter()
            .take(MAX_FAILED_CHECKS)
            .map(|c| {
                let (mark, label) = if c.warning {
                    ('!', " (warning)")
                } else {
                    ('✗', "")
                };
                format!("{mark} {}{label}: {}", escape(&c.name), escape(&c.message))
            })
            .collect();
        let more = self.failed_checks.len().saturating_sub(MAX_FAILED_CHECKS);
        if more > 0 {
            lines.push(format!("and {more} more"));
        }
        lines
    }
}

/// The link template with {{namespace}}, {{name}} and {{revision}} replaced, if that makes an
/// http(s) URL: a `javascript:` or `data:` link is never put in front of a person.
pub fn link(template: &str, namespace: &str, name: &str, revision: &str) -> Option<String> {
    web_url(
        &template
            .replace("{{namespace}}", namespace)
            .replace("{{name}}", name)
            .replace("{{revision}}", revision),
    )
}

/// `text` as an http(s) URL with a host, serialized (so spaces, quotes, `<` and `>` are
/// percent-encoded and the whole is ASCII), at most [`LINK_MAX`] characters; None otherwise,
/// since a cut URL points somewhere else.
fn web_url(text: &str) -> Option<String> {
    Url::parse(text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .map(String::from)
        .filter(|u| u.len() <= LINK_MAX)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::api::notifications::TargetKind;

    /// A rollback as an honest app and author would have it.
    pub(in crate::notify) fn rolled_back() -> Notification {
        Notification {
            checklist: "web".into(),
            namespace: "prod".into(),
            revision: "abc123".into(),
            image: "example.com/web:2.0.0".into(),
            transition: Transition::RolledBack,
            phase: "RolledBack".into(),
            reason: "RolledBack".into(),
            message: "rolled back to example.com/web:1.0.0: verification failed: health (HTTP 503)"
                .into(),
            failed_checks: vec![FailedCheck {
                name: "health".into(),
                message: "expected status 200, got 503".into(),
                warning: false,
            }],
            link: link(
                "https://argo.example.com/{{namespace}}/{{name}}",
                "prod",
                "web",
                "abc123",
            ),
            time: "2026-12-02T01:00:00Z".into(),
        }
    }

    /// The same rollback as a hostile author and app would have it: mentions, disguised links,
    /// terminal escapes, a bidi override and a 100 KB message.
    pub(in crate::notify) fn hostile() -> Notification {
        let mut n = rolled_back();
        n.message = format!(
            "<!channel> <!here> <@U123> see <https://evil.example|https://grafana.internal> \
             [https://grafana.internal](https://evil.example) ![](https://evil.example/x.png) \
             **ok** \u{1b}]52;c;cm0gLXJmIC8=\u{7} invoice\u{202E}fdp.exe {}",
            "&".repeat(100 * 1024)
        );
        n.image = "example.com/web:2.0.0`<!channel>`".into();
        n.failed_checks = (0..20)
            .map(|i| FailedCheck {
                name: format!("check-{i}<@U123>"),
                message: format!("<!here> {}", "x".repeat(100 * 1024)),
                warning: false,
            })
            .collect();
        n
    }

    #[test]
    fn a_webhook_gets_every_field_by_name() {
        let body = rolled_back().body(TargetKind::Webhook);
        assert_eq!(body["checklist"], "web");
        assert_eq!(body["namespace"], "prod");
        assert_eq!(body["transition"], "RolledBack");
        assert_eq!(body["failedChecks"][0]["name"], "health");
        assert_eq!(body["link"], "https://argo.example.com/prod/web");
        assert_eq!(body["revision"], "abc123");
    }

    #[test]
    fn a_webhook_gets_tenant_text_sanitized_and_bounded() {
        let body = hostile().body(TargetKind::Webhook);
        let message = body["message"].as_str().unwrap();
        assert_eq!(message.chars().count(), MESSAGE_MAX);
        assert!(crate::text::is_clean(message), "{message:?}");
        assert!(
            message.contains("\u{FFFD}]52;c;"),
            "ESC replaced: {message}"
        );
        assert!(
            message.contains("invoice\u{FFFD}fdp.exe"),
            "bidi override replaced"
        );
        // JSON encoding is the webhook's escaping: the text arrives as the author wrote it.
        assert!(message.starts_with("<!channel>"));
        let checks = body["failedChecks"].as_array().unwrap();
        assert_eq!(checks.len(), 20, "a webhook gets every failed check");
        assert!(
            checks
                .iter()
                .all(|c| { c["message"].as_str().unwrap().chars().count() == CHECK_MESSAGE_MAX })
        );
        let size = serde_json::to_vec(&body).unwrap().len();
        println!("webhook body of a hostile notification: {size} bytes");
        assert!(size < 16 * 1024, "{size}");
    }

    #[test]
    fn a_link_must_be_an_http_url() {
        let link = |template| link(template, "prod", "web", "abc");
        assert_eq!(
            link("https://argo.example.com/{{namespace}}/{{name}}?r={{revision}}").as_deref(),
            Some("https://argo.example.com/prod/web?r=abc")
        );
        assert_eq!(link("javascript:alert(1)//{{name}}"), None);
        assert_eq!(link("data:text/html,<script>"), None);
        assert_eq!(link("not a url"), None);
        assert_eq!(
            link("https://h.example/a b<c>|d").as_deref(),
            Some("https://h.example/a%20b%3Cc%3E|d"),
            "spaces and angle brackets are percent-encoded"
        );
        assert_eq!(
            link(&format!("https://h.example/{}", "a".repeat(LINK_MAX))),
            None
        );
    }
}
