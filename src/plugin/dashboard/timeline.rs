//! A release drawn over time: what the dashboard saw of a checklist while it watched (phase,
//! step, weight, each verification round), joined with what the cluster remembers (the history's
//! revisions, the Events' steps, promotions and rollbacks). Pure: the samples are taken by the
//! watch, the page draws the result.

use std::collections::VecDeque;

use k8s_openapi::{api::core::v1::Event, jiff::Timestamp};
use serde::Serialize;

use crate::{
    api::{CheckResult, DeploymentChecklist, HistoryEntry, RevisionOutcome},
    plugin::render::event_time,
};

/// The most samples kept per checklist: a release of many steps and rounds fits, and a
/// checklist that flaps for days costs no more.
pub const SAMPLES_KEPT: usize = 240;

/// The most revisions of the history drawn.
const REVISIONS_DRAWN: usize = 6;

/// The most marks drawn, the newest kept: Events are anyone's to create in the namespace.
const MARKS_DRAWN: usize = 60;

/// What a checklist looked like when the watch delivered a change that shows on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When the dashboard saw it.
    pub at: Timestamp,
    /// The phase.
    pub phase: String,
    /// The canary's step, if any.
    pub step: Option<i32>,
    /// The new version's share of traffic, if any.
    pub weight: Option<i32>,
    /// The newest lastRun among the checks: a new value is a new round.
    pub round_at: Option<Timestamp>,
    /// Whether that round failed a critical check.
    pub round_failed: bool,
}

/// The sample of `checklist` seen at `now`.
pub fn sample(checklist: &DeploymentChecklist, now: Timestamp) -> Sample {
    let status = checklist.status.as_ref();
    let rollout = super::view::in_flight(checklist);
    let checks = status.map(|s| s.checks.as_slice()).unwrap_or_default();
    Sample {
        at: now,
        phase: super::view::phase_name(checklist),
        step: rollout.and_then(|r| r.step),
        weight: rollout.and_then(|r| r.weight),
        round_at: checks
            .iter()
            .filter_map(|c| c.last_run.as_ref())
            .map(|t| t.0)
            .max(),
        round_failed: checks
            .iter()
            .any(|c| c.result == CheckResult::Fail && c.severity.is_critical() && !c.dry_run),
    }
}

/// Adds `next` to `samples` when it differs from the last one in anything drawn, keeping at
/// most [`SAMPLES_KEPT`]; whether it was added.
pub fn record(samples: &mut VecDeque<Sample>, next: Sample) -> bool {
    if let Some(last) = samples.back() {
        let same = last.phase == next.phase
            && last.step == next.step
            && last.weight == next.weight
            && last.round_at == next.round_at
            && last.round_failed == next.round_failed;
        if same {
            return false;
        }
    }
    if samples.len() == SAMPLES_KEPT {
        samples.pop_front();
    }
    samples.push_back(next);
    true
}

/// The timeline the page draws.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// The left edge (RFC 3339).
    pub start: Option<String>,
    /// The right edge: now.
    pub end: String,
    /// The last revisions rolled out, each a bar from start to end.
    pub revisions: Vec<RevisionBar>,
    /// The new version's weight over time, one point per change.
    pub weights: Vec<WeightPoint>,
    /// Each verification round seen, passed or failed.
    pub rounds: Vec<RoundPoint>,
    /// Steps started, promotions, aborts, rollbacks and Ready, from the Events and the history.
    pub marks: Vec<Mark>,
}

/// One revision of the history.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RevisionBar {
    /// Its number.
    pub revision: i64,
    /// Its image.
    pub image: String,
    /// Succeeded, Failed, RolledBack, Progressing or Superseded.
    pub outcome: String,
    /// When it started.
    pub start: Option<String>,
    /// When it ended; none while it is under way.
    pub end: Option<String>,
}

/// The weight from `at` on.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WeightPoint {
    /// When the dashboard saw it.
    pub at: String,
    /// The share in percent; none once no new version takes traffic (the release ended).
    pub weight: Option<i32>,
    /// The canary step.
    pub step: Option<i32>,
}

/// A verification round.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoundPoint {
    /// When it ran.
    pub at: String,
    /// Whether every critical check passed.
    pub passed: bool,
}

/// A moment worth a line across the chart.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Mark {
    /// When.
    pub at: String,
    /// step, promoted, aborted, rollback, ready or failed.
    pub kind: &'static str,
    /// The Event's reason or the revision it concerns.
    pub label: String,
}

/// What kind of mark an Event reason draws, if any.
fn mark_kind(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "StepStarted" => "step",
        "Promoted" => "promoted",
        "Aborted" => "aborted",
        "RollingBack" | "RolledBack" | "ManualRollback" => "rollback",
        "Ready" => "ready",
        "VerificationFailed" | "MigrationFailed" | "CrashLoop" | "ProgressDeadlineExceeded" => {
            "failed"
        }
        _ => return None,
    })
}

/// The timeline of a checklist from its `history`, its `events` and the `samples` the dashboard
/// took, ending `now`.
pub fn timeline(
    history: &[HistoryEntry],
    events: &[Event],
    samples: &[Sample],
    now: &Timestamp,
) -> Timeline {
    let recent = &history[history.len().saturating_sub(REVISIONS_DRAWN)..];
    let revisions: Vec<RevisionBar> = recent
        .iter()
        .map(|entry| RevisionBar {
            revision: entry.revision,
            image: entry.image.clone(),
            outcome: format!("{:?}", entry.outcome),
            start: entry.started_at.as_ref().map(|t| t.0.to_string()),
            end: entry.finished_at.as_ref().map(|t| t.0.to_string()),
        })
        .collect();

    let mut weights: Vec<WeightPoint> = Vec::new();
    let mut rounds: Vec<RoundPoint> = Vec::new();
    let mut last_round: Option<Timestamp> = None;
    for sample in samples {
        // A release's line starts at its first weight and ends when the weight goes away.
        let changed = match weights.last() {
            None => sample.weight.is_some(),
            Some(last) => last.weight != sample.weight || last.step != sample.step,
        };
        if changed {
            weights.push(WeightPoint {
                at: sample.at.to_string(),
                weight: sample.weight,
                step: sample.step,
            });
        }
        if sample.round_at.is_some() && sample.round_at != last_round {
            last_round = sample.round_at;
            rounds.push(RoundPoint {
                at: sample.round_at.unwrap_or(sample.at).to_string(),
                passed: !sample.round_failed,
            });
        }
    }

    let mut marks: Vec<(Timestamp, Mark)> = events
        .iter()
        .filter_map(|event| {
            let reason = event.reason.as_deref()?;
            let kind = mark_kind(reason)?;
            let at = event_time(event)?;
            Some((
                at,
                Mark {
                    at: at.to_string(),
                    kind,
                    label: reason.to_string(),
                },
            ))
        })
        .collect();
    for entry in recent {
        if entry.outcome == RevisionOutcome::RolledBack
            && let Some(at) = entry.finished_at.as_ref().map(|t| t.0)
            && !marks.iter().any(|(t, m)| m.kind == "rollback" && *t == at)
        {
            marks.push((
                at,
                Mark {
                    at: at.to_string(),
                    kind: "rollback",
                    label: format!("revision {} rolled back", entry.revision),
                },
            ));
        }
    }
    marks.sort_by_key(|(at, _)| *at);
    if marks.len() > MARKS_DRAWN {
        marks.drain(..marks.len() - MARKS_DRAWN);
    }

    let earliest = recent
        .iter()
        .filter_map(|e| e.started_at.as_ref().map(|t| t.0))
        .chain(samples.iter().map(|s| s.at))
        .chain(marks.iter().map(|(at, _)| *at))
        .min();
    Timeline {
        start: earliest.map(|t| t.to_string()),
        end: now.to_string(),
        revisions,
        weights,
        rounds,
        marks: marks.into_iter().map(|(_, m)| m).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn seen(
        second: i64,
        step: Option<i32>,
        weight: Option<i32>,
        round: Option<i64>,
        failed: bool,
    ) -> Sample {
        Sample {
            at: at(second),
            phase: "Verifying".into(),
            step,
            weight,
            round_at: round.map(at),
            round_failed: failed,
        }
    }

    #[test]
    fn only_a_change_that_shows_is_recorded_and_the_oldest_go_first() {
        let mut samples = VecDeque::new();
        assert!(record(
            &mut samples,
            seen(0, Some(1), Some(20), None, false)
        ));
        assert!(!record(
            &mut samples,
            seen(5, Some(1), Some(20), None, false)
        ));
        assert!(record(
            &mut samples,
            seen(6, Some(1), Some(20), Some(6), false)
        ));
        for second in 0..(SAMPLES_KEPT as i64 * 2) {
            record(
                &mut samples,
                seen(10 + second, Some(1), Some(20), Some(10 + second), false),
            );
        }
        assert_eq!(samples.len(), SAMPLES_KEPT);
        assert_eq!(
            samples.back().unwrap().round_at,
            Some(at(10 + SAMPLES_KEPT as i64 * 2 - 1))
        );
    }

    #[test]
    fn weights_rounds_and_a_rollback_point_are_drawn_in_order() {
        let samples = [
            seen(0, Some(1), Some(20), None, false),
            seen(10, Some(1), Some(20), Some(10), false),
            seen(20, Some(2), Some(50), Some(10), false),
            seen(30, Some(2), Some(50), Some(30), true),
            seen(40, None, None, Some(30), true),
        ];
        let history = vec![HistoryEntry {
            revision: 2,
            image: "web:2".into(),
            hash: None,
            outcome: RevisionOutcome::RolledBack,
            trigger: None,
            reason: None,
            message: None,
            rotated: Vec::new(),
            started_at: Some(Time(at(-5))),
            finished_at: Some(Time(at(41))),
        }];
        let step = Event {
            reason: Some("StepStarted".into()),
            last_timestamp: Some(Time(at(19))),
            ..Event::default()
        };
        let chatter = Event {
            reason: Some("Verifying".into()),
            last_timestamp: Some(Time(at(1))),
            ..Event::default()
        };
        let drawn = timeline(&history, &[chatter, step], &samples, &at(60));
        let weights: Vec<(Option<i32>, Option<i32>)> =
            drawn.weights.iter().map(|w| (w.weight, w.step)).collect();
        assert_eq!(
            weights,
            [(Some(20), Some(1)), (Some(50), Some(2)), (None, None)]
        );
        let rounds: Vec<bool> = drawn.rounds.iter().map(|r| r.passed).collect();
        assert_eq!(rounds, [true, false]);
        let marks: Vec<&str> = drawn.marks.iter().map(|m| m.kind).collect();
        assert_eq!(marks, ["step", "rollback"]);
        assert_eq!(drawn.start, Some(at(-5).to_string()));
        assert_eq!(drawn.end, at(60).to_string());
        assert_eq!(drawn.revisions[0].outcome, "RolledBack");
    }
}
