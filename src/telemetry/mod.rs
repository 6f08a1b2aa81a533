//! Telemetry: structured logs, traces, Prometheus metrics, and the health endpoints probes read.

pub(crate) mod api_requests;
mod logging;
mod metrics;
pub(crate) mod server;
pub mod traces;

pub use logging::{LogFormat, init_logging, init_telemetry};
pub use metrics::Metrics;
pub(crate) use server::Health;
pub use traces::{TraceSettings, Traces};
