//! Watches that time every event: each ADDED, MODIFIED or DELETED with the local clock at
//! receipt, who wrote it last, and a detail per kind; what the benchmarks measure with.

use std::{
    collections::BTreeMap,
    fmt::Debug,
    time::{Duration, Instant, SystemTime},
};

use futures::StreamExt;
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Service, events::v1::Event};
use kube::{
    Api, Resource, ResourceExt,
    api::{ListParams, WatchEvent, WatchParams},
};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

/// One watch event as received, with the local clock at receipt.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The object's kind, as the watch was started with.
    pub kind: &'static str,
    /// ADDED, MODIFIED or DELETED.
    pub event: &'static str,
    /// The object's name.
    pub name: String,
    /// Its resourceVersion, when numeric.
    pub resource_version: Option<u64>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The first owner reference's name.
    pub owner: Option<String>,
    /// The newest managedFields entry: manager, operation and subresource. managedFields times
    /// have a one-second granularity, so on a tie the last entry is taken: a heuristic.
    pub writer: String,
    /// Kind-specific: a Deployment's first container image, an Event's reason and reporter.
    pub detail: Option<String>,
    /// When it was received, on the monotonic clock.
    pub at: Instant,
    /// When it was received, on the wall clock (to compare with log timestamps).
    pub wall: SystemTime,
}

/// A watch running in a task, delivering [`Seen`]s; stopped on drop.
pub struct Watch {
    rx: mpsc::UnboundedReceiver<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watch {
    /// Watches `api` from the current resourceVersion: only changes made after this call are
    /// delivered (no initial list). Bookmarks move the resume point and are not delivered.
    pub async fn start<K>(api: Api<K>, kind: &'static str, detail: fn(&K) -> Option<String>) -> Self
    where
        K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    {
        let list = api.list(&ListParams::default().limit(1)).await.unwrap();
        let mut version = list.metadata.resource_version.unwrap_or_default();
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let params = WatchParams::default().timeout(280);
                let stream = match api.watch(&params, &version).await {
                    Ok(stream) => stream,
                    Err(error) => {
                        eprintln!("warning: watch of {kind} failed, retrying: {error}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                futures::pin_mut!(stream);
                while let Some(item) = stream.next().await {
                    let (event, object) = match item {
                        Ok(WatchEvent::Added(o)) => ("ADDED", o),
                        Ok(WatchEvent::Modified(o)) => ("MODIFIED", o),
                        Ok(WatchEvent::Deleted(o)) => ("DELETED", o),
                        Ok(WatchEvent::Bookmark(b)) => {
                            version = b.metadata.resource_version;
                            continue;
                        }
                        Ok(WatchEvent::Error(status)) => {
                            eprintln!("warning: watch of {kind} ended: {status:?}");
                            break;
                        }
                        Err(error) => {
                            eprintln!("warning: watch of {kind} broke: {error}");
                            break;
                        }
                    };
                    let at = Instant::now();
                    let wall = SystemTime::now();
                    let meta = object.meta();
                    if let Some(v) = &meta.resource_version {
                        version.clone_from(v);
                    }
                    let writer = meta
                        .managed_fields
                        .iter()
                        .flatten()
                        .max_by_key(|m| m.time.as_ref().map(|t| t.0))
                        .map(|m| {
                            format!(
                                "{} {}{}",
                                m.manager.as_deref().unwrap_or("?"),
                                m.operation.as_deref().unwrap_or("?"),
                                m.subresource
                                    .as_deref()
                                    .filter(|s| !s.is_empty())
                                    .map(|s| format!(" /{s}"))
                                    .unwrap_or_default()
                            )
                        })
                        .unwrap_or_else(|| "(no managedFields)".into());
                    let seen = Seen {
                        kind,
                        event,
                        name: object.name_any(),
                        resource_version: meta
                            .resource_version
                            .as_ref()
                            .and_then(|v| v.parse().ok()),
                        labels: meta.labels.clone().unwrap_or_default(),
                        owner: meta
                            .owner_references
                            .as_ref()
                            .and_then(|o| o.first())
                            .map(|o| o.name.clone()),
                        writer,
                        detail: detail(&object),
                        at,
                        wall,
                    };
                    if tx.send(seen).is_err() {
                        return;
                    }
                }
            }
        });
        Self { rx, task }
    }

    /// The next event that `wanted` accepts (others are dropped), or a panic naming `what`
    /// after `timeout`.
    pub async fn next_matching(
        &mut self,
        what: &str,
        timeout: Duration,
        mut wanted: impl FnMut(&Seen) -> bool,
    ) -> Seen {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(seen)) if wanted(&seen) => return seen,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the watch ended while waiting for {what}"),
                Err(_) => panic!("timed out after {timeout:?} waiting for {what}"),
            }
        }
    }

    /// Everything received so far.
    pub fn drain(&mut self) -> Vec<Seen> {
        let mut all = Vec::new();
        while let Ok(seen) = self.rx.try_recv() {
            all.push(seen);
        }
        all
    }
}

/// No detail: for kinds whose events are counted, not described.
pub fn no_detail<K>(_: &K) -> Option<String> {
    None
}

/// The revision a Service's selector pins, or "*" when it selects every revision.
pub fn selected_revision(service: &Service) -> Option<String> {
    let selector = service.spec.as_ref()?.selector.as_ref()?;
    Some(
        selector
            .get("checklist.dev/revision")
            .cloned()
            .unwrap_or_else(|| "*".into()),
    )
}

/// A Deployment's first container image.
pub fn deployment_image(deployment: &Deployment) -> Option<String> {
    deployment
        .spec
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .image
        .clone()
}

/// An Event's reason, reporting controller and object.
pub fn event_detail(event: &Event) -> Option<String> {
    Some(format!(
        "reason={} reporter={} regarding={}",
        event.reason.as_deref().unwrap_or("-"),
        event.reporting_controller.as_deref().unwrap_or("-"),
        event
            .regarding
            .as_ref()
            .map(|r| format!(
                "{}/{}",
                r.kind.as_deref().unwrap_or("?"),
                r.name.as_deref().unwrap_or("?")
            ))
            .unwrap_or_else(|| "-".into()),
    ))
}
