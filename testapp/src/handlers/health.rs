//! The health endpoints, in the shapes of the seed apps:
//!
//! - `GET /health` (Dialectic): `{"status":"ok","timestamp":"..."}`
//! - `GET /health/deep` (Dialectic, Rachel Web): `{"status":"ok","version":"...",
//!   "checks":{"database":{"status":"pass"},...},"timestamp":"..."}`
//! - `GET /api/health` (vel_tutor): `{"status":"healthy","timestamp":"...","uptime":"0h 5m",
//!   "version":"...","dependencies":{"database":"connected",...}}`

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use serde_json::{Map, Value, json};

use super::timestamp;
use crate::mode::Mode;
use crate::state::AppState;

/// The body of every health endpoint in `garbage-json` mode: HTML served as JSON.
pub const GARBAGE_BODY: &str = "<html><body>oops</body></html>";

/// The size of the chunks a huge body is streamed in.
pub const HUGE_BODY_CHUNK: usize = 64 * 1024;

/// The padding a huge body is made of, shared by every chunk (no allocation per response).
static PADDING: [u8; HUGE_BODY_CHUNK] = [b'a'; HUGE_BODY_CHUNK];

/// `GET /health`: 200 `{"status":"ok",...}`, or 503 `{"status":"unhealthy",...}` in
/// `unhealthy` mode. Failing dependencies do not affect it (it is the shallow liveness check).
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    match state.mode() {
        Mode::Unhealthy => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unhealthy", "timestamp": timestamp()})),
        )
            .into_response(),
        mode => broken_body(mode, &state).unwrap_or_else(|| {
            Json(json!({"status": "ok", "timestamp": timestamp()})).into_response()
        }),
    }
}

/// `GET /health/deep`: one `{"status":"pass"|"fail"}` per dependency under `checks`; 200 with
/// `"ok"` when all pass, 503 with `"degraded"` when some fail, 503 with `"unhealthy"` and every
/// dependency failing in `unhealthy` mode.
pub async fn deep(State(state): State<Arc<AppState>>) -> Response {
    let mode = state.mode();
    if let Some(response) = broken_body(mode, &state) {
        return response;
    }
    let verdict = Verdict::of(&state, mode);
    let checks: Map<String, Value> = verdict
        .dependencies
        .iter()
        .map(|(name, ok)| {
            let status = if *ok { "pass" } else { "fail" };
            (name.clone(), json!({ "status": status }))
        })
        .collect();
    let status = match verdict.overall {
        Overall::Ok => "ok",
        Overall::Degraded => "degraded",
        Overall::Unhealthy => "unhealthy",
    };
    let body = json!({
        "status": status,
        "version": state.config().app_version,
        "checks": checks,
        "timestamp": timestamp(),
    });
    (verdict.status_code(), Json(body)).into_response()
}

/// `GET /api/health`: vel_tutor's shape, `"healthy"`/`"degraded"`/`"unhealthy"` with
/// `"connected"`/`"disconnected"` per dependency; 503 unless healthy.
pub async fn api(State(state): State<Arc<AppState>>) -> Response {
    let mode = state.mode();
    if let Some(response) = broken_body(mode, &state) {
        return response;
    }
    let verdict = Verdict::of(&state, mode);
    let dependencies: Map<String, Value> = verdict
        .dependencies
        .iter()
        .map(|(name, ok)| {
            let status = if *ok { "connected" } else { "disconnected" };
            (name.clone(), Value::from(status))
        })
        .collect();
    let status = match verdict.overall {
        Overall::Ok => "healthy",
        Overall::Degraded => "degraded",
        Overall::Unhealthy => "unhealthy",
    };
    let uptime = state.uptime().as_secs();
    let body = json!({
        "status": status,
        "timestamp": timestamp(),
        "uptime": format!("{}h {}m", uptime / 3600, uptime % 3600 / 60),
        "version": state.config().app_version,
        "dependencies": dependencies,
    });
    (verdict.status_code(), Json(body)).into_response()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Overall {
    Ok,
    Degraded,
    Unhealthy,
}

/// Which dependencies pass, and what that makes of the whole.
struct Verdict {
    dependencies: Vec<(String, bool)>,
    overall: Overall,
}

impl Verdict {
    fn of(state: &AppState, mode: Mode) -> Verdict {
        let failing = state.failing_dependencies();
        let unhealthy = mode == Mode::Unhealthy;
        let dependencies: Vec<(String, bool)> = state
            .config()
            .dependencies
            .iter()
            .map(|name| (name.clone(), !unhealthy && !failing.contains(name)))
            .collect();
        let overall = if unhealthy {
            Overall::Unhealthy
        } else if dependencies.iter().any(|(_, ok)| !ok) {
            Overall::Degraded
        } else {
            Overall::Ok
        };
        Verdict {
            dependencies,
            overall,
        }
    }

    fn status_code(&self) -> StatusCode {
        match self.overall {
            Overall::Ok => StatusCode::OK,
            Overall::Degraded | Overall::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The body a health endpoint answers in the modes that break the body itself.
fn broken_body(mode: Mode, state: &AppState) -> Option<Response> {
    match mode {
        Mode::GarbageJson => {
            Some(([(header::CONTENT_TYPE, "application/json")], GARBAGE_BODY).into_response())
        }
        Mode::HugeBody => Some(huge_body(state.config().huge_body_bytes)),
        _ => None,
    }
}

/// A 200 JSON body of `total` bytes (at least the 29 bytes of its frame):
/// `{"status":"ok","padding":"aaaa…"}`, streamed in chunks of [`HUGE_BODY_CHUNK`] without a
/// content-length, so a client that reads it all sees valid JSON and only a body cap stops it.
pub fn huge_body(total: u64) -> Response {
    const PREFIX: &[u8] = br#"{"status":"ok","padding":""#;
    const SUFFIX: &[u8] = br#""}"#;
    let frame = (PREFIX.len() + SUFFIX.len()) as u64;
    let padding = total.saturating_sub(frame);
    let chunk = HUGE_BODY_CHUNK as u64;
    let middle = stream::unfold(padding, move |left| async move {
        if left == 0 {
            return None;
        }
        let size = left.min(chunk);
        // size <= HUGE_BODY_CHUNK, so the conversion and the slice are in bounds.
        let size_usize = usize::try_from(size).unwrap_or(HUGE_BODY_CHUNK);
        let bytes = Bytes::from_static(&PADDING[..size_usize]);
        Some((Ok::<_, Infallible>(bytes), left - size))
    });
    let prefix = stream::once(async { Ok::<_, Infallible>(Bytes::from_static(PREFIX)) });
    let suffix = stream::once(async { Ok::<_, Infallible>(Bytes::from_static(SUFFIX)) });
    let body = Body::from_stream(prefix.chain(middle).chain(suffix));
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
