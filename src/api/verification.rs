//! `spec.verification`: the HTTP checks run against the new version before it is called Ready.
//!
//! They are the post-deployment checks of the seed guides, done by the operator instead of by
//! hand with curl: health JSON, deep health with its dependencies, the HTTPS redirect, security
//! headers, the login rate limit and latency. This module has the list and its timing; each kind
//! of check is in `checks`.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    checks::{HttpCheck, HttpsRedirectCheck, RateLimitCheck, SecurityHeadersCheck},
    job_check::JobCheck,
    metric_checks::{LatencyCheck, PrometheusCheck},
    schema,
    template::TemplateRef,
};

/// Where and how often the checks run, and how many failed rounds make the verdict Failed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationSpec {
    /// The base URL the checks are sent to; each check's path is appended to it. Must be an
    /// absolute http:// or https:// URL without query or fragment. Default: the in-cluster
    /// Service, http://<name>.<namespace>.svc:<spec.app.service.port>.
    /// Example: https://dialectic.example.com.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::base_url")]
    pub url: Option<String>,

    /// BlueGreen: the base URL of the new version before the switch, when people and checks
    /// reach the preview from outside the cluster. Same form as url. Default: the preview
    /// Service inside the cluster, http://<previewService>.<namespace>.svc:<spec.app.service.port>.
    #[serde(
        default,
        rename = "previewURL",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::base_url")]
    pub preview_url: Option<String>,

    /// Canary: the base URL that reaches only the canary pods, when the checks reach them from
    /// outside the cluster. Same form as url. Default: the canary Service inside the cluster,
    /// http://<canaryService>.<namespace>.svc:<spec.app.service.port>.
    #[serde(default, rename = "canaryURL", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::base_url")]
    pub canary_url: Option<String>,

    /// Seconds to wait after the new pods are ready before the first round of checks (0-3600).
    /// Default 5.
    #[serde(default = "schema::int::<5>")]
    #[schemars(range(min = 0, max = 3600))]
    pub initial_delay_seconds: i32,

    /// Seconds between two rounds of checks (1-3600). Default 10.
    #[serde(default = "schema::int::<10>")]
    #[schemars(range(min = 1, max = 3600))]
    pub interval_seconds: i32,

    /// Consecutive failed rounds (1-100) before the verdict is Failed and, with automatic
    /// rollback on VerificationFailed, the stable revision is restored. Default 3.
    #[serde(default = "schema::int::<3>")]
    #[schemars(range(min = 1, max = 100))]
    pub failure_threshold: i32,

    /// Seconds each HTTP request may take (1-300) before it counts as failed. Default 5.
    #[serde(default = "schema::int::<5>")]
    #[schemars(range(min = 1, max = 300))]
    pub timeout_seconds: i32,

    /// Whether checks keep running after the checklist is Ready. Default false. When true, a
    /// verdict of Failed afterwards marks the checklist Degraded (it does not roll back a version
    /// that was already verified). rateLimit checks run only while a rollout is verified. The
    /// waits inside a release (a canary pause, a wait for promotion, BlueGreen's scale-down
    /// delay) are watched by the checks whatever this says.
    #[serde(default, skip_serializing_if = "schema::is_false")]
    pub continuous: bool,

    /// Whether TLS certificates of an https:// url are accepted without verification.
    /// Default false. Only for test environments with self-signed certificates.
    #[serde(
        default,
        rename = "insecureSkipTLSVerify",
        skip_serializing_if = "schema::is_false"
    )]
    pub insecure_skip_tls_verify: bool,

    /// The checks, each with a unique name and exactly one kind: http, httpsRedirect,
    /// securityHeaders, rateLimit, latency, prometheus or job. Default: none, so a rollout is Ready
    /// once its pods are.
    /// The production readiness score in the status counts them. At most 32 checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub checks: Vec<CheckSpec>,

    /// The least a round must score to pass, counting the checks that are not dryRun, warnings
    /// included: a number of passing checks (0-32) or a share of them (0%-100%, rounded up).
    /// A round below it fails even when every critical check passed, as seed 004's checklist
    /// ships at 20/25. Example: 80%. Default: no minimum, so only critical checks fail a round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minimum" = 0, "maximum" = 32, "maxLength" = 4, "pattern" = "^([0-9]{1,2}|100)%$"))]
    pub min_score: Option<IntOrString>,

    /// Templates whose checks join the checks above: a ChecklistTemplate of this namespace or a
    /// ClusterChecklistTemplate, with parameters. Their checks count like the checklist's own
    /// (names must not clash; use prefix to tell two uses of one template apart) and are listed
    /// in status.templates. A template that is missing, lacks a parameter or resolves to an
    /// invalid check stops the checklist (reason InvalidTemplate) without changing anything
    /// running. A template's change re-verifies the running version at the next round; it
    /// never rolls pods. At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub templates: Vec<TemplateRef>,
}

impl Default for VerificationSpec {
    fn default() -> Self {
        Self {
            url: None,
            preview_url: None,
            canary_url: None,
            initial_delay_seconds: 5,
            interval_seconds: 10,
            failure_threshold: 3,
            timeout_seconds: 5,
            continuous: false,
            insecure_skip_tls_verify: false,
            checks: Vec::new(),
            min_score: None,
            templates: Vec::new(),
        }
    }
}

/// One named check. Set exactly one of http, httpsRedirect, securityHeaders, rateLimit,
/// latency, prometheus, job.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "[has(self.http), has(self.httpsRedirect), has(self.securityHeaders), has(self.rateLimit), has(self.latency), has(self.prometheus), has(self.job)].filter(k, k).size() == 1",
        "message": "each check must set exactly one of http, httpsRedirect, securityHeaders, rateLimit, latency, prometheus or job",
        "messageExpression": "'check ' + self.name + ' must set exactly one of http, httpsRedirect, securityHeaders, rateLimit, latency, prometheus or job'"
    }
]))]
pub struct CheckSpec {
    /// The check's name, unique in the list: a lower-case DNS label of at most 63 characters.
    /// Required. It names the check in status.checks and in Events. Example: deep-health.
    #[schemars(length(min = 1, max = 63))]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,

    /// What a failure of this check does. Critical (the default): it fails the round, and
    /// failureThreshold failed rounds roll the release back. Warning: it is reported in
    /// status.checks, the Verified condition, an Event and notifications, and fails a round only
    /// through minScore.
    #[serde(default, skip_serializing_if = "Severity::is_critical")]
    pub severity: Severity,

    /// The score category the check counts in, a lower-case word of at most 32 characters.
    /// Example: security. Default by kind: health for http, security for httpsRedirect,
    /// securityHeaders and rateLimit, performance for latency, monitoring for prometheus,
    /// functional for job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub category: Option<String>,

    /// Whether the check only reports: it runs in every round and its result is in
    /// status.checks, but it never fails a round, never counts in the score and never rolls
    /// back, so a team can try a new check in production safely. Default false.
    #[serde(default, skip_serializing_if = "schema::is_false")]
    pub dry_run: bool,

    /// A request whose status, JSON body, text and latency are checked; also reads the app's
    /// dependencies from a deep health response.
    /// Example: {path: /health, expectStatus: [200], expectJSON: {status: ok}, maxLatencyMs: 50}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,

    /// Checks that plain http:// answers with a redirect to https://. Example: {} (GET / on the
    /// url's host over http, expecting 301 or 308 with an https Location).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_redirect: Option<HttpsRedirectCheck>,

    /// Checks that responses carry the security headers. Example: {} (the five headers of the
    /// production checklist) or {values: {x-frame-options: SAMEORIGIN}}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_headers: Option<SecurityHeadersCheck>,

    /// Sends the same request several times and expects it to be refused (429) soon enough,
    /// e.g. repeated failed logins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitCheck>,

    /// Sends a request several times and holds its latency percentiles to budgets.
    /// Example: {path: /, requests: 20, p50Ms: 200, p95Ms: 1000}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyCheck>,

    /// A PromQL query whose value must stay in a range: what real users see, such as the 5xx
    /// ratio of the new pods. Example: {query: 'sum(rate(http_requests_total{status=~"5..",
    /// revision="{{revision}}"}[5m])) / sum(rate(http_requests_total{revision="{{revision}}"}[5m]))',
    /// below: "0.01"}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusCheck>,

    /// A script run as a Job against the version under test and judged by its exit code: a
    /// functional flow (register, log in, create) that one request cannot show.
    /// Example: {command: [/app/bin/functional-test]}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobCheck>,
}

/// What a failing check does to its round.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Severity {
    /// The failure fails the round.
    #[default]
    Critical,
    /// The failure is reported and fails the round only through minScore.
    Warning,
}

impl Severity {
    /// Whether this is the default, Critical.
    pub fn is_critical(&self) -> bool {
        *self == Severity::Critical
    }
}

/// The kind of a check, as reported in status.checks[].kind.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CheckKind {
    /// An http check.
    Http,
    /// An httpsRedirect check.
    HttpsRedirect,
    /// A securityHeaders check.
    SecurityHeaders,
    /// A rateLimit check.
    RateLimit,
    /// A latency check.
    Latency,
    /// A prometheus check.
    Prometheus,
    /// A job check.
    Job,
}

impl CheckKind {
    /// The name used in the spec and the status, e.g. "httpsRedirect".
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Http => "http",
            CheckKind::HttpsRedirect => "httpsRedirect",
            CheckKind::SecurityHeaders => "securityHeaders",
            CheckKind::RateLimit => "rateLimit",
            CheckKind::Latency => "latency",
            CheckKind::Prometheus => "prometheus",
            CheckKind::Job => "job",
        }
    }

    /// The score category of a check of this kind that names none, after seed 004's table.
    pub fn default_category(self) -> &'static str {
        match self {
            CheckKind::Http => "health",
            CheckKind::HttpsRedirect | CheckKind::SecurityHeaders | CheckKind::RateLimit => {
                "security"
            }
            CheckKind::Latency => "performance",
            CheckKind::Prometheus => "monitoring",
            CheckKind::Job => "functional",
        }
    }
}

/// A check's settings, borrowed from the one kind that is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CheckRef<'a> {
    /// The check is an http check.
    Http(&'a HttpCheck),
    /// The check is an httpsRedirect check.
    HttpsRedirect(&'a HttpsRedirectCheck),
    /// The check is a securityHeaders check.
    SecurityHeaders(&'a SecurityHeadersCheck),
    /// The check is a rateLimit check.
    RateLimit(&'a RateLimitCheck),
    /// The check is a latency check.
    Latency(&'a LatencyCheck),
    /// The check is a prometheus check.
    Prometheus(&'a PrometheusCheck),
    /// The check is a job check.
    Job(&'a JobCheck),
}

impl CheckRef<'_> {
    /// The kind of this check.
    pub fn kind(&self) -> CheckKind {
        match self {
            CheckRef::Http(_) => CheckKind::Http,
            CheckRef::HttpsRedirect(_) => CheckKind::HttpsRedirect,
            CheckRef::SecurityHeaders(_) => CheckKind::SecurityHeaders,
            CheckRef::RateLimit(_) => CheckKind::RateLimit,
            CheckRef::Latency(_) => CheckKind::Latency,
            CheckRef::Prometheus(_) => CheckKind::Prometheus,
            CheckRef::Job(_) => CheckKind::Job,
        }
    }
}

impl CheckSpec {
    /// The score category this check counts in: its own or its kind's.
    pub fn category(&self) -> &str {
        match (&self.category, self.check()) {
            (Some(category), _) => category,
            (None, Some(kind)) => kind.kind().default_category(),
            (None, None) => "health",
        }
    }

    /// The one kind this check sets, or None when it sets none or several (the API server
    /// refuses both, so None only happens for objects that bypassed validation).
    pub fn check(&self) -> Option<CheckRef<'_>> {
        let kinds = [
            self.http.as_ref().map(CheckRef::Http),
            self.https_redirect.as_ref().map(CheckRef::HttpsRedirect),
            self.security_headers
                .as_ref()
                .map(CheckRef::SecurityHeaders),
            self.rate_limit.as_ref().map(CheckRef::RateLimit),
            self.latency.as_ref().map(CheckRef::Latency),
            self.prometheus.as_ref().map(CheckRef::Prometheus),
            self.job.as_ref().map(CheckRef::Job),
        ];
        let mut set = kinds.into_iter().flatten();
        match (set.next(), set.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }
}
