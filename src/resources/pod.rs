//! The pod specs of what the operator creates, built in layers from `spec.app`:
//!
//! - [`placed_pod`]: identity, security and placement (pull secrets, node selector, tolerations,
//!   node affinity, priority class), for every pod, a job check's included;
//! - [`job_pod`]: with the app's volumes, init containers and sidecars, for the migration and
//!   hook Jobs, which run the app's code against the same files and the same database proxy;
//! - [`app_pod`]: with pod (anti-)affinity, topology spread and the grace period, which only mean
//!   something for the long-running app pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, Container, LocalObjectReference, PodSpec, SecurityContext,
    TopologySpreadConstraint, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::env::non_empty;
use super::security;
use crate::api::{AppSpec, AppVolume, ExtraContainer};

/// The pod every Job and app pod starts from: the app's identity and security settings, and
/// where its pods may run.
pub(crate) fn placed_pod(app: &AppSpec) -> PodSpec {
    PodSpec {
        image_pull_secrets: non_empty(&app.image_pull_secrets).map(|secrets| {
            secrets
                .into_iter()
                .map(|s| LocalObjectReference { name: s.name })
                .collect()
        }),
        node_selector: (!app.node_selector.is_empty()).then(|| app.node_selector.clone()),
        tolerations: non_empty(&app.tolerations),
        // A Job's pod is not one of the app's: pod (anti-)affinity written for the app's pods
        // would count it or keep it away from them, so only the nodes are kept.
        affinity: app
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.clone())
            .map(|node_affinity| Affinity {
                node_affinity: Some(node_affinity),
                ..Affinity::default()
            }),
        priority_class_name: app.priority_class_name.clone(),
        ..security::pod_spec(app)
    }
}

/// The pod of a migration or hook Job, the caller adding its container: [`placed_pod`] with the
/// app's volumes, init containers and sidecars.
pub(crate) fn job_pod(app: &AppSpec) -> PodSpec {
    PodSpec {
        volumes: volumes(app),
        init_containers: init_containers(app),
        ..placed_pod(app)
    }
}

/// The pod of the app, the caller adding the app container: [`job_pod`] with the whole
/// affinity, the topology spread (counting the pods `selector` selects when a constraint names
/// none) and the termination grace period.
pub(crate) fn app_pod(app: &AppSpec, selector: &BTreeMap<String, String>) -> PodSpec {
    let spread: Vec<TopologySpreadConstraint> = app
        .topology_spread_constraints
        .iter()
        .map(|constraint| TopologySpreadConstraint {
            label_selector: Some(constraint.label_selector.clone().unwrap_or(LabelSelector {
                match_labels: Some(selector.clone()),
                ..LabelSelector::default()
            })),
            ..constraint.clone()
        })
        .collect();
    PodSpec {
        affinity: app.affinity.clone(),
        topology_spread_constraints: non_empty(&spread),
        termination_grace_period_seconds: app.termination_grace_period_seconds,
        ..job_pod(app)
    }
}

/// The pod's volumes, in the form core/v1 takes them.
fn volumes(app: &AppSpec) -> Option<Vec<Volume>> {
    let volumes: Vec<Volume> = app.volumes.iter().map(volume).collect();
    non_empty(&volumes)
}

fn volume(volume: &AppVolume) -> Volume {
    Volume {
        name: volume.name.clone(),
        secret: volume.secret.clone(),
        config_map: volume.config_map.clone(),
        empty_dir: volume.empty_dir.clone(),
        persistent_volume_claim: volume.persistent_volume_claim.clone(),
        ..Volume::default()
    }
}

/// The sidecars, as native sidecars (restartPolicy Always), then the init containers. Sidecars
/// come first so an init container can already reach what they serve (a database proxy).
fn init_containers(app: &AppSpec) -> Option<Vec<Container>> {
    let containers: Vec<Container> = app
        .sidecars
        .iter()
        .map(|sidecar| Container {
            restart_policy: Some("Always".into()),
            ..extra_container(sidecar)
        })
        .chain(app.init_containers.iter().map(extra_container))
        .collect();
    non_empty(&containers)
}

/// A sidecar or init container as written, under the restricted defaults.
fn extra_container(extra: &ExtraContainer) -> Container {
    Container {
        name: extra.name.clone(),
        image: Some(extra.image.clone()),
        command: non_empty(&extra.command),
        args: non_empty(&extra.args),
        env: non_empty(&extra.env),
        ports: non_empty(&extra.ports),
        resources: extra.resources.clone(),
        volume_mounts: non_empty(&extra.volume_mounts),
        security_context: Some(extra_security_context(extra)),
        ..Container::default()
    }
}

/// A sidecar's or init container's own securityContext over no privilege escalation and every
/// capability dropped. The app's overrides are not inherited: another image, other needs.
pub(crate) fn extra_security_context(extra: &ExtraContainer) -> SecurityContext {
    let mut context = extra.security_context.clone().unwrap_or_default();
    context.allow_privilege_escalation.get_or_insert(false);
    context.capabilities.get_or_insert_with(|| Capabilities {
        add: None,
        drop: Some(vec!["ALL".into()]),
    });
    context
}

/// The names of the volumes `app`'s containers mount that `spec.app.volumes` does not declare,
/// each with the field that mounts it, e.g. `spec.app.sidecars[proxy].volumeMounts mounts volume
/// "certs"`.
/// The CRD checks the app container's mounts; the sidecars' are checked here, where the cost
/// of a nested rule does not count against the API server's CEL budget.
pub fn undeclared_mounts(app: &AppSpec) -> Vec<String> {
    let declared = |name: &str| app.volumes.iter().any(|v| v.name == name);
    let lists = [("spec.app.volumeMounts".to_owned(), &app.volume_mounts)];
    let extras = app
        .sidecars
        .iter()
        .map(|c| ("sidecars", c))
        .chain(app.init_containers.iter().map(|c| ("initContainers", c)))
        .map(|(list, c)| {
            let name = crate::text::line(&c.name, 63);
            (
                format!("spec.app.{list}[{name}].volumeMounts"),
                &c.volume_mounts,
            )
        });
    lists
        .into_iter()
        .chain(extras)
        .flat_map(|(field, mounts)| {
            mounts
                .iter()
                .filter(|m| !declared(&m.name))
                .map(move |m| format!("{field} mounts volume {:?}", crate::text::line(&m.name, 63)))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::resources::fixtures::dialectic;

    fn app(extra: serde_json::Value) -> AppSpec {
        let mut app = serde_json::to_value(dialectic().spec.app).unwrap();
        for (key, value) in extra.as_object().unwrap() {
            app[key] = value.clone();
        }
        serde_json::from_value(app).unwrap()
    }

    fn production() -> AppSpec {
        app(json!({
            "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "tls", "secret": {"secretName": "tls"}}],
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            "sidecars": [{"name": "proxy", "image": "example.com/proxy:1.0",
                          "securityContext": {"runAsUser": 2000}}],
            "initContainers": [{"name": "warm", "image": "example.com/tools:1.0"}],
            "imagePullSecrets": [{"name": "ghcr"}],
            "nodeSelector": {"kubernetes.io/arch": "amd64"},
            "tolerations": [{"key": "dedicated", "operator": "Exists"}],
            "affinity": {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["web"]}]}]}},
                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}]},
            },
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"},
                {"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                 "labelSelector": {"matchLabels": {"tier": "web"}}},
            ],
            "priorityClassName": "high",
            "terminationGracePeriodSeconds": 45,
        }))
    }

    #[test]
    fn the_app_pod_carries_every_production_field() {
        let selector = BTreeMap::from([("app".to_string(), "web".to_string())]);
        let pod = app_pod(&production(), &selector);
        let names: Vec<_> = pod
            .init_containers
            .iter()
            .flatten()
            .map(|c| (c.name.as_str(), c.restart_policy.as_deref()))
            .collect();
        assert_eq!(names, [("proxy", Some("Always")), ("warm", None)]);
        let proxy = &pod.init_containers.as_ref().unwrap()[0];
        let context = proxy.security_context.as_ref().unwrap();
        assert_eq!(context.run_as_user, Some(2000), "its own setting kept");
        assert_eq!(context.allow_privilege_escalation, Some(false));
        assert_eq!(
            context.capabilities.as_ref().and_then(|c| c.drop.clone()),
            Some(vec!["ALL".to_string()])
        );
        assert_eq!(pod.volumes.as_ref().map(Vec::len), Some(2));
        assert_eq!(pod.image_pull_secrets.as_ref().unwrap()[0].name, "ghcr");
        assert_eq!(pod.priority_class_name.as_deref(), Some("high"));
        assert_eq!(pod.termination_grace_period_seconds, Some(45));
        assert!(pod.affinity.as_ref().unwrap().pod_anti_affinity.is_some());
        let spread = pod.topology_spread_constraints.unwrap();
        assert_eq!(
            spread[0].label_selector.as_ref().unwrap().match_labels,
            Some(selector),
            "a constraint without a selector counts the app's pods"
        );
        assert_eq!(
            spread[1].label_selector.as_ref().unwrap().match_labels,
            Some(BTreeMap::from([("tier".to_string(), "web".to_string())])),
            "the user's own selector kept"
        );
        assert_eq!(pod.security_context.unwrap().run_as_non_root, Some(true));
    }

    #[test]
    fn jobs_get_the_volumes_and_containers_but_only_node_placement() {
        let pod = job_pod(&production());
        assert_eq!(pod.init_containers.as_ref().map(Vec::len), Some(2));
        assert_eq!(pod.volumes.as_ref().map(Vec::len), Some(2));
        let affinity = pod.affinity.unwrap();
        assert!(affinity.node_affinity.is_some());
        assert!(
            affinity.pod_anti_affinity.is_none(),
            "not one of the app's pods"
        );
        assert!(pod.topology_spread_constraints.is_none());
        assert_eq!(pod.termination_grace_period_seconds, None);

        let checked = placed_pod(&production());
        assert!(checked.volumes.is_none() && checked.init_containers.is_none());
        assert_eq!(checked.tolerations.as_ref().map(Vec::len), Some(1));
        assert_eq!(checked.node_selector.unwrap().len(), 1);
    }

    #[test]
    fn an_app_without_the_fields_gets_the_pod_it_had() {
        let mut plain = dialectic().spec.app;
        plain.pre_stop = None;
        plain.termination_grace_period_seconds = None;
        let pod = app_pod(&plain, &BTreeMap::new());
        assert_eq!(
            pod,
            PodSpec {
                ..crate::resources::security::pod_spec(&plain)
            }
        );
    }

    #[test]
    fn mounts_of_undeclared_volumes_are_named_with_their_container() {
        assert!(undeclared_mounts(&production()).is_empty());
        let broken = app(json!({
            "volumes": [{"name": "tmp", "emptyDir": {}}],
            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
            "sidecars": [{"name": "proxy", "image": "example.com/proxy:1.0",
                          "volumeMounts": [{"name": "certs", "mountPath": "/certs"}]}],
        }));
        assert_eq!(
            undeclared_mounts(&broken),
            [
                "spec.app.volumeMounts mounts volume \"cache\"",
                "spec.app.sidecars[proxy].volumeMounts mounts volume \"certs\"",
            ]
        );
    }
}
