//! `spec.app`: the container the checklist deploys and the Service in front of it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, LifecycleHandler, LocalObjectReference, PodSecurityContext,
    ResourceRequirements, SecurityContext, Toleration, TopologySpreadConstraint, VolumeMount,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::adoption::AdoptSpec;
use super::pod::{AppVolume, ExtraContainer};
use super::rotation::RollOnChange;
use super::scaling::{AutoscalingSpec, DisruptionBudgetSpec};
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
    },
    {
        "rule": "!has(self.autoscaling) || !has(self.replicas)",
        "message": "leave spec.app.replicas out when spec.app.autoscaling is set: the autoscaler sets the replicas",
        "fieldPath": ".replicas"
    },
    {
        "rule": "!has(self.volumeMounts) || self.volumeMounts.all(m, has(self.volumes) && self.volumes.exists(v, v.name == m.name))",
        "message": "every spec.app.volumeMounts[].name must be the name of a volume in spec.app.volumes",
        "fieldPath": ".volumeMounts"
    },
    {
        "rule": "!has(self.sidecars) || !has(self.initContainers) || !self.sidecars.exists(s, self.initContainers.exists(i, i.name == s.name))",
        "message": "a sidecar and an init container have the same name: container names are unique in a pod",
        "fieldPath": ".sidecars"
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

    /// Volumes of the app's pods: Secrets, ConfigMaps, emptyDirs and PersistentVolumeClaims,
    /// named uniquely. The migration and hook Jobs get them too, so a migration reads the same
    /// files. At most 32.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub volumes: Vec<AppVolume>,

    /// Where the app container (and the migration and hook containers) mount volumes of
    /// spec.app.volumes (core/v1 VolumeMount). Example: [{name: tmp, mountPath: /tmp}]. At most
    /// 32.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub volume_mounts: Vec<VolumeMount>,

    /// Containers that run to completion, in order, before the app starts in each pod (and
    /// before the migration and hook containers in their Jobs). At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub init_containers: Vec<ExtraContainer>,

    /// Containers that run beside the app for the pod's whole life (a proxy to the database, a
    /// log shipper). They are Kubernetes native sidecars: started before the init containers and
    /// the app, stopped after the app, and ended when a migration or hook Job's container ends.
    /// At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub sidecars: Vec<ExtraContainer>,

    /// Secrets of the namespace holding the registry credentials to pull the images (core/v1
    /// LocalObjectReference). Example: [{name: ghcr-pull}]. Used by every pod the operator
    /// creates. At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub image_pull_secrets: Vec<LocalObjectReference>,

    /// Node labels a node must carry to run the pods. Example: {kubernetes.io/arch: amd64}.
    /// Applies to every pod the operator creates. At most 32 entries.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 32))]
    pub node_selector: BTreeMap<String, String>,

    /// Where the app's pods may run (core/v1 Affinity). Its nodeAffinity also places the Jobs;
    /// pod affinity and anti-affinity apply to the app's pods only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,

    /// Taints the pods tolerate (core/v1 Toleration). Applies to every pod the operator creates.
    /// At most 32.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub tolerations: Vec<Toleration>,

    /// How to spread the app's pods across zones or nodes (core/v1 TopologySpreadConstraint).
    /// A constraint without labelSelector counts the app's pods (every revision's); add
    /// matchLabelKeys: [pod-template-hash] to spread each revision on its own. Example:
    /// [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule}].
    /// At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,

    /// The PriorityClass of every pod the operator creates. Default: the cluster's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[schemars(regex(pattern = schema::DNS_SUBDOMAIN_PATTERN))]
    pub priority_class_name: Option<String>,

    /// How long an app pod has to stop after SIGTERM before it is killed (0-3600 seconds).
    /// Default: Kubernetes' 30. Give it more than the preStop hook and the app's own drain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3600))]
    pub termination_grace_period_seconds: Option<i64>,

    /// What runs in the app container before it is sent SIGTERM (core/v1 LifecycleHandler), so
    /// it leaves the Service's endpoints before it stops taking requests. Example:
    /// {sleep: {seconds: 10}} or {exec: {command: [/app/bin/drain]}}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_stop: Option<LifecycleHandler>,

    /// A PodDisruptionBudget for the serving pods, so a node drain keeps enough of them up.
    /// Default: none. Changing it never rolls the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<DisruptionBudgetSpec>,

    /// A HorizontalPodAutoscaler for the serving pods, between minReplicas and maxReplicas.
    /// Leave spec.app.replicas out with it. Default: none. Changing it never rolls the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,

    /// When new pods of this same spec were last asked for (`kubectl checklist restart`), an
    /// RFC 3339 time. It is part of the revision: a new value releases a new revision of the same
    /// image through the strategy, with its secrets check, migration (which should find nothing
    /// to do), hooks and verification, and rolls back like any release. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[schemars(extend("format" = "date-time"))]
    pub restarted_at: Option<String>,

    /// Secrets and ConfigMaps the pods read at start whose change rolls a new revision of the
    /// same image through the strategy, with its secret contract, migration and checks, like a
    /// new release: an app that reads its configuration once sees a rotated credential only in
    /// new pods. Each name must be one the pods read (spec.secrets with inject, an env var's
    /// valueFrom, spec.app.volumes, in any container). Only the objects' metadata is read: the
    /// revision follows their resourceVersion, never their values, so any write to one (its
    /// labels too) counts as a change. status.history[].rotated names the object that started
    /// a revision. Objects not listed never roll the pods. Default: none. Example:
    /// {secrets: [db-credentials], configMaps: [app-config]}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roll_on_change: Option<RollOnChange>,

    /// Labels added to the app's pods (never to migration, hook or check Job pods), so a
    /// Service, a NetworkPolicy or a dashboard of yours selects them. With spec.app.adopt, the
    /// labels the adopted pods carry, so your Services reach old and new pods alike. Part of
    /// the revision: changing them rolls the pods. At most 16; the operator's own keys
    /// (app.kubernetes.io/name, instance, component, managed-by, version, checklist.dev/*,
    /// pod-template-hash) are refused. Example: {app: web, tier: frontend}.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "super::adoption::pod_labels_schema")]
    pub pod_labels: BTreeMap<String, String>,

    /// A running Deployment of this namespace that the checklist takes over: its pods keep
    /// serving, untouched, until a revision of the checklist is Ready, then it is scaled to 0
    /// (or deleted, as afterReady says). Give spec.app.podLabels the labels its pods carry, so
    /// the Services that reach them reach the checklist's pods too (`kubectl checklist adopt
    /// DEPLOYMENT` writes both). Needs the RollingUpdate strategy until the hand-over (a Service
    /// of yours would otherwise reach BlueGreen's preview or Canary's canary pods), and a
    /// checklist named unlike the Deployment and unlike any Service of yours. Not part of the
    /// revision: removing it once status.adoption says handedOver rolls nothing. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<AdoptSpec>,

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
