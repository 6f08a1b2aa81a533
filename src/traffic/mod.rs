//! Where users' requests go during a release, behind one seam: the plan says what share each
//! revision gets (a [`Routing`]), a [`Router`] says whether the live objects already send it so
//! and which writes make them do so. Act and observe call the router the checklist's spec picks
//! without knowing which one it is.
//!
//! Two routers: `services` (the default), where the app's Service and the preview or canary
//! Service choose between revisions by the revision label, so a canary's share is its share of
//! the pods; and `gateway`, where a Gateway API HTTPRoute splits requests by weight
//! (spec.rollout.trafficRouting), its JSON read and patched in `route`.

mod gateway;
mod route;
mod services;

use k8s_openapi::api::core::v1::Service;
use serde_json::Value;

use crate::api::{DeploymentChecklist, DeploymentChecklistSpec};

pub use gateway::GatewayRoute;
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
    /// The router's HTTPRoute as the API server returned it: None when the router has none;
    /// Some(None) when it does not exist.
    pub route: Option<Option<Value>>,
}

impl Live {
    /// Reads the selections of the app's Service and the side Service.
    pub fn read(app: Option<&Service>, side: Option<&Service>) -> Self {
        Live {
            app: app.map(crate::resources::selected_revision),
            side: side.map(crate::resources::selected_revision),
            route: None,
        }
    }
}

/// Why requests do not go as routed yet, for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotYet {
    /// On their way: the route is being written, or a gateway has not taken its new spec.
    Settling(String),
    /// They cannot until someone fixes the route (missing, no usable rule, no room, refused by
    /// a gateway).
    Unusable(String),
    /// Another manager changed the weights the operator set; the operator does not write over
    /// them until they are handed back.
    Contested(String),
}

impl Live {
    /// Whether the app's Service exists and selects `revision` (every revision when None).
    fn app_selects(&self, revision: Option<&str>) -> bool {
        self.app.as_ref().map(Option::as_deref) == Some(revision)
    }

    /// Whether the side Service exists and selects `routing`'s side revision.
    fn side_selects(&self, routing: &Routing) -> bool {
        self.side.as_ref().map(Option::as_deref) == Some(Some(routing.side()))
    }
}

/// The Service writes both routers make: the app's Service selecting `app_selects` and the side
/// Service `side` (if the strategy has one) selecting the side revision, each unless it does.
fn service_writes(
    checklist: &DeploymentChecklist,
    app_selects: Option<&str>,
    side: Option<&str>,
    routing: &Routing,
    live: &Live,
) -> Vec<Write> {
    let name = checklist.metadata.name.as_deref().unwrap_or_default();
    let mut writes = Vec::new();
    if !live.app_selects(app_selects) {
        writes.push(Write::AppService(crate::resources::service_selecting(
            checklist,
            name,
            app_selects,
        )));
    }
    if let Some(side) = side
        && !live.side_selects(routing)
    {
        writes.push(Write::SideService(crate::resources::side_service(
            checklist,
            side,
            routing.side(),
        )));
    }
    writes
}

/// One write a router asks for, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Apply the app's Service.
    AppService(Service),
    /// Apply the preview or canary Service (refused when a Service of that name is not the
    /// checklist's).
    SideService(Service),
    /// Patch the HTTPRoute `name` with a JSON Patch (RFC 6902) whose first operation tests the
    /// resourceVersion that was read.
    Route {
        /// The HTTPRoute's name.
        name: String,
        /// The operations.
        patch: Vec<Value>,
    },
}

/// A way of sending users' requests to revisions.
pub trait Router: Send + Sync {
    /// Whether the live objects already send requests as `routing` says.
    fn holds(&self, routing: &Routing, live: &Live) -> bool;

    /// The writes that make `routing` hold where `live` does not, the stable side first: a
    /// rollback's first write is the one that takes users off the failed revision.
    fn writes(&self, checklist: &DeploymentChecklist, routing: &Routing, live: &Live)
    -> Vec<Write>;

    /// Why `routing` cannot be made to hold with what is live (a route that is missing or has
    /// no usable rule), for a person; None when it can.
    fn problem(&self, _routing: &Routing, _live: &Live) -> Option<String> {
        None
    }

    /// Whether requests go as `routing` says by `now` (Unix seconds), or why not yet: checks
    /// sent through the users' front door wait for it.
    fn in_force(&self, _routing: &Routing, _live: &Live, _now: i64) -> Result<(), NotYet> {
        Ok(())
    }

    /// The request header (name, value) that reaches `revision` through the users' front door
    /// while it is under test, when the router has one.
    fn pin(&self, _revision: &str) -> Option<(String, String)> {
        None
    }

    /// What the router's route holds now, read back from it, for a person; None without one.
    fn reading(&self, _live: &Live) -> Option<String> {
        None
    }

    /// The HTTPRoute observe reads for this router, if any.
    fn route_name(&self) -> Option<&str> {
        None
    }
}

/// The HTTPRoute resource (gateway.networking.k8s.io/v1), read and patched untyped: the operator
/// touches two weights and one rule of it.
pub fn http_route_resource() -> kube::discovery::ApiResource {
    kube::discovery::ApiResource {
        group: "gateway.networking.k8s.io".into(),
        version: "v1".into(),
        api_version: "gateway.networking.k8s.io/v1".into(),
        kind: "HTTPRoute".into(),
        plural: "httproutes".into(),
    }
}

/// The router the checklist `name`'s `spec` asks for.
pub fn router(name: &str, spec: &DeploymentChecklistSpec) -> Box<dyn Router> {
    let gateway = spec
        .rollout
        .traffic_routing
        .as_ref()
        .map(|t| &t.gateway_api);
    let side = crate::resources::side_service_name_of(name, &spec.rollout);
    match (gateway, side) {
        (Some(gateway), Some(side)) => Box::new(GatewayRoute::new(name, gateway, side)),
        _ => Box::new(ServiceSelector),
    }
}
