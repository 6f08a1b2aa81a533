//! checklist-operator: a Kubernetes operator that turns a production deployment checklist into a
//! `DeploymentChecklist` resource the cluster enforces.
//!
//! The modules, from the top down (each imports only from those below it; `tests/layers.rs`
//! checks it):
//! - `operator`: the process: connect, lead, watch, stop. `plugin`: `kubectl checklist`.
//! - `controller`: the reconcile pipeline of one checklist, observe → plan → act → record.
//! - `notify`: notifications of transitions, delivered fairly per namespace.
//! - `events`: a transition's note and its Event. `error`: every failure, with a category and a
//!   retry policy.
//! - `verify`: the HTTP and Prometheus checks, run within budgets, and the `verify` command.
//!   `traffic`: where users' requests go during a release, and the router that sends them.
//! - `resources`: pure builders of the owned objects. `secrets`: the secret contract.
//! - `api`: the `DeploymentChecklist` types and the CRD.
//! - `text`: the one sanitizer of tenant text. `fair`: fair shares per namespace.
//!   `telemetry`: logs, metrics and the health endpoints.

pub mod api;
pub mod controller;
pub mod error;
pub mod events;
pub mod fair;
pub mod notify;
pub mod operator;
pub mod plugin;
pub mod resources;
pub mod secrets;
pub mod telemetry;
pub mod text;
pub mod traffic;
pub mod verify;

pub use error::{ReconcileError, Result, StartupError};
