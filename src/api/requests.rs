//! What a person asks of a checklist through its annotations — retry, promote, abort, roll back,
//! approve a stage's promotion — and which revision a rollback may go to. `kubectl annotate` and
//! `kubectl checklist` write them; the operator acts on each new value once and keeps the value
//! it acted on in the status, so a request is level-triggered and survives an operator restart.

use sha2::Digest as _;

use super::status::{DeploymentChecklistStatus, RevisionOutcome};

/// A new value tries a failed revision once more.
pub const RETRY_ANNOTATION: &str = "checklist.dev/retry";
/// A new value ends the current pause of a canary step or promotes a blue-green release that
/// waits for a person.
pub const PROMOTE_ANNOTATION: &str = "checklist.dev/promote";
/// A new value stops the release in progress: the stable version serves.
pub const ABORT_ANNOTATION: &str = "checklist.dev/abort";
/// The revision of the followed stage (spec.promotion, approval Manual) a person approved for
/// promotion: its hash there, as status.promotion.awaitingApproval names it.
pub const APPROVE_ANNOTATION: &str = "checklist.dev/approve";
/// A new value `N` or `N@ID` restores revision N of status.history, an earlier revision that
/// passed its checklist; ID (a timestamp, say) makes asking for the same N again a new request.
pub const ROLLBACK_ANNOTATION: &str = "checklist.dev/rollback";

/// The longest request value the status keeps as written (the CRD caps its token fields at 256
/// characters); a longer one is kept as its digest, see [`token`].
const MAX_TOKEN: usize = 256;

/// The form of a request annotation's value the operator compares and keeps in the status: the
/// value itself, or for one longer than the status can hold, `sha256:` and its digest. An
/// annotation may hold far more than 256 characters; kept as is, it would make every status write
/// fail validation, and cut short, it would never equal the value again and be acted on forever.
pub fn token(value: &str) -> String {
    if value.len() <= MAX_TOKEN {
        return value.to_string();
    }
    let digest = sha2::Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Why a rollback request cannot be done, in words for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackRefusal {
    /// The value is not `N` or `N@ID`.
    #[error(
        "checklist.dev/rollback must be a revision number from status.history, optionally followed by @ and an ID (e.g. 3 or 3@1764633600), not {0:?}"
    )]
    Malformed(String),
    /// No entry of the history has that number.
    #[error("revision {revision} is not in the history (it keeps {kept})")]
    NotInHistory {
        /// The revision asked for.
        revision: i64,
        /// The revisions the history keeps, as a range or "none".
        kept: String,
    },
    /// The revision never passed its checklist.
    #[error("revision {revision} ({image}) never passed its checklist: it ended {outcome:?}")]
    NeverReady {
        /// The revision asked for.
        revision: i64,
        /// Its image.
        image: String,
        /// How it ended.
        outcome: RevisionOutcome,
    },
    /// The revision is what the spec asks for already.
    #[error("revision {revision} ({image}) is the current spec: there is nothing to roll back")]
    Current {
        /// The revision asked for.
        revision: i64,
        /// Its image.
        image: String,
    },
    /// The history entry predates revision hashes, so its stored spec cannot be found.
    #[error("revision {0} was recorded without its hash, so its stored spec cannot be found")]
    NoHash(i64),
    /// There is no earlier revision that passed.
    #[error("no earlier revision passed its checklist: there is nothing to roll back to")]
    NothingEarlier,
}

/// A rollback request read from [`ROLLBACK_ANNOTATION`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackRequest {
    /// The annotation's value as [`token`] keeps it in status.rollbackToken once acted on.
    pub token: String,
    /// The history revision asked for, or why the value is not a request.
    pub revision: Result<i64, RollbackRefusal>,
}

impl RollbackRequest {
    /// Reads an annotation value.
    pub fn parse(value: &str) -> Self {
        let number = value.split_once('@').map_or(value, |(number, _)| number);
        let revision = number
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0 && value.len() <= MAX_TOKEN)
            .ok_or_else(|| RollbackRefusal::Malformed(shorten(value)));
        Self {
            token: token(value),
            revision,
        }
    }
}

/// A revision a rollback may restore: one that passed its checklist, kept in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackTarget {
    /// Its number in status.history.
    pub revision: i64,
    /// Its image.
    pub image: String,
    /// Its hash, which names its stored spec.
    pub hash: String,
}

/// The revision `revision` of the history, if a rollback may restore it while the spec asks for
/// the revision hashed `current`.
pub fn rollback_target(
    status: &DeploymentChecklistStatus,
    current: &str,
    revision: i64,
) -> Result<RollbackTarget, RollbackRefusal> {
    let history = &status.history;
    let Some(entry) = history.iter().rev().find(|h| h.revision == revision) else {
        let kept = match (history.first(), history.last()) {
            (Some(first), Some(last)) if first.revision == last.revision => {
                format!("revision {}", first.revision)
            }
            (Some(first), Some(last)) => {
                format!("revisions {} to {}", first.revision, last.revision)
            }
            _ => "none".to_string(),
        };
        return Err(RollbackRefusal::NotInHistory { revision, kept });
    };
    let Some(hash) = entry.hash.clone() else {
        return Err(RollbackRefusal::NoHash(revision));
    };
    if hash == current {
        return Err(RollbackRefusal::Current {
            revision,
            image: entry.image.clone(),
        });
    }
    if entry.outcome != RevisionOutcome::Succeeded {
        return Err(RollbackRefusal::NeverReady {
            revision,
            image: entry.image.clone(),
            outcome: entry.outcome,
        });
    }
    Ok(RollbackTarget {
        revision,
        image: entry.image.clone(),
        hash,
    })
}

/// The revision a rollback without a number goes to: the latest that passed its checklist and is
/// not the current spec — the stable revision while a newer one is being released or has failed,
/// the one before it when the current spec is the stable one.
pub fn default_rollback_revision(
    status: &DeploymentChecklistStatus,
    current: &str,
) -> Result<i64, RollbackRefusal> {
    status
        .history
        .iter()
        .rev()
        .find(|h| h.outcome == RevisionOutcome::Succeeded && h.hash.as_deref() != Some(current))
        .map(|h| h.revision)
        .ok_or(RollbackRefusal::NothingEarlier)
}

/// The rollback request the operator has not acted on yet, with the revision it goes to or why
/// it cannot: None when the annotation is absent or holds the value already acted on.
pub fn pending_rollback(
    annotation: Option<&String>,
    status: Option<&DeploymentChecklistStatus>,
    current: &str,
) -> Option<(String, Result<RollbackTarget, RollbackRefusal>)> {
    let value = annotation?;
    let acted_on = status.and_then(|s| s.rollback_token.as_deref());
    if acted_on == Some(token(value).as_str()) {
        return None;
    }
    let request = RollbackRequest::parse(value);
    let empty = DeploymentChecklistStatus::default();
    let status = status.unwrap_or(&empty);
    let target = request
        .revision
        .and_then(|revision| rollback_target(status, current, revision));
    Some((request.token, target))
}

/// A hostile value quoted in a message: at most 64 characters.
fn shorten(value: &str) -> String {
    match value.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::HistoryEntry;

    /// A history entry of `revision` running `image`, hashed `hash`, ended `outcome`.
    pub(crate) fn history_entry(
        revision: i64,
        image: &str,
        hash: &str,
        outcome: RevisionOutcome,
    ) -> HistoryEntry {
        HistoryEntry {
            revision,
            image: image.into(),
            hash: Some(hash.into()),
            outcome,
            trigger: None,
            reason: None,
            message: None,
            rotated: Vec::new(),
            started_at: None,
            finished_at: None,
        }
    }

    fn status() -> DeploymentChecklistStatus {
        DeploymentChecklistStatus {
            history: vec![
                history_entry(3, "app:1.3", "h3", RevisionOutcome::Succeeded),
                history_entry(4, "app:1.4", "h4", RevisionOutcome::Succeeded),
                history_entry(5, "app:1.5-rc", "h5", RevisionOutcome::Failed),
                history_entry(6, "app:1.5", "h6", RevisionOutcome::Succeeded),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn values_are_a_number_with_an_optional_id() {
        assert_eq!(RollbackRequest::parse("4").revision, Ok(4));
        assert_eq!(RollbackRequest::parse("4@1764633600").revision, Ok(4));
        assert_eq!(RollbackRequest::parse("4@").token, "4@");
        for bad in ["", "four", "-1", "0", "@4", "4.0", &"9".repeat(30)] {
            assert!(
                matches!(
                    RollbackRequest::parse(bad).revision,
                    Err(RollbackRefusal::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        let long = format!("4@{}", "x".repeat(300));
        let request = RollbackRequest::parse(&long);
        let Err(refusal) = request.revision else {
            panic!("a 302-character value is refused");
        };
        assert!(refusal.to_string().len() < 300, "{refusal}");
        assert!(request.token.starts_with("sha256:"));
    }

    #[test]
    fn a_token_always_fits_the_status_and_tells_values_apart() {
        assert_eq!(token("1764633600"), "1764633600");
        let at_limit = "x".repeat(MAX_TOKEN);
        assert_eq!(token(&at_limit), at_limit);
        let (a, b) = ("a".repeat(100_000), format!("{}b", "a".repeat(99_999)));
        assert!(token(&a).len() <= MAX_TOKEN);
        assert_eq!(token(&a), token(&a), "stable, so acted on once");
        assert_ne!(token(&a), token(&b));
        // A long request is acted on once: its digest is what the status keeps.
        let mut status = DeploymentChecklistStatus::default();
        let long = format!("4@{}", "x".repeat(300));
        let (kept, _) = pending_rollback(Some(&long), Some(&status), "h").unwrap();
        status.rollback_token = Some(kept);
        assert_eq!(pending_rollback(Some(&long), Some(&status), "h"), None);
    }

    #[test]
    fn only_an_earlier_revision_that_passed_can_be_restored() {
        let status = status();
        assert_eq!(
            rollback_target(&status, "h6", 4),
            Ok(RollbackTarget {
                revision: 4,
                image: "app:1.4".into(),
                hash: "h4".into()
            })
        );
        assert_eq!(
            rollback_target(&status, "h6", 5).unwrap_err().to_string(),
            "revision 5 (app:1.5-rc) never passed its checklist: it ended Failed"
        );
        assert_eq!(
            rollback_target(&status, "h6", 6).unwrap_err().to_string(),
            "revision 6 (app:1.5) is the current spec: there is nothing to roll back"
        );
        assert_eq!(
            rollback_target(&status, "h6", 1).unwrap_err().to_string(),
            "revision 1 is not in the history (it keeps revisions 3 to 6)"
        );
        let mut unhashed = status.clone();
        unhashed.history[0].hash = None;
        assert_eq!(
            rollback_target(&unhashed, "h6", 3),
            Err(RollbackRefusal::NoHash(3))
        );
    }

    #[test]
    fn without_a_number_the_latest_earlier_revision_that_passed_is_chosen() {
        let status = status();
        // The current spec is the stable revision 6: the one before it.
        assert_eq!(default_rollback_revision(&status, "h6"), Ok(4));
        // A newer spec is being released: the stable one.
        assert_eq!(default_rollback_revision(&status, "h7"), Ok(6));
        assert_eq!(
            default_rollback_revision(&DeploymentChecklistStatus::default(), "h1"),
            Err(RollbackRefusal::NothingEarlier)
        );
    }

    #[test]
    fn a_request_is_pending_until_its_value_is_acted_on() {
        let mut status = status();
        let value = "4@1".to_string();
        let (token, target) = pending_rollback(Some(&value), Some(&status), "h6").unwrap();
        assert_eq!(token, "4@1");
        assert_eq!(target.map(|t| t.hash).as_deref(), Ok("h4"));
        status.rollback_token = Some(value.clone());
        assert_eq!(pending_rollback(Some(&value), Some(&status), "h6"), None);
        assert_eq!(pending_rollback(None, Some(&status), "h6"), None);
        let (_, refused) = pending_rollback(Some(&"x".to_string()), None, "h6").unwrap();
        assert!(matches!(refused, Err(RollbackRefusal::Malformed(_))));
    }
}
