//! The environment shared by the app container and the migration Jobs, so a migration sees
//! exactly the configuration the app it prepares for will see.

use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar, SecretEnvSource};

use crate::api::DeploymentChecklistSpec;

/// The name of the environment variable carrying spec.app.port.
pub(crate) const PORT_VAR: &str = "PORT";

/// spec.app.env followed by PORT. PORT is set for the migration too: release configs often
/// read it at boot and would fail without it. The CRD refuses PORT in spec.app.env.
pub(crate) fn env(spec: &DeploymentChecklistSpec) -> Vec<EnvVar> {
    let mut env = spec.app.env.clone();
    env.push(EnvVar {
        name: PORT_VAR.into(),
        value: Some(spec.app.port.to_string()),
        ..EnvVar::default()
    });
    env
}

/// One envFrom secretRef per Secret with inject: true, in spec order (a later Secret wins a
/// key both hold, as Kubernetes resolves envFrom). None when nothing is injected, so the
/// applied object does not claim an empty list.
pub(crate) fn env_from(spec: &DeploymentChecklistSpec) -> Option<Vec<EnvFromSource>> {
    let sources: Vec<EnvFromSource> = spec
        .secrets
        .iter()
        .filter(|secret| secret.inject)
        .map(|secret| EnvFromSource {
            secret_ref: Some(SecretEnvSource {
                name: secret.secret_name.clone(),
                optional: None,
            }),
            ..EnvFromSource::default()
        })
        .collect();
    (!sources.is_empty()).then_some(sources)
}

/// A list field of a container: None when empty, so server-side apply owns no empty list.
pub(crate) fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}
