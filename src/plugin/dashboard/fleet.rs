//! The fleet as the page sees it, kept from one watch on the checklists (not polling: one
//! connection, whatever the fleet's size): a row per checklist, the samples of its timeline, and
//! each change as one message every open page receives. [`Fleet`] is pure; [`watch`] feeds it.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
};

use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::{
    Api,
    runtime::{WatchStreamExt, watcher},
};
use serde_json::json;
use tokio::sync::broadcast;

use super::{
    timeline::{Sample, record, sample},
    view::{Key, Row, key, row, shown_json},
};
use crate::api::DeploymentChecklist;

/// How many messages a slow page may fall behind before it is sent the whole fleet again.
const BACKLOG: usize = 1024;

/// What the watch knows: rows and timeline samples by key, and a relist under way.
#[derive(Debug, Default)]
pub struct Fleet {
    rows: BTreeMap<Key, Row>,
    samples: HashMap<Key, VecDeque<Sample>>,
    relisting: Option<BTreeMap<Key, Row>>,
    synced: bool,
}

/// A message for the pages, JSON text.
pub type Message = Arc<str>;

impl Fleet {
    /// Takes in one watch event seen at `now`; the message to send every page, if any.
    pub fn apply(
        &mut self,
        event: watcher::Event<DeploymentChecklist>,
        now: Timestamp,
    ) -> Option<Message> {
        match event {
            watcher::Event::Init => {
                self.relisting = Some(BTreeMap::new());
                None
            }
            watcher::Event::InitApply(checklist) => {
                let key = key(&checklist);
                self.observe(&key, &checklist, now);
                self.relisting
                    .get_or_insert_with(BTreeMap::new)
                    .insert(key, row(&checklist));
                None
            }
            watcher::Event::InitDone => {
                self.rows = self.relisting.take().unwrap_or_default();
                self.samples.retain(|key, _| self.rows.contains_key(key));
                self.synced = true;
                Some(self.snapshot())
            }
            watcher::Event::Apply(checklist) => {
                let key = key(&checklist);
                self.observe(&key, &checklist, now);
                let row = row(&checklist);
                if self.rows.get(&key) == Some(&row) {
                    return None;
                }
                self.rows.insert(key, row.clone());
                Some(shown_json(&json!({"kind": "upsert", "row": row})).into())
            }
            watcher::Event::Delete(checklist) => {
                let key = key(&checklist);
                self.samples.remove(&key);
                self.rows.remove(&key)?;
                Some(
                    shown_json(&json!({"kind": "remove", "namespace": key.0, "name": key.1}))
                        .into(),
                )
            }
        }
    }

    fn observe(&mut self, key: &Key, checklist: &DeploymentChecklist, now: Timestamp) {
        let samples = self.samples.entry(key.clone()).or_default();
        record(samples, sample(checklist, now));
    }

    /// Every row, as the message a page starts from.
    pub fn snapshot(&self) -> Message {
        let rows: Vec<&Row> = self.rows.values().collect();
        shown_json(&json!({"kind": "snapshot", "synced": self.synced, "rows": rows})).into()
    }

    /// The samples taken of `key`, oldest first.
    pub fn samples(&self, key: &Key) -> Vec<Sample> {
        self.samples
            .get(key)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The fleet shared between the watch and the pages, and the channel of its changes.
pub struct Shared {
    fleet: Mutex<Fleet>,
    changes: broadcast::Sender<Message>,
}

impl Shared {
    /// An empty fleet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            fleet: Mutex::new(Fleet::default()),
            changes: broadcast::channel(BACKLOG).0,
        })
    }

    fn fleet(&self) -> std::sync::MutexGuard<'_, Fleet> {
        // A panic while holding the lock leaves a fleet that is at worst one change behind.
        self.fleet.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A page's start: the changes from now on, and the whole fleet as it is. Subscribed first
    /// and sent under the same lock as each change, so replaying the queued changes after the
    /// snapshot ends where the fleet is.
    pub fn follow(&self) -> (Message, broadcast::Receiver<Message>) {
        let fleet = self.fleet();
        let receiver = self.changes.subscribe();
        (fleet.snapshot(), receiver)
    }

    /// The timeline samples of `key`.
    pub fn samples(&self, key: &Key) -> Vec<Sample> {
        self.fleet().samples(key)
    }

    fn apply(&self, event: watcher::Event<DeploymentChecklist>) {
        let mut fleet = self.fleet();
        if let Some(message) = fleet.apply(event, Timestamp::now()) {
            // No page open is not an error.
            let _ = self.changes.send(message);
        }
    }

    fn tell(&self, message: String) {
        let _ = self.changes.send(message.into());
    }
}

/// Keeps `shared` in step with the checklists `api` sees until the process ends; a failed watch
/// is retried with backoff, and each failure is shown on the open pages.
pub async fn watch(api: Api<DeploymentChecklist>, shared: Arc<Shared>) {
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => shared.apply(event),
            Err(error) => {
                tracing::warn!(error = %crate::error::chain(&error), "the checklist watch failed");
                shared.tell(shown_json(&json!({
                    "kind": "error",
                    "message": format!("the watch of checklists failed, retrying: {}", crate::error::chain(&error)),
                })));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn checklist(name: &str, phase: &str) -> DeploymentChecklist {
        serde_json::from_value(json!({
            "apiVersion": "checklist.dev/v1alpha1",
            "kind": "DeploymentChecklist",
            "metadata": {"name": name, "namespace": "team-a"},
            "spec": {"app": {"image": "web:1"}},
            "status": {"phase": phase},
        }))
        .unwrap()
    }

    fn parsed(message: Option<Message>) -> Value {
        serde_json::from_str(&message.expect("a message")).unwrap()
    }

    #[test]
    fn a_relist_replaces_the_fleet_and_changes_are_sent_once() {
        let now = Timestamp::UNIX_EPOCH;
        let mut fleet = Fleet::default();
        assert!(fleet.apply(watcher::Event::Init, now).is_none());
        assert!(
            fleet
                .apply(watcher::Event::InitApply(checklist("a", "Ready")), now)
                .is_none()
        );
        assert!(
            fleet
                .apply(watcher::Event::InitApply(checklist("b", "Verifying")), now)
                .is_none()
        );
        let snapshot = parsed(fleet.apply(watcher::Event::InitDone, now));
        assert_eq!(snapshot["kind"], "snapshot");
        assert_eq!(snapshot["synced"], true);
        assert_eq!(snapshot["rows"].as_array().unwrap().len(), 2);

        let upsert = parsed(fleet.apply(watcher::Event::Apply(checklist("b", "Ready")), now));
        assert_eq!(
            (upsert["kind"].as_str(), upsert["row"]["phase"].as_str()),
            (Some("upsert"), Some("Ready"))
        );
        // The same row again (a status write that changes nothing shown) sends nothing.
        assert!(
            fleet
                .apply(watcher::Event::Apply(checklist("b", "Ready")), now)
                .is_none()
        );

        let removed = parsed(fleet.apply(watcher::Event::Delete(checklist("a", "Ready")), now));
        assert_eq!(
            (removed["kind"].as_str(), removed["name"].as_str()),
            (Some("remove"), Some("a"))
        );
        assert!(
            fleet
                .apply(watcher::Event::Delete(checklist("a", "Ready")), now)
                .is_none()
        );

        // A relist that no longer holds b drops it and its samples.
        fleet.apply(watcher::Event::Init, now);
        fleet.apply(watcher::Event::InitApply(checklist("c", "Pending")), now);
        let snapshot = parsed(fleet.apply(watcher::Event::InitDone, now));
        let names: Vec<&str> = snapshot["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["c"]);
        assert!(fleet.samples(&("team-a".into(), "b".into())).is_empty());
        assert_eq!(fleet.samples(&("team-a".into(), "c".into())).len(), 1);
    }

    #[test]
    fn a_page_that_follows_gets_the_fleet_then_every_later_change() {
        let shared = Shared::new();
        shared.apply(watcher::Event::Init);
        shared.apply(watcher::Event::InitApply(checklist("a", "Ready")));
        shared.apply(watcher::Event::InitDone);
        let (snapshot, mut changes) = shared.follow();
        assert_eq!(parsed(Some(snapshot))["rows"][0]["name"], "a");
        shared.apply(watcher::Event::Apply(checklist("a", "Verifying")));
        let change = parsed(changes.try_recv().ok());
        assert_eq!(change["row"]["phase"], "Verifying");
    }
}
