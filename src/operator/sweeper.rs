//! Forgets the checklists that were deleted: the controller never reconciles them again, so what
//! it remembers of them (rounds, versions, failures, Secret readers, cached objects) is dropped
//! here, every 30 seconds.

use std::{sync::Arc, time::Duration};

use kube::runtime::reflector::{ObjectRef, Store};
use tokio::task::JoinHandle;

use crate::controller::{Context, Guarded};

/// How often the deleted checklists are forgotten.
const EVERY: Duration = Duration::from_secs(30);

/// Starts the sweeper over the checklists `store` holds; abort the handle to stop it.
pub(super) fn start(store: Store<Guarded>, context: Arc<Context>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(EVERY).await;
            context.forget_deleted(|(namespace, name): &(String, String)| {
                store.get(&ObjectRef::new(name).within(namespace)).is_some()
            });
        }
    })
}
