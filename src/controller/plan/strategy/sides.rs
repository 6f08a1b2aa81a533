//! What BlueGreen and Canary share. Each revision runs in a Deployment of its own
//! (`<name>-<hash>`), so trying a new revision never touches the stable pods; the app's Service
//! and the preview or canary Service choose between revisions by the revision label.
//!
//! Here: the layout at rest (one revision, every replica, both Services on it), the restore after
//! a failure, the stage bookkeeping in status.rollout, and the promote and abort requests.

use std::time::Duration;

use k8s_openapi::{
    apimachinery::pkg::{apis::meta::v1::Time, util::intstr::IntOrString},
    jiff::Timestamp,
};

use crate::api::{Phase, Reason, RolloutStage, RolloutStatus, RolloutStrategy};
use crate::controller::observe::{RevisionPods, RolloutProgress};
use crate::traffic::{NotYet, Router, Routing};

use super::super::{
    Change, Endpoint, Note, Planner, status::Kstatus, step::Failure, verification::Gate,
};
use super::{Progress, Step, progress_step};

impl Planner<'_> {
    /// The stable revision, when it is not the current one and its Deployment still runs.
    pub(super) fn stable_running(&self) -> Option<String> {
        let stable = self.status.revision.as_ref()?.stable.as_ref()?;
        (stable.hash != self.observed.revision.hash
            && self.observed.traffic.of(&stable.hash).is_some())
        .then(|| stable.hash.clone())
    }

    /// status.rollout for the release of the current revision: started afresh for a new
    /// revision or a retry, cleared for RollingUpdate. The promote and abort values acted on
    /// carry over; on a checklist's first release, values already set count as acted on, since
    /// they cannot be about a release that had not started.
    pub(in crate::controller::plan) fn begin_release(&mut self) {
        let strategy = self.spec.rollout.strategy;
        if strategy == RolloutStrategy::RollingUpdate {
            self.status.rollout = None;
            return;
        }
        let hash = &self.observed.revision.hash;
        let current = self
            .status
            .rollout
            .as_ref()
            .is_some_and(|r| &r.revision == hash && r.strategy == strategy);
        if current && !self.fresh_start {
            return;
        }
        let (promote_token, abort_token) = match &self.status.rollout {
            Some(previous) => (previous.promote_token.clone(), previous.abort_token.clone()),
            None => (
                self.observed.promote_token.clone(),
                self.observed.abort_token.clone(),
            ),
        };
        let stable_revision = self.stable_running();
        let canary = self.spec.rollout.canary.as_ref();
        let mut rollout = RolloutStatus {
            strategy,
            revision: hash.clone(),
            stage: RolloutStage::Deploying,
            step: canary.map(|_| 1),
            steps: canary.and_then(|c| i32::try_from(c.steps.len()).ok()),
            weight: canary.and_then(|c| c.steps.first()).map(|s| s.weight),
            pod_share: None,
            traffic: None,
            route: None,
            new_replicas: None,
            service: crate::resources::side_service_name_of(self.name, &self.spec.rollout),
            stable_revision,
            paused_until: None,
            promoted_at: None,
            promote_token,
            abort_token,
            summary: String::new(),
        };
        rollout.summary = summary(&rollout);
        self.status.rollout = Some(rollout);
    }

    /// Takes the promote and abort requests that arrived (new annotation values), each once.
    /// An abort of a release in progress is returned as its failure; abort wins over a promote
    /// that came with it. A request with nothing to act on is recorded, and changes nothing.
    pub(in crate::controller::plan) fn take_requests(&mut self) -> Option<Failure> {
        let in_release = !self.current_succeeded() && self.failed_attempt().is_none();
        let observed = self.observed;
        let rollout = self.status.rollout.as_mut()?;
        let abort = observed
            .abort_token
            .as_ref()
            .filter(|token| rollout.abort_token.as_ref() != Some(*token));
        let promote = observed
            .promote_token
            .as_ref()
            .filter(|token| rollout.promote_token.as_ref() != Some(*token));
        if let Some(token) = promote {
            rollout.promote_token = Some(token.clone());
            self.promote_requested = in_release;
        }
        let token = abort?;
        rollout.abort_token = Some(token.clone());
        if !in_release {
            return None;
        }
        self.promote_requested = false;
        rollout.stage = RolloutStage::Aborted;
        rollout.paused_until = None;
        rollout.summary = summary(rollout);
        Some(Failure::aborted())
    }

    /// The stage of the current release (Complete when there is none).
    pub(super) fn stage(&self) -> RolloutStage {
        self.status
            .rollout
            .as_ref()
            .map_or(RolloutStage::Complete, |r| r.stage)
    }

    /// Moves the release to `stage`.
    pub(super) fn set_stage(&mut self, stage: RolloutStage) {
        if let Some(rollout) = self.status.rollout.as_mut() {
            rollout.stage = stage;
            rollout.summary = summary(rollout);
        }
    }

    /// Edits status.rollout (when there is one) and keeps its summary in step.
    pub(super) fn edit_rollout(&mut self, edit: impl FnOnce(&mut RolloutStatus)) {
        if let Some(rollout) = self.status.rollout.as_mut() {
            edit(rollout);
            rollout.summary = summary(rollout);
        }
    }

    /// The verification gate of the current stage, its checks sent to `endpoint`.
    pub(super) fn gate(&self, endpoint: Endpoint) -> Gate {
        Gate {
            stage: self
                .status
                .rollout
                .as_ref()
                .and_then(RolloutStatus::verification_stage),
            endpoint,
        }
    }

    /// Whether a person asked to promote and no step used the request yet; uses it.
    pub(super) fn take_promote(&mut self) -> bool {
        std::mem::take(&mut self.promote_requested)
    }

    /// Rounds of a new stage count their failures from zero.
    pub(super) fn new_verification_stage(&mut self) {
        self.fresh_stage = true;
        self.status.failed_rounds = None;
        self.changes.push(Change::StopVerification);
    }

    /// A step passed and waits for a person: Reconciling (kstatus InProgress), Ready=False with
    /// reason WaitingForPromotion, so neither `kubectl wait` nor Flux reads it as done.
    pub(super) fn wait_for_promotion(&mut self, message: &str) {
        let message = format!(
            "{message}; promote with: kubectl annotate dcl {} checklist.dev/promote=$(date +%s) \
             --overwrite",
            self.name
        );
        self.set_stage(RolloutStage::WaitingForPromotion);
        self.kstatus(Kstatus::Progressing, Reason::WaitingForPromotion, &message);
        self.enter(Phase::Paused, Reason::WaitingForPromotion, &message);
    }

    /// Looks again at `at` (the end of a pause or of a scale-down delay) if nothing else asks
    /// first.
    pub(super) fn wake_at(&mut self, at: &Time) {
        let seconds = at.0.as_second().saturating_sub(self.now.0.as_second());
        self.wake_within(Duration::from_secs(
            u64::try_from(seconds.max(1)).unwrap_or(1),
        ));
    }

    /// Looks again within `wake` if nothing else asks first: the soonest of every wake-up a
    /// step asked for becomes the plan's requeue.
    pub(in crate::controller::plan) fn wake_within(&mut self, wake: Duration) {
        self.wake_after = Some(self.wake_after.map_or(wake, |w| w.min(wake)));
    }

    /// `seconds` from now, to the second.
    pub(super) fn after(&self, seconds: i32) -> Time {
        let at = self.now.0.as_second().saturating_add(i64::from(seconds));
        Time(Timestamp::from_second(at).unwrap_or(self.now.0))
    }

    /// The Deployment of `revision` with `replicas` pods, or the changes that make it so (the
    /// current revision's spec is saved first, so a rollback can always rebuild it).
    pub(super) fn ensure_revision(
        &mut self,
        revision: &str,
        replicas: i32,
    ) -> Option<RevisionPods> {
        let found = self.observed.traffic.of(revision);
        if let Some(pods) = found.filter(|p| p.replicas == replicas) {
            return Some(pods.clone());
        }
        if found.is_none() && revision == self.observed.revision.hash {
            self.changes.push(Change::SaveRevision {
                revision: revision.to_string(),
            });
        }
        self.changes.push(Change::ApplyRevision {
            revision: revision.to_string(),
            replicas,
        });
        self.edit_rollout(|r| r.new_replicas = Some(replicas));
        None
    }

    /// Sends users' requests as `routing` says, unless the router's objects already do; then
    /// whether the requests go so by now, or why not yet: checks sent through the users' front
    /// door wait ([`Self::wait_for_traffic`]).
    pub(super) fn route(&mut self, routing: Routing) -> Result<(), NotYet> {
        let router = crate::traffic::router(self.name, self.spec);
        let now = self.now.0.as_second();
        let in_force = router.in_force(&routing, &self.observed.traffic.routes, now);
        let reading = router.reading(&self.observed.traffic.routes);
        self.edit_rollout(|r| r.route = reading);
        if let Some(change) = route_change(router.as_ref(), self, routing) {
            self.changes.push(change);
        }
        in_force
    }

    /// A stage whose checks go through the users' front door waits until the router's requests
    /// go as routed (`why`: a gateway has not taken the route yet, the route cannot carry the
    /// release, or another manager took its weights): RollingOut with the reason, looked at
    /// again within a second while settling, within five while a person must act.
    pub(super) fn wait_for_traffic(&mut self, why: &NotYet) -> Step {
        let (reason, why, soon) = match why {
            NotYet::Settling(why) => (Reason::RollingOut, why, 1),
            NotYet::Unusable(why) => (Reason::RouteUnusable, why, 5),
            NotYet::Contested(why) => (Reason::RouteContested, why, 5),
        };
        // A Warning Event once per message; the status says it meanwhile.
        if reason != Reason::RollingOut && self.status.message.as_deref() != Some(why.as_str()) {
            self.notes.push(Note {
                reason,
                message: why.clone(),
            });
        }
        self.progress(Phase::RollingOut, reason, why);
        self.wake_within(Duration::from_secs(soon));
        Step::Wait
    }

    /// Every replica of the app: spec.app.replicas, or, when an autoscaler owns the count, what
    /// the stable (else the current) revision runs now, so the new one comes up as large.
    pub(super) fn full_replicas(&self) -> i32 {
        full_replicas(self, self.stable_running().as_deref())
    }

    /// The current revision's Deployment with `replicas` pods, as the rollout step: Done once
    /// they all serve, Failed on its deadline or a crash loop; while they come up, RollingOut
    /// with `coming` as the message.
    pub(super) fn bring_up(&mut self, replicas: i32, coming: &str) -> Step {
        let revision = self.observed.revision.hash.clone();
        let pods = self.ensure_revision(&revision, replicas);
        let step = pods.map_or(Step::Wait, |p| progress_step(&p.progress));
        match self.rollout_step(Progress {
            changes: Vec::new(),
            step,
        }) {
            Step::Wait => self.deploying(coming),
            other => other,
        }
    }

    /// The new revision's pods are coming up for a stage: RollingOut with `message`.
    pub(super) fn deploying(&mut self, message: &str) -> Step {
        self.progress(Phase::RollingOut, Reason::RollingOut, message);
        Step::Wait
    }

    /// Announces a stage's start as an Event.
    pub(super) fn announce(&mut self, reason: Reason, message: String) {
        self.notes.push(Note { reason, message });
    }

    /// The layout at rest: the current revision's Deployment with every replica and both Services
    /// on it; once its pods serve, every other revision's Deployment goes, then its checks run.
    /// A first release (nothing stable to protect) and a revision that already passed both land
    /// here.
    pub(super) fn settle(&mut self) -> Step {
        // Nothing stable runs beside it: its checks are the revision's own, through the app.
        self.edit_rollout(|r| r.stable_revision = None);
        let revision = self.observed.revision.hash.clone();
        // At rest the checks go through the app: nothing waits for the route here.
        let _ = self.route(Routing::settled(&revision));
        match self.bring_up(self.full_replicas(), "rolling out the new version") {
            Step::Done => {}
            stopped => return stopped,
        }
        if self.stage() == RolloutStage::Deploying {
            self.set_stage(RolloutStage::Verifying);
        }
        self.remove_others(&revision);
        match self.verification_step() {
            Step::Done => {
                self.set_stage(RolloutStage::Complete);
                Step::Done
            }
            stopped => stopped,
        }
    }

    /// Deletes the Deployments of every revision but `keep`, if any is left.
    pub(super) fn remove_others(&mut self, keep: &str) {
        if self
            .observed
            .traffic
            .deployments
            .iter()
            .any(|d| d.revision != keep)
        {
            self.changes.push(Change::RemoveDeployments {
                keep: vec![keep.to_string()],
            });
        }
    }
}

/// The change that sends users' requests as `routing` says, unless the router's objects already
/// do.
fn route_change(router: &dyn Router, planner: &Planner<'_>, routing: Routing) -> Option<Change> {
    (!router.holds(&routing, &planner.observed.traffic.routes)).then_some(Change::Route { routing })
}

/// Brings `stable` back after a failure: its Deployment (rebuilt from its stored spec if it is
/// gone), every request routed to it first, then the other revisions' Deployments deleted. The
/// stable pods were never touched while the new revision was tried, so usually this is one
/// routing change and one delete.
pub(super) fn restore(planner: &Planner<'_>, stable: &str) -> Progress {
    let traffic = &planner.observed.traffic;
    let mut changes = Vec::new();
    let running = traffic.of(stable);
    if running.is_none() {
        changes.push(Change::ApplyRevision {
            revision: stable.to_string(),
            replicas: full_replicas(planner, Some(stable)),
        });
    }
    let router = crate::traffic::router(planner.name, planner.spec);
    changes.extend(route_change(
        router.as_ref(),
        planner,
        Routing::settled(stable),
    ));
    let serving = running.is_some_and(|p| p.progress == RolloutProgress::Complete);
    // A stable Deployment being rebuilt serves nothing yet: the failed pods go only after it.
    let others = traffic.deployments.iter().any(|d| d.revision != stable);
    if others && running.is_some() {
        changes.push(Change::RemoveDeployments {
            keep: vec![stable.to_string()],
        });
    }
    let step = if changes.is_empty() && serving {
        Step::Done
    } else {
        Step::Wait
    };
    Progress { changes, step }
}

/// spec.app.replicas, or the replicas `stable` (else the current revision) runs now, else 1.
fn full_replicas(planner: &Planner<'_>, stable: Option<&str>) -> i32 {
    let traffic = &planner.observed.traffic;
    planner.spec.app.replicas.unwrap_or_else(|| {
        stable
            .and_then(|s| traffic.of(s))
            .or_else(|| traffic.of(&planner.observed.revision.hash))
            .map_or(1, |p| p.replicas)
    })
}

/// The pods of the new revision at a canary step of `weight` percent of `replicas`:
/// ceil(weight × replicas / 100), at least 1, at most replicas.
pub(super) fn canary_replicas(weight: i32, replicas: i32) -> i32 {
    let replicas = i64::from(replicas.max(1));
    // Both factors are positive, so this is the ceiling of the division.
    let pods = (i64::from(weight.clamp(1, 100)) * replicas + 99) / 100;
    i32::try_from(pods.clamp(1, replicas)).unwrap_or(1)
}

/// The canary's pods at a step of `weight` percent of `replicas`: canaryReplicas when set (a
/// number, at most replicas, or a percentage of replicas rounded up), else the weight's share.
pub(super) fn canary_pods(fixed: Option<&IntOrString>, weight: i32, replicas: i32) -> i32 {
    match fixed {
        Some(IntOrString::Int(pods)) => (*pods).clamp(1, replicas.max(1)),
        Some(IntOrString::String(share)) => share
            .strip_suffix('%')
            .and_then(|p| p.parse::<i32>().ok())
            .map_or_else(
                || canary_replicas(weight, replicas),
                |p| canary_replicas(p, replicas),
            ),
        None => canary_replicas(weight, replicas),
    }
}

/// The one line `kubectl get` shows in the Rollout column.
pub(super) fn summary(rollout: &RolloutStatus) -> String {
    let stage = match rollout.stage {
        RolloutStage::Deploying => "deploying",
        RolloutStage::Verifying => "verifying",
        RolloutStage::Paused => "paused",
        RolloutStage::WaitingForPromotion => "waiting for promotion",
        RolloutStage::Promoted => "promoted",
        RolloutStage::Completing => "completing",
        RolloutStage::Complete => "complete",
        RolloutStage::Aborted => "aborted",
        RolloutStage::RolledBack => "rolled back",
    };
    // A first release (nothing stable beside it) and the end of a canary run no steps.
    let stepping = rollout.stable_revision.is_some()
        && matches!(
            rollout.stage,
            RolloutStage::Deploying
                | RolloutStage::Verifying
                | RolloutStage::Paused
                | RolloutStage::WaitingForPromotion
        );
    match (
        rollout.strategy,
        rollout.step,
        rollout.steps,
        rollout.weight,
    ) {
        (RolloutStrategy::Canary, Some(step), Some(steps), Some(weight)) if stepping => {
            match rollout.pod_share.filter(|share| *share != weight) {
                Some(share) => format!("step {step}/{steps} {weight}% (~{share}% by pods) {stage}"),
                None => format!("step {step}/{steps} {weight}% {stage}"),
            }
        }
        _ => stage.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canary_replicas_set_the_pods_whatever_the_weight() {
        let fixed = IntOrString::Int(1);
        assert_eq!(canary_pods(Some(&fixed), 50, 10), 1);
        assert_eq!(canary_pods(Some(&IntOrString::Int(20)), 5, 10), 10);
        let share = IntOrString::String("25%".into());
        assert_eq!(canary_pods(Some(&share), 5, 10), 3);
        assert_eq!(canary_pods(None, 5, 10), 1);
        assert_eq!(canary_pods(None, 50, 10), 5);
    }

    #[test]
    fn canary_pods_are_the_ceiling_of_the_share_at_least_one_at_most_all() {
        for (weight, replicas, pods) in [
            (10, 2, 1),
            (10, 10, 1),
            (25, 10, 3),
            (50, 3, 2),
            (1, 1, 1),
            (100, 4, 4),
            (99, 100, 99),
        ] {
            assert_eq!(
                canary_replicas(weight, replicas),
                pods,
                "{weight}% of {replicas}"
            );
        }
    }
}
