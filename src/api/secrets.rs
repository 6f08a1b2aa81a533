//! `spec.secrets`: the secret contract, checked before anything changes in the cluster.
//!
//! The operator reads the Secret, checks each key against its rule and reports the result in
//! `status.secrets` with lengths and pattern verdicts only; a value is never logged or shown.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// One Secret the app needs and the keys it must hold.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!self.inject || !has(self.keys) || self.keys.all(k, k.name.matches('^[A-Za-z_][A-Za-z0-9_]*$'))",
        "message": "key names must be valid environment variable names ([A-Za-z_][A-Za-z0-9_]*) when inject is true",
        "fieldPath": ".keys"
    }
]))]
pub struct SecretContract {
    /// The name of the Secret in the checklist's namespace. Required. Example: dialectic-env.
    /// The Secret is not created by the operator; a missing Secret is reported in the
    /// SecretsValid condition and blocks the rollout.
    #[schemars(length(min = 1, max = 253))]
    #[schemars(regex(
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub secret_name: String,

    /// Whether every key of the Secret is injected as environment variables (envFrom) into the
    /// app container and the migration Job. Default true. Set false for a Secret the app mounts
    /// or reads some other way but that must still pass the checks.
    #[serde(default = "schema::yes")]
    pub inject: bool,

    /// The keys the Secret must hold, each with its rule; names are unique within the Secret.
    /// Example: [{name: SECRET_KEY_BASE, minLength: 64}, {name: DATABASE_URL, pattern: '^ecto://'}].
    /// Default: none, which only checks that the Secret exists. At most 64 keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub keys: Vec<SecretKeyRule>,
}

/// A key of a Secret and what its value must look like.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRule {
    /// The key in the Secret's data. Required. With inject (the default) it is also the
    /// environment variable name, so it must match [A-Za-z_][A-Za-z0-9_]*. Example: SECRET_KEY_BASE.
    #[schemars(length(min = 1, max = 253))]
    #[schemars(regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub name: String,

    /// The value's minimum length in characters of its UTF-8 text (at least 1). Example: 64 for
    /// SECRET_KEY_BASE, the length `mix phx.gen.secret` produces. Default: any non-empty value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65536))]
    pub min_length: Option<i32>,

    /// A regular expression the value must match, searched anywhere in the value unless
    /// anchored with ^ and $. Example: '^ecto://' for an Ecto DATABASE_URL. The verdict is
    /// reported; the value never is. Default: any value. The pattern may compile to at most
    /// 16 KiB (Unicode classes such as \w are large; [A-Za-z0-9_] is not), and a value longer
    /// than 4 KiB fails the key, so checking it stays quick on every reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    #[schemars(regex(pattern = schema::ONE_LINE_PATTERN))]
    pub pattern: Option<String>,

    /// Whether the key may be missing. Default false: a missing or empty key fails the check and
    /// blocks the rollout. When an optional key is present, minLength and pattern still apply.
    #[serde(default, skip_serializing_if = "schema::is_false")]
    pub optional: bool,
}
