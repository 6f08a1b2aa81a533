//! Replacing what a terminal, a browser or a chat client would act on instead of showing.

use std::fmt;

use super::truncate::truncate;

/// What a control, bidi or invisible character becomes: visible, so a reader sees that something
/// was there, and inert everywhere.
pub const REPLACEMENT: char = '\u{FFFD}';

/// `text` as one line a person can safely read: every control character (C0, DEL, C1) and every
/// bidi or invisible formatting character replaced by U+FFFD, line breaks and tabs by a space,
/// and the whole cut to at most `max` characters (the last one "…" when anything was cut).
///
/// Replacing rather than deleting keeps `a\u{1b}[2Jb` from reading as a plausible `a[2Jb` and
/// shows the reader that the app sent something odd.
pub fn line(text: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    // Cut first (on the raw characters) so a hostile megabyte costs no more than `max` steps
    // below; one replacement is one character, so the bound still holds afterwards.
    let mut out = String::with_capacity(text.len().min(max.saturating_mul(4)));
    let mut cut = false;
    for (taken, c) in text.chars().enumerate() {
        if taken == max {
            cut = true;
            break;
        }
        out.push(replacement(c).unwrap_or(c));
    }
    if cut {
        // One character more than `max` makes truncate place its ellipsis within the bound.
        out.push(' ');
        truncate(&mut out, max);
    }
    out
}

/// Whether `text` holds nothing [`line`] would replace: no control, bidi or invisible character.
pub fn is_clean(text: &str) -> bool {
    text.chars().all(|c| replacement(c).is_none())
}

/// What [`line`] puts in place of `c`, or None when `c` is shown as it is.
fn replacement(c: char) -> Option<char> {
    match c {
        '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' | '\u{85}' => Some(' '),
        c if c.is_control() => Some(REPLACEMENT),
        c if invisible(c) => Some(REPLACEMENT),
        _ => None,
    }
}

/// Formatting characters (Unicode category Cf and the bidi controls) that change how the text
/// around them is drawn, or are drawn as nothing at all.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{AD}'                    // soft hyphen
        | '\u{61C}'                 // Arabic letter mark (bidi)
        | '\u{180E}'                // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}'   // zero-width space, joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}'   // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates
        | '\u{FEFF}'                // zero-width no-break space (BOM)
        | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotations
        | '\u{E0000}'..='\u{E007F}' // tag characters
    )
}

/// Tenant text for a log field or a `format!`: Display shows it through [`line`] within
/// [`Shown::MAX`] characters, so `tracing::warn!(dependency = %Shown(&name))` cannot write an
/// escape sequence to the operator's terminal or a forged line to its log.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(pub &'a str);

impl Shown<'_> {
    /// The longest a [`Shown`] value prints, in characters.
    pub const MAX: usize = 1024;
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&line(self.0, Self::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_are_made_inert() {
        // OSC 52 (write the clipboard), a screen clear, BEL.
        let hostile = "db\u{1b}]52;c;cm0gLXJmIC8=\u{7}\u{1b}[2J ok";
        let shown = line(hostile, 100);
        assert_eq!(shown, "db\u{FFFD}]52;c;cm0gLXJmIC8=\u{FFFD}\u{FFFD}[2J ok");
        assert!(is_clean(&shown));
    }

    #[test]
    fn bidi_overrides_and_invisible_characters_are_replaced() {
        let shown = line(
            "invoice\u{202E}fdp.exe\u{200B}\u{2066}x\u{2069}\u{E0041}",
            100,
        );
        assert_eq!(
            shown,
            "invoice\u{FFFD}fdp.exe\u{FFFD}\u{FFFD}x\u{FFFD}\u{FFFD}"
        );
    }

    #[test]
    fn line_breaks_and_tabs_become_spaces() {
        assert_eq!(line("a\nb\r\nc\td\u{2028}e\u{85}f", 100), "a b  c d e f");
    }

    #[test]
    fn c1_controls_and_del_are_replaced() {
        assert_eq!(line("a\u{9b}31mb\u{7f}", 100), "a\u{FFFD}31mb\u{FFFD}");
    }

    #[test]
    fn ordinary_text_is_kept_as_it_is() {
        let text = "Connexion refusée: ключ 鍵 🙂 ok=true <b>";
        assert_eq!(line(text, 100), text);
        assert!(is_clean(text));
    }

    #[test]
    fn the_length_is_bounded_in_characters() {
        assert_eq!(line("abcdef", 4), "abc…");
        assert_eq!(line("abcd", 4), "abcd");
        assert_eq!(line("", 0), "");
        assert_eq!(line("ab", 0), "");
        let long = "\u{1b}".repeat(1 << 20);
        let shown = line(&long, 512);
        assert_eq!(shown.chars().count(), 512);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn shown_displays_through_the_sanitizer() {
        let long = "x".repeat(5000);
        assert_eq!(format!("{}", Shown("a\u{1b}b")), "a\u{FFFD}b");
        assert_eq!(format!("{}", Shown(&long)).chars().count(), Shown::MAX);
    }
}
