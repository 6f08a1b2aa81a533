//! The evaluator against RFC 9535's examples, its caps against hostile keys and bodies, and, as
//! a property, against serde_json_path (a full RFC 9535 implementation) on random small queries.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

/// [`super::select`] never cancelled, as most of these tests want it.
fn select<'v>(body: &'v Value, query: &str) -> Result<Vec<&'v Value>, QueryError> {
    super::select(body, query, &AtomicBool::new(false))
}

fn texts(body: &Value, query: &str) -> Vec<String> {
    select(body, query)
        .unwrap_or_else(|e| panic!("{query}: {e:?}"))
        .into_iter()
        .map(Value::to_string)
        .collect()
}

fn store() -> Value {
    json!({"store": {
        "book": [
            {"category": "reference", "author": "Rees", "price": 8.95},
            {"category": "fiction", "author": "Waugh", "price": 12.99},
            {"category": "fiction", "author": "Melville", "price": 8.99, "isbn": "0-553"},
            {"category": "fiction", "author": "Tolkien", "price": 22.99, "isbn": "0-395"}
        ],
        "bicycle": {"color": "red", "price": 399}
    }})
}

#[test]
fn names_wildcards_and_indexes_select_as_the_rfc_says() {
    let body = store();
    assert_eq!(texts(&body, "$.store.bicycle.color"), [r#""red""#]);
    assert_eq!(texts(&body, "$['store']['bicycle'][\"price\"]"), ["399"]);
    assert_eq!(
        texts(&body, "$.store.book[*].author"),
        [r#""Rees""#, r#""Waugh""#, r#""Melville""#, r#""Tolkien""#]
    );
    assert_eq!(texts(&body, "$.store.book[-1].author"), [r#""Tolkien""#]);
    assert_eq!(
        texts(&body, "$.store.book[0, 2].author"),
        [r#""Rees""#, r#""Melville""#]
    );
    assert!(texts(&body, "$.store.book[4]").is_empty());
    assert!(texts(&body, "$.store.bicycle[0]").is_empty());
    assert!(texts(&body, "$.store.book.author").is_empty());
    assert_eq!(texts(&body, "$"), [body.to_string()]);
}

#[test]
fn slices_follow_the_rfc_with_either_step_sign() {
    let body = json!(["a", "b", "c", "d", "e", "f", "g"]);
    assert_eq!(texts(&body, "$[1:3]"), [r#""b""#, r#""c""#]);
    assert_eq!(texts(&body, "$[5:]"), [r#""f""#, r#""g""#]);
    assert_eq!(texts(&body, "$[1:5:2]"), [r#""b""#, r#""d""#]);
    assert_eq!(texts(&body, "$[5:1:-2]"), [r#""f""#, r#""d""#]);
    assert_eq!(texts(&body, "$[::-1]").concat(), r#""g""f""e""d""c""b""a""#);
    assert_eq!(texts(&body, "$[-2:]"), [r#""f""#, r#""g""#]);
    assert!(texts(&body, "$[::0]").is_empty());
    assert!(texts(&body, "$[9007199254740991:]").is_empty());
}

#[test]
fn descendants_come_in_document_order() {
    let body = json!({"a": {"status": 1, "b": [{"status": 2}, {"status": 3}]}, "status": 0});
    assert_eq!(texts(&body, "$..status"), ["0", "1", "2", "3"]);
    assert_eq!(texts(&body, "$.a..[0].status"), ["2"]);
    assert_eq!(texts(&body, "$..b..status"), ["2", "3"]);
}

#[test]
fn filters_compare_test_and_combine() {
    let body = store();
    let authors = |query: &str| texts(&body, query);
    assert_eq!(
        authors("$.store.book[?@.price < 10].author"),
        [r#""Rees""#, r#""Melville""#]
    );
    assert_eq!(
        authors("$.store.book[?@.isbn].author"),
        [r#""Melville""#, r#""Tolkien""#]
    );
    assert_eq!(
        authors("$.store.book[?!@.isbn].author"),
        [r#""Rees""#, r#""Waugh""#]
    );
    assert_eq!(
        authors(
            "$.store.book[?@.category == 'fiction' && (@.price > 20 || @.author == \"Waugh\")].author"
        ),
        [r#""Waugh""#, r#""Tolkien""#]
    );
    assert_eq!(
        authors("$.store.book[?@.price == $.store.book[0].price].author"),
        [r#""Rees""#]
    );
    assert_eq!(
        authors("$..book[?@.nothing == @.missing].author").len(),
        4,
        "nothing equals nothing"
    );
}

#[test]
fn numbers_compare_by_value_and_strings_by_characters() {
    let body = json!([{"n": 1}, {"n": 1.0}, {"n": 2}, {"n": "1"}, {"n": "b"}, {"n": [1]}]);
    assert_eq!(texts(&body, "$[?@.n == 1].n"), ["1", "1.0"]);
    assert_eq!(texts(&body, "$[?@.n >= 1.5].n"), ["2"]);
    assert_eq!(texts(&body, "$[?@.n > 'a'].n"), [r#""b""#]);
    assert!(
        matches!(select(&body, "$[?@.n == [1]]"), Err(QueryError::Invalid(_))),
        "no array literals"
    );
}

/// RFC 9535's table 11: an empty node list equals another, so `<=` and `>=` hold between two
/// missing values too, and `<` and `>` are false for anything but two numbers or two strings.
/// (serde_json_path says otherwise for these two cases, `false > true` among them, which is why
/// the comparison with it below leaves `<=`, `>` and `>=` out.)
#[test]
fn missing_values_compare_as_the_rfc_table_says() {
    let body = json!([{"a": 1}]);
    assert_eq!(texts(&body, "$[?@.absent1 == @.absent2]").len(), 1);
    assert_eq!(texts(&body, "$[?@.absent1 <= @.absent2]").len(), 1);
    assert_eq!(texts(&body, "$[?@.absent1 >= @.absent2]").len(), 1);
    assert_eq!(texts(&body, "$[?@.absent1 < @.absent2]").len(), 0);
    assert_eq!(texts(&body, "$[?@.a <= @.absent]").len(), 0);
    let flags = json!([{"a": false}, {"a": true}]);
    assert_eq!(texts(&flags, "$[?@.a > true]").len(), 0);
    assert_eq!(texts(&flags, "$[?@.a < true]").len(), 0);
}

#[test]
fn what_the_subset_leaves_out_is_refused_with_a_reason() {
    let refused = [
        ("$[?length(@) > 1]", "function length() is not supported"),
        (
            "$[?match(@.a, '(a+)+$')]",
            "function match() is not supported",
        ),
        ("$[?@.* == 1]", "must select at most one node"),
        ("$.a ", "expected a segment"),
        ("$['a\\x']", "unknown escape"),
        ("$[01]", "must not start with 0"),
        ("$[9007199254740992]", "out of range"),
        ("$.", "expected a member name"),
        ("$[?@.a == 'x'", "expected , or ]"),
        ("a", "expected $"),
    ];
    for (query, reason) in refused {
        match select(&json!({}), query) {
            Err(QueryError::Invalid(message)) => {
                assert!(message.contains(reason), "{query}: {message}")
            }
            other => panic!("{query}: {other:?}"),
        }
    }
}

/// A list of `width` lists, each of `width` lists, `depth` levels down: `width^depth` leaves.
fn tree(width: usize, depth: usize) -> Value {
    if depth == 0 {
        return json!(0);
    }
    Value::Array(vec![tree(width, depth - 1); width])
}

fn quickly<T>(what: &str, run: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = run();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "{what} took {took:?}");
    out
}

#[test]
fn the_descendant_chain_is_refused_before_any_work() {
    let body = tree(3, 4);
    let found = quickly("$..*..*..*..*..*", || select(&body, "$..*..*..*..*..*"));
    assert_eq!(found, Err(QueryError::TooManyDescendants(5)));
    let nested = quickly("nested", || select(&body, "$[?@[?@..*]]..*..*"));
    assert_eq!(nested, Err(QueryError::TooManyDescendants(3)));
}

#[test]
fn two_descendant_wildcards_on_a_wide_body_stop_at_a_cap() {
    // 4^6 = 4096 leaves and 5461 nodes: every node is listed once per ancestor.
    let body = tree(4, 6);
    let found = quickly("$..*..*", || select(&body, "$..*..*"));
    assert_eq!(found, Err(QueryError::Exceeded(Exceeded::Nodes)));
}

#[test]
fn work_that_selects_little_still_stops_at_the_step_budget() {
    // Every element is compared with every other through a root query in the filter: quadratic
    // work, almost no matches.
    let body = Value::Array((0..5000).map(|i| json!({"v": i})).collect());
    let query = "$[?$[?@.v == -1] || @.v == 4999]";
    let found = quickly(query, || select(&body, query));
    assert_eq!(found, Err(QueryError::Exceeded(Exceeded::Steps)));
}

#[test]
fn repeated_selectors_cannot_multiply_a_big_list_past_the_cap() {
    let body = Value::Array(vec![json!(1); 3000]);
    let found = quickly("$[*,*,*,*]", || select(&body, "$[*,*,*,*]"));
    assert_eq!(found, Err(QueryError::Exceeded(Exceeded::Nodes)));
}

#[test]
fn deep_equality_is_charged_per_node() {
    let big = tree(4, 7); // 21845 nodes
    let body = json!({"a": big.clone(), "b": big, "xs": vec![0; 100]});
    let query = "$.xs[?$.a == $.b]";
    let found = quickly(query, || select(&body, query));
    assert_eq!(found, Err(QueryError::Exceeded(Exceeded::Steps)));
}

#[test]
fn comparing_long_strings_is_charged_by_their_length() {
    // 3,000 comparisons of a 60 KB string with itself read 180 MB uncharged; charged, the
    // budget stops them after a few hundred.
    let long = "x".repeat(60_000);
    let body = json!({"a": long, "b": long, "xs": vec![0; 3000]});
    for query in [
        "$.xs[?$.a == $.b]",
        "$.xs[?$.a != $.b]",
        "$.xs[?$.a <= $.b]",
        "$.xs[?$.a > $.b]",
    ] {
        let found = quickly(query, || select(&body, query));
        assert_eq!(found, Err(QueryError::Exceeded(Exceeded::Steps)), "{query}");
    }
    // Long keys cost their length too when objects are compared deeply.
    let keyed = json!({"o": {long.clone(): 1}, "p": {long: 1}, "xs": vec![0; 3000]});
    let found = quickly("keys", || select(&keyed, "$.xs[?$.o == $.p]"));
    assert_eq!(found, Err(QueryError::Exceeded(Exceeded::Steps)));
    // Short strings cost what they did: one step per pair.
    let short = json!({"a": "ok", "xs": vec!["ok"; 3000]});
    assert_eq!(select(&short, "$.xs[?@ == $.a]").unwrap().len(), 3000);
}

#[test]
fn a_cancelled_evaluation_returns_promptly() {
    // Quadratic: 25 million inner steps, many seconds without the step budget, which this
    // evaluator is given no limit of; only the cancel flag stops it.
    let body = Value::Array((0..5000).map(|i| json!({"v": i})).collect());
    let query = parse::parse("$[?$[?@.v == -1] || @.v == 4999]")
        .unwrap()
        .query;
    let cancel = Arc::new(AtomicBool::new(false));
    let setter = {
        let cancel = Arc::clone(&cancel);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            cancel.store(true, Ordering::Relaxed);
            Instant::now()
        })
    };
    let found = eval::Evaluator::new(&body, MAX_NODES, u64::MAX, &cancel).query(&query, &body);
    let stopped = Instant::now();
    let cancelled = setter.join().unwrap();
    assert_eq!(found, Err(Exceeded::Cancelled));
    let late = stopped.saturating_duration_since(cancelled);
    println!("the evaluation stopped {late:?} after it was cancelled");
    assert!(
        late < Duration::from_millis(50),
        "stopped {late:?} after the flag"
    );
    // Already cancelled: no work at all.
    let done = AtomicBool::new(true);
    assert_eq!(
        super::select(&body, "$[0]", &done),
        Err(QueryError::Exceeded(Exceeded::Cancelled))
    );
}

/// Small JSON values over few names, so random queries often select something.
pub(crate) fn small_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(|n| json!(n)),
        prop_oneof![Just("a"), Just("b"), Just("x")].prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("a".to_string()),
                    Just("b".to_string()),
                    Just("c".to_string())
                ],
                inner,
                0..3
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn selector_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop_oneof![Just("'a'"), Just("\"b\""), Just("'c'")].prop_map(str::to_string),
        Just("*".to_string()),
        (-3i64..4).prop_map(|i| i.to_string()),
        (
            prop::option::of(-3i64..4),
            prop::option::of(-3i64..4),
            prop::option::of(-2i64..3)
        )
            .prop_map(|(a, b, c)| {
                let show = |x: Option<i64>| x.map(|n| n.to_string()).unwrap_or_default();
                format!("{}:{}:{}", show(a), show(b), show(c))
            }),
        (
            prop_oneof![Just("@.a"), Just("@[0]"), Just("$.b"), Just("@")],
            prop_oneof![Just("=="), Just("!="), Just("<"), Just("")],
            prop_oneof![
                Just("1"),
                Just("'a'"),
                Just("true"),
                Just("null"),
                Just("@.b")
            ]
        )
            .prop_map(|(left, op, right)| match op {
                "" => format!("?{left}"),
                op => format!("?{left} {op} {right}"),
            }),
    ]
}

pub(crate) fn query_text() -> impl Strategy<Value = String> {
    let segment = (
        any::<bool>(),
        prop::collection::vec(selector_text(), 1..3),
        prop_oneof![Just(None), Just(Some(".a")), Just(Some(".*"))],
    )
        .prop_map(|(descendant, selectors, short)| {
            let dots = if descendant { ".." } else { "" };
            match (short, descendant) {
                (Some(short), true) => format!("..{}", &short[1..]),
                (Some(short), false) => short.to_string(),
                (None, _) => format!("{dots}[{}]", selectors.join(", ")),
            }
        });
    prop::collection::vec(segment, 0..4).prop_map(|segments| format!("${}", segments.concat()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Within the caps, the answer is RFC 9535's, as serde_json_path gives it.
    #[test]
    fn agrees_with_serde_json_path(body in small_json(), query in query_text()) {
        let expected = serde_json_path::JsonPath::parse(&query)
            .map(|path| path.query(&body).all());
        match (select(&body, &query), expected) {
            (Ok(ours), Ok(theirs)) => prop_assert_eq!(ours, theirs, "{}", query),
            (Err(QueryError::Invalid(reason)), Ok(_)) => {
                prop_assert!(false, "{} refused: {}", query, reason)
            }
            (Ok(_), Err(e)) => prop_assert!(false, "{} accepted, theirs: {}", query, e),
            (Err(_), _) => {}
        }
    }

    /// Any text at all: an answer or a reason, never a panic, always within the node cap.
    #[test]
    fn any_text_is_answered_or_refused(query in "\\$[-$@?.*,:()\\[\\]'\"!=<>&| a-c0-9\\\\]{0,40}") {
        let body = json!({"a": [1, {"b": "c"}], "b": {"a": null}});
        if let Ok(found) = select(&body, &query) {
            prop_assert!(found.len() <= MAX_NODES);
        }
    }
}
