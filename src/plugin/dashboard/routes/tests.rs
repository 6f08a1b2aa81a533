//! The routes on a router with no cluster behind it: every refusal happens before one is asked.

use super::*;
use axum::body::Body;
use tower::ServiceExt;

fn empty() -> Body {
    Body::empty()
}

fn app() -> Arc<App> {
    app_stopping(tokio::sync::watch::channel(false).1)
}

fn app_stopping(stopping: tokio::sync::watch::Receiver<bool>) -> Arc<App> {
    let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
    Arc::new(App {
        cluster: Cluster {
            client: kube::Client::try_from(config).unwrap(),
            namespace: "team-a".into(),
        },
        all_namespaces: false,
        shared: Shared::new(),
        token: Token::generate().unwrap(),
        hosts: guard::hosts_for("127.0.0.1:3100".parse().unwrap()),
        stopping,
    })
}

async fn send(app: &Arc<App>, request: Request) -> Response {
    router(app.clone()).oneshot(request).await.unwrap()
}

fn request(method: &str, uri: &str, host: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", host)
}

#[tokio::test]
async fn the_page_is_served_with_strict_headers_and_no_cors() {
    let app = app();
    let page = send(
        &app,
        request("GET", "/", "127.0.0.1:3100").body(empty()).unwrap(),
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers();
    assert_eq!(headers["content-security-policy"], CONTENT_SECURITY_POLICY);
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.get("access-control-allow-origin").is_none());
    for asset in ["/app.js", "/app.css"] {
        let got = send(
            &app,
            request("GET", asset, "localhost:3100")
                .body(empty())
                .unwrap(),
        )
        .await;
        assert_eq!(got.status(), StatusCode::OK, "{asset}");
    }
}

#[tokio::test]
async fn the_api_wants_our_host_and_our_token() {
    let app = app();
    let token = app.token.as_str().to_string();
    let rebound = send(
        &app,
        request(
            "GET",
            &format!("/api/checklists/team-a/web?token={token}"),
            "evil.example:3100",
        )
        .body(empty())
        .unwrap(),
    )
    .await;
    assert_eq!(rebound.status(), StatusCode::MISDIRECTED_REQUEST);
    let no_token = send(
        &app,
        request("GET", "/api/checklists/team-a/web", "127.0.0.1:3100")
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        no_token.headers()["content-security-policy"],
        CONTENT_SECURITY_POLICY
    );
    let cross_site = send(
        &app,
        request(
            "POST",
            "/api/checklists/team-a/web/promote",
            "127.0.0.1:3100",
        )
        .header("origin", "https://evil.example")
        .header(TOKEN_HEADER, &token)
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap(),
    )
    .await;
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_action_wants_json_a_real_name_and_this_namespace() {
    let app = app();
    let token = app.token.as_str().to_string();
    let post = |uri: &str, content_type: &str, body: String| {
        request("POST", uri, "127.0.0.1:3100")
            .header("origin", "http://127.0.0.1:3100")
            .header(TOKEN_HEADER, &token)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let form = send(
        &app,
        post(
            "/api/checklists/team-a/web/promote",
            "application/x-www-form-urlencoded",
            String::new(),
        ),
    )
    .await;
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let bad_name = send(
        &app,
        post(
            "/api/checklists/team-a/We..b%2F/promote",
            "application/json",
            "{}".into(),
        ),
    )
    .await;
    assert_eq!(bad_name.status(), StatusCode::BAD_REQUEST);
    let elsewhere = send(
        &app,
        post(
            "/api/checklists/team-b/web/promote",
            "application/json",
            "{}".into(),
        ),
    )
    .await;
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    let bad_revision = send(
        &app,
        post(
            "/api/checklists/team-a/web/rollback",
            "application/json",
            r#"{"revision": -1}"#.into(),
        ),
    )
    .await;
    assert_eq!(bad_revision.status(), StatusCode::BAD_REQUEST);
    let too_big = send(
        &app,
        post(
            "/api/checklists/team-a/web/rollback",
            "application/json",
            "x".repeat(BODY_LIMIT * 4),
        ),
    )
    .await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn names_and_revisions_are_checked_before_any_request() {
    assert!(is_name("team-a") && is_name("web.v2"));
    for bad in ["", "-a", "a-", "A", "a/b", "a%2Fb", "..", &"a".repeat(254)] {
        assert!(!is_name(bad), "{bad}");
    }
    assert_eq!(revision_of(b""), Ok(None));
    assert_eq!(revision_of(b"{}"), Ok(None));
    assert_eq!(revision_of(br#"{"revision": 3}"#), Ok(Some(3)));
    assert!(revision_of(br#"{"revision": 0}"#).is_err());
    assert!(revision_of(br#"{"revision": "3"}"#).is_err());
    assert!(revision_of(b"revision=3").is_err());
}

#[tokio::test]
async fn the_stream_starts_with_the_fleet_and_ends_when_the_dashboard_stops() {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let app = app_stopping(stopping);
    let token = app.token.as_str().to_string();
    let stream = send(
        &app,
        request(
            "GET",
            &format!("/api/stream?token={token}"),
            "127.0.0.1:3100",
        )
        .body(empty())
        .unwrap(),
    )
    .await;
    assert_eq!(stream.status(), StatusCode::OK);
    let mut body = stream.into_body().into_data_stream();
    let mut seen = String::new();
    while !seen.contains("snapshot") {
        let chunk = body.next().await.unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains(r#""kind":"scope""#), "{seen}");
    // Without the stop, graceful shutdown would wait for this stream for ever.
    stop.send(true).unwrap();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while body.next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream did not end");
}
