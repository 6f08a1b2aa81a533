//! The kinds of check a `spec.verification.checks` entry sets, one each, that send requests to
//! the app: `http` (status, JSON fields, deep health, latency), `httpsRedirect`,
//! `securityHeaders` and `rateLimit`. The measuring kinds, `latency` and `prometheus`, are in
//! `metric_checks`; what each kind does is in `verify/checks/`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::SecretKeySelector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// An HTTP request and what its response must look like.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.body) || !(self.method in ['GET', 'HEAD'])",
        "message": "http.body needs a method that sends a body (POST, PUT, PATCH, DELETE or OPTIONS), not GET or HEAD",
        "fieldPath": ".body"
    }
]))]
pub struct HttpCheck {
    /// The HTTP method. Default GET.
    #[serde(default)]
    pub method: HttpMethod,

    /// The path appended to the verification url, starting with '/'. Required.
    /// Example: /health/deep. It may carry a query but no scheme, host or port: no // at the
    /// start, no backslash, no blank.
    #[schemars(length(min = 1, max = 2048))]
    #[schemars(regex(pattern = schema::CHECK_PATH_PATTERN))]
    pub path: String,

    /// Extra request headers, each with a literal value or a value read from a Secret.
    /// At most 16, names unique. Example: [{name: Authorization, valueFrom: {secretKeyRef:
    /// {name: probe-token, key: header}}}].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub headers: Vec<HttpHeader>,

    /// The request body, sent as is (at most 16384 bytes). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16384))]
    pub body: Option<String>,

    /// The Content-Type of the body. Example: application/json. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    #[schemars(regex(pattern = schema::ONE_LINE_PATTERN))]
    pub content_type: Option<String>,

    /// The response statuses that pass (each 100-599, 1 to 16 of them). Default [200].
    /// Redirects are not followed, so a 301 is seen as a 301.
    #[serde(default = "default_http_status")]
    #[schemars(length(min = 1, max = 16), inner(range(min = 100, max = 599)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub expect_status: Vec<i32>,

    /// Values the JSON response body must hold: each key is a dot-separated path into the body
    /// (numbers index arrays) or, starting with $, an RFC 9535 JSONPath whose every match must
    /// hold the value; each value is the expected value written as a string (numbers and
    /// booleans compare by their JSON text). Example: {status: ok},
    /// {checks.database.status: pass} or {"$.checks[*].status": pass}. At most 32 entries,
    /// keys of at most 256 characters, values of at most 1024. JSONPath keys may use names,
    /// wildcards, indexes, slices, at most two descendant (..) segments and filters with
    /// comparisons, &&, || and !, but no functions; a key that selects more than 10000 values or
    /// needs more than 200000 steps on the body fails the check. Default: the body is not parsed.
    #[serde(
        default,
        rename = "expectJSON",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    #[schemars(schema_with = "schema::expect_json_map")]
    pub expect_json: BTreeMap<String, String>,

    /// Text the response body must contain (at most 1024 bytes). Default: not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    #[schemars(regex(pattern = schema::TEXT_PATTERN))]
    pub body_contains: Option<String>,

    /// The slowest response that passes, in milliseconds (1-600000), from sending the request
    /// to reading the whole body. Example: 50 for a health endpoint. Default: not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 600000))]
    pub max_latency_ms: Option<i32>,

    /// A dot-separated path to an object in the JSON response whose members are the app's
    /// dependencies, as deep health endpoints report them. Example: checks (for
    /// {"checks": {"database": {"status": "pass"}}}) or dependencies (for
    /// {"dependencies": {"database": "connected"}}). Each member becomes an entry of
    /// status.dependencies; it is healthy when its value, or its "status" field, is one of ok,
    /// pass, passing, healthy, up, connected, available or true. An unhealthy dependency fails
    /// the check. Default: dependencies are not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    #[schemars(regex(pattern = schema::ONE_LINE_PATTERN))]
    pub dependencies: Option<String>,

    /// The only members of the dependencies object that are read, by name (at most 64 unique
    /// names of letters, digits, '-', '_' and '.', up to 63 characters each). Example:
    /// [database, oban]. With a list, status.dependencies holds exactly these names whatever
    /// else the app reports, and a name missing from the response is a failing dependency
    /// ("not reported"). Used only with http.dependencies. Default: every member is read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 64),
        inner(length(min = 1, max = 63), regex(pattern = DEPENDENCY_NAME_PATTERN))
    )]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub dependency_names: Vec<String>,
}

/// A dependency name a checklist may list: short and without blanks or control characters, since
/// it reaches status and Events as written.
const DEPENDENCY_NAME_PATTERN: &str = r"^[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?$";

fn default_http_status() -> Vec<i32> {
    vec![200]
}

/// An HTTP method.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET.
    #[default]
    Get,
    /// HEAD.
    Head,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// OPTIONS.
    Options,
}

/// A request header with a literal value or a value read from a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.value) != has(self.valueFrom)",
        "message": "a header must set exactly one of value or valueFrom"
    },
    {
        "rule": "!self.name.matches('(?i)^(host|connection|keep-alive|transfer-encoding|te|trailer|upgrade|content-length|expect|proxy-.*)$')",
        "message": "this header is set by the client and cannot be set by a check (Host, Connection, Keep-Alive, Transfer-Encoding, TE, Trailer, Upgrade, Content-Length, Expect, Proxy-*)",
        "fieldPath": ".name",
        "reason": "FieldValueForbidden"
    }
]))]
pub struct HttpHeader {
    /// The header name. Required. Example: Authorization. Host, Connection, Keep-Alive,
    /// Transfer-Encoding, TE, Trailer, Upgrade, Content-Length, Expect and Proxy-* are refused:
    /// the client sets them from the URL and the body.
    #[schemars(length(min = 1, max = 256))]
    #[schemars(regex(pattern = r"^[-!#$%&'*+.^_`|~0-9A-Za-z]+$"))]
    pub name: String,

    /// The header value, written in the checklist (at most 8192 bytes). Use valueFrom for
    /// anything secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8192))]
    #[schemars(regex(pattern = schema::ONE_LINE_PATTERN))]
    pub value: Option<String>,

    /// Reads the header value from a key of a Secret in the checklist's namespace; the value is
    /// never logged or shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<HeaderSource>,
}

/// Where a header value comes from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderSource {
    /// The Secret and key holding the value. Required. Example: {name: probe-token, key: header}.
    #[schemars(schema_with = "schema::secret_key_selector")]
    pub secret_key_ref: SecretKeySelector,
}

/// Checks that plain HTTP is redirected to HTTPS.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpsRedirectCheck {
    /// The plain-HTTP URL to request. Default: the verification url's host with http:// and
    /// path /. Example: http://dialectic.example.com/.
    #[serde(default, rename = "httpURL", skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    #[schemars(regex(pattern = schema::NO_BLANK_PATTERN))]
    #[schemars(extend("x-kubernetes-validations" = [
        {
            "rule": "isURL(self) && self.matches(r'^http://[^/?#\\s]+(/[^#\\s]*)?$')",
            "message": "httpsRedirect.httpURL must be an absolute http:// URL, e.g. http://dialectic.example.com/"
        }
    ]))]
    pub http_url: Option<String>,

    /// The redirect statuses that pass (each 300-399, 1 to 8 of them); the Location header must
    /// also start with https://. Default [301, 308], the permanent redirects.
    #[serde(default = "default_redirect_status")]
    #[schemars(length(min = 1, max = 8), inner(range(min = 300, max = 399)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub expect_status: Vec<i32>,
}

impl Default for HttpsRedirectCheck {
    fn default() -> Self {
        Self {
            http_url: None,
            expect_status: default_redirect_status(),
        }
    }
}

fn default_redirect_status() -> Vec<i32> {
    vec![301, 308]
}

/// Checks the headers of a response: the security headers, and any header's presence,
/// absence, exact value or pattern, for a request with headers of its own (an Origin for CORS).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityHeadersCheck {
    /// The path to request, starting with '/'. Default /. It may carry a query but no scheme,
    /// host or port: no // at the start, no backslash, no blank.
    #[serde(default = "default_root_path")]
    #[schemars(length(min = 1, max = 2048))]
    #[schemars(regex(pattern = schema::CHECK_PATH_PATTERN))]
    pub path: String,

    /// The HTTP method. Default GET. Example: OPTIONS for a CORS preflight.
    #[serde(default, skip_serializing_if = "is_get")]
    pub method: HttpMethod,

    /// Request headers, as in http.headers: a literal value or one read from a Secret. At most
    /// 16, names unique. Example: [{name: Origin, value: https://app.example.com},
    /// {name: Access-Control-Request-Method, value: POST}].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub headers: Vec<HttpHeader>,

    /// Header names that must be present, in lower case (at most 32). Default: the five of the
    /// production checklist: strict-transport-security, content-security-policy,
    /// x-frame-options, x-content-type-options, x-xss-protection. Set [] to check only what
    /// values, patterns and absent say.
    #[serde(default = "default_security_headers")]
    #[schemars(
        length(max = 32),
        inner(length(min = 1, max = 256), regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))
    )]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub require: Vec<String>,

    /// Exact values some headers must have, compared without regard to case (at most 32 names
    /// of at most 256 characters, values of at most 8192). A header named here must also be
    /// present. Example: {x-frame-options: SAMEORIGIN, x-content-type-options: nosniff}.
    /// Default: values are not compared.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "schema::header_values_map")]
    pub values: BTreeMap<String, String>,

    /// Regular expressions some headers' values must match somewhere (anchor with ^ and $ for
    /// the whole value), in the syntax of Rust's regex crate, which runs in linear time: no
    /// look-around or back-references. At most 32 names of at most 256 characters; each
    /// pattern at most 1024 characters and compiled within 16 KiB; a value longer than 8 KiB
    /// fails. A header named here must also be present. Example: {content-security-policy:
    /// "script-src [^;]*'nonce-[A-Za-z0-9+/=]{16,}'", access-control-allow-origin:
    /// '^https://app\.example\.com$'}. Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "schema::header_patterns_map")]
    pub patterns: BTreeMap<String, String>,

    /// Header names that must not be present, in lower case (at most 32). Example: [server,
    /// x-powered-by] so the stack is not advertised, or [access-control-allow-origin] for an
    /// Origin that must not be allowed. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 32),
        inner(length(min = 1, max = 256), regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))
    )]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub absent: Vec<String>,
}

fn is_get(method: &HttpMethod) -> bool {
    *method == HttpMethod::Get
}

impl Default for SecurityHeadersCheck {
    fn default() -> Self {
        Self {
            path: default_root_path(),
            method: HttpMethod::Get,
            headers: Vec::new(),
            require: default_security_headers(),
            values: BTreeMap::new(),
            patterns: BTreeMap::new(),
            absent: Vec::new(),
        }
    }
}

fn default_root_path() -> String {
    "/".into()
}

/// The security headers every checklist requires unless it says otherwise.
pub const DEFAULT_SECURITY_HEADERS: [&str; 5] = [
    "strict-transport-security",
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "x-xss-protection",
];

fn default_security_headers() -> Vec<String> {
    DEFAULT_SECURITY_HEADERS
        .iter()
        .map(|h| h.to_string())
        .collect()
}

/// Sends a request several times and expects the app to start refusing it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.withinAttempts) || self.withinAttempts <= self.attempts",
        "message": "rateLimit.withinAttempts must not be greater than rateLimit.attempts",
        "fieldPath": ".withinAttempts"
    },
    {
        "rule": "!has(self.body) || !(self.method in ['GET', 'HEAD'])",
        "message": "rateLimit.body needs a method that sends a body (POST, PUT, PATCH, DELETE or OPTIONS), not GET or HEAD",
        "fieldPath": ".body"
    }
]))]
pub struct RateLimitCheck {
    /// The path to send the requests to, starting with '/'. Required. Example: /users/log_in.
    /// It may carry a query but no scheme, host or port: no // at the start, no backslash, no
    /// blank.
    #[schemars(length(min = 1, max = 2048))]
    #[schemars(regex(pattern = schema::CHECK_PATH_PATTERN))]
    pub path: String,

    /// The HTTP method. Default POST.
    #[serde(default = "default_rate_limit_method")]
    pub method: HttpMethod,

    /// The request body, sent as is (at most 16384 bytes).
    /// Example: '{"user":{"email":"test@test.com","password":"wrong"}}'. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16384))]
    pub body: Option<String>,

    /// The Content-Type of the body. Example: application/json. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    #[schemars(regex(pattern = schema::ONE_LINE_PATTERN))]
    pub content_type: Option<String>,

    /// Extra request headers, as in http.headers. At most 16, names unique.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub headers: Vec<HttpHeader>,

    /// How many requests to send at most, one after the other (1-100). Default 10.
    #[serde(default = "schema::int::<10>")]
    #[schemars(range(min = 1, max = 100))]
    pub attempts: i32,

    /// The status that means "limited" (100-599). Default 429 Too Many Requests.
    #[serde(default = "schema::int::<429>")]
    #[schemars(range(min = 100, max = 599))]
    pub expect_status: i32,

    /// The request number by which expectStatus must have been answered (1-100, at most
    /// attempts). Example: 6 for "blocked after 5 attempts". Default: any of the attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub within_attempts: Option<i32>,
}

fn default_rate_limit_method() -> HttpMethod {
    HttpMethod::Post
}
