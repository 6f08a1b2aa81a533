//! The app's own Prometheus metrics, served at `GET /metrics`: what a real service exports and
//! a `prometheus` check queries, so one test app per revision can play that revision's pods.
//!
//! - `http_requests_total{path, method, status}`: requests answered on the app's routes;
//! - `http_request_duration_seconds{path}`: how long they took, in the classic Prometheus
//!   buckets (5 ms to 10 s);
//!
//! each series also carrying the constant labels of `--metric-label` (`revision="abc123"`).
//! `path` is the route template (`/health`, `/users/log_in`), or `other` for a path no route
//! matches, so a scan of random paths cannot grow the series without bound; `method` is one of
//! the standard methods or `other`. `/metrics` and `/admin/*` are not counted.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type `/metrics` answers with: the OpenMetrics text format, which Prometheus
/// asks for first and which `prometheus-client` writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `path` label of a request no route matched.
pub const OTHER_PATH: &str = "other";

/// The duration histogram's buckets, in seconds: Prometheus's default buckets, suited to
/// millisecond-scale latency (a handler answers in well under 5 ms; `--latency-ms` and `slow`
/// mode move requests up the scale).
pub const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Label names every series already has (or Prometheus reserves); a constant label may not use
/// them.
pub const RESERVED_LABELS: [&str; 4] = ["path", "method", "status", "le"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    path: String,
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PathLabels {
    path: String,
}

type DurationFamily = Family<PathLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// The registry and the two metric families of one running app.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: DurationFamily,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// The metrics, every series carrying `constant_labels` (checked by
    /// [`check_constant_labels`]).
    pub fn new(constant_labels: &[(String, String)]) -> Self {
        let labels = constant_labels
            .iter()
            .map(|(name, value)| (Cow::Owned(name.clone()), Cow::Owned(value.clone())));
        let mut registry = Registry::with_labels(labels);
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        let durations: DurationFamily = Family::new_with_constructor(duration_histogram);
        registry.register(
            "http_request_duration_seconds",
            "How long HTTP requests took to answer, by route",
            durations.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
        }
    }

    /// Records one answered request: `path` is the route template (or [`OTHER_PATH`]).
    pub fn observe(&self, path: &str, method: &Method, status: StatusCode, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                path: path.to_owned(),
                method: method_label(method).to_owned(),
                status: status.as_u16().to_string(),
            })
            .inc();
        self.durations
            .get_or_create(&PathLabels {
                path: path.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// The text `GET /metrics` answers.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; the encoder's only errors are the writer's.
        if let Err(err) = encode(&mut text, &self.registry) {
            tracing::warn!(%err, "cannot encode the metrics");
        }
        text
    }
}

/// A standard method's name, or `other`: a client may send any token as a method.
pub fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("other", Method::as_str)
}

/// Parses `KEY=VALUE` as `--metric-label` takes it.
pub fn parse_constant_label(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    Ok((name.to_owned(), value.to_owned()))
}

/// Checks constant labels: each name a valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`,
/// not starting with `__`), not one the metrics already use, given once; each value free of
/// `"`, `\` and line breaks (the text encoder writes values as they are).
pub fn check_constant_labels(labels: &[(String, String)]) -> Result<(), String> {
    for (index, (name, value)) in labels.iter().enumerate() {
        let mut chars = name.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "metric label name {name:?} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"
            ));
        }
        if name.starts_with("__") {
            return Err(format!(
                "metric label name {name:?} starts with __, which Prometheus reserves"
            ));
        }
        if RESERVED_LABELS.contains(&name.as_str()) {
            return Err(format!(
                "metric label name {name:?} is already used by the metrics ({})",
                RESERVED_LABELS.join(", ")
            ));
        }
        if labels[..index].iter().any(|(earlier, _)| earlier == name) {
            return Err(format!("metric label {name:?} is given twice"));
        }
        if value.contains(['"', '\\', '\n', '\r']) {
            return Err(format!(
                "metric label {name}'s value {value:?} has a quote, backslash or line break"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A sample: its name, its labels sorted by name, its value.
    type Sample = (String, Vec<(String, String)>, f64);

    /// The samples of `text` as (name, labels, value), labels sorted by name: enough to find a
    /// series whatever order the encoder writes its labels in.
    fn samples(text: &str) -> Vec<Sample> {
        text.lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').unwrap();
                let (name, labels) = match series.split_once('{') {
                    Some((name, rest)) => (name, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                let mut labels: Vec<(String, String)> = labels
                    .split(',')
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').unwrap();
                        (k.to_owned(), v.trim_matches('"').to_owned())
                    })
                    .collect();
                labels.sort();
                (name.to_owned(), labels, value.parse().unwrap())
            })
            .collect()
    }

    fn value(text: &str, name: &str, wanted: &[(&str, &str)]) -> Option<f64> {
        let mut wanted = labels(wanted);
        wanted.sort();
        samples(text)
            .into_iter()
            .find(|(n, l, _)| n == name && *l == wanted)
            .map(|(_, _, v)| v)
    }

    #[test]
    fn the_text_has_both_families_with_the_constant_labels() {
        let metrics = Metrics::new(&labels(&[("revision", "abc123"), ("app", "web")]));
        for took in [3, 30] {
            metrics.observe(
                "/health",
                &Method::GET,
                StatusCode::OK,
                Duration::from_millis(took),
            );
        }
        let text = metrics.encode();
        let base = [("revision", "abc123"), ("app", "web"), ("path", "/health")];
        let with = |more: &[(&'static str, &'static str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(more);
            all
        };
        assert_eq!(
            value(
                &text,
                "http_requests_total",
                &with(&[("method", "GET"), ("status", "200")])
            ),
            Some(2.0),
            "{text}"
        );
        let bucket = "http_request_duration_seconds_bucket";
        assert_eq!(value(&text, bucket, &with(&[("le", "0.005")])), Some(1.0));
        assert_eq!(value(&text, bucket, &with(&[("le", "0.025")])), Some(1.0));
        assert_eq!(value(&text, bucket, &with(&[("le", "0.05")])), Some(2.0));
        assert_eq!(value(&text, bucket, &with(&[("le", "10.0")])), Some(2.0));
        assert_eq!(value(&text, bucket, &with(&[("le", "+Inf")])), Some(2.0));
        assert_eq!(
            value(&text, "http_request_duration_seconds_count", &base),
            Some(2.0)
        );
        let sum = value(&text, "http_request_duration_seconds_sum", &base).unwrap();
        assert!((sum - 0.033).abs() < 1e-9, "{sum}");
        assert!(text.contains("# TYPE http_requests counter"), "{text}");
        assert!(
            text.contains("# TYPE http_request_duration_seconds histogram"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn methods_outside_the_standard_set_are_other() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "other"
        );
    }

    #[test]
    fn constant_labels_are_checked() {
        assert_eq!(
            parse_constant_label("revision=abc=1"),
            Ok(("revision".into(), "abc=1".into()))
        );
        assert!(parse_constant_label("revision").is_err());
        assert_eq!(
            check_constant_labels(&labels(&[("revision", "new"), ("app", "")])),
            Ok(())
        );
        let err = |pairs: &[(&str, &str)]| check_constant_labels(&labels(pairs)).unwrap_err();
        assert!(err(&[("9lives", "x")]).contains("not a Prometheus label name"));
        assert!(err(&[("app-name", "x")]).contains("not a Prometheus label name"));
        assert!(err(&[("", "x")]).contains("not a Prometheus label name"));
        assert!(err(&[("__name__", "x")]).contains("reserves"));
        assert!(err(&[("status", "x")]).contains("already used"));
        assert!(err(&[("app", "a"), ("app", "b")]).contains("twice"));
        assert!(err(&[("app", "a\"b")]).contains("quote"));
    }
}
