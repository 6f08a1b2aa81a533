//! `spec.app`: the container the checklist deploys and the Service in front of it.

use k8s_openapi::api::core::v1::{
    EnvVar, PodSecurityContext, ResourceRequirements, SecurityContext,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{image, schema};

/// The application: which image runs, how many copies, on which port, with which environment.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.env) || !self.env.exists(e, e.name == 'PORT')",
        "message": "spec.app.env must not set PORT: the operator sets it from spec.app.port",
        "fieldPath": ".env",
        "reason": "FieldValueForbidden"
    }
]))]
pub struct AppSpec {
    /// The container image to roll out, with a tag or a digest. Required.
    /// Example: ghcr.io/acme/dialectic:1.4.2 or ghcr.io/acme/dialectic@sha256:<64 hex digits>.
    /// The tag 'latest' is refused unless pinned by a digest: the operator records the exact
    /// image it verified as the stable revision and rolls back to it.
    /// A new image starts a new rollout: secrets are checked, the migration runs, then the pods
    /// are replaced and verified. Blanks and control or format (bidi) characters are refused.
    #[schemars(schema_with = "image::image_reference")]
    pub image: String,

    /// How many pods to run (0-1000). 0 is the emergency stop: every pod stops and nothing else
    /// changes; set it back to resume. A Deployment changed by hand (kubectl scale) is put back
    /// to it. Leave it out when a HorizontalPodAutoscaler scales the app: the operator then never
    /// sets the Deployment's replicas (a new Deployment starts with 1, and BlueGreen and Canary
    /// size the new revision like the stable one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: Option<i32>,

    /// The port the application listens on (1-65535). Default 8080. It becomes the container
    /// port named "http", the target of the Service and of the probes, and the PORT environment
    /// variable, so do not set PORT in env.
    #[serde(default = "schema::int::<8080>")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,

    /// Environment variables for the app container and the migration Job, in the core/v1 EnvVar
    /// form (name with value or valueFrom). Names are unique. Example: PHX_HOST, PHX_SERVER,
    /// POOL_SIZE. Keep secrets out of here: list them under spec.secrets so the operator checks
    /// them before a rollout. At most 128 entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 128))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub env: Vec<EnvVar>,

    /// Overrides the image's ENTRYPOINT, as in a Pod's container command. Default: the image's
    /// own entrypoint. Example: ["/app/bin/server"]. At most 32 entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub command: Vec<String>,

    /// Arguments to the entrypoint, as in a Pod's container args. Default: the image's CMD.
    /// At most 64 entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub args: Vec<String>,

    /// CPU and memory requests and limits of the app container (core/v1 ResourceRequirements).
    /// Example: {requests: {cpu: 500m, memory: 1Gi}, limits: {memory: 1Gi}}. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// The Service in front of the app. Default: a ClusterIP Service on port 80.
    #[serde(default)]
    pub service: ServiceSpec,

    /// The pod-level security settings of the app pods and the migration Job pods (core/v1
    /// PodSecurityContext). Default: runAsNonRoot true and seccompProfile RuntimeDefault, as the
    /// restricted Pod Security Standard requires. Fields set here replace those defaults one by
    /// one, e.g. {runAsUser: 1000, fsGroup: 1000}; set runAsNonRoot: false only for an image that
    /// must run as root (a restricted namespace then refuses its pods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security_context: Option<PodSecurityContext>,

    /// The container-level security settings of the app and migration containers (core/v1
    /// SecurityContext). Default: allowPrivilegeEscalation false and every capability dropped,
    /// as the restricted Pod Security Standard requires. Fields set here replace those defaults
    /// one by one, e.g. {readOnlyRootFilesystem: true} or
    /// {capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,

    /// The ServiceAccount the app and migration pods run as. Default: the namespace's default
    /// ServiceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[schemars(regex(pattern = schema::DNS_SUBDOMAIN_PATTERN))]
    pub service_account_name: Option<String>,

    /// Mount the ServiceAccount's API token into the app and migration pods. Default false: an
    /// app that does not call the Kubernetes API should not hold a credential for it.
    #[serde(default, skip_serializing_if = "schema::is_false")]
    pub automount_service_account_token: bool,
}

/// The Service the operator puts in front of the app, named like the checklist.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    /// The port the Service listens on (1-65535); it forwards to spec.app.port. Default 80.
    /// The default verification URL is http://<name>.<namespace>.svc:<this port>.
    #[serde(default = "schema::int::<80>")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,

    /// The Service type: ClusterIP (default), NodePort or LoadBalancer.
    #[serde(default, rename = "type")]
    pub type_: ServiceType,
}

impl Default for ServiceSpec {
    fn default() -> Self {
        Self {
            port: 80,
            type_: ServiceType::default(),
        }
    }
}

/// How the Service is exposed, as in core/v1 Service.spec.type.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ServiceType {
    /// Reachable inside the cluster only.
    #[default]
    #[serde(rename = "ClusterIP")]
    ClusterIp,
    /// Also reachable on a port of every node.
    NodePort,
    /// Also reachable through a cloud load balancer.
    LoadBalancer,
}
