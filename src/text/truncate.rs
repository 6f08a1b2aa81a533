//! Cutting text to the length a status field, condition or Event can hold.

/// Cuts `text` to at most `max` characters, the last one "…" when anything was cut. Counting
/// characters, not bytes, keeps the cut on a character boundary and matches the API server's
/// maxLength, which counts characters too.
pub(crate) fn truncate(text: &mut String, max: usize) {
    if text.chars().count() > max {
        let keep = text
            .char_indices()
            .nth(max.saturating_sub(1))
            .map_or(text.len(), |(at, _)| at);
        text.truncate(keep);
        text.push('…');
    }
}

/// [`truncate`] of an owned string.
pub(crate) fn truncated(mut text: String, max: usize) -> String {
    truncate(&mut text, max);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_within_the_limit_is_kept_whole() {
        assert_eq!(truncated("abc".into(), 3), "abc");
        assert_eq!(truncated(String::new(), 0), "");
    }

    #[test]
    fn longer_text_ends_in_an_ellipsis_within_the_limit() {
        assert_eq!(truncated("abcdef".into(), 4), "abc…");
        assert_eq!(truncated("abcdef".into(), 1), "…");
        let cut = truncated("é".repeat(2000), 1024);
        assert_eq!(cut.chars().count(), 1024);
        assert!(cut.ends_with("é…"));
    }
}
