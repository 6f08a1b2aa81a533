//! `lint -f FILE`: every DeploymentChecklist of a file checked offline against the CRD's own
//! schema and the rules `verify` re-states, then — for the CRD rules about the rollout that are
//! only evaluated by the API server — a server-side dry run when a cluster answers. The templates
//! a checklist names come from the file, from --templates files, and else from that cluster.

use std::{path::Path, process::ExitCode};

use kube::{
    Api,
    api::{Patch, PatchParams},
};

use super::cluster::{Cluster, Connection};
use crate::{
    api::{ChecklistTemplate, ClusterChecklistTemplate, DeploymentChecklist, TemplateKind},
    verify::{
        cli::{
            Links, MAX_FILE_BYTES, MissingTemplate, lint, missing_templates, read_limited,
            templates_file,
        },
        templates::Found,
    },
};

/// The revision the operator will give a valid checklist's spec, so a team can wire its
/// dashboards and Prometheus relabelling before the first deploy.
/// None with spec.app.rollOnChange or spec.promotion: the revision then follows objects only
/// the cluster holds (their versions, the image promoted).
fn revision_of(document: &serde_json::Value) -> Option<String> {
    let checklist: DeploymentChecklist = serde_json::from_value(document.clone()).ok()?;
    let spec = &checklist.spec;
    let rolls_on_change = spec
        .app
        .roll_on_change
        .as_ref()
        .is_some_and(|r| !r.is_empty());
    (!rolls_on_change && spec.promotion.is_none()).then(|| crate::resources::revision_hash(spec))
}

/// Checks the file; 0 when every checklist is valid, 1 when any is not, 2 when the file cannot
/// be read or holds no checklist.
pub async fn run(
    file: &Path,
    template_files: &[std::path::PathBuf],
    offline: bool,
    connection: &Connection,
) -> ExitCode {
    let mut templates = Vec::new();
    for path in template_files {
        match templates_file(path) {
            Ok(found) => templates.extend(found),
            Err(error) => {
                eprintln!("kubectl checklist lint: {error}");
                return ExitCode::from(2);
            }
        }
    }
    let text = match read_limited(file, MAX_FILE_BYTES, Links::Follow)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", file.display()))
        }) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("kubectl checklist lint: {error}");
            return ExitCode::from(2);
        }
    };
    // Templates the files do not hold are the cluster's, as the operator would find them.
    if !offline {
        match missing_templates(&text, &templates) {
            Ok(missing) if !missing.is_empty() => {
                templates.extend(from_cluster(&missing, connection).await);
            }
            _ => {}
        }
    }
    let linted = match lint(&text, &templates) {
        Ok(linted) => linted,
        Err(error) => {
            eprintln!("kubectl checklist lint: {}: {error}", file.display());
            return ExitCode::from(2);
        }
    };
    let mut valid = true;
    for checklist in &linted {
        if checklist.problems.is_empty() {
            continue;
        }
        valid = false;
        println!(
            "✗ {} ({}): {} problem(s)",
            checklist.name,
            file.display(),
            checklist.problems.len()
        );
        for problem in &checklist.problems {
            println!("    {problem}");
        }
    }
    let server = if offline {
        Verdicts::Skipped("--offline".into())
    } else {
        dry_run(&linted, connection).await
    };
    for checklist in linted.iter().filter(|c| c.problems.is_empty()) {
        match &server {
            Verdicts::Checked(verdicts) => {
                match verdicts.iter().find(|(n, _)| *n == checklist.name) {
                    Some((_, Some(refusal))) => {
                        valid = false;
                        println!(
                            "✗ {} ({}): the API server refuses it:",
                            checklist.name,
                            file.display()
                        );
                        println!("    {refusal}");
                    }
                    _ => println!(
                        "✓ {}: valid (schema and rules offline, and a server-side dry run)",
                        checklist.name
                    ),
                }
            }
            Verdicts::Skipped(why) => println!(
                "✓ {}: valid offline (schema and the rules about checks); the CRD's rules about the rollout were not checked by an API server: {why}",
                checklist.name
            ),
        }
        if let Some(revision) = revision_of(&checklist.document) {
            println!(
                "    revision {revision}: the pods' checklist.dev/revision label, {{{{revision}}}} in prometheus queries"
            );
        }
    }
    if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The `missing` templates the cluster holds; none when it does not answer (lint then says
/// which are not found).
async fn from_cluster(missing: &[MissingTemplate], connection: &Connection) -> Vec<Found> {
    let Ok(cluster) = Cluster::connect(connection).await else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (kind, namespace, name) in missing {
        let template = match kind {
            TemplateKind::ChecklistTemplate => {
                let namespace = namespace.as_deref().unwrap_or(&cluster.namespace);
                Api::<ChecklistTemplate>::namespaced(cluster.client.clone(), namespace)
                    .get_opt(name)
                    .await
                    .ok()
                    .flatten()
                    .map(|t| t.spec.template)
            }
            TemplateKind::ClusterChecklistTemplate => {
                Api::<ClusterChecklistTemplate>::all(cluster.client.clone())
                    .get_opt(name)
                    .await
                    .ok()
                    .flatten()
                    .map(|t| t.spec.template)
            }
        };
        if let Some(spec) = template {
            found.push(Found {
                kind: *kind,
                name: name.clone(),
                generation: None,
                spec,
            });
        }
    }
    found
}

/// What the API server said of each valid checklist: a refusal, or None when it accepts it.
enum Verdicts {
    Checked(Vec<(String, Option<String>)>),
    Skipped(String),
}

async fn dry_run(linted: &[crate::verify::cli::Linted], connection: &Connection) -> Verdicts {
    let cluster = match Cluster::connect(connection).await {
        Ok(cluster) => cluster,
        Err(error) => return Verdicts::Skipped(error.to_string()),
    };
    let params = PatchParams::apply("kubectl-checklist-lint").dry_run();
    let mut verdicts = Vec::new();
    for checklist in linted.iter().filter(|c| c.problems.is_empty()) {
        let namespace = checklist.document["metadata"]["namespace"]
            .as_str()
            .unwrap_or(&cluster.namespace)
            .to_string();
        let api: Api<DeploymentChecklist> = Api::namespaced(cluster.client.clone(), &namespace);
        match api
            .patch(&checklist.name, &params, &Patch::Apply(&checklist.document))
            .await
        {
            Ok(_) => verdicts.push((checklist.name.clone(), None)),
            Err(kube::Error::Api(status)) if status.code == 422 || status.code == 400 => {
                verdicts.push((checklist.name.clone(), Some(status.message.clone())));
            }
            // No CRD, no permission, no answer: say why the server check did not happen.
            Err(error) => {
                return Verdicts::Skipped(
                    cluster.explain(error, Some(&checklist.name)).to_string(),
                );
            }
        }
    }
    Verdicts::Checked(verdicts)
}
