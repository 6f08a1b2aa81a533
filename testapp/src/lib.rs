//! checklist-testapp: a small HTTP server that plays a seed web app (Dialectic, Rachel Web,
//! vel_tutor) for checklist-operator's verification tests, `verify` command tests, end-to-end
//! tests and demo. It can be made healthy or broken on demand, by `--mode` at start or by
//! `PUT /admin/mode` while running.
//!
//! Run it as a binary (`checklist-testapp --help`; the first stdout line is
//! `listening on http://127.0.0.1:PORT`), or in-process:
//!
//! ```no_run
//! # async fn demo() -> Result<(), checklist_testapp::StartError> {
//! use checklist_testapp::{Config, Mode};
//! let app = checklist_testapp::spawn(Config::default()).await?;
//! let health = format!("{}/health", app.url());
//! app.set_mode(Mode::Unhealthy);
//! app.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! `GET /metrics` exports the app's request counts and durations for Prometheus, labelled with
//! `--metric-label`s; `--error-percent` and `--latency-ms` (or the admin API) make a share of
//! requests fail and every request slower, deterministically.
//!
//! See `README.md` for the endpoints, modes and admin API.

pub mod app;
pub mod cli;
pub mod config;
pub mod handlers;
pub mod metrics;
pub mod mode;
pub mod server;
pub mod state;

pub use config::{ALLOWED_ORIGIN, Config, SECURITY_HEADERS};
pub use mode::Mode;
pub use server::{RunningApp, StartError, spawn};
pub use state::{AppState, Listener, StateSnapshot};
