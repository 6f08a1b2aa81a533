//! What a notification says, and how each kind of target wants it: the operator's JSON for a
//! webhook, text and blocks for Slack, a MessageCard for Teams. Pure: no client, no clock.
//!
//! Everything here comes from the status, which never holds a secret value (the verification
//! engine masks them before they reach a message), and never from the target's URL.

use serde::Serialize;
use serde_json::{Value, json};

use crate::api::notifications::{TargetKind, Transition};

/// The most failed checks a notification names.
const MAX_FAILED_CHECKS: usize = 8;

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
}

impl Notification {
    /// The body to POST to a target of `kind`.
    pub fn body(&self, kind: TargetKind) -> Value {
        match kind {
            TargetKind::Webhook => json!(self),
            TargetKind::Slack => self.slack(),
            TargetKind::Teams => self.teams(),
        }
    }

    /// One line for people: `web (prod) RolledBack: rolled back to …`.
    pub fn headline(&self) -> String {
        format!(
            "{} ({}) {:?}: {}",
            self.checklist, self.namespace, self.transition, self.message
        )
    }

    fn failed_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .failed_checks
            .iter()
            .take(MAX_FAILED_CHECKS)
            .map(|c| format!("✗ {}: {}", c.name, c.message))
            .collect();
        let more = self.failed_checks.len().saturating_sub(MAX_FAILED_CHECKS);
        if more > 0 {
            lines.push(format!("and {more} more"));
        }
        lines
    }

    fn slack(&self) -> Value {
        let mut text = format!(
            "*{}* ({}) — *{:?}*\n{}\nimage `{}`, revision `{}`",
            self.checklist,
            self.namespace,
            self.transition,
            self.message,
            self.image,
            self.revision
        );
        let failed = self.failed_lines();
        if !failed.is_empty() {
            text.push_str("\nFailed checks:\n");
            text.push_str(&failed.join("\n"));
        }
        if let Some(link) = &self.link {
            text.push_str(&format!("\n<{link}|Open>"));
        }
        json!({
            "text": self.headline(),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        })
    }

    fn teams(&self) -> Value {
        let colour = match self.transition {
            Transition::Ready => "2EB67D",
            Transition::WaitingForPromotion => "ECB22E",
            _ => "E01E5A",
        };
        let mut facts = vec![
            json!({"name": "Checklist", "value": format!("{}/{}", self.namespace, self.checklist)}),
            json!({"name": "Phase", "value": self.phase}),
            json!({"name": "Image", "value": self.image}),
            json!({"name": "Revision", "value": self.revision}),
        ];
        for line in self.failed_lines() {
            facts.push(json!({"name": "Failed check", "value": line}));
        }
        let mut card = json!({
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": self.headline(),
            "themeColor": colour,
            "title": format!("{} ({}): {:?}", self.checklist, self.namespace, self.transition),
            "text": self.message,
            "sections": [{"facts": facts}],
        });
        if let Some(link) = &self.link {
            card["potentialAction"] = json!([{
                "@type": "OpenUri",
                "name": "Open",
                "targets": [{"os": "default", "uri": link}],
            }]);
        }
        card
    }
}

/// The link template with {{namespace}}, {{name}} and {{revision}} replaced.
pub fn link(template: &str, namespace: &str, name: &str, revision: &str) -> String {
    template
        .replace("{{namespace}}", namespace)
        .replace("{{name}}", name)
        .replace("{{revision}}", revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolled_back() -> Notification {
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
            }],
            link: Some(link(
                "https://argo.example.com/{{namespace}}/{{name}}",
                "prod",
                "web",
                "abc123",
            )),
            time: "2026-12-02T01:00:00Z".into(),
        }
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
    fn slack_gets_text_and_a_section_naming_the_failed_check() {
        let body = rolled_back().body(TargetKind::Slack);
        assert_eq!(
            body["text"],
            "web (prod) RolledBack: rolled back to example.com/web:1.0.0: verification failed: health (HTTP 503)"
        );
        let section = body["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(
            section.contains("✗ health: expected status 200, got 503"),
            "{section}"
        );
        assert!(
            section.contains("<https://argo.example.com/prod/web|Open>"),
            "{section}"
        );
    }

    #[test]
    fn teams_gets_a_message_card() {
        let body = rolled_back().body(TargetKind::Teams);
        assert_eq!(body["@type"], "MessageCard");
        assert_eq!(body["themeColor"], "E01E5A");
        let facts = body["sections"][0]["facts"].as_array().unwrap();
        assert!(
            facts
                .iter()
                .any(|f| f["value"] == "✗ health: expected status 200, got 503")
        );
        assert_eq!(
            body["potentialAction"][0]["targets"][0]["uri"],
            "https://argo.example.com/prod/web"
        );
    }
}
