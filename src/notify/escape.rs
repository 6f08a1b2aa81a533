//! Escaping tenant and app text for the chat formats it is quoted in, so that what a checklist's
//! author or the verified app wrote shows as text: it cannot ping a channel, disguise a link,
//! show an image or restyle the operator's own words.
//!
//! The text is expected to have been through [`crate::text::line`] already (one line, bounded,
//! no control or bidi characters); escaping comes after, since it lengthens the text.

/// Text for Slack's mrkdwn: `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;`, which are the only
/// characters Slack documents as needing escaping and the only ones it decodes. Every mention
/// (`<!channel>`, `<@U123>`) and every link (`<url|label>`) needs a `<`, so none survives.
pub fn slack(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match entity(c) {
            Some(escaped) => out.push_str(escaped),
            None => out.push(c),
        }
    }
    out
}

/// Text for a Teams MessageCard, whose text fields are Markdown with some HTML: `&`, `<` and `>`
/// as HTML entities (so no tag, and no entity such as `&#x202E;` that would decode to a
/// character [`crate::text::line`] replaced), and a backslash before every Markdown character
/// that makes a link, an image, emphasis, code, a heading or a table. A list marker is escaped
/// only where the text begins, the one place it would start a list.
pub fn teams(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let marker = list_marker(text);
    for (at, c) in text.char_indices() {
        if let Some(escaped) = entity(c) {
            out.push_str(escaped);
            continue;
        }
        if markdown_special(c) || Some(at) == marker {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        _ => None,
    }
}

/// The ASCII punctuation CommonMark (and the GitHub extensions Teams follows) gives a meaning
/// anywhere in a line; a backslash before any of them shows it as itself.
fn markdown_special(c: char) -> bool {
    matches!(
        c,
        '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '(' | ')' | '!' | '#' | '|' | '{' | '}'
    )
}

/// Where the character that would make `text` a list item is: a leading `-` or `+`, or the `.`
/// after leading digits (`1.`; `1)` is covered by `)` being escaped everywhere).
fn list_marker(text: &str) -> Option<usize> {
    let start = text.len() - text.trim_start_matches(' ').len();
    let rest = &text[start..];
    if rest.starts_with(['-', '+']) {
        return Some(start);
    }
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    (digits > 0 && rest[digits..].starts_with('.')).then_some(start + digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_mentions_and_links_become_text() {
        assert_eq!(slack("<!channel> hi"), "&lt;!channel&gt; hi");
        assert_eq!(slack("<!here>"), "&lt;!here&gt;");
        assert_eq!(slack("<@U123>"), "&lt;@U123&gt;");
        assert_eq!(
            slack("<https://evil.example|https://grafana.internal>"),
            "&lt;https://evil.example|https://grafana.internal&gt;"
        );
        // An entity the author wrote is shown as written, not decoded.
        assert_eq!(slack("&lt;!channel&gt;"), "&amp;lt;!channel&amp;gt;");
        assert_eq!(slack("status 503, ok=false"), "status 503, ok=false");
    }

    #[test]
    fn teams_links_images_html_and_emphasis_become_text() {
        assert_eq!(
            teams("[https://grafana.internal](https://evil.example)"),
            r"\[https://grafana.internal\]\(https://evil.example\)"
        );
        assert_eq!(
            teams("![x](https://evil.example/p.png)"),
            r"\!\[x\]\(https://evil.example/p.png\)"
        );
        assert_eq!(
            teams("<a href=\"https://evil\">ok</a>"),
            "&lt;a href=\"https://evil\"&gt;ok&lt;/a&gt;"
        );
        assert_eq!(
            teams("**urgent** _now_ ~~x~~ `y`"),
            r"\*\*urgent\*\* \_now\_ \~\~x\~\~ \`y\`"
        );
        assert_eq!(teams("&#x202E;"), r"&amp;\#x202E;");
        assert_eq!(teams(r"a\*b"), r"a\\\*b");
        assert_eq!(teams("# big | table"), r"\# big \| table");
    }

    #[test]
    fn teams_list_markers_are_escaped_only_where_the_text_begins() {
        assert_eq!(teams("- item"), r"\- item");
        assert_eq!(teams("  + item"), r"  \+ item");
        assert_eq!(teams("12. item"), r"12\. item");
        assert_eq!(teams("1) item"), r"1\) item");
        assert_eq!(
            teams("example.com/web:2.0.0 a-b"),
            "example.com/web:2.0.0 a-b"
        );
        assert_eq!(teams("> quote"), "&gt; quote");
        assert_eq!(teams(""), "");
    }
}
