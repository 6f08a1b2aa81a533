//! Telemetry: structured logs, Prometheus metrics, and the health endpoints probes read.

mod logging;
pub mod metrics;
pub mod server;

pub use logging::{LogFormat, init_logging};
pub use metrics::Metrics;
pub use server::Health;
