//! The condition types of `status.conditions` and their meaning.
//!
//! Ready, Reconciling and Stalled follow kstatus, so `kubectl wait --for=condition=Ready`, Flux
//! and Argo CD understand a checklist without knowing it. The others report each step of the
//! checklist on its own.

use std::fmt;

/// A condition type the operator writes to `status.conditions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConditionType {
    /// True when the current spec is rolled out, verified and serving; False otherwise.
    Ready,
    /// True while the operator works towards the current spec (kstatus: abnormal-true).
    Reconciling,
    /// True when progress stopped and needs a person or a new spec (kstatus: abnormal-true).
    Stalled,
    /// Whether every Secret and key of spec.secrets exists and meets its rule.
    SecretsValid,
    /// Whether the migration Job of the current revision succeeded.
    MigrationComplete,
    /// Whether the new pods of the current revision are all updated and ready.
    RolloutComplete,
    /// Whether the last verification verdict passed.
    Verified,
    /// True when the current spec failed and the stable revision was restored.
    RolledBack,
}

impl ConditionType {
    /// Every condition type, in the order a checklist reports them.
    pub const ALL: [ConditionType; 8] = [
        ConditionType::Ready,
        ConditionType::Reconciling,
        ConditionType::Stalled,
        ConditionType::SecretsValid,
        ConditionType::MigrationComplete,
        ConditionType::RolloutComplete,
        ConditionType::Verified,
        ConditionType::RolledBack,
    ];

    /// The `type` string written to the status.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::Ready => "Ready",
            ConditionType::Reconciling => "Reconciling",
            ConditionType::Stalled => "Stalled",
            ConditionType::SecretsValid => "SecretsValid",
            ConditionType::MigrationComplete => "MigrationComplete",
            ConditionType::RolloutComplete => "RolloutComplete",
            ConditionType::Verified => "Verified",
            ConditionType::RolledBack => "RolledBack",
        }
    }

    /// The condition type named by a status `type` string, if it is one of ours.
    pub fn parse(value: &str) -> Option<ConditionType> {
        ConditionType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

impl fmt::Display for ConditionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `status` of a condition, as Kubernetes spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// The operator cannot tell yet.
    Unknown,
}

impl ConditionStatus {
    /// The `status` string written to the status.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

impl From<bool> for ConditionStatus {
    fn from(holds: bool) -> Self {
        if holds {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        }
    }
}

impl fmt::Display for ConditionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_types_parse_back_from_their_names() {
        for kind in ConditionType::ALL {
            assert_eq!(ConditionType::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(ConditionType::parse("Available"), None);
    }

    #[test]
    fn condition_status_is_spelled_like_kubernetes() {
        assert_eq!(ConditionStatus::from(true).as_str(), "True");
        assert_eq!(ConditionStatus::from(false).as_str(), "False");
        assert_eq!(ConditionStatus::Unknown.to_string(), "Unknown");
    }
}
