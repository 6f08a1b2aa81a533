//! One round of a checklist's checks against its URL: each check's kind judges it (see
//! `checks::kind`) through what the engine lends it, requests built from the spec and sent
//! through the guarded client within the round's budget, answers masked.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures::future::{BoxFuture, join_all};
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use tracing::Instrument;
use url::Url;

use crate::api::{
    CheckResult, CheckSpec, HttpHeader, HttpMethod, JobCheck, PrometheusCheck, VerificationSpec,
};

use super::{
    budget::{Limits, Pacer, Round},
    checks::{
        self, Evaluation,
        kind::{Problem, Reach},
        prometheus::Placeholders,
    },
    client::{ClientSettings, FetchError, Header, HttpClient, Request, Response, shown_url_text},
    guard::EgressPolicy,
    jobs::{JobEnd, JobRequest, JobRunner},
    redact::Redactor,
    reserved::reserved_header,
    target,
};

mod prometheus;

pub use super::checks::prometheus::Placeholders as QueryPlaceholders;
pub use super::checks::prometheus_scope::NamespaceLabel;
pub use super::outcome::{CheckOutcome, DEPENDENCIES_SHOWN, OUTCOME_MESSAGE_MAX_CHARS};
pub use super::redact::MASK_MIN_LEN;
pub use super::secret_values::SecretValues;

/// Runs checks against one app.
#[derive(Debug, Clone)]
pub struct Engine {
    client: HttpClient,
    base: Url,
    secrets: Arc<SecretValues>,
    redactor: Redactor,
    placeholders: Placeholders,
    prometheus: Option<Url>,
    /// Confines prometheus queries to the placeholders' namespace; None sends them as written.
    prometheus_scope: Option<checks::prometheus_scope::Scope>,
    limits: Limits,
    /// The namespace's request rate, shared with its other checklists; None: unpaced (`verify`).
    pace: Option<(Pacer, String)>,
    /// A header every request carries (a gateway's revision header, so requests through the
    /// users' front door reach the version under test); it replaces a check's own of that name.
    pin: Option<Header>,
    /// Runs job checks' Jobs: the operator's client; None (`verify`) leaves them unrun.
    jobs: Option<Arc<dyn JobRunner>>,
}

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The base URL is unusable.
    #[error("verification url {url}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] FetchError),
    /// The revision header a router asked for is unusable.
    #[error("revision header {0}")]
    Pin(String),
}

impl Engine {
    /// An engine for `spec`'s timeouts and TLS setting, sending to `base` within `policy`.
    pub fn new(
        spec: &VerificationSpec,
        base: &str,
        policy: EgressPolicy,
        secrets: SecretValues,
    ) -> Result<Self, EngineError> {
        let bad = |reason: &str| EngineError::Url {
            url: shown_url_text(base),
            reason: reason.to_string(),
        };
        let mut base = Url::parse(base).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(bad("must be an absolute http:// or https:// URL"));
        }
        base.set_query(None);
        base.set_fragment(None);
        let settings = ClientSettings {
            timeout: std::time::Duration::from_secs(u64::from(
                spec.timeout_seconds.max(1).unsigned_abs(),
            )),
            insecure_skip_tls_verify: spec.insecure_skip_tls_verify,
        };
        Ok(Self {
            client: HttpClient::new(Arc::new(policy), &settings)?,
            base,
            redactor: secrets.redactor(),
            secrets: Arc::new(secrets),
            placeholders: Placeholders::default(),
            prometheus: None,
            prometheus_scope: None,
            limits: Limits::default(),
            pace: None,
            pin: None,
            jobs: None,
        })
    }

    /// The same engine, sending header `name: value` with every request.
    pub fn with_pin(self, name: &str, value: &str) -> Result<Self, EngineError> {
        let bad = |what: &str| EngineError::Pin(format!("{what} {name:?}"));
        let pin = Header {
            name: HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad("not a valid header name:"))?,
            value: HeaderValue::from_str(value).map_err(|_| bad("not a valid value for"))?,
        };
        Ok(Self {
            pin: Some(pin),
            ..self
        })
    }

    /// The same engine, running job checks through `runner`.
    pub fn with_jobs(self, runner: Arc<dyn JobRunner>) -> Self {
        Self {
            jobs: Some(runner),
            ..self
        }
    }

    /// The same engine, its rounds bounded by `limits`.
    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }

    /// The same engine, sending no faster than `pacer` lets `namespace`.
    pub fn with_pace(self, pacer: Pacer, namespace: String) -> Self {
        Self {
            pace: Some((pacer, namespace)),
            ..self
        }
    }

    /// The same engine, filling a prometheus query's {{revision}}, {{namespace}} and {{name}}
    /// from `placeholders`.
    pub fn with_placeholders(self, placeholders: Placeholders) -> Self {
        Self {
            placeholders,
            ..self
        }
    }

    /// The same engine, querying `address` for prometheus checks that name none.
    pub fn with_prometheus(self, address: Option<Url>) -> Self {
        Self {
            prometheus: address,
            ..self
        }
    }

    /// Runs every check once and returns the outcomes in the spec's order. Checks run
    /// concurrently, except rate-limit checks, which run alone afterwards so that the burst
    /// neither slows the others nor is counted against them by the app.
    ///
    /// The round runs within its [`Limits`]: each check within its time budget and the round's,
    /// every request charged to the round's count (and to the namespace's rate when paced).
    pub async fn run_round(&self, checks: &[CheckSpec]) -> Vec<CheckOutcome> {
        self.run_numbered_round(checks, 0).await
    }

    /// [`run_round`](Self::run_round) as round `number` of its stage: what names a job check's
    /// Job, so the same round is never run twice.
    pub async fn run_numbered_round(&self, checks: &[CheckSpec], number: u64) -> Vec<CheckOutcome> {
        let round = Round::start(self.limits).numbered(number);
        let (bursts, independent): (Vec<&CheckSpec>, Vec<&CheckSpec>) = checks
            .iter()
            .partition(|c| c.check().is_some_and(|k| checks::of(k).runs_alone()));
        let mut outcomes = join_all(independent.iter().map(|c| self.run_check_in(c, &round))).await;
        for check in bursts {
            outcomes.push(self.run_check_in(check, &round).await);
        }
        let order: BTreeMap<&str, usize> = checks
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        outcomes.sort_by_key(|o| order.get(o.name.as_str()).copied().unwrap_or(usize::MAX));
        outcomes
    }

    /// Runs one check once, as a round of its own; no secret value the engine knows is in the
    /// outcome.
    pub async fn run_check(&self, check: &CheckSpec) -> CheckOutcome {
        self.run_check_in(check, &Round::start(self.limits)).await
    }

    /// Runs one check within `round`'s budget: a check still running when its time is spent
    /// is stopped (its requests dropped) and fails, naming the budget.
    async fn run_check_in(&self, check: &CheckSpec, round: &Round) -> CheckOutcome {
        let time = round.time_left();
        // A check's span in the round's trace; its request carries it as `traceparent`.
        let span = tracing::debug_span!(
            "check",
            check = %crate::text::Shown(&check.name),
            kind = check.check().map(|k| k.kind().as_str()),
            result = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let checked = tokio::time::timeout(time, self.unmasked_check(check, round))
            .instrument(span.clone())
            .await;
        let outcome = match checked {
            Ok(outcome) => outcome,
            Err(_) => CheckOutcome {
                name: check.name.clone(),
                kind: check.check().map(|k| k.kind()),
                result: CheckResult::Fail,
                message: format!(
                    "stopped: {}",
                    super::budget::OverBudget::Time(time.max(Duration::from_secs(1)))
                ),
                latency_ms: u64::try_from(time.as_millis()).ok(),
                attempts: 0,
                status: None,
                dependencies: Vec::new(),
                measured: check.check().is_some_and(|k| checks::of(k).measures()),
            },
        };
        span.record("result", tracing::field::debug(outcome.result));
        if outcome.result == CheckResult::Fail {
            span.record("otel.status_code", "ERROR");
        }
        // Masked before it is cut: a secret cut in half would no longer match its mask.
        self.redactor.outcome(outcome).shown()
    }

    async fn unmasked_check(&self, check: &CheckSpec, round: &Round) -> CheckOutcome {
        let Some(kind) = check.check() else {
            return CheckOutcome {
                name: check.name.clone(),
                kind: None,
                result: CheckResult::Fail,
                message: "the check must set exactly one of http, httpsRedirect, securityHeaders, rateLimit, latency, prometheus or job".into(),
                latency_ms: None,
                attempts: 0,
                status: None,
                dependencies: Vec::new(),
                measured: false,
            };
        };
        let started = Instant::now();
        let judged = checks::of(kind).judge(&check.name, self, round).await;
        let (evaluation, attempts, status) = match judged {
            Ok(done) => done,
            Err(Problem::Fetch(error)) => (Evaluation::fail(error.to_string()), 1, None),
            Err(Problem::Spec(message)) => (Evaluation::fail(message), 0, None),
            Err(Problem::Secret(message) | Problem::Unavailable(message)) => {
                return CheckOutcome {
                    name: check.name.clone(),
                    kind: Some(kind.kind()),
                    result: CheckResult::Skipped,
                    message,
                    latency_ms: None,
                    attempts: 0,
                    status: None,
                    dependencies: Vec::new(),
                    measured: false,
                };
            }
        };
        CheckOutcome {
            name: check.name.clone(),
            kind: Some(kind.kind()),
            result: if evaluation.passed {
                CheckResult::Pass
            } else {
                CheckResult::Fail
            },
            message: evaluation.message,
            latency_ms: u64::try_from(started.elapsed().as_millis()).ok(),
            attempts,
            status,
            dependencies: evaluation.dependencies,
            measured: checks::of(kind).measures(),
        }
    }

    fn header(&self, header: &HttpHeader) -> Result<Header, Problem> {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| Problem::Spec(format!("header name {:?} is not valid", header.name)))?;
        if reserved_header(&name) {
            return Err(Problem::Spec(format!(
                "header {} is set by the client and cannot be set by a check",
                header.name
            )));
        }
        let value = match (&header.value, &header.value_from) {
            (Some(value), _) => HeaderValue::from_str(value).map_err(|_| {
                Problem::Spec(format!(
                    "header {} has a value that is not valid",
                    header.name
                ))
            })?,
            (None, Some(source)) => {
                let secret = &source.secret_key_ref.name;
                let key = &source.secret_key_ref.key;
                self.secrets.get(secret, key).cloned().ok_or_else(|| {
                    Problem::Secret(format!(
                        "header {} needs key {key} of Secret {secret}, which is not available",
                        header.name
                    ))
                })?
            }
            (None, None) => {
                return Err(Problem::Spec(format!(
                    "header {} has no value",
                    header.name
                )));
            }
        };
        Ok(Header { name, value })
    }
}

impl Reach for Engine {
    fn base(&self) -> &Url {
        &self.base
    }

    fn request(
        &self,
        method: HttpMethod,
        path: &str,
        headers: &[HttpHeader],
        body: Option<&str>,
        content_type: Option<&str>,
    ) -> Result<Request, Problem> {
        let mut built = Vec::with_capacity(headers.len() + 2);
        for header in headers {
            let header = self.header(header)?;
            if self.pin.as_ref().is_none_or(|pin| pin.name != header.name) {
                built.push(header);
            }
        }
        built.extend(self.pin.clone());
        if let Some(content_type) = content_type {
            let value = HeaderValue::from_str(content_type).map_err(|_| {
                Problem::Spec(format!(
                    "contentType {content_type:?} is not a valid header value"
                ))
            })?;
            built.push(Header {
                name: CONTENT_TYPE,
                value,
            });
        }
        Ok(Request {
            method: method_of(method),
            url: target::join(&self.base, path).map_err(Problem::Spec)?,
            headers: built,
            body: body.map(|b| Bytes::copy_from_slice(b.as_bytes())),
        })
    }

    fn fetch<'a>(
        &'a self,
        request: Request,
        round: &'a Round,
    ) -> BoxFuture<'a, Result<Response, FetchError>> {
        Box::pin(async move {
            let response = self.send(request, round).await?;
            Ok(self.redactor.response(response))
        })
    }

    fn send<'a>(
        &'a self,
        request: Request,
        round: &'a Round,
    ) -> BoxFuture<'a, Result<Response, FetchError>> {
        Box::pin(async move {
            round.charge()?;
            if let Some((pacer, namespace)) = &self.pace {
                pacer
                    .wait(namespace, Instant::now() + round.time_left())
                    .await?;
            }
            self.client.send(request).await
        })
    }

    fn prometheus_query<'a>(
        &'a self,
        check: &'a PrometheusCheck,
    ) -> BoxFuture<'a, Result<String, Problem>> {
        Box::pin(Engine::prometheus_query(self, check))
    }

    fn prometheus_request(&self, check: &PrometheusCheck, query: &str) -> Result<Request, Problem> {
        Engine::prometheus_request(self, check, query)
    }

    fn run_job<'a>(
        &'a self,
        name: &'a str,
        check: &'a JobCheck,
        round: &'a Round,
    ) -> BoxFuture<'a, Result<JobEnd, Problem>> {
        Box::pin(async move {
            let Some(runner) = &self.jobs else {
                return Err(checks::job::not_run());
            };
            let header = self.pin.as_ref().map(|pin| {
                format!(
                    "{}: {}",
                    pin.name,
                    String::from_utf8_lossy(pin.value.as_bytes())
                )
            });
            let asked = check
                .timeout_seconds
                .and_then(|s| u64::try_from(s).ok())
                .map(Duration::from_secs);
            let time = asked.map_or(round.time_left(), |t| t.min(round.time_left()));
            runner
                .run(JobRequest {
                    check: name,
                    spec: check,
                    url: self.base.as_str(),
                    header: header.as_deref(),
                    round: round.number(),
                    time,
                })
                .await
                .map_err(Problem::Spec)
        })
    }
}

fn method_of(method: HttpMethod) -> reqwest::Method {
    match method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Head => reqwest::Method::HEAD,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
        HttpMethod::Delete => reqwest::Method::DELETE,
        HttpMethod::Options => reqwest::Method::OPTIONS,
    }
}
