//! The reconcile pipeline: for one `DeploymentChecklist`, `observe` what is in the cluster,
//! `plan` what to change (pure), `act` on it and `record` it in the status and Events.
//!
//! `reconcile` is the entry point the process's controller calls (see [`crate::operator`]), and
//! its error policy; `verification` runs the HTTP checks in tasks of their own and reports their
//! verdicts back as triggers. The rest serves those: `conditions` (the status conditions),
//! `retry` (backoff), `reader_index` (which checklists read a Secret, a ConfigMap or a template), `trim` (what the caches
//! keep of an object) and `clock`.

mod act;
mod clock;
mod conditions;
mod observe;
pub(crate) mod plan;
mod reader_index;
mod reconcile;
pub(crate) mod record;
mod retry;
mod trim;
mod verification;

pub(crate) use observe::{
    CachedReads, Caches, CompactStore, Key, STORED_SPECS_CAPACITY, StoredSpecs,
};
pub use plan::{Policy, SecurityOverrides};
pub(crate) use reader_index::ReaderIndex;
pub(crate) use reconcile::{Context, Guarded, error_policy, reconcile};
pub(crate) use record::FIELD_MANAGER;
pub(crate) use retry::WatchBackoff;
pub(crate) use trim::trim;
pub use verification::Capacity;
pub(crate) use verification::Verifier;
