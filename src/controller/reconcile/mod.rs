//! One reconcile: observe → plan → act → record, for one DeploymentChecklist, and what happens
//! when it fails: a transient failure is retried with backoff, a permanent one is written to the
//! status and waits for a change.

use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{Resource, ResourceExt, core::DeserializeGuard, runtime::controller::Action};
use tracing::Instrument;

use crate::{
    ReconcileError, Result,
    api::{DeploymentChecklist, DeploymentChecklistStatus, Reason},
    error::{Retry, chain},
};

use super::{
    act::Actor,
    clock,
    observe::{self, Key, Observation, World},
    plan::{self, AT_REST, Note, Plan, Subject},
    record,
    retry::{backoff_delay, spread},
};

/// The checklist type as the controller watches it: one that fails to parse arrives as an error
/// instead of stopping the watch for every other checklist.
pub(crate) type Guarded = DeserializeGuard<DeploymentChecklist>;

/// How soon a reconcile deferred for its namespace's share comes back.
const DEFERRED: std::time::Duration = std::time::Duration::from_millis(500);

/// How long a reconcile that found the cache behind its own write waits before the next pass
/// reads the checklist live; the write's watch event usually comes within milliseconds.
const WAIT_FOR_OWN_WRITE: std::time::Duration = std::time::Duration::from_secs(2);

/// Reconciles one checklist, if its namespace has not taken its share of the reconciles running
/// now; otherwise it comes back in [`DEFERRED`] (spread), leaving the slot to other namespaces.
pub(crate) async fn reconcile(object: Arc<Guarded>, ctx: Arc<Context>) -> Result<Action> {
    let key = key_of(&object);
    let _share = match &ctx.shares {
        None => None,
        Some(shares) => match shares.try_acquire(&key.0) {
            Some(permit) => Some(permit),
            None => {
                ctx.metrics.reconcile_deferred();
                return Ok(Action::requeue(DEFERRED.mul_f64(1.0 + (ctx.jitter)())));
            }
        },
    };
    let started = std::time::Instant::now();
    let result = reconcile_guarded(&object, &ctx).await;
    ctx.metrics.reconciled(
        started.elapsed(),
        result.as_ref().err().map(|e| e.category().as_str()),
    );
    if result.is_ok() {
        ctx.failures.clear(&key);
    }
    result
}

/// What to do after a failed reconcile: back off on a failure that heals by itself; wait for a
/// change (or the 5-minute safety net) on one that does not, which the status already names.
pub(crate) fn error_policy(
    object: Arc<Guarded>,
    error: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    let key = key_of(&object);
    let delay = match error.retry() {
        Retry::WaitForChange => spread(AT_REST, (ctx.jitter)()),
        Retry::Backoff => backoff_delay(ctx.failures.record(key.clone()), (ctx.jitter)()),
    };
    tracing::warn!(
        namespace = %key.0,
        checklist = %key.1,
        category = error.category().as_str(),
        retry = ?error.retry(),
        retry_in_seconds = delay.as_secs_f64(),
        error = %chain(error),
        "reconcile failed"
    );
    Action::requeue(delay)
}

/// The key of a watched object, parsed or not.
fn key_of(object: &Guarded) -> Key {
    let meta = object.meta();
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

async fn reconcile_guarded(object: &Guarded, ctx: &Context) -> Result<Action> {
    let checklist = match &object.0 {
        Ok(checklist) => checklist,
        Err(invalid) => {
            let (namespace, name) = key_of(object);
            tracing::warn!(%namespace, checklist = %name, error = %crate::text::Shown(&invalid.error.to_string()), "cannot parse DeploymentChecklist");
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
    // carries two `name` keys. Each reconcile is a trace of its own (no parent): its phases
    // (debug spans, kept out of the log lines) and API requests are its children.
    let span = tracing::info_span!(
        parent: None,
        "reconcile",
        namespace = checklist.namespace().unwrap_or_default(),
        checklist = checklist.name_any(),
        otel.status_code = tracing::field::Empty,
    );
    let result = reconcile_checklist(checklist, ctx)
        .instrument(span.clone())
        .await;
    if result.is_err() {
        span.record("otel.status_code", "ERROR");
    }
    result
}

async fn reconcile_checklist(cached: &DeploymentChecklist, ctx: &Context) -> Result<Action> {
    let observing = tracing::debug_span!("observe");
    let reread = match observe::reread(&ctx.client, &ctx.versions, cached)
        .instrument(observing.clone())
        .await
    {
        Ok(reread) => reread,
        Err(error) => return failed(cached, error, ctx).await,
    };
    let checklist = match &reread {
        observe::Reread::Cached => cached,
        observe::Reread::Live(Some(current)) => current,
        // Deleted since the cache saw it: nothing left to reconcile.
        observe::Reread::Live(None) => return Ok(Action::await_change()),
        // The watch event of this process's own write triggers the next reconcile; should it
        // not come, the checklist is read on the next pass.
        observe::Reread::Wait => return Ok(Action::requeue(WAIT_FOR_OWN_WRITE)),
    };
    if checklist.meta().deletion_timestamp.is_some() {
        // Owned objects go with it by garbage collection; only the rounds are ours to stop.
        ctx.verifier.stop(&observe::key(checklist)?);
        return Ok(Action::await_change());
    }
    let key = observe::key(checklist)?;
    ctx.template_users
        .record(&key, observe::template_names(checklist));
    let effective = match observe::effective(&ctx.client, checklist)
        .instrument(observing.clone())
        .await
    {
        Ok(effective) => effective,
        Err(error) => return failed(checklist, error, ctx).await,
    };
    let effective = match Box::pin(observe::follow(&ctx.client, effective, &clock::now()))
        .instrument(observing.clone())
        .await
    {
        Ok(effective) => effective,
        Err(error) => return failed(checklist, error, ctx).await,
    };
    record_reads(ctx, &key, effective.checklist.as_ref());
    match observe_plan_act_record(&effective, ctx, observing).await {
        Ok(action) => Ok(action),
        Err(Unfinished {
            error,
            recorded: None,
        }) => failed(checklist, error, ctx).await,
        Err(Unfinished {
            error,
            recorded: Some(status),
        }) => {
            // Reported on top of the status just written, not the one the reconcile read.
            let mut current = checklist.clone();
            current.status = Some(*status);
            failed(&current, error, ctx).await
        }
    }
}

/// A reconcile that failed, with the status it recorded before failing, if it got that far.
struct Unfinished {
    error: ReconcileError,
    recorded: Option<Box<DeploymentChecklistStatus>>,
}

impl From<ReconcileError> for Unfinished {
    fn from(error: ReconcileError) -> Self {
        Self {
            error,
            recorded: None,
        }
    }
}

/// A failed reconcile of `checklist`: one only a person can fix is reported in its status first.
async fn failed(
    checklist: &DeploymentChecklist,
    error: ReconcileError,
    ctx: &Context,
) -> Result<Action> {
    if error.retry() == Retry::WaitForChange {
        report_blocked(checklist, &error, ctx).await;
    }
    Err(error)
}

/// Observe and plan: what the cluster holds for `checklist`, and what to do about it. The
/// observation's reads belong to the `observing` span, which ends before the plan.
async fn observe_and_plan(
    effective: &observe::Effective<'_>,
    previous: &DeploymentChecklistStatus,
    ctx: &Context,
    observing: tracing::Span,
) -> Result<(World, Plan)> {
    let checklist = effective.checklist.as_ref();
    // Boxed: a reconcile's future is polled on a worker thread's stack, and these reads would
    // otherwise add their state to every reconcile's, rollOnChange or not.
    let references = Box::pin(observe::references(&ctx.client, checklist))
        .instrument(observing.clone())
        .await?;
    let revision = observe::revision(checklist, references);
    let world = World::read(
        &ctx.client,
        checklist,
        &revision.hash,
        ctx.caches.as_deref(),
    )
    .instrument(observing.clone())
    .await?;
    drop(observing);
    let report = ctx.verifier.report(
        &observe::key(checklist)?,
        &observe::verification_target(checklist, &revision.hash),
        &crate::resources::checks_digest(&checklist.spec.verification),
    );
    let observed = Observation {
        templates: effective.templates.clone(),
        template_problem: effective.problem.clone(),
        promotion: effective.promotion.clone(),
        ..observe::observation(checklist, &world, revision, report)
    };
    let name = checklist.name_any();
    let subject = Subject {
        name: &name,
        generation: checklist.meta().generation.unwrap_or_default(),
        spec: &checklist.spec,
    };
    let planning = tracing::debug_span!("plan", changes = tracing::field::Empty);
    let planned =
        planning.in_scope(|| plan::plan(subject, &ctx.policy, previous, &observed, &clock::now()));
    planning.record("changes", planned.changes.len());
    if !planned.changes.is_empty() {
        tracing::info!(
            changes = ?planned.changes,
            phase = %planned.status.phase.map(|p| p.to_string()).unwrap_or_default(),
            "plan"
        );
    }
    Ok((world, planned))
}

async fn observe_plan_act_record(
    effective: &observe::Effective<'_>,
    ctx: &Context,
    observing: tracing::Span,
) -> std::result::Result<Action, Unfinished> {
    let checklist = effective.checklist.as_ref();
    let previous = checklist.status.clone().unwrap_or_default();
    let (world, planned) = observe_and_plan(effective, &previous, ctx, observing).await?;
    let acting = || tracing::debug_span!("act", changes = planned.changes.len());
    let recording = || tracing::debug_span!("record");
    // The Events and notifications that tell people what the status now says.
    let announcing = || tracing::debug_span!("announce");
    let actor = Actor {
        client: &ctx.client,
        checklist,
        world: &world,
        verifier: &ctx.verifier,
        revision_number: planned.status.history.last().map_or(1, |h| h.revision),
        caches: ctx.caches.as_deref(),
    };
    // A release moving forward acts first, so its status says only what was done; a verdict is
    // recorded before anything acts on it (see `Plan::records_first`).
    let tell = || async {
        announce(checklist, &planned, ctx).await;
        notify(checklist, &planned, &world, ctx).await;
    };
    if !planned.records_first() {
        actor.act(&planned.changes).instrument(acting()).await?;
        record_status(checklist, &previous, &planned, ctx)
            .instrument(recording())
            .await?;
        wake_followers(ctx, checklist, &previous, &planned.status);
        tell().instrument(announcing()).await;
        return Ok(requeue(&planned, ctx));
    }
    let recorded = record_status(checklist, &previous, &planned, ctx)
        .instrument(recording())
        .await?;
    wake_followers(ctx, checklist, &previous, &planned.status);
    let acted = actor.act(&planned.changes).instrument(acting()).await;
    // The notes say what the status now holds, so they go out even when an act failed: the
    // next plan starts from this status and will not announce the same transition again.
    tell().instrument(announcing()).await;
    if let Err(error) = acted {
        return Err(Unfinished {
            error,
            recorded: Some(Box::new(recorded)),
        });
    }
    Ok(requeue(&planned, ctx))
}

/// When to look again: the plan's safety net, spread so checklists do not all wake together.
fn requeue(planned: &Plan, ctx: &Context) -> Action {
    Action::requeue(spread(planned.requeue_after, (ctx.jitter)()))
}

mod context;
mod readers;
mod report;

pub(crate) use context::Context;

use readers::{record_reads, wake_followers};
use report::{announce, notify, record_status, report_blocked};

#[cfg(test)]
mod tests;
