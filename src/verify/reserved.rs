//! Request headers a check may not set.

use reqwest::header::HeaderName;

/// Headers that steer where and how a request travels rather than what it asks: a check that
/// set Host could reach another virtual host behind the same address than the URL names, and the
/// hop-by-hop ones could smuggle a second request. The CRD refuses the same list.
pub const RESERVED_HEADERS: [&str; 9] = [
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "expect",
];

/// Whether a check may not set `name`: one of [`RESERVED_HEADERS`] or any `Proxy-*` header.
pub(crate) fn reserved_header(name: &HeaderName) -> bool {
    reserved_header_name(name.as_str())
}

/// [`reserved_header`] of a name as written, in any case.
pub(crate) fn reserved_header_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    RESERVED_HEADERS.contains(&name.as_str()) || name.starts_with("proxy-")
}

/// The message of a reserved header, the same as the CRD's rule.
pub(crate) const RESERVED_HEADER_MESSAGE: &str = "this header is set by the client and cannot be set by a check (Host, Connection, Keep-Alive, Transfer-Encoding, TE, Trailer, Upgrade, Content-Length, Expect, Proxy-*)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_that_steer_the_request_are_reserved() {
        for name in [
            "Host",
            "connection",
            "Proxy-Authorization",
            "Transfer-Encoding",
            "TE",
        ] {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            assert!(reserved_header(&name), "{name}");
        }
        for name in ["Authorization", "X-Forwarded-Host", "Accept", "X-Proxy"] {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            assert!(!reserved_header(&name), "{name}");
        }
    }
}
