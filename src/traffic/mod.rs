//! Where users' requests go during a release, behind one seam: the plan says what share each
//! revision gets (a [`Routing`]), a [`Router`] says whether the live objects already send it so
//! and which writes make them do so. Act and observe call the router the checklist's spec picks
//! without knowing which one it is.
//!
//! One router today, `services`: the app's Service and the preview or canary Service choose
//! between revisions by the revision label, so a canary's share is its share of the pods.

mod services;

use k8s_openapi::api::core::v1::Service;

use crate::api::{DeploymentChecklist, DeploymentChecklistSpec};

pub use services::ServiceSelector;

/// The traffic a plan wants: `stable` takes every request the trial does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// The revision users reach by default.
    pub stable: String,
    /// The revision under test and its share, while one is.
    pub trial: Option<Trial>,
}

/// A revision under test beside the stable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    /// Its revision hash.
    pub revision: String,
    /// The percent of users' requests it takes: 0 (reachable only for its checks, as in a
    /// BlueGreen preview) to 100 (after a BlueGreen switch).
    pub weight: i32,
}

impl Routing {
    /// Every request to `revision`, nothing under test.
    pub fn settled(revision: &str) -> Self {
        Routing {
            stable: revision.to_string(),
            trial: None,
        }
    }

    /// `weight` percent of the requests to `trial`, the rest to `stable`.
    pub fn trying(stable: &str, trial: &str, weight: i32) -> Self {
        Routing {
            stable: stable.to_string(),
            trial: Some(Trial {
                revision: trial.to_string(),
                weight: weight.clamp(0, 100),
            }),
        }
    }

    /// The revision the new-version side (preview or canary) reaches: the trial's, else stable.
    pub fn side(&self) -> &str {
        self.trial.as_ref().map_or(&self.stable, |t| &t.revision)
    }
}

/// What observe read of the objects a router writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    /// The app's Service: None when it does not exist; Some(None) when it selects the pods of
    /// every revision; Some(Some(r)) when it selects revision r only.
    pub app: Option<Option<String>>,
    /// The preview or canary Service, read the same way.
    pub side: Option<Option<String>>,
}

impl Live {
    /// Reads the selections of the app's Service and the side Service.
    pub fn read(app: Option<&Service>, side: Option<&Service>) -> Self {
        Live {
            app: app.map(crate::resources::selected_revision),
            side: side.map(crate::resources::selected_revision),
        }
    }
}

/// One write a router asks for, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Apply the app's Service.
    AppService(Service),
    /// Apply the preview or canary Service (refused when a Service of that name is not the
    /// checklist's).
    SideService(Service),
}

/// A way of sending users' requests to revisions.
pub trait Router: Sync {
    /// Whether the live objects already send requests as `routing` says.
    fn holds(&self, routing: &Routing, live: &Live) -> bool;

    /// The writes that make `routing` hold where `live` does not, the stable side first: a
    /// rollback's first write is the one that takes users off the failed revision.
    fn writes(&self, checklist: &DeploymentChecklist, routing: &Routing, live: &Live)
    -> Vec<Write>;
}

/// The router a checklist's `spec` asks for.
pub fn router(_spec: &DeploymentChecklistSpec) -> &'static dyn Router {
    &ServiceSelector
}
