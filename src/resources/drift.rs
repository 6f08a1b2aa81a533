//! Which fields of an owned object a person changed by hand, so the operator can put them back
//! and name them in one Warning Event.
//!
//! The live object is never equal to the desired one: the API server fills in defaults
//! (imagePullPolicy, probe schemes, clusterIP, nodePorts...), stores quantities in canonical form
//! and keeps what other controllers added (annotations, an HPA's replicas). So drift is judged
//! only on what the desired object sets, with [`subset`]: a field the builder leaves unset can
//! never drift, and a field it sets drifts when the live value differs from the one it gives.
//!
//! Fields are named at the depth a person edits them (`spec.template.spec.containers[app].env`),
//! not at the leaf that differs, so one Event stays short and points at what to look at.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use serde::Serialize;
use serde_json::Value;

/// Nesting deeper than any Kubernetes object goes; past it the comparison gives up as drifted.
const MAX_DEPTH: usize = 32;

/// The fields of `desired` that `live` no longer carries, by their path in the Deployment.
///
/// `spec.replicas` counts only when `replicas_owned`: when the user leaves scaling to an HPA,
/// the replica count is not the operator's to put back. Containers are matched by name; one the
/// desired template has and the live one lacks, or one added by hand, is named as a whole.
/// Added list items (a container, an env var) are drift too, though an apply alone does not
/// remove them when another field manager owns them.
pub(crate) fn deployment_drift(
    desired: &Deployment,
    live: &Deployment,
    replicas_owned: bool,
) -> Vec<String> {
    let (desired, live) = (to_json(desired), to_json(live));
    let mut drifted = Vec::new();
    metadata_drift(
        "metadata",
        &desired["metadata"],
        &live["metadata"],
        &mut drifted,
    );

    let (spec, live_spec) = (&desired["spec"], &live["spec"]);
    let handled = ["replicas", "selector", "template"];
    fields_drift("spec", spec, live_spec, &handled, &mut drifted);
    if replicas_owned && !subset(&spec["replicas"], &live_spec["replicas"]) {
        drifted.push("spec.replicas".to_owned());
    }
    // The selector is immutable and decides which pods are the app's: any difference counts.
    if !exact(&spec["selector"], &live_spec["selector"]) {
        drifted.push("spec.selector".to_owned());
    }

    let (template, live_template) = (&spec["template"], &live_spec["template"]);
    metadata_drift(
        "spec.template.metadata",
        &template["metadata"],
        &live_template["metadata"],
        &mut drifted,
    );
    let (pod, live_pod) = (&template["spec"], &live_template["spec"]);
    fields_drift(
        "spec.template.spec",
        pod,
        live_pod,
        &["containers"],
        &mut drifted,
    );
    containers_drift(
        "spec.template.spec.containers",
        &pod["containers"],
        &live_pod["containers"],
        &mut drifted,
    );

    drifted.sort();
    drifted
}

/// The fields of `desired` that `live` no longer carries, by their path in the Service.
///
/// The selector must be equal, not a subset: a key added by hand narrows which pods receive
/// traffic, so it is drift as much as a changed value.
pub(crate) fn service_drift(desired: &Service, live: &Service) -> Vec<String> {
    let (desired, live) = (to_json(desired), to_json(live));
    let mut drifted = Vec::new();
    metadata_drift(
        "metadata",
        &desired["metadata"],
        &live["metadata"],
        &mut drifted,
    );
    let (spec, live_spec) = (&desired["spec"], &live["spec"]);
    fields_drift("spec", spec, live_spec, &["selector"], &mut drifted);
    if !exact(&spec["selector"], &live_spec["selector"]) {
        drifted.push("spec.selector".to_owned());
    }
    drifted.sort();
    drifted
}

/// Whether `live` (an object's spec as JSON) carries everything `desired` sets, as drift judges
/// it: for the owned objects applied whole when they differ (the disruption budget, the
/// autoscaler).
pub(crate) fn carries(desired: &impl Serialize, live: &Value) -> bool {
    subset(&to_json(desired), live)
}

/// An object as JSON, where unset fields are absent, so "what the desired object sets" is
/// "what its JSON holds".
///
/// k8s-openapi objects always serialize (their maps have string keys); were one not to, the
/// apply of the same object would fail before any drift mattered, so Null (nothing) is enough.
fn to_json(object: &impl Serialize) -> Value {
    serde_json::to_value(object).unwrap_or_default()
}

/// Whether `live` is `desired` exactly, or `desired` is unset: for what decides routing, where a
/// key added by hand matters as much as a changed one.
fn exact(desired: &Value, live: &Value) -> bool {
    desired.is_null() || desired == live
}

/// Labels and annotations under `prefix`: only the keys the desired object sets, so those other
/// tools add (`deployment.kubernetes.io/revision`, `kubectl.kubernetes.io/restartedAt`) are fine.
/// The rest of metadata is identity (name, namespace), the API server's, or owner references,
/// which the garbage collector and other owners write too.
fn metadata_drift(prefix: &str, desired: &Value, live: &Value, drifted: &mut Vec<String>) {
    for key in ["labels", "annotations"] {
        if !subset(&desired[key], &live[key]) {
            drifted.push(format!("{prefix}.{key}"));
        }
    }
}

/// Every field of the object `desired` but the `handled` ones, named `prefix.field` when `live`
/// does not carry it.
fn fields_drift(
    prefix: &str,
    desired: &Value,
    live: &Value,
    handled: &[&str],
    drifted: &mut Vec<String>,
) {
    let Some(fields) = desired.as_object() else {
        return;
    };
    for (field, value) in fields {
        if !handled.contains(&field.as_str()) && !subset(value, &live[field.as_str()]) {
            drifted.push(format!("{prefix}.{field}"));
        }
    }
}

/// Containers matched by name: each field of a desired container under `prefix[name]`, and a
/// container missing from, or added to, the live list as a whole.
fn containers_drift(prefix: &str, desired: &Value, live: &Value, drifted: &mut Vec<String>) {
    let (desired, live) = (items(desired), items(live));
    let name = |container: &Value| container["name"].as_str().unwrap_or_default().to_owned();
    for container in desired {
        let name = name(container);
        let path = format!("{prefix}[{name}]");
        match live.iter().find(|l| l["name"] == container["name"]) {
            Some(live) => fields_drift(&path, container, live, &["name"], drifted),
            None => drifted.push(path),
        }
    }
    for container in live {
        if !desired.iter().any(|d| d["name"] == container["name"]) {
            drifted.push(format!("{prefix}[{}]", name(container)));
        }
    }
}

/// The items of a JSON list, none when it is absent.
fn items(list: &Value) -> &[Value] {
    list.as_array().map_or(&[], Vec::as_slice)
}

/// Whether `live` carries everything `desired` sets: the heart of drift detection.
///
/// Null in `desired` is unset, so it matches anything. Objects match when each of their fields
/// does, whatever else `live` holds (the API server's defaults). Lists must have the same length,
/// so an item added by hand is drift; their items pair by [`item_key`] when every desired item
/// has one (the list-map keys of server-side apply: env by name, ports by name or number), by
/// position otherwise. Resource `limits` and `requests` compare quantities by value, since the
/// API server rewrites `0.5` as `500m`. Other values must be equal.
///
/// Recursion follows `desired`, a Kubernetes object the operator built, so it is shallow; the
/// [`MAX_DEPTH`] cap still answers "drifted" rather than follow a value deeper than any object.
fn subset(desired: &Value, live: &Value) -> bool {
    subset_at(desired, live, 0)
}

/// [`subset`] at `depth` levels down.
fn subset_at(desired: &Value, live: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match desired {
        Value::Null => true,
        Value::Object(fields) => fields.iter().all(|(field, value)| {
            let live = &live[field.as_str()];
            match (field.as_str(), value) {
                ("limits" | "requests", Value::Object(quantities)) => quantities
                    .iter()
                    .all(|(name, q)| same_quantity(q, &live[name.as_str()])),
                // An emptyDir's size and an autoscaler's target: quantities too.
                ("sizeLimit" | "averageValue", quantity) => same_quantity(quantity, live),
                _ => subset_at(value, live, depth + 1),
            }
        }),
        Value::Array(desired) => {
            // Absent and empty are one: Go omits an empty list from the JSON it returns.
            let live = match live {
                Value::Null => &[][..],
                Value::Array(live) => live.as_slice(),
                _ => return false,
            };
            let keys: Option<Vec<String>> = desired.iter().map(item_key).collect();
            desired.len() == live.len()
                && match keys {
                    Some(keys) => desired.iter().zip(keys).all(|(item, key)| {
                        live.iter()
                            .find(|l| item_key(l).as_ref() == Some(&key))
                            .is_some_and(|l| subset_at(item, l, depth + 1))
                    }),
                    None => desired
                        .iter()
                        .zip(live)
                        .all(|(item, l)| subset_at(item, l, depth + 1)),
                }
        }
        // Go leaves a zero value out of the JSON it returns (`omitempty`): a probe's
        // `initialDelaySeconds: 0` reads back absent, and absent means 0.
        scalar if live.is_null() => is_zero(scalar),
        scalar => scalar == live,
    }
}

/// Whether a JSON scalar is Go's zero value for its type: 0, false or "".
fn is_zero(scalar: &Value) -> bool {
    match scalar {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// What identifies an item of a keyed list: its name, or for an unnamed port its number and
/// protocol (TCP when unset, the API server's default, so an unset protocol still pairs).
fn item_key(item: &Value) -> Option<String> {
    if let Some(name) = item["name"].as_str() {
        return Some(name.to_owned());
    }
    let port = item.get("containerPort").or_else(|| item.get("port"))?;
    let protocol = item["protocol"].as_str().unwrap_or("TCP");
    Some(format!("{port}/{protocol}"))
}

/// Whether two resource quantities are equal in value (`0.5` and `500m`, `4096Mi` and `4Gi`),
/// or equal as written when one of them is not a quantity.
fn same_quantity(desired: &Value, live: &Value) -> bool {
    desired == live || matches!((quantity(desired), quantity(live)), (Some(d), Some(l)) if d == l)
}

/// The value of a quantity: a decimal number with an optional exponent or SI or binary suffix.
///
/// The number is parsed with its decimal scale folded into the exponent, and binary suffixes
/// multiply by a power of two, so two spellings of one value land on the same float.
fn quantity(value: &Value) -> Option<f64> {
    const DECIMAL: [(&str, i32); 9] = [
        ("n", -9),
        ("u", -6),
        ("m", -3),
        ("k", 3),
        ("M", 6),
        ("G", 9),
        ("T", 12),
        ("P", 15),
        ("E", 18),
    ];
    const BINARY: [(&str, i32); 6] = [
        ("Ki", 10),
        ("Mi", 20),
        ("Gi", 30),
        ("Ti", 40),
        ("Pi", 50),
        ("Ei", 60),
    ];
    let text = value.as_str()?;
    // Only digits, a sign and a point before the suffix: keeps `inf` and `NaN` out.
    let plain = |number: &str| {
        !number.is_empty()
            && number
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-'))
    };
    for (suffix, power) in BINARY {
        if let Some(number) = text.strip_suffix(suffix).filter(|n| plain(n)) {
            return Some(number.parse::<f64>().ok()? * 2f64.powi(power));
        }
    }
    for (suffix, exponent) in DECIMAL {
        if let Some(number) = text.strip_suffix(suffix).filter(|n| plain(n)) {
            return format!("{number}e{exponent}").parse().ok();
        }
    }
    // No suffix: a plain number, or one with an exponent (`1e3`).
    let (mantissa, exponent) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
    if !plain(mantissa) || exponent.parse::<i32>().is_err() {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::apps::v1::DeploymentStatus;
    use k8s_openapi::api::core::v1::{
        Container, EnvVar, LoadBalancerStatus, PodSpec, ResourceRequirements, ServicePort,
        ServiceStatus,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};
    use serde_json::json;

    use super::*;
    use crate::api::ServiceType;
    use crate::resources::fixtures::dialectic;
    use crate::resources::labels;
    use crate::resources::revision::REVISION_ANNOTATION;
    use crate::resources::{deployment, revision_hash, service};

    const APP: &str = "spec.template.spec.containers[app]";

    fn desired_deployment() -> Deployment {
        let spec = dialectic().spec;
        deployment(&dialectic(), &spec, &revision_hash(&spec))
    }

    /// What the API server stores and other tools add, none of it set by the operator.
    fn server_metadata(metadata: &mut ObjectMeta) {
        metadata.uid = Some("0b9a3c1e-2d4f-4a6b-8c7d-9e0f1a2b3c4d".into());
        metadata.resource_version = Some("48213".into());
        metadata.generation = Some(3);
        metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some("checklist-operator".into()),
            operation: Some("Apply".into()),
            ..ManagedFieldsEntry::default()
        }]);
    }

    /// `desired` as the API server returns it: defaults filled in, status and annotations added.
    fn live_deployment(desired: &Deployment) -> Deployment {
        let mut live = desired.clone();
        server_metadata(&mut live.metadata);
        live.metadata
            .annotations
            .get_or_insert_default()
            .insert("deployment.kubernetes.io/revision".into(), "3".into());
        let template = live.spec.template.metadata.get_or_insert_default();
        template.annotations.get_or_insert_default().insert(
            "kubectl.kubernetes.io/restartedAt".into(),
            "2026-01-06T11:22:33Z".into(),
        );
        let pod = live.spec.template.spec.get_or_insert_default();
        pod.dns_policy = Some("ClusterFirst".into());
        pod.restart_policy = Some("Always".into());
        pod.scheduler_name = Some("default-scheduler".into());
        pod.termination_grace_period_seconds.get_or_insert(30);
        for container in &mut pod.containers {
            container.image_pull_policy = Some("IfNotPresent".into());
            container.termination_message_path = Some("/dev/termination-log".into());
            container.termination_message_policy = Some("File".into());
            for probe in [
                &mut container.liveness_probe,
                &mut container.readiness_probe,
                &mut container.startup_probe,
            ] {
                if let Some(get) = probe.as_mut().and_then(|p| p.http_get.as_mut()) {
                    get.scheme = Some("HTTP".into());
                }
                // Go's omitempty: a zero delay is left out of the JSON the server returns.
                if let Some(probe) = probe.as_mut()
                    && probe.initial_delay_seconds == Some(0)
                {
                    probe.initial_delay_seconds = None;
                }
            }
        }
        live.status = Some(DeploymentStatus {
            replicas: Some(2),
            ready_replicas: Some(2),
            observed_generation: Some(3),
            ..DeploymentStatus::default()
        });
        live
    }

    /// `desired` as the API server returns it: addresses allocated, defaults filled in.
    fn live_service(desired: &Service) -> Service {
        let mut live = desired.clone();
        server_metadata(&mut live.metadata);
        let spec = live.spec.get_or_insert_default();
        spec.cluster_ip = Some("10.96.0.12".into());
        spec.cluster_ips = Some(vec!["10.96.0.12".into()]);
        spec.session_affinity = Some("None".into());
        spec.ip_families = Some(vec!["IPv4".into()]);
        spec.ip_family_policy = Some("SingleStack".into());
        spec.internal_traffic_policy = Some("Cluster".into());
        if spec.type_.as_deref() == Some("NodePort") {
            for port in spec.ports.iter_mut().flatten() {
                port.node_port = Some(30080);
            }
        }
        live.status = Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus::default()),
            ..ServiceStatus::default()
        });
        live
    }

    fn pod(deployment: &mut Deployment) -> &mut PodSpec {
        deployment.spec.template.spec.as_mut().expect("a pod spec")
    }

    fn app(deployment: &mut Deployment) -> &mut Container {
        pod(deployment)
            .containers
            .iter_mut()
            .find(|c| c.name == "app")
            .expect("the app container")
    }

    fn env_var(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: Some(value.into()),
            ..EnvVar::default()
        }
    }

    #[test]
    fn a_live_deployment_with_api_server_defaults_has_not_drifted() {
        let desired = desired_deployment();
        let live = live_deployment(&desired);
        assert_eq!(
            deployment_drift(&desired, &live, true),
            Vec::<String>::new()
        );
        assert_eq!(
            deployment_drift(&desired, &live, false),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_live_service_with_api_server_defaults_has_not_drifted() {
        let mut checklist = dialectic();
        for type_ in [ServiceType::ClusterIp, ServiceType::NodePort] {
            checklist.spec.app.service.type_ = type_;
            let desired = service(&checklist);
            let live = live_service(&desired);
            assert_eq!(service_drift(&desired, &live), Vec::<String>::new());
        }
    }

    #[test]
    fn kubectl_set_image_drifts_the_app_image() {
        let desired = desired_deployment();
        let mut live = live_deployment(&desired);
        app(&mut live).image = Some("ghcr.io/acme/dialectic:hotfix".into());
        assert_eq!(
            deployment_drift(&desired, &live, true),
            [format!("{APP}.image")]
        );
    }

    #[test]
    fn a_changed_probe_path_drifts_that_probe() {
        let desired = desired_deployment();
        let mut live = live_deployment(&desired);
        let probe = app(&mut live).readiness_probe.as_mut().expect("a probe");
        probe.http_get.as_mut().expect("an httpGet").path = Some("/".into());
        assert_eq!(
            deployment_drift(&desired, &live, true),
            [format!("{APP}.readinessProbe")]
        );
    }

    #[test]
    fn changed_replicas_drift_only_when_the_operator_owns_them() {
        let desired = desired_deployment();
        let mut live = live_deployment(&desired);
        live.spec.replicas = Some(7);
        assert_eq!(deployment_drift(&desired, &live, true), ["spec.replicas"]);
        assert_eq!(
            deployment_drift(&desired, &live, false),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_changed_env_var_and_one_added_by_hand_drift_the_env() {
        let desired = desired_deployment();
        let expected = [format!("{APP}.env")];

        let mut changed = live_deployment(&desired);
        let env = app(&mut changed).env.as_mut().expect("env");
        env[3] = env_var("POOL_SIZE", "50");
        assert_eq!(deployment_drift(&desired, &changed, true), expected);

        let mut added = live_deployment(&desired);
        let env = app(&mut added).env.as_mut().expect("env");
        env.push(env_var("LOG_LEVEL", "debug"));
        assert_eq!(deployment_drift(&desired, &added, true), expected);
    }

    #[test]
    fn env_vars_pair_by_name_not_position() {
        let desired = desired_deployment();
        let mut live = live_deployment(&desired);
        app(&mut live).env.as_mut().expect("env").reverse();
        assert_eq!(
            deployment_drift(&desired, &live, true),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_changed_selector_or_template_annotation_is_named() {
        let desired = desired_deployment();
        let mut selector = live_deployment(&desired);
        let match_labels = selector.spec.selector.match_labels.as_mut();
        match_labels
            .expect("match labels")
            .insert("track".into(), "stable".into());
        assert_eq!(
            deployment_drift(&desired, &selector, true),
            ["spec.selector"]
        );

        let mut annotation = live_deployment(&desired);
        let template = annotation
            .spec
            .template
            .metadata
            .as_mut()
            .expect("metadata");
        let annotations = template.annotations.as_mut().expect("annotations");
        annotations.insert(REVISION_ANNOTATION.into(), "edited".into());
        assert_eq!(
            deployment_drift(&desired, &annotation, true),
            ["spec.template.metadata.annotations"]
        );
    }

    #[test]
    fn a_sidecar_added_by_hand_is_named() {
        let desired = desired_deployment();
        let mut live = live_deployment(&desired);
        pod(&mut live).containers.push(Container {
            name: "sidecar".into(),
            image: Some("busybox:1.37".into()),
            ..Container::default()
        });
        assert_eq!(
            deployment_drift(&desired, &live, true),
            ["spec.template.spec.containers[sidecar]"]
        );
    }

    #[test]
    fn a_renamed_app_container_is_missing_and_added() {
        let desired = desired_deployment();
        let mut live = live_deployment(&desired);
        app(&mut live).name = "main".into();
        assert_eq!(
            deployment_drift(&desired, &live, true),
            [APP, "spec.template.spec.containers[main]"]
        );
    }

    #[test]
    fn a_removed_pod_template_label_drifts_the_template_labels() {
        let desired = desired_deployment();
        let mut live = live_deployment(&desired);
        let template = live.spec.template.metadata.as_mut().expect("metadata");
        template
            .labels
            .as_mut()
            .expect("labels")
            .remove(labels::REVISION);
        assert_eq!(
            deployment_drift(&desired, &live, true),
            ["spec.template.metadata.labels"]
        );
    }

    #[test]
    fn pod_settings_changed_by_hand_are_named() {
        let mut spec = dialectic().spec;
        spec.app.service_account_name = Some("dialectic".into());
        let desired = deployment(&dialectic(), &spec, "0123456789");
        let mut live = live_deployment(&desired);
        let pod = pod(&mut live);
        pod.automount_service_account_token = Some(true);
        pod.service_account_name = Some("admin".into());
        let context = pod.security_context.as_mut().expect("a security context");
        context.run_as_non_root = Some(false);
        assert_eq!(
            deployment_drift(&desired, &live, true),
            [
                "spec.template.spec.automountServiceAccountToken",
                "spec.template.spec.securityContext",
                "spec.template.spec.serviceAccountName",
            ]
        );
    }

    #[test]
    fn a_field_the_operator_leaves_unset_never_drifts() {
        let desired = desired_deployment();
        assert_eq!(pod(&mut desired.clone()).service_account_name, None);
        let mut live = live_deployment(&desired);
        pod(&mut live).service_account_name = Some("admin".into());
        app(&mut live).working_dir = Some("/srv".into());
        assert_eq!(
            deployment_drift(&desired, &live, true),
            Vec::<String>::new()
        );
    }

    #[test]
    fn resources_compare_by_value_not_spelling() {
        let mut spec = dialectic().spec;
        let quantities = |cpu: &str, memory: &str| {
            Some(BTreeMap::from([
                ("cpu".to_owned(), Quantity(cpu.into())),
                ("memory".to_owned(), Quantity(memory.into())),
            ]))
        };
        spec.app.resources = Some(ResourceRequirements {
            requests: quantities("0.5", "4096Mi"),
            ..ResourceRequirements::default()
        });
        let desired = deployment(&dialectic(), &spec, "0123456789");

        let mut live = live_deployment(&desired);
        app(&mut live)
            .resources
            .as_mut()
            .expect("resources")
            .requests = quantities("500m", "4Gi");
        assert_eq!(
            deployment_drift(&desired, &live, true),
            Vec::<String>::new()
        );

        app(&mut live)
            .resources
            .as_mut()
            .expect("resources")
            .requests = quantities("1", "4Gi");
        assert_eq!(
            deployment_drift(&desired, &live, true),
            [format!("{APP}.resources")]
        );
    }

    #[test]
    fn a_changed_service_selector_drifts_even_by_an_added_key() {
        let desired = service(&dialectic());
        let mut changed = live_service(&desired);
        let spec = changed.spec.as_mut().expect("a spec");
        let map = spec.selector.as_mut().expect("a selector");
        map.insert(labels::COMPONENT.into(), "migration".into());
        assert_eq!(service_drift(&desired, &changed), ["spec.selector"]);

        let mut added = live_service(&desired);
        let spec = added.spec.as_mut().expect("a spec");
        let map = spec.selector.as_mut().expect("a selector");
        map.insert("track".into(), "canary".into());
        assert_eq!(service_drift(&desired, &added), ["spec.selector"]);
    }

    #[test]
    fn service_ports_type_and_labels_changed_by_hand_are_named() {
        let desired = service(&dialectic());
        let mut live = live_service(&desired);
        let spec = live.spec.as_mut().expect("a spec");
        spec.type_ = Some("LoadBalancer".into());
        spec.ports = Some(vec![ServicePort {
            port: 8080,
            ..spec.ports.as_ref().expect("ports")[0].clone()
        }]);
        let live_labels = live.metadata.labels.as_mut().expect("labels");
        live_labels.insert(labels::CHECKLIST.into(), "other".into());
        live_labels.insert("team".into(), "payments".into());
        assert_eq!(
            service_drift(&desired, &live),
            ["metadata.labels", "spec.ports", "spec.type"]
        );
    }

    #[test]
    fn subset_ignores_unset_and_extra_fields_but_not_extra_items() {
        let desired = json!({"a": 1, "b": null, "c": {"d": [1, 2]}});
        assert!(subset(
            &desired,
            &json!({"a": 1, "c": {"d": [1, 2], "e": 3}})
        ));
        assert!(!subset(&desired, &json!({"a": 2, "c": {"d": [1, 2]}})));
        assert!(!subset(&desired, &json!({"a": 1, "c": {"d": [1, 2, 3]}})));
        assert!(!subset(&desired, &json!({"a": 1})));
        assert!(subset(&json!({"list": []}), &json!({})));
        // Zero values Go omits read back absent; a non-zero value absent has drifted.
        assert!(subset(
            &json!({"initialDelaySeconds": 0, "readOnly": false, "subPath": ""}),
            &json!({})
        ));
        assert!(!subset(&json!({"initialDelaySeconds": 5}), &json!({})));
        assert!(!subset(
            &json!({"initialDelaySeconds": 0}),
            &json!({"initialDelaySeconds": 5})
        ));
    }

    #[test]
    fn unnamed_ports_pair_by_number_and_protocol_tcp_by_default() {
        let desired = json!([{"containerPort": 9090}, {"containerPort": 8080, "protocol": "UDP"}]);
        let live = json!([
            {"containerPort": 8080, "protocol": "UDP"},
            {"containerPort": 9090, "protocol": "TCP"},
        ]);
        assert!(subset(&desired, &live));
        let udp = json!([{"containerPort": 9090, "protocol": "UDP"}, live[0].clone()]);
        assert!(!subset(&desired, &udp));
    }

    #[test]
    fn nesting_past_the_depth_cap_counts_as_drifted() {
        let nested = |depth: usize| (0..depth).fold(json!(1), |inner, _| json!({ "a": inner }));
        assert!(subset(&nested(MAX_DEPTH), &nested(MAX_DEPTH)));
        assert!(!subset(&nested(MAX_DEPTH + 2), &nested(MAX_DEPTH + 2)));
    }

    #[test]
    fn quantities_parse_every_spelling_and_nothing_else() {
        let value = |q: &str| quantity(&json!(q));
        assert_eq!(value("500m"), value("0.5"));
        assert_eq!(value("4Gi"), value("4096Mi"));
        assert_eq!(value("1k"), value("1e3"));
        assert_eq!(value("1E"), Some(1e18));
        assert_eq!(value("2"), Some(2.0));
        for invalid in ["inf", "NaN", "Gi", "1x", "1e", "abc"] {
            assert_eq!(value(invalid), None, "{invalid}");
        }
    }
}
