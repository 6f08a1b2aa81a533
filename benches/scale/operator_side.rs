//! The operator's side: a release build scoped to the run's namespace, its checklists verified
//! against the local test app.

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

struct Ours {
    operator: Operator,
    endpoints: String,
    api: Api<DeploymentChecklist>,
    app_url: String,
}

impl Side for Ours {
    type App = DeploymentChecklist;

    fn pid(&self) -> u32 {
        self.operator.pid()
    }

    async fn own_metrics(&self) -> Option<Scrape> {
        let text = reqwest::get(format!("{}/metrics", self.endpoints))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        Some(Scrape::parse(&text))
    }

    fn api(&self) -> Api<DeploymentChecklist> {
        self.api.clone()
    }

    fn app(&self, name: &str, image: &str, replicas: u32) -> Value {
        let mut object = checklist(0, image, replicas, &self.app_url);
        object["metadata"]["name"] = name.into();
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
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let operator = Operator::launch(ns.name(), &extra, "info,kube=warn");
    let endpoints = operator.endpoints().await;
    let ours = Ours {
        operator,
        endpoints,
        api: Api::namespaced(client.clone(), ns.name()),
        app_url: app.url(),
    };
    let figures = drive(client, &ours, plan).await;
    drop(ours);
    ns.finish(client).await;
    figures
}
