//! What the operator's caches keep of an object: everything but the bookkeeping it never reads.
//! `metadata.managedFields` (one entry per field manager, often larger than the spec itself) and
//! kubectl's last-applied annotation (a second copy of the spec) are dropped before an object
//! reaches a store, so thousands of checklists cost their spec and status, not three copies.

use kube::ResourceExt;

/// kubectl's client-side apply annotation: the whole object again, as last applied.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops `object`'s managedFields and last-applied annotation.
pub(crate) fn trim<K: ResourceExt>(object: &mut K) {
    object.managed_fields_mut().clear();
    object.annotations_mut().remove(LAST_APPLIED);
}

#[cfg(test)]
mod tests {
    use k8s_openapi::{
        api::core::v1::ConfigMap,
        apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta},
    };

    use super::*;

    #[test]
    fn bookkeeping_goes_and_everything_else_stays() {
        let object = ConfigMap {
            metadata: ObjectMeta {
                name: Some("web".into()),
                annotations: Some(
                    [
                        (LAST_APPLIED.to_owned(), "{\"data\":{}}".to_owned()),
                        ("checklist.dev/promote".to_owned(), "1".to_owned()),
                    ]
                    .into(),
                ),
                managed_fields: Some(vec![ManagedFieldsEntry {
                    manager: Some("kubectl".into()),
                    ..ManagedFieldsEntry::default()
                }]),
                ..ObjectMeta::default()
            },
            data: Some([("a".to_owned(), "b".to_owned())].into()),
            ..ConfigMap::default()
        };
        let mut kept = object.clone();
        trim(&mut kept);
        assert!(kept.managed_fields().is_empty());
        assert_eq!(
            kept.annotations().keys().collect::<Vec<_>>(),
            ["checklist.dev/promote"]
        );
        assert_eq!(kept.data, object.data);
        assert_eq!(kept.metadata.name, object.metadata.name);
    }
}
