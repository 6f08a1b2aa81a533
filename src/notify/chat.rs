//! The body each kind of target gets: the notification's JSON for a webhook, and the chat
//! formats, Slack's text and blocks and Teams' MessageCard. Every chat string
//! from the notification is escaped for the format (`escape`) after it was sanitized and bounded
//! (`Notification::shown`), so tenant text never becomes markup.

use serde_json::{Value, json};

use super::{escape, payload::Notification};
use crate::{
    api::notifications::{TargetKind, Transition},
    text::truncated,
};

impl Notification {
    /// The body to POST to a target of `kind`, every tenant and app string in it sanitized and
    /// bounded (see [`Notification::shown`]) and, for chat, escaped.
    pub fn body(&self, kind: TargetKind) -> Value {
        let shown = self.shown();
        match kind {
            TargetKind::Webhook => json!(shown),
            TargetKind::Slack => slack(&shown),
            TargetKind::Teams => teams(&shown),
        }
    }
}

/// The most characters of a Slack text object (a section's text).
pub(super) const SLACK_TEXT_MAX: usize = 3000;

/// Slack's text and sections. Tenant text never starts a line, where a `&gt;` would make it a
/// quote; the sections are `verbatim`, so Slack does not turn channel names and URLs in it into
/// links either.
pub(super) fn slack(n: &Notification) -> Value {
    let mut lines = vec![format!(
        "*{}* ({}) — *{:?}*{}",
        escape::slack(&n.checklist),
        escape::slack(&n.namespace),
        n.transition,
        if n.message.is_empty() {
            String::new()
        } else {
            format!(": {}", escape::slack(&n.message))
        }
    )];
    lines.push(format!(
        "image `{}`, revision `{}`",
        escape::slack(&n.image),
        escape::slack(&n.revision)
    ));
    let failed = n.failed_lines(escape::slack);
    if !failed.is_empty() {
        lines.push("Failed checks:".into());
        lines.extend(failed);
    }
    // The URL is already percent-encoded; `|` would end it early and `&` must be escaped like
    // anywhere else in the text.
    let link = n
        .link
        .as_deref()
        .map(|link| format!("<{}|Open>", escape::slack(&link.replace('|', "%7C"))))
        .filter(|line| line.chars().count() <= SLACK_TEXT_MAX);
    lines.extend(link);
    let blocks: Vec<Value> = sections(lines, SLACK_TEXT_MAX)
        .into_iter()
        .map(|text| json!({"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": true}}))
        .collect();
    json!({
        "text": n.headline_escaped(escape::slack),
        "blocks": blocks,
    })
}

/// A MessageCard. Its text fields are Markdown with some HTML: every string quoted in them gets
/// [`escape::teams`], the operator's own words and punctuation none.
pub(super) fn teams(n: &Notification) -> Value {
    let colour = match n.transition {
        Transition::Ready => "2EB67D",
        Transition::WaitingForPromotion => "ECB22E",
        _ => "E01E5A",
    };
    let fact = |name: &str, value: &str| json!({"name": name, "value": escape::teams(value)});
    let mut facts = vec![
        json!({
            "name": "Checklist",
            "value": format!("{}/{}", escape::teams(&n.namespace), escape::teams(&n.checklist)),
        }),
        fact("Phase", &n.phase),
        fact("Image", &n.image),
        fact("Revision", &n.revision),
    ];
    for line in n.failed_lines(escape::teams) {
        // Already escaped, name and message apart, so the `✗` and `:` stay the operator's.
        facts.push(json!({"name": "Failed check", "value": line}));
    }
    let mut card = json!({
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": n.headline_escaped(escape::teams),
        "themeColor": colour,
        "title": format!(
            "{} ({}): {:?}",
            escape::teams(&n.checklist),
            escape::teams(&n.namespace),
            n.transition
        ),
        "text": escape::teams(&n.message),
        "sections": [{"facts": facts}],
    });
    if let Some(link) = &n.link {
        // A URI field, not text: the link is already a serialized http(s) URL.
        card["potentialAction"] = json!([{
            "@type": "OpenUri",
            "name": "Open",
            "targets": [{"os": "default", "uri": link}],
        }]);
    }
    card
}

/// `lines` joined into as few texts of at most `max` characters as keep each line whole; a
/// line longer than `max` alone is cut (it can only be tenant text already escaped, and a cut
/// escape shows as text, never as markup).
fn sections(lines: Vec<String>, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut length = 0;
    for line in lines {
        let line = truncated(line, max);
        let chars = line.chars().count();
        if !current.is_empty() && length + 1 + chars > max {
            out.push(std::mem::take(&mut current));
            length = 0;
        }
        if !current.is_empty() {
            current.push('\n');
            length += 1;
        }
        current.push_str(&line);
        length += chars;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        api::notifications::TargetKind,
        notify::payload::tests::{hostile, rolled_back},
    };

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
        assert_eq!(body["blocks"].as_array().unwrap().len(), 1);
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
                .any(|f| f["value"] == r"✗ health: expected status 200, got 503")
        );
        assert!(facts.iter().any(|f| f["value"] == "example.com/web:2.0.0"));
        // Only quoted text is escaped: the operator's own parentheses stay as they are.
        assert_eq!(body["title"], "web (prod): RolledBack");
        assert!(
            body["summary"]
                .as_str()
                .unwrap()
                .starts_with("web (prod) RolledBack: ")
        );
        assert_eq!(
            body["text"],
            r"rolled back to example.com/web:1.0.0: verification failed: health \(HTTP 503\)"
        );
        assert_eq!(
            body["potentialAction"][0]["targets"][0]["uri"],
            "https://argo.example.com/prod/web"
        );
    }

    /// Every text Slack renders: the fallback text and each section.
    fn slack_texts(body: &Value) -> Vec<String> {
        let mut texts = vec![body["text"].as_str().unwrap().to_string()];
        for block in body["blocks"].as_array().unwrap() {
            texts.push(block["text"]["text"].as_str().unwrap().to_string());
        }
        texts
    }

    #[test]
    fn slack_shows_hostile_text_as_text_within_its_limits() {
        let body = hostile().body(TargetKind::Slack);
        let texts = slack_texts(&body);
        for text in &texts {
            assert!(text.chars().count() <= SLACK_TEXT_MAX, "{}", text.len());
            for markup in [
                "<!channel>",
                "<!here>",
                "<@U123>",
                "<https://evil",
                "\u{1b}",
                "\u{7}",
                "\u{202E}",
            ] {
                assert!(!text.contains(markup), "{markup} in {text}");
            }
            // The only `<` left is the operator's own link.
            assert_eq!(
                text.matches('<').count(),
                text.matches("<https://argo.example.com/prod/web|Open>")
                    .count()
            );
        }
        let all = texts.join("\n");
        assert!(
            all.contains("&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt;"),
            "{all}"
        );
        assert!(all.contains("&lt;https://evil.example|https://grafana.internal&gt;"));
        assert!(all.contains("✗ check-0&lt;@U123&gt;: &lt;!here&gt; xxx"));
        assert!(all.contains("and 12 more"));
        let blocks = body["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50, "Slack takes at most 50 blocks");
        assert!(blocks.iter().all(|b| b["text"]["verbatim"] == true));
        println!(
            "Slack body of a hostile notification: {} blocks, {} bytes",
            blocks.len(),
            serde_json::to_vec(&body).unwrap().len()
        );
    }

    #[test]
    fn teams_shows_hostile_text_as_text_within_its_limits() {
        let mut n = hostile();
        n.message = format!(
            "[https://grafana.internal](https://evil.example) {}",
            n.message
        );
        let body = n.body(TargetKind::Teams);
        let text = body["text"].as_str().unwrap();
        assert!(
            text.starts_with(
                r"\[https://grafana.internal\]\(https://evil.example\) &lt;\!channel&gt;"
            ),
            "{text}"
        );
        let encoded = serde_json::to_string(&body).unwrap();
        for markup in ["](", "<a", "<!", "\u{1b}", "\u{202E}", "**"] {
            assert!(!encoded.contains(markup), "{markup} in {encoded}");
        }
        // Teams refuses cards over 28 KB.
        println!(
            "Teams card of a hostile notification: {} bytes",
            encoded.len()
        );
        assert!(encoded.len() < 28 * 1024, "{}", encoded.len());
    }

    #[test]
    fn the_worst_case_fits_slack_and_teams() {
        // Every bounded field at its bound with the character escaping lengthens most.
        let mut n = hostile();
        let worst = "&".repeat(10_000);
        n.checklist = worst.clone();
        n.namespace = worst.clone();
        n.image = worst.clone();
        n.revision = worst.clone();
        n.phase = worst.clone();
        n.message = worst.clone();
        n.link = Some(format!("https://h.example/?{}", "a=&".repeat(600)));
        for check in &mut n.failed_checks {
            check.name = worst.clone();
            check.message = worst.clone();
        }
        let slack = n.body(TargetKind::Slack);
        for text in slack_texts(&slack) {
            assert!(
                text.chars().count() <= SLACK_TEXT_MAX || text == slack["text"],
                "{}",
                text.len()
            );
        }
        let teams = serde_json::to_vec(&n.body(TargetKind::Teams))
            .unwrap()
            .len();
        println!("worst-case Teams card: {teams} bytes");
        assert!(teams < 28 * 1024, "{teams}");
    }

    #[test]
    fn sections_keep_lines_whole_within_the_limit() {
        let lines = vec!["a".repeat(4), "b".repeat(4), "c".repeat(9), "d".repeat(12)];
        assert_eq!(
            sections(lines, 10),
            ["aaaa\nbbbb", "ccccccccc", "ddddddddd…"]
        );
        assert!(sections(Vec::new(), 10).is_empty());
    }
}
