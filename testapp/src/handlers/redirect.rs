//! The plain-HTTP side (`--http-listen`): every request, any method and path, is redirected to
//! the same host and path over https, as Phoenix's `force_ssl` does.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::mode::Mode;
use crate::state::AppState;

/// Any request on the redirect listener: `--redirect-status` (301) with
/// `Location: <scheme>://<host><path and query>`, where the host is the request's `Host`
/// without its port (or `--redirect-host`). In `no-redirect` mode it answers 200 instead.
pub async fn redirect(State(state): State<Arc<AppState>>, request: Request) -> Response {
    if state.mode() == Mode::NoRedirect {
        return Html("<!doctype html><html><body>plain http, no redirect</body></html>")
            .into_response();
    }
    let config = state.config();
    let Some(host) = config
        .redirect_host
        .clone()
        .or_else(|| request_host(&request))
    else {
        return (StatusCode::BAD_REQUEST, "missing Host header\n").into_response();
    };
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |path_and_query| path_and_query.as_str());
    let location = format!("{}://{host}{path}", config.redirect_scheme);
    match HeaderValue::try_from(location) {
        Ok(location) => (config.redirect_status, [(header::LOCATION, location)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad Host header\n").into_response(),
    }
}

/// The host the client asked for, without the port: from the `Host` header, or from the URI
/// of an absolute-form request. IPv6 hosts keep their brackets (`[::1]`).
pub fn request_host(request: &Request) -> Option<String> {
    let from_header = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| Authority::from_str(value).ok())
        .map(|authority| authority.host().to_owned());
    from_header
        .or_else(|| request.uri().host().map(str::to_owned))
        .filter(|host| !host.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn host_of(host: &str) -> Option<String> {
        let request = Request::builder()
            .uri("/x")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        request_host(&request)
    }

    #[test]
    fn the_port_is_dropped_and_ipv6_keeps_brackets() {
        assert_eq!(host_of("127.0.0.1:8080").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            host_of("app.example.com").as_deref(),
            Some("app.example.com")
        );
        assert_eq!(host_of("[::1]:8080").as_deref(), Some("[::1]"));
        assert_eq!(host_of("bad host"), None);
    }
}
