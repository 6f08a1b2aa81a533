//! What the plugin prints, as pure functions of the objects it read: the checklist in sections
//! (`status`), one line per checklist (`list`), one line per revision (`history`). No client and
//! no clock here; the caller passes "now" so ages and durations are testable.

mod checks;
mod jobs;
mod score;
mod status;
mod tables;

pub use status::status;
pub use tables::{history, list};

use anstyle::{AnsiColor, Style};
use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

use crate::api::CheckResult;

/// When an Event last happened: its series' last observation, its last timestamp, its event
/// time, its first timestamp, or when it was created, the first of these it has.
pub fn event_time(event: &k8s_openapi::api::core::v1::Event) -> Option<Timestamp> {
    event
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref())
        .map(|t| t.0)
        .or_else(|| event.last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
        .or_else(|| event.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// Whether output is coloured: on a terminal unless NO_COLOR or --color never says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    /// Emit ANSI colour codes.
    pub colour: bool,
}

impl Paint {
    fn with(self, style: Style, text: &str) -> String {
        if self.colour {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    fn good(self, text: &str) -> String {
        self.with(AnsiColor::Green.on_default(), text)
    }

    fn bad(self, text: &str) -> String {
        self.with(AnsiColor::Red.on_default(), text)
    }

    fn waiting(self, text: &str) -> String {
        self.with(AnsiColor::Yellow.on_default(), text)
    }

    fn dim(self, text: &str) -> String {
        self.with(Style::new().dimmed(), text)
    }

    fn heading(self, text: &str) -> String {
        self.with(Style::new().bold(), text)
    }

    /// ✓, ✗, … or -, coloured by the result.
    fn mark(self, result: CheckResult) -> String {
        match result {
            CheckResult::Pass => self.good("✓"),
            CheckResult::Fail => self.bad("✗"),
            CheckResult::Pending => self.waiting("…"),
            CheckResult::Skipped => self.dim("-"),
        }
    }
}

/// "12s", "4m10s", "3h2m", "5d": the way kubectl writes ages.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d", s / 86_400),
    }
}

fn seconds_between(from: &Time, to: &Timestamp) -> i64 {
    to.as_second() - from.0.as_second()
}

/// How long ago `time` was, or "-".
fn ago(time: Option<&Time>, now: &Timestamp) -> String {
    time.map_or_else(
        || "-".to_string(),
        |t| format!("{} ago", human_duration(seconds_between(t, now))),
    )
}

/// How long from `start` to `end` (or to now while it runs), or "-".
fn took(start: Option<&Time>, end: Option<&Time>, now: &Timestamp) -> String {
    match (start, end) {
        (Some(start), Some(end)) => human_duration(seconds_between(start, &end.0)),
        (Some(start), None) => format!("{} so far", human_duration(seconds_between(start, now))),
        _ => "-".to_string(),
    }
}

/// `rows` as [`columns`] under a section heading, indented by two spaces.
fn push_indented(out: &mut String, rows: &[Vec<String>]) {
    use std::fmt::Write as _;
    for line in columns(rows).lines() {
        let _ = writeln!(out, "  {line}");
    }
}

/// Rows of cells as columns two spaces apart, each as wide as its widest cell (colour codes
/// are not counted: cells are padded before they are painted).
fn columns(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows.iter().map(Vec::len).max().unwrap_or(0))
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| visible_width(c))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(visible_width(cell)) + 2;
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Characters a terminal shows: ANSI escape sequences take no room.
fn visible_width(text: &str) -> usize {
    plain(text).chars().count()
}

/// The text without its colour codes (`ESC [ ... m`).
pub(super) fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\u{1b}') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_kubectl_ages() {
        assert_eq!(human_duration(-3), "0s");
        assert_eq!(human_duration(59), "59s");
        assert_eq!(human_duration(250), "4m10s");
        assert_eq!(human_duration(3 * 3600 + 125), "3h2m");
        assert_eq!(human_duration(5 * 86_400 + 7), "5d");
    }

    #[test]
    fn columns_align_on_what_is_visible() {
        let paint = Paint { colour: true };
        let rows = vec![
            vec![paint.good("✓"), "health".into(), "ok".into()],
            vec!["✗".into(), "deep-health-long".into(), "bad".into()],
        ];
        let text = plain(&columns(&rows));
        let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
        let at = |line: &[char], word: char| line.iter().position(|c| *c == word);
        assert_eq!(at(&lines[0], 'o'), at(&lines[1], 'b'));
        assert_eq!(text.lines().nth(1), Some("✗  deep-health-long  bad"));
        assert!(!columns(&rows).contains(" \n"), "no trailing spaces");
    }
}
