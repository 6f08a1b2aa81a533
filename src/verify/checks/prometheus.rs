//! `prometheus` checks: the query as sent (placeholders filled in), Prometheus's answer read
//! within bounds, and the value judged against the condition. No client here: the engine sends.

use serde::Deserialize;

use crate::api::{EmptyResult, PrometheusCheck};

use super::Evaluation;

/// The most series of one answer that are judged; an answer with more fails the check, since a
/// query meant as a gate should aggregate (sum, max) to a few series.
pub const MAX_SERIES: usize = 1000;

/// How many failing series a message names.
const NAMED: usize = 3;

/// What the placeholders of a query stand for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders {
    /// {{revision}}: the revision being verified.
    pub revision: String,
    /// {{namespace}}: the checklist's namespace.
    pub namespace: String,
    /// {{name}}: the checklist's name.
    pub name: String,
}

/// The query with its placeholders replaced.
pub fn query(check: &PrometheusCheck, with: &Placeholders) -> String {
    check
        .query
        .replace("{{revision}}", &with.revision)
        .replace("{{namespace}}", &with.namespace)
        .replace("{{name}}", &with.name)
}

/// The range the value must be in, read from below/above.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    below: Option<f64>,
    above: Option<f64>,
}

impl Condition {
    /// The condition of `check`, or what is wrong with it.
    pub fn of(check: &PrometheusCheck) -> Result<Self, String> {
        let read = |field: &str, text: &Option<String>| -> Result<Option<f64>, String> {
            text.as_deref()
                .map(|t| {
                    t.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| format!("prometheus.{field} {t:?} is not a number"))
                })
                .transpose()
        };
        let condition = Self {
            below: read("below", &check.below)?,
            above: read("above", &check.above)?,
        };
        match (condition.above, condition.below) {
            (None, None) => Err("prometheus needs below, above or both".into()),
            (Some(above), Some(below)) if above >= below => Err(format!(
                "prometheus.above {above} is not below prometheus.below {below}: no value can pass"
            )),
            _ => Ok(condition),
        }
    }

    fn holds(&self, value: f64) -> bool {
        self.below.is_none_or(|b| value < b) && self.above.is_none_or(|a| value > a)
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.above, self.below) {
            (Some(above), Some(below)) => write!(f, "between {above} and {below}"),
            (Some(above), None) => write!(f, "above {above}"),
            (None, Some(below)) => write!(f, "below {below}"),
            (None, None) => write!(f, "any value"),
        }
    }
}

/// One series of an answer: its labels as PromQL writes them, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `{job="web",revision="abc"}`, or empty for a scalar or a series without labels.
    pub labels: String,
    /// The value.
    pub value: f64,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

/// Reads Prometheus's answer: the series of a vector or the value of a scalar, or why there is
/// none — Prometheus's own error for a refused query, in its words.
pub fn parse(status: u16, body: &[u8]) -> Result<Vec<Series>, String> {
    let answer: Answer = serde_json::from_slice(body).map_err(|_| {
        format!(
            "answered {status} without a Prometheus API response (is the address a Prometheus?)"
        )
    })?;
    if answer.status != "success" {
        let kind = answer.error_type.unwrap_or_else(|| "error".into());
        let error = answer.error.unwrap_or_default();
        return Err(format!(
            "Prometheus refused the query ({kind}): {}",
            cut(&error, 512)
        ));
    }
    let data = answer
        .data
        .ok_or_else(|| "Prometheus answered success without data".to_string())?;
    match data.result_type.as_str() {
        "scalar" => Ok(vec![Series {
            labels: String::new(),
            value: sample_value(&data.result)?,
        }]),
        "vector" => {
            let items = data.result.as_array().cloned().unwrap_or_default();
            if items.len() > MAX_SERIES {
                return Err(format!(
                    "the query returned {} series; a gate should aggregate to at most {MAX_SERIES} (sum, max, avg)",
                    items.len()
                ));
            }
            items
                .iter()
                .map(|item| {
                    Ok(Series {
                        labels: labels(&item["metric"]),
                        value: sample_value(&item["value"])?,
                    })
                })
                .collect()
        }
        "matrix" => Err(
            "the query returned a range vector; gate on an instant value, e.g. rate(x[5m]) instead of x[5m]"
                .into(),
        ),
        other => Err(format!("the query returned a {other}, not a number")),
    }
}

/// The value of a `[timestamp, "value"]` pair.
fn sample_value(pair: &serde_json::Value) -> Result<f64, String> {
    let text = pair[1]
        .as_str()
        .ok_or_else(|| "Prometheus answered a sample without a value".to_string())?;
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => text.parse().map_err(|_| {
            format!(
                "Prometheus answered a value that is not a number: {}",
                cut(text, 64)
            )
        }),
    }
}

/// `{a="1",b="2"}` from a metric's labels, sorted, at most 256 characters.
fn labels(metric: &serde_json::Value) -> String {
    let Some(map) = metric.as_object().filter(|m| !m.is_empty()) else {
        return String::new();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={:?}", v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    cut(&format!("{{{}}}", pairs.join(",")), 256)
}

/// The verdict on the series of an answer.
pub fn evaluate(check: &PrometheusCheck, condition: Condition, series: &[Series]) -> Evaluation {
    if series.is_empty() {
        return match check.empty_result {
            EmptyResult::Fail => Evaluation::fail(format!(
                "the query returned no series (no data), expected a value {condition}"
            )),
            EmptyResult::Pass => {
                Evaluation::pass("the query returned no series (emptyResult: Pass)")
            }
        };
    }
    let failing: Vec<&Series> = series
        .iter()
        .filter(|s| s.value.is_nan() || !condition.holds(s.value))
        .collect();
    let shown = |s: &Series| {
        let value = if s.value.is_nan() {
            "NaN (nothing to divide by: no traffic?)".to_string()
        } else {
            format_value(s.value)
        };
        if s.labels.is_empty() {
            value
        } else {
            format!("{} {value}", s.labels)
        }
    };
    if failing.is_empty() {
        return Evaluation::pass(match series {
            [only] => format!("{}, {condition}", shown(only)),
            _ => format!("{} series, all {condition}", series.len()),
        });
    }
    let named: Vec<String> = failing.iter().take(NAMED).map(|s| shown(s)).collect();
    let more = failing.len().saturating_sub(NAMED);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    match series {
        [_] => Evaluation::fail(format!("{}, expected {condition}", named.join(""))),
        _ => Evaluation::fail(format!(
            "{} of {} series not {condition}: {}{more}",
            failing.len(),
            series.len(),
            named.join("; ")
        )),
    }
}

/// A value as people read it: up to 6 significant digits, no trailing zeros.
fn format_value(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".into()
    } else {
        text.to_string()
    }
}

fn cut(text: &str, max: usize) -> String {
    crate::text::truncated(text.to_string(), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(below: Option<&str>, above: Option<&str>) -> PrometheusCheck {
        PrometheusCheck {
            address: None,
            query: r#"sum(rate(http_requests_total{status=~"5..",revision="{{revision}}"}[1m])) / sum(rate(http_requests_total{revision="{{revision}}",namespace="{{namespace}}"}[1m]))"#.into(),
            below: below.map(Into::into),
            above: above.map(Into::into),
            empty_result: EmptyResult::Fail,
            bearer_token_from: None,
            basic_auth_from: None,
        }
    }

    fn judge(check: &PrometheusCheck, status: u16, body: &str) -> Evaluation {
        let condition = Condition::of(check).unwrap();
        match parse(status, body.as_bytes()) {
            Ok(series) => evaluate(check, condition, &series),
            Err(message) => Evaluation::fail(message),
        }
    }

    #[test]
    fn placeholders_name_the_revision_namespace_and_checklist() {
        let with = Placeholders {
            revision: "abc123".into(),
            namespace: "prod".into(),
            name: "web".into(),
        };
        let sent = query(&check(Some("0.01"), None), &with);
        assert!(sent.contains(r#"revision="abc123""#), "{sent}");
        assert!(sent.contains(r#"namespace="prod""#), "{sent}");
        assert!(!sent.contains("{{"), "{sent}");
    }

    #[test]
    fn a_value_in_range_passes_and_one_out_of_range_fails_naming_both() {
        let one = |v: &str| {
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000.1,"{v}"]}}]}}}}"#
            )
        };
        let below = check(Some("0.01"), None);
        let pass = judge(&below, 200, &one("0.004"));
        assert!(pass.passed);
        assert_eq!(pass.message, "0.004, below 0.01");
        let fail = judge(&below, 200, &one("0.05"));
        assert!(!fail.passed);
        assert_eq!(fail.message, "0.05, expected below 0.01");
        let nan = judge(&below, 200, &one("NaN"));
        assert!(
            !nan.passed && nan.message.contains("NaN"),
            "{}",
            nan.message
        );
        let between = check(Some("1"), Some("0.5"));
        assert_eq!(
            judge(&between, 200, &one("0.7")).message,
            "0.7, between 0.5 and 1"
        );
        assert!(!judge(&between, 200, &one("0.2")).passed);
    }

    #[test]
    fn scalars_and_every_series_of_a_vector_are_judged() {
        let scalar =
            r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}"#;
        assert!(judge(&check(Some("5"), None), 200, scalar).passed);
        let vector = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"pod":"a"},"value":[1,"0.001"]},
            {"metric":{"pod":"b"},"value":[1,"0.2"]}]}}"#;
        let verdict = judge(&check(Some("0.01"), None), 200, vector);
        assert!(!verdict.passed);
        assert_eq!(
            verdict.message,
            r#"1 of 2 series not below 0.01: {pod="b"} 0.2"#
        );
    }

    #[test]
    fn no_data_an_error_or_a_non_prometheus_answer_never_pass() {
        let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        let verdict = judge(&check(Some("0.01"), None), 200, empty);
        assert!(!verdict.passed);
        assert_eq!(
            verdict.message,
            "the query returned no series (no data), expected a value below 0.01"
        );
        let mut lenient = check(Some("0.01"), None);
        lenient.empty_result = EmptyResult::Pass;
        assert!(judge(&lenient, 200, empty).passed);

        let refused = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected \"}\""}"#;
        let verdict = judge(&check(Some("0.01"), None), 400, refused);
        assert!(!verdict.passed);
        assert_eq!(
            verdict.message,
            r#"Prometheus refused the query (bad_data): invalid parameter "query": 1:5: parse error: unexpected "}""#
        );
        let html = judge(&check(Some("0.01"), None), 200, "<html>login</html>");
        assert!(!html.passed && html.message.contains("is the address a Prometheus"));
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(
            judge(&check(Some("1"), None), 200, matrix)
                .message
                .contains("range vector")
        );
    }

    #[test]
    fn a_condition_that_cannot_hold_is_refused() {
        assert!(Condition::of(&check(Some("0.5"), Some("0.7"))).is_err());
        assert!(Condition::of(&check(Some("x"), None)).is_err());
        assert!(Condition::of(&check(None, None)).is_err());
        assert_eq!(
            Condition::of(&check(Some("1e-3"), None))
                .unwrap()
                .to_string(),
            "below 0.001"
        );
    }

    #[test]
    fn too_many_series_fail_without_judging_them() {
        let items: Vec<String> = (0..=MAX_SERIES)
            .map(|i| format!(r#"{{"metric":{{"pod":"p{i}"}},"value":[1,"0"]}}"#))
            .collect();
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            items.join(",")
        );
        assert!(
            parse(200, body.as_bytes())
                .unwrap_err()
                .contains("1001 series")
        );
    }
}
