//! The operator process around the reconcile pipeline: connects to the cluster, makes sure of
//! what it needs (`startup`), campaigns for the Lease (`leadership`), watches what triggers
//! reconciles (`watches`), forgets deleted checklists (`sweeper`) and stops in time
//! (`shutdown`). What a reconcile does is [`crate::controller`]'s.

mod cluster;
mod control_plane;
pub mod leadership;
mod shutdown;
mod startup;
mod sweeper;
mod watches;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::{FutureExt, StreamExt, TryStreamExt, future::Shared, stream::BoxStream};
use k8s_openapi::api::{
    apps::v1::Deployment,
    batch::v1::Job,
    core::v1::{ConfigMap, Pod, Secret, Service},
};
use kube::{
    Api, Client, ResourceExt,
    core::PartialObjectMeta,
    runtime::{
        Controller, WatchStreamExt,
        controller::Config as ControllerConfig,
        events::Reporter,
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};
use tokio::sync::mpsc;

pub(crate) use cluster::connect;
pub(crate) use shutdown::Shutdown;

use crate::{
    api::{ChecklistTemplate, ClusterChecklistTemplate, TemplateKind},
    controller::{
        CachedReads, Caches, CompactStore, Context, FIELD_MANAGER, Guarded, Policy,
        STORED_SPECS_CAPACITY, StoredSpecs, Verifier, WatchBackoff, error_policy, reconcile, trim,
    },
    error::StartupError,
    notify::Notifier,
    telemetry::{Health, Metrics},
    verify::guard::{ControlPlane, EgressPolicy},
};
use leadership::{Campaign, LeaderElection, lead, stop_signal};

/// Settings of `checklist-operator run`.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// How long to wait for the API server's first answer before giving up.
    pub connect_timeout: Duration,
    /// Where verification requests may go; the API server's own addresses are added at start.
    pub egress: EgressPolicy,
    /// How many checklists are reconciled at once.
    pub concurrency: u16,
    /// The most of those one namespace may run at once; the rest are left to the others.
    pub reconcile_namespace_share: u16,
    /// How verification rounds share the operator: in flight, per namespace, budgets.
    pub verification: crate::controller::Capacity,
    /// Watch only this namespace (a namespace-scoped install); None watches every namespace.
    pub namespace: Option<String>,
    /// Reconcile only the checklists this label selector matches (one shard of several).
    pub selector: Option<String>,
    /// Where to serve /metrics, /healthz and /readyz; None serves nothing.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Campaign for a Lease before reconciling (several replicas); None reconciles at once.
    pub leader_election: Option<LeaderElection>,
    /// The Prometheus that prometheus checks naming no address query.
    pub prometheus_url: Option<url::Url>,
    /// The label every prometheus query is confined to its checklist's namespace by; None sends
    /// queries as written.
    pub prometheus_namespace_label: Option<crate::verify::engine::NamespaceLabel>,
    /// The notification targets of checklists that name none.
    pub notify_defaults: crate::notify::Defaults,
    /// What checklists may ask of their pods and their checks.
    pub policy: Policy,
}

/// How long in-flight reconciles may finish after a stop request; under the chart's default
/// terminationGracePeriodSeconds (30) so the Lease is still released before SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// The cluster as the process found it at start.
struct Connected {
    client: Client,
    egress: EgressPolicy,
    metrics: Arc<Metrics>,
    health: Health,
    /// Keeps the control plane's addresses current for the egress guard.
    watch_control_plane: tokio::task::JoinHandle<()>,
}

/// Runs the operator until SIGTERM or Ctrl-C.
pub async fn run(config: RunConfig) -> Result<(), StartupError> {
    let shutdown = Shutdown::listen();
    let Some(connected) = start(&config, &shutdown).await? else {
        return Ok(());
    };
    let campaign = match &config.leader_election {
        Some(election) => match lead(&connected.client, election, &shutdown).await? {
            Some(campaign) => Some(campaign),
            None => return Ok(()),
        },
        None => None,
    };
    let lost_leadership = Arc::new(AtomicBool::new(false));
    let stop = stop_signal(campaign.as_ref(), shutdown, Arc::clone(&lost_leadership)).shared();
    let verifier = reconcile_until(&config, &connected, stop).await?;
    connected.health.set_ready(false);
    connected.watch_control_plane.abort();
    verifier.stop_all();
    finish(campaign, &lost_leadership).await
}

/// Serves the endpoints, connects, and waits for the CRD and the selector; None when a stop was
/// asked for first. Ready from then on.
async fn start(config: &RunConfig, shutdown: &Shutdown) -> Result<Option<Connected>, StartupError> {
    let metrics = Arc::new(Metrics::new());
    let health = Health::new(Arc::clone(&metrics));
    if let Some(addr) = config.metrics_addr {
        startup::serve_endpoints(addr, health.clone(), shutdown.clone()).await?;
    }
    let (client, server) = connect(config.connect_timeout, Arc::clone(&metrics)).await?;
    tracing::info!(
        server_version = %server.git_version,
        platform = %server.platform,
        url = %server.url,
        "connected to the Kubernetes API server"
    );
    let control_plane = ControlPlane::default();
    let egress = config
        .egress
        .clone()
        .with_api_server_addresses(cluster::api_server_addresses(&server.url).await)
        .with_control_plane(control_plane.clone());
    tracing::info!(egress = ?egress, "verification egress policy");
    let watch_control_plane =
        tokio::spawn(control_plane::keep_current(client.clone(), control_plane));
    tokio::select! {
        established = startup::crd_established(&client) => established?,
        () = shutdown.requested() => {
            tracing::info!("shutting down before the CRD was established");
            watch_control_plane.abort();
            return Ok(None);
        }
    }
    if let Some(selector) = &config.selector {
        startup::selector_accepted(&client, config.namespace.as_deref(), selector).await?;
    }
    health.set_ready(true);
    Ok(Some(Connected {
        client,
        egress,
        metrics,
        health,
        watch_control_plane,
    }))
}

/// What every reconcile shares: the client, the verifier (whose verdicts come back on the
/// returned channel), the notifier, the caches fed by the owned watches, and the policy.
fn context(
    config: &RunConfig,
    connected: &Connected,
    caches: Caches,
) -> Result<(Arc<Context>, Verdicts), StartupError> {
    let (reconcile_tx, reconcile_rx) = mpsc::unbounded_channel();
    let reporter = Reporter {
        controller: FIELD_MANAGER.into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    let client = connected.client.clone();
    let metrics = Arc::clone(&connected.metrics);
    // Notification URLs are user-given URLs: the same guard as the checks.
    let notifier = Notifier::start(
        client.clone(),
        reporter.clone(),
        connected.egress.clone(),
        Arc::clone(&metrics),
    )
    .map_err(StartupError::Notifier)?;
    let verifier = Verifier::new(connected.egress.clone(), reconcile_tx)
        .with_capacity(config.verification)
        .with_metrics(Arc::clone(&metrics))
        .with_prometheus(config.prometheus_url.clone())
        .with_prometheus_namespace_label(config.prometheus_namespace_label.clone())
        .with_client(connected.client.clone());
    let context = Context::new(client, reporter, verifier, metrics)
        .with_notifier(notifier, config.notify_defaults.clone())
        .with_caches(Arc::new(caches))
        .with_policy(config.policy.clone())
        .with_namespace_share(
            usize::from(config.concurrency),
            usize::from(config.reconcile_namespace_share),
        );
    Ok((Arc::new(context), reconcile_rx))
}

/// The checklists (namespace, name) whose verification rounds reached a verdict.
type Verdicts = mpsc::UnboundedReceiver<(String, String)>;

/// The streams the controller is driven by.
struct Watched {
    /// The checklists, trimmed, as the store below sees them.
    checklists: BoxStream<'static, Result<Guarded, watcher::Error>>,
    /// The checklists the controller holds.
    store: Store<Guarded>,
    /// The owned Deployments (also kept for observe's reads).
    deployments: BoxStream<'static, Result<Deployment, watcher::Error>>,
    /// The owned Jobs (also kept for observe's reads).
    jobs: BoxStream<'static, Result<Job, watcher::Error>>,
    /// The owned Services (those BlueGreen and Canary route through kept for observe's reads).
    services: BoxStream<'static, Result<Service, watcher::Error>>,
    /// The checklists whose verification rounds reached a verdict.
    verdicts: Verdicts,
}

/// Runs the controller until `stop`, then gives in-flight reconciles [`SHUTDOWN_GRACE`]; returns
/// the verifier, whose rounds the caller stops.
async fn reconcile_until<S>(
    config: &RunConfig,
    connected: &Connected,
    stop: Shared<S>,
) -> Result<Verifier, StartupError>
where
    S: std::future::Future<Output = ()> + Send + 'static,
{
    let (client, ns) = (&connected.client, config.namespace.as_deref());
    // The owned Deployments are watched anyway (their changes trigger reconciles): kept in a
    // store, trimmed and as JSON, they answer observe's reads of the RollingUpdate Deployment.
    // The Jobs likewise, for the migration Jobs a new revision waits on.
    let (deployments, deployment_store) =
        watches::cached_watch(client, ns, CompactStore::default());
    let (jobs, job_store) = watches::cached_watch(client, ns, CompactStore::<Job>::default());
    // The Services likewise, but only those BlueGreen and Canary read: a RollingUpdate app's
    // Service is watched for drift and never read, so it is not kept.
    let (services, service_store) =
        watches::cached_watch(client, ns, CompactStore::admitting(watches::routed));
    let caches = Caches {
        deployments: CachedReads::new(deployment_store),
        services: CachedReads::new(service_store),
        jobs: CachedReads::new(job_store),
        stored: StoredSpecs::new(STORED_SPECS_CAPACITY),
    };
    let (context, verdicts) = context(config, connected, caches)?;
    let verifier = context.verifier.clone();
    // The checklists reach the store trimmed (`trim`): their managedFields (an entry per
    // writer, kubectl's and the operator's own status writes among them) would otherwise be
    // kept with every one of them.
    let (store, writer) = reflector::store();
    let checklists = watcher(
        watches::scoped::<Guarded>(client, ns),
        watches::checklist_watch(config.selector.as_deref()),
    )
    .modify(trim)
    .reflect(writer)
    .inspect_ok({
        let context = Arc::clone(&context);
        move |event| arrived(&context, event)
    })
    .applied_objects();
    let sweeper = sweeper::start(store.clone(), Arc::clone(&context));
    let watched = Watched {
        checklists: checklists.boxed(),
        store,
        deployments: deployments.boxed(),
        jobs: jobs.boxed(),
        services: services.boxed(),
        verdicts,
    };
    let running = drive(config, client, watched, context, stop.clone());
    // In-flight reconciles get a grace period, then the process stops anyway: one stuck on a slow
    // API server must not keep it alive until the kubelet's SIGKILL, or for ever outside a pod.
    tokio::select! {
        () = running => {}
        () = stop.then(|()| tokio::time::sleep(SHUTDOWN_GRACE)) => {
            tracing::warn!(
                grace_seconds = SHUTDOWN_GRACE.as_secs(),
                "reconciles still running after the grace period: stopping without them"
            );
        }
    }
    sweeper.abort();
    Ok(verifier)
}

/// Tells what is remembered of the checklists' versions what the store now holds: a version
/// delivered, or a whole relist.
fn arrived(context: &Context, event: &watcher::Event<Guarded>) {
    match event {
        watcher::Event::Apply(checklist) => {
            let key = (
                checklist.namespace().unwrap_or_default(),
                checklist.name_any(),
            );
            context
                .versions
                .arrived(&key, checklist.resource_version().as_deref());
        }
        watcher::Event::InitDone => context.versions.relisted(),
        watcher::Event::Init | watcher::Event::InitApply(_) | watcher::Event::Delete(_) => {}
    }
}

/// The controller over `watched`, reconciling until `stop` and the reconciles in flight end.
fn drive<S>(
    config: &RunConfig,
    client: &Client,
    watched: Watched,
    context: Arc<Context>,
    stop: Shared<S>,
) -> impl std::future::Future<Output = ()> + use<S>
where
    S: std::future::Future<Output = ()> + Send + 'static,
{
    let ns = config.namespace.as_deref();
    // Secrets and pods are watched by metadata only: the operator never holds every Secret's
    // values in memory, and a pod's change of resourceVersion is all the trigger needs.
    let secrets = watches::scoped::<PartialObjectMeta<Secret>>(client, ns);
    let pods = watches::scoped::<PartialObjectMeta<Pod>>(client, ns);
    // ConfigMaps only matter to spec.app.rollOnChange: a change of resourceVersion is the
    // trigger, and observe reads the versions of the few a checklist lists.
    let config_maps = watches::scoped::<PartialObjectMeta<ConfigMap>>(client, ns);
    // Templates by metadata too: a change of their generation is the trigger, and observe reads
    // the few a checklist names.
    let templates = watches::scoped::<PartialObjectMeta<ChecklistTemplate>>(client, ns);
    let cluster_templates: Api<PartialObjectMeta<ClusterChecklistTemplate>> =
        Api::all(client.clone());
    let verdicts = futures::stream::unfold(watched.verdicts, |mut rx| async move {
        let (namespace, name) = rx.recv().await?;
        Some((ObjectRef::<Guarded>::new(&name).within(&namespace), rx))
    });
    tracing::info!(
        concurrency = config.concurrency,
        namespace = ns.unwrap_or("(all)"),
        selector = config.selector.as_deref().unwrap_or("(all)"),
        "controller started"
    );
    Controller::for_stream(watched.checklists, watched.store)
        .owns_stream(watched.deployments)
        .owns_stream(watched.services)
        .owns_stream(watched.jobs)
        .watches(secrets, watcher::Config::default(), {
            let context = Arc::clone(&context);
            move |secret| watches::readers_in(&context.secret_readers, &secret)
        })
        .watches(config_maps, watcher::Config::default(), {
            let context = Arc::clone(&context);
            move |config_map| watches::readers_in(&context.config_map_readers, &config_map)
        })
        .watches(pods, watches::owned(), |pod| watches::checklist_of(&pod))
        .watches(templates, watcher::Config::default(), {
            let context = Arc::clone(&context);
            move |t| watches::users_of(&context, TemplateKind::ChecklistTemplate, &t)
        })
        .watches(cluster_templates, watcher::Config::default(), {
            let context = Arc::clone(&context);
            move |t| watches::users_of(&context, TemplateKind::ClusterChecklistTemplate, &t)
        })
        .reconcile_on(verdicts)
        .trigger_backoff(WatchBackoff::default())
        .with_config(ControllerConfig::default().concurrency(config.concurrency))
        .graceful_shutdown_on(stop)
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "reconcile did not complete");
            }
        })
}

/// Releases the Lease, or says the process stopped because it lost it.
async fn finish(
    campaign: Option<Campaign>,
    lost_leadership: &AtomicBool,
) -> Result<(), StartupError> {
    if lost_leadership.load(Ordering::Relaxed) {
        return Err(StartupError::LostLease);
    }
    if let Some(campaign) = campaign {
        campaign.release().await;
    }
    tracing::info!("shutting down");
    Ok(())
}
