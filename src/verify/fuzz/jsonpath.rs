//! The JSONPath evaluator: any query on any body answers or refuses without a panic, within the
//! node cap and a second; a smaller step budget changes whether an answer comes, never which;
//! a cancelled evaluation gives no other answer than a finished one.

use std::sync::atomic::AtomicBool;

use proptest::{prelude::*, test_runner::TestCaseError};
use serde_json::{Value, json};

use super::{PER_INPUT, config, replay, timed};
use crate::verify::{
    jsonpath::{self, Exceeded, MAX_NODES, QueryError, query_text, small_json},
    proptests,
};

/// A budget small enough that many random queries run into it.
const SMALL_BUDGET: u64 = 1_000;

/// Every property of one query on one body, or the first that does not hold.
fn check(query: &str, body: &Value) -> Result<(), String> {
    let go = AtomicBool::new(false);
    let (full, took) = timed(|| jsonpath::select(body, query, &go));
    if took >= PER_INPUT {
        return Err(format!("{query} took {took:?}"));
    }
    if let Ok(found) = &full
        && found.len() > MAX_NODES
    {
        return Err(format!("{query} selected {} nodes", found.len()));
    }
    let small = jsonpath::select_within(body, query, SMALL_BUDGET, &go);
    let consistent = match (&small, &full) {
        // Running out of steps early says nothing about the full budget's answer.
        (Err(QueryError::Exceeded(Exceeded::Steps)), _) => true,
        (small, full) => small == full,
    };
    if !consistent {
        return Err(format!(
            "{query}: {SMALL_BUDGET} steps gave {small:?}, the full budget {full:?}"
        ));
    }
    let stop = AtomicBool::new(true);
    let cancelled = jsonpath::select(body, query, &stop);
    // A query needing no step (`$`) still answers; any other stops at its first step.
    if cancelled != Err(QueryError::Exceeded(Exceeded::Cancelled)) && cancelled != full {
        return Err(format!(
            "{query} cancelled gave {cancelled:?}, finished {full:?}"
        ));
    }
    Ok(())
}

/// A seed: the query on its first line, the body (JSON, or anything) after it.
fn check_seed(bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    let (query, body) = text.split_once('\n').unwrap_or((&text, ""));
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    check(query.trim_end_matches('\r'), &body)
}

/// Bodies: small ones random queries often match, the file reader's property bodies (deeper,
/// any text), and long equal strings for comparisons to read through.
fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        small_json(),
        proptests::body().prop_map(|b| serde_json::from_slice(&b).unwrap_or(Value::Null)),
        ("[ab]{1,2}", 1usize..30_000, 0usize..2_000).prop_map(|(s, times, n)| {
            let long = s.repeat(times);
            json!({"a": long, "b": long, "xs": vec![0; n]})
        }),
    ]
}

/// Queries: RFC 9535's grammar over few names, `expectJSON`-shaped keys, comparisons of the
/// long strings, and any text after a `$`.
fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        query_text(),
        proptests::key(),
        prop_oneof![
            Just("$.xs[?$.a == $.b]"),
            Just("$.xs[?$.xs[?$.a == $.b]]"),
            Just("$.xs[?$.a <= $.b || $.a > $.b]"),
            Just("$[?@ == $.a]"),
            Just("$..[?@ != $.b]"),
        ]
        .prop_map(str::to_string),
        "\\$\\PC{0,40}",
    ]
}

#[test]
fn jsonpath_replays_its_corpus() {
    replay("jsonpath", check_seed);
}

proptest! {
    #![proptest_config(config(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz/regressions/jsonpath.txt")))]

    #[test]
    fn jsonpath_answers_any_query_on_any_body_within_its_caps(query in query(), body in body()) {
        check(&query, &body).map_err(TestCaseError::fail)?;
    }
}
