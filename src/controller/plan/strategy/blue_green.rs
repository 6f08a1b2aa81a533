//! BlueGreen: the new revision comes up beside the stable one with every replica, reachable
//! only through the preview Service, where its checks run. Promotion (automatic, or by a person)
//! switches the app's Service to it in one write; the old pods stay scaleDownDelaySeconds with the
//! checks now running against the app, and a failure then switches back at once.

use crate::api::{Phase, Reason, RolloutStage};
use crate::traffic::Routing;

use super::super::{Change, Endpoint, Planner};
use super::{Progress, Step, Strategy, progress_step, sides};

/// The BlueGreen strategy.
pub(in crate::controller::plan) struct BlueGreen;

impl Strategy for BlueGreen {
    fn release(&self, planner: &mut Planner<'_>) -> Step {
        let Some(stable) = planner.stable_running() else {
            return planner.settle();
        };
        match planner.stage() {
            RolloutStage::Deploying
            | RolloutStage::Verifying
            | RolloutStage::WaitingForPromotion => preview(planner, &stable),
            RolloutStage::Promoted => promoted(planner, &stable),
            RolloutStage::Paused
            | RolloutStage::Completing
            | RolloutStage::Complete
            | RolloutStage::Aborted
            | RolloutStage::RolledBack => planner.settle(),
        }
    }

    fn restore(&self, planner: &Planner<'_>, stable: &str) -> Progress {
        sides::restore(planner, stable)
    }
}

/// Before the switch: users stay on `stable` while the new pods come up behind the preview
/// Service and pass their checks there; then the switch, when promotion allows it.
fn preview(planner: &mut Planner<'_>, stable: &str) -> Step {
    let revision = planner.observed.revision.hash.clone();
    let image = planner.observed.revision.image.clone();
    // Routed before any new pod exists: until the switch, users never reach them.
    let routed = planner.route(Routing::trying(stable, &revision, 0));
    let coming = format!(
        "blue-green: {image} coming up beside the stable version, behind the preview Service"
    );
    match planner.bring_up(planner.full_replicas(), &coming) {
        Step::Done => {}
        stopped => return stopped,
    }
    if let Err(why) = routed {
        return planner.wait_for_traffic(&why);
    }
    if planner.stage() == RolloutStage::Deploying {
        planner.set_stage(RolloutStage::Verifying);
    }
    let gate = planner.gate(Endpoint::Side);
    match planner.verify(
        &gate,
        "blue-green: verifying the new version through the preview",
    ) {
        Step::Done => {}
        stopped => return stopped,
    }
    let automatic = planner
        .spec
        .rollout
        .blue_green
        .as_ref()
        .is_none_or(|b| b.auto_promotion);
    if !planner.take_promote() && !automatic {
        planner.wait_for_promotion(&format!(
            "blue-green: {image} passed its checks on the preview; the app's Service still \
             selects the stable version"
        ));
        return Step::Wait;
    }
    switch(planner, stable, &revision, &image)
}

/// The switch: every request goes to the new pods in one write.
fn switch(planner: &mut Planner<'_>, stable: &str, revision: &str, image: &str) -> Step {
    let delay = scale_down_delay(planner);
    let now = planner.now.clone();
    // Whether the switch is in force is promoted's to wait for, before its checks.
    let _ = planner.route(Routing::trying(stable, revision, 100));
    planner.new_verification_stage();
    planner.edit_rollout(|r| {
        r.stage = RolloutStage::Promoted;
        r.promoted_at = Some(now);
    });
    planner.announce(
        Reason::Promoted,
        format!(
            "switched the app's Service to {image}; the old pods stay {delay}s, the checks run \
             against the app meanwhile"
        ),
    );
    promoted(planner, stable)
}

/// After the switch: the old pods wait out scaleDownDelaySeconds while the checks run against the
/// app; a failure switches back (the rollback), the end of the delay removes them.
fn promoted(planner: &mut Planner<'_>, stable: &str) -> Step {
    let revision = planner.observed.revision.hash.clone();
    let routed = planner.route(Routing::trying(stable, &revision, 100));
    if let Some(pods) = planner.observed.traffic.of(&revision)
        && let failed @ Step::Failed(_) = progress_step(&pods.progress)
    {
        return failed;
    }
    if let Err(why) = routed {
        return planner.wait_for_traffic(&why);
    }
    let gate = planner.gate(Endpoint::App);
    if let failed @ Step::Failed(_) = planner.verify(
        &gate,
        "blue-green: switched; verifying the new version through the app's Service",
    ) {
        return failed;
    }
    let delay = scale_down_delay(planner);
    let promoted_at = planner
        .status
        .rollout
        .as_ref()
        .and_then(|r| r.promoted_at.clone())
        .unwrap_or_else(|| planner.now.clone());
    let seconds_since = planner.now.0.as_second() - promoted_at.0.as_second();
    if seconds_since < i64::from(delay) {
        let until = planner.after(i32::try_from(i64::from(delay) - seconds_since).unwrap_or(delay));
        planner.wake_at(&until);
        let message = format!(
            "blue-green: the app's Service selects {}; the old pods stay until {} in case the \
             checks fail",
            planner.observed.revision.image, until.0
        );
        planner.progress(Phase::Verifying, Reason::Promoted, &message);
        return Step::Wait;
    }
    planner.remove_others(&revision);
    if planner.stage() != RolloutStage::Complete {
        // The switch's rounds watched the delay; they end with it (continuous rounds, when
        // asked for, start again at Ready).
        planner.changes.push(Change::StopVerification);
    }
    planner.set_stage(RolloutStage::Complete);
    Step::Done
}

/// spec.rollout.blueGreen.scaleDownDelaySeconds, 30 when blueGreen is left out.
fn scale_down_delay(planner: &Planner<'_>) -> i32 {
    planner
        .spec
        .rollout
        .blue_green
        .as_ref()
        .map_or(30, |b| b.scale_down_delay_seconds)
}
