//! What the controller watches and how a change maps to the checklists to reconcile: the
//! checklists themselves, the objects they own (Deployments and Jobs also kept in compact stores
//! for observe's reads), the Secrets they name, the ConfigMaps they roll on and their app's
//! pods, by metadata only.

use std::sync::Arc;

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::{
    Api, Client, ResourceExt,
    core::PartialObjectMeta,
    runtime::{WatchStreamExt, reflector::ObjectRef, watcher},
};

use crate::{
    api::TemplateKind,
    controller::{CompactStore, Context, Guarded, Key, ReaderIndex, trim},
    resources::labels,
};

/// An Api over every namespace, or over the one the operator is scoped to.
pub(super) fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// The objects the operator owns, by label.
pub(super) fn owned() -> watcher::Config {
    watcher::Config::default().labels(&format!("{}={}", labels::MANAGED_BY, labels::MANAGER))
}

/// How the checklists are watched: any version the API server's cache has (the first list is
/// served from its cache, not etcd), only those `selector` matches when this is one shard.
pub(super) fn checklist_watch(selector: Option<&str>) -> watcher::Config {
    let config = watcher::Config::default().any_semantic();
    match selector {
        Some(selector) => config.labels(selector),
        None => config,
    }
}

/// A watch of the owned objects of kind `K`, trimmed, kept in `store` for observe's reads, and
/// the stream of objects it touches for the controller's triggers.
pub(super) fn cached_watch<K>(
    client: &Client,
    namespace: Option<&str>,
    store: CompactStore<K>,
) -> (
    impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static,
    Arc<CompactStore<K>>,
)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let store = Arc::new(store);
    let stream = watcher(scoped::<K>(client, namespace), owned())
        .modify(trim)
        .inspect_ok({
            let store = Arc::clone(&store);
            move |event| store.apply(event)
        })
        .touched_objects();
    (stream, store)
}

/// Whether a Service is one a BlueGreen or Canary release routes through, which observe reads.
pub(super) fn routed(service: &Service) -> bool {
    service
        .labels()
        .get(labels::ROUTED)
        .is_some_and(|value| value == "true")
}

/// The checklists in the object's namespace that `index` says read it: a Secret's readers, or
/// the checklists rolling on a ConfigMap.
pub(super) fn readers_in<K>(
    index: &ReaderIndex<Key>,
    object: &PartialObjectMeta<K>,
) -> Vec<ObjectRef<Guarded>>
where
    PartialObjectMeta<K>: kube::Resource,
{
    let Some(namespace) = object.namespace() else {
        return Vec::new();
    };
    index
        .readers(&(namespace, object.name_any()))
        .iter()
        .map(|(namespace, name)| ObjectRef::new(name).within(namespace))
        .collect()
}

/// The checklists that use the template.
pub(super) fn users_of<K>(
    context: &Context,
    kind: TemplateKind,
    template: &PartialObjectMeta<K>,
) -> Vec<ObjectRef<Guarded>>
where
    PartialObjectMeta<K>: kube::Resource,
{
    let scope = match kind {
        TemplateKind::ChecklistTemplate => template.namespace().unwrap_or_default(),
        TemplateKind::ClusterChecklistTemplate => String::new(),
    };
    context
        .template_users
        .readers(&(kind, scope, template.name_any()))
        .iter()
        .map(|(namespace, name)| ObjectRef::new(name).within(namespace))
        .collect()
}

/// The checklist whose app a pod runs, from its label.
pub(super) fn checklist_of(pod: &PartialObjectMeta<Pod>) -> Option<ObjectRef<Guarded>> {
    let name = pod.labels().get(labels::CHECKLIST)?;
    Some(ObjectRef::new(name).within(&pod.namespace()?))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use kube::api::ObjectMeta;

    use super::*;

    fn pod(labels: &[(&str, &str)], namespace: Option<&str>) -> PartialObjectMeta<Pod> {
        PartialObjectMeta {
            types: None,
            metadata: ObjectMeta {
                name: Some("web-1".into()),
                namespace: namespace.map(str::to_owned),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect::<BTreeMap<_, _>>(),
                ),
                ..ObjectMeta::default()
            },
            _phantom: std::marker::PhantomData,
        }
    }

    #[test]
    fn a_pod_triggers_the_checklist_its_label_names_in_its_own_namespace() {
        let found = checklist_of(&pod(&[(labels::CHECKLIST, "web")], Some("team-a")));
        assert_eq!(found, Some(ObjectRef::new("web").within("team-a")));
        assert_eq!(checklist_of(&pod(&[("app", "web")], Some("team-a"))), None);
        assert_eq!(
            checklist_of(&pod(&[(labels::CHECKLIST, "web")], None)),
            None
        );
    }

    #[test]
    fn a_shard_watches_only_its_checklists() {
        assert_eq!(
            checklist_watch(Some("shard=a")).label_selector.as_deref(),
            Some("shard=a")
        );
        assert_eq!(checklist_watch(None).label_selector, None);
        assert!(owned().label_selector.unwrap().contains(labels::MANAGER));
    }
}
