//! The plugin's writes, as pure functions: what each command patches into the checklist, or why
//! it refuses. Every write is an annotation or a spec field the operator already reads, so the
//! plugin adds no behaviour of its own — only a clear refusal when a request would do nothing.

use kube::ResourceExt;
use serde_json::{Value, json};

use crate::{
    api::{
        DeploymentChecklist, DeploymentChecklistSpec, Phase, image_problems,
        requests::{
            ABORT_ANNOTATION, APPROVE_ANNOTATION, PROMOTE_ANNOTATION, RETRY_ANNOTATION,
            ROLLBACK_ANNOTATION, default_rollback_revision, rollback_target,
        },
    },
    resources::revision_of,
    text::line,
};

use super::cluster::PluginError;

/// The most characters of an image a message shows: the CRD's longest reference.
const SHOWN_IMAGE_CHARS: usize = 512;

/// A write to make and what to tell the person once it is made.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The JSON merge patch.
    pub patch: Value,
    /// One line saying what was asked.
    pub said: String,
}

fn phase(checklist: &DeploymentChecklist) -> Option<Phase> {
    checklist.status.as_ref().and_then(|s| s.phase)
}

fn annotate(key: &str, value: &str) -> Value {
    json!({"metadata": {"annotations": {key: value}}})
}

/// Whether a release of the current spec is under way (not finished, failed or suspended).
fn releasing(checklist: &DeploymentChecklist) -> bool {
    matches!(
        phase(checklist),
        Some(
            Phase::Pending
                | Phase::CheckingSecrets
                | Phase::RunningHook
                | Phase::Migrating
                | Phase::RollingOut
                | Phase::Verifying
                | Phase::Paused
        ) | None
    )
}

fn in_phase(checklist: &DeploymentChecklist) -> String {
    phase(checklist).map_or_else(|| "no phase yet".into(), |p| format!("phase {p}"))
}

/// `promote`: ends a canary step's pause or switches a blue-green release that waits.
pub fn promote(checklist: &DeploymentChecklist, token: &str) -> Result<Request, PluginError> {
    let name = checklist.name_any();
    release_request(
        checklist,
        "promote",
        "there is no step to promote (BlueGreen and Canary only)",
        annotate(PROMOTE_ANNOTATION, token),
        format!("promote requested for {name}"),
    )
}

/// `abort`: stops the release in progress; the stable version serves.
pub fn abort(checklist: &DeploymentChecklist, token: &str) -> Result<Request, PluginError> {
    let name = checklist.name_any();
    release_request(
        checklist,
        "abort",
        &format!("which has no abort: use kubectl checklist rollback {name}"),
        annotate(ABORT_ANNOTATION, token),
        format!("abort requested for {name}: the stable version will serve"),
    )
}

/// A request about a BlueGreen or Canary release in progress (`verb` it), refused for a
/// RollingUpdate (saying `rolling`), a suspended checklist or one with no release under way.
fn release_request(
    checklist: &DeploymentChecklist,
    verb: &str,
    rolling: &str,
    patch: Value,
    said: String,
) -> Result<Request, PluginError> {
    let name = checklist.name_any();
    if !checklist
        .spec
        .rollout
        .strategy
        .runs_revisions_side_by_side()
    {
        return Err(PluginError::Refused(format!(
            "{name} rolls out with RollingUpdate: {rolling}"
        )));
    }
    refuse_if_suspended(checklist)?;
    if !releasing(checklist) {
        return Err(PluginError::Refused(format!(
            "{name} has no release in progress to {verb} ({})",
            in_phase(checklist)
        )));
    }
    Ok(Request { patch, said })
}

/// `retry`: one more attempt at a failed revision.
pub fn retry(checklist: &DeploymentChecklist, token: &str) -> Result<Request, PluginError> {
    let name = checklist.name_any();
    refuse_if_suspended(checklist)?;
    if !matches!(phase(checklist), Some(Phase::Failed | Phase::RolledBack)) {
        return Err(PluginError::Refused(format!(
            "{name} has no failed revision to retry ({}); retry applies in phase Failed or RolledBack",
            in_phase(checklist)
        )));
    }
    Ok(Request {
        patch: annotate(RETRY_ANNOTATION, token),
        said: format!(
            "retry requested for {name}: revision {} starts again from the top",
            revision_after(checklist, &checklist.spec)
        ),
    })
}

/// `rollback`: restore revision `to` of the history (default: the latest earlier one that
/// passed), with the operator's own rules of which revisions may be restored.
pub fn rollback(
    checklist: &DeploymentChecklist,
    to: Option<i64>,
    token: &str,
) -> Result<Request, PluginError> {
    let name = checklist.name_any();
    refuse_if_suspended(checklist)?;
    let empty = Default::default();
    let status = checklist.status.as_ref().unwrap_or(&empty);
    let current = revision_after(checklist, &checklist.spec);
    let refused = |refusal: crate::api::requests::RollbackRefusal| {
        PluginError::Refused(format!("cannot roll back {name}: {refusal}"))
    };
    let revision = match to {
        Some(revision) => revision,
        None => default_rollback_revision(status, &current).map_err(refused)?,
    };
    let target = rollback_target(status, &current, revision).map_err(refused)?;
    Ok(Request {
        patch: annotate(ROLLBACK_ANNOTATION, &format!("{revision}@{token}")),
        said: format!(
            "rollback of {name} to revision {} ({}) requested",
            target.revision, target.image
        ),
    })
}

/// `set image`: a new spec.app.image, which starts a new revision. An image the CRD would refuse
/// is refused here, before anything is sent, with the API server's reasons.
pub fn set_image(checklist: &DeploymentChecklist, image: &str) -> Result<Request, PluginError> {
    let name = checklist.name_any();
    let image = image.trim();
    let problems = image_problems(image);
    // The input is shown through the sanitizer: it may be the very escape sequence refused.
    let shown = line(image, SHOWN_IMAGE_CHARS);
    if !problems.is_empty() {
        return Err(PluginError::Usage(format!(
            "the image '{shown}' {}",
            problems.join("; it ")
        )));
    }
    if let Some(promotion) = &checklist.spec.promotion {
        return Err(PluginError::Refused(format!(
            "{name} follows {} (spec.promotion): its image comes from there; set the image of              that checklist",
            line(&promotion.from.name, 253)
        )));
    }
    if image == checklist.spec.app.image {
        return Err(PluginError::Refused(format!(
            "{name} already runs {shown}: nothing to change"
        )));
    }
    Ok(Request {
        patch: json!({"spec": {"app": {"image": image}}}),
        said: format!(
            "{name}: image {} → {shown}; a new revision starts",
            line(&checklist.spec.app.image, SHOWN_IMAGE_CHARS)
        ),
    })
}

/// `approve`: the revision of the followed stage that waits for approval, promoted. Only that
/// revision: approving is for what a person saw in the status, never whatever comes next.
pub fn approve(checklist: &DeploymentChecklist) -> Result<Request, PluginError> {
    let name = checklist.name_any();
    refuse_if_suspended(checklist)?;
    if checklist.spec.promotion.is_none() {
        return Err(PluginError::Refused(format!(
            "{name} follows no other checklist (spec.promotion): nothing to approve"
        )));
    }
    let promotion = checklist.status.as_ref().and_then(|s| s.promotion.as_ref());
    let Some(waiting) = promotion.and_then(|p| p.awaiting_approval.as_ref()) else {
        let why = promotion
            .and_then(|p| p.message.as_deref())
            .unwrap_or("no revision of the followed checklist qualifies yet");
        return Err(PluginError::Refused(format!(
            "{name} has no revision waiting for approval: {}",
            line(why, 300)
        )));
    };
    Ok(Request {
        patch: annotate(APPROVE_ANNOTATION, &waiting.revision),
        said: format!(
            "{name}: revision {} ({}) of {} approved for promotion",
            line(&waiting.revision, 64),
            line(&waiting.image, SHOWN_IMAGE_CHARS),
            line(&promotion.map(|p| p.from.clone()).unwrap_or_default(), 320)
        ),
    })
}

/// `restart`: new pods of the same spec, released as a new revision through the strategy; `now`
/// is an RFC 3339 time. Only for a checklist whose current spec serves (Ready or Degraded): a
/// release under way would be replaced, and after a failure the spec is not what serves.
pub fn restart(checklist: &DeploymentChecklist, now: &str) -> Result<Request, PluginError> {
    let name = checklist.name_any();
    refuse_if_suspended(checklist)?;
    match phase(checklist) {
        Some(Phase::Ready | Phase::Degraded) => {}
        Some(Phase::Failed | Phase::RolledBack) => {
            return Err(PluginError::Refused(format!(
                "{name}'s current spec failed ({}): the stable revision serves, and a restart would release the failed spec again; use kubectl checklist retry {name} for that",
                in_phase(checklist)
            )));
        }
        _ => {
            return Err(PluginError::Refused(format!(
                "{name} is releasing ({}): wait for it to end, or abort it, before a restart",
                in_phase(checklist)
            )));
        }
    }
    let mut restarted = checklist.spec.clone();
    restarted.app.restarted_at = Some(now.to_string());
    Ok(Request {
        patch: json!({"spec": {"app": {"restartedAt": now}}}),
        said: format!(
            "restart requested for {name}: revision {} of {} starts, through the strategy",
            revision_after(checklist, &restarted),
            line(&checklist.spec.app.image, SHOWN_IMAGE_CHARS)
        ),
    })
}

/// The revision the operator gives `spec`: its hash with the versions of the rollOnChange
/// objects that the current revision was rolled with (the plugin does not read those objects),
/// and the image promoted to it when it follows another checklist.
fn revision_after(checklist: &DeploymentChecklist, spec: &DeploymentChecklistSpec) -> String {
    let references = checklist
        .status
        .as_ref()
        .and_then(|s| s.revision.as_ref())
        .and_then(|r| r.current.as_ref())
        .map(|c| c.references.as_slice())
        .unwrap_or_default();
    let listed = crate::resources::rotation::roll_on_change(spec);
    let kept: Vec<_> = references
        .iter()
        .filter(|r| {
            listed
                .iter()
                .any(|(kind, name)| r.kind == *kind && r.name == *name)
        })
        .cloned()
        .collect();
    // A follower runs the version promoted to it, not spec.app.image.
    let promoted = spec.promotion.as_ref().and(
        checklist
            .status
            .as_ref()
            .and_then(|s| s.promotion.as_ref())
            .and_then(|p| p.promoted.as_ref()),
    );
    match promoted {
        Some(promoted) => revision_of(&crate::resources::promoted_spec(spec, promoted), &kept),
        None => revision_of(spec, &kept),
    }
}

fn refuse_if_suspended(checklist: &DeploymentChecklist) -> Result<(), PluginError> {
    if checklist.spec.suspend {
        return Err(PluginError::Refused(format!(
            "{} is suspended (spec.suspend): the operator acts on no request until it is resumed",
            checklist.name_any()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{DeploymentChecklistStatus, RevisionOutcome, requests::tests::history_entry};
    use crate::resources::revision_hash;

    fn checklist(strategy: &str, phase: Option<Phase>) -> DeploymentChecklist {
        let text = include_str!("../../examples/dialectic.yaml");
        let mut checklist: DeploymentChecklist = crate::verify::cli::parse(text, None).unwrap();
        checklist.spec.rollout.strategy = serde_json::from_value(json!(strategy)).unwrap();
        checklist.status = Some(DeploymentChecklistStatus {
            phase,
            ..Default::default()
        });
        checklist
    }

    fn refused(result: Result<Request, PluginError>) -> String {
        match result {
            Err(PluginError::Refused(message)) => message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn restart_writes_a_new_revision_of_the_same_image_when_no_release_runs() {
        let ready = checklist("RollingUpdate", Some(Phase::Ready));
        let request = restart(&ready, "2026-12-07T04:40:00Z").unwrap();
        assert_eq!(
            request.patch,
            json!({"spec": {"app": {"restartedAt": "2026-12-07T04:40:00Z"}}})
        );
        let mut restarted = ready.spec.clone();
        restarted.app.restarted_at = Some("2026-12-07T04:40:00Z".into());
        let new = revision_hash(&restarted);
        assert_ne!(new, revision_hash(&ready.spec), "the revision changes");
        assert!(request.said.contains(&new), "{}", request.said);
        assert!(
            request.said.contains("ghcr.io/acme/dialectic:1.4.2"),
            "{}",
            request.said
        );
        // A restart would replace a release under way, a hook's included.
        for phase in [Phase::RunningHook, Phase::Verifying, Phase::Paused] {
            let message = refused(restart(
                &checklist("RollingUpdate", Some(phase)),
                "2026-12-07T04:40:00Z",
            ));
            assert!(message.contains("is releasing"), "{message}");
        }
        let mut suspended = ready.clone();
        suspended.spec.suspend = true;
        assert!(refused(restart(&suspended, "2026-12-07T04:40:00Z")).contains("suspended"));
        // After a failure the spec is not what serves: retry is the way to release it again.
        let message = refused(restart(
            &checklist("RollingUpdate", Some(Phase::RolledBack)),
            "2026-12-07T04:40:00Z",
        ));
        assert!(
            message.contains("use kubectl checklist retry dialectic"),
            "{message}"
        );
        assert!(
            restart(
                &checklist("BlueGreen", Some(Phase::Degraded)),
                "2026-12-07T04:40:00Z"
            )
            .is_ok()
        );
    }

    #[test]
    fn a_release_waiting_on_a_hook_can_be_aborted() {
        let hooked = checklist("Canary", Some(Phase::RunningHook));
        assert!(abort(&hooked, "1").is_ok());
    }

    #[test]
    fn promote_and_abort_need_a_progressive_release_in_progress() {
        let paused = checklist("Canary", Some(Phase::Paused));
        let request = promote(&paused, "t1").unwrap();
        assert_eq!(
            request.patch,
            json!({"metadata": {"annotations": {"checklist.dev/promote": "t1"}}})
        );
        assert_eq!(
            abort(&paused, "t2").unwrap().patch["metadata"]["annotations"]["checklist.dev/abort"],
            "t2"
        );
        let rolling = checklist("RollingUpdate", Some(Phase::Verifying));
        assert!(refused(promote(&rolling, "t")).contains("RollingUpdate"));
        assert!(refused(abort(&rolling, "t")).contains("kubectl checklist rollback"));
        let ready = checklist("BlueGreen", Some(Phase::Ready));
        assert!(refused(promote(&ready, "t")).contains("no release in progress"));
        let mut suspended = checklist("Canary", Some(Phase::Suspended));
        suspended.spec.suspend = true;
        assert!(refused(promote(&suspended, "t")).contains("suspended"));
    }

    #[test]
    fn retry_needs_a_failed_revision() {
        let failed = checklist("RollingUpdate", Some(Phase::RolledBack));
        let request = retry(&failed, "t").unwrap();
        assert_eq!(
            request.patch["metadata"]["annotations"]["checklist.dev/retry"],
            "t"
        );
        let ready = checklist("RollingUpdate", Some(Phase::Ready));
        assert!(refused(retry(&ready, "t")).contains("no failed revision"));
    }

    #[test]
    fn rollback_names_a_revision_the_operator_will_accept() {
        let mut ready = checklist("RollingUpdate", Some(Phase::Ready));
        let current = revision_hash(&ready.spec);
        let entry = |revision, hash: &str, outcome| {
            history_entry(revision, &format!("app:{revision}"), hash, outcome)
        };
        ready.status.as_mut().unwrap().history = vec![
            entry(1, "h1", RevisionOutcome::Succeeded),
            entry(2, "h2", RevisionOutcome::Failed),
            entry(3, &current, RevisionOutcome::Succeeded),
        ];
        let request = rollback(&ready, None, "t").unwrap();
        assert_eq!(
            request.patch["metadata"]["annotations"]["checklist.dev/rollback"],
            "1@t"
        );
        assert_eq!(
            request.said,
            "rollback of dialectic to revision 1 (app:1) requested"
        );
        assert!(refused(rollback(&ready, Some(2), "t")).contains("never passed"));
        assert!(refused(rollback(&ready, Some(3), "t")).contains("current spec"));
        assert!(refused(rollback(&ready, Some(7), "t")).contains("not in the history"));
    }

    #[test]
    fn set_image_changes_the_spec_image_only() {
        let ready = checklist("RollingUpdate", Some(Phase::Ready));
        let request = set_image(&ready, "ghcr.io/acme/dialectic:1.6.0").unwrap();
        assert_eq!(
            request.patch,
            json!({"spec": {"app": {"image": "ghcr.io/acme/dialectic:1.6.0"}}})
        );
        let same = ready.spec.app.image.clone();
        assert!(refused(set_image(&ready, &same)).contains("nothing to change"));
    }

    #[test]
    fn set_image_refuses_what_the_crd_refuses_before_sending() {
        let ready = checklist("RollingUpdate", Some(Phase::Ready));
        let usage = |image: &str| match set_image(&ready, image) {
            Err(PluginError::Usage(message)) => message,
            other => panic!("{image:?}: expected a usage error, got {other:?}"),
        };
        assert_eq!(usage(" "), "the image '' must not be empty");
        assert_eq!(
            usage("ghcr.io/acme/dialectic:latest"),
            "the image 'ghcr.io/acme/dialectic:latest' must not use the tag 'latest' without a digest: rollback needs an image that cannot change"
        );
        assert!(usage("ghcr.io/acme/dialectic").contains("must name a tag or a digest"));
        assert!(usage("ghcr.io/acme/dialectic@sha256:abc").contains("malformed digest"));
        // The escape sequence is named, not replayed: ESC, BEL and the bidi override are shown
        // as U+FFFD.
        let hostile = usage("ghcr.io/acme/dialectic:1.6.0\u{1b}]52;c;cm0gLXJm\u{7}\u{202e}");
        assert_eq!(
            hostile,
            "the image 'ghcr.io/acme/dialectic:1.6.0\u{FFFD}]52;c;cm0gLXJm\u{FFFD}\u{FFFD}' must not hold a blank, a control or a format (bidi, zero-width) character"
        );
        assert!(usage("app\u{9b}").ends_with(
            "character; it must name a tag or a digest, e.g. ghcr.io/acme/app:1.4.2 or ghcr.io/acme/app@sha256:<64 hex digits>"
        ));
        assert!(set_image(&ready, " ghcr.io/acme/dialectic:1.6.1\n").is_ok());
    }

    fn follower(waiting: Option<&str>) -> DeploymentChecklist {
        let mut ready = checklist("RollingUpdate", Some(Phase::Ready));
        ready.spec.promotion = Some(
            serde_json::from_value(json!({"from": {"namespace": "staging", "name": "dialectic"}}))
                .unwrap(),
        );
        let status = ready.status.as_mut().unwrap();
        status.promotion = Some(crate::api::PromotionStatus {
            from: "staging/dialectic".into(),
            promoted: None,
            awaiting_approval: waiting.map(|revision| crate::api::PromotedRevision {
                revision: revision.into(),
                image: "ghcr.io/acme/dialectic:1.5.0".into(),
                migration_image: None,
                at: None,
            }),
            message: Some("staging/dialectic has no stable revision yet".into()),
        });
        ready
    }

    #[test]
    fn approve_names_the_revision_waiting_and_nothing_else() {
        let request = approve(&follower(Some("3f2a9c1b7d"))).unwrap();
        assert_eq!(
            request.patch,
            json!({"metadata": {"annotations": {"checklist.dev/approve": "3f2a9c1b7d"}}})
        );
        assert_eq!(
            request.said,
            "dialectic: revision 3f2a9c1b7d (ghcr.io/acme/dialectic:1.5.0) of staging/dialectic \
             approved for promotion"
        );
        assert_eq!(
            refused(approve(&follower(None))),
            "dialectic has no revision waiting for approval: staging/dialectic has no stable \
             revision yet"
        );
        assert!(
            refused(approve(&checklist("RollingUpdate", Some(Phase::Ready))))
                .contains("follows no other checklist")
        );
        assert!(
            refused(set_image(&follower(None), "ghcr.io/acme/dialectic:9.9.9"))
                .contains("follows dialectic (spec.promotion): its image comes from there")
        );
    }
}
