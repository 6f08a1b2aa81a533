//! Traces: the operator's spans sent as OpenTelemetry traces over OTLP/HTTP, off unless an
//! endpoint is given. One trace per reconcile (observe, plan, act, record, and each API request
//! under them) and one per verification round (a span per check, whose request carries the W3C
//! `traceparent` so the app's own trace joins it).

use std::time::Duration;

use opentelemetry::{KeyValue, propagation::TextMapPropagator, trace::TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{Sampler, SdkTracerProvider},
};
use tracing::{Metadata, level_filters::LevelFilter};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The OTLP/HTTP path of traces under a collector's base URL.
const TRACES_PATH: &str = "v1/traces";

/// How long the exporter waits for the collector before it drops a batch.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for the last spans to reach the collector.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Where traces go and how many are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSettings {
    /// The collector's OTLP/HTTP base URL, e.g. `http://jaeger-collector:4318`.
    pub endpoint: url::Url,
    /// The share of traces kept, 0 to 1; a kept trace is kept whole.
    pub sample_ratio: f64,
}

/// Why traces could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The exporter could not be built from the settings.
    #[error("cannot export traces to {endpoint}: {source}")]
    Exporter {
        /// The URL spans were to be sent to.
        endpoint: String,
        /// What the exporter said.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
}

impl TraceError {
    /// The error's category, for the start-up failure's log line.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Exporter { .. } => "config",
        }
    }
}

/// The running trace pipeline; [`Traces::shutdown`] sends what is still buffered.
#[derive(Debug)]
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Sends the spans still buffered (waiting at most a few seconds) and stops the exporter.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            tracing::warn!(error = %error, "traces not all sent at shutdown");
        }
    }
}

/// The URL spans are posted to: `/v1/traces` under the collector's base URL, as the
/// `OTEL_EXPORTER_OTLP_ENDPOINT` convention has it; a URL already ending in it is taken as is.
pub fn traces_url(base: &url::Url) -> url::Url {
    let mut url = base.clone();
    let path = url.path().trim_end_matches('/').to_owned();
    if !path.ends_with("/v1/traces") {
        url.set_path(&format!("{path}/{TRACES_PATH}"));
    }
    url
}

/// The trace pipeline and its tracer: a batch exporter (its own thread, a bounded queue that
/// drops spans rather than grow when the collector is slow) and a parent-based ratio sampler.
pub(super) fn pipeline(
    settings: &TraceSettings,
) -> Result<(Traces, opentelemetry_sdk::trace::Tracer), TraceError> {
    // The exporter's blocking client may speak TLS before any check has installed the provider.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let endpoint = traces_url(&settings.endpoint);
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint.as_str())
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|source| TraceError::Exporter {
            endpoint: endpoint.to_string(),
            source,
        })?;
    let resource = Resource::builder()
        .with_service_name("checklist-operator")
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.sample_ratio.clamp(0.0, 1.0),
        ))))
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("checklist-operator");
    Ok((Traces { provider }, tracer))
}

/// Whether a span or event becomes part of a trace: the operator's own spans at any level (the
/// phases are debug spans, so they stay out of the log lines), the API client's per-request
/// spans, and log events the log would show at its default level (span events in the trace).
pub(super) fn traced(metadata: &Metadata<'_>) -> bool {
    let ours = metadata.target().starts_with("checklist_operator");
    if metadata.is_span() {
        return ours || (metadata.name() == "HTTP" && metadata.target().starts_with("kube_client"));
    }
    let shown = if ours {
        LevelFilter::INFO
    } else {
        LevelFilter::WARN
    };
    *metadata.level() <= shown
}

/// Adds the current span's W3C `traceparent` (and `tracestate`) to `headers`, unless they hold
/// one already (a check's own header wins) or no trace is being recorded.
pub fn inject_trace_context(headers: &mut reqwest::header::HeaderMap) {
    if headers.contains_key("traceparent") {
        return;
    }
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
}

/// Writes propagated fields into a request's headers; a value that is not a valid header is
/// left out (the propagator only writes hex and commas).
struct HeaderInjector<'a>(&'a mut reqwest::header::HeaderMap);

impl opentelemetry::propagation::Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            reqwest::header::HeaderName::from_bytes(key.as_bytes()),
            reqwest::header::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    #[test]
    fn traces_go_under_the_collectors_base_url() {
        for (base, expected) in [
            ("http://jaeger:4318", "http://jaeger:4318/v1/traces"),
            ("http://jaeger:4318/", "http://jaeger:4318/v1/traces"),
            (
                "https://otel.example/otlp",
                "https://otel.example/otlp/v1/traces",
            ),
            (
                "https://otel.example/otlp/",
                "https://otel.example/otlp/v1/traces",
            ),
            (
                "http://jaeger:4318/v1/traces",
                "http://jaeger:4318/v1/traces",
            ),
        ] {
            assert_eq!(traces_url(&url(base)).as_str(), expected, "{base}");
        }
    }

    #[test]
    fn no_trace_no_header_and_a_checks_own_header_wins() {
        let mut headers = reqwest::header::HeaderMap::new();
        inject_trace_context(&mut headers);
        assert!(headers.is_empty(), "no span is recorded: {headers:?}");

        let own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        headers.insert("traceparent", own.parse().unwrap());
        inject_trace_context(&mut headers);
        assert_eq!(headers["traceparent"], own);
    }

    #[test]
    fn a_recorded_span_sends_its_trace_and_span_ids() {
        use tracing_subscriber::prelude::*;
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("check");
            let _entered = span.enter();
            let mut headers = reqwest::header::HeaderMap::new();
            inject_trace_context(&mut headers);
            let sent = headers["traceparent"].to_str().unwrap().to_owned();
            let parts: Vec<&str> = sent.split('-').collect();
            assert_eq!(parts.len(), 4, "{sent}");
            assert_eq!(parts[0], "00");
            use opentelemetry::trace::TraceContextExt;
            let context = span.context();
            let span_context = context.span().span_context().clone();
            assert_eq!(parts[1], span_context.trace_id().to_string());
            assert_eq!(parts[2], span_context.span_id().to_string());
            assert_eq!(parts[3], "01", "sampled");
        });
    }

    #[test]
    fn the_operators_spans_and_the_api_clients_are_traced_not_other_crates_chatter() {
        use tracing::callsite::Identifier;
        use tracing::field::FieldSet;
        use tracing::metadata::Kind;
        struct Site;
        impl tracing::callsite::Callsite for Site {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!()
            }
        }
        static SITE: Site = Site;
        let meta = |name: &'static str, target: &'static str, level, kind| {
            Metadata::new(
                name,
                target,
                level,
                None,
                None,
                None,
                FieldSet::new(&[], Identifier(&SITE)),
                kind,
            )
        };
        use tracing::Level;
        let ours = "checklist_operator::controller::reconcile";
        assert!(traced(&meta("act", ours, Level::DEBUG, Kind::SPAN)));
        assert!(traced(&meta(
            "HTTP",
            "kube_client::client::builder",
            Level::DEBUG,
            Kind::SPAN
        )));
        assert!(!traced(&meta(
            "reconciling object",
            "kube_runtime::controller",
            Level::INFO,
            Kind::SPAN
        )));
        assert!(!traced(&meta(
            "connect",
            "hyper_util::client",
            Level::TRACE,
            Kind::SPAN
        )));
        assert!(traced(&meta("plan", ours, Level::INFO, Kind::EVENT)));
        assert!(!traced(&meta("detail", ours, Level::DEBUG, Kind::EVENT)));
        assert!(!traced(&meta(
            "requesting",
            "kube_client::client::builder",
            Level::DEBUG,
            Kind::EVENT
        )));
        assert!(traced(&meta(
            "watch failed",
            "kube_runtime::watcher",
            Level::WARN,
            Kind::EVENT
        )));
    }
}
