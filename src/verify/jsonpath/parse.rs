//! The parser of the JSONPath subset: RFC 9535's grammar for names, wildcards, indexes, slices,
//! descendants and filters with comparisons and existence tests; function extensions
//! (`length()`, `match()`, …) are refused by name.
//!
//! Recursion (parentheses, filters inside filters) is bounded by the query's length, which the
//! caller caps before parsing.

use serde_json::{Number, Value};

use super::ast::{Comparable, Logical, Op, Query, Segment, Selector, Start};

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

struct Parser<'t> {
    text: &'t str,
    pos: usize,
    descendants: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.text[self.pos..].chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, wanted: &str) -> bool {
        if self.text[self.pos..].starts_with(wanted) {
            self.pos += wanted.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        if self.peek() == Some(wanted) {
            self.pos += wanted.len_utf8();
            Ok(())
        } else {
            Err(self.error(&format!("expected {wanted}")))
        }
    }

    fn skip_blank(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
    }

    /// "at character 7: expected ]": positions count characters from 1, as people do.
    fn error(&self, what: &str) -> String {
        let at = self.text[..self.pos].chars().count() + 1;
        format!("at character {at}: {what}")
    }

    /// `*(S segment)`; blanks not followed by a segment are left unread.
    fn segments(&mut self) -> Result<Vec<Segment>, String> {
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
    fn int(&mut self) -> Result<i64, String> {
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
    fn string(&mut self) -> Result<String, String> {
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

    /// `and *(S "||" S and)`.
    fn or(&mut self) -> Result<Logical, String> {
        let mut terms = vec![self.and()?];
        loop {
            let before = self.pos;
            self.skip_blank();
            if !self.eat("||") {
                self.pos = before;
                break;
            }
            self.skip_blank();
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Logical::Or(terms)
        })
    }

    /// `basic *(S "&&" S basic)`.
    fn and(&mut self) -> Result<Logical, String> {
        let mut terms = vec![self.basic()?];
        loop {
            let before = self.pos;
            self.skip_blank();
            if !self.eat("&&") {
                self.pos = before;
                break;
            }
            self.skip_blank();
            terms.push(self.basic()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Logical::And(terms)
        })
    }

    /// A parenthesised expression, a comparison or an existence test, maybe negated.
    fn basic(&mut self) -> Result<Logical, String> {
        if self.peek() == Some('!') && self.peek_second() != Some('=') {
            self.pos += 1;
            self.skip_blank();
            let inner = match self.peek() {
                Some('(') => self.parenthesised()?,
                Some('@' | '$') => Logical::Exists(self.filter_query()?),
                _ => return Err(self.error("expected ( or a query after !")),
            };
            return Ok(Logical::Not(Box::new(inner)));
        }
        if self.peek() == Some('(') {
            return self.parenthesised();
        }
        let left = self.comparable_or_query()?;
        let before = self.pos;
        self.skip_blank();
        let Some(op) = self.op() else {
            self.pos = before;
            return match left {
                Operand::Query(query) => Ok(Logical::Exists(query)),
                Operand::Literal(_) => Err(self.error("expected a comparison after a literal")),
            };
        };
        self.skip_blank();
        let right = self.comparable_or_query()?;
        Ok(Logical::Compare(
            self.comparable(left)?,
            op,
            self.comparable(right)?,
        ))
    }

    fn parenthesised(&mut self) -> Result<Logical, String> {
        self.expect('(')?;
        self.skip_blank();
        let inner = self.or()?;
        self.skip_blank();
        self.expect(')')?;
        Ok(inner)
    }

    fn op(&mut self) -> Option<Op> {
        // Two-character operators first, so `<=` is not read as `<`.
        let ops = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        ops.into_iter()
            .find(|(text, _)| self.eat(text))
            .map(|(_, op)| op)
    }

    fn comparable(&self, operand: Operand) -> Result<Comparable, String> {
        match operand {
            Operand::Literal(value) => Ok(Comparable::Literal(value)),
            Operand::Query(query) if query.segments.iter().all(Segment::is_singular) => {
                Ok(Comparable::Singular(query))
            }
            Operand::Query(_) => Err(self.error(
                "a query compared with == < > etc. must select at most one node (names and indexes only)",
            )),
        }
    }

    fn comparable_or_query(&mut self) -> Result<Operand, String> {
        match self.peek() {
            Some('@' | '$') => Ok(Operand::Query(self.filter_query()?)),
            Some('\'' | '"') => Ok(Operand::Literal(Value::String(self.string()?))),
            Some('-' | '0'..='9') => Ok(Operand::Literal(self.number()?)),
            Some(c) if c.is_ascii_lowercase() => self.word(),
            _ => Err(self.error("expected @, $, a literal or (")),
        }
    }

    fn filter_query(&mut self) -> Result<Query, String> {
        let start = match self.bump() {
            Some('@') => Start::Current,
            Some('$') => Start::Root,
            _ => return Err(self.error("expected @ or $")),
        };
        Ok(Query {
            start,
            segments: self.segments()?,
        })
    }

    /// `true`, `false`, `null`, or the name of a function, which this subset does not have.
    fn word(&mut self) -> Result<Operand, String> {
        let start = self.pos;
        while matches!(self.peek(), Some('a'..='z' | '0'..='9' | '_')) {
            self.pos += 1;
        }
        let word = &self.text[start..self.pos];
        match word {
            "true" => Ok(Operand::Literal(Value::Bool(true))),
            "false" => Ok(Operand::Literal(Value::Bool(false))),
            "null" => Ok(Operand::Literal(Value::Null)),
            _ if self.peek() == Some('(') => {
                self.pos = start;
                Err(self.error(&format!(
                    "function {word}() is not supported: use comparisons and existence tests"
                )))
            }
            _ => {
                self.pos = start;
                Err(self.error("expected @, $, a literal or ("))
            }
        }
    }

    /// `(int / "-0") [frac] [exp]`, as a JSON number.
    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        if !self.eat("-0") {
            self.int()?;
        }
        let mut integer = true;
        if self.eat(".") {
            integer = false;
            self.digits()?;
        }
        if self.eat("e") || self.eat("E") {
            integer = false;
            if !self.eat("-") {
                self.eat("+");
            }
            self.digits()?;
        }
        let text = &self.text[start..self.pos];
        let number = if integer {
            text.parse::<i64>().ok().map(Number::from)
        } else {
            text.parse::<f64>().ok().and_then(Number::from_f64)
        };
        number
            .map(Value::Number)
            .ok_or_else(|| self.error("the number is out of range"))
    }

    fn digits(&mut self) -> Result<(), String> {
        if !matches!(self.peek(), Some('0'..='9')) {
            return Err(self.error("expected a digit"));
        }
        while matches!(self.peek(), Some('0'..='9')) {
            self.pos += 1;
        }
        Ok(())
    }
}

/// A side of a comparison before it is known whether a comparison follows.
enum Operand {
    Literal(Value),
    Query(Query),
}
