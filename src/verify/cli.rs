//! `checklist-operator verify`: a checklist's verification run from a shell or a CI pipeline,
//! with no cluster. It reads the same file a team applies with kubectl, and refuses what the API
//! server would refuse before sending any request.
//!
//! `file` reads and validates the checklist (through `read`, `yaml`, `schema` and `rules`);
//! `secret_dir` reads header values from a folder; this module runs the rounds and prints.

mod file;
mod read;
mod rules;
mod schema;
mod secret_dir;
mod yaml;

pub(crate) use file::validate;
pub use file::{
    Linted, MAX_FILE_BYTES, MissingTemplate, lint, load, missing_templates, parse, parse_with,
    templates_file,
};
pub use read::{Links, read_limited};

#[cfg(test)]
pub(crate) use yaml::{
    MAX_NODES as YAML_MAX_NODES, MAX_TEXT_BYTES as YAML_MAX_TEXT_BYTES, documents,
};

use std::{io::Write, path::PathBuf, process::ExitCode, time::Duration};

use crate::api::CheckSpec;

use super::{
    engine::{Engine, NamespaceLabel, QueryPlaceholders, SecretValues},
    gate::{self, MinScore},
    guard::EgressPolicy,
    report,
    rounds::{RoundTracker, Verdict},
};

/// How the result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A table: ✓/✗/! (a failed warning), name, latency, message, then the score.
    Text,
    /// `{"passed":N,"total":M,"ok":true,"checks":[{"name","kind","result","severity",...}]}`.
    Json,
}

/// The flags of `checklist-operator verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The checklist file (YAML, may hold other documents such as Secrets).
    #[arg(long, short = 'f', value_name = "CHECKLIST.yaml")]
    pub file: PathBuf,

    /// A file of ChecklistTemplates and ClusterChecklistTemplates the checklist names, besides
    /// those in the checklist's own file. May be given more than once.
    #[arg(long = "templates", value_name = "TEMPLATES.yaml")]
    pub templates: Vec<PathBuf>,

    /// The URL to verify instead of spec.verification.url.
    #[arg(long)]
    pub url: Option<String>,

    /// The plain-HTTP URL of every httpsRedirect check, instead of their httpURL or the
    /// verification URL's host on port 80 (for apps served on other ports, as in staging).
    #[arg(long)]
    pub http_url: Option<String>,

    /// The checklist to use when the file holds several.
    #[arg(long)]
    pub name: Option<String>,

    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,

    /// Rounds to run at most; stops at the first passing round. Default: the checklist's
    /// failureThreshold, so a flaky check gets the retries the operator would give it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: Option<u32>,

    /// Seconds between rounds. Default: the checklist's intervalSeconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub interval_seconds: Option<u64>,

    /// The Prometheus-compatible API that prometheus checks naming no address query,
    /// e.g. http://127.0.0.1:9090.
    #[arg(long, value_name = "URL")]
    pub prometheus_url: Option<String>,

    /// What {{revision}} stands for in prometheus queries. Default: the revision hash the
    /// operator gives this file's spec (the pods' checklist.dev/revision label).
    #[arg(long, value_name = "HASH")]
    pub revision: Option<String>,

    /// Confine prometheus queries to the checklist's namespace through LABEL, as the operator
    /// started with --prometheus-namespace-label does. Default: queries are sent as written.
    #[arg(long, value_name = "LABEL")]
    pub prometheus_namespace_label: Option<NamespaceLabel>,

    /// The namespace the checklist is verified as: {{namespace}} in prometheus queries, and the
    /// one --prometheus-namespace-label confines them to. Default: the file's, else `default`.
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// A folder laid out like a mounted Secret volume, `DIR/<secret name>/<key>`, holding the
    /// values of headers that come from Secrets. Without it those checks are skipped.
    #[arg(long, value_name = "DIR")]
    pub secret_dir: Option<PathBuf>,
}

/// Exit status 2: the file or a flag is wrong; the message names what.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs the command; 0 when every check passes, 1 when any does not, 2 on a bad file or flag.
pub async fn run(args: VerifyArgs) -> ExitCode {
    match verify(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("checklist-operator verify: {error}");
            ExitCode::from(2)
        }
    }
}

async fn verify(args: &VerifyArgs) -> Result<bool, UsageError> {
    let mut checklist = load(&args.file, args.name.as_deref(), &args.templates)?;
    if let Some(http_url) = &args.http_url {
        point_redirect_checks_at(&mut checklist.spec.verification.checks, http_url);
    }
    let name = checklist.metadata.name.clone().unwrap_or_default();
    let verification = &checklist.spec.verification;
    let url = args
        .url
        .clone()
        .or_else(|| verification.url.clone())
        .ok_or_else(|| {
            UsageError(format!(
                "{name}: no URL to verify: pass --url or set spec.verification.url"
            ))
        })?;
    let secrets = match &args.secret_dir {
        Some(dir) => secret_dir::read(dir, &checklist)?,
        None => SecretValues::default(),
    };
    // The person running the CLI is trusted: loopback and private addresses are allowed.
    let prometheus = args
        .prometheus_url
        .as_deref()
        .map(|address| {
            url::Url::parse(address)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| {
                    UsageError(format!(
                        "--prometheus-url {address}: must be an absolute http:// or https:// URL"
                    ))
                })
        })
        .transpose()?;
    let placeholders = QueryPlaceholders {
        revision: args
            .revision
            .clone()
            .unwrap_or_else(|| crate::resources::revision_hash(&checklist.spec)),
        namespace: args
            .namespace
            .clone()
            .or_else(|| checklist.metadata.namespace.clone())
            .unwrap_or_else(|| "default".into()),
        name: name.clone(),
    };
    let engine = Engine::new(verification, &url, EgressPolicy::cli(), secrets)
        .map_err(|e| UsageError(e.to_string()))?
        .with_prometheus(prometheus)
        .with_prometheus_namespace_label(args.prometheus_namespace_label.clone())
        .with_placeholders(placeholders);

    let rounds = args
        .rounds
        .unwrap_or(verification.failure_threshold.max(1).unsigned_abs());
    let interval = Duration::from_secs(args.interval_seconds.unwrap_or(u64::from(
        verification.interval_seconds.max(0).unsigned_abs(),
    )));
    // A job check runs a Job in the cluster; from a shell there is none to run it in.
    let (jobs, checks): (Vec<CheckSpec>, Vec<CheckSpec>) = verification
        .checks
        .iter()
        .cloned()
        .partition(|c| c.job.is_some());
    for job in &jobs {
        eprintln!(
            "{}: job check {} runs in the cluster, by the operator; not run here",
            name,
            crate::text::line(&job.name, 63)
        );
    }
    let verification = &crate::api::VerificationSpec {
        checks,
        ..verification.clone()
    };
    if let Some(problem) =
        gate::unreachable_min_score(&verification.checks, verification.min_score.as_ref())
    {
        return Err(UsageError(format!("{name}: {problem}")));
    }
    let min_score = verification
        .min_score
        .as_ref()
        .and_then(|m| MinScore::read(m).ok());
    let mut tracker = RoundTracker::new(verification.failure_threshold.max(1).unsigned_abs());
    let mut outcomes = Vec::new();
    let mut judged = gate::judge_round(&[], &[], None);
    for round in 1..=rounds {
        outcomes = engine.run_round(&verification.checks).await;
        judged = gate::judge_round(&verification.checks, &outcomes, min_score);
        let verdict = tracker.record(judged.passed);
        if verdict != Verdict::Pending || round == rounds {
            break;
        }
        eprintln!(
            "round {round}/{rounds}: {}/{} passed; next round in {}s",
            judged.score,
            judged.counted,
            interval.as_secs()
        );
        tokio::time::sleep(interval).await;
    }

    let report = report::Round {
        checks: &verification.checks,
        outcomes: &outcomes,
        judged: &judged,
    };
    let printed = match args.output {
        OutputFormat::Text => report.text(),
        OutputFormat::Json => serde_json::to_string(&report.json())
            .map(|s| s + "\n")
            .map_err(|e| UsageError(format!("cannot write the JSON report: {e}")))?,
    };
    // A closed stdout (`| head`) is not worth a panic.
    let _ = std::io::stdout().write_all(printed.as_bytes());
    Ok(judged.passed)
}

/// Points every httpsRedirect check at `http_url` (what `--http-url` does): for apps whose plain
/// HTTP is not on port 80 of the verification host, as in staging or on loopback.
pub fn point_redirect_checks_at(checks: &mut [CheckSpec], http_url: &str) {
    for redirect in checks.iter_mut().filter_map(|c| c.https_redirect.as_mut()) {
        redirect.http_url = Some(http_url.to_string());
    }
}
