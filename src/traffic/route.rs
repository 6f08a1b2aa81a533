//! A user's Gateway API HTTPRoute as the gateway router reads and changes it: the weights of the
//! app's Service and the side Service in one rule, and the operator's own rule that sends
//! requests carrying the revision header to the new version. Pure: JSON in, JSON Patch out.
//!
//! Why JSON Patch and not server-side apply: `spec.rules` is an atomic list in the Gateway API
//! schema, so an apply of two weights would take the whole list from the route's owner (or
//! conflict with it). A JSON Patch changes the two weights and the one rule and nothing else, and
//! its first operation tests the resourceVersion read, so a route changed meanwhile is read again
//! rather than overwritten.

use serde_json::{Value, json};

mod mark;

pub use mark::Mark;

/// Gateway API's limits on one HTTPRoute (the CRD's maxItems and its CEL rule).
const MAX_RULES: usize = 16;
const MAX_MATCHES: usize = 128;

/// Where the route stands, as far as a release is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteView {
    /// No HTTPRoute of that name in the checklist's namespace.
    Missing,
    /// It exists but cannot carry a release: why, for a person.
    Unusable(String),
    /// It can.
    Usable(Box<RouteState>),
}

/// What a release reads from a usable route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteState {
    /// metadata.resourceVersion, tested by the patch.
    pub resource_version: String,
    /// The index of the rule whose weights a release sets.
    pub rule: usize,
    /// The index of the app Service's backendRef in that rule, and its weight.
    pub app: (usize, i32),
    /// The index of the side Service's backendRef in that rule, and its weight.
    pub side: (usize, i32),
    /// The operator's pin rule, if there is one: its index and the revision it pins.
    pub pin: Option<(usize, String)>,
    /// How many rules and matches the route has, for the limits a pin rule must fit in.
    pub rules: usize,
    /// All the route's matches, and the target rule's (a pin rule copies them).
    pub matches: (usize, usize),
    /// Why the gateways have not all taken the route's current spec (status.parents, each
    /// Accepted at metadata.generation), or None when they have.
    pub pending: Option<String>,
    /// Why a gateway refused the route's current spec (Accepted False at metadata.generation),
    /// its message quoted: no waiting mends that.
    pub refused: Option<String>,
    /// What the operator last wrote to the route, from its annotation.
    pub mark: Option<Mark>,
    /// The field manager that last wrote spec.rules, and when.
    pub rules_manager: Option<(String, Option<String>)>,
    /// When the route last changed, in Unix seconds: the latest time in metadata.managedFields.
    pub changed_at: Option<i64>,
}

/// What the router needs to find its rule and write its own.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    /// The route's name, for messages.
    pub route: &'a str,
    /// spec.rollout.trafficRouting.gatewayAPI.rule, when set.
    pub rule: Option<&'a str>,
    /// The app's Service.
    pub app: &'a str,
    /// The preview or canary Service.
    pub side: &'a str,
    /// The name of the operator's pin rule.
    pub pin_rule: &'a str,
    /// The revision header.
    pub header: &'a str,
}

/// Reads `route` (an HTTPRoute as the API server returned it).
pub fn view(route: Option<&Value>, names: &Names<'_>) -> RouteView {
    let Some(route) = route else {
        return RouteView::Missing;
    };
    match state(route, names) {
        Ok(state) => RouteView::Usable(Box::new(state)),
        Err(why) => RouteView::Unusable(why),
    }
}

fn state(route: &Value, names: &Names<'_>) -> Result<RouteState, String> {
    let name = names.route;
    let resource_version = route["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rules = route["spec"]["rules"]
        .as_array()
        .ok_or_else(|| format!("HTTPRoute {name} has no spec.rules"))?;
    let pin = rules.iter().enumerate().find_map(|(i, rule)| {
        (rule["name"].as_str() == Some(names.pin_rule)).then(|| (i, pinned_revision(rule, names)))
    });
    let rule = target_rule(rules, names)?;
    let refs = rules[rule]["backendRefs"].as_array();
    let find = |service: &str| {
        refs.into_iter()
            .flatten()
            .enumerate()
            .find(|(_, r)| is_service(r, service))
            .map(|(i, r)| (i, weight(r)))
    };
    let app = find(names.app).ok_or_else(|| {
        format!(
            "the rule of HTTPRoute {name} sends nothing to the app's Service {}",
            names.app
        )
    })?;
    let side = find(names.side).ok_or_else(|| {
        format!(
            "the rule of HTTPRoute {name} must also name the Service {} in its backendRefs \
             (weight 0 is fine): the operator sets the two weights, it adds no backend",
            names.side
        )
    })?;
    let count = |rule: &Value| rule["matches"].as_array().map_or(1, Vec::len);
    let (pending, refused) = match pending(route, name) {
        Some(Parents::Refused(why)) => (None, Some(why)),
        Some(Parents::Pending(why)) => (Some(why), None),
        None => (None, None),
    };
    let changed_at = route["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["time"].as_str())
        .filter_map(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .max();
    Ok(RouteState {
        resource_version,
        rule,
        app,
        side,
        pin: pin.map(|(i, revision)| (i, revision.unwrap_or_default())),
        rules: rules.len(),
        matches: (rules.iter().map(count).sum(), count(&rules[rule])),
        pending,
        refused,
        mark: mark::read(route, names),
        rules_manager: mark::rules_manager(route),
        changed_at,
    })
}

/// Why the route's current spec is not in force.
enum Parents {
    /// Not yet: no gateway reported on it, or one has not looked at this generation.
    Pending(String),
    /// A gateway looked and refused it (its message quoted).
    Refused(String),
}

/// Why the route's current spec is not in force, or None when it is. Gateway API's own signal:
/// a parent's Accepted condition with observedGeneration at metadata.generation.
fn pending(route: &Value, name: &str) -> Option<Parents> {
    let generation = route["metadata"]["generation"].as_i64().unwrap_or(0);
    let parents = route["status"]["parents"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if parents.is_empty() {
        return Some(Parents::Pending(format!(
            "waiting for a gateway to accept HTTPRoute {name} (its status.parents is empty)"
        )));
    }
    parents.iter().find_map(|parent| {
        let accepted = parent["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Accepted");
        let at = accepted
            .and_then(|c| c["observedGeneration"].as_i64())
            .unwrap_or(0);
        let gateway = parent["parentRef"]["name"].as_str().unwrap_or("?");
        match accepted {
            Some(c) if c["status"] == "True" && at >= generation => None,
            Some(c) if c["status"] == "False" && at >= generation => {
                Some(Parents::Refused(format!(
                    "Gateway {gateway} does not accept HTTPRoute {name}: {}",
                    c["message"].as_str().unwrap_or("no message")
                )))
            }
            _ => Some(Parents::Pending(format!(
                "waiting for Gateway {gateway} to take generation {generation} of HTTPRoute {name}"
            ))),
        }
    })
}

/// The rule named in the spec, else the one rule (not the operator's) whose backendRefs name the
/// app's Service.
fn target_rule(rules: &[Value], names: &Names<'_>) -> Result<usize, String> {
    let route = names.route;
    if let Some(wanted) = names.rule {
        return rules
            .iter()
            .position(|r| r["name"].as_str() == Some(wanted))
            .ok_or_else(|| format!("HTTPRoute {route} has no rule named {wanted}"));
    }
    let mut sending: Vec<usize> = rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r["name"].as_str() != Some(names.pin_rule))
        .filter(|(_, r)| {
            r["backendRefs"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|b| is_service(b, names.app)))
        })
        .map(|(i, _)| i)
        .collect();
    match sending.len() {
        1 => Ok(sending.remove(0)),
        0 => Err(format!(
            "no rule of HTTPRoute {route} sends to the app's Service {}",
            names.app
        )),
        n => Err(format!(
            "{n} rules of HTTPRoute {route} send to the app's Service {}: name one in \
             spec.rollout.trafficRouting.gatewayAPI.rule",
            names.app
        )),
    }
}

/// Whether a backendRef is the core Service `name` in the route's own namespace.
fn is_service(backend: &Value, name: &str) -> bool {
    let group = backend["group"].as_str().unwrap_or("");
    let kind = backend["kind"].as_str().unwrap_or("Service");
    backend["name"].as_str() == Some(name)
        && group.is_empty()
        && kind == "Service"
        && backend.get("namespace").is_none_or(Value::is_null)
}

/// A backendRef's weight; Gateway API's default is 1.
fn weight(backend: &Value) -> i32 {
    backend["weight"]
        .as_i64()
        .and_then(|w| i32::try_from(w).ok())
        .unwrap_or(1)
}

/// The revision a pin rule's header match carries.
fn pinned_revision(rule: &Value, names: &Names<'_>) -> Option<String> {
    rule["matches"]
        .as_array()?
        .iter()
        .flat_map(|m| m["headers"].as_array().into_iter().flatten())
        .find(|h| {
            h["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(names.header))
        })
        .and_then(|h| h["value"].as_str())
        .map(str::to_string)
}

/// What the route should say: the trial's weight (out of 100) and the revision pinned by header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The side Service's weight; the app's is 100 minus it.
    pub side_weight: i32,
    /// The revision requests with the header reach, while one is under test.
    pub pinned: Option<String>,
}

impl RouteState {
    /// Whether the route already says what `wanted` says, and carries the operator's mark of it.
    pub fn holds(&self, wanted: &Wanted) -> bool {
        self.app.1 == 100 - wanted.side_weight
            && self.side.1 == wanted.side_weight
            && self.pin.as_ref().map(|(_, r)| r) == wanted.pinned.as_ref()
            && self.mark.as_ref() == Some(&Mark::of(wanted))
    }

    /// Why `wanted` must not be written over the route: another manager changed the operator's
    /// weights during a release ([`mark::contest`]); `own` is the operator's field manager.
    pub fn contest(&self, wanted: &Wanted, names: &Names<'_>, own: &str) -> Option<String> {
        mark::contest(self, wanted, names, own)
    }

    /// The JSON Patch that makes `route` say what `wanted` says, or why it cannot.
    pub fn patch(
        &self,
        route: &Value,
        wanted: &Wanted,
        names: &Names<'_>,
    ) -> Result<Vec<Value>, String> {
        let rule = self.rule;
        let mut ops = vec![
            json!({"op": "test", "path": "/metadata/resourceVersion", "value": self.resource_version}),
            json!({"op": "add", "path": format!("/spec/rules/{rule}/backendRefs/{}/weight", self.app.0), "value": 100 - wanted.side_weight}),
            json!({"op": "add", "path": format!("/spec/rules/{rule}/backendRefs/{}/weight", self.side.0), "value": wanted.side_weight}),
        ];
        match (&self.pin, &wanted.pinned) {
            (Some((_, live)), Some(revision)) if live == revision => {}
            (Some((index, _)), Some(revision)) => ops.push(json!({
                "op": "replace",
                "path": format!("/spec/rules/{index}"),
                "value": pin_rule(&route["spec"]["rules"][rule], revision, names),
            })),
            (None, Some(revision)) => {
                self.room_for_a_pin(names)?;
                ops.push(json!({
                    "op": "add",
                    "path": "/spec/rules/-",
                    "value": pin_rule(&route["spec"]["rules"][rule], revision, names),
                }));
            }
            (Some((index, _)), None) => {
                // Last: removing a rule moves the indexes of the rules after it.
                ops.push(json!({"op": "remove", "path": format!("/spec/rules/{index}")}));
            }
            (None, None) => {}
        }
        // The mark's path moves with no rule index, so it may follow a rule's removal.
        ops.push(mark::write(route, &Mark::of(wanted), names));
        Ok(ops)
    }

    /// Why the route cannot say what `wanted` says, or Ok when it can: a pin rule it has no room
    /// for is the only reason ([`Self::patch`] fails for it alone).
    pub fn fits(&self, wanted: &Wanted, names: &Names<'_>) -> Result<(), String> {
        match (&self.pin, &wanted.pinned) {
            (None, Some(_)) => self.room_for_a_pin(names),
            _ => Ok(()),
        }
    }

    /// Refuses a pin rule the route has no room for under Gateway API's limits.
    fn room_for_a_pin(&self, names: &Names<'_>) -> Result<(), String> {
        if self.rules >= MAX_RULES {
            return Err(format!(
                "HTTPRoute {} has {} rules, the most Gateway API allows: the operator needs one \
                 more for the {} header",
                names.route, self.rules, names.header
            ));
        }
        if self.matches.0 + self.matches.1 > MAX_MATCHES {
            return Err(format!(
                "HTTPRoute {} has {} matches: a copy of its rule's {} for the {} header would \
                 pass Gateway API's limit of {MAX_MATCHES}",
                names.route, self.matches.0, self.matches.1, names.header
            ));
        }
        Ok(())
    }
}

/// The operator's rule: `rule` (the user's) with the header added to each of its matches and
/// only the side Service as backend, so a request with the header is handled as users' requests
/// are (same filters and timeouts) but reaches the new version.
fn pin_rule(rule: &Value, revision: &str, names: &Names<'_>) -> Value {
    let mut pin = rule.clone();
    let header = json!({"type": "Exact", "name": names.header, "value": revision});
    let matches: Vec<Value> = match rule["matches"].as_array() {
        Some(matches) if !matches.is_empty() => matches
            .iter()
            .map(|m| {
                let mut m = m.clone();
                let mut headers = m["headers"].as_array().cloned().unwrap_or_default();
                headers.retain(|h| {
                    !h["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(names.header))
                });
                headers.push(header.clone());
                m["headers"] = Value::Array(headers);
                m
            })
            .collect(),
        _ => vec![json!({"path": {"type": "PathPrefix", "value": "/"}, "headers": [header]})],
    };
    let side = rule["backendRefs"]
        .as_array()
        .and_then(|refs| refs.iter().find(|b| is_service(b, names.side)))
        .cloned()
        .map(|mut b| {
            b["weight"] = json!(1);
            b
        });
    if let Some(object) = pin.as_object_mut() {
        object.insert("name".into(), json!(names.pin_rule));
        object.insert("matches".into(), Value::Array(matches));
        object.insert(
            "backendRefs".into(),
            Value::Array(side.into_iter().collect()),
        );
    }
    pin
}

#[cfg(test)]
mod tests;
