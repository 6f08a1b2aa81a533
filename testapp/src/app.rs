//! The two routers (the app on the main listener, the redirect side on the plain-HTTP
//! listener) and the middleware that plays the modes that touch every response.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use crate::config::{ALLOWED_ORIGIN, SECURITY_HEADERS};
use crate::handlers::{accounts, admin, health, login, pages, redirect};
use crate::metrics::{self, OTHER_PATH};
use crate::mode::Mode;
use crate::state::{AppState, Listener};

/// The health endpoints, which the error share never fails (the injected latency still applies).
pub const HEALTH_ROUTES: [&str; 3] = ["/health", "/health/deep", "/api/health"];

/// The largest request body read (login and admin bodies are tiny).
pub const MAX_REQUEST_BODY: usize = 64 * 1024;

/// The main listener's router: the seed app's endpoints behind the metrics, counting, mode,
/// security-header and fault middleware, and `/metrics` and the admin API under `/admin`
/// outside of it.
pub fn router(state: Arc<AppState>) -> Router {
    let app = Router::new()
        .route("/", get(pages::home))
        .route("/health", get(health::health))
        .route("/health/deep", get(health::deep))
        .route("/api/health", get(health::api))
        .route("/users/log_in", get(login::page).post(login::log_in))
        .route("/users/register", post(accounts::register))
        .route("/api/graphs", post(accounts::create_graph))
        .route("/api/graphs/{id}", get(accounts::graph))
        .fallback(pages::not_found)
        // Layers run outside-in in the reverse order of these calls: observe (the metrics see
        // the final status and the whole time taken), count, then the mode's delay or hang,
        // then the headers on whatever is answered, then the injected latency and errors.
        .layer(middleware::from_fn_with_state(state.clone(), inject_faults))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), play_mode))
        .layer(middleware::from_fn_with_state(state.clone(), count_main))
        .layer(middleware::from_fn_with_state(state.clone(), observe));
    let admin = Router::new()
        .route("/admin/state", get(admin::state))
        .route("/admin/mode", get(admin::get_mode).put(admin::put_mode))
        .route("/admin/failing-dependencies", put(admin::put_failing))
        .route("/admin/reset", post(admin::reset))
        .route(
            "/admin/error-percent",
            get(admin::get_error_percent).put(admin::put_error_percent),
        )
        .route(
            "/admin/latency-ms",
            get(admin::get_latency_ms).put(admin::put_latency_ms),
        )
        .route("/metrics", get(serve_metrics));
    app.merge(admin)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY))
        .with_state(state)
}

/// The redirect listener's router: every request is counted, delayed or hung by the mode like
/// the app's, then redirected to https (see [`redirect::redirect`]).
pub fn redirect_router(state: Arc<AppState>) -> Router {
    Router::new()
        .fallback(redirect::redirect)
        .layer(middleware::from_fn_with_state(state.clone(), play_mode))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_redirect,
        ))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY))
        .with_state(state)
}

/// `GET /metrics`: the app's metrics in the OpenMetrics text format.
async fn serve_metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics().encode(),
    )
        .into_response()
}

/// Records every answered request in the metrics, by its route's template: a path no route
/// matched (the fallback) is `other`, so random paths cannot add series.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(OTHER_PATH, MatchedPath::as_str)
        .to_owned();
    let method = request.method().clone();
    let started = tokio::time::Instant::now();
    let response = next.run(request).await;
    state
        .metrics()
        .observe(&path, &method, response.status(), started.elapsed());
    response
}

/// The injected faults, in every mode that answers: first the extra latency (cut short by
/// shutdown), then, on every route but the health endpoints, the error share's verdict: 500
/// instead of the handler's answer.
async fn inject_faults(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let latency = state.latency();
    if !latency.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(latency) => {}
            () = state.shutdown_token().cancelled() => {}
        }
    }
    // The health endpoints stay healthy: the fault plays an app whose probes and health checks
    // pass while a share of its users' requests fail, which only metrics can see.
    let health = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| HEALTH_ROUTES.contains(&path.as_str()));
    if !health && state.next_request_fails() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal server error (injected: --error-percent)\n",
        )
            .into_response();
    }
    next.run(request).await
}

async fn count_main(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    tracing::debug!(method = %request.method(), path = request.uri().path(), "request");
    state.count_request(Listener::Main, request.uri().path());
    if let Some(parent) = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        state.record_trace_parent(parent);
    }
    next.run(request).await
}

async fn count_redirect(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    tracing::debug!(method = %request.method(), path = request.uri().path(), "redirect-side request");
    state.count_request(Listener::Redirect, request.uri().path());
    next.run(request).await
}

/// `slow`: wait `--delay-ms` (cut short by shutdown), then answer. `hang`: never answer, until
/// shutdown (503) or `--hang-max-secs` (504). Sleeping awaits a timer, so neither holds a CPU.
async fn play_mode(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    match state.mode() {
        Mode::Slow => {
            tokio::select! {
                () = tokio::time::sleep(state.config().delay) => {}
                () = state.shutdown_token().cancelled() => {}
            }
            next.run(request).await
        }
        Mode::Hang => {
            tokio::select! {
                () = tokio::time::sleep(state.config().hang_max) => {
                    (StatusCode::GATEWAY_TIMEOUT, "hung until --hang-max-secs\n").into_response()
                }
                () = state.shutdown_token().cancelled() => {
                    (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
                }
            }
        }
        Mode::Echo => echo(&request),
        _ => next.run(request).await,
    }
}

/// `echo`: 401 with the request's Authorization header in every place a careless app puts it.
fn echo(request: &Request) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    let body = serde_json::json!({
        "status": token,
        "error": format!("invalid token: {token}"),
        "checks": {"auth": {"status": token}},
        "dependencies": {"auth": token},
    });
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("Bearer error=\"invalid_token\" {token}")) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Adds the five security headers to every response (the CSP with a fresh nonce, as seed 001's
/// app sends it), except in `missing-headers` mode and those left out by `--omit-header`; and
/// answers CORS as an app configured "for specific domains only" does (seed 002): a request
/// from [`ALLOWED_ORIGIN`] is allowed by name, any other origin gets no CORS header, and a
/// preflight (OPTIONS with an Origin) is answered 204.
async fn security_headers(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let preflight = request.method() == axum::http::Method::OPTIONS && origin.is_some();
    let mut response = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    if let Some(origin) = origin.filter(|o| o.as_bytes() == ALLOWED_ORIGIN.as_bytes()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, HeaderValue::from_static("origin"));
        if preflight {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
        }
    }
    if state.mode() == Mode::MissingHeaders {
        return response;
    }
    let omitted = &state.config().omit_headers;
    for (name, value) in SECURITY_HEADERS {
        if omitted.iter().any(|omit| omit.eq_ignore_ascii_case(name)) {
            continue;
        }
        let value = if name == "content-security-policy" {
            HeaderValue::from_str(&format!("{value}; script-src 'self' 'nonce-{}'", nonce()))
                .unwrap_or(HeaderValue::from_static(value))
        } else {
            HeaderValue::from_static(value)
        };
        headers.insert(HeaderName::from_static(name), value);
    }
    response
}

/// A value used once per response: 24 hex digits, different for every response of the process.
fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Spread by an odd multiplier so consecutive nonces do not share their digits.
    format!(
        "{:016x}{:08x}",
        (n + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        std::process::id()
    )
}
