//! One reconcile: observe → plan → act → record, for one DeploymentChecklist.

use std::{sync::Arc, time::Duration};

use k8s_openapi::{
    api::core::v1::ObjectReference, apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp,
};
use kube::{
    Client, Resource, ResourceExt,
    core::DeserializeGuard,
    runtime::{controller::Action, events::Reporter},
};
use tracing::Instrument;

use crate::{
    Error, Result,
    api::{DeploymentChecklist, Reason},
    telemetry::Metrics,
};

use super::{
    act::Actor,
    observe::{self, Versions, World},
    plan::{self, Note, Subject},
    record,
    verification::Verifier,
};

/// What every reconcile shares.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Who publishes the Events.
    pub reporter: Reporter,
    /// The verification tasks.
    pub verifier: Verifier,
    /// The operator's metrics.
    pub metrics: Arc<Metrics>,
    /// The version of each checklist after this process's last status write, so a reconcile
    /// handed an older one from the watch cache reads it again.
    pub versions: Versions,
}

impl Context {
    /// What reconciles share, with nothing remembered yet.
    pub fn new(
        client: Client,
        reporter: Reporter,
        verifier: Verifier,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            client,
            reporter,
            verifier,
            metrics,
            versions: Versions::default(),
        }
    }
}

/// The checklist type as the controller watches it: one that fails to parse arrives as an error
/// instead of stopping the watch for every other checklist.
pub type Guarded = DeserializeGuard<DeploymentChecklist>;

/// Reconciles one checklist.
pub async fn reconcile(object: Arc<Guarded>, ctx: Arc<Context>) -> Result<Action> {
    let started = std::time::Instant::now();
    let result = reconcile_guarded(object, &ctx).await;
    ctx.metrics.reconciled(
        started.elapsed(),
        result.as_ref().err().map(Error::category),
    );
    result
}

async fn reconcile_guarded(object: Arc<Guarded>, ctx: &Context) -> Result<Action> {
    let checklist = match &object.0 {
        Ok(checklist) => checklist,
        Err(invalid) => {
            let name = format!(
                "{}/{}",
                invalid.metadata.namespace.clone().unwrap_or_default(),
                invalid.metadata.name.clone().unwrap_or_default()
            );
            tracing::warn!(checklist = %name, error = %invalid.error, "cannot parse DeploymentChecklist");
            let reference = ObjectReference {
                api_version: Some(DeploymentChecklist::api_version(&()).into_owned()),
                kind: Some(DeploymentChecklist::kind(&()).into_owned()),
                name: invalid.metadata.name.clone(),
                namespace: invalid.metadata.namespace.clone(),
                uid: invalid.metadata.uid.clone(),
                ..ObjectReference::default()
            };
            let note = Note {
                reason: Reason::InvalidSpec,
                message: format!("this operator cannot read the object: {}", invalid.error),
            };
            record::publish(&ctx.client, &ctx.reporter, &ctx.metrics, reference, &note).await;
            // Nothing can be planned for an object this version cannot read; it is looked at
            // again when it changes.
            return Ok(Action::await_change());
        }
    };
    // The span's own name is "reconcile"; the checklist's is `checklist`, so a JSON line never
    // carries two `name` keys.
    let span = tracing::info_span!(
        "reconcile",
        namespace = checklist.namespace().unwrap_or_default(),
        checklist = checklist.name_any()
    );
    reconcile_checklist(checklist, ctx).instrument(span).await
}

async fn reconcile_checklist(cached: &DeploymentChecklist, ctx: &Context) -> Result<Action> {
    let reread = observe::reread(&ctx.client, &ctx.versions, cached).await?;
    let checklist = match &reread {
        None => cached,
        Some(Some(current)) => current,
        // Deleted since the cache saw it: nothing left to reconcile.
        Some(None) => return Ok(Action::await_change()),
    };
    if checklist.meta().deletion_timestamp.is_some() {
        // Owned objects go with it by garbage collection; only the rounds are ours to stop.
        ctx.verifier.stop(&observe::key(checklist)?);
        return Ok(Action::await_change());
    }
    let name = checklist.name_any();
    let revision = observe::revision(checklist);
    let world = World::read(&ctx.client, checklist, &revision.hash).await?;
    let report = ctx
        .verifier
        .report(&observe::key(checklist)?, &revision.hash);
    let observed = observe::observation(checklist, &world, revision, report);

    let previous = checklist.status.clone().unwrap_or_default();
    let subject = Subject {
        name: &name,
        generation: checklist.meta().generation.unwrap_or_default(),
        spec: &checklist.spec,
    };
    let planned = plan::plan(subject, &previous, &observed, &Time(Timestamp::now()));
    if !planned.changes.is_empty() {
        tracing::info!(
            changes = ?planned.changes,
            phase = %planned.status.phase.map(|p| p.to_string()).unwrap_or_default(),
            "plan"
        );
    }

    let actor = Actor {
        client: &ctx.client,
        checklist,
        world: &world,
        verifier: &ctx.verifier,
        revision_number: planned.status.history.last().map_or(1, |h| h.revision),
    };
    actor.act(&planned.changes).await?;

    if record::status_changed(&previous, &planned.status) {
        let version = record::write_status(&ctx.client, checklist, &planned.status).await?;
        ctx.versions.remember(observe::key(checklist)?, version);
        ctx.metrics.status_written();
    }
    for note in &planned.notes {
        record::publish(
            &ctx.client,
            &ctx.reporter,
            &ctx.metrics,
            checklist.object_ref(&()),
            note,
        )
        .await;
    }
    Ok(Action::requeue(planned.requeue_after))
}

/// What to do after a failed reconcile: log it and try again shortly.
pub fn error_policy(object: Arc<Guarded>, error: &Error, _ctx: Arc<Context>) -> Action {
    let name = object.meta().name.clone().unwrap_or_default();
    tracing::warn!(name = %name, category = error.category(), error = %error, "reconcile failed");
    Action::requeue(Duration::from_secs(5))
}
