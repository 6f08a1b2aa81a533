//! What every reconcile shares: the client, the caches, what is remembered between reconciles,
//! and the operator's settings.

use std::sync::Arc;

use kube::{Client, runtime::events::Reporter};

use crate::telemetry::Metrics;

use super::super::{
    observe::{Caches, Key, Versions},
    plan,
    reader_index::{ConfigMapObject, ReaderIndex, SecretObject, TemplateObject},
    retry::Failures,
    verification::Verifier,
};

/// What every reconcile shares.
pub(crate) struct Context {
    /// The API client.
    pub(crate) client: Client,
    /// Who publishes the Events.
    pub(crate) reporter: Reporter,
    /// The verification tasks.
    pub(crate) verifier: Verifier,
    /// The operator's metrics.
    pub(crate) metrics: Arc<Metrics>,
    /// The version of each checklist after this process's last status write, so a reconcile
    /// handed an older one from the watch cache reads it again.
    pub(crate) versions: Versions,
    /// Failed reconciles in a row, by checklist: how long the next backoff is.
    pub(crate) failures: Failures,
    /// Which checklists read which Secret: who a Secret's change concerns.
    pub(crate) secret_readers: ReaderIndex<SecretObject>,
    /// Which checklists roll on which ConfigMap (spec.app.rollOnChange): who its change concerns.
    pub(crate) config_map_readers: ReaderIndex<ConfigMapObject>,
    /// Which checklists use which check template: who a template's change concerns.
    pub(crate) template_users: ReaderIndex<TemplateObject>,
    /// Which checklists follow which (spec.promotion.from): who a stage's progress concerns.
    pub(crate) followers: ReaderIndex<Key>,
    /// The RollingUpdate Deployments and the Jobs from the controller's watches; None reads
    /// them live.
    pub(crate) caches: Option<Arc<Caches>>,
    /// Where the jitter of backoffs and periodic requeues comes from: a number in 0..1.
    pub(super) jitter: fn() -> f64,
    /// Sends notifications (none in tests that do not start one).
    pub(super) notifier: Option<crate::notify::Notifier>,
    /// The reconciles running now, shared between namespaces; None: no limit per namespace.
    pub(super) shares: Option<crate::fair::FairShare>,
    /// The notification targets of checklists that name none.
    pub(super) notify_defaults: crate::notify::Defaults,
    /// What the operator's settings let a checklist ask for.
    pub(super) policy: plan::Policy,
}

impl Context {
    /// Forgets every checklist `exists` says is gone: a deleted checklist is not reconciled
    /// again, so its rounds are stopped and what is remembered of it dropped here.
    pub(crate) fn forget_deleted(&self, exists: impl Fn(&Key) -> bool) {
        self.verifier.retain(&exists);
        self.versions.retain(&exists);
        self.failures.retain(&exists);
        self.secret_readers.retain(&exists);
        self.config_map_readers.retain(&exists);
        self.template_users.retain(&exists);
        self.followers.retain(&exists);
        if let Some(caches) = &self.caches {
            caches.retain(&exists);
        }
    }

    /// What reconciles share, with nothing remembered yet.
    pub(crate) fn new(
        client: Client,
        reporter: Reporter,
        verifier: Verifier,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            client,
            reporter,
            verifier,
            metrics,
            versions: Versions::default(),
            failures: Failures::default(),
            secret_readers: ReaderIndex::default(),
            config_map_readers: ReaderIndex::default(),
            template_users: ReaderIndex::default(),
            followers: ReaderIndex::default(),
            caches: None,
            jitter: fastrand::f64,
            notifier: None,
            notify_defaults: crate::notify::Defaults::default(),
            shares: None,
            policy: plan::Policy::default(),
        }
    }

    /// The same, holding every checklist to `policy` (the operator's `run` settings).
    pub(crate) fn with_policy(self, policy: plan::Policy) -> Self {
        Self { policy, ..self }
    }

    /// The same, letting one namespace run at most `share` of the `concurrency` reconciles
    /// running at once.
    pub(crate) fn with_namespace_share(self, concurrency: usize, share: usize) -> Self {
        Self {
            shares: Some(crate::fair::FairShare::new(concurrency, share)),
            ..self
        }
    }

    /// The same, notifying through `notifier`, with `defaults` for checklists naming no target.
    pub(crate) fn with_notifier(
        self,
        notifier: crate::notify::Notifier,
        defaults: crate::notify::Defaults,
    ) -> Self {
        Self {
            notifier: Some(notifier),
            notify_defaults: defaults,
            ..self
        }
    }

    /// The same, reading the RollingUpdate Deployments and the Jobs through `caches`.
    pub(crate) fn with_caches(self, caches: Arc<Caches>) -> Self {
        Self {
            caches: Some(caches),
            ..self
        }
    }

    /// The same, with the backoff's jitter from `jitter` (a test's fixed value).
    #[cfg(test)]
    pub(crate) fn with_jitter(self, jitter: fn() -> f64) -> Self {
        Self { jitter, ..self }
    }
}
