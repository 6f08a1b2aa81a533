//! The operator's side: a release build scoped to the run's namespace (one process per shard,
//! each reconciling the checklists its `--selector` picks), its checklists verified against the
//! local test app.

use checklist_operator::api::DeploymentChecklist;
use checklist_testkit::{Operator, TestNamespace, exposition::Scrape, start_app};
use kube::{Api, Client};
use serde_json::Value;

use crate::{
    Plan,
    phases::{Side, drive},
    report::Figures,
    workload::{checklist, checklist_ready, checklist_rolled_back},
};

/// The label that says which shard reconciles a checklist, as `run --selector` is used.
const SHARD_LABEL: &str = "checklist.dev/shard";

struct Ours {
    /// One process per shard.
    operators: Vec<Operator>,
    endpoints: Vec<String>,
    api: Api<DeploymentChecklist>,
    app_url: String,
}

/// The shard of the app named `name` (`app-00042`, `bad-003`): its number modulo `shards`.
fn shard_of(name: &str, shards: usize) -> usize {
    let number: usize = name
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    number % shards.max(1)
}

impl Side for Ours {
    type App = DeploymentChecklist;

    fn pids(&self) -> Vec<u32> {
        self.operators.iter().map(Operator::pid).collect()
    }

    /// Every shard's metrics: their exposition texts joined, so each sum is over the shards.
    async fn own_metrics(&self) -> Option<Scrape> {
        let mut text = String::new();
        for endpoints in &self.endpoints {
            let shard = reqwest::get(format!("{endpoints}/metrics"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.push_str(&shard);
            text.push('\n');
        }
        Some(Scrape::parse(&text))
    }

    fn api(&self) -> Api<DeploymentChecklist> {
        self.api.clone()
    }

    fn app(&self, name: &str, image: &str, replicas: u32) -> Value {
        let mut object = checklist(0, image, replicas, &self.app_url);
        object["metadata"]["name"] = name.into();
        if self.operators.len() > 1 {
            let shard = shard_of(name, self.operators.len());
            object["metadata"]["labels"] = serde_json::json!({SHARD_LABEL: shard.to_string()});
        }
        object
    }

    fn image_patch(&self, image: &str) -> Value {
        serde_json::json!({"spec": {"app": {"image": image}}})
    }

    fn healthy(app: &DeploymentChecklist) -> bool {
        checklist_ready(app)
    }

    fn rolled_back(app: &DeploymentChecklist) -> bool {
        checklist_rolled_back(app)
    }
}

/// Runs the plan against the operator in a namespace of its own.
pub async fn measure(client: &Client, plan: &Plan) -> Figures {
    let ns = TestNamespace::create(client, "scale-checklists").await;
    let app = start_app().await;
    let extra: Vec<String> = std::env::var("SCALE_OPERATOR_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let mut operators = Vec::new();
    let mut endpoints = Vec::new();
    for shard in 0..plan.shards {
        let selector = format!("{SHARD_LABEL}={shard}");
        let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
        if plan.shards > 1 {
            args.extend(["--selector", &selector]);
        }
        let operator = Operator::launch(ns.name(), &args, "info,kube=warn");
        endpoints.push(operator.endpoints().await);
        operators.push(operator);
    }
    let ours = Ours {
        operators,
        endpoints,
        api: Api::namespaced(client.clone(), ns.name()),
        app_url: app.url(),
    };
    let figures = drive(client, &ours, plan).await;
    drop(ours);
    ns.finish(client).await;
    figures
}
