//! The checklist a checklist follows (spec.promotion.from), read from the API server, and the
//! promoted version put in place of spec.app.image. A checklist that follows none costs no
//! request; what qualifies for promotion is the plan's (`plan::promotion`, pure).

use kube::{Api, Client, ResourceExt};

use crate::{
    ReconcileError, Result,
    api::{DeploymentChecklist, PromotedRevision, requests::APPROVE_ANNOTATION},
    controller::plan::promotion::{self, Source},
    resources,
    text::line,
};

use super::{Effective, Key};

/// What was found of a followed checklist, owned.
enum Followed {
    Found(Box<DeploymentChecklist>),
    Missing,
    Unreadable(String),
}

/// The followed checklist of `checklist` as (namespace, name), if it follows one.
pub fn followed_key(checklist: &DeploymentChecklist) -> Option<Key> {
    let from = &checklist.spec.promotion.as_ref()?.from;
    let namespace = from
        .namespace
        .clone()
        .or_else(|| checklist.namespace())
        .unwrap_or_default();
    Some((namespace, from.name.clone()))
}

/// `effective` with its promotion decided at `now`: the promoted version in place of
/// spec.app.image (and spec.migration.image), and the decision for the status.
pub async fn follow<'a>(
    client: &Client,
    mut effective: Effective<'a>,
    now: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> Result<Effective<'a>> {
    let checklist = effective.checklist.as_ref();
    let (Some(spec), Some((namespace, name))) =
        (checklist.spec.promotion.as_ref(), followed_key(checklist))
    else {
        return Ok(effective);
    };
    let itself = checklist.namespace().as_deref() == Some(namespace.as_str())
        && checklist.name_any() == name;
    let followed = if itself {
        Followed::Unreadable(
            "spec.promotion.from names this checklist: it cannot follow itself".into(),
        )
    } else {
        read(client, &namespace, &name).await?
    };
    let source = match &followed {
        Followed::Found(found) => Source::Found(found),
        Followed::Missing => Source::Missing,
        Followed::Unreadable(reason) => Source::Unreadable(reason.clone()),
    };
    let decision = promotion::decide(
        spec,
        &checklist.namespace().unwrap_or_default(),
        &source,
        checklist.status.as_ref().and_then(|s| s.promotion.as_ref()),
        checklist
            .annotations()
            .get(APPROVE_ANNOTATION)
            .map(String::as_str),
        now,
    );
    if let Some(promoted) = decision.running() {
        effective.checklist = std::borrow::Cow::Owned(running(checklist, promoted));
    }
    effective.promotion = Some(decision);
    Ok(effective)
}

/// `checklist` running the promoted version (see [`resources::promoted_spec`]).
fn running(checklist: &DeploymentChecklist, promoted: &PromotedRevision) -> DeploymentChecklist {
    DeploymentChecklist {
        spec: resources::promoted_spec(&checklist.spec, promoted),
        ..checklist.clone()
    }
}

/// The followed checklist; a refusal a person must fix (a namespaced operator, a checklist
/// this version cannot read) is said, not retried.
async fn read(client: &Client, namespace: &str, name: &str) -> Result<Followed> {
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), namespace);
    match api.get_opt(name).await {
        Ok(Some(found)) => Ok(Followed::Found(Box::new(found))),
        Ok(None) => Ok(Followed::Missing),
        Err(kube::Error::Api(status)) if status.code == 403 => Ok(Followed::Unreadable(format!(
            "the operator may not read DeploymentChecklists in namespace {namespace} (an \
             operator scoped to one namespace follows only checklists of that namespace)"
        ))),
        Err(kube::Error::SerdeError(error)) => Ok(Followed::Unreadable(format!(
            "DeploymentChecklist {namespace}/{name} cannot be read by this operator: {}",
            line(&error.to_string(), 200)
        ))),
        Err(error) => Err(ReconcileError::read(
            format!("DeploymentChecklist {namespace}/{name}"),
            error,
        )),
    }
}
