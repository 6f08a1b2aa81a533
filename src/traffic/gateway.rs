//! The Gateway API router: the app's Service always selects the stable revision and the side
//! Service the new one; the user's HTTPRoute splits requests between the two Services by weight,
//! whatever the pod counts, and the operator's pin rule sends requests with the revision header
//! to the new version while it is under test.

use crate::api::{DeploymentChecklist, GatewayApiRouting};

use super::route::{self, Names, RouteState, RouteView, Wanted};
use super::{Live, NotYet, Router, Routing, Write, service_writes};

/// Routes by the weights of one rule of the user's HTTPRoute.
pub struct GatewayRoute {
    /// spec.rollout.trafficRouting.gatewayAPI.
    spec: GatewayApiRouting,
    /// The app's Service (the checklist's name).
    app: String,
    /// The preview or canary Service.
    side: String,
    /// The name of the operator's pin rule in the route.
    pin_rule: String,
}

impl GatewayRoute {
    /// The router for the checklist `name` with `spec` and the side Service `side`.
    pub fn new(name: &str, spec: &GatewayApiRouting, side: String) -> Self {
        GatewayRoute {
            spec: spec.clone(),
            app: name.to_string(),
            side,
            pin_rule: pin_rule_name(name),
        }
    }

    fn names(&self) -> Names<'_> {
        Names {
            route: &self.spec.http_route,
            rule: self.spec.rule.as_deref(),
            app: &self.app,
            side: &self.side,
            pin_rule: &self.pin_rule,
            header: &self.spec.header,
        }
    }

    fn view(&self, live: &Live) -> RouteView {
        route::view(live.route.as_ref().and_then(Option::as_ref), &self.names())
    }

    /// Why the route's weights are another manager's now and must not be written over.
    fn contest(&self, state: &RouteState, routing: &Routing) -> Option<String> {
        // The operator's field manager: the one act patches with, and the value of its
        // managed-by label.
        state.contest(
            &wanted(routing),
            &self.names(),
            crate::resources::labels::MANAGER,
        )
    }
}

/// What `routing` asks of the route.
fn wanted(routing: &Routing) -> Wanted {
    let trial = routing
        .trial
        .as_ref()
        .filter(|t| t.revision != routing.stable);
    Wanted {
        side_weight: trial.map_or(0, |t| t.weight),
        pinned: trial.map(|t| t.revision.clone()),
    }
}

/// The name of the checklist `name`'s pin rule: a rule name (a DNS label) of at most 63.
fn pin_rule_name(name: &str) -> String {
    let mut rule = format!("checklist-{name}");
    rule.truncate(63);
    rule.trim_end_matches('-').to_string()
}

impl GatewayRoute {
    /// The route's state when it can carry `routing`, else why not, for a person.
    fn usable<'v>(&self, view: &'v RouteView, routing: &Routing) -> Result<&'v RouteState, String> {
        let name = &self.spec.http_route;
        match view {
            RouteView::Missing => Err(format!(
                "HTTPRoute {name} (spec.rollout.trafficRouting.gatewayAPI.httpRoute) does not \
                 exist in this namespace"
            )),
            RouteView::Unusable(why) => Err(why.clone()),
            RouteView::Usable(state) => {
                state.fits(&wanted(routing), &self.names())?;
                Ok(state)
            }
        }
    }

    /// Whether the route (`state`, when usable) and both Services already send requests as
    /// `routing` says.
    fn all_hold(state: Option<&RouteState>, routing: &Routing, live: &Live) -> bool {
        state.is_some_and(|s| s.holds(&wanted(routing)))
            && live.app_selects(Some(&routing.stable))
            && live.side_selects(routing)
    }
}

impl Router for GatewayRoute {
    fn holds(&self, routing: &Routing, live: &Live) -> bool {
        match self.view(live) {
            RouteView::Usable(state) => Self::all_hold(Some(&state), routing, live),
            RouteView::Missing | RouteView::Unusable(_) => false,
        }
    }

    fn problem(&self, routing: &Routing, live: &Live) -> Option<String> {
        self.usable(&self.view(live), routing).err()
    }

    fn writes(
        &self,
        checklist: &DeploymentChecklist,
        routing: &Routing,
        live: &Live,
    ) -> Vec<Write> {
        let stable = Some(routing.stable.as_str());
        let services = service_writes(checklist, stable, Some(&self.side), routing, live);
        let wanted = wanted(routing);
        let (RouteView::Usable(state), Some(Some(route))) = (self.view(live), live.route.as_ref())
        else {
            // The plan reports the problem; the Services are still put right.
            return services;
        };
        if state.holds(&wanted) || self.contest(&state, routing).is_some() {
            return services;
        }
        let Ok(patch) = state.patch(route, &wanted, &self.names()) else {
            return services;
        };
        let write = Write::Route {
            name: self.spec.http_route.clone(),
            patch,
        };
        // Traffic leaves a revision in the first write (a rollback's weights go back before
        // anything else); it reaches one only once the Services that carry it select it.
        let leaving = live.app_selects(stable) && wanted.side_weight <= state.side.1;
        if leaving {
            std::iter::once(write).chain(services).collect()
        } else {
            services.into_iter().chain(std::iter::once(write)).collect()
        }
    }

    fn in_force(&self, routing: &Routing, live: &Live, now: i64) -> Result<(), NotYet> {
        let view = self.view(live);
        let state = self.usable(&view, routing).map_err(NotYet::Unusable)?;
        if let Some(refused) = &state.refused {
            return Err(NotYet::Unusable(refused.clone()));
        }
        if let Some(contest) = self.contest(state, routing) {
            return Err(NotYet::Contested(contest));
        }
        let name = &self.spec.http_route;
        if !Self::all_hold(Some(state), routing, live) {
            return Err(NotYet::Settling(format!(
                "moving requests: HTTPRoute {name} is being set to {}% for the new version",
                wanted(routing).side_weight
            )));
        }
        if let Some(pending) = &state.pending {
            return Err(NotYet::Settling(pending.clone()));
        }
        let settle = i64::from(self.spec.settle_seconds);
        match state.changed_at {
            Some(at) if now < at + settle => Err(NotYet::Settling(format!(
                "giving HTTPRoute {name} {settle}s to reach the gateways \
                 (spec.rollout.trafficRouting.gatewayAPI.settleSeconds)"
            ))),
            _ => Ok(()),
        }
    }

    fn reading(&self, live: &Live) -> Option<String> {
        let RouteView::Usable(state) = self.view(live) else {
            return Some(format!("HTTPRoute {}: not usable", self.spec.http_route));
        };
        let pin = state.pin.as_ref().map_or(String::new(), |(_, revision)| {
            format!("; {}: {revision} to {}", self.spec.header, self.side)
        });
        Some(format!(
            "{} {}, {} {}{pin}",
            self.app, state.app.1, self.side, state.side.1
        ))
    }

    fn pin(&self, revision: &str) -> Option<(String, String)> {
        Some((self.spec.header.clone(), revision.to_string()))
    }

    fn route_name(&self) -> Option<&str> {
        Some(&self.spec.http_route)
    }
}

#[cfg(test)]
mod tests;
