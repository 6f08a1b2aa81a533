//! The `checklist-operator` command: run the operator, print the CRD, verify an app, or say the version.

use std::{process::ExitCode, time::Duration};

use checklist_operator::{
    controller,
    operator::{self, RunConfig},
    telemetry::{self, LogFormat},
    verify::{self, engine::NamespaceLabel, guard::EgressPolicy},
};
use clap::{Parser, Subcommand};

/// A Kubernetes operator that turns a production deployment checklist into a resource the cluster enforces.
#[derive(Debug, Parser)]
#[command(name = "checklist-operator", version, about)]
struct Cli {
    /// Log line format on stderr.
    #[arg(
        long,
        global = true,
        env = "LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once at start-up; boxing would only move the flags"
)]
enum Command {
    /// Run the operator against the cluster from KUBECONFIG or the in-cluster service account.
    Run {
        /// Give up when the API server has not answered within this many seconds.
        #[arg(long, env = "CONNECT_TIMEOUT_SECONDS", default_value_t = 10)]
        connect_timeout_seconds: u64,

        /// Only let verification requests reach these CIDRs (repeatable). Default: anywhere but
        /// the refused ranges (metadata, link-local, loopback, the API server).
        #[arg(long = "egress-allow", value_name = "CIDR", value_delimiter = ',')]
        egress_allow: Vec<ipnet::IpNet>,

        /// Never let verification requests reach these CIDRs (repeatable); wins over every allow.
        #[arg(long = "egress-deny", value_name = "CIDR", value_delimiter = ',')]
        egress_deny: Vec<ipnet::IpNet>,

        /// Let verification requests reach loopback addresses (for local development only).
        #[arg(long)]
        egress_allow_loopback: bool,

        /// How many checklists are reconciled at the same time.
        #[arg(long, env = "CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,

        /// The most of --concurrency one namespace's checklists may take at once; its other
        /// reconciles come back half a second later. Default: three quarters of --concurrency
        /// (all of it with --namespace, where there is no one else).
        #[arg(long, env = "RECONCILE_NAMESPACE_SHARE", value_parser = clap::value_parser!(u16).range(1..=256))]
        reconcile_namespace_share: Option<u16>,

        /// How many checklists' verification rounds run at the same time; the others wait their
        /// namespace's turn (namespaces take turns, none above --verification-namespace-share).
        #[arg(long, env = "VERIFICATION_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
        verification_concurrency: u16,

        #[command(flatten)]
        budgets: BudgetArgs,

        /// Watch and act in this namespace only (a namespace-scoped install); default: all.
        #[arg(long, env = "WATCH_NAMESPACE", value_name = "NAMESPACE")]
        namespace: Option<String>,

        /// Reconcile only the checklists this label selector matches, e.g.
        /// `checklist.dev/shard=a` or `checklist.dev/shard notin (a,b)`: one shard of a cluster
        /// split between several operator deployments, each campaigning for a Lease of its own.
        /// Default: every checklist.
        #[arg(long, env = "CHECKLIST_SELECTOR", value_name = "SELECTOR")]
        selector: Option<String>,

        /// Serve /metrics (Prometheus), /healthz and /readyz on this address, e.g. 0.0.0.0:8080
        /// (port 0 picks a free port and logs it). Default: not served.
        #[arg(long, env = "METRICS_ADDR", value_name = "ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,

        /// The Prometheus-compatible HTTP API that prometheus checks query when they name no
        /// address, e.g. http://prometheus.monitoring.svc:9090.
        #[arg(long, env = "PROMETHEUS_URL", value_name = "URL", value_parser = base_url)]
        prometheus_url: Option<url::Url>,

        /// Confine every prometheus check's query to its checklist's namespace: each series
        /// selector gets LABEL="<namespace>" in place of any matcher on LABEL it had, and a query
        /// that does not parse fails without being sent. Set it when the Prometheus holds other
        /// tenants' series (e.g. `namespace`). Default: queries are sent as written.
        #[arg(long, env = "PROMETHEUS_NAMESPACE_LABEL", value_name = "LABEL")]
        prometheus_namespace_label: Option<NamespaceLabel>,

        #[command(flatten)]
        notify: NotifyArgs,

        #[command(flatten)]
        policy: PolicyArgs,

        #[command(flatten)]
        leader: LeaderArgs,

        #[command(flatten)]
        traces: TraceArgs,
    },
    /// Print the DeploymentChecklist CustomResourceDefinition as YAML (kubectl apply -f -).
    Crd,
    /// Run a checklist's HTTP checks against its URL, without a cluster; exit 0 when all pass,
    /// 1 when any fails, 2 on a bad file or flag.
    Verify(verify::cli::VerifyArgs),
    /// Print the version of this build.
    Version,
}

/// Where the operator's traces go (off unless an endpoint is given).
#[derive(Debug, clap::Args)]
struct TraceArgs {
    /// Send a trace of every reconcile and verification round over OTLP/HTTP to this
    /// collector's base URL (e.g. http://jaeger-collector.tracing:4318; spans are posted to
    /// /v1/traces under it), and a W3C traceparent header with every check's request. Default:
    /// no traces.
    #[arg(long, env = "OTLP_ENDPOINT", value_name = "URL", value_parser = base_url)]
    otlp_endpoint: Option<url::Url>,

    /// The share of traces sent, from 0 to 1 (a trace is sent whole or not at all).
    #[arg(long, env = "OTLP_SAMPLE_RATIO", default_value_t = 1.0, value_parser = sample_ratio)]
    otlp_sample_ratio: f64,
}

impl TraceArgs {
    /// The trace settings, when an endpoint is given.
    fn settings(&self) -> Option<telemetry::TraceSettings> {
        self.otlp_endpoint
            .clone()
            .map(|endpoint| telemetry::TraceSettings {
                endpoint,
                sample_ratio: self.otlp_sample_ratio,
            })
    }
}

/// A number from 0 to 1.
fn sample_ratio(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(format!("{text}: must be a number from 0 to 1, e.g. 0.1")),
    }
}

/// What one tenant's verification may take of the operator (the README's budget table).
#[derive(Debug, clap::Args)]
struct BudgetArgs {
    /// The most of --verification-concurrency one namespace's rounds may hold at once; the rest
    /// is always left to the other namespaces.
    #[arg(long, env = "VERIFICATION_NAMESPACE_SHARE", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    verification_namespace_share: u16,

    /// Requests per second one namespace's checks may send, all its checklists together (bursts
    /// of twice that); requests past it wait, within their check's time budget.
    #[arg(long, env = "VERIFICATION_NAMESPACE_RPS", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    verification_namespace_rps: u32,

    /// The longest one check may take in a round, all its requests included.
    #[arg(long, env = "VERIFICATION_CHECK_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    verification_check_seconds: u64,

    /// The longest one round of a checklist's checks may take; checks still running then fail.
    #[arg(long, env = "VERIFICATION_ROUND_SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    verification_round_seconds: u64,

    /// The most requests one round of a checklist's checks may send.
    #[arg(long, env = "VERIFICATION_ROUND_REQUESTS", default_value_t = 400, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    verification_round_requests: u32,
}

impl BudgetArgs {
    fn capacity(self, rounds_in_flight: u16) -> controller::Capacity {
        controller::Capacity {
            rounds_in_flight: usize::from(rounds_in_flight),
            namespace_share: usize::from(self.verification_namespace_share),
            namespace_rps: self.verification_namespace_rps,
            limits: verify::budget::Limits {
                check_time: Duration::from_secs(self.verification_check_seconds),
                round_time: Duration::from_secs(self.verification_round_seconds),
                round_requests: self.verification_round_requests,
            },
        }
    }
}

/// The operator-wide notification targets: used by checklists without spec.notifications.
/// Webhook URLs carry their credentials, so take them from the environment (a Secret), and
/// their values never show in --help.
#[derive(Debug, clap::Args)]
struct NotifyArgs {
    /// POST the operator's JSON to this URL on every notifying transition.
    #[arg(long, env = "NOTIFY_WEBHOOK_URL", hide_env_values = true, value_name = "URL", value_parser = base_url)]
    notify_webhook_url: Option<url::Url>,

    /// POST to this Slack incoming webhook on every notifying transition.
    #[arg(long, env = "NOTIFY_SLACK_URL", hide_env_values = true, value_name = "URL", value_parser = base_url)]
    notify_slack_url: Option<url::Url>,

    /// POST to this Microsoft Teams incoming webhook on every notifying transition.
    #[arg(long, env = "NOTIFY_TEAMS_URL", hide_env_values = true, value_name = "URL", value_parser = base_url)]
    notify_teams_url: Option<url::Url>,
}

impl NotifyArgs {
    fn defaults(self) -> checklist_operator::notify::Defaults {
        use checklist_operator::api::notifications::TargetKind;
        let targets = [
            (TargetKind::Webhook, self.notify_webhook_url),
            (TargetKind::Slack, self.notify_slack_url),
            (TargetKind::Teams, self.notify_teams_url),
        ]
        .into_iter()
        .filter_map(|(kind, url)| url.map(|url| (kind, url)))
        .collect();
        checklist_operator::notify::Defaults { targets }
    }
}

/// What a checklist may ask of its pods and checks. Whoever may create a checklist in a
/// namespace gets what these allow; by default, everything the CRD accepts.
#[derive(Debug, clap::Args)]
struct PolicyArgs {
    /// Run checklists' pods only as these ServiceAccounts (repeatable or comma-separated); a
    /// checklist naming none runs as `default`, so list it to allow those. A checklist asking
    /// for another is refused before anything is applied. Default: any of the namespace.
    #[arg(long, value_name = "NAME", value_delimiter = ',', value_parser = service_account)]
    allowed_service_accounts: Vec<String>,

    /// Whether checklists may mount their ServiceAccount's API token
    /// (spec.app.automountServiceAccountToken: true); with false such a checklist is refused.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    allow_service_account_token: bool,

    /// How far spec.app.podSecurityContext and spec.app.securityContext may override the
    /// restricted defaults: `any`, or `restricted` (a checklist whose pods would leave the
    /// restricted Pod Security Standard is refused).
    #[arg(long, value_enum, default_value = "any")]
    security_overrides: controller::SecurityOverrides,

    /// Refuse http checks that read deep-health dependencies without listing their names
    /// (http.dependencyNames), so the app cannot choose what status.dependencies shows.
    #[arg(long)]
    require_dependency_names: bool,
}

impl PolicyArgs {
    fn policy(self) -> controller::Policy {
        controller::Policy {
            service_accounts: self.allowed_service_accounts,
            service_account_token: self.allow_service_account_token,
            security_overrides: self.security_overrides,
            require_dependency_names: self.require_dependency_names,
        }
    }
}

/// A ServiceAccount name as Kubernetes allows it: a DNS subdomain of at most 253 characters.
fn service_account(text: &str) -> Result<String, String> {
    let labels_ok = text.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if text.len() > 253 || !labels_ok {
        return Err(format!(
            "{text}: not a ServiceAccount name (lower-case letters, digits, '-' and '.')"
        ));
    }
    Ok(text.to_owned())
}

/// Leader election flags of `run`.
#[derive(Debug, clap::Args)]
struct LeaderArgs {
    /// Campaign for the `checklist-operator` Lease (with --selector, `checklist-operator-` and
    /// a digest of the selector) and reconcile only while holding it, so several replicas can
    /// run (one acts, the others wait to take over).
    #[arg(long, env = "LEADER_ELECT")]
    leader_elect: bool,

    /// The namespace of the Lease: the operator's own (the chart sets POD_NAMESPACE).
    #[arg(long, env = "POD_NAMESPACE", value_name = "NAMESPACE")]
    leader_election_namespace: Option<String>,

    /// This replica's name in the Lease. Default: POD_NAME, else HOSTNAME, else the process id.
    #[arg(long, value_name = "NAME")]
    leader_election_identity: Option<String>,

    /// How long the Lease stays valid without renewal: how long a dead leader's replica waits
    /// before taking over.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..=300))]
    lease_duration_seconds: u64,
}

impl LeaderArgs {
    fn election(
        self,
        selector: Option<&str>,
    ) -> anyhow::Result<Option<operator::leadership::LeaderElection>> {
        if !self.leader_elect {
            return Ok(None);
        }
        let namespace = self
            .leader_election_namespace
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--leader-elect needs the Lease's namespace: --leader-election-namespace or POD_NAMESPACE"
                )
            })?;
        let identity = self
            .leader_election_identity
            .or_else(|| std::env::var("POD_NAME").ok())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| format!("checklist-operator-{}", std::process::id()));
        Ok(Some(operator::leadership::LeaderElection {
            lease: operator::leadership::lease_name(selector),
            namespace,
            identity,
            lease_duration: Duration::from_secs(self.lease_duration_seconds),
        }))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("checklist-operator {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Crd => match checklist_operator::api::crd::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("checklist-operator crd: {error}");
                ExitCode::FAILURE
            }
        },
        Command::Verify(args) => {
            telemetry::init_logging(cli.log_format, "warn");
            match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(verify::cli::run(args)),
                Err(error) => {
                    eprintln!("checklist-operator verify: cannot start the runtime: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run {
            connect_timeout_seconds,
            egress_allow,
            egress_deny,
            egress_allow_loopback,
            concurrency,
            reconcile_namespace_share,
            verification_concurrency,
            budgets,
            namespace,
            selector,
            metrics_addr,
            prometheus_url,
            prometheus_namespace_label,
            notify,
            policy,
            leader,
            traces,
        } => {
            // The exporter's own complaints (a collector that cannot be reached) are warnings.
            // A target directive is a prefix: `opentelemetry` also covers the SDK's and the
            // exporter's (`opentelemetry_sdk`, `opentelemetry-otlp`).
            let traces = match telemetry::init_telemetry(
                cli.log_format,
                "info,kube=warn,opentelemetry=warn",
                traces.settings().as_ref(),
            ) {
                Ok(traces) => traces,
                Err(error) => {
                    eprintln!(
                        "checklist-operator run: {}",
                        checklist_operator::error::chain(&error)
                    );
                    return ExitCode::from(2);
                }
            };
            // An empty CHECKLIST_SELECTOR (a chart value left blank) means every checklist.
            let selector = selector.filter(|s| !s.trim().is_empty());
            let config = RunConfig {
                connect_timeout: Duration::from_secs(connect_timeout_seconds),
                egress: EgressPolicy::operator()
                    .allow_loopback(egress_allow_loopback)
                    .with_allowed(egress_allow)
                    .with_denied(egress_deny),
                concurrency,
                reconcile_namespace_share: reconcile_namespace_share.unwrap_or(
                    if namespace.as_deref().is_some_and(|n| !n.is_empty()) {
                        concurrency
                    } else {
                        (concurrency - concurrency / 4).max(1)
                    },
                ),
                verification: budgets.capacity(verification_concurrency),
                namespace: namespace.filter(|n| !n.is_empty()),
                selector: selector.clone(),
                metrics_addr,
                leader_election: None,
                prometheus_url,
                prometheus_namespace_label,
                notify_defaults: notify.defaults(),
                policy: policy.policy(),
            };
            let config = match leader.election(selector.as_deref()) {
                Ok(leader_election) => RunConfig {
                    leader_election,
                    ..config
                },
                Err(error) => {
                    eprintln!("checklist-operator run: {error}");
                    return ExitCode::from(2);
                }
            };
            let ran = run(config);
            // Last, outside the runtime: the exporter's blocking client sends what is buffered.
            if let Some(traces) = traces {
                traces.shutdown();
            }
            match ran {
                Ok(()) => ExitCode::SUCCESS,
                // Logged, not printed as well: with --log-format json every line on stderr stays
                // JSON for the log pipeline.
                Err(error) => {
                    tracing::error!(
                        error = %checklist_operator::error::chain(error.as_ref()),
                        "checklist-operator run failed"
                    );
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// An absolute http:// or https:// URL, for flags naming a server.
fn base_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "{text}: must be an absolute http:// or https:// URL"
        ));
    }
    Ok(url)
}

fn run(config: RunConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(operator::run(config))?;
    Ok(())
}
