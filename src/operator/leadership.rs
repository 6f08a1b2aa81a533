//! Leader election: with several operator replicas, only the holder of the Lease reconciles, so
//! two never act on one checklist. Losing the Lease stops the controller and the process; the
//! kubelet restarts it and it campaigns again.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseParams};
use tokio::{sync::watch, task::JoinHandle};

use super::Shutdown;
use crate::error::StartupError;

/// The Lease of an operator that reconciles every checklist.
const LEASE_NAME: &str = "checklist-operator";

/// The Lease a shard campaigns for: `checklist-operator` without a selector, else that name
/// followed by a digest of the selector, so each shard of a split cluster elects its own leader
/// and two deployments given the same selector share one (never both act).
pub fn lease_name(selector: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    match selector {
        None => LEASE_NAME.to_owned(),
        Some(selector) => {
            let digest = Sha256::digest(selector.as_bytes());
            let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
            format!("{LEASE_NAME}-{hex}")
        }
    }
}

/// Where the Lease lives and who campaigns.
#[derive(Debug, Clone)]
pub struct LeaderElection {
    /// The Lease's name ([`lease_name`]).
    pub lease: String,
    /// The Lease's namespace (the operator's own).
    pub namespace: String,
    /// This replica's name in the Lease (the pod name).
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub lease_duration: Duration,
}

impl LeaderElection {
    /// The renewal grace: a third of the lease, at least a second, so a holder renews well
    /// before it expires and clock skew up to that much is tolerated.
    fn grace_seconds(&self) -> u64 {
        (self.lease_duration.as_secs() / 3).max(1)
    }
}

/// A campaign for the Lease, running in the background.
pub(crate) struct Campaign {
    lease: String,
    state: watch::Receiver<bool>,
    task: JoinHandle<kube_lease_manager::Result<kube_lease_manager::LeaseManager>>,
}

impl Campaign {
    /// Starts campaigning.
    pub(crate) async fn start(
        client: Client,
        election: &LeaderElection,
    ) -> Result<Self, StartupError> {
        let duration = election.lease_duration.as_secs().max(2);
        let params = LeaseParams::new(
            election.identity.clone(),
            duration,
            election.grace_seconds().min(duration - 1),
        )
        .with_field_manager(format!("checklist-operator-lease-{}", election.identity));
        let manager = LeaseManagerBuilder::new(client, &election.lease)
            .with_namespace(election.namespace.clone())
            .with_parameters(params)
            .build()
            .await
            .map_err(StartupError::Campaign)?;
        let (state, task) = manager.watch().await;
        Ok(Self {
            lease: election.lease.clone(),
            state,
            task,
        })
    }

    /// Waits until this replica holds the Lease.
    pub(crate) async fn acquired(&mut self) -> Result<(), StartupError> {
        self.state
            .wait_for(|leader| *leader)
            .await
            .map(|_| ())
            .map_err(|_| StartupError::CampaignEnded)
    }

    /// Completes when this replica no longer holds the Lease.
    pub(crate) fn lost(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut state = self.state.clone();
        async move {
            // An error means the manager is gone: the Lease is not renewed any more either.
            let _ = state.wait_for(|leader| !*leader).await;
        }
    }

    /// Releases the Lease so another replica takes over at once instead of after it expires.
    pub(crate) async fn release(self) {
        drop(self.state);
        match tokio::time::timeout(Duration::from_secs(5), self.task).await {
            Ok(Ok(Ok(_))) => tracing::info!(lease = %self.lease, "leadership released"),
            Ok(Ok(Err(error))) => tracing::warn!(%error, "cannot release the Lease"),
            Ok(Err(error)) => tracing::warn!(%error, "the lease manager failed"),
            Err(_) => tracing::warn!("releasing the Lease timed out; it expires on its own"),
        }
    }
}

/// Campaigns until this replica leads; None when asked to stop first.
pub(super) async fn lead(
    client: &Client,
    election: &LeaderElection,
    shutdown: &Shutdown,
) -> Result<Option<Campaign>, StartupError> {
    let mut campaign = Campaign::start(client.clone(), election).await?;
    tracing::info!(
        lease = %election.lease,
        namespace = %election.namespace,
        identity = %election.identity,
        "waiting to become the leader"
    );
    tokio::select! {
        acquired = campaign.acquired() => acquired?,
        () = shutdown.requested() => {
            campaign.release().await;
            tracing::info!("shutting down before becoming the leader");
            return Ok(None);
        }
    }
    tracing::info!(identity = %election.identity, "became the leader");
    Ok(Some(campaign))
}

/// Completes on SIGTERM, or when the Lease is lost (then `lost_leadership` is set).
pub(super) fn stop_signal(
    campaign: Option<&Campaign>,
    shutdown: Shutdown,
    lost_leadership: Arc<AtomicBool>,
) -> impl Future<Output = ()> + Send + Sync + 'static {
    let lost = campaign.map(Campaign::lost);
    async move {
        let lost = async move {
            match lost {
                Some(lost) => lost.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.requested() => {}
            () = lost => {
                tracing::error!("lost the leader Lease: stopping so another replica takes over");
                lost_leadership.store(true, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_selector_has_a_lease_of_its_own_and_no_selector_keeps_the_old_name() {
        assert_eq!(lease_name(None), "checklist-operator");
        let a = lease_name(Some("checklist.dev/shard=a"));
        let b = lease_name(Some("checklist.dev/shard=b"));
        assert_ne!(a, b);
        assert_eq!(a, lease_name(Some("checklist.dev/shard=a")));
        assert!(
            a.starts_with("checklist-operator-") && a.len() == "checklist-operator-".len() + 10
        );
    }

    #[test]
    fn the_grace_is_a_third_of_the_lease_and_never_zero() {
        let election = |seconds| LeaderElection {
            lease: lease_name(None),
            namespace: "ops".into(),
            identity: "op-0".into(),
            lease_duration: Duration::from_secs(seconds),
        };
        assert_eq!(election(15).grace_seconds(), 5);
        assert_eq!(election(2).grace_seconds(), 1);
    }
}
