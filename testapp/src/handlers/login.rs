//! `POST /users/log_in`, rate limited like Dialectic's login (429 from the sixth attempt in a
//! minute by default), and the `GET` login page.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use crate::mode::Mode;
use crate::state::AppState;

/// The JSON body the seed guides send (unknown fields ignored): `{"user":{"email":"...","password":"..."}}`.
#[derive(Debug, Deserialize)]
struct LoginBody {
    user: LoginUser,
}

/// Any email logs in with the configured password; a registered one with its own.
#[derive(Debug, Deserialize)]
struct LoginUser {
    #[serde(default)]
    email: String,
    password: String,
}

/// `POST /users/log_in`: every attempt counts against the window first; over the limit it
/// answers 429 with `retry-after` (except in `no-rate-limit` mode); 500 in `broken-login` mode;
/// otherwise 200 when the JSON body's `user.password` is the configured password or the
/// registered email's own (then with a session `token`), 401 for anything else.
pub async fn log_in(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let attempt = state.login_attempt();
    if attempt.over_limit && state.mode() != Mode::NoRateLimit {
        // Whole seconds, rounded up, never 0 while the window lasts.
        let secs =
            attempt.retry_after.as_secs() + u64::from(attempt.retry_after.subsec_nanos() > 0);
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": "too many requests", "attempt": attempt.number})),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return response;
    }
    if state.mode() == Mode::BrokenLogin {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "internal server error"})),
        )
            .into_response();
    }
    let login = serde_json::from_slice::<LoginBody>(&body).ok();
    let session = login
        .as_ref()
        .and_then(|l| state.session(&l.user.email, &l.user.password));
    let accepted = login.is_some_and(|l| l.user.password == state.config().login_password);
    if let Some(token) = session {
        Json(json!({"status": "ok", "token": token})).into_response()
    } else if accepted {
        Json(json!({"status": "ok"})).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid email or password"})),
        )
            .into_response()
    }
}

/// `GET /users/log_in`: a small login page (not rate limited).
pub async fn page() -> Html<&'static str> {
    Html(
        "<!doctype html><html><head><title>Log in</title></head><body>\
         <form method=\"post\" action=\"/users/log_in\">\
         <input name=\"user[email]\"><input name=\"user[password]\" type=\"password\">\
         <button>Log in</button></form></body></html>",
    )
}
