//! The command line of `checklist-testapp`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use clap::Parser;

use crate::config::{Config, DEFAULT_LOGIN_PASSWORD};
use crate::metrics::parse_constant_label;
use crate::mode::Mode;

/// A small HTTP server that plays a seed web app (Dialectic, Rachel Web, vel_tutor), healthy or
/// broken on demand, for checklist-operator's tests and demo.
///
/// The first line on stdout is `listening on http://ADDR:PORT`; with --http-listen the second
/// is `redirect listening on http://ADDR:PORT`. Logs go to stderr (RUST_LOG, default info).
/// The mode can be switched at run time with `PUT /admin/mode`.
#[derive(Clone, Debug, Parser)]
#[command(name = "checklist-testapp", version)]
pub struct Args {
    /// Address of the main listener (the app); port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    /// Address of an extra plain-HTTP listener that answers every request with a redirect to
    /// https on the same host (the HTTPS-redirect check's target).
    #[arg(long, value_name = "ADDR")]
    pub http_listen: Option<SocketAddr>,

    /// The mode at start.
    #[arg(long, value_enum, default_value_t = Mode::Healthy)]
    pub mode: Mode,

    /// Delay of every response in `slow` mode, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1500)]
    pub delay_ms: u64,

    /// A dependency reported by /health/deep and /api/health; repeat or separate with commas.
    #[arg(
        long = "dependency",
        value_name = "NAME",
        value_delimiter = ',',
        default_values_t = ["database".to_owned(), "oban".to_owned()]
    )]
    pub dependencies: Vec<String>,

    /// A dependency reported as failing (deep health 503 "degraded"); repeat or separate with
    /// commas. Must be one of the --dependency names.
    #[arg(
        long = "failing-dependency",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub failing_dependencies: Vec<String>,

    /// Login attempts allowed per window; the next one answers 429.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub rate_limit_after: u32,

    /// Length of the fixed rate-limit window, started by the first attempt, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub rate_limit_window_secs: u64,

    /// The password POST /users/log_in accepts (200); any other gets 401.
    #[arg(long, value_name = "PASSWORD", default_value = DEFAULT_LOGIN_PASSWORD)]
    pub login_password: String,

    /// Size of a health body in `huge-body` mode, in bytes (at most 1 GiB).
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
    pub huge_body_bytes: u64,

    /// In `hang` mode, answer 504 after this many seconds (shutdown ends a hang sooner).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub hang_max_secs: u64,

    /// Status of the redirect listener's answer (a 3xx; 302 makes a failing case).
    #[arg(long, value_name = "CODE", default_value_t = 301, value_parser = clap::value_parser!(u16).range(300..=399))]
    pub redirect_status: u16,

    /// Scheme of the redirect's Location (http makes a failing case).
    #[arg(long, value_name = "SCHEME", default_value = "https", value_parser = ["http", "https"])]
    pub redirect_scheme: String,

    /// Host of the redirect's Location instead of the request's Host (another host makes a
    /// failing case).
    #[arg(long, value_name = "HOST")]
    pub redirect_host: Option<String>,

    /// A security header left out even in healthy mode; repeat or separate with commas.
    #[arg(long = "omit-header", value_name = "NAME", value_delimiter = ',')]
    pub omit_headers: Vec<String>,

    /// The version the health bodies report.
    #[arg(long, value_name = "VERSION", default_value = env!("CARGO_PKG_VERSION"))]
    pub app_version: String,

    /// On shutdown, wait this long for in-flight requests before abandoning them, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub shutdown_grace_secs: u64,

    /// Exit by itself after this many seconds (a safety net for orphaned test servers).
    #[arg(long, value_name = "SECS")]
    pub exit_after_secs: Option<u64>,

    /// A label added to every series of GET /metrics (revision=abc123, app=web); repeat for
    /// more.
    #[arg(long = "metric-label", value_name = "KEY=VALUE", value_parser = parse_constant_label)]
    pub metric_labels: Vec<(String, String)>,

    /// The share of requests to the app's routes answered 500, in percent: exactly P of every
    /// 100, evenly spread (5: every 20th). The health endpoints, /metrics and /admin are
    /// never failed.
    #[arg(long, value_name = "P", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub error_percent: u8,

    /// An extra delay before every request to the app's routes is answered, in milliseconds,
    /// in every mode (unlike --delay-ms, which only `slow` mode uses).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
}

impl Args {
    /// The configuration these flags describe, validated.
    pub fn to_config(&self) -> Result<Config, String> {
        let redirect_status = StatusCode::from_u16(self.redirect_status)
            .map_err(|err| format!("--redirect-status {}: {err}", self.redirect_status))?;
        let config = Config {
            listen: self.listen,
            http_listen: self.http_listen,
            mode: self.mode,
            delay: Duration::from_millis(self.delay_ms),
            dependencies: self.dependencies.clone(),
            failing_dependencies: self.failing_dependencies.clone(),
            rate_limit_after: self.rate_limit_after,
            rate_limit_window: Duration::from_secs(self.rate_limit_window_secs),
            login_password: self.login_password.clone(),
            huge_body_bytes: self.huge_body_bytes,
            hang_max: Duration::from_secs(self.hang_max_secs),
            redirect_status,
            redirect_scheme: self.redirect_scheme.clone(),
            redirect_host: self.redirect_host.clone(),
            omit_headers: self.omit_headers.clone(),
            app_version: self.app_version.clone(),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            metric_labels: self.metric_labels.clone(),
            error_percent: self.error_percent,
            latency: Duration::from_millis(self.latency_ms),
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("checklist-testapp").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_match_config_default() {
        let config = parse(&[]).unwrap().to_config().unwrap();
        let default = Config::default();
        assert_eq!(config.listen, default.listen);
        assert_eq!(config.http_listen, None);
        assert_eq!(config.mode, Mode::Healthy);
        assert_eq!(config.delay, default.delay);
        assert_eq!(config.dependencies, default.dependencies);
        assert_eq!(config.rate_limit_after, 5);
        assert_eq!(config.rate_limit_window, default.rate_limit_window);
        assert_eq!(config.huge_body_bytes, default.huge_body_bytes);
        assert_eq!(config.hang_max, default.hang_max);
        assert_eq!(config.redirect_status, StatusCode::MOVED_PERMANENTLY);
        assert_eq!(config.redirect_scheme, "https");
        assert_eq!(config.app_version, default.app_version);
        assert_eq!(config.metric_labels, default.metric_labels);
        assert_eq!(config.error_percent, 0);
        assert_eq!(config.latency, Duration::ZERO);
    }

    #[test]
    fn metric_labels_repeat_and_faults_are_bounded() {
        let config = parse(&[
            "--metric-label",
            "revision=abc123",
            "--metric-label",
            "app=web",
            "--error-percent",
            "5",
            "--latency-ms",
            "250",
        ])
        .unwrap()
        .to_config()
        .unwrap();
        assert_eq!(
            config.metric_labels,
            [
                ("revision".to_owned(), "abc123".to_owned()),
                ("app".to_owned(), "web".to_owned())
            ]
        );
        assert_eq!(config.error_percent, 5);
        assert_eq!(config.latency, Duration::from_millis(250));
        assert!(parse(&["--error-percent", "101"]).is_err());
        assert!(parse(&["--metric-label", "revision"]).is_err());
        let err = parse(&["--metric-label", "status=x"])
            .unwrap()
            .to_config()
            .unwrap_err();
        assert!(err.contains("\"status\""), "{err}");
        let err = parse(&["--latency-ms", "3600001"])
            .unwrap()
            .to_config()
            .unwrap_err();
        assert!(err.contains("over the limit"), "{err}");
    }

    #[test]
    fn lists_repeat_or_split_on_commas_and_replace_the_default() {
        let args = parse(&[
            "--dependency",
            "database,openai",
            "--dependency",
            "groq",
            "--failing-dependency",
            "groq",
            "--mode",
            "missing-headers",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .unwrap();
        let config = args.to_config().unwrap();
        assert_eq!(config.dependencies, ["database", "openai", "groq"]);
        assert_eq!(config.failing_dependencies, ["groq"]);
        assert_eq!(config.mode, Mode::MissingHeaders);
        assert!(config.http_listen.is_some());
    }

    #[test]
    fn bad_flags_are_refused_with_a_reason() {
        assert!(parse(&["--mode", "sleepy"]).is_err());
        assert!(parse(&["--redirect-status", "200"]).is_err());
        assert!(parse(&["--redirect-scheme", "ftp"]).is_err());
        let err = parse(&["--failing-dependency", "redis"])
            .unwrap()
            .to_config()
            .unwrap_err();
        assert!(err.contains("\"redis\""), "{err}");
    }
}
