//! `kubectl checklist status`: the checklist in the sections of the seed guides — Secrets,
//! Migration, Rollout, Verification, Dependencies, Score — then what happened last.

use std::fmt::Write as _;

use k8s_openapi::{api::core::v1::Event, jiff::Timestamp};
use kube::ResourceExt;

use super::{Paint, ago, human_duration, push_indented};
use crate::api::{
    CheckResult, ConditionType, DeploymentChecklist, DeploymentChecklistStatus, Phase,
    RolloutStage, Severity,
};

/// How many Events the status shows, newest last.
const EVENTS_SHOWN: usize = 6;

/// The whole screen of `status` for `checklist`, with its `events` (any order).
pub fn status(
    checklist: &DeploymentChecklist,
    events: &[Event],
    paint: Paint,
    now: &Timestamp,
) -> String {
    let empty = DeploymentChecklistStatus::default();
    let status = checklist.status.as_ref().unwrap_or(&empty);
    let mut out = String::new();
    header(&mut out, checklist, status, paint, now);
    secrets(&mut out, checklist, status, paint);
    super::jobs::section(&mut out, checklist, status, paint, now);
    rollout(&mut out, checklist, status, paint, now);
    verification(&mut out, checklist, status, paint, now);
    dependencies(&mut out, status, paint);
    if let Some(score) = &status.score {
        super::score::section(&mut out, checklist, score, paint);
    }
    recent_events(&mut out, events, paint, now);
    out
}

fn phase_text(phase: Option<Phase>, paint: Paint) -> String {
    match phase {
        None => paint.waiting("Pending"),
        Some(Phase::Ready) => paint.good("Ready"),
        Some(p @ (Phase::RolledBack | Phase::Failed | Phase::Degraded)) => {
            paint.bad(&p.to_string())
        }
        Some(p) => paint.waiting(&p.to_string()),
    }
}

fn header(
    out: &mut String,
    checklist: &DeploymentChecklist,
    status: &DeploymentChecklistStatus,
    paint: Paint,
    now: &Timestamp,
) {
    let _ = writeln!(
        out,
        "{} {} (namespace {})",
        paint.heading("DeploymentChecklist"),
        paint.heading(&checklist.name_any()),
        checklist.namespace().unwrap_or_default()
    );
    let generation = checklist.metadata.generation.unwrap_or_default();
    let observed = status.observed_generation.unwrap_or_default();
    let mut rows = vec![vec!["Phase".to_string(), phase_text(status.phase, paint)]];
    if observed < generation {
        rows.push(vec![
            "Generation".into(),
            paint.waiting(&format!(
                "{generation}, observed {observed}: the operator has not acted on the latest spec yet"
            )),
        ]);
    }
    if let Some(message) = &status.message {
        rows.push(vec!["Message".into(), message.clone()]);
    }
    let revision = status.revision.as_ref();
    // The image of the current revision: a follower's is the one promoted to it, not its spec's.
    let current = revision.and_then(|r| r.current.as_ref());
    let image = current.map_or(checklist.spec.app.image.as_str(), |c| c.image.as_str());
    let current_hash = current
        .map(|c| format!(" (revision {})", c.hash))
        .unwrap_or_default();
    rows.push(vec!["Image".into(), format!("{image}{current_hash}")]);
    if let Some(promotion) = &status.promotion {
        let promoted = match &promotion.promoted {
            Some(p) => format!(
                "from {}, its revision {} ({}), {}",
                promotion.from,
                p.revision,
                p.image,
                ago(p.at.as_ref(), now)
            ),
            None => format!("nothing yet from {}", promotion.from),
        };
        rows.push(vec!["Promoted".into(), promoted]);
        if let Some(message) = &promotion.message {
            rows.push(vec!["Next".into(), paint.waiting(message)]);
        }
    }
    let serving = match revision.and_then(|r| r.stable.as_ref()) {
        Some(stable) => format!(
            "{} (revision {}, stable since {})",
            stable.image,
            stable.hash,
            ago(stable.since.as_ref(), now)
        ),
        None => paint.dim("nothing has passed its checklist yet"),
    };
    rows.push(vec!["Serving".into(), serving]);
    push_indented(out, &rows);
}

fn secrets(
    out: &mut String,
    checklist: &DeploymentChecklist,
    status: &DeploymentChecklistStatus,
    paint: Paint,
) {
    section(out, "Secrets", paint);
    if checklist.spec.secrets.is_empty() {
        let _ = writeln!(out, "  {}", paint.dim("none required"));
        return;
    }
    if status.secrets.is_empty() {
        let _ = writeln!(out, "  {}", paint.waiting("not checked yet"));
        return;
    }
    let rows: Vec<Vec<String>> = status
        .secrets
        .iter()
        .map(|key| {
            vec![
                paint.mark(key.result),
                format!("{}/{}", key.secret, key.key),
                key.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    push_indented(out, &rows);
}

fn rollout(
    out: &mut String,
    checklist: &DeploymentChecklist,
    status: &DeploymentChecklistStatus,
    paint: Paint,
    now: &Timestamp,
) {
    section(out, "Rollout", paint);
    let name = checklist.name_any();
    let mut rows = vec![vec![
        "Strategy".to_string(),
        format!("{:?}", checklist.spec.rollout.strategy),
    ]];
    let release = status.rollout.as_ref().filter(|r| {
        status
            .revision
            .as_ref()
            .and_then(|rev| rev.current.as_ref())
            .is_some_and(|c| c.hash == r.revision)
    });
    if let Some(release) = release {
        let mut stage = release.stage.to_string();
        match release.stage {
            RolloutStage::Paused => {
                if let Some(until) = &release.paused_until {
                    let left = until.0.as_second() - now.as_second();
                    stage.push_str(&format!(" for {} more", human_duration(left)));
                }
                stage.push_str(&format!(": kubectl checklist promote {name} ends it now"));
            }
            RolloutStage::WaitingForPromotion => {
                stage = paint.waiting(&format!(
                    "{stage}: kubectl checklist promote {name} (or abort {name})"
                ));
            }
            _ => {}
        }
        rows.push(vec!["Stage".into(), stage]);
        if release.strategy.has_weighted_steps()
            && let (Some(step), Some(steps)) = (release.step, release.steps)
        {
            rows.push(vec![
                "Step".into(),
                format!(
                    "{step}/{steps}, weight {}%, {} new pod(s)",
                    release.weight.unwrap_or_default(),
                    release.new_replicas.unwrap_or_default()
                ),
            ]);
        }
        if let Some(traffic) = &release.traffic {
            rows.push(vec!["Traffic".into(), traffic.clone()]);
        }
        if let Some(route) = &release.route {
            rows.push(vec!["Route now".into(), route.clone()]);
        }
        if let Some(service) = &release.service {
            rows.push(vec!["Service".into(), format!("{service} (new pods only)")]);
        }
    }
    if let Some(condition) = status.condition(ConditionType::RolloutComplete) {
        let result = if condition.status == "True" {
            CheckResult::Pass
        } else if matches!(status.phase, Some(Phase::RollingOut) | None) {
            CheckResult::Pending
        } else {
            CheckResult::Fail
        };
        rows.push(vec![
            "Pods".into(),
            format!("{} {}", paint.mark(result), condition.message),
        ]);
    }
    push_indented(out, &rows);
}

fn verification(
    out: &mut String,
    checklist: &DeploymentChecklist,
    status: &DeploymentChecklistStatus,
    paint: Paint,
    now: &Timestamp,
) {
    let threshold = checklist.spec.verification.failure_threshold;
    let rounds = match status.failed_rounds {
        Some(failed) if failed > 0 => format!(" (failed rounds {failed}/{threshold})"),
        _ => String::new(),
    };
    section(out, &format!("Verification{rounds}"), paint);
    let listed = super::checks::listed(checklist, status);
    if listed.is_empty() {
        let _ = writeln!(out, "  {}", paint.dim("no checks"));
        return;
    }
    let mut rows: Vec<Vec<String>> = listed
        .iter()
        .map(|spec| {
            let found = status.checks.iter().find(|c| c.name == spec.name);
            // What the check counts for, when not the default: a failure that only warns, a
            // check that never counts.
            let counts = match (spec.dry_run, spec.severity) {
                (true, _) => paint.dim("dry run"),
                (false, Severity::Warning) => paint.waiting("warning"),
                (false, Severity::Critical) => String::new(),
            };
            let name = match &spec.template {
                Some(template) => format!("{} {}", spec.name, paint.dim(&format!("({template})"))),
                None => spec.name.clone(),
            };
            match found {
                Some(check) => vec![
                    paint.mark(check.result),
                    name,
                    counts,
                    check
                        .latency_ms
                        .map_or_else(|| "-".to_string(), |ms| format!("{ms} ms")),
                    // Before the message, which may be long: the columns stay aligned.
                    paint.dim(&ago(check.last_run.as_ref(), now)),
                    check.message.clone().unwrap_or_default(),
                ],
                None => vec![
                    paint.mark(CheckResult::Pending),
                    name,
                    counts,
                    "-".into(),
                    "-".into(),
                    paint.dim("not run yet"),
                ],
            }
        })
        .collect();
    let all_critical = listed
        .iter()
        .all(|c| !c.dry_run && c.severity == Severity::Critical);
    if all_critical {
        for row in &mut rows {
            row.remove(2);
        }
    }
    push_indented(out, &rows);
}

fn dependencies(out: &mut String, status: &DeploymentChecklistStatus, paint: Paint) {
    if status.dependencies.is_empty() {
        return;
    }
    section(out, "Dependencies", paint);
    let rows: Vec<Vec<String>> = status
        .dependencies
        .iter()
        .map(|d| {
            vec![
                paint.mark(d.result),
                d.name.clone(),
                d.message.clone().unwrap_or_default(),
                paint.dim(&format!("({})", d.check)),
            ]
        })
        .collect();
    push_indented(out, &rows);
}

fn recent_events(out: &mut String, events: &[Event], paint: Paint, now: &Timestamp) {
    section(out, "Events", paint);
    if events.is_empty() {
        let _ = writeln!(out, "  {}", paint.dim("none"));
        return;
    }
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| event_time(e));
    let start = sorted.len().saturating_sub(EVENTS_SHOWN);
    let rows: Vec<Vec<String>> = sorted[start..]
        .iter()
        .map(|event| {
            let kind = event.type_.clone().unwrap_or_default();
            let kind = if kind == "Warning" {
                paint.bad(&kind)
            } else {
                kind
            };
            let seconds = event_time(event).map_or(0, |t| now.as_second() - t);
            let count = event.count.filter(|c| *c > 1).or_else(|| {
                event
                    .series
                    .as_ref()
                    .and_then(|s| s.count)
                    .filter(|c| *c > 1)
            });
            let message = event.message.clone().unwrap_or_default();
            vec![
                format!("{} ago", human_duration(seconds)),
                kind,
                event.reason.clone().unwrap_or_default(),
                match count {
                    Some(count) => format!("{message} (x{count})"),
                    None => message,
                },
            ]
        })
        .collect();
    push_indented(out, &rows);
}

/// When an Event last happened, in seconds: series, last timestamp, event time or creation.
fn event_time(event: &Event) -> Option<i64> {
    super::event_time(event).map(|t| t.as_second())
}

fn section(out: &mut String, title: &str, paint: Paint) {
    let _ = writeln!(out, "\n{}", paint.heading(title));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plugin::render::plain;

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_100).unwrap()
    }

    /// The dialectic example, rolled back after its checks failed.
    fn rolled_back() -> DeploymentChecklist {
        let text = include_str!("../../../examples/dialectic.yaml");
        let mut checklist: DeploymentChecklist = crate::verify::cli::parse(text, None).unwrap();
        checklist.metadata.namespace = Some("prod".into());
        checklist.metadata.generation = Some(4);
        checklist.spec.app.image = "ghcr.io/acme/dialectic:1.5.0".into();
        checklist.status = Some(
            serde_json::from_value(json!({
                "observedGeneration": 4,
                "phase": "RolledBack",
                "message": "rolled back to ghcr.io/acme/dialectic:1.4.2: verification failed",
                "revision": {
                    "current": {"image": "ghcr.io/acme/dialectic:1.5.0", "hash": "bbbbbbbbbb"},
                    "stable": {"image": "ghcr.io/acme/dialectic:1.4.2", "hash": "aaaaaaaaaa", "since": "2027-01-15T07:00:00Z"}
                },
                "secrets": [{"secret": "dialectic-env", "key": "SECRET_KEY_BASE", "result": "Pass", "message": "64+ characters"}],
                "migration": {"job": "dialectic-migrate-bbbbbbbbbb", "image": "ghcr.io/acme/dialectic:1.5.0", "state": "Succeeded",
                              "startedAt": "2027-01-15T08:00:00Z", "finishedAt": "2027-01-15T08:00:12Z"},
                "checks": [
                    {"name": "health", "kind": "http", "result": "Fail", "message": "expected status 200, got 503", "latencyMs": 12, "lastRun": "2027-01-15T08:01:30Z"}
                ],
                "dependencies": [{"name": "database", "check": "deep-health", "result": "Fail", "message": "timeout"}],
                "score": {"passed": 3, "total": 5, "summary": "3/5"},
                "conditions": [{"type": "RolloutComplete", "status": "True", "reason": "RolloutComplete",
                                "message": "every replica runs the new version", "lastTransitionTime": "2027-01-15T08:01:00Z"}]
            }))
            .unwrap(),
        );
        checklist
    }

    fn event(reason: &str, kind: &str, second: i64) -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": format!("e{second}")},
            "involvedObject": {},
            "reason": reason,
            "type": kind,
            "message": format!("{reason} happened"),
            "lastTimestamp": Timestamp::from_second(1_800_000_000 + second).unwrap().to_string(),
        }))
        .unwrap()
    }

    #[test]
    fn every_section_says_what_passed_what_failed_and_why() {
        let events: Vec<Event> = (0..8)
            .map(|i| event(if i == 7 { "RolledBack" } else { "Verifying" }, "Normal", i))
            .collect();
        let text = status(&rolled_back(), &events, Paint { colour: false }, &now());
        for expected in [
            "DeploymentChecklist dialectic (namespace prod)",
            "Phase    RolledBack",
            "Image    ghcr.io/acme/dialectic:1.5.0 (revision bbbbbbbbbb)",
            "Serving  ghcr.io/acme/dialectic:1.4.2 (revision aaaaaaaaaa, stable since",
            "\nSecrets\n  ✓  dialectic-env/SECRET_KEY_BASE  64+ characters",
            "…  preMigration hook             not started",
            "✓  dialectic-migrate-bbbbbbbbbb  Succeeded    12s",
            "Pods      ✓ every replica runs the new version",
            "✗  health",
            "12 ms  10s ago  expected status 200, got 503",
            "\nDependencies\n  ✗  database  timeout  (deep-health)",
            "\nScore  3/5  (a round needs 80% of the checks)\n",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        // Checks of the spec that have no result yet are listed as pending, not left out.
        assert!(text.contains("…  deep-health"), "{text}");
        // The newest Events, last one last, at most six.
        let events_section = text.split("\nEvents\n").nth(1).unwrap();
        assert_eq!(events_section.lines().count(), 6, "{events_section}");
        assert!(events_section.trim_end().ends_with("RolledBack happened"));
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn a_follower_says_where_its_version_came_from_and_what_the_next_waits_for() {
        let mut follower = rolled_back();
        // Its spec's image is not what runs: the image promoted to it is.
        follower.spec.app.image = "ghcr.io/acme/dialectic:1.0.0".into();
        follower.status.as_mut().unwrap().promotion = Some(
            serde_json::from_value(json!({
                "from": "staging/dialectic",
                "promoted": {"revision": "5a5a5a5a5a", "image": "ghcr.io/acme/dialectic:1.5.0",
                             "at": "2027-01-15T07:59:00Z"},
                "message": "staging/dialectic revision 6b6b6b6b6b is promoted at 2027-01-15T09:00:00Z once Ready for 3600 s",
            }))
            .unwrap(),
        );
        let text = status(&follower, &[], Paint { colour: false }, &now());
        for expected in [
            "Image     ghcr.io/acme/dialectic:1.5.0 (revision bbbbbbbbbb)",
            "Promoted  from staging/dialectic, its revision 5a5a5a5a5a (ghcr.io/acme/dialectic:1.5.0), ",
            "Next      staging/dialectic revision 6b6b6b6b6b is promoted at 2027-01-15T09:00:00Z",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn colour_marks_the_verdicts_and_can_be_stripped() {
        let coloured = status(&rolled_back(), &[], Paint { colour: true }, &now());
        assert!(coloured.contains("\u{1b}[31m✗"), "{coloured}");
        let plain_text = status(&rolled_back(), &[], Paint { colour: false }, &now());
        assert_eq!(plain(&coloured), plain_text);
    }

    #[test]
    fn a_new_checklist_says_the_operator_has_not_looked_yet() {
        let mut new = rolled_back();
        new.metadata.generation = Some(1);
        new.status = Some(DeploymentChecklistStatus {
            observed_generation: Some(0),
            phase: Some(Phase::Pending),
            ..Default::default()
        });
        let text = status(&new, &[], Paint { colour: false }, &now());
        assert!(
            text.contains("Generation  1, observed 0: the operator has not acted"),
            "{text}"
        );
        assert!(
            text.contains("nothing has passed its checklist yet"),
            "{text}"
        );
        assert!(
            text.contains("\nMigration\n  …  preMigration hook  not started\n  …  migration          not started"),
            "{text}"
        );
        assert!(text.contains("…  health"), "{text}");
    }
}
