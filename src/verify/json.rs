//! Reading a JSON response: the values `expectJSON` names and the dependencies of a deep health
//! body. Pure functions over `serde_json::Value`, each bounded whatever the key and the body.

use std::sync::atomic::AtomicBool;

use serde_json::Value;

use super::jsonpath::{self, Exceeded, QueryError};

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

/// The longest key (path) read, in bytes; the CRD allows no longer. Checked here too, since it
/// also bounds the JSONPath parser's recursion (parentheses, nested filters).
pub const MAX_PATH_LENGTH: usize = 256;

/// Why a path could not be read. Each message names the key and, for a cap, the cap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PathError {
    /// A `$` key is not valid JSONPath of the supported subset.
    #[error("{path} is not a valid JSONPath: {reason}")]
    Invalid {
        /// The key as written.
        path: String,
        /// What the parser said.
        reason: String,
    },
    /// The key is longer than [`MAX_PATH_LENGTH`].
    #[error("the key {path}… is {length} bytes long, over the limit of {MAX_PATH_LENGTH}")]
    TooLong {
        /// The key's first characters.
        path: String,
        /// Its length in bytes.
        length: usize,
    },
    /// More descendant (`..`) segments than [`jsonpath::MAX_DESCENDANTS`].
    #[error(
        "{path} has {found} descendant (..) segments, over the limit of {}",
        jsonpath::MAX_DESCENDANTS
    )]
    TooManyDescendants {
        /// The key as written.
        path: String,
        /// How many it has.
        found: usize,
    },
    /// The key selects, or passes through, more than [`jsonpath::MAX_NODES`] nodes.
    #[error(
        "{path} selects more than {} values in this body, the limit; make it more specific",
        jsonpath::MAX_NODES
    )]
    TooManyNodes {
        /// The key as written.
        path: String,
    },
    /// Evaluating the key took more than [`jsonpath::MAX_STEPS`] steps.
    #[error(
        "{path} needs more than {} steps on this body, the limit; make it more specific",
        jsonpath::MAX_STEPS
    )]
    TooCostly {
        /// The key as written.
        path: String,
    },
    /// Its caller cancelled the evaluation (the judgement's deadline passed).
    #[error("{path} was not evaluated: the judgement's deadline passed")]
    Cancelled {
        /// The key as written.
        path: String,
    },
}

impl PathError {
    fn of(path: &str, error: QueryError) -> Self {
        let path = path.to_string();
        match error {
            QueryError::Invalid(reason) => PathError::Invalid { path, reason },
            QueryError::TooManyDescendants(found) => PathError::TooManyDescendants { path, found },
            QueryError::Exceeded(Exceeded::Nodes) => PathError::TooManyNodes { path },
            QueryError::Exceeded(Exceeded::Steps) => PathError::TooCostly { path },
            QueryError::Exceeded(Exceeded::Cancelled) => PathError::Cancelled { path },
        }
    }
}

/// The values at `path`: a dot-separated path (`checks.database.status`, with numbers indexing
/// arrays) or, when it starts with `$`, an RFC 9535 JSONPath (`$.checks[*].status`) of the
/// subset [`jsonpath`] evaluates within its caps, stopping soon after `cancel` is set.
pub(crate) fn values_at<'v>(
    body: &'v Value,
    path: &str,
    cancel: &AtomicBool,
) -> Result<Vec<&'v Value>, PathError> {
    if path.len() > MAX_PATH_LENGTH {
        return Err(PathError::TooLong {
            path: path.chars().take(40).collect(),
            length: path.len(),
        });
    }
    if path.starts_with('$') {
        return jsonpath::select(body, path, cancel).map_err(|e| PathError::of(path, e));
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

/// Whether `value`'s text (as [`as_text`] writes it) is `expected`, without writing out more
/// than `expected` is long: a key may match large objects, and comparing must not cost their
/// whole text each time.
pub(crate) fn text_equals(value: &Value, expected: &str) -> bool {
    match value {
        Value::String(s) => s == expected,
        other => {
            let mut writer = Bounded {
                written: Vec::with_capacity(expected.len()),
                limit: expected.len(),
            };
            serde_json::to_writer(&mut writer, other).is_ok()
                && writer.written == expected.as_bytes()
        }
    }
}

/// A writer that refuses to grow past `limit` bytes.
struct Bounded {
    written: Vec<u8>,
    limit: usize,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written.len() + buf.len() > self.limit {
            return Err(std::io::Error::other("longer than the expected value"));
        }
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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

/// The state of a dependency listed by name that the body does not mention.
pub(crate) const NOT_REPORTED: &str = "not reported";

/// The members of the object at `path`, each judged healthy or not; `None` when there is no
/// object there. With `names`, only those members, in that order, one missing from the object
/// judged unhealthy ([`NOT_REPORTED`]): the app cannot add names, nor drop one by leaving it out.
pub(crate) fn dependencies(
    body: &Value,
    path: &str,
    names: &[String],
    cancel: &AtomicBool,
) -> Result<Option<Vec<Dependency>>, PathError> {
    let Some(Value::Object(members)) = values_at(body, path, cancel)?.into_iter().next() else {
        return Ok(None);
    };
    let found = if names.is_empty() {
        members
            .iter()
            .map(|(name, value)| judge(name, value))
            .collect()
    } else {
        names
            .iter()
            .map(|name| match members.get(name) {
                Some(value) => judge(name, value),
                None => not_reported(name),
            })
            .collect()
    };
    Ok(Some(found))
}

/// A dependency named by the checklist that the app did not report: unhealthy.
pub(crate) fn not_reported(name: &str) -> Dependency {
    Dependency {
        name: name.to_string(),
        healthy: false,
        state: NOT_REPORTED.to_string(),
    }
}

/// One member of a dependencies object, judged by its value or its "status" field.
fn judge(name: &str, value: &Value) -> Dependency {
    let state = match value {
        Value::Object(fields) => fields.get("status").map(as_text),
        Value::Array(_) | Value::Null => None,
        scalar => Some(as_text(scalar)),
    }
    .unwrap_or_else(|| "unknown".to_string());
    Dependency {
        name: name.to_string(),
        healthy: HEALTHY_WORDS.contains(&state.to_ascii_lowercase().as_str()),
        state,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // The functions under test, never cancelled (cancelling is the evaluator's own tests').
    fn values_at<'v>(body: &'v Value, path: &str) -> Result<Vec<&'v Value>, PathError> {
        super::values_at(body, path, &AtomicBool::new(false))
    }

    fn dependencies(
        body: &Value,
        path: &str,
        names: &[String],
    ) -> Result<Option<Vec<Dependency>>, PathError> {
        super::dependencies(body, path, names, &AtomicBool::new(false))
    }

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
            dependencies(&dialectic, "checks", &[]).unwrap().unwrap(),
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
        let found = dependencies(&vel_tutor, "dependencies", &[])
            .unwrap()
            .unwrap();
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
        let found = dependencies(&body, "checks", &[]).unwrap().unwrap();
        assert!(found.iter().all(|d| !d.healthy && d.state == "unknown"));
    }

    #[test]
    fn no_object_at_the_path_means_no_dependencies() {
        assert_eq!(
            dependencies(&json!({"checks": "all good"}), "checks", &[]).unwrap(),
            None
        );
        assert_eq!(dependencies(&json!({}), "checks", &[]).unwrap(), None);
    }

    #[test]
    fn listed_names_are_the_only_dependencies_read() {
        let body = json!({"checks": {
            "database": {"status": "pass"},
            "oban": "up",
            "\u{1b}]52;c;evil": "ok",
            "extra": "fail"
        }});
        let names = ["oban".to_string(), "database".to_string()];
        let found = dependencies(&body, "checks", &names).unwrap().unwrap();
        let read: Vec<(&str, bool)> = found.iter().map(|d| (d.name.as_str(), d.healthy)).collect();
        assert_eq!(
            read,
            vec![("oban", true), ("database", true)],
            "in the listed order, nothing the app added"
        );
    }

    #[test]
    fn a_listed_name_the_body_leaves_out_is_not_reported_and_unhealthy() {
        let body = json!({"checks": {"database": "connected"}});
        let names = ["database".to_string(), "oban".to_string()];
        let found = dependencies(&body, "checks", &names).unwrap().unwrap();
        assert_eq!(found[1], not_reported("oban"));
        assert!(!found[1].healthy);
        assert_eq!(found[1].state, NOT_REPORTED);
        assert_eq!(
            dependencies(&json!({}), "checks", &names).unwrap(),
            None,
            "no object at the path is still told apart"
        );
    }
}
