//! What the plugin prints goes through the tenant-text sanitizer first: a checklist's author and
//! the app it verifies wrote much of it, and the person running `kubectl checklist list -A` may
//! be a cluster admin whose terminal must not take a tenant's escape sequences.

use serde::{Serialize, de::DeserializeOwned};

use crate::text;

use super::{Output, PluginError};

/// The longest a single string is shown in the plugin's tables and sections.
const SHOWN_MAX_CHARS: usize = 4096;

/// `value` with every string in it (keys too) made safe to show: control, bidi and invisible
/// characters replaced, lengths bounded.
pub(super) fn shown<T: Serialize + DeserializeOwned>(value: &T) -> Result<T, PluginError> {
    let mut json = serde_json::to_value(value).map_err(cannot)?;
    text::clean_value(&mut json, SHOWN_MAX_CHARS);
    serde_json::from_value(json).map_err(cannot)
}

/// `value` as JSON or YAML text that is safe on a terminal: JSON keeps every string's data,
/// with unsafe characters as `\u` escapes; YAML has them replaced, as in the tables.
pub(super) fn encode<T: Serialize>(value: &T, output: Output) -> Result<String, PluginError> {
    let text = match output {
        Output::Yaml => {
            let mut json = serde_json::to_value(value).map_err(cannot)?;
            text::clean_value(&mut json, usize::MAX);
            serde_norway::to_string(&json).map_err(|e| e.to_string())
        }
        _ => serde_json::to_string_pretty(value)
            .map(|s| text::escape_json_text(&s) + "\n")
            .map_err(|e| e.to_string()),
    };
    text.map_err(|e| PluginError::Usage(format!("cannot encode the output: {e}")))
}

fn cannot(error: serde_json::Error) -> PluginError {
    PluginError::Usage(format!("cannot encode the output: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::DeploymentChecklist;

    fn hostile() -> DeploymentChecklist {
        let mut checklist: DeploymentChecklist = serde_json::from_value(serde_json::json!({
            "apiVersion": "checklist.dev/v1alpha1",
            "kind": "DeploymentChecklist",
            "metadata": {"name": "web", "namespace": "team-a"},
            "spec": {"app": {"image": "web:1\u{1b}]52;c;cm0gLXJm\u{7}"}},
        }))
        .unwrap();
        checklist.status = Some(crate::api::DeploymentChecklistStatus {
            message: Some("down \u{1b}[2J\u{202e}".into()),
            ..Default::default()
        });
        checklist
    }

    #[test]
    fn no_escape_reaches_any_output() {
        let checklist = hostile();
        let clean = shown(&checklist).unwrap();
        let table = serde_json::to_string(&clean).unwrap();
        assert!(!table.contains("\\u001b") && !table.contains('\u{202e}'));
        for output in [Output::Json, Output::Yaml] {
            let text = encode(&checklist, output).unwrap();
            assert!(
                text.chars()
                    .all(|c| c == '\n' || text::is_clean(&c.to_string())),
                "{output:?}: {text}"
            );
        }
    }
}
