//! `prometheus` checks: the query as sent (placeholders filled in), Prometheus's answer read
//! within bounds, and the value judged against the condition. The engine sends the query.

use serde::Deserialize;

use crate::{
    api::{EmptyResult, PrometheusCheck},
    text::line,
};

use super::Evaluation;
use super::kind::{Judged, Kind, Problem, Reach};
use super::lint::matches_url;
use crate::verify::{budget::Round, client::BODY_LIMIT};
use futures::future::BoxFuture;

impl Kind for PrometheusCheck {
    /// Runs the query (its placeholders filled in, confined when the operator says so) and
    /// judges the answer.
    fn judge<'a>(
        &'a self,
        _name: &'a str,
        reach: &'a dyn Reach,
        round: &'a Round,
    ) -> BoxFuture<'a, Judged> {
        Box::pin(async move {
            let condition = Condition::of(self).map_err(Problem::Spec)?;
            let query = reach.prometheus_query(self).await?;
            let request = reach.prometheus_request(self, &query)?;
            let response = reach.fetch(request, round).await?;
            let evaluation = if response.truncated {
                Evaluation::fail(format!(
                    "Prometheus's answer is larger than {} KiB: aggregate the query to fewer series",
                    BODY_LIMIT / 1024
                ))
            } else {
                match parse(response.status, &response.body) {
                    Ok(series) => evaluate(self, condition, &series),
                    Err(message) => Evaluation::fail(message),
                }
            };
            Ok((evaluation, 1, Some(response.status)))
        })
    }

    fn secret_sources(&self) -> Vec<&crate::api::HeaderSource> {
        self.credentials().into_iter().collect()
    }

    fn lint(&self, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.below.is_none() && self.above.is_none() {
            out.push(format!(
                "{path}.prometheus: prometheus needs a condition: below, above, or both for a range"
            ));
        }
        let number = |text: &Option<String>| text.as_deref().and_then(|t| t.parse::<f64>().ok());
        if let (Some(above), Some(below)) = (number(&self.above), number(&self.below))
            && above >= below
        {
            out.push(format!(
                "{path}.prometheus: prometheus.above must be less than prometheus.below: no value can pass otherwise"
            ));
        }
        if self.bearer_token_from.is_some() && self.basic_auth_from.is_some() {
            out.push(format!(
                "{path}.prometheus: prometheus takes bearerTokenFrom or basicAuthFrom, not both"
            ));
        }
        if let Some(address) = &self.address
            && !matches_url(address, "https?")
        {
            out.push(format!(
                "{path}.prometheus.address: {address:?}: must be an absolute http:// or https:// URL without query or fragment"
            ));
        }
        out
    }

    fn measures(&self) -> bool {
        true
    }
}

/// The most series of one answer that are judged; an answer with more fails the check, since a
/// query meant as a gate should aggregate (sum, max) to a few series.
pub const MAX_SERIES: usize = 1000;

/// How many failing series a message names.
const NAMED: usize = 3;

/// The longest Prometheus error a message quotes, in characters.
const ERROR_SHOWN: usize = 512;

/// The longest a series' labels are shown, all of them together, in characters.
const LABELS_SHOWN: usize = 256;

/// The longest a short word of the answer (an error type, a result type, a sample's text) is
/// shown, in characters.
const WORD_SHOWN: usize = 64;

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
/// none — Prometheus's own error for a refused query, in its words. Whatever the answer quotes
/// (errors, labels, samples) is the address's text, not ours: it is shown through
/// [`line`], bounded and with control and bidi characters made inert.
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
            "Prometheus refused the query ({}): {}",
            line(&kind, WORD_SHOWN),
            line(&error, ERROR_SHOWN)
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
            // Read as no series, a result that is not a list would pass a gate allowing an
            // empty result: an answer that says nothing must not count as "no data".
            let items = data.result.as_array().ok_or_else(|| {
                format!(
                    "Prometheus answered a vector whose result is {}, not a list of series",
                    kind_of(&data.result)
                )
            })?;
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
        other => Err(format!(
            "the query returned a {}, not a number",
            line(other, WORD_SHOWN)
        )),
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
                line(text, WORD_SHOWN)
            )
        }),
    }
}

/// `{a="1",b="2"}` from a metric's labels, sorted, at most [`LABELS_SHOWN`] characters.
fn labels(metric: &serde_json::Value) -> String {
    let Some(map) = metric.as_object().filter(|m| !m.is_empty()) else {
        return String::new();
    };
    // Each label is cut before it is written, so a megabyte of labels costs no more than the
    // few that can be shown.
    let mut pairs: Vec<String> = map
        .iter()
        .take(LABELS_SHOWN)
        .map(|(k, v)| {
            let value = v.as_str().unwrap_or_default();
            format!("{}={:?}", line(k, LABELS_SHOWN), line(value, LABELS_SHOWN))
        })
        .collect();
    pairs.sort();
    line(&format!("{{{}}}", pairs.join(",")), LABELS_SHOWN)
}

/// What a JSON value is, for a message: "an object", "a string", ….
fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
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

#[cfg(test)]
mod tests;
