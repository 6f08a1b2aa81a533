//! The chart's sharded install: one operator Deployment per shard and one for the rest, each
//! reconciling its share by `--selector` (`tests/e2e/sharding.rs` runs the shards themselves).

use serde_json::Value;

use crate::chart::{helm, kind, name, render, stderr, template_args};

/// The Deployment's name for the release `checklist`: `<release>-<chart>`.
const BASE: &str = "checklist-checklist-operator";

/// The operator Deployments rendered, by name, with their `--selector` argument (empty: none).
fn deployments(docs: &[Value]) -> Vec<(String, String)> {
    docs.iter()
        .filter(|d| kind(d) == "Deployment")
        .map(|d| {
            let args = d["spec"]["template"]["spec"]["containers"][0]["args"]
                .as_array()
                .unwrap();
            let selector = args
                .iter()
                .filter_map(|a| a.as_str()?.strip_prefix("--selector="))
                .collect::<Vec<_>>()
                .join(" ");
            (name(d).to_owned(), selector)
        })
        .collect()
}

#[test]
#[ignore = "end-to-end: needs helm (dev/cluster build)"]
fn a_sharded_install_runs_one_deployment_per_shard_and_one_for_the_rest() {
    assert_eq!(
        deployments(&render("checklist", "ops", &[])),
        [(BASE.to_owned(), String::new())],
        "no shards: one Deployment for every checklist"
    );

    let docs = render("checklist", "ops", &["--set", "sharding.shards={a,b}"]);
    assert_eq!(
        deployments(&docs),
        [
            ("-a", "checklist.dev/shard=a"),
            ("-b", "checklist.dev/shard=b"),
            ("-rest", "checklist.dev/shard notin (a,b)"),
        ]
        .map(|(n, s)| (format!("{BASE}{n}"), s.to_owned()))
    );
    // Each Deployment selects only its own pods.
    let selectors: Vec<&Value> = docs
        .iter()
        .filter(|d| kind(d) == "Deployment")
        .map(|d| &d["spec"]["selector"]["matchLabels"]["checklist.dev/operator-shard"])
        .collect();
    assert_eq!(selectors, ["a", "b", "rest"]);

    let without_rest = render(
        "checklist",
        "ops",
        &[
            "--set",
            "sharding.shards={a}",
            "--set",
            "sharding.catchAll=false",
            "--set",
            "sharding.label=team",
        ],
    );
    assert_eq!(
        deployments(&without_rest),
        [(format!("{BASE}-a"), "team=a".to_owned())]
    );

    for bad in [
        "sharding.shards={rest}",
        "sharding.shards={A_b}",
        "sharding.label=bad label",
    ] {
        let refused = helm(&template_args("checklist", "ops", &["--set", bad]));
        assert!(!refused.status.success(), "{bad} was accepted");
        assert!(
            stderr(&refused).contains("/sharding/"),
            "{bad}: {}",
            stderr(&refused)
        );
    }
}
