//! Which Secrets and ConfigMaps the app's pods read, so `spec.app.rollOnChange` can only name
//! objects whose change the pods would actually see at start.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::EnvVar;

use crate::api::DeploymentChecklistSpec;

/// The kind of a rollOnChange Secret, as status and the revision hash name it.
pub const SECRET: &str = "Secret";
/// The kind of a rollOnChange ConfigMap.
pub const CONFIG_MAP: &str = "ConfigMap";

/// The Secrets and ConfigMaps the app's pods read, by name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PodReads {
    /// Injected (envFrom), referred to by an env var, or mounted as a volume.
    pub secrets: BTreeSet<String>,
    /// Referred to by an env var or mounted as a volume.
    pub config_maps: BTreeSet<String>,
}

/// What the pods of `spec` read: every container's env (the app's, the sidecars', the init
/// containers'), the injected Secrets and the volumes.
pub fn pod_reads(spec: &DeploymentChecklistSpec) -> PodReads {
    let app = &spec.app;
    let mut reads = PodReads::default();
    let envs = std::iter::once(&app.env)
        .chain(app.sidecars.iter().map(|c| &c.env))
        .chain(app.init_containers.iter().map(|c| &c.env));
    for var in envs.flatten() {
        env_reads(var, &mut reads);
    }
    reads.secrets.extend(
        spec.secrets
            .iter()
            .filter(|s| s.inject)
            .map(|s| s.secret_name.clone()),
    );
    for volume in &app.volumes {
        if let Some(name) = volume.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            reads.secrets.insert(name);
        }
        if let Some(config_map) = &volume.config_map {
            reads.config_maps.insert(config_map.name.clone());
        }
    }
    reads
}

fn env_reads(var: &EnvVar, reads: &mut PodReads) {
    let Some(from) = &var.value_from else {
        return;
    };
    if let Some(key) = &from.secret_key_ref {
        reads.secrets.insert(key.name.clone());
    }
    if let Some(key) = &from.config_map_key_ref {
        reads.config_maps.insert(key.name.clone());
    }
}

/// The rollOnChange objects of `spec` as (kind, name), Secrets first, each once.
pub fn roll_on_change(spec: &DeploymentChecklistSpec) -> Vec<(&'static str, String)> {
    let Some(listed) = &spec.app.roll_on_change else {
        return Vec::new();
    };
    let secrets: BTreeSet<&String> = listed.secrets.iter().collect();
    let config_maps: BTreeSet<&String> = listed.config_maps.iter().collect();
    secrets
        .into_iter()
        .map(|name| (SECRET, name.clone()))
        .chain(
            config_maps
                .into_iter()
                .map(|name| (CONFIG_MAP, name.clone())),
        )
        .collect()
}

/// The rollOnChange names the pods do not read, each said for the person who wrote it: a
/// rotation of such an object would roll pods that never see it.
pub fn unread_rotations(spec: &DeploymentChecklistSpec) -> Vec<String> {
    let reads = pod_reads(spec);
    roll_on_change(spec)
        .into_iter()
        .filter(|(kind, name)| match *kind {
            SECRET => !reads.secrets.contains(name),
            _ => !reads.config_maps.contains(name),
        })
        .map(|(kind, name)| {
            let field = if kind == SECRET {
                "secrets"
            } else {
                "configMaps"
            };
            format!(
                "spec.app.rollOnChange.{field} names {kind} {:?}, which the app's pods do not read \
                 (not injected, not in an env var's valueFrom, not a volume)",
                crate::text::line(&name, 253)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::fixtures::dialectic_spec;

    fn spec(app: serde_json::Value) -> DeploymentChecklistSpec {
        let mut spec = serde_json::to_value(dialectic_spec()).unwrap();
        for (key, value) in app.as_object().unwrap() {
            spec["app"][key] = value.clone();
        }
        serde_json::from_value(spec).unwrap()
    }

    #[test]
    fn the_pods_read_env_references_injected_secrets_and_volumes_of_every_container() {
        let spec = spec(json!({
            "env": [
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api-token", "key": "t"}}},
                {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "m"}}},
                {"name": "PLAIN", "value": "x"},
            ],
            "volumes": [
                {"name": "tls", "secret": {"secretName": "tls-cert"}},
                {"name": "conf", "configMap": {"name": "nginx-conf"}},
                {"name": "tmp", "emptyDir": {}},
            ],
            "sidecars": [{"name": "proxy", "image": "example.com/proxy:1.0", "env": [
                {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "proxy-key", "key": "k"}}},
            ]}],
        }));
        let reads = pod_reads(&spec);
        let injected: Vec<String> = dialectic_spec()
            .secrets
            .iter()
            .filter(|s| s.inject)
            .map(|s| s.secret_name.clone())
            .collect();
        assert!(!injected.is_empty(), "the fixture injects a Secret");
        for name in ["api-token", "tls-cert", "proxy-key"]
            .into_iter()
            .map(String::from)
            .chain(injected)
        {
            assert!(reads.secrets.contains(&name), "{name} in {reads:?}");
        }
        assert_eq!(
            reads.config_maps,
            BTreeSet::from(["app-config".to_string(), "nginx-conf".to_string()])
        );
    }

    #[test]
    fn a_rotation_of_an_object_the_pods_do_not_read_is_named() {
        let spec = spec(json!({
            "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api-token", "key": "t"}}}],
            "rollOnChange": {"secrets": ["api-token", "unrelated"], "configMaps": ["nowhere"]},
        }));
        assert_eq!(
            roll_on_change(&spec),
            vec![
                (SECRET, "api-token".to_string()),
                (SECRET, "unrelated".to_string()),
                (CONFIG_MAP, "nowhere".to_string()),
            ]
        );
        let unread = unread_rotations(&spec);
        assert_eq!(unread.len(), 2, "{unread:?}");
        assert!(unread[0].starts_with(
            "spec.app.rollOnChange.secrets names Secret \"unrelated\", which the app's pods do not read"
        ));
        assert!(unread[1].contains("configMaps names ConfigMap \"nowhere\""));
        assert!(unread_rotations(&dialectic_spec()).is_empty());
    }
}
