//! One reconcile: observe → plan → act → record, for one DeploymentChecklist.

use std::{sync::Arc, time::Duration};

use k8s_openapi::{
    api::core::v1::ObjectReference, apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{Patch, PatchParams},
    core::DeserializeGuard,
    runtime::{
        controller::Action as Requeue,
        events::{Event, EventType, Recorder, Reporter},
    },
};
use tracing::Instrument;

use crate::{
    Error, Result,
    api::{ConditionStatus, ConditionType, DeploymentChecklist, DeploymentChecklistStatus, Phase},
    telemetry::Metrics,
};

use super::{
    act::{self, Actor},
    observe,
    plan::{self, Note, Subject},
    record::{self, FIELD_MANAGER},
    verification::Verifier,
    world::{self, World},
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
}

/// The checklist type as the controller watches it: one that fails to parse arrives as an error
/// instead of stopping the watch for every other checklist.
pub type Guarded = DeserializeGuard<DeploymentChecklist>;

/// Reconciles one checklist.
pub async fn reconcile(object: Arc<Guarded>, ctx: Arc<Context>) -> Result<Requeue> {
    let started = std::time::Instant::now();
    let result = reconcile_guarded(object, &ctx).await;
    ctx.metrics.reconciled(
        started.elapsed(),
        result.as_ref().err().map(Error::category),
    );
    result
}

async fn reconcile_guarded(object: Arc<Guarded>, ctx: &Context) -> Result<Requeue> {
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
                warning: true,
                reason: "InvalidSpec".into(),
                message: format!("this operator cannot read the object: {}", invalid.error),
            };
            publish(ctx, reference, &note).await;
            // Nothing can be planned for an object this version cannot read; it is looked at
            // again when it changes.
            return Ok(Requeue::await_change());
        }
    };
    let span = tracing::info_span!(
        "reconcile",
        namespace = checklist.namespace().unwrap_or_default(),
        name = checklist.name_any()
    );
    reconcile_checklist(checklist, ctx).instrument(span).await
}

async fn reconcile_checklist(checklist: &DeploymentChecklist, ctx: &Context) -> Result<Requeue> {
    if checklist.meta().deletion_timestamp.is_some() {
        // Owned objects go with it by garbage collection; only the rounds are ours to stop.
        ctx.verifier.stop(&act::key(checklist)?);
        return Ok(Requeue::await_change());
    }
    let name = checklist.name_any();
    let revision = observe::revision(checklist);
    let world = World::read(&ctx.client, checklist, &revision.hash).await?;
    let report = ctx.verifier.report(&act::key(checklist)?, &revision.hash);
    let observed = observe::observation(checklist, &world, revision, report);

    let previous = checklist.status.clone().unwrap_or_default();
    let subject = Subject {
        name: &name,
        generation: checklist.meta().generation.unwrap_or_default(),
        spec: &checklist.spec,
    };
    let planned = plan::plan(subject, &previous, &observed, &Time(Timestamp::now()));
    if !planned.actions.is_empty() {
        tracing::info!(actions = ?planned.actions, phase = ?planned.status.phase, "plan");
    }

    let actor = Actor {
        client: &ctx.client,
        checklist,
        world: &world,
        verifier: &ctx.verifier,
        revision_number: planned.status.history.last().map_or(1, |h| h.revision),
    };
    actor.act(&planned.actions).await?;

    if record::status_changed(&previous, &planned.status) {
        write_status(&ctx.client, checklist, &planned.status).await?;
        ctx.metrics.status_written();
    }
    for note in &planned.notes {
        publish(ctx, checklist.object_ref(&()), note).await;
    }
    Ok(requeue(&planned.status))
}

/// Writes the status by server-side apply on /status.
async fn write_status(
    client: &Client,
    checklist: &DeploymentChecklist,
    status: &DeploymentChecklistStatus,
) -> Result<()> {
    let namespace = world::namespace(checklist)?;
    let name = checklist.name_any();
    let patch = record::status_apply_patch(status).map_err(|source| Error::Serialize {
        what: format!("the status of {namespace}/{name}"),
        source,
    })?;
    let api: Api<DeploymentChecklist> = Api::namespaced(client.clone(), &namespace);
    api.patch_status(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(|e| Error::api(format!("write status of {namespace}/{name}"), e))?;
    tracing::info!(
        phase = ?status.phase,
        message = status.message.as_deref().unwrap_or_default(),
        "status written"
    );
    Ok(())
}

/// Publishes a transition as an Event; a failure to publish is logged, not fatal: the status
/// already says what happened.
///
/// Each Event gets a fresh Recorder: a Recorder folds Events of the same reason into one series
/// and keeps the first message, so "rolling out 2.0.0" would show as "rolling out 1.0.0 (x2)".
/// Notes are only made on transitions, so there is no flood to fold.
async fn publish(ctx: &Context, regarding: ObjectReference, note: &Note) {
    ctx.metrics.transition(&note.reason, note.warning);
    let recorder = Recorder::new(ctx.client.clone(), ctx.reporter.clone());
    let event = Event {
        type_: if note.warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: note.reason.clone(),
        note: Some(note.message.clone()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, &regarding).await {
        tracing::warn!(%error, reason = %note.reason, "cannot publish Event");
    }
}

/// When to look again without being asked: watches and the verification tasks trigger every
/// transition; this is only the safety net of a level-triggered controller. A checklist at rest
/// or waiting for a person (Ready, Stalled, Suspended) is looked at every 5 minutes.
fn requeue(status: &DeploymentChecklistStatus) -> Requeue {
    let stalled = status
        .condition(ConditionType::Stalled)
        .is_some_and(|c| c.status == ConditionStatus::True.as_str());
    match status.phase {
        _ if stalled => Requeue::requeue(Duration::from_secs(300)),
        Some(Phase::Ready | Phase::Suspended) => Requeue::requeue(Duration::from_secs(300)),
        _ => Requeue::requeue(Duration::from_secs(15)),
    }
}

/// What to do after a failed reconcile: log it and try again shortly.
pub fn error_policy(object: Arc<Guarded>, error: &Error, _ctx: Arc<Context>) -> Requeue {
    let name = object.meta().name.clone().unwrap_or_default();
    tracing::warn!(name = %name, category = error.category(), error = %error, "reconcile failed");
    Requeue::requeue(Duration::from_secs(5))
}
