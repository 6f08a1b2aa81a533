//! spec.app.adopt: what a hand-over refuses, waits for and does.
//!
//! The adopted Deployment is never written before a revision of the checklist is Ready: its pods
//! serve, untouched, beside the checklist's (which carry spec.app.podLabels, so the Services that
//! reach the old pods reach the new ones). A first revision that fails has its own pods removed,
//! as a rollback would, so the old ones serve alone. Once Ready, it is scaled to 0 or deleted, once; status.adoption records it, and from then on
//! the operator neither reads nor touches it.

use crate::api::{AdoptionStatus, AfterReady, Phase, Reason, RolloutStrategy};
use crate::controller::observe::{Adoptee, Found};

use super::{Change, Note, Planner, step::Failure};

impl Planner<'_> {
    /// What makes spec.app.adopt unworkable as the cluster is, if anything; nothing is applied
    /// then, and the adopted Deployment keeps serving.
    pub(super) fn adoption_problem(&self) -> Option<String> {
        let adoptee = self.observed.adoption.as_ref()?;
        problem(self.name, self.spec, adoptee).map(|problem| {
            format!(
                "{problem}; nothing was changed and Deployment {} keeps serving",
                adoptee.name
            )
        })
    }

    /// status.adoption, and the hand-over once the checklist is Ready on a revision.
    pub(super) fn adopt(&mut self) {
        let Some(adopt) = self.spec.app.adopt.as_ref() else {
            self.status.adoption = None;
            return;
        };
        let Some(adoptee) = self.observed.adoption.as_ref() else {
            // Handed over already (the observation skips it then): status.adoption says so.
            return;
        };
        let name = adoptee.name.clone();
        let Some(found) = adoptee.found.as_ref() else {
            self.status.adoption = Some(AdoptionStatus {
                deployment: name.clone(),
                handed_over: false,
                at: None,
                message: format!(
                    "Deployment {name} was not found in this namespace: there is nothing to hand over"
                ),
            });
            return;
        };
        let ready = self.status.phase == Some(Phase::Ready) && self.current_succeeded();
        if !ready {
            self.status.adoption = Some(AdoptionStatus {
                deployment: name.clone(),
                handed_over: false,
                at: None,
                message: format!(
                    "Deployment {name} keeps serving ({}) until a revision of this checklist is Ready",
                    replicas(found.replicas)
                ),
            });
            return;
        }
        let revision = &self.observed.revision.hash;
        let message = match adopt.after_ready {
            AfterReady::ScaleDown => format!(
                "Deployment {name} scaled from {} to 0: revision {revision} is Ready and serves",
                found.replicas
            ),
            AfterReady::Delete => format!(
                "Deployment {name} ({}) deleted: revision {revision} is Ready and serves",
                replicas(found.replicas)
            ),
        };
        self.changes.push(Change::HandOver {
            deployment: name.clone(),
            uid: found.uid.clone(),
            resource_version: found.resource_version.clone(),
            replicas: found.replicas,
            delete: adopt.after_ready == AfterReady::Delete,
        });
        self.notes.push(Note {
            reason: Reason::HandedOver,
            message: message.clone(),
        });
        self.status.adoption = Some(AdoptionStatus {
            deployment: name,
            handed_over: true,
            at: Some(self.now.clone()),
            message,
        });
    }
}

impl Planner<'_> {
    /// The adopted Deployment's name while it still runs pods and has not been handed over:
    /// then it, not the checklist, is what served before the current revision.
    pub(super) fn adopted_serving(&self) -> Option<String> {
        let adoptee = self.observed.adoption.as_ref()?;
        let found = adoptee.found.as_ref()?;
        (found.replicas > 0 && self.spec.app.adopt.is_some()).then(|| adoptee.name.clone())
    }

    /// A first revision failed while a Deployment is being adopted: its pods, which the
    /// Services of the adopted pods reach too, are removed so the old pods serve alone, as a
    /// rollback would restore a stable revision. Failed, like a first revision with nothing
    /// older; a retry or a new spec applies it again.
    pub(super) fn stand_back(&mut self, failure: &Failure, adopted: &str) {
        if self.observed.rollout.deployed.is_some() {
            self.changes.push(Change::RemoveCurrent);
        }
        let message = format!(
            "{}; Deployment {adopted}, being adopted, serves alone: this checklist's pods were removed",
            failure.message
        );
        self.fail(&message);
    }
}

/// "3 replicas", "1 replica".
fn replicas(count: i32) -> String {
    match count {
        1 => "1 replica".to_owned(),
        n => format!("{n} replicas"),
    }
}

/// Why the checklist named `name` with `spec` cannot take over `adoptee` as the cluster is.
fn problem(
    name: &str,
    spec: &crate::api::DeploymentChecklistSpec,
    adoptee: &Adoptee,
) -> Option<String> {
    let deployment = &adoptee.name;
    if spec.rollout.strategy != RolloutStrategy::RollingUpdate {
        return Some(format!(
            "spec.app.adopt needs the RollingUpdate strategy until Deployment {deployment} is handed over: a Service selecting its pods would also reach the new revisions' preview or canary pods; adopt with RollingUpdate, then change spec.rollout.strategy"
        ));
    }
    if deployment == name {
        return Some(format!(
            "spec.app.adopt.deployment is {deployment}, the name of the Deployment this checklist runs itself: name the checklist otherwise (your Services keep reaching the pods through spec.app.podLabels)"
        ));
    }
    if adoptee.service_name_taken {
        return Some(format!(
            "Service {name} exists and is not this checklist's, and the checklist's own Service is named like it: name the checklist otherwise (your Services keep reaching the pods through spec.app.podLabels)"
        ));
    }
    let found: &Found = adoptee.found.as_ref()?;
    if let Some(controller) = &found.controller {
        return Some(format!(
            "Deployment {deployment} is controlled by {controller}: only a Deployment nobody controls can be adopted"
        ));
    }
    let labels = &spec.app.pod_labels;
    found.services.iter().find_map(|(service, selector)| {
        let missing: Vec<String> = selector
            .iter()
            .filter(|(key, value)| labels.get(*key) != Some(*value))
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "spec.app.podLabels lacks {}, which Service {service} selects Deployment {deployment}'s pods by: it would reach no pod once they stop; add {} (kubectl checklist adopt {deployment} writes them)",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
            )
        })
    })
}
