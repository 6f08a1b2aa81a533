//! The two routers (the app on the main listener, the redirect side on the plain-HTTP
//! listener) and the middleware that plays the modes that touch every response.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use crate::config::SECURITY_HEADERS;
use crate::handlers::{admin, health, login, pages, redirect};
use crate::mode::Mode;
use crate::state::{AppState, Listener};

/// The largest request body read (login and admin bodies are tiny).
pub const MAX_REQUEST_BODY: usize = 64 * 1024;

/// The main listener's router: the seed app's endpoints behind the counting, mode and
/// security-header middleware, and the admin API under `/admin` outside of it.
pub fn router(state: Arc<AppState>) -> Router {
    let app = Router::new()
        .route("/", get(pages::home))
        .route("/health", get(health::health))
        .route("/health/deep", get(health::deep))
        .route("/api/health", get(health::api))
        .route("/users/log_in", get(login::page).post(login::log_in))
        .fallback(pages::not_found)
        // Layers run outside-in in the reverse order of these calls: count, then the mode's
        // delay or hang, then the headers on whatever the handler answered.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), play_mode))
        .layer(middleware::from_fn_with_state(state.clone(), count_main));
    let admin = Router::new()
        .route("/admin/state", get(admin::state))
        .route("/admin/mode", get(admin::get_mode).put(admin::put_mode))
        .route("/admin/failing-dependencies", put(admin::put_failing))
        .route("/admin/reset", post(admin::reset));
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

async fn count_main(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    tracing::debug!(method = %request.method(), path = request.uri().path(), "request");
    state.count_request(Listener::Main, request.uri().path());
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

/// Adds the five security headers to every response, except in `missing-headers` mode and
/// those left out by `--omit-header`.
async fn security_headers(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if state.mode() == Mode::MissingHeaders {
        return response;
    }
    let omitted = &state.config().omit_headers;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !omitted.iter().any(|omit| omit.eq_ignore_ascii_case(name)) {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
    }
    response
}
