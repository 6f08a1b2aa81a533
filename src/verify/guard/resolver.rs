//! The resolver that applies an [`EgressPolicy`] to every address a name resolves to.

use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::EgressPolicy;

/// A reqwest DNS resolver that resolves with the system resolver and drops every address the
/// policy refuses. reqwest connects only to what it returns, so the address checked is the
/// address connected to.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    policy: Arc<EgressPolicy>,
}

impl GuardedResolver {
    /// A resolver that applies `policy`.
    pub fn new(policy: Arc<EgressPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let host = name.as_str();
            // tokio's `net` feature is not named in Cargo.toml; reqwest enables it for its own
            // connector, so it is always present where this resolver can be used. Port 0 lets
            // reqwest fill in the URL's port.
            let resolved = tokio::net::lookup_host((host, 0)).await?;
            let kept = policy.filter_resolved(host, resolved)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}
