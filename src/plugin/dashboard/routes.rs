//! The page's HTTP side: the embedded page, the stream of fleet changes (server-sent events),
//! one release's sections, and the actions. Every request passes [`guard`] first; every answer
//! carries the strict headers; every action is the plugin's own request, sent with the user's
//! credentials, so RBAC decides and its refusal is shown as the API server wrote it.

use std::{convert::Infallible, sync::Arc};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, RawQuery, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
    routing::{get, post},
};
use futures::{Stream, StreamExt, stream};
use k8s_openapi::jiff::Timestamp;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::{
    fleet::{Message, Shared},
    guard::{self, CONTENT_SECURITY_POLICY, TOKEN_HEADER, Token},
    view::{detail as detail_view, shown_json},
};
use crate::plugin::{
    cluster::{Cluster, PluginError},
    request_token, requests,
};

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// The largest request body taken: an action's body is a revision number at most.
const BODY_LIMIT: usize = 1024;

/// What every handler shares.
pub struct App {
    /// The user's client; its namespace is the one the dashboard shows without -A.
    pub cluster: Cluster,
    /// Whether every namespace is shown.
    pub all_namespaces: bool,
    /// The fleet the watch keeps.
    pub shared: Arc<Shared>,
    /// This run's token.
    pub token: Token,
    /// The Host values answered.
    pub hosts: Vec<String>,
    /// Turns true at Ctrl-C: the open event streams end, so the server can stop.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// The page's routes, behind the guard and with the strict headers.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/app.js", get(script))
        .route("/app.css", get(style))
        // Browsers ask for it unprompted; an empty answer keeps a 404 out of their console.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/api/stream", get(follow))
        .route("/api/checklists/{namespace}/{name}", get(release))
        .route("/api/checklists/{namespace}/{name}/{action}", post(act))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(app.clone(), admit))
        .with_state(app)
}

/// Refuses what is not for us, then stamps the headers on whatever is answered.
async fn admit(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    // A header that is there but not readable text matches nothing we accept: it fails closed.
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let mut verdict = guard::admit(&app.hosts, text("host"), text("origin"));
    if verdict.is_ok() && request.uri().path().starts_with("/api/") {
        let offered = text(TOKEN_HEADER).map(str::to_string).or_else(|| {
            request.uri().query().and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v.into_owned())
            })
        });
        if !app.token.accepts(offered.as_deref()) {
            verdict = Err(guard::Refusal::NoToken);
        }
    }
    let mut response = match verdict {
        Ok(()) => next.run(request).await,
        Err(refusal) => failure(
            StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN),
            refusal.message(),
        ),
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("cache-control", "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// A JSON answer.
fn answer(status: StatusCode, json: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], json).into_response()
}

fn failure(status: StatusCode, message: &str) -> Response {
    answer(status, shown_json(&json!({"error": message})))
}

/// A plugin error as the page shows it: RBAC's refusal keeps the API server's code.
fn refused(error: &PluginError) -> Response {
    let status = match error {
        PluginError::NotFound { .. } => StatusCode::NOT_FOUND,
        PluginError::Refused(_) => StatusCode::CONFLICT,
        PluginError::Usage(_) => StatusCode::BAD_REQUEST,
        PluginError::Api { code, .. } => {
            StatusCode::from_u16(*code).unwrap_or(StatusCode::BAD_GATEWAY)
        }
        PluginError::NoCrd | PluginError::NoCluster(_) => StatusCode::BAD_GATEWAY,
    };
    failure(status, &error.to_string())
}

/// The stream of fleet changes: the whole fleet first, then each change; the whole fleet again
/// if this page fell more than the backlog behind.
async fn follow(
    State(app): State<Arc<App>>,
    _: RawQuery,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let (snapshot, receiver) = app.shared.follow();
    let scope = shown_json(&json!({
        "kind": "scope",
        "allNamespaces": app.all_namespaces,
        "namespace": app.cluster.namespace,
    }));
    let first = stream::iter([Arc::<str>::from(scope), snapshot]);
    let shared = app.shared.clone();
    let rest = stream::unfold((receiver, shared), |(mut receiver, shared)| async move {
        let message: Message = match receiver.recv().await {
            Ok(message) => message,
            // Behind by more than the backlog: start again from the whole fleet, with a new
            // receiver taken under the same lock, rather than replay what the snapshot holds.
            Err(RecvError::Lagged(_)) => {
                let (snapshot, fresh) = shared.follow();
                receiver = fresh;
                snapshot
            }
            Err(RecvError::Closed) => return None,
        };
        Some((message, (receiver, shared)))
    });
    let mut stopping = app.stopping.clone();
    let stopped = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let events = first
        .chain(rest)
        .take_until(stopped)
        .map(|message| Ok(SseEvent::default().data(&*message)));
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// Whether `text` may be a namespace or object name: a DNS subdomain, so nothing else reaches
/// a URL of the API server.
fn is_name(text: &str) -> bool {
    (1..=253).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// The user's client in `namespace`, or why it may not be asked there.
fn cluster_in(
    app: &App,
    namespace: &str,
    name: &str,
) -> Result<Cluster, (StatusCode, &'static str)> {
    if !is_name(namespace) || !is_name(name) {
        return Err((StatusCode::BAD_REQUEST, "not a namespace and name"));
    }
    if !app.all_namespaces && namespace != app.cluster.namespace {
        return Err((
            StatusCode::NOT_FOUND,
            "this dashboard shows one namespace (start it with -A for all)",
        ));
    }
    Ok(Cluster {
        client: app.cluster.client.clone(),
        namespace: namespace.to_string(),
    })
}

/// One release's sections, read now with the user's credentials.
async fn release(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    let cluster = match cluster_in(&app, &namespace, &name) {
        Ok(cluster) => cluster,
        Err((status, message)) => return failure(status, message),
    };
    let checklist = match cluster.get(&name).await {
        Ok(checklist) => checklist,
        Err(error) => return refused(&error),
    };
    let events = cluster.events(&name).await;
    let samples = app.shared.samples(&(namespace, name));
    let shown = detail_view(&checklist, &events, &samples, &Timestamp::now());
    answer(StatusCode::OK, shown_json(&shown))
}

/// promote, abort, retry or rollback (with an optional `{"revision": N}`): the plugin's own
/// request, refused as the plugin refuses it, written with the user's credentials.
async fn act(
    State(app): State<Arc<App>>,
    Path((namespace, name, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let cluster = match cluster_in(&app, &namespace, &name) {
        Ok(cluster) => cluster,
        Err((status, message)) => return failure(status, message),
    };
    // A JSON body only: a form post from another page cannot be dressed up as one.
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return failure(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/json");
    }
    let revision = match revision_of(&body) {
        Ok(revision) => revision,
        Err(message) => return failure(StatusCode::BAD_REQUEST, message),
    };
    if !["promote", "abort", "retry", "rollback"].contains(&action.as_str()) {
        return failure(StatusCode::NOT_FOUND, "no such action");
    }
    let checklist = match cluster.get(&name).await {
        Ok(checklist) => checklist,
        Err(error) => return refused(&error),
    };
    let token = request_token();
    let request = match action.as_str() {
        "promote" => requests::promote(&checklist, &token),
        "abort" => requests::abort(&checklist, &token),
        "retry" => requests::retry(&checklist, &token),
        "rollback" => requests::rollback(&checklist, revision, &token),
        _ => return failure(StatusCode::NOT_FOUND, "no such action"),
    };
    let request = match request {
        Ok(request) => request,
        Err(error) => return refused(&error),
    };
    match cluster.patch(&name, &request.patch).await {
        Ok(_) => {
            tracing::info!(%namespace, %name, %action, "the dashboard sent a request");
            answer(StatusCode::OK, shown_json(&json!({"said": request.said})))
        }
        Err(error) => refused(&error),
    }
}

/// The revision of a rollback body: none for an empty body or `{}`.
fn revision_of(body: &[u8]) -> Result<Option<i64>, &'static str> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "the body is not JSON")?;
    match value.get("revision") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(n) => n
            .as_i64()
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or("revision must be a whole number from 1"),
    }
}

#[cfg(test)]
mod tests;
