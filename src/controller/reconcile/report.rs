//! What a reconcile tells: the status (fitted to its budget), one Event per note, the
//! notifications, and the report of a checklist stalled by what only a person can fix.

use kube::Resource;

use crate::{
    ReconcileError, Result,
    api::{DeploymentChecklist, DeploymentChecklistStatus, Reason},
    error::chain,
};

use super::{AT_REST, Context, Note, Plan, World, clock, observe, plan, record};

/// Queues the notifications the plan's transitions call for (after the status that announces
/// them is written), and reports targets whose URL cannot be read.
pub(super) async fn notify(
    checklist: &DeploymentChecklist,
    planned: &Plan,
    world: &World,
    ctx: &Context,
) {
    let Some(notifier) = &ctx.notifier else {
        return;
    };
    let reasons: Vec<Reason> = planned.notes.iter().map(|n| n.reason).collect();
    let targets = checklist
        .spec
        .notifications
        .as_ref()
        .map(|n| crate::notify::resolve(n, &world.secrets))
        .unwrap_or_default();
    let (deliveries, unsendable) = crate::notify::deliveries(
        checklist,
        &planned.status,
        &reasons,
        &targets,
        &ctx.notify_defaults,
        &clock::now().0.to_string(),
    );
    for delivery in deliveries {
        notifier.enqueue(delivery);
    }
    for message in unsendable {
        let note = Note {
            reason: Reason::NotificationFailed,
            message,
        };
        announce_note(checklist, &note, ctx).await;
    }
}

/// Publishes `note` as an Event about `checklist`.
pub(super) async fn announce_note(checklist: &DeploymentChecklist, note: &Note, ctx: &Context) {
    record::publish(
        &ctx.client,
        &ctx.reporter,
        &ctx.metrics,
        checklist.object_ref(&()),
        note,
    )
    .await;
}

/// The record step as one: the status when it says something new, then one Event per note.
pub(super) async fn record_plan(
    checklist: &DeploymentChecklist,
    previous: &DeploymentChecklistStatus,
    planned: &Plan,
    ctx: &Context,
) -> Result<()> {
    record_status(checklist, previous, planned, ctx).await?;
    announce(checklist, planned, ctx).await;
    Ok(())
}

/// One Event per note of the plan.
pub(super) async fn announce(checklist: &DeploymentChecklist, planned: &Plan, ctx: &Context) {
    for note in &planned.notes {
        announce_note(checklist, note, ctx).await;
    }
}

/// Writes the plan's status when it says something new, and returns the status now stored.
///
/// The status is fitted to its budget first (clean text, capped lists, a bounded size), so what
/// a tenant writes cannot make the API server refuse it. Should it refuse anyway, for what the
/// status holds rather than an outage, a shorter status still records the transition, and an
/// Event and a metric say what was refused: a rollback about to be acted on is never left
/// out of the status, and the checklist does not stall on the write.
pub(super) async fn record_status(
    checklist: &DeploymentChecklist,
    previous: &DeploymentChecklistStatus,
    planned: &Plan,
    ctx: &Context,
) -> Result<DeploymentChecklistStatus> {
    let status = record::budget::fit(planned.status.clone());
    if !record::status_changed(previous, &status) {
        return Ok(status);
    }
    let (stored, version) = match record::write_status(&ctx.client, checklist, &status).await {
        // Refused for what it holds; not for who sent it (401, 403) or a checklist gone (404).
        Err(ReconcileError::WriteStatus { source, .. })
            if matches!(source.code(), Some(400 | 413 | 422)) =>
        {
            ctx.metrics.status_refused();
            let why = source.to_string();
            let note = Note {
                reason: Reason::StatusRefused,
                message: format!("the API server refused the status: {why}"),
            };
            announce_note(checklist, &note, ctx).await;
            let reduced = record::budget::reduced(&status, &why);
            let version = record::write_status(&ctx.client, checklist, &reduced).await?;
            (reduced, version)
        }
        written => (status, written?),
    };
    ctx.versions.remember(observe::key(checklist)?, version);
    ctx.metrics.status_written();
    Ok(stored)
}

/// Says in the status and an Event (once) that the checklist is stalled by `error`, which only a
/// person can fix. Best effort: when the status cannot be written either (the same missing
/// rule), the log still says it.
pub(super) async fn report_blocked(
    checklist: &DeploymentChecklist,
    error: &ReconcileError,
    ctx: &Context,
) {
    let previous = checklist.status.clone().unwrap_or_default();
    let message = format!(
        "{}; tried again after a change to the checklist, and every {} minutes",
        chain(error),
        AT_REST.as_secs() / 60
    );
    let planned = plan::blocked(
        checklist.meta().generation.unwrap_or_default(),
        &previous,
        error.reason(),
        &message,
        &clock::now(),
    );
    if let Err(failed) = record_plan(checklist, &previous, &planned, ctx).await {
        tracing::debug!(error = %chain(&failed), "cannot say in the status why the reconcile failed");
    }
}
