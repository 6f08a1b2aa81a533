//! The security settings of every pod the operator creates (app and migration Jobs): the
//! restricted Pod Security Standard by default, so a release in a namespace that enforces it is
//! admitted, with the user's own settings taking precedence field by field.

use k8s_openapi::api::core::v1::{
    Capabilities, PodSecurityContext, PodSpec, SeccompProfile, SecurityContext,
};

use crate::api::AppSpec;

/// The pod-level settings: `spec.app.podSecurityContext` over runAsNonRoot and the
/// RuntimeDefault seccomp profile.
pub(crate) fn pod_security_context(app: &AppSpec) -> PodSecurityContext {
    let mut context = app.pod_security_context.clone().unwrap_or_default();
    context.run_as_non_root.get_or_insert(true);
    context
        .seccomp_profile
        .get_or_insert_with(|| SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        });
    context
}

/// The container-level settings: `spec.app.securityContext` over no privilege escalation and
/// every capability dropped.
pub(crate) fn container_security_context(app: &AppSpec) -> SecurityContext {
    let mut context = app.security_context.clone().unwrap_or_default();
    context.allow_privilege_escalation.get_or_insert(false);
    context.capabilities.get_or_insert_with(|| Capabilities {
        add: None,
        drop: Some(vec!["ALL".into()]),
    });
    context
}

/// A pod spec carrying the app's identity and security settings; the caller adds containers
/// (with [`container_security_context`]) and what else its pods need.
pub(crate) fn pod_spec(app: &AppSpec) -> PodSpec {
    PodSpec {
        security_context: Some(pod_security_context(app)),
        service_account_name: app.service_account_name.clone(),
        // Written out even when false: left unset, the ServiceAccount's own default (mount) wins.
        automount_service_account_token: Some(app.automount_service_account_token),
        ..PodSpec::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::fixtures::dialectic;

    #[test]
    fn defaults_meet_the_restricted_standard() {
        let app = dialectic().spec.app;
        let pod = pod_spec(&app);
        let context = pod.security_context.expect("a pod security context");
        assert_eq!(context.run_as_non_root, Some(true));
        assert_eq!(
            context.seccomp_profile.map(|p| p.type_).as_deref(),
            Some("RuntimeDefault")
        );
        assert_eq!(pod.automount_service_account_token, Some(false));
        assert_eq!(pod.service_account_name, None);

        let container = container_security_context(&app);
        assert_eq!(container.allow_privilege_escalation, Some(false));
        assert_eq!(
            container.capabilities.and_then(|c| c.drop),
            Some(vec!["ALL".to_string()])
        );
    }

    #[test]
    fn user_settings_replace_the_defaults_field_by_field() {
        let mut app = dialectic().spec.app;
        app.pod_security_context = Some(PodSecurityContext {
            run_as_user: Some(1000),
            run_as_non_root: Some(false),
            ..PodSecurityContext::default()
        });
        app.security_context = Some(SecurityContext {
            read_only_root_filesystem: Some(true),
            capabilities: Some(Capabilities {
                add: Some(vec!["NET_BIND_SERVICE".into()]),
                drop: Some(vec!["ALL".into()]),
            }),
            ..SecurityContext::default()
        });
        app.service_account_name = Some("dialectic".into());
        app.automount_service_account_token = true;

        let pod = pod_spec(&app);
        let context = pod.security_context.expect("a pod security context");
        assert_eq!(context.run_as_user, Some(1000));
        assert_eq!(
            context.run_as_non_root,
            Some(false),
            "the user's choice wins"
        );
        assert!(
            context.seccomp_profile.is_some(),
            "an unset field keeps its default"
        );
        assert_eq!(pod.service_account_name.as_deref(), Some("dialectic"));
        assert_eq!(pod.automount_service_account_token, Some(true));

        let container = container_security_context(&app);
        assert_eq!(container.read_only_root_filesystem, Some(true));
        assert_eq!(container.allow_privilege_escalation, Some(false));
        assert_eq!(
            container.capabilities.and_then(|c| c.add),
            Some(vec!["NET_BIND_SERVICE".to_string()])
        );
    }
}
