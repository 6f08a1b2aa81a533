//! The hostile-input corpus: what a tenant can write in a checklist and what their app can
//! answer, each run through the real engine (or the `verify` file reader) against a server on
//! loopback. Every case must end within a second with a failed check or a clear error, never a
//! hang, a crash or a large allocation. Run with `--nocapture` to see each case's time.

// Tests may unwrap: a panic is how a test says what failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use axum::{Router, body::Body, routing::get};
use checklist_operator::{
    api::{
        CheckResult, CheckSpec, EmptyResult, HttpCheck, HttpMethod, PrometheusCheck,
        VerificationSpec,
    },
    text::is_clean,
    verify::{
        cli,
        engine::{CheckOutcome, Engine, SecretValues},
        guard::EgressPolicy,
    },
};

/// The Dialectic deep health body: 254 bytes, the one `$..*..*..*..*..*` took 49 s and 2 GB on.
const DEEP_HEALTH: &str = r#"{"status":"ok","version":"1.4.2","checks":{"database":{"status":"pass","latency_ms":3},"oban":{"status":"pass","queues":{"default":{"available":0,"executing":1},"mailers":{"available":2,"executing":0}}},"cache":{"status":"pass","hit_rate":0.98,"size":[1,2,3]}}}"#;

/// Nested lists, `width` wide and `depth` deep, as JSON text.
fn tree(width: usize, depth: usize) -> String {
    if depth == 0 {
        return "0".into();
    }
    let child = tree(width, depth - 1);
    format!("[{}]", vec![child; width].join(","))
}

async fn serve() -> String {
    let endless = || async {
        let chunk = bytes::Bytes::from(vec![b'['; 16 * 1024]);
        let stream = futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
        Body::from_stream(stream)
    };
    let many_items: String = format!(
        "[{}]",
        (0..5000)
            .map(|i| format!("{{\"v\":{i}}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let many_keys: String = format!(
        "{{{}}}",
        (0..5000)
            .map(|i| format!("\"k{i}\":\"ok\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let app = Router::new()
        .route("/deep-health", get(|| async { DEEP_HEALTH }))
        .route("/wide", get(move || async move { tree(4, 6) }))
        .route("/many-items", get(move || async move { many_items }))
        .route("/many-keys", get(move || async move { many_keys }))
        .route(
            "/nested-10000",
            get(|| async { format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)) }),
        )
        .route(
            "/nested-120",
            get(|| async { format!("{}{}", "[".repeat(120), "]".repeat(120)) }),
        )
        .route("/huge", get(|| async { "x".repeat(10 << 20) }))
        .route("/endless", get(endless))
        .route("/giant-exponent", get(|| async { r#"{"n": 1e999999}"# }))
        .route(
            "/giant-integer",
            get(|| async { format!(r#"{{"n": {}}}"#, "9".repeat(60_000)) }),
        )
        // One 60 KB string, and a list for filters to compare it with itself on.
        .route(
            "/long-string",
            get(|| async {
                format!(
                    r#"{{"a":"{}","xs":[{}]}}"#,
                    "x".repeat(60_000),
                    vec!["0"; 1500].join(",")
                )
            }),
        )
        // A Prometheus whose vector is an object (read as "no series", it passed emptyResult:
        // Pass), and one whose labels and values carry terminal escapes and bidi overrides.
        .route(
            "/not-a-list/api/v1/query",
            get(|| async { r#"{"status":"success","data":{"resultType":"vector","result":{}}}"# }),
        )
        .route(
            "/hostile-labels/api/v1/query",
            get(|| async {
                let label = format!("pod\u{1b}]52;c;eA==\u{7}\u{202e}{}", "p".repeat(25_000));
                serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
                    {"metric": {label.clone(): label}, "value": [1, "0.5"]}]}})
                .to_string()
            }),
        )
        .route(
            "/hostile-error/api/v1/query",
            get(|| async {
                let error = format!("bad\u{1b}[2J\u{202e}{}", "e".repeat(25_000));
                serde_json::json!({"status": "error", "errorType": error, "error": error})
                    .to_string()
            }),
        )
        .route(
            "/invalid-utf8",
            get(|| async { Body::from(b"{\"status\": \"\xff\xfe ok\"}".to_vec()) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn http_check(path: &str, keys: &[(&str, &str)]) -> CheckSpec {
    let check = HttpCheck {
        method: HttpMethod::Get,
        path: path.to_string(),
        headers: Vec::new(),
        body: None,
        content_type: None,
        expect_status: vec![200],
        expect_json: keys
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        body_contains: None,
        max_latency_ms: None,
        dependencies: None,
        dependency_names: Vec::new(),
    };
    // From JSON, as the API server hands it over: only the kind that is set is named.
    serde_json::from_value(serde_json::json!({"name": "hostile", "http": check})).unwrap()
}

fn prometheus_check(base: &str, prefix: &str) -> CheckSpec {
    CheckSpec {
        prometheus: Some(PrometheusCheck {
            address: Some(format!("{base}/{prefix}")),
            query: "sum(up)".into(),
            below: Some("0.01".into()),
            above: None,
            empty_result: EmptyResult::Pass,
            bearer_token_from: None,
            basic_auth_from: None,
        }),
        http: None,
        ..http_check("/", &[])
    }
}

/// The checks' own timeout (`timeout_seconds` in [`run`]): the bound the engine promises,
/// whatever the app does.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

async fn run(base: &str, check: CheckSpec) -> (CheckOutcome, Duration) {
    let spec = VerificationSpec {
        timeout_seconds: 5,
        ..VerificationSpec::default()
    };
    let engine = Engine::new(&spec, base, EgressPolicy::cli(), SecretValues::default()).unwrap();
    let started = Instant::now();
    let outcome = engine.run_check(&check).await;
    (outcome, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_response_and_key_fails_fast_with_a_reason() {
    let base = serve().await;
    let long_key = format!("$.{}", "a".repeat(300));
    let costly = "$[?$[?@.v == -1] || @.v == 4999].v";
    let many_keys: Vec<(String, &str)> = (0..32)
        .map(|i| (format!("$..*..*[?@ == {i}]"), "0"))
        .collect();
    let many_keys: Vec<(&str, &str)> = many_keys.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    // The worst a check can cost: 32 keys (the CRD's most), each spending its whole step budget.
    let all_costly: Vec<(String, &str)> = (1..=32)
        .map(|i| (format!("$[?$[?@.v == -{i}] || @.v == 4999].v"), "4999"))
        .collect();
    let all_costly: Vec<(&str, &str)> = all_costly.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    // 2.25 million comparisons of a 60 KB string with itself per key, were they not charged.
    let long_compares: Vec<(String, &str)> = (1..=32)
        .map(|i| (format!("$.xs[?$.xs[?$.a == $.a] || @ == -{i}]"), "0"))
        .collect();
    let long_compares: Vec<(&str, &str)> = long_compares
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    let table: Vec<(&str, CheckSpec, &str)> = vec![
        (
            "descendant chain $..*..*..*..*..*",
            http_check("/deep-health", &[("$..*..*..*..*..*", "ok")]),
            "$..*..*..*..*..* has 5 descendant (..) segments, over the limit of 2",
        ),
        (
            "$..*..* on a 4-wide, 6-deep tree",
            http_check("/wide", &[("$..*..*", "0")]),
            "$..*..* selects more than 10000 values in this body, the limit",
        ),
        (
            "quadratic filter on 5000 items",
            http_check("/many-items", &[(costly, "4999")]),
            "needs more than 200000 steps on this body, the limit",
        ),
        (
            "32 costly keys on a 4-wide, 6-deep tree",
            http_check("/wide", &many_keys),
            "selects more than 10000 values",
        ),
        (
            "32 keys, each spending its step budget",
            http_check("/many-items", &all_costly),
            "needs more than 200000 steps on this body, the limit",
        ),
        (
            "32 keys comparing a 60 KB string with itself",
            http_check("/long-string", &long_compares),
            "needs more than 200000 steps on this body, the limit",
        ),
        (
            "a 60 KB string ordered against itself",
            http_check("/long-string", &[("$.xs[?$.xs[?$.a <= $.a]]", "0")]),
            "needs more than 200000 steps on this body, the limit",
        ),
        (
            "a Prometheus vector that is not a list",
            prometheus_check(&base, "not-a-list"),
            "Prometheus answered a vector whose result is an object, not a list of series",
        ),
        (
            "Prometheus labels with escapes, 50 KB",
            prometheus_check(&base, "hostile-labels"),
            "{pod\u{FFFD}]52;c;eA==\u{FFFD}\u{FFFD}ppp",
        ),
        (
            "a Prometheus error with escapes, 50 KB",
            prometheus_check(&base, "hostile-error"),
            "Prometheus refused the query (bad\u{FFFD}[2J\u{FFFD}eee",
        ),
        (
            "a 300-character key",
            http_check("/deep-health", &[(long_key.as_str(), "ok")]),
            "is 302 bytes long, over the limit of 256",
        ),
        (
            "a regex function in a filter",
            http_check("/deep-health", &[("$..*[?match(@.status, '(a+)+$')]", "x")]),
            "function match() is not supported",
        ),
        (
            "$.* over 5000 keys, all ok",
            http_check("/many-keys", &[("$.*", "bad")]),
            "$.* is \"ok\", expected \"bad\"",
        ),
        (
            "JSON nested 10000 deep",
            http_check("/nested-10000", &[("$[0]", "x")]),
            "body is not JSON",
        ),
        (
            "$..*..* on JSON nested 120 deep",
            http_check("/nested-120", &[("$..*..*", "[]")]),
            "is \"[[",
        ),
        (
            "a 10 MiB body",
            http_check("/huge", &[("status", "ok")]),
            "body is over 64 KiB, too large to check as JSON",
        ),
        (
            "an endless body",
            http_check("/endless", &[("status", "ok")]),
            "body is over 64 KiB, too large to check as JSON",
        ),
        (
            "a number of 1e999999",
            http_check("/giant-exponent", &[("n", "1")]),
            "body is not JSON",
        ),
        (
            "an integer of 60000 digits",
            http_check("/giant-integer", &[("n", "1")]),
            "body is not JSON",
        ),
        (
            "invalid UTF-8 in a string",
            http_check("/invalid-utf8", &[("status", "ok")]),
            "body is not JSON: \"{\\\"status\\\": \\\"\\xff\\xfe ok",
        ),
    ];
    println!("{:<40} {:>8}  result: message", "case", "ms");
    for (case, check, expected) in table {
        let (outcome, took) = run(&base, check).await;
        println!(
            "{case:<40} {:>8.1}  {:?}: {}",
            took.as_secs_f64() * 1000.0,
            outcome.result,
            outcome.message
        );
        // What is asserted is that the check ends, within its own timeout, whatever the app
        // sends (the step and size budgets end it well before: the figures printed above, about
        // 0.8 s for the worst case, 32 full step budgets, in an unoptimised build). How fast is
        // for the benchmarks: a wall-clock bound tighter than the contract fails on a busy host.
        assert!(took < CHECK_TIMEOUT, "{case} took {took:?}");
        assert_eq!(
            outcome.result,
            CheckResult::Fail,
            "{case}: {}",
            outcome.message
        );
        assert!(
            outcome.message.contains(expected),
            "{case}: expected {expected:?} in {:?}",
            outcome.message
        );
        // Whatever the app sent, the message shows it inert.
        assert!(is_clean(&outcome.message), "{case}: {:?}", outcome.message);
    }
}

/// Checklist files that try to exhaust the reader: each is refused, never hangs.
#[test]
fn hostile_checklist_files_are_refused_fast() {
    let dir = std::env::temp_dir().join(format!("hostile-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut laughs = String::from(
        "apiVersion: checklist.dev/v1alpha1\nkind: DeploymentChecklist\nmetadata: {name: demo}\nspec:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n",
    );
    let names = ["b", "c", "d", "e", "f", "g", "h", "i", "j"];
    for (i, name) in names.iter().enumerate() {
        let previous = if i == 0 { "a" } else { names[i - 1] };
        let refs = vec![format!("*{previous}"); 10].join(", ");
        laughs.push_str(&format!("  {name}: &{name} [{refs}]\n"));
    }
    // Padding events raise serde_norway's own alias-jump allowance, which grows with the file.
    laughs.push_str(&format!("  pad: [{}]\n", vec!["1"; 200_000].join(",")));
    let huge_key = format!(
        "apiVersion: checklist.dev/v1alpha1\nkind: DeploymentChecklist\nmetadata: {{name: demo}}\nspec:\n  app: {{image: 'r.example/a:1'}}\n  verification:\n    url: http://127.0.0.1:9\n    checks:\n      - name: a\n        http:\n          path: /\n          expectJSON:\n            ? '{}'\n            : ok\n",
        // An explicit key (`? …`): YAML readers refuse implicit keys over 1024 characters.
        "k".repeat(100_000)
    );
    let catastrophic = "apiVersion: checklist.dev/v1alpha1\nkind: DeploymentChecklist\nmetadata: {name: demo}\nspec:\n  app: {image: 'r.example/a:1'}\n  secrets:\n    - secretName: env\n      keys: [{name: KEY, pattern: '(a+)+$(\\w{1000}){1000}'}]\n  verification:\n    url: http://127.0.0.1:9\n    checks:\n      - name: a\n        http: {path: '/', expectJSON: {'$..*..*..*..*..*': ok}}\n";
    // Few nodes, 27 GB of text once expanded: it took the reader to 3.8 GB before a 4 GB
    // address-space limit stopped it, 7 s in.
    let size_bomb = format!(
        "kind: DeploymentChecklist\nspec:\n  a: &a {}\n  b: [{}]\n",
        "x".repeat(900_000),
        vec!["*a"; 30_000].join(", ")
    );
    let duplicate = "kind: DeploymentChecklist\nmetadata: {name: demo}\nspec:\n  verification:\n    url: http://127.0.0.1:9\n    checks:\n      - name: a\n        http: {path: /}\n        name: b\n";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a 900 KB scalar aliased 30000 times",
            size_bomb.into_bytes(),
            "more than 4194304 bytes (aliases count once per copy), the limit",
        ),
        (
            "a key written twice in one mapping",
            duplicate.as_bytes().to_vec(),
            r#"the key "name" appears twice in one mapping"#,
        ),
        (
            "billion laughs",
            laughs.into_bytes(),
            "values (aliases count once per copy)",
        ),
        (
            "YAML nested 500000 deep (flow)",
            format!("{}{}", "[".repeat(500_000), "]".repeat(500_000)).into_bytes(),
            "'[' and '{' characters, over the limit of 10000",
        ),
        (
            "YAML nested 9000 deep (flow)",
            format!("{}{}", "[".repeat(9_000), "]".repeat(9_000)).into_bytes(),
            "recursion limit exceeded",
        ),
        (
            "YAML nested 300000 deep (block)",
            "- ".repeat(300_000).into_bytes(),
            "recursion limit exceeded",
        ),
        (
            "a list of 500000 numbers",
            format!(
                "kind: DeploymentChecklist\nspec: [{}]\n",
                vec!["1"; 500_000].join(",")
            )
            .into_bytes(),
            "more than 100000 values",
        ),
        (
            "a 2 MiB file",
            vec![b'#'; 2 << 20],
            "larger than 1048576 bytes, the limit",
        ),
        (
            "invalid UTF-8",
            b"kind: \xff\xfe\n".to_vec(),
            "is not UTF-8 text",
        ),
        (
            "a 100000-character key",
            huge_key.into_bytes(),
            "is 100000 characters long: expectJSON: every key must be at most 256",
        ),
        (
            "a catastrophic pattern and the descendant chain",
            catastrophic.as_bytes().to_vec(),
            "",
        ),
    ];
    println!("{:<48} {:>8}  result", "file", "ms");
    for (case, bytes, expected) in cases {
        let file = dir.join(case.replace(' ', "-"));
        std::fs::write(&file, &bytes).unwrap();
        let started = Instant::now();
        let result = cli::load(&file, None, &[]);
        let took = started.elapsed();
        let shown = match &result {
            Ok(_) => "accepted".to_string(),
            Err(e) => e.to_string().chars().take(160).collect(),
        };
        println!("{case:<48} {:>8.1}  {shown}", took.as_secs_f64() * 1000.0);
        // Refused rather than hung: the figures above show how fast; the bound is only the
        // one a person would wait for a file check.
        assert!(took < CHECK_TIMEOUT, "{case} took {took:?}");
        match result {
            Err(e) if !expected.is_empty() => {
                assert!(e.to_string().contains(expected), "{case}: {e}")
            }
            Err(e) => panic!("{case}: {e}"),
            Ok(_) => assert!(expected.is_empty(), "{case} was accepted"),
        }
        std::fs::remove_file(&file).ok();
    }
}
