//! `status -w`: the checklist drawn again on every change, from a watch on that one object
//! (not polling), until Ctrl-C or its deletion.

use std::io::{IsTerminal, Write};

use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::{WatchStreamExt, watcher};

use super::{
    Output, PluginError, cluster::Cluster, encode, render, render::Paint, shown::shown, tidy,
};

/// Draws the checklist `name` now and after each change.
pub async fn run(
    cluster: &Cluster,
    name: &str,
    output: Output,
    paint: Paint,
) -> Result<(), PluginError> {
    // A clear error for a bad name before the watch starts.
    cluster.get(name).await?;
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let stream = watcher(cluster.checklists(false), config).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let terminal = std::io::stdout().is_terminal();
    let mut last_drawn: Option<String> = None;
    loop {
        let event = tokio::select! {
            event = stream.next() => event,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let checklist = match event {
            None => return Ok(()),
            Some(Err(error)) => {
                return Err(PluginError::NoCluster(format!("the watch failed: {error}")));
            }
            Some(Ok(watcher::Event::Apply(checklist) | watcher::Event::InitApply(checklist))) => {
                checklist
            }
            Some(Ok(watcher::Event::Delete(_))) => {
                return Err(PluginError::Refused(format!("{name} was deleted")));
            }
            Some(Ok(watcher::Event::Init | watcher::Event::InitDone)) => continue,
        };
        let version = checklist.metadata.resource_version.clone();
        if version.is_some() && version == last_drawn {
            continue;
        }
        last_drawn = version;
        let frame = match output {
            Output::Text => {
                let events = shown(&cluster.events(name).await)?;
                render::status(&shown(&checklist)?, &events, paint, &Timestamp::now())
            }
            _ => encode(&tidy(checklist), output)?,
        };
        let mut stdout = std::io::stdout();
        // On a terminal the screen is redrawn in place; piped, frames follow one another.
        let separator = if terminal {
            "\u{1b}[H\u{1b}[2J".to_string()
        } else {
            format!("--- {}\n", Timestamp::now())
        };
        if stdout
            .write_all(format!("{separator}{frame}").as_bytes())
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return Ok(());
        }
    }
}
