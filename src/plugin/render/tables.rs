//! `kubectl checklist list` and `history`: one line per checklist, one line per revision.

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::{Paint, columns, human_duration, took};
use crate::api::{DeploymentChecklist, Phase, RevisionOutcome};

/// One line per checklist; with `namespaces`, the namespace first.
pub fn list(
    checklists: &[DeploymentChecklist],
    namespaces: bool,
    paint: Paint,
    now: &Timestamp,
) -> String {
    let mut rows = vec![
        [
            "NAMESPACE",
            "NAME",
            "PHASE",
            "IMAGE",
            "SERVING",
            "ROLLOUT",
            "SCORE",
            "AGE",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>(),
    ];
    for checklist in checklists {
        let status = checklist.status.as_ref();
        let phase = status.and_then(|s| s.phase);
        let phase_text = match phase {
            Some(Phase::Ready) => paint.good("Ready"),
            Some(p @ (Phase::RolledBack | Phase::Failed | Phase::Degraded)) => {
                paint.bad(&p.to_string())
            }
            Some(p) => paint.waiting(&p.to_string()),
            None => paint.waiting("Pending"),
        };
        let serving = status
            .and_then(|s| s.revision.as_ref())
            .and_then(|r| r.stable.as_ref())
            .map_or_else(|| "-".to_string(), |s| s.image.clone());
        let rollout = status
            .and_then(|s| s.rollout.as_ref())
            .map(|r| r.summary.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "-".into());
        let score = status
            .and_then(|s| s.score.as_ref())
            .map_or_else(|| "-".to_string(), |s| s.summary.clone());
        let age = checklist.metadata.creation_timestamp.as_ref().map_or_else(
            || "-".to_string(),
            |t| human_duration(now.as_second() - t.0.as_second()),
        );
        rows.push(vec![
            checklist.namespace().unwrap_or_default(),
            checklist.name_any(),
            phase_text,
            checklist.spec.app.image.clone(),
            serving,
            rollout,
            score,
            age,
        ]);
    }
    if !namespaces {
        for row in &mut rows {
            row.remove(0);
        }
    }
    columns(&rows)
}

/// One line per revision of the history, oldest first; the stable revision is marked.
pub fn history(checklist: &DeploymentChecklist, paint: Paint, now: &Timestamp) -> String {
    let status = checklist.status.as_ref();
    let stable = status
        .and_then(|s| s.revision.as_ref())
        .and_then(|r| r.stable.as_ref())
        .map(|s| s.hash.clone());
    let mut rows = vec![
        [
            "REVISION", "IMAGE", "HASH", "OUTCOME", "REASON", "STARTED", "TOOK", "MESSAGE",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>(),
    ];
    for entry in status.map(|s| s.history.as_slice()).unwrap_or_default() {
        let is_stable = entry.hash.is_some() && entry.hash == stable;
        let outcome = format!("{:?}", entry.outcome);
        let outcome = match entry.outcome {
            RevisionOutcome::Succeeded => paint.good(&outcome),
            RevisionOutcome::Failed | RevisionOutcome::RolledBack => paint.bad(&outcome),
            RevisionOutcome::Progressing => paint.waiting(&outcome),
            RevisionOutcome::Superseded => paint.dim(&outcome),
        };
        let reason = entry
            .trigger
            .map(|t| format!("{t:?}"))
            .or_else(|| entry.reason.clone())
            .unwrap_or_else(|| "-".into());
        let started = entry.started_at.as_ref().map_or_else(
            || "-".to_string(),
            |t| format!("{} ago", human_duration(now.as_second() - t.0.as_second())),
        );
        rows.push(vec![
            if is_stable {
                format!("{} (stable)", entry.revision)
            } else {
                entry.revision.to_string()
            },
            entry.image.clone(),
            entry.hash.clone().unwrap_or_else(|| "-".into()),
            outcome,
            reason,
            started,
            took(entry.started_at.as_ref(), entry.finished_at.as_ref(), now),
            entry.message.clone().unwrap_or_else(|| {
                if entry.rotated.is_empty() {
                    String::new()
                } else {
                    format!("{} changed", entry.rotated.join(", "))
                }
            }),
        ]);
    }
    if rows.len() == 1 {
        return "no revision rolled out yet\n".into();
    }
    columns(&rows)
}
