use serde_json::json;

use super::*;
use crate::api::Score;

const HASH: &str = "3f2a9c1b7d";
const IMAGE: &str = "ghcr.io/acme/web:2.0.0";

fn at(seconds: i64) -> Time {
    Time(Timestamp::from_second(1_800_000_000 + seconds).unwrap())
}

/// staging/web, Ready on HASH since `at(0)`, scoring `passed`/12, inviting production.
fn staging(passed: i32) -> DeploymentChecklist {
    let mut checklist: DeploymentChecklist = serde_json::from_value(json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {"name": "web", "namespace": "staging"},
        "spec": {
            "app": {"image": IMAGE},
            "migration": {"command": ["/app/bin/migrate"], "image": "ghcr.io/acme/web-migrate:2.0.0"},
            "followers": {"namespaces": ["production"]},
        },
        "status": {
            "phase": "Ready",
            "revision": {
                "current": {"image": IMAGE, "hash": HASH},
                "stable": {"image": IMAGE, "hash": HASH, "since": "2027-01-15T08:00:00Z"},
            },
        },
    }))
    .unwrap();
    let status = checklist.status.as_mut().unwrap();
    status
        .revision
        .as_mut()
        .unwrap()
        .stable
        .as_mut()
        .unwrap()
        .since = Some(at(0));
    status.score = Some(Score {
        passed,
        total: 12,
        summary: format!("{passed}/12"),
        categories: Vec::new(),
    });
    checklist
}

fn following(ready_for_seconds: i32, approval: Approval) -> PromotionSpec {
    PromotionSpec {
        from: crate::api::StageRef {
            namespace: Some("staging".into()),
            name: "web".into(),
        },
        ready_for_seconds,
        min_score_percent: 100,
        approval,
    }
}

fn look(
    spec: &PromotionSpec,
    source: &DeploymentChecklist,
    previous: Option<&PromotionStatus>,
    now: i64,
) -> Decision {
    decide(
        spec,
        "production",
        &Source::Found(source),
        previous,
        None,
        &at(now),
    )
}

#[test]
fn a_revision_waits_for_its_time_then_is_promoted_with_its_migration_image() {
    let spec = following(600, Approval::Automatic);
    let early = look(&spec, &staging(12), None, 120);
    assert_eq!(early.running(), None);
    assert_eq!(early.recheck_after, Some(Duration::from_secs(480)));
    let message = early.status.message.clone().unwrap();
    assert!(
        message.starts_with("staging/web revision 3f2a9c1b7d is promoted at "),
        "{message}"
    );
    // Waiting writes nothing new: the same status a minute later.
    assert_eq!(
        look(&spec, &staging(12), Some(&early.status), 180).status,
        early.status
    );

    let promoted = look(&spec, &staging(12), Some(&early.status), 600);
    let running = promoted.running().unwrap();
    assert_eq!(running.revision, HASH);
    assert_eq!(running.image, IMAGE);
    assert_eq!(
        running.migration_image.as_deref(),
        Some("ghcr.io/acme/web-migrate:2.0.0")
    );
    assert_eq!(running.at, Some(at(600)));
    assert_eq!(promoted.status.message, None);
    assert_eq!(promoted.status.from, "staging/web");
    // And it stays as it was promoted.
    assert_eq!(
        look(&spec, &staging(12), Some(&promoted.status), 900).status,
        promoted.status
    );
}

#[test]
fn an_uninvited_namespace_follows_nothing_and_keeps_what_it_runs() {
    let spec = following(0, Approval::Automatic);
    let promoted = look(&spec, &staging(12), None, 10).status;
    let mut closed = staging(12);
    closed.spec.followers = None;
    let refused = look(&spec, &closed, Some(&promoted), 20);
    assert_eq!(
        refused.status.message.as_deref(),
        Some(
            "DeploymentChecklist staging/web does not exist or does not list namespace production \
             in spec.followers.namespaces: nothing is promoted from it"
        )
    );
    assert_eq!(
        refused.status.promoted, promoted.promoted,
        "what runs stays"
    );
    // Within one namespace no invitation is needed.
    let mut same = following(0, Approval::Automatic);
    same.from.namespace = None;
    let decision = decide(
        &same,
        "staging",
        &Source::Found(&closed),
        None,
        None,
        &at(10),
    );
    assert!(decision.running().is_some());
}

#[test]
fn a_stage_not_at_rest_or_scoring_low_is_not_promoted() {
    let spec = following(0, Approval::Automatic);
    let mut moving = staging(12);
    let status = moving.status.as_mut().unwrap();
    status.phase = Some(Phase::Verifying);
    status
        .revision
        .as_mut()
        .unwrap()
        .current
        .as_mut()
        .unwrap()
        .hash = "9999999999".into();
    let decision = look(&spec, &moving, None, 10);
    assert_eq!(decision.running(), None);
    assert!(
        decision
            .status
            .message
            .unwrap()
            .contains("is not Ready on its stable revision")
    );

    let low = look(&spec, &staging(11), None, 10);
    assert_eq!(low.running(), None);
    assert_eq!(
        low.status.message.as_deref(),
        Some("staging/web scores 11/12, below the 100% spec.promotion asks for")
    );
    let lenient = PromotionSpec {
        min_score_percent: 90,
        ..spec
    };
    assert!(
        look(&lenient, &staging(11), None, 10).running().is_some(),
        "11 of 12 is 90%, rounded up"
    );
}

#[test]
fn manual_approval_waits_for_the_revision_a_person_approved() {
    let spec = following(0, Approval::Manual);
    let waiting = look(&spec, &staging(12), None, 10);
    assert_eq!(waiting.running(), None);
    let awaiting = waiting.status.awaiting_approval.clone().unwrap();
    assert_eq!(awaiting.revision, HASH);
    assert!(
        waiting
            .status
            .message
            .clone()
            .unwrap()
            .ends_with("approve it with kubectl checklist approve")
    );
    assert_eq!(
        look(&spec, &staging(12), Some(&waiting.status), 70).status,
        waiting.status,
        "stable while waiting"
    );
    let wrong = decide(
        &spec,
        "production",
        &Source::Found(&staging(12)),
        Some(&waiting.status),
        Some("0000000000"),
        &at(80),
    );
    assert_eq!(
        wrong.running(),
        None,
        "approving another revision approves nothing"
    );
    let approved = decide(
        &spec,
        "production",
        &Source::Found(&staging(12)),
        Some(&waiting.status),
        Some(HASH),
        &at(90),
    );
    assert_eq!(approved.running().map(|r| r.revision.as_str()), Some(HASH));
    assert_eq!(approved.status.awaiting_approval, None);
}

#[test]
fn a_missing_or_unreadable_stage_and_a_hostile_image_are_named() {
    let spec = following(0, Approval::Automatic);
    let missing = decide(&spec, "production", &Source::Missing, None, None, &at(0));
    let mut closed = staging(12);
    closed.spec.followers = None;
    let uninvited = decide(
        &spec,
        "production",
        &Source::Found(&closed),
        None,
        None,
        &at(0),
    );
    assert_eq!(
        missing.status, uninvited.status,
        "another namespace's checklists are not probed"
    );
    let mut same = following(0, Approval::Automatic);
    same.from.namespace = None;
    let missing_here = decide(&same, "staging", &Source::Missing, None, None, &at(0));
    assert_eq!(
        missing_here.status.message.as_deref(),
        Some("DeploymentChecklist staging/web not found")
    );
    let forbidden = decide(
        &spec,
        "production",
        &Source::Unreadable("cannot read".into()),
        None,
        None,
        &at(0),
    );
    assert_eq!(forbidden.status.message.as_deref(), Some("cannot read"));

    // A status written by someone else's hand: an image with an escape sequence never runs.
    let mut forged = staging(12);
    let revision = forged.status.as_mut().unwrap().revision.as_mut().unwrap();
    for image in [
        &mut revision.stable.as_mut().unwrap().image,
        &mut revision.current.as_mut().unwrap().image,
    ] {
        *image = "ghcr.io/acme/web:2.0.0\u{1b}[2J".into();
    }
    let refused = look(&spec, &forged, None, 10);
    // And a chain's migration image, from a status too.
    let mut chained = staging(12);
    chained.spec.promotion = Some(following(0, Approval::Automatic));
    chained.status.as_mut().unwrap().promotion = Some(PromotionStatus {
        from: "qa/web".into(),
        promoted: Some(PromotedRevision {
            revision: HASH.into(),
            image: IMAGE.into(),
            migration_image: Some("migrate:\u{202e}1".into()),
            at: None,
        }),
        awaiting_approval: None,
        message: None,
    });
    let chain = look(&spec, &chained, None, 10);
    assert_eq!(chain.running(), None, "{:?}", chain.status.message);
    let said = chain.status.message.unwrap_or_default();
    assert!(said.contains("has an image that cannot run here"), "{said}");
    assert!(!said.contains('\u{202e}'), "{said:?}");
    assert_eq!(refused.running(), None);
    let message = refused.status.message.unwrap();
    assert!(
        message.contains("has an image that cannot run here"),
        "{message}"
    );
    assert!(!message.contains('\u{1b}'), "{message:?}");
}

#[test]
fn following_another_stage_starts_over() {
    let spec = following(0, Approval::Automatic);
    let promoted = look(&spec, &staging(12), None, 10).status;
    let mut elsewhere = following(0, Approval::Automatic);
    elsewhere.from.name = "web-canary".into();
    let decision = decide(
        &elsewhere,
        "production",
        &Source::Missing,
        Some(&promoted),
        None,
        &at(20),
    );
    assert_eq!(decision.status.from, "staging/web-canary");
    assert_eq!(
        decision.running(),
        None,
        "nothing was promoted from this one"
    );
}
