//! The operator's mark on a user's route: what it last wrote there (the two weights and the
//! pinned revision), kept in an annotation of its own. Weights that differ from the mark were
//! changed by another manager (a GitOps sync, a person with `kubectl edit`), and the operator
//! does not write over them while a release is under way: it says who changed them instead.
//! Pure, like the rest of `route`.

use serde_json::{Value, json};

use super::{Names, RouteState, Wanted};

/// What the operator last wrote to the route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The app Service's weight and the side Service's.
    pub weights: (i32, i32),
    /// The revision its pin rule sent the header to, if it had one.
    pub pinned: Option<String>,
}

impl Mark {
    /// The mark `wanted` leaves once written.
    pub fn of(wanted: &Wanted) -> Self {
        Mark {
            weights: (100 - wanted.side_weight, wanted.side_weight),
            pinned: wanted.pinned.clone(),
        }
    }

    /// The mark a route in `state` would carry had nobody else touched it.
    fn seen(state: &RouteState) -> Self {
        Mark {
            weights: (state.app.1, state.side.1),
            pinned: state.pin.as_ref().map(|(_, revision)| revision.clone()),
        }
    }
}

/// The annotation that holds the checklist's mark: one per checklist, so checklists sharing a
/// route keep theirs apart. The pin rule's name is a DNS label, a valid annotation name.
pub fn key(names: &Names<'_>) -> String {
    format!("checklist.dev/{}", names.pin_rule)
}

/// Reads the checklist's mark from `route`, if it has one that parses.
pub fn read(route: &Value, names: &Names<'_>) -> Option<Mark> {
    let text = route["metadata"]["annotations"][key(names)].as_str()?;
    let value: Value = serde_json::from_str(text).ok()?;
    let weight = |i: usize| {
        value["weights"][i]
            .as_i64()
            .and_then(|w| i32::try_from(w).ok())
    };
    Some(Mark {
        weights: (weight(0)?, weight(1)?),
        pinned: value["pinned"].as_str().map(str::to_string),
    })
}

/// The JSON Patch operation that writes `mark` to `route`: a key added to the annotations it
/// has, or the annotations made when it has none (an `add` on an existing map would replace it).
pub fn write(route: &Value, mark: &Mark, names: &Names<'_>) -> Value {
    let value =
        json!({"weights": [mark.weights.0, mark.weights.1], "pinned": mark.pinned}).to_string();
    let key = key(names);
    if route["metadata"]["annotations"].is_object() {
        // RFC 6901: "/" in a key is written "~1".
        let path = format!(
            "/metadata/annotations/{}",
            key.replace('~', "~0").replace('/', "~1")
        );
        json!({"op": "add", "path": path, "value": value})
    } else {
        json!({"op": "add", "path": "/metadata/annotations", "value": {key: value}})
    }
}

/// Why the operator must not write `wanted` over the route: during a release (a revision under
/// test), another manager changed what the operator last wrote to something else. None when the
/// route still says what the mark says, says what `wanted` says already, carries no mark (the
/// operator has not written it yet), or when the operator is sending every request back to the
/// stable version: a rollback is never held back.
pub fn contest(
    state: &RouteState,
    wanted: &Wanted,
    names: &Names<'_>,
    own: &str,
) -> Option<String> {
    let mark = state.mark.as_ref()?;
    let seen = Mark::seen(state);
    let to_stable = wanted.side_weight == 0 && wanted.pinned.is_none();
    if to_stable || &seen == mark || seen == Mark::of(wanted) {
        return None;
    }
    let by = match &state.rules_manager {
        Some((manager, _)) if manager != own => format!("field manager {manager}"),
        _ => "another writer".to_string(),
    };
    let when = state
        .rules_manager
        .as_ref()
        .and_then(|(_, at)| at.as_deref())
        .map_or(String::new(), |at| format!(" at {at}"));
    Some(format!(
        "HTTPRoute {route}: {by} changed the weights the operator set ({app} {a}, {side} {s}{pin}) \
         to {app} {a2}, {side} {s2}{pin2}{when}; the operator does not write over another \
         manager, so the release waits. Leave spec.rules' weights to the operator (e.g. Argo CD \
         ignoreDifferences), then hand them back with `kubectl annotate httproute {route} {key}-`, \
         or abort with `kubectl checklist abort`",
        route = names.route,
        app = names.app,
        side = names.side,
        a = mark.weights.0,
        s = mark.weights.1,
        a2 = seen.weights.0,
        s2 = seen.weights.1,
        pin = pinned(mark),
        pin2 = pinned(&seen),
        key = key(names),
    ))
}

fn pinned(mark: &Mark) -> String {
    mark.pinned
        .as_ref()
        .map_or(String::new(), |r| format!(", header pin to {r}"))
}

/// The field manager that last wrote `spec.rules` (an atomic list: whoever writes any part of it
/// owns all of it) and when, from metadata.managedFields.
pub fn rules_manager(route: &Value) -> Option<(String, Option<String>)> {
    route["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .filter(|entry| !entry["fieldsV1"]["f:spec"]["f:rules"].is_null())
        .max_by_key(|entry| entry["time"].as_str().unwrap_or_default().to_string())
        .and_then(|entry| {
            let manager = entry["manager"].as_str()?.to_string();
            Some((manager, entry["time"].as_str().map(str::to_string)))
        })
}
