//! The act step's writes: server-side apply with the operator's field manager, Jobs created once
//! by name, deletes that accept an object already gone, and the pruning of revision records;
//! each tells the watch caches what it wrote so the next reconcile does not read behind it.

use k8s_openapi::api::{
    apps::v1::{ControllerRevision, Deployment},
    batch::v1::Job,
    core::v1::Service,
};
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy},
};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    ReconcileError, Result,
    resources::{self, labels},
};

use super::super::{
    observe::{self, key},
    record::FIELD_MANAGER,
};
use super::Actor;

impl Actor<'_> {
    pub(super) fn api<K>(&self) -> Result<Api<K>>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Ok(Api::namespaced(
            self.client.clone(),
            &observe::namespace(self.checklist)?,
        ))
    }

    /// Tells the Deployment cache of a Deployment this reconcile wrote.
    pub(super) fn wrote(&self, deployment: &Deployment) {
        if let (Some(caches), Ok(owner)) = (self.caches, key(self.checklist)) {
            caches.deployments.wrote(&owner, deployment);
        }
    }

    /// Tells the Deployment cache this reconcile deleted the Deployment `name`.
    pub(super) fn deleted(&self, name: &str) {
        if let (Some(caches), Ok(owner)) = (self.caches, key(self.checklist)) {
            caches.deployments.read(&owner, name, None);
        }
    }

    /// Tells the Service cache of a Service a BlueGreen or Canary release wrote.
    pub(super) fn wrote_service(&self, service: &Service) {
        if let (Some(caches), Ok(owner)) = (self.caches, key(self.checklist)) {
            caches.services.wrote(&owner, service);
        }
    }

    /// This process wrote or deleted the revision record `name`: what the memo holds of it is
    /// forgotten, so the next read is live.
    pub(super) fn forget_record(&self, name: &str) {
        if let (Some(caches), Some(namespace)) = (self.caches, self.checklist.namespace()) {
            caches.stored.forget(&namespace, name);
        }
    }

    /// Server-side apply, forcing ownership of the fields this operator sets; the object as
    /// the API server stored it.
    pub(super) async fn apply<K>(&self, object: K) -> Result<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Serialize
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let name = object.name_any();
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let applied = self
            .api::<K>()?
            .patch(&name, &params, &Patch::Apply(&object))
            .await
            .map_err(|e| ReconcileError::change(format!("apply {} {name}", K::kind(&())), e))?;
        tracing::info!(kind = %K::kind(&()), name = %name, "applied");
        Ok(applied)
    }

    /// Creates a Job unless one of that name exists: the existing one is the answer.
    pub(super) async fn create(&self, job: Job) -> Result<()> {
        let name = job.name_any();
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PostParams::default()
        };
        match self.api::<Job>()?.create(&params, &job).await {
            Ok(created) => {
                tracing::info!(job = %name, "created Job");
                if let Some(caches) = self.caches {
                    caches.jobs.wrote(&key(self.checklist)?, &created);
                }
                Ok(())
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                // It exists though the cache did not show it: read live until the cache does,
                // so the next reconcile sees the Job rather than planning its create again.
                if let Some(caches) = self.caches {
                    let existing = self.api::<Job>()?.get_opt(&name).await.ok().flatten();
                    caches
                        .jobs
                        .read(&key(self.checklist)?, &name, existing.as_ref());
                }
                Ok(())
            }
            Err(e) => Err(ReconcileError::change(format!("create Job {name}"), e)),
        }
    }

    /// Deletes an object the checklist owns with `params`; one already gone is fine.
    pub(super) async fn delete<K>(&self, name: &str, params: &DeleteParams) -> Result<()>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        match self.api::<K>()?.delete(name, params).await {
            Ok(_) => {
                tracing::info!(kind = %K::kind(&()), name = %name, "deleted");
                Ok(())
            }
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(ReconcileError::change(
                format!("delete {} {name}", K::kind(&())),
                e,
            )),
        }
    }

    pub(super) async fn delete_job(&self, name: &str) -> Result<()> {
        // Background: the Job goes at once and its pods after it, so the next attempt's Job of
        // the same name can be created as soon as the watch says it is gone.
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        self.delete::<Job>(name, &params).await?;
        // Gone, though the cache may show it a moment longer: read live until it agrees.
        if let Some(caches) = self.caches {
            caches.jobs.read(&key(self.checklist)?, name, None);
        }
        Ok(())
    }

    /// Deletes revision records beyond rollback.revisionHistoryLimit, oldest first, never the
    /// current or the stable one, with their migration Jobs.
    pub(super) async fn prune_records(&self, saved: &str) -> Result<()> {
        let checklist = self.checklist;
        let limit = usize::try_from(checklist.spec.rollback.revision_history_limit).unwrap_or(10);
        // Each revision number saves at most one record (hashes repeat, numbers do not), so a
        // checklist whose numbers have not passed the limit has nothing to prune: no list, which
        // is one request less for every new checklist.
        if usize::try_from(self.revision_number).is_ok_and(|number| number <= limit) {
            return Ok(());
        }
        let name = checklist.name_any();
        let api = self.api::<ControllerRevision>()?;
        let selector = format!("{}={name}", labels::CHECKLIST);
        let records = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| ReconcileError::read(format!("ControllerRevisions {selector}"), e))?
            .items;
        let revisions = checklist.status.as_ref().and_then(|s| s.revision.as_ref());
        let keep: Vec<&str> = revisions
            .and_then(|r| r.current.as_ref())
            .map(|c| c.hash.as_str())
            .into_iter()
            .chain(
                revisions
                    .and_then(|r| r.stable.as_ref())
                    .map(|s| s.hash.as_str()),
            )
            .chain([saved])
            .collect();
        for record in resources::records_to_prune(&records, &keep, limit) {
            let record_name = record.name_any();
            // The revision's Jobs go with its record: they are only kept as the answer for a
            // revision that could still be rolled out or rolled back.
            if let Some(hash) = record.labels().get(labels::REVISION) {
                self.delete_job(&resources::migration_job_name(&name, hash))
                    .await?;
                self.delete_job(&resources::rollback_migration_job_name(&name, hash))
                    .await?;
            }
            self.delete::<ControllerRevision>(&record_name, &DeleteParams::default())
                .await?;
            self.forget_record(&record_name);
        }
        Ok(())
    }
}
