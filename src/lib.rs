//! checklist-operator: a Kubernetes operator that turns a production deployment checklist into a
//! `DeploymentChecklist` resource the cluster enforces.
//!
//! The tree follows the operator's architecture: `controller` wires the reconciler to the cluster,
//! `telemetry` carries logs, and `error` names every failure with a short category used as a
//! metric label and an Event reason.

pub mod api;
pub mod controller;
pub mod error;
pub mod fair;
pub mod notify;
pub mod plugin;
pub mod resources;
pub mod secrets;
pub mod telemetry;
pub mod text;
pub mod verify;

pub use error::{ReconcileError, Result, StartupError};
