use super::*;
use crate::api::RolloutStrategy;
use crate::resources;
use serde_json::{Value, json};

fn router() -> GatewayRoute {
    let spec = GatewayApiRouting {
        http_route: "web".into(),
        rule: None,
        header: "x-checklist-revision".into(),
        settle_seconds: 5,
    };
    GatewayRoute::new("dialectic", &spec, "dialectic-canary".into())
}

fn checklist() -> DeploymentChecklist {
    let mut checklist = crate::resources::fixtures::dialectic();
    checklist.spec.rollout.strategy = RolloutStrategy::Canary;
    checklist
}

fn route(app: i32, side: i32, pin: Option<&str>) -> Value {
    let mut rules = vec![json!({
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "backendRefs": [
            {"name": "dialectic", "port": 80, "weight": app},
            {"name": "dialectic-canary", "port": 80, "weight": side},
        ],
    })];
    if let Some(revision) = pin {
        rules.push(json!({
            "name": "checklist-dialectic",
            "matches": [{"path": {"type": "PathPrefix", "value": "/"},
                "headers": [{"type": "Exact", "name": "x-checklist-revision", "value": revision}]}],
            "backendRefs": [{"name": "dialectic-canary", "port": 80, "weight": 1}],
        }));
    }
    // As the operator leaves it: its mark says what it wrote.
    let mark = json!({"weights": [app, side], "pinned": pin}).to_string();
    json!({
        "metadata": {"name": "web", "resourceVersion": "7", "generation": 3, "managedFields": [
            {"manager": "kubectl", "time": "2026-12-06T10:00:00Z"},
            {"manager": "checklist-operator", "time": "2026-12-06T10:00:20Z",
             "fieldsV1": {"f:spec": {"f:rules": {}}}},
        ], "annotations": {"checklist.dev/checklist-dialectic": mark}},
        "spec": {"rules": rules},
        "status": {"parents": [{"parentRef": {"name": "front"}, "conditions": [
            {"type": "Accepted", "status": "True", "observedGeneration": 3},
        ]}]},
    })
}

fn live(app: &str, side: &str, route: Option<Value>) -> Live {
    Live {
        app: Some(Some(app.into())),
        side: Some(Some(side.into())),
        route: Some(route),
    }
}

#[test]
fn a_step_holds_when_the_weights_and_the_pin_are_as_it_says() {
    let routing = Routing::trying("a", "b", 10);
    assert!(router().holds(&routing, &live("a", "b", Some(route(90, 10, Some("b"))))));
    assert!(!router().holds(&routing, &live("a", "b", Some(route(90, 10, None)))));
    assert!(!router().holds(&routing, &live("a", "b", Some(route(100, 0, Some("b"))))));
    assert!(!router().holds(&routing, &live("a", "a", Some(route(90, 10, Some("b"))))));
    let settled = Routing::settled("a");
    assert!(router().holds(&settled, &live("a", "a", Some(route(100, 0, None)))));
    assert!(!router().holds(&settled, &live("a", "a", Some(route(100, 0, Some("b"))))));
}

#[test]
fn a_step_selects_the_services_before_it_sends_requests_to_them() {
    let routing = Routing::trying("a", "b", 10);
    let writes = router().writes(
        &checklist(),
        &routing,
        &live("a", "a", Some(route(100, 0, None))),
    );
    let [Write::SideService(side), Write::Route { patch, .. }] = writes.as_slice() else {
        panic!("the side Service, then the route: {writes:?}");
    };
    assert_eq!(resources::selected_revision(side).as_deref(), Some("b"));
    assert_eq!(patch[0]["op"], "test");
    assert_eq!(patch[1]["value"], 90);
    assert_eq!(patch[2]["value"], 10);
    assert_eq!(patch[3]["op"], "add");
    assert_eq!(
        patch[3]["value"]["matches"][0]["headers"][0]["value"], "b",
        "{patch:?}"
    );
}

#[test]
fn a_rollback_moves_the_weights_back_in_its_first_write() {
    let routing = Routing::settled("a");
    let writes = router().writes(
        &checklist(),
        &routing,
        &live("a", "b", Some(route(90, 10, Some("b")))),
    );
    let [Write::Route { patch, .. }, Write::SideService(_)] = writes.as_slice() else {
        panic!("the route first: {writes:?}");
    };
    assert_eq!(patch[1]["value"], 100);
    assert_eq!(patch[2]["value"], 0);
    assert_eq!(patch[3], json!({"op": "remove", "path": "/spec/rules/1"}));
}

#[test]
fn the_end_of_a_canary_moves_the_apps_service_before_the_weights() {
    let routing = Routing::settled("b");
    let writes = router().writes(
        &checklist(),
        &routing,
        &live("a", "b", Some(route(50, 50, Some("b")))),
    );
    let [Write::AppService(app), Write::Route { .. }] = writes.as_slice() else {
        panic!("the app's Service first: {writes:?}");
    };
    assert_eq!(resources::selected_revision(app).as_deref(), Some("b"));
}

#[test]
fn a_missing_or_unusable_route_is_a_problem_named_for_a_person() {
    let routing = Routing::trying("a", "b", 10);
    let missing = router().problem(&routing, &live("a", "b", None)).unwrap();
    assert!(missing.contains("HTTPRoute web"), "{missing}");
    let mut no_side = route(100, 0, None);
    no_side["spec"]["rules"][0]["backendRefs"]
        .as_array_mut()
        .unwrap()
        .pop();
    let why = router()
        .problem(&routing, &live("a", "b", Some(no_side)))
        .unwrap();
    assert!(why.contains("dialectic-canary"), "{why}");
    assert_eq!(
        router().problem(&routing, &live("a", "b", Some(route(100, 0, None)))),
        None
    );
}

#[test]
fn checks_wait_until_the_gateways_took_the_route_and_it_had_time_to_settle() {
    let routing = Routing::trying("a", "b", 10);
    let changed = "2026-12-06T10:00:20Z"
        .parse::<k8s_openapi::jiff::Timestamp>()
        .unwrap()
        .as_second();
    let live_route = live("a", "b", Some(route(90, 10, Some("b"))));
    assert_eq!(
        router().in_force(&routing, &live_route, changed + 5),
        Ok(())
    );
    let Err(NotYet::Settling(why)) = router().in_force(&routing, &live_route, changed + 4) else {
        panic!("settling")
    };
    assert!(why.contains("settleSeconds"), "{why}");
    let mut older = route(90, 10, Some("b"));
    older["status"]["parents"][0]["conditions"][0]["observedGeneration"] = json!(2);
    let Err(NotYet::Settling(why)) =
        router().in_force(&routing, &live("a", "b", Some(older)), changed + 60)
    else {
        panic!("not yet taken")
    };
    assert!(why.contains("generation 3"), "{why}");
    let mut refused = route(90, 10, Some("b"));
    refused["status"]["parents"][0]["conditions"][0] = json!({"type": "Accepted", "status": "False", "observedGeneration": 3, "message": "no listener"});
    let Err(NotYet::Unusable(why)) =
        router().in_force(&routing, &live("a", "b", Some(refused)), changed + 60)
    else {
        panic!("refused: no waiting mends it")
    };
    assert!(
        why.contains("does not accept") && why.contains("no listener"),
        "{why}"
    );
    let Err(NotYet::Unusable(_)) = router().in_force(&routing, &live("a", "b", None), changed)
    else {
        panic!("missing")
    };
}

/// A route as another manager leaves it after the operator wrote `route(90, 10, "b")`:
/// weights `app`/`side`, the pin rule gone, spec.rules now the other manager's.
fn taken(app: i32, side: i32) -> Value {
    let mut taken = route(app, side, None);
    taken["metadata"]["annotations"]["checklist.dev/checklist-dialectic"] =
        json!({"weights": [90, 10], "pinned": "b"})
            .to_string()
            .into();
    taken["metadata"]["managedFields"] = json!([
        {"manager": "checklist-operator", "time": "2026-12-06T10:00:20Z",
         "fieldsV1": {"f:metadata": {"f:annotations": {}}}},
        {"manager": "argocd-controller", "time": "2026-12-06T10:01:00Z",
         "fieldsV1": {"f:spec": {"f:rules": {}}}},
    ]);
    taken
}

#[test]
fn weights_another_manager_changed_during_a_release_are_not_written_over() {
    let step = Routing::trying("a", "b", 10);
    let live_route = live("a", "b", Some(taken(100, 0)));
    let writes = router().writes(&checklist(), &step, &live_route);
    assert!(
        !writes.iter().any(|w| matches!(w, Write::Route { .. })),
        "{writes:?}"
    );
    let Err(NotYet::Contested(why)) = router().in_force(&step, &live_route, i64::MAX) else {
        panic!("contested")
    };
    assert!(
        why.contains("argocd-controller")
            && why.contains("dialectic 90, dialectic-canary 10, header pin to b")
            && why.contains("to dialectic 100, dialectic-canary 0")
            && why.contains("kubectl annotate httproute web checklist.dev/checklist-dialectic-"),
        "{why}"
    );
    // The next step's weight is contested as much as this one's.
    let next = Routing::trying("a", "b", 50);
    assert!(matches!(
        router().in_force(&next, &live_route, i64::MAX),
        Err(NotYet::Contested(_))
    ));
}

#[test]
fn a_rollback_a_route_already_as_wanted_or_one_handed_back_is_not_contested() {
    // Sending everything back to stable is never held back.
    let writes = router().writes(
        &checklist(),
        &Routing::settled("a"),
        &live("a", "b", Some(taken(50, 50))),
    );
    assert!(
        matches!(writes.first(), Some(Write::Route { .. })),
        "{writes:?}"
    );
    // Another manager wrote just what the step wants: the operator only renews its mark.
    let mut as_wanted = route(90, 10, Some("b"));
    as_wanted["metadata"]["annotations"]["checklist.dev/checklist-dialectic"] =
        json!({"weights": [100, 0], "pinned": null})
            .to_string()
            .into();
    let routing = Routing::trying("a", "b", 10);
    let writes = router().writes(&checklist(), &routing, &live("a", "b", Some(as_wanted)));
    let [Write::Route { patch, .. }] = writes.as_slice() else {
        panic!("{writes:?}")
    };
    assert_eq!(patch.len(), 4, "test, two weights, the mark: {patch:?}");
    // Without the mark (`kubectl annotate ... -`) the weights are the operator's again.
    let mut handed_back = taken(100, 0);
    handed_back["metadata"]["annotations"] = json!({});
    let writes = router().writes(
        &checklist(),
        &Routing::trying("a", "b", 10),
        &live("a", "b", Some(handed_back)),
    );
    let Some(Write::Route { patch, .. }) = writes.last() else {
        panic!("{writes:?}")
    };
    assert_eq!(
        patch.last().unwrap()["path"],
        "/metadata/annotations/checklist.dev~1checklist-dialectic"
    );
}

#[test]
fn the_reading_is_what_the_route_holds_not_what_the_plan_wants() {
    let reading = router().reading(&live("a", "b", Some(route(90, 10, Some("b")))));
    assert_eq!(
        reading.as_deref(),
        Some("dialectic 90, dialectic-canary 10; x-checklist-revision: b to dialectic-canary")
    );
    let reading = router().reading(&live("a", "b", Some(taken(100, 0))));
    assert_eq!(
        reading.as_deref(),
        Some("dialectic 100, dialectic-canary 0")
    );
}

#[test]
fn pin_rule_names_are_dns_labels() {
    assert_eq!(pin_rule_name("web"), "checklist-web");
    let long = pin_rule_name(&"a".repeat(80));
    assert_eq!(long.len(), 63);
}
