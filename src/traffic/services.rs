//! The Service-selector router: the app's Service selects the stable revision's pods, or every
//! revision's while a canary takes a share (the share is then the canary's share of the pods);
//! the preview or canary Service selects the revision under test.

use crate::api::DeploymentChecklist;
use crate::resources;

use super::{Live, Router, Routing, Write, service_writes};

/// Routes by Service selectors.
pub struct ServiceSelector;

impl ServiceSelector {
    /// What the app's Service selects under `routing`: the stable revision, the trial once it
    /// takes every request, and every revision's pods while it takes a share.
    fn app_selects(routing: &Routing) -> Option<&str> {
        match &routing.trial {
            None => Some(&routing.stable),
            Some(trial) if trial.weight <= 0 => Some(&routing.stable),
            Some(trial) if trial.weight >= 100 => Some(&trial.revision),
            Some(_) => None,
        }
    }
}

impl Router for ServiceSelector {
    fn holds(&self, routing: &Routing, live: &Live) -> bool {
        live.app_selects(Self::app_selects(routing)) && live.side_selects(routing)
    }

    fn writes(
        &self,
        checklist: &DeploymentChecklist,
        routing: &Routing,
        live: &Live,
    ) -> Vec<Write> {
        let side = resources::side_service_name(checklist);
        let app = Self::app_selects(routing);
        service_writes(checklist, app, side.as_deref(), routing, live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(app: Option<&str>, side: &str) -> Live {
        Live {
            app: Some(app.map(str::to_string)),
            side: Some(Some(side.to_string())),
            route: None,
        }
    }

    #[test]
    fn the_app_service_follows_the_trials_weight() {
        let cases = [
            (Routing::settled("a"), Some("a")),
            (Routing::trying("a", "b", 0), Some("a")),
            (Routing::trying("a", "b", 10), None),
            (Routing::trying("a", "b", 99), None),
            (Routing::trying("a", "b", 100), Some("b")),
        ];
        for (routing, app) in cases {
            assert_eq!(ServiceSelector::app_selects(&routing), app, "{routing:?}");
            assert!(ServiceSelector.holds(&routing, &live(app, routing.side())));
        }
    }

    #[test]
    fn holds_only_when_both_services_exist_and_select_as_routed() {
        let routing = Routing::trying("a", "b", 0);
        assert!(ServiceSelector.holds(&routing, &live(Some("a"), "b")));
        assert!(!ServiceSelector.holds(&routing, &live(Some("a"), "a")));
        assert!(!ServiceSelector.holds(&routing, &live(None, "b")));
        let missing = Live {
            app: Some(Some("a".into())),
            side: None,
            route: None,
        };
        assert!(!ServiceSelector.holds(&routing, &missing));
        assert!(!ServiceSelector.holds(&Routing::settled("a"), &Live::default()));
    }

    fn canary() -> DeploymentChecklist {
        let mut checklist = crate::resources::fixtures::dialectic();
        checklist.spec.rollout.strategy = crate::api::RolloutStrategy::Canary;
        checklist
    }

    #[test]
    fn writes_the_app_service_before_the_side_service() {
        let routing = Routing::trying("a", "b", 20);
        let writes = ServiceSelector.writes(&canary(), &routing, &Live::default());
        let [Write::AppService(app), Write::SideService(side)] = writes.as_slice() else {
            panic!("app then side: {writes:?}");
        };
        assert_eq!(resources::selected_revision(app), None);
        assert_eq!(resources::selected_revision(side).as_deref(), Some("b"));
        assert_eq!(side.metadata.name.as_deref(), Some("dialectic-canary"));
    }

    #[test]
    fn a_rolling_update_has_no_side_service_to_write() {
        let checklist = crate::resources::fixtures::dialectic();
        let writes = ServiceSelector.writes(&checklist, &Routing::settled("a"), &Live::default());
        assert!(matches!(writes.as_slice(), [Write::AppService(_)]));
    }

    #[test]
    fn writes_only_the_services_that_select_otherwise() {
        let routing = Routing::settled("a");
        let side_off = live(Some("a"), "b");
        let writes = ServiceSelector.writes(&canary(), &routing, &side_off);
        let [Write::SideService(side)] = writes.as_slice() else {
            panic!("the side only: {writes:?}");
        };
        assert_eq!(resources::selected_revision(side).as_deref(), Some("a"));
        let settled = live(Some("a"), "a");
        assert!(
            ServiceSelector
                .writes(&canary(), &routing, &settled)
                .is_empty()
        );
    }
}
