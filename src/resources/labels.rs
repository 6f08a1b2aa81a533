//! The labels on every object a checklist owns, and the immutable subset that selects its pods.
//!
//! The recommended `app.kubernetes.io/*` labels make the objects readable by kubectl, Argo CD and
//! dashboards; `checklist.dev/checklist` finds everything one checklist owns with one selector.

use std::collections::BTreeMap;

/// `app.kubernetes.io/name`: the checklist's name, which is the app's name.
pub const NAME: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/instance`: the checklist's name; one checklist is one instance of an app.
pub const INSTANCE: &str = "app.kubernetes.io/instance";
/// `app.kubernetes.io/component`: what part of the app an object is (see [`Component`]).
pub const COMPONENT: &str = "app.kubernetes.io/component";
/// `app.kubernetes.io/version`: the image tag, when it fits in a label value.
pub const VERSION: &str = "app.kubernetes.io/version";
/// `app.kubernetes.io/managed-by`: always [`MANAGER`].
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// `checklist.dev/checklist`: the name of the owning checklist.
pub const CHECKLIST: &str = "checklist.dev/checklist";
/// `checklist.dev/revision`: the revision hash, on pods and Jobs. The same key as the annotation
/// ([`crate::resources::REVISION_ANNOTATION`]), so one key finds the revision on any object.
pub const REVISION: &str = "checklist.dev/revision";
/// `checklist.dev/job`: which migration Job a Job is, `migrate` or `rollback`.
pub const JOB: &str = "checklist.dev/job";
/// `checklist.dev/routed`: `"true"` on the Services a BlueGreen or Canary release moves traffic
/// with (the app's and the preview or canary Service). The operator keeps these in its watch
/// cache; a RollingUpdate app's Service, which no reconcile reads, takes no memory there.
pub const ROUTED: &str = "checklist.dev/routed";
/// The value of `app.kubernetes.io/managed-by`.
pub const MANAGER: &str = "checklist-operator";

/// The longest label value Kubernetes accepts.
const MAX_VALUE_LENGTH: usize = 63;

/// What part of the app an object belongs to, the value of `app.kubernetes.io/component`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    /// The app's pods, Deployment and Service.
    App,
    /// The migration and down-migration Jobs and their pods.
    Migration,
    /// The Jobs of job checks and their pods.
    Check,
}

impl Component {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::App => "app",
            Component::Migration => "migration",
            Component::Check => "check",
        }
    }
}

/// The labels that select a checklist's app pods: name, instance and component `app`.
///
/// These become the Deployment's selector, which Kubernetes never lets change, so nothing that
/// varies between revisions (version, revision) may be here. The component is here because
/// migration Job pods carry the same name and instance: without it the Deployment and the Service
/// would also select them.
pub fn selector_labels(checklist_name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (NAME.to_owned(), checklist_name.to_owned()),
        (INSTANCE.to_owned(), checklist_name.to_owned()),
        (COMPONENT.to_owned(), Component::App.as_str().to_owned()),
    ])
}

/// [`selector_labels`] as a label selector string (`k=v,k=v`), for listing the app's pods.
pub fn selector_query(checklist_name: &str) -> String {
    selector_labels(checklist_name)
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The labels of an object of `component` that spans versions (the Service, which fronts old
/// and new pods alike): name, instance, component, managed-by and the checklist.
pub fn base_labels(checklist_name: &str, component: Component) -> BTreeMap<String, String> {
    BTreeMap::from([
        (NAME.to_owned(), checklist_name.to_owned()),
        (INSTANCE.to_owned(), checklist_name.to_owned()),
        (COMPONENT.to_owned(), component.as_str().to_owned()),
        (MANAGED_BY.to_owned(), MANAGER.to_owned()),
        (CHECKLIST.to_owned(), checklist_name.to_owned()),
    ])
}

/// The labels of an object of `component` running `image`: [`base_labels`] and, when the image
/// tag fits in a label value, the version.
pub fn labels(checklist_name: &str, image: &str, component: Component) -> BTreeMap<String, String> {
    let mut labels = base_labels(checklist_name, component);
    if let Some(version) = image_version(image) {
        labels.insert(VERSION.to_owned(), version);
    }
    labels
}

/// The tag of an image reference as a label value, or None when there is no tag (a bare digest)
/// or it cannot be a label value.
///
/// A tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; a label value must start and end with a letter
/// or digit and be at most 63 characters. Trimming the ends keeps `1.4.2-` readable as `1.4.2`,
/// but a long tag is left out rather than cut, because a truncated version would name another.
pub fn image_version(image: &str) -> Option<String> {
    let without_digest = image.split('@').next().unwrap_or(image);
    // The tag follows the last ':' of the last path segment; an earlier ':' is a registry port.
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let (_, tag) = last_segment.rsplit_once(':')?;
    let tag = tag.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let valid = !tag.is_empty()
        && tag.len() <= MAX_VALUE_LENGTH
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    valid.then(|| tag.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_tag_of_the_last_path_segment() {
        let cases = [
            ("ghcr.io/acme/dialectic:1.4.2", Some("1.4.2")),
            ("localhost:5000/app:v2", Some("v2")),
            ("localhost:5000/app", None),
            ("ghcr.io/acme/app@sha256:abcd", None),
            ("ghcr.io/acme/app:1.0@sha256:abcd", Some("1.0")),
            ("app:_build-", Some("build")),
            ("app:___", None),
        ];
        for (image, version) in cases {
            assert_eq!(image_version(image).as_deref(), version, "{image}");
        }
    }

    #[test]
    fn version_is_left_out_when_the_tag_is_longer_than_a_label_value() {
        let fits = format!("app:{}", "a".repeat(63));
        let too_long = format!("app:{}", "a".repeat(64));
        assert_eq!(image_version(&fits).map(|v| v.len()), Some(63));
        assert_eq!(image_version(&too_long), None);
        assert!(!labels("app", &too_long, Component::App).contains_key(VERSION));
    }

    #[test]
    fn selector_is_a_subset_of_the_app_labels_without_version_or_revision() {
        let selector = selector_labels("dialectic");
        let labels = labels("dialectic", "ghcr.io/acme/dialectic:1.4.2", Component::App);
        assert!(selector.iter().all(|(k, v)| labels.get(k) == Some(v)));
        assert!(!selector.contains_key(VERSION) && !selector.contains_key(REVISION));
        assert_eq!(labels.get(MANAGED_BY).map(String::as_str), Some(MANAGER));
        assert_eq!(labels.get(CHECKLIST).map(String::as_str), Some("dialectic"));
    }

    #[test]
    fn selector_does_not_match_migration_pods() {
        let selector = selector_labels("dialectic");
        let migration = labels("dialectic", "app:1", Component::Migration);
        assert!(!selector.iter().all(|(k, v)| migration.get(k) == Some(v)));
    }

    #[test]
    fn selector_query_lists_every_selector_label() {
        assert_eq!(
            selector_query("dialectic"),
            "app.kubernetes.io/component=app,app.kubernetes.io/instance=dialectic,app.kubernetes.io/name=dialectic"
        );
    }
}
