//! A spec the operator's settings refuse: nothing applied, nothing running touched, Stalled with
//! PolicyRefused and one Event naming the field and the flag; allowed again, it is released.

use k8s_openapi::api::core::v1::SecurityContext;

use super::*;

fn only_web() -> Policy {
    Policy {
        service_accounts: vec!["web".into(), "worker".into()],
        ..Policy::default()
    }
}

fn running_as_admin() -> DeploymentChecklistSpec {
    let mut spec = spec();
    spec.app.service_account_name = Some("admin".into());
    spec
}

/// The first reconcile after the spec changed to a ServiceAccount the operator refuses.
fn refused() -> Plan {
    run_within(
        &only_web(),
        &running_as_admin(),
        &ready_on_old(),
        &observed(),
    )
}

const ADMIN_REFUSED: &str = "spec.app.serviceAccountName admin is not one the operator allows \
                             (--allowed-service-accounts: web, worker); nothing was applied";

#[test]
fn a_refused_service_account_applies_nothing_and_stalls() {
    let plan = refused();
    assert_eq!(plan.changes, Vec::new(), "no Job, no apply, no stop");
    assert_eq!(plan.status.phase, Some(Phase::Failed));
    assert_eq!(plan.status.message.as_deref(), Some(ADMIN_REFUSED));
    for kind in [Cond::Stalled, Cond::Ready, Cond::Reconciling] {
        assert_eq!(condition(&plan, kind).1, "PolicyRefused", "{kind}");
    }
    assert_eq!(condition(&plan, Cond::Stalled).0, "True");
    assert_eq!(condition(&plan, Cond::Ready).0, "False");
    assert_eq!(
        plan.notes,
        vec![Note {
            reason: Reason::PolicyRefused,
            message: ADMIN_REFUSED.into(),
        }]
    );
    assert!(Reason::PolicyRefused.is_warning());
}

#[test]
fn the_running_revision_stays_as_it_was() {
    let previous = ready_on_old();
    let plan = refused();
    assert_eq!(plan.status.revision, previous.revision, "stable still OLD");
    assert_eq!(plan.status.history, previous.history, "no revision started");
    assert_eq!(plan.status.migration, previous.migration);
}

#[test]
fn the_refusal_is_announced_once_and_is_a_fixed_point() {
    let first = refused();
    let again = run_within(&only_web(), &running_as_admin(), &first.status, &observed());
    assert_eq!(again.notes, Vec::new());
    assert_eq!(again.changes, Vec::new());
    assert_eq!(again.status, first.status);
    assert_eq!(again.requeue_after, first.requeue_after);
}

#[test]
fn a_new_refusal_from_failed_is_announced_again() {
    let first = refused();
    let mut spec = running_as_admin();
    spec.app.automount_service_account_token = true;
    let stricter = Policy {
        service_account_token: false,
        ..only_web()
    };
    let again = run_within(&stricter, &spec, &first.status, &observed());
    assert_eq!(again.notes.len(), 1, "{:?}", again.notes);
    assert!(
        again.notes[0]
            .message
            .contains("(--allow-service-account-token=false)")
    );
}

#[test]
fn an_allowed_spec_is_released_as_usual() {
    let refused = refused();
    let mut allowed = running_as_admin();
    allowed.app.service_account_name = Some("web".into());
    let plan = run_within(&only_web(), &allowed, &refused.status, &observed());
    assert_eq!(plan.status.phase, Some(Phase::Migrating));
    assert!(plan.changes.contains(&Change::CreateMigrationJob {
        revision: NEW.into()
    }));
}

#[test]
fn a_restricted_override_is_refused_naming_the_field() {
    let mut spec = spec();
    spec.app.security_context = Some(SecurityContext {
        privileged: Some(true),
        ..SecurityContext::default()
    });
    let restricted = Policy {
        security_overrides: SecurityOverrides::Restricted,
        ..Policy::default()
    };
    let plan = run_within(&restricted, &spec, &ready_on_old(), &observed());
    assert_eq!(plan.changes, Vec::new());
    assert_eq!(plan.status.phase, Some(Phase::Failed));
    let message = plan.status.message.unwrap_or_default();
    assert!(
        message.starts_with("spec.app.securityContext.privileged true ")
            && message.contains("(--security-overrides=restricted)"),
        "{message}"
    );
    assert_eq!(
        run(&spec, &ready_on_old(), &observed()).status.phase,
        Some(Phase::Migrating),
        "the default policy allows it, as before"
    );
}

#[test]
fn suspend_still_wins_over_a_refusal() {
    let mut spec = running_as_admin();
    spec.suspend = true;
    let plan = run_within(&only_web(), &spec, &ready_on_old(), &observed());
    assert_eq!(plan.status.phase, Some(Phase::Suspended));
}
