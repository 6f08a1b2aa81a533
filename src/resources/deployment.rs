//! The app's Deployment: one container running a revision of the spec, with its probes, port,
//! environment and injected secrets.
//!
//! RollingUpdate changes one Deployment named like the checklist ([`deployment`]). BlueGreen and
//! Canary run each revision in a Deployment of its own, named by its revision
//! ([`revision_deployment`]), beside the stable one; the Services decide which one serves.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, HTTPGetAction, Lifecycle, PodSpec, PodTemplateSpec, Probe,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::env::{env, env_from, non_empty};
use super::labels::{self, Component};
use super::meta;
use super::pod;
use super::revision::REVISION_ANNOTATION;
use super::security;
use crate::api::{DeploymentChecklist, DeploymentChecklistSpec, ProbeSpec};

/// The name of the app container.
pub const APP_CONTAINER: &str = "app";
/// The name of the app's container port, the target of the Service and of the probes.
pub const HTTP_PORT_NAME: &str = "http";

/// The Deployment running `revision` of `spec` for `checklist`, named like the checklist.
///
/// The spec is passed apart from the checklist so a rollback can rebuild the stable revision's
/// Deployment from the spec stored with it; the checklist gives the name, namespace and owner.
/// The revision is an annotation on the Deployment and on the pod template, and a label on the
/// pods (so the operator can list one revision's pods), never in the immutable selector.
pub fn deployment(
    checklist: &DeploymentChecklist,
    spec: &DeploymentChecklistSpec,
    revision: &str,
) -> Deployment {
    let name = checklist.name_any();
    let labels = labels::labels(&name, &spec.app.image, Component::App);
    let annotations = [(REVISION_ANNOTATION.to_owned(), revision.to_owned())];
    // The user's labels first, so the operator's own always win (the schema refuses those keys;
    // this keeps the selector intact even for a spec stored before that rule).
    let mut pod_labels = spec.app.pod_labels.clone();
    pod_labels.extend(labels.clone());
    pod_labels.insert(labels::REVISION.to_owned(), revision.to_owned());

    Deployment {
        metadata: meta::owned(
            checklist,
            name.clone(),
            labels,
            Some(annotations.clone().into()),
        ),
        spec: DeploymentSpec {
            replicas: spec.app.replicas,
            selector: LabelSelector {
                match_labels: Some(labels::selector_labels(&name)),
                ..LabelSelector::default()
            },
            strategy: Some(rolling_update(spec)),
            progress_deadline_seconds: Some(spec.rollout.progress_deadline_seconds),
            revision_history_limit: Some(spec.rollback.revision_history_limit),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(annotations.into()),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![app_container(spec)],
                    ..pod::app_pod(&spec.app, &labels::selector_labels(&name))
                }),
            },
            ..DeploymentSpec::default()
        },
        status: None,
    }
}

/// The name of the Deployment that runs `revision` for BlueGreen and Canary: `<name>-<hash>`,
/// one per revision, so the stable pods are never touched while a new revision is tried.
pub fn revision_deployment_name(checklist_name: &str, revision: &str) -> String {
    format!("{checklist_name}-{revision}")
}

/// BlueGreen and Canary: the Deployment running `revision` of `spec` with `replicas` pods, beside
/// the other revisions'. Its selector adds the revision label, so it never counts another
/// revision's pods; the Services choose between revisions by the same label.
pub fn revision_deployment(
    checklist: &DeploymentChecklist,
    spec: &DeploymentChecklistSpec,
    revision: &str,
    replicas: i32,
) -> Deployment {
    let mut built = deployment(checklist, spec, revision);
    built.metadata.name = Some(revision_deployment_name(&checklist.name_any(), revision));
    // On the Deployment too, so `kubectl get deploy -L checklist.dev/revision` shows it.
    built
        .metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert(labels::REVISION.to_owned(), revision.to_owned());
    built.spec.replicas = Some(replicas);
    let mut selector = labels::selector_labels(&checklist.name_any());
    selector.insert(labels::REVISION.to_owned(), revision.to_owned());
    built.spec.selector.match_labels = Some(selector);
    built
}

/// RollingUpdate with spec.rollout's surge and unavailability.
fn rolling_update(spec: &DeploymentChecklistSpec) -> DeploymentStrategy {
    DeploymentStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDeployment {
            max_surge: Some(spec.rollout.max_surge.clone()),
            max_unavailable: Some(spec.rollout.max_unavailable.clone()),
        }),
    }
}

/// The app container: image, command, args, env with PORT, the injected secrets, the port
/// named `http`, resources and probes.
fn app_container(spec: &DeploymentChecklistSpec) -> Container {
    let app = &spec.app;
    let probes = spec.probes.as_ref();
    Container {
        name: APP_CONTAINER.into(),
        image: Some(app.image.clone()),
        command: non_empty(&app.command),
        args: non_empty(&app.args),
        env: Some(env(spec)),
        env_from: env_from(spec),
        ports: Some(vec![ContainerPort {
            name: Some(HTTP_PORT_NAME.into()),
            container_port: app.port,
            // Part of the ports list-map key under server-side apply: set, not left to defaults.
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        resources: app.resources.clone(),
        volume_mounts: non_empty(&app.volume_mounts),
        lifecycle: app.pre_stop.clone().map(|pre_stop| Lifecycle {
            pre_stop: Some(pre_stop),
            ..Lifecycle::default()
        }),
        liveness_probe: probes.and_then(|p| p.liveness.as_ref()).map(http_probe),
        readiness_probe: probes.and_then(|p| p.readiness.as_ref()).map(http_probe),
        startup_probe: probes.and_then(|p| p.startup.as_ref()).map(http_probe),
        security_context: Some(security::container_security_context(app)),
        ..Container::default()
    }
}

/// An HTTP GET probe on the `http` port, or on the probe's own port when it names one.
fn http_probe(probe: &ProbeSpec) -> Probe {
    let port = probe.port.map_or_else(
        || IntOrString::String(HTTP_PORT_NAME.into()),
        IntOrString::Int,
    );
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(probe.path.clone()),
            port,
            ..HTTPGetAction::default()
        }),
        initial_delay_seconds: Some(probe.initial_delay_seconds),
        period_seconds: Some(probe.period_seconds),
        timeout_seconds: Some(probe.timeout_seconds),
        failure_threshold: Some(probe.failure_threshold),
        success_threshold: Some(probe.success_threshold),
        ..Probe::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;
    use crate::api::RolloutStrategy;
    use crate::resources::fixtures::{NAMESPACE, UID, dialectic, example};
    use crate::resources::revision_hash;

    const REVISION: &str = "0123456789";

    fn container(deployment: &Deployment) -> &Container {
        let pod = deployment.spec.template.spec.as_ref().expect("a pod spec");
        assert_eq!(pod.containers.len(), 1);
        &pod.containers[0]
    }

    fn label<'a>(labels: &'a Option<BTreeMap<String, String>>, key: &str) -> Option<&'a str> {
        labels.as_ref()?.get(key).map(String::as_str)
    }

    #[test]
    fn is_named_placed_and_controlled_like_the_checklist() {
        let d = deployment(&dialectic(), &dialectic().spec, REVISION);
        assert_eq!(d.metadata.name.as_deref(), Some("dialectic"));
        assert_eq!(d.metadata.namespace.as_deref(), Some(NAMESPACE));
        let owners = d.metadata.owner_references.expect("owner references");
        assert_eq!(owners.len(), 1);
        let owner = &owners[0];
        assert_eq!(owner.api_version, "checklist.dev/v1alpha1");
        assert_eq!(owner.kind, "DeploymentChecklist");
        assert_eq!(owner.name, "dialectic");
        assert_eq!(owner.uid, UID);
        assert_eq!(owner.controller, Some(true));
        assert_eq!(owner.block_owner_deletion, Some(true));
    }

    #[test]
    fn carries_the_app_labels_and_an_immutable_selector() {
        let d = deployment(&dialectic(), &dialectic().spec, REVISION);
        let labels = &d.metadata.labels;
        assert_eq!(label(labels, "app.kubernetes.io/name"), Some("dialectic"));
        assert_eq!(
            label(labels, "app.kubernetes.io/instance"),
            Some("dialectic")
        );
        assert_eq!(
            label(labels, "app.kubernetes.io/managed-by"),
            Some("checklist-operator")
        );
        assert_eq!(label(labels, "app.kubernetes.io/version"), Some("1.4.2"));
        assert_eq!(label(labels, "checklist.dev/checklist"), Some("dialectic"));

        let selector = d.spec.selector.match_labels.clone().expect("match labels");
        assert_eq!(selector, labels::selector_labels("dialectic"));
        assert!(!selector.contains_key(labels::VERSION));
        assert!(!selector.contains_key(labels::REVISION));

        let template = d
            .spec
            .template
            .metadata
            .as_ref()
            .expect("template metadata");
        let pod_labels = template.labels.clone().expect("pod labels");
        assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
        assert_eq!(
            pod_labels.get(labels::REVISION).map(String::as_str),
            Some(REVISION)
        );
        assert_eq!(
            pod_labels.get(labels::VERSION).map(String::as_str),
            Some("1.4.2")
        );
    }

    #[test]
    fn revision_is_annotated_on_the_deployment_and_its_pod_template() {
        let d = deployment(&dialectic(), &dialectic().spec, REVISION);
        assert_eq!(
            label(&d.metadata.annotations, REVISION_ANNOTATION),
            Some(REVISION)
        );
        let template = d
            .spec
            .template
            .metadata
            .as_ref()
            .expect("template metadata");
        assert_eq!(
            label(&template.annotations, REVISION_ANNOTATION),
            Some(REVISION)
        );
    }

    #[test]
    fn rolls_out_with_the_spec_surge_deadline_and_history() {
        let d = deployment(&dialectic(), &dialectic().spec, REVISION);
        assert_eq!(d.spec.replicas, Some(2));
        assert_eq!(d.spec.progress_deadline_seconds, Some(600));
        assert_eq!(d.spec.revision_history_limit, Some(10));
        let strategy = d.spec.strategy.expect("a strategy");
        assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
        let rolling = strategy.rolling_update.expect("rolling update settings");
        assert_eq!(rolling.max_surge, Some(IntOrString::String("25%".into())));
        assert_eq!(rolling.max_unavailable, Some(IntOrString::Int(0)));
    }

    #[test]
    fn canary_checklists_still_get_a_rolling_update_deployment() {
        let vel = example("vel-tutor.yaml");
        assert_eq!(vel.spec.rollout.strategy, RolloutStrategy::Canary);
        let d = deployment(&vel, &vel.spec, REVISION);
        let strategy = d.spec.strategy.expect("a strategy");
        assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
    }

    #[test]
    fn app_container_runs_the_image_with_env_port_secrets_and_resources() {
        let d = deployment(&dialectic(), &dialectic().spec, REVISION);
        let c = container(&d);
        assert_eq!(c.name, "app");
        assert_eq!(c.image.as_deref(), Some("ghcr.io/acme/dialectic:1.4.2"));
        assert_eq!(c.command, None);
        assert_eq!(c.args, None);

        let env = c.env.as_ref().expect("env");
        let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names.first(), Some(&"PHX_HOST"));
        assert_eq!(names.len(), 9, "8 from the spec and PORT: {names:?}");
        let port = env.last().expect("PORT");
        assert_eq!(
            (port.name.as_str(), port.value.as_deref()),
            ("PORT", Some("8080"))
        );

        let env_from = c.env_from.as_ref().expect("envFrom");
        assert_eq!(env_from.len(), 1);
        let secret = env_from[0].secret_ref.as_ref().expect("a secretRef");
        assert_eq!(secret.name, "dialectic-env");

        let ports = c.ports.as_ref().expect("ports");
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].name.as_deref(), Some("http"));
        assert_eq!(ports[0].container_port, 8080);
        assert_eq!(ports[0].protocol.as_deref(), Some("TCP"));

        let limits = c.resources.as_ref().and_then(|r| r.limits.clone());
        assert_eq!(
            limits.and_then(|l| l.get("memory").cloned()),
            Some(Quantity("4Gi".into()))
        );
    }

    #[test]
    fn probes_are_http_gets_on_the_http_port_with_the_spec_timings() {
        let d = deployment(&dialectic(), &dialectic().spec, REVISION);
        let c = container(&d);
        let timings = |p: &Option<Probe>| {
            let p = p.as_ref().expect("a probe");
            let get = p.http_get.as_ref().expect("an httpGet");
            assert_eq!(get.path.as_deref(), Some("/health"));
            assert_eq!(get.port, IntOrString::String("http".into()));
            [
                p.initial_delay_seconds,
                p.period_seconds,
                p.timeout_seconds,
                p.failure_threshold,
                p.success_threshold,
            ]
            .map(|t| t.expect("every timing is set"))
        };
        assert_eq!(timings(&c.liveness_probe), [30, 30, 3, 3, 1]);
        assert_eq!(timings(&c.readiness_probe), [0, 10, 1, 3, 1]);
        assert_eq!(timings(&c.startup_probe), [0, 2, 1, 30, 1]);
    }

    #[test]
    fn a_probe_with_its_own_port_probes_that_port() {
        let mut spec = dialectic().spec;
        if let Some(liveness) = spec.probes.as_mut().and_then(|p| p.liveness.as_mut()) {
            liveness.port = Some(9090);
        }
        let d = deployment(&dialectic(), &spec, REVISION);
        let get = container(&d)
            .liveness_probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .expect("an httpGet");
        assert_eq!(get.port, IntOrString::Int(9090));
    }

    #[test]
    fn no_probes_and_no_injected_secrets_leave_the_fields_out() {
        let mut spec = dialectic().spec;
        spec.probes = None;
        spec.secrets[0].inject = false;
        let d = deployment(&dialectic(), &spec, REVISION);
        let c = container(&d);
        assert!(c.liveness_probe.is_none() && c.readiness_probe.is_none());
        assert!(c.startup_probe.is_none());
        assert!(c.env_from.is_none());
    }

    #[test]
    fn a_stored_stable_spec_rebuilds_the_stable_deployment() {
        let stable_spec = dialectic().spec;
        let stable_revision = revision_hash(&stable_spec);
        let mut checklist = dialectic();
        checklist.spec.app.image = "ghcr.io/acme/dialectic:1.5.0".into();
        let d = deployment(&checklist, &stable_spec, &stable_revision);
        assert_eq!(
            container(&d).image.as_deref(),
            Some("ghcr.io/acme/dialectic:1.4.2")
        );
        assert_eq!(label(&d.metadata.labels, labels::VERSION), Some("1.4.2"));
        assert_eq!(
            label(&d.metadata.annotations, REVISION_ANNOTATION),
            Some(stable_revision.as_str())
        );
    }

    #[test]
    fn one_revision_hash_means_one_pod_template() {
        let spec = dialectic().spec;
        let mut scaled = spec.clone();
        scaled.app.replicas = Some(5);
        scaled.verification.checks.clear();
        scaled.rollout.progress_deadline_seconds = 60;
        scaled.secrets[0].keys.clear();
        assert_eq!(revision_hash(&spec), revision_hash(&scaled));
        let (a, b) = (
            deployment(&dialectic(), &spec, &revision_hash(&spec)),
            deployment(&dialectic(), &scaled, &revision_hash(&scaled)),
        );
        assert_eq!(a.spec.template, b.spec.template);
    }

    #[test]
    fn serializes_as_an_apps_v1_deployment_for_server_side_apply() {
        let d = deployment(&dialectic(), &dialectic().spec, REVISION);
        let json = serde_json::to_value(&d).expect("serializes");
        assert_eq!(json["apiVersion"], "apps/v1");
        assert_eq!(json["kind"], "Deployment");
        assert!(json.get("status").is_none());
    }

    #[test]
    fn pod_labels_reach_the_app_pods_only_and_never_replace_the_operators() {
        let mut checklist = dialectic();
        checklist.spec.app.pod_labels = BTreeMap::from([
            ("app".into(), "legacy".into()),
            // Refused by the schema; were one stored anyway, the selector still holds.
            (labels::NAME.into(), "someone-else".into()),
        ]);
        let d = deployment(&checklist, &checklist.spec, REVISION);
        let pod_labels = &d.spec.template.metadata.as_ref().unwrap().labels;
        assert_eq!(label(pod_labels, "app"), Some("legacy"));
        assert_eq!(label(pod_labels, labels::NAME), Some("dialectic"));
        assert_eq!(
            label(&d.metadata.labels, "app"),
            None,
            "not on the Deployment"
        );
        let job = crate::resources::migration_job(&checklist, &checklist.spec, REVISION)
            .expect("dialectic migrates");
        let job_pod_labels = &job.spec.unwrap().template.metadata.unwrap().labels;
        assert_eq!(
            label(job_pod_labels, "app"),
            None,
            "a Service must not reach a Job's pod"
        );
    }
}
