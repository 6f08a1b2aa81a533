//! The admin API under `/admin`: read the state, switch the mode, fail dependencies, reset the
//! counters. Admin requests are never delayed, hung, counted or given security headers, so a
//! test can always switch the app back.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

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
