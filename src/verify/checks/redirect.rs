//! `httpsRedirect` checks: plain HTTP must answer with a redirect to HTTPS on the same host.

use url::Url;

use crate::api::HttpsRedirectCheck;
use crate::verify::client::Response;

use super::kind::{Judged, Kind, Problem, Reach};
use super::lint::matches_url;
use super::{Evaluation, either};
use crate::verify::{budget::Round, client::Request};
use futures::future::BoxFuture;

impl Kind for HttpsRedirectCheck {
    fn judge<'a>(
        &'a self,
        _name: &'a str,
        reach: &'a dyn Reach,
        round: &'a Round,
    ) -> BoxFuture<'a, Judged> {
        Box::pin(async move {
            let url = http_url(self, reach.base()).map_err(Problem::Spec)?;
            let response = reach.fetch(Request::get(url.clone()), round).await?;
            Ok((evaluate(self, &url, &response), 1, Some(response.status)))
        })
    }

    fn lint(&self, path: &str) -> Vec<String> {
        match &self.http_url {
            Some(url) if !matches_url(url, "http") => vec![format!(
                "{path}.httpsRedirect.httpURL: {url:?}: httpsRedirect.httpURL must be an absolute http:// URL, e.g. http://dialectic.example.com/"
            )],
            _ => Vec::new(),
        }
    }
}

/// The plain-HTTP URL to request: `httpURL`, else the verification URL with scheme http and
/// path `/` (the port is dropped: plain HTTP is served on its default port).
pub fn http_url(check: &HttpsRedirectCheck, base: &Url) -> Result<Url, String> {
    if let Some(explicit) = &check.http_url {
        return Url::parse(explicit).map_err(|e| format!("httpURL {explicit} is not a URL: {e}"));
    }
    let host = base
        .host_str()
        .ok_or_else(|| format!("{base} has no host to derive the http:// URL from"))?;
    Url::parse(&format!("http://{host}/")).map_err(|e| format!("cannot build http://{host}/: {e}"))
}

/// Judges the answer to the plain-HTTP request made to `requested`.
pub fn evaluate(check: &HttpsRedirectCheck, requested: &Url, response: &Response) -> Evaluation {
    if !check.expect_status.contains(&i32::from(response.status)) {
        return Evaluation::fail(format!(
            "expected a {} redirect from {requested}, got {}",
            either(&check.expect_status),
            response.status
        ));
    }
    let Some(location) = response
        .headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Evaluation::fail(format!(
            "{} redirect has no Location header",
            response.status
        ));
    };
    // A relative Location resolves against the http:// URL, so it can never be https.
    let target = match requested.join(location) {
        Ok(target) => target,
        Err(_) => return Evaluation::fail(format!("Location {location:?} is not a URL")),
    };
    if target.scheme() != "https" {
        return Evaluation::fail(format!(
            "{} redirect to {target} is not https",
            response.status
        ));
    }
    // Hosts are compared without ports: an http→https redirect moves from :80 to :443.
    if target.host() != requested.host() {
        return Evaluation::fail(format!(
            "{} redirect leaves the host: {} instead of {}",
            response.status,
            target.host_str().unwrap_or_default(),
            requested.host_str().unwrap_or_default()
        ));
    }
    Evaluation::pass(format!("{} to {target}", response.status))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use reqwest::header::{HeaderMap, HeaderValue, LOCATION};

    use super::*;

    fn answer(status: u16, location: Option<&str>) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(location) = location {
            headers.insert(LOCATION, HeaderValue::from_str(location).unwrap());
        }
        Response {
            status,
            headers,
            body: Bytes::new(),
            truncated: false,
            latency: Duration::from_millis(1),
        }
    }

    fn requested() -> Url {
        Url::parse("http://dialectic.example.com/").unwrap()
    }

    #[test]
    fn the_default_url_is_the_verification_host_over_http() {
        let base = Url::parse("https://dialectic.example.com:8443/app").unwrap();
        let url = http_url(&HttpsRedirectCheck::default(), &base).unwrap();
        assert_eq!(url.as_str(), "http://dialectic.example.com/");
    }

    #[test]
    fn a_permanent_redirect_to_https_on_the_same_host_passes() {
        let eval = evaluate(
            &HttpsRedirectCheck::default(),
            &requested(),
            &answer(301, Some("https://dialectic.example.com/")),
        );
        assert!(eval.passed, "{}", eval.message);
        assert_eq!(eval.message, "301 to https://dialectic.example.com/");
    }

    #[test]
    fn no_redirect_fails() {
        let eval = evaluate(
            &HttpsRedirectCheck::default(),
            &requested(),
            &answer(200, None),
        );
        assert_eq!(
            eval.message,
            "expected a 301 or 308 redirect from http://dialectic.example.com/, got 200"
        );
    }

    #[test]
    fn a_temporary_redirect_fails_unless_expected() {
        let eval = evaluate(
            &HttpsRedirectCheck::default(),
            &requested(),
            &answer(302, Some("https://dialectic.example.com/")),
        );
        assert!(!eval.passed);
        let allow_302 = HttpsRedirectCheck {
            expect_status: vec![302],
            ..HttpsRedirectCheck::default()
        };
        let eval = evaluate(
            &allow_302,
            &requested(),
            &answer(302, Some("https://dialectic.example.com/")),
        );
        assert!(eval.passed);
    }

    #[test]
    fn a_redirect_to_http_fails() {
        let eval = evaluate(
            &HttpsRedirectCheck::default(),
            &requested(),
            &answer(301, Some("/login")),
        );
        assert_eq!(
            eval.message,
            "301 redirect to http://dialectic.example.com/login is not https"
        );
    }

    #[test]
    fn a_redirect_to_another_host_fails() {
        let eval = evaluate(
            &HttpsRedirectCheck::default(),
            &requested(),
            &answer(308, Some("https://evil.example.net/")),
        );
        assert_eq!(
            eval.message,
            "308 redirect leaves the host: evil.example.net instead of dialectic.example.com"
        );
    }

    #[test]
    fn a_redirect_without_location_fails() {
        let eval = evaluate(
            &HttpsRedirectCheck::default(),
            &requested(),
            &answer(301, None),
        );
        assert_eq!(eval.message, "301 redirect has no Location header");
    }
}
