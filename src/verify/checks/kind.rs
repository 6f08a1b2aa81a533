//! What every kind of check is to the rest of the operator: a [`Kind`] judges a check through
//! what the engine lends it ([`Reach`]: requests built from the spec, sent within the round's
//! budget) and lints its spec for `verify`. The engine, the `verify` command and the controller
//! ask the kind; none of them matches on it. [`of`](super::of) is the one place a kind is
//! registered.

use futures::future::BoxFuture;
use url::Url;

use crate::api::{
    HeaderSource, HttpHeader, HttpMethod, JobCheck, PrometheusCheck, VerificationSpec,
};

use super::super::{
    budget::Round,
    client::{FetchError, Request, Response},
};
use super::Evaluation;

/// What kept a check from being judged on a response.
pub enum Problem {
    /// The request got no response.
    Fetch(FetchError),
    /// The spec cannot be turned into a request.
    Spec(String),
    /// A header's Secret value is not available: the check is skipped, not failed.
    Secret(String),
    /// The check cannot run where the engine runs (a job check outside the cluster): skipped.
    Unavailable(String),
}

impl From<FetchError> for Problem {
    fn from(error: FetchError) -> Self {
        Problem::Fetch(error)
    }
}

/// A check's judgement: the evaluation, how many requests were sent, the last response's status.
pub type Judged = Result<(Evaluation, u32, Option<u16>), Problem>;

/// What the engine lends a check: the only way a check reaches the network, so every kind is
/// bounded and masked alike.
pub trait Reach: Sync {
    /// The app's address, which a check's path is joined to.
    fn base(&self) -> &Url;

    /// A request to the app from a check's settings, header values taken from Secrets filled in.
    fn request(
        &self,
        method: HttpMethod,
        path: &str,
        headers: &[HttpHeader],
        body: Option<&str>,
        content_type: Option<&str>,
    ) -> Result<Request, Problem>;

    /// Sends `request` charged to `round`; the answer comes back with every secret value masked,
    /// so no check can quote one.
    fn fetch<'a>(
        &'a self,
        request: Request,
        round: &'a Round,
    ) -> BoxFuture<'a, Result<Response, FetchError>>;

    /// Sends `request` charged to `round`, unmasked: for checks that read only the status and
    /// the timing of many answers.
    fn send<'a>(
        &'a self,
        request: Request,
        round: &'a Round,
    ) -> BoxFuture<'a, Result<Response, FetchError>>;

    /// A prometheus check's query, its placeholders filled in and, when the operator says so,
    /// confined to the checklist's namespace.
    fn prometheus_query<'a>(
        &'a self,
        check: &'a PrometheusCheck,
    ) -> BoxFuture<'a, Result<String, Problem>>;

    /// The instant query of `query` for a prometheus check, at its address (or the operator's)
    /// with its credentials.
    fn prometheus_request(&self, check: &PrometheusCheck, query: &str) -> Result<Request, Problem>;

    /// Runs job check `name`'s Job against the version under test within `round`'s time.
    fn run_job<'a>(
        &'a self,
        name: &'a str,
        check: &'a JobCheck,
        round: &'a Round,
    ) -> BoxFuture<'a, Result<super::super::jobs::JobEnd, Problem>>;
}

/// A kind of check: one file under `verify/checks/` implements it for the kind's spec type.
pub trait Kind: Sync {
    /// Sends the check (named `name`)'s requests through `reach` and judges the answers.
    fn judge<'a>(
        &'a self,
        name: &'a str,
        reach: &'a dyn Reach,
        round: &'a Round,
    ) -> BoxFuture<'a, Judged>;

    /// What is wrong with the check's spec that the API server would refuse (its CEL rules),
    /// each problem prefixed with `path`, the check's place in the spec.
    fn lint(&self, path: &str) -> Vec<String>;

    /// The Secret keys the check's requests take values from (headers, credentials): the
    /// operator reads those Secrets, and only those.
    fn secret_sources(&self) -> Vec<&HeaderSource> {
        Vec::new()
    }

    /// Whether the check runs alone after the others: a burst that would slow them, or that the
    /// app would count against them.
    fn runs_alone(&self) -> bool {
        false
    }

    /// Whether the check runs again in the rounds after Ready (a burst of failed logins every
    /// interval would lock a real user out).
    fn runs_after_ready(&self) -> bool {
        true
    }

    /// Whether the check's message is a measurement (a percentile, a query's value) whose
    /// changing figures are not news.
    fn measures(&self) -> bool {
        false
    }
}

/// Every Secret key the checks of `spec` take values from.
pub fn secret_sources(spec: &VerificationSpec) -> impl Iterator<Item = &HeaderSource> {
    spec.checks
        .iter()
        .filter_map(|check| check.check())
        .flat_map(|check| super::of(check).secret_sources())
}

/// The headers among `headers` whose value comes from a Secret.
pub fn header_secrets(headers: &[HttpHeader]) -> Vec<&HeaderSource> {
    headers
        .iter()
        .filter_map(|header| header.value_from.as_ref())
        .collect()
}
