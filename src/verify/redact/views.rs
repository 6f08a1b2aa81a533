//! The haystack with its escapes undone, and the way back to where each decoded byte came from.
//!
//! An encoder has a choice for most characters (`/` or `\/`, `é` or `\u00e9` or `\u00E9`, `<`
//! or `\u003c`, a space as `%20`; per character, so forms multiply): rather than write out every
//! combination as a needle, the escapes are decoded once and the values matched in the decoded
//! text. A match maps back to whole escape sequences, so masking it leaves the JSON, the URL or
//! the HTML as well-formed as it was.

use std::ops::Range;

/// A decoded escape: up to four bytes (one UTF-8 character) in place of `consumed` bytes.
struct Piece {
    bytes: [u8; 4],
    len: usize,
    consumed: usize,
}

impl Piece {
    fn byte(byte: u8, consumed: usize) -> Self {
        Self {
            bytes: [byte, 0, 0, 0],
            len: 1,
            consumed,
        }
    }

    fn char(c: char, consumed: usize) -> Self {
        let mut bytes = [0; 4];
        let len = c.encode_utf8(&mut bytes).len();
        Self {
            bytes,
            len,
            consumed,
        }
    }
}

/// An escape syntax: the byte every escape starts with, and how to decode one.
struct Syntax {
    trigger: u8,
    decode: fn(&[u8]) -> Option<Piece>,
}

const JSON: Syntax = Syntax {
    trigger: b'\\',
    decode: json_escape,
};
const PERCENT: Syntax = Syntax {
    trigger: b'%',
    decode: percent_escape,
};
const HTML: Syntax = Syntax {
    trigger: b'&',
    decode: html_escape,
};

/// Where a run of decoded bytes came from, when it differs from the input.
#[derive(Clone, Copy, Debug)]
struct Edit {
    /// Offset in the decoded bytes.
    at: usize,
    len: usize,
    /// Offset in the input.
    from: usize,
    from_len: usize,
}

/// A decoded copy of a haystack.
pub struct View {
    /// The decoded bytes, searched like the haystack.
    pub bytes: Vec<u8>,
    /// One list of edits per decoding applied, the last applied last.
    layers: Vec<Vec<Edit>>,
}

/// The decoded views of `haystack` worth searching: JSON-unescaped, percent-decoded, both (a
/// URL quoted in JSON), and HTML-unescaped; only those in which something was decoded.
pub fn of(haystack: &[u8]) -> Vec<View> {
    let mut views = Vec::new();
    if let Some(json) = View::decode(haystack, &JSON) {
        views.extend(json.decode_again(&PERCENT));
        views.push(json);
    }
    views.extend(View::decode(haystack, &PERCENT));
    views.extend(View::decode(haystack, &HTML));
    views
}

impl View {
    /// `input` with the escapes of `syntax` decoded; None when there are none.
    fn decode(input: &[u8], syntax: &Syntax) -> Option<Self> {
        let edits = decode_into(input, syntax)?;
        Some(Self {
            bytes: edits.0,
            layers: vec![edits.1],
        })
    }

    /// This view decoded once more.
    fn decode_again(&self, syntax: &Syntax) -> Option<Self> {
        let (bytes, edits) = decode_into(&self.bytes, syntax)?;
        let mut layers = self.layers.clone();
        layers.push(edits);
        Some(Self { bytes, layers })
    }

    /// The haystack bytes that decoded to `range`: a range starting or ending inside an
    /// escape covers that whole escape.
    pub fn original(&self, range: Range<usize>) -> Range<usize> {
        self.layers
            .iter()
            .rev()
            .fold(range, |range, edits| back(edits, range))
    }
}

/// `input` decoded, and the edits that tell where each decoded escape came from; None when
/// nothing was decoded.
fn decode_into(input: &[u8], syntax: &Syntax) -> Option<(Vec<u8>, Vec<Edit>)> {
    let mut first = input.iter().position(|&b| b == syntax.trigger)?;
    let mut bytes = Vec::with_capacity(input.len());
    let mut edits = Vec::new();
    let mut at = 0;
    loop {
        bytes.extend_from_slice(&input[at..first]);
        at = first;
        match (syntax.decode)(&input[at..]) {
            Some(piece) => {
                edits.push(Edit {
                    at: bytes.len(),
                    len: piece.len,
                    from: at,
                    from_len: piece.consumed,
                });
                bytes.extend_from_slice(&piece.bytes[..piece.len]);
                at += piece.consumed;
            }
            None => {
                bytes.push(input[at]);
                at += 1;
            }
        }
        match input[at..].iter().position(|&b| b == syntax.trigger) {
            Some(next) => first = at + next,
            None => break,
        }
    }
    bytes.extend_from_slice(&input[at..]);
    (!edits.is_empty()).then_some((bytes, edits))
}

/// `range` of the decoded bytes as a range of the input.
fn back(edits: &[Edit], range: Range<usize>) -> Range<usize> {
    let start = match locate(edits, range.start) {
        Located::Inside(edit) => edit.from,
        Located::Outside(offset) => offset,
    };
    let end = match range.end.checked_sub(1).map(|last| locate(edits, last)) {
        Some(Located::Inside(edit)) => edit.from + edit.from_len,
        Some(Located::Outside(offset)) => offset + 1,
        None => start,
    };
    start..end.max(start)
}

/// Where a decoded byte came from.
enum Located {
    /// Decoded from this escape.
    Inside(Edit),
    /// Copied from this input offset.
    Outside(usize),
}

fn locate(edits: &[Edit], offset: usize) -> Located {
    let before = edits.partition_point(|e| e.at <= offset);
    match before.checked_sub(1).map(|i| edits[i]) {
        None => Located::Outside(offset),
        Some(edit) if offset < edit.at + edit.len => Located::Inside(edit),
        Some(edit) => Located::Outside(edit.from + edit.from_len + (offset - edit.at - edit.len)),
    }
}

/// One JSON escape (RFC 8259): `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, or `\u` and four
/// hex digits in either case, a surrogate pair as two.
fn json_escape(input: &[u8]) -> Option<Piece> {
    let simple = match input.get(1)? {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => {
            let unit = utf16_unit(input.get(2..6)?)?;
            if let Some(c) = char::from_u32(unit) {
                return Some(Piece::char(c, 6));
            }
            // A high surrogate followed by a low one: one character outside the BMP.
            let low = input
                .get(6..8)
                .filter(|u| *u == b"\\u")
                .and_then(|_| utf16_unit(input.get(8..12)?))?;
            let c = char::decode_utf16([unit as u16, low as u16]).next()?.ok()?;
            return Some(Piece::char(c, 12));
        }
        _ => return None,
    };
    Some(Piece::byte(simple, 2))
}

fn utf16_unit(hex: &[u8]) -> Option<u32> {
    hex.iter()
        .try_fold(0, |unit, &digit| Some(unit * 16 + hex_digit(digit)?))
}

/// One percent escape (RFC 3986): `%` and two hex digits in either case.
fn percent_escape(input: &[u8]) -> Option<Piece> {
    let high = hex_digit(*input.get(1)?)?;
    let low = hex_digit(*input.get(2)?)?;
    Some(Piece::byte((high * 16 + low) as u8, 3))
}

fn hex_digit(digit: u8) -> Option<u32> {
    char::from(digit).to_digit(16)
}

/// One HTML character reference: the five named ones escapers write, or a decimal or hex
/// numeric one (`&#39;`, `&#x2F;`).
fn html_escape(input: &[u8]) -> Option<Piece> {
    let semicolon = input.iter().take(12).position(|&b| b == b';')?;
    let name = &input[1..semicolon];
    let c = match name {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        [b'#', b'x' | b'X', hex @ ..] if !hex.is_empty() => {
            char::from_u32(u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?)?
        }
        [b'#', decimal @ ..] if !decimal.is_empty() => {
            char::from_u32(std::str::from_utf8(decimal).ok()?.parse().ok()?)?
        }
        _ => return None,
    };
    Some(Piece::char(c, semicolon + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(input: &str, syntax: &Syntax) -> String {
        let view = View::decode(input.as_bytes(), syntax).unwrap();
        String::from_utf8(view.bytes).unwrap()
    }

    #[test]
    fn json_escapes_decode_in_every_spelling() {
        let input = r#"a\/b \u003C\u003e\u0026\u0027 \u00e9\u00C9 \ud83d\ude00 \"\\\n"#;
        assert_eq!(decoded(input, &JSON), "a/b <>&' éÉ 😀 \"\\\n");
    }

    #[test]
    fn bad_escapes_are_kept_as_they_are() {
        let input = r"\/ \x \u12 \ud83d alone \";
        assert_eq!(decoded(input, &JSON), r"/ \x \u12 \ud83d alone \");
        assert!(View::decode(b"100% sure %zz", &PERCENT).is_none());
        assert!(View::decode(b"fish & chips &nbsp; &#xZZ;", &HTML).is_none());
    }

    #[test]
    fn percent_and_html_escapes_decode() {
        assert_eq!(decoded("a%2Fb%2fc%20d+e", &PERCENT), "a/b/c d+e");
        assert_eq!(decoded("&lt;&#39;&#x2F;&amp;&quot;", &HTML), "<'/&\"");
    }

    #[test]
    fn a_decoded_range_maps_back_to_whole_escapes() {
        let input = r#"{"e":"x\u0041BC\/d"}"#;
        let view = View::decode(input.as_bytes(), &JSON).unwrap();
        let text = String::from_utf8(view.bytes.clone()).unwrap();
        assert_eq!(text, r#"{"e":"xABC/d"}"#);
        let at = |s: &str| text.find(s).unwrap();
        let original = |r: Range<usize>| &input[view.original(r)];
        assert_eq!(original(at("ABC")..at("ABC") + 3), r"\u0041BC");
        assert_eq!(original(at("BC/")..at("BC/") + 3), r"BC\/");
        assert_eq!(original(at("d\"")..at("d\"") + 2), "d\"");
        assert_eq!(original(0..2), "{\"");
    }

    #[test]
    fn a_range_inside_a_multibyte_escape_covers_the_escape() {
        let input = r"pre \u00e9 post";
        let view = View::decode(input.as_bytes(), &JSON).unwrap();
        let e = view.bytes.iter().position(|&b| b == 0xc3).unwrap();
        assert_eq!(&input[view.original(e + 1..e + 2)], r"\u00e9");
    }

    #[test]
    fn layers_map_back_through_both_decodings() {
        let input = r#"{"url":"\/login?t=a%2Fb+c"}"#;
        let views = of(input.as_bytes());
        let both = &views[0];
        let text = String::from_utf8(both.bytes.clone()).unwrap();
        assert_eq!(text, r#"{"url":"/login?t=a/b+c"}"#);
        let start = text.find("/login").unwrap();
        assert_eq!(
            &input[both.original(start..start + 14)],
            r"\/login?t=a%2Fb+c"
        );
        assert_eq!(views.len(), 3);
    }
}
