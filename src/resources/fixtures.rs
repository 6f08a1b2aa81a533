//! The seed examples as test fixtures, with the metadata the API server would have added.

use crate::api::{DeploymentChecklist, DeploymentChecklistSpec};

/// The namespace the fixtures live in.
pub const NAMESPACE: &str = "prod";
/// The uid the fixtures carry, so owner references can be built.
pub const UID: &str = "6a4b0c2e-1f3d-4e5a-9b7c-8d2e1f0a3b4c";

/// An example checklist by file name, as the API server would return it.
pub fn example(file: &str) -> DeploymentChecklist {
    let path = format!("{}/examples/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut checklist: DeploymentChecklist =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    checklist.metadata.namespace = Some(NAMESPACE.into());
    checklist.metadata.uid = Some(UID.into());
    checklist
}

/// examples/dialectic.yaml: every block set, including a migration with a down-migration.
pub fn dialectic() -> DeploymentChecklist {
    example("dialectic.yaml")
}

/// The spec of [`dialectic`].
pub fn dialectic_spec() -> DeploymentChecklistSpec {
    dialectic().spec
}
