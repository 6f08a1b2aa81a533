//! Check templates resolved into a checklist's checks: each template a checklist names is found,
//! its parameters filled in, its checks joined to the checklist's own, and the result validated
//! as the API server validates a checklist. Pure: the operator and the CLI find the templates
//! (in the cluster, in files) and call [`resolve`].
//!
//! Templates are hostile input like every spec: a placeholder's value is bounded, every string a
//! template expands to is bounded, and the whole expansion has a budget, so a template holding a
//! megabyte of placeholders cannot make the operator build gigabytes.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::api::{
    DeploymentChecklist, TemplateKind, TemplateRef, TemplateSpec, TemplateStatus,
    template::MAX_PARAMETER_CHARS,
};

/// The longest string a placeholder may expand to, in bytes.
const MAX_EXPANDED_STRING: usize = 16 * 1024;

/// The most bytes a checklist's templates may expand to, all strings together.
const MAX_EXPANDED_TOTAL: usize = 512 * 1024;

/// A template as found in the cluster or in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Its kind.
    pub kind: TemplateKind,
    /// Its name.
    pub name: String,
    /// Its metadata.generation, when it has one.
    pub generation: Option<i64>,
    /// What it holds.
    pub spec: TemplateSpec,
}

/// A checklist whose templates' checks have joined its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The checklist with spec.verification.checks whole and spec.verification.templates empty.
    pub checklist: DeploymentChecklist,
    /// Each template used and the checks it gave.
    pub templates: Vec<TemplateStatus>,
}

/// `checklist` with the checks of the templates it names joined to its own, or why it cannot be:
/// a template not in `found`, a parameter missing or unknown, a placeholder the template does
/// not declare, an expansion over its bounds, or a resolved check the checklist's rules refuse.
/// A checklist naming no template comes back as it is.
pub fn resolve(checklist: &DeploymentChecklist, found: &[Found]) -> Result<Resolved, String> {
    let refs = &checklist.spec.verification.templates;
    if refs.is_empty() {
        return Ok(Resolved {
            checklist: checklist.clone(),
            templates: Vec::new(),
        });
    }
    let mut budget = MAX_EXPANDED_TOTAL;
    let mut joined = Vec::new();
    let mut templates = Vec::new();
    let mut origins = Vec::new();
    for (index, reference) in refs.iter().enumerate() {
        let template = found
            .iter()
            .find(|f| f.kind == reference.kind && f.name == reference.name)
            .ok_or_else(|| not_found(reference))?;
        let values = parameters(reference, index, &template.spec)?;
        let mut names = Vec::new();
        for check in &template.spec.checks {
            let check = expand_check(check, reference, &values, &mut budget)?;
            names.push(check["name"].as_str().unwrap_or_default().to_string());
            origins.push((reference.shown(), names.last().cloned().unwrap_or_default()));
            joined.push(check);
        }
        templates.push(TemplateStatus {
            kind: reference.kind,
            name: reference.name.clone(),
            generation: template.generation,
            checks: names,
        });
    }
    let own = checklist.spec.verification.checks.len();
    let document = document_with(checklist, joined)?;
    let validated = super::cli::validate(&document).map_err(|problems| {
        let problems: Vec<String> = problems
            .iter()
            .map(|p| name_origins(p, own, &origins))
            .collect();
        match problems.as_slice() {
            [one] => format!("the templates' checks are refused: {one}"),
            many => format!("the templates' checks are refused: {}", many.join("; ")),
        }
    })?;
    let mut resolved = checklist.clone();
    resolved.spec = validated.spec;
    Ok(Resolved {
        checklist: resolved,
        templates,
    })
}

fn not_found(reference: &TemplateRef) -> String {
    match reference.kind {
        TemplateKind::ChecklistTemplate => format!(
            "{} not found in the checklist's namespace",
            reference.shown()
        ),
        TemplateKind::ClusterChecklistTemplate => format!("{} not found", reference.shown()),
    }
}

/// The value of each parameter the template declares: passed, or its default.
fn parameters(
    reference: &TemplateRef,
    index: usize,
    template: &TemplateSpec,
) -> Result<Vec<(String, IntOrString)>, String> {
    if let Some(unknown) = reference
        .parameters
        .keys()
        .find(|name| !template.parameters.iter().any(|p| &p.name == *name))
    {
        let declared: Vec<&str> = template
            .parameters
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        return Err(format!(
            "{} has no parameter {} (spec.verification.templates[{index}].parameters); it has {}",
            reference.shown(),
            crate::text::line(unknown, 63),
            if declared.is_empty() {
                "none".to_string()
            } else {
                declared.join(", ")
            }
        ));
    }
    template
        .parameters
        .iter()
        .map(|p| {
            let value = reference
                .parameters
                .get(&p.name)
                .or(p.default.as_ref())
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "{} needs parameter {}: set spec.verification.templates[{index}].parameters.{}",
                        reference.shown(),
                        p.name,
                        p.name
                    )
                })?;
            match &value {
                IntOrString::String(text) if text.chars().count() > MAX_PARAMETER_CHARS => Err(
                    format!(
                        "{} parameter {} is longer than {MAX_PARAMETER_CHARS} characters",
                        reference.shown(),
                        p.name
                    ),
                ),
                _ => Ok((p.name.clone(), value)),
            }
        })
        .collect()
}

/// One check of the template with its placeholders filled in and the reference's prefix on its
/// name.
fn expand_check(
    check: &Value,
    reference: &TemplateRef,
    values: &[(String, IntOrString)],
    budget: &mut usize,
) -> Result<Value, String> {
    let Value::Object(fields) = check else {
        return Err(format!("{}: a check is not an object", reference.shown()));
    };
    let name = fields.get("name").and_then(Value::as_str).unwrap_or("");
    let context = |what: String| format!("{} check {name}: {what}", reference.shown());
    let mut out = serde_json::Map::new();
    for (key, value) in fields {
        let value = if key == "name" {
            Value::String(format!(
                "{}{name}",
                reference.prefix.as_deref().unwrap_or("")
            ))
        } else {
            expand(value, values, budget).map_err(context)?
        };
        out.insert(key.clone(), value);
    }
    Ok(Value::Object(out))
}

/// `value` with every `{{params.<name>}}` in its strings filled in (map keys are left as they
/// are: they name headers and JSON fields, not values).
fn expand(
    value: &Value,
    values: &[(String, IntOrString)],
    budget: &mut usize,
) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => expand_string(text, values, budget)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| expand(item, values, budget))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), expand(v, values, budget)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// A string that is only one placeholder takes the value with its type (a number stays a
/// number); else each placeholder is replaced by the value's text. Other `{{...}}` (a
/// prometheus query's `{{revision}}`) are left for their own turn.
fn expand_string(
    text: &str,
    values: &[(String, IntOrString)],
    budget: &mut usize,
) -> Result<Value, String> {
    if let Some(name) = whole_placeholder(text) {
        let value = lookup(values, name)?;
        charge(budget, text_of(value).len())?;
        return Ok(match value {
            IntOrString::Int(n) => Value::from(*n),
            IntOrString::String(s) => Value::String(s.clone()),
        });
    }
    let mut out = String::with_capacity(text.len().min(MAX_EXPANDED_STRING));
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let inner = &rest[start + 2..start + end];
        out.push_str(&rest[..start]);
        match param_name(inner) {
            Some(name) => out.push_str(&text_of(lookup(values, name)?)),
            None => out.push_str(&rest[start..start + end + 2]),
        }
        rest = &rest[start + end + 2..];
        if out.len() > MAX_EXPANDED_STRING {
            return Err(format!(
                "a string expands to more than {} KiB",
                MAX_EXPANDED_STRING / 1024
            ));
        }
    }
    out.push_str(rest);
    if out.len() > MAX_EXPANDED_STRING {
        return Err(format!(
            "a string expands to more than {} KiB",
            MAX_EXPANDED_STRING / 1024
        ));
    }
    charge(budget, out.len())?;
    Ok(Value::String(out))
}

fn charge(budget: &mut usize, bytes: usize) -> Result<(), String> {
    *budget = budget.checked_sub(bytes).ok_or_else(|| {
        format!(
            "the templates expand to more than {} KiB",
            MAX_EXPANDED_TOTAL / 1024
        )
    })?;
    Ok(())
}

/// `host` of `{{params.host}}` (blanks inside the braces allowed).
fn param_name(inner: &str) -> Option<&str> {
    inner.trim().strip_prefix("params.").map(str::trim)
}

fn whole_placeholder(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") {
        return None;
    }
    param_name(inner)
}

fn lookup<'a>(values: &'a [(String, IntOrString)], name: &str) -> Result<&'a IntOrString, String> {
    values
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| {
            format!(
                "{{{{params.{}}}}} is not a parameter the template declares",
                crate::text::line(name, 63)
            )
        })
}

fn text_of(value: &IntOrString) -> String {
    match value {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// The checklist as the document the API server would validate: its own spec, the templates'
/// checks after its own, no templates left to resolve.
fn document_with(checklist: &DeploymentChecklist, joined: Vec<Value>) -> Result<Value, String> {
    let mut spec = serde_json::to_value(&checklist.spec)
        .map_err(|e| format!("the checklist does not serialize: {e}"))?;
    let verification = spec
        .get_mut("verification")
        .and_then(Value::as_object_mut)
        .ok_or("the checklist has no spec.verification")?;
    verification.remove("templates");
    let checks = verification
        .entry("checks")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = checks {
        list.extend(joined);
    }
    Ok(serde_json::json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {
            "name": checklist.metadata.name,
            "namespace": checklist.metadata.namespace,
        },
        "spec": spec,
    }))
}

/// A problem's `spec.verification.checks[i]` renamed for the template check it is, so the
/// person reading it knows which template to fix.
fn name_origins(problem: &str, own: usize, origins: &[(String, String)]) -> String {
    let mut out = problem.to_string();
    for (offset, (template, check)) in origins.iter().enumerate().rev() {
        let path = format!("spec.verification.checks[{}]", own + offset);
        out = out.replace(&path, &format!("{template} check {check}"));
    }
    out
}

#[cfg(test)]
mod tests;
