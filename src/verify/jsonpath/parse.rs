//! The parser of the JSONPath subset: RFC 9535's grammar for names, wildcards, indexes, slices,
//! descendants and literals; filter expressions are parsed in `filter`, where function
//! extensions (`length()`, `match()`, …) are refused by name.
//!
//! Recursion (parentheses, filters inside filters) is bounded by the query's length, which the
//! caller caps before parsing.

use super::ast::{Query, Segment, Selector, Start};

/// The largest index or slice bound RFC 9535 allows (I-JSON's exact integers).
const MAX_INT: i64 = (1 << 53) - 1;

/// A query as parsed, with what the caps need to know about it.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// The query.
    pub(crate) query: Query,
    /// How many descendant (`..`) segments it has, filters included.
    pub(crate) descendants: usize,
}

/// Parses a whole query, which must start with `$`.
pub(crate) fn parse(text: &str) -> Result<Parsed, String> {
    let mut parser = Parser {
        text,
        pos: 0,
        descendants: 0,
    };
    parser.expect('$')?;
    let segments = parser.segments()?;
    if parser.pos < text.len() {
        return Err(parser.error("expected a segment (. or [) or the end of the path"));
    }
    Ok(Parsed {
        query: Query {
            start: Start::Root,
            segments,
        },
        descendants: parser.descendants,
    })
}

/// The parser's place in the text; its methods are split between this module (segments,
/// selectors, literals) and `filter` (filter expressions).
pub(super) struct Parser<'t> {
    pub(super) text: &'t str,
    pub(super) pos: usize,
    pub(super) descendants: usize,
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    pub(super) fn peek_second(&self) -> Option<char> {
        self.text[self.pos..].chars().nth(1)
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    pub(super) fn eat(&mut self, wanted: &str) -> bool {
        if self.text[self.pos..].starts_with(wanted) {
            self.pos += wanted.len();
            true
        } else {
            false
        }
    }

    pub(super) fn expect(&mut self, wanted: char) -> Result<(), String> {
        if self.peek() == Some(wanted) {
            self.pos += wanted.len_utf8();
            Ok(())
        } else {
            Err(self.error(&format!("expected {wanted}")))
        }
    }

    pub(super) fn skip_blank(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
    }

    /// "at character 7: expected ]": positions count characters from 1, as people do.
    pub(super) fn error(&self, what: &str) -> String {
        let at = self.text[..self.pos].chars().count() + 1;
        format!("at character {at}: {what}")
    }

    /// `*(S segment)`; blanks not followed by a segment are left unread.
    pub(super) fn segments(&mut self) -> Result<Vec<Segment>, String> {
        let mut segments = Vec::new();
        loop {
            let before = self.pos;
            self.skip_blank();
            if !matches!(self.peek(), Some('.' | '[')) {
                self.pos = before;
                return Ok(segments);
            }
            segments.push(self.segment()?);
        }
    }

    fn segment(&mut self) -> Result<Segment, String> {
        if self.eat("..") {
            self.descendants += 1;
            let selectors = match self.peek() {
                Some('[') => self.bracketed()?,
                Some('*') => {
                    self.pos += 1;
                    vec![Selector::Wildcard]
                }
                _ => vec![Selector::Name(self.member_name()?)],
            };
            return Ok(Segment {
                descendant: true,
                selectors,
            });
        }
        let selectors = if self.eat(".") {
            if self.eat("*") {
                vec![Selector::Wildcard]
            } else {
                vec![Selector::Name(self.member_name()?)]
            }
        } else {
            self.bracketed()?
        };
        Ok(Segment {
            descendant: false,
            selectors,
        })
    }

    /// `name-first *name-char`: letters, `_`, digits after the first, and any non-ASCII.
    fn member_name(&mut self) -> Result<String, String> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' || !c.is_ascii() => {}
            _ => return Err(self.error("expected a member name, * or [")),
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        Ok(self.text[start..self.pos].to_string())
    }

    /// `"[" S selector *(S "," S selector) S "]"`.
    fn bracketed(&mut self) -> Result<Vec<Selector>, String> {
        self.expect('[')?;
        let mut selectors = Vec::new();
        loop {
            self.skip_blank();
            selectors.push(self.selector()?);
            self.skip_blank();
            match self.bump() {
                Some(',') => continue,
                Some(']') => return Ok(selectors),
                _ => return Err(self.error("expected , or ]")),
            }
        }
    }

    fn selector(&mut self) -> Result<Selector, String> {
        match self.peek() {
            Some('\'' | '"') => Ok(Selector::Name(self.string()?)),
            Some('*') => {
                self.pos += 1;
                Ok(Selector::Wildcard)
            }
            Some('?') => {
                self.pos += 1;
                self.skip_blank();
                Ok(Selector::Filter(Box::new(self.or()?)))
            }
            Some(':' | '-' | '0'..='9') => self.index_or_slice(),
            _ => Err(self.error("expected a name in quotes, *, an index, a slice or a ?filter")),
        }
    }

    fn index_or_slice(&mut self) -> Result<Selector, String> {
        let start = self.optional_int()?;
        self.skip_blank();
        if !self.eat(":") {
            return start
                .map(Selector::Index)
                .ok_or_else(|| self.error("expected an index"));
        }
        self.skip_blank();
        let end = self.optional_int()?;
        self.skip_blank();
        let step = if self.eat(":") {
            self.skip_blank();
            self.optional_int()?
        } else {
            None
        };
        Ok(Selector::Slice { start, end, step })
    }

    fn optional_int(&mut self) -> Result<Option<i64>, String> {
        if !matches!(self.peek(), Some('-' | '0'..='9')) {
            return Ok(None);
        }
        self.int().map(Some)
    }

    /// `"0" / (["-"] DIGIT1 *DIGIT)`, within ±(2^53-1).
    pub(super) fn int(&mut self) -> Result<i64, String> {
        let start = self.pos;
        let negative = self.eat("-");
        match self.peek() {
            Some('0') if !negative => {
                self.pos += 1;
                if matches!(self.peek(), Some('0'..='9')) {
                    return Err(self.error("a number must not start with 0"));
                }
                return Ok(0);
            }
            Some('1'..='9') => {}
            _ => return Err(self.error("expected a digit from 1 to 9")),
        }
        while matches!(self.peek(), Some('0'..='9')) {
            self.pos += 1;
        }
        self.text[start..self.pos]
            .parse::<i64>()
            .ok()
            .filter(|n| n.abs() <= MAX_INT)
            .ok_or_else(|| self.error("the number is out of range (±9007199254740991)"))
    }

    /// A quoted string with RFC 9535's escapes.
    pub(super) fn string(&mut self) -> Result<String, String> {
        let quote = self.bump().ok_or_else(|| self.error("expected a quote"))?;
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error(&format!("the string has no closing {quote}"))),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => out.push(self.escape(quote)?),
                Some(c) if c < ' ' => {
                    return Err(self.error("a control character must be escaped"));
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn escape(&mut self, quote: char) -> Result<char, String> {
        let c = match self.bump() {
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some(c @ ('/' | '\\')) => c,
            Some(c) if c == quote => c,
            Some('u') => return self.unicode_escape(),
            _ => return Err(self.error("unknown escape")),
        };
        Ok(c)
    }

    fn unicode_escape(&mut self) -> Result<char, String> {
        let high = self.hex4()?;
        if !(0xD800..0xDC00).contains(&high) {
            return char::from_u32(high).ok_or_else(|| self.error("a lone low surrogate"));
        }
        if !self.eat("\\u") {
            return Err(self.error("a high surrogate must be followed by \\u and a low one"));
        }
        let low = self.hex4()?;
        if !(0xDC00..0xE000).contains(&low) {
            return Err(self.error("expected a low surrogate"));
        }
        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            .ok_or_else(|| self.error("not a character"))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.text.get(self.pos..self.pos + 4).unwrap_or("");
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error("expected 4 hex digits"));
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error("expected 4 hex digits"))
    }
}
