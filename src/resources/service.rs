//! The Service in front of the app, named like the checklist, forwarding to the `http` port.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec as CoreServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::deployment::HTTP_PORT_NAME;
use super::labels::{self, Component};
use super::meta;
use crate::api::{DeploymentChecklist, RolloutSpec, RolloutStrategy, ServiceType};

/// The Service for `checklist`: spec.app.service's type and port, forwarding to the pods' `http`
/// port and selecting them by the immutable selector labels, so it reaches old and new pods alike
/// during a rolling update.
pub fn service(checklist: &DeploymentChecklist) -> Service {
    let name = checklist.name_any();
    let app = &checklist.spec.app;
    Service {
        metadata: meta::owned(
            checklist,
            name.clone(),
            // No version label: the Service fronts every revision, the stable one during a
            // rollback included, so the current spec's version would be a claim it cannot keep.
            labels::base_labels(&name, Component::App),
            None,
        ),
        spec: Some(CoreServiceSpec {
            type_: Some(service_type(app.service.type_).into()),
            selector: Some(labels::selector_labels(&name)),
            ports: Some(vec![ServicePort {
                name: Some(HTTP_PORT_NAME.into()),
                port: app.service.port,
                // Part of the ports list-map key under server-side apply: set, not left to defaults.
                protocol: Some("TCP".into()),
                // By name, so a new revision may change spec.app.port without the Service lagging.
                target_port: Some(IntOrString::String(HTTP_PORT_NAME.into())),
                ..ServicePort::default()
            }]),
            ..CoreServiceSpec::default()
        }),
        status: None,
    }
}

/// The name of the Service that selects the new pods only: BlueGreen's preview Service or
/// Canary's canary Service (named in the spec, or `<name>-preview` / `<name>-canary`); None for
/// RollingUpdate.
pub fn side_service_name(checklist: &DeploymentChecklist) -> Option<String> {
    side_service_name_of(&checklist.name_any(), &checklist.spec.rollout)
}

/// The spec field that names the preview or canary Service of `strategy`, for messages.
pub fn side_service_field(strategy: RolloutStrategy) -> Option<&'static str> {
    match strategy {
        RolloutStrategy::RollingUpdate => None,
        RolloutStrategy::BlueGreen => Some("spec.rollout.blueGreen.previewService"),
        RolloutStrategy::Canary => Some("spec.rollout.canary.canaryService"),
    }
}

/// [`side_service_name`] for the checklist named `name` with `rollout`.
pub fn side_service_name_of(name: &str, rollout: &RolloutSpec) -> Option<String> {
    match rollout.strategy {
        RolloutStrategy::RollingUpdate => None,
        RolloutStrategy::BlueGreen => Some(
            rollout
                .blue_green
                .as_ref()
                .and_then(|b| b.preview_service.clone())
                .unwrap_or_else(|| format!("{name}-preview")),
        ),
        RolloutStrategy::Canary => Some(
            rollout
                .canary
                .as_ref()
                .and_then(|c| c.canary_service.clone())
                .unwrap_or_else(|| format!("{name}-canary")),
        ),
    }
}

/// A Service of `checklist` named `name` that selects the pods of `revision` only, or of every
/// revision when None: the app's Service during a release, and the preview or canary Service.
pub fn service_selecting(
    checklist: &DeploymentChecklist,
    name: &str,
    revision: Option<&str>,
) -> Service {
    let mut built = service(checklist);
    built.metadata.name = Some(name.to_owned());
    built
        .metadata
        .labels
        .get_or_insert_default()
        .insert(labels::ROUTED.to_owned(), "true".to_owned());
    if let (Some(spec), Some(revision)) = (built.spec.as_mut(), revision) {
        let mut selector = labels::selector_labels(&checklist.name_any());
        selector.insert(labels::REVISION.to_owned(), revision.to_owned());
        spec.selector = Some(selector);
    }
    built
}

/// The preview or canary Service `name`, selecting the pods of `revision` only. ClusterIP
/// whatever the app's Service type: a preview must not open a second load balancer to the
/// internet.
pub fn side_service(checklist: &DeploymentChecklist, name: &str, revision: &str) -> Service {
    let mut built = service_selecting(checklist, name, Some(revision));
    if let Some(spec) = built.spec.as_mut() {
        spec.type_ = Some(service_type(ServiceType::ClusterIp).into());
    }
    built
}

/// The core/v1 spelling of a Service type.
fn service_type(type_: ServiceType) -> &'static str {
    match type_ {
        ServiceType::ClusterIp => "ClusterIP",
        ServiceType::NodePort => "NodePort",
        ServiceType::LoadBalancer => "LoadBalancer",
    }
}

/// The revision a Service's selector pins, or None when it selects every revision's pods.
pub(crate) fn selected_revision(service: &Service) -> Option<String> {
    service
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .and_then(|selector| selector.get(labels::REVISION))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::fixtures::{NAMESPACE, UID, dialectic};

    #[test]
    fn forwards_the_service_port_to_the_http_port_of_the_app_pods() {
        let s = service(&dialectic());
        assert_eq!(s.metadata.name.as_deref(), Some("dialectic"));
        assert_eq!(s.metadata.namespace.as_deref(), Some(NAMESPACE));
        let spec = s.spec.expect("a spec");
        assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(spec.selector, Some(labels::selector_labels("dialectic")));
        let ports = spec.ports.expect("ports");
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].name.as_deref(), Some("http"));
        assert_eq!(ports[0].port, 80);
        assert_eq!(ports[0].protocol.as_deref(), Some("TCP"));
        assert_eq!(
            ports[0].target_port,
            Some(IntOrString::String("http".into()))
        );
    }

    #[test]
    fn is_controlled_by_the_checklist_and_labelled_without_a_version() {
        let s = service(&dialectic());
        let owner = &s.metadata.owner_references.expect("owner references")[0];
        assert_eq!(owner.uid, UID);
        assert_eq!(owner.controller, Some(true));
        assert_eq!(owner.block_owner_deletion, Some(true));
        let labels = s.metadata.labels.expect("labels");
        assert_eq!(labels, labels::base_labels("dialectic", Component::App));
        assert!(!labels.contains_key(labels::VERSION));
    }

    #[test]
    fn service_type_follows_the_spec() {
        for (type_, expected) in [
            (ServiceType::NodePort, "NodePort"),
            (ServiceType::LoadBalancer, "LoadBalancer"),
        ] {
            let mut checklist = dialectic();
            checklist.spec.app.service.type_ = type_;
            let spec = service(&checklist).spec.expect("a spec");
            assert_eq!(spec.type_.as_deref(), Some(expected));
        }
    }
}
