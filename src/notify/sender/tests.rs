//! The sender against targets on 127.0.0.1: one that answers at once, one that fails, and one
//! that accepts connections and never answers.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, http::StatusCode, routing::post};
use tokio::{net::TcpListener, sync::mpsc};

use super::*;
use crate::notify::payload::tests::rolled_back;

/// A target answering every POST with `status`, and the times its POSTs arrived.
async fn target(status: StatusCode) -> (Url, mpsc::UnboundedReceiver<Instant>) {
    let (arrived, arrivals) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/hook",
        post(move || {
            let _ = arrived.send(Instant::now());
            async move { status }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/hook", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, arrivals)
}

/// A target that accepts every connection and never reads or answers; how many it accepted.
async fn silent_target() -> (Url, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/hook", listener.local_addr().unwrap())).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

/// A notifier allowed to reach loopback, reporting to no API server; its fair share, to watch.
fn notifier(share: FairShare) -> (Notifier, FairShare, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let mut worker = Worker::new(
        EgressPolicy::operator().allow_loopback(true),
        None,
        Arc::clone(&metrics),
    )
    .unwrap();
    worker.share = share.clone();
    (Notifier::spawn(worker), share, metrics)
}

fn production_share() -> FairShare {
    FairShare::new(IN_FLIGHT, PER_NAMESPACE_IN_FLIGHT)
}

fn delivery(namespace: &str, key: &str, url: &Url) -> Delivery {
    let mut notification = rolled_back();
    notification.namespace = namespace.into();
    Delivery {
        key: key.into(),
        target: "team".into(),
        kind: TargetKind::Webhook,
        url: url.clone(),
        notification,
        regarding: ObjectReference::default(),
    }
}

async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How long one honest delivery takes from enqueue to arrival at a target answering at once.
async fn honest_delivery(notifier: &Notifier, key: &str) -> Duration {
    let (fast, mut arrivals) = target(StatusCode::NO_CONTENT).await;
    let enqueued = Instant::now();
    notifier.enqueue(delivery("honest", key, &fast));
    // A bound for the hostile case: without fairness this is a 5 s timeout or worse.
    let arrived = tokio::time::timeout(Duration::from_secs(2), arrivals.recv())
        .await
        .expect("the honest delivery arrives within 2 s")
        .unwrap();
    arrived - enqueued
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_whose_targets_never_answer_does_not_delay_another() {
    let (alone, _, _) = notifier(production_share());
    let alone = honest_delivery(&alone, "h-alone").await;

    let (notifier, share, metrics) = notifier(production_share());
    let (silent, accepted) = silent_target().await;
    let flood = 200;
    for i in 0..flood {
        notifier.enqueue(delivery("hostile", &format!("x{i}"), &silent));
    }
    until(
        "the hostile namespace's share in flight, the rest of its queue waiting",
        || {
            accepted.load(Ordering::SeqCst) == PER_NAMESPACE_IN_FLIGHT
                && share.snapshot().waiting == QUEUE_PER_NAMESPACE - PER_NAMESPACE_IN_FLIGHT
        },
    )
    .await;
    let before = share.snapshot();
    let beside = honest_delivery(&notifier, "h-beside").await;

    println!(
        "honest namespace's delivery: {alone:?} alone, {beside:?} beside a namespace with \
         {flood} deliveries to a target that never answers ({} of them in flight, {} waiting)",
        before.in_use, before.waiting
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        PER_NAMESPACE_IN_FLIGHT,
        "the hostile namespace never held more than its share"
    );
    assert_eq!(before.in_use, PER_NAMESPACE_IN_FLIGHT);
    assert_eq!(
        before.waiting,
        QUEUE_PER_NAMESPACE - PER_NAMESPACE_IN_FLIGHT
    );
    let exposition = metrics.encode().unwrap();
    let dropped = format!(
        "checklist_notifications_total{{kind=\"webhook\",result=\"dropped_namespace_full\"}} {}",
        flood - QUEUE_PER_NAMESPACE
    );
    assert!(exposition.contains(&dropped), "{dropped} in:\n{exposition}");
    // Counted once the answer is read, a moment after the target saw the POST.
    until("the honest delivery counted", || {
        metrics
            .encode()
            .unwrap()
            .contains("checklist_notifications_total{kind=\"webhook\",result=\"delivered\"} 1")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_backing_off_holds_no_place_in_flight() {
    // One place for everyone: held across the backoff, it would keep the second delivery
    // waiting for every retry of the first.
    let (notifier, share, _) = notifier(FairShare::new(1, 1));
    let (failing, mut failures) = target(StatusCode::SERVICE_UNAVAILABLE).await;
    notifier.enqueue(delivery("a", "failing", &failing));
    failures.recv().await.unwrap();
    until("the failed attempt's place is given back", || {
        share.snapshot().in_use == 0
    })
    .await;
    let took = honest_delivery(&notifier, "next").await;
    println!("delivered in {took:?} while another delivery backs off");
    assert!(
        failures.try_recv().is_err(),
        "delivered before the failing delivery's retry (at least 800 ms after its first attempt)"
    );
}

#[tokio::test]
async fn a_duplicate_is_counted_and_not_sent_again() {
    let (notifier, _, metrics) = notifier(production_share());
    let (fast, mut arrivals) = target(StatusCode::OK).await;
    notifier.enqueue(delivery("a", "same", &fast));
    notifier.enqueue(delivery("a", "same", &fast));
    arrivals.recv().await.unwrap();
    let exposition = metrics.encode().unwrap();
    assert!(
        exposition
            .contains("checklist_notifications_total{kind=\"webhook\",result=\"duplicate\"} 1"),
        "{exposition}"
    );
}
