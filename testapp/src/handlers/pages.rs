//! The home page and the not-found answer.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// `GET /`: the app's home page ("can access homepage" in the seed checklist).
pub async fn home() -> Html<&'static str> {
    Html(
        "<!doctype html><html><head><title>checklist-testapp</title></head>\
         <body><h1>checklist-testapp</h1><p>A seed app, played for tests.</p></body></html>",
    )
}

/// Any other path: 404 with a short text body.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}
