//! The `DeploymentChecklist` API (`checklist.dev/v1alpha1`): the types users write and the operator
//! reports through, their defaults and validation rules, and the generated CRD.
//!
//! One module per block of the resource, in the order a checklist is read: `spec` ties the blocks
//! together; `app`, `secrets`, `probes`, `migration`, `rollout`, `verification` (with its `checks`)
//! and `rollback` are the spec blocks; `status` and `conditions` are what the operator writes back; `crd` turns it all
//! into the CustomResourceDefinition the API server enforces. Every doc comment on a field is what
//! `kubectl explain` prints, so they are written for the person writing the YAML.

// Those doc comments are plain text for `kubectl explain`: `<name>`, `[200]` and bare URLs are
// meant literally, not as rustdoc HTML or links.
#![allow(
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls
)]

pub mod adoption;
pub mod app;
pub mod checks;
pub mod conditions;
pub mod crd;
pub mod hooks;
pub mod job_check;
pub mod metric_checks;
pub mod migration;
pub mod notifications;
pub mod pod;
pub mod probes;
pub mod promotion;
pub mod reason;
pub mod requests;
pub mod rollback;
pub mod rollout;
pub mod rollout_status;
pub mod rotation;
pub mod scaling;
pub mod secrets;
pub mod spec;
pub mod status;
pub mod template;
pub mod verification;

mod image;
mod schema;

pub use image::image_problems;
pub(crate) use schema::{KEY_CHARACTERS_MESSAGE, ONE_LINE_REFUSED};

pub use adoption::{AdoptSpec, AdoptionStatus, AfterReady};
pub use app::{AppSpec, ServiceSpec, ServiceType};
pub use checks::{
    DEFAULT_SECURITY_HEADERS, HeaderSource, HttpCheck, HttpHeader, HttpMethod, HttpsRedirectCheck,
    RateLimitCheck, SecurityHeadersCheck,
};
pub use conditions::{ConditionStatus, ConditionType};
pub use hooks::{HookName, HookSpec, HooksSpec, PostPromotionHook};
pub use job_check::{JobCheck, JobEnvVar};
pub use metric_checks::{EmptyResult, LatencyCheck, PrometheusCheck};
pub use migration::{MigrationRollback, MigrationSpec};
pub use pod::{AppVolume, ExtraContainer};
pub use probes::{ProbeSpec, Probes};
pub use promotion::{
    Approval, FollowersSpec, PromotedRevision, PromotionSpec, PromotionStatus, StageRef,
};
pub use reason::Reason;
pub use rollback::{RollbackMigration, RollbackSpec, RollbackTrigger};
pub use rollout::{
    BlueGreenSpec, CanarySpec, CanaryStep, GatewayApiRouting, RolloutSpec, RolloutStrategy,
    TrafficRoutingSpec,
};
pub use rollout_status::{RolloutStage, RolloutStatus};
pub use rotation::RollOnChange;
pub use scaling::{AutoscalingSpec, DisruptionBudgetSpec};
pub use secrets::{SecretContract, SecretKeyRule};
pub use spec::{DeploymentChecklist, DeploymentChecklistSpec};
pub use status::{
    CategoryScore, CheckResult, CheckStatus, DependencyStatus, DeploymentChecklistStatus,
    HistoryEntry, HookStatus, MigrationState, MigrationStatus, Phase, ReferenceVersion,
    RevisionOutcome, RevisionRef, RevisionStatus, Score, SecretKeyStatus, StableRevision,
};
pub use template::{
    ChecklistTemplate, ChecklistTemplateSpec, ClusterChecklistTemplate,
    ClusterChecklistTemplateSpec, TemplateKind, TemplateParameter, TemplateRef, TemplateSpec,
    TemplateStatus,
};
pub use verification::{CheckKind, CheckRef, CheckSpec, Severity, VerificationSpec};
