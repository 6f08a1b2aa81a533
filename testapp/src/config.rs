//! The test app's settings: what the flags of `checklist-testapp` fill in, and what tests that
//! run the app in-process build directly.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::http::StatusCode;

use crate::metrics::check_constant_labels;
use crate::mode::Mode;

/// The five security headers of the seed checklist, with the values the app sends.
///
/// Names are lower case, as HTTP/1.1 header names are case-insensitive and HTTP/2 requires it.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    ("content-security-policy", "default-src 'self'"),
    ("x-frame-options", "SAMEORIGIN"),
    ("x-content-type-options", "nosniff"),
    ("x-xss-protection", "1; mode=block"),
];

/// The one origin the app allows cross-origin requests from (CORS "for specific domains only").
pub const ALLOWED_ORIGIN: &str = "https://app.example.com";

/// The dependencies `/health/deep` reports when none are configured: Dialectic's.
pub const DEFAULT_DEPENDENCIES: [&str; 2] = ["database", "oban"];

/// The password `POST /users/log_in` accepts (any email); every other password gets 401.
pub const DEFAULT_LOGIN_PASSWORD: &str = "correct-password";

/// The largest extra latency accepted, in milliseconds (an hour), so a typo cannot park requests
/// for ever.
pub const MAX_LATENCY_MS: u64 = 3_600_000;

/// The largest `huge_body_bytes` accepted (1 GiB), so a typo cannot stream forever.
pub const MAX_HUGE_BODY_BYTES: u64 = 1 << 30;

/// Everything the app needs to start. `Config::default()` is a healthy Dialectic on an
/// ephemeral loopback port with no redirect listener.
#[derive(Clone, Debug)]
pub struct Config {
    /// The main listener: the app as seen through its (TLS-terminating) front door.
    pub listen: SocketAddr,
    /// The optional plain-HTTP listener that redirects every request to https.
    pub http_listen: Option<SocketAddr>,
    /// The mode at start.
    pub mode: Mode,
    /// How long `slow` mode delays every response.
    pub delay: Duration,
    /// The dependency names `/health/deep` and `/api/health` report.
    pub dependencies: Vec<String>,
    /// Dependencies reported as failing at start (each must be in `dependencies`).
    pub failing_dependencies: Vec<String>,
    /// Login attempts allowed per window; the next one answers 429.
    pub rate_limit_after: u32,
    /// The fixed rate-limit window, started by the first attempt.
    pub rate_limit_window: Duration,
    /// The password `POST /users/log_in` accepts.
    pub login_password: String,
    /// The size of a health body in `huge-body` mode.
    pub huge_body_bytes: u64,
    /// How long a request hangs in `hang` mode before the app gives up and answers 504
    /// (shutdown ends it sooner).
    pub hang_max: Duration,
    /// The status of the redirect listener's answer (301 by default; 302 makes a failing case).
    pub redirect_status: StatusCode,
    /// The scheme of the redirect's `Location` (`https` by default; `http` makes a failing case).
    pub redirect_scheme: String,
    /// When set, the redirect's `Location` uses this host instead of the request's `Host`
    /// (a different host makes a failing case).
    pub redirect_host: Option<String>,
    /// Security headers (from [`SECURITY_HEADERS`]) left out even in healthy mode.
    pub omit_headers: Vec<String>,
    /// The version string the health bodies report.
    pub app_version: String,
    /// How long shutdown waits for in-flight requests before abandoning them.
    pub shutdown_grace: Duration,
    /// Labels added to every series of `GET /metrics` (`("revision", "abc123")`), so two apps
    /// can play two revisions' pods.
    pub metric_labels: Vec<(String, String)>,
    /// The share of requests to the app's routes but the health
    /// endpoints answered 500, in percent (0 to 100): exactly
    /// `error_percent` of every 100, spread evenly (5 is every 20th request).
    pub error_percent: u8,
    /// An extra delay before every request to the app's routes is answered, in every mode
    /// (`slow` mode's delay comes on top).
    pub latency: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            http_listen: None,
            mode: Mode::Healthy,
            delay: Duration::from_millis(1500),
            dependencies: DEFAULT_DEPENDENCIES.map(String::from).to_vec(),
            failing_dependencies: Vec::new(),
            rate_limit_after: 5,
            rate_limit_window: Duration::from_secs(60),
            login_password: DEFAULT_LOGIN_PASSWORD.to_owned(),
            huge_body_bytes: 8 << 20,
            hang_max: Duration::from_secs(300),
            redirect_status: StatusCode::MOVED_PERMANENTLY,
            redirect_scheme: "https".to_owned(),
            redirect_host: None,
            omit_headers: Vec::new(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            shutdown_grace: Duration::from_secs(5),
            metric_labels: Vec::new(),
            error_percent: 0,
            latency: Duration::ZERO,
        }
    }
}

impl Config {
    /// Checks the settings that the types alone do not: every failing dependency and omitted
    /// header is known, the redirect status is a 3xx, the scheme and sizes are sane.
    pub fn validate(&self) -> Result<(), String> {
        for name in &self.failing_dependencies {
            if !self.dependencies.contains(name) {
                return Err(format!(
                    "failing dependency {name:?} is not a dependency (have: {})",
                    self.dependencies.join(", ")
                ));
            }
        }
        for name in &self.omit_headers {
            if !SECURITY_HEADERS
                .iter()
                .any(|(known, _)| known.eq_ignore_ascii_case(name))
            {
                return Err(format!(
                    "omitted header {name:?} is not one of the security headers ({})",
                    SECURITY_HEADERS.map(|(known, _)| known).join(", ")
                ));
            }
        }
        if let Some(name) = self.dependencies.iter().find(|name| name.is_empty()) {
            return Err(format!("dependency name {name:?} is empty"));
        }
        if !self.redirect_status.is_redirection() {
            return Err(format!(
                "redirect status {} is not a 3xx status",
                self.redirect_status.as_u16()
            ));
        }
        if !matches!(self.redirect_scheme.as_str(), "http" | "https") {
            return Err(format!(
                "redirect scheme {:?} must be http or https",
                self.redirect_scheme
            ));
        }
        if self.error_percent > 100 {
            return Err(format!("error percent {} is over 100", self.error_percent));
        }
        if self.latency > Duration::from_millis(MAX_LATENCY_MS) {
            return Err(format!(
                "latency of {} ms is over the limit of {MAX_LATENCY_MS} ms",
                self.latency.as_millis()
            ));
        }
        check_constant_labels(&self.metric_labels)?;
        if self.huge_body_bytes > MAX_HUGE_BODY_BYTES {
            return Err(format!(
                "huge body of {} bytes is over the limit of {MAX_HUGE_BODY_BYTES}",
                self.huge_body_bytes
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid_and_on_loopback() {
        let config = Config::default();
        assert_eq!(config.validate(), Ok(()));
        assert!(config.listen.ip().is_loopback());
        assert_eq!(config.listen.port(), 0);
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let bad = |edit: fn(&mut Config)| {
            let mut config = Config::default();
            edit(&mut config);
            config.validate().unwrap_err()
        };
        assert!(bad(|c| c.failing_dependencies = vec!["redis".into()]).contains("\"redis\""));
        assert!(bad(|c| c.omit_headers = vec!["x-powered-by".into()]).contains("x-powered-by"));
        assert!(bad(|c| c.redirect_status = StatusCode::OK).contains("200"));
        assert!(bad(|c| c.redirect_scheme = "ftp".into()).contains("ftp"));
        assert!(bad(|c| c.huge_body_bytes = u64::MAX).contains("over the limit"));
        assert!(bad(|c| c.dependencies = vec![String::new()]).contains("empty"));
        assert!(bad(|c| c.error_percent = 101).contains("101"));
        assert!(bad(|c| c.metric_labels = vec![("le".into(), "x".into())]).contains("\"le\""));
    }
}
