//! The check templates a checklist names, read from the API server: a ChecklistTemplate in the
//! checklist's namespace, a ClusterChecklistTemplate anywhere. Only the ones named are read, so a
//! checklist without templates costs no request; what they resolve to is `verify::templates`'.

use std::{borrow::Cow, collections::BTreeSet};

use kube::{Api, Client, ResourceExt};

use crate::{
    Result,
    api::{
        ChecklistTemplate, ClusterChecklistTemplate, DeploymentChecklist, TemplateKind,
        TemplateStatus,
    },
    verify::templates::{self, Found},
};

use super::get::get_opt;
use crate::controller::reader_index::TemplateObject;

/// The templates `checklist` names, as the reader index keys them.
pub fn template_names(checklist: &DeploymentChecklist) -> BTreeSet<TemplateObject> {
    let namespace = checklist.namespace().unwrap_or_default();
    checklist
        .spec
        .verification
        .templates
        .iter()
        .map(|r| {
            let scope = match r.kind {
                TemplateKind::ChecklistTemplate => namespace.clone(),
                TemplateKind::ClusterChecklistTemplate => String::new(),
            };
            (r.kind, scope, r.name.clone())
        })
        .collect()
}

/// The checklist a reconcile works on: its templates' checks joined to its own.
#[derive(Debug, Clone)]
pub struct Effective<'a> {
    /// The checklist with every template's checks in spec.verification.checks; as it is when it
    /// names no template or its templates do not resolve.
    pub checklist: Cow<'a, DeploymentChecklist>,
    /// Each template used and the checks it gave.
    pub templates: Vec<TemplateStatus>,
    /// Why the templates do not resolve, if they do not.
    pub problem: Option<String>,
    /// spec.promotion, decided (see [`follow`](super::follow)); the promoted image is already
    /// in `checklist`.
    pub promotion: Option<crate::controller::plan::promotion::Decision>,
}

/// `checklist` with its templates resolved, or with the reason they do not resolve.
pub async fn effective<'a>(
    client: &Client,
    checklist: &'a DeploymentChecklist,
) -> Result<Effective<'a>> {
    if checklist.spec.verification.templates.is_empty() {
        return Ok(Effective {
            checklist: Cow::Borrowed(checklist),
            templates: Vec::new(),
            problem: None,
            promotion: None,
        });
    }
    let found = read(client, checklist).await?;
    Ok(match templates::resolve(checklist, &found) {
        Ok(resolved) => Effective {
            checklist: Cow::Owned(resolved.checklist),
            templates: resolved.templates,
            problem: None,
            promotion: None,
        },
        Err(problem) => Effective {
            checklist: Cow::Borrowed(checklist),
            templates: Vec::new(),
            problem: Some(problem),
            promotion: None,
        },
    })
}

/// The templates `checklist` names that exist, each read once; a missing one is left out (the
/// resolution names it), a failed read is an error to retry.
async fn read(client: &Client, checklist: &DeploymentChecklist) -> Result<Vec<Found>> {
    let namespace = checklist.namespace().unwrap_or_default();
    let mut found: Vec<Found> = Vec::new();
    for reference in &checklist.spec.verification.templates {
        if found
            .iter()
            .any(|f| f.kind == reference.kind && f.name == reference.name)
        {
            continue;
        }
        let template = match reference.kind {
            TemplateKind::ChecklistTemplate => {
                let api: Api<ChecklistTemplate> = Api::namespaced(client.clone(), &namespace);
                get_opt(&api, &reference.name, "ChecklistTemplate")
                    .await?
                    .map(|t| (t.metadata.generation, t.spec.template))
            }
            TemplateKind::ClusterChecklistTemplate => {
                let api: Api<ClusterChecklistTemplate> = Api::all(client.clone());
                get_opt(&api, &reference.name, "ClusterChecklistTemplate")
                    .await?
                    .map(|t| (t.metadata.generation, t.spec.template))
            }
        };
        if let Some((generation, spec)) = template {
            found.push(Found {
                kind: reference.kind,
                name: reference.name.clone(),
                generation,
                spec,
            });
        }
    }
    Ok(found)
}
