//! Which of many objects are healthy now, from one watch (listing 10,000 objects every second
//! would load the API server the benchmark measures), and the API server's request counters.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use checklist_testkit::exposition::Scrape;
use futures::StreamExt;
use kube::{
    Api, Client, Resource, ResourceExt,
    runtime::{WatchStreamExt, watcher},
};
use serde::de::DeserializeOwned;

/// Each object's generation and whether it is healthy at that generation.
type Seen = HashMap<String, (i64, bool)>;

/// The health of every object of one kind in one namespace, kept current by a watch.
pub struct Tracker {
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Tracker {
    /// Watches `api`; `healthy` says whether an object is healthy at its own generation.
    pub fn start<K>(api: Api<K>, healthy: fn(&K) -> bool) -> Self
    where
        K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
    {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            async move {
                let mut events = watcher(api, watcher::Config::default())
                    .default_backoff()
                    .boxed();
                while let Some(event) = events.next().await {
                    let objects = match event {
                        Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => vec![o],
                        Ok(watcher::Event::Delete(o)) => {
                            seen.lock().unwrap().remove(&o.name_any());
                            Vec::new()
                        }
                        _ => Vec::new(),
                    };
                    let mut seen = seen.lock().unwrap();
                    for object in objects {
                        let generation = object.meta().generation.unwrap_or_default();
                        seen.insert(object.name_any(), (generation, healthy(&object)));
                    }
                }
            }
        });
        Self { seen, task }
    }

    /// How many objects are healthy now.
    pub fn healthy(&self) -> usize {
        self.seen
            .lock()
            .unwrap()
            .values()
            .filter(|(_, h)| *h)
            .count()
    }

    /// Whether every object of `wanted` (name → generation) is healthy at that generation or
    /// a later one.
    fn all_healthy(&self, wanted: &BTreeMap<String, i64>) -> usize {
        let seen = self.seen.lock().unwrap();
        wanted
            .iter()
            .filter(|(name, generation)| {
                seen.get(*name).is_some_and(|(seen_generation, healthy)| {
                    seen_generation >= generation && *healthy
                })
            })
            .count()
    }

    /// Waits until `count` objects are healthy; how long that took from `since`, or None after
    /// `timeout` (the count reached is printed).
    pub async fn wait_count(
        &self,
        count: usize,
        since: Instant,
        timeout: Duration,
    ) -> Option<Duration> {
        let deadline = Instant::now() + timeout;
        let mut said = Instant::now();
        loop {
            let healthy = self.healthy();
            if healthy >= count {
                return Some(since.elapsed());
            }
            if Instant::now() > deadline {
                println!("    only {healthy}/{count} healthy after {timeout:?}");
                return None;
            }
            if said.elapsed() > Duration::from_secs(30) {
                println!(
                    "    {:>6.0}s  {healthy}/{count} healthy",
                    since.elapsed().as_secs_f64()
                );
                said = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every object of `wanted` is healthy at (at least) the generation given.
    pub async fn wait_for(
        &self,
        wanted: &BTreeMap<String, i64>,
        since: Instant,
        timeout: Duration,
    ) -> Option<Duration> {
        let deadline = Instant::now() + timeout;
        loop {
            let healthy = self.all_healthy(wanted);
            if healthy == wanted.len() {
                return Some(since.elapsed());
            }
            if Instant::now() > deadline {
                println!(
                    "    only {healthy}/{} healthy again after {timeout:?}",
                    wanted.len()
                );
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Tracker {
    /// Waits until each of `names` is healthy at a generation after the one given; how long
    /// each took from `since` (None for those not in time).
    pub async fn wait_each(
        &self,
        names: &BTreeMap<String, i64>,
        since: Instant,
        timeout: Duration,
    ) -> Vec<Option<Duration>> {
        let deadline = Instant::now() + timeout;
        let mut took: BTreeMap<&String, Duration> = BTreeMap::new();
        while took.len() < names.len() && Instant::now() < deadline {
            {
                let seen = self.seen.lock().unwrap();
                for (name, generation) in names {
                    if !took.contains_key(name)
                        && seen
                            .get(name)
                            .is_some_and(|(g, healthy)| g >= generation && *healthy)
                    {
                        took.insert(name, since.elapsed());
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        names.keys().map(|name| took.get(name).copied()).collect()
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The API server's own count of the requests it served, by verb (every client's: the
/// operator's, kube-controller-manager's, the benchmark's).
pub async fn apiserver_requests(client: &Client) -> BTreeMap<String, f64> {
    let request = http::Request::get("/metrics").body(Vec::new()).unwrap();
    let text = client.request_text(request).await.unwrap();
    Scrape::parse(&text).by("apiserver_request_total", "verb", &[])
}

/// `figures` as `VERB n, VERB n`, largest first, zero counts left out.
pub fn by_count(figures: &BTreeMap<String, f64>) -> String {
    let mut sorted: Vec<(&String, &f64)> = figures.iter().filter(|(_, v)| **v > 0.0).collect();
    sorted.sort_by(|a, b| b.1.total_cmp(a.1));
    let shown: Vec<String> = sorted.iter().map(|(k, v)| format!("{k} {v:.0}")).collect();
    if shown.is_empty() {
        "none".to_owned()
    } else {
        shown.join(", ")
    }
}
