//! JSONPath (RFC 9535) for `expectJSON` keys, evaluated within caps: a key is written by a
//! tenant and the body by their app, and both run inside the operator, so neither may cost it
//! more than a few milliseconds or a few hundred kilobytes.
//!
//! Why our own evaluator rather than serde_json_path: that one cannot be stopped half-way, and
//! `$..*..*..*..*..*` on a 254-byte body took it 49 s and 2 GB. Bounding it from the outside
//! would mean predicting the cost from the query's shape (the product of every segment's fan-out
//! bounded by the body's node count), which refuses reasonable keys such as `$..a..b` on any
//! large body while still trusting the estimate. Here every node looked at is charged as it is
//! looked at, so the caps hold by construction. The subset is what checks need: names,
//! wildcards, indexes, slices, descendants, and filters with comparisons, `&&`, `||`, `!` and
//! existence tests; function extensions (`length()`, `match()`, …) are refused by name, which
//! also keeps tenant regular expressions out of the evaluator.

mod ast;
mod eval;
mod filter;
mod parse;
#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use tests::{query_text, small_json};

use std::sync::atomic::AtomicBool;

use serde_json::Value;

pub(crate) use eval::Exceeded;

/// The most descendant (`..`) segments a query may have, filters included. One finds a name
/// anywhere (`$..status`) and two a name below another (`$..checks..status`); each more
/// multiplies the work by the body's size, and no check needs it.
pub(crate) const MAX_DESCENDANTS: usize = 2;

/// The most nodes a query may select, and the most any list between two segments may hold:
/// every match must then hold the expected value, and no body a health check reads has this
/// many values worth comparing. 10,000 references are 80 KB.
pub(crate) const MAX_NODES: usize = 10_000;

/// The most steps (nodes visited, selected or compared) one query may take. A 64 KiB body has
/// at most about 32,000 nodes, so this is six full walks of the largest body, more than
/// `$..checks..status` needs; a check's 32 keys at this cap took about a second in an
/// unoptimised build (1,000,000 steps took 100 to 230 ms there), far less in a release build.
pub(crate) const MAX_STEPS: u64 = 200_000;

/// Why a query could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueryError {
    /// The query is not in the supported grammar; the text says where and why.
    Invalid(String),
    /// It has more than [`MAX_DESCENDANTS`] descendant segments (the count found).
    TooManyDescendants(usize),
    /// Evaluating it ran into a cap.
    Exceeded(Exceeded),
}

/// The nodes `query` (starting with `$`) selects in `body`, in RFC 9535's order, or the cap it
/// ran into; setting `cancel` stops it within a step. The caller bounds the query's length,
/// which also bounds the parser's recursion.
pub(crate) fn select<'v>(
    body: &'v Value,
    query: &str,
    cancel: &AtomicBool,
) -> Result<Vec<&'v Value>, QueryError> {
    select_within(body, query, MAX_STEPS, cancel)
}

/// [`select`] within `max_steps` rather than [`MAX_STEPS`]; tests use it to see that a smaller
/// budget changes whether an answer comes, never which answer.
pub(crate) fn select_within<'v>(
    body: &'v Value,
    query: &str,
    max_steps: u64,
    cancel: &AtomicBool,
) -> Result<Vec<&'v Value>, QueryError> {
    let parsed = parse::parse(query).map_err(QueryError::Invalid)?;
    if parsed.descendants > MAX_DESCENDANTS {
        return Err(QueryError::TooManyDescendants(parsed.descendants));
    }
    eval::Evaluator::new(body, MAX_NODES, max_steps, cancel)
        .query(&parsed.query, body)
        .map_err(QueryError::Exceeded)
}
