//! The act step: carries out a plan's changes against the API server.
//!
//! Owned objects are written by server-side apply with one field manager (so applying the same
//! object twice changes nothing) or created once by name (Jobs, whose name carries the revision:
//! an existing Job is the answer, never a second run). The dispatch of each change is here; the
//! writes themselves are in `writes`, the traffic route's in `route`, the budget's and the
//! autoscaler's in `scaling`.

use k8s_openapi::api::apps::v1::Deployment;
use kube::{Client, ResourceExt, api::DeleteParams};

use crate::{
    ReconcileError, Result,
    api::{DeploymentChecklist, DeploymentChecklistSpec, HookName, RolloutStrategy},
    resources::{self, RecordError, stamp::stamped},
    traffic::{self, Live, Write},
    verify::engine::SecretValues,
};

mod adoption;
mod route;
mod scaling;
mod writes;

use super::{
    observe::{self, Caches, World, key},
    plan::{Change, Endpoint},
    record::FIELD_MANAGER,
    verification::{Assignment, Verifier},
};

/// What the act step needs besides the plan.
pub struct Actor<'a> {
    /// The API client.
    pub client: &'a Client,
    /// The checklist acted for.
    pub checklist: &'a DeploymentChecklist,
    /// What observe read (the stable revision's stored spec, the Secrets for header values).
    pub world: &'a World,
    /// The verification tasks.
    pub verifier: &'a Verifier,
    /// The history number the current revision's record gets.
    pub revision_number: i64,
    /// The caches observe read from, told of each Deployment and Job written or deleted.
    pub caches: Option<&'a Caches>,
}

impl Actor<'_> {
    /// Carries out `changes` in order; the first failure stops the rest (the next reconcile
    /// plans again from what happened).
    pub async fn act(&self, changes: &[Change]) -> Result<()> {
        for change in changes {
            tracing::debug!(change = ?change, checklist = %self.checklist.name_any(), "act");
            self.one(change).await?;
        }
        Ok(())
    }

    /// Makes one change.
    // Long (about 110 lines) on purpose: one arm per `Change`, each a few lines of building and
    // applying, so the whole dispatch is seen at once and the compiler checks every arm.
    async fn one(&self, change: &Change) -> Result<()> {
        let checklist = self.checklist;
        let spec = &checklist.spec;
        let name = checklist.name_any();
        match change {
            Change::CreateMigrationJob { revision } => {
                if let Some(job) = resources::migration_job(checklist, spec, revision) {
                    self.create(job).await?;
                }
            }
            Change::CreateHookJob { hook, revision } => {
                if let Some(job) = resources::hook_job(checklist, spec, *hook, revision) {
                    self.create(job).await?;
                }
            }
            Change::CreateRollbackMigrationJob { revision } => {
                if let Some(job) = resources::rollback_migration_job(checklist, spec, revision) {
                    self.create(job).await?;
                }
            }
            Change::SaveRevision { revision } => {
                let record =
                    resources::revision_record(checklist, spec, revision, self.revision_number)
                        .map_err(|source| ReconcileError::Serialize {
                            what: format!("the spec of revision {revision}"),
                            source,
                        })?;
                let record_name = record.metadata.name.clone().unwrap_or_default();
                self.apply(record).await?;
                self.forget_record(&record_name);
                self.prune_records(revision).await?;
            }
            Change::ApplyCurrent { revision } => {
                let applied = self
                    .apply(stamped(resources::deployment(checklist, spec, revision)))
                    .await?;
                self.wrote(&applied);
                self.apply(stamped(resources::service(checklist))).await?;
            }
            Change::RestoreStable { revision } => {
                let stable_spec = self.stable_spec(revision)?;
                let applied = self
                    .apply(stamped(resources::deployment(
                        checklist,
                        &stable_spec,
                        revision,
                    )))
                    .await?;
                self.wrote(&applied);
            }
            Change::ApplyRevision { revision, replicas } => {
                let deployment = if *revision == self.world.revision {
                    resources::revision_deployment(checklist, spec, revision, *replicas)
                } else {
                    let stable_spec = self.stable_spec(revision)?;
                    resources::revision_deployment(checklist, &stable_spec, revision, *replicas)
                };
                let applied = self.apply(stamped(deployment)).await?;
                self.wrote(&applied);
            }
            Change::Route { routing } => {
                let router = traffic::router(&name, spec);
                let live = Live {
                    route: self.world.route.clone(),
                    ..Live::read(
                        self.world.service.as_ref(),
                        self.world.side_service.as_ref(),
                    )
                };
                for write in router.writes(checklist, routing, &live) {
                    self.write(write).await?;
                }
            }
            Change::PutBackAppService { revision } => {
                let service = resources::service_selecting(checklist, &name, revision.as_deref());
                self.write(Write::AppService(service)).await?;
            }
            Change::PutBackSideService { revision } => {
                let side = self.side_service()?;
                let service = resources::side_service(checklist, &side, revision);
                self.write(Write::SideService(service)).await?;
            }
            Change::RemoveDeployments { keep } => {
                for deployment in &self.world.revision_deployments {
                    let running = resources::deployed_revision(deployment);
                    if running.as_ref().is_some_and(|r| keep.contains(r)) {
                        continue;
                    }
                    let deployment_name = deployment.name_any();
                    self.delete::<Deployment>(&deployment_name, &DeleteParams::default())
                        .await?;
                    self.deleted(&deployment_name);
                }
            }
            Change::DeleteJobs { revision } => {
                self.delete_job(&resources::migration_job_name(&name, revision))
                    .await?;
                self.delete_job(&resources::rollback_migration_job_name(&name, revision))
                    .await?;
                for hook in [HookName::PreMigration, HookName::PostPromotion] {
                    self.delete_job(&resources::hook_job_name(&name, hook, revision))
                        .await?;
                }
            }
            Change::StartVerification {
                revision,
                stage,
                endpoint,
                verified,
                failed_rounds,
            } => {
                let key = key(checklist)?;
                let router = traffic::router(&name, spec);
                // Through the users' front door with the revision header where the router has
                // one; else through the preview or canary Service (or its URL).
                let pin = match endpoint {
                    Endpoint::App => None,
                    Endpoint::Side => router.pin(revision),
                };
                let base_url = match (endpoint, &pin) {
                    (Endpoint::App, _) | (Endpoint::Side, Some(_)) => base_url(checklist, &key.0),
                    (Endpoint::Side, None) => side_url(checklist, &key.0),
                };
                let target = observe::target(revision, stage.as_deref());
                let jobs = spec
                    .verification
                    .checks
                    .iter()
                    .any(|c| c.job.is_some())
                    .then(|| resources::CheckJobs::of(checklist, &target));
                let assignment = Assignment {
                    revision: target,
                    verified: *verified,
                    watch: stage.is_some(),
                    failed_rounds: *failed_rounds,
                    spec: spec.verification.clone(),
                    base_url,
                    secrets: self.header_values(),
                    pin,
                    jobs,
                };
                self.verifier.start(key, assignment);
            }
            Change::HandOver {
                deployment,
                uid,
                resource_version,
                replicas,
                delete,
            } => {
                self.hand_over(deployment, uid, resource_version, *replicas, *delete)
                    .await?;
            }
            Change::RemoveCurrent => self.remove_current().await?,
            Change::ApplyScaling { serving } => self.apply_scaling(serving.as_deref()).await?,
            Change::RemoveScaling { budget, autoscaler } => {
                self.remove_scaling(*budget, *autoscaler).await?;
            }
            Change::StopVerification => {
                self.verifier.stop(&key(checklist)?);
            }
        }
        Ok(())
    }

    /// One write a router asked for.
    async fn write(&self, write: Write) -> Result<()> {
        match write {
            Write::AppService(service) => {
                let applied = self.apply(stamped(service)).await?;
                self.wrote_service(&applied);
            }
            Write::SideService(service) => {
                // Refused before any write when a Service of that name is someone else's.
                self.side_service()?;
                let applied = self.apply(stamped(service)).await?;
                self.wrote_service(&applied);
            }
            Write::Route { name, patch } => self.patch_route(&name, patch).await?,
        }
        Ok(())
    }

    /// The stored spec of the stable `revision`, which restoring it rebuilds from.
    fn stable_spec(&self, revision: &str) -> Result<DeploymentChecklistSpec> {
        let stored = |source| ReconcileError::StoredSpec {
            revision: revision.to_string(),
            source,
        };
        let record_name = resources::revision_record_name(&self.checklist.name_any(), revision);
        // The record read is the one observe chose to restore; a plan restoring another revision
        // must not get this one's spec.
        let record = self
            .world
            .stable_record
            .as_ref()
            .filter(|record| record.metadata.name.as_deref() == Some(record_name.as_str()))
            .ok_or_else(|| stored(RecordError::Missing(record_name.clone())))?;
        resources::recorded_spec(record).map_err(stored)
    }

    /// The preview or canary Service's name, unless a Service of that name belongs to someone
    /// else: applying it would take over their selector.
    fn side_service(&self) -> Result<String> {
        let checklist = self.checklist;
        let name = resources::side_service_name(checklist).ok_or_else(|| {
            ReconcileError::MissingField {
                name: checklist.name_any(),
                field: "spec.rollout.blueGreen or spec.rollout.canary",
            }
        })?;
        let uid = checklist.uid();
        let foreign = self
            .world
            .side_service
            .as_ref()
            .is_some_and(|service| !resources::controlled_by(service, uid.as_deref()));
        if foreign {
            return Err(ReconcileError::NotOwned {
                kind: "Service",
                name,
                field: resources::side_service_field(checklist.spec.rollout.strategy)
                    .unwrap_or("spec.rollout"),
            });
        }
        Ok(name)
    }

    /// The header values the checks read from Secrets, and the values of the Secrets injected
    /// into the app to mask in its answers; a header key that is missing or not a valid header
    /// value leaves its check to fail with a message naming the key.
    fn header_values(&self) -> SecretValues {
        let mut values = SecretValues::default();
        for source in crate::verify::checks::kind::secret_sources(&self.checklist.spec.verification)
        {
            let (secret, key) = (&source.secret_key_ref.name, &source.secret_key_ref.key);
            let value = self
                .world
                .secrets
                .get(secret)
                .and_then(|s| s.data.as_ref())
                .and_then(|data| data.get(key));
            if let Some(value) = value
                && let Err(message) = values.insert(secret, key, &value.0)
            {
                tracing::warn!(secret = %secret, key = %key, "{message}");
            }
        }
        // The app holds its injected Secrets in its environment and may print them (a debug
        // error page, a config dump): their values are masked in what it answers too.
        let injected = self.checklist.spec.secrets.iter().filter(|s| s.inject);
        for contract in injected {
            let data = self
                .world
                .secrets
                .get(&contract.secret_name)
                .and_then(|s| s.data.as_ref());
            for value in data.into_iter().flat_map(|data| data.values()) {
                values.mask(&value.0);
            }
        }
        values
    }
}

/// BlueGreen's previewURL or Canary's canaryURL, or the preview or canary Service inside the
/// cluster.
pub fn side_url(checklist: &DeploymentChecklist, namespace: &str) -> String {
    let verification = &checklist.spec.verification;
    let external = match checklist.spec.rollout.strategy {
        RolloutStrategy::BlueGreen => verification.preview_url.clone(),
        RolloutStrategy::Canary => verification.canary_url.clone(),
        RolloutStrategy::RollingUpdate => None,
    };
    external.unwrap_or_else(|| {
        let side = resources::side_service_name(checklist).unwrap_or_else(|| checklist.name_any());
        format!(
            "http://{side}.{namespace}.svc:{}",
            checklist.spec.app.service.port
        )
    })
}

/// spec.verification.url, or the app's Service inside the cluster.
pub fn base_url(checklist: &DeploymentChecklist, namespace: &str) -> String {
    match &checklist.spec.verification.url {
        Some(url) => url.clone(),
        None => format!(
            "http://{}.{namespace}.svc:{}",
            checklist.name_any(),
            checklist.spec.app.service.port
        ),
    }
}
