use super::*;

fn checklist(yaml: &str) -> DeploymentChecklist {
    serde_norway::from_str(yaml).expect("a checklist")
}

const WEB: &str = r#"
apiVersion: checklist.dev/v1alpha1
kind: DeploymentChecklist
metadata: {name: web, namespace: team-a}
spec:
  app: {image: "registry.example.com/web:1.0.0", port: 8080}
  verification:
    checks:
      - name: own
        http: {path: /own}
    templates:
      - name: baseline
        kind: ClusterChecklistTemplate
        parameters: {healthPath: /health, maxLatencyMs: 300}
"#;

fn baseline(checks: &str) -> Found {
    let spec: TemplateSpec = serde_norway::from_str(&format!(
        r#"
parameters:
  - name: healthPath
  - name: maxLatencyMs
    default: 500
  - name: header
    default: SAMEORIGIN
checks:
{checks}
"#
    ))
    .expect("a template");
    Found {
        kind: TemplateKind::ClusterChecklistTemplate,
        name: "baseline".into(),
        generation: Some(3),
        spec,
    }
}

const CHECKS: &str = r#"
  - name: health
    http: {path: "{{params.healthPath}}", maxLatencyMs: "{{ params.maxLatencyMs }}"}
  - name: frame
    severity: Warning
    securityHeaders: {values: {x-frame-options: "{{params.header}}"}}
  - name: errors
    prometheus: {query: 'rate(x{revision="{{revision}}",path="{{params.healthPath}}"}[5m])', below: "0.01"}
"#;

#[test]
fn a_templates_checks_join_the_checklists_own_with_their_parameters() {
    let resolved = resolve(&checklist(WEB), &[baseline(CHECKS)]).unwrap();
    let verification = &resolved.checklist.spec.verification;
    let names: Vec<&str> = verification
        .checks
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["own", "health", "frame", "errors"]);
    assert!(verification.templates.is_empty());
    let health = verification.checks[1].http.as_ref().unwrap();
    assert_eq!(health.path, "/health");
    // A placeholder alone takes the value's type: the budget is a number.
    assert_eq!(health.max_latency_ms, Some(300));
    let frame = &verification.checks[2];
    assert_eq!(frame.severity, crate::api::Severity::Warning);
    assert_eq!(
        frame.security_headers.as_ref().unwrap().values["x-frame-options"],
        "SAMEORIGIN",
        "a default fills a parameter the checklist does not pass"
    );
    let query = &verification.checks[3].prometheus.as_ref().unwrap().query;
    assert!(
        query.contains(r#"revision="{{revision}}""#) && query.contains(r#"path="/health""#),
        "{query}"
    );
    assert_eq!(
        resolved.templates,
        [TemplateStatus {
            kind: TemplateKind::ClusterChecklistTemplate,
            name: "baseline".into(),
            generation: Some(3),
            checks: vec!["health".into(), "frame".into(), "errors".into()],
        }]
    );
}

#[test]
fn a_checklist_without_templates_comes_back_as_it_is() {
    let plain = checklist(&WEB.replace("    templates:", "    xtemplates:").replace(
        "      - name: baseline\n        kind: ClusterChecklistTemplate\n        parameters: {healthPath: /health, maxLatencyMs: 300}\n",
        "",
    ).replace("    xtemplates:\n", ""));
    let resolved = resolve(&plain, &[]).unwrap();
    assert_eq!(resolved.checklist, plain);
    assert!(resolved.templates.is_empty());
}

#[test]
fn a_prefix_lets_one_template_serve_twice() {
    let text = WEB.replace(
        "        parameters: {healthPath: /health, maxLatencyMs: 300}\n",
        "        parameters: {healthPath: /health, maxLatencyMs: 300}\n      - name: baseline\n        kind: ClusterChecklistTemplate\n        prefix: api-\n        parameters: {healthPath: /api/health}\n",
    );
    let resolved = resolve(&checklist(&text), &[baseline(CHECKS)]).unwrap();
    let names: Vec<&str> = resolved
        .checklist
        .spec
        .verification
        .checks
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "own",
            "health",
            "frame",
            "errors",
            "api-health",
            "api-frame",
            "api-errors"
        ]
    );
    let api = resolved.checklist.spec.verification.checks[4]
        .http
        .clone()
        .unwrap();
    assert_eq!(
        (api.path.as_str(), api.max_latency_ms),
        ("/api/health", Some(500))
    );
}

#[test]
fn what_does_not_resolve_is_named() {
    let web = checklist(WEB);
    let missing = resolve(&web, &[]).unwrap_err();
    assert_eq!(missing, "ClusterChecklistTemplate baseline not found");

    let mut other_kind = baseline(CHECKS);
    other_kind.kind = TemplateKind::ChecklistTemplate;
    assert!(
        resolve(&web, &[other_kind])
            .unwrap_err()
            .contains("not found")
    );

    let no_value = checklist(&WEB.replace("healthPath: /health, ", ""));
    assert_eq!(
        resolve(&no_value, &[baseline(CHECKS)]).unwrap_err(),
        "ClusterChecklistTemplate baseline needs parameter healthPath: set spec.verification.templates[0].parameters.healthPath"
    );

    let typo = checklist(&WEB.replace("maxLatencyMs: 300", "maxLatencyMS: 300"));
    assert_eq!(
        resolve(&typo, &[baseline(CHECKS)]).unwrap_err(),
        "ClusterChecklistTemplate baseline has no parameter maxLatencyMS (spec.verification.templates[0].parameters); it has healthPath, maxLatencyMs, header"
    );

    let undeclared = baseline("  - name: x\n    http: {path: \"/{{params.nope}}\"}\n");
    assert_eq!(
        resolve(&web, &[undeclared]).unwrap_err(),
        "ClusterChecklistTemplate baseline check x: {{params.nope}} is not a parameter the template declares"
    );
}

#[test]
fn a_resolved_check_the_rules_refuse_names_its_template_and_check() {
    let web = checklist(WEB);
    // The path a parameter gives must be a path, as if the check were written in the checklist.
    let bad_path = checklist(&WEB.replace("healthPath: /health", "healthPath: //evil.example/x"));
    let error = resolve(&bad_path, &[baseline(CHECKS)]).unwrap_err();
    assert!(
        error.starts_with("the templates' checks are refused: ClusterChecklistTemplate baseline check health.http.path"),
        "{error}"
    );
    // A number where text belongs, a misspelt field, two kinds, a name clash.
    let typed = baseline("  - name: x\n    http: {path: \"{{params.maxLatencyMs}}\"}\n");
    assert!(
        resolve(&web, &[typed])
            .unwrap_err()
            .contains("check x.http.path")
    );
    let misspelt = baseline("  - name: x\n    http: {path: /x, expectStatuss: [200]}\n");
    let error = resolve(&web, &[misspelt]).unwrap_err();
    assert!(
        error.contains("unknown field") && error.contains("expectStatuss"),
        "{error}"
    );
    let two = baseline("  - name: x\n    http: {path: /x}\n    httpsRedirect: {}\n");
    assert!(
        resolve(&web, &[two])
            .unwrap_err()
            .contains("exactly one of")
    );
    let clash = baseline("  - name: own\n    http: {path: /x}\n");
    let error = resolve(&web, &[clash]).unwrap_err();
    assert!(error.contains("own"), "{error}");
}

#[test]
fn an_expansion_past_its_bounds_is_refused_not_built() {
    let long = "a".repeat(1000);
    let web = checklist(&WEB.replace("healthPath: /health", &format!("healthPath: /{long}")));
    let many = format!(
        "  - name: x\n    http: {{path: /x, bodyContains: \"{}\"}}\n",
        "{{params.healthPath}}".repeat(40)
    );
    let error = resolve(&web, &[baseline(&many)]).unwrap_err();
    assert!(error.contains("expands to more than 16 KiB"), "{error}");
}

#[test]
fn placeholders_are_read_only_inside_their_braces() {
    let values = vec![("host".to_string(), IntOrString::String("a.example".into()))];
    let mut budget = MAX_EXPANDED_TOTAL;
    let expand = |text: &str, budget: &mut usize| expand_string(text, &values, budget).unwrap();
    assert_eq!(
        expand("https://{{params.host}}/x", &mut budget),
        "https://a.example/x"
    );
    assert_eq!(expand("{{ params.host }}", &mut budget), "a.example");
    assert_eq!(
        expand("{{revision}} {{params.host", &mut budget),
        "{{revision}} {{params.host"
    );
    assert_eq!(expand("}}{{params.host}}{{", &mut budget), "}}a.example{{");
    let number = vec![("n".to_string(), IntOrString::Int(7))];
    assert_eq!(
        expand_string("{{params.n}}", &number, &mut budget).unwrap(),
        7
    );
    assert_eq!(
        expand_string("n={{params.n}}", &number, &mut budget).unwrap(),
        "n=7"
    );
}
