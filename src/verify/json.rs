//! Reading a JSON response: the values `expectJSON` names and the dependencies of a deep health
//! body. Pure functions over `serde_json::Value`.

use serde_json::Value;
use serde_json_path::JsonPath;

/// Words that mean a dependency is healthy, in either shape the seed apps use:
/// `{"database": "connected"}` or `{"database": {"status": "pass"}}`.
pub(crate) const HEALTHY_WORDS: [&str; 8] = [
    "ok",
    "pass",
    "passing",
    "healthy",
    "up",
    "connected",
    "available",
    "true",
];

/// Why a path could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PathError {
    /// A `$` key is not valid RFC 9535 JSONPath.
    #[error("{path} is not a valid JSONPath: {reason}")]
    Invalid {
        /// The key as written.
        path: String,
        /// What the parser said.
        reason: String,
    },
}

/// The values at `path`: a dot-separated path (`checks.database.status`, with numbers indexing
/// arrays) or, when it starts with `$`, an RFC 9535 JSONPath (`$.checks[*].status`).
pub(crate) fn values_at<'v>(body: &'v Value, path: &str) -> Result<Vec<&'v Value>, PathError> {
    if path.starts_with('$') {
        let query = JsonPath::parse(path).map_err(|e| PathError::Invalid {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        return Ok(query.query(body).all());
    }
    let mut current = body;
    for step in path.split('.') {
        let next = match current {
            Value::Object(map) => map.get(step),
            Value::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(value) => current = value,
            None => return Ok(Vec::new()),
        }
    }
    Ok(vec![current])
}

/// A JSON value as the text `expectJSON` compares with: strings bare, everything else as JSON.
pub(crate) fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One dependency read from a deep health body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// Its name: the member's key.
    pub name: String,
    /// Whether its state is one of [`HEALTHY_WORDS`].
    pub healthy: bool,
    /// The state as the app wrote it (`pass`, `connected`, `fail`), or `unknown`.
    pub state: String,
}

/// The members of the object at `path`, each judged healthy or not; `None` when there is no
/// object there.
pub(crate) fn dependencies(body: &Value, path: &str) -> Result<Option<Vec<Dependency>>, PathError> {
    let Some(Value::Object(members)) = values_at(body, path)?.into_iter().next() else {
        return Ok(None);
    };
    let found = members
        .iter()
        .map(|(name, value)| {
            let state = match value {
                Value::Object(fields) => fields.get("status").map(as_text),
                Value::Array(_) | Value::Null => None,
                scalar => Some(as_text(scalar)),
            }
            .unwrap_or_else(|| "unknown".to_string());
            Dependency {
                name: name.clone(),
                healthy: HEALTHY_WORDS.contains(&state.to_ascii_lowercase().as_str()),
                state,
            }
        })
        .collect();
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dotted_paths_walk_objects_and_arrays() {
        let body = json!({"status": "ok", "checks": {"database": {"status": "pass"}}, "items": [{"n": 1}]});
        assert_eq!(values_at(&body, "status").unwrap(), vec![&json!("ok")]);
        assert_eq!(
            values_at(&body, "checks.database.status").unwrap(),
            vec![&json!("pass")]
        );
        assert_eq!(values_at(&body, "items.0.n").unwrap(), vec![&json!(1)]);
        assert!(values_at(&body, "checks.oban.status").unwrap().is_empty());
        assert!(values_at(&body, "status.deeper").unwrap().is_empty());
    }

    #[test]
    fn dollar_paths_are_jsonpath_and_may_match_several_values() {
        let body = json!({"checks": {"database": {"status": "pass"}, "oban": {"status": "fail"}}});
        let found = values_at(&body, "$.checks[*].status").unwrap();
        assert_eq!(found, vec![&json!("pass"), &json!("fail")]);
        assert!(matches!(
            values_at(&body, "$.checks[").unwrap_err(),
            PathError::Invalid { .. }
        ));
    }

    #[test]
    fn values_compare_by_their_text() {
        assert_eq!(as_text(&json!("ok")), "ok");
        assert_eq!(as_text(&json!(200)), "200");
        assert_eq!(as_text(&json!(true)), "true");
        assert_eq!(as_text(&json!(null)), "null");
    }

    #[test]
    fn dependencies_are_read_in_both_seed_shapes() {
        let dialectic =
            json!({"checks": {"database": {"status": "pass"}, "oban": {"status": "fail"}}});
        assert_eq!(
            dependencies(&dialectic, "checks").unwrap().unwrap(),
            vec![
                Dependency {
                    name: "database".into(),
                    healthy: true,
                    state: "pass".into()
                },
                Dependency {
                    name: "oban".into(),
                    healthy: false,
                    state: "fail".into()
                },
            ]
        );
        let vel_tutor = json!({"dependencies": {"database": "connected", "groq": "unavailable", "cache": true}});
        let found = dependencies(&vel_tutor, "dependencies").unwrap().unwrap();
        let healthy: Vec<(&str, bool)> =
            found.iter().map(|d| (d.name.as_str(), d.healthy)).collect();
        assert_eq!(
            healthy,
            vec![("cache", true), ("database", true), ("groq", false)]
        );
    }

    #[test]
    fn a_dependency_without_a_status_is_unknown_and_unhealthy() {
        let body = json!({"checks": {"queue": {"latency": 3}, "cache": null}});
        let found = dependencies(&body, "checks").unwrap().unwrap();
        assert!(found.iter().all(|d| !d.healthy && d.state == "unknown"));
    }

    #[test]
    fn no_object_at_the_path_means_no_dependencies() {
        assert_eq!(
            dependencies(&json!({"checks": "all good"}), "checks").unwrap(),
            None
        );
        assert_eq!(dependencies(&json!({}), "checks").unwrap(), None);
    }
}
