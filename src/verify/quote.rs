//! Quoting what a server sent in a message: short, escaped, safe to put in status and logs.

/// The most bytes of a body a message quotes.
pub const QUOTE_LIMIT: usize = 120;

/// The first [`QUOTE_LIMIT`] bytes of `body`, escaped (control characters, quotes, non-UTF-8)
/// and marked with an ellipsis when cut, inside double quotes.
pub fn quote(body: &[u8]) -> String {
    let cut = body.len() > QUOTE_LIMIT;
    let shown = &body[..body.len().min(QUOTE_LIMIT)];
    let mut out = String::with_capacity(shown.len() + 8);
    out.push('"');
    for chunk in shown.utf8_chunks() {
        for c in chunk.valid().chars() {
            out.extend(c.escape_debug());
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    if cut {
        out.push('…');
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_bodies_are_quoted_whole() {
        assert_eq!(quote(b"ok"), r#""ok""#);
    }

    #[test]
    fn control_characters_quotes_and_invalid_utf8_are_escaped() {
        assert_eq!(quote(b"a\"b\n\x1b[31m\xff"), r#""a\"b\n\u{1b}[31m\xff""#);
    }

    #[test]
    fn long_bodies_are_cut_at_the_limit() {
        let body = vec![b'x'; 10_000];
        let quoted = quote(&body);
        assert_eq!(quoted, format!("\"{}…\"", "x".repeat(QUOTE_LIMIT)));
    }

    #[test]
    fn a_cut_inside_a_multibyte_character_does_not_panic() {
        let body = "é".repeat(100); // 200 bytes; byte 120 splits nothing, 121 would
        let quoted = quote(&body.as_bytes()[1..]);
        assert!(quoted.starts_with("\"\\xa9"));
    }
}
