//! The checklist file of `verify`: read within a size limit, decoded strictly, and validated as
//! the API server validates what `kubectl apply` sends, before any request is made.

use std::path::Path;

use serde_json::Value;

use crate::{
    api::{DeploymentChecklist, TemplateKind, TemplateSpec},
    verify::templates::{self, Found},
};

use super::{
    UsageError,
    read::{self, Links},
    rules, schema, yaml,
};

/// The largest checklist file read. The API server refuses requests over 3 MiB, and a checklist
/// with its Secrets is a few kilobytes; 1 MiB leaves room for a file of many documents.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads, decodes and validates the DeploymentChecklist out of a YAML file that may hold other
/// documents; `name` chooses among several. The templates it names are taken from the file
/// itself and from `template_files`, and their checks joined to its own.
pub fn load(
    file: &Path,
    name: Option<&str>,
    template_files: &[std::path::PathBuf],
) -> Result<DeploymentChecklist, UsageError> {
    let mut templates = Vec::new();
    for path in template_files {
        templates.extend(templates_file(path)?);
    }
    let text = read_text(file)?;
    parse_with(&text, name, &templates).map_err(|e| UsageError(format!("{}: {e}", file.display())))
}

/// [`load`] on text already read, with only its own templates: the chosen checklist, or what
/// is wrong with the text.
pub fn parse(text: &str, name: Option<&str>) -> Result<DeploymentChecklist, String> {
    parse_with(text, name, &[])
}

/// [`parse`] with `extra` templates besides the text's own.
pub fn parse_with(
    text: &str,
    name: Option<&str>,
    extra: &[Found],
) -> Result<DeploymentChecklist, String> {
    let documents = yaml::documents(text)?;
    let mut templates = templates_in(&documents)?;
    templates.extend_from_slice(extra);
    let chosen = choose(documents, name)?;
    let checklist = validate(&chosen).map_err(|problems| match problems.as_slice() {
        [one] => one.clone(),
        many => format!("{} problems:\n  {}", many.len(), many.join("\n  ")),
    })?;
    Ok(templates::resolve(&checklist, &templates)?.checklist)
}

/// The ChecklistTemplates and ClusterChecklistTemplates of a file, for checklists in other
/// files to use.
pub fn templates_file(file: &Path) -> Result<Vec<Found>, UsageError> {
    let text = read_text(file)?;
    let found = yaml::documents(&text)
        .and_then(|documents| templates_in(&documents))
        .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
    if found.is_empty() {
        return Err(UsageError(format!(
            "{}: holds no ChecklistTemplate or ClusterChecklistTemplate",
            file.display()
        )));
    }
    Ok(found)
}

/// A template a checklist of a file names that the files do not hold: its kind, the namespace
/// of the checklist naming it (when the file says), and its name.
pub type MissingTemplate = (TemplateKind, Option<String>, String);

/// The templates the checklists of `text` name that neither `text` nor `extra` holds, each
/// once: what `lint` may look up in a cluster.
pub fn missing_templates(text: &str, extra: &[Found]) -> Result<Vec<MissingTemplate>, String> {
    let documents = yaml::documents(text)?;
    let mut held = templates_in(&documents)?;
    held.extend_from_slice(extra);
    let mut missing: Vec<MissingTemplate> = Vec::new();
    let checklists = documents
        .iter()
        .filter(|d| d.get("kind").and_then(Value::as_str) == Some("DeploymentChecklist"));
    for checklist in checklists {
        let namespace = checklist["metadata"]["namespace"]
            .as_str()
            .map(str::to_string);
        let references = checklist["spec"]["verification"]["templates"]
            .as_array()
            .into_iter()
            .flatten();
        for reference in references {
            let Some(name) = reference["name"].as_str() else {
                continue;
            };
            let kind = match reference["kind"].as_str() {
                Some("ClusterChecklistTemplate") => TemplateKind::ClusterChecklistTemplate,
                _ => TemplateKind::ChecklistTemplate,
            };
            let entry = (kind, namespace.clone(), name.to_string());
            let known = held.iter().any(|f| f.kind == kind && f.name == name);
            if !known && !missing.contains(&entry) {
                missing.push(entry);
            }
        }
    }
    Ok(missing)
}

fn read_text(file: &Path) -> Result<String, UsageError> {
    let bytes = read::read_limited(file, MAX_FILE_BYTES, Links::Follow)
        .map_err(|e| UsageError(e.to_string()))?;
    String::from_utf8(bytes)
        .map_err(|e| UsageError(format!("{} is not UTF-8 text: {e}", file.display())))
}

/// The templates among `documents`, decoded strictly (a misspelt field is an error).
fn templates_in(documents: &[Value]) -> Result<Vec<Found>, String> {
    documents
        .iter()
        .filter_map(|document| {
            let kind = match document.get("kind").and_then(Value::as_str) {
                Some("ChecklistTemplate") => TemplateKind::ChecklistTemplate,
                Some("ClusterChecklistTemplate") => TemplateKind::ClusterChecklistTemplate,
                _ => return None,
            };
            Some(template(document, kind))
        })
        .collect()
}

fn template(document: &Value, kind: TemplateKind) -> Result<Found, String> {
    let name = document["metadata"]["name"]
        .as_str()
        .ok_or_else(|| format!("a {kind} has no metadata.name"))?
        .to_string();
    let mut unknown = Vec::new();
    let spec: TemplateSpec = {
        let mut note_unknown = |path: serde_ignored::Path<'_>| unknown.push(field_path(&path));
        let ignoring = serde_ignored::Deserializer::new(&document["spec"], &mut note_unknown);
        serde_path_to_error::deserialize(ignoring)
            .map_err(|e| format!("{kind} {name}: spec.{}: {}", e.path(), e.inner()))?
    };
    // A check's own fields are checked once the template is used, against the checklist rules.
    unknown.retain(|path| !path.starts_with("checks"));
    if let Some(field) = unknown.first() {
        return Err(format!("{kind} {name}: unknown field spec.{field}"));
    }
    Ok(Found {
        kind,
        name,
        generation: None,
        spec,
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

/// Every DeploymentChecklist of `text`, each checked as [`parse`] checks the chosen one, its
/// templates taken from `text` and `extra`.
pub fn lint(text: &str, extra: &[Found]) -> Result<Vec<Linted>, String> {
    let documents = yaml::documents(text)?;
    let mut templates = templates_in(&documents)?;
    templates.extend_from_slice(extra);
    let found: Vec<Value> = documents
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
            problems: match validate(&document) {
                Ok(checklist) => templates::resolve(&checklist, &templates)
                    .err()
                    .into_iter()
                    .collect(),
                Err(problems) => problems,
            },
            document,
        })
        .collect())
}

/// The checklist a document holds, or every problem found in the API server's order: the
/// schema first, then the rules, which assume its bounds.
pub(crate) fn validate(document: &Value) -> Result<DeploymentChecklist, Vec<String>> {
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
