//! Setting status conditions the kstatus way, and comparing them without their timestamps so
//! status is only written when something really changed.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::api::{ConditionStatus, ConditionType, Reason};

/// Sets one condition; `lastTransitionTime` moves only when the status flips.
pub fn set(
    conditions: &mut Vec<Condition>,
    kind: ConditionType,
    status: ConditionStatus,
    reason: Reason,
    message: &str,
    generation: i64,
    now: &Time,
) {
    let fresh = Condition {
        type_: kind.as_str().to_string(),
        status: status.as_str().to_string(),
        reason: reason.as_str().to_string(),
        message: message.to_string(),
        observed_generation: Some(generation),
        last_transition_time: now.clone(),
    };
    match conditions.iter_mut().find(|c| c.type_ == fresh.type_) {
        Some(existing) => {
            let since = if existing.status == fresh.status {
                existing.last_transition_time.clone()
            } else {
                now.clone()
            };
            *existing = Condition {
                last_transition_time: since,
                ..fresh
            };
        }
        None => conditions.push(fresh),
    }
    conditions.sort_by_key(|c| ConditionType::parse(&c.type_));
}

/// Whether two condition lists say the same thing, ignoring transition times.
pub fn same(a: &[Condition], b: &[Condition]) -> bool {
    let key = |c: &Condition| {
        (
            c.type_.clone(),
            c.status.clone(),
            c.reason.clone(),
            c.message.clone(),
            c.observed_generation,
        )
    };
    let mut left: Vec<_> = a.iter().map(key).collect();
    let mut right: Vec<_> = b.iter().map(key).collect();
    left.sort();
    right.sort();
    left == right
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap())
    }

    #[test]
    fn the_transition_time_moves_only_when_the_status_flips() {
        let mut conditions = Vec::new();
        set(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::False,
            Reason::Migrating,
            "a",
            1,
            &at(10),
        );
        set(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::False,
            Reason::RollingOut,
            "b",
            1,
            &at(20),
        );
        assert_eq!(conditions[0].last_transition_time, at(10));
        assert_eq!(conditions[0].reason, "RollingOut");
        set(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::True,
            Reason::VerificationPassed,
            "c",
            1,
            &at(30),
        );
        assert_eq!(conditions[0].last_transition_time, at(30));
    }

    #[test]
    fn comparison_ignores_timestamps_and_order() {
        let mut a = Vec::new();
        set(
            &mut a,
            ConditionType::Ready,
            ConditionStatus::True,
            Reason::VerificationPassed,
            "ok",
            2,
            &at(10),
        );
        set(
            &mut a,
            ConditionType::Stalled,
            ConditionStatus::False,
            Reason::VerificationPassed,
            "ok",
            2,
            &at(10),
        );
        let mut b = Vec::new();
        set(
            &mut b,
            ConditionType::Stalled,
            ConditionStatus::False,
            Reason::VerificationPassed,
            "ok",
            2,
            &at(99),
        );
        set(
            &mut b,
            ConditionType::Ready,
            ConditionStatus::True,
            Reason::VerificationPassed,
            "ok",
            2,
            &at(99),
        );
        assert!(same(&a, &b));
        set(
            &mut b,
            ConditionType::Ready,
            ConditionStatus::True,
            Reason::VerificationPassed,
            "ok",
            3,
            &at(99),
        );
        assert!(!same(&a, &b));
    }
}
