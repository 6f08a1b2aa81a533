//! The behaviours the test app can play, chosen by `--mode` and switchable at run time through
//! `PUT /admin/mode`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How the app behaves. Exactly one mode is active at a time; the admin endpoints are never
/// affected by it, so a test can always switch back.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Everything answers as a well-deployed seed app does.
    #[default]
    Healthy,
    /// Health endpoints answer 503 with `"status":"unhealthy"` and every dependency failing.
    Unhealthy,
    /// Every response (except admin) is delayed by `--delay-ms`.
    Slow,
    /// No security headers on any response.
    MissingHeaders,
    /// The plain-HTTP redirect listener answers 200 instead of redirecting to https.
    NoRedirect,
    /// The login endpoint never answers 429.
    NoRateLimit,
    /// Health endpoints answer 200 with a body that claims to be JSON but is HTML.
    GarbageJson,
    /// Health endpoints answer 200 with a streamed multi-megabyte (valid JSON) body.
    HugeBody,
    /// Every request (except admin) is accepted and never answered, until shutdown or
    /// `--hang-max-secs` passes.
    Hang,
    /// Every request (except admin) is refused with 401 and its Authorization header echoed
    /// back in the body (as text and as JSON values), in a `WWW-Authenticate` header and as a
    /// dependency: what an app does that prints the token it rejects.
    Echo,
    /// `POST /users/log_in` answers 500: the release that broke sign-in (the health endpoints
    /// still pass, so only a functional flow finds it).
    BrokenLogin,
}

impl Mode {
    /// Every mode, in documentation order.
    pub const ALL: [Mode; 11] = [
        Mode::Healthy,
        Mode::Unhealthy,
        Mode::Slow,
        Mode::MissingHeaders,
        Mode::NoRedirect,
        Mode::NoRateLimit,
        Mode::GarbageJson,
        Mode::HugeBody,
        Mode::Hang,
        Mode::Echo,
        Mode::BrokenLogin,
    ];

    /// The kebab-case name used by `--mode`, the admin API and `GET /admin/state`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Healthy => "healthy",
            Mode::Unhealthy => "unhealthy",
            Mode::Slow => "slow",
            Mode::MissingHeaders => "missing-headers",
            Mode::NoRedirect => "no-redirect",
            Mode::NoRateLimit => "no-rate-limit",
            Mode::GarbageJson => "garbage-json",
            Mode::HugeBody => "huge-body",
            Mode::Hang => "hang",
            Mode::Echo => "echo",
            Mode::BrokenLogin => "broken-login",
        }
    }

    /// The names of all modes joined by `", "`, for error messages.
    pub fn names() -> String {
        Mode::ALL.map(Mode::as_str).join(", ")
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a name that is not a mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMode(pub String);

impl fmt::Display for UnknownMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown mode {:?}; expected one of: {}",
            self.0,
            Mode::names()
        )
    }
}

impl std::error::Error for UnknownMode {}

impl FromStr for Mode {
    type Err = UnknownMode;

    /// Parses a mode name; surrounding whitespace and double quotes (a JSON string body) are
    /// ignored, case is not.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().trim_matches('"').trim();
        Mode::ALL
            .into_iter()
            .find(|mode| mode.as_str() == name)
            .ok_or_else(|| UnknownMode(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn names_round_trip_through_from_str_serde_and_clap() {
        for mode in Mode::ALL {
            assert_eq!(mode.as_str().parse::<Mode>(), Ok(mode));
            assert_eq!(
                serde_json::to_string(&mode).unwrap(),
                format!("\"{}\"", mode.as_str())
            );
            assert_eq!(
                <Mode as ValueEnum>::from_str(mode.as_str(), false),
                Ok(mode)
            );
        }
    }

    #[test]
    fn parsing_tolerates_whitespace_and_json_quotes() {
        assert_eq!(" \"unhealthy\"\n".parse::<Mode>(), Ok(Mode::Unhealthy));
        assert_eq!("hang\n".parse::<Mode>(), Ok(Mode::Hang));
    }

    #[test]
    fn unknown_mode_lists_the_valid_ones() {
        let err = "sleepy".parse::<Mode>().unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("unknown mode \"sleepy\""), "{message}");
        assert!(message.contains("missing-headers"), "{message}");
    }
}
