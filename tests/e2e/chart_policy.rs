//! The chart's `policy` values: each renders its `run` flag only when it narrows the operator's
//! defaults, and values.schema.json refuses what the flags would refuse.

use crate::chart::{container_args, helm, render, stderr, template_args};

/// The policy flags of a default install: none.
const POLICY_FLAGS: [&str; 4] = [
    "--allowed-service-accounts",
    "--allow-service-account-token",
    "--security-overrides",
    "--require-dependency-names",
];

#[test]
#[ignore = "end-to-end: needs helm (dev/cluster build)"]
fn policy_values_render_flags_only_away_from_their_defaults() {
    let defaults = render("checklist", "ops", &[]);
    let args = container_args(&defaults);
    assert!(
        !args
            .iter()
            .any(|a| POLICY_FLAGS.iter().any(|f| a.starts_with(f))),
        "{args:?}"
    );

    let narrowed = render(
        "checklist",
        "ops",
        &[
            "--set",
            "policy.allowedServiceAccounts={web,worker}",
            "--set",
            "policy.allowServiceAccountToken=false",
            "--set",
            "policy.securityOverrides=restricted",
            "--set",
            "policy.requireDependencyNames=true",
        ],
    );
    let args = container_args(&narrowed);
    for flag in [
        "--allowed-service-accounts=web,worker",
        "--allow-service-account-token=false",
        "--security-overrides=restricted",
        "--require-dependency-names",
    ] {
        assert!(args.contains(&flag), "{flag} in {args:?}");
    }

    for (value, field) in [
        ("policy.securityOverrides=none", "/policy/securityOverrides"),
        (
            "policy.allowedServiceAccounts={Admin}",
            "/policy/allowedServiceAccounts/0",
        ),
    ] {
        let refused = helm(&template_args("checklist", "ops", &["--set", value]));
        assert!(!refused.status.success(), "{value}");
        assert!(stderr(&refused).contains(field), "{}", stderr(&refused));
    }
}
