//! The parsed form of a JSONPath query: the RFC 9535 subset `expectJSON` keys may use.

use serde_json::Value;

/// A query: segments applied in order, from the root (`$`) or, inside a filter, from the
/// current node (`@`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    /// Where the query starts.
    pub(crate) start: Start,
    /// The segments, applied left to right.
    pub(crate) segments: Vec<Segment>,
}

/// The node a query starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// `$`: the document's root.
    Root,
    /// `@`: the node a filter is looking at.
    Current,
}

/// One segment: its selectors applied to each input node (child segment) or to each input node
/// and all of its descendants (descendant segment, `..`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment {
    /// Whether this is a descendant segment (`..`).
    pub(crate) descendant: bool,
    /// The selectors, applied in order; their results are concatenated.
    pub(crate) selectors: Vec<Selector>,
}

/// One selector of a segment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selector {
    /// `.name` or `['name']`: the member of that name of an object.
    Name(String),
    /// `*`: every member value of an object or every element of an array.
    Wildcard,
    /// `[3]`, `[-1]`: one element of an array, negative counting from the end.
    Index(i64),
    /// `[start:end:step]`: elements of an array.
    Slice {
        /// The first index, default by the step's sign.
        start: Option<i64>,
        /// The index the slice stops before, default by the step's sign.
        end: Option<i64>,
        /// The step, default 1.
        step: Option<i64>,
    },
    /// `[?expr]`: the children for which the expression is true.
    Filter(Box<Logical>),
}

/// A filter's logical expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Logical {
    /// `a || b || …`.
    Or(Vec<Logical>),
    /// `a && b && …`.
    And(Vec<Logical>),
    /// `!a`.
    Not(Box<Logical>),
    /// `@.a` or `$.a` alone: true when the query selects at least one node.
    Exists(Query),
    /// `left op right`.
    Compare(Comparable, Op, Comparable),
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Comparable {
    /// A literal: a string, a number, true, false or null.
    Literal(Value),
    /// A singular query (names and indexes only): at most one node, or nothing.
    Singular(Query),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl Segment {
    /// Whether the segment selects at most one node from one input: a child segment with a
    /// single name or index selector, as comparisons need.
    pub(crate) fn is_singular(&self) -> bool {
        !self.descendant
            && matches!(
                self.selectors.as_slice(),
                [Selector::Name(_) | Selector::Index(_)]
            )
    }
}
