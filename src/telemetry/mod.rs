//! Telemetry: structured logs, Prometheus metrics, and the health endpoints probes read.

pub(crate) mod api_requests;
mod logging;
mod metrics;
pub(crate) mod server;

pub use logging::{LogFormat, init_logging};
pub use metrics::Metrics;
pub(crate) use server::Health;
