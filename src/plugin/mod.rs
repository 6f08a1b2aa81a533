//! `kubectl checklist`: the kubectl plugin for the people who run checklists — see one in the
//! sections of the seed guides, list them, read their history, and ask the operator to promote,
//! abort, retry or roll back, or to run a new image. Every request is an annotation or a spec
//! field the operator already reads (`api::requests`), so the plugin holds no logic of its own.
//!
//! `cluster` talks to the API server, `render` draws, `requests` decides what to write, `lint`
//! checks files; this module is the command line.

mod adopt;
mod cluster;
mod completion;
mod dashboard;
mod lint;
pub mod render;
mod requests;
mod shown;
mod watch;

use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    process::ExitCode,
};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

pub use cluster::{Connection, PluginError};

use crate::{api::DeploymentChecklist, verify};
use cluster::Cluster;
use render::Paint;

const EXAMPLES: &str = "\
Examples:
  kubectl checklist list -A
  kubectl checklist status dialectic -n prod -w
  kubectl checklist history dialectic
  kubectl checklist promote dialectic
  kubectl checklist rollback dialectic --to-revision 3
  kubectl checklist set image dialectic ghcr.io/acme/dialectic:1.6.0
  kubectl checklist lint -f examples/dialectic.yaml
  kubectl checklist adopt web --name web-app > web-app.yaml
  kubectl checklist dashboard -A

Exit status: 0 done; 1 the request failed or was refused (the message says why); 2 a bad flag,
argument or file.";

/// See and steer DeploymentChecklists: status in the sections of a deployment checklist, history,
/// promote, abort, retry, rollback, set image, verify and lint.
#[derive(Debug, Parser)]
#[command(name = "kubectl-checklist", version, after_help = EXAMPLES)]
pub struct Cli {
    /// The namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    namespace: Option<String>,

    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "CONTEXT")]
    context: Option<String>,

    /// The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,

    /// Colour: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    color: ColorChoice,

    #[command(subcommand)]
    command: Command,
}

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How a read command prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people.
    Text,
    /// The objects as JSON.
    Json,
    /// The objects as YAML.
    Yaml,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The checklist in sections: secrets, migration, rollout, verification, dependencies,
    /// score and the last Events.
    Status {
        /// The checklist's name.
        name: String,
        /// Keep watching: print the checklist again on every change (Ctrl-C ends).
        #[arg(short, long)]
        watch: bool,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "text")]
        output: Output,
    },
    /// The checklists of the namespace, one per line.
    #[command(visible_alias = "ls")]
    List {
        /// Every namespace.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "text")]
        output: Output,
    },
    /// The revisions rolled out: image, outcome, why, when and how long.
    History {
        /// The checklist's name.
        name: String,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "text")]
        output: Output,
    },
    /// BlueGreen and Canary: end the current pause, or switch a release waiting for a person.
    Promote {
        /// The checklist's name.
        name: String,
    },
    /// BlueGreen and Canary: stop the release in progress; the stable version serves.
    Abort {
        /// The checklist's name.
        name: String,
    },
    /// Try a failed (Failed or RolledBack) revision once more.
    Retry {
        /// The checklist's name.
        name: String,
    },
    /// New pods of the same image and spec: a new revision released through the strategy, with
    /// its checks, as `kubectl rollout restart` does for a Deployment.
    Restart {
        /// The checklist's name.
        name: String,
    },
    /// spec.promotion with approval Manual: promote the revision of the followed stage that
    /// waits for approval (status.promotion.awaitingApproval).
    Approve {
        /// The checklist's name.
        name: String,
    },
    /// Restore an earlier revision that passed its checklist (default: the latest one before
    /// the current spec). The operator records it in the history as a manual rollback.
    Rollback {
        /// The checklist's name.
        name: String,
        /// The revision number from `kubectl checklist history`.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
        to_revision: Option<i64>,
    },
    /// Change a field of the spec.
    #[command(subcommand)]
    Set(SetCommand),
    /// Run a checklist file's HTTP checks against its URL, without a cluster.
    Verify(Box<verify::cli::VerifyArgs>),
    /// Check a checklist file against the CRD's schema and rules, naming every bad field;
    /// the CRD's remaining rules are checked by a server-side dry run when a cluster answers.
    Lint {
        /// The file (YAML; every DeploymentChecklist in it is checked).
        #[arg(short, long, value_name = "FILE")]
        file: PathBuf,
        /// Do not ask the cluster for a dry run.
        #[arg(long)]
        offline: bool,
        /// A file of ChecklistTemplates and ClusterChecklistTemplates the checklists name,
        /// besides those in FILE. May be given more than once.
        #[arg(long = "templates", value_name = "TEMPLATES.yaml")]
        templates: Vec<PathBuf>,
    },
    /// Print a checklist that takes over a running Deployment without restarting its pods
    /// (spec.app.adopt): review it, then kubectl apply it.
    Adopt {
        /// The Deployment to adopt.
        deployment: String,
        /// The checklist's name; not the Deployment's (the checklist runs a Deployment named
        /// like itself) nor a Service's of yours.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The app's container, when the pods have several (default: the one named app).
        #[arg(long, value_name = "CONTAINER")]
        container: Option<String>,
        /// What happens to the Deployment once the checklist is Ready.
        #[arg(long, value_enum, default_value = "scale-down")]
        after_ready: AfterReadyArg,
    },
    /// Serve a live page of every release on loopback, with your kubeconfig's credentials:
    /// the fleet, one release's sections and timeline, promote, abort, retry and rollback.
    Dashboard {
        /// Every namespace (as your RBAC lets you list them).
        #[arg(short = 'A', long)]
        all_namespaces: bool,
        /// Where to listen: a loopback address and port (port 0 picks a free one).
        #[arg(long, value_name = "ADDRESS", default_value = dashboard::DEFAULT_ADDRESS)]
        address: std::net::SocketAddr,
    },
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// spec.app.adopt.afterReady on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AfterReadyArg {
    /// Scale it to 0 and leave it in place.
    ScaleDown,
    /// Delete it.
    Delete,
}

#[derive(Debug, Subcommand)]
enum SetCommand {
    /// Set spec.app.image: a new revision starts through the whole checklist.
    Image {
        /// The checklist's name.
        name: String,
        /// The new image, with a tag or digest.
        image: String,
    },
}

/// Runs the plugin with the process's arguments.
pub fn main() -> ExitCode {
    // Help and errors name the command as people type it, through kubectl.
    let matches = Cli::command().bin_name("kubectl checklist").get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("kubectl checklist: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    let paint = Paint {
        colour: match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        },
    };
    let connection = Connection {
        kubeconfig: cli.kubeconfig,
        context: cli.context,
        namespace: cli.namespace,
    };
    let result = match cli.command {
        Command::Verify(args) => return verify::cli::run(*args).await,
        Command::Completion { shell } => print(&completion::completion(shell)),
        Command::Lint {
            file,
            offline,
            templates,
        } => return lint::run(&file, &templates, offline, &connection).await,
        command => with_cluster(command, &connection, paint).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kubectl checklist: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn with_cluster(
    command: Command,
    connection: &Connection,
    paint: Paint,
) -> Result<(), PluginError> {
    let cluster = Cluster::connect(connection).await?;
    let token = request_token();
    match command {
        Command::Status {
            name,
            watch: true,
            output,
        } => watch::run(&cluster, &name, output, paint).await,
        Command::Status { name, output, .. } => {
            let checklist = cluster.get(&name).await?;
            let text = match output {
                Output::Text => {
                    let events = shown::shown(&cluster.events(&name).await)?;
                    render::status(
                        &shown::shown(&checklist)?,
                        &events,
                        paint,
                        &Timestamp::now(),
                    )
                }
                _ => encode(&tidy(checklist), output)?,
            };
            print(&text)
        }
        Command::List {
            all_namespaces,
            output,
        } => {
            let checklists = cluster.list(all_namespaces).await?;
            let text = match output {
                Output::Text if checklists.is_empty() => {
                    let place = if all_namespaces {
                        "any namespace".to_string()
                    } else {
                        format!("namespace {:?}", cluster.namespace)
                    };
                    eprintln!("no DeploymentChecklist in {place}");
                    String::new()
                }
                Output::Text => render::list(
                    &shown::shown(&checklists)?,
                    all_namespaces,
                    paint,
                    &Timestamp::now(),
                ),
                _ => encode(
                    &serde_json::json!({
                        "apiVersion": "v1",
                        "kind": "List",
                        "items": checklists.into_iter().map(tidy).collect::<Vec<_>>(),
                    }),
                    output,
                )?,
            };
            print(&text)
        }
        Command::History { name, output } => {
            let checklist = cluster.get(&name).await?;
            let text = match output {
                Output::Text => {
                    render::history(&shown::shown(&checklist)?, paint, &Timestamp::now())
                }
                _ => encode(
                    &checklist.status.map(|s| s.history).unwrap_or_default(),
                    output,
                )?,
            };
            print(&text)
        }
        Command::Promote { name } => {
            let checklist = cluster.get(&name).await?;
            send(&cluster, &checklist, requests::promote(&checklist, &token)?).await
        }
        Command::Abort { name } => {
            let checklist = cluster.get(&name).await?;
            send(&cluster, &checklist, requests::abort(&checklist, &token)?).await
        }
        Command::Retry { name } => {
            let checklist = cluster.get(&name).await?;
            send(&cluster, &checklist, requests::retry(&checklist, &token)?).await
        }
        Command::Restart { name } => {
            let checklist = cluster.get(&name).await?;
            // To the second, as kubectl rollout restart writes it.
            let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap_or_default();
            send(
                &cluster,
                &checklist,
                requests::restart(&checklist, &now.to_string())?,
            )
            .await
        }
        Command::Approve { name } => {
            let checklist = cluster.get(&name).await?;
            send(&cluster, &checklist, requests::approve(&checklist)?).await
        }
        Command::Rollback { name, to_revision } => {
            let checklist = cluster.get(&name).await?;
            let request = requests::rollback(&checklist, to_revision, &token)?;
            send(&cluster, &checklist, request).await
        }
        Command::Set(SetCommand::Image { name, image }) => {
            let checklist = cluster.get(&name).await?;
            send(
                &cluster,
                &checklist,
                requests::set_image(&checklist, &image)?,
            )
            .await
        }
        Command::Dashboard {
            all_namespaces,
            address,
        } => dashboard::run(cluster, address, all_namespaces).await,
        Command::Adopt {
            deployment,
            name,
            container,
            after_ready,
        } => {
            let after_ready = match after_ready {
                AfterReadyArg::ScaleDown => crate::api::AfterReady::ScaleDown,
                AfterReadyArg::Delete => crate::api::AfterReady::Delete,
            };
            let live = cluster.deployment(&deployment).await?;
            let written = adopt::checklist_from(&live, &name, container.as_deref(), after_ready)
                .map_err(PluginError::Refused)?;
            let notes: String = written
                .notes
                .iter()
                .map(|note| format!("# note: {}\n", crate::text::line(note, 400)))
                .collect();
            print(&format!(
                "{notes}{}",
                encode(&written.checklist, Output::Yaml)?
            ))
        }
        Command::Verify(_) | Command::Lint { .. } | Command::Completion { .. } => Ok(()),
    }
}

/// Makes the write and says what was asked and how to follow it.
async fn send(
    cluster: &Cluster,
    checklist: &DeploymentChecklist,
    request: requests::Request,
) -> Result<(), PluginError> {
    let name = checklist.name_any();
    cluster.patch(&name, &request.patch).await?;
    print(&format!(
        "{}\nfollow it: kubectl checklist status {name} -n {} -w\n",
        request.said, cluster.namespace
    ))
}

/// A new value for a request annotation: the time to the nanosecond, so two requests in the
/// same second are still two.
pub(crate) fn request_token() -> String {
    let now = Timestamp::now();
    format!("{}.{:09}", now.as_second(), now.subsec_nanosecond())
}

/// The object as `kubectl get -o` would print it, without managedFields.
fn tidy(mut checklist: DeploymentChecklist) -> DeploymentChecklist {
    checklist.metadata.managed_fields = None;
    checklist
}

use shown::encode;

fn print(text: &str) -> Result<(), PluginError> {
    // A closed stdout (`| head`) ends the command quietly.
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(())
}
