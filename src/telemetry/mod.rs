//! Telemetry: structured logs now; metrics and health endpoints join it with the reconciler.

mod logging;

pub use logging::{LogFormat, init_logging};
