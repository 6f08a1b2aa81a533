//! End-to-end tests against the local control plane (`dev/cluster up`).
//!
//! They are `#[ignore]`d so a plain `cargo test` stays hermetic; `dev/test` (and `.ci/run`) brings
//! the cluster up and runs them with `--ignored`. Each test works in its own namespace and removes
//! it, even when it fails. What they share with the benchmarks is in the `checklist-testkit`
//! crate (namespaces, the operator process, kubectl, fixtures); `web` is kubectl on the
//! checklist the lifecycle tests apply.

// Tests may unwrap: a panic is how a test says what failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adoption;
mod api;
mod chart;
mod chart_policy;
mod chart_sharding;
mod dashboard;
mod drift;
mod fairness;
mod faults;
mod gateway;
mod gitops;
mod hooks;
mod job_checks;
mod lifecycle;
mod limits;
mod notifications;
mod operator;
mod plugin;
mod progressive;
mod prometheus;
mod promotion;
mod rbac;
mod rotation;
mod route_problems;
mod scoring;
mod security;
mod sharding;
mod smoke;
mod templates;
mod traces;
mod upgrade;
mod web;
mod workload;
