//! `spec.app.rollOnChange`: the Secrets and ConfigMaps whose change rolls a new revision.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// The Secrets and ConfigMaps whose change rolls a new revision (see spec.app.rollOnChange).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollOnChange {
    /// Secrets of the checklist's namespace, by name (at most 16). Example: [db-credentials].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 16),
        inner(length(min = 1, max = 253), regex(pattern = schema::DNS_SUBDOMAIN_PATTERN))
    )]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub secrets: Vec<String>,

    /// ConfigMaps of the checklist's namespace, by name (at most 16). Example: [app-config].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 16),
        inner(length(min = 1, max = 253), regex(pattern = schema::DNS_SUBDOMAIN_PATTERN))
    )]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub config_maps: Vec<String>,
}

impl RollOnChange {
    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty() && self.config_maps.is_empty()
    }
}
