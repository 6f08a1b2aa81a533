//! The CEL rules (`x-kubernetes-validations`) of the CRD that concern what `verify` reads,
//! re-stated in Rust, plus the uniqueness of list-map keys the API server enforces: the parts of
//! the API server's validation a JSON Schema evaluator cannot do.
//!
//! Rules about the rollout (image tags, env, probes, strategy, secrets, migration) are not
//! checked: `verify` reads none of those fields. `NOT_CHECKED` lists them, and a test keeps the
//! two lists in step with the CRD.

use std::collections::BTreeSet;

use crate::{
    api::{CheckSpec, DeploymentChecklist, crd::MAX_NAME_LENGTH},
    verify::checks::{self, lint::matches_url},
};

/// Fragments of the messages of the CRD's CEL rules checked here (a test holds them against the
/// CRD, so a new rule must be placed in this list or the next).
#[cfg(test)]
const CHECKED: [&str; 18] = [
    "metadata.name must be a DNS label",
    "must be an absolute http:// or https:// URL without query or fragment",
    "exactly one of http, httpsRedirect, securityHeaders, rateLimit, latency, prometheus or job",
    "latency needs at least one budget",
    "latency.method must be GET, HEAD or OPTIONS",
    "prometheus needs a condition",
    "prometheus.above must be less than prometheus.below",
    "prometheus takes bearerTokenFrom or basicAuthFrom, not both",
    "http.body needs a method",
    "rateLimit.body needs a method",
    "a header must set exactly one of value or valueFrom",
    "httpsRedirect.httpURL must be an absolute http:// URL",
    "withinAttempts must not be greater than rateLimit.attempts",
    "every key must be at most",
    "this header is set by the client",
    "no key may hold a control, format",
    "an env var of a job check must set exactly one of value or valueFrom",
    "env names starting with CHECKLIST_ are set by the operator",
];

/// Fragments of the messages of the CRD's CEL rules not checked by `verify`, which does not
/// read the fields they are about.
#[cfg(test)]
const NOT_CHECKED: [&str; 25] = [
    "spec.rollback.migration Run needs spec.migration.rollback.command",
    "spec.app.env must not set PORT",
    "sets exactly one of minAvailable or maxUnavailable",
    "must name a tag or a digest",
    "malformed digest",
    "must not use the tag 'latest'",
    "valid environment variable names",
    "successThreshold must be 1",
    "spec.rollout.blueGreen is only allowed",
    "spec.rollout.canary is only allowed",
    "spec.rollout.canary with its steps is required",
    "must not both be 0",
    "strictly increasing",
    "a canary step of weight 100 takes no pauseSeconds",
    "spec.secrets may set a pattern on at most 16 keys",
    "spec.rollout.trafficRouting is only allowed",
    "spec.rollout.canary.canaryReplicas needs spec.rollout.trafficRouting",
    "a volume sets exactly one of",
    "are the names of the operator's own containers",
    "leave spec.app.replicas out when spec.app.autoscaling is set",
    "every spec.app.volumeMounts[].name must be the name of a volume",
    "a sidecar and an init container have the same name",
    "minReplicas must not be above maxReplicas",
    "spec.app.podLabels: every key must be a label key",
    "spec.app.podLabels may not set a label the operator sets itself",
];

/// Every rule `checklist` breaks, each as `field.path: message`.
pub fn problems(checklist: &DeploymentChecklist) -> Vec<String> {
    let mut out = Vec::new();
    let name = checklist.metadata.name.as_deref().unwrap_or_default();
    if !is_checklist_name(name) {
        out.push(format!(
            "metadata.name: {name:?}: metadata.name must be a DNS label of at most {MAX_NAME_LENGTH} characters starting with a letter"
        ));
    }
    let verification = &checklist.spec.verification;
    for (field, url) in [
        ("url", &verification.url),
        ("previewURL", &verification.preview_url),
        ("canaryURL", &verification.canary_url),
    ] {
        if let Some(url) = url
            && !matches_url(url, "https?")
        {
            out.push(format!(
                "spec.verification.{field}: {url:?}: must be an absolute http:// or https:// URL without query or fragment"
            ));
        }
    }
    if verification.checks.is_empty() {
        out.push("spec.verification.checks is empty: there is nothing to verify".into());
    }
    let mut names = BTreeSet::new();
    for (index, check) in verification.checks.iter().enumerate() {
        if !names.insert(check.name.as_str()) {
            out.push(format!(
                "spec.verification.checks[{index}].name: the name {} is used twice",
                check.name
            ));
        }
        out.extend(check_problems(
            &format!("spec.verification.checks[{index}]"),
            check,
        ));
    }
    out
}

fn check_problems(path: &str, check: &CheckSpec) -> Vec<String> {
    match check.check() {
        Some(kind) => checks::of(kind).lint(path),
        None => vec![format!(
            "{path}: check {} must set exactly one of http, httpsRedirect, securityHeaders, rateLimit, latency, prometheus or job",
            check.name
        )],
    }
}

/// The CRD's rule on metadata.name: a DNS label starting with a letter, at most 40 characters.
fn is_checklist_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LENGTH
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::crd::crd;

    fn checklist(yaml: &str) -> DeploymentChecklist {
        serde_norway::from_str(&format!(
            "apiVersion: checklist.dev/v1alpha1\nkind: DeploymentChecklist\nmetadata: {{name: demo}}\nspec:\n  app: {{image: 'r.example/a:1'}}\n  verification:\n{yaml}"
        ))
        .unwrap()
    }

    #[test]
    fn a_valid_verification_has_no_problems() {
        let valid = checklist(
            "    url: https://dialectic.example.com\n    checks:\n      - {name: health, http: {path: /health}}\n",
        );
        assert_eq!(problems(&valid), Vec::<String>::new());
    }

    #[test]
    fn each_rule_names_the_field() {
        let table = [
            (
                "    url: https://x.example/?q=1\n    checks: [{name: a, http: {path: /}}]\n",
                "spec.verification.url: ",
            ),
            ("    checks: []\n", "spec.verification.checks is empty"),
            (
                "    checks: [{name: a}]\n",
                "spec.verification.checks[0]: check a must set exactly one",
            ),
            (
                "    checks: [{name: a, http: {path: /}}, {name: a, http: {path: /}}]\n",
                "spec.verification.checks[1].name: the name a is used twice",
            ),
            (
                "    checks: [{name: a, http: {path: /, body: x}}]\n",
                "spec.verification.checks[0].http.body: http.body needs a method",
            ),
            (
                "    checks: [{name: a, rateLimit: {path: /, method: GET, body: x}}]\n",
                "spec.verification.checks[0].rateLimit.body: rateLimit.body needs",
            ),
            (
                "    checks: [{name: a, rateLimit: {path: /, attempts: 3, withinAttempts: 5}}]\n",
                "spec.verification.checks[0].rateLimit.withinAttempts: ",
            ),
            (
                "    checks: [{name: a, http: {path: /, headers: [{name: X}]}}]\n",
                "spec.verification.checks[0].http.headers[0]: a header must set exactly one",
            ),
            (
                "    checks: [{name: a, http: {path: /, headers: [{name: X, value: a}, {name: X, value: b}]}}]\n",
                "spec.verification.checks[0].http.headers[1].name: the header X is listed twice",
            ),
            (
                "    checks: [{name: a, httpsRedirect: {httpURL: 'https://x.example/'}}]\n",
                "spec.verification.checks[0].httpsRedirect.httpURL: ",
            ),
            (
                "    checks: [{name: a, http: {path: /, headers: [{name: HOST, value: a}]}}]\n",
                "spec.verification.checks[0].http.headers[0].name: this header is set by the client",
            ),
        ];
        for (yaml, expected) in table {
            let found = problems(&checklist(yaml));
            assert!(
                found.iter().any(|p| p.starts_with(expected)),
                "{yaml}: {found:?}"
            );
        }
        let long_key = format!(
            "    checks: [{{name: a, http: {{path: /, expectJSON: {{'{}': ok}}}}}}]\n",
            "k".repeat(300)
        );
        let found = problems(&checklist(&long_key));
        assert!(
            found[0].starts_with("spec.verification.checks[0].http.expectJSON: the key"),
            "{found:?}"
        );
        let bidi_key = "    checks: [{name: a, securityHeaders: {values: {\"x-frame\\u202Eoptions\": DENY}}}]\n";
        assert_eq!(
            problems(&checklist(bidi_key)),
            [
                "spec.verification.checks[0].securityHeaders.values: the key \"x-frame\\u{202e}options\": values: no key may hold a control, format (bidi, zero-width) or line-separator character"
            ]
        );
    }

    #[test]
    fn checklist_names_follow_the_crds_rule() {
        assert!(is_checklist_name("dialectic"));
        assert!(is_checklist_name("a-1"));
        for bad in ["", "1a", "a-", "A", "a.b", &"a".repeat(41)] {
            assert!(!is_checklist_name(bad), "{bad}");
        }
    }

    /// A new CEL rule in the CRD must be placed in one list or the other.
    #[test]
    fn every_cel_rule_of_the_crd_is_checked_here_or_listed_as_not_checked() {
        let crd = serde_json::to_value(crd()).unwrap();
        let mut messages = Vec::new();
        collect_messages(&crd, &mut messages);
        assert!(messages.len() > 20, "{messages:?}");
        for message in messages {
            let placed = CHECKED
                .iter()
                .chain(NOT_CHECKED.iter())
                .filter(|f| message.contains(*f))
                .count();
            assert_eq!(
                placed, 1,
                "CEL rule {message:?} is in neither or both lists"
            );
        }
    }

    fn collect_messages(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(members) => {
                for (key, child) in members {
                    if key == "x-kubernetes-validations" {
                        for rule in child.as_array().into_iter().flatten() {
                            out.push(rule["message"].as_str().unwrap_or_default().to_string());
                        }
                    } else {
                        collect_messages(child, out);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| collect_messages(i, out)),
            _ => {}
        }
    }
}
