//! Benchmark of resolving check templates, printing figures (no assertions): what a reconcile of
//! a checklist that names templates spends on joining their checks to its own and validating
//! them with the CRD's schema and rules, beside the first call, which compiles the schema.
//!
//! Run: `cargo bench --bench templates` (optionally `-- ITERATIONS`, default 2000).

// A benchmark may unwrap: a panic is how it says its set-up failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use checklist_operator::{
    api::{DeploymentChecklist, TemplateKind, TemplateSpec},
    verify::templates::{Found, resolve},
};
use checklist_testkit::stats::Stats;
use serde_json::json;

fn example(name: &str) -> String {
    std::fs::read_to_string(checklist_testkit::fixtures::example(name)).unwrap()
}

/// The platform template of the examples, as the operator reads it.
fn platform() -> Found {
    let document: serde_json::Value =
        serde_norway::from_str(&example("platform-templates.yaml")).unwrap();
    Found {
        kind: TemplateKind::ClusterChecklistTemplate,
        name: "web-baseline".into(),
        generation: Some(1),
        spec: serde_json::from_value(document["spec"].clone()).unwrap(),
    }
}

/// A template of 31 http checks, each with three placeholders: the most a checklist with one
/// check of its own can take.
fn widest() -> Found {
    let checks: Vec<serde_json::Value> = (0..31)
        .map(|i| {
            json!({"name": format!("page-{i}"), "http": {
                "path": format!("/{{{{params.prefix}}}}/{i}"),
                "expectStatus": [200],
                "maxLatencyMs": "{{params.budget}}",
                "bodyContains": "{{params.marker}}",
            }})
        })
        .collect();
    let spec: TemplateSpec = serde_json::from_value(json!({
        "parameters": [{"name": "prefix"}, {"name": "budget", "default": 500}, {"name": "marker", "default": "<html"}],
        "checks": checks,
    }))
    .unwrap();
    Found {
        kind: TemplateKind::ClusterChecklistTemplate,
        name: "widest".into(),
        generation: Some(1),
        spec,
    }
}

fn measure(label: &str, checklist: &DeploymentChecklist, found: &[Found], iterations: usize) {
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let resolved = resolve(checklist, found).unwrap();
        samples.push(started.elapsed());
        std::hint::black_box(resolved);
    }
    println!("{}", Stats::of(&samples).micros_row(label));
}

fn main() {
    let iterations: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let shop: DeploymentChecklist =
        serde_norway::from_str(&example("templated-shop.yaml")).unwrap();
    let first = Instant::now();
    resolve(&shop, &[platform()]).unwrap();
    let first: Duration = first.elapsed();
    println!(
        "first resolve (compiles the CRD schema once per process): {:.1} ms",
        first.as_secs_f64() * 1e3
    );
    measure(
        "templated-shop: 1 own + 4 template checks",
        &shop,
        &[platform()],
        iterations,
    );

    let mut wide = shop.clone();
    wide.spec.verification.templates =
        vec![serde_json::from_value(json!({
        "name": "widest", "kind": "ClusterChecklistTemplate", "parameters": {"prefix": "docs"},
    }))
    .unwrap()];
    measure(
        "1 own + 31 template checks, 3 placeholders each",
        &wide,
        &[widest()],
        iterations,
    );
}
