//! checklist-testkit: what checklist-operator's end-to-end tests and benchmarks share, so the
//! two cannot drift apart: throwaway namespaces that clean up after themselves, the operator as
//! a child process with its JSON log kept, kubectl as a user types it, waiting for a phase,
//! watches that time every event, the checklists and Secrets the suites apply, a real
//! Prometheus scraping the test app, a real Jaeger the operator's traces reach, and the
//! statistics the benchmarks print.
//!
//! Everything here needs the local control plane (`dev/cluster up`, then
//! `eval "$(dev/cluster env)"`) and panics with a hint when it is not there: a panic is how a
//! test or a benchmark says what failed. [`Prometheus`] needs the binary `dev/prometheus --path`
//! builds instead.

// A test kit may unwrap: a panic is its way of failing the test that called it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cluster;
pub mod exposition;
pub mod fixtures;
pub mod jaeger;
pub mod json;
pub mod kubectl;
pub mod local_run;
pub mod operator;
pub mod process;
pub mod prometheus;
pub mod scene;
pub mod stats;
mod toolchain;
pub mod traefik;
pub mod wait;
pub mod watch;

pub use cluster::{CRD_NAME, E2E_LABEL, TestNamespace, client, ensure_crd, ready_cluster};
pub use fixtures::{apply_checklist, checklist, secret, start_app, valid_secret};
pub use jaeger::Jaeger;
pub use kubectl::{
    PluginRun, apply, kubectl, kubectl_checklist, kubectl_in, kubectl_stdin, kubectl_with_plugin,
};
pub use operator::{LogLine, Operator};
pub use prometheus::Prometheus;
pub use scene::Scene;
pub use traefik::{Traefik, app_behind};
pub use wait::{wait_for, wait_phase};

/// Runs a benchmark's body to its end on a runtime with two worker threads, as many as the
/// machine has cores.
pub fn block_on<F: Future>(body: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(body)
}
