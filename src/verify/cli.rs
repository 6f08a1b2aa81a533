//! `checklist-operator verify`: a checklist's verification run from a shell or a CI pipeline,
//! with no cluster. It reads the same file a team applies with kubectl.

use std::{
    collections::BTreeSet,
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use serde::Deserialize;

use crate::api::{CheckSpec, DeploymentChecklist};

use super::{
    engine::{Engine, SecretValues},
    guard::EgressPolicy,
    report,
    rounds::{RoundTracker, Verdict},
};

/// How the result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A table: ✓/✗, name, latency, message, then `Score: passed/total`.
    Text,
    /// `{"passed":N,"total":M,"checks":[{"name","kind","result","message","latencyMs",...}]}`.
    Json,
}

/// The flags of `checklist-operator verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The checklist file (YAML, may hold other documents such as Secrets).
    #[arg(long, short = 'f', value_name = "CHECKLIST.yaml")]
    pub file: PathBuf,

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

    /// A folder laid out like a mounted Secret volume, `DIR/<secret name>/<key>`, holding the
    /// values of headers that come from Secrets. Without it those checks are skipped.
    #[arg(long, value_name = "DIR")]
    pub secret_dir: Option<PathBuf>,
}

/// Exit status 2: the file or a flag is wrong; the message names what.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

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
    let mut checklist = load(&args.file, args.name.as_deref())?;
    if let Some(http_url) = &args.http_url {
        point_redirect_checks_at(&mut checklist.spec.verification.checks, http_url);
    }
    let name = checklist.metadata.name.clone().unwrap_or_default();
    let verification = &checklist.spec.verification;
    validate_checks(&checklist)?;
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
        Some(dir) => read_secret_dir(dir, &checklist)?,
        None => SecretValues::default(),
    };
    // The person running the CLI is trusted: loopback and private addresses are allowed.
    let engine = Engine::new(verification, &url, EgressPolicy::cli(), secrets)
        .map_err(|e| UsageError(e.to_string()))?;

    let rounds = args
        .rounds
        .unwrap_or(verification.failure_threshold.max(1).unsigned_abs());
    let interval = Duration::from_secs(args.interval_seconds.unwrap_or(u64::from(
        verification.interval_seconds.max(0).unsigned_abs(),
    )));
    let mut tracker = RoundTracker::new(verification.failure_threshold.max(1).unsigned_abs());
    let mut outcomes = Vec::new();
    for round in 1..=rounds {
        outcomes = engine.run_round(&verification.checks).await;
        let verdict = tracker.record(&outcomes);
        let passed = outcomes.iter().filter(|o| o.passed()).count();
        if verdict != Verdict::Pending || round == rounds {
            break;
        }
        eprintln!(
            "round {round}/{rounds}: {passed}/{} passed; next round in {}s",
            outcomes.len(),
            interval.as_secs()
        );
        tokio::time::sleep(interval).await;
    }

    let all_passed = outcomes.iter().all(|o| o.passed());
    let printed = match args.output {
        OutputFormat::Text => report::text(&outcomes),
        OutputFormat::Json => serde_json::to_string(&report::json(&outcomes))
            .map(|s| s + "\n")
            .map_err(|e| UsageError(format!("cannot write the JSON report: {e}")))?,
    };
    // A closed stdout (`| head`) is not worth a panic.
    let _ = std::io::stdout().write_all(printed.as_bytes());
    Ok(all_passed)
}

/// Points every httpsRedirect check at `http_url` (what `--http-url` does): for apps whose plain
/// HTTP is not on port 80 of the verification host, as in staging or on loopback.
pub fn point_redirect_checks_at(checks: &mut [CheckSpec], http_url: &str) {
    for redirect in checks.iter_mut().filter_map(|c| c.https_redirect.as_mut()) {
        redirect.http_url = Some(http_url.to_string());
    }
}

/// Reads the DeploymentChecklist out of a YAML file that may hold other documents.
pub fn load(file: &Path, name: Option<&str>) -> Result<DeploymentChecklist, UsageError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
    let mut found = Vec::new();
    for (index, document) in serde_norway::Deserializer::from_str(&text).enumerate() {
        let value = serde_json::Value::deserialize(document).map_err(|e| {
            UsageError(format!(
                "{}: document {} is not valid YAML: {e}",
                file.display(),
                index + 1
            ))
        })?;
        if value.get("kind").and_then(|k| k.as_str()) == Some("DeploymentChecklist") {
            found.push(value);
        }
    }
    let chosen = match (found.len(), name) {
        (0, _) => {
            return Err(UsageError(format!(
                "{} holds no DeploymentChecklist",
                file.display()
            )));
        }
        (_, Some(name)) => found
            .into_iter()
            .find(|v| v["metadata"]["name"].as_str() == Some(name))
            .ok_or_else(|| {
                UsageError(format!(
                    "{} holds no DeploymentChecklist named {name}",
                    file.display()
                ))
            })?,
        (1, None) => found.remove(0),
        (_, None) => {
            let names: Vec<&str> = found
                .iter()
                .filter_map(|v| v["metadata"]["name"].as_str())
                .collect();
            return Err(UsageError(format!(
                "{} holds several DeploymentChecklists ({}); choose one with --name",
                file.display(),
                names.join(", ")
            )));
        }
    };
    decode(chosen).map_err(|e| UsageError(format!("{}: {e}", file.display())))
}

/// Decodes strictly: a wrong type is reported with its path, and an unknown (misspelled) field
/// is an error, as the API server's strict field validation would make it.
fn decode(value: serde_json::Value) -> Result<DeploymentChecklist, String> {
    if let Some(version) = value.get("apiVersion").and_then(|v| v.as_str())
        && version != "checklist.dev/v1alpha1"
    {
        return Err(format!(
            "apiVersion {version} is not checklist.dev/v1alpha1"
        ));
    }
    let mut unknown = Vec::new();
    let checklist = {
        let mut note_unknown = |path: serde_ignored::Path<'_>| unknown.push(field_path(&path));
        let ignoring = serde_ignored::Deserializer::new(&value, &mut note_unknown);
        serde_path_to_error::deserialize(ignoring)
            .map_err(|e| format!("{}: {}", e.path(), e.inner()))?
    };
    // metadata and status are the API server's business; only the spec's fields are ours.
    unknown.retain(|path| path.starts_with("spec"));
    match unknown.as_slice() {
        [] => Ok(checklist),
        fields => Err(format!("unknown field {}", fields.join(", "))),
    }
}

/// `spec.checks.0.http.?.x` as users write it: `spec.checks[0].http.x` (`?` marks an Option).
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    let mut out = String::new();
    for step in path.to_string().split('.') {
        if step == "?" {
            continue;
        }
        if step.bytes().all(|b| b.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{step}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(step);
        }
    }
    out
}

/// The rules the API server would apply to checks, for a file that never met it.
fn validate_checks(checklist: &DeploymentChecklist) -> Result<(), UsageError> {
    let checks = &checklist.spec.verification.checks;
    if checks.is_empty() {
        return Err(UsageError(
            "spec.verification.checks is empty: there is nothing to verify".into(),
        ));
    }
    let mut names = BTreeSet::new();
    for check in checks {
        if check.check().is_none() {
            return Err(UsageError(format!(
                "check {} must set exactly one of http, httpsRedirect, securityHeaders or rateLimit",
                check.name
            )));
        }
        if !names.insert(check.name.as_str()) {
            return Err(UsageError(format!(
                "spec.verification.checks: the name {} is used twice",
                check.name
            )));
        }
    }
    Ok(())
}

/// Reads `DIR/<secret>/<key>` for every header that takes its value from a Secret.
fn read_secret_dir(
    dir: &Path,
    checklist: &DeploymentChecklist,
) -> Result<SecretValues, UsageError> {
    let mut secrets = SecretValues::default();
    for source in checklist.spec.verification.header_sources() {
        let (secret, key) = (&source.secret_key_ref.name, &source.secret_key_ref.key);
        let path = dir.join(secret).join(key);
        match std::fs::read(&path) {
            Ok(value) => secrets.insert(secret, key, &value).map_err(UsageError)?,
            // A missing file leaves the check skipped, with a message saying which key.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(UsageError(format!("cannot read {}: {e}", path.display())));
            }
        }
    }
    Ok(secrets)
}
