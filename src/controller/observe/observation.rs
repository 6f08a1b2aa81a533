//! What `observe` found, reduced to what the plan decides on: no client types, no clock.

use crate::api::{
    CheckResult, CheckStatus, DependencyStatus, ReferenceVersion, SecretKeyStatus, TemplateStatus,
    requests::{RollbackRefusal, RollbackTarget},
};

/// A revision: the hash of the parts of a spec that define what runs, and its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The revision hash (`resources::revision_hash`).
    pub hash: String,
    /// The app image of that revision.
    pub image: String,
    /// The versions of the spec.app.rollOnChange objects in the hash.
    pub references: Vec<ReferenceVersion>,
}

/// The state of a Job the checklist runs for one revision (migration or down-migration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// The spec asks for no such Job.
    NotNeeded,
    /// The Job does not exist (yet).
    Absent,
    /// The Job exists and has not finished.
    Running,
    /// The Job completed.
    Succeeded,
    /// The Job failed; the reason says how (BackoffLimitExceeded, DeadlineExceeded, ...).
    Failed(String),
}

/// The hook Jobs of the current revision (NotNeeded for a hook the spec does not set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookJobs {
    /// spec.hooks.preMigration's Job.
    pub pre_migration: JobState,
    /// spec.hooks.postPromotion's Job.
    pub post_promotion: JobState,
}

impl Default for HookJobs {
    fn default() -> Self {
        Self {
            pre_migration: JobState::NotNeeded,
            post_promotion: JobState::NotNeeded,
        }
    }
}

impl HookJobs {
    /// The state of `hook`'s Job.
    pub fn of(&self, hook: crate::api::HookName) -> &JobState {
        match hook {
            crate::api::HookName::PreMigration => &self.pre_migration,
            crate::api::HookName::PostPromotion => &self.post_promotion,
        }
    }
}

/// The state of the app's Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutObservation {
    /// The revision the Deployment's pod template carries, if the Deployment exists.
    pub deployed: Option<String>,
    /// How that revision is doing.
    pub progress: RolloutProgress,
}

/// How the deployed revision is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutProgress {
    /// New pods are coming up.
    Progressing,
    /// Every replica runs the deployed revision and is available.
    Complete,
    /// The Deployment reported ProgressDeadlineExceeded.
    DeadlineExceeded(String),
    /// A pod of the deployed revision restarted more than maxRestarts times or sits in
    /// CrashLoopBackOff; the message names the pod and container.
    CrashLoop(String),
}

/// One app Deployment of the checklist: BlueGreen and Canary run one per revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionPods {
    /// The revision its pod template carries.
    pub revision: String,
    /// Its name.
    pub name: String,
    /// The replicas its spec asks for.
    pub replicas: i32,
    /// How it is doing.
    pub progress: RolloutProgress,
}

/// What BlueGreen and Canary decide on: the Deployments of each revision and where the Services
/// send traffic. Empty for RollingUpdate, which has one Deployment (see `rollout`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficObservation {
    /// Every app Deployment of the checklist.
    pub deployments: Vec<RevisionPods>,
    /// What the router's objects send where.
    pub routes: crate::traffic::Live,
}

impl TrafficObservation {
    /// The Deployment running `revision`, if any.
    pub fn of(&self, revision: &str) -> Option<&RevisionPods> {
        self.deployments.iter().find(|d| d.revision == revision)
    }
}

/// An object the operator owns, changed by hand, and how it is put back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drifted {
    /// Which object, and the state it is put back to.
    pub object: Owned,
    /// Its name.
    pub name: String,
    /// The fields changed, by path (`spec.template.spec.containers[app].image`).
    pub fields: Vec<String>,
}

/// An owned object that drifted, with what re-applying it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owned {
    /// RollingUpdate's Deployment running `revision`.
    Deployment {
        /// The revision it runs.
        revision: String,
    },
    /// A BlueGreen or Canary Deployment running `revision` with `replicas` pods.
    RevisionDeployment {
        /// The revision it runs.
        revision: String,
        /// The pods it runs with now (a stage's count, not the user's).
        replicas: i32,
    },
    /// The app's Service, selecting `revision` (every revision when None).
    AppService {
        /// The revision it selects.
        revision: Option<String>,
    },
    /// The preview or canary Service, selecting `revision`.
    SideService {
        /// The revision it selects.
        revision: String,
    },
}

impl Owned {
    /// The kind, for the Event.
    pub fn kind(&self) -> &'static str {
        match self {
            Owned::Deployment { .. } | Owned::RevisionDeployment { .. } => "Deployment",
            Owned::AppService { .. } | Owned::SideService { .. } => "Service",
        }
    }
}

/// Where the verification of the current revision stands (reported by the verification tasks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerificationObservation {
    /// No task runs for this revision.
    NotStarted,
    /// Rounds are running; the verdict is not in.
    Running,
    /// A round passed.
    Passed,
    /// failureThreshold rounds in a row failed; the message says which checks.
    Failed(String),
}

/// Everything observed for one checklist in one reconcile.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The revision of the current spec.
    pub revision: Revision,
    /// The secret contract, checked key by key.
    pub secrets: Vec<SecretKeyStatus>,
    /// The current revision's migration Job.
    pub migration: JobState,
    /// The current revision's hook Jobs.
    pub hooks: HookJobs,
    /// The app's Deployment.
    pub rollout: RolloutObservation,
    /// The current revision's verification.
    pub verification: VerificationObservation,
    /// The latest check results of the current revision's verification rounds, if any ran.
    pub verification_results: Option<VerificationResults>,
    /// The down-migration Job for the current revision, when it is being rolled back.
    pub rollback_migration: JobState,
    /// Whether the spec of the revision a rollback would restore could be read back (from its
    /// ControllerRevision): the stable revision's, or the one a pending rollback request names.
    pub stable_spec_available: bool,
    /// The `checklist.dev/retry` annotation's value, if set.
    pub retry_token: Option<String>,
    /// BlueGreen and Canary: each revision's Deployment and where the Services point.
    pub traffic: TrafficObservation,
    /// The `checklist.dev/promote` annotation's value, if set.
    pub promote_token: Option<String>,
    /// The `checklist.dev/abort` annotation's value, if set.
    pub abort_token: Option<String>,
    /// The owned objects of the current revision a person changed by hand.
    pub drift: Vec<Drifted>,
    /// A `checklist.dev/rollback` value not acted on yet, with the revision it restores or why
    /// it cannot.
    pub rollback_request: Option<(String, Result<RollbackTarget, RollbackRefusal>)>,
    /// The templates of spec.verification.templates and the checks each gave (their checks are
    /// already in the spec the plan reads).
    pub templates: Vec<TemplateStatus>,
    /// Why the templates do not resolve, if they do not: nothing may change then.
    pub template_problem: Option<String>,
    /// The PodDisruptionBudget and HorizontalPodAutoscaler as they are.
    pub scaling: super::ScalingObjects,
    /// spec.promotion, decided: status.promotion, and when a waiting revision qualifies (the
    /// promoted image is already in the spec the plan reads).
    pub promotion: Option<crate::controller::plan::promotion::Decision>,
    /// spec.app.adopt's Deployment, until it is handed over.
    pub adoption: super::AdoptionObservation,
}

/// What the verification task of one revision has found so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The revision being verified.
    pub revision: String,
    /// Running, Passed or Failed.
    pub state: VerificationObservation,
    /// The latest round's results, once a round ran.
    pub results: Option<VerificationResults>,
}

/// The latest round's results, as status shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationResults {
    /// One entry per check.
    pub checks: Vec<CheckStatus>,
    /// One entry per dependency a deep health check reported.
    pub dependencies: Vec<DependencyStatus>,
    /// Failed rounds in a row, this one included.
    pub failed_rounds: u32,
}

impl VerificationResults {
    /// These results, plus the entries of `previous` for checks these did not run (continuous
    /// rounds leave rateLimit checks out; their last result stands).
    pub fn over(mut self, previous: &VerificationResults) -> Self {
        let ran: Vec<String> = self.checks.iter().map(|c| c.name.clone()).collect();
        for check in previous.checks.iter().filter(|c| !ran.contains(&c.name)) {
            self.checks.push(check.clone());
            self.dependencies.extend(
                previous
                    .dependencies
                    .iter()
                    .filter(|d| d.check == check.name)
                    .cloned(),
            );
        }
        self
    }

    /// Whether `other` says the same as these results: the same verdict for every check and every
    /// dependency, in any order, messages, latencies and run times aside. Continuous rounds of a
    /// Ready revision are news (a reconcile, a status write) only when this is false.
    pub fn same_as(&self, other: &VerificationResults) -> bool {
        self.verdicts() == other.verdicts()
    }

    /// (check, dependency or "", result) for every check and dependency, sorted.
    fn verdicts(&self) -> Vec<(&str, &str, CheckResult)> {
        let mut verdicts: Vec<_> = self
            .checks
            .iter()
            .map(|c| (c.name.as_str(), "", c.result))
            .chain(
                self.dependencies
                    .iter()
                    .map(|d| (d.check.as_str(), d.name.as_str(), d.result)),
            )
            .collect();
        verdicts.sort();
        verdicts
    }
}
