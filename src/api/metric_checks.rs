//! The check kinds that measure rather than probe once: `latency` (percentiles over a burst of
//! requests) and `prometheus` (a PromQL query against the app's metrics, for what real users
//! see: error rate, 429s, pool use).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    checks::{HeaderSource, HttpMethod},
    schema,
};

/// The most requests one latency check sends in a round.
pub const MAX_LATENCY_REQUESTS: i32 = 100;

/// Sends the same request several times, one after the other, and holds the latency
/// percentiles to budgets: the seed guides' "P50 < 200 ms, P95 < 1 s".
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.p50Ms) || has(self.p95Ms) || has(self.p99Ms)",
        "message": "latency needs at least one budget: p50Ms, p95Ms or p99Ms"
    }
]))]
pub struct LatencyCheck {
    /// The path to request, starting with '/'. Required. Example: /health. It may carry a query
    /// but no scheme, host or port: no // at the start, no backslash, no blank.
    #[schemars(length(min = 1, max = 2048))]
    #[schemars(regex(pattern = schema::CHECK_PATH_PATTERN))]
    pub path: String,

    /// The HTTP method, one without a body. Default GET.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "self in ['GET', 'HEAD', 'OPTIONS']", "message": "latency.method must be GET, HEAD or OPTIONS"}
    ]))]
    pub method: HttpMethod,

    /// How many requests to send, one after the other (1-100). Default 20. The percentiles are
    /// the nearest-rank ones of these requests' latencies.
    #[serde(default = "schema::int::<20>")]
    #[schemars(range(min = 1, max = 100))]
    pub requests: i32,

    /// The slowest median latency that passes, in milliseconds (1-600000). Example: 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 600000))]
    pub p50_ms: Option<i32>,

    /// The slowest 95th-percentile latency that passes, in milliseconds (1-600000).
    /// Example: 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 600000))]
    pub p95_ms: Option<i32>,

    /// The slowest 99th-percentile latency that passes, in milliseconds (1-600000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 600000))]
    pub p99_ms: Option<i32>,

    /// The response statuses that count as answered (each 100-599, 1 to 16 of them); any other
    /// status fails the check. Default [200].
    #[serde(default = "default_ok")]
    #[schemars(length(min = 1, max = 16), inner(range(min = 100, max = 599)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub expect_status: Vec<i32>,
}

fn default_ok() -> Vec<i32> {
    vec![200]
}

/// A PromQL instant query and the range its value must be in: the analysis Argo Rollouts and
/// Flagger run, as a check of the checklist.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.below) || has(self.above)",
        "message": "prometheus needs a condition: below, above, or both for a range"
    },
    {
        "rule": "!has(self.below) || !has(self.above) || double(self.above) < double(self.below)",
        "message": "prometheus.above must be less than prometheus.below: no value can pass otherwise"
    },
    {
        "rule": "!has(self.bearerTokenFrom) || !has(self.basicAuthFrom)",
        "message": "prometheus takes bearerTokenFrom or basicAuthFrom, not both"
    }
]))]
pub struct PrometheusCheck {
    /// The base URL of a Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics
    /// ...), queried at <address>/api/v1/query. Default: the operator's --prometheus-url.
    /// Example: http://prometheus.monitoring.svc:9090.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::base_url")]
    pub address: Option<String>,

    /// The PromQL query (at most 4096 characters), evaluated at the time of the round. It must
    /// give a scalar or an instant vector; every series of the vector must meet the condition.
    /// {{revision}}, {{namespace}} and {{name}} are replaced by the revision being verified (a
    /// canary or preview step's new revision; the pods carry it as the label
    /// checklist.dev/revision), the checklist's namespace and its name. Example:
    /// sum(rate(http_requests_total{status=~"5..",revision="{{revision}}"}[5m])) /
    /// sum(rate(http_requests_total{revision="{{revision}}"}[5m])).
    #[schemars(length(min = 1, max = 4096))]
    #[schemars(regex(pattern = schema::TEXT_PATTERN))]
    pub query: String,

    /// The value must be below this number (a decimal such as 0.01, 100 or 1e-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "decimal")]
    pub below: Option<String>,

    /// The value must be above this number (a decimal such as 0.99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "decimal")]
    pub above: Option<String>,

    /// What a query that returns no series means: Fail (the default: no data is not a pass) or
    /// Pass (for a query that only returns series when something is wrong).
    #[serde(default)]
    pub empty_result: EmptyResult,

    /// Sends Authorization: Bearer <the key's value>.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_from: Option<HeaderSource>,

    /// Sends HTTP basic auth; the key's value is user:password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth_from: Option<HeaderSource>,
}

/// What an empty query result means.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum EmptyResult {
    /// The check fails: no data is not evidence that all is well.
    #[default]
    Fail,
    /// The check passes.
    Pass,
}

impl PrometheusCheck {
    /// Where the credentials come from, if the check sends any.
    pub fn credentials(&self) -> Option<&HeaderSource> {
        self.bearer_token_from
            .as_ref()
            .or(self.basic_auth_from.as_ref())
    }
}

/// A threshold: a decimal number written as a string, so it reads the same everywhere and a
/// mistyped one is refused by the API server naming its field.
fn decimal(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "maxLength": 64,
        "pattern": r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$",
        "description": "A decimal number. Example: 0.01."
    })
}
