use serde_json::json;

use super::*;

const NAMES: Names<'static> = Names {
    route: "web",
    rule: None,
    app: "shop",
    side: "shop-canary",
    pin_rule: "checklist-shop",
    header: "x-checklist-revision",
};

fn backend(name: &str, weight: Option<i32>) -> Value {
    match weight {
        Some(w) => json!({"name": name, "port": 80, "weight": w}),
        None => json!({"name": name, "port": 80}),
    }
}

fn route(rules: Vec<Value>) -> Value {
    json!({"metadata": {"resourceVersion": "42"}, "spec": {"rules": rules}})
}

fn shop_rule() -> Value {
    json!({
        "matches": [
            {"path": {"type": "PathPrefix", "value": "/api"}},
            {"path": {"type": "PathPrefix", "value": "/v2"}, "headers": [{"name": "x-team", "value": "a"}]},
        ],
        "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "x-from", "value": "gw"}]}}],
        "backendRefs": [backend("shop", Some(100)), backend("shop-canary", None)],
    })
}

fn usable(route: &Value, names: &Names<'_>) -> RouteState {
    match view(Some(route), names) {
        RouteView::Usable(state) => *state,
        other => panic!("{other:?}"),
    }
}

#[test]
fn finds_the_one_rule_that_sends_to_the_apps_service_and_reads_default_weights() {
    let other = json!({"backendRefs": [backend("docs", None)]});
    let r = route(vec![other, shop_rule()]);
    let state = usable(&r, &NAMES);
    assert_eq!(state.rule, 1);
    assert_eq!(state.app, (0, 100));
    assert_eq!(
        state.side,
        (1, 1),
        "a backendRef without weight has weight 1"
    );
    assert_eq!(state.pin, None);
    assert_eq!(state.matches, (3, 2));
}

#[test]
fn names_what_is_wrong_with_a_route_that_cannot_carry_a_release() {
    assert_eq!(view(None, &NAMES), RouteView::Missing);
    let two = route(vec![shop_rule(), shop_rule()]);
    let RouteView::Unusable(why) = view(Some(&two), &NAMES) else {
        panic!()
    };
    assert!(
        why.contains("2 rules") && why.contains("gatewayAPI.rule"),
        "{why}"
    );
    let none = route(vec![json!({"backendRefs": [backend("docs", None)]})]);
    let RouteView::Unusable(why) = view(Some(&none), &NAMES) else {
        panic!()
    };
    assert!(why.contains("no rule") && why.contains("shop"), "{why}");
    let mut alone = shop_rule();
    alone["backendRefs"] = json!([backend("shop", None)]);
    let RouteView::Unusable(why) = view(Some(&route(vec![alone])), &NAMES) else {
        panic!()
    };
    assert!(why.contains("shop-canary"), "{why}");
    let named = Names {
        rule: Some("api"),
        ..NAMES
    };
    let RouteView::Unusable(why) = view(Some(&route(vec![shop_rule()])), &named) else {
        panic!()
    };
    assert!(why.contains("no rule named api"), "{why}");
}

#[test]
fn a_backend_in_another_namespace_or_of_another_kind_is_not_the_apps_service() {
    let mut rule = shop_rule();
    rule["backendRefs"][0]["namespace"] = json!("elsewhere");
    assert!(matches!(
        view(Some(&route(vec![rule])), &NAMES),
        RouteView::Unusable(_)
    ));
    let mut rule = shop_rule();
    rule["backendRefs"][0]["kind"] = json!("TraefikService");
    rule["backendRefs"][0]["group"] = json!("traefik.io");
    assert!(matches!(
        view(Some(&route(vec![rule])), &NAMES),
        RouteView::Unusable(_)
    ));
}

#[test]
fn a_named_rule_is_used_even_when_others_send_to_the_app() {
    let mut api = shop_rule();
    api["name"] = json!("api");
    let r = route(vec![shop_rule(), api]);
    let named = Names {
        rule: Some("api"),
        ..NAMES
    };
    assert_eq!(usable(&r, &named).rule, 1);
}

#[test]
fn the_pin_rule_copies_the_users_matches_and_filters_with_the_header_added() {
    let r = route(vec![shop_rule()]);
    let state = usable(&r, &NAMES);
    let wanted = Wanted {
        side_weight: 10,
        pinned: Some("abc".into()),
    };
    let patch = state.patch(&r, &wanted, &NAMES).unwrap();
    assert_eq!(
        patch[0],
        json!({"op": "test", "path": "/metadata/resourceVersion", "value": "42"})
    );
    assert_eq!(
        patch[1],
        json!({"op": "add", "path": "/spec/rules/0/backendRefs/0/weight", "value": 90})
    );
    assert_eq!(
        patch[2],
        json!({"op": "add", "path": "/spec/rules/0/backendRefs/1/weight", "value": 10})
    );
    let pin = &patch[3]["value"];
    assert_eq!(patch[3]["path"], "/spec/rules/-");
    assert_eq!(pin["name"], "checklist-shop");
    assert_eq!(pin["filters"], shop_rule()["filters"]);
    assert_eq!(
        pin["backendRefs"],
        json!([{"name": "shop-canary", "port": 80, "weight": 1}])
    );
    let pinned = json!({"type": "Exact", "name": "x-checklist-revision", "value": "abc"});
    assert_eq!(pin["matches"][0]["headers"], json!([pinned]));
    assert_eq!(
        pin["matches"][1]["headers"],
        json!([{"name": "x-team", "value": "a"}, pinned])
    );
    assert_eq!(pin["matches"][1]["path"]["value"], "/v2");
}

#[test]
fn a_pin_of_another_revision_is_replaced_and_the_end_of_a_trial_removes_it() {
    let r = route(vec![shop_rule()]);
    let first = usable(&r, &NAMES)
        .patch(
            &r,
            &Wanted {
                side_weight: 0,
                pinned: Some("abc".into()),
            },
            &NAMES,
        )
        .unwrap();
    let with_pin = route(vec![shop_rule(), first[3]["value"].clone()]);
    let state = usable(&with_pin, &NAMES);
    assert_eq!(state.pin, Some((1, "abc".into())));
    let next = Wanted {
        side_weight: 0,
        pinned: Some("def".into()),
    };
    let patch = state.patch(&with_pin, &next, &NAMES).unwrap();
    assert_eq!(patch[3]["op"], "replace");
    assert_eq!(patch[3]["path"], "/spec/rules/1");
    let done = Wanted {
        side_weight: 0,
        pinned: None,
    };
    let patch = state.patch(&with_pin, &done, &NAMES).unwrap();
    assert_eq!(
        patch[patch.len() - 2],
        json!({"op": "remove", "path": "/spec/rules/1"}),
        "the removal after every operation that names a rule by index: {patch:?}"
    );
    assert!(!state.holds(&done));
    assert!(
        state.holds(&Wanted {
            side_weight: 1,
            pinned: Some("abc".into())
        }) == (state.app.1 == 99 && state.side.1 == 1)
    );
}

#[test]
fn a_route_at_gateway_apis_rule_limit_has_no_room_for_a_pin() {
    let mut rules = vec![shop_rule()];
    rules.extend(
        (0..15).map(|i| json!({"name": format!("r{i}"), "backendRefs": [backend("docs", None)]})),
    );
    let r = route(rules);
    let state = usable(&r, &NAMES);
    let why = state
        .patch(
            &r,
            &Wanted {
                side_weight: 10,
                pinned: Some("abc".into()),
            },
            &NAMES,
        )
        .unwrap_err();
    assert!(why.contains("16 rules"), "{why}");
    let pinned = Wanted {
        side_weight: 10,
        pinned: Some("abc".into()),
    };
    assert_eq!(
        state.fits(&pinned, &NAMES),
        Err(why),
        "fits says what patch says"
    );
    // Weights alone still fit.
    let unpinned = Wanted {
        side_weight: 0,
        pinned: None,
    };
    assert_eq!(state.fits(&unpinned, &NAMES), Ok(()));
    assert!(
        state
            .patch(
                &r,
                &Wanted {
                    side_weight: 0,
                    pinned: None
                },
                &NAMES
            )
            .is_ok()
    );
}
