//! The parser of filter expressions (`?@.price < 10 && @.isbn`): RFC 9535's logical
//! expressions, comparisons between literals and singular queries, and existence tests.

use serde_json::{Number, Value};

use super::{
    ast::{Comparable, Logical, Op, Query, Segment, Start},
    parse::Parser,
};

impl Parser<'_> {
    /// `and *(S "||" S and)`.
    pub(super) fn or(&mut self) -> Result<Logical, String> {
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
