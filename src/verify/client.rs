//! The HTTP client of the checks: one request, its response with a capped body, and its latency.
//!
//! Every request goes through the egress guard twice over: the URL is judged before sending (IP
//! literals never reach a resolver) and every name is resolved by [`GuardedResolver`], which hands
//! the connector only addresses the policy allows. Redirects are never followed and proxies from
//! the environment are ignored, so nothing routes around the guard.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::guard::{Blocked, EgressPolicy, GuardedResolver};

/// The most of a response body that is read; the rest is dropped unread.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A request header; a value from a Secret is marked sensitive and never shown.
#[derive(Clone)]
pub struct Header {
    /// The header name.
    pub name: HeaderName,
    /// The header value.
    pub value: HeaderValue,
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may come from Secrets: Debug output (logs, panics) never carries them.
        write!(f, "{}: <redacted>", self.name)
    }
}

/// One HTTP request of a check.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: reqwest::Method,
    /// The absolute URL.
    pub url: url::Url,
    /// Extra headers.
    pub headers: Vec<Header>,
    /// The body, if any.
    pub body: Option<Bytes>,
}

impl Request {
    /// A GET of `url` with no headers.
    pub fn get(url: url::Url) -> Self {
        Self {
            method: reqwest::Method::GET,
            url,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// At most [`BODY_LIMIT`] bytes of the body.
    pub body: Bytes,
    /// Whether the body was longer than [`BODY_LIMIT`] and was cut.
    pub truncated: bool,
    /// From sending the request to the end of the (capped) body.
    pub latency: Duration,
}

/// Why a request got no response. Messages are short, say what to look at, and never carry a
/// header value.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The egress guard refused the destination.
    #[error("refused by the egress guard: {0}")]
    Blocked(#[from] Blocked),
    /// No answer in time.
    #[error("no answer within {}", humanize(*.0))]
    Timeout(Duration),
    /// The connection could not be made or broke.
    #[error("{0}")]
    Transport(String),
    /// Not sent: the round, the check or the namespace spent its budget.
    #[error("not sent: {0}")]
    OverBudget(#[from] super::budget::OverBudget),
}

impl FetchError {
    /// A short, stable name for the kind of failure (metric label).
    pub fn category(&self) -> &'static str {
        match self {
            FetchError::Blocked(blocked) => blocked.category(),
            FetchError::Timeout(_) => "timeout",
            FetchError::Transport(_) => "transport",
            FetchError::OverBudget(_) => "budget",
        }
    }
}

/// Settings of the client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// How long one request may take, body included.
    pub timeout: Duration,
    /// Whether TLS certificates are accepted without verification.
    pub insecure_skip_tls_verify: bool,
}

/// The checks' HTTP client. Cheap to clone; connections are pooled.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    policy: Arc<EgressPolicy>,
    timeout: Duration,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds a client that only reaches what `policy` allows.
    pub fn new(policy: Arc<EgressPolicy>, settings: &ClientSettings) -> Result<Self, FetchError> {
        // reqwest is built without a default crypto provider so that only ring (which kube already
        // uses) is compiled in; installing it as the process default is idempotent.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let inner = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver::new(policy.clone())))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tls_danger_accept_invalid_certs(settings.insecure_skip_tls_verify)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("checklist-operator/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Transport(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner,
            policy,
            timeout: settings.timeout,
        })
    }

    /// Sends `request` and reads at most [`BODY_LIMIT`] bytes of the answer.
    pub async fn send(&self, request: Request) -> Result<Response, FetchError> {
        self.policy.check_url(&request.url)?;
        let mut builder = self
            .inner
            .request(request.method, request.url.clone())
            .timeout(self.timeout);
        let mut headers = HeaderMap::with_capacity(request.headers.len() + 1);
        for header in request.headers {
            headers.append(header.name, header.value);
        }
        // The check's span as the app's trace parent, when the operator sends traces.
        crate::telemetry::traces::inject_trace_context(&mut headers);
        builder = builder.headers(headers);
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let started = Instant::now();
        let exchange = async {
            let mut response = builder.send().await.map_err(|e| self.describe(&e))?;
            let status = response.status().as_u16();
            let headers = std::mem::take(response.headers_mut());
            let mut body = Vec::new();
            let mut truncated = false;
            while let Some(chunk) = response.chunk().await.map_err(|e| self.describe(&e))? {
                let room = BODY_LIMIT - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, FetchError>((status, headers, body, truncated))
        };
        // reqwest's own timeout covers the body too; this outer one is the hard stop that also
        // bounds a server trickling bytes forever.
        let (status, headers, body, truncated) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| FetchError::Timeout(self.timeout))??;
        Ok(Response {
            status,
            headers,
            body: Bytes::from(body),
            truncated,
            latency: started.elapsed(),
        })
    }

    fn describe(&self, error: &reqwest::Error) -> FetchError {
        if error.is_timeout() {
            return FetchError::Timeout(self.timeout);
        }
        // The resolver's refusal travels inside reqwest's error chain; surface it as itself.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(current) = source {
            if let Some(blocked) = current.downcast_ref::<Blocked>() {
                return FetchError::Blocked(blocked.clone());
            }
            source = current.source();
        }
        FetchError::Transport(transport_message(error))
    }
}

/// The innermost cause of a transport error, which is what says what went wrong ("Connection
/// refused"), prefixed with what was being done.
fn transport_message(error: &reqwest::Error) -> String {
    let what = if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "the response body broke off"
    } else {
        "the request failed"
    };
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let cause = cause.to_string();
    match error.url() {
        Some(url) => format!("{what} to {}: {cause}", shown_url(url)),
        None => format!("{what}: {cause}"),
    }
}

/// A URL for messages and logs: scheme, host, port and path. The user and password of
/// `https://user:pass@host` and the query (which may carry tokens) are left out.
pub fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    // Only fails for URLs that cannot have credentials, which then have none to hide.
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown.to_string()
}

/// [`shown_url`] of a URL given as text; text that is not a URL is not shown at all, since it
/// may be anything.
pub fn shown_url_text(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| "(not a valid URL)".to_string(), |url| shown_url(&url))
}

/// "5s", "1500ms": durations as people write them.
pub fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_carry_no_credentials_and_no_query() {
        assert_eq!(
            shown_url_text("https://probe:hunter2@app.example.com:8443/health?token=abc#x"),
            "https://app.example.com:8443/health"
        );
        assert_eq!(
            shown_url_text("http://app.example.com"),
            "http://app.example.com/"
        );
        assert_eq!(shown_url_text("not a url :hunter2"), "(not a valid URL)");
    }
}
