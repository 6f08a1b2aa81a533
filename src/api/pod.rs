//! What a production pod needs beside the app container: volumes, and the containers that run
//! before it (init containers) or beside it (sidecars). Scheduling fields are core/v1 types and
//! sit in `spec.app` directly.

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, ContainerPort, EmptyDirVolumeSource, EnvVar,
    PersistentVolumeClaimVolumeSource, ResourceRequirements, SecretVolumeSource, SecurityContext,
    VolumeMount,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::image;

/// The pattern of a container or volume name: an RFC 1123 DNS label.
pub(crate) const DNS_LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// A volume of the app's pods. Only the kinds the restricted Pod Security Standard allows and an
/// app needs are offered: a Secret, a ConfigMap, an emptyDir or a PersistentVolumeClaim. Set
/// exactly one of them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "[has(self.secret), has(self.configMap), has(self.emptyDir), has(self.persistentVolumeClaim)].filter(x, x).size() == 1",
        "message": "a volume sets exactly one of secret, configMap, emptyDir or persistentVolumeClaim"
    }
]))]
pub struct AppVolume {
    /// The volume's name, which volumeMounts refer to: a DNS label of at most 63 characters.
    /// Required.
    #[schemars(length(min = 1, max = 63))]
    #[schemars(regex(pattern = DNS_LABEL_PATTERN))]
    pub name: String,

    /// A Secret of the checklist's namespace, as files (core/v1 SecretVolumeSource). Example:
    /// {secretName: tls-cert}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretVolumeSource>,

    /// A ConfigMap of the checklist's namespace, as files (core/v1 ConfigMapVolumeSource).
    /// Example: {name: nginx-conf}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapVolumeSource>,

    /// A scratch folder that lives as long as the pod (core/v1 EmptyDirVolumeSource). Example:
    /// {} or {medium: Memory, sizeLimit: 64Mi}; with readOnlyRootFilesystem, the place to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirVolumeSource>,

    /// A PersistentVolumeClaim of the checklist's namespace (core/v1
    /// PersistentVolumeClaimVolumeSource). Example: {claimName: uploads}. Every revision's pods
    /// mount the same claim: with ReadWriteOnce, BlueGreen and Canary pods of two revisions must
    /// share a node or wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
}

/// A container beside the app: an init container that runs to the end before it starts, or a
/// sidecar that runs as long as it does. It runs under the same restricted security settings as
/// the app unless its securityContext says otherwise, and gets only the env it lists (not the
/// app's, nor its injected Secrets).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.name != 'app' && self.name != 'migrate'",
        "message": "'app' and 'migrate' are the names of the operator's own containers: choose another",
        "fieldPath": ".name"
    }
]))]
pub struct ExtraContainer {
    /// The container's name: a DNS label of at most 63 characters, unique among the pod's
    /// containers and never 'app' (the app container's). Required.
    #[schemars(length(min = 1, max = 63))]
    #[schemars(regex(pattern = DNS_LABEL_PATTERN))]
    pub name: String,

    /// The image to run, with a tag or a digest (the same rules as spec.app.image). Required.
    #[schemars(schema_with = "image::image_reference")]
    pub image: String,

    /// Overrides the image's ENTRYPOINT. At most 32 entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub command: Vec<String>,

    /// Arguments to the entrypoint. At most 64 entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub args: Vec<String>,

    /// Environment variables (core/v1 EnvVar), names unique. At most 64 entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub env: Vec<EnvVar>,

    /// Ports the container listens on (core/v1 ContainerPort), e.g. a metrics exporter's. At
    /// most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub ports: Vec<ContainerPort>,

    /// CPU and memory requests and limits of this container (core/v1 ResourceRequirements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// Volumes of spec.app.volumes mounted into this container (core/v1 VolumeMount). At most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub volume_mounts: Vec<VolumeMount>,

    /// Container security settings over the restricted defaults (no privilege escalation, every
    /// capability dropped), field by field, as spec.app.securityContext does for the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
}
