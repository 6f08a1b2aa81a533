//! Confining a `prometheus` check's query to its checklist's namespace (operator flag
//! `--prometheus-namespace-label`): every vector selector gets `LABEL="<namespace>"` in place of
//! any matcher on LABEL the tenant wrote, as prom-label-proxy does.
//!
//! Why: the operator queries a Prometheus the tenant may not be allowed to read, and a check's
//! message quotes the answer, so without this a checklist could read any namespace's series.
//! The query is parsed, rewritten and printed back; one that does not parse is never sent.

use std::{
    collections::HashMap,
    fmt,
    str::FromStr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use promql_parser::{
    label::{MatchOp, Matcher, Matchers},
    parser::{self, Expr, VectorSelector},
};

/// The longest query (placeholders filled in) that is confined, in bytes: twice the CRD's bound
/// on the query, room for the placeholders. Parsing some shapes costs time quadratic in the
/// length (a 4 KiB chain of `-` takes tens of milliseconds), so the bound is what keeps it small.
pub const MAX_QUERY_BYTES: usize = 8192;

/// The stack of the thread that parses: the parser, the printer and the tree's drop recurse once
/// per nesting level, and 8 KiB of `-` nests 8192 deep, which overflows a runtime worker's 2 MiB
/// (measured: a release build needs more than 2 MiB, a test build more than 1 and at most 4).
/// Only the pages used are ever touched.
const PARSER_STACK_BYTES: usize = 32 << 20;

/// How many parser threads run at once, across all checklists: a query costs at most tens of
/// milliseconds of CPU, and many namespaces' distinct queries must queue, not each take a core
/// and a thread (with its stack) at once.
const PARSERS_AT_ONCE: usize = 2;

/// The permits of the parser threads.
static PARSERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(PARSERS_AT_ONCE);

/// How many confined queries one engine remembers (a checklist has at most 32 checks).
const REMEMBERED: usize = 64;

/// The longest parser error quoted in a check's message, in characters.
const ERROR_SHOWN_CHARS: usize = 256;

/// A Prometheus label name that says which namespace a series belongs to, e.g. `namespace`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamespaceLabel(String);

impl FromStr for NamespaceLabel {
    type Err = String;

    /// Accepts a classic label name (`[a-zA-Z_][a-zA-Z0-9_]*`, at most 128 characters) that is
    /// not reserved (`__name__` and the other `__` labels would confine nothing).
    fn from_str(text: &str) -> Result<Self, String> {
        let mut chars = text.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !first_ok || !rest_ok || text.len() > 128 {
            return Err(format!(
                "{:?} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, at most 128 characters)",
                crate::text::line(text, 64)
            ));
        }
        if text.starts_with("__") {
            return Err(format!(
                "{text} is reserved by Prometheus: name the label that holds a series' namespace"
            ));
        }
        Ok(Self(text.to_string()))
    }
}

impl fmt::Display for NamespaceLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `query` with every vector selector confined to `namespace` through `label`, as text to send,
/// or why it cannot be confined (then it must not be sent). Parses on the calling thread: see
/// [`Scope::confine`] for the way the engine calls it.
pub fn confine(query: &str, label: &NamespaceLabel, namespace: &str) -> Result<String, String> {
    // LABEL="" selects the series without the label: node and cluster series of every tenant.
    if namespace.is_empty() {
        return Err("no namespace to confine prometheus.query to".into());
    }
    if query.len() > MAX_QUERY_BYTES {
        return Err(format!(
            "prometheus.query is {} bytes with its placeholders filled in; this operator confines \
             queries to their namespace and reads at most {MAX_QUERY_BYTES}",
            query.len()
        ));
    }
    let mut expr = parser::parse(query).map_err(|error| {
        format!(
            "prometheus.query is not PromQL this operator can read ({}); it confines every query \
             to the checklist's namespace and sends none it cannot read",
            crate::text::line(&error, ERROR_SHOWN_CHARS)
        )
    })?;
    confine_expr(&mut expr, label, namespace)?;
    Ok(expr.to_string())
}

/// Confines every selector below `expr`. A loop over a stack of its own, not recursion: the tree
/// can be thousands of levels deep.
fn confine_expr(expr: &mut Expr, label: &NamespaceLabel, namespace: &str) -> Result<(), String> {
    let mut pending = vec![expr];
    while let Some(expr) = pending.pop() {
        // No wildcard arm: a new kind of expression in a later parser must be placed here
        // before the operator builds, rather than pass through unconfined.
        match expr {
            Expr::VectorSelector(selector) => confine_selector(selector, label, namespace),
            Expr::MatrixSelector(matrix) => confine_selector(&mut matrix.vs, label, namespace),
            Expr::Aggregate(aggregate) => {
                pending.push(&mut aggregate.expr);
                // topk(scalar(x), ...) reads x too: the parameter is a query of its own.
                if let Some(param) = &mut aggregate.param {
                    pending.push(param);
                }
            }
            Expr::Binary(binary) => {
                pending.push(&mut binary.lhs);
                pending.push(&mut binary.rhs);
            }
            Expr::Unary(unary) => pending.push(&mut unary.expr),
            Expr::Paren(paren) => pending.push(&mut paren.expr),
            Expr::Subquery(subquery) => pending.push(&mut subquery.expr),
            Expr::Call(call) => pending.extend(call.args.args.iter_mut().map(Box::as_mut)),
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
            Expr::Extension(_) => {
                return Err("prometheus.query holds an expression this operator cannot confine to the checklist's namespace".into());
            }
        }
    }
    Ok(())
}

/// Drops every matcher on `label` and adds `label="namespace"` to the selector, in each `or`
/// group when it has them (a group without it would select any namespace).
fn confine_selector(selector: &mut VectorSelector, label: &NamespaceLabel, namespace: &str) {
    let Matchers {
        matchers,
        or_matchers,
    } = &mut selector.matchers;
    let confined = || Matcher::new(MatchOp::Equal, &label.0, namespace);
    matchers.retain(|m| m.name != label.0);
    if or_matchers.is_empty() {
        matchers.push(confined());
        return;
    }
    // Printed, the plain matchers beside `or` groups would be lost: each group takes them.
    let shared = std::mem::take(matchers);
    for group in or_matchers.iter_mut() {
        group.retain(|m| m.name != label.0);
        group.extend(shared.iter().cloned());
        group.push(confined());
    }
}

/// Confines an engine's queries through one label, parsing each query once: the engine asks
/// every round, and the answer cannot change while its query and namespace stay the same.
#[derive(Debug, Clone)]
pub struct Scope {
    label: NamespaceLabel,
    remembered: Arc<Mutex<Answers>>,
}

/// Confined queries (or why not) by namespace and query.
type Answers = HashMap<(String, String), Result<String, String>>;

impl Scope {
    /// A scope confining through `label`, remembering nothing yet.
    pub fn new(label: NamespaceLabel) -> Self {
        Self {
            label,
            remembered: Arc::default(),
        }
    }

    /// [`confine`] on a thread of its own, with a stack deep enough for any query of
    /// [`MAX_QUERY_BYTES`]; also off the runtime's workers, since parsing can take milliseconds.
    /// At most [`PARSERS_AT_ONCE`] such threads run at once; the others wait their turn.
    pub async fn confine(&self, query: &str, namespace: &str) -> Result<String, String> {
        let key = (namespace.to_string(), query.to_string());
        if let Some(answer) = self.remembered().get(&key) {
            return answer.clone();
        }
        // The semaphore is never closed, so acquiring fails only if that changes.
        let permit = PARSERS
            .acquire()
            .await
            .map_err(|e| format!("cannot confine the query to its namespace: {e}"))?;
        let (send, answer) = futures::channel::oneshot::channel();
        let (label, job) = (self.label.clone(), key.clone());
        std::thread::Builder::new()
            .name("promql-scope".into())
            .stack_size(PARSER_STACK_BYTES)
            .spawn(move || {
                // Held until the parse is done, even when the check stopped waiting for it.
                let _permit = permit;
                // The receiver is gone only when the check was stopped meanwhile.
                let _ = send.send(confine(&job.1, &label, &job.0));
            })
            .map_err(|e| format!("cannot start confining the query to its namespace: {e}"))?;
        // A panic in the parser drops the sender: the check fails, the operator goes on.
        let answer = answer.await.unwrap_or_else(|_| {
            Err("confining the query to its namespace failed: the PromQL parser stopped".into())
        });
        let mut remembered = self.remembered();
        if remembered.len() >= REMEMBERED {
            remembered.clear();
        }
        remembered.insert(key, answer.clone());
        answer
    }

    fn remembered(&self) -> MutexGuard<'_, Answers> {
        self.remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn namespace() -> NamespaceLabel {
        "namespace".parse().unwrap()
    }

    fn confined(query: &str) -> String {
        confine(query, &namespace(), "team-a").unwrap()
    }

    #[test]
    fn every_selector_in_every_position_is_confined() {
        let query = concat!(
            r#"sum by (job) (rate(a[5m] offset 1h)) / on (job) group_left () topk(scalar(b), c)"#,
            r#" + max_over_time(deriv(d[10m])[1h:1m]) - -(e) or absent(f{g="h"} @ start())"#,
            r#" + quantile(0.9, {__name__=~".+"}) + label_replace(i, "x", "$1", "y", "(.*)")"#,
        );
        assert_eq!(
            confined(query),
            concat!(
                r#"sum by (job) (rate(a{namespace="team-a"}[5m] offset 1h)) / on (job) group_left () "#,
                r#"topk(scalar(b{namespace="team-a"}), c{namespace="team-a"})"#,
                r#" + max_over_time(deriv(d{namespace="team-a"}[10m])[1h:1m]) - -(e{namespace="team-a"})"#,
                r#" or absent(f{g="h",namespace="team-a"} @ start())"#,
                r#" + quantile(0.9, {__name__=~".+",namespace="team-a"})"#,
                r#" + label_replace(i{namespace="team-a"}, "x", "$1", "y", "(.*)")"#,
            )
        );
    }

    #[test]
    fn the_tenants_own_matchers_on_the_label_are_replaced() {
        assert_eq!(
            confined(r#"up{namespace=~".*"}"#),
            r#"up{namespace="team-a"}"#
        );
        assert_eq!(
            confined(r#"up{job="web",namespace="other"} + up{namespace!="team-a"}"#),
            r#"up{job="web",namespace="team-a"} + up{namespace="team-a"}"#
        );
        assert_eq!(
            confined(r#"{__name__=~".+"}"#),
            r#"{__name__=~".+",namespace="team-a"}"#
        );
        assert_eq!(
            confined(r#"{"namespace"="other", "up"}"#),
            r#"{__name__="up",namespace="team-a"}"#
        );
    }

    #[test]
    fn each_or_group_is_confined() {
        assert_eq!(
            confined(r#"up{job="a" or namespace="other" or job="b", namespace=~"o.*"}"#),
            r#"up{job="a", namespace="team-a" or namespace="team-a" or job="b", namespace="team-a"}"#
        );
    }

    #[test]
    fn the_seed_queries_come_back_as_written_with_the_namespace() {
        // examples/rachel-web.yaml's error-rate gate, its placeholders filled in.
        let seed = concat!(
            r#"(sum(rate(http_requests_total{namespace="team-a",revision="5f3c2a",status=~"5.."}[5m])) or vector(0))"#,
            r#" / sum(rate(http_requests_total{namespace="team-a",revision="5f3c2a"}[5m]))"#,
        );
        assert_eq!(confined(seed), seed);
        // The README's, without a namespace of its own: it gets one.
        assert_eq!(
            confined(concat!(
                r#"(sum(rate(http_requests_total{status=~"5..",revision="5f3c2a"}[5m])) or vector(0))"#,
                r#" / sum(rate(http_requests_total{revision="5f3c2a"}[5m]))"#,
            )),
            seed
        );
        let latency = r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="team-a"}[5m]))) > bool 0.25"#;
        assert_eq!(confined(latency), latency);
    }

    #[test]
    fn a_query_that_does_not_parse_or_is_too_long_is_refused() {
        let unclosed = confine("sum(rate(x[5m])", &namespace(), "team-a").unwrap_err();
        assert!(unclosed.contains("unclosed left parenthesis"), "{unclosed}");
        assert!(unclosed.contains("sends none it cannot read"), "{unclosed}");
        let hostile = format!("x{{a=\"\u{1b}]52;c;{}", "A".repeat(5000));
        let error = confine(&hostile, &namespace(), "team-a").unwrap_err();
        assert!(crate::text::is_clean(&error), "{error:?}");
        assert!(error.chars().count() < 500, "{}", error.len());
        assert!(confine("up", &namespace(), "").is_err());
        let long = format!("{}x", "-".repeat(MAX_QUERY_BYTES));
        assert!(
            confine(&long, &namespace(), "team-a")
                .unwrap_err()
                .contains("at most 8192")
        );
    }

    #[test]
    fn only_a_label_name_that_can_confine_is_accepted() {
        assert_eq!(namespace().to_string(), "namespace");
        assert!("kubernetes_namespace".parse::<NamespaceLabel>().is_ok());
        for bad in ["", "1ns", "name-space", "k8s.namespace", "__name__"] {
            assert!(bad.parse::<NamespaceLabel>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_query_nested_as_deep_as_its_length_allows_is_confined_off_the_callers_stack() {
        let scope = Scope::new(namespace());
        let deep = format!("{}x", "-".repeat(MAX_QUERY_BYTES - 1));
        let answer = futures::executor::block_on(scope.confine(&deep, "team-a")).unwrap();
        assert!(answer.ends_with(r#"-x{namespace="team-a"}"#));
        let nested = format!("{}x{}", "(".repeat(4000), ")".repeat(4000));
        assert!(futures::executor::block_on(scope.confine(&nested, "team-a")).is_ok());
        assert_eq!(scope.remembered().len(), 2);
    }

    #[test]
    fn many_queries_at_once_wait_for_a_parser_and_all_get_their_answer() {
        let scope = Scope::new(namespace());
        let queries: Vec<String> = (0..24)
            .map(|i| format!("{}up{i}", "-".repeat(2000)))
            .collect();
        let answers = futures::executor::block_on(futures::future::join_all(
            queries.iter().map(|q| scope.confine(q, "team-a")),
        ));
        for (i, answer) in answers.iter().enumerate() {
            let answer = answer.as_ref().unwrap();
            assert!(answer.ends_with(&format!(r#"up{i}{{namespace="team-a"}}"#)));
        }
    }
}
