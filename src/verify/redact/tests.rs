//! An app echoing a secret value in each form it may write it gets `[redacted]` back.

use std::time::Duration;

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD},
};

use super::*;
use crate::verify::secret_values::SecretValues;

mod cost;

const TOKEN: &[u8] = b"Bearer s3cr3t-t0k3n";

fn response(body: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        "www-authenticate",
        HeaderValue::from_static("Bearer s3cr3t-t0k3n is invalid"),
    );
    Response {
        status: 401,
        headers,
        body: Bytes::from(body.to_string()),
        truncated: false,
        latency: Duration::from_millis(1),
    }
}

/// Masks `echoed` inside a JSON error body and checks that what is left is the same valid
/// JSON with the value gone.
fn assert_masked_in_json(redactor: &Redactor, echoed: &str) {
    let body = format!(r#"{{"error":"bad value {echoed}!","code":401}}"#);
    assert!(
        serde_json::from_str::<serde_json::Value>(&body).is_ok(),
        "{body}"
    );
    let masked = String::from_utf8(redactor.bytes(body.as_bytes())).unwrap();
    assert_eq!(
        masked, r#"{"error":"bad value [redacted]!","code":401}"#,
        "{echoed}"
    );
}

#[test]
fn an_echoed_value_is_masked_in_the_body_and_the_headers() {
    let redactor = Redactor::new([TOKEN, b"s3cr3t-t0k3n".as_slice()]);
    let masked = redactor.response(response("invalid token: Bearer s3cr3t-t0k3n; s3cr3t-t0k3n"));
    assert_eq!(
        masked.body.as_ref(),
        b"invalid token: [redacted]; [redacted]"
    );
    assert_eq!(
        masked.headers["www-authenticate"].as_bytes(),
        b"[redacted] is invalid"
    );
}

#[test]
fn a_value_escaped_inside_json_is_masked_too() {
    let redactor = Redactor::new([br#"pa"ss\word"#.as_slice()]);
    let body = serde_json::json!({"error": "bad password pa\"ss\\word"}).to_string();
    let masked = redactor.response(response(&body));
    let text = String::from_utf8(masked.body.to_vec()).unwrap();
    assert_eq!(text, r#"{"error":"bad password [redacted]"}"#);
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
}

#[test]
fn every_way_a_json_encoder_escapes_a_value_is_masked() {
    let redactor = Redactor::new([
        b"https://a/b?c=d".as_slice(),
        "pässwörd-😀".as_bytes(),
        b"<a&b>'c\"d\\e",
    ]);
    for echoed in [
        // PHP's json_encode, and Java's escapers: `\/`.
        r"https:\/\/a\/b?c=d",
        // Python's ensure_ascii and PHP: non-ASCII as \u escapes, a surrogate pair past the BMP.
        r"p\u00e4ssw\u00f6rd-\ud83d\ude00",
        // Jackson's ESCAPE_NON_ASCII and .NET write upper-case hex.
        r"p\u00E4ssw\u00F6rd-\uD83D\uDE00",
        // Go's encoding/json and Gson: <, > and & as \u escapes.
        r#"\u003ca\u0026b\u003e'c\"d\\e"#,
        // .NET's System.Text.Json: ' and " too, upper-case.
        r"\u003Ca\u0026b\u003E\u0027c\u0022d\\e",
        // Every character escaped.
        r"\u0068\u0074\u0074\u0070\u0073\u003a\u002f\u002f\u0061\u002f\u0062\u003f\u0063\u003d\u0064",
    ] {
        assert_masked_in_json(&redactor, echoed);
    }
}

#[test]
fn percent_encoded_values_are_masked_however_much_is_encoded() {
    let redactor = Redactor::new([b"p@ss w/rd+x=1&y".as_slice()]);
    for echoed in [
        // encodeURIComponent, upper- and lower-case hex.
        "p%40ss%20w%2Frd%2Bx%3D1%26y",
        "p%40ss%20w%2frd%2bx%3d1%26y",
        // Form encoding: a space as +.
        "p%40ss+w%2Frd%2Bx%3D1%26y",
        // Go's PathEscape: only what a path segment cannot hold.
        "p@ss%20w%2Frd+x=1&y",
        // A space as + and nothing else encoded.
        "p@ss+w/rd+x=1&y",
        // Every byte.
        "%70%40%73%73%20%77%2F%72%64%2B%78%3D%31%26%79",
    ] {
        let body = format!("redirecting to /login?next={echoed}&lang=en");
        assert_eq!(
            redactor.text(&body),
            "redirecting to /login?next=[redacted]&lang=en",
            "{echoed}"
        );
    }
    // A URL quoted in a JSON string: both decodings at once.
    assert_masked_in_json(&redactor, r"p%40ss+w\/rd%2Bx%3D1%26y");
}

#[test]
fn html_escaped_values_are_masked() {
    let redactor = Redactor::new([b"<s3cr3t> & 'pw'/1".as_slice()]);
    let page = "<p>Bad key &lt;s3cr3t&gt; &amp; &#39;pw&#x27;&#47;1</p>";
    assert_eq!(redactor.text(page), "<p>Bad key [redacted]</p>");
}

#[test]
fn a_case_folded_value_is_masked_when_it_is_long_enough() {
    let redactor = Redactor::new([b"S3cr3t-T0ken-42".as_slice()]);
    assert_eq!(
        redactor.text("TOKEN S3CR3T-T0KEN-42 / s3cr3t-t0ken-42 REJECTED"),
        "TOKEN [redacted] / [redacted] REJECTED"
    );
    assert_masked_in_json(&redactor, r"\u0053\u0033CR3T-T0KEN-42");
}

#[test]
fn a_short_common_value_is_not_masked_everywhere() {
    let mut secrets = SecretValues::default();
    // Never sent, and too short to hide anything: not masked at all.
    secrets.mask(b"10");
    assert!(secrets.redactor().is_empty());
    // Sent, so masked as it is; but not case-folded or base64-encoded ("b24" is in many words).
    secrets.insert("flags", "header", b"on").unwrap();
    assert_eq!(
        secrets.redactor().text("pool of 10, feature on, ON, b24="),
        "pool of 10, feature [redacted], ON, b24="
    );
}

#[test]
fn basic_auth_is_masked_as_base64_as_the_pair_and_as_the_password() {
    let encoded = STANDARD.encode("admin:hunter2-pass");
    let header = format!("Basic {encoded}");
    let redactor = Redactor::new([header.as_bytes()]);
    for echoed in [
        header.as_str(),
        encoded.as_str(),
        "admin:hunter2-pass",
        "hunter2-pass",
        "HUNTER2-PASS",
    ] {
        assert_eq!(redactor.text(&format!("got {echoed}.")), "got [redacted].");
    }
    assert_eq!(redactor.text("user admin"), "user admin");
    // A short password is a credential the check sent: masked as it is, not case-folded.
    let short = format!("Basic {}", STANDARD.encode("admin:pw12"));
    let redactor = Redactor::new([short.as_bytes()]);
    assert_eq!(redactor.text("pw12 PW12"), "[redacted] PW12");
}

#[test]
fn a_user_password_value_sent_as_basic_auth_is_masked_in_its_parts() {
    // A Prometheus check's basicAuthFrom holds user:password and sends it encoded.
    let redactor = Redactor::new([b"admin:hunter2-pass".as_slice()]);
    let sent = STANDARD.encode("admin:hunter2-pass");
    assert_eq!(
        redactor.text(&format!("Basic {sent}; hunter2-pass")),
        "Basic [redacted]; [redacted]"
    );
}

#[test]
fn base64_of_a_value_is_masked_in_both_alphabets_with_or_without_padding() {
    let value = b"s3cr3t?>~~ok1";
    let redactor = Redactor::new([value.as_slice()]);
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        let encoded = engine.encode(value);
        assert_eq!(
            redactor.text(&format!("data: {encoded}.")),
            "data: [redacted].",
            "{encoded}"
        );
        assert_masked_in_json(&redactor, &encoded.replace('/', r"\/"));
    }
}

#[test]
fn base64_of_a_value_inside_a_longer_encoded_string_is_masked_at_every_alignment() {
    let value = b"hunter2-s3cr3t-pw";
    let redactor = Redactor::new([value.as_slice()]);
    for prefix in ["", "X", "P=", "PWD=", "DB_PASSWORD="] {
        let file = [prefix.as_bytes(), value, b"\nDB_HOST=db\n"].concat();
        for engine in [STANDARD, URL_SAFE] {
            let encoded = engine.encode(&file);
            let masked = redactor.text(&encoded);
            assert!(masked.contains(MASK), "{prefix}: {masked}");
            // At most two characters on either side hold a part of the value.
            let left = masked.len() - MASK.len();
            assert!(left <= encoded.len() - value.len() * 4 / 3 + 4, "{masked}");
        }
    }
}

#[test]
fn a_redactor_that_cannot_search_masks_everything() {
    let redactor = Redactor {
        inner: Some(Arc::new(Inner {
            plan: forms::plan([b"s3cr3t-t0k3n".as_slice()]),
            matchers: None,
        })),
    };
    assert_eq!(redactor.text("nothing secret"), MASK);
}

#[test]
fn text_masks_whole_characters() {
    let value = format!("{}é", "a".repeat(300));
    let redactor = Redactor::new([value.as_bytes()]);
    // The echo follows the value into the first byte of è (é and è share it): all of è goes.
    let echoed = format!("{}è!", "a".repeat(300));
    assert_eq!(redactor.text(&echoed), "[redacted]!");
}

#[test]
fn outcomes_are_masked_in_messages_and_dependencies() {
    let redactor = Redactor::new([TOKEN]);
    let outcome = CheckOutcome {
        name: "auth".into(),
        kind: None,
        result: crate::api::CheckResult::Fail,
        message: "got Bearer s3cr3t-t0k3n".into(),
        latency_ms: None,
        attempts: 1,
        status: Some(401),
        dependencies: vec![crate::verify::json::Dependency {
            name: "Bearer s3cr3t-t0k3n".into(),
            healthy: false,
            state: "Bearer s3cr3t-t0k3n".into(),
        }],
        measured: false,
    };
    let masked = redactor.outcome(outcome);
    assert_eq!(masked.message, "got [redacted]");
    assert_eq!(masked.dependencies[0].name, MASK);
    assert_eq!(masked.dependencies[0].state, MASK);
}

#[test]
fn nothing_to_mask_changes_nothing() {
    let redactor = Redactor::new([b"".as_slice()]);
    assert!(redactor.is_empty());
    assert_eq!(redactor.text("Bearer s3cr3t-t0k3n"), "Bearer s3cr3t-t0k3n");
}
