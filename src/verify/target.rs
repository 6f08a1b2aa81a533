//! Where a check's request goes: the verification URL with the check's path appended, which may
//! never name a scheme, host or port of its own.
//!
//! The path is text a tenant wrote, glued after the base URL's text; without these rules
//! `:18081/ok` would change the port, `@evil.example/x` the host, and `//x` or `/\x` would read as
//! a host to some URL parsers. The CRD's pattern refuses them at the API server; this is the same
//! rule where the URL is built, for objects that bypassed it and for `verify`'s files.

use url::Url;

/// Why a path is refused, or `Ok` for one that is only a path (and maybe a query).
pub fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("path {path:?} must start with /"));
    }
    if path.starts_with("//") {
        return Err(format!(
            "path {path:?} must not start with // (it would name a host)"
        ));
    }
    if path.contains('\\') {
        return Err(format!(
            "path {path:?} must not contain \\ (URL parsers read it as /)"
        ));
    }
    // ASCII only, as the CRD's pattern (RE2) has it: other characters are percent-encoded.
    if path
        .chars()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(format!(
            "path {path:?} must not contain blanks or control characters"
        ));
    }
    Ok(())
}

/// Appends a check's path (which may carry a query) to the base URL's path, as the spec
/// documents: `https://x/app` + `/health` is `https://x/app/health`. Refuses a path that
/// [`check_path`] refuses or that, appended, would reach another scheme, host or port.
pub fn join(base: &Url, path: &str) -> Result<Url, String> {
    check_path(path)?;
    let prefix = base.as_str().trim_end_matches('/');
    let joined = Url::parse(&format!("{prefix}{path}"))
        .map_err(|e| format!("path {path:?} does not make a URL: {e}"))?;
    let same_origin = joined.scheme() == base.scheme()
        && joined.host() == base.host()
        && joined.port_or_known_default() == base.port_or_known_default();
    if !same_origin {
        return Err(format!(
            "path {path:?} would leave {}",
            base.origin().ascii_serialization()
        ));
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_appended_to_the_base_path() {
        let base = Url::parse("https://dialectic.example.com").unwrap();
        assert_eq!(
            join(&base, "/health").unwrap().as_str(),
            "https://dialectic.example.com/health"
        );
        let base = Url::parse("https://example.com/app/").unwrap();
        assert_eq!(
            join(&base, "/health/deep?full=1").unwrap().as_str(),
            "https://example.com/app/health/deep?full=1"
        );
        assert_eq!(
            join(&base, "/").unwrap().as_str(),
            "https://example.com/app/"
        );
    }

    #[test]
    fn a_path_cannot_name_a_scheme_host_or_port() {
        let base = Url::parse("http://127.0.0.1:18080").unwrap();
        let table = [
            (":18081/ok", "must start with /"),
            ("@evil.example/x", "must start with /"),
            (".evil.example/x", "must start with /"),
            ("http://evil.example/x", "must start with /"),
            ("//evil.example/x", "must not start with //"),
            ("/\\evil.example/x", "must not contain \\"),
            ("/ok x", "must not contain blanks"),
            ("/ok\n", "must not contain blanks"),
            ("", "must start with /"),
        ];
        for (path, reason) in table {
            let error = join(&base, path).unwrap_err();
            assert!(error.contains(reason), "{path:?}: {error}");
        }
        let hostless = Url::parse("http://127.0.0.1").unwrap();
        assert!(join(&hostless, ":18081/ok").is_err());
    }

    #[test]
    fn dot_segments_stay_on_the_same_origin() {
        let base = Url::parse("http://127.0.0.1:18080/app").unwrap();
        let joined = join(&base, "/../../etc/x").unwrap();
        assert_eq!(joined.as_str(), "http://127.0.0.1:18080/etc/x");
    }
}
