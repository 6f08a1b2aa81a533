//! The observe step: read what a reconcile decides on from the API server (`read`), then reduce
//! it, with the verification task's report, to an [`Observation`] the plan can decide on without
//! a client (`reduce`, pure).
//!
//! The two halves import in one direction only: `reduce` takes the [`World`] that `read`
//! returns; `read` knows nothing of the reduction. Both take a person's requests on the
//! checklist from `requests`, and `drift` (part of the reduction) compares what `read` found. `fresh` makes sure the checklist itself is
//! not older than this process's own last status write; `cache` serves the app's Deployment from
//! the controller's watch cache (`compact`: objects kept as JSON) unless it is behind this
//! process's own write. `templates` reads the check templates a checklist names, `rotation` the versions of the
//! Secrets and ConfigMaps it rolls on, `promotion` the checklist it follows, `adoption` the Deployment spec.app.adopt takes over.

mod adoption;
mod app;
mod cache;
mod compact;
mod drift;
mod fresh;
mod get;
mod observation;
mod promotion;
mod read;
mod reduce;
mod requests;
mod rotation;
mod scaling;
mod stored;
mod templates;

pub use adoption::{Adoptee, AdoptionObservation, Found};
pub use cache::{CachedReads, Caches};
pub use compact::CompactStore;
pub use fresh::{Reread, Versions, reread};
#[cfg(test)]
pub use observation::HookJobs;
#[cfg(test)]
pub use observation::{Drifted, Revision, RolloutObservation, TrafficObservation};
pub use observation::{
    JobState, Observation, Owned, Report, RevisionPods, RolloutProgress, VerificationObservation,
    VerificationResults,
};
pub use promotion::{follow, followed_key};
pub use read::{Key, World, key, namespace, secret_names};
pub use reduce::{observation, revision, target, verification_target};
pub use rotation::references;
pub use scaling::{LiveObject, ScalingObjects};
pub use stored::{STORED_SPECS_CAPACITY, StoredSpecs};
pub use templates::{Effective, effective, template_names};
