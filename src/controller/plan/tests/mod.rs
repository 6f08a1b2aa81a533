//! Every transition and trigger of the plan, table-driven where it can be: the fixtures here,
//! the cases by theme in the modules below.

mod adoption;
mod blue_green;
mod canary;
mod hooks;
mod lifecycle;
mod manual_rollback;
mod policy;
mod retry;
mod rollback;
mod rotation;
mod scaling;
mod severity;
mod sides;
mod templates;
mod verification;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

pub(super) use super::{
    Change, Endpoint, Note, Plan, Policy, SecurityOverrides, Subject, plan, status::score,
};
pub(super) use crate::{
    api::{
        CheckResult, ConditionType as Cond, DeploymentChecklist, DeploymentChecklistSpec,
        DeploymentChecklistStatus, Phase, Reason, RevisionOutcome, RollbackTrigger,
        SecretKeyStatus,
    },
    controller::observe::{
        Drifted, HookJobs, JobState, Observation, Owned, Revision, RolloutObservation,
        RolloutProgress, TrafficObservation, VerificationObservation, VerificationResults,
    },
};

const NAME: &str = "dialectic";
const OLD: &str = "aaaaaaaaaa";
const NEW: &str = "bbbbbbbbbb";

fn spec() -> DeploymentChecklistSpec {
    let text = include_str!("../../../../examples/dialectic.yaml");
    let checklist: DeploymentChecklist = serde_norway::from_str(text).unwrap();
    checklist.spec
}

fn now(seconds: i64) -> Time {
    Time(Timestamp::from_second(1_800_000_000 + seconds).unwrap())
}

fn valid_secrets() -> Vec<SecretKeyStatus> {
    vec![SecretKeyStatus {
        secret: "dialectic-env".into(),
        key: "SECRET_KEY_BASE".into(),
        result: CheckResult::Pass,
        message: Some("64+ characters".into()),
    }]
}

/// The world after OLD became Ready and NEW was applied: NEW's migration not started yet, the
/// Deployment still on OLD.
fn observed() -> Observation {
    Observation {
        revision: Revision {
            hash: NEW.into(),
            image: "ghcr.io/acme/dialectic:1.5.0".into(),
            references: Vec::new(),
        },
        secrets: valid_secrets(),
        migration: JobState::Absent,
        hooks: HookJobs::default(),
        rollout: RolloutObservation {
            deployed: Some(OLD.into()),
            progress: RolloutProgress::Complete,
        },
        verification: VerificationObservation::NotStarted,
        verification_results: None,
        rollback_migration: JobState::Absent,
        stable_spec_available: true,
        retry_token: None,
        traffic: TrafficObservation::default(),
        promote_token: None,
        abort_token: None,
        drift: Vec::new(),
        rollback_request: None,
        templates: Vec::new(),
        template_problem: None,
        promotion: None,
        scaling: Default::default(),
        adoption: None,
    }
}

/// The builder of the worlds the tests plan in: start from [`observed`], [`deployed_new`] or
/// [`steady_on_old`] and change what the test is about.
impl Observation {
    /// The Deployment runs `revision`, its rollout at `progress`.
    fn deployed(self, revision: &str, progress: RolloutProgress) -> Self {
        Self {
            rollout: RolloutObservation {
                deployed: Some(revision.into()),
                progress,
            },
            ..self
        }
    }

    /// The migration Job is in `state`.
    fn migrated(self, state: JobState) -> Self {
        Self {
            migration: state,
            ..self
        }
    }

    /// The down-migration Job is in `state`.
    fn down_migrated(self, state: JobState) -> Self {
        Self {
            rollback_migration: state,
            ..self
        }
    }

    /// The verification task reports `state`.
    fn verifying(self, state: VerificationObservation) -> Self {
        Self {
            verification: state,
            ..self
        }
    }
}

/// NEW migrated and deployed, its rollout at `progress`.
fn deployed_new(progress: RolloutProgress) -> Observation {
    observed()
        .migrated(JobState::Succeeded)
        .deployed(NEW, progress)
}

/// OLD is current, migrated, rolled out and verified: the world at rest after its release.
fn steady_on_old() -> Observation {
    Observation {
        revision: Revision {
            hash: OLD.into(),
            image: "ghcr.io/acme/dialectic:1.4.2".into(),
            references: Vec::new(),
        },
        migration: JobState::Succeeded,
        rollout: RolloutObservation {
            deployed: Some(OLD.into()),
            progress: RolloutProgress::Complete,
        },
        verification: VerificationObservation::Passed,
        ..observed()
    }
}

/// OLD is stable and current: what the status says after the previous release.
fn ready_on_old() -> DeploymentChecklistStatus {
    let plan = run(
        &spec(),
        &DeploymentChecklistStatus::default(),
        &steady_on_old(),
    );
    assert_eq!(plan.status.phase, Some(Phase::Ready));
    plan.status
}

fn run(
    spec: &DeploymentChecklistSpec,
    previous: &DeploymentChecklistStatus,
    observed: &Observation,
) -> Plan {
    run_within(&Policy::default(), spec, previous, observed)
}

/// One reconcile held to the operator's `policy`.
fn run_within(
    policy: &Policy,
    spec: &DeploymentChecklistSpec,
    previous: &DeploymentChecklistStatus,
    observed: &Observation,
) -> Plan {
    let subject = Subject {
        name: NAME,
        generation: 2,
        spec,
    };
    plan(subject, policy, previous, observed, &now(60))
}

fn condition(plan: &Plan, kind: Cond) -> (String, String) {
    let c = plan
        .status
        .condition(kind)
        .unwrap_or_else(|| panic!("no {kind} condition"));
    (c.status.clone(), c.reason.clone())
}

/// Asserts `plan` refused the spec as InvalidSpec before anything changed (Failed, Stalled, no
/// change but stopping the rounds), and returns its message.
fn refused_as_invalid(plan: &Plan) -> String {
    assert_eq!(plan.status.phase, Some(Phase::Failed));
    assert_eq!(
        condition(plan, Cond::Stalled),
        ("True".into(), "InvalidSpec".into())
    );
    assert!(
        plan.changes
            .iter()
            .all(|c| matches!(c, Change::StopVerification)),
        "{:?}",
        plan.changes
    );
    plan.status.message.clone().unwrap_or_default()
}

fn restore_old() -> Change {
    Change::RestoreStable {
        revision: OLD.into(),
    }
}

/// Runs the plan twice: once to record the failure, once more in the world after the changes,
/// as the next reconcile would.
fn with_failed_attempt(observation: &Observation) -> DeploymentChecklistStatus {
    run(&spec(), &ready_on_old(), observation).status
}
