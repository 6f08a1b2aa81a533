//! The checklist file of `verify`: read within a size limit, decoded strictly, and validated as
//! the API server validates what `kubectl apply` sends, before any request is made.

use std::path::Path;

use serde_json::Value;

use crate::api::DeploymentChecklist;

use super::{
    UsageError,
    read::{self, Links},
    rules, schema, yaml,
};

/// The largest checklist file read. The API server refuses requests over 3 MiB, and a checklist
/// with its Secrets is a few kilobytes; 1 MiB leaves room for a file of many documents.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads, decodes and validates the DeploymentChecklist out of a YAML file that may hold other
/// documents; `name` chooses among several.
pub fn load(file: &Path, name: Option<&str>) -> Result<DeploymentChecklist, UsageError> {
    let bytes = read::read_limited(file, MAX_FILE_BYTES, Links::Follow)
        .map_err(|e| UsageError(e.to_string()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| UsageError(format!("{} is not UTF-8 text: {e}", file.display())))?;
    parse(&text, name).map_err(|e| UsageError(format!("{}: {e}", file.display())))
}

/// [`load`] on text already read: the chosen checklist, or what is wrong with the text.
pub fn parse(text: &str, name: Option<&str>) -> Result<DeploymentChecklist, String> {
    let chosen = choose(yaml::documents(text)?, name)?;
    validate(&chosen).map_err(|problems| match problems.as_slice() {
        [one] => one.clone(),
        many => format!("{} problems:\n  {}", many.len(), many.join("\n  ")),
    })
}

/// One DeploymentChecklist of a file and what is wrong with it.
#[derive(Debug, Clone)]
pub struct Linted {
    /// metadata.name, or "(no name)".
    pub name: String,
    /// The document as written.
    pub document: Value,
    /// Every problem found, each naming its field; empty when it is valid.
    pub problems: Vec<String>,
}

/// Every DeploymentChecklist of `text`, each checked as [`parse`] checks the chosen one.
pub fn lint(text: &str) -> Result<Vec<Linted>, String> {
    let found: Vec<Value> = yaml::documents(text)?
        .into_iter()
        .filter(|v| v.get("kind").and_then(Value::as_str) == Some("DeploymentChecklist"))
        .collect();
    if found.is_empty() {
        return Err("holds no DeploymentChecklist".into());
    }
    Ok(found
        .into_iter()
        .map(|document| Linted {
            name: document["metadata"]["name"]
                .as_str()
                .unwrap_or("(no name)")
                .to_string(),
            problems: validate(&document).err().unwrap_or_default(),
            document,
        })
        .collect())
}

/// The checklist a document holds, or every problem found in the API server's order: the
/// schema first, then the rules, which assume its bounds.
fn validate(document: &Value) -> Result<DeploymentChecklist, Vec<String>> {
    let schema = schema::problems(document);
    if !schema.is_empty() {
        return Err(schema);
    }
    let checklist = decode(document).map_err(|problem| vec![problem])?;
    let rules = rules::problems(&checklist);
    if !rules.is_empty() {
        return Err(rules);
    }
    Ok(checklist)
}

fn choose(documents: Vec<Value>, name: Option<&str>) -> Result<Value, String> {
    let mut found: Vec<Value> = documents
        .into_iter()
        .filter(|v| v.get("kind").and_then(Value::as_str) == Some("DeploymentChecklist"))
        .collect();
    let name_of = |v: &Value| v["metadata"]["name"].as_str().map(str::to_string);
    match (found.len(), name) {
        (0, _) => Err("holds no DeploymentChecklist".into()),
        (_, Some(name)) => found
            .into_iter()
            .find(|v| name_of(v).as_deref() == Some(name))
            .ok_or_else(|| format!("holds no DeploymentChecklist named {name}")),
        (1, None) => Ok(found.remove(0)),
        (_, None) => {
            let names: Vec<String> = found.iter().filter_map(name_of).collect();
            Err(format!(
                "holds several DeploymentChecklists ({}); choose one with --name",
                names.join(", ")
            ))
        }
    }
}

/// Decodes strictly: a wrong type is reported with its path, and an unknown (misspelled) field
/// is an error, as the API server's strict field validation would make it.
fn decode(value: &Value) -> Result<DeploymentChecklist, String> {
    if let Some(version) = value.get("apiVersion").and_then(|v| v.as_str())
        && version != "checklist.dev/v1alpha1"
    {
        return Err(format!(
            "apiVersion {version} is not checklist.dev/v1alpha1"
        ));
    }
    let mut unknown = Vec::new();
    let checklist = {
        let mut note_unknown = |path: serde_ignored::Path<'_>| unknown.push(field_path(&path));
        let ignoring = serde_ignored::Deserializer::new(value, &mut note_unknown);
        serde_path_to_error::deserialize(ignoring)
            .map_err(|e| format!("{}: {}", e.path(), e.inner()))?
    };
    // metadata and status are the API server's business; only the spec's fields are ours.
    unknown.retain(|path| path.starts_with("spec"));
    match unknown.as_slice() {
        [] => Ok(checklist),
        fields => Err(format!("unknown field {}", fields.join(", "))),
    }
}

/// `spec.checks.0.http.?.x` as users write it: `spec.checks[0].http.x` (`?` marks an Option).
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    let mut out = String::new();
    for step in path.to_string().split('.') {
        if step == "?" {
            continue;
        }
        if step.bytes().all(|b| b.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{step}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(step);
        }
    }
    out
}
