//! One read by name that tells "not there" from a failure, shared by the reads of observe.

use kube::Api;

use crate::{ReconcileError, Result};

/// `name` from `api`, None when it does not exist; a failure names the `kind` and `name`.
pub(super) async fn get_opt<K>(api: &Api<K>, name: &str, kind: &str) -> Result<Option<K>>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name)
        .await
        .map_err(|e| ReconcileError::read(format!("{kind} {name}"), e))
}
