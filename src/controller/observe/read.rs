//! The observe step's reads: everything a reconcile decides on, fetched from the API server, or
//! from the controller's watch caches ([`CachedReads`]) where they can answer (the app's objects
//! are read in [`app`](super::app)). Their reduction to an [`Observation`](super::Observation) is pure and lives in
//! [`reduce`](super::reduce).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::{
    apps::v1::{ControllerRevision, Deployment},
    batch::v1::Job,
    core::v1::{Pod, Secret, Service},
};
use kube::{Api, Client, ResourceExt};

use crate::{
    ReconcileError, Result,
    api::{DeploymentChecklist, HookName},
    resources,
};

use super::{CachedReads, Caches, app, get::get_opt};

/// What a reconcile read from the cluster for one checklist.
///
/// It holds Secrets with their values, so it has no derived `Debug`: printing it by accident
/// must not print them.
pub struct World {
    /// The revision of the current spec (with its rollOnChange objects' versions).
    pub revision: String,
    /// The Secrets the checklist names (contract and header sources) that exist, by name.
    pub secrets: BTreeMap<String, Secret>,
    /// The app's Deployment.
    pub deployment: Option<Deployment>,
    /// The pods of the revision the Deployment runs.
    pub pods: Vec<Pod>,
    /// The current revision's migration Job.
    pub migration_job: Option<Job>,
    /// The current revision's down-migration Job.
    pub rollback_job: Option<Job>,
    /// The current revision's hook Jobs: preMigration, postPromotion (boxed: a Job is large,
    /// and a reconcile's future is polled on a worker thread's stack).
    pub hook_jobs: [Option<Box<Job>>; 2],
    /// The stored spec of the revision a rollback would restore: the stable one, or the one a
    /// pending rollback request names (`requests::restore_hash`).
    pub stable_record: Option<std::sync::Arc<ControllerRevision>>,
    /// BlueGreen and Canary: every app Deployment of the checklist (one per revision).
    pub revision_deployments: Vec<Deployment>,
    /// BlueGreen and Canary: the app's Service.
    pub service: Option<Service>,
    /// BlueGreen and Canary: the preview or canary Service.
    pub side_service: Option<Service>,
    /// The HTTPRoute of spec.rollout.trafficRouting: None without one; Some(None) when it does
    /// not exist.
    pub route: Option<Option<serde_json::Value>>,
    /// The PodDisruptionBudget and HorizontalPodAutoscaler of spec.app.
    pub scaling: super::ScalingObjects,
    /// spec.app.adopt's Deployment, until it is handed over.
    pub adoption: super::AdoptionObservation,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("revision", &self.revision)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field(
                "deployment",
                &self.deployment.as_ref().map(|d| d.name_any()),
            )
            .field("pods", &self.pods.len())
            .field(
                "migration_job",
                &self.migration_job.as_ref().map(|j| j.name_any()),
            )
            .field(
                "rollback_job",
                &self.rollback_job.as_ref().map(|j| j.name_any()),
            )
            .field(
                "stable_record",
                &self.stable_record.as_ref().map(|r| r.name_any()),
            )
            .field(
                "revision_deployments",
                &self
                    .revision_deployments
                    .iter()
                    .map(ResourceExt::name_any)
                    .collect::<Vec<_>>(),
            )
            .field("service", &self.service.as_ref().map(|s| s.name_any()))
            .field(
                "side_service",
                &self.side_service.as_ref().map(|s| s.name_any()),
            )
            .finish()
    }
}

impl World {
    /// Reads what `checklist` decides on; `revision` is the current spec's revision hash;
    /// `caches`, when given, answer for the RollingUpdate Deployment and the Jobs where they can.
    ///
    /// The reads are independent, so they go out together: a reconcile costs one round trip of
    /// reads (two when a Deployment exists and its pods are listed), not one per object.
    // Long (about 80 lines) on purpose: every read of a reconcile is started in this one
    // function so they can be joined into one round trip.
    pub async fn read(
        client: &Client,
        checklist: &DeploymentChecklist,
        revision: &str,
        caches: Option<&Caches>,
    ) -> Result<Self> {
        let namespace = namespace(checklist)?;
        let name = checklist.name_any();
        let owner = (namespace.clone(), name.clone());
        let spec = &checklist.spec;
        let secret_api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
        let secrets =
            futures::future::try_join_all(secret_names(checklist).into_iter().map(|secret_name| {
                let secret_api = &secret_api;
                async move {
                    let secret = get_opt(secret_api, &secret_name, "Secret").await?;
                    Ok::<_, ReconcileError>(secret.map(|secret| (secret_name, secret)))
                }
            }));
        let progressive = spec.rollout.strategy.runs_revisions_side_by_side();
        let app = async {
            if progressive {
                app::read_sides(client, &owner, checklist, revision, caches).await
            } else {
                let deployments = caches.map(|c| &c.deployments);
                let (deployment, pods) = app::read_app(client, &owner, deployments).await?;
                Ok(app::Sides {
                    deployment,
                    pods,
                    ..app::Sides::default()
                })
            }
        };
        let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
        let job_cache = caches.map(|c| &c.jobs);
        let migration_job = async {
            match &spec.migration {
                Some(_) => {
                    let job_name = resources::migration_job_name(&name, revision);
                    get_cached(&jobs, job_cache, &owner, &job_name, "Job").await
                }
                None => Ok(None),
            }
        };
        let rollback_job = async {
            match spec.migration.as_ref().and_then(|m| m.rollback.as_ref()) {
                Some(_) => {
                    let job_name = resources::rollback_migration_job_name(&name, revision);
                    get_cached(&jobs, job_cache, &owner, &job_name, "Job").await
                }
                None => Ok(None),
            }
        };
        let hook_job = |hook: HookName| {
            let wanted = spec.hooks.as_ref().and_then(|h| h.job(hook)).is_some();
            let job_name = resources::hook_job_name(&name, hook, revision);
            let (jobs, owner) = (&jobs, &owner);
            async move {
                match wanted {
                    true => get_cached(jobs, job_cache, owner, &job_name, "Job").await,
                    false => Ok(None),
                }
            }
        };
        // Boxed: the reads joined here already make a large future, and a reconcile's whole
        // future lives on a worker thread's stack.
        let hooks = Box::pin(async {
            let (pre, post) = tokio::try_join!(
                hook_job(HookName::PreMigration),
                hook_job(HookName::PostPromotion)
            )?;
            Ok::<_, ReconcileError>((pre.map(Box::new), post.map(Box::new)))
        });
        let restore = super::requests::restore_hash(checklist, revision);
        let stable_record = async {
            let Some(hash) = restore else {
                return Ok(None);
            };
            let record_name = resources::revision_record_name(&name, &hash);
            let memo = caches.map(|c| &c.stored);
            if let Some(record) = memo.and_then(|m| m.get(&namespace, &record_name)) {
                return Ok(Some(record));
            }
            let records: Api<ControllerRevision> = Api::namespaced(client.clone(), &namespace);
            let found = get_opt(&records, &record_name, "ControllerRevision").await?;
            Ok(found.map(|record| match memo {
                Some(memo) => memo.remember(&owner, &record),
                None => std::sync::Arc::new(record),
            }))
        };

        let scaling = Box::pin(async {
            tokio::try_join!(
                super::scaling::read(client, &namespace, checklist),
                super::adoption::read(client, &namespace, checklist),
            )
        });
        let (
            secrets,
            app,
            migration_job,
            rollback_job,
            (pre, post),
            stable_record,
            (scaling, adoption),
        ) = tokio::try_join!(
            secrets,
            app,
            migration_job,
            rollback_job,
            hooks,
            stable_record,
            scaling
        )?;
        Ok(Self {
            revision: revision.to_string(),
            secrets: secrets.into_iter().flatten().collect(),
            deployment: app.deployment,
            pods: app.pods,
            migration_job,
            rollback_job,
            hook_jobs: [pre, post],
            stable_record,
            revision_deployments: app.deployments,
            service: app.service,
            side_service: app.side_service,
            route: app.route,
            scaling,
            adoption,
        })
    }
}

/// The object `name` of checklist `owner` from `cache` where it can answer, else from the API
/// server (and the cache told what was read).
pub(super) async fn get_cached<K>(
    api: &Api<K>,
    cache: Option<&CachedReads<K>>,
    owner: &Key,
    name: &str,
    kind: &'static str,
) -> Result<Option<K>>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    if let Some(found) = cache.and_then(|c| c.get(&owner.0, name)) {
        return Ok(found);
    }
    let live = get_opt(api, name, kind).await?;
    if let Some(cache) = cache {
        cache.read(owner, name, live.as_ref());
    }
    Ok(live)
}

/// The checklist's namespace; the API server always sets it on a namespaced object.
pub fn namespace(checklist: &DeploymentChecklist) -> Result<String> {
    checklist
        .namespace()
        .ok_or_else(|| ReconcileError::MissingField {
            name: checklist.name_any(),
            field: "metadata.namespace",
        })
}

/// A checklist, by namespace and name: how the verification tasks and the caches of a reconcile
/// know it.
pub type Key = (String, String);

/// The checklist's key.
pub fn key(checklist: &DeploymentChecklist) -> Result<Key> {
    Ok((namespace(checklist)?, checklist.name_any()))
}

/// Every Secret the checklist reads: its secret contract, its header sources and its
/// notification targets' URLs.
pub fn secret_names(checklist: &DeploymentChecklist) -> BTreeSet<String> {
    let spec = &checklist.spec;
    let notification_urls = spec
        .notifications
        .iter()
        .flat_map(|n| n.targets.iter())
        .map(|t| &t.url_from);
    spec.secrets
        .iter()
        .map(|c| c.secret_name.clone())
        .chain(
            crate::verify::checks::kind::secret_sources(&spec.verification)
                .chain(notification_urls)
                .map(|source| source.secret_key_ref.name.clone()),
        )
        .collect()
}
