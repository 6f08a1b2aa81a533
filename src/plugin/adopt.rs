//! `kubectl checklist adopt DEPLOYMENT`: a checklist written from a running Deployment, which
//! takes its pods over without restarting them (spec.app.adopt).
//!
//! Pure: the Deployment in, the checklist (and notes for the person) out. Everything the
//! checklist cannot say the way the Deployment does is refused by name, never dropped quietly.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, HTTPGetAction, PodSpec, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Map, Value, json};

use crate::api::{
    AfterReady, AppVolume, DeploymentChecklist, ExtraContainer, adoption::RESERVED_POD_LABELS,
};
use crate::resources::labels;

/// A checklist that adopts `deployment`, and what the person should know before applying it.
#[derive(Debug)]
pub struct Written {
    /// The checklist.
    pub checklist: Value,
    /// Differences between the old pods and the checklist's, one line each.
    pub notes: Vec<String>,
}

/// Writes the checklist `name` that adopts `deployment`, running its container `container`
/// (default: the only one, or the one named `app`).
pub fn checklist_from(
    deployment: &Deployment,
    name: &str,
    container: Option<&str>,
    after_ready: AfterReady,
) -> Result<Written, String> {
    let deployment_name = deployment.metadata.name.clone().unwrap_or_default();
    if name == deployment_name {
        return Err(format!(
            "--name: the checklist runs a Deployment named like itself, so it cannot be named {name}, like the Deployment it adopts; e.g. --name {name}-app"
        ));
    }
    let template = &deployment.spec.template;
    let pod = template
        .spec
        .as_ref()
        .ok_or_else(|| format!("Deployment {deployment_name} has no pod template"))?;
    let main = pick(pod, container, &deployment_name)?;
    let mut notes = Vec::new();
    let mut app = Map::new();
    let image = main
        .image
        .clone()
        .ok_or_else(|| format!("container {} has no image", main.name))?;
    app.insert("image".into(), json!(image));
    app.insert(
        "replicas".into(),
        json!(deployment.spec.replicas.unwrap_or(1)),
    );
    let app_port = port(main)?;
    app.insert("port".into(), json!(app_port));
    let env: Vec<_> = main
        .env
        .iter()
        .flatten()
        .filter(|e| e.name != "PORT")
        .collect();
    put(&mut app, "env", &env);
    put(&mut app, "command", &main.command);
    put(&mut app, "args", &main.args);
    put(&mut app, "resources", &main.resources);
    put(&mut app, "volumeMounts", &main.volume_mounts);
    put(
        &mut app,
        "preStop",
        &main.lifecycle.as_ref().and_then(|l| l.pre_stop.clone()),
    );
    put(&mut app, "securityContext", &main.security_context);
    let volumes = convert::<AppVolume>(pod.volumes.iter().flatten(), "volume")?;
    put(&mut app, "volumes", &volumes);
    let (sidecars, inits): (Vec<_>, Vec<_>) = pod
        .init_containers
        .iter()
        .flatten()
        .partition(|c| c.restart_policy.as_deref() == Some("Always"));
    let others = pod.containers.iter().filter(|c| c.name != main.name);
    let sidecars = convert::<ExtraContainer>(sidecars.into_iter().chain(others), "container")?;
    put(&mut app, "sidecars", &sidecars);
    put(
        &mut app,
        "initContainers",
        &convert::<ExtraContainer>(inits.into_iter(), "init container")?,
    );
    put(&mut app, "imagePullSecrets", &pod.image_pull_secrets);
    put(&mut app, "nodeSelector", &pod.node_selector);
    put(&mut app, "affinity", &pod.affinity);
    put(&mut app, "tolerations", &pod.tolerations);
    put(
        &mut app,
        "topologySpreadConstraints",
        &pod.topology_spread_constraints,
    );
    put(&mut app, "priorityClassName", &pod.priority_class_name);
    put(
        &mut app,
        "terminationGracePeriodSeconds",
        &pod.termination_grace_period_seconds,
    );
    put(&mut app, "podSecurityContext", &pod.security_context);
    put(&mut app, "serviceAccountName", &pod.service_account_name);
    match pod.automount_service_account_token {
        Some(true) => {
            app.insert("automountServiceAccountToken".into(), json!(true));
        }
        Some(false) => {}
        None => notes.push(
            "the old pods mount their ServiceAccount token (Kubernetes' default); the checklist's do not unless spec.app.automountServiceAccountToken is true".into(),
        ),
    }
    if pod.security_context.is_none() && main.security_context.is_none() {
        notes.push("the old pods set no security context; the checklist's run as non-root with every capability dropped (restricted Pod Security): an image that needs root needs spec.app.podSecurityContext".into());
    }
    let pod_labels = pod_labels(
        template.metadata.as_ref().and_then(|m| m.labels.as_ref()),
        &mut notes,
    );
    put(&mut app, "podLabels", &pod_labels);
    app.insert(
        "adopt".into(),
        json!({"deployment": deployment_name, "afterReady": after_ready}),
    );

    let secrets = env_from_secrets(main, &mut notes)?;
    let probes = probes(main, app_port, &mut notes);
    let verification = probes
        .get("readiness")
        .and_then(|r| r["path"].as_str())
        .map(|path| json!({"checks": [{"name": "ready", "http": {"path": path, "expectStatus": [200]}}]}));

    let mut spec = Map::new();
    spec.insert("app".into(), Value::Object(app));
    if !secrets.is_empty() {
        spec.insert("secrets".into(), json!(secrets));
    }
    if !probes.is_empty() {
        spec.insert("probes".into(), Value::Object(probes));
    }
    if let Some(verification) = verification {
        spec.insert("verification".into(), verification);
    }
    let checklist = json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {"name": name, "namespace": deployment.metadata.namespace},
        "spec": spec,
    });
    // What is written must be a checklist this version reads.
    serde_json::from_value::<DeploymentChecklist>(checklist.clone()).map_err(|e| {
        format!("the checklist written from Deployment {deployment_name} does not parse: {e}")
    })?;
    Ok(Written { checklist, notes })
}

/// The app container: `wanted`, else the only container, else the one named `app`.
fn pick<'a>(
    pod: &'a PodSpec,
    wanted: Option<&str>,
    deployment: &str,
) -> Result<&'a Container, String> {
    let names = || {
        pod.containers
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let found = match wanted {
        Some(wanted) => pod.containers.iter().find(|c| c.name == wanted),
        None if pod.containers.len() == 1 => pod.containers.first(),
        None => pod.containers.iter().find(|c| c.name == "app"),
    };
    found.ok_or_else(|| match wanted {
        Some(wanted) => format!(
            "--container: Deployment {deployment} has no container {wanted} (it has {})",
            names()
        ),
        None => format!(
            "--container: Deployment {deployment} has several containers ({}); name the app's",
            names()
        ),
    })
}

/// The app's port: the container port named `http`, else the first TCP one, else PORT's value.
fn port(container: &Container) -> Result<i32, String> {
    let ports = container.ports.iter().flatten();
    let tcp = |p: &&k8s_openapi::api::core::v1::ContainerPort| {
        p.protocol.as_deref().unwrap_or("TCP") == "TCP"
    };
    let named = ports
        .clone()
        .filter(tcp)
        .find(|p| p.name.as_deref() == Some("http"));
    if let Some(port) = named.or_else(|| ports.clone().find(tcp)) {
        return Ok(port.container_port);
    }
    container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "PORT")
        .and_then(|e| e.value.as_deref()?.parse().ok())
        .ok_or_else(|| format!("container {} declares no TCP port and no PORT: the checklist needs the port the app listens on", container.name))
}

/// The pod labels a Service may select the old pods by, but those the operator sets itself.
fn pod_labels(
    labels: Option<&BTreeMap<String, String>>,
    notes: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let mut kept = BTreeMap::new();
    for (key, value) in labels.into_iter().flatten() {
        let reserved =
            RESERVED_POD_LABELS.contains(&key.as_str()) || key.starts_with("checklist.dev/");
        match reserved {
            true if key != "pod-template-hash" => notes.push(format!(
                "the old pods' label {key}={value} is one the operator sets itself ({} on the checklist's pods): a Service selecting it will not reach them",
                match key.as_str() {
                    labels::NAME | labels::INSTANCE => "the checklist's name",
                    labels::COMPONENT => "app",
                    _ => "its own value",
                }
            )),
            true => {}
            false => {
                kept.insert(key.clone(), value.clone());
            }
        }
    }
    kept
}

/// envFrom Secrets become injected secret contracts; envFrom ConfigMaps cannot be said.
fn env_from_secrets(container: &Container, notes: &mut Vec<String>) -> Result<Vec<Value>, String> {
    let mut secrets = Vec::new();
    for source in container.env_from.iter().flatten() {
        if source.prefix.is_some() {
            return Err(format!(
                "container {}: envFrom with a prefix cannot be written as spec.secrets",
                container.name
            ));
        }
        match (&source.secret_ref, &source.config_map_ref) {
            (Some(secret), _) => {
                secrets.push(json!({"secretName": secret.name, "inject": true}));
                notes.push(format!("spec.secrets[{}] injects the Secret as before; list the keys the app needs under keys so the operator checks them before each rollout", secret.name));
            }
            (None, Some(config_map)) => {
                return Err(format!(
                    "container {}: envFrom ConfigMap {} cannot be written as a checklist field; move its keys to env with configMapKeyRef first",
                    container.name, config_map.name
                ));
            }
            (None, None) => {}
        }
    }
    Ok(secrets)
}

/// The HTTP probes, as spec.probes says them; other kinds are noted and left out.
fn probes(container: &Container, app_port: i32, notes: &mut Vec<String>) -> Map<String, Value> {
    let mut probes = Map::new();
    for (field, probe) in [
        ("liveness", &container.liveness_probe),
        ("readiness", &container.readiness_probe),
        ("startup", &container.startup_probe),
    ] {
        let Some(probe) = probe else { continue };
        match http_probe(probe, app_port) {
            Some(spec) => {
                probes.insert(field.into(), spec);
            }
            None => notes.push(format!(
                "the {field} probe is not an HTTP GET on a numbered or named port of the app: the checklist leaves it out"
            )),
        }
    }
    probes
}

fn http_probe(probe: &Probe, app_port: i32) -> Option<Value> {
    let HTTPGetAction { path, port, .. } = probe.http_get.as_ref()?;
    let mut spec = Map::new();
    spec.insert(
        "path".into(),
        json!(path.clone().unwrap_or_else(|| "/".into())),
    );
    match port {
        IntOrString::Int(port) if *port != app_port => {
            spec.insert("port".into(), json!(port));
        }
        IntOrString::Int(_) => {}
        IntOrString::String(name) if name == "http" => {}
        IntOrString::String(_) => return None,
    }
    for (key, value) in [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("periodSeconds", probe.period_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("failureThreshold", probe.failure_threshold),
    ] {
        if let Some(value) = value {
            spec.insert(key.into(), json!(value));
        }
    }
    Some(Value::Object(spec))
}

/// Container fields the checklist's containers imply: the API server's defaults, and the
/// restartPolicy that marks a native sidecar.
const IMPLIED_FIELDS: [&str; 4] = [
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
    "restartPolicy",
];

/// `items` as the checklist's type `T`, or the first field of one that `T` cannot say (a
/// hostPath volume, a sidecar's ports): refused by name rather than dropped.
fn convert<'a, T: serde::de::DeserializeOwned + serde::Serialize>(
    items: impl Iterator<Item = &'a (impl serde::Serialize + 'a)>,
    what: &str,
) -> Result<Vec<Value>, String> {
    items
        .map(|item| {
            let mut value = serde_json::to_value(item).map_err(|e| e.to_string())?;
            if let Some(fields) = value.as_object_mut() {
                // What the API server fills in on every container, and a native sidecar's mark
                // (the checklist's sidecars are native sidecars already).
                for defaulted in IMPLIED_FIELDS {
                    fields.remove(defaulted);
                }
            }
            let label = value["name"].as_str().unwrap_or_default().to_owned();
            let refused =
                |e: String| format!("{what} {label} cannot be written as a checklist field: {e}");
            let converted: T =
                serde_json::from_value(value.clone()).map_err(|e| refused(e.to_string()))?;
            let converted = serde_json::to_value(&converted).map_err(|e| e.to_string())?;
            let lost = value
                .as_object()
                .into_iter()
                .flatten()
                .find(|(key, _)| converted.get(key.as_str()).is_none());
            match lost {
                Some((key, _)) => Err(refused(format!("its field {key} has no place there"))),
                None => Ok(converted),
            }
        })
        .collect()
}

/// Inserts `value` under `key` unless it is empty (None, [], {}).
fn put(map: &mut Map<String, Value>, key: &str, value: &impl serde::Serialize) {
    let value = serde_json::to_value(value).unwrap_or(Value::Null);
    let empty = match &value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    };
    if !empty {
        map.insert(key.into(), value);
    }
}

#[cfg(test)]
mod tests;
