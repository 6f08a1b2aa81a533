//! Whether the pods a spec asks for stay within the restricted Pod Security Standard once its
//! overrides are laid over the operator's defaults: the app's and the migration Job's pods are
//! built from the same two contexts, and each sidecar or init container from its own over the
//! same defaults, so judging those judges every pod the operator creates.
//!
//! Judged on the merged contexts rather than on the overrides alone, because an override
//! replaces a default whole: `capabilities: {add: [NET_BIND_SERVICE]}` also drops the default
//! `drop: [ALL]`.

use std::fmt;

use k8s_openapi::api::core::v1::{PodSecurityContext, SELinuxOptions, SecurityContext};

use crate::{api::AppSpec, resources};

/// The seccomp and AppArmor profile types the standard allows.
const CONFINED_PROFILES: [&str; 2] = ["RuntimeDefault", "Localhost"];

/// The SELinux types the standard allows (besides none).
const SELINUX_TYPES: [&str; 4] = [
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

/// The sysctls the standard allows, as of Kubernetes 1.29; one a later version added is refused
/// here rather than guessed at.
const SAFE_SYSCTLS: [&str; 10] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// The one capability the standard lets a container add.
const ADDABLE_CAPABILITY: &str = "NET_BIND_SERVICE";

/// The longest value of the spec's shown in a breach: enough for any real profile or name.
const VALUE_MAX_CHARS: usize = 64;

/// One field that takes the pods out of the standard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Breach {
    /// The field, e.g. `spec.app.securityContext.privileged`.
    pub(super) field: String,
    /// Its value as the spec (or the defaults under it) leaves it, cleaned for a reader.
    pub(super) value: String,
    /// What the standard asks of it.
    pub(super) rule: &'static str,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} takes the pods out of the restricted Pod Security Standard, which {}",
            self.field, self.value, self.rule
        )
    }
}

/// The fields a pod's and a container's security contexts both have.
struct Shared<'a> {
    prefix: &'a str,
    run_as_non_root: Option<bool>,
    run_as_user: Option<i64>,
    /// The seccomp profile's type.
    seccomp: Option<&'a str>,
    /// The AppArmor profile's type.
    app_armor: Option<&'a str>,
    se_linux: Option<&'a SELinuxOptions>,
    host_process: Option<bool>,
}

/// The [`Shared`] fields of `context`, a pod's or a container's security context: the two types
/// name them alike but share no trait.
macro_rules! shared {
    ($context:expr, $prefix:expr) => {
        Shared {
            prefix: $prefix,
            run_as_non_root: $context.run_as_non_root,
            run_as_user: $context.run_as_user,
            seccomp: $context.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
            app_armor: $context
                .app_armor_profile
                .as_ref()
                .map(|p| p.type_.as_str()),
            se_linux: $context.se_linux_options.as_ref(),
            host_process: $context
                .windows_options
                .as_ref()
                .and_then(|w| w.host_process),
        }
    };
}

/// Every field of `app`'s security contexts, merged with the defaults, that the restricted
/// standard refuses; empty when its pods would be admitted by a restricted namespace.
pub(super) fn breaches(app: &AppSpec) -> Vec<Breach> {
    let pod = resources::pod_security_context(app);
    let container = resources::container_security_context(app);
    let mut found = Breaches::default();
    found.shared(&shared!(pod, "spec.app.podSecurityContext"));
    found.sysctls(&pod);
    found.shared(&shared!(container, "spec.app.securityContext"));
    found.container("spec.app.securityContext", &container);
    let extras = app
        .sidecars
        .iter()
        .map(|c| ("sidecars", c))
        .chain(app.init_containers.iter().map(|c| ("initContainers", c)));
    for (list, extra) in extras {
        let name = crate::text::line(&extra.name, VALUE_MAX_CHARS);
        let prefix = format!("spec.app.{list}[{name}]");
        let context = resources::extra_security_context(extra);
        let at = format!("{prefix}.securityContext");
        found.shared(&shared!(context, at.as_str()));
        found.container(&at, &context);
        for port in extra.ports.iter().filter_map(|p| p.host_port) {
            found.push(
                format!("{prefix}.ports.hostPort"),
                port.to_string(),
                "allows no host port",
            );
        }
    }
    found.0
}

/// The breaches found so far, in the order of the fields.
#[derive(Default)]
struct Breaches(Vec<Breach>);

impl Breaches {
    fn push(&mut self, field: String, value: impl AsRef<str>, rule: &'static str) {
        self.0.push(Breach {
            field,
            value: crate::text::line(value.as_ref(), VALUE_MAX_CHARS),
            rule,
        });
    }

    /// The pod's defaults always set runAsNonRoot and a seccomp profile, so an unset field at
    /// either level is the default's and passes; only what the spec sets can fail here.
    fn shared(&mut self, context: &Shared<'_>) {
        let at = |field: &str| format!("{}.{field}", context.prefix);
        if context.run_as_non_root == Some(false) {
            self.push(at("runAsNonRoot"), "false", "needs true");
        }
        if context.run_as_user == Some(0) {
            self.push(at("runAsUser"), "0", "needs a non-zero user");
        }
        for (field, profile) in [
            ("seccompProfile.type", context.seccomp),
            ("appArmorProfile.type", context.app_armor),
        ] {
            if let Some(profile) = profile
                && !CONFINED_PROFILES.contains(&profile)
            {
                self.push(
                    at(field),
                    profile,
                    "allows only RuntimeDefault or Localhost",
                );
            }
        }
        if let Some(options) = context.se_linux {
            self.se_linux(context.prefix, options);
        }
        if context.host_process == Some(true) {
            self.push(at("windowsOptions.hostProcess"), "true", "needs false");
        }
    }

    fn se_linux(&mut self, prefix: &str, options: &SELinuxOptions) {
        let at = |field: &str| format!("{prefix}.seLinuxOptions.{field}");
        if let Some(type_) = options.type_.as_deref().filter(|t| !t.is_empty())
            && !SELINUX_TYPES.contains(&type_)
        {
            self.push(
                at("type"),
                type_,
                "allows only container_t, container_init_t, container_kvm_t or container_engine_t",
            );
        }
        for (field, value) in [("user", &options.user), ("role", &options.role)] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                self.push(at(field), value, "needs it unset");
            }
        }
    }

    fn sysctls(&mut self, pod: &PodSecurityContext) {
        for sysctl in pod.sysctls.iter().flatten() {
            if !SAFE_SYSCTLS.contains(&sysctl.name.as_str()) {
                self.push(
                    "spec.app.podSecurityContext.sysctls".into(),
                    &sysctl.name,
                    "allows only the safe sysctls",
                );
            }
        }
    }

    fn container(&mut self, prefix: &str, context: &SecurityContext) {
        let at = |field: &str| format!("{prefix}.{field}");
        if context.allow_privilege_escalation != Some(false) {
            self.push(at("allowPrivilegeEscalation"), "true", "needs false");
        }
        if context.privileged == Some(true) {
            self.push(at("privileged"), "true", "needs false");
        }
        if let Some(mount) = context.proc_mount.as_deref()
            && mount != "Default"
        {
            self.push(at("procMount"), mount, "allows only Default");
        }
        let capabilities = context.capabilities.as_ref();
        let dropped = capabilities.and_then(|c| c.drop.as_deref()).unwrap_or(&[]);
        if !dropped.iter().any(|c| c == "ALL") {
            self.push(
                at("capabilities.drop"),
                listed(dropped),
                "needs ALL among them",
            );
        }
        for added in capabilities.and_then(|c| c.add.as_deref()).unwrap_or(&[]) {
            if added != ADDABLE_CAPABILITY {
                self.push(
                    at("capabilities.add"),
                    added,
                    "allows adding only NET_BIND_SERVICE",
                );
            }
        }
    }
}

/// A list of capabilities as a reader sees it: `[CHOWN, KILL]`, or `[]`.
fn listed(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{
        AppArmorProfile, Capabilities, SeccompProfile, Sysctl, WindowsSecurityContextOptions,
    };

    use super::super::tests::app;
    use super::*;

    fn app_with(pod: PodSecurityContext, container: SecurityContext) -> AppSpec {
        AppSpec {
            pod_security_context: Some(pod),
            security_context: Some(container),
            ..app()
        }
    }

    fn one_sysctl(name: &str) -> Option<Vec<Sysctl>> {
        Some(vec![Sysctl {
            name: name.into(),
            value: "1".into(),
        }])
    }

    fn fields(app: &AppSpec) -> Vec<String> {
        breaches(app).into_iter().map(|b| b.field).collect()
    }

    #[test]
    fn the_defaults_and_overrides_within_the_standard_pass() {
        assert_eq!(breaches(&app()), Vec::new());
        let within = app_with(
            PodSecurityContext {
                run_as_user: Some(1000),
                fs_group: Some(1000),
                seccomp_profile: Some(SeccompProfile {
                    type_: "Localhost".into(),
                    localhost_profile: Some("profiles/app.json".into()),
                }),
                sysctls: one_sysctl("net.ipv4.ip_unprivileged_port_start"),
                ..PodSecurityContext::default()
            },
            SecurityContext {
                read_only_root_filesystem: Some(true),
                capabilities: Some(Capabilities {
                    add: Some(vec!["NET_BIND_SERVICE".into()]),
                    drop: Some(vec!["ALL".into()]),
                }),
                ..SecurityContext::default()
            },
        );
        assert_eq!(breaches(&within), Vec::new());
    }

    #[test]
    fn root_and_privilege_are_refused_at_either_level() {
        let app = app_with(
            PodSecurityContext {
                run_as_non_root: Some(false),
                run_as_user: Some(0),
                ..PodSecurityContext::default()
            },
            SecurityContext {
                run_as_user: Some(0),
                allow_privilege_escalation: Some(true),
                privileged: Some(true),
                ..SecurityContext::default()
            },
        );
        assert_eq!(
            fields(&app),
            vec![
                "spec.app.podSecurityContext.runAsNonRoot",
                "spec.app.podSecurityContext.runAsUser",
                "spec.app.securityContext.runAsUser",
                "spec.app.securityContext.allowPrivilegeEscalation",
                "spec.app.securityContext.privileged",
            ]
        );
        assert_eq!(
            breaches(&app)[0].to_string(),
            "spec.app.podSecurityContext.runAsNonRoot false takes the pods out of the restricted \
             Pod Security Standard, which needs true"
        );
    }

    #[test]
    fn capabilities_must_drop_all_and_add_at_most_net_bind_service() {
        let app = app_with(
            PodSecurityContext::default(),
            SecurityContext {
                // Replaces the default drop: [ALL] whole, which is why the merge is judged.
                capabilities: Some(Capabilities {
                    add: Some(vec!["NET_BIND_SERVICE".into(), "SYS_ADMIN".into()]),
                    drop: None,
                }),
                ..SecurityContext::default()
            },
        );
        let found = breaches(&app);
        assert_eq!(
            found
                .iter()
                .map(|b| (b.field.as_str(), b.value.as_str()))
                .collect::<Vec<_>>(),
            vec![
                ("spec.app.securityContext.capabilities.drop", "[]"),
                ("spec.app.securityContext.capabilities.add", "SYS_ADMIN"),
            ]
        );
    }

    #[test]
    fn unconfined_profiles_and_host_settings_are_refused() {
        let unconfined = SeccompProfile {
            type_: "Unconfined".into(),
            localhost_profile: None,
        };
        let app = app_with(
            PodSecurityContext {
                seccomp_profile: Some(unconfined.clone()),
                app_armor_profile: Some(AppArmorProfile {
                    type_: "Unconfined".into(),
                    localhost_profile: None,
                }),
                se_linux_options: Some(SELinuxOptions {
                    type_: Some("spc_t".into()),
                    user: Some("system_u".into()),
                    ..SELinuxOptions::default()
                }),
                sysctls: one_sysctl("kernel.msgmax"),
                ..PodSecurityContext::default()
            },
            SecurityContext {
                seccomp_profile: Some(unconfined),
                proc_mount: Some("Unmasked".into()),
                windows_options: Some(WindowsSecurityContextOptions {
                    host_process: Some(true),
                    ..WindowsSecurityContextOptions::default()
                }),
                ..SecurityContext::default()
            },
        );
        assert_eq!(
            fields(&app),
            vec![
                "spec.app.podSecurityContext.seccompProfile.type",
                "spec.app.podSecurityContext.appArmorProfile.type",
                "spec.app.podSecurityContext.seLinuxOptions.type",
                "spec.app.podSecurityContext.seLinuxOptions.user",
                "spec.app.podSecurityContext.sysctls",
                "spec.app.securityContext.seccompProfile.type",
                "spec.app.securityContext.windowsOptions.hostProcess",
                "spec.app.securityContext.procMount",
            ]
        );
    }

    #[test]
    fn a_value_is_shown_clean_and_bounded() {
        let app = app_with(
            PodSecurityContext {
                seccomp_profile: Some(SeccompProfile {
                    type_: format!("\u{1b}]52;c;{}", "x".repeat(500)),
                    localhost_profile: None,
                }),
                ..PodSecurityContext::default()
            },
            SecurityContext::default(),
        );
        let value = &breaches(&app)[0].value;
        assert!(crate::text::is_clean(value), "{value}");
        assert!(value.chars().count() <= VALUE_MAX_CHARS);
    }

    #[test]
    fn sidecars_and_init_containers_are_judged_on_their_own_contexts() {
        let mut app = app();
        app.sidecars = serde_json::from_value(serde_json::json!([
            {"name": "proxy", "image": "example.com/proxy:1.0"},
            {"name": "root-shell", "image": "example.com/shell:1.0",
             "securityContext": {"privileged": true, "runAsUser": 0},
             "ports": [{"containerPort": 22, "hostPort": 2222}]},
        ]))
        .unwrap();
        app.init_containers = serde_json::from_value(serde_json::json!([
            {"name": "chown", "image": "example.com/tools:1.0",
             "securityContext": {"capabilities": {"add": ["CHOWN"]}}},
        ]))
        .unwrap();
        assert_eq!(
            fields(&app),
            vec![
                "spec.app.sidecars[root-shell].securityContext.runAsUser",
                "spec.app.sidecars[root-shell].securityContext.privileged",
                "spec.app.sidecars[root-shell].ports.hostPort",
                // Its own capabilities replace the default drop: [ALL] whole.
                "spec.app.initContainers[chown].securityContext.capabilities.drop",
                "spec.app.initContainers[chown].securityContext.capabilities.add",
            ]
        );
    }
}
