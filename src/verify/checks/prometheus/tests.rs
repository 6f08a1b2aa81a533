//! The answers Prometheus gives, and the ones a hostile or misconfigured address gives instead.

use super::*;

fn check(below: Option<&str>, above: Option<&str>) -> PrometheusCheck {
    PrometheusCheck {
        address: None,
        query: r#"sum(rate(http_requests_total{status=~"5..",revision="{{revision}}"}[1m])) / sum(rate(http_requests_total{revision="{{revision}}",namespace="{{namespace}}"}[1m]))"#.into(),
        below: below.map(Into::into),
        above: above.map(Into::into),
        empty_result: EmptyResult::Fail,
        bearer_token_from: None,
        basic_auth_from: None,
    }
}

fn judge(check: &PrometheusCheck, status: u16, body: &str) -> Evaluation {
    let condition = Condition::of(check).unwrap();
    match parse(status, body.as_bytes()) {
        Ok(series) => evaluate(check, condition, &series),
        Err(message) => Evaluation::fail(message),
    }
}

#[test]
fn placeholders_name_the_revision_namespace_and_checklist() {
    let with = Placeholders {
        revision: "abc123".into(),
        namespace: "prod".into(),
        name: "web".into(),
    };
    let sent = query(&check(Some("0.01"), None), &with);
    assert!(sent.contains(r#"revision="abc123""#), "{sent}");
    assert!(sent.contains(r#"namespace="prod""#), "{sent}");
    assert!(!sent.contains("{{"), "{sent}");
}

#[test]
fn a_value_in_range_passes_and_one_out_of_range_fails_naming_both() {
    let one = |v: &str| {
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000.1,"{v}"]}}]}}}}"#
        )
    };
    let below = check(Some("0.01"), None);
    let pass = judge(&below, 200, &one("0.004"));
    assert!(pass.passed);
    assert_eq!(pass.message, "0.004, below 0.01");
    let fail = judge(&below, 200, &one("0.05"));
    assert!(!fail.passed);
    assert_eq!(fail.message, "0.05, expected below 0.01");
    let nan = judge(&below, 200, &one("NaN"));
    assert!(
        !nan.passed && nan.message.contains("NaN"),
        "{}",
        nan.message
    );
    let between = check(Some("1"), Some("0.5"));
    assert_eq!(
        judge(&between, 200, &one("0.7")).message,
        "0.7, between 0.5 and 1"
    );
    assert!(!judge(&between, 200, &one("0.2")).passed);
}

#[test]
fn scalars_and_every_series_of_a_vector_are_judged() {
    let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}"#;
    assert!(judge(&check(Some("5"), None), 200, scalar).passed);
    let vector = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"pod":"a"},"value":[1,"0.001"]},
        {"metric":{"pod":"b"},"value":[1,"0.2"]}]}}"#;
    let verdict = judge(&check(Some("0.01"), None), 200, vector);
    assert!(!verdict.passed);
    assert_eq!(
        verdict.message,
        r#"1 of 2 series not below 0.01: {pod="b"} 0.2"#
    );
}

#[test]
fn no_data_an_error_or_a_non_prometheus_answer_never_pass() {
    let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    let verdict = judge(&check(Some("0.01"), None), 200, empty);
    assert!(!verdict.passed);
    assert_eq!(
        verdict.message,
        "the query returned no series (no data), expected a value below 0.01"
    );
    let mut lenient = check(Some("0.01"), None);
    lenient.empty_result = EmptyResult::Pass;
    assert!(judge(&lenient, 200, empty).passed);

    let refused = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected \"}\""}"#;
    let verdict = judge(&check(Some("0.01"), None), 400, refused);
    assert!(!verdict.passed);
    assert_eq!(
        verdict.message,
        r#"Prometheus refused the query (bad_data): invalid parameter "query": 1:5: parse error: unexpected "}""#
    );
    let html = judge(&check(Some("0.01"), None), 200, "<html>login</html>");
    assert!(!html.passed && html.message.contains("is the address a Prometheus"));
    let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
    assert!(
        judge(&check(Some("1"), None), 200, matrix)
            .message
            .contains("range vector")
    );
}

#[test]
fn a_condition_that_cannot_hold_is_refused() {
    assert!(Condition::of(&check(Some("0.5"), Some("0.7"))).is_err());
    assert!(Condition::of(&check(Some("x"), None)).is_err());
    assert!(Condition::of(&check(None, None)).is_err());
    assert_eq!(
        Condition::of(&check(Some("1e-3"), None))
            .unwrap()
            .to_string(),
        "below 0.001"
    );
}

#[test]
fn too_many_series_fail_without_judging_them() {
    let items: Vec<String> = (0..=MAX_SERIES)
        .map(|i| format!(r#"{{"metric":{{"pod":"p{i}"}},"value":[1,"0"]}}"#))
        .collect();
    let body = format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
        items.join(",")
    );
    assert!(
        parse(200, body.as_bytes())
            .unwrap_err()
            .contains("1001 series")
    );
}

#[test]
fn a_vector_whose_result_is_not_a_list_fails_even_when_empty_may_pass() {
    let mut lenient = check(Some("0.01"), None);
    lenient.empty_result = EmptyResult::Pass;
    for result in [
        r#"{}"#,
        r#""[]""#,
        "null",
        "3",
        r#"{"metric":{},"value":[1,"0"]}"#,
    ] {
        let body =
            format!(r#"{{"status":"success","data":{{"resultType":"vector","result":{result}}}}}"#);
        let verdict = judge(&lenient, 200, &body);
        assert!(!verdict.passed, "{result}: {}", verdict.message);
        assert!(
            verdict
                .message
                .starts_with("Prometheus answered a vector whose result is ")
                && verdict.message.ends_with(", not a list of series"),
            "{result}: {}",
            verdict.message
        );
    }
}

#[test]
fn what_the_address_wrote_is_shown_inert_and_bounded() {
    let check = check(Some("0.01"), None);
    let hostile = "\u{1b}]52;c;cm0gLXJmIC8=\u{7}\u{202e}";
    let long = "e".repeat(100_000);
    let refused = serde_json::json!({
        "status": "error", "errorType": format!("bad{hostile}{long}"), "error": format!("x{hostile}{long}")
    });
    let message = judge(&check, 400, &refused.to_string()).message;
    assert!(crate::text::is_clean(&message), "{message:?}");
    assert!(message.chars().count() < 700, "{}", message.len());

    let labelled = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {format!("pod{hostile}"): format!("a{hostile}{long}"), "job": "web"}, "value": [1, "0.5"]}
    ]}});
    let message = judge(&check, 200, &labelled.to_string()).message;
    assert!(crate::text::is_clean(&message), "{message:?}");
    assert!(message.starts_with(r#"{job="web",pod"#), "{message}");
    assert!(message.chars().count() < 300, "{}", message.len());

    let sample = serde_json::json!({"status": "success", "data": {"resultType": "scalar", "result": [1, format!("1{hostile}{long}")]}});
    let message = judge(&check, 200, &sample.to_string()).message;
    assert!(crate::text::is_clean(&message), "{message:?}");
    assert!(message.chars().count() < 120, "{}", message.len());

    let kind = serde_json::json!({"status": "success", "data": {"resultType": format!("x{hostile}{long}"), "result": []}});
    let message = judge(&check, 200, &kind.to_string()).message;
    assert!(crate::text::is_clean(&message), "{message:?}");
    assert!(message.chars().count() < 120, "{}", message.len());
}
