//! Pure builders of the objects a checklist owns: the app's Deployment and Service, the
//! migration Jobs and the revision records, plus the labels and the revision hash that tie them
//! to a checklist.
//!
//! Every builder is a function of the checklist (and a spec and a revision where the object
//! belongs to one revision) to the complete desired object: no client, no clock, no I/O. The
//! act step server-side applies what they return with one field manager, so a field left out
//! here is a field the operator does not own, and building twice yields the same object (the
//! apply is a no-op). Their tests load the seed examples as fixtures.

pub(crate) mod deployment;
pub(crate) mod drift;
pub(crate) mod history;
pub(crate) mod job;
pub(crate) mod labels;
pub(crate) mod pod;
pub(crate) mod revision;
pub(crate) mod rotation;
pub(crate) mod scaling;
mod security;
pub(crate) mod service;
pub(crate) mod stamp;

mod check_job;
mod env;
#[cfg(test)]
pub(crate) mod fixtures;
mod meta;

pub use check_job::{CHECK_CONTAINER, CheckJobs, CheckRun};
pub(crate) use deployment::{deployment, revision_deployment};
pub use history::RecordError;
pub(crate) use history::{recorded_spec, records_to_prune, revision_record, revision_record_name};
pub(crate) use job::{hook_job, migration_job, rollback_migration_job};
pub use job::{hook_job_name, migration_job_name, rollback_migration_job_name};
pub(crate) use meta::controlled_by;
pub(crate) use pod::extra_security_context;
pub use pod::undeclared_mounts;
pub(crate) use revision::deployed_revision;
pub use revision::{checks_digest, promoted_spec, revision_hash, revision_of};
pub(crate) use security::{container_security_context, pod_security_context};
pub(crate) use service::{
    selected_revision, service, service_selecting, side_service, side_service_field,
    side_service_name, side_service_name_of,
};
