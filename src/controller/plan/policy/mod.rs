//! What the operator's settings let a checklist ask for, beyond what the API server checks.
//!
//! Whoever may create a checklist in a namespace gets pods run as any of its ServiceAccounts,
//! with that account's token, under any security override the CRD accepts, and has the app's
//! own words written to status.dependencies. A platform team narrows that with `run` flags;
//! the default allows all of it, as before the flags existed. A spec the settings refuse is
//! refused before anything is applied, with the field and the flag named.

mod restricted;

use crate::api::{AppSpec, DeploymentChecklistSpec};

/// The ServiceAccount Kubernetes runs a pod as when it names none.
const DEFAULT_SERVICE_ACCOUNT: &str = "default";

/// How far `spec.app.podSecurityContext` and `spec.app.securityContext` may move the pods from
/// the operator's restricted defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SecurityOverrides {
    /// Any override the API server accepts, root and added capabilities included.
    #[default]
    Any,
    /// Only overrides that keep every pod within the restricted Pod Security Standard.
    Restricted,
}

/// The operator's settings every checklist is held to (`run --allowed-service-accounts`,
/// `--allow-service-account-token`, `--security-overrides`, `--require-dependency-names`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The ServiceAccounts pods may run as; empty allows any of the namespace.
    pub service_accounts: Vec<String>,
    /// Whether a checklist may mount its ServiceAccount's API token into its pods.
    pub service_account_token: bool,
    /// How far the security contexts may be overridden.
    pub security_overrides: SecurityOverrides,
    /// Whether an http check that reads dependencies must list their names.
    pub require_dependency_names: bool,
}

impl Default for Policy {
    /// Everything the CRD accepts: the operator as it was before these settings.
    fn default() -> Self {
        Self {
            service_accounts: Vec::new(),
            service_account_token: true,
            security_overrides: SecurityOverrides::Any,
            require_dependency_names: false,
        }
    }
}

impl Policy {
    /// Why the operator refuses `spec`, each field it refuses named with the flag that refuses
    /// it; None when the settings allow the spec.
    pub(crate) fn refusal(&self, spec: &DeploymentChecklistSpec) -> Option<String> {
        let mut problems: Vec<String> = Vec::new();
        problems.extend(self.service_account(&spec.app));
        if spec.app.automount_service_account_token && !self.service_account_token {
            problems.push(
                "spec.app.automountServiceAccountToken is true, which the operator does not \
                 allow (--allow-service-account-token=false)"
                    .into(),
            );
        }
        if self.security_overrides == SecurityOverrides::Restricted {
            problems.extend(
                restricted::breaches(&spec.app)
                    .into_iter()
                    .map(|breach| format!("{breach} (--security-overrides=restricted)")),
            );
        }
        if self.require_dependency_names {
            problems.extend(unlisted_dependencies(spec));
        }
        (!problems.is_empty()).then(|| format!("{}; nothing was applied", problems.join("; ")))
    }

    /// Why the pods' ServiceAccount is not one the operator allows, if it is not.
    fn service_account(&self, app: &AppSpec) -> Option<String> {
        if self.service_accounts.is_empty() {
            return None;
        }
        let named = app.service_account_name.as_deref();
        let account = named.unwrap_or(DEFAULT_SERVICE_ACCOUNT);
        if self
            .service_accounts
            .iter()
            .any(|allowed| allowed == account)
        {
            return None;
        }
        let allowed = self.service_accounts.join(", ");
        Some(match named {
            Some(name) => format!(
                "spec.app.serviceAccountName {} is not one the operator allows \
                 (--allowed-service-accounts: {allowed})",
                crate::text::line(name, 253)
            ),
            None => format!(
                "spec.app.serviceAccountName is not set, so the pods would run as \
                 {DEFAULT_SERVICE_ACCOUNT}, which is not one the operator allows \
                 (--allowed-service-accounts: {allowed})"
            ),
        })
    }
}

/// The http checks that read dependencies without naming them, each as a refusal.
fn unlisted_dependencies(spec: &DeploymentChecklistSpec) -> Vec<String> {
    spec.verification
        .checks
        .iter()
        .filter(|check| {
            check
                .http
                .as_ref()
                .is_some_and(|http| http.dependencies.is_some() && http.dependency_names.is_empty())
        })
        .map(|check| {
            format!(
                "spec.verification.checks[{}].http.dependencyNames is not set: the operator \
                 reads dependencies only by the names a check lists (--require-dependency-names)",
                crate::text::line(&check.name, 63)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::PodSecurityContext;

    use super::*;

    /// An app with nothing but its image: every other field at its default.
    pub(super) fn app() -> AppSpec {
        serde_json::from_value(serde_json::json!({"image": "ghcr.io/acme/dialectic:1.4.2"}))
            .expect("an app with only an image")
    }

    fn spec(app: AppSpec) -> DeploymentChecklistSpec {
        let mut spec: DeploymentChecklistSpec = serde_json::from_value(serde_json::json!({
            "app": {"image": "ghcr.io/acme/dialectic:1.4.2"},
            "verification": {"checks": [
                {"name": "health", "http": {"path": "/health"}},
                {"name": "deep", "http": {"path": "/health/deep", "dependencies": "checks"}}
            ]}
        }))
        .expect("a spec");
        spec.app = app;
        spec
    }

    fn accounts(names: &[&str]) -> Policy {
        Policy {
            service_accounts: names.iter().map(|n| n.to_string()).collect(),
            ..Policy::default()
        }
    }

    fn running_as(name: Option<&str>) -> DeploymentChecklistSpec {
        spec(AppSpec {
            service_account_name: name.map(Into::into),
            ..app()
        })
    }

    #[test]
    fn the_default_policy_allows_what_the_crd_accepts() {
        let anything = spec(AppSpec {
            service_account_name: Some("admin".into()),
            automount_service_account_token: true,
            pod_security_context: Some(PodSecurityContext {
                run_as_non_root: Some(false),
                run_as_user: Some(0),
                ..PodSecurityContext::default()
            }),
            ..app()
        });
        assert_eq!(Policy::default().refusal(&anything), None);
    }

    #[test]
    fn a_service_account_outside_the_list_is_refused_by_name() {
        let policy = accounts(&["web", "worker"]);
        assert_eq!(policy.refusal(&running_as(Some("worker"))), None);
        assert_eq!(
            policy.refusal(&running_as(Some("admin"))).as_deref(),
            Some(
                "spec.app.serviceAccountName admin is not one the operator allows \
                 (--allowed-service-accounts: web, worker); nothing was applied"
            )
        );
    }

    #[test]
    fn no_service_account_means_default_which_must_be_listed() {
        let refusal = accounts(&["web"]).refusal(&running_as(None));
        assert!(
            refusal
                .as_deref()
                .is_some_and(|r| r.contains("would run as default")),
            "{refusal:?}"
        );
        assert_eq!(
            accounts(&["web", "default"]).refusal(&running_as(None)),
            None
        );
    }

    #[test]
    fn a_hostile_service_account_name_is_shown_clean() {
        let refusal = accounts(&["web"])
            .refusal(&running_as(Some("admin\u{1b}[2J\u{202e}")))
            .unwrap_or_default();
        assert!(crate::text::is_clean(&refusal), "{refusal}");
    }

    #[test]
    fn the_token_is_refused_only_when_asked_for_and_not_allowed() {
        let policy = Policy {
            service_account_token: false,
            ..Policy::default()
        };
        assert_eq!(policy.refusal(&spec(app())), None);
        let mounting = spec(AppSpec {
            automount_service_account_token: true,
            ..app()
        });
        assert_eq!(
            policy.refusal(&mounting).as_deref(),
            Some(
                "spec.app.automountServiceAccountToken is true, which the operator does not \
                 allow (--allow-service-account-token=false); nothing was applied"
            )
        );
    }

    #[test]
    fn restricted_overrides_name_the_field_and_the_flag() {
        let policy = Policy {
            security_overrides: SecurityOverrides::Restricted,
            ..Policy::default()
        };
        assert_eq!(policy.refusal(&spec(app())), None);
        let root = spec(AppSpec {
            pod_security_context: Some(PodSecurityContext {
                run_as_user: Some(0),
                ..PodSecurityContext::default()
            }),
            ..app()
        });
        let refusal = policy.refusal(&root).unwrap_or_default();
        assert!(
            refusal.starts_with("spec.app.podSecurityContext.runAsUser 0 ")
                && refusal.contains("(--security-overrides=restricted)"),
            "{refusal}"
        );
    }

    #[test]
    fn every_refused_field_is_named_at_once() {
        let policy = Policy {
            service_accounts: vec!["web".into()],
            service_account_token: false,
            security_overrides: SecurityOverrides::Restricted,
            require_dependency_names: true,
        };
        let everything = spec(AppSpec {
            service_account_name: Some("admin".into()),
            automount_service_account_token: true,
            pod_security_context: Some(PodSecurityContext {
                run_as_non_root: Some(false),
                ..PodSecurityContext::default()
            }),
            ..app()
        });
        let refusal = policy.refusal(&everything).unwrap_or_default();
        for flag in [
            "--allowed-service-accounts",
            "--allow-service-account-token=false",
            "--security-overrides=restricted",
            "--require-dependency-names",
        ] {
            assert!(refusal.contains(flag), "{flag} in {refusal}");
        }
    }

    #[test]
    fn dependencies_without_names_are_refused_when_names_are_required() {
        let policy = Policy {
            require_dependency_names: true,
            ..Policy::default()
        };
        let mut unlisted = spec(app());
        assert_eq!(
            policy.refusal(&unlisted).as_deref(),
            Some(
                "spec.verification.checks[deep].http.dependencyNames is not set: the operator \
                 reads dependencies only by the names a check lists (--require-dependency-names); \
                 nothing was applied"
            )
        );
        if let Some(http) = unlisted.verification.checks[1].http.as_mut() {
            http.dependency_names = vec!["database".into()];
        }
        assert_eq!(policy.refusal(&unlisted), None);
    }
}
