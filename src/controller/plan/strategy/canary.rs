//! Canary: at each step a share of the replicas runs the new revision in its own Deployment,
//! beside every stable pod and behind the app's Service with them; the step's checks run against
//! the canary Service (the new pods only), then the step holds its pause, or waits for a person.
//! After the last step the new revision scales to every replica and the stable pods go.
//!
//! The stable side stays at full size throughout: capacity never drops, an abort or a failure
//! only removes the canary pods (the stable pods and their UIDs are untouched), and there is
//! nothing to scale back. The price is the canary pods on top, and a share of traffic by pods of
//! canary / (canary + stable), a little under the step's weight.

use crate::api::{ConditionStatus, ConditionType as Cond, Phase, Reason, RolloutStage};
use crate::controller::observe::RolloutProgress;
use crate::traffic::Routing;

use super::super::{Endpoint, Planner};
use super::{Progress, Step, Strategy, progress_step, sides};

/// The Canary strategy.
pub(in crate::controller::plan) struct Canary;

impl Strategy for Canary {
    fn release(&self, planner: &mut Planner<'_>) -> Step {
        let Some(stable) = planner.stable_running() else {
            return planner.settle();
        };
        match planner.stage() {
            RolloutStage::Deploying
            | RolloutStage::Verifying
            | RolloutStage::Paused
            | RolloutStage::WaitingForPromotion => step(planner, &stable),
            RolloutStage::Completing => complete(planner),
            RolloutStage::Promoted
            | RolloutStage::Complete
            | RolloutStage::Aborted
            | RolloutStage::RolledBack => planner.settle(),
        }
    }

    fn restore(&self, planner: &Planner<'_>, stable: &str) -> Progress {
        sides::restore(planner, stable)
    }
}

/// The step status.rollout.step names: its pods, its checks, its pause.
// Long (about 110 lines) on purpose: one step read top to bottom, scale → route → verify →
// pause → next, each stage a few lines that share the step's numbers; split, they would pass
// the same half-dozen values around.
fn step(planner: &mut Planner<'_>, stable: &str) -> Step {
    let steps = planner
        .spec
        .rollout
        .canary
        .as_ref()
        .map(|c| c.steps.clone())
        .unwrap_or_default();
    let Some(last) = steps.len().checked_sub(1) else {
        return complete(planner);
    };
    let number = planner
        .status
        .rollout
        .as_ref()
        .and_then(|r| r.step)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(1)
        .clamp(1, last + 1);
    let index = number - 1;
    let current = &steps[index];
    let replicas = planner.full_replicas();
    let fixed = planner
        .spec
        .rollout
        .canary
        .as_ref()
        .and_then(|c| c.canary_replicas.as_ref());
    let pods_wanted = sides::canary_pods(fixed, current.weight, replicas);
    let revision = planner.observed.revision.hash.clone();
    let (traffic, pod_share) = split(planner, current.weight, pods_wanted, replicas);
    let what = format!("canary step {number}/{} ({traffic})", steps.len());
    planner.edit_rollout(|r| {
        r.step = i32::try_from(number).ok();
        r.weight = Some(current.weight);
        r.pod_share = pod_share;
        r.traffic = Some(traffic);
    });
    // Every replica runs the new version only once the steps are done.
    planner.set(
        Cond::RolloutComplete,
        ConditionStatus::False,
        Reason::RollingOut,
        &what,
    );

    // The step's share once the step's pods all serve; while they come up (or scale between
    // steps) the previous step's, so a router never sends requests to pods not yet ready; before
    // the canary exists, none: only its checks reach it.
    let deployed = planner.observed.traffic.of(&revision).is_some();
    let pods = planner.ensure_revision(&revision, pods_wanted);
    let previous = index.checked_sub(1).map_or(0, |i| steps[i].weight);
    let weight = match &pods {
        Some(p) if p.progress == RolloutProgress::Complete => current.weight,
        _ if deployed => previous,
        _ => 0,
    };
    let routed = planner.route(Routing::trying(stable, &revision, weight));
    let coming = pods.map_or(Step::Wait, |p| progress_step(&p.progress));
    match coming {
        Step::Done => {}
        Step::Wait => return planner.deploying(&format!("{what}: the new pods are coming up")),
        failed => return failed,
    }
    if let Err(why) = routed {
        return planner.wait_for_traffic(&why);
    }
    if planner.stage() == RolloutStage::Deploying {
        planner.set_stage(RolloutStage::Verifying);
    }
    let gate = planner.gate(Endpoint::Side);
    match planner.verify(&gate, &format!("{what}: verifying the canary pods")) {
        Step::Done => {}
        stopped => return stopped,
    }
    if current.weight >= 100 {
        return finish_steps(planner);
    }
    match current.pause_seconds {
        Some(seconds) => {
            let until = planner
                .status
                .rollout
                .as_ref()
                .and_then(|r| r.paused_until.clone())
                .unwrap_or_else(|| planner.after(seconds));
            if planner.stage() != RolloutStage::Paused {
                // Entering phase Paused below is the Event.
                planner.edit_rollout(|r| {
                    r.stage = RolloutStage::Paused;
                    r.paused_until = Some(until.clone());
                });
            }
            let promoted = planner.take_promote();
            if promoted {
                planner.announce(
                    Reason::Promoted,
                    format!("{what}: the pause was ended by a person"),
                );
            }
            if !promoted && planner.now.0 < until.0 {
                planner.wake_at(&until);
                planner.progress(
                    Phase::Paused,
                    Reason::Paused,
                    &format!("{what} passed its checks; holding until {}", until.0),
                );
                return Step::Wait;
            }
        }
        None => {
            if !planner.take_promote() {
                planner.wait_for_promotion(&format!("{what} passed its checks"));
                return Step::Wait;
            }
            planner.announce(Reason::Promoted, format!("{what}: promoted by a person"));
        }
    }
    if index == last {
        return finish_steps(planner);
    }
    next_step(planner, stable, number + 1)
}

/// How a step of `weight` with `pods` canary pods beside `replicas` stable ones splits requests,
/// in words, and the share of the pods when no router sets the weight: then the pods are the
/// split, and the words say so.
fn split(planner: &Planner<'_>, weight: i32, pods: i32, replicas: i32) -> (String, Option<i32>) {
    match &planner.spec.rollout.traffic_routing {
        Some(routing) => (
            format!(
                "{weight}% of requests through HTTPRoute {}; {pods} of {replicas} pods",
                routing.gateway_api.http_route
            ),
            None,
        ),
        None => {
            let total = replicas.saturating_add(pods).max(1);
            // Rounded to the nearest percent.
            let share = (i64::from(pods) * 100 + i64::from(total) / 2) / i64::from(total);
            let share = i32::try_from(share).unwrap_or(100);
            (
                format!(
                    "{weight}% asked; {pods} of {total} pods, about {share}% of requests \
                     (spec.rollout.trafficRouting sets the share exactly)"
                ),
                Some(share),
            )
        }
    }
}

/// On to step `number`: its pods, then its own checks.
fn next_step(planner: &mut Planner<'_>, stable: &str, number: usize) -> Step {
    planner.new_verification_stage();
    planner.edit_rollout(|r| {
        r.step = i32::try_from(number).ok();
        r.stage = RolloutStage::Deploying;
        r.paused_until = None;
    });
    let weight = planner
        .spec
        .rollout
        .canary
        .as_ref()
        .and_then(|c| c.steps.get(number - 1))
        .map_or(100, |s| s.weight);
    planner.announce(
        Reason::StepStarted,
        format!("canary step {number}: {weight}% of the pods run the new version"),
    );
    step(planner, stable)
}

/// Every step passed: the new revision scales to every replica.
fn finish_steps(planner: &mut Planner<'_>) -> Step {
    planner.new_verification_stage();
    planner.edit_rollout(|r| {
        r.stage = RolloutStage::Completing;
        r.paused_until = None;
    });
    planner.announce(
        Reason::StepStarted,
        "canary passed every step: the new version takes every replica".into(),
    );
    complete(planner)
}

/// The new revision runs every replica; then the app's Service selects it only and the stable
/// pods go.
fn complete(planner: &mut Planner<'_>) -> Step {
    let revision = planner.observed.revision.hash.clone();
    let replicas = planner.full_replicas();
    let coming = format!(
        "canary passed every step: scaling {} to {replicas} replicas",
        planner.observed.revision.image
    );
    match planner.bring_up(replicas, &coming) {
        Step::Done => {}
        stopped => return stopped,
    }
    // At rest the checks go through the app: nothing waits for the route here.
    let _ = planner.route(Routing::settled(&revision));
    planner.remove_others(&revision);
    planner.set_stage(RolloutStage::Complete);
    Step::Done
}
