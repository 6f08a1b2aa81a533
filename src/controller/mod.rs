//! The operator process: connects to the cluster and runs until told to stop.
//!
//! One kube-runtime Controller on DeploymentChecklist runs the reconcile (observe → plan → act →
//! record). It is triggered by the checklists, the objects they own, the Secrets they name, their
//! app's pods and the verification tasks' verdicts.

mod act;
mod clock;
mod cluster;
mod conditions;
mod control_plane;
pub mod leadership;
mod observe;
pub(crate) mod plan;
pub mod reconcile;
pub(crate) mod record;
mod retry;
mod secret_index;
mod shutdown;
mod trim;
pub mod verification;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::{FutureExt, StreamExt, TryStreamExt};
use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        batch::v1::Job,
        core::v1::{Pod, Secret, Service},
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client, ResourceExt,
    core::PartialObjectMeta,
    runtime::{
        Controller, WatchStreamExt,
        controller::Config as ControllerConfig,
        events::Reporter,
        reflector::{self, ObjectRef},
        wait::{await_condition, conditions::is_crd_established},
        watcher,
    },
};
use tokio::sync::mpsc;

pub(crate) use cluster::connect;
pub use plan::{Policy, SecurityOverrides};
pub(crate) use shutdown::Shutdown;

use crate::{
    api::crd::CRD_NAME,
    controller::record::FIELD_MANAGER,
    error::StartupError,
    resources::labels,
    telemetry::{self, Health, Metrics},
    verify::guard::{ControlPlane, EgressPolicy},
};
use leadership::{LeaderElection, lead, stop_signal};
use reconcile::{Context, Guarded};
use verification::Verifier;

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
    pub verification: verification::Capacity,
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

/// An Api over every namespace, or over the one the operator is scoped to.
fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// How long in-flight reconciles may finish after a stop request; under the chart's default
/// terminationGracePeriodSeconds (30) so the Lease is still released before SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Runs the operator until SIGTERM or Ctrl-C.
pub async fn run(config: RunConfig) -> Result<(), StartupError> {
    let shutdown = Shutdown::listen();
    let metrics = Arc::new(Metrics::new());
    let health = Health::new(Arc::clone(&metrics));
    if let Some(addr) = config.metrics_addr {
        serve_endpoints(addr, health.clone(), shutdown.clone()).await?;
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
        .with_api_server_addresses(cluster::api_server_addresses(&server.url).await)
        .with_control_plane(control_plane.clone());
    tracing::info!(egress = ?egress, "verification egress policy");
    let watch_control_plane =
        tokio::spawn(control_plane::keep_current(client.clone(), control_plane));

    tokio::select! {
        established = crd_established(&client) => established?,
        () = shutdown.requested() => {
            tracing::info!("shutting down before the CRD was established");
            return Ok(());
        }
    }
    if let Some(selector) = &config.selector {
        selector_accepted(&client, config.namespace.as_deref(), selector).await?;
    }
    health.set_ready(true);

    let campaign = match &config.leader_election {
        Some(election) => match lead(&client, election, &shutdown).await? {
            Some(campaign) => Some(campaign),
            None => return Ok(()),
        },
        None => None,
    };
    let lost_leadership = Arc::new(AtomicBool::new(false));
    let stop = stop_signal(campaign.as_ref(), shutdown, Arc::clone(&lost_leadership)).shared();

    let (reconcile_tx, reconcile_rx) = mpsc::unbounded_channel();
    let reporter = Reporter {
        controller: FIELD_MANAGER.into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    // Notification URLs are user-given URLs: the same guard as the checks.
    let notifier = crate::notify::Notifier::start(
        client.clone(),
        reporter.clone(),
        egress.clone(),
        Arc::clone(&metrics),
    )
    .map_err(StartupError::Notifier)?;
    let verifier = Verifier::new(egress, reconcile_tx)
        .with_capacity(config.verification)
        .with_metrics(Arc::clone(&metrics))
        .with_prometheus(config.prometheus_url.clone())
        .with_prometheus_namespace_label(config.prometheus_namespace_label.clone());
    let owned =
        watcher::Config::default().labels(&format!("{}={}", labels::MANAGED_BY, labels::MANAGER));
    let owned_pods = owned.clone();
    let ns = config.namespace.as_deref();
    // The owned Deployments are watched anyway (their changes trigger reconciles): kept in a
    // store, trimmed and as JSON, they answer observe's reads of the RollingUpdate Deployment.
    // The Jobs likewise, for the migration Jobs a new revision waits on.
    let (deployments, deployment_store) = cached_watch::<Deployment>(&client, ns, &owned);
    let (jobs, job_store) = cached_watch::<Job>(&client, ns, &owned);
    let caches = observe::Caches {
        deployments: observe::CachedReads::new(deployment_store),
        jobs: observe::CachedReads::new(job_store),
    };
    let context = Arc::new(
        Context::new(client.clone(), reporter, verifier.clone(), metrics)
            .with_notifier(notifier, config.notify_defaults.clone())
            .with_caches(Arc::new(caches))
            .with_policy(config.policy.clone())
            .with_namespace_share(
                usize::from(config.concurrency),
                usize::from(config.reconcile_namespace_share),
            ),
    );

    // The checklists reach the store trimmed (`trim`): their managedFields (an entry per
    // writer, kubectl's and the operator's own status writes among them) would otherwise be
    // kept with every one of them.
    let (store, writer) = reflector::store();
    let checklists = watcher(
        scoped::<Guarded>(&client, ns),
        checklist_watch(config.selector.as_deref()),
    )
    .modify(trim::trim)
    .reflect(writer)
    .applied_objects();
    let controller = Controller::for_stream(checklists, store.clone());
    // A deleted checklist is not reconciled again, so its rounds are stopped and what is
    // remembered of it is forgotten from here.
    let sweeper = tokio::spawn({
        let (store, context) = (store.clone(), Arc::clone(&context));
        async move {
            loop {
                tokio::time::sleep(Duration::from_secs(30)).await;
                let exists = |(namespace, name): &(String, String)| {
                    store.get(&ObjectRef::new(name).within(namespace)).is_some()
                };
                context.verifier.retain(exists);
                context.versions.retain(exists);
                context.failures.retain(exists);
                context.secret_readers.retain(exists);
                if let Some(caches) = &context.caches {
                    caches.retain(exists);
                }
            }
        }
    });
    // Secrets and pods are watched by metadata only: the operator never holds every Secret's
    // values in memory, and a pod's change of resourceVersion is all the trigger needs.
    let secrets = scoped::<PartialObjectMeta<Secret>>(&client, ns);
    let pods = scoped::<PartialObjectMeta<Pod>>(&client, ns);
    let verdicts = futures::stream::unfold(reconcile_rx, |mut rx| async move {
        let (namespace, name) = rx.recv().await?;
        Some((ObjectRef::<Guarded>::new(&name).within(&namespace), rx))
    });

    tracing::info!(
        concurrency = config.concurrency,
        namespace = ns.unwrap_or("(all)"),
        selector = config.selector.as_deref().unwrap_or("(all)"),
        "controller started"
    );
    let running = controller
        .owns_stream(deployments)
        .owns(scoped::<Service>(&client, ns), owned.clone())
        .owns_stream(jobs)
        .watches(secrets, watcher::Config::default(), {
            let context = Arc::clone(&context);
            move |secret| readers_of(&context, &secret)
        })
        .watches(pods, owned_pods, |pod| checklist_of(&pod))
        .reconcile_on(verdicts)
        .trigger_backoff(retry::WatchBackoff::default())
        .with_config(ControllerConfig::default().concurrency(config.concurrency))
        .graceful_shutdown_on(stop.clone())
        .run(reconcile::reconcile, reconcile::error_policy, context)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "reconcile did not complete");
            }
        });
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
    health.set_ready(false);
    sweeper.abort();
    watch_control_plane.abort();
    verifier.stop_all();
    if lost_leadership.load(Ordering::Relaxed) {
        return Err(StartupError::LostLease);
    }
    if let Some(campaign) = campaign {
        campaign.release().await;
    }
    tracing::info!("shutting down");
    Ok(())
}

/// A watch of the owned objects of kind `K` (`owned`: by label), trimmed, kept in a compact
/// store for observe's reads, and the stream of objects it touches for the controller's triggers.
fn cached_watch<K>(
    client: &Client,
    namespace: Option<&str>,
    owned: &watcher::Config,
) -> (
    impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static,
    Arc<observe::CompactStore<K>>,
)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let store = Arc::new(observe::CompactStore::default());
    let stream = watcher(scoped::<K>(client, namespace), owned.clone())
        .modify(trim::trim)
        .inspect_ok({
            let store = Arc::clone(&store);
            move |event| store.apply(event)
        })
        .touched_objects();
    (stream, store)
}

/// Serves /metrics, /healthz and /readyz on `addr` in the background until shutdown.
async fn serve_endpoints(
    addr: std::net::SocketAddr,
    health: Health,
    shutdown: Shutdown,
) -> Result<(), StartupError> {
    let listener = telemetry::server::bind(addr)
        .await
        .map_err(|source| StartupError::Listen { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %local, "serving /metrics, /healthz and /readyz");
    tokio::spawn(async move {
        if let Err(error) =
            telemetry::server::serve(listener, health, async move { shutdown.requested().await })
                .await
        {
            tracing::error!(%error, "the metrics and health endpoints stopped");
        }
    });
    Ok(())
}

/// Waits until the DeploymentChecklist CRD is established, saying so while it is not.
async fn crd_established(client: &Client) -> Result<(), StartupError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let wait = await_condition(crds, CRD_NAME, is_crd_established());
    tokio::pin!(wait);
    loop {
        tokio::select! {
            result = &mut wait => {
                return result
                    .map(|_| tracing::info!(crd = CRD_NAME, "CRD established"))
                    .map_err(StartupError::CrdWait);
            }
            () = tokio::time::sleep(Duration::from_secs(10)) => {
                tracing::warn!(crd = CRD_NAME, "waiting for the CRD to be installed and established (kubectl apply -f crds/)");
            }
        }
    }
}

/// How the checklists are watched: any version the API server's cache has (the first list is
/// served from its cache, not etcd), only those `selector` matches when this is one shard.
fn checklist_watch(selector: Option<&str>) -> watcher::Config {
    let config = watcher::Config::default().any_semantic();
    match selector {
        Some(selector) => config.labels(selector),
        None => config,
    }
}

/// Asks the API server whether it takes `selector`, once at start: a selector it refuses would
/// otherwise fail every watch, quietly, for ever.
async fn selector_accepted(
    client: &Client,
    namespace: Option<&str>,
    selector: &str,
) -> Result<(), StartupError> {
    let checklists = scoped::<crate::api::DeploymentChecklist>(client, namespace);
    let params = kube::api::ListParams::default().labels(selector).limit(1);
    match checklists.list_metadata(&params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 400 => Err(StartupError::Selector {
            selector: selector.to_owned(),
            message: status.message,
        }),
        Err(source) => Err(StartupError::SelectorCheck {
            selector: selector.to_owned(),
            source: crate::error::ApiError(source),
        }),
    }
}

/// The checklists in the Secret's namespace that read it.
fn readers_of(context: &Context, secret: &PartialObjectMeta<Secret>) -> Vec<ObjectRef<Guarded>> {
    let Some(namespace) = secret.namespace() else {
        return Vec::new();
    };
    context
        .secret_readers
        .readers(&namespace, &secret.name_any())
        .iter()
        .map(|name| ObjectRef::new(name).within(&namespace))
        .collect()
}

/// The checklist whose app a pod runs, from its label.
fn checklist_of(pod: &PartialObjectMeta<Pod>) -> Option<ObjectRef<Guarded>> {
    let name = pod.labels().get(labels::CHECKLIST)?;
    Some(ObjectRef::new(name).within(&pod.namespace()?))
}
