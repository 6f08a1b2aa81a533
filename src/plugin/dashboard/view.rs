//! What the page shows, as pure functions of a checklist: one row of the fleet, and the sections
//! of one release. Everything leaves through [`shown_json`], the tenant-text sanitizer applied to
//! the whole value, so no field a tenant or an app wrote can reach the browser uncleaned.

use k8s_openapi::{api::core::v1::Event, jiff::Timestamp};
use kube::ResourceExt;
use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    api::{DeploymentChecklist, RolloutStage, RolloutStatus},
    text,
};

use super::timeline::{Sample, Timeline, timeline};

/// The longest a single string reaches the page; an app's message is cut here.
const SHOWN_MAX_CHARS: usize = 2048;

/// The most Events one release view lists, newest first.
const EVENTS_SHOWN: usize = 50;

/// A checklist's key: namespace and name.
pub type Key = (String, String);

/// The key of `checklist`.
pub fn key(checklist: &DeploymentChecklist) -> Key {
    (
        checklist.namespace().unwrap_or_default(),
        checklist.name_any(),
    )
}

/// One line of the fleet view.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The checklist's namespace.
    pub namespace: String,
    /// The checklist's name.
    pub name: String,
    /// Its phase, Pending before the operator has written one.
    pub phase: String,
    /// RollingUpdate, BlueGreen or Canary.
    pub strategy: String,
    /// The image the spec asks for.
    pub image: String,
    /// The image that last passed and serves.
    pub serving: Option<String>,
    /// The stage of a BlueGreen or Canary release.
    pub stage: Option<String>,
    /// The canary step under way, from 1.
    pub step: Option<i32>,
    /// How many steps the canary has.
    pub steps: Option<i32>,
    /// The share of traffic the new version receives, in percent.
    pub weight: Option<i32>,
    /// The rollout's one-line summary.
    pub rollout: Option<String>,
    /// The score's summary ("9/10 passed").
    pub score: Option<String>,
    /// Checks that passed in the last round.
    pub passed: Option<i32>,
    /// Checks in the last round.
    pub total: Option<i32>,
    /// When the checklist was created (RFC 3339).
    pub created: Option<String>,
    /// Why it is in its phase.
    pub message: Option<String>,
    /// Whether spec.suspend holds the operator off.
    pub suspended: bool,
    /// When the last verification round ran (RFC 3339): a new round changes the row, so an open
    /// release's timeline is drawn again.
    pub last_round: Option<String>,
}

/// The rollout of a release under way beside a stable version: one that ended (complete,
/// aborted, rolled back) keeps its last step and weight in the status, but no new version takes
/// a share of the traffic any more; a first release has no stable version to share it with.
pub fn in_flight(checklist: &DeploymentChecklist) -> Option<&RolloutStatus> {
    let rollout = checklist.status.as_ref()?.rollout.as_ref()?;
    rollout.stable_revision.as_ref()?;
    match rollout.stage {
        RolloutStage::Complete | RolloutStage::Aborted | RolloutStage::RolledBack => None,
        RolloutStage::Deploying
        | RolloutStage::Verifying
        | RolloutStage::Paused
        | RolloutStage::WaitingForPromotion
        | RolloutStage::Promoted
        | RolloutStage::Completing => Some(rollout),
    }
}

/// The checklist's phase, Pending before the operator has written one.
pub fn phase_name(checklist: &DeploymentChecklist) -> String {
    checklist
        .status
        .as_ref()
        .and_then(|s| s.phase)
        .map_or_else(|| "Pending".to_string(), |p| p.to_string())
}

/// The fleet row of `checklist`.
pub fn row(checklist: &DeploymentChecklist) -> Row {
    let (namespace, name) = key(checklist);
    let status = checklist.status.as_ref();
    let rollout = status.and_then(|s| s.rollout.as_ref());
    let flight = in_flight(checklist);
    let score = status.and_then(|s| s.score.as_ref());
    Row {
        namespace,
        name,
        phase: phase_name(checklist),
        strategy: strategy_name(checklist),
        image: clip(&checklist.spec.app.image),
        serving: status
            .and_then(|s| s.revision.as_ref())
            .and_then(|r| r.stable.as_ref())
            .map(|s| clip(&s.image)),
        stage: rollout.map(|r| r.stage.to_string()),
        step: flight.and_then(|r| r.step),
        steps: flight.and_then(|r| r.steps),
        weight: flight.and_then(|r| r.weight),
        rollout: rollout.map(|r| clip(&r.summary)).filter(|s| !s.is_empty()),
        score: score.map(|s| clip(&s.summary)),
        passed: score.map(|s| s.passed),
        total: score.map(|s| s.total),
        created: checklist
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.to_string()),
        message: status.and_then(|s| s.message.as_deref().map(clip)),
        suspended: checklist.spec.suspend,
        last_round: status
            .and_then(|s| s.checks.iter().filter_map(|c| c.last_run.as_ref()).max())
            .map(|t| t.0.to_string()),
    }
}

/// `text` cleaned and cut as the page shows it: a row is kept for as long as the page runs, so
/// a tenant's megabyte is not.
fn clip(text: &str) -> String {
    text::line(text, SHOWN_MAX_CHARS)
}

fn strategy_name(checklist: &DeploymentChecklist) -> String {
    match serde_json::to_value(checklist.spec.rollout.strategy) {
        Ok(Value::String(name)) => name,
        _ => format!("{:?}", checklist.spec.rollout.strategy),
    }
}

/// The sections of one release: the row, the spec's app, secrets contract (names and rules; a
/// checklist holds no secret value), migration and rollout, the checks with their last results,
/// the history, the last Events, and the timeline.
pub fn detail(
    checklist: &DeploymentChecklist,
    events: &[Event],
    samples: &[Sample],
    now: &Timestamp,
) -> Value {
    let spec = &checklist.spec;
    let status = checklist.status.clone().unwrap_or_default();
    let steps: Vec<Value> = spec
        .rollout
        .canary
        .as_ref()
        .map(|c| {
            c.steps
                .iter()
                .map(|s| json!({"weight": s.weight, "pauseSeconds": s.pause_seconds}))
                .collect()
        })
        .unwrap_or_default();
    let timeline: Timeline = timeline(&status.history, events, samples, now);
    json!({
        "row": row(checklist),
        "app": {
            "image": spec.app.image,
            "replicas": spec.app.replicas,
            "strategy": strategy_name(checklist),
            "suspended": spec.suspend,
        },
        "secrets": {
            "contract": spec.secrets,
            "results": status.secrets,
        },
        "migration": {
            "spec": spec.migration,
            "status": status.migration,
        },
        "rollout": {
            "steps": steps,
            "status": status.rollout,
        },
        "checks": status.checks,
        "failedRounds": status.failed_rounds,
        "conditions": status.conditions,
        "history": status.history,
        "stable": status.revision.as_ref().and_then(|r| r.stable.as_ref()),
        "events": recent_events(events),
        "timeline": timeline,
    })
}

/// The newest Events first, at most [`EVENTS_SHOWN`].
fn recent_events(events: &[Event]) -> Vec<Value> {
    let mut shown: Vec<(Option<Timestamp>, Value)> = events
        .iter()
        .map(|e| {
            let last = crate::plugin::render::event_time(e);
            (
                last,
                json!({
                    "type": e.type_,
                    "reason": e.reason,
                    "message": e.message,
                    "count": e.count,
                    "last": last.map(|t| t.to_string()),
                }),
            )
        })
        .collect();
    shown.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    shown
        .into_iter()
        .take(EVENTS_SHOWN)
        .map(|(_, v)| v)
        .collect()
}

/// `value` as JSON text for the page, with every string (keys too) through the tenant-text
/// sanitizer: control, bidi and invisible characters replaced, lengths bounded. The browser
/// still inserts each string as text, never as markup; this keeps terminal escapes and
/// direction overrides out of what a person reads as well.
pub fn shown_json<T: Serialize>(value: &T) -> String {
    let mut json = serde_json::to_value(value).unwrap_or(Value::Null);
    text::clean_value(&mut json, SHOWN_MAX_CHARS);
    json.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checklist(value: Value) -> DeploymentChecklist {
        serde_json::from_value(value).unwrap()
    }

    fn canary_mid_step() -> DeploymentChecklist {
        checklist(json!({
            "apiVersion": "checklist.dev/v1alpha1",
            "kind": "DeploymentChecklist",
            "metadata": {"name": "web", "namespace": "team-a",
                         "creationTimestamp": "2026-12-01T10:00:00Z"},
            "spec": {
                "app": {"image": "web:2"},
                "rollout": {"strategy": "Canary",
                            "canary": {"steps": [{"weight": 20}, {"weight": 100}]}},
            },
            "status": {
                "phase": "Paused",
                "revision": {"stable": {"image": "web:1", "hash": "abc"}},
                "rollout": {"strategy": "Canary", "revision": "def", "stableRevision": "abc",
                            "stage": "WaitingForPromotion",
                            "step": 1, "steps": 2, "weight": 20, "summary": "step 1/2, weight 20%"},
                "score": {"passed": 4, "total": 5, "summary": "4/5 passed"},
            },
        }))
    }

    #[test]
    fn a_row_names_phase_images_step_weight_and_score() {
        let row = row(&canary_mid_step());
        assert_eq!(row.namespace, "team-a");
        assert_eq!(row.phase, "Paused");
        assert_eq!(row.strategy, "Canary");
        assert_eq!(row.image, "web:2");
        assert_eq!(row.serving.as_deref(), Some("web:1"));
        assert_eq!(row.stage.as_deref(), Some("WaitingForPromotion"));
        assert_eq!(
            (row.step, row.steps, row.weight),
            (Some(1), Some(2), Some(20))
        );
        assert_eq!((row.passed, row.total), (Some(4), Some(5)));
        assert_eq!(row.created.as_deref(), Some("2026-12-01T10:00:00Z"));
    }

    #[test]
    fn a_release_that_ended_shows_no_step_or_weight() {
        let mut aborted = canary_mid_step();
        let rollout = aborted.status.as_mut().unwrap().rollout.as_mut().unwrap();
        rollout.stage = RolloutStage::Aborted;
        let row = row(&aborted);
        assert_eq!(row.stage.as_deref(), Some("Aborted"));
        assert_eq!((row.step, row.steps, row.weight), (None, None, None));
    }

    #[test]
    fn a_first_release_shares_no_traffic() {
        let mut first = canary_mid_step();
        let rollout = first.status.as_mut().unwrap().rollout.as_mut().unwrap();
        rollout.stable_revision = None;
        assert_eq!(row(&first).weight, None);
    }

    #[test]
    fn a_checklist_without_status_is_pending() {
        let mut fresh = canary_mid_step();
        fresh.status = None;
        let row = row(&fresh);
        assert_eq!(row.phase, "Pending");
        assert_eq!((row.serving, row.step, row.score), (None, None, None));
    }

    #[test]
    fn no_escape_or_direction_override_reaches_the_page() {
        let mut hostile = canary_mid_step();
        hostile.status.as_mut().unwrap().message =
            Some("<script>alert(1)</script>\u{1b}[2J\u{202e}".repeat(200));
        let text = shown_json(&row(&hostile));
        let back: Value = serde_json::from_str(&text).unwrap();
        let message = back["message"].as_str().unwrap();
        assert!(message.starts_with("<script>alert(1)</script>\u{fffd}[2J\u{fffd}"));
        assert!(message.chars().count() <= SHOWN_MAX_CHARS);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
    }

    #[test]
    fn a_release_lists_its_sections_and_steps() {
        let detail = detail(&canary_mid_step(), &[], &[], &Timestamp::UNIX_EPOCH);
        assert_eq!(detail["row"]["name"], "web");
        assert_eq!(detail["rollout"]["steps"][0]["weight"], 20);
        assert_eq!(detail["rollout"]["steps"][1]["weight"], 100);
        assert_eq!(detail["stable"]["image"], "web:1");
        for section in ["app", "secrets", "migration", "checks", "history", "events"] {
            assert!(detail.get(section).is_some(), "{section}");
        }
    }
}
