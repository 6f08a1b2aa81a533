//! The plugin's side of the API server: a client from the kubeconfig and kubectl's flags, the
//! reads and writes the commands make, and every failure turned into one line a person can act
//! on (no cluster, no CRD, no such checklist, refused).

use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::{
    Api, Client, Config,
    api::{ListParams, Patch, PatchParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use serde_json::Value;

use crate::{
    api::{DeploymentChecklist, crd::CRD_NAME},
    error::chain,
};

/// Why a command failed: each a single line; [`PluginError::exit_code`] says how it exits.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// A flag, file or argument is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The checklist is not in a state where the request makes sense (exit 1).
    #[error("{0}")]
    Refused(String),
    /// No checklist of that name in that namespace (exit 1).
    #[error(
        "deploymentchecklist {name:?} not found in namespace {namespace:?} (kubectl checklist list -A shows every namespace)"
    )]
    NotFound {
        /// The name asked for.
        name: String,
        /// Where it was looked for.
        namespace: String,
    },
    /// The cluster has no DeploymentChecklist CRD (exit 1).
    #[error(
        "the cluster has no {CRD_NAME} CRD: install the checklist-operator chart or apply crds/deploymentchecklist.yaml"
    )]
    NoCrd,
    /// The kubeconfig is unusable or the API server does not answer (exit 1).
    #[error("cannot reach the cluster: {0}")]
    NoCluster(String),
    /// The API server refused a request (exit 1).
    #[error("the API server refused: {message}")]
    Api {
        /// Its message, with the HTTP code and reason.
        message: String,
        /// The HTTP status code it answered with.
        code: u16,
    },
}

impl PluginError {
    /// 2 for a usage error, as for a bad flag; 1 for every other failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            PluginError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// kubectl's connection flags.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// --kubeconfig: the file instead of $KUBECONFIG or ~/.kube/config.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// --context: the kubeconfig context instead of the current one.
    pub context: Option<String>,
    /// -n: the namespace instead of the context's.
    pub namespace: Option<String>,
}

/// A client and the namespace commands act in.
pub struct Cluster {
    /// The client.
    pub client: Client,
    /// -n, else the context's namespace, else "default".
    pub namespace: String,
}

/// The most Events read about one checklist.
pub const EVENTS_READ: u32 = 500;

/// How long a request may take: the plugin is interactive, a dead cluster must not hang it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

impl Cluster {
    /// Connects as kubectl would with the same flags.
    pub async fn connect(connection: &Connection) -> Result<Self, PluginError> {
        let options = KubeConfigOptions {
            context: connection.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match &connection.kubeconfig {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path).map_err(|e| {
                    PluginError::Usage(format!("--kubeconfig {}: {e}", path.display()))
                })?;
                Config::from_custom_kubeconfig(kubeconfig, &options).await
            }
            None => Config::from_kubeconfig(&options).await,
        };
        let mut config = match config {
            Ok(config) => config,
            // No kubeconfig at all: in a pod, the service account's.
            Err(error) if connection.kubeconfig.is_none() && connection.context.is_none() => {
                Config::incluster().map_err(|_| {
                    PluginError::NoCluster(format!("no usable kubeconfig: {}", chain(&error)))
                })?
            }
            Err(error) => return Err(PluginError::NoCluster(chain(&error))),
        };
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(READ_TIMEOUT);
        let namespace = connection
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).map_err(|e| PluginError::NoCluster(chain(&e)))?;
        Ok(Self { client, namespace })
    }

    /// The checklists of this namespace, or of every namespace.
    pub fn checklists(&self, all_namespaces: bool) -> Api<DeploymentChecklist> {
        if all_namespaces {
            Api::all(self.client.clone())
        } else {
            Api::namespaced(self.client.clone(), &self.namespace)
        }
    }

    /// The checklist `name` of the namespace.
    pub async fn get(&self, name: &str) -> Result<DeploymentChecklist, PluginError> {
        self.checklists(false)
            .get(name)
            .await
            .map_err(|e| self.explain(e, Some(name)))
    }

    /// Every checklist of the namespace (or of all), sorted by namespace and name.
    pub async fn list(
        &self,
        all_namespaces: bool,
    ) -> Result<Vec<DeploymentChecklist>, PluginError> {
        let mut items = self
            .checklists(all_namespaces)
            .list(&ListParams::default())
            .await
            .map_err(|e| self.explain(e, None))?
            .items;
        items.sort_by(|a, b| {
            (&a.metadata.namespace, &a.metadata.name)
                .cmp(&(&b.metadata.namespace, &b.metadata.name))
        });
        Ok(items)
    }

    /// The Events about the checklist `name`, at most [`EVENTS_READ`]. Events are a courtesy:
    /// a cluster that refuses to list them still gets the status, with no Events shown.
    pub async fn events(&self, name: &str) -> Vec<Event> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), &self.namespace);
        let selector =
            format!("involvedObject.kind=DeploymentChecklist,involvedObject.name={name}");
        // Anyone who may create Events in the namespace can make many; a page reads a bounded few.
        api.list(&ListParams::default().fields(&selector).limit(EVENTS_READ))
            .await
            .map(|list| list.items)
            .unwrap_or_default()
    }

    /// Merges `patch` into the checklist `name` (annotations, spec fields), as the plugin's
    /// field manager.
    pub async fn patch(
        &self,
        name: &str,
        patch: &Value,
    ) -> Result<DeploymentChecklist, PluginError> {
        self.checklists(false)
            .patch(
                name,
                &PatchParams {
                    field_manager: Some("kubectl-checklist".into()),
                    ..PatchParams::default()
                },
                &Patch::Merge(patch),
            )
            .await
            .map_err(|e| self.explain(e, Some(name)))
    }

    /// The Deployment `name` of the namespace.
    pub async fn deployment(
        &self,
        name: &str,
    ) -> Result<k8s_openapi::api::apps::v1::Deployment, PluginError> {
        let api: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(self.client.clone(), &self.namespace);
        match api.get_opt(name).await {
            Ok(Some(deployment)) => Ok(deployment),
            Ok(None) => Err(PluginError::Refused(format!(
                "Deployment {name:?} not found in namespace {:?}",
                self.namespace
            ))),
            Err(e) => Err(self.explain(e, None)),
        }
    }

    /// One line for a failed request about `name` (or the list).
    pub fn explain(&self, error: kube::Error, name: Option<&str>) -> PluginError {
        match error {
            kube::Error::Api(status) if status.code == 404 => {
                // A missing object names itself in the message; a missing resource type does not.
                match name {
                    Some(name) if status.message.contains(&format!("\"{name}\" not found")) => {
                        PluginError::NotFound {
                            name: name.to_string(),
                            namespace: self.namespace.clone(),
                        }
                    }
                    _ => PluginError::NoCrd,
                }
            }
            kube::Error::Api(status) => PluginError::Api {
                message: format!("{} ({} {})", status.message, status.code, status.reason),
                code: status.code,
            },
            other => PluginError::NoCluster(chain(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_found(message: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status {
                code: 404,
                message: message.into(),
                reason: "NotFound".into(),
                ..kube::core::Status::default()
            }
            .boxed(),
        )
    }

    #[tokio::test]
    async fn a_missing_object_and_a_missing_crd_read_differently() {
        let config = Config::new("http://127.0.0.1:9".parse().unwrap());
        let cluster = Cluster {
            client: Client::try_from(config).unwrap(),
            namespace: "prod".into(),
        };
        let missing = cluster.explain(
            not_found("deploymentchecklists.checklist.dev \"web\" not found"),
            Some("web"),
        );
        assert_eq!(
            missing.to_string(),
            "deploymentchecklist \"web\" not found in namespace \"prod\" (kubectl checklist list -A shows every namespace)"
        );
        let no_crd = cluster.explain(
            not_found("the server could not find the requested resource"),
            Some("web"),
        );
        assert!(matches!(no_crd, PluginError::NoCrd), "{no_crd}");
        assert!(
            no_crd
                .to_string()
                .contains("deploymentchecklists.checklist.dev CRD")
        );
        assert_eq!(no_crd.exit_code(), 1);
        assert_eq!(PluginError::Usage("x".into()).exit_code(), 2);
    }
}
