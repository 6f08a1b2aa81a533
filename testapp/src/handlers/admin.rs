//! The admin API under `/admin`: read the state, switch the mode, fail dependencies, set the
//! injected error share and latency, reset the counters. Admin requests are never delayed, hung, counted or given security headers, so a
//! test can always switch the app back.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::config::MAX_LATENCY_MS;
use crate::mode::Mode;
use crate::state::{AppState, StateSnapshot};

/// `GET /admin/state`: the mode, dependencies, login attempts and request counters as JSON.
pub async fn state(State(state): State<Arc<AppState>>) -> Json<StateSnapshot> {
    Json(state.snapshot())
}

/// `GET /admin/mode`: the current mode's name as plain text.
pub async fn get_mode(State(state): State<Arc<AppState>>) -> String {
    format!("{}\n", state.mode())
}

/// `PUT /admin/mode` with the mode's name as the body (plain text, or a JSON string): switches
/// the mode and answers the new state; 400 naming the valid modes for an unknown one.
pub async fn put_mode(State(state): State<Arc<AppState>>, body: String) -> Response {
    match body.parse::<Mode>() {
        Ok(mode) => {
            let previous = state.set_mode(mode);
            tracing::info!(%previous, %mode, "mode switched");
            Json(state.snapshot()).into_response()
        }
        Err(err) => (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response(),
    }
}

/// `PUT /admin/failing-dependencies` with the names separated by commas or whitespace (an empty
/// body fails none): replaces the failing dependencies and answers the new state; 400 for a
/// name that is not a dependency.
pub async fn put_failing(State(state): State<Arc<AppState>>, body: String) -> Response {
    let names: Vec<String> = body
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    match state.set_failing_dependencies(names) {
        Ok(()) => {
            tracing::info!(failing = ?state.failing_dependencies(), "failing dependencies set");
            Json(state.snapshot()).into_response()
        }
        Err(err) => (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response(),
    }
}

/// `POST /admin/reset`: clears the request counters and the login rate-limit window (the mode
/// and failing dependencies stay) and answers the new state.
pub async fn reset(State(state): State<Arc<AppState>>) -> Json<StateSnapshot> {
    state.reset();
    tracing::info!("counters and rate limit reset");
    Json(state.snapshot())
}

/// `GET /admin/error-percent`: the error share in percent, and a newline.
pub async fn get_error_percent(State(state): State<Arc<AppState>>) -> String {
    format!("{}\n", state.error_percent())
}

/// `PUT /admin/error-percent` with a whole number from 0 to 100 as the body (`5`): from now on
/// exactly that many of every 100 requests to the app's routes answer 500, evenly spread (the
/// sequence starts afresh); answers the new state. 400 for anything else.
pub async fn put_error_percent(State(state): State<Arc<AppState>>, body: String) -> Response {
    let text = body.trim();
    let percent = match text.parse::<u8>() {
        Ok(percent) if percent <= 100 => percent,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                format!("error percent {text:?} is not a whole number from 0 to 100\n"),
            )
                .into_response();
        }
    };
    match state.set_error_percent(percent) {
        Ok(previous) => {
            tracing::info!(previous, percent, "error percent set");
            Json(state.snapshot()).into_response()
        }
        Err(err) => (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response(),
    }
}

/// `GET /admin/latency-ms`: the extra latency in milliseconds, and a newline.
pub async fn get_latency_ms(State(state): State<Arc<AppState>>) -> String {
    format!("{}\n", state.latency().as_millis())
}

/// `PUT /admin/latency-ms` with a whole number of milliseconds as the body (`250`, at most an
/// hour): every request to the app's routes waits that long before it is answered; answers
/// the new state. 400 for anything else.
pub async fn put_latency_ms(State(state): State<Arc<AppState>>, body: String) -> Response {
    let text = body.trim();
    match text.parse::<u64>() {
        Ok(ms) if ms <= MAX_LATENCY_MS => {
            let previous = state.set_latency(Duration::from_millis(ms));
            tracing::info!(?previous, latency_ms = ms, "latency set");
            Json(state.snapshot()).into_response()
        }
        _ => (
            StatusCode::BAD_REQUEST,
            format!("latency {text:?} is not a whole number of milliseconds from 0 to {MAX_LATENCY_MS}\n"),
        )
            .into_response(),
    }
}
