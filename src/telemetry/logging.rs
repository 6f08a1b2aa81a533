//! Structured logging with `tracing`: human text on a terminal, JSON for log pipelines; and,
//! when asked for, the same spans as OpenTelemetry traces.

use tracing_subscriber::{EnvFilter, Layer, filter::filter_fn, fmt, prelude::*};

use super::traces::{TraceError, TraceSettings, Traces, pipeline, traced};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event, for log pipelines.
    Json,
}

/// Installs the global subscriber. The filter comes from `RUST_LOG`, else `default_filter`.
pub fn init_logging(format: LogFormat, default_filter: &str) {
    // Without trace settings there is no exporter to fail.
    let _no_traces = init_telemetry(format, default_filter, None);
}

/// Installs the global subscriber: the log lines as [`init_logging`] writes them, and, with
/// `traces`, the operator's spans exported as traces (see [`super::traces`]), whose pipeline is
/// returned to be shut down last.
pub fn init_telemetry(
    format: LogFormat,
    default_filter: &str,
    traces: Option<&TraceSettings>,
) -> Result<Option<Traces>, TraceError> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Logs go to stderr so that commands printing data (`crd`, `verify --output json`) keep a
    // clean stdout. The filter is the log's own, not the registry's: traces keep spans the log
    // leaves out.
    let log = match format {
        LogFormat::Text => fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed(),
    }
    .with_filter(filter);
    let (traces, layer) = match traces {
        Some(settings) => {
            let (traces, tracer) = pipeline(settings)?;
            let layer = tracing_opentelemetry::layer()
                .with_tracer(tracer)
                // Thread names and ids, source locations and the target module say nothing a
                // reader of a release's trace needs, and cost attributes on every span.
                .with_threads(false)
                .with_location(false)
                .with_target(false)
                .with_filter(filter_fn(traced));
            (Some(traces), Some(layer))
        }
        None => (None, None),
    };
    tracing_subscriber::registry().with(log).with(layer).init();
    Ok(traces)
}
