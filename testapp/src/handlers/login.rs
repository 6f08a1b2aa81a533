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

/// Only the password is read: any email logs in with the right password.
#[derive(Debug, Deserialize)]
struct LoginUser {
    password: String,
}

/// `POST /users/log_in`: every attempt counts against the window first; over the limit it
/// answers 429 with `retry-after` (except in `no-rate-limit` mode); otherwise 200 when the JSON
/// body's `user.password` is the configured password, 401 for anything else.
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
    let accepted = serde_json::from_slice::<LoginBody>(&body)
        .is_ok_and(|login| login.user.password == state.config().login_password);
    if accepted {
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
