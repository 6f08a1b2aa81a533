//! The functional flow the seed guides test by hand after a deploy (004:127-134 register, log
//! in, create a graph; 002:463-475 with a token): `POST /users/register`, the login's token and
//! `POST /api/graphs`, `GET /api/graphs/{id}`. Kept in memory, bounded.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;

/// `{"user":{"email":"...","password":"..."}}`, as the login takes.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    /// The account.
    pub user: Account,
}

/// An email and a password.
#[derive(Debug, Deserialize)]
pub struct Account {
    /// The email.
    pub email: String,
    /// The password.
    pub password: String,
}

/// `{"title": "..."}`.
#[derive(Debug, Deserialize)]
struct NewGraph {
    title: String,
}

/// `POST /users/register`: 201 with the account's id; 409 when the email is taken; 422 for a
/// body that is not `{"user":{"email","password"}}` or a password under 8 characters.
pub async fn register(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Ok(credentials) = serde_json::from_slice::<Credentials>(&body) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "expected {\"user\":{\"email\",\"password\"}}",
        );
    };
    if credentials.user.password.chars().count() < 8 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "password must be at least 8 characters",
        );
    }
    match state.register(&credentials.user.email, &credentials.user.password) {
        Some(id) => (StatusCode::CREATED, Json(json!({"id": id}))).into_response(),
        None => error(StatusCode::CONFLICT, "email already registered"),
    }
}

/// `POST /api/graphs` with `Authorization: Bearer <token from the login>`: 201 with the graph.
pub async fn create_graph(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(account) = bearer(&headers).and_then(|token| state.account_of(token)) else {
        return error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
    };
    let Ok(graph) = serde_json::from_slice::<NewGraph>(&body) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "expected {\"title\"}");
    };
    match state.create_graph(account, &graph.title) {
        Some(id) => (
            StatusCode::CREATED,
            Json(json!({"id": id, "title": graph.title})),
        )
            .into_response(),
        None => error(StatusCode::INSUFFICIENT_STORAGE, "too many graphs"),
    }
}

/// `GET /api/graphs/{id}` with the owner's bearer token: the graph, as saved.
pub async fn graph(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    let Some(account) = bearer(&headers).and_then(|token| state.account_of(token)) else {
        return error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
    };
    match state.graph(account, id) {
        Some(title) => Json(json!({"id": id, "title": title})).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such graph"),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}
